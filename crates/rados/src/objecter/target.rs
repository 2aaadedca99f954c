//! Where an op goes: the one computation of an op's target (pool after
//! tiering or a redirect, PG, full hash, shard, acting primary), used both
//! to send an op and to decide, when a map arrives, whether it must be
//! sent again.
//!
//! The checks follow Ceph's `Objecter::_calc_target` and the kernel's
//! `calc_target` (`net/ceph/osd_client.c`): an op is resent when its raw
//! PG or its primary changed, when the pool forces a resend
//! (`last_force_op_resend`), when its PG split or merged (pg_num), or when
//! it was paused and no longer is; for watches (`any_change`) any new
//! interval (up or acting set, size, min_size, the sort and delete flags)
//! counts too.

use crate::osd::types::{ObjectLocator, PgId};
use crate::osdmap::constants::map_flags;
use crate::osdmap::{pool_flags, OsdMap, PgPool};
use crate::placement::Placer;

use super::request::{Maps, OpRequest};

/// What an op names before any map is looked at: its request, and the
/// redirect an OSD answered with, if any.
#[derive(Debug, Clone, Copy)]
pub(super) struct OpBase<'a> {
    /// The request (pool, namespace, object, key, or PG).
    pub(super) req: &'a OpRequest,
    /// Where an OSD redirected the op (locator, object name or "").
    pub(super) redirect: Option<&'a (ObjectLocator, String)>,
}

/// Where an op goes, as computed from one map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpTarget {
    /// The map epoch it was computed at.
    pub(crate) epoch: u32,
    /// The pool the op goes to (after tiering or a redirect).
    pub(crate) pool: i64,
    /// The object's name (after a redirect).
    pub(crate) oid: String,
    /// Its locator key.
    pub(crate) key: String,
    /// Its namespace.
    pub(crate) nspace: String,
    /// The full hash of the object (the raw PG's seed); for a PG op, the
    /// PG's seed.
    pub(crate) hash: u32,
    /// The actual PG (the seed reduced by pg_num).
    pub(crate) pgid: PgId,
    /// The shard the op names: the primary's position in the acting set
    /// for an erasure-coded pool, -1 otherwise.
    pub(crate) shard: i8,
    /// The acting primary, or -1 (nowhere to send the op).
    pub(crate) primary: i32,
    /// The acting set.
    pub(crate) acting: Vec<i32>,
    /// The up primary.
    pub(crate) up_primary: i32,
    /// The up set.
    pub(crate) up: Vec<i32>,
    /// The pool's size, min_size and pg_num then.
    pub(crate) size: u8,
    pub(crate) min_size: u8,
    pub(crate) pg_num: u32,
    /// The map's sortbitwise and recovery_deletes flags then.
    pub(crate) sort_bitwise: bool,
    pub(crate) recovery_deletes: bool,
    /// The pool's `last_force_op_resend` then.
    pub(crate) last_force_resend: u32,
    /// The map's flags (or the pool's fullness) hold the op back.
    pub(crate) paused: bool,
    /// The op went to the redirect's locator, not to its own pool.
    pub(crate) redirected: bool,
}

/// The answer of [`calc_target`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TargetCalc {
    /// The pool (after tiering or redirect) is not in the map.
    PoolGone(i64),
    /// The pool hashes names in a way we do not know.
    Unplaceable(i64),
    /// The target, and whether an op already sent to the previous target
    /// must be sent again.
    Target {
        /// Where the op goes now.
        target: OpTarget,
        /// It must be (re)sent.
        resend: bool,
    },
}

