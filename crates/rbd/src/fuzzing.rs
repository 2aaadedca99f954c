//! Fuzz target bodies (see `fuzz/fuzz_targets/cls_rbd_reply.rs`).

use ceph_encoding::{Decode, Encode};

use crate::cls::{lock, rbd, ClsMethod};
use crate::notify::{NotifyMessage, NotifyReplies};
use crate::object_map::BitVector2;

/// Decodes with `M::decode_output`; whatever decodes must survive a
/// re-encode and decode unchanged.
fn output<M>(data: &[u8])
where
    M: ClsMethod,
    M::Output: Encode + Decode + PartialEq + std::fmt::Debug,
{
    if let Ok(value) = M::decode_output(data) {
        let again = M::Output::decode_exact(&value.to_bytes(u64::MAX));
        assert_eq!(
            again.as_ref().ok(),
            Some(&value),
            "{} re-encoding",
            M::METHOD
        );
    }
}

/// Decodes an input type (what an OSD would read) and checks that its
/// re-encoding decodes to the same value (not the same bytes: a flag byte of
/// 7 reads as `true` and is written back as 1).
fn input<T: Encode + Decode + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(value) = T::decode_exact(data) {
        let again = T::decode_exact(&value.to_bytes(u64::MAX));
        assert_eq!(again.as_ref().ok(), Some(&value), "input re-encoding");
    }
}

fn notify(data: &[u8]) {
    if let Ok(m) = NotifyMessage::from_bytes(data) {
        let again = NotifyMessage::from_bytes(&m.to_bytes(0));
        // Old versions fill defaults, which a re-encoding (version 7) keeps.
        assert_eq!(again.ok().map(|m| m.payload.op()), Some(m.payload.op()));
        let _ = m.to_string();
        let _ = m.payload.check_for_refresh();
    }
}

fn notify_replies(data: &[u8]) {
    if let Ok(r) = NotifyReplies::from_bytes(data) {
        let _ = r.responses();
        assert_eq!(NotifyReplies::decode_exact(&r.to_bytes(0)).ok(), Some(r));
    }
}

fn object_map(data: &[u8]) {
    if let Ok(map) = BitVector2::decode_exact(data) {
        let _ = map.verify();
        let n = map.iter().take(1 << 16).filter(|s| *s != 0).count();
        assert!(n as u64 <= map.len());
        let again = BitVector2::decode_exact(&map.to_bytes(0));
        assert_eq!(
            again.map(|m| m.data().to_vec()).ok(),
            Some(map.data().to_vec())
        );
    }
}

/// A named decoder body.
pub type Decoder = (&'static str, fn(&[u8]));

/// The decoders, by the first byte of a fuzz input (modulo their count).
pub const DECODERS: &[Decoder] = &[
    ("get_size", output::<rbd::GetSize>),
    ("get_features", output::<rbd::GetFeatures>),
    ("get_object_prefix", output::<rbd::GetObjectPrefix>),
    ("get_data_pool", output::<rbd::GetDataPool>),
    ("get_snapcontext", output::<rbd::GetSnapContext>),
    ("get_stripe_unit_count", output::<rbd::GetStripeUnitCount>),
    ("get_flags", output::<rbd::GetFlags>),
    ("get_create_timestamp", output::<rbd::GetCreateTimestamp>),
    ("op_features_get", output::<rbd::OpFeaturesGet>),
    ("get_parent", output::<rbd::GetParent>),
    ("parent_get", output::<rbd::ParentGet>),
    ("parent_overlap_get", output::<rbd::ParentOverlapGet>),
    ("snapshot_get", output::<rbd::SnapshotGet>),
    ("get_protection_status", output::<rbd::GetProtectionStatus>),
    ("get_snapshot_name", output::<rbd::GetSnapshotName>),
    (
        "get_snapshot_timestamp",
        output::<rbd::GetSnapshotTimestamp>,
    ),
    ("snapshot_get_limit", output::<rbd::SnapshotGetLimit>),
    ("get_children", output::<rbd::GetChildren>),
    ("children_list", output::<rbd::ChildrenList>),
    ("get_id", output::<rbd::GetId>),
    ("dir_get_id", output::<rbd::DirGetId>),
    ("dir_list", output::<rbd::DirList>),
    ("trash_list", output::<rbd::TrashList>),
    ("trash_get", output::<rbd::TrashGet>),
    ("metadata_list", output::<rbd::MetadataList>),
    ("metadata_get", output::<rbd::MetadataGet>),
    ("get_all_features", output::<rbd::GetAllFeatures>),
    ("object_map_load", object_map),
    ("lock.get_info", output::<lock::GetInfo>),
    ("lock.list_locks", output::<lock::ListLocks>),
    ("notify", notify),
    ("notify_replies", notify_replies),
    ("in.snapshot_add", input::<rbd::SnapshotAdd>),
    ("in.lock", input::<lock::Lock>),
    ("in.trash_add", input::<rbd::TrashAdd>),
    ("in.child_attach", input::<rbd::ChildAttach>),
    ("in.parent_attach", input::<rbd::ParentAttach>),
    ("in.object_map_update", input::<rbd::ObjectMapUpdate>),
];

/// The index in [`DECODERS`] of the decoder named `name`.
pub fn decoder_index(name: &str) -> Option<u8> {
    DECODERS
        .iter()
        .position(|(n, _)| *n == name)
        .and_then(|i| u8::try_from(i).ok())
}

/// The `cls_rbd_reply` fuzz target: feeds `data[1..]` to the decoder of
/// [`DECODERS`] that `data[0]` picks (modulo their count). Must not panic.
pub fn replies(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    if let Some((_, decode)) = DECODERS.get(usize::from(pick) % DECODERS.len()) {
        decode(rest);
    }
}

/// Reads little-endian integers off the front of a fuzz input (zeros once
/// it runs out).
struct Words<'a>(&'a [u8]);

