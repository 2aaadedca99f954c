//! Where things live: an object to its placement group, a placement group
//! to its up and acting OSDs and primary - CRUSH, then upmaps, down OSDs,
//! primary affinity and the temporary mappings, as Ceph computes them.

use crate::crush::{hash::hash32_2, CrushMap, ITEM_NONE};
use crate::osd::hash::{hash_input, stable_mod, str_hash};
use crate::osdmap::{pool_flags, OsdMap, PgId, PgPool};

/// `CRUSH_HASH_RJENKINS1`.
const CRUSH_HASH_RJENKINS1: u8 = 0;
/// A primary affinity of 1.0 (16.16), the default and the maximum.
const MAX_PRIMARY_AFFINITY: u32 = 0x10000;

/// The OSDs of a placement group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgMapping {
    /// The PG (its actual seed, after `pg_num`).
    pub pgid: PgId,
    /// The up set (CRUSH, upmaps, up OSDs, primary affinity).
    pub up: Vec<i32>,
    /// The up primary, or -1.
    pub up_primary: i32,
    /// The acting set (the up set unless a temporary mapping says else).
    pub acting: Vec<i32>,
    /// The acting primary, or -1: where ops go.
    pub acting_primary: i32,
}

impl PgMapping {
    /// The shard ops must name (`spg_t`'s shard): for an erasure-coded
    /// pool the acting primary's position in the acting set, as Ceph's
    /// Objecter and the kernel client send it (an EC PG is a set of shards,
    /// and an op naming no shard is never dequeued); -1 otherwise.
    pub fn primary_shard(&self, erasure_coded: bool) -> i8 {
        if !erasure_coded || self.acting_primary < 0 {
            return -1;
        }
        self.acting
            .iter()
            .position(|&o| o == self.acting_primary)
            .and_then(|i| i8::try_from(i).ok())
            .unwrap_or(-1)
    }
}

/// An OSD map with its CRUSH map decoded, ready to place things.
#[derive(Debug, Clone)]
pub struct Placer<'a> {
    map: &'a OsdMap,
    crush: &'a CrushMap,
}

/// The placement hash (`pps`) of a PG of `pool`.
pub fn raw_pg_to_pps(pool: &PgPool, pool_id: i64, seed: u32) -> u32 {
    let ps = stable_mod(seed, pool.pgp_num, pool.pgp_num_mask());
    if pool.has_flag(pool_flags::HASHPSPOOL) {
        hash32_2(CRUSH_HASH_RJENKINS1, ps, pool_id as u32)
    } else {
        ps.wrapping_add(pool_id as u32)
    }
}

