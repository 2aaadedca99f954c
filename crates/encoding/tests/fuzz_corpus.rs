//! Replays the fuzzers' saved corpora (`fuzz/corpus/<target>/`) through the
//! same functions the fuzz targets call, so that every input the fuzzer kept
//! is checked by `cargo test` too.

fn replay(target: &str, body: fn(&[u8])) {
    rbd_native_tests::replay_fuzz_corpus(target, body);
}

#[test]
fn entity_addr_corpus() {
    replay("entity_addr", ceph_encoding::fuzzing::entity_addr);
}
