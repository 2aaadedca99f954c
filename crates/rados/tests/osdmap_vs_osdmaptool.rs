#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Our decoding of OSD maps against Ceph's own tools.
//!
//! * The test bed's map (saved in `tests/fixtures/osdmap/`, epoch 34 and
//!   35) against `ceph osd dump -f json`, saved beside it at capture time:
//!   pools, pg_num, sizes, flags, OSD states, weights, addresses.
//! * The same fixture, and every corpus map (`CEPH_OBJECT_CORPUS`), against
//!   `osdmaptool --print FILE`, when `osdmaptool` is installed: header,
//!   every pool line, every OSD line. Maps `osdmaptool` cannot read (some
//!   written by 20.3) must still decode; they are counted and reported.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use ceph_rados::osdmap::constants::{map_flags, release};
use ceph_rados::osdmap::{OsdMap, PgPool};
use serde_json::Value;

fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/osdmap")
        .join(name)
}

fn load(path: &Path) -> OsdMap {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    OsdMap::from_bytes(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn live_fixture_matches_ceph_osd_dump_json() {
    let map = load(&fixture("pacific-e35.bin"));
    let text = std::fs::read_to_string(fixture("pacific-e35.json")).unwrap();
    let dump: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(dump["epoch"], map.epoch);
    assert_eq!(dump["fsid"], map.fsid.to_string());
    assert_eq!(dump["flags_num"], map.flags);
    assert_eq!(dump["crush_version"], map.crush_version);
    assert_eq!(dump["pool_max"], map.pool_max);
    assert_eq!(dump["max_osd"], map.max_osd);
    assert_eq!(
        dump["require_osd_release"],
        release::name(map.require_osd_release)
    );
    for (key, ours) in [
        ("full_ratio", map.full_ratio),
        ("backfillfull_ratio", map.backfillfull_ratio),
        ("nearfull_ratio", map.nearfull_ratio),
    ] {
        let theirs = dump[key].as_f64().unwrap();
        assert!((theirs - f64::from(ours)).abs() < 1e-6, "{key}");
    }

    let pools = dump["pools"].as_array().unwrap();
    assert_eq!(pools.len(), map.pools.len());
    for p in pools {
        let id = p["pool"].as_i64().unwrap();
        let pool = map.pool(id).unwrap();
        assert_eq!(p["pool_name"], map.pool_name(id).unwrap());
        let want = [
            ("type", u64::from(pool.pool_type)),
            ("size", u64::from(pool.size)),
            ("min_size", u64::from(pool.min_size)),
            ("crush_rule", u64::from(pool.crush_rule)),
            ("object_hash", u64::from(pool.object_hash)),
            ("pg_num", u64::from(pool.pg_num)),
            ("pg_placement_num", u64::from(pool.pgp_num)),
            ("pg_placement_num_target", u64::from(pool.pgp_num_target)),
            ("pg_num_target", u64::from(pool.pg_num_target)),
            ("pg_num_pending", u64::from(pool.pg_num_pending)),
            ("flags", pool.flags),
            ("snap_seq", pool.snap_seq),
            ("snap_epoch", u64::from(pool.snap_epoch)),
            ("stripe_width", u64::from(pool.stripe_width)),
            ("quota_max_bytes", pool.quota_max_bytes),
            ("quota_max_objects", pool.quota_max_objects),
        ];
        for (key, ours) in want {
            assert_eq!(p[key].as_u64(), Some(ours), "pool {id} {key}");
        }
        assert_eq!(p["flags_names"], pool.flag_names(), "pool {id}");
        assert_eq!(p["last_change"], pool.last_change.to_string());
        assert_eq!(p["erasure_code_profile"], pool.erasure_code_profile);
        assert_eq!(p["tier_of"], pool.tier_of);
        let apps: BTreeSet<&str> = p["application_metadata"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let ours: BTreeSet<&str> = pool
            .application_metadata
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(apps, ours, "pool {id} applications");
        let opts = &p["options"];
        if let Some(max) = opts["pg_num_max"].as_i64() {
            assert_eq!(
                pool.opts.int(ceph_rados::osdmap::PoolOpts::PG_NUM_MAX),
                Some(max)
            );
        }
    }

    let osds = dump["osds"].as_array().unwrap();
    assert_eq!(osds.len(), map.num_osds());
    for o in osds {
        let id = i32::try_from(o["osd"].as_i64().unwrap()).unwrap();
        let i = usize::try_from(id).unwrap();
        assert_eq!(o["uuid"], map.osd_uuid[i].to_string());
        assert_eq!(o["up"].as_i64(), Some(i64::from(map.is_up(id))));
        assert_eq!(o["in"].as_i64(), Some(i64::from(map.is_in(id))));
        let weight = o["weight"].as_f64().unwrap();
        assert!((weight - f64::from(map.weight(id)) / 65536.0).abs() < 1e-6);
        let affinity = o["primary_affinity"].as_f64().unwrap();
        assert!((affinity - f64::from(map.primary_affinity(id)) / 65536.0).abs() < 1e-6);
        let info = &map.osd_info[i];
        for (key, ours) in [
            ("up_from", info.up_from),
            ("up_thru", info.up_thru),
            ("down_at", info.down_at),
            ("lost_at", info.lost_at),
            ("last_clean_begin", info.last_clean_begin),
            ("last_clean_end", info.last_clean_end),
        ] {
            assert_eq!(o[key].as_u64(), Some(u64::from(ours)), "osd.{id} {key}");
        }
        for (key, ours) in [
            ("public_addrs", map.addrs(id).unwrap()),
            ("cluster_addrs", &map.cluster_addrs[i]),
            ("heartbeat_back_addrs", &map.hb_back_addrs[i]),
            ("heartbeat_front_addrs", &map.hb_front_addrs[i]),
        ] {
            let theirs: Vec<String> = o[key]["addrvec"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    format!(
                        "{}:{}/{}",
                        a["type"].as_str().unwrap(),
                        a["addr"].as_str().unwrap(),
                        a["nonce"]
                    )
                })
                .collect();
            let ours: Vec<String> = ours.addrs.iter().map(ToString::to_string).collect();
            assert_eq!(theirs, ours, "osd.{id} {key}");
        }
        let states: Vec<&str> = o["state"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert_eq!(states, map.state_names(id), "osd.{id} state");
    }
    say(&format!(
        "live fixture e{}: {} pools, {} OSDs match `ceph osd dump -f json`",
        map.epoch,
        map.pools.len(),
        osds.len()
    ));
}

/// Map flag names as `OSDMap::get_flag_string` prints them.
const MAP_FLAG_NAMES: &[(u32, &str)] = &[
    (map_flags::PAUSERD, "pauserd"),
    (map_flags::PAUSEWR, "pausewr"),
    (map_flags::PAUSEREC, "pauserec"),
    (map_flags::NOUP, "noup"),
    (map_flags::NODOWN, "nodown"),
    (map_flags::NOOUT, "noout"),
    (map_flags::NOIN, "noin"),
    (map_flags::NOBACKFILL, "nobackfill"),
    (map_flags::NOREBALANCE, "norebalance"),
    (map_flags::NORECOVER, "norecover"),
    (map_flags::NOSCRUB, "noscrub"),
    (map_flags::NODEEP_SCRUB, "nodeep-scrub"),
    (map_flags::NOTIERAGENT, "notieragent"),
    (map_flags::NOSNAPTRIM, "nosnaptrim"),
    (map_flags::SORTBITWISE, "sortbitwise"),
    (map_flags::REQUIRE_JEWEL, "require_jewel_osds"),
    (map_flags::REQUIRE_KRAKEN, "require_kraken_osds"),
    (map_flags::REQUIRE_LUMINOUS, "require_luminous_osds"),
    (map_flags::RECOVERY_DELETES, "recovery_deletes"),
    (map_flags::PURGED_SNAPDIRS, "purged_snapdirs"),
    (map_flags::PGLOG_HARDLIMIT, "pglog_hardlimit"),
];

enum Oracle {
    Printed(String),
    CannotRead(String),
    Missing,
}

/// The release number of the `osdmaptool` in use, from its `--version`
/// ("ceph version 20.2.4 (...) tentacle (stable)"); Pacific when unreadable.
fn oracle_release() -> u8 {
    static RELEASE: std::sync::OnceLock<u8> = std::sync::OnceLock::new();
    *RELEASE.get_or_init(|| {
        rbd_native_tests::tool("osdmaptool")
            .arg("--version")
            .output()
            .ok()
            .and_then(|out| {
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                let version = text.split_whitespace().nth(2)?.to_owned();
                version.split('.').next()?.parse().ok()
            })
            .unwrap_or(release::PACIFIC)
    })
}

fn osdmaptool_print(path: &Path) -> Oracle {
    match rbd_native_tests::tool("osdmaptool")
        .arg("--print")
        .arg(path)
        .output()
    {
        Err(_) => Oracle::Missing,
        Ok(out) if out.status.success() => {
            Oracle::Printed(String::from_utf8_lossy(&out.stdout).into_owned())
        }
        Ok(out) => Oracle::CannotRead(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
    }
}

/// The value after `key` among `tokens`.
fn after<'a>(tokens: &[&'a str], key: &str) -> Option<&'a str> {
    tokens
        .iter()
        .position(|t| *t == key)
        .and_then(|i| tokens.get(i + 1).copied())
}

fn check_pool_line(line: &str, id: i64, name: &str, pool: &PgPool) -> Result<(), String> {
    let rest = line
        .strip_prefix(&format!("pool {id} '{name}' "))
        .ok_or_else(|| format!("pool {id}: unexpected line {line:?}"))?;
    let tokens: Vec<&str> = rest.split_whitespace().collect();
    let mut errors = Vec::new();
    let mut expect = |what: &str, theirs: Option<&str>, ours: String| {
        if theirs != Some(ours.as_str()) {
            errors.push(format!(
                "pool {id} {what}: osdmaptool {theirs:?}, ours {ours:?}"
            ));
        }
    };
    expect("type", tokens.first().copied(), pool.type_name().to_owned());
    if pool.is_erasure() {
        expect(
            "profile",
            after(&tokens, "profile"),
            pool.erasure_code_profile.clone(),
        );
    }
    expect("size", after(&tokens, "size"), pool.size.to_string());
    expect(
        "min_size",
        after(&tokens, "min_size"),
        pool.min_size.to_string(),
    );
    expect(
        "crush_rule",
        after(&tokens, "crush_rule"),
        pool.crush_rule.to_string(),
    );
    expect(
        "object_hash",
        after(&tokens, "object_hash"),
        pool.object_hash_name().to_owned(),
    );
    expect("pg_num", after(&tokens, "pg_num"), pool.pg_num.to_string());
    expect(
        "pgp_num",
        after(&tokens, "pgp_num"),
        pool.pgp_num.to_string(),
    );
    for (key, value, base) in [
        ("pg_num_target", pool.pg_num_target, pool.pg_num),
        ("pgp_num_target", pool.pgp_num_target, pool.pgp_num),
        ("pg_num_pending", pool.pg_num_pending, pool.pg_num),
    ] {
        // Printed only when it differs from the current value.
        let theirs = after(&tokens, key).unwrap_or("(not printed)");
        let ours = if value == base {
            "(not printed)".to_owned()
        } else {
            value.to_string()
        };
        expect(key, Some(theirs), ours);
    }
    expect(
        "last_change",
        after(&tokens, "last_change"),
        pool.last_change.to_string(),
    );
    let lfor = [
        pool.last_force_op_resend,
        pool.last_force_op_resend_prenautilus,
        pool.last_force_op_resend_preluminous,
    ];
    if lfor != [0; 3] {
        expect(
            "lfor",
            after(&tokens, "lfor"),
            format!("{}/{}/{}", lfor[0], lfor[1], lfor[2]),
        );
    }
    // Pacific's osdmaptool knows the flag names up to bit 18.
    if pool.flags != 0 && pool.flags >> 19 == 0 {
        expect("flags", after(&tokens, "flags"), pool.flag_names());
    }
    expect(
        "stripe_width",
        after(&tokens, "stripe_width"),
        pool.stripe_width.to_string(),
    );
    if pool.quota_max_bytes != 0 {
        expect(
            "max_bytes",
            after(&tokens, "max_bytes"),
            pool.quota_max_bytes.to_string(),
        );
    }
    if pool.tier_of >= 0 {
        expect(
            "tier_of",
            after(&tokens, "tier_of"),
            pool.tier_of.to_string(),
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

fn check_osd_line(line: &str, map: &OsdMap, id: i32) -> Result<(), String> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let mut errors = Vec::new();
    let up = if map.is_up(id) { "up" } else { "down" };
    let inn = if map.is_in(id) { "in" } else { "out" };
    if tokens.get(1) != Some(&up) || tokens.get(2) != Some(&inn) {
        errors.push(format!("osd.{id}: up/in {:?}", &tokens[1..3]));
    }
    let weight: f64 = after(&tokens, "weight")
        .and_then(|w| w.parse().ok())
        .unwrap_or(-1.0);
    if (weight - f64::from(map.weight(id)) / 65536.0).abs() > 1e-4 {
        errors.push(format!("osd.{id}: weight {weight}"));
    }
    let i = usize::try_from(id).unwrap();
    let info = map.osd_info[i];
    for (key, ours) in [
        ("up_from", info.up_from),
        ("up_thru", info.up_thru),
        ("down_at", info.down_at),
    ] {
        if after(&tokens, key) != Some(ours.to_string().as_str()) {
            errors.push(format!("osd.{id}: {key}"));
        }
    }
    let interval = format!("[{},{})", info.last_clean_begin, info.last_clean_end);
    if after(&tokens, "last_clean_interval") != Some(interval.as_str()) {
        errors.push(format!("osd.{id}: last_clean_interval"));
    }
    let mut states = map.state_names(id);
    states.sort_unstable();
    let tail = format!(
        " {} {} {}",
        map.addrs(id).unwrap(),
        map.cluster_addrs[i],
        states.join(",")
    );
    if !line.contains(&tail) {
        errors.push(format!(
            "osd.{id}: addresses/state: expected {tail:?} in {line:?}"
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// Compares `osdmaptool --print` output with the map; returns what differs.
fn compare_with_print(map: &OsdMap, printed: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let mut header = BTreeMap::new();
    let mut pool_lines = BTreeMap::new();
    let mut osd_lines = BTreeMap::new();
    for line in printed.lines() {
        if let Some(rest) = line.strip_prefix("pool ") {
            let id: i64 = rest
                .split(' ')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(-1);
            pool_lines.insert(id, line);
        } else if let Some(rest) = line.strip_prefix("osd.") {
            let id: i32 = rest
                .split(' ')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(-1);
            osd_lines.insert(id, line);
        } else if let Some((key, value)) = line.split_once(' ') {
            header.insert(key, value);
        }
    }
    let mut expect = |key: &str, ours: String| {
        if header.get(key).copied() != Some(ours.as_str()) {
            errors.push(format!(
                "{key}: osdmaptool {:?}, ours {ours:?}",
                header.get(key)
            ));
        }
    };
    expect("epoch", map.epoch.to_string());
    expect("fsid", map.fsid.to_string());
    expect("max_osd", map.max_osd.to_string());
    expect("crush_version", map.crush_version.to_string());
    // osdmaptool names releases up to its own, prints "unknown" for a
    // later one and nothing for an unset one.
    let printed_release = match map.require_osd_release {
        release::UNKNOWN => None,
        r if r > oracle_release() => Some("unknown"),
        r => Some(release::name(r)),
    };
    if header.get("require_osd_release").copied() != printed_release {
        errors.push(format!(
            "require_osd_release: osdmaptool {:?}, ours {}",
            header.get("require_osd_release"),
            map.require_osd_release
        ));
    }
    let ours: BTreeSet<&str> = MAP_FLAG_NAMES
        .iter()
        .filter(|(bit, _)| map.flags & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    let theirs: BTreeSet<&str> = header
        .get("flags")
        .map(|f| f.split(',').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    if ours != theirs {
        errors.push(format!("flags: osdmaptool {theirs:?}, ours {ours:?}"));
    }
    let ids: Vec<i64> = map.pools.keys().copied().collect();
    if pool_lines.keys().copied().collect::<Vec<_>>() != ids {
        errors.push(format!(
            "pools: osdmaptool {:?}, ours {ids:?}",
            pool_lines.keys()
        ));
    }
    for (id, pool) in &map.pools {
        let name = map.pool_name(*id).unwrap_or("<unknown>");
        if let Some(line) = pool_lines.get(id) {
            if let Err(e) = check_pool_line(line, *id, name, pool) {
                errors.push(e);
            }
        }
    }
    let existing: Vec<i32> = (0..map.max_osd).filter(|o| map.exists(*o)).collect();
    if osd_lines.keys().copied().collect::<Vec<_>>() != existing {
        errors.push(format!(
            "osds: osdmaptool {:?}, ours {existing:?}",
            osd_lines.keys()
        ));
    }
    for id in existing {
        if let Some(line) = osd_lines.get(&id) {
            if let Err(e) = check_osd_line(line, map, id) {
                errors.push(e);
            }
        }
    }
    errors
}

fn corpus_maps() -> Vec<PathBuf> {
    let Some(root) = std::env::var_os("CEPH_OBJECT_CORPUS") else {
        say("corpus maps SKIPPED: CEPH_OBJECT_CORPUS is not set");
        return Vec::new();
    };
    let mut out = Vec::new();
    let archive = Path::new(&root).join("archive");
    for version in std::fs::read_dir(&archive).into_iter().flatten().flatten() {
        let dir = version.path().join("objects/OSDMap");
        for sample in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            out.push(sample.path());
        }
    }
    out.sort();
    out
}

#[test]
fn maps_match_osdmaptool_print() {
    let mut files = vec![fixture("pacific-e34.bin"), fixture("pacific-e35.bin")];
    files.extend(corpus_maps());
    let (mut matched, mut unreadable) = (0, Vec::new());
    let mut failures = Vec::new();
    for file in &files {
        let map = load(file);
        match osdmaptool_print(file) {
            Oracle::Missing => {
                say("osdmaptool comparison SKIPPED: osdmaptool is not installed");
                return;
            }
            Oracle::CannotRead(why) => unreadable.push(format!(
                "{} (epoch {}, {} pools, {} OSDs): osdmaptool: {}",
                file.display(),
                map.epoch,
                map.pools.len(),
                map.max_osd,
                why.lines().last().unwrap_or("")
            )),
            Oracle::Printed(text) => {
                let errors = compare_with_print(&map, &text);
                if errors.is_empty() {
                    matched += 1;
                } else {
                    failures.push(format!("{}:\n  {}", file.display(), errors.join("\n  ")));
                }
            }
        }
    }
    say(&format!(
        "{matched} maps match `osdmaptool --print`; {} decoded by us but unreadable by osdmaptool:",
        unreadable.len()
    ));
    for u in &unreadable {
        say(&format!("  {u}"));
    }
    assert!(failures.is_empty(), "differences:\n{}", failures.join("\n"));
    assert!(matched >= 2, "the live fixtures must be compared");
}
