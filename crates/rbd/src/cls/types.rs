//! The structures cls_rbd methods carry (`cls::rbd` types of
//! `cls_rbd_types.h`), and the multi-field outputs of simple methods.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{BufMut, BytesMut};
use ceph_encoding::{ceph_struct, encode_versioned, Decode, DecodeError, Encode, Reader, UTime};

/// Snapshot namespace type: a user snapshot.
pub const SNAPSHOT_NAMESPACE_USER: u32 = 0;
/// Snapshot namespace type: part of a group snapshot.
pub const SNAPSHOT_NAMESPACE_GROUP: u32 = 1;
/// Snapshot namespace type: removed, kept until its clone v2 children go.
pub const SNAPSHOT_NAMESPACE_TRASH: u32 = 2;
/// Snapshot namespace type: a mirroring snapshot.
pub const SNAPSHOT_NAMESPACE_MIRROR: u32 = 3;

ceph_struct! {
    /// The fields of a mirroring snapshot namespace (Pacific's layout).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct MirrorSnapshotNamespace {
        /// `MIRROR_SNAPSHOT_STATE_*`: 0 primary, 1 primary (demoted),
        /// 2 non-primary, 3 non-primary (demoted).
        pub state: u8,
        /// Whether a non-primary snapshot finished syncing.
        pub complete: bool,
        /// The peers this snapshot is for.
        pub mirror_peer_uuids: BTreeSet<String>,
        /// The primary's mirror uuid (non-primary snapshots).
        pub primary_mirror_uuid: String,
        /// The primary's snapshot id (non-primary snapshots).
        pub primary_snap_id: u64,
        /// How far a sync got.
        pub last_copied_object_number: u64,
        /// Primary snapshot id -> local snapshot id.
        pub snap_seqs: BTreeMap<u64, u64>,
    }
}

/// What kind of snapshot a snapshot is (`cls::rbd::SnapshotNamespace`):
/// encoded in a versioned envelope (1, 1) as a `u32` type and the type's
/// fields. An unknown type decodes as [`SnapshotNamespace::Unknown`] (its
/// fields skipped), as librbd does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SnapshotNamespace {
    /// An ordinary snapshot.
    #[default]
    User,
    /// One image's part of a group snapshot.
    Group {
        /// The group's pool.
        pool: i64,
        /// The group's id.
        group_id: String,
        /// The group snapshot's id.
        group_snapshot_id: String,
    },
    /// A removed snapshot still needed by clone v2 children; its name is
    /// replaced with a uuid.
    Trash {
        /// The name it had.
        original_name: String,
        /// The namespace type it had (`SNAPSHOT_NAMESPACE_*`).
        original_namespace_type: u32,
    },
    /// A mirroring snapshot.
    Mirror(MirrorSnapshotNamespace),
    /// A type this crate does not know.
    Unknown {
        /// The type number.
        namespace_type: u32,
    },
}

impl SnapshotNamespace {
    /// The namespace's type number (`SNAPSHOT_NAMESPACE_*`).
    pub fn namespace_type(&self) -> u32 {
        match self {
            SnapshotNamespace::User => SNAPSHOT_NAMESPACE_USER,
            SnapshotNamespace::Group { .. } => SNAPSHOT_NAMESPACE_GROUP,
            SnapshotNamespace::Trash { .. } => SNAPSHOT_NAMESPACE_TRASH,
            SnapshotNamespace::Mirror(_) => SNAPSHOT_NAMESPACE_MIRROR,
            SnapshotNamespace::Unknown { namespace_type } => *namespace_type,
        }
    }
}

impl Encode for SnapshotNamespace {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        encode_versioned(buf, 1, 1, |buf| {
            buf.put_u32_le(self.namespace_type());
            match self {
                SnapshotNamespace::User | SnapshotNamespace::Unknown { .. } => {}
                SnapshotNamespace::Group {
                    pool,
                    group_id,
                    group_snapshot_id,
                } => {
                    pool.encode(buf, features);
                    group_id.encode(buf, features);
                    group_snapshot_id.encode(buf, features);
                }
                SnapshotNamespace::Trash {
                    original_name,
                    original_namespace_type,
                } => {
                    original_name.encode(buf, features);
                    original_namespace_type.encode(buf, features);
                }
                SnapshotNamespace::Mirror(m) => m.encode(buf, features),
            }
        });
    }
}

impl Decode for SnapshotNamespace {
    const MIN_ENCODED_SIZE: usize = ceph_encoding::VERSION_HEADER_SIZE + 4;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.versioned("SnapshotNamespace", 1, |r, _| {
            let namespace_type = u32::decode(r)?;
            Ok(match namespace_type {
                SNAPSHOT_NAMESPACE_USER => SnapshotNamespace::User,
                SNAPSHOT_NAMESPACE_GROUP => SnapshotNamespace::Group {
                    pool: r.read()?,
                    group_id: r.read()?,
                    group_snapshot_id: r.read()?,
                },
                SNAPSHOT_NAMESPACE_TRASH => SnapshotNamespace::Trash {
                    original_name: r.read()?,
                    original_namespace_type: r.read()?,
                },
                SNAPSHOT_NAMESPACE_MIRROR => SnapshotNamespace::Mirror(r.read()?),
                namespace_type => SnapshotNamespace::Unknown { namespace_type },
            })
        })
    }
}

