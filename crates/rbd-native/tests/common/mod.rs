//! Helpers shared by this package's upload tests.

use std::process::Output;

use rbd_native_tests::{rbd_native_bin, run, Testbed};

// Not every test file uses it.
#[allow(dead_code)]
/// `rbd-native` as the cinder user with the uploader's OpenStack
/// credentials; `env` overrides.
pub fn ours(bed: &Testbed, args: &[&str], env: &[(&str, &str)]) -> Output {
    let bin = rbd_native_bin(env!("CARGO_BIN_EXE_rbd-native"));
    let mut c = bed.rbd_native_uploader(&bin);
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    run(&mut c)
}

pub mod nothing_left;
