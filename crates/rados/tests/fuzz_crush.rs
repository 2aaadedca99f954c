#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Replays the fuzzer's saved CRUSH corpus (`fuzz/corpus/crush_map/`) and
//! the map fixtures through the fuzz target's body, so that every input the
//! fuzzer kept is checked by `cargo test` too.

use std::io::Write;
use std::path::{Path, PathBuf};

use ceph_rados::crush::fuzzing::decode_and_map;

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

#[test]
fn crush_map_corpus_replays() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("../../fuzz/corpus/crush_map");
    if !corpus.is_dir() {
        let _ = writeln!(
            std::io::stderr(),
            "crush_map corpus replay SKIPPED: no folder {}",
            corpus.display()
        );
        return;
    }
    let inputs = files(&corpus);
    assert!(!inputs.is_empty(), "{} holds no inputs", corpus.display());
    for path in &inputs {
        decode_and_map(&std::fs::read(path).unwrap());
    }
    let _ = writeln!(
        std::io::stderr(),
        "crush_map corpus: {} inputs replayed",
        inputs.len()
    );
}

#[test]
fn fixtures_go_through_the_fuzz_body() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/crush");
    for path in files(&dir) {
        if path.extension().is_some_and(|x| x == "bin") {
            decode_and_map(&std::fs::read(&path).unwrap());
        }
    }
}
