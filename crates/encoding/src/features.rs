//! Feature bits (`CEPH_FEATURE_*`) and their incarnation masks
//! (`CEPH_FEATUREMASK_*`), and `mon_feature_t`.
//!
//! Each feature has a bit, and the bit alone is `CEPH_FEATURE_<NAME>`. Since
//! Jewel, Ceph reuses the bits of retired features: a reused bit belongs to
//! an *incarnation*, marked by also setting bits that every peer of that
//! incarnation has (incarnation 2: bit 57, `SERVER_JEWEL`; incarnation 3:
//! bits 57 and 28, `SERVER_MIMIC`). A peer has a feature when it has all the
//! bits of `CEPH_FEATUREMASK_<NAME>` — test with [`has_feature`], never with
//! the bare bit, or an old peer that set the bit for the retired feature is
//! taken for a new one.
//!
//! Retired features whose bits were not reused are left out.

/// Incarnation 1: the original meaning of a bit (no extra bits).
pub const CEPH_FEATURE_INCARNATION_1: u64 = 0;
/// Incarnation 2: bits reused after Jewel (`SERVER_JEWEL`, bit 57).
pub const CEPH_FEATURE_INCARNATION_2: u64 = 1 << 57;
/// Incarnation 3: bits reused after Mimic (`SERVER_JEWEL` and `SERVER_MIMIC`, bits 57 and 28).
pub const CEPH_FEATURE_INCARNATION_3: u64 = (1 << 57) | (1 << 28);

/// Whether `features` include everything in `mask` (Ceph's `HAVE_FEATURE`
/// when given a `CEPH_FEATUREMASK_*`).
pub const fn has_feature(features: u64, mask: u64) -> bool {
    features & mask == mask
}

macro_rules! features {
    ($( $bit:literal, $inc:literal, $name:ident, $mask:ident; )*) => {
        $(
            #[doc = concat!("Bit ", stringify!($bit), " alone (`", stringify!($name),
                "`); test peers with [`", stringify!($mask), "`].")]
            pub const $name: u64 = 1 << $bit;
            #[doc = concat!("`", stringify!($name), "`'s bit with its incarnation (",
                stringify!($inc), ") bits: what a peer must have for this feature.")]
            pub const $mask: u64 = (1 << $bit) | incarnation($inc);
        )*

        /// Every feature above: name, bit, and mask.
        pub const KNOWN_FEATURES: &[(&str, u32, u64)] = &[
            $( (stringify!($name), $bit, $mask), )*
        ];
    };
}

const fn incarnation(n: u32) -> u64 {
    match n {
        2 => CEPH_FEATURE_INCARNATION_2,
        3 => CEPH_FEATURE_INCARNATION_3,
        _ => CEPH_FEATURE_INCARNATION_1,
    }
}

