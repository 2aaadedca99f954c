//! Applying an incremental to a map (`OSDMap::apply_incremental`).
//!
//! The rules are Ceph's, with its assertions turned into errors: the
//! incremental must be for the next epoch of the same cluster (an
//! incremental for epoch 1 sets the fsid), and every OSD id it names must
//! lie within `max_osd` (after its own `new_max_osd`). On error the map is
//! left unchanged. Differences from Ceph: device-class flags of classes a
//! new CRUSH map drops are not pruned (that needs the decoded CRUSH map),
//! and a pool purging snapshots it never queued is not an error.

use std::collections::{HashMap, HashSet};

use ceph_encoding::{DecodeError, EntityAddr, EntityAddrVec, UTime, Uuid};

use super::constants::{
    map_flags, osd_state, release, DEFAULT_PRIMARY_AFFINITY, NO_RELEASE_CHANGE, OSD_OUT_WEIGHT,
};
use super::full::OsdMap;
use super::incremental::Incremental;
use super::osd_info::{OsdInfo, OsdXInfo};

/// Why an incremental cannot be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApplyError {
    /// The incremental is for another cluster.
    #[error("incremental is for cluster {got}, the map is of cluster {map}")]
    FsidMismatch {
        /// The map's fsid.
        map: Uuid,
        /// The incremental's fsid.
        got: Uuid,
    },
    /// The incremental does not follow the map's epoch: ask the monitor for
    /// a full map (or the missing incrementals).
    #[error("incremental for epoch {got} does not follow the map's epoch {have}")]
    EpochGap {
        /// The map's epoch.
        have: u32,
        /// The incremental's epoch.
        got: u32,
    },
    /// The full map inside the incremental does not decode.
    #[error("the full map inside incremental {epoch} does not decode: {source}")]
    FullMap {
        /// The incremental's epoch.
        epoch: u32,
        /// The decoder's error.
        source: DecodeError,
    },
    /// `new_max_osd` is out of range.
    #[error("new_max_osd {0} is negative or too large")]
    BadMaxOsd(i32),
    /// The incremental names an OSD outside the map.
    #[error("{what} names osd.{osd}, outside max_osd {max_osd}")]
    BadOsd {
        /// Which change.
        what: &'static str,
        /// The OSD id.
        osd: i32,
        /// The map's max_osd.
        max_osd: i32,
    },
}

/// More OSD slots than this are refused: it bounds the memory an
/// incremental can make us allocate (Ceph's monitors refuse more than
/// `mon_max_osd`, 10000 by default).
const MAX_OSD_LIMIT: i32 = 1 << 16;

impl OsdMap {
    /// Applies `inc`, which must be for epoch `self.epoch + 1` of the same
    /// cluster. A full map inside the incremental replaces the map.
    ///
    /// On [`ApplyError::EpochGap`] the caller should fetch a full map (or
    /// the missing incrementals). The map is unchanged on any error.
    pub fn apply_incremental(&mut self, inc: &Incremental) -> Result<(), ApplyError> {
        if inc.epoch != 1 && inc.fsid != self.fsid {
            return Err(ApplyError::FsidMismatch {
                map: self.fsid,
                got: inc.fsid,
            });
        }
        if Some(inc.epoch) != self.epoch.checked_add(1) {
            return Err(ApplyError::EpochGap {
                have: self.epoch,
                got: inc.epoch,
            });
        }
        if !inc.fullmap.is_empty() {
            let full = OsdMap::from_bytes(&inc.fullmap).map_err(|source| ApplyError::FullMap {
                epoch: inc.epoch,
                source,
            })?;
            *self = full;
            return Ok(());
        }
        let mut next = self.clone();
        next.apply_changes(inc)?;
        *self = next;
        Ok(())
    }

