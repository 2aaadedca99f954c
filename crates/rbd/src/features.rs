//! Image feature bits (`RBD_FEATURE_*`), operation features
//! (`RBD_OPERATION_FEATURE_*`), image flags and snapshot protection states.

/// Copy-on-write clones.
pub const LAYERING: u64 = 1 << 0;
/// Fancy striping (stripe unit and count other than the object size and 1).
pub const STRIPINGV2: u64 = 1 << 1;
/// One writer at a time, through the `rbd_lock` managed lock.
pub const EXCLUSIVE_LOCK: u64 = 1 << 2;
/// An object map tracks which data objects exist.
pub const OBJECT_MAP: u64 = 1 << 3;
/// The object map also tracks which objects changed since the last snapshot.
pub const FAST_DIFF: u64 = 1 << 4;
/// Snapshots of a clone survive its flattening.
pub const DEEP_FLATTEN: u64 = 1 << 5;
/// Writes are journaled (for mirroring).
pub const JOURNALING: u64 = 1 << 6;
/// Data objects live in a separate data pool.
pub const DATA_POOL: u64 = 1 << 7;
/// Some operations need clients that understand the header's op features.
pub const OPERATIONS: u64 = 1 << 8;
/// The image is being migrated.
pub const MIGRATING: u64 = 1 << 9;
/// The image is a mirroring non-primary.
pub const NON_PRIMARY: u64 = 1 << 10;
/// A persistent write-back cache holds data not yet in the image.
pub const DIRTY_CACHE: u64 = 1 << 11;

/// Every feature bit this crate knows, with librbd's names.
pub const FEATURE_NAMES: [(u64, &str); 12] = [
    (LAYERING, "layering"),
    (STRIPINGV2, "striping"),
    (EXCLUSIVE_LOCK, "exclusive-lock"),
    (OBJECT_MAP, "object-map"),
    (FAST_DIFF, "fast-diff"),
    (DEEP_FLATTEN, "deep-flatten"),
    (JOURNALING, "journaling"),
    (DATA_POOL, "data-pool"),
    (OPERATIONS, "operations"),
    (MIGRATING, "migrating"),
    (NON_PRIMARY, "non-primary"),
    (DIRTY_CACHE, "dirty-cache"),
];

/// All the feature bits this crate knows (`RBD_FEATURES_ALL` of Pacific,
/// what `get_all_features` answers).
pub const ALL: u64 = 0xfff;

/// Features a client must understand to read an image (librbd's
/// `RBD_FEATURES_INCOMPATIBLE`).
pub const INCOMPATIBLE: u64 = LAYERING | STRIPINGV2 | DATA_POOL | NON_PRIMARY;

/// Features a client must understand to write an image
/// (`RBD_FEATURES_RW_INCOMPATIBLE`).
pub const RW_INCOMPATIBLE: u64 = INCOMPATIBLE
    | EXCLUSIVE_LOCK
    | OBJECT_MAP
    | FAST_DIFF
    | DEEP_FLATTEN
    | JOURNALING
    | OPERATIONS
    | MIGRATING
    | DIRTY_CACHE;

/// The names of the bits set in `features`, in bit order; unknown bits are
/// named `unknown(0x...)`.
pub fn feature_names(features: u64) -> Vec<String> {
    let mut names: Vec<String> = FEATURE_NAMES
        .iter()
        .filter(|(bit, _)| features & bit != 0)
        .map(|(_, name)| (*name).to_string())
        .collect();
    let unknown = features & !ALL;
    if unknown != 0 {
        names.push(format!("unknown({unknown:#x})"));
    }
    names
}

/// The bits of `features` outside `supported`, by name: empty when a client
/// supporting `supported` may use the image. Pass the image's incompatible
/// features (from `get_features`) to check read access.
pub fn unsupported_features(features: u64, supported: u64) -> Vec<String> {
    feature_names(features & !supported)
}

/// Operation feature: the image is the parent of a clone v2 child.
pub const OP_FEATURE_CLONE_PARENT: u64 = 1 << 0;
/// Operation feature: the image is a clone v2 child.
pub const OP_FEATURE_CLONE_CHILD: u64 = 1 << 1;
/// Operation feature: the image belongs to a group.
pub const OP_FEATURE_GROUP: u64 = 1 << 2;
/// Operation feature: some snapshots sit in the trash namespace.
pub const OP_FEATURE_SNAP_TRASH: u64 = 1 << 3;
/// Every operation feature this crate knows.
pub const OP_FEATURES_ALL: u64 = 0xf;

/// Image flag: the object map is invalid and must be rebuilt.
pub const FLAG_OBJECT_MAP_INVALID: u64 = 1 << 0;
/// Image flag: the fast-diff state is invalid.
pub const FLAG_FAST_DIFF_INVALID: u64 = 1 << 1;

/// Snapshot protection status: unprotected (`RBD_PROTECTION_STATUS_UNPROTECTED`).
pub const PROTECTION_UNPROTECTED: u8 = 0;
/// Snapshot protection status: being unprotected.
pub const PROTECTION_UNPROTECTING: u8 = 1;
/// Snapshot protection status: protected.
pub const PROTECTION_PROTECTED: u8 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_unsupported() {
        assert_eq!(
            feature_names(61),
            [
                "layering",
                "exclusive-lock",
                "object-map",
                "fast-diff",
                "deep-flatten"
            ]
        );
        assert_eq!(feature_names(1 << 40), ["unknown(0x10000000000)"]);
        assert!(unsupported_features(LAYERING | DATA_POOL, INCOMPATIBLE).is_empty());
        assert_eq!(
            unsupported_features(JOURNALING | 1 << 20, LAYERING),
            ["journaling", "unknown(0x100000)"]
        );
        assert_eq!(FEATURE_NAMES.iter().fold(0, |a, (b, _)| a | b), ALL);
    }
}
