//! Methods of the `rbd` object class (cls_rbd), as Pacific's librbd calls
//! them.
//!
//! Header methods run on `rbd_header.<id>`; `get_id`/`set_id` on
//! `rbd_id.<name>`; `dir_*` on `rbd_directory`; `add_child`,
//! `remove_child`, `get_children` on `rbd_children`; `trash_*` on
//! `rbd_trash`; `object_map_*` on `rbd_object_map.<id>[.<snap>]`;
//! `metadata_*` on a header or, for pool metadata, on `rbd_info` (see
//! [`crate::names`]). Snapshot ids are `u64`, with
//! [`NOSNAP`](crate::names::NOSNAP) for the head.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use ceph_encoding::{ceph_struct, UTime};

use super::cls_method;
use super::types::{
    ChildImageSpec, FeaturesInfo, LegacyParent, ParentImageSpec, SizeInfo, SnapContext,
    SnapshotInfo, SnapshotNamespace, StripeInfo, TrashImageSpec,
};
use crate::object_map::BitVector2;

ceph_struct! {
    /// `create`: initialise a new header object.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Create {
        /// Size in bytes.
        pub size: u64,
        /// Object order (objects of `1 << order` bytes).
        pub order: u8,
        /// Feature bits.
        pub features: u64,
        /// Data object prefix (`rbd_data.<id>`, see
        /// [`data_object_prefix`](crate::names::data_object_prefix)).
        pub object_prefix: String,
        /// Data pool id, or -1 for none.
        pub data_pool_id: i64,
    }
}
cls_method!(Create, "rbd", "create" -> ());

ceph_struct! {
    /// `get_size`: size and order at a snapshot (or the head).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct GetSize {
        /// Snapshot id, or `NOSNAP`.
        pub snap_id: u64,
    }
}
cls_method!(GetSize, "rbd", "get_size" -> SizeInfo);

ceph_struct! {
    /// `set_size`: resize the head.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct SetSize {
        /// New size in bytes.
        pub size: u64,
    }
}
cls_method!(SetSize, "rbd", "set_size" -> ());

ceph_struct! {
    /// `get_features`: feature bits and the incompatible subset. librbd
    /// asks for `NOSNAP` (features are per image).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct GetFeatures {
        /// Snapshot id (`NOSNAP`).
        pub snap_id: u64,
        /// Whether the caller opens the image read-only (the incompatible
        /// mask is then the read-incompatible one).
        pub read_only: bool,
    }
}
cls_method!(GetFeatures, "rbd", "get_features" -> FeaturesInfo);

ceph_struct! {
    /// `set_features`: set the bits of `features` selected by `mask`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct SetFeatures {
        /// New values.
        pub features: u64,
        /// Which bits to change.
        pub mask: u64,
    }
}
cls_method!(SetFeatures, "rbd", "set_features" -> ());

ceph_struct! {
    /// `get_object_prefix`: the data objects' name prefix.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct GetObjectPrefix {}
}
cls_method!(GetObjectPrefix, "rbd", "get_object_prefix" -> String);

ceph_struct! {
    /// `get_data_pool`: the data pool id, -1 when data lives with the header.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct GetDataPool {}
}
cls_method!(GetDataPool, "rbd", "get_data_pool" -> i64);

ceph_struct! {
    /// `get_snapcontext`: the snapshot sequence and ids, for writes.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct GetSnapContext {}
}
cls_method!(GetSnapContext, "rbd", "get_snapcontext" -> SnapContext);

ceph_struct! {
    /// `get_stripe_unit_count` (images with `STRIPINGV2`; others answer
    /// `-ENOEXEC`, meaning the object size and 1).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct GetStripeUnitCount {}
}
cls_method!(GetStripeUnitCount, "rbd", "get_stripe_unit_count" -> StripeInfo);

ceph_struct! {
    /// `set_stripe_unit_count`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct SetStripeUnitCount {
        /// Stripe unit in bytes.
        pub stripe_unit: u64,
        /// Objects in a stripe.
        pub stripe_count: u64,
    }
}
cls_method!(SetStripeUnitCount, "rbd", "set_stripe_unit_count" -> ());