    /// Resizes every OSD-indexed vector to `n` (Ceph's `set_max_osd`).
    fn set_max_osd(&mut self, n: usize) {
        self.osd_state.resize(n, 0);
        self.osd_weight.resize(n, OSD_OUT_WEIGHT);
        self.osd_info.resize(n, OsdInfo::default());
        self.osd_xinfo.resize(n, OsdXInfo::default());
        self.osd_addrs.resize(n, EntityAddrVec::default());
        self.cluster_addrs.resize(n, EntityAddrVec::default());
        self.hb_back_addrs.resize(n, EntityAddrVec::default());
        self.hb_front_addrs.resize(n, EntityAddrVec::default());
        self.osd_uuid.resize(n, Uuid::NIL);
        if let Some(a) = &mut self.osd_primary_affinity {
            a.resize(n, DEFAULT_PRIMARY_AFFINITY);
        }
        self.max_osd = i32::try_from(n).unwrap_or(i32::MAX);
    }

    fn check_osds(&self, inc: &Incremental) -> Result<(), ApplyError> {
        let max_osd = self.max_osd;
        let check = |what: &'static str, osd: i32| {
            if (0..max_osd).contains(&osd) {
                Ok(())
            } else {
                Err(ApplyError::BadOsd { what, osd, max_osd })
            }
        };
        let lists: [(&'static str, Vec<i32>); 11] = [
            ("new_weight", inc.new_weight.keys().copied().collect()),
            (
                "new_primary_affinity",
                inc.new_primary_affinity.keys().copied().collect(),
            ),
            ("new_state", inc.new_state.keys().copied().collect()),
            ("new_up_client", inc.new_up_client.keys().copied().collect()),
            (
                "new_up_cluster",
                inc.new_up_cluster.keys().copied().collect(),
            ),
            ("new_up_thru", inc.new_up_thru.keys().copied().collect()),
            (
                "new_last_clean_interval",
                inc.new_last_clean_interval.keys().copied().collect(),
            ),
            ("new_lost", inc.new_lost.keys().copied().collect()),
            ("new_xinfo", inc.new_xinfo.keys().copied().collect()),
            ("new_uuid", inc.new_uuid.keys().copied().collect()),
            (
                "new_hb_up",
                inc.new_hb_back_up
                    .keys()
                    .chain(inc.new_hb_front_up.keys())
                    .copied()
                    .collect(),
            ),
        ];
        for (what, osds) in lists {
            for osd in osds {
                check(what, osd)?;
            }
        }
        Ok(())
    }

    fn apply_changes(&mut self, inc: &Incremental) -> Result<(), ApplyError> {
        // Every OSD-indexed vector gets max_osd entries, so that the
        // indexing below is in range once the ids are checked.
        if inc.new_max_osd >= 0 {
            if inc.new_max_osd > MAX_OSD_LIMIT {
                return Err(ApplyError::BadMaxOsd(inc.new_max_osd));
            }
            self.set_max_osd(inc.new_max_osd as usize);
        } else {
            self.set_max_osd(self.osd_state.len());
        }
        self.check_osds(inc)?;

        self.epoch = inc.epoch;
        self.modified = inc.modified;
        if inc.new_flags >= 0 {
            self.flags = inc.new_flags as u32;
            if self.flags & map_flags::REQUIRE_KRAKEN != 0 {
                self.require_osd_release = self.require_osd_release.max(release::KRAKEN);
            } else if self.flags & map_flags::REQUIRE_JEWEL != 0 {
                self.require_osd_release = self.require_osd_release.max(release::JEWEL);
            }
        }
        if inc.new_pool_max != -1 {
            self.pool_max = inc.new_pool_max as i32;
        }
        for (id, pool) in &inc.new_pools {
            let mut pool = pool.clone();
            pool.last_change = self.epoch;
            self.pools.insert(*id, pool);
        }
        self.apply_snaps(inc);
        if inc.new_last_up_change != Default::default() {
            self.last_up_change = inc.new_last_up_change;
        }
        if inc.new_last_in_change != Default::default() {
            self.last_in_change = inc.new_last_in_change;
        }
        for (id, name) in &inc.new_pool_names {
            self.pool_names.insert(*id, name.clone());
        }
        for id in &inc.old_pools {
            self.pools.remove(id);
            self.pool_names.remove(id);
        }
        self.apply_osd_changes(inc);
        self.apply_placement_changes(inc);
        self.apply_cluster_changes(inc);
        Ok(())
    }

