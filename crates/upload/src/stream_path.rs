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
use crate::report::{Report, Step};
use crate::stream_start::{take_snapshot, Allotting, SnapId};

/// Bytes per read, at most: half an object of the usual 4 MiB (a read
/// within one object is still one buffer; smaller buffers leave the
/// allocator less to keep).
const CHUNK: u64 = 2 << 20;
/// Bytes read ahead of what Glance has taken, at most: the reads in
/// flight and the chunks waiting for their turn. Reading is several times
/// faster than Glance ingests, so little is enough to keep it fed; each
/// chunk is the buffer its object's read landed in, handed on as it is.
const AHEAD_BYTES: u64 = 8 << 20;
/// How often the progress is reported.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Streams `volume` into Glance image `image_id`, reading it at a
/// snapshot taken with the id `allot` has been allotting meanwhile
/// (`None`: allotted here). The snapshot is recorded in `ledger`
/// while it exists: when the upload fails, the rollback removes it (before
/// the Glance image).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run(
    c: &Clients,
    volume: &Image,
    image_id: &str,
    allot: Option<Allotting<'_>>,
    store: Option<&str>,
    timeout: Duration,
    ledger: &mut Ledger,
    report: &mut Report,
) -> Result<(), Error> {
    let snap = stream_snap(image_id);
    let mut vol = volume.clone();
    // The step counts the wait for the id, if it is not there yet.
    let t = Instant::now();
    let id = match allot {
        Some(a) => Some(a.finish(ledger).await?),
        None => None,
    };
    let mut taken = snapshot(&mut vol, &snap, id, ledger).await?;
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
                taken = snapshot(&mut vol, &snap, None, ledger).await?;
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

/// The bytes of one read for an image whose objects hold `stripe_unit`
/// contiguous bytes: a stripe unit, or a part of it, when that is at least
/// a MiB (a read within one object arrives in one buffer, passed on
/// without a copy), else [`CHUNK`] (gathered from several objects).
fn chunk_size(stripe_unit: u64) -> u64 {
    if stripe_unit >= 1 << 20 {
        // Stripe units are powers of two: CHUNK divides a larger one.
        stripe_unit.min(CHUNK)
    } else {
        CHUNK
    }
}

/// Takes snapshot `snap` of `vol` with `id` (or one allotted here) and
/// records its removal.
async fn snapshot(
    vol: &mut Image,
    snap: &str,
    id: Option<SnapId>,
    ledger: &mut Ledger,
) -> Result<Undo, Error> {
    let pool = vol.ioctx().pool_name().to_string();
    let volume = vol.name().unwrap_or_default().to_string();
    let data_pool = vol.data_ioctx().pool_name().to_string();
    take_snapshot(
        ledger,
        id,
        |id| async move { Ok(vol.snap_create(snap, id).await?) },
        |id| Undo::RemoveVolumeSnap {
            pool,
            volume,
            snap: snap.to_string(),
            data_pool,
            id,
        },
    )
    .await
}

/// The offsets of the `chunk`-byte chunks of a volume of `size` bytes,
/// made as they are read (the size comes from the image's header: 2^64
/// bytes is 2^41 chunks, which must not be listed up front).
fn chunk_offsets(size: u64, chunk: u64) -> impl DoubleEndedIterator<Item = u64> + Send {
    let chunk = chunk.max(1);
    (0..size.div_ceil(chunk)).map(move |i| i * chunk)
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
    let chunk = chunk_size(at.meta().layout.stripe_unit);
    let ahead = usize::try_from((AHEAD_BYTES / chunk).max(1)).unwrap_or(1);
    let offsets = chunk_offsets(size, chunk);
    let counter = done.clone();
    let last_read = all_read.clone();
    let data = stream::iter(offsets)
        .map(move |off| {
            let at = at.clone();
            let counter = counter.clone();
            let last_read = last_read.clone();
            async move {
                let len = chunk.min(size - off);
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
        .buffered(ahead);
    let t = Instant::now();
    // The upload, then Glance's `active`; the instants each ended.
    let tail = async {
        let sent = c
            .glance
            .upload_stream(image_id, data, store, Some(size))
            .await;
        let sent_at = Instant::now();
        sent?;
        let image = c
            .status
            .wait_for_status(image_id, &["active"], timeout)
            .await?;
        check_stored_size(image_id, size, image.size)?;
        Ok::<_, Error>((sent_at, Instant::now()))
    };
    tokio::pin!(tail);
    // Remove the snapshot when every chunk is read (an empty volume has
    // none to read), while Glance takes the rest and turns the image
    // `active`: its monitor round is waited for once, alongside.
    let (ended, removed) = tokio::select! {
        r = &mut tail => (r, None),
        () = async { if size > 0 { all_read.notified().await } } => {
            let (r, rm) = tokio::join!(&mut tail, vol.snap_remove(snap));
            (r, Some(rm))
        }
    };
    // Its last report (or that it stopped), also when this future is
    // dropped.
    drop(progress);
    let snap_left = !matches!(removed, Some(Ok(())));
    let (sent_at, active_at) = match ended {
        Ok(at) => at,
        Err(e) => return (Err(e), snap_left),
    };
    // The steps, one after the other, add up to the time taken: the
    // removal's monitor round counts only where it outlasted the rest.
    for (name, from, to) in [
        ("data upload", t, sent_at),
        ("active", sent_at, active_at),
        ("volume snapshot remove", active_at, Instant::now()),
    ] {
        if name != "volume snapshot remove" || removed.is_some() {
            report.steps.push(Step {
                name: name.into(),
                seconds: to.duration_since(from).as_secs_f64(),
            });
        }
    }
    if let Some(Err(e)) = removed {
        return (Err(e.into()), true);
    }
    (Ok(()), snap_left)
}

/// Fails when Glance made image `image_id` active with another size
/// than the `sent` bytes (something between this client and Glance's
/// store lost or added data: the image is not the volume). An image whose
/// size Glance does not say passes.
fn check_stored_size(image_id: &str, sent: u64, stored: Option<u64>) -> Result<(), Error> {
    match stored {
        Some(stored) if stored != sent => Err(Error::StoredSize {
            image_id: image_id.to_string(),
            sent,
            stored,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_of_another_size_than_sent_fails() {
        assert!(check_stored_size("i", 10, Some(10)).is_ok());
        assert!(check_stored_size("i", 10, None).is_ok());
        let e = check_stored_size("i", 10, Some(4)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::StoredSize {
                    sent: 10,
                    stored: 4,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("4 bytes"), "{e}");
    }

    #[test]
    fn chunk_offsets_cover_the_volume() {
        assert_eq!(chunk_offsets(0, CHUNK).count(), 0);
        assert_eq!(chunk_offsets(1, CHUNK).collect::<Vec<_>>(), [0]);
        assert_eq!(chunk_offsets(CHUNK, CHUNK).collect::<Vec<_>>(), [0]);
        assert_eq!(
            chunk_offsets(CHUNK + 1, CHUNK).collect::<Vec<_>>(),
            [0, CHUNK]
        );
    }

    /// A header's size of 2^64 bytes made a list of 2^41 offsets (16 TiB).
    #[test]
    fn chunk_offsets_of_a_huge_size_are_not_listed_up_front() {
        let mut it = chunk_offsets(u64::MAX, CHUNK);
        assert_eq!(it.next(), Some(0));
        assert_eq!(it.next(), Some(CHUNK));
        let last = it.next_back().unwrap();
        assert_eq!(last, (u64::MAX / CHUNK) * CHUNK);
        assert!(u64::MAX - last < CHUNK);
    }

    #[test]
    fn a_read_stays_within_one_object_where_it_can() {
        assert_eq!(chunk_size(4 << 20), 2 << 20);
        assert_eq!(chunk_size(32 << 20), 2 << 20);
        assert_eq!(chunk_size(1 << 20), 1 << 20);
        // Fancy striping: small units, gathered.
        assert_eq!(chunk_size(64 << 10), CHUNK);
        // The read-ahead holds at least one chunk.
        assert_eq!(AHEAD_BYTES / chunk_size(4 << 20), 4);
    }
}
