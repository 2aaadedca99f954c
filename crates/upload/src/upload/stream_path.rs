//! The streaming path: read the volume at a snapshot taken for the
//! purpose (a consistent point in time even while the volume is written),
//! several chunks ahead in parallel with bounded memory, into Glance's
//! upload; the snapshot is removed afterwards whatever happens.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ceph_rbd::image::Image;
use futures::stream::{self, StreamExt};

use super::naming::stream_snap;
use super::{Clients, Report};
use crate::error::CliError;

/// Bytes per read.
const CHUNK: u64 = 8 << 20;
/// Reads in flight (memory: at most this many chunks).
const AHEAD: usize = 4;

/// Streams `volume` into Glance image `image_id`.
pub(super) async fn run(
    c: &Clients,
    volume: &Image,
    image_id: &str,
    store: Option<&str>,
    timeout: Duration,
    report: &mut Report,
) -> Result<(), CliError> {
    let snap = stream_snap(image_id);
    let mut vol = volume.clone();
    let t = Instant::now();
    vol.snap_create(&snap, None).await?;
    report.step("volume snapshot", t);
    let mut result = upload(c, &vol, &snap, image_id, store, timeout, report).await;
    // A Glance error on its side (HTTP 5xx) before it took any data leaves
    // the image queued: send the data once more.
    if let Err(CliError::Glance(e)) = &result {
        let transient = e.status().is_some_and(|s| s >= 500);
        let queued = c
            .glance
            .show_image(image_id)
            .await
            .is_ok_and(|i| i.status == "queued");
        if transient && queued {
            tracing::warn!("Glance failed the upload ({e}); sending the data again");
            result = upload(c, &vol, &snap, image_id, store, timeout, report).await;
        }
    }
    let t = Instant::now();
    let removed = vol.snap_remove(&snap).await;
    report.step("volume snapshot remove", t);
    result?;
    removed?;
    Ok(())
}

async fn upload(
    c: &Clients,
    vol: &Image,
    snap: &str,
    image_id: &str,
    store: Option<&str>,
    timeout: Duration,
    report: &mut Report,
) -> Result<(), CliError> {
    let at = vol.at_snapshot(snap).await?;
    let size = at.size();
    let done = Arc::new(AtomicU64::new(0));
    let progress = std::io::stderr().is_terminal().then(|| {
        let done = done.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let d = done.load(Ordering::Relaxed);
                let pct = (d * 100).checked_div(size).unwrap_or(100);
                eprint!("\ruploading: {pct:3}% ({} of {} MiB)", d >> 20, size >> 20);
                if d >= size {
                    eprintln!();
                    return;
                }
            }
        })
    });
    let offsets: Vec<u64> = (0..size.div_ceil(CHUNK)).map(|i| i * CHUNK).collect();
    let counter = done.clone();
    let data = stream::iter(offsets)
        .map(move |off| {
            let at = at.clone();
            let counter = counter.clone();
            async move {
                let len = CHUNK.min(size - off);
                let d: Bytes = at.read(off, len).await.map_err(std::io::Error::other)?;
                if d.len() as u64 != len {
                    return Err(std::io::Error::other(format!(
                        "short read at {off}: {} of {len} bytes",
                        d.len()
                    )));
                }
                counter.fetch_add(len, Ordering::Relaxed);
                Ok::<Bytes, std::io::Error>(d)
            }
        })
        .buffered(AHEAD);
    let t = Instant::now();
    let uploaded = c
        .glance
        .upload_stream(image_id, data, store, Some(size))
        .await;
    if let Some(p) = progress {
        p.abort();
        if uploaded.is_err() {
            eprintln!();
        }
    }
    uploaded?;
    report.step("data upload", t);
    let t = Instant::now();
    c.glance
        .wait_for_status(image_id, &["active"], timeout)
        .await?;
    report.step("active", t);
    Ok(())
}