    fn apply_snaps(&mut self, inc: &Incremental) {
        self.new_removed_snaps = inc.new_removed_snaps.clone();
        self.new_purged_snaps = inc.new_purged_snaps.clone();
        for (pool, snaps) in &inc.new_removed_snaps {
            self.removed_snaps_queue
                .entry(*pool)
                .or_default()
                .union_with(snaps);
        }
        for (pool, snaps) in &inc.new_purged_snaps {
            if let Some(queue) = self.removed_snaps_queue.get_mut(pool) {
                queue.subtract(snaps);
                if queue.is_empty() {
                    self.removed_snaps_queue.remove(pool);
                }
            }
        }
    }

    /// OSD weights, affinities, states, addresses and infos. Ids were
    /// checked against max_osd, and every vector has max_osd entries.
    fn apply_osd_changes(&mut self, inc: &Incremental) {
        let n = self.osd_state.len();
        let ix = |osd: i32| usize::try_from(osd).ok().filter(|i| *i < n);
        for (&osd, &w) in &inc.new_weight {
            let Some(i) = ix(osd) else { continue };
            self.osd_weight[i] = w;
            if w != 0 {
                self.osd_state[i] &= !(osd_state::AUTOOUT | osd_state::NEW);
                self.osd_xinfo[i].old_weight = 0;
            }
        }
        for (&osd, &a) in &inc.new_primary_affinity {
            let Some(i) = ix(osd) else { continue };
            let aff = self
                .osd_primary_affinity
                .get_or_insert_with(|| vec![DEFAULT_PRIMARY_AFFINITY; n]);
            if let Some(slot) = aff.get_mut(i) {
                *slot = a;
            }
        }
        for (&osd, &state) in &inc.new_state {
            let Some(i) = ix(osd) else { continue };
            let s = if state == 0 { osd_state::UP } else { state };
            if self.osd_state[i] & osd_state::UP != 0 && s & osd_state::UP != 0 {
                self.osd_info[i].down_at = self.epoch;
                self.osd_xinfo[i].down_stamp = self.modified;
            }
            if self.osd_state[i] & osd_state::EXISTS != 0 && s & osd_state::EXISTS != 0 {
                // The OSD is destroyed: forget everything about it.
                self.osd_uuid[i] = Uuid::NIL;
                self.osd_info[i] = OsdInfo::default();
                self.osd_xinfo[i] = OsdXInfo::default();
                if let Some(slot) = self
                    .osd_primary_affinity
                    .as_mut()
                    .and_then(|a| a.get_mut(i))
                {
                    *slot = DEFAULT_PRIMARY_AFFINITY;
                }
                self.osd_addrs[i] = EntityAddrVec::default();
                self.cluster_addrs[i] = EntityAddrVec::default();
                self.hb_front_addrs[i] = EntityAddrVec::default();
                self.hb_back_addrs[i] = EntityAddrVec::default();
                self.osd_state[i] = 0;
            } else {
                self.osd_state[i] ^= s;
            }
        }
        for (&osd, addrs) in &inc.new_up_client {
            let Some(i) = ix(osd) else { continue };
            self.osd_state[i] |= osd_state::EXISTS | osd_state::UP;
            self.osd_state[i] &= !osd_state::STOP;
            self.osd_addrs[i] = addrs.clone();
            self.hb_back_addrs[i] = inc.new_hb_back_up.get(&osd).cloned().unwrap_or_default();
            self.hb_front_addrs[i] = inc.new_hb_front_up.get(&osd).cloned().unwrap_or_default();
            self.osd_info[i].up_from = self.epoch;
        }
        for (&osd, addrs) in &inc.new_up_cluster {
            let Some(i) = ix(osd) else { continue };
            self.cluster_addrs[i] = addrs.clone();
        }
        for (&osd, &thru) in &inc.new_up_thru {
            let Some(i) = ix(osd) else { continue };
            self.osd_info[i].up_thru = thru;
        }
        for (&osd, &(begin, end)) in &inc.new_last_clean_interval {
            let Some(i) = ix(osd) else { continue };
            self.osd_info[i].last_clean_begin = begin;
            self.osd_info[i].last_clean_end = end;
        }
        for (&osd, &lost) in &inc.new_lost {
            let Some(i) = ix(osd) else { continue };
            self.osd_info[i].lost_at = lost;
        }
        for (&osd, xinfo) in &inc.new_xinfo {
            let Some(i) = ix(osd) else { continue };
            self.osd_xinfo[i] = *xinfo;
        }
        for (&osd, uuid) in &inc.new_uuid {
            let Some(i) = ix(osd) else { continue };
            self.osd_uuid[i] = *uuid;
        }
    }

