//! Decodes entity_addr_t and entity_addrvec_t; whatever decodes must
//! re-encode and decode to the same value. The body lives in
//! `ceph_encoding::fuzzing` so that `cargo test` replays the corpus too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ceph_encoding::fuzzing::entity_addr(data);
});
