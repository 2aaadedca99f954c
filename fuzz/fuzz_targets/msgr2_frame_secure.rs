//! msgr2.1 frames in secure mode: see `ceph_msgr2::fuzzing::frame_secure`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ceph_msgr2::fuzzing::frame_secure(data);
});
