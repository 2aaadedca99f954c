//! cephx key types against the live bed: the bed's keys are of its
//! release's default type (aes256k from Ceph 19.2.6 and 20.2 on, aes
//! before), a user holding a legacy `aes` key works once the monitors allow
//! that cipher (its service tickets are then of the cluster's service
//! cipher: a mixed cluster), and the same key, once the cipher is refused
//! again, gets the message that names `ceph auth rotate`, whose new key
//! then works. The `ceph` tool is the oracle and changes the policy; the
//! policy is put back however the test ends.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use ceph_cephx::{Cipher, Keyring};
use rbd_native_tests::{run, run_ok, unique_name, ScratchDir, Testbed};
use serde_json::Value;

fn ceph(bed: &Testbed, args: &[&str]) -> Command {
    let mut cmd = bed.ceph_tool("ceph", "CEPH_CONF", "admin");
    cmd.args(args);
    cmd
}

fn mon_dump(bed: &Testbed) -> Value {
    bed.ceph_json("CEPH_CONF", &["mon", "dump"])
}

/// The names of the ciphers the monitors allow, or `None` on a release
/// without a cipher policy (before 19.2.6: `aes` only).
fn allowed_ciphers(bed: &Testbed) -> Option<Vec<String>> {
    mon_dump(bed)["auth_allowed_ciphers"].as_array().map(|a| {
        a.iter()
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .collect()
    })
}

fn ours(bed: &Testbed, id: &str, keyring: &Path, mode: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rbd-native"));
    cmd.args(["-c", &bed.var("CEPH_CONF"), "--id", id])
        .arg("-k")
        .arg(keyring)
        .args(["--ms-mode", mode, "--connect-timeout", "20"])
        .args(args)
        .env_remove("CEPH_ARGS");
    run(&mut cmd)
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The value of `mon_auth_allow_insecure_key` set for the monitors in the
/// cluster's configuration database, if one is.
fn insecure_key_setting(bed: &Testbed) -> Option<String> {
    let dump = bed.ceph_json("CEPH_CONF", &["config", "dump"]);
    dump.as_array()?.iter().find_map(|e| {
        (e["section"] == "mon" && e["name"] == "mon_auth_allow_insecure_key")
            .then(|| e["value"].as_str().unwrap_or_default().to_string())
    })
}

/// Puts the monitors' cipher policy and the insecure-key setting back as
/// they were when dropped, so that a failing test does not leave the
/// cluster accepting `aes` keys.
struct PolicyGuard<'a> {
    bed: &'a Testbed,
    allowed: Vec<String>,
    insecure_key: Option<String>,
}

impl PolicyGuard<'_> {
    fn restore(&self) -> Result<(), String> {
        let joined = self.allowed.join(",");
        let setting = match &self.insecure_key {
            Some(v) => vec![
                "config",
                "set",
                "mon",
                "mon_auth_allow_insecure_key",
                v.as_str(),
            ],
            None => vec!["config", "rm", "mon", "mon_auth_allow_insecure_key"],
        };
        for args in [
            &["mon", "set", "auth_allowed_ciphers", joined.as_str()][..],
            &setting[..],
        ] {
            let out = run(&mut ceph(self.bed, args));
            if !out.status.success() {
                return Err(format!(
                    "ceph {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        Ok(())
    }
}

impl Drop for PolicyGuard<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.restore() {
            eprintln!("could not restore the cipher policy: {e}");
        }
    }
}

/// Repeats `f` until it returns `Some`, for up to `secs` seconds (the
/// monitors apply a policy change at their next proposal or tick).
fn eventually<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} after {secs} s");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn the_beds_keys_are_of_the_release_default_type() {
    let bed = Testbed::load();
    let want = match mon_dump(&bed)["auth_preferred_cipher"]["name"].as_str() {
        Some("aes256k") => Cipher::Aes256k,
        Some("aes") | None => Cipher::Aes,
        Some(other) => panic!("preferred cipher {other}"),
    };
    for (entity, var) in [
        ("client.admin", "CEPH_ADMIN_KEYRING"),
        ("client.cinder", "CEPH_CINDER_KEYRING"),
        ("client.glance", "CEPH_GLANCE_KEYRING"),
    ] {
        let keyring = Keyring::load(Path::new(&bed.var(var))).unwrap();
        let key = &keyring.get(entity).expect("entity in its keyring").key;
        assert_eq!(key.cipher(), want, "{entity}'s key");
    }
    // And each of them authenticates in every mode.
    for mode in bed.ms_modes() {
        let fsid = ok(
            &ours(
                &bed,
                "cinder",
                Path::new(&bed.var("CEPH_CINDER_KEYRING")),
                mode,
                &["mon-command", r#"{"prefix":"fsid"}"#],
            ),
            "mon-command as cinder",
        );
        assert_eq!(fsid, bed.fsid("CEPH_CONF"));
    }
}

