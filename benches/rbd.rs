//! Image reads: our image layer against `rbd export` (librbd) on the same
//! bed in one run: a 1 GiB image full of data, and a 1 GiB clone whose
//! first half is still in its parent (copy-on-write reads fall through)
//! and second half was written to the clone. MB/s (10^6 bytes per second)
//! and ratios; the median of three runs each.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use ceph_rados::{IoCtx, Rados};
use ceph_rbd::image::{create_image, CloneFormat, CloneOptions, CreateOptions, Image};
use futures::stream::{self, StreamExt, TryStreamExt};
use rbd_native_benches::{median, report, Row, Setup};

const POOL: &str = "volumes";
const SIZE: u64 = 1 << 30;
const CHUNK: u64 = 4 << 20;
const IN_FLIGHT: usize = 8;
const RUNS: usize = 3;

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

/// Reads the whole image as `rbd-native export` does (4 MiB reads, 8
/// ahead, in order); the bytes read.
async fn read_all(img: &Image) -> u64 {
    let size = img.size();
    stream::iter((0..size).step_by(CHUNK as usize))
        .map(|off| img.read(off, CHUNK))
        .buffered(IN_FLIGHT)
        .try_fold(0u64, |n, d| async move { Ok(n + d.len() as u64) })
        .await
        .unwrap()
}

fn rbd_export(conf: &str, keyring: &str, spec: &str) -> Duration {
    let t = Instant::now();
    let out = rbd_native_tests::tool("rbd")
        .args([
            "-c",
            conf,
            "-k",
            keyring,
            "export",
            "--no-progress",
            spec,
            "-",
        ])
        .stdout(std::process::Stdio::null())
        .output()
        .expect("rbd export");
    assert!(
        out.status.success(),
        "rbd export: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed()
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
    let mut rows = Vec::new();

    let (write_mb_s, child_write_mb_s) = rt.block_on(async {
        create_image(&rados, &io, &parent, SIZE, &CreateOptions::default())
            .await
            .unwrap();
        let img = Image::open(&rados, &io, &parent).await.unwrap();
        let t = Instant::now();
        fill(&img, 0, SIZE, 0x5a).await;
        let w = mb_s(SIZE, t.elapsed());
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
        fill(&c, SIZE / 2, SIZE / 2, 0xc3).await;
        let cw = mb_s(SIZE / 2, t.elapsed());
        c.close().await.unwrap();
        (w, cw)
    });

    for (label, name) in [
        ("1 GiB image", &parent),
        ("1 GiB clone, half in parent", &child),
    ] {
        let spec = format!("{POOL}/{name}");
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for _ in 0..RUNS {
            let d = rt.block_on(async {
                let img = Image::open(&rados, &io, name).await.unwrap();
                let t = Instant::now();
                assert_eq!(read_all(&img).await, SIZE);
                t.elapsed()
            });
            ours.push(d);
            theirs.push(rbd_export(&conf, &keyring, &spec));
        }
        rows.push(Row {
            what: format!("read {label} (MB/s)"),
            ours: mb_s(SIZE, median(ours)),
            theirs: mb_s(SIZE, median(theirs)),
            unit: "MB/s",
            higher_is_better: true,
        });
    }
    report("RBD image reads", "rbd export (librbd)", &rows);
    println!(
        "\nour writes (no reference): 1 GiB image {write_mb_s:.1} MB/s; half the clone (copy-up free: whole objects) {child_write_mb_s:.1} MB/s"
    );

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
