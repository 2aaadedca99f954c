//! Every sample of the common types in the Ceph object corpus decodes, with
//! no bytes left over, and re-encodes to the same bytes where Ceph's encoding
//! is canonical.
//!
//! The corpus is found through `CEPH_OBJECT_CORPUS` (a folder holding
//! `archive/<version>/objects/<type>/<sample>`); without it the test says so
//! and passes.

use rbd_native_tests::{corpus_archive, sorted_entries};
use std::io::Write;

use ceph_encoding::features::CEPH_FEATURES_ALL;
use ceph_encoding::{
    Decode, Encode, EntityAddr, EntityAddrVec, EntityInst, EntityName, EntityNameT, MonFeature,
    UTime, Uuid,
};

/// Written straight to stderr so that it shows even when the test passes.
fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Decodes `data` as a `T`, and tells whether re-encoding gives it back.
fn check<T: Decode + Encode>(data: &[u8]) -> Result<bool, String> {
    let value = T::decode_exact(data).map_err(|e| e.to_string())?;
    Ok(value.to_bytes(CEPH_FEATURES_ALL)[..] == *data)
}

type Checker = fn(&[u8]) -> Result<bool, String>;

/// Corpus folder, checker, and whether re-encoding must be byte-exact.
const TYPES: &[(&str, Checker, bool)] = &[
    ("entity_name_t", check::<EntityNameT>, true),
    ("EntityName", check::<EntityName>, true),
    ("entity_addr_t", check::<EntityAddr>, true),
    ("entity_addrvec_t", check::<EntityAddrVec>, true),
    ("entity_inst_t", check::<EntityInst>, true),
    ("utime_t", check::<UTime>, true),
    ("uuid_d", check::<Uuid>, true),
    ("mon_feature_t", check::<MonFeature>, true),
];

#[test]
fn corpus_samples_decode_and_reencode() {
    let archive = match corpus_archive() {
        Ok(a) => a,
        Err(why) => {
            say(&format!("corpus test SKIPPED: {why}"));
            return;
        }
    };
    let versions = sorted_entries(&archive);
    let mut failures = Vec::new();
    say(&format!(
        "{:<18} {:<26} {:>7} {:>9}",
        "type", "version", "samples", "identical"
    ));
    for (type_name, checker, canonical) in TYPES {
        let mut total = 0;
        for version in &versions {
            let version_name = version
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let dir = version.join("objects").join(type_name);
            let samples = sorted_entries(&dir);
            if samples.is_empty() {
                continue;
            }
            let mut identical = 0;
            for sample in &samples {
                let data = std::fs::read(sample)
                    .unwrap_or_else(|e| panic!("reading {}: {e}", sample.display()));
                match checker(&data) {
                    Ok(true) => identical += 1,
                    Ok(false) if !canonical => {}
                    Ok(false) => {
                        failures.push(format!("{}: re-encoding differs", sample.display()))
                    }
                    Err(e) => failures.push(format!("{}: {e}", sample.display())),
                }
            }
            total += samples.len();
            say(&format!(
                "{type_name:<18} {version_name:<26} {:>7} {identical:>9}",
                samples.len()
            ));
        }
        if total == 0 {
            failures.push(format!(
                "no samples of {type_name} in {}",
                archive.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "corpus failures:\n{}",
        failures.join("\n")
    );
}
