//! The incremental map (`OSDMap::Incremental::encode` / `decode`): the
//! changes from one epoch to the next.
//!
//! Layout (wrapper version 8): the client-usable part (versions 1 to 9),
//! the OSD-only part (versions 1 to 12), then `inc_crc` (over the whole
//! encoding but itself) and `full_crc` (the crc of the full map this
//! incremental produces). Fields absent from an older version keep the
//! "no change" value (`-1` for `new_flags`, `new_max_osd`,
//! `new_pool_max` and the ratios).

use std::collections::{BTreeMap, BTreeSet};

use ceph_encoding::bytes::Bytes;
use ceph_encoding::{Decode, DecodeError, EntityAddr, EntityAddrVec, Reader, UTime, Uuid};

use super::constants::{map_flags, release, NO_RELEASE_CHANGE};
use super::osd_info::OsdXInfo;
use super::pool::PgPool;
use super::types::{field, read_f32, within, PgId, SnapIntervalSet};
use super::wrapper::decode_wrapped;

/// Changes to stretch mode carried by an incremental (version 10 of the
/// OSD-only part).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StretchModeChange {
    /// Whether the fields below are to be applied.
    pub change: bool,
    /// New bucket count.
    pub bucket_count: u32,
    /// New degraded stretch mode.
    pub degraded: u32,
    /// New recovering stretch mode.
    pub recovering: u32,
    /// New stretch bucket type.
    pub mode_bucket: i32,
    /// Whether stretch mode is enabled.
    pub enabled: bool,
}

/// Ceph's `OSDMap::Incremental`.
#[derive(Debug, Clone, PartialEq)]
pub struct Incremental {
    /// Cluster fsid.
    pub fsid: Uuid,
    /// The epoch this incremental produces.
    pub epoch: u32,
    /// When that epoch was made.
    pub modified: UTime,
    /// New highest pool id (-1: unchanged).
    pub new_pool_max: i64,
    /// New map flags (-1: unchanged).
    pub new_flags: i32,
    /// A whole map replacing the current one (empty: none).
    pub fullmap: Bytes,
    /// A new CRUSH map, raw (empty: unchanged).
    pub crush: Bytes,
    /// New max_osd (-1: unchanged).
    pub new_max_osd: i32,
    /// New or changed pools.
    pub new_pools: BTreeMap<i64, PgPool>,
    /// New or changed pool names.
    pub new_pool_names: BTreeMap<i64, String>,
    /// Deleted pools.
    pub old_pools: BTreeSet<i64>,
    /// OSDs coming up, with their public addresses.
    pub new_up_client: BTreeMap<i32, EntityAddrVec>,
    /// OSD state bits to toggle (xor); 0 means "up" (mark down).
    pub new_state: BTreeMap<i32, u32>,
    /// New weights.
    pub new_weight: BTreeMap<i32, u32>,
    /// New pg_temp entries (empty: remove).
    pub new_pg_temp: BTreeMap<PgId, Vec<i32>>,
    /// New primary_temp entries (-1: remove).
    pub new_primary_temp: BTreeMap<PgId, i32>,
    /// New primary affinities.
    pub new_primary_affinity: BTreeMap<i32, u32>,
    /// New or changed erasure-code profiles.
    pub new_erasure_code_profiles: BTreeMap<String, BTreeMap<String, String>>,
    /// Deleted erasure-code profiles.
    pub old_erasure_code_profiles: Vec<String>,
    /// New pg_upmap entries.
    pub new_pg_upmap: BTreeMap<PgId, Vec<i32>>,
    /// Removed pg_upmap entries.
    pub old_pg_upmap: BTreeSet<PgId>,
    /// New pg_upmap_items entries.
    pub new_pg_upmap_items: BTreeMap<PgId, Vec<(i32, i32)>>,
    /// Removed pg_upmap_items entries.
    pub old_pg_upmap_items: BTreeSet<PgId>,
    /// Snapshots removed in this epoch, by pool.
    pub new_removed_snaps: BTreeMap<i64, SnapIntervalSet>,
    /// Snapshots purged in this epoch, by pool.
    pub new_purged_snaps: BTreeMap<i64, SnapIntervalSet>,
    /// New last-up-change time (zero: unchanged).
    pub new_last_up_change: UTime,
    /// New last-in-change time (zero: unchanged).
    pub new_last_in_change: UTime,
    /// New pg_upmap_primaries entries.
    pub new_pg_upmap_primary: BTreeMap<PgId, i32>,
    /// Removed pg_upmap_primaries entries.
    pub old_pg_upmap_primary: BTreeSet<PgId>,
    /// Heartbeat back addresses of OSDs coming up.
    pub new_hb_back_up: BTreeMap<i32, EntityAddrVec>,
    /// New up_thru epochs.
    pub new_up_thru: BTreeMap<i32, u32>,
    /// New last clean intervals.
    pub new_last_clean_interval: BTreeMap<i32, (u32, u32)>,
    /// OSDs declared lost, with the epoch.
    pub new_lost: BTreeMap<i32, u32>,
    /// New blocklist entries.
    pub new_blocklist: Vec<(EntityAddr, UTime)>,
    /// Removed blocklist entries.
    pub old_blocklist: Vec<EntityAddr>,
    /// Cluster addresses of OSDs coming up.
    pub new_up_cluster: BTreeMap<i32, EntityAddrVec>,
    /// Cluster snapshot name (empty: none).
    pub cluster_snapshot: String,
    /// New OSD uuids.
    pub new_uuid: BTreeMap<i32, Uuid>,
    /// New extended OSD information.
    pub new_xinfo: BTreeMap<i32, OsdXInfo>,
    /// Heartbeat front addresses of OSDs coming up.
    pub new_hb_front_up: BTreeMap<i32, EntityAddrVec>,
    /// The features the incremental was encoded with.
    pub encode_features: u64,
    /// New nearfull ratio (negative: unchanged).
    pub new_nearfull_ratio: f32,
    /// New full ratio (negative: unchanged).
    pub new_full_ratio: f32,
    /// New backfillfull ratio (negative: unchanged).
    pub new_backfillfull_ratio: f32,
    /// New oldest client release (0: unchanged).
    pub new_require_min_compat_client: u8,
    /// New oldest OSD release (`0xff`: unchanged).
    pub new_require_osd_release: u8,
    /// New CRUSH node flags (0: remove).
    pub new_crush_node_flags: BTreeMap<i32, u32>,
    /// New device class flags (0: remove).
    pub new_device_class_flags: BTreeMap<i32, u32>,
    /// Stretch mode changes.
    pub stretch: StretchModeChange,
    /// New range blocklist entries.
    pub new_range_blocklist: Vec<(EntityAddr, UTime)>,
    /// Removed range blocklist entries.
    pub old_range_blocklist: Vec<EntityAddr>,
    /// Change to allow_crimson: 0 none, 1 set, 2 clear.
    pub mutate_allow_crimson: u8,
    /// The crc32c of the incremental's own encoding (wrapper version 8).
    pub inc_crc: Option<u32>,
    /// The crc32c the resulting full map must have (wrapper version 8).
    pub full_crc: Option<u32>,
}

