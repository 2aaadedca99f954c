//! Resizing an image's head as librbd's ResizeRequest does: growing
//! resizes the object map then the header; shrinking removes the data
//! objects past the new end (truncating or zeroing the boundary ones),
//! sets the header's size (which also lowers a clone's parent overlap),
//! then shrinks the object map.

use ceph_common::errno::ENOENT;
use ceph_common::Errno;
use ceph_rados::osd::OsdOp;
use futures::stream::{self, StreamExt, TryStreamExt};

use super::cls_call::call;
use super::handle::Image;
use super::list::{data_object_walk, listed_data_objects, DataObjectWalk};
use super::write::{check_writable, ensure_locked};
use super::{lock, object_map};
use crate::cls::rbd::SetSize;
use crate::names::data_object;
use crate::object_map::OBJECT_NONEXISTENT;
use crate::{Error, Result};

/// Object removals in flight.
const IN_FLIGHT: usize = 32;

impl Image {
    /// Changes the head's size to `size` bytes. Shrinking discards the
    /// data past the new end (snapshots keep theirs) and lowers a clone's
    /// parent overlap. Takes the exclusive lock like a write (kept until
    /// [`close`](Image::close)); refused while another client holds it.
    pub async fn resize(&mut self, size: u64) -> Result<()> {
        check_writable(self)?;
        let gate = self.gate.clone();
        let _gate = gate.write().await;
        let mut st = ensure_locked(self).await?;
        self.refresh().await?;
        let old = self.meta.size;
        if size == old {
            return Ok(());
        }
        let layout = self.meta.layout;
        let old_count = layout.object_count(old);
        let new_count = layout.object_count(size);
        let header = self.header_oid();
        if size > old {
            if new_count > old_count {
                object_map::resize(self, &mut st, new_count).await?;
            }
            call(&self.io, &header, &SetSize { size }).await?;
        } else {
            let mut data_io = self.data_io.clone();
            let snapc = st.snapc.clone().unwrap_or_else(|| self.meta.snapc.clone());
            data_io.set_snap_context(ceph_rados::objecter::SnapContext {
                seq: snapc.seq,
                snaps: snapc.snaps,
            });
            let data_io = &data_io;
            let prefix = &self.meta.object_prefix;
            let map = st.object_map.clone();
            // The objects past the new end: by number when few, else (a
            // header's size can say 2^64 bytes) those the data pool lists.
            let gone: Vec<String> = match data_object_walk(old_count - new_count) {
                DataObjectWalk::ByNumber(_) => (new_count..old_count)
                    .filter(|n| map.as_ref().and_then(|m| m.get(*n)) != Some(OBJECT_NONEXISTENT))
                    .map(|n| data_object(prefix, n))
                    .collect(),
                DataObjectWalk::ByListing => listed_data_objects(data_io, prefix)
                    .await?
                    .into_iter()
                    .filter(|(n, _)| (new_count..old_count).contains(n))
                    .map(|(_, oid)| oid)
                    .collect(),
            };
            stream::iter(gone)
                .map(|oid| async move {
                    check(&oid, data_io.operate_raw(&oid, vec![OsdOp::remove()]).await)
                })
                .buffer_unordered(IN_FLIGHT)
                .try_collect::<Vec<()>>()
                .await?;
            object_map::set_range(self, &mut st, new_count, old_count, OBJECT_NONEXISTENT).await?;
            // The objects that stay but hold bytes past the new end.
            let simple = layout.stripe_count == 1 || layout.stripe_unit == layout.object_size;
            let mut tails: std::collections::BTreeMap<u64, Vec<(u64, u64)>> =
                std::collections::BTreeMap::new();
            // Only the object set holding the new end can have objects
            // below `new_count` with bytes past it: later sets hold later
            // objects. (Bounded whatever `old` is.)
            let set_end = layout
                .set_bytes()
                .and_then(|b| (size / b).checked_add(1)?.checked_mul(b))
                .map_or(old, |end| end.min(old));
            for e in layout.extents(size, set_end - size) {
                if e.object_no < new_count {
                    tails
                        .entry(e.object_no)
                        .or_default()
                        .push((e.offset, e.length));
                }
            }
            stream::iter(tails)
                .map(|(n, pieces)| async move {
                    let oid = data_object(prefix, n);
                    let mut ops = vec![OsdOp::assert_exists()];
                    match pieces.first() {
                        Some((off, _)) if simple => ops.push(OsdOp::truncate(*off)),
                        _ => ops.extend(pieces.iter().map(|(o, l)| OsdOp::zero(*o, *l))),
                    }
                    check(&oid, data_io.operate_raw(&oid, ops).await)
                })
                .buffer_unordered(IN_FLIGHT)
                .try_collect::<Vec<()>>()
                .await?;
            call(&self.io, &header, &SetSize { size }).await?;
            if new_count < old_count {
                object_map::resize(self, &mut st, new_count).await?;
            }
        }
        lock::notify_header_update(self).await;
        self.refresh().await?;
        st.snapc = Some(self.meta.snapc.clone());
        Ok(())
    }
}

/// An op's outcome, `-ENOENT` (nothing there) being fine.
fn check(
    oid: &str,
    r: std::result::Result<ceph_rados::objecter::OpReply, ceph_rados::RadosError>,
) -> Result<()> {
    let r = r.map_err(|e| Error::rados(format!("trimming {oid}"), e))?;
    if r.result < 0 && r.result != ENOENT {
        return Err(Error::Rados {
            context: format!("trimming {oid}"),
            errno: Some(r.result),
            message: Errno(r.result).to_string(),
        });
    }
    Ok(())
}
