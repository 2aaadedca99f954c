//! Drives a mounted monitor client core (`MonCore`) with a script of
//! monitor messages (known types, front parts from the input), time
//! passing, requests and session events. It must never panic, never answer
//! a request twice, never ask to be woken in the past. The body lives in
//! `ceph_rados::mon::fuzzing` so that `cargo test` replays the corpus too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ceph_rados::mon::fuzzing::mon_client(data);
});
