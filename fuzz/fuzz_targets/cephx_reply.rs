//! Drives the cephx reply decoders (server challenge, AUTH_DONE, ticket
//! replies, authorizer challenge and reply, sealed values) with the input,
//! as it is and expanded as a template that seals spans with the target's
//! fixed keys. The body lives in `ceph_cephx::fuzzing` so that `cargo test`
//! replays the corpus too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ceph_cephx::fuzzing::cephx_reply(data);
});
