//! An image's metadata, read from its header in two round trips (one
//! compound op for the image, one for its snapshots), as librbd's refresh
//! reads it.

use ceph_common::errno::ENOENT;
use ceph_common::Errno;
use ceph_encoding::UTime;
use ceph_rados::osd::op::OP_FLAG_FAILOK;
use ceph_rados::osd::OsdOp;
use ceph_rados::IoCtx;

use crate::cls::rbd::{
    GetCreateTimestamp, GetDataPool, GetFeatures, GetFlags, GetId, GetObjectPrefix,
    GetProtectionStatus, GetSize, GetSnapContext, GetStripeUnitCount, OpFeaturesGet, ParentGet,
    ParentOverlapGet, SnapshotGet,
};
use crate::cls::types::{ParentImageSpec, SnapContext, SnapshotNamespace, StripeInfo};
use crate::cls::ClsMethod;
use crate::features;
use crate::names::{header_object, id_object, NOSNAP};
use crate::striper::{Layout, MAX_ORDER, MIN_ORDER};
use crate::{Error, Result};

/// A clone's parent and how much of the child it still backs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentInfo {
    /// The parent image and snapshot.
    pub spec: ParentImageSpec,
    /// Bytes of the child backed by the parent.
    pub overlap: u64,
}

/// One snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapInfo {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// What kind.
    pub namespace: SnapshotNamespace,
    /// The image's size then.
    pub size: u64,
    /// When it was taken.
    pub timestamp: UTime,
    /// `PROTECTION_*` (see [`crate::features`]).
    pub protection: u8,
    /// Clone v2 children.
    pub child_count: u32,
}

impl SnapInfo {
    /// Whether this is an ordinary (user) snapshot.
    pub fn is_user(&self) -> bool {
        self.namespace == SnapshotNamespace::User
    }

    /// The name it had before it moved to the trash namespace (removed
    /// while clones still needed it), if it is there.
    pub fn trashed_name(&self) -> Option<&str> {
        match &self.namespace {
            SnapshotNamespace::Trash { original_name, .. } => Some(original_name),
            _ => None,
        }
    }

    /// Whether it is protected.
    pub fn is_protected(&self) -> bool {
        self.protection == features::PROTECTION_PROTECTED
    }
}

/// What an image is, at the head or at the snapshot it was opened at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageMeta {
    /// Size in bytes (the snapshot's, when opened at one).
    pub size: u64,
    /// Object order.
    pub order: u8,
    /// Feature bits.
    pub features: u64,
    /// Incompatible features among them.
    pub incompatible: u64,
    /// Data objects' name prefix.
    pub object_prefix: String,
    /// Data pool id, or -1.
    pub data_pool_id: i64,
    /// The striping layout.
    pub layout: Layout,
    /// The snapshot context writes carry.
    pub snapc: SnapContext,
    /// The snapshots, oldest first.
    pub snaps: Vec<SnapInfo>,
    /// The parent, for a clone (at the opened snapshot).
    pub parent: Option<ParentInfo>,
    /// Operation features (clone parent/child, snapshot trash...).
    pub op_features: u64,
    /// Image flags (object map invalid...).
    pub flags: u64,
    /// When the image was made.
    pub create_timestamp: UTime,
}

/// Adds a class-method op to a compound op; `fail_ok` lets the others go
/// on when this one fails.
fn push<M: ClsMethod>(ops: &mut Vec<OsdOp>, m: &M, fail_ok: bool) {
    let mut op = OsdOp::call(M::CLASS, M::METHOD, &m.input());
    if fail_ok {
        op.flags |= OP_FLAG_FAILOK;
    }
    ops.push(op);
}

/// The output of op `i` of a compound reply, decoded; `None` when it
/// failed (and was allowed to).
fn output<M: ClsMethod>(r: &ceph_rados::objecter::OpReply, i: usize) -> Result<Option<M::Output>> {
    match r.ops.get(i) {
        Some(o) if o.rval >= 0 => M::decode_output(&o.outdata).map(Some),
        _ => Ok(None),
    }
}

