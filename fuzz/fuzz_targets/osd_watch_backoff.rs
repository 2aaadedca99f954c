#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ceph_rados::osd::fuzzing::watch_and_backoff(data);
});