#[test]
fn an_aes_key_works_when_allowed_and_is_refused_with_advice_when_not() {
    let bed = Testbed::load();
    let Some(allowed) = allowed_ciphers(&bed) else {
        eprintln!(
            "this cluster has no cipher policy (Ceph before 19.2.6): aes is its only cipher, \
             which every other test uses"
        );
        return;
    };
    let scratch = ScratchDir::new("cephx-key-types");
    let user = unique_name("aeskey");
    let entity = format!("client.{user}");
    let keyring = scratch.path().join("aes.keyring");
    let object = unique_name("aeskey-obj");
    let data = scratch.path().join("data");
    std::fs::write(&data, vec![0x5au8; 300_000]).unwrap();

    let guard = PolicyGuard {
        bed: &bed,
        allowed: allowed.clone(),
        insecure_key: insecure_key_setting(&bed),
    };
    let mut widened = allowed.clone();
    if !widened.iter().any(|c| c == "aes") {
        widened.push("aes".into());
    }
    run_ok(&mut ceph(
        &bed,
        &["mon", "set", "auth_allowed_ciphers", &widened.join(",")],
    ));
    run_ok(&mut ceph(
        &bed,
        &[
            "config",
            "set",
            "mon",
            "mon_auth_allow_insecure_key",
            "true",
        ],
    ));
    // The monitors take a tick to allow creating such a key.
    eventually(30, "no aes key could be created", || {
        let out = run(&mut ceph(
            &bed,
            &[
                "auth",
                "get-or-create",
                &entity,
                "mon",
                "allow r",
                "osd",
                "allow rw pool=volumes",
                "--key-type",
                "aes",
                "-o",
                keyring.to_str().unwrap(),
            ],
        ));
        out.status.success().then_some(())
    });
    let key = Keyring::load(&keyring).unwrap();
    assert_eq!(key.get(&entity).unwrap().key.cipher(), Cipher::Aes);

    // Allowed: monitor commands and OSD ops, whose tickets carry the
    // cluster's service cipher, in every mode.
    for mode in bed.ms_modes() {
        let fsid = ok(
            &ours(
                &bed,
                &user,
                &keyring,
                mode,
                &["mon-command", r#"{"prefix":"fsid"}"#],
            ),
            &format!("mon-command with an aes key in {mode} mode"),
        );
        assert_eq!(fsid, bed.fsid("CEPH_CONF"));
        ok(
            &ours(
                &bed,
                &user,
                &keyring,
                mode,
                &[
                    "rados",
                    "-p",
                    "volumes",
                    "put",
                    &object,
                    data.to_str().unwrap(),
                ],
            ),
            &format!("rados put with an aes key in {mode} mode"),
        );
        let back = scratch.path().join(format!("back-{mode}"));
        run_ok(
            bed.ceph_tool("rados", "CEPH_CONF", "admin")
                .args(["-p", "volumes", "get", &object])
                .arg(&back),
        );
        assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&data).unwrap());
    }

    // Refused again: one message that says why and what to do.
    guard.restore().unwrap();
    let stderr = eventually(30, "the aes key was still accepted", || {
        let out = ours(
            &bed,
            &user,
            &keyring,
            "secure",
            &["mon-command", r#"{"prefix":"fsid"}"#],
        );
        (!out.status.success()).then(|| String::from_utf8_lossy(&out.stderr).into_owned())
    });
    for part in [
        "legacy type aes",
        "auth_allowed_ciphers",
        &format!("ceph auth rotate {entity} --key-type aes256k"),
    ] {
        assert!(stderr.contains(part), "message lacks {part:?}: {stderr}");
    }
    assert_eq!(stderr.lines().count(), 1, "one message: {stderr}");

    // The advice works: the rotated key authenticates.
    let rotated = scratch.path().join("rotated.keyring");
    run_ok(
        ceph(
            &bed,
            &["auth", "rotate", &entity, "--key-type", "aes256k", "-o"],
        )
        .arg(&rotated),
    );
    let fsid = ok(
        &ours(
            &bed,
            &user,
            &rotated,
            "secure",
            &["mon-command", r#"{"prefix":"fsid"}"#],
        ),
        "mon-command with the rotated key",
    );
    assert_eq!(fsid, bed.fsid("CEPH_CONF"));

    run_ok(
        bed.ceph_tool("rados", "CEPH_CONF", "admin")
            .args(["-p", "volumes", "rm", &object]),
    );
    run_ok(&mut ceph(&bed, &["auth", "rm", &entity]));
    drop(guard);
}