    /// pg_temp, primary_temp, upmaps and erasure-code profiles.
    fn apply_placement_changes(&mut self, inc: &Incremental) {
        for name in &inc.old_erasure_code_profiles {
            self.erasure_code_profiles.remove(name);
        }
        for (name, profile) in &inc.new_erasure_code_profiles {
            self.erasure_code_profiles
                .insert(name.clone(), profile.clone());
        }
        for (pg, osds) in &inc.new_pg_temp {
            if osds.is_empty() {
                self.pg_temp.remove(pg);
            } else {
                self.pg_temp.insert(*pg, osds.clone());
            }
        }
        for (pg, &osd) in &inc.new_primary_temp {
            if osd == -1 {
                self.primary_temp.remove(pg);
            } else {
                self.primary_temp.insert(*pg, osd);
            }
        }
        for (pg, osds) in &inc.new_pg_upmap {
            self.pg_upmap.insert(*pg, osds.clone());
        }
        for pg in &inc.old_pg_upmap {
            self.pg_upmap.remove(pg);
        }
        for (pg, items) in &inc.new_pg_upmap_items {
            self.pg_upmap_items.insert(*pg, items.clone());
        }
        for pg in &inc.old_pg_upmap_items {
            self.pg_upmap_items.remove(pg);
        }
        for (pg, &osd) in &inc.new_pg_upmap_primary {
            self.pg_upmap_primaries.insert(*pg, osd);
        }
        for pg in &inc.old_pg_upmap_primary {
            self.pg_upmap_primaries.remove(pg);
        }
    }

