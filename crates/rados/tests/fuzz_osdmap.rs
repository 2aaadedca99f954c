#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Replays the OSDMap fuzzers' saved corpora (`fuzz/corpus/osdmap/` and
//! `fuzz/corpus/osdmap_incremental/`) through the same functions the fuzz
//! targets call, so that every input the fuzzers kept is checked by
//! `cargo test` too.

use std::io::Write;
use std::path::PathBuf;

fn replay(target: &str, body: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        let _ = writeln!(
            std::io::stderr(),
            "fuzz corpus replay SKIPPED for {target}: no folder {}",
            dir.display()
        );
        return;
    };
    let mut count = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap();
            body(&data);
            count += 1;
        }
    }
    assert!(count > 0, "{} holds no inputs", dir.display());
}

#[test]
fn osdmap_corpus() {
    replay("osdmap", ceph_rados::osdmap::fuzzing::full);
}

#[test]
fn osdmap_incremental_corpus() {
    replay(
        "osdmap_incremental",
        ceph_rados::osdmap::fuzzing::incremental,
    );
}