ceph_struct! {
    /// `get_flags`: the image's (or a snapshot's) `FLAG_*` bits.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct GetFlags {
        /// Snapshot id, or `NOSNAP`.
        pub snap_id: u64,
    }
}
cls_method!(GetFlags, "rbd", "get_flags" -> u64);

ceph_struct! {
    /// `set_flags`: set the bits of `flags` selected by `mask`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct SetFlags {
        /// New values.
        pub flags: u64,
        /// Which bits to change.
        pub mask: u64,
        /// Snapshot id, or `NOSNAP`.
        pub snap_id: u64,
    }
}
cls_method!(SetFlags, "rbd", "set_flags" -> ());

ceph_struct! {
    /// `get_create_timestamp`.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct GetCreateTimestamp {}
}
cls_method!(GetCreateTimestamp, "rbd", "get_create_timestamp" -> UTime);

ceph_struct! {
    /// `get_access_timestamp`.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct GetAccessTimestamp {}
}
cls_method!(GetAccessTimestamp, "rbd", "get_access_timestamp" -> UTime);

ceph_struct! {
    /// `get_modify_timestamp`.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct GetModifyTimestamp {}
}
cls_method!(GetModifyTimestamp, "rbd", "get_modify_timestamp" -> UTime);

ceph_struct! {
    /// `op_features_get`: the `OP_FEATURE_*` bits (needs the `OPERATIONS`
    /// feature; others answer `-ENOEXEC`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct OpFeaturesGet {}
}
cls_method!(OpFeaturesGet, "rbd", "op_features_get" -> u64);

ceph_struct! {
    /// `op_features_set`: set the bits of `op_features` selected by `mask`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct OpFeaturesSet {
        /// New values.
        pub op_features: u64,
        /// Which bits to change.
        pub mask: u64,
    }
}
cls_method!(OpFeaturesSet, "rbd", "op_features_set" -> ());

ceph_struct! {
    /// `get_all_features`: every feature the OSD's cls_rbd knows.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct GetAllFeatures {}
}
cls_method!(GetAllFeatures, "rbd", "get_all_features" -> u64);

ceph_struct! {
    /// `get_parent` (legacy): parent and overlap at a snapshot.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct GetParent {
        /// Snapshot id, or `NOSNAP`.
        pub snap_id: u64,
    }
}
cls_method!(GetParent, "rbd", "get_parent" -> LegacyParent);

ceph_struct! {
    /// `parent_get`: the head's parent (pool -1 when none).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct ParentGet {}
}
cls_method!(ParentGet, "rbd", "parent_get" -> ParentImageSpec);

ceph_struct! {
    /// `parent_overlap_get`: the parent overlap at a snapshot, `None` when
    /// there is no parent.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct ParentOverlapGet {
        /// Snapshot id, or `NOSNAP`.
        pub snap_id: u64,
    }
}
cls_method!(ParentOverlapGet, "rbd", "parent_overlap_get" -> Option<u64>);

ceph_struct! {
    /// `set_parent` (legacy; default namespace only).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SetParent {
        /// Parent pool.
        pub pool_id: i64,
        /// Parent image id.
        pub image_id: String,
        /// Parent snapshot.
        pub snap_id: u64,
        /// Overlap in bytes.
        pub overlap: u64,
    }
}
cls_method!(SetParent, "rbd", "set_parent" -> ());

ceph_struct! {
    /// `remove_parent` (legacy).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct RemoveParent {}
}
cls_method!(RemoveParent, "rbd", "remove_parent" -> ());

ceph_struct! {
    /// `parent_attach`: record the parent of a new clone.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ParentAttach {
        /// The parent.
        pub parent: ParentImageSpec,
        /// Overlap in bytes (the child's size at clone time).
        pub overlap: u64,
        /// Replace an existing parent (migration).
        pub reattach: bool,
    }
}
cls_method!(ParentAttach, "rbd", "parent_attach" -> ());

