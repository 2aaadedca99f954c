//! Replays the `glance_responses` fuzzer's saved corpus
//! (`fuzz/corpus/glance_responses/`: Keystone's and Glance's answers as
//! the test bed gave them, and hostile ones) through the function the
//! target calls, so that `cargo test` checks every input the fuzzer kept.

#[test]
fn glance_responses_corpus() {
    let n =
        rbd_native_tests::replay_fuzz_corpus("glance_responses", glance_client::fuzzing::responses);
    assert!(n >= 10, "{n} inputs");
}
