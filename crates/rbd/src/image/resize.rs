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
            let tails = tail_pieces(&layout, size, old, new_count);
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

/// The pieces (object offset, length) of the objects below `new_count`
/// that hold image bytes in `size..old`, by object: what a shrink to
/// `size` must cut from the objects that stay.
///
/// Only the object set holding `size` can have such objects (later sets
/// hold later objects), and in one object the image offsets grow with the
/// object offsets, so each object's pieces follow from where `size` falls
/// in the set's rows. The work is bounded by the objects kept and their
/// stripe units, not by `old` nor by the set's size (a crafted header can
/// make both huge).
fn tail_pieces(
    layout: &crate::striper::Layout,
    size: u64,
    old: u64,
    new_count: u64,
) -> std::collections::BTreeMap<u64, Vec<(u64, u64)>> {
    let mut tails = std::collections::BTreeMap::new();
    let (su, sc, os) = (layout.stripe_unit, layout.stripe_count, layout.object_size);
    let (Some(set_bytes), Some(row_bytes)) = (layout.set_bytes(), su.checked_mul(sc)) else {
        return tails;
    };
    if !layout.is_valid() || size >= old {
        return tails;
    }
    let set = size / set_bytes;
    let set_start = set * set_bytes;
    let rel = size - set_start;
    let (row, col, in_unit) = (rel / row_bytes, (rel % row_bytes) / su, rel % su);
    let first = set.saturating_mul(sc);
    let kept = new_count.saturating_sub(first).min(sc);
    for j in 0..kept {
        let mut pieces = Vec::new();
        // The first row of object j with bytes past `size`.
        let start_row = if j < col { row + 1 } else { row };
        for r in start_row..os / su {
            // Image offset of row r's unit in object j (fits: below the
            // set's end, which `set_bytes` checked).
            let unit_start = set_start + r * row_bytes + j * su;
            let (from, obj_off) = if r == row && j == col {
                (size, r * su + in_unit)
            } else {
                (unit_start, r * su)
            };
            if from >= old {
                break;
            }
            let len = (unit_start + su).min(old) - from;
            pieces.push((obj_off, len));
        }
        if !pieces.is_empty() {
            tails.insert(first + j, pieces);
        }
    }
    tails
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::striper::Layout;

    /// What the striper's extents of `size..old` give for the objects
    /// below `new_count` (the computation `tail_pieces` replaces).
    fn by_extents(
        l: &Layout,
        size: u64,
        old: u64,
        new_count: u64,
    ) -> BTreeMap<u64, Vec<(u64, u64)>> {
        let mut tails: BTreeMap<u64, Vec<(u64, u64)>> = BTreeMap::new();
        for e in l.extents(size, old - size) {
            if e.object_no < new_count {
                tails
                    .entry(e.object_no)
                    .or_default()
                    .push((e.offset, e.length));
            }
        }
        for pieces in tails.values_mut() {
            pieces.sort();
        }
        tails
    }

    #[test]
    fn tail_pieces_are_the_striper_extents_past_the_new_end() {
        let layouts = [
            Layout::simple(16),
            Layout {
                object_size: 1 << 16,
                stripe_unit: 1 << 12,
                stripe_count: 3,
            },
            Layout {
                object_size: 1 << 16,
                stripe_unit: 1 << 14,
                stripe_count: 5,
            },
            Layout {
                object_size: 1 << 14,
                stripe_unit: 1 << 14,
                stripe_count: 4,
            },
        ];
        for l in layouts {
            let set = l.set_bytes().unwrap();
            let points = [
                0,
                1,
                4095,
                4096,
                4097,
                l.stripe_unit * l.stripe_count + 7,
                set - 1,
                set,
                set + 12345,
                2 * set + 3,
                3 * set - 4097,
            ];
            for &size in &points {
                for &old in &points {
                    if old <= size {
                        continue;
                    }
                    let new_count = l.object_count(size);
                    let mut got = tail_pieces(&l, size, old, new_count);
                    for pieces in got.values_mut() {
                        pieces.sort();
                    }
                    assert_eq!(
                        got,
                        by_extents(&l, size, old, new_count),
                        "{l:?} size {size} old {old}"
                    );
                }
            }
        }
    }

    /// A crafted header: 2^32 objects a stripe and 2^64 bytes. Shrinking
    /// to 12 KiB cuts four objects, without walking the set (2^45 units).
    #[test]
    fn tail_pieces_of_a_crafted_layout_follow_the_objects_kept() {
        let l = Layout {
            object_size: 1 << 22,
            stripe_unit: 1 << 12,
            stripe_count: 1 << 32,
        };
        let size = (3 << 12) + 5;
        let tails = tail_pieces(&l, size, u64::MAX - 1, l.object_count(size));
        // Objects 0-2 from their second unit on, object 3 from byte 5.
        assert_eq!(tails.keys().copied().collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert_eq!(tails[&0].len(), (1 << 10) - 1);
        assert_eq!(tails[&0][0], (1 << 12, 1 << 12));
        assert_eq!(tails[&3].len(), 1 << 10);
        assert_eq!(tails[&3][0], (5, (1 << 12) - 5));
    }
}
