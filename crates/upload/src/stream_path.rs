//! The streaming path: read the volume at a snapshot taken for the
//! purpose (a consistent point in time even while the volume is written),
//! several chunks ahead in parallel with bounded memory, into Glance's
//! upload. The snapshot is removed as soon as the last chunk is read, while
//! Glance still takes the tail of the data (the removal waits for a
//! monitor round), and in any case before the upload ends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ceph_rbd::image::Image;
use futures::stream::{self, StreamExt};
use tokio::sync::Notify;

use crate::clients::Clients;
use crate::error::Error;
use crate::ledger::{Ledger, Undo};
use crate::naming::stream_snap;
use crate::progress::Reporter;
use crate::report::Report;

/// Bytes per read.
const CHUNK: u64 = 8 << 20;
/// Reads in flight (memory: at most this many chunks).
const AHEAD: usize = 4;
/// How often the progress is reported.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Streams `volume` into Glance image `image_id`. The snapshot it reads
/// from is recorded in `ledger` while it exists: when the upload fails,
/// the rollback removes it (before the Glance image).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run(
    c: &Clients,
    volume: &Image,
    image_id: &str,
    store: Option<&str>,
    timeout: Duration,
    ledger: &mut Ledger,
    report: &mut Report,
) -> Result<(), Error> {
    let snap = stream_snap(image_id);
    let mut vol = volume.clone();
    let t = Instant::now();
    let mut taken = snapshot(&mut vol, &snap, ledger).await?;
    report.step("volume snapshot", t);
    let (mut result, mut snap_left) =
        upload(c, &mut vol, &snap, image_id, store, timeout, report).await;
    if !snap_left {
        // Removed on the way.
        ledger.hand_over(&taken);
    }
    // A Glance error on its side (HTTP 5xx) before it took any data leaves
    // the image queued: send the data once more (from a new snapshot if
    // the first was removed already).
    if let Err(Error::Glance(e)) = &result {
        let transient = e.status().is_some_and(|s| s >= 500);
        let queued = c
            .glance
            .show_image(image_id)
            .await
            .is_ok_and(|i| i.status == "queued");
        if transient && queued {
            tracing::warn!("Glance failed the upload ({e}); sending the data again");
            if !snap_left {
                taken = snapshot(&mut vol, &snap, ledger).await?;
            }
            (result, snap_left) =
                upload(c, &mut vol, &snap, image_id, store, timeout, report).await;
            if !snap_left {
                ledger.hand_over(&taken);
            }
        }
    }
    if snap_left && result.is_ok() {
        // The snapshot goes now, as the upload's last step (its removal
        // failing fails the upload). On failure, the rollback removes it.
        ledger.hand_over(&taken);
        let t = Instant::now();
        let removed = vol.snap_remove(&snap).await;
        report.step("volume snapshot remove", t);
        removed?;
    }
    result
}

/// Takes snapshot `snap` of `vol` and records its removal.
async fn snapshot(vol: &mut Image, snap: &str, ledger: &mut Ledger) -> Result<Undo, Error> {
    let id = vol.snap_create(snap, None).await?;
    let taken = Undo::RemoveVolumeSnap {
        pool: vol.ioctx().pool_name().to_string(),
        volume: vol.name().unwrap_or_default().to_string(),
        snap: snap.to_string(),
        data_pool: vol.data_ioctx().pool_name().to_string(),
        id,
    };
    ledger.record(taken.clone());
    Ok(taken)
}

/// The offsets of the chunks of a volume of `size` bytes, made as they are
/// read (the size comes from the image's header: 2^64 bytes is 2^41
/// chunks, which must not be listed up front).
fn chunk_offsets(size: u64) -> impl DoubleEndedIterator<Item = u64> + Send {
    (0..size.div_ceil(CHUNK)).map(|i| i * CHUNK)
}

/// One upload of the data at snapshot `snap` of `vol`; whether the
/// snapshot is still there (it is removed once every chunk is read, if the
/// upload gets that far).
async fn upload(
    c: &Clients,
    vol: &mut Image,
    snap: &str,
    image_id: &str,
    store: Option<&str>,
    timeout: Duration,
    report: &mut Report,
) -> (Result<(), Error>, bool) {
    let at = match vol.at_snapshot(snap).await {
        Ok(at) => at,
        Err(e) => return (Err(e.into()), true),
    };
    let size = at.size();
    let done = Arc::new(AtomicU64::new(0));
    let all_read = Arc::new(Notify::new());
    let progress = c
        .progress
        .clone()
        .map(|report| Reporter::start(report, done.clone(), size, PROGRESS_EVERY));
    let offsets = chunk_offsets(size);
    let counter = done.clone();
    let last_read = all_read.clone();
    let data = stream::iter(offsets)
        .map(move |off| {
            let at = at.clone();
            let counter = counter.clone();
            let last_read = last_read.clone();
            async move {
                let len = CHUNK.min(size - off);
                let d: Bytes = at.read(off, len).await.map_err(std::io::Error::other)?;
                if d.len() as u64 != len {
                    return Err(std::io::Error::other(format!(
                        "short read at {off}: {} of {len} bytes",
                        d.len()
                    )));
                }
                if counter.fetch_add(len, Ordering::Relaxed) + len == size {
                    last_read.notify_one();
                }
                Ok::<Bytes, std::io::Error>(d)
            }
        })
        .buffered(AHEAD);
    let t = Instant::now();
    let sent = c.glance.upload_stream(image_id, data, store, Some(size));
    tokio::pin!(sent);
    // Remove the snapshot when every chunk is read (an empty volume has
    // none to read), while Glance takes the rest.
    let (uploaded, removed) = tokio::select! {
        r = &mut sent => (r, None),
        () = async { if size > 0 { all_read.notified().await } } => {
            let (r, rm) = tokio::join!(&mut sent, vol.snap_remove(snap));
            (r, Some(rm))
        }
    };
    // Its last report (or that it stopped), also when this future is
    // dropped.
    drop(progress);
    let snap_left = !matches!(removed, Some(Ok(())));
    if let Err(e) = uploaded {
        return (Err(e.into()), snap_left);
    }
    // The snapshot removal, when it ran, overlapped this step.
    report.step("data upload", t);
    if let Some(Err(e)) = removed {
        return (Err(e.into()), true);
    }
    let t = Instant::now();
    if let Err(e) = c
        .status
        .wait_for_status(image_id, &["active"], timeout)
        .await
    {
        return (Err(e.into()), snap_left);
    }
    report.step("active", t);
    (Ok(()), snap_left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_offsets_cover_the_volume() {
        assert_eq!(chunk_offsets(0).count(), 0);
        assert_eq!(chunk_offsets(1).collect::<Vec<_>>(), [0]);
        assert_eq!(chunk_offsets(CHUNK).collect::<Vec<_>>(), [0]);
        assert_eq!(chunk_offsets(CHUNK + 1).collect::<Vec<_>>(), [0, CHUNK]);
    }

    /// A header's size of 2^64 bytes made a list of 2^41 offsets (16 TiB).
    #[test]
    fn chunk_offsets_of_a_huge_size_are_not_listed_up_front() {
        let mut it = chunk_offsets(u64::MAX);
        assert_eq!(it.next(), Some(0));
        assert_eq!(it.next(), Some(CHUNK));
        let last = it.next_back().unwrap();
        assert_eq!(last, (u64::MAX / CHUNK) * CHUNK);
        assert!(u64::MAX - last < CHUNK);
    }
}