ceph_struct! {
    /// `parent_detach` (flatten).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct ParentDetach {}
}
cls_method!(ParentDetach, "rbd", "parent_detach" -> ());

ceph_struct! {
    /// `snapshot_get`: one snapshot's record.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct SnapshotGet {
        /// Snapshot id.
        pub snap_id: u64,
    }
}
cls_method!(SnapshotGet, "rbd", "snapshot_get" -> SnapshotInfo);

ceph_struct! {
    /// `snapshot_add`: record a snapshot whose id the pool allocated
    /// (self-managed snapshot). Note the order: name first.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SnapshotAdd {
        /// Snapshot name.
        pub snap_name: String,
        /// Snapshot id.
        pub snap_id: u64,
        /// What kind of snapshot.
        pub snap_namespace: SnapshotNamespace,
    }
}
cls_method!(SnapshotAdd, "rbd", "snapshot_add" -> ());

ceph_struct! {
    /// `snapshot_remove`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct SnapshotRemove {
        /// Snapshot id.
        pub snap_id: u64,
    }
}
cls_method!(SnapshotRemove, "rbd", "snapshot_remove" -> ());

ceph_struct! {
    /// `snapshot_rename`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SnapshotRename {
        /// Snapshot id.
        pub src_snap_id: u64,
        /// New name.
        pub dst_name: String,
    }
}
cls_method!(SnapshotRename, "rbd", "snapshot_rename" -> ());

ceph_struct! {
    /// `snapshot_trash_add`: move a snapshot with clone v2 children to the
    /// trash namespace.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct SnapshotTrashAdd {
        /// Snapshot id.
        pub snap_id: u64,
    }
}
cls_method!(SnapshotTrashAdd, "rbd", "snapshot_trash_add" -> ());

ceph_struct! {
    /// `get_protection_status`: a `PROTECTION_*` value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct GetProtectionStatus {
        /// Snapshot id.
        pub snap_id: u64,
    }
}
cls_method!(GetProtectionStatus, "rbd", "get_protection_status" -> u8);

ceph_struct! {
    /// `set_protection_status`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct SetProtectionStatus {
        /// Snapshot id.
        pub snap_id: u64,
        /// A `PROTECTION_*` value.
        pub status: u8,
    }
}
cls_method!(SetProtectionStatus, "rbd", "set_protection_status" -> ());

ceph_struct! {
    /// `get_snapshot_name` (legacy).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct GetSnapshotName {
        /// Snapshot id.
        pub snap_id: u64,
    }
}
cls_method!(GetSnapshotName, "rbd", "get_snapshot_name" -> String);

ceph_struct! {
    /// `get_snapshot_timestamp` (legacy).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct GetSnapshotTimestamp {
        /// Snapshot id.
        pub snap_id: u64,
    }
}
cls_method!(GetSnapshotTimestamp, "rbd", "get_snapshot_timestamp" -> UTime);

ceph_struct! {
    /// `snapshot_get_limit`: the snapshot count limit (`u64::MAX`: none).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct SnapshotGetLimit {}
}
cls_method!(SnapshotGetLimit, "rbd", "snapshot_get_limit" -> u64);

ceph_struct! {
    /// `snapshot_set_limit`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct SnapshotSetLimit {
        /// The limit.
        pub limit: u64,
    }
}
cls_method!(SnapshotSetLimit, "rbd", "snapshot_set_limit" -> ());

ceph_struct! {
    /// `add_child` on `rbd_children` (clone v1; default namespace only).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AddChild {
        /// Parent pool.
        pub parent_pool_id: i64,
        /// Parent image id.
        pub parent_image_id: String,
        /// Parent snapshot.
        pub parent_snap_id: u64,
        /// Child image id.
        pub child_image_id: String,
    }
}
cls_method!(AddChild, "rbd", "add_child" -> ());

ceph_struct! {
    /// `remove_child` on `rbd_children` (clone v1).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RemoveChild {
        /// Parent pool.
        pub parent_pool_id: i64,
        /// Parent image id.
        pub parent_image_id: String,
        /// Parent snapshot.
        pub parent_snap_id: u64,
        /// Child image id.
        pub child_image_id: String,
    }
}
cls_method!(RemoveChild, "rbd", "remove_child" -> ());

