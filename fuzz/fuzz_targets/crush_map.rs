//! Decodes arbitrary bytes as a CRUSH map; what decodes must re-encode to
//! the same map and, when small, is mapped through every rule with bounded
//! work. The body lives in `ceph_rados::crush::fuzzing` so that `cargo
//! test` replays the corpus too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ceph_rados::crush::fuzzing::decode_and_map(data);
});