features! {
    0, 1, CEPH_FEATURE_UID, CEPH_FEATUREMASK_UID;
    1, 1, CEPH_FEATURE_NOSRCADDR, CEPH_FEATUREMASK_NOSRCADDR;
    2, 3, CEPH_FEATURE_SERVER_NAUTILUS, CEPH_FEATUREMASK_SERVER_NAUTILUS;
    3, 1, CEPH_FEATURE_FLOCK, CEPH_FEATUREMASK_FLOCK;
    4, 1, CEPH_FEATURE_SUBSCRIBE2, CEPH_FEATUREMASK_SUBSCRIBE2;
    5, 1, CEPH_FEATURE_MONNAMES, CEPH_FEATUREMASK_MONNAMES;
    6, 1, CEPH_FEATURE_RECONNECT_SEQ, CEPH_FEATUREMASK_RECONNECT_SEQ;
    7, 1, CEPH_FEATURE_DIRLAYOUTHASH, CEPH_FEATUREMASK_DIRLAYOUTHASH;
    8, 1, CEPH_FEATURE_OBJECTLOCATOR, CEPH_FEATUREMASK_OBJECTLOCATOR;
    9, 1, CEPH_FEATURE_PGID64, CEPH_FEATUREMASK_PGID64;
    10, 1, CEPH_FEATURE_INCSUBOSDMAP, CEPH_FEATUREMASK_INCSUBOSDMAP;
    11, 1, CEPH_FEATURE_PGPOOL3, CEPH_FEATUREMASK_PGPOOL3;
    12, 1, CEPH_FEATURE_OSDREPLYMUX, CEPH_FEATUREMASK_OSDREPLYMUX;
    13, 1, CEPH_FEATURE_OSDENC, CEPH_FEATUREMASK_OSDENC;
    14, 2, CEPH_FEATURE_SERVER_KRAKEN, CEPH_FEATUREMASK_SERVER_KRAKEN;
    15, 1, CEPH_FEATURE_MONENC, CEPH_FEATUREMASK_MONENC;
    16, 3, CEPH_FEATURE_SERVER_OCTOPUS, CEPH_FEATUREMASK_SERVER_OCTOPUS;
    16, 3, CEPH_FEATURE_OSD_REPOP_MLCOD, CEPH_FEATUREMASK_OSD_REPOP_MLCOD;
    17, 3, CEPH_FEATURE_OS_PERF_STAT_NS, CEPH_FEATUREMASK_OS_PERF_STAT_NS;
    18, 1, CEPH_FEATURE_CRUSH_TUNABLES, CEPH_FEATUREMASK_CRUSH_TUNABLES;
    19, 2, CEPH_FEATURE_OSD_PGLOG_HARDLIMIT, CEPH_FEATUREMASK_OSD_PGLOG_HARDLIMIT;
    20, 3, CEPH_FEATURE_SERVER_PACIFIC, CEPH_FEATUREMASK_SERVER_PACIFIC;
    21, 2, CEPH_FEATURE_SERVER_LUMINOUS, CEPH_FEATUREMASK_SERVER_LUMINOUS;
    21, 2, CEPH_FEATURE_RESEND_ON_SPLIT, CEPH_FEATUREMASK_RESEND_ON_SPLIT;
    21, 2, CEPH_FEATURE_RADOS_BACKOFF, CEPH_FEATUREMASK_RADOS_BACKOFF;
    21, 2, CEPH_FEATURE_OSDMAP_PG_UPMAP, CEPH_FEATUREMASK_OSDMAP_PG_UPMAP;
    21, 2, CEPH_FEATURE_CRUSH_CHOOSE_ARGS, CEPH_FEATUREMASK_CRUSH_CHOOSE_ARGS;
    22, 2, CEPH_FEATURE_OSD_FIXED_COLLECTION_LIST, CEPH_FEATUREMASK_OSD_FIXED_COLLECTION_LIST;
    23, 1, CEPH_FEATURE_MSG_AUTH, CEPH_FEATUREMASK_MSG_AUTH;
    24, 2, CEPH_FEATURE_RECOVERY_RESERVATION_2, CEPH_FEATUREMASK_RECOVERY_RESERVATION_2;
    25, 1, CEPH_FEATURE_CRUSH_TUNABLES2, CEPH_FEATUREMASK_CRUSH_TUNABLES2;
    26, 1, CEPH_FEATURE_CREATEPOOLID, CEPH_FEATUREMASK_CREATEPOOLID;
    27, 1, CEPH_FEATURE_REPLY_CREATE_INODE, CEPH_FEATUREMASK_REPLY_CREATE_INODE;
    28, 2, CEPH_FEATURE_SERVER_MIMIC, CEPH_FEATUREMASK_SERVER_MIMIC;
    29, 1, CEPH_FEATURE_MDSENC, CEPH_FEATUREMASK_MDSENC;
    30, 1, CEPH_FEATURE_OSDHASHPSPOOL, CEPH_FEATUREMASK_OSDHASHPSPOOL;
    31, 3, CEPH_FEATURE_SERVER_REEF, CEPH_FEATUREMASK_SERVER_REEF;
    32, 3, CEPH_FEATURE_STRETCH_MODE, CEPH_FEATUREMASK_STRETCH_MODE;
    33, 3, CEPH_FEATURE_SERVER_QUINCY, CEPH_FEATUREMASK_SERVER_QUINCY;
    34, 3, CEPH_FEATURE_RANGE_BLOCKLIST, CEPH_FEATUREMASK_RANGE_BLOCKLIST;
    35, 1, CEPH_FEATURE_OSD_CACHEPOOL, CEPH_FEATUREMASK_OSD_CACHEPOOL;
    36, 1, CEPH_FEATURE_CRUSH_V2, CEPH_FEATUREMASK_CRUSH_V2;
    37, 1, CEPH_FEATURE_EXPORT_PEER, CEPH_FEATUREMASK_EXPORT_PEER;
    39, 1, CEPH_FEATURE_OSDMAP_ENC, CEPH_FEATUREMASK_OSDMAP_ENC;
    40, 1, CEPH_FEATURE_MDS_INLINE_DATA, CEPH_FEATUREMASK_MDS_INLINE_DATA;
    41, 1, CEPH_FEATURE_CRUSH_TUNABLES3, CEPH_FEATUREMASK_CRUSH_TUNABLES3;
    41, 1, CEPH_FEATURE_OSD_PRIMARY_AFFINITY, CEPH_FEATUREMASK_OSD_PRIMARY_AFFINITY;
    42, 1, CEPH_FEATURE_MSGR_KEEPALIVE2, CEPH_FEATUREMASK_MSGR_KEEPALIVE2;
    43, 1, CEPH_FEATURE_OSD_POOLRESEND, CEPH_FEATUREMASK_OSD_POOLRESEND;
    46, 1, CEPH_FEATURE_OSD_FADVISE_FLAGS, CEPH_FEATUREMASK_OSD_FADVISE_FLAGS;
    47, 1, CEPH_FEATURE_MDS_QUOTA, CEPH_FEATUREMASK_MDS_QUOTA;
    48, 1, CEPH_FEATURE_CRUSH_V4, CEPH_FEATUREMASK_CRUSH_V4;
    49, 2, CEPH_FEATURE_SERVER_SQUID, CEPH_FEATUREMASK_SERVER_SQUID;
    50, 2, CEPH_FEATURE_SERVER_TENTACLE, CEPH_FEATUREMASK_SERVER_TENTACLE;
    56, 1, CEPH_FEATURE_NEW_OSDOP_ENCODING, CEPH_FEATUREMASK_NEW_OSDOP_ENCODING;
    57, 1, CEPH_FEATURE_MON_STATEFUL_SUB, CEPH_FEATUREMASK_MON_STATEFUL_SUB;
    57, 1, CEPH_FEATURE_SERVER_JEWEL, CEPH_FEATUREMASK_SERVER_JEWEL;
    58, 1, CEPH_FEATURE_CRUSH_TUNABLES5, CEPH_FEATUREMASK_CRUSH_TUNABLES5;
    58, 1, CEPH_FEATURE_NEW_OSDOPREPLY_ENCODING, CEPH_FEATUREMASK_NEW_OSDOPREPLY_ENCODING;
    58, 1, CEPH_FEATURE_FS_FILE_LAYOUT_V2, CEPH_FEATUREMASK_FS_FILE_LAYOUT_V2;
    59, 1, CEPH_FEATURE_FS_BTIME, CEPH_FEATUREMASK_FS_BTIME;
    59, 1, CEPH_FEATURE_FS_CHANGE_ATTR, CEPH_FEATUREMASK_FS_CHANGE_ATTR;
    59, 1, CEPH_FEATURE_MSG_ADDR2, CEPH_FEATUREMASK_MSG_ADDR2;
    60, 1, CEPH_FEATURE_OSD_RECOVERY_DELETES, CEPH_FEATUREMASK_OSD_RECOVERY_DELETES;
    61, 1, CEPH_FEATURE_CEPHX_V2, CEPH_FEATUREMASK_CEPHX_V2;
}

