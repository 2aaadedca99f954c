//! Monitor client: connection set-up (TCP to the first command's reply)
//! and mon-command round trips per second, side by side with librados
//! (through Debian's Python binding), and whole commands (`rbd-native
//! mon-command` against the `ceph` tool, each a measured child process:
//! CPU, peak RSS). ROUNDS rounds alternating the sides (see
//! `rbd_native_benches::method`); round trips for SECS seconds (default 3).

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use ceph_rados::mon::{MonClient, MonClientOptions};
use rbd_native_benches::child;
use rbd_native_benches::method::{order, rounds, secs, Sample, Side};
use rbd_native_benches::report::Report;
use rbd_native_benches::{python, rbd_native_bin, time_n, Setup};

/// Connections per round (the round's figure is their median).
const N_CONNECT: usize = 5;
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
    let round_trip_secs = secs(3) as f64;
    let version = bed
        .get("RBD_NATIVE_CEPH_VERSION")
        .and_then(|v| v.split_whitespace().nth(2).map(str::to_string))
        .unwrap_or_else(|| "16.2.15".into());
    let mut report = Report::new(
        "mon_client",
        &format!("Monitor client vs librados (python3-rados, Ceph {version}) and the ceph CLI"),
        "librados / ceph CLI",
    );
    report.note(
        "The first two measures run in process (ours in this harness, librados in a Python child): no per-process CPU figures.",
    );
    report.note(
        "CPU is read in clock ticks (10 ms) per process: a command that spends less reads as 0.",
    );
    let connect = format!("connect + first mon command, in process (median of {N_CONNECT})");
    let trips = format!("mon command round trips on one session ({round_trip_secs} s)");
    let cli = "`rbd-native mon-command` vs `ceph fsid`, whole process".to_string();
    for round in 0..rounds() {
        for side in order(round) {
            let (c, t) = match side {
                Side::Ours => ours_in_process(&rt, &opts, round_trip_secs),
                Side::Reference => librados_in_python(&conf, &keyring, round_trip_secs),
            };
            report.record(&connect, "ms", false, side, Sample::new(c));
            report.record(&trips, "ops/s", true, side, Sample::new(t));
            let mut cmd = match side {
                Side::Ours => {
                    let mut c = std::process::Command::new(rbd_native_bin());
                    c.args(["-c", &conf, "-k", &keyring, "mon-command", FSID]);
                    c
                }
                Side::Reference => {
                    let mut c = bed.tool("ceph");
                    c.args(["-c", &conf, "-k", &keyring, "fsid", "-f", "json"]);
                    c
                }
            };
            let (out, usage) = child::run(&mut cmd).expect("run a command");
            assert!(
                out.status.success(),
                "{side:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            report.record(
                &cli,
                "ms",
                false,
                side,
                Sample::new(usage.wall * 1000.0).work(1, 0).usage(usage),
            );
            eprintln!("[mon_client] round {round} {side:?}: connect {c:.1} ms, {t:.0} round trips/s, command {:.0} ms", usage.wall * 1000.0);
        }
    }
    report.write();
}

/// Ours, in this process: (connect ms, round trips per second).
fn ours_in_process(rt: &tokio::runtime::Runtime, opts: &MonClientOptions, secs: f64) -> (f64, f64) {
    let connect = time_n(N_CONNECT, || {
        rt.block_on(async {
            let mon = MonClient::connect(opts.clone()).await.unwrap();
            let r = mon.command(FSID, Bytes::new()).await.unwrap();
            assert_eq!(r.status, 0);
        })
    });
    let rps = rt.block_on(async {
        let mon = MonClient::connect(opts.clone()).await.unwrap();
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_secs_f64(secs) {
            let r = mon.command(FSID, Bytes::new()).await.unwrap();
            assert_eq!(r.status, 0);
            n += 1;
        }
        n as f64 / start.elapsed().as_secs_f64()
    });
    (connect.as_secs_f64() * 1000.0, rps)
}

/// librados in a Python child: (connect ms, round trips per second).
fn librados_in_python(conf: &str, keyring: &str, secs: f64) -> (f64, f64) {
    let line = python(&format!(
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
c = rados.Rados(conffile={conf:?}, conf={{"keyring": {keyring:?}}})
c.connect()
n = 0
t = time.perf_counter()
while time.perf_counter() - t < {secs}:
    ret, out, err = c.mon_command('{FSID}', b'')
    assert ret == 0
    n += 1
rps = n / (time.perf_counter() - t)
c.shutdown()
print(statistics.median(ts) * 1000, rps)
"#
    ));
    let mut it = line.split_whitespace().map(|x| x.parse::<f64>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}