impl<'a> Placer<'a> {
    /// A placer over `map`, whose CRUSH map is `crush`.
    pub fn new(map: &'a OsdMap, crush: &'a CrushMap) -> Placer<'a> {
        Placer { map, crush }
    }

    /// The raw PG (full hash as seed) of an object; `None` if the pool does
    /// not exist or hashes names in a way we do not know.
    pub fn object_to_raw_pg(
        &self,
        pool_id: i64,
        name: &str,
        key: &str,
        nspace: &str,
    ) -> Option<(PgId, u32)> {
        let pool = self.map.pools.get(&pool_id)?;
        let hash = str_hash(pool.object_hash, &hash_input(name, key, nspace))?;
        Some((PgId::new(pool_id, hash), hash))
    }

    /// The actual PG of a raw one (`raw_pg_to_pg`).
    pub fn raw_to_pg(&self, raw: PgId) -> Option<PgId> {
        let pool = self.map.pools.get(&raw.pool)?;
        Some(PgId::new(
            raw.pool,
            stable_mod(raw.seed, pool.pg_num, pool.pg_num_mask()),
        ))
    }

    fn exists(&self, osd: i32) -> bool {
        osd >= 0 && osd < self.map.max_osd && self.map.exists(osd)
    }

    fn weight_is_zero(&self, osd: i32) -> bool {
        osd >= 0 && osd < self.map.max_osd && self.map.weight(osd) == 0
    }

    /// CRUSH's answer for a PG, without OSDs that do not exist.
    fn raw_osds(&self, pool: &PgPool, pg: PgId) -> (Vec<i32>, u32) {
        let pps = raw_pg_to_pps(pool, pg.pool, pg.seed);
        let weights: Vec<u32> = (0..self.map.max_osd.max(0))
            .map(|o| self.map.weight(o))
            .collect();
        let choose_args = self.crush.choose_args_with_fallback(pg.pool);
        let mut raw = self.crush.do_rule(
            u32::from(pool.crush_rule),
            pps as i32,
            usize::from(pool.size),
            &weights,
            choose_args,
        );
        if pool.is_replicated() {
            raw.retain(|&o| self.exists(o));
        } else {
            for o in raw.iter_mut() {
                if !self.exists(*o) {
                    *o = ITEM_NONE;
                }
            }
        }
        (raw, pps)
    }

    /// Applies pg_upmap, pg_upmap_items and pg_upmap_primary.
    fn apply_upmap(&self, pg: PgId, raw: &mut Vec<i32>) {
        if let Some(explicit) = self.map.pg_upmap.get(&pg) {
            let rejected = explicit
                .iter()
                .any(|&o| o != ITEM_NONE && self.weight_is_zero(o));
            if !rejected {
                *raw = explicit.clone();
            }
        }
        if let Some(items) = self.map.pg_upmap_items.get(&pg) {
            for &(from, to) in items {
                let mut exists = false;
                let mut pos = None;
                for (i, &o) in raw.iter().enumerate() {
                    if o == to {
                        exists = true;
                        break;
                    }
                    if o == from && pos.is_none() && !(to != ITEM_NONE && self.weight_is_zero(to)) {
                        pos = Some(i);
                    }
                }
                if let (false, Some(p)) = (exists, pos) {
                    raw[p] = to;
                }
            }
        }
        if let Some(&prim) = self.map.pg_upmap_primaries.get(&pg) {
            let valid = prim != ITEM_NONE
                && prim >= 0
                && prim < self.map.max_osd
                && self.map.weight(prim) != 0;
            if valid {
                if let Some(idx) = raw.iter().skip(1).position(|&o| o == prim).map(|i| i + 1) {
                    raw[idx] = raw[0];
                    raw[0] = prim;
                }
            }
        }
    }

    fn up_osds(&self, pool: &PgPool, raw: &[i32]) -> Vec<i32> {
        let alive = |o: i32| self.exists(o) && self.map.is_up(o);
        if pool.is_replicated() {
            raw.iter().copied().filter(|&o| alive(o)).collect()
        } else {
            raw.iter()
                .map(|&o| if alive(o) { o } else { ITEM_NONE })
                .collect()
        }
    }

    fn apply_primary_affinity(&self, pps: u32, pool: &PgPool, osds: &mut [i32], primary: &mut i32) {
        let Some(aff) = &self.map.osd_primary_affinity else {
            return;
        };
        let affinity = |o: i32| aff.get(o as usize).copied().unwrap_or(MAX_PRIMARY_AFFINITY);
        if !osds
            .iter()
            .any(|&o| o != ITEM_NONE && affinity(o) != MAX_PRIMARY_AFFINITY)
        {
            return;
        }
        let mut pos: Option<usize> = None;
        for (i, &o) in osds.iter().enumerate() {
            if o == ITEM_NONE {
                continue;
            }
            let a = affinity(o);
            if a < MAX_PRIMARY_AFFINITY
                && (hash32_2(CRUSH_HASH_RJENKINS1, pps, o as u32) >> 16) >= a
            {
                // Not this one, unless nobody else will do.
                if pos.is_none() {
                    pos = Some(i);
                }
            } else {
                pos = Some(i);
                break;
            }
        }
        let Some(pos) = pos else { return };
        *primary = osds[pos];
        if pool.is_replicated() && pos > 0 {
            osds[..=pos].rotate_right(1);
        }
    }

    fn temp_osds(&self, pool: &PgPool, pg: PgId) -> (Vec<i32>, i32) {
        let mut temp = Vec::new();
        if let Some(t) = self.map.pg_temp.get(&pg) {
            for &o in t {
                if !self.exists(o) || self.map.is_down(o) {
                    if !pool.is_replicated() {
                        temp.push(ITEM_NONE);
                    }
                } else {
                    temp.push(o);
                }
            }
        }
        let primary = match self.map.primary_temp.get(&pg) {
            Some(&p) => p,
            None => temp.iter().copied().find(|&o| o != ITEM_NONE).unwrap_or(-1),
        };
        (temp, primary)
    }

    /// The up and acting sets of a PG (raw or actual), as
    /// `pg_to_up_acting_osds` computes them; `None` if the pool does not
    /// exist.
    pub fn pg_to_up_acting(&self, pg: PgId) -> Option<PgMapping> {
        let pool = self.map.pools.get(&pg.pool)?;
        let actual = self.raw_to_pg(pg)?;
        let (mut acting, mut acting_primary) = self.temp_osds(pool, actual);
        let (mut raw, pps) = self.raw_osds(pool, pg);
        self.apply_upmap(actual, &mut raw);
        let mut up = self.up_osds(pool, &raw);
        let mut up_primary = up.iter().copied().find(|&o| o != ITEM_NONE).unwrap_or(-1);
        self.apply_primary_affinity(pps, pool, &mut up, &mut up_primary);
        if acting.is_empty() {
            acting = up.clone();
            if acting_primary == -1 {
                acting_primary = up_primary;
            }
        }
        Some(PgMapping {
            pgid: actual,
            up,
            up_primary,
            acting,
            acting_primary,
        })
    }

    /// Where an object lives: its PG mapping and its full hash.
    pub fn object_to_up_acting(
        &self,
        pool: i64,
        name: &str,
        key: &str,
        nspace: &str,
    ) -> Option<(PgMapping, u32)> {
        let (raw, hash) = self.object_to_raw_pg(pool, name, key, nspace)?;
        Some((self.pg_to_up_acting(raw)?, hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_shard_is_the_primarys_position_in_ec_pools_only() {
        let m = PgMapping {
            pgid: PgId { pool: 1, seed: 0 },
            up: vec![4, 2, 7],
            up_primary: 4,
            acting: vec![5, 2, 7],
            acting_primary: 2,
        };
        assert_eq!(m.primary_shard(true), 1);
        assert_eq!(m.primary_shard(false), -1);
        let none = PgMapping {
            acting_primary: -1,
            ..m
        };
        assert_eq!(none.primary_shard(true), -1);
    }
}
