//! Decodes an OSDMap::Incremental (crc checked and not) and applies it to a
//! small map of three OSDs. The body lives in
//! `ceph_rados::osdmap::fuzzing` so that `cargo test` replays the corpus
//! too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ceph_rados::osdmap::fuzzing::incremental(data);
});
