//! The full map (`OSDMap::encode` / `OSDMap::decode`).
//!
//! Layout (wrapper version 8, see [`wrapper`](super::wrapper)):
//!
//! * client-usable part (versions 1 to 10): fsid, epoch, created, modified,
//!   pools, pool names, pool_max, flags, max_osd, OSD states, weights and
//!   client addresses, pg_temp, primary_temp, primary affinity (2+), the
//!   CRUSH map (kept raw), erasure-code profiles (3+), pg_upmap and
//!   pg_upmap_items (4+), crush_version (6+), new removed/purged snaps
//!   (7+), last up/in change (9+), pg_upmap_primaries (10+);
//! * OSD-only part (versions 1 to 12): heartbeat and cluster addresses,
//!   osd_info, blocklist, cluster snapshot, OSD uuids, osd_xinfo, full
//!   ratios (2+, 3+), required releases (5+, a string in 4), removed snaps
//!   queue (6+), CRUSH node and device-class flags (8+, 9+), stretch mode
//!   (10+), range blocklist (11+), allow_crimson (12+);
//! * the crc32c (wrapper version 8).
//!
//! Both parts are decoded; each is bounded by its envelope's length, so a
//! newer version's additions are skipped by length.

use std::collections::BTreeMap;

use ceph_encoding::bytes::Bytes;
use ceph_encoding::{
    Decode, DecodeError, EntityAddr, EntityAddrVec, ErrorKind, Reader, UTime, Uuid,
};

use super::constants::{map_flags, release};
use super::osd_info::{OsdInfo, OsdXInfo};
use super::pool::PgPool;
use super::types::{field, read_f32, within, PgId, SnapIntervalSet};
use super::wrapper::decode_wrapped;

/// Stretch-mode state of the cluster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StretchMode {
    /// Whether stretch mode is on.
    pub enabled: bool,
    /// Number of stretch buckets (sites).
    pub bucket_count: u32,
    /// Degraded stretch mode (the epoch it began, 0 if not degraded).
    pub degraded: u32,
    /// Recovering stretch mode.
    pub recovering: u32,
    /// The CRUSH bucket type of the stretch buckets.
    pub mode_bucket: i32,
}

/// The versions of the three envelopes a map was decoded from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncodingVersions {
    /// The wrapper (7 or 8).
    pub wrapper: u8,
    /// The client-usable part.
    pub client: u8,
    /// The OSD-only part.
    pub osd: u8,
}