/// The id of image `name`.
pub(crate) async fn id_of(io: &IoCtx, name: &str) -> Result<String> {
    match super::cls_call::call(io, &id_object(name), &GetId {}).await {
        Err(e) if e.errno() == Some(ENOENT) => {
            Err(Error::NotFound(format!("image {}/{name}", io.pool_name())))
        }
        other => other,
    }
}

impl ImageMeta {
    /// Reads the metadata of image `id` at `snap_id`.
    pub async fn load(io: &IoCtx, id: &str, snap_id: u64) -> Result<ImageMeta> {
        let header = header_object(id);
        let mut ops = Vec::new();
        push(&mut ops, &GetSize { snap_id: NOSNAP }, false);
        push(
            &mut ops,
            &GetFeatures {
                snap_id: NOSNAP,
                read_only: snap_id != NOSNAP,
            },
            false,
        );
        push(&mut ops, &GetObjectPrefix {}, false);
        push(&mut ops, &GetSnapContext {}, false);
        push(&mut ops, &GetStripeUnitCount {}, true);
        push(&mut ops, &GetDataPool {}, true);
        push(&mut ops, &ParentGet {}, true);
        push(&mut ops, &ParentOverlapGet { snap_id }, true);
        push(&mut ops, &OpFeaturesGet {}, true);
        push(&mut ops, &GetFlags { snap_id }, true);
        push(&mut ops, &GetCreateTimestamp {}, true);
        let r = io
            .operate_raw(&header, ops)
            .await
            .map_err(|e| Error::rados(format!("reading the header of image {id}"), e))?;
        if r.result == ENOENT {
            return Err(Error::NotFound(format!(
                "image id {id} in pool {}",
                io.pool_name()
            )));
        }
        if r.result < 0 {
            return Err(Error::Rados {
                context: format!("reading the header of image {id}"),
                errno: Some(r.result),
                message: Errno(r.result).to_string(),
            });
        }
        let missing = |what: &str| Error::Invalid {
            what: "image header",
            reason: format!("no {what} in the header of image {id}"),
        };
        let size = output::<GetSize>(&r, 0)?.ok_or_else(|| missing("size"))?;
        let feats = output::<GetFeatures>(&r, 1)?.ok_or_else(|| missing("features"))?;
        let object_prefix =
            output::<GetObjectPrefix>(&r, 2)?.ok_or_else(|| missing("object prefix"))?;
        let snapc = output::<GetSnapContext>(&r, 3)?.ok_or_else(|| missing("snapshot context"))?;
        let stripe = output::<GetStripeUnitCount>(&r, 4)?;
        let data_pool_id = output::<GetDataPool>(&r, 5)?.unwrap_or(-1);
        let parent_spec = output::<ParentGet>(&r, 6)?.filter(ParentImageSpec::exists);
        let overlap = output::<ParentOverlapGet>(&r, 7)?.flatten();
        let op_features = output::<OpFeaturesGet>(&r, 8)?.unwrap_or(0);
        let flags = output::<GetFlags>(&r, 9)?.unwrap_or(0);
        let create_timestamp = output::<GetCreateTimestamp>(&r, 10)?.unwrap_or_default();

        let layout = image_layout(id, size.order, stripe)?;

        let snaps = load_snaps(io, &header, &snapc).await?;
        let mut meta = ImageMeta {
            size: size.size,
            order: size.order,
            features: feats.features,
            incompatible: feats.incompatible,
            object_prefix,
            data_pool_id,
            layout,
            snapc,
            snaps,
            parent: parent_spec
                .zip(overlap)
                .map(|(spec, overlap)| ParentInfo { spec, overlap }),
            op_features,
            flags,
            create_timestamp,
        };
        if snap_id != NOSNAP {
            let snap =
                meta.snaps.iter().find(|s| s.id == snap_id).ok_or_else(|| {
                    Error::NotFound(format!("snapshot id {snap_id} of image {id}"))
                })?;
            meta.size = snap.size;
        }
        let unknown = feats.incompatible & !crate::features::ALL;
        if unknown != 0 {
            return Err(Error::Unsupported(format!(
                "image {id} needs features this client does not know: {:?}",
                crate::features::feature_names(unknown)
            )));
        }
        Ok(meta)
    }

    /// Whether the image has all of `mask`'s features.
    pub fn has(&self, mask: u64) -> bool {
        self.features & mask == mask
    }
}

