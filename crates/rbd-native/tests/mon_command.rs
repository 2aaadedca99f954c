//! `rbd-native mon-command` against the live test bed, with the `ceph`
//! tool as the oracle: same output as `ceph`, in crc and secure mode, as
//! client.admin and client.cinder; clear and quick failures.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use rbd_native_tests::{run, run_ok, Testbed};
use serde_json::Value;

fn ours(
    bed: &Testbed,
    conf_var: &str,
    id: &str,
    keyring_var: &str,
    mode: &str,
    json: &str,
) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rbd-native"));
    cmd.args([
        "-c",
        &bed.var(conf_var),
        "--id",
        id,
        "-k",
        &bed.var(keyring_var),
    ])
    .args([
        "--ms-mode",
        mode,
        "--connect-timeout",
        "30",
        "mon-command",
        json,
    ])
    .env_remove("CEPH_ARGS");
    run(&mut cmd)
}

fn json_of(out: &std::process::Output, what: &str) -> Value {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{what} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn oracle(bed: &Testbed, conf_var: &str, args: &[&str]) -> Value {
    let mut cmd = bed.ceph_tool("ceph", conf_var, "admin");
    cmd.args(args).args(["-f", "json"]);
    json_of(&run_ok(&mut cmd), "ceph")
}

#[test]
fn output_matches_ceph_in_crc_and_secure_mode_as_admin_and_cinder() {
    let bed = Testbed::load();
    let fsid = oracle(&bed, "CEPH_CONF", &["fsid"]);
    let pools = oracle(&bed, "CEPH_CONF", &["osd", "pool", "ls"]);
    for (id, keyring) in [
        ("admin", "CEPH_ADMIN_KEYRING"),
        ("cinder", "CEPH_CINDER_KEYRING"),
    ] {
        for mode in bed.ms_modes() {
            let what = format!("{id} in {mode} mode");
            let got = json_of(
                &ours(
                    &bed,
                    "CEPH_CONF",
                    id,
                    keyring,
                    mode,
                    r#"{"prefix":"fsid","format":"json"}"#,
                ),
                &what,
            );
            assert_eq!(got, fsid, "fsid as {what}");
            let got = json_of(
                &ours(
                    &bed,
                    "CEPH_CONF",
                    id,
                    keyring,
                    mode,
                    r#"{"prefix":"osd pool ls","format":"json"}"#,
                ),
                &what,
            );
            assert_eq!(got, pools, "osd pool ls as {what}");
        }
    }
}

#[test]
fn a_secure_only_cluster_is_served_in_secure_mode_and_refuses_crc_clearly() {
    let bed = Testbed::load();
    let fsid = oracle(&bed, "CEPH_CONF_OTHER", &["fsid"]);
    let pools = oracle(&bed, "CEPH_CONF_OTHER", &["osd", "pool", "ls"]);
    let secure_only = bed.get("RBD_NATIVE_MS_MODE_OTHER").as_deref() == Some("secure");
    for (id, keyring) in [
        ("admin", "CEPH_ADMIN_KEYRING_OTHER"),
        ("cinder", "CEPH_CINDER_KEYRING_OTHER"),
    ] {
        let what = format!("{id} in secure mode on cluster other");
        let got = json_of(
            &ours(
                &bed,
                "CEPH_CONF_OTHER",
                id,
                keyring,
                "secure",
                r#"{"prefix":"fsid","format":"json"}"#,
            ),
            &what,
        );
        assert_eq!(got, fsid, "{what}");
        let got = json_of(
            &ours(
                &bed,
                "CEPH_CONF_OTHER",
                id,
                keyring,
                "secure",
                r#"{"prefix":"osd pool ls","format":"json"}"#,
            ),
            &what,
        );
        assert_eq!(got, pools, "{what}");
        if secure_only {
            let out = ours(
                &bed,
                "CEPH_CONF_OTHER",
                id,
                keyring,
                "crc",
                r#"{"prefix":"fsid"}"#,
            );
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                !out.status.success(),
                "a crc client was served by a secure-only cluster"
            );
            assert!(
                err.contains("secure"),
                "the refusal does not name the mode: {err}"
            );
        }
    }
}