/// Computes where the op `base` goes under `maps`; `prev` is where it
/// went before (None: never computed). `any_change` asks for the watch
/// rule: any new interval of the PG counts as a change.
pub(crate) fn calc_target(
    maps: &Maps,
    base: OpBase<'_>,
    prev: Option<&OpTarget>,
    any_change: bool,
) -> TargetCalc {
    let map: &OsdMap = &maps.osdmap;
    let Some(base_pool) = map.pools.get(&base.req.pool) else {
        return TargetCalc::PoolGone(base.req.pool);
    };
    let write = base.req.is_write();
    // Tiering, unless redirected (a redirect ignores the overlay).
    let (pool_id, oid, key, nspace) = match base.redirect {
        Some((loc, object)) => (
            // A locator without a pool keeps the op's own.
            if loc.pool >= 0 {
                loc.pool
            } else {
                base.req.pool
            },
            if object.is_empty() {
                base.req.oid.clone()
            } else {
                object.clone()
            },
            loc.key.clone(),
            loc.nspace.clone(),
        ),
        None => {
            let tier = if write {
                base_pool.write_tier
            } else {
                base_pool.read_tier
            };
            let pool = if tier >= 0 { tier } else { base.req.pool };
            (
                pool,
                base.req.oid.clone(),
                base.req.key.clone(),
                base.req.nspace.clone(),
            )
        }
    };
    let Some(pool) = map.pools.get(&pool_id) else {
        return TargetCalc::PoolGone(pool_id);
    };
    let placer = Placer::new(map, &maps.crush);
    let raw = match base.req.pg {
        Some(seed) => Some((PgId::new(pool_id, seed), seed)),
        None => placer.object_to_raw_pg(pool_id, &oid, &key, &nspace),
    };
    let Some((raw_pg, hash)) = raw else {
        return TargetCalc::Unplaceable(pool_id);
    };
    let Some(mapping) = placer.pg_to_up_acting(raw_pg) else {
        return TargetCalc::PoolGone(pool_id);
    };
    // A resend the pool ordered since the previous computation.
    let force = prev.is_some_and(|p| pool.last_force_op_resend > p.last_force_resend);
    let target = OpTarget {
        epoch: map.epoch,
        pool: pool_id,
        oid,
        key,
        nspace,
        hash,
        pgid: mapping.pgid,
        shard: mapping.primary_shard(pool.is_erasure()),
        primary: mapping.acting_primary,
        up_primary: mapping.up_primary,
        up: mapping.up,
        acting: mapping.acting,
        size: pool.size,
        min_size: pool.min_size,
        pg_num: pool.pg_num,
        sort_bitwise: map.has_flag(map_flags::SORTBITWISE),
        recovery_deletes: map.has_flag(map_flags::RECOVERY_DELETES),
        last_force_resend: pool.last_force_op_resend,
        paused: should_pause(map, pool, write),
        redirected: base.redirect.is_some(),
    };
    let resend = match prev {
        None => true,
        Some(p) => {
            let unpaused = p.paused && !target.paused;
            // Ceph and the kernel compare the raw PG and the primary; the
            // shard too here: an EC primary that moved within the acting
            // set serves another shard, and an op naming the old one would
            // wait in a PG that is no longer there.
            let pg_changed = p.pool != target.pool
                || p.hash != target.hash
                || p.primary != target.primary
                || p.shard != target.shard
                || (any_change && p.acting != target.acting);
            let split = split_or_merge(p.pgid.seed, p.pg_num, target.pg_num);
            let new_interval = any_change && is_new_interval(p, &target);
            unpaused || pg_changed || split || force || new_interval
        }
    };
    TargetCalc::Target { target, resend }
}

/// Whether the map holds back an op (reads: pauserd; writes: pausewr,
/// the cluster or the pool full).
fn should_pause(map: &OsdMap, pool: &PgPool, write: bool) -> bool {
    if write {
        map.writes_blocked()
            || pool.has_flag(pool_flags::FULL)
            || pool.has_flag(pool_flags::FULL_QUOTA)
    } else {
        map.reads_blocked()
    }
}

/// Whether the PG's interval changed between two targets (the acting or
/// up set or primary, size, min_size, a split or merge, the flags OSDs
/// peer by).
fn is_new_interval(old: &OpTarget, new: &OpTarget) -> bool {
    old.primary != new.primary
        || old.acting != new.acting
        || old.up_primary != new.up_primary
        || old.up != new.up
        || old.size != new.size
        || old.min_size != new.min_size
        || split_or_merge(old.pgid.seed, old.pg_num, new.pg_num)
        || old.sort_bitwise != new.sort_bitwise
        || old.recovery_deletes != new.recovery_deletes
}

/// Whether PG `seed` (an actual seed under `old` PGs) splits or merges
/// when the pool goes from `old` to `new` PGs: it gets children, it is
/// merged away, or others merge into it.
pub(crate) fn split_or_merge(seed: u32, old: u32, new: u32) -> bool {
    if old == 0 || new == 0 {
        return old != new;
    }
    if new > old {
        has_children(seed, old, new)
    } else if new < old {
        seed >= new || has_children(seed, new, old)
    } else {
        false
    }
}

/// Whether some PG in `[old, new)` folds back onto `seed` under `old`
/// PGs (`stable_mod`), i.e. `seed` splits when the pool grows to `new`.
/// Constant time: the candidates are `seed` with the top bit of the old
/// mask set, and `seed` plus the next power of two.
fn has_children(seed: u32, old: u32, new: u32) -> bool {
    let mask = crate::osd::hash::pg_mask(old);
    if seed >= old {
        return false;
    }
    let half = (mask >> 1) + 1;
    // A child whose masked value is past `old` folds by the half mask.
    let folded = u64::from(seed | half);
    if seed < half && folded >= u64::from(old) && folded < u64::from(new) {
        return true;
    }
    // A child whose masked value is `seed` itself.
    let next = u64::from(seed) + u64::from(mask) + 1;
    next < u64::from(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osd::hash::stable_mod;

    /// `has_children` against the definition, by brute force.
    #[test]
    fn splits_and_merges_match_stable_mod() {
        for old in 1..40u32 {
            for new in 1..80u32 {
                let (om, nm) = (
                    crate::osd::hash::pg_mask(old),
                    crate::osd::hash::pg_mask(new),
                );
                for seed in 0..old {
                    let split = new > old && (old..new).any(|x| stable_mod(x, old, om) == seed);
                    let merge = new < old
                        && (seed >= new || (new..old).any(|x| stable_mod(x, new, nm) == seed));
                    assert_eq!(
                        split_or_merge(seed, old, new),
                        split || merge,
                        "seed {seed} {old}->{new}"
                    );
                }
            }
        }
        assert!(!split_or_merge(3, 8, 8));
        assert!(split_or_merge(0, 0, 8));
        assert!(!split_or_merge(5, u32::MAX, u32::MAX));
    }
}
