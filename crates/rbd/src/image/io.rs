//! Reading an image: the striper splits the range into object pieces,
//! read in parallel; a piece whose object does not exist (or that a
//! snapshot's valid object map marks nonexistent, and is then not asked
//! for) is a hole, or, in a clone within the parent overlap, the parent's
//! bytes (through any depth of parents).

use bytes::{Bytes, BytesMut};
use ceph_common::errno::ENOENT;
use ceph_common::Errno;
use ceph_rados::osd::OsdOp;
use ceph_rados::IoCtx;
use futures::stream::{self, StreamExt, TryStreamExt};

use super::handle::Image;
use super::read_map::may_exist;
use crate::names::data_object;
use crate::{Error, Result};

/// Object reads in flight per image read.
const READ_AHEAD: usize = 16;

/// What one piece read gave.
struct Piece {
    /// Offset in the image.
    image_offset: u64,
    /// Its length.
    length: u64,
    /// The bytes (possibly short: the rest is zeros), or `None` when the
    /// object does not exist.
    data: Option<Bytes>,
}

impl Image {
    /// The parent as [`Image::parent`] opens it, opened once per handle.
    pub(crate) async fn cached_parent(&self) -> Result<Option<Image>> {
        self.parent_cache
            .get_or_try_init(|| self.parent())
            .await
            .cloned()
    }

    /// The parent, opened at its snapshot, if this is a clone.
    pub async fn parent(&self) -> Result<Option<Image>> {
        let Some(p) = &self.meta.parent else {
            return Ok(None);
        };
        let pool = self
            .rados
            .objecter()
            .maps()
            .and_then(|m| m.osdmap.pool_name(p.spec.pool_id).map(str::to_string))
            .ok_or_else(|| Error::NotFound(format!("parent pool {}", p.spec.pool_id)))?;
        let mut io = self
            .rados
            .ioctx(&pool)
            .map_err(|e| Error::rados("opening the parent's pool", e))?;
        io.set_namespace(&p.spec.pool_namespace);
        let parent =
            Image::open_id(&self.rados, &io, &p.spec.image_id, None, p.spec.snap_id).await?;
        Ok(Some(parent))
    }
}

/// Runs the read `op` on data object `oid` and returns its output;
/// `None` when the object does not exist.
pub(super) async fn object_op(io: &IoCtx, oid: &str, op: OsdOp) -> Result<Option<Bytes>> {
    let r = io
        .operate_raw(oid, vec![op])
        .await
        .map_err(|err| Error::rados(format!("reading {oid}"), err))?;
    if r.result == ENOENT {
        return Ok(None);
    }
    if r.result < 0 {
        return Err(Error::Rados {
            context: format!("reading {oid}"),
            errno: Some(r.result),
            message: Errno(r.result).to_string(),
        });
    }
    Ok(Some(
        r.ops
            .into_iter()
            .next()
            .map(|o| o.outdata)
            .unwrap_or_default(),
    ))
}

/// Reads `len` bytes at `offset` of `img`.
pub(super) async fn read(img: &Image, offset: u64, len: u64) -> Result<Bytes> {
    let size = img.size();
    if offset >= size || len == 0 {
        return Ok(Bytes::new());
    }
    let len = len.min(size - offset);
    let mut data_io = img.data_io.clone();
    data_io.set_read_snap(img.snap_id);
    let data_io = &data_io;
    let prefix = &img.meta.object_prefix;
    let map = img.read_map().await;
    let map = map.as_deref();
    let pieces: Vec<Piece> = stream::iter(img.meta.layout.extents(offset, len))
        .map(|e| async move {
            let data = if may_exist(map, e.object_no) {
                let oid = data_object(prefix, e.object_no);
                object_op(data_io, &oid, OsdOp::read(e.offset, e.length)).await?
            } else {
                None
            };
            Ok(Piece {
                image_offset: e.image_offset,
                length: e.length,
                data,
            })
        })
        .buffer_unordered(READ_AHEAD)
        .try_collect()
        .await?;

    // The bytes that came, from the image's objects and, for the holes
    // of a clone within its parent overlap, from the parent.
    let mut parts: Vec<(u64, Bytes)> = Vec::with_capacity(pieces.len());
    let mut holes = Vec::new();
    for p in pieces {
        match p.data {
            Some(d) => {
                let n = d.len().min(p.length as usize);
                parts.push((p.image_offset, d.slice(..n)));
            }
            None => holes.push((p.image_offset, p.length)),
        }
    }
    let overlap = img.meta.parent.as_ref().map_or(0, |p| p.overlap);
    let holes: Vec<(u64, u64)> = holes
        .into_iter()
        .filter(|(o, _)| *o < overlap)
        .map(|(o, l)| (o, l.min(overlap - o)))
        .collect();
    if !holes.is_empty() {
        if let Some(parent) = img.cached_parent().await? {
            let parent = &parent;
            let filled: Vec<(u64, Bytes)> = stream::iter(holes)
                .map(|(o, l)| async move { Box::pin(parent.read(o, l)).await.map(|d| (o, d)) })
                .buffer_unordered(READ_AHEAD)
                .try_collect()
                .await?;
            parts.extend(filled);
        }
    }

    // One part that is the whole range (the usual read of a stream, object
    // by object, from the image or its parent): its bytes as they came.
    if let [(at, d)] = parts.as_slice() {
        if *at == offset && d.len() as u64 == len {
            return Ok(d.clone());
        }
    }
    let mut buf = BytesMut::zeroed(len as usize);
    for (o, d) in parts {
        let at = (o - offset) as usize;
        if let Some(dst) = buf.get_mut(at..at + d.len()) {
            dst.copy_from_slice(&d);
        }
    }
    Ok(buf.freeze())
}

impl Image {
    /// Reads `len` bytes at `offset` (short at the end of the image).
    pub async fn read(&self, offset: u64, len: u64) -> Result<Bytes> {
        read(self, offset, len).await
    }
}
