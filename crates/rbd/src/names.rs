//! The names of RBD's RADOS objects, and the special snapshot ids.

/// The pool's image directory (name <-> id), for format-2 images.
pub const RBD_DIRECTORY: &str = "rbd_directory";
/// The pool's clone-v1 child registry (`add_child` / `get_children`).
pub const RBD_CHILDREN: &str = "rbd_children";
/// The pool's image trash.
pub const RBD_TRASH: &str = "rbd_trash";
/// The pool-level object holding pool metadata (`metadata_*` methods) and
/// the pool's RBD flags.
pub const RBD_INFO: &str = "rbd_info";
/// The pool's mirroring configuration.
pub const RBD_MIRRORING: &str = "rbd_mirroring";
/// The prefix of an image's id object (`rbd_id.<name>`).
pub const RBD_ID_PREFIX: &str = "rbd_id.";
/// The prefix of an image's header object (`rbd_header.<id>`).
pub const RBD_HEADER_PREFIX: &str = "rbd_header.";
/// The prefix of an image's object map (`rbd_object_map.<id>`).
pub const RBD_OBJECT_MAP_PREFIX: &str = "rbd_object_map.";
/// The prefix of a format-2 image's data objects (`rbd_data.`).
pub const RBD_DATA_PREFIX: &str = "rbd_data.";

/// The snapshot id of the image's head (Ceph's `CEPH_NOSNAP`, `-2`).
pub const NOSNAP: u64 = 0xffff_ffff_ffff_fffe;
/// The snapshot id of the snapshot directory (Ceph's `CEPH_SNAPDIR`, `-1`).
pub const SNAPDIR: u64 = u64::MAX;

/// `rbd_id.<name>`: the object that holds an image's id.
pub fn id_object(image_name: &str) -> String {
    format!("{RBD_ID_PREFIX}{image_name}")
}

/// `rbd_header.<id>`: the image's header object (the cls_rbd methods of an
/// image, its watch and its lock).
pub fn header_object(image_id: &str) -> String {
    format!("{RBD_HEADER_PREFIX}{image_id}")
}

/// The object map of the head (`rbd_object_map.<id>`) or of a snapshot
/// (`rbd_object_map.<id>.<snap id as 16 hex digits>`); `snap_id` of
/// [`NOSNAP`] names the head's.
pub fn object_map_object(image_id: &str, snap_id: u64) -> String {
    if snap_id == NOSNAP {
        format!("{RBD_OBJECT_MAP_PREFIX}{image_id}")
    } else {
        format!("{RBD_OBJECT_MAP_PREFIX}{image_id}.{snap_id:016x}")
    }
}

/// The object prefix librbd gives a new image: `rbd_data.<id>`, or
/// `rbd_data.<image pool id>.<id>` when its data lives in a separate data
/// pool (the id of the pool holding the *header*, not of the data pool).
pub fn data_object_prefix(image_id: &str, data_pool_in_use: Option<i64>) -> String {
    match data_pool_in_use {
        Some(pool) => format!("{RBD_DATA_PREFIX}{pool}.{image_id}"),
        None => format!("{RBD_DATA_PREFIX}{image_id}"),
    }
}

/// The name of data object `object_no`: `<object_prefix>.<16 hex digits>`.
pub fn data_object(object_prefix: &str, object_no: u64) -> String {
    format!("{object_prefix}.{object_no:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(id_object("vol"), "rbd_id.vol");
        assert_eq!(header_object("85a2e4f9a4c"), "rbd_header.85a2e4f9a4c");
        assert_eq!(object_map_object("abc", NOSNAP), "rbd_object_map.abc");
        assert_eq!(
            object_map_object("abc", 12),
            "rbd_object_map.abc.000000000000000c"
        );
        assert_eq!(data_object_prefix("abc", None), "rbd_data.abc");
        assert_eq!(data_object_prefix("abc", Some(2)), "rbd_data.2.abc");
        assert_eq!(
            data_object("rbd_data.abc", 0x1f),
            "rbd_data.abc.000000000000001f"
        );
    }
}
