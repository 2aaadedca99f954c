#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Replays the OSDMap fuzzers' saved corpora (`fuzz/corpus/osdmap/` and
//! `fuzz/corpus/osdmap_incremental/`) through the same functions the fuzz
//! targets call, so that every input the fuzzers kept is checked by
//! `cargo test` too.

fn replay(target: &str, body: fn(&[u8])) {
    rbd_native_tests::replay_fuzz_corpus(target, body);
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
