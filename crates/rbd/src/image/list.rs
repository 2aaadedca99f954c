//! Listing a pool's images from `rbd_directory`.

use ceph_common::errno::ENOENT;
use ceph_rados::IoCtx;

use super::cls_call::call;
use super::paging::list_all;
use crate::cls::rbd::DirList;
use crate::names::RBD_DIRECTORY;
use crate::Result;

/// The images of `io`'s pool (and namespace), as `(name, id)` pairs in
/// name order. A pool without a directory has none.
pub async fn list_images(io: &IoCtx) -> Result<Vec<(String, String)>> {
    list_all(io, RBD_DIRECTORY, |start_after, max_return| DirList {
        start_after,
        max_return,
    })
    .await
}

impl super::handle::Image {
    /// Bytes the image (at the snapshot it was opened at) has allocated,
    /// as `rbd du` counts them: whole objects marked existing in a valid
    /// object map, or, without one, the sizes of the objects that exist.
    pub async fn used_bytes(&self) -> Result<u64> {
        use futures::stream::{self, StreamExt, TryStreamExt};
        let layout = self.meta.layout;
        let count = layout.object_count(self.meta.size);
        if self.meta.has(crate::features::OBJECT_MAP)
            && self.meta.flags & crate::features::FLAG_OBJECT_MAP_INVALID == 0
        {
            let oid = crate::names::object_map_object(&self.id, self.snap_id);
            if let Ok(map) = call(&self.io, &oid, &crate::cls::rbd::ObjectMapLoad {}).await {
                let exists = (0..count)
                    .filter(|n| {
                        matches!(
                            map.get(*n),
                            Some(crate::object_map::OBJECT_EXISTS)
                                | Some(crate::object_map::OBJECT_EXISTS_CLEAN)
                        )
                    })
                    .count() as u64;
                return Ok(exists
                    .saturating_mul(layout.object_size)
                    .min(self.meta.size));
            }
        }
        let mut io = self.data_io.clone();
        io.set_read_snap(self.snap_id);
        let io = &io;
        let prefix = &self.meta.object_prefix;
        let sizes: Vec<u64> = stream::iter(0..count)
            .map(|n| async move {
                let oid = crate::names::data_object(prefix, n);
                match io.stat(&oid).await {
                    Ok((size, _)) => Ok(size),
                    Err(e) if e.errno() == Some(ENOENT) => Ok(0),
                    Err(e) => Err(crate::Error::rados(format!("stat {oid}"), e)),
                }
            })
            .buffer_unordered(32)
            .try_collect()
            .await?;
        Ok(sizes.iter().sum())
    }
}
