//! The object map a read at a snapshot trusts. As librbd reads, an
//! object that the snapshot's object map marks nonexistent is not asked
//! for: it is a hole, or, in a clone within its parent overlap, the
//! parent's bytes. That saves a round trip that would only answer ENOENT
//! for each such object (most of a volume made from an image, or a
//! sparse one). A snapshot's map never changes once written, so it is
//! read once per handle. The head's map is not used for reads: another
//! client may hold the exclusive lock and be writing.

use std::sync::Arc;

use super::cls_call::call;
use super::handle::Image;
use super::meta::ImageMeta;
use crate::cls::rbd::ObjectMapLoad;
use crate::features::{FLAG_OBJECT_MAP_INVALID, OBJECT_MAP};
use crate::names::{object_map_object, NOSNAP};
use crate::object_map::{BitVector2, OBJECT_NONEXISTENT};

/// Whether `meta` (of the head or of the snapshot it was read at) has an
/// object map not flagged invalid.
fn map_flagged_valid(meta: &ImageMeta) -> bool {
    meta.has(OBJECT_MAP) && meta.flags & FLAG_OBJECT_MAP_INVALID == 0
}

/// Whether object `object_no` may exist by `map`: only an entry that
/// says nonexistent says no (no map, or a map too short: it may).
pub(crate) fn may_exist(map: Option<&BitVector2>, object_no: u64) -> bool {
    map.and_then(|m| m.get(object_no)) != Some(OBJECT_NONEXISTENT)
}

impl Image {
    /// The object map of what this handle reads (the head's or the
    /// snapshot's), when the image has the object-map feature and its
    /// flags do not mark the map invalid. A map that cannot be read
    /// (absent, or any error) is `None`, as is one flagged invalid.
    pub(super) async fn valid_map(&self) -> Option<BitVector2> {
        if !map_flagged_valid(&self.meta) {
            return None;
        }
        let oid = object_map_object(&self.id, self.snap_id);
        match call(&self.io, &oid, &ObjectMapLoad {}).await {
            Ok(map) => Some(map),
            Err(e) => {
                tracing::debug!(%oid, "object map not used: {e}");
                None
            }
        }
    }

    /// The object map reads trust: [`Image::valid_map`] of a handle opened
    /// at a snapshot, read once. Without one every object is read.
    pub(super) async fn read_map(&self) -> Option<Arc<BitVector2>> {
        if self.snap_id == NOSNAP {
            return None;
        }
        self.read_map_cache
            .get_or_init(|| async { self.valid_map().await.map(Arc::new) })
            .await
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object_map::{OBJECT_EXISTS, OBJECT_EXISTS_CLEAN, OBJECT_PENDING};

    #[test]
    fn only_a_nonexistent_entry_skips_an_object() {
        let mut map = BitVector2::new(5);
        map.set(1, OBJECT_EXISTS);
        map.set(2, OBJECT_PENDING);
        map.set(3, OBJECT_EXISTS_CLEAN);
        let m = Some(&map);
        assert!(!may_exist(m, 0));
        assert!(may_exist(m, 1));
        assert!(may_exist(m, 2));
        assert!(may_exist(m, 3));
        assert!(!may_exist(m, 4));
        // Past the map's end, or without a map: read it.
        assert!(may_exist(m, 5));
        assert!(may_exist(m, u64::MAX));
        assert!(may_exist(None, 0));
    }
}
