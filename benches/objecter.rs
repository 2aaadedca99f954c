//! Object I/O: our Objecter against `rados bench` (librados) on the same
//! bed in one run: 4 KiB writes and reads at 1 and 16 in flight, 4 MiB
//! writes and sequential reads at 16 in flight. Ops/s, MiB/s (what `rados
//! bench` calls MB/sec) and ratios.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ceph_rados::{IoCtx, Rados};
use rbd_native_benches::{report, Row, Setup};

const SECS: u64 = 5;
const POOL: &str = "volumes";

/// (ops/s, MiB/s) of `rados bench` for a write or seq run.
fn rados_bench(
    conf: &str,
    keyring: &str,
    mode: &str,
    size: usize,
    threads: usize,
    prefix: &str,
) -> (f64, f64) {
    let mut cmd = rbd_native_tests::tool("rados");
    cmd.args([
        "-c",
        conf,
        "-k",
        keyring,
        "-p",
        POOL,
        "bench",
        &SECS.to_string(),
        mode,
    ])
    .args(["-t", &threads.to_string(), "--run-name", prefix]);
    if mode == "write" {
        cmd.args(["-b", &size.to_string(), "--no-cleanup"]);
    }
    let out = cmd.output().expect("rados bench");
    assert!(
        out.status.success(),
        "rados bench: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.trim_start().starts_with(name))
            .and_then(|l| l.split(':').nth(1))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    (field("Average IOPS"), field("Bandwidth (MB/sec)"))
}

fn rados_cleanup(conf: &str, keyring: &str, prefix: &str) {
    let _ = rbd_native_tests::tool("rados")
        .args([
            "-c",
            conf,
            "-k",
            keyring,
            "-p",
            POOL,
            "cleanup",
            "--run-name",
            prefix,
        ])
        .output();
}

/// Our writes for SECS seconds with `threads` in flight; returns
/// (ops/s, MiB/s, objects written).
async fn our_writes(io: &IoCtx, size: usize, threads: usize, prefix: &str) -> (f64, f64, u64) {
    let data = Bytes::from(vec![0x5a; size]);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(SECS);
    let mut tasks = Vec::new();
    for _ in 0..threads {
        let (io, data, next, prefix) = (io.clone(), data.clone(), next.clone(), prefix.to_string());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::SeqCst);
                io.write_full(&format!("{prefix}.{i}"), data.clone())
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n = next.load(Ordering::SeqCst);
    let secs = start.elapsed().as_secs_f64();
    (
        n as f64 / secs,
        n as f64 * size as f64 / secs / 1_048_576.0,
        n,
    )
}

/// Our reads of the objects just written, in order, for at most SECS.
async fn our_reads(
    io: &IoCtx,
    size: usize,
    threads: usize,
    prefix: &str,
    count: u64,
) -> (f64, f64) {
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(SECS);
    let mut tasks = Vec::new();
    for _ in 0..threads {
        let (io, next, done, prefix) = (io.clone(), next.clone(), done.clone(), prefix.to_string());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= count {
                    break;
                }
                let d = io.read_full(&format!("{prefix}.{i}")).await.unwrap();
                assert_eq!(d.len(), size);
                done.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n = done.load(Ordering::SeqCst);
    let secs = start.elapsed().as_secs_f64();
    (n as f64 / secs, n as f64 * size as f64 / secs / 1_048_576.0)
}

async fn our_cleanup(io: &IoCtx, prefix: &str, count: u64) {
    for i in 0..count {
        let _ = io.remove(&format!("{prefix}.{i}")).await;
    }
}

fn main() {
    let Setup {
        conf,
        keyring,
        settings,
        rt,
        ..
    } = Setup::new();
    let rados = rt.block_on(Rados::connect(&settings)).unwrap();
    let io = rados.ioctx(POOL).unwrap();
    let mut rows = Vec::new();
    for (size, threads, label) in [
        (4096usize, 1usize, "4 KiB, 1 in flight"),
        (4096, 16, "4 KiB, 16 in flight"),
        (4 << 20, 16, "4 MiB, 16 in flight"),
    ] {
        let prefix = format!("bench-rbd-native-{}-{size}-{threads}", std::process::id());
        let (w_ops, w_mb, n) = rt.block_on(our_writes(&io, size, threads, &prefix));
        let (r_ops, r_mb) = rt.block_on(our_reads(&io, size, threads, &prefix, n));
        rt.block_on(our_cleanup(&io, &prefix, n));
        let rprefix = format!("bench-librados-{}-{size}-{threads}", std::process::id());
        let (lw_ops, lw_mb) = rados_bench(&conf, &keyring, "write", size, threads, &rprefix);
        let (lr_ops, lr_mb) = rados_bench(&conf, &keyring, "seq", size, threads, &rprefix);
        rados_cleanup(&conf, &keyring, &rprefix);
        rows.push(Row {
            what: format!("write {label} (ops/s)"),
            ours: w_ops,
            theirs: lw_ops,
            unit: "ops/s",
            higher_is_better: true,
        });
        rows.push(Row {
            what: format!("write {label} (MiB/s)"),
            ours: w_mb,
            theirs: lw_mb,
            unit: "MiB/s",
            higher_is_better: true,
        });
        rows.push(Row {
            what: format!("read {label} (ops/s)"),
            ours: r_ops,
            theirs: lr_ops,
            unit: "ops/s",
            higher_is_better: true,
        });
        rows.push(Row {
            what: format!("read {label} (MiB/s)"),
            ours: r_mb,
            theirs: lr_mb,
            unit: "MiB/s",
            higher_is_better: true,
        });
    }
    report(
        &format!("Object I/O vs rados bench (librados), pool {POOL}, {SECS} s per run"),
        "rados bench",
        &rows,
    );
}