/// Bit 62: never set (kept by Ceph as a sentinel).
pub const CEPH_FEATURE_RESERVED: u64 = 1 << 62;

/// Bit 63: set by some very old peers to mean "everything through bit 32"
/// (see [`sanitize_features`]).
pub const CEPH_FEATURE_RESERVED_BROKEN: u64 = 1 << 63;

/// Translates the broken feature word of very old peers (bit 63 set) into
/// what it meant, as Ceph's `ceph_sanitize_features` does.
pub const fn sanitize_features(features: u64) -> u64 {
    if features & CEPH_FEATURE_RESERVED_BROKEN != 0 {
        0x1_ffff_ffff
    } else {
        features
    }
}

/// The features a Ceph 16.2 (Pacific) client advertises: `0x3f01cfbdfffdffff`,
/// as `ceph features` reports for 16.2.15's own tools.
///
/// Bit 31 is part of it: in that release it is set although Pacific names no
/// feature for it; later releases call it [`CEPH_FEATURE_SERVER_REEF`]
/// (incarnation 3), so together with bits 57 and 28 a Reef monitor will take
/// a peer advertising this set for one that has `SERVER_REEF`, exactly as it
/// does for Pacific's own clients.
pub const CEPH_FEATURES_PACIFIC_CLIENT: u64 = CEPH_FEATURE_UID
    | CEPH_FEATURE_NOSRCADDR
    | CEPH_FEATUREMASK_SERVER_NAUTILUS
    | CEPH_FEATURE_FLOCK
    | CEPH_FEATURE_SUBSCRIBE2
    | CEPH_FEATURE_MONNAMES
    | CEPH_FEATURE_RECONNECT_SEQ
    | CEPH_FEATURE_DIRLAYOUTHASH
    | CEPH_FEATURE_OBJECTLOCATOR
    | CEPH_FEATURE_PGID64
    | CEPH_FEATURE_INCSUBOSDMAP
    | CEPH_FEATURE_PGPOOL3
    | CEPH_FEATURE_OSDREPLYMUX
    | CEPH_FEATURE_OSDENC
    | CEPH_FEATUREMASK_SERVER_KRAKEN
    | CEPH_FEATURE_MONENC
    | CEPH_FEATUREMASK_SERVER_OCTOPUS
    | CEPH_FEATUREMASK_OSD_REPOP_MLCOD
    | CEPH_FEATURE_CRUSH_TUNABLES
    | CEPH_FEATUREMASK_OSD_PGLOG_HARDLIMIT
    | CEPH_FEATUREMASK_SERVER_PACIFIC
    | CEPH_FEATUREMASK_SERVER_LUMINOUS
    | CEPH_FEATUREMASK_RESEND_ON_SPLIT
    | CEPH_FEATUREMASK_RADOS_BACKOFF
    | CEPH_FEATUREMASK_OSDMAP_PG_UPMAP
    | CEPH_FEATUREMASK_CRUSH_CHOOSE_ARGS
    | CEPH_FEATUREMASK_OSD_FIXED_COLLECTION_LIST
    | CEPH_FEATURE_MSG_AUTH
    | CEPH_FEATUREMASK_RECOVERY_RESERVATION_2
    | CEPH_FEATURE_CRUSH_TUNABLES2
    | CEPH_FEATURE_CREATEPOOLID
    | CEPH_FEATURE_REPLY_CREATE_INODE
    | CEPH_FEATUREMASK_SERVER_MIMIC
    | CEPH_FEATURE_MDSENC
    | CEPH_FEATURE_OSDHASHPSPOOL
    | CEPH_FEATURE_SERVER_REEF
    | CEPH_FEATUREMASK_STRETCH_MODE
    | CEPH_FEATUREMASK_RANGE_BLOCKLIST
    | CEPH_FEATURE_OSD_CACHEPOOL
    | CEPH_FEATURE_CRUSH_V2
    | CEPH_FEATURE_EXPORT_PEER
    | CEPH_FEATURE_OSDMAP_ENC
    | CEPH_FEATURE_MDS_INLINE_DATA
    | CEPH_FEATURE_CRUSH_TUNABLES3
    | CEPH_FEATURE_OSD_PRIMARY_AFFINITY
    | CEPH_FEATURE_MSGR_KEEPALIVE2
    | CEPH_FEATURE_OSD_POOLRESEND
    | CEPH_FEATURE_OSD_FADVISE_FLAGS
    | CEPH_FEATURE_MDS_QUOTA
    | CEPH_FEATURE_CRUSH_V4
    | CEPH_FEATURE_NEW_OSDOP_ENCODING
    | CEPH_FEATURE_MON_STATEFUL_SUB
    | CEPH_FEATURE_SERVER_JEWEL
    | CEPH_FEATURE_CRUSH_TUNABLES5
    | CEPH_FEATURE_NEW_OSDOPREPLY_ENCODING
    | CEPH_FEATURE_FS_FILE_LAYOUT_V2
    | CEPH_FEATURE_FS_BTIME
    | CEPH_FEATURE_FS_CHANGE_ATTR
    | CEPH_FEATURE_MSG_ADDR2
    | CEPH_FEATURE_OSD_RECOVERY_DELETES
    | CEPH_FEATURE_CEPHX_V2;