ceph_struct! {
    /// `get_children` on `rbd_children` (clone v1): the child image ids
    /// (in this pool) of a parent snapshot.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct GetChildren {
        /// Parent pool.
        pub parent_pool_id: i64,
        /// Parent image id.
        pub parent_image_id: String,
        /// Parent snapshot.
        pub parent_snap_id: u64,
    }
}
cls_method!(GetChildren, "rbd", "get_children" -> BTreeSet<String>);

ceph_struct! {
    /// `child_attach` on the parent's header (clone v2).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ChildAttach {
        /// Parent snapshot.
        pub snap_id: u64,
        /// The child.
        pub child: ChildImageSpec,
    }
}
cls_method!(ChildAttach, "rbd", "child_attach" -> ());

ceph_struct! {
    /// `child_detach` on the parent's header (clone v2).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ChildDetach {
        /// Parent snapshot.
        pub snap_id: u64,
        /// The child.
        pub child: ChildImageSpec,
    }
}
cls_method!(ChildDetach, "rbd", "child_detach" -> ());

ceph_struct! {
    /// `children_list` on the parent's header: the clone v2 children of a
    /// snapshot (a set, in the OSD's order).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct ChildrenList {
        /// Parent snapshot.
        pub snap_id: u64,
    }
}
cls_method!(ChildrenList, "rbd", "children_list" -> Vec<ChildImageSpec>);

ceph_struct! {
    /// `get_id` on `rbd_id.<name>`: the image id.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct GetId {}
}
cls_method!(GetId, "rbd", "get_id" -> String);

ceph_struct! {
    /// `set_id` on `rbd_id.<name>` (creates it).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SetId {
        /// The image id.
        pub id: String,
    }
}
cls_method!(SetId, "rbd", "set_id" -> ());

ceph_struct! {
    /// `dir_add_image` on `rbd_directory`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct DirAddImage {
        /// Image name.
        pub name: String,
        /// Image id.
        pub id: String,
    }
}
cls_method!(DirAddImage, "rbd", "dir_add_image" -> ());

ceph_struct! {
    /// `dir_remove_image` on `rbd_directory`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct DirRemoveImage {
        /// Image name.
        pub name: String,
        /// Image id.
        pub id: String,
    }
}
cls_method!(DirRemoveImage, "rbd", "dir_remove_image" -> ());

ceph_struct! {
    /// `dir_rename_image` on `rbd_directory`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct DirRenameImage {
        /// Old name.
        pub src: String,
        /// New name.
        pub dest: String,
        /// Image id.
        pub id: String,
    }
}
cls_method!(DirRenameImage, "rbd", "dir_rename_image" -> ());

ceph_struct! {
    /// `dir_get_id` on `rbd_directory`: name -> id.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct DirGetId {
        /// Image name.
        pub name: String,
    }
}
cls_method!(DirGetId, "rbd", "dir_get_id" -> String);

ceph_struct! {
    /// `dir_get_name` on `rbd_directory`: id -> name.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct DirGetName {
        /// Image id.
        pub id: String,
    }
}
cls_method!(DirGetName, "rbd", "dir_get_name" -> String);

ceph_struct! {
    /// `dir_list` on `rbd_directory`: up to `max_return` images (name ->
    /// id) with names after `start_after`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct DirList {
        /// Resume after this name ("" from the start).
        pub start_after: String,
        /// At most this many entries.
        pub max_return: u64,
    }
}
cls_method!(DirList, "rbd", "dir_list" -> BTreeMap<String, String>);

ceph_struct! {
    /// `trash_add` on `rbd_trash`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct TrashAdd {
        /// Image id.
        pub id: String,
        /// Its trash record.
        pub spec: TrashImageSpec,
    }
}
cls_method!(TrashAdd, "rbd", "trash_add" -> ());

ceph_struct! {
    /// `trash_remove` on `rbd_trash`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct TrashRemove {
        /// Image id.
        pub id: String,
    }
}
cls_method!(TrashRemove, "rbd", "trash_remove" -> ());

