//! Replays the fuzzer's saved corpus (`fuzz/corpus/monmap/`) through the
//! same function the fuzz target calls, so that every input the fuzzer kept
//! is checked by `cargo test` too.

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
        let path = entry
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .path();
        if path.is_file() {
            let data =
                std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            body(&data);
            count += 1;
        }
    }
    assert!(count > 0, "{} holds no inputs", dir.display());
}

#[test]
fn monmap_corpus() {
    replay("monmap", ceph_rados::monmap::fuzzing::monmap);
}