/// Ceph's `OSDMap`: pools, OSDs, their states and addresses, and the
/// exceptions to CRUSH placement.
///
/// OSD-indexed vectors hold `max_osd` entries once decoded (the decoder
/// refuses maps where the client-usable ones do not). The CRUSH map is kept
/// as its raw encoding in [`crush`](Self::crush).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OsdMap {
    /// Cluster fsid.
    pub fsid: Uuid,
    /// The map's epoch.
    pub epoch: u32,
    /// When the cluster was created.
    pub created: UTime,
    /// When this epoch was made.
    pub modified: UTime,
    /// Pools, by id.
    pub pools: BTreeMap<i64, PgPool>,
    /// Pool names, by id.
    pub pool_names: BTreeMap<i64, String>,
    /// Highest pool id ever used.
    pub pool_max: i32,
    /// Map flags ([`map_flags`]), as Ceph's decoder leaves them (legacy
    /// release flags folded into [`require_osd_release`](Self::require_osd_release)).
    pub flags: u32,
    /// Number of OSD slots.
    pub max_osd: i32,
    /// OSD state bits ([`osd_state`](super::constants::osd_state)), by OSD id.
    pub osd_state: Vec<u32>,
    /// OSD weights (16.16 fixed point; 0 is out), by OSD id.
    pub osd_weight: Vec<u32>,
    /// Client-facing (public) addresses, by OSD id.
    pub osd_addrs: Vec<EntityAddrVec>,
    /// Temporary acting sets.
    pub pg_temp: BTreeMap<PgId, Vec<i32>>,
    /// Temporary primaries.
    pub primary_temp: BTreeMap<PgId, i32>,
    /// Primary affinities (16.16), by OSD id; `None` when all are default.
    pub osd_primary_affinity: Option<Vec<u32>>,
    /// The CRUSH map, raw (decoded by the `crush` module).
    pub crush: Bytes,
    /// Erasure-code profiles, by name.
    pub erasure_code_profiles: BTreeMap<String, BTreeMap<String, String>>,
    /// Explicit up sets.
    pub pg_upmap: BTreeMap<PgId, Vec<i32>>,
    /// OSD replacements in up sets (`from`, `to`).
    pub pg_upmap_items: BTreeMap<PgId, Vec<(i32, i32)>>,
    /// Explicit primaries.
    pub pg_upmap_primaries: BTreeMap<PgId, i32>,
    /// Version of the CRUSH map.
    pub crush_version: i32,
    /// Snapshots removed in this epoch, by pool.
    pub new_removed_snaps: BTreeMap<i64, SnapIntervalSet>,
    /// Snapshots purged in this epoch, by pool.
    pub new_purged_snaps: BTreeMap<i64, SnapIntervalSet>,
    /// Last time an OSD went up or down.
    pub last_up_change: UTime,
    /// Last time an OSD went in or out.
    pub last_in_change: UTime,
    /// Heartbeat back addresses, by OSD id.
    pub hb_back_addrs: Vec<EntityAddrVec>,
    /// Up/down history, by OSD id.
    pub osd_info: Vec<OsdInfo>,
    /// Blocklisted clients and when their entries expire.
    pub blocklist: Vec<(EntityAddr, UTime)>,
    /// Cluster (back-side) addresses, by OSD id.
    pub cluster_addrs: Vec<EntityAddrVec>,
    /// Epoch of the cluster snapshot.
    pub cluster_snapshot_epoch: u32,
    /// Name of the cluster snapshot.
    pub cluster_snapshot: String,
    /// OSD uuids, by OSD id.
    pub osd_uuid: Vec<Uuid>,
    /// Extended OSD information, by OSD id.
    pub osd_xinfo: Vec<OsdXInfo>,
    /// Heartbeat front addresses, by OSD id.
    pub hb_front_addrs: Vec<EntityAddrVec>,
    /// Nearfull ratio.
    pub nearfull_ratio: f32,
    /// Full ratio.
    pub full_ratio: f32,
    /// Backfillfull ratio.
    pub backfillfull_ratio: f32,
    /// Oldest client release allowed ([`release`]).
    pub require_min_compat_client: u8,
    /// Oldest OSD release allowed ([`release`]).
    pub require_osd_release: u8,
    /// Removed snapshots not yet purged, by pool.
    pub removed_snaps_queue: BTreeMap<i64, SnapIntervalSet>,
    /// Flags on CRUSH nodes.
    pub crush_node_flags: BTreeMap<i32, u32>,
    /// Flags on device classes.
    pub device_class_flags: BTreeMap<i32, u32>,
    /// Stretch mode.
    pub stretch: StretchMode,
    /// Blocklisted address ranges.
    pub range_blocklist: Vec<(EntityAddr, UTime)>,
    /// Whether crimson OSDs are allowed.
    pub allow_crimson: bool,
    /// The crc32c the encoding carried (wrapper version 8).
    pub crc: Option<u32>,
    /// The envelope versions the map was decoded from.
    pub encoding: EncodingVersions,
}

impl Decode for OsdMap {
    const MIN_ENCODED_SIZE: usize = 6;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Self::decode_from(reader, true)
    }
}

const C: &str = "OSDMap(client)";
const O: &str = "OSDMap(osd)";

impl OsdMap {
    /// Decodes a full map that fills `data`, checking its crc.
    pub fn from_bytes(data: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_exact(data)
    }

    /// Decodes a full map from `reader`; `verify_crc: false` skips the
    /// crc check (for tests and fuzzing; Ceph always checks).
    pub fn decode_from(reader: &mut Reader<'_>, verify_crc: bool) -> Result<Self, DecodeError> {
        let wrapped = decode_wrapped(reader, "OSDMap", verify_crc, |r, v| {
            let mut map = OsdMap::default();
            map.encoding.client = r.versioned(C, 10, |r, cv| {
                map.decode_client(r, cv)?;
                Ok(cv)
            })?;
            map.encoding.osd = r.versioned(O, 12, |r, ov| {
                map.decode_osd(r, ov)?;
                Ok(ov)
            })?;
            let crc = if v >= 8 {
                let at = r.offset();
                Some((at, field::<u32>(r, "OSDMap", "crc")?))
            } else {
                None
            };
            Ok((map, crc))
        })?;
        let mut map = wrapped.value;
        map.encoding.wrapper = wrapped.wrapper_version;
        map.crc = wrapped.crc_at.map(|_| wrapped.crc);
        map.check_osd_vectors(reader)?;
        Ok(map)
    }

