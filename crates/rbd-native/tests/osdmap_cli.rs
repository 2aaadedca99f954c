//! `rbd-native osdmap test-map-pgs|test-map-object` print what `osdmaptool`
//! prints, for the live map of the test bed.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;

use rbd_native_tests::{run_ok, ScratchDir, Testbed};

fn pg_lines(text: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(text)
        .lines()
        .filter(|l| l.starts_with("pool ") || (l.split('\t').count() == 3 && l.contains('[')))
        .map(str::to_string)
        .collect()
}

#[test]
fn test_map_pgs_and_test_map_object_match_osdmaptool() {
    let bed = Testbed::load();
    let dir = ScratchDir::new("osdmap-cli");
    let file = dir.path().join("osdmap");
    let mut get = bed.ceph_tool("ceph", "CEPH_CONF", "admin");
    get.args(["osd", "getmap", "-o"]).arg(&file);
    run_ok(&mut get);

    let ours = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rbd-native"));
        c.arg("osdmap").args(args);
        run_ok(&mut c).stdout
    };
    let theirs = |args: &[&str]| {
        let mut c = bed.tool("osdmaptool");
        c.arg(&file).args(args);
        run_ok(&mut c).stdout
    };
    let f = file.to_str().unwrap();
    assert_eq!(
        pg_lines(&ours(&["test-map-pgs", f])),
        pg_lines(&theirs(&["--test-map-pgs-dump"]))
    );
    let pools = bed.ceph_json("CEPH_CONF", &["osd", "pool", "ls", "detail"]);
    for p in pools.as_array().unwrap() {
        let id = p["pool_id"].as_i64().unwrap().to_string();
        assert_eq!(
            pg_lines(&ours(&["test-map-pgs", f, "--pool", &id])),
            pg_lines(&theirs(&["--test-map-pgs-dump", "--pool", &id]))
        );
        for name in ["foo", "rbd_directory", "rbd_data.1234.0000000000000001"] {
            let o = ours(&["test-map-object", f, name, "--pool", &id]);
            let t = theirs(&["--test-map-object", name, "--pool", &id]);
            let want = String::from_utf8_lossy(&t)
                .lines()
                .find(|l| l.contains("object '"))
                .unwrap()
                .to_string();
            assert_eq!(String::from_utf8_lossy(&o).trim_end(), want);
        }
    }
}
