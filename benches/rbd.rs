//! Image reads: `rbd-native export` (our image layer) against `rbd
//! export` (librbd) on the same bed, each a process of its own writing to
//! /dev/null: an image full of data (`RBD_MIB`, default 1024 MiB), and a
//! clone of it whose first half is still in its parent (copy-on-write
//! reads fall through) and second half was written to the clone. MB/s
//! (10^6 bytes per second), ROUNDS rounds alternating the sides (see
//! `rbd_native_benches::method`), CPU per GiB and peak RSS of each side.
//! The images are made (and our writes timed, without a reference) with
//! the library in this process, and removed at the end.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ceph_rados::{IoCtx, Rados};
use ceph_rbd::image::{create_image, CloneFormat, CloneOptions, CreateOptions, Image};
use futures::stream::{self, StreamExt, TryStreamExt};
use rbd_native_benches::child;
use rbd_native_benches::method::{order, rounds, Sample, Side};
use rbd_native_benches::report::Report;
use rbd_native_benches::{rbd_native_bin, Setup};

const POOL: &str = "volumes";
const CHUNK: u64 = 4 << 20;
const IN_FLIGHT: usize = 8;

/// The images' size: `RBD_MIB` MiB (default 1024), a whole number of chunks.
fn image_size() -> u64 {
    let mib: u64 = std::env::var("RBD_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&m: &u64| m >= 8)
        .unwrap_or(1024);
    (mib << 20) / CHUNK * CHUNK
}

fn mb_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

/// Writes `len` bytes of data at `offset` in 4 MiB pieces, 8 in flight.
async fn fill(img: &Image, offset: u64, len: u64, seed: u8) {
    stream::iter((offset..offset + len).step_by(CHUNK as usize))
        .map(|off| async move {
            let mut d = vec![seed; CHUNK as usize];
            d[..8].copy_from_slice(&off.to_le_bytes());
            img.write(off, Bytes::from(d)).await
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await
        .unwrap();
}

/// One side's export of `spec` to /dev/null, measured.
fn export(side: Side, conf: &str, keyring: &str, spec: &str, size: u64) -> Sample {
    let mut cmd = match side {
        Side::Ours => Command::new(rbd_native_bin()),
        Side::Reference => rbd_native_tests::tool("rbd"),
    };
    cmd.args([
        "-c",
        conf,
        "-k",
        keyring,
        "export",
        "--no-progress",
        spec,
        "-",
    ]);
    let (out, usage) = child::run_discarding_stdout(&mut cmd).expect("run an export");
    assert!(
        out.status.success(),
        "{side:?} export: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Sample::new(size as f64 / 1e6 / usage.wall)
        .work(0, size)
        .usage(usage)
}

fn remove(conf: &str, keyring: &str, args: &[&str]) {
    let _ = rbd_native_tests::tool("rbd")
        .args(["-c", conf, "-k", keyring])
        .args(args)
        .output();
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
    let io: IoCtx = rados.ioctx(POOL).unwrap();
    let stamp = std::process::id();
    let parent = format!("bench-rbd-parent-{stamp}");
    let child = format!("bench-rbd-clone-{stamp}");
    let size = image_size();

    let (write_mb_s, child_write_mb_s) = rt.block_on(async {
        create_image(&rados, &io, &parent, size, &CreateOptions::default())
            .await
            .unwrap();
        let img = Image::open(&rados, &io, &parent).await.unwrap();
        let t = Instant::now();
        fill(&img, 0, size, 0x5a).await;
        let w = mb_s(size, t.elapsed());
        img.close().await.unwrap();
        let mut img = Image::open(&rados, &io, &parent).await.unwrap();
        img.snap_create("base", None).await.unwrap();
        let opts = CloneOptions {
            format: CloneFormat::V2,
            ..CloneOptions::default()
        };
        img.clone_to("base", &io, &child, &opts).await.unwrap();
        let c = Image::open(&rados, &io, &child).await.unwrap();
        let t = Instant::now();
        fill(&c, size / 2, size / 2, 0xc3).await;
        let cw = mb_s(size / 2, t.elapsed());
        c.close().await.unwrap();
        (w, cw)
    });

    let mib = size >> 20;
    let mut report = Report::new(
        "rbd",
        "RBD image reads: rbd-native export vs rbd export (librbd)",
        "rbd export",
    );
    report.note(format!(
        "{mib} MiB images (RBD_MIB); MB/s = 10^6 bytes per second of each process's wall time (start and connect included)."
    ));
    report.note(format!(
        "Our writes (no reference): the image {write_mb_s:.1} MB/s; half the clone (copy-up free: whole objects) {child_write_mb_s:.1} MB/s."
    ));
    for (label, name) in [
        (format!("read {mib} MiB image"), &parent),
        (format!("read {mib} MiB clone, half in parent"), &child),
    ] {
        let spec = format!("{POOL}/{name}");
        for round in 0..rounds() {
            for side in order(round) {
                let s = export(side, &conf, &keyring, &spec, size);
                eprintln!("[rbd] {label} round {round} {side:?}: {:.1} MB/s", s.value);
                report.record(&label, "MB/s", true, side, s);
            }
        }
    }
    report.write();

    remove(
        &conf,
        &keyring,
        &["rm", "--no-progress", &format!("{POOL}/{child}")],
    );
    remove(
        &conf,
        &keyring,
        &[
            "snap",
            "rm",
            "--no-progress",
            &format!("{POOL}/{parent}@base"),
        ],
    );
    remove(
        &conf,
        &keyring,
        &["rm", "--no-progress", &format!("{POOL}/{parent}")],
    );
}