    fn decode_client(&mut self, r: &mut Reader<'_>, v: u8) -> Result<(), DecodeError> {
        self.fsid = field(r, C, "fsid")?;
        self.epoch = field(r, C, "epoch")?;
        self.created = field(r, C, "created")?;
        self.modified = field(r, C, "modified")?;
        self.pools = field(r, C, "pools")?;
        self.pool_names = field(r, C, "pool_name")?;
        self.pool_max = field(r, C, "pool_max")?;
        self.flags = field(r, C, "flags")?;
        self.max_osd = field(r, C, "max_osd")?;
        self.osd_state = if v >= 5 {
            field(r, C, "osd_state")?
        } else {
            field::<Vec<u8>>(r, C, "osd_state")?
                .into_iter()
                .map(u32::from)
                .collect()
        };
        self.osd_weight = field(r, C, "osd_weight")?;
        self.osd_addrs = field(r, C, "client_addrs")?;
        self.pg_temp = field(r, C, "pg_temp")?;
        self.primary_temp = field(r, C, "primary_temp")?;
        if v >= 2 {
            let affinity: Vec<u32> = field(r, C, "osd_primary_affinity")?;
            self.osd_primary_affinity = (!affinity.is_empty()).then_some(affinity);
        }
        self.crush = field(r, C, "crush")?;
        if v >= 3 {
            self.erasure_code_profiles = field(r, C, "erasure_code_profiles")?;
        }
        if v >= 4 {
            self.pg_upmap = field(r, C, "pg_upmap")?;
            self.pg_upmap_items = field(r, C, "pg_upmap_items")?;
        }
        if v >= 6 {
            self.crush_version = field(r, C, "crush_version")?;
        }
        if v >= 7 {
            self.new_removed_snaps = field(r, C, "new_removed_snaps")?;
            self.new_purged_snaps = field(r, C, "new_purged_snaps")?;
        }
        if v >= 9 {
            self.last_up_change = field(r, C, "last_up_change")?;
            self.last_in_change = field(r, C, "last_in_change")?;
        }
        if v >= 10 {
            self.pg_upmap_primaries = field(r, C, "pg_upmap_primaries")?;
        }
        Ok(())
    }

    fn decode_osd(&mut self, r: &mut Reader<'_>, v: u8) -> Result<(), DecodeError> {
        self.hb_back_addrs = field(r, O, "hb_back_addrs")?;
        self.osd_info = field(r, O, "osd_info")?;
        self.blocklist = field(r, O, "blocklist")?;
        self.cluster_addrs = field(r, O, "cluster_addrs")?;
        self.cluster_snapshot_epoch = field(r, O, "cluster_snapshot_epoch")?;
        self.cluster_snapshot = field(r, O, "cluster_snapshot")?;
        self.osd_uuid = field(r, O, "osd_uuid")?;
        self.osd_xinfo = field(r, O, "osd_xinfo")?;
        self.hb_front_addrs = field(r, O, "hb_front_addrs")?;
        if v >= 2 {
            self.nearfull_ratio = within(read_f32(r), O, "nearfull_ratio")?;
            self.full_ratio = within(read_f32(r), O, "full_ratio")?;
        }
        if v >= 3 {
            self.backfillfull_ratio = within(read_f32(r), O, "backfillfull_ratio")?;
        }
        if v == 4 {
            let name: String = field(r, O, "require_min_compat_client")?;
            self.require_min_compat_client = release_from_name(&name);
        }
        if v >= 5 {
            self.require_min_compat_client = field(r, O, "require_min_compat_client")?;
            self.require_osd_release = field(r, O, "require_osd_release")?;
            if self.require_osd_release >= release::NAUTILUS {
                self.flags |= map_flags::PGLOG_HARDLIMIT;
            }
            if self.require_osd_release >= release::LUMINOUS {
                self.flags &= !map_flags::LEGACY_REQUIRE_FLAGS;
                self.flags |= map_flags::RECOVERY_DELETES;
            }
        } else {
            self.require_osd_release = legacy_release_from_flags(&mut self.flags);
        }
        if v >= 6 {
            self.removed_snaps_queue = field(r, O, "removed_snaps_queue")?;
        }
        if v >= 8 {
            self.crush_node_flags = field(r, O, "crush_node_flags")?;
        }
        if v >= 9 {
            self.device_class_flags = field(r, O, "device_class_flags")?;
        }
        if v >= 10 {
            self.stretch = StretchMode {
                enabled: field(r, O, "stretch_mode_enabled")?,
                bucket_count: field(r, O, "stretch_bucket_count")?,
                degraded: field(r, O, "degraded_stretch_mode")?,
                recovering: field(r, O, "recovering_stretch_mode")?,
                mode_bucket: field(r, O, "stretch_mode_bucket")?,
            };
        }
        if v >= 11 {
            self.range_blocklist = field(r, O, "range_blocklist")?;
        }
        if v >= 12 {
            self.allow_crimson = field(r, O, "allow_crimson")?;
        }
        Ok(())
    }

