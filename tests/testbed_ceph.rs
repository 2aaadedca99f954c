//! The Ceph clusters of the test bed, checked from outside with the oracle
//! tools: OSDs up and in, a monitor that offers msgr2, cephx enforced, real
//! placement, and the users' capabilities.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use rbd_native_tests::{run, run_ok, unique_name, ScratchDir, Testbed};
use serde_json::Value;

const MAIN: &str = "CEPH_CONF";
const OTHER: &str = "CEPH_CONF_OTHER";

fn osd_stat(bed: &Testbed, conf: &str) -> (u64, u64, u64) {
    let v = bed.ceph_json(conf, &["osd", "stat"]);
    let n = |k: &str| {
        v[k].as_u64()
            .unwrap_or_else(|| panic!("osd stat lacks {k}: {v}"))
    };
    (n("num_osds"), n("num_up_osds"), n("num_in_osds"))
}

#[test]
fn main_cluster_has_three_osds_up_and_in() {
    let bed = Testbed::load();
    let (total, up, inn) = osd_stat(&bed, MAIN);
    assert!(
        total >= 3,
        "main cluster has {total} OSDs, wants at least 3"
    );
    assert_eq!((up, inn), (total, total), "not every OSD is up and in");
}

#[test]
fn other_cluster_is_up_and_independent() {
    let bed = Testbed::load();
    let (total, up, inn) = osd_stat(&bed, OTHER);
    assert!(total >= 1);
    assert_eq!((up, inn), (total, total), "not every OSD is up and in");
    assert_ne!(
        bed.fsid(MAIN),
        bed.fsid(OTHER),
        "the two clusters share an fsid"
    );
    let pools = bed.ceph_json(OTHER, &["osd", "pool", "ls"]);
    assert!(
        pools.as_array().unwrap().iter().any(|p| p == "images"),
        "cluster other has no images pool: {pools}"
    );
}

#[test]
fn every_monitor_offers_msgr2() {
    let bed = Testbed::load();
    for conf in [MAIN, OTHER] {
        let dump = bed.ceph_json(conf, &["mon", "dump"]);
        let mons = dump["mons"].as_array().expect("mon dump has mons");
        assert!(!mons.is_empty());
        for mon in mons {
            let addrs = mon["public_addrs"]["addrvec"].as_array().expect("addrvec");
            assert!(
                addrs.iter().any(|a| a["type"] == "v2"),
                "mon {} of {conf} offers no v2 address: {mon}",
                mon["name"]
            );
            assert!(
                addrs.iter().any(|a| a["type"] == "v1"),
                "mon {} of {conf} offers no v1 address: {mon}",
                mon["name"]
            );
        }
    }
}

