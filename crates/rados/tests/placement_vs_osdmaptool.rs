//! Placement checked against `osdmaptool --test-map-pgs-dump`: every PG of
//! every pool of the live map and of every corpus OSDMap that osdmaptool
//! reads maps to the same OSDs and primary.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use ceph_encoding::Decode;
use ceph_rados::crush::CrushMap;
use ceph_rados::osdmap::{OsdMap, PgId};
use ceph_rados::placement::Placer;
use rbd_native_tests::{run_ok, ScratchDir, Testbed};

fn set(v: &[i32]) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|&o| {
            if o == ceph_rados::crush::ITEM_NONE {
                "2147483647".to_string()
            } else {
                o.to_string()
            }
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// Our lines for `--test-map-pgs-dump`: `pgid\t[osds]\tprimary` per PG.
fn ours(map: &OsdMap) -> Vec<String> {
    let crush = CrushMap::decode_exact(&map.crush).expect("crush map decodes");
    let placer = Placer::new(map, &crush);
    let mut lines = Vec::new();
    for (&pool_id, pool) in &map.pools {
        for seed in 0..pool.pg_num {
            let m = placer.pg_to_up_acting(PgId::new(pool_id, seed)).unwrap();
            lines.push(format!(
                "{pool_id}.{seed:x}\t{}\t{}",
                set(&m.acting),
                m.acting_primary
            ));
        }
    }
    lines
}

/// osdmaptool's lines, or `None` if it cannot read the map.
fn theirs(file: &Path) -> Option<Vec<String>> {
    let out = rbd_native_tests::tool("osdmaptool")
        .arg(file)
        .arg("--test-map-pgs-dump")
        .output()
        .expect("osdmaptool (run `make deps`)");
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.split('\t').count() == 3 && l.contains('['))
            .map(str::to_string)
            .collect(),
    )
}

fn compare(file: &Path) -> Option<usize> {
    let bytes = std::fs::read(file).unwrap();
    let map = OsdMap::from_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let want = theirs(file)?;
    let got = ours(&map);
    assert_eq!(got.len(), want.len(), "{}: PG count", file.display());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "{}", file.display());
    }
    Some(got.len())
}

#[test]
fn the_live_map_places_every_pg_as_osdmaptool_does() {
    let bed = Testbed::load();
    let dir = ScratchDir::new("live-osdmap");
    let file = dir.path().join("osdmap");
    let mut get = bed.ceph_tool("ceph", "CEPH_CONF", "admin");
    get.args(["osd", "getmap", "-o"]).arg(&file);
    run_ok(&mut get);
    let n = compare(&file).expect("osdmaptool reads the live map");
    assert!(n >= 64, "only {n} PGs");
}

#[test]
fn corpus_maps_place_every_pg_as_osdmaptool_does() {
    let Some(root) = std::env::var_os("CEPH_OBJECT_CORPUS").map(PathBuf::from) else {
        eprintln!("corpus placement test SKIPPED: CEPH_OBJECT_CORPUS is not set");
        return;
    };
    let mut compared = 0;
    let mut unreadable = 0;
    for version in std::fs::read_dir(root.join("archive")).unwrap() {
        let dir = version.unwrap().path().join("objects/OSDMap");
        let Ok(samples) = std::fs::read_dir(&dir) else {
            continue;
        };
        for s in samples {
            match compare(&s.unwrap().path()) {
                Some(_) => compared += 1,
                None => unreadable += 1,
            }
        }
    }
    eprintln!("placement matched osdmaptool on {compared} corpus maps ({unreadable} osdmaptool cannot read)");
    assert!(compared > 0);
}