ceph_struct! {
    /// A clone's parent (`cls::rbd::ParentImageSpec`), as `parent_get` and
    /// `parent_attach` carry it. No parent is `pool_id == -1`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ParentImageSpec : version 1, compat 1 {
        /// The parent's pool.
        pub pool_id: i64,
        /// The parent's RADOS namespace (empty for the default).
        pub pool_namespace: String,
        /// The parent image's id.
        pub image_id: String,
        /// The parent snapshot.
        pub snap_id: u64,
    }
}

impl Default for ParentImageSpec {
    fn default() -> Self {
        Self {
            pool_id: -1,
            pool_namespace: String::new(),
            image_id: String::new(),
            snap_id: crate::names::NOSNAP,
        }
    }
}

impl ParentImageSpec {
    /// Whether this names a parent (`parent_get` of an image without one
    /// answers pool -1).
    pub fn exists(&self) -> bool {
        self.pool_id >= 0 && !self.image_id.is_empty() && self.snap_id != crate::names::NOSNAP
    }
}

ceph_struct! {
    /// A clone v2 child of a snapshot (`cls::rbd::ChildImageSpec`).
    /// Version 2 added the namespace, after the image id.
    #[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
    pub struct ChildImageSpec : version 2, compat 1 {
        /// The child's pool.
        pub pool_id: i64,
        /// The child image's id.
        pub image_id: String,
        /// The child's RADOS namespace (empty for the default).
        pub pool_namespace: String = since 2 => String::new(),
    }
}

ceph_struct! {
    /// One snapshot of an image (`cls::rbd::SnapshotInfo`, from
    /// `snapshot_get`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SnapshotInfo : version 1, compat 1 {
        /// Snapshot id.
        pub id: u64,
        /// What kind of snapshot.
        pub snapshot_namespace: SnapshotNamespace,
        /// Its name (a uuid for trashed snapshots).
        pub name: String,
        /// The image's size when it was taken.
        pub image_size: u64,
        /// When it was taken.
        pub timestamp: UTime,
        /// How many clone v2 children it has.
        pub child_count: u32,
    }
}

/// Trash source: `rbd trash mv` by a user.
pub const TRASH_SOURCE_USER: u8 = 0;
/// Trash source: mirroring.
pub const TRASH_SOURCE_MIRRORING: u8 = 1;
/// Trash source: migration.
pub const TRASH_SOURCE_MIGRATION: u8 = 2;
/// Trash source: removal of an image (`rbd rm`, via the trash).
pub const TRASH_SOURCE_REMOVING: u8 = 3;
/// Trash source: a user's move whose parent was also trashed.
pub const TRASH_SOURCE_USER_PARENT: u8 = 4;

/// Trash state: normal.
pub const TRASH_STATE_NORMAL: u8 = 0;
/// Trash state: moving into the trash.
pub const TRASH_STATE_MOVING: u8 = 1;
/// Trash state: being removed.
pub const TRASH_STATE_REMOVING: u8 = 2;
/// Trash state: being restored.
pub const TRASH_STATE_RESTORING: u8 = 3;

ceph_struct! {
    /// An image in the trash (`cls::rbd::TrashImageSpec`).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct TrashImageSpec : version 2, compat 1 {
        /// How it got there (`TRASH_SOURCE_*`).
        pub source: u8,
        /// The image's name before it was moved.
        pub name: String,
        /// When it was moved.
        pub deletion_time: UTime,
        /// Until when it may not be removed.
        pub deferment_end_time: UTime,
        /// `TRASH_STATE_*`, since version 2.
        pub state: u8 = since 2 => TRASH_STATE_NORMAL,
    }
}

ceph_struct! {
    /// The output of `get_size`: the object order, then the size.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct SizeInfo {
        /// Objects are `1 << order` bytes.
        pub order: u8,
        /// Image size in bytes.
        pub size: u64,
    }
}

ceph_struct! {
    /// The output of `get_features`.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct FeaturesInfo {
        /// The image's feature bits.
        pub features: u64,
        /// The subset a client must understand to use the image (for a
        /// read-only open, the read-incompatible ones).
        pub incompatible: u64,
    }
}

ceph_struct! {
    /// The output of `get_snapcontext` (a `SnapContext`): the newest
    /// snapshot sequence and the snapshot ids, newest first.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct SnapContext {
        /// The snapshot sequence number.
        pub seq: u64,
        /// The snapshot ids, in descending order.
        pub snaps: Vec<u64>,
    }
}

impl SnapContext {
    /// Whether the context is well formed (as librbd checks): ids in
    /// strictly descending order, none above `seq`.
    pub fn is_valid(&self) -> bool {
        self.snaps.first().is_none_or(|first| *first <= self.seq)
            && self.snaps.windows(2).all(|w| matches!(w, [a, b] if a > b))
    }
}

ceph_struct! {
    /// The output of `get_stripe_unit_count`.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct StripeInfo {
        /// Stripe unit in bytes.
        pub stripe_unit: u64,
        /// Objects in a stripe.
        pub stripe_count: u64,
    }
}

ceph_struct! {
    /// The output of the legacy `get_parent`: no pool namespace, and the
    /// overlap in the same reply.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct LegacyParent {
        /// Parent pool (-1: none).
        pub pool_id: i64,
        /// Parent image id.
        pub image_id: String,
        /// Parent snapshot id.
        pub snap_id: u64,
        /// Bytes of the child still backed by the parent.
        pub overlap: u64,
    }
}