impl Default for Incremental {
    fn default() -> Self {
        Self {
            fsid: Uuid::NIL,
            epoch: 0,
            modified: UTime::default(),
            new_pool_max: -1,
            new_flags: -1,
            fullmap: Bytes::new(),
            crush: Bytes::new(),
            new_max_osd: -1,
            new_pools: BTreeMap::new(),
            new_pool_names: BTreeMap::new(),
            old_pools: BTreeSet::new(),
            new_up_client: BTreeMap::new(),
            new_state: BTreeMap::new(),
            new_weight: BTreeMap::new(),
            new_pg_temp: BTreeMap::new(),
            new_primary_temp: BTreeMap::new(),
            new_primary_affinity: BTreeMap::new(),
            new_erasure_code_profiles: BTreeMap::new(),
            old_erasure_code_profiles: Vec::new(),
            new_pg_upmap: BTreeMap::new(),
            old_pg_upmap: BTreeSet::new(),
            new_pg_upmap_items: BTreeMap::new(),
            old_pg_upmap_items: BTreeSet::new(),
            new_removed_snaps: BTreeMap::new(),
            new_purged_snaps: BTreeMap::new(),
            new_last_up_change: UTime::default(),
            new_last_in_change: UTime::default(),
            new_pg_upmap_primary: BTreeMap::new(),
            old_pg_upmap_primary: BTreeSet::new(),
            new_hb_back_up: BTreeMap::new(),
            new_up_thru: BTreeMap::new(),
            new_last_clean_interval: BTreeMap::new(),
            new_lost: BTreeMap::new(),
            new_blocklist: Vec::new(),
            old_blocklist: Vec::new(),
            new_up_cluster: BTreeMap::new(),
            cluster_snapshot: String::new(),
            new_uuid: BTreeMap::new(),
            new_xinfo: BTreeMap::new(),
            new_hb_front_up: BTreeMap::new(),
            encode_features: 0,
            new_nearfull_ratio: -1.0,
            new_full_ratio: -1.0,
            new_backfillfull_ratio: -1.0,
            new_require_min_compat_client: release::UNKNOWN,
            new_require_osd_release: NO_RELEASE_CHANGE,
            new_crush_node_flags: BTreeMap::new(),
            new_device_class_flags: BTreeMap::new(),
            stretch: StretchModeChange::default(),
            new_range_blocklist: Vec::new(),
            old_range_blocklist: Vec::new(),
            mutate_allow_crimson: 0,
            inc_crc: None,
            full_crc: None,
        }
    }
}

