//! Monitor client: connection set-up (TCP to the first command's reply)
//! and mon-command round trips per second, side by side with librados
//! (through Debian's Python binding) and the `ceph` tool, in one run.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ceph_rados::mon::{MonClient, MonClientOptions};
use rbd_native_benches::{python, report, time_n, Row, Setup};

const N_CONNECT: usize = 15;
const ROUND_TRIP_SECS: f64 = 3.0;
const FSID: &str = r#"{"prefix":"fsid","format":"json"}"#;

fn main() {
    let Setup {
        bed,
        conf,
        keyring,
        settings,
        rt,
    } = Setup::new();
    let opts = MonClientOptions::from_settings(&settings);

    // 1. In-process set-up: connect, authenticate, first command answered.
    let ours_connect = time_n(N_CONNECT, || {
        rt.block_on(async {
            let mon = MonClient::connect(opts.clone()).await.unwrap();
            let r = mon.command(FSID, Bytes::new()).await.unwrap();
            assert_eq!(r.status, 0);
        })
    });
    let theirs_connect: f64 = python(&format!(
        r#"
import rados, time, statistics
ts = []
for _ in range({N_CONNECT}):
    t = time.perf_counter()
    c = rados.Rados(conffile={conf:?}, conf={{"keyring": {keyring:?}}})
    c.connect()
    ret, out, err = c.mon_command('{FSID}', b'')
    assert ret == 0
    ts.append(time.perf_counter() - t)
    c.shutdown()
print(statistics.median(ts) * 1000)
"#
    ))
    .parse()
    .unwrap();

    // 2. Whole commands, process start to exit: ours vs the ceph tool.
    let bin = env!("CARGO_MANIFEST_DIR").to_string() + "/../target/release/rbd-native";
    let have_release = std::path::Path::new(&bin).exists();
    let ours_cli = have_release.then(|| {
        time_n(5, || {
            let s = Command::new(&bin)
                .args(["-c", &conf, "-k", &keyring, "mon-command", FSID])
                .output()
                .unwrap();
            assert!(s.status.success());
        })
    });
    let ceph_cli = time_n(5, || {
        let s = bed
            .tool("ceph")
            .args(["-c", &conf, "-k", &keyring, "fsid", "-f", "json"])
            .output()
            .unwrap();
        assert!(s.status.success());
    });

    // 3. Round trips per second on one session.
    let ours_rps = rt.block_on(async {
        let mon = MonClient::connect(opts.clone()).await.unwrap();
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_secs_f64(ROUND_TRIP_SECS) {
            let r = mon.command(FSID, Bytes::new()).await.unwrap();
            assert_eq!(r.status, 0);
            n += 1;
        }
        n as f64 / start.elapsed().as_secs_f64()
    });
    let theirs_rps: f64 = python(&format!(
        r#"
import rados, time
c = rados.Rados(conffile={conf:?}, conf={{"keyring": {keyring:?}}})
c.connect()
n = 0
t = time.perf_counter()
while time.perf_counter() - t < {ROUND_TRIP_SECS}:
    ret, out, err = c.mon_command('{FSID}', b'')
    assert ret == 0
    n += 1
print(n / (time.perf_counter() - t))
c.shutdown()
"#
    ))
    .parse()
    .unwrap();

    let mut rows = vec![
        Row {
            what: format!("connect + first mon command, in process (median of {N_CONNECT})"),
            ours: ours_connect.as_secs_f64() * 1000.0,
            theirs: theirs_connect,
            unit: "ms",
            higher_is_better: false,
        },
        Row {
            what: format!("mon command round trips on one session ({ROUND_TRIP_SECS} s)"),
            ours: ours_rps,
            theirs: theirs_rps,
            unit: "ops/s",
            higher_is_better: true,
        },
    ];
    let version = bed
        .get("RBD_NATIVE_CEPH_VERSION")
        .and_then(|v| v.split_whitespace().nth(2).map(str::to_string))
        .unwrap_or_else(|| "16.2.15".into());
    report(
        &format!("Monitor client vs librados (python3-rados, Ceph {version})"),
        "librados",
        &rows,
    );
    rows.clear();
    if let Some(ours_cli) = ours_cli {
        rows.push(Row {
            what: "`rbd-native mon-command` vs `ceph fsid`, whole process (median of 5)".into(),
            ours: ours_cli.as_secs_f64() * 1000.0,
            theirs: ceph_cli.as_secs_f64() * 1000.0,
            unit: "ms",
            higher_is_better: false,
        });
        report("Command-line tools", "ceph CLI", &rows);
    } else {
        println!(
            "\n(build target/release/rbd-native for the command-line comparison: make bench does)"
        );
    }
}
