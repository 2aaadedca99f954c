//! Listing a pool's images from `rbd_directory`.

use ceph_common::errno::ENOENT;
use ceph_rados::osd::listing::list_pg;
use ceph_rados::IoCtx;

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

/// Above this many data objects (256 GiB of 4 MiB objects), an image's
/// existing data objects are found by listing its data pool (PGNLS, 1024
/// names an op) instead of one op per object number: the count comes from
/// the header's size, which a crafted header can make 2^42.
pub const LIST_OBJECTS_ABOVE: u64 = 1 << 16;

/// How to find an image's data objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataObjectWalk {
    /// One op per object number below the count.
    ByNumber(u64),
    /// List the data pool and keep the names of the image's objects.
    ByListing,
}

/// The walk for an image of `count` data objects.
pub(crate) fn data_object_walk(count: u64) -> DataObjectWalk {
    if count > LIST_OBJECTS_ABOVE {
        DataObjectWalk::ByListing
    } else {
        DataObjectWalk::ByNumber(count)
    }
}

/// The object number of `oid` if it is a data object of the image whose
/// objects are named `<prefix>.<16 hex digits>`.
pub(crate) fn data_object_number(prefix: &str, oid: &str) -> Option<u64> {
    let digits = oid.strip_prefix(prefix)?.strip_prefix('.')?;
    if digits.len() != 16
        || !digits
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

/// The data objects of the image with object prefix `prefix` that the
/// listing of `io`'s pool (in its namespace) shows: their numbers and
/// names, by number. The pool is listed PG by PG and each PG's listing
/// filtered as it comes, so memory follows the image's objects, not the
/// pool's.
pub(crate) async fn listed_data_objects(io: &IoCtx, prefix: &str) -> Result<Vec<(u64, String)>> {
    let objecter = io.objecter();
    let failed = |e| crate::Error::rados(format!("listing pool {}", io.pool_name()), e);
    let pg_num = objecter
        .maps()
        .and_then(|m| m.osdmap.pools.get(&io.pool_id()).map(|p| p.pg_num))
        .ok_or_else(|| {
            failed(ceph_rados::RadosError::NoSuchPool(
                io.pool_name().to_string(),
            ))
        })?;
    let mut out = Vec::new();
    for seed in 0..pg_num {
        let listed = list_pg(objecter, io.pool_id(), seed, io.namespace())
            .await
            .map_err(failed)?;
        out.extend(
            listed
                .into_iter()
                .filter_map(|e| data_object_number(prefix, &e.oid).map(|n| (n, e.oid))),
        );
    }
    out.sort();
    Ok(out)
}

/// The data objects of an image of `count` objects to act on: every
/// number below `count` when it is small, else those the data pool's
/// listing shows (all of them with `all`, else those below `count`).
pub(crate) async fn data_objects_to_visit(
    io: &IoCtx,
    prefix: &str,
    count: u64,
    all: bool,
) -> Result<Vec<String>> {
    Ok(match data_object_walk(count) {
        DataObjectWalk::ByNumber(n) => (0..n)
            .map(|n| crate::names::data_object(prefix, n))
            .collect(),
        DataObjectWalk::ByListing => listed_data_objects(io, prefix)
            .await?
            .into_iter()
            .filter(|(n, _)| all || *n < count)
            .map(|(_, oid)| oid)
            .collect(),
    })
}

impl super::handle::Image {
    /// Bytes the image (at the snapshot it was opened at) has allocated,
    /// as `rbd du` counts them: whole objects marked existing in a valid
    /// object map, or, without one, the sizes of the objects that exist
    /// (asked of each object number, or, for an image of more than
    /// [`LIST_OBJECTS_ABOVE`] objects, of those the data pool lists).
    pub async fn used_bytes(&self) -> Result<u64> {
        use futures::stream::{self, StreamExt, TryStreamExt};
        let layout = self.meta.layout;
        let count = layout.object_count(self.meta.size);
        if let Some(map) = self.valid_map().await {
            // The map's own entries: it is as long as its bytes allow.
            let exists = map
                .iter()
                .take(usize::try_from(count).unwrap_or(usize::MAX))
                .filter(|s| {
                    matches!(
                        *s,
                        crate::object_map::OBJECT_EXISTS | crate::object_map::OBJECT_EXISTS_CLEAN
                    )
                })
                .count() as u64;
            return Ok(exists
                .saturating_mul(layout.object_size)
                .min(self.meta.size));
        }
        let mut io = self.data_io.clone();
        io.set_read_snap(self.snap_id);
        let io = &io;
        let oids = data_objects_to_visit(io, &self.meta.object_prefix, count, false).await?;
        let sizes: Vec<u64> = stream::iter(oids)
            .map(|oid| async move {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_images_walk_their_numbers_large_ones_list_the_pool() {
        assert_eq!(data_object_walk(0), DataObjectWalk::ByNumber(0));
        assert_eq!(data_object_walk(10), DataObjectWalk::ByNumber(10));
        assert_eq!(
            data_object_walk(LIST_OBJECTS_ABOVE),
            DataObjectWalk::ByNumber(LIST_OBJECTS_ABOVE)
        );
        assert_eq!(
            data_object_walk(LIST_OBJECTS_ABOVE + 1),
            DataObjectWalk::ByListing
        );
        assert_eq!(data_object_walk(u64::MAX), DataObjectWalk::ByListing);
        // 2^64 bytes of 4 MiB objects.
        assert_eq!(data_object_walk(1 << 42), DataObjectWalk::ByListing);
    }

    #[test]
    fn only_the_images_own_object_names_are_taken() {
        let p = "rbd_data.10ab";
        assert_eq!(
            data_object_number(p, "rbd_data.10ab.0000000000000000"),
            Some(0)
        );
        assert_eq!(
            data_object_number(p, "rbd_data.10ab.000000000000002a"),
            Some(42)
        );
        assert_eq!(
            data_object_number(p, "rbd_data.10ab.ffffffffffffffff"),
            Some(u64::MAX)
        );
        for other in [
            "rbd_data.10ab",
            "rbd_data.10ab.",
            "rbd_data.10abc.0000000000000000",
            "rbd_data.10ab.000000000000002A",
            "rbd_data.10ab.00000000000000002",
            "rbd_data.10ab.+000000000000002",
            "rbd_data.10ab.0000000000000000.x",
            "rbd_header.10ab",
            "rbd_data.7.10ab.0000000000000000",
        ] {
            assert_eq!(data_object_number(p, other), None, "{other}");
        }
        assert_eq!(
            data_object_number("rbd_data.7.10ab", "rbd_data.7.10ab.0000000000000003"),
            Some(3)
        );
    }
}
