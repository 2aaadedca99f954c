#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Every `OSDMap` and `OSDMap::Incremental` sample of the Ceph object
//! corpus decodes, crc checked, with no bytes left over; so do the samples
//! of the types inside them (`pg_pool_t`, `pool_opts_t`, `pool_snap_info_t`,
//! `osd_info_t`, `osd_xinfo_t`, `pg_t`). Incrementals whose base map is in
//! the corpus are applied to it.
//!
//! The corpus is found through `CEPH_OBJECT_CORPUS` (a folder holding
//! `archive/<version>/objects/<type>/<sample>`); without it the test says so
//! and passes.

use rbd_native_tests::sorted_entries;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use ceph_encoding::Decode;
use ceph_rados::osdmap::{
    Incremental, OsdInfo, OsdMap, OsdXInfo, PgId, PgPool, PoolOpts, PoolSnapInfo,
};

fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

fn corpus_archive() -> Option<PathBuf> {
    let Some(root) = std::env::var_os("CEPH_OBJECT_CORPUS") else {
        say("osdmap corpus test SKIPPED: CEPH_OBJECT_CORPUS is not set");
        return None;
    };
    let archive = Path::new(&root).join("archive");
    if archive.is_dir() {
        Some(archive)
    } else {
        say(&format!(
            "osdmap corpus test SKIPPED: {} is not a folder",
            archive.display()
        ));
        None
    }
}

fn name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

type Checker = fn(&[u8]) -> Result<String, String>;

fn check<T: Decode>(data: &[u8]) -> Result<String, String> {
    T::decode_exact(data)
        .map(|_| String::new())
        .map_err(|e| e.to_string())
}

fn check_map(data: &[u8]) -> Result<String, String> {
    let m = OsdMap::from_bytes(data).map_err(|e| e.to_string())?;
    Ok(format!(
        "e{} v{}/{}/{} pools {} osds {}",
        m.epoch,
        m.encoding.wrapper,
        m.encoding.client,
        m.encoding.osd,
        m.pools.len(),
        m.max_osd
    ))
}

fn check_inc(data: &[u8]) -> Result<String, String> {
    let i = Incremental::from_bytes(data).map_err(|e| e.to_string())?;
    Ok(format!(
        "e{} full {} crush {} pools {} release {}",
        i.epoch,
        i.fullmap.len(),
        i.crush.len(),
        i.new_pools.len(),
        i.new_require_osd_release
    ))
}

const TYPES: &[(&str, Checker)] = &[
    ("OSDMap", check_map),
    ("OSDMap::Incremental", check_inc),
    ("pg_pool_t", check::<PgPool>),
    ("pool_opts_t", check::<PoolOpts>),
    ("pool_snap_info_t", check::<PoolSnapInfo>),
    ("osd_info_t", check::<OsdInfo>),
    ("osd_xinfo_t", check::<OsdXInfo>),
    ("pg_t", check::<PgId>),
];

#[test]
fn corpus_samples_decode() {
    let Some(archive) = corpus_archive() else {
        return;
    };
    let versions = sorted_entries(&archive);
    let verbose = std::env::var_os("OSDMAP_CORPUS_VERBOSE").is_some();
    let mut failures = Vec::new();
    say(&format!(
        "{:<20} {:<26} {:>7}",
        "type", "version", "samples"
    ));
    for (type_name, checker) in TYPES {
        let mut total = 0;
        for version in &versions {
            let samples = sorted_entries(&version.join("objects").join(type_name));
            if samples.is_empty() {
                if matches!(*type_name, "OSDMap" | "OSDMap::Incremental") {
                    failures.push(format!("no {type_name} samples for {}", name(version)));
                }
                continue;
            }
            for sample in &samples {
                let data = std::fs::read(sample).unwrap();
                match checker(&data) {
                    Ok(summary) if verbose => say(&format!("  {}: {summary}", sample.display())),
                    Ok(_) => {}
                    Err(e) => failures.push(format!("{}: {e}", sample.display())),
                }
            }
            total += samples.len();
            say(&format!(
                "{type_name:<20} {:<26} {:>7}",
                name(version),
                samples.len()
            ));
        }
        if total == 0 {
            failures.push(format!("no samples of {type_name}"));
        }
    }
    assert!(
        failures.is_empty(),
        "corpus failures:\n{}",
        failures.join("\n")
    );
}

/// Applies every corpus incremental whose base map (same fsid, previous
/// epoch) is in the corpus of the same version; where the corpus also holds
/// the resulting map, the result must equal it field by field.
#[test]
fn corpus_incrementals_apply_to_their_base_maps() {
    let Some(archive) = corpus_archive() else {
        return;
    };
    let (mut applied, mut compared) = (0, 0);
    for version in sorted_entries(&archive) {
        let mut maps = BTreeMap::new();
        for sample in sorted_entries(&version.join("objects").join("OSDMap")) {
            let map = OsdMap::from_bytes(&std::fs::read(&sample).unwrap()).unwrap();
            maps.insert((map.fsid, map.epoch), map);
        }
        for sample in sorted_entries(&version.join("objects").join("OSDMap::Incremental")) {
            let inc = Incremental::from_bytes(&std::fs::read(&sample).unwrap()).unwrap();
            let Some(base) = maps.get(&(inc.fsid, inc.epoch.wrapping_sub(1))) else {
                continue;
            };
            let mut map = base.clone();
            map.apply_incremental(&inc)
                .unwrap_or_else(|e| panic!("{}: {e}", sample.display()));
            applied += 1;
            assert_eq!(map.epoch, inc.epoch);
            if let Some(expected) = maps.get(&(inc.fsid, inc.epoch)) {
                compare_maps(&map, expected, &sample);
                compared += 1;
            }
        }
    }
    say(&format!(
        "corpus incrementals applied to a corpus base map: {applied}, results compared with a corpus map: {compared}"
    ));
}

fn compare_maps(got: &OsdMap, want: &OsdMap, what: &Path) {
    let w = what.display();
    assert_eq!(got.pools, want.pools, "{w}: pools");
    assert_eq!(got.pool_names, want.pool_names, "{w}: pool names");
    assert_eq!(got.osd_state, want.osd_state, "{w}: osd_state");
    assert_eq!(got.osd_weight, want.osd_weight, "{w}: osd_weight");
    assert_eq!(got.osd_addrs, want.osd_addrs, "{w}: addrs");
    assert_eq!(got.pg_temp, want.pg_temp, "{w}: pg_temp");
    assert_eq!(got.primary_temp, want.primary_temp, "{w}: primary_temp");
    assert_eq!(got.pg_upmap, want.pg_upmap, "{w}: pg_upmap");
    assert_eq!(
        got.pg_upmap_items, want.pg_upmap_items,
        "{w}: pg_upmap_items"
    );
    assert_eq!(got.flags, want.flags, "{w}: flags");
    assert_eq!(got.crush, want.crush, "{w}: crush");
    assert_eq!(got.osd_info, want.osd_info, "{w}: osd_info");
}