impl Decode for Incremental {
    const MIN_ENCODED_SIZE: usize = 6;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Self::decode_from(reader, true)
    }
}

const C: &str = "Incremental(client)";
const O: &str = "Incremental(osd)";

impl Incremental {
    /// An empty incremental producing `epoch` of the cluster `fsid`.
    pub fn new(fsid: Uuid, epoch: u32) -> Self {
        Self {
            fsid,
            epoch,
            ..Self::default()
        }
    }

    /// Decodes an incremental that fills `data`, checking its crc.
    pub fn from_bytes(data: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_exact(data)
    }

    /// Decodes an incremental from `reader`; `verify_crc: false` skips the
    /// check of `inc_crc` (for tests and fuzzing; Ceph always checks).
    pub fn decode_from(reader: &mut Reader<'_>, verify_crc: bool) -> Result<Self, DecodeError> {
        let wrapped = decode_wrapped(reader, "OSDMap::Incremental", verify_crc, |r, v| {
            let mut inc = Incremental::default();
            r.versioned(C, 9, |r, cv| inc.decode_client(r, cv))?;
            r.versioned(O, 12, |r, ov| inc.decode_osd(r, ov))?;
            let crc = if v >= 8 {
                let at = r.offset();
                let inc_crc: u32 = field(r, "Incremental", "inc_crc")?;
                inc.full_crc = Some(field(r, "Incremental", "full_crc")?);
                Some((at, inc_crc))
            } else {
                None
            };
            Ok((inc, crc))
        })?;
        let mut inc = wrapped.value;
        inc.inc_crc = wrapped.crc_at.map(|_| wrapped.crc);
        Ok(inc)
    }

    fn decode_client(&mut self, r: &mut Reader<'_>, v: u8) -> Result<(), DecodeError> {
        self.fsid = field(r, C, "fsid")?;
        self.epoch = field(r, C, "epoch")?;
        self.modified = field(r, C, "modified")?;
        self.new_pool_max = field(r, C, "new_pool_max")?;
        self.new_flags = field(r, C, "new_flags")?;
        self.fullmap = field(r, C, "fullmap")?;
        self.crush = field(r, C, "crush")?;
        self.new_max_osd = field(r, C, "new_max_osd")?;
        self.new_pools = field(r, C, "new_pools")?;
        self.new_pool_names = field(r, C, "new_pool_names")?;
        self.old_pools = field(r, C, "old_pools")?;
        self.new_up_client = field(r, C, "new_up_client")?;
        self.new_state = if v >= 5 {
            field(r, C, "new_state")?
        } else {
            field::<BTreeMap<i32, u8>>(r, C, "new_state")?
                .into_iter()
                .map(|(k, s)| (k, u32::from(s)))
                .collect()
        };
        self.new_weight = field(r, C, "new_weight")?;
        self.new_pg_temp = field(r, C, "new_pg_temp")?;
        self.new_primary_temp = field(r, C, "new_primary_temp")?;
        if v >= 2 {
            self.new_primary_affinity = field(r, C, "new_primary_affinity")?;
        }
        if v >= 3 {
            self.new_erasure_code_profiles = field(r, C, "new_erasure_code_profiles")?;
            self.old_erasure_code_profiles = field(r, C, "old_erasure_code_profiles")?;
        }
        if v >= 4 {
            self.new_pg_upmap = field(r, C, "new_pg_upmap")?;
            self.old_pg_upmap = field(r, C, "old_pg_upmap")?;
            self.new_pg_upmap_items = field(r, C, "new_pg_upmap_items")?;
            self.old_pg_upmap_items = field(r, C, "old_pg_upmap_items")?;
        }
        if v >= 6 {
            self.new_removed_snaps = field(r, C, "new_removed_snaps")?;
            self.new_purged_snaps = field(r, C, "new_purged_snaps")?;
        }
        if v >= 8 {
            self.new_last_up_change = field(r, C, "new_last_up_change")?;
            self.new_last_in_change = field(r, C, "new_last_in_change")?;
        }
        if v >= 9 {
            self.new_pg_upmap_primary = field(r, C, "new_pg_upmap_primary")?;
            self.old_pg_upmap_primary = field(r, C, "old_pg_upmap_primary")?;
        }
        Ok(())
    }