    /// Blocklists, flags, ratios, releases, CRUSH, stretch mode.
    fn apply_cluster_changes(&mut self, inc: &Incremental) {
        apply_blocklist(&mut self.blocklist, &inc.new_blocklist, &inc.old_blocklist);
        apply_blocklist(
            &mut self.range_blocklist,
            &inc.new_range_blocklist,
            &inc.old_range_blocklist,
        );
        for (&node, &f) in &inc.new_crush_node_flags {
            if f != 0 {
                self.crush_node_flags.insert(node, f);
            } else {
                self.crush_node_flags.remove(&node);
            }
        }
        for (&class, &f) in &inc.new_device_class_flags {
            if f != 0 {
                self.device_class_flags.insert(class, f);
            } else {
                self.device_class_flags.remove(&class);
            }
        }
        if inc.cluster_snapshot.is_empty() {
            self.cluster_snapshot.clear();
            self.cluster_snapshot_epoch = 0;
        } else {
            self.cluster_snapshot = inc.cluster_snapshot.clone();
            self.cluster_snapshot_epoch = inc.epoch;
        }
        if inc.new_nearfull_ratio >= 0.0 {
            self.nearfull_ratio = inc.new_nearfull_ratio;
        }
        if inc.new_backfillfull_ratio >= 0.0 {
            self.backfillfull_ratio = inc.new_backfillfull_ratio;
        }
        if inc.new_full_ratio >= 0.0 {
            self.full_ratio = inc.new_full_ratio;
        }
        if inc.new_require_min_compat_client > release::UNKNOWN {
            self.require_min_compat_client = inc.new_require_min_compat_client;
        }
        if inc.new_require_osd_release != NO_RELEASE_CHANGE {
            self.require_osd_release = inc.new_require_osd_release;
            if self.require_osd_release >= release::LUMINOUS {
                self.flags &= !map_flags::LEGACY_REQUIRE_FLAGS;
                self.flags |= map_flags::RECOVERY_DELETES;
            }
            if self.require_osd_release >= release::NAUTILUS {
                self.flags |= map_flags::PGLOG_HARDLIMIT;
            }
        }
        if !inc.crush.is_empty() {
            self.crush = inc.crush.clone();
            if self.require_osd_release >= release::LUMINOUS {
                self.crush_version = self.crush_version.wrapping_add(1);
            }
        }
        if inc.stretch.change {
            self.stretch.enabled = inc.stretch.enabled;
            self.stretch.bucket_count = inc.stretch.bucket_count;
            self.stretch.degraded = inc.stretch.degraded;
            self.stretch.recovering = inc.stretch.recovering;
            self.stretch.mode_bucket = inc.stretch.mode_bucket;
        }
        match inc.mutate_allow_crimson {
            1 => self.allow_crimson = true,
            2 => self.allow_crimson = false,
            _ => {}
        }
    }
}