ceph_struct! {
    /// `trash_list` on `rbd_trash`: image id -> record.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct TrashList {
        /// Resume after this id ("" from the start).
        pub start_after: String,
        /// At most this many entries.
        pub max_return: u64,
    }
}
cls_method!(TrashList, "rbd", "trash_list" -> BTreeMap<String, TrashImageSpec>);

ceph_struct! {
    /// `trash_get` on `rbd_trash`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct TrashGet {
        /// Image id.
        pub id: String,
    }
}
cls_method!(TrashGet, "rbd", "trash_get" -> TrashImageSpec);

ceph_struct! {
    /// `trash_state_set` on `rbd_trash`: compare-and-set of the state.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct TrashStateSet {
        /// Image id.
        pub id: String,
        /// New `TRASH_STATE_*`.
        pub state: u8,
        /// The state it must be in now.
        pub expect_state: u8,
    }
}
cls_method!(TrashStateSet, "rbd", "trash_state_set" -> ());

ceph_struct! {
    /// `metadata_list`: key -> value pairs after `start_after`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MetadataList {
        /// Resume after this key ("" from the start).
        pub start_after: String,
        /// At most this many entries (0: no limit).
        pub max_return: u64,
    }
}
cls_method!(MetadataList, "rbd", "metadata_list" -> BTreeMap<String, Bytes>);

ceph_struct! {
    /// `metadata_get`: one value (`-ENOENT` if absent).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MetadataGet {
        /// The key.
        pub key: String,
    }
}
cls_method!(MetadataGet, "rbd", "metadata_get" -> String);

ceph_struct! {
    /// `metadata_set`: set keys.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MetadataSet {
        /// Key -> value.
        pub data: BTreeMap<String, Bytes>,
    }
}
cls_method!(MetadataSet, "rbd", "metadata_set" -> ());

ceph_struct! {
    /// `metadata_remove`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MetadataRemove {
        /// The key.
        pub key: String,
    }
}
cls_method!(MetadataRemove, "rbd", "metadata_remove" -> ());

ceph_struct! {
    /// `object_map_load` on an object map object.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct ObjectMapLoad {}
}
cls_method!(ObjectMapLoad, "rbd", "object_map_load" -> BitVector2);

ceph_struct! {
    /// `object_map_save`: replace the whole map (librbd sends it without
    /// crcs).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ObjectMapSave {
        /// The map.
        pub map: BitVector2,
    }
}
cls_method!(ObjectMapSave, "rbd", "object_map_save" -> ());

ceph_struct! {
    /// `object_map_resize`: grow (new objects get `default_state`) or
    /// shrink (only over objects that do not exist).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct ObjectMapResize {
        /// The new object count.
        pub object_count: u64,
        /// State of added objects.
        pub default_state: u8,
    }
}
cls_method!(ObjectMapResize, "rbd", "object_map_resize" -> ());

ceph_struct! {
    /// `object_map_update`: set objects `[start, end)` to `new_state`, only
    /// those currently in `current_state` when given.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct ObjectMapUpdate {
        /// First object.
        pub start_object_no: u64,
        /// One past the last object.
        pub end_object_no: u64,
        /// State to set (`object_map::OBJECT_*`).
        pub new_state: u8,
        /// Only update objects in this state.
        pub current_state: Option<u8>,
    }
}
cls_method!(ObjectMapUpdate, "rbd", "object_map_update" -> ());

ceph_struct! {
    /// `object_map_snap_add`: on the head's map after a snapshot, turn
    /// `EXISTS` into `EXISTS_CLEAN`.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct ObjectMapSnapAdd {}
}
cls_method!(ObjectMapSnapAdd, "rbd", "object_map_snap_add" -> ());

ceph_struct! {
    /// `object_map_snap_remove`: merge a removed snapshot's map into the
    /// next one.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ObjectMapSnapRemove {
        /// The removed snapshot's map.
        pub map: BitVector2,
    }
}
cls_method!(ObjectMapSnapRemove, "rbd", "object_map_snap_remove" -> ());