#[test]
fn clients_without_cephx_are_refused() {
    let bed = Testbed::load();
    let mut cmd = bed.ceph_tool("ceph", MAIN, "admin");
    cmd.args([
        "--auth-client-required",
        "none",
        "--auth-supported",
        "none",
        "--connect-timeout",
        "10",
        "fsid",
    ]);
    let out = run(&mut cmd);
    assert!(
        !out.status.success(),
        "a client without cephx reached the monitor: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn rbd_pools_have_real_placement() {
    let bed = Testbed::load();
    for pool in ["volumes", "images"] {
        let v = bed.ceph_json(MAIN, &["osd", "pool", "get", pool, "all"]);
        let pg_num = v["pg_num"].as_u64().expect("pg_num");
        assert!(pg_num >= 32, "pool {pool} has {pg_num} PGs");
        let apps = bed.ceph_json(MAIN, &["osd", "pool", "application", "get", pool]);
        assert!(
            apps.get("rbd").is_some(),
            "pool {pool} is not for rbd: {apps}"
        );
        // With 3 OSDs, CRUSH spreads the primaries: a client that sends every
        // op to one OSD must get misdirected ops.
        let pgs = bed.ceph_json(MAIN, &["pg", "ls-by-pool", pool]);
        let list = pgs["pg_stats"].as_array().expect("pg_stats");
        let mut primaries: Vec<i64> = list
            .iter()
            .map(|pg| pg["acting_primary"].as_i64().expect("acting_primary"))
            .collect();
        primaries.sort_unstable();
        primaries.dedup();
        assert!(
            primaries.len() >= 2,
            "all PGs of {pool} have one primary: {primaries:?}"
        );
    }
}

fn rados_put(
    bed: &Testbed,
    id: &str,
    pool: &str,
    object: &str,
    file: &std::path::Path,
) -> std::process::Output {
    let mut cmd = bed.ceph_tool("rados", MAIN, id);
    cmd.args(["-p", pool, "put", object]).arg(file);
    run(&mut cmd)
}

#[test]
fn cinder_writes_to_images_and_volumes() {
    let bed = Testbed::load();
    let dir = ScratchDir::new("bed-caps");
    let file = dir.path().join("obj");
    std::fs::write(&file, b"written by client.cinder").unwrap();
    let object = unique_name("caps-test");
    for pool in ["images", "volumes"] {
        let out = rados_put(&bed, "cinder", pool, &object, &file);
        assert!(
            out.status.success(),
            "client.cinder cannot write to {pool}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut rm = bed.ceph_tool("rados", MAIN, "cinder");
        rm.args(["-p", pool, "rm", &object]);
        run_ok(&mut rm);
    }
}

#[test]
fn glance_cannot_write_to_volumes() {
    let bed = Testbed::load();
    let dir = ScratchDir::new("bed-caps");
    let file = dir.path().join("obj");
    std::fs::write(&file, b"must not land").unwrap();
    let object = unique_name("caps-test");
    let out = rados_put(&bed, "glance", "volumes", &object, &file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "client.glance wrote to volumes");
    assert!(
        stderr.contains("Operation not permitted") || stderr.contains("(1)"),
        "client.glance failed for another reason than permissions: {stderr}"
    );
    // and it can write where it should
    let out = rados_put(&bed, "glance", "images", &object, &file);
    assert!(
        out.status.success(),
        "client.glance cannot write to images: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rm = bed.ceph_tool("rados", MAIN, "glance");
    rm.args(["-p", "images", "rm", &object]);
    run_ok(&mut rm);
}

#[test]
fn users_have_the_documented_caps() {
    let bed = Testbed::load();
    let caps = |user: &str| -> Value {
        let v = bed.ceph_json(MAIN, &["auth", "get", user]);
        v[0]["caps"].clone()
    };
    let cinder = caps("client.cinder");
    assert_eq!(cinder["mon"], "profile rbd");
    assert_eq!(
        cinder["osd"],
        "profile rbd pool=volumes, profile rbd pool=images, profile rbd pool=ecdata"
    );
    let glance = caps("client.glance");
    assert_eq!(glance["mon"], "profile rbd");
    assert_eq!(
        glance["osd"],
        "profile rbd pool=images, profile rbd-read-only pool=volumes, profile rbd-read-only pool=ecdata"
    );
}

#[test]
fn cluster_main_has_three_monitors_and_an_erasure_coded_data_pool() {
    let bed = Testbed::load();
    let q = bed.ceph_json(MAIN, &["quorum_status"]);
    assert_eq!(q["quorum_names"].as_array().map(Vec::len), Some(3), "{q}");
    let ec = bed.var("RBD_NATIVE_EC_POOL");
    let pools = bed.ceph_json(MAIN, &["osd", "pool", "ls", "detail"]);
    let pool = pools
        .as_array()
        .and_then(|a| a.iter().find(|p| p["pool_name"] == ec.as_str()))
        .unwrap_or_else(|| panic!("no pool {ec}: {pools}"));
    assert_eq!(pool["type"], 3, "{pool}");
    assert!(
        pool["flags_names"]
            .as_str()
            .is_some_and(|f| f.contains("ec_overwrites")),
        "{pool}"
    );
}