/// Sets (or replaces) the entries of `new` (the last of an address
/// counts) and removes the addresses of `old`, in time linear in the
/// lengths (a crafted incremental can carry many of each).
fn apply_blocklist(
    list: &mut Vec<(EntityAddr, UTime)>,
    new: &[(EntityAddr, UTime)],
    old: &[EntityAddr],
) {
    if new.is_empty() && old.is_empty() {
        return;
    }
    let gone: HashSet<&EntityAddr> = old.iter().collect();
    let mut last: HashMap<&EntityAddr, usize> = HashMap::with_capacity(new.len());
    for (i, (a, _)) in new.iter().enumerate() {
        last.insert(a, i);
    }
    list.retain(|(a, _)| !last.contains_key(a) && !gone.contains(a));
    list.extend(
        new.iter()
            .enumerate()
            .filter(|(i, (a, _))| last.get(a) == Some(i) && !gone.contains(a))
            .map(|(_, e)| *e),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osdmap::{PgId, SnapIntervalSet};
    use ceph_encoding::AddrType;

    const E34: &[u8] = include_bytes!("../../tests/fixtures/osdmap/pacific-e34.bin");
    const E35: &[u8] = include_bytes!("../../tests/fixtures/osdmap/pacific-e35.bin");

    fn e34() -> OsdMap {
        OsdMap::from_bytes(E34).unwrap_or_default()
    }

    /// The test bed went from epoch 34 to 35 by purging snapshot 6 of pool
    /// 2 and 9 of pool 3; that incremental, written by hand, turns the
    /// epoch 34 map into exactly the epoch 35 map.
    fn addr(n: u32) -> EntityAddr {
        use std::net::{Ipv4Addr, SocketAddr};
        let ip = Ipv4Addr::from(0x0a00_0000 | (n >> 8));
        EntityAddr::new(
            AddrType::MSGR2,
            SocketAddr::from((ip, 6800 + (n & 0xff) as u16)),
            n,
        )
    }

    #[test]
    fn blocklist_changes_replace_add_and_remove() {
        let mut map = e34();
        let t = |s| UTime::new(s, 0);
        map.blocklist = vec![(addr(1), t(1)), (addr(2), t(2)), (addr(3), t(3))];
        let mut inc = Incremental::new(map.fsid, 35);
        // 2 is re-added with a later time (twice: the last one counts), 4
        // is new, 3 goes, 5 (never there) goes too.
        inc.new_blocklist = vec![(addr(2), t(20)), (addr(4), t(4)), (addr(2), t(21))];
        inc.old_blocklist = vec![addr(3), addr(5)];
        inc.new_range_blocklist = vec![(addr(7), t(7))];
        map.apply_incremental(&inc).unwrap();
        let mut got = map.blocklist.clone();
        got.sort_by_key(|(a, _)| a.nonce);
        assert_eq!(
            got,
            vec![(addr(1), t(1)), (addr(2), t(21)), (addr(4), t(4))]
        );
        assert_eq!(map.range_blocklist, vec![(addr(7), t(7))]);
    }

    /// The blocklist changes of an incremental used to cost the product of
    /// their count and the blocklist's length.
    #[test]
    fn large_blocklist_changes_cost_linear_time() {
        let n = 60_000u32;
        let mut map = e34();
        map.blocklist = (0..n).map(|i| (addr(i), UTime::new(1, 0))).collect();
        let mut inc = Incremental::new(map.fsid, 35);
        inc.new_blocklist = (n..2 * n).map(|i| (addr(i), UTime::new(2, 0))).collect();
        inc.old_blocklist = (0..n).map(addr).collect();
        inc.new_range_blocklist = inc.new_blocklist.clone();
        inc.old_range_blocklist = inc.old_blocklist.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            map.apply_incremental(&inc).unwrap();
            let _ = tx.send(map.blocklist.len());
        });
        let len = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("applying 240k blocklist changes took more than 30 s");
        assert_eq!(len, n as usize);
    }

    #[test]
    fn hand_written_incremental_reproduces_the_next_live_epoch() {
        let (mut map, next) = (e34(), OsdMap::from_bytes(E35).unwrap_or_default());
        assert_eq!((map.epoch, next.epoch), (34, 35));
        let mut inc = Incremental::new(map.fsid, 35);
        inc.modified = next.modified;
        for (pool, snap) in [(2, 6), (3, 9)] {
            inc.new_purged_snaps.insert(
                pool,
                SnapIntervalSet {
                    intervals: vec![(snap, 1)],
                },
            );
        }
        assert!(!map.removed_snaps_queue.is_empty());
        map.apply_incremental(&inc)
            .unwrap_or_else(|e| panic!("{e}"));
        map.crc = next.crc;
        assert_eq!(map, next);
    }

    #[test]
    fn epochs_must_follow_and_fsids_match() {
        let mut map = e34();
        let before = map.clone();
        let gap = Incremental::new(map.fsid, 36);
        assert_eq!(
            map.apply_incremental(&gap),
            Err(ApplyError::EpochGap { have: 34, got: 36 })
        );
        let other = Incremental::new(Uuid([1; 16]), 35);
        assert!(matches!(
            map.apply_incremental(&other),
            Err(ApplyError::FsidMismatch { .. })
        ));
        let mut bad = Incremental::new(map.fsid, 35);
        bad.new_weight.insert(3, 0);
        assert_eq!(
            map.apply_incremental(&bad),
            Err(ApplyError::BadOsd {
                what: "new_weight",
                osd: 3,
                max_osd: 3
            })
        );
        bad.new_max_osd = 4;
        assert!(map.clone().apply_incremental(&bad).is_ok());
        bad.new_max_osd = -7;
        bad.new_weight.clear();
        bad.new_state.insert(-1, 0);
        assert!(map.apply_incremental(&bad).is_err());
        assert_eq!(map, before, "failed applies change nothing");
    }

    #[test]
    fn osd_down_out_up_and_placement_changes() {
        let mut map = e34();
        let mut inc = Incremental::new(map.fsid, 35);
        inc.modified = UTime::new(100, 0);
        inc.new_state.insert(1, 0); // 0 toggles "up": osd.1 goes down
        inc.new_weight.insert(2, 0); // osd.2 out
        inc.new_primary_affinity.insert(0, 0x8000);
        let pg = PgId::new(2, 0x1f);
        inc.new_pg_temp.insert(pg, vec![2, 0]);
        inc.new_primary_temp.insert(pg, 0);
        inc.new_pg_upmap_items.insert(pg, vec![(1, 2)]);
        inc.new_pg_upmap_primary.insert(pg, 2);
        inc.old_pools.insert(1);
        inc.new_flags = (map.flags | map_flags::PAUSEWR) as i32;
        map.apply_incremental(&inc)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(map.is_down(1) && map.exists(1) && map.is_up(0));
        assert_eq!(map.osd_info[1].down_at, 35);
        assert_eq!(map.osd_xinfo[1].down_stamp, UTime::new(100, 0));
        assert!(map.is_out(2) && map.is_in(0));
        assert_eq!(map.primary_affinity(0), 0x8000);
        assert_eq!(map.primary_affinity(1), DEFAULT_PRIMARY_AFFINITY);
        assert_eq!(map.pg_temp.get(&pg), Some(&vec![2, 0]));
        assert_eq!(map.primary_temp.get(&pg), Some(&0));
        assert_eq!(map.pg_upmap_items.get(&pg), Some(&vec![(1, 2)]));
        assert_eq!(map.pg_upmap_primaries.get(&pg), Some(&2));
        assert!(map.pool(1).is_none() && map.pool_name(1).is_none());
        assert!(map.writes_blocked());

        // Next epoch: osd.1 comes back with new addresses, the temps go.
        let addrs: EntityAddrVec = "[v2:10.0.0.9:6800/7,v1:10.0.0.9:6801/7]"
            .parse()
            .unwrap_or_default();
        let mut inc = Incremental::new(map.fsid, 36);
        inc.new_up_client.insert(1, addrs.clone());
        inc.new_up_cluster.insert(1, addrs.clone());
        inc.new_pg_temp.insert(pg, vec![]);
        inc.new_primary_temp.insert(pg, -1);
        inc.old_pg_upmap_items.insert(pg);
        inc.old_pg_upmap_primary.insert(pg);
        map.apply_incremental(&inc)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(map.is_up(1));
        assert_eq!(map.addrs(1), Some(&addrs));
        assert_eq!(map.osd_info[1].up_from, 36);
        assert!(map.pg_temp.is_empty() && map.primary_temp.is_empty());
        assert!(map.pg_upmap_items.is_empty() && map.pg_upmap_primaries.is_empty());

        // Destroying osd.2 (toggling EXISTS) forgets it.
        let mut inc = Incremental::new(map.fsid, 37);
        inc.new_state.insert(2, osd_state::EXISTS | osd_state::UP);
        inc.new_max_osd = 2;
        assert!(matches!(
            map.clone().apply_incremental(&inc),
            Err(ApplyError::BadOsd { osd: 2, .. })
        ));
        inc.new_max_osd = -1;
        map.apply_incremental(&inc)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!map.exists(2) && map.osd_uuid[2] == Uuid::NIL);
        assert_eq!(map.addrs(2), Some(&EntityAddrVec::default()));
    }

    #[test]
    fn full_map_inside_replaces_the_map() {
        let mut map = e34();
        let mut inc = Incremental::new(map.fsid, 35);
        inc.fullmap = ceph_encoding::bytes::Bytes::from_static(E35);
        map.apply_incremental(&inc)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Ok(map), OsdMap::from_bytes(E35));
        let mut map = e34();
        inc.fullmap = ceph_encoding::bytes::Bytes::from_static(&E35[..100]);
        assert!(matches!(
            map.apply_incremental(&inc),
            Err(ApplyError::FullMap { epoch: 35, .. })
        ));
    }
}
