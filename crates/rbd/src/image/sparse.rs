//! Sparse reads: the parts of a range that hold data, holes left out.
//! Objects are read with SPARSE_READ (the OSD reports where the object
//! has data); an object that does not exist (or that a snapshot's valid
//! object map marks nonexistent) is a hole, or, in a clone within the
//! parent overlap, the parent's extents.

use bytes::Bytes;
use ceph_rados::osd::watch::decode_sparse_read;
use ceph_rados::osd::OsdOp;
use futures::stream::{self, StreamExt, TryStreamExt};

use super::handle::Image;
use super::read_map::may_exist;
use crate::names::data_object;
use crate::striper::ObjectExtent;
use crate::{Error, Result};

/// Object reads in flight.
const AHEAD: usize = 16;

/// What one object piece gave: image extents with data, or "absent".
enum Piece {
    Data(Vec<(u64, Bytes)>),
    Absent(ObjectExtent),
}

impl Image {
    /// The extents of `offset..offset + len` that hold data, as (image
    /// offset, bytes), in image order; holes are left out (an extent may
    /// still hold zeros the OSD stored).
    pub async fn read_extents(&self, offset: u64, len: u64) -> Result<Vec<(u64, Bytes)>> {
        let size = self.size();
        if offset >= size || len == 0 {
            return Ok(Vec::new());
        }
        let len = len.min(size - offset);
        let mut io = self.data_io.clone();
        io.set_read_snap(self.snap_id);
        let io = &io;
        let prefix = &self.meta.object_prefix;
        let map = self.read_map().await;
        let map = map.as_deref();
        let pieces: Vec<Piece> = stream::iter(self.meta.layout.extents(offset, len))
            .map(|e| async move {
                if !may_exist(map, e.object_no) {
                    return Ok(Piece::Absent(e));
                }
                let oid = data_object(prefix, e.object_no);
                let Some(out) =
                    super::io::object_op(io, &oid, OsdOp::sparse_read(e.offset, e.length)).await?
                else {
                    return Ok(Piece::Absent(e));
                };
                let (extents, data) =
                    decode_sparse_read(&out).map_err(|err| Error::decode("sparse read", err))?;
                let mut at = 0usize;
                let mut found = Vec::new();
                for (obj_off, n) in extents {
                    let n = usize::try_from(n).unwrap_or(usize::MAX);
                    let Some(bytes) = at.checked_add(n).and_then(|end| data.get(at..end)) else {
                        return Err(Error::Invalid {
                            what: "sparse read",
                            reason: format!("{oid}: extents longer than the data"),
                        });
                    };
                    // Object offset back to the image offset of this piece.
                    let image_off = e.image_offset + obj_off.saturating_sub(e.offset);
                    found.push((image_off, data.slice_ref(bytes)));
                    at += n;
                }
                Ok(Piece::Data(found))
            })
            .buffered(AHEAD)
            .try_collect()
            .await?;
        let overlap = self.meta.parent.as_ref().map_or(0, |p| p.overlap);
        let mut out = Vec::new();
        for p in pieces {
            match p {
                Piece::Data(d) => out.extend(d.into_iter().filter(|(_, b)| !b.is_empty())),
                Piece::Absent(e) if e.image_offset < overlap => {
                    if let Some(parent) = self.cached_parent().await? {
                        let n = e.length.min(overlap - e.image_offset);
                        let d = Box::pin(parent.read_extents(e.image_offset, n)).await?;
                        out.extend(d);
                    }
                }
                Piece::Absent(_) => {}
            }
        }
        out.sort_by_key(|(o, _)| *o);
        Ok(out)
    }
}