    fn decode_osd(&mut self, r: &mut Reader<'_>, v: u8) -> Result<(), DecodeError> {
        self.new_hb_back_up = field(r, O, "new_hb_back_up")?;
        self.new_up_thru = field(r, O, "new_up_thru")?;
        self.new_last_clean_interval = field(r, O, "new_last_clean_interval")?;
        self.new_lost = field(r, O, "new_lost")?;
        self.new_blocklist = field(r, O, "new_blocklist")?;
        self.old_blocklist = field(r, O, "old_blocklist")?;
        self.new_up_cluster = field(r, O, "new_up_cluster")?;
        self.cluster_snapshot = field(r, O, "cluster_snapshot")?;
        self.new_uuid = field(r, O, "new_uuid")?;
        self.new_xinfo = field(r, O, "new_xinfo")?;
        self.new_hb_front_up = field(r, O, "new_hb_front_up")?;
        self.encode_features = if v >= 2 {
            field(r, O, "encode_features")?
        } else {
            // CEPH_FEATURE_PGID64 | CEPH_FEATURE_OSDMAP_ENC
            (1 << 9) | (1 << 24)
        };
        if v >= 3 {
            self.new_nearfull_ratio = within(read_f32(r), O, "new_nearfull_ratio")?;
            self.new_full_ratio = within(read_f32(r), O, "new_full_ratio")?;
        }
        if v >= 4 {
            self.new_backfillfull_ratio = within(read_f32(r), O, "new_backfillfull_ratio")?;
        }
        if v == 5 {
            let _name: String = field(r, O, "new_require_min_compat_client")?;
        }
        if v >= 6 {
            self.new_require_min_compat_client = field(r, O, "new_require_min_compat_client")?;
            self.new_require_osd_release = field(r, O, "new_require_osd_release")?;
        } else if self.new_flags >= 0 {
            // Before version 6 the release travelled as legacy flags.
            let flags = self.new_flags as u32;
            self.new_require_osd_release = if flags & map_flags::REQUIRE_LUMINOUS != 0 {
                self.new_flags = (flags & !map_flags::LEGACY_REQUIRE_FLAGS) as i32;
                release::LUMINOUS
            } else if flags & map_flags::REQUIRE_KRAKEN != 0 {
                release::KRAKEN
            } else if flags & map_flags::REQUIRE_JEWEL != 0 {
                release::JEWEL
            } else {
                release::UNKNOWN
            };
        }
        if v >= 8 {
            self.new_crush_node_flags = field(r, O, "new_crush_node_flags")?;
        }
        if v >= 9 {
            self.new_device_class_flags = field(r, O, "new_device_class_flags")?;
        }
        if v >= 10 {
            self.stretch = StretchModeChange {
                change: field(r, O, "change_stretch_mode")?,
                bucket_count: field(r, O, "new_stretch_bucket_count")?,
                degraded: field(r, O, "new_degraded_stretch_mode")?,
                recovering: field(r, O, "new_recovering_stretch_mode")?,
                mode_bucket: field(r, O, "new_stretch_mode_bucket")?,
                enabled: field(r, O, "stretch_mode_enabled")?,
            };
        }
        if v >= 11 {
            self.new_range_blocklist = field(r, O, "new_range_blocklist")?;
            self.old_range_blocklist = field(r, O, "old_range_blocklist")?;
        }
        if v >= 12 {
            self.mutate_allow_crimson = field(r, O, "mutate_allow_crimson")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_is_refused_without_panic() {
        assert!(Incremental::from_bytes(&[]).is_err());
        assert!(Incremental::from_bytes(&[5, 0, 1, 2]).is_err());
        for len in 0..80 {
            let data: Vec<u8> = (0..len).map(|i| (i * 53 + 11) as u8).collect();
            let _ = Incremental::from_bytes(&data);
            let _ = Incremental::decode_from(&mut Reader::new(&data), false);
        }
    }
}