/// What this client advertises by default: the Pacific client's set
/// ([`CEPH_FEATURES_PACIFIC_CLIENT`]).
pub const CEPH_FEATURES_SUPPORTED_DEFAULT: u64 = CEPH_FEATURES_PACIFIC_CLIENT;

/// Every bit of every feature listed here: the features to encode with when
/// the newest encodings are wanted (as Ceph's corpus and `ceph-dencoder` do).
pub const CEPH_FEATURES_ALL: u64 = all_known();

const fn all_known() -> u64 {
    let mut all = 0;
    let mut i = 0;
    while i < KNOWN_FEATURES.len() {
        all |= KNOWN_FEATURES[i].2;
        i += 1;
    }
    all
}

/// The CRUSH-related features (`CEPH_FEATURES_CRUSH`).
pub const CEPH_FEATURES_CRUSH: u64 = CEPH_FEATURE_CRUSH_TUNABLES
    | CEPH_FEATURE_CRUSH_TUNABLES2
    | CEPH_FEATURE_CRUSH_TUNABLES3
    | CEPH_FEATURE_CRUSH_TUNABLES5
    | CEPH_FEATURE_CRUSH_V2
    | CEPH_FEATURE_CRUSH_V4
    | CEPH_FEATUREMASK_CRUSH_CHOOSE_ARGS;

