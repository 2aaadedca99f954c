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

// Not every test file uses it.
#[allow(dead_code)]
/// `upload` of volume `spec` as image `name` by clone, JSON out; with
/// `--no-fallback` when `no_fallback`.
pub fn clone_upload<'a>(spec: &'a str, name: &'a str, no_fallback: bool) -> Vec<&'a str> {
    let mut args = vec![
        "upload",
        "--volume",
        spec,
        "--name",
        name,
        "--clone-optimization",
        "--format",
        "json",
    ];
    if no_fallback {
        args.push("--no-fallback");
    }
    args
}

pub mod nothing_left;
