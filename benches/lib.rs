//! Shared helpers of the benchmarks: timing, statistics, the reference
//! tools (through Debian's Python bindings of librados and librbd), and
//! the report table; the method of the side-by-side measures
//! ([`method`]), each side run as a child process of its own and measured
//! ([`child`]), and their reports in JSON and Markdown ([`report`]); room
//! on the host for their writes ([`disk`]).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod child;
pub mod disk;
pub mod method;
pub mod report;

use std::process::Command;
use std::time::{Duration, Instant};

/// What every benchmark starts from: the bed, its main cluster's ceph.conf
/// and admin keyring, client settings for them, and a 2-thread runtime.
pub struct Setup {
    /// The bed.
    pub bed: rbd_native_tests::Testbed,
    /// Path of cluster main's ceph.conf.
    pub conf: String,
    /// Path of its admin keyring.
    pub keyring: String,
    /// Resolved client settings (client.admin).
    pub settings: ceph_rados::config::ClientSettings,
    /// The async runtime.
    pub rt: tokio::runtime::Runtime,
}

impl Setup {
    /// Loads the bed and prepares the client.
    pub fn new() -> Setup {
        let bed = rbd_native_tests::Testbed::load();
        let conf = bed.var("CEPH_CONF");
        let keyring = bed.var("CEPH_ADMIN_KEYRING");
        let settings =
            ceph_rados::config::ClientSettings::resolve(&ceph_rados::config::ClientArgs {
                conf: Some(conf.clone().into()),
                keyring: Some(keyring.clone().into()),
                ..Default::default()
            })
            .expect("client settings from the bed");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        Setup {
            bed,
            conf,
            keyring,
            settings,
            rt,
        }
    }
}

impl Default for Setup {
    fn default() -> Self {
        Setup::new()
    }
}

/// The workspace's target directory (`CARGO_TARGET_DIR` when set).
pub fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// The `rbd-native` binary the benchmarks run: `RBD_NATIVE_BIN`, else the
/// workspace's release build (`make bench` builds it first; so should
/// whoever runs `cargo bench` alone: `cargo build --release -p rbd-native`).
pub fn rbd_native_bin() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("RBD_NATIVE_BIN") {
        return p.into();
    }
    let bin = target_dir().join("release/rbd-native");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release -p rbd-native` (or set RBD_NATIVE_BIN)",
        bin.display()
    );
    bin
}

/// The median of some durations.
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// Times `f` `n` times; returns the median.
pub fn time_n(n: usize, mut f: impl FnMut()) -> Duration {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f();
        v.push(t.elapsed());
    }
    median(v)
}

/// Runs a Python snippet with the Python that imports the bed's release's
/// `rados` and `rbd` ([`rbd_native_tests::Testbed::system_python`]) and
/// returns what it printed on its last line (the measurement).
pub fn python(script: &str) -> String {
    let mut cmd = match rbd_native_tests::Testbed::try_load() {
        Some(bed) => bed.system_python(),
        None => Command::new(rbd_native_tests::SYSTEM_PYTHON),
    };
    let out = cmd
        .arg("-c")
        .arg(script)
        .output()
        .expect("run the system Python (python3-rados of the bed's Ceph release)");
    if !out.status.success() {
        panic!(
            "reference script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// One line of the report: what, ours, theirs, and the ratio.
pub struct Row {
    /// What was measured.
    pub what: String,
    /// Our figure.
    pub ours: f64,
    /// The reference's figure.
    pub theirs: f64,
    /// The unit (ms, ops/s).
    pub unit: &'static str,
    /// Whether higher is better (throughput) or lower (latency).
    pub higher_is_better: bool,
}

/// Prints the rows as a table with "ours / reference" ratios.
pub fn report(title: &str, reference: &str, rows: &[Row]) {
    println!("\n## {title}\n");
    println!("| measure | rbd-native | {reference} | ratio (ours/ref) |");
    println!("|---|---:|---:|---:|");
    for r in rows {
        let ratio = if r.theirs > 0.0 {
            r.ours / r.theirs
        } else {
            f64::NAN
        };
        let better = if r.higher_is_better == (ratio >= 1.0) {
            "better"
        } else {
            "worse"
        };
        println!(
            "| {} | {:.2} {} | {:.2} {} | {:.2} ({}) |",
            r.what, r.ours, r.unit, r.theirs, r.unit, ratio, better
        );
    }
}