/// The names of the known features whose masks `features` fully contains.
pub fn feature_names(features: u64) -> impl Iterator<Item = &'static str> {
    KNOWN_FEATURES
        .iter()
        .filter(move |(_, _, mask)| has_feature(features, *mask))
        .map(|(name, _, _)| name.trim_start_matches("CEPH_FEATURE_"))
}

crate::ceph_struct! {
    /// Ceph's `mon_feature_t`: the monitor cluster's own feature bits (kept
    /// in the MonMap; unrelated to the connection feature bits above).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
    pub struct MonFeature : version 1, compat 1 {
        /// The feature bits.
        pub features: u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decode, Encode};
    use proptest::prelude::*;

    #[test]
    fn pacific_client_set_matches_measurement() {
        // `ceph features` on the test bed (Ceph 16.2.15), client section.
        assert_eq!(CEPH_FEATURES_PACIFIC_CLIENT, 0x3f01_cfbd_fffd_ffff);
        assert_eq!(
            CEPH_FEATURES_PACIFIC_CLIENT & CEPH_FEATURES_ALL,
            CEPH_FEATURES_PACIFIC_CLIENT
        );
    }

    #[test]
    fn incarnations() {
        assert_eq!(
            CEPH_FEATUREMASK_SERVER_NAUTILUS,
            (1 << 2) | (1 << 57) | (1 << 28)
        );
        assert_eq!(CEPH_FEATUREMASK_SERVER_LUMINOUS, (1 << 21) | (1 << 57));
        assert_eq!(CEPH_FEATUREMASK_MSG_ADDR2, 1 << 59);
        // An old peer with bit 2 (the retired MONCLOCKCHECK) is not Nautilus.
        assert!(!has_feature(1 << 2, CEPH_FEATUREMASK_SERVER_NAUTILUS));
        assert!(has_feature(
            CEPH_FEATURES_PACIFIC_CLIENT,
            CEPH_FEATUREMASK_SERVER_PACIFIC
        ));
        assert!(!has_feature(
            CEPH_FEATURES_PACIFIC_CLIENT,
            CEPH_FEATUREMASK_SERVER_QUINCY
        ));
        assert!(has_feature(
            CEPH_FEATURES_PACIFIC_CLIENT,
            CEPH_FEATUREMASK_CEPHX_V2
        ));
        assert_eq!(
            CEPH_FEATURES_ALL & (CEPH_FEATURE_RESERVED | CEPH_FEATURE_RESERVED_BROKEN),
            0
        );
        assert_eq!(sanitize_features(1 << 63), 0x1_ffff_ffff);
        assert_eq!(sanitize_features(5), 5);
        let names: Vec<_> = feature_names(CEPH_FEATUREMASK_SERVER_NAUTILUS).collect();
        assert!(names.contains(&"SERVER_NAUTILUS"));
        assert!(names.contains(&"SERVER_JEWEL"));
        assert!(!names.contains(&"SERVER_LUMINOUS"));
    }

    #[test]
    fn mon_feature_layout() {
        let f = MonFeature { features: 0xff };
        assert_eq!(
            &f.to_bytes(0)[..],
            &[1, 1, 8, 0, 0, 0, 0xff, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    proptest! {
        #[test]
        fn mon_feature_round_trip(features: u64) {
            let f = MonFeature { features };
            prop_assert_eq!(MonFeature::decode_exact(&f.to_bytes(0)), Ok(f));
        }
    }
}
