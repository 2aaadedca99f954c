//! Writing an image's head: the striper splits the range into object
//! pieces, written in parallel with the image's snapshot context. Before
//! the data: the exclusive lock (taken on the first write and kept), the
//! object map set to EXISTS for the objects touched; in a clone, an
//! object that does not exist yet but lies within the parent overlap is
//! first filled with the parent's data (`rbd.copyup` in the same op as
//! the write), as librbd's CopyupRequest does.

use std::collections::BTreeMap;

use bytes::Bytes;
use ceph_common::errno::ENOENT;
use ceph_common::Errno;
use ceph_rados::osd::OsdOp;
use ceph_rados::IoCtx;
use futures::stream::{self, StreamExt, TryStreamExt};
use tokio::sync::OwnedMutexGuard;

use super::cls_call::call;
use super::handle::Image;
use super::lock::{self, LockState};
use super::object_map;
use super::write_state::WriteState;
use crate::cls::rbd::GetSnapContext;
use crate::features::{
    DIRTY_CACHE, EXCLUSIVE_LOCK, JOURNALING, MIGRATING, NON_PRIMARY, OBJECT_MAP,
};
use crate::names::{data_object, NOSNAP};
use crate::object_map::{OBJECT_EXISTS, OBJECT_NONEXISTENT};
use crate::{Error, Result};

/// Object writes in flight per image write.
const WRITES_IN_FLIGHT: usize = 16;

/// Refuses writes to a snapshot or to an image whose features this
/// client cannot keep consistent.
pub(crate) fn check_writable(img: &Image) -> Result<()> {
    if img.snap_id != NOSNAP {
        return Err(Error::Refused(
            "a snapshot is read-only: open the image's head".into(),
        ));
    }
    let unhandled = img.meta.features & (JOURNALING | MIGRATING | NON_PRIMARY | DIRTY_CACHE);
    if unhandled != 0 {
        return Err(Error::Unsupported(format!(
            "image {} has feature(s) {} that this client cannot write with",
            img.name.as_deref().unwrap_or(&img.id),
            crate::features::feature_names(unhandled).join(", ")
        )));
    }
    Ok(())
}

/// The write state, with the exclusive lock taken if the image has one
/// (and the object map loaded under it).
pub(crate) async fn ensure_locked(img: &Image) -> Result<OwnedMutexGuard<WriteState>> {
    let mut st = img.shared.clone().lock_owned().await;
    if st.held.is_some() || !img.meta.has(EXCLUSIVE_LOCK) {
        if st.snapc.is_none() {
            st.snapc = Some(img.meta.snapc.clone());
        }
        return Ok(st);
    }
    match lock::acquire(img).await? {
        LockState::Acquired(held) => {
            let loaded = async {
                // What the header says now: we may have opened it before
                // the last owner's changes.
                let snapc = call(&img.io, &img.header_oid(), &GetSnapContext {}).await?;
                let map = if img.meta.has(OBJECT_MAP) {
                    object_map::lock(img).await?;
                    Some(object_map::load(img).await?)
                } else {
                    None
                };
                Ok::<_, Error>((snapc, map))
            }
            .await;
            match loaded {
                Ok((snapc, map)) => {
                    st.held = Some(held);
                    st.snapc = Some(snapc);
                    st.object_map = map;
                    Ok(st)
                }
                Err(e) => {
                    let _ = lock::release(img, held).await;
                    Err(e)
                }
            }
        }
        LockState::HeldBy { watch, owner } => {
            watch.stop().await;
            Err(lock::in_use(img, &owner, "writing"))
        }
    }
}

/// The data pool's context carrying `snapc`.
fn data_io_with(img: &Image, snapc: Option<&crate::cls::types::SnapContext>) -> IoCtx {
    let mut io = img.data_io.clone();
    let snapc = snapc.unwrap_or(&img.meta.snapc);
    io.set_snap_context(ceph_rados::objecter::SnapContext {
        seq: snapc.seq,
        snaps: snapc.snaps.clone(),
    });
    io
}

fn check_range(img: &Image, offset: u64, len: u64) -> Result<()> {
    if offset
        .checked_add(len)
        .is_none_or(|end| end > img.meta.size)
    {
        return Err(Error::Invalid {
            what: "write range",
            reason: format!(
                "{len} bytes at {offset} go past the end of the image ({} bytes)",
                img.meta.size
            ),
        });
    }
    Ok(())
}

