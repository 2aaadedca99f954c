//! The aes256k cephx cipher (RFC 8009 aes256-cts-hmac-sha384-192) on any
//! input: decrypting junk never panics, encrypting any plaintext under any
//! usage round-trips, and a flipped bit is refused. The body lives in
//! `ceph_cephx::fuzzing` so that `cargo test` replays the corpus too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ceph_cephx::fuzzing::aes256k(data);
});
