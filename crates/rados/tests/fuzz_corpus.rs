//! Replays the fuzzer's saved corpus (`fuzz/corpus/monmap/`) through the
//! same function the fuzz target calls, so that every input the fuzzer kept
//! is checked by `cargo test` too.

fn replay(target: &str, body: fn(&[u8])) {
    rbd_native_tests::replay_fuzz_corpus(target, body);
}

#[test]
fn monmap_corpus() {
    replay("monmap", ceph_rados::monmap::fuzzing::monmap);
}
