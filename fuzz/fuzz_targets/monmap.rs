//! Decodes a MonMap (every version, legacy ones included) and a
//! mon_info_t; whatever decodes must re-encode and decode to the same
//! value. The body lives in `ceph_rados::monmap::fuzzing` so that
//! `cargo test` replays the corpus too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ceph_rados::monmap::fuzzing::monmap(data);
});
