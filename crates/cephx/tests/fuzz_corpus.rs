//! Replays the fuzzer's saved corpus (`fuzz/corpus/cephx_reply/`) through
//! the same function the fuzz target calls, so that every input the fuzzer
//! kept is checked by `cargo test` too.
//!
//! `cargo test -p ceph-cephx --test fuzz_corpus -- --ignored` writes the
//! seed templates of `ceph_cephx::fuzzing::seeds` into that folder.

use std::io::Write;
use std::path::PathBuf;

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

#[test]
fn cephx_reply_corpus() {
    let dir = corpus_dir("cephx_reply");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        let _ = writeln!(
            std::io::stderr(),
            "fuzz corpus replay SKIPPED for cephx_reply: no folder {}",
            dir.display()
        );
        return;
    };
    let mut count = 0;
    let mut reached = ceph_cephx::fuzzing::Reached::default();
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .path();
        if path.is_file() {
            let data =
                std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let r = ceph_cephx::fuzzing::cephx_reply(&data);
            reached.handle_done |= r.handle_done;
            reached.read_reply |= r.read_reply;
            reached.add_challenge |= r.add_challenge;
            reached.verify_reply |= r.verify_reply;
            count += 1;
        }
    }
    assert!(count > 0, "{} holds no inputs", dir.display());
    // The corpus keeps inputs that get past the encryption into every
    // decoder.
    assert_eq!(
        reached,
        ceph_cephx::fuzzing::Reached {
            handle_done: true,
            read_reply: true,
            add_challenge: true,
            verify_reply: true,
        }
    );
}

#[test]
fn cephx_aes256k_corpus() {
    let dir = corpus_dir("cephx_aes256k");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the saved corpus {} is missing: {e}", dir.display()));
    let mut count = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_file() {
            ceph_cephx::fuzzing::aes256k(&std::fs::read(&path).unwrap());
            count += 1;
        }
    }
    assert!(count > 0, "{} holds no inputs", dir.display());
}

/// Runs the seed templates through the fuzz body; with
/// `CEPHX_WRITE_SEEDS=1` also writes them into fuzz/corpus/cephx_reply.
#[test]
fn seeds() {
    let write = std::env::var_os("CEPHX_WRITE_SEEDS").is_some();
    let dir = corpus_dir("cephx_reply");
    for (name, seed) in ceph_cephx::fuzzing::seeds() {
        ceph_cephx::fuzzing::cephx_reply(&seed);
        if write {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("seed-{name}")), seed).unwrap();
        }
    }
}
