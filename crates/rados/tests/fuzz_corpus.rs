//! Replays the fuzzer's saved corpora (`fuzz/corpus/monmap/`, `mon_client/`) through the
//! same function the fuzz target calls, so that every input the fuzzer kept
//! is checked by `cargo test` too.

fn replay(target: &str, body: fn(&[u8])) {
    rbd_native_tests::replay_fuzz_corpus(target, body);
}

#[test]
fn monmap_corpus() {
    replay("monmap", ceph_rados::monmap::fuzzing::monmap);
}

#[test]
fn mon_client_corpus() {
    replay("mon_client", ceph_rados::mon::fuzzing::mon_client);
}

/// Runs the seed scripts through the fuzz body; with
/// `MON_CLIENT_WRITE_SEEDS=1` also writes them into fuzz/corpus/mon_client.
#[test]
fn mon_client_seeds() {
    let write = std::env::var_os("MON_CLIENT_WRITE_SEEDS").is_some();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/mon_client");
    for (name, seed) in ceph_rados::mon::fuzzing::seeds() {
        ceph_rados::mon::fuzzing::mon_client(&seed);
        if write {
            std::fs::create_dir_all(&dir).expect("corpus dir");
            std::fs::write(dir.join(format!("seed-{name}")), seed).expect("seed written");
        }
    }
}
