//! Decodes a full OSDMap (crc checked and not) and a lone pg_pool_t; a map
//! that decodes is queried and has an empty incremental applied. The body
//! lives in `ceph_rados::osdmap::fuzzing` so that `cargo test` replays the
//! corpus too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ceph_rados::osdmap::fuzzing::full(data);
});