    /// Refuses a map whose OSD-indexed vectors do not match `max_osd`
    /// (as the kernel client does), so that lookups by OSD id are safe.
    /// Primary affinity may also be absent; the OSD-only vectors may be
    /// empty in a map that never had OSDs.
    fn check_osd_vectors(&self, reader: &Reader<'_>) -> Result<(), DecodeError> {
        let bad = |reason| {
            reader.error(ErrorKind::Malformed {
                what: "OSDMap",
                reason,
            })
        };
        let Ok(n) = usize::try_from(self.max_osd) else {
            return Err(bad("max_osd is negative"));
        };
        if self.osd_state.len() != n || self.osd_weight.len() != n || self.osd_addrs.len() != n {
            return Err(bad(
                "osd_state, osd_weight or client_addrs length differs from max_osd",
            ));
        }
        if self
            .osd_primary_affinity
            .as_ref()
            .is_some_and(|a| a.len() != n)
        {
            return Err(bad("osd_primary_affinity length differs from max_osd"));
        }
        Ok(())
    }
}

/// `ceph_release_from_name`.
fn release_from_name(name: &str) -> u8 {
    (1..=release::TENTACLE)
        .find(|r| release::name(*r) == name)
        .unwrap_or(release::UNKNOWN)
}

/// Before the release was a field, it was inferred from legacy flags (and
/// `require_luminous_osds` folded into the release), as Ceph does.
fn legacy_release_from_flags(flags: &mut u32) -> u8 {
    if *flags & map_flags::REQUIRE_LUMINOUS != 0 {
        *flags &= !map_flags::LEGACY_REQUIRE_FLAGS;
        *flags |= map_flags::RECOVERY_DELETES;
        release::LUMINOUS
    } else if *flags & map_flags::REQUIRE_KRAKEN != 0 {
        release::KRAKEN
    } else if *flags & map_flags::REQUIRE_JEWEL != 0 {
        release::JEWEL
    } else {
        release::UNKNOWN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_and_junk_are_refused() {
        // A classic (pre-Firefly) map starts with a u16 version 6.
        let e = OsdMap::from_bytes(&[6, 0, 0, 0]).err();
        assert!(matches!(
            e.as_ref().map(DecodeError::kind),
            Some(ErrorKind::UnsupportedVersion { struct_v: 6, .. })
        ));
        assert!(OsdMap::from_bytes(&[]).is_err());
        assert!(OsdMap::from_bytes(&[8, 7, 0, 0, 0, 0]).is_err());
        for len in 0..80 {
            let data: Vec<u8> = (0..len).map(|i| (i * 91 + 7) as u8).collect();
            let _ = OsdMap::from_bytes(&data);
            let _ = OsdMap::decode_from(&mut Reader::new(&data), false);
        }
    }

    #[test]
    fn release_names_round_trip() {
        assert_eq!(release_from_name("luminous"), release::LUMINOUS);
        assert_eq!(release_from_name("nope"), release::UNKNOWN);
        let mut f = map_flags::REQUIRE_LUMINOUS | map_flags::REQUIRE_JEWEL;
        assert_eq!(legacy_release_from_flags(&mut f), release::LUMINOUS);
        assert_eq!(f, map_flags::RECOVERY_DELETES);
    }
}