impl Words<'_> {
    fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        let n = self.0.len().min(8);
        b[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        u64::from_le_bytes(b)
    }
}

/// The longest extent [`layout`] maps: the striper is asked about buffers
/// in memory (a read or a write of at most a few objects), and the pieces
/// it returns are proportional to their length.
const MAX_MAPPED: u64 = 1 << 22;

/// The `rbd_layout` fuzz target: an image header's order, stripe unit,
/// stripe count and size (`data` as little-endian words: order in the low
/// byte of the first, then unit, count, size, offset, length) go through
/// the layout check of `Image::open`; a layout it accepts is asked for its
/// object count, its copy chunk, the pieces of an extent and the image
/// extents of an object, which must be consistent. Must not panic.
pub fn layout(data: &[u8]) {
    let mut w = Words(data);
    let order = w.u64() as u8;
    let stripe = crate::cls::types::StripeInfo {
        stripe_unit: w.u64(),
        stripe_count: w.u64(),
    };
    let size = w.u64();
    let offset = w.u64();
    let length = w.u64() % (MAX_MAPPED + 1);
    let Ok(l) = crate::image::image_layout("fuzz", order, Some(stripe)) else {
        return;
    };
    assert!(l.is_valid());
    assert!(l.object_size <= 1 << crate::striper::MAX_ORDER);
    let chunk = l.io_chunk();
    assert!((crate::striper::MIN_IO_CHUNK..=crate::striper::MAX_IO_CHUNK).contains(&chunk));
    let objects = l.object_count(size);
    assert!(size == 0 || objects > 0);

    let pieces = l.extents(offset, length);
    let end = offset.saturating_add(length);
    assert_eq!(pieces.iter().map(|p| p.length).sum::<u64>(), end - offset);
    let mut at = offset;
    for p in &pieces {
        assert_eq!(p.image_offset, at);
        assert!(
            p.length > 0 && p.offset + p.length <= l.object_size,
            "{l:?} {p:?}"
        );
        at += p.length;
        if end <= size {
            assert!(p.object_no < objects, "{l:?} size {size}: {p:?}");
        }
    }
    if let Some(first) = pieces.first() {
        let back = l.object_image_extents(first.object_no);
        assert!(back.iter().all(|b| b.length <= l.object_size));
        assert!(
            back.iter().any(|b| b.image_offset <= first.image_offset
                && first.image_offset - b.image_offset < b.length
                && b.offset + (first.image_offset - b.image_offset) == first.offset),
            "{l:?}: {first:?} not in {back:?}"
        );
    }
}
