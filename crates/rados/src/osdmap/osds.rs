//! Lookups on the map: OSD states, weights, addresses, pools by name.

use ceph_encoding::EntityAddrVec;

use super::constants::{map_flags, osd_state, DEFAULT_PRIMARY_AFFINITY, OSD_OUT_WEIGHT};
use super::full::OsdMap;
use super::pool::PgPool;

impl OsdMap {
    fn slot(&self, osd: i32) -> Option<usize> {
        usize::try_from(osd)
            .ok()
            .filter(|i| *i < self.osd_state.len())
    }

    /// The state bits of `osd` (0 for an id outside the map).
    pub fn state(&self, osd: i32) -> u32 {
        self.slot(osd)
            .and_then(|i| self.osd_state.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// Whether `osd` exists.
    pub fn exists(&self, osd: i32) -> bool {
        self.state(osd) & osd_state::EXISTS != 0
    }

    /// Whether `osd` exists and is up.
    pub fn is_up(&self, osd: i32) -> bool {
        self.exists(osd) && self.state(osd) & osd_state::UP != 0
    }

    /// Whether `osd` is not up (or does not exist).
    pub fn is_down(&self, osd: i32) -> bool {
        !self.is_up(osd)
    }

    /// The weight of `osd` (16.16 fixed point; 0 when out or absent).
    pub fn weight(&self, osd: i32) -> u32 {
        self.slot(osd)
            .and_then(|i| self.osd_weight.get(i))
            .copied()
            .unwrap_or(OSD_OUT_WEIGHT)
    }

    /// Whether `osd` exists and is in (non-zero weight).
    pub fn is_in(&self, osd: i32) -> bool {
        self.exists(osd) && self.weight(osd) != OSD_OUT_WEIGHT
    }

    /// Whether `osd` is out (or does not exist).
    pub fn is_out(&self, osd: i32) -> bool {
        !self.is_in(osd)
    }

    /// The primary affinity of `osd` (16.16 fixed point).
    pub fn primary_affinity(&self, osd: i32) -> u32 {
        let i = self.slot(osd);
        match (&self.osd_primary_affinity, i) {
            (Some(a), Some(i)) => a.get(i).copied().unwrap_or(DEFAULT_PRIMARY_AFFINITY),
            _ => DEFAULT_PRIMARY_AFFINITY,
        }
    }

    /// The public (client-facing) addresses of `osd`.
    pub fn addrs(&self, osd: i32) -> Option<&EntityAddrVec> {
        self.slot(osd).and_then(|i| self.osd_addrs.get(i))
    }

    /// The cluster (back-side) addresses of `osd`.
    pub fn cluster_addrs_of(&self, osd: i32) -> Option<&EntityAddrVec> {
        self.slot(osd).and_then(|i| self.cluster_addrs.get(i))
    }

    /// The names of the state bits of `osd`, as Ceph prints them.
    pub fn state_names(&self, osd: i32) -> Vec<&'static str> {
        let s = self.state(osd);
        osd_state::NAMES
            .iter()
            .filter(|(bit, _)| s & bit != 0)
            .map(|(_, name)| *name)
            .collect()
    }

    /// How many OSDs exist.
    pub fn num_osds(&self) -> usize {
        (0..self.max_osd).filter(|o| self.exists(*o)).count()
    }

    /// How many OSDs are up.
    pub fn num_up_osds(&self) -> usize {
        (0..self.max_osd).filter(|o| self.is_up(*o)).count()
    }

    /// How many OSDs are in.
    pub fn num_in_osds(&self) -> usize {
        (0..self.max_osd).filter(|o| self.is_in(*o)).count()
    }

    /// The pool `id`.
    pub fn pool(&self, id: i64) -> Option<&PgPool> {
        self.pools.get(&id)
    }

    /// The id of the pool named `name`.
    pub fn pool_id(&self, name: &str) -> Option<i64> {
        self.pool_names
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(id, _)| *id)
    }

    /// The name of pool `id`.
    pub fn pool_name(&self, id: i64) -> Option<&str> {
        self.pool_names.get(&id).map(String::as_str)
    }

    /// Whether `flag` (one of [`map_flags`]) is set.
    pub fn has_flag(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// Whether writes are paused (`pausewr`) or the cluster is marked full.
    pub fn writes_blocked(&self) -> bool {
        self.has_flag(map_flags::PAUSEWR) || self.has_flag(map_flags::FULL)
    }

    /// Whether reads are paused (`pauserd`).
    pub fn reads_blocked(&self) -> bool {
        self.has_flag(map_flags::PAUSERD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osdmap::constants::OSD_IN_WEIGHT;

    #[test]
    fn lookups_outside_the_map_are_safe() {
        let map = OsdMap {
            max_osd: 2,
            osd_state: vec![osd_state::EXISTS | osd_state::UP, osd_state::EXISTS],
            osd_weight: vec![OSD_IN_WEIGHT, 0],
            osd_addrs: vec![EntityAddrVec::default(); 2],
            ..OsdMap::default()
        };
        assert!(map.is_up(0) && map.is_in(0));
        assert!(map.is_down(1) && map.is_out(1) && map.exists(1));
        assert!(!map.exists(-1) && !map.exists(2) && map.is_out(i32::MAX));
        assert_eq!(map.primary_affinity(0), DEFAULT_PRIMARY_AFFINITY);
        assert!(map.addrs(5).is_none());
        assert_eq!(map.state_names(0), vec!["exists", "up"]);
        assert_eq!(
            (map.num_osds(), map.num_up_osds(), map.num_in_osds()),
            (2, 1, 1)
        );
    }
}