#[test]
fn a_cluster_without_cephx_is_served_with_auth_none() {
    let bed = Testbed::load();
    let conf = bed.var("CEPH_CONF_NOAUTH");
    let mut oracle_cmd = bed.tool("ceph");
    oracle_cmd.args(["-c", &conf, "--connect-timeout", "30", "fsid", "-f", "json"]);
    let want = json_of(&run_ok(&mut oracle_cmd), "ceph fsid");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rbd-native"));
    cmd.args([
        "-c",
        &conf,
        "--ms-mode",
        "crc",
        "mon-command",
        r#"{"prefix":"fsid","format":"json"}"#,
    ])
    .env_remove("CEPH_ARGS");
    assert_eq!(json_of(&run(&mut cmd), "auth none"), want);
    // Secure mode needs the keys that cephx gives: refused, at once, saying
    // so (Pacific refuses the method in that mode; Tentacle's monitor
    // answers that it takes crc only).
    let start = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rbd-native"));
    cmd.args([
        "-c",
        &conf,
        "--ms-mode",
        "secure",
        "mon-command",
        r#"{"prefix":"fsid"}"#,
    ])
    .env_remove("CEPH_ARGS");
    let out = run(&mut cmd);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("secure") && (err.contains("none") || err.contains("crc only")),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(5), "it retried");
}

#[test]
fn options_come_from_ceph_args_and_plain_key_files() {
    let bed = Testbed::load();
    let want = oracle(&bed, "CEPH_CONF", &["fsid"]);
    // The key alone, base64, in a file (as `ceph auth get-key` prints it).
    let dir = rbd_native_tests::ScratchDir::new("keyfile");
    let keyfile = dir.path().join("cinder.key");
    let mut get_key = bed.ceph_tool("ceph", "CEPH_CONF", "admin");
    get_key.args(["auth", "get-key", "client.cinder"]);
    std::fs::write(&keyfile, run_ok(&mut get_key).stdout).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rbd-native"));
    cmd.env(
        "CEPH_ARGS",
        format!(
            "-c {} --id cinder --keyfile {} --rados-osd-op-timeout 30 --mon_client_ping_timeout=20",
            bed.var("CEPH_CONF"),
            keyfile.display()
        ),
    )
    .args(["mon-command", r#"{"prefix":"fsid","format":"json"}"#]);
    assert_eq!(json_of(&run(&mut cmd), "CEPH_ARGS with --keyfile"), want);
}

#[test]
fn a_wrong_key_fails_quickly_naming_the_entity() {
    let bed = Testbed::load();
    let dir = rbd_native_tests::ScratchDir::new("wrong-key");
    let keyring = dir.path().join("wrong.keyring");
    // A well-formed key that is not client.admin's.
    std::fs::write(
        &keyring,
        "[client.admin]\n\tkey = AQB/xQZrZ6ryJRAAiCVm9mWgaciIEOquy9HYFA==\n",
    )
    .unwrap();
    let start = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rbd-native"));
    cmd.args(["-c", &bed.var("CEPH_CONF"), "--id", "admin", "-k"])
        .arg(&keyring)
        .args(["mon-command", r#"{"prefix":"fsid"}"#]);
    let out = run(&mut cmd);
    let elapsed = start.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("client.admin") && err.contains("authentication failed"),
        "{err}"
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "a wrong key took {elapsed:?} to fail (it must not retry)"
    );
}

#[test]
fn an_unreachable_monitor_fails_within_the_timeout_naming_the_addresses() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let bed = Testbed::load();
    let start = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rbd-native"));
    cmd.args([
        "-c",
        &bed.var("CEPH_CONF"),
        "-m",
        &format!("127.0.0.1:{port}"),
    ])
    .args([
        "--connect-timeout",
        "2",
        "mon-command",
        r#"{"prefix":"fsid"}"#,
    ]);
    let out = run(&mut cmd);
    let elapsed = start.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!("127.0.0.1:{port}")),
        "the message names no address: {err}"
    );
    assert!(
        elapsed < Duration::from_secs(2 + 5),
        "gave up after {elapsed:?}, timeout was 2 s"
    );
}

#[test]
fn a_failing_command_exits_with_its_errno_and_says_why() {
    let bed = Testbed::load();
    let out = ours(
        &bed,
        "CEPH_CONF",
        "admin",
        "CEPH_ADMIN_KEYRING",
        "secure",
        r#"{"prefix":"osd pool get","pool":"no-such-pool","var":"size"}"#,
    );
    assert_eq!(out.status.code(), Some(2), "ENOENT expected");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Error ENOENT"));
}
