//! `rbd-native rados ...` against the `rados` tool, both ways: what one
//! writes the other reads identically (data, xattrs, omap), both list the
//! same objects, and a user without the caps gets a clear refusal.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::{Command, Output};

use rbd_native_tests::{pattern, run, run_ok, unique_name, ScratchDir, Testbed};

fn ours(bed: &Testbed, id: &str, keyring_var: &str, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rbd-native"));
    c.args([
        "-c",
        &bed.var("CEPH_CONF"),
        "--id",
        id,
        "-k",
        &bed.var(keyring_var),
        "rados",
    ])
    .args(args)
    .env_remove("CEPH_ARGS");
    run(&mut c)
}

fn ours_ok(bed: &Testbed, args: &[&str]) -> Vec<u8> {
    let out = ours(bed, "cinder", "CEPH_CINDER_KEYRING", args);
    assert!(
        out.status.success(),
        "rbd-native rados {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn rados(bed: &Testbed, args: &[&str]) -> Vec<u8> {
    let mut c = bed.ceph_tool("rados", "CEPH_CONF", "admin");
    c.args(args);
    run_ok(&mut c).stdout
}

#[test]
fn objects_written_by_either_tool_read_the_same_in_the_other() {
    let bed = Testbed::load();
    let dir = ScratchDir::new("rados-cli");
    let prefix = unique_name("interop");
    let sizes = [0usize, 1, 4095, 4096, 65_537, 1 << 20, (4 << 20) + 3];
    let mut names = Vec::new();
    for (i, &size) in sizes.iter().enumerate() {
        let data = pattern(size, 100 + i as u64);
        let file = dir.path().join(format!("in{i}"));
        std::fs::write(&file, &data).unwrap();
        let f = file.to_str().unwrap();
        // Ours writes, rados reads.
        let a = format!("{prefix}.ours.{i}");
        ours_ok(&bed, &["-p", "volumes", "put", &a, f]);
        ours_ok(
            &bed,
            &["-p", "volumes", "setxattr", &a, "origin", "rbd-native"],
        );
        assert_eq!(rados(&bed, &["-p", "volumes", "get", &a, "-"]), data, "{a}");
        assert_eq!(
            rados(&bed, &["-p", "volumes", "getxattr", &a, "origin"]),
            b"rbd-native"
        );
        // rados writes, ours reads.
        let b = format!("{prefix}.rados.{i}");
        rados(&bed, &["-p", "volumes", "put", &b, f]);
        rados(&bed, &["-p", "volumes", "setxattr", &b, "origin", "rados"]);
        rados(
            &bed,
            &[
                "-p",
                "volumes",
                "setomapval",
                &b,
                "key",
                &format!("value {i}"),
            ],
        );
        assert_eq!(
            ours_ok(&bed, &["-p", "volumes", "get", &b, "-"]),
            data,
            "{b}"
        );
        assert_eq!(
            ours_ok(&bed, &["-p", "volumes", "getxattr", &b, "origin"]),
            b"rados"
        );
        assert_eq!(
            ours_ok(&bed, &["-p", "volumes", "listomapvals", &b]),
            rados(&bed, &["-p", "volumes", "listomapvals", &b])
        );
        assert_eq!(
            ours_ok(&bed, &["-p", "volumes", "stat", &b]),
            rados(&bed, &["-p", "volumes", "stat", &b])
        );
        names.push(a);
        names.push(b);
    }
    let sorted = |v: Vec<u8>| {
        let mut l: Vec<String> = String::from_utf8_lossy(&v)
            .lines()
            .map(str::to_string)
            .collect();
        l.sort();
        l
    };
    assert_eq!(
        sorted(ours_ok(&bed, &["-p", "volumes", "ls"])),
        sorted(rados(&bed, &["-p", "volumes", "ls"]))
    );
    let mut rm = vec!["-p", "volumes", "rm"];
    rm.extend(names.iter().map(String::as_str));
    ours_ok(&bed, &rm);
    let left = String::from_utf8_lossy(&rados(&bed, &["-p", "volumes", "ls"])).to_string();
    assert!(!left.contains(&prefix), "objects left behind: {left}");
}

#[test]
fn a_user_without_the_caps_gets_a_clear_permission_error() {
    let bed = Testbed::load();
    let dir = ScratchDir::new("rados-caps");
    let file = dir.path().join("x");
    std::fs::write(&file, b"nope").unwrap();
    let name = unique_name("caps");
    let out = ours(
        &bed,
        "glance",
        "CEPH_GLANCE_KEYRING",
        &["-p", "volumes", "put", &name, file.to_str().unwrap()],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("client.glance") && err.contains("not allowed") && err.contains("volumes"),
        "{err}"
    );
}