/// The layout of image `id` from its header's order and striping (none,
/// or zeros: one object after the other, as librbd does). An order outside
/// librbd's 12..=25 (objects of 4 KiB to 32 MiB; librbd creates no other,
/// and buffers of one object are allocated from it) or a layout the
/// striper cannot compute with (see [`Layout::is_valid`]) is an error here,
/// at open.
pub(crate) fn image_layout(id: &str, order: u8, stripe: Option<StripeInfo>) -> Result<Layout> {
    if !(MIN_ORDER..=MAX_ORDER).contains(&order) {
        return Err(Error::Unsupported(format!(
            "image {id} has an unusable layout: objects of 2^{order} bytes \
             (librbd's orders are {MIN_ORDER}..={MAX_ORDER})"
        )));
    }
    let mut layout = Layout::simple(order);
    if let Some(s) = stripe.filter(|s| s.stripe_unit > 0 && s.stripe_count > 0) {
        layout.stripe_unit = s.stripe_unit;
        layout.stripe_count = s.stripe_count;
    }
    if !layout.is_valid() {
        return Err(Error::Unsupported(format!(
            "image {id} has an unusable layout: objects of {} bytes, stripe unit {}, count {}",
            layout.object_size, layout.stripe_unit, layout.stripe_count
        )));
    }
    Ok(layout)
}

/// Reads every snapshot's record and protection status in one op.
async fn load_snaps(io: &IoCtx, header: &str, snapc: &SnapContext) -> Result<Vec<SnapInfo>> {
    if snapc.snaps.is_empty() {
        return Ok(Vec::new());
    }
    let mut ops = Vec::new();
    for &snap_id in &snapc.snaps {
        push(&mut ops, &SnapshotGet { snap_id }, true);
        push(&mut ops, &GetProtectionStatus { snap_id }, true);
    }
    let r = io
        .operate_raw(header, ops)
        .await
        .map_err(|e| Error::rados("reading the snapshots", e))?;
    let mut snaps = Vec::new();
    for (i, _) in snapc.snaps.iter().enumerate() {
        // A snapshot removed meanwhile answers ENOENT: skip it.
        let Some(info) = output::<SnapshotGet>(&r, 2 * i)? else {
            continue;
        };
        let protection = output::<GetProtectionStatus>(&r, 2 * i + 1)?.unwrap_or(0);
        snaps.push(SnapInfo {
            id: info.id,
            name: info.name,
            namespace: info.snapshot_namespace,
            size: info.image_size,
            timestamp: info.timestamp,
            protection,
            child_count: info.child_count,
        });
    }
    snaps.sort_by_key(|s| s.id);
    Ok(snaps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn striped(unit: u64, count: u64) -> Option<StripeInfo> {
        Some(StripeInfo {
            stripe_unit: unit,
            stripe_count: count,
        })
    }

    #[test]
    fn a_header_whose_layout_overflows_is_refused_at_open() {
        // 4 MiB objects x 2^42 objects a stripe: 2^64 bytes a set, which
        // wraps to 0 (and object_count divided by it).
        for (order, stripe) in [
            (22, striped(1 << 22, 1 << 42)),
            (22, striped(1 << 16, u64::MAX)),
            (63, striped(1 << 63, 2)),
            // Objects of 2^40 bytes: a write allocates a buffer of one.
            (40, None),
            // Units of a byte: an object maps back to 2^22 pieces.
            (22, striped(1, 2)),
            (22, striped(2048, 4)),
            (26, None),
            (11, None),
            (64, None),
            (200, None),
        ] {
            let r = std::panic::catch_unwind(|| image_layout("abc", order, stripe));
            let text = match r {
                Ok(Err(e)) => e.to_string(),
                Ok(Ok(l)) => format!("accepted {l:?}"),
                Err(_) => "panicked".to_string(),
            };
            assert!(
                text.contains("image abc") && text.contains("layout"),
                "order {order} {stripe:?}: {text}"
            );
        }
        let ok = image_layout("abc", 22, striped(1 << 16, 16)).map(|l| l.object_count(1 << 30));
        assert_eq!(ok.ok(), Some(256));
        let plain = image_layout("abc", 22, striped(0, 0)).ok();
        assert_eq!(plain, Some(Layout::simple(22)));
    }
}