/// Writes `data` at `offset` of `img`'s head.
pub(super) async fn write(img: &Image, offset: u64, data: Bytes) -> Result<()> {
    check_writable(img)?;
    let len = data.len() as u64;
    check_range(img, offset, len)?;
    if len == 0 {
        return Ok(());
    }
    let mut by_object: BTreeMap<u64, Vec<(u64, Bytes)>> = BTreeMap::new();
    for e in img.meta.layout.extents(offset, len) {
        let at = (e.image_offset - offset) as usize;
        let piece = data.slice(at..at + e.length as usize);
        by_object
            .entry(e.object_no)
            .or_default()
            .push((e.offset, piece));
    }
    let _gate = img.gate.read().await;
    let (data_io, no_snaps) = {
        let mut st = ensure_locked(img).await?;
        let objects: Vec<u64> = by_object.keys().copied().collect();
        object_map::set_state(img, &mut st, &objects, OBJECT_EXISTS).await?;
        let no_snaps = st.snapc.as_ref().is_none_or(|s| s.snaps.is_empty());
        (data_io_with(img, st.snapc.as_ref()), no_snaps)
    };
    let data_io = &data_io;
    // A write over a whole object needs no copy-up unless snapshots of
    // the clone must keep seeing the parent's data.
    stream::iter(by_object)
        .map(|(n, pieces)| async move {
            let whole = pieces.iter().map(|(_, d)| d.len() as u64).sum::<u64>()
                == img.meta.layout.object_size;
            let ops = pieces
                .into_iter()
                .map(|(off, d)| OsdOp::write(off, d))
                .collect();
            write_object(img, data_io, n, ops, whole && no_snaps).await
        })
        .buffer_unordered(WRITES_IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// Whether object `n` of a clone holds bytes backed by the parent.
fn in_overlap(img: &Image, n: u64) -> bool {
    let overlap = img.meta.parent.as_ref().map_or(0, |p| p.overlap);
    overlap > 0
        && img
            .meta
            .layout
            .object_image_extents(n)
            .iter()
            .any(|e| e.image_offset < overlap)
}

/// Runs write `ops` on object `n`, copying the parent's data up first
/// when the object does not exist yet and the parent backs it (unless
/// `overwrites_all`: the ops replace the whole object).
async fn write_object(
    img: &Image,
    data_io: &IoCtx,
    n: u64,
    ops: Vec<OsdOp>,
    overwrites_all: bool,
) -> Result<()> {
    let oid = data_object(&img.meta.object_prefix, n);
    let fail = |status: i32| Error::Rados {
        context: format!("writing {oid}"),
        errno: Some(status),
        message: Errno(status).to_string(),
    };
    if overwrites_all || !in_overlap(img, n) {
        let r = data_io
            .operate_raw(&oid, ops)
            .await
            .map_err(|e| Error::rados(format!("writing {oid}"), e))?;
        return if r.result < 0 {
            Err(fail(r.result))
        } else {
            Ok(())
        };
    }
    // Guarded by the object's existence, as librbd sends it.
    let mut guarded = vec![OsdOp::assert_exists()];
    guarded.extend(ops.iter().cloned());
    let r = data_io
        .operate_raw(&oid, guarded)
        .await
        .map_err(|e| Error::rados(format!("writing {oid}"), e))?;
    if r.result != ENOENT {
        return if r.result < 0 {
            Err(fail(r.result))
        } else {
            Ok(())
        };
    }
    let parent_data = parent_object_data(img, n).await?;
    let mut with_copyup = vec![OsdOp::call("rbd", "copyup", &parent_data)];
    with_copyup.extend(ops);
    let r = data_io
        .operate_raw(&oid, with_copyup)
        .await
        .map_err(|e| Error::rados(format!("copying up {oid}"), e))?;
    if r.result < 0 {
        return Err(fail(r.result));
    }
    Ok(())
}

/// Object `n`'s bytes as the parent backs them (within the overlap),
/// without trailing zeros (empty when all zeros: copyup then does
/// nothing and the write alone creates the object).
async fn parent_object_data(img: &Image, n: u64) -> Result<Bytes> {
    let overlap = img.meta.parent.as_ref().map_or(0, |p| p.overlap);
    let parent = img
        .cached_parent()
        .await?
        .ok_or_else(|| Error::NotFound(format!("the parent of image {}", img.id)))?;
    let pieces: Vec<_> = img
        .meta
        .layout
        .object_image_extents(n)
        .into_iter()
        .filter(|e| e.image_offset < overlap)
        .map(|e| {
            (
                e.offset,
                e.image_offset,
                e.length.min(overlap - e.image_offset),
            )
        })
        .collect();
    let parent = &parent;
    let reads: Vec<(u64, Bytes)> = stream::iter(pieces)
        .map(|(obj_off, image_off, len)| async move {
            parent.read(image_off, len).await.map(|d| (obj_off, d))
        })
        .buffer_unordered(WRITES_IN_FLIGHT)
        .try_collect()
        .await?;
    let mut buf = vec![0u8; img.meta.layout.object_size as usize];
    for (obj_off, d) in reads {
        let at = obj_off as usize;
        if let Some(dst) = buf.get_mut(at..at + d.len()) {
            dst.copy_from_slice(&d);
        }
    }
    let end = buf.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1);
    buf.truncate(end);
    Ok(Bytes::from(buf))
}

/// Discards `len` bytes at `offset` of `img`'s head.
pub(super) async fn discard(img: &Image, offset: u64, len: u64) -> Result<()> {
    check_writable(img)?;
    check_range(img, offset, len)?;
    if len == 0 {
        return Ok(());
    }
    let layout = img.meta.layout;
    let mut by_object: BTreeMap<u64, Vec<(u64, u64, u64)>> = BTreeMap::new();
    for e in layout.extents(offset, len) {
        by_object
            .entry(e.object_no)
            .or_default()
            .push((e.offset, e.length, e.image_offset));
    }
    // Within a clone's overlap, zeros are written (with copy-up), so the
    // parent's bytes do not show through.
    let mut zero_writes = Vec::new();
    let mut removes = Vec::new();
    let mut zeroes = Vec::new();
    for (n, pieces) in by_object {
        if in_overlap(img, n) {
            zero_writes.extend(pieces.into_iter().map(|(_, l, io)| (io, l)));
        } else if pieces.iter().map(|p| p.1).sum::<u64>() == layout.object_size {
            removes.push(n);
        } else {
            zeroes.push((n, pieces));
        }
    }
    for (image_off, l) in zero_writes {
        let mut at = image_off;
        let end = image_off + l;
        while at < end {
            let chunk = (end - at).min(layout.object_size);
            write(img, at, Bytes::from(vec![0u8; chunk as usize])).await?;
            at += chunk;
        }
    }
    if removes.is_empty() && zeroes.is_empty() {
        return Ok(());
    }
    let _gate = img.gate.read().await;
    let (data_io, known) = {
        let st = ensure_locked(img).await?;
        (data_io_with(img, st.snapc.as_ref()), st.object_map.clone())
    };
    let absent = |n: u64| known.as_ref().and_then(|m| m.get(n)) == Some(OBJECT_NONEXISTENT);
    let data_io = &data_io;
    let prefix = &img.meta.object_prefix;
    let removed: Vec<u64> = stream::iter(removes.into_iter().filter(|n| !absent(*n)))
        .map(|n| async move {
            let oid = data_object(prefix, n);
            let r = data_io
                .operate_raw(&oid, vec![OsdOp::remove()])
                .await
                .map_err(|e| Error::rados(format!("removing {oid}"), e))?;
            if r.result < 0 && r.result != ENOENT {
                return Err(Error::Rados {
                    context: format!("removing {oid}"),
                    errno: Some(r.result),
                    message: Errno(r.result).to_string(),
                });
            }
            Ok(n)
        })
        .buffer_unordered(WRITES_IN_FLIGHT)
        .try_collect()
        .await?;
    stream::iter(zeroes.into_iter().filter(|(n, _)| !absent(*n)))
        .map(|(n, pieces)| async move {
            let oid = data_object(prefix, n);
            let mut ops = vec![OsdOp::assert_exists()];
            ops.extend(pieces.iter().map(|(o, l, _)| OsdOp::zero(*o, *l)));
            let r = data_io
                .operate_raw(&oid, ops)
                .await
                .map_err(|e| Error::rados(format!("zeroing {oid}"), e))?;
            if r.result < 0 && r.result != ENOENT {
                return Err(Error::Rados {
                    context: format!("zeroing {oid}"),
                    errno: Some(r.result),
                    message: Errno(r.result).to_string(),
                });
            }
            Ok(())
        })
        .buffer_unordered(WRITES_IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await?;
    let mut removed = removed;
    removed.sort_unstable();
    let mut st = img.shared.lock().await;
    object_map::set_state(img, &mut st, &removed, OBJECT_NONEXISTENT).await
}

impl Image {
    /// Writes `data` at `offset` of the head; the range must lie within
    /// the image. Objects are written in parallel with the image's
    /// snapshot context. An image with the exclusive lock has it taken on
    /// the first write and kept (by this handle and its clones) until
    /// [`close`](Image::close); when another live client holds it the
    /// write is refused (an [`Error::Refused`] naming the holder). The
    /// object map, if any, is updated before the data, and a clone's
    /// objects are copied up from the parent first, as librbd does.
    pub async fn write(&self, offset: u64, data: Bytes) -> Result<()> {
        write(self, offset, data).await
    }

    /// Discards `len` bytes at `offset` of the head: whole objects are
    /// removed, parts zeroed (in a clone, within the parent overlap, zeros
    /// are written so the parent's data does not show through). Reads of
    /// the range give zeros afterwards.
    pub async fn discard(&self, offset: u64, len: u64) -> Result<()> {
        discard(self, offset, len).await
    }

    /// Releases the exclusive lock (and the object map's lock) if this
    /// handle took them for writing. Call it when done writing: a handle
    /// dropped without it keeps the lock until the client disconnects
    /// (after which librbd clients break it). Idempotent.
    pub async fn close(&self) -> Result<()> {
        let _gate = self.gate.write().await;
        let mut st = self.shared.lock().await;
        let Some(held) = st.held.take() else {
            return Ok(());
        };
        let had_map = st.object_map.take().is_some();
        st.snapc = None;
        if had_map {
            if let Err(e) = object_map::unlock(self).await {
                tracing::warn!("unlocking the object map: {e}");
            }
        }
        lock::release(self, held).await
    }
}
