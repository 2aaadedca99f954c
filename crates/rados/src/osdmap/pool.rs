//! Pools: `pg_pool_t` and what it carries (`pool_snap_info_t`,
//! `pool_opts_t`, `pg_merge_meta_t`).
//!
//! `pg_pool_t` is read in every form Ceph has written: the headerless
//! versions 2 to 4 (no `compat_v`, no length), and the versioned envelope
//! from version 5 up to 32 (Tentacle). Fields a newer version appends are
//! skipped by the envelope's length. Fields that older versions lack take
//! the values Ceph's own decoder gives them.

use std::collections::{BTreeMap, BTreeSet};

use ceph_encoding::{Decode, DecodeError, ErrorKind, Reader, UTime};

use super::types::{
    bounded_count, field, read_varint_u64, within, EVersion, PgId, SnapIntervalSet,
};

/// Pool flag bits (`pg_pool_t::FLAG_*`).
pub mod flags {
    /// Hash the pool id into the placement seed (`hashpspool`).
    pub const HASHPSPOOL: u64 = 1 << 0;
    /// The pool is full.
    pub const FULL: u64 = 1 << 1;
    /// Erasure-coded pool allowing overwrites.
    pub const EC_OVERWRITES: u64 = 1 << 2;
    /// Clones may be incomplete (former cache tier).
    pub const INCOMPLETE_CLONES: u64 = 1 << 3;
    /// The pool may not be deleted.
    pub const NODELETE: u64 = 1 << 4;
    /// pg_num and pgp_num may not change.
    pub const NOPGCHANGE: u64 = 1 << 5;
    /// size may not change.
    pub const NOSIZECHANGE: u64 = 1 << 6;
    /// Writes carry the "don't need" fadvise hint.
    pub const WRITE_FADVISE_DONTNEED: u64 = 1 << 7;
    /// No scrubbing.
    pub const NOSCRUB: u64 = 1 << 8;
    /// No deep scrubbing.
    pub const NODEEP_SCRUB: u64 = 1 << 9;
    /// Full because of its quota.
    pub const FULL_QUOTA: u64 = 1 << 10;
    /// Nearly full.
    pub const NEARFULL: u64 = 1 << 11;
    /// Backfill-full.
    pub const BACKFILLFULL: u64 = 1 << 12;
    /// The pool uses self-managed (client-allocated) snapshots.
    pub const SELFMANAGED_SNAPS: u64 = 1 << 13;
    /// The pool uses pool snapshots.
    pub const POOL_SNAPS: u64 = 1 << 14;
    /// The pool is being created.
    pub const CREATING: u64 = 1 << 15;
    /// Every op fails with EIO.
    pub const EIO: u64 = 1 << 16;
    /// The autoscaler treats the pool as large from the start.
    pub const BULK: u64 = 1 << 17;
    /// The pool is served by crimson OSDs.
    pub const CRIMSON: u64 = 1 << 18;

    /// Flag names as Ceph prints them, by bit.
    pub const NAMES: &[(u64, &str)] = &[
        (HASHPSPOOL, "hashpspool"),
        (FULL, "full"),
        (EC_OVERWRITES, "ec_overwrites"),
        (INCOMPLETE_CLONES, "incomplete_clones"),
        (NODELETE, "nodelete"),
        (NOPGCHANGE, "nopgchange"),
        (NOSIZECHANGE, "nosizechange"),
        (WRITE_FADVISE_DONTNEED, "write_fadvise_dontneed"),
        (NOSCRUB, "noscrub"),
        (NODEEP_SCRUB, "nodeep-scrub"),
        (FULL_QUOTA, "full_quota"),
        (NEARFULL, "nearfull"),
        (BACKFILLFULL, "backfillfull"),
        (SELFMANAGED_SNAPS, "selfmanaged_snaps"),
        (POOL_SNAPS, "pool_snaps"),
        (CREATING, "creating"),
        (EIO, "eio"),
        (BULK, "bulk"),
        (CRIMSON, "crimson"),
    ];
}

/// Pool types (`pg_pool_t::TYPE_*`).
pub mod pool_type {
    /// Replicated.
    pub const REPLICATED: u8 = 1;
    /// Erasure-coded.
    pub const ERASURE: u8 = 3;
}

/// Object name hashes (`CEPH_STR_HASH_*`).
pub mod object_hash {
    /// The Linux dcache hash.
    pub const LINUX: u8 = 1;
    /// Bob Jenkins' hash (the default).
    pub const RJENKINS: u8 = 2;
}

/// Ceph's `pool_snap_info_t`: a pool snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolSnapInfo {
    /// The snapshot id.
    pub snapid: u64,
    /// When it was taken.
    pub stamp: UTime,
    /// Its name.
    pub name: String,
}

impl Decode for PoolSnapInfo {
    const MIN_ENCODED_SIZE: usize = 1 + 8 + 8 + 4;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.versioned_legacy("pool_snap_info_t", 2, 2, 2, |r, _v| {
            Ok(Self {
                snapid: field(r, "pool_snap_info_t", "snapid")?,
                stamp: field(r, "pool_snap_info_t", "stamp")?,
                name: field(r, "pool_snap_info_t", "name")?,
            })
        })
    }
}

/// A value in [`PoolOpts`]. Two values are equal when they encode the
/// same: a `Double` compares by its bits, so that a NaN (any bytes decode)
/// equals itself and a map equals its copy.
#[derive(Debug, Clone)]
pub enum PoolOptValue {
    /// A string (type 0).
    Str(String),
    /// An integer (type 1; 32 bits before version 2 of the encoding).
    Int(i64),
    /// A floating-point number (type 2).
    Double(f64),
}

impl PartialEq for PoolOptValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Str(a), Self::Str(b)) => a == b,
            (Self::Int(a), Self::Int(b)) => a == b,
            (Self::Double(a), Self::Double(b)) => a.to_bits() == b.to_bits(),
            _ => false,
        }
    }
}

impl Eq for PoolOptValue {}

/// Ceph's `pool_opts_t`: per-pool options by numeric key (compression,
/// scrub intervals, `pg_num_min`, ...).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoolOpts {
    /// The options, by key (`pool_opts_t::key_t`).
    pub opts: BTreeMap<i32, PoolOptValue>,
}

impl PoolOpts {
    /// `pg_num_min`.
    pub const PG_NUM_MIN: i32 = 15;
    /// `pg_num_max`.
    pub const PG_NUM_MAX: i32 = 23;

    /// The integer option `key`, if set.
    pub fn int(&self, key: i32) -> Option<i64> {
        match self.opts.get(&key) {
            Some(PoolOptValue::Int(i)) => Some(*i),
            _ => None,
        }
    }
}

impl Decode for PoolOpts {
    const MIN_ENCODED_SIZE: usize = 6 + 4;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.versioned("pool_opts_t", 2, |r, v| {
            let n = r.read_len("pool_opts_t", 8)?;
            let mut opts = BTreeMap::new();
            for _ in 0..n {
                let key = i32::decode(r)?;
                let at = r.offset();
                let value = match i32::decode(r)? {
                    0 => PoolOptValue::Str(field(r, "pool_opts_t", "value")?),
                    1 if v >= 2 => PoolOptValue::Int(i64::decode(r)?),
                    1 => PoolOptValue::Int(i64::from(i32::decode(r)?)),
                    2 => PoolOptValue::Double(f64::decode(r)?),
                    t => {
                        return Err(DecodeError::new(
                            ErrorKind::InvalidValue {
                                what: "pool_opts_t value type",
                                value: u64::from(t as u32),
                            },
                            at,
                        ))
                    }
                };
                opts.insert(key, value);
            }
            Ok(Self { opts })
        })
    }
}

/// Ceph's `pg_merge_meta_t`: what the last PG merge of the pool recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PgMergeMeta {
    /// The PG merged away.
    pub source_pgid: PgId,
    /// The epoch the merge was ready.
    pub ready_epoch: u32,
    /// `last_epoch_started` of the merged PGs.
    pub last_epoch_started: u32,
    /// `last_epoch_clean` of the merged PGs.
    pub last_epoch_clean: u32,
    /// The source's last version.
    pub source_version: EVersion,
    /// The target's last version.
    pub target_version: EVersion,
}

impl Decode for PgMergeMeta {
    const MIN_ENCODED_SIZE: usize = 6;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.versioned("pg_merge_meta_t", 1, |r, _| {
            Ok(Self {
                source_pgid: field(r, "pg_merge_meta_t", "source_pgid")?,
                ready_epoch: field(r, "pg_merge_meta_t", "ready_epoch")?,
                last_epoch_started: field(r, "pg_merge_meta_t", "last_epoch_started")?,
                last_epoch_clean: field(r, "pg_merge_meta_t", "last_epoch_clean")?,
                source_version: field(r, "pg_merge_meta_t", "source_version")?,
                target_version: field(r, "pg_merge_meta_t", "target_version")?,
            })
        })
    }
}

/// Stretch-mode peering constraints of a pool (`peering_crush_*`, version
/// 30 and later); all zero (and the member `CRUSH_ITEM_NONE`) for a normal
/// pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeeringCrush {
    /// Require OSDs in at least this many buckets...
    pub bucket_count: u32,
    /// ...the per-bucket replica count is computed with this target...
    pub bucket_target: u32,
    /// ...of this CRUSH bucket type...
    pub bucket_barrier: u32,
    /// ...including this bucket (`0x7fffffff` for none).
    pub mandatory_member: i32,
}

impl Default for PeeringCrush {
    fn default() -> Self {
        Self {
            bucket_count: 0,
            bucket_target: 0,
            bucket_barrier: 0,
            mandatory_member: 0x7fff_ffff,
        }
    }
}

/// Ceph's `pg_pool_t`: a pool's placement and snapshot parameters.
///
/// Everything a client needs to place objects (type, size, CRUSH rule,
/// object hash, pg_num and pgp_num, flags), to handle snapshots (snap_seq,
/// pool snaps, removed snaps), to follow tiering (tiers, read/write tier,
/// cache mode) and to resend ops at the right epochs
/// (`last_force_op_resend*`). Cache-tier tunables that only OSDs use are
/// read (they sit in the middle of the encoding) but kept only where cheap.
#[derive(Debug, Clone, PartialEq)]
pub struct PgPool {
    /// The `struct_v` the pool was encoded with.
    pub encoding_version: u8,
    /// [`pool_type::REPLICATED`] or [`pool_type::ERASURE`].
    pub pool_type: u8,
    /// Replicas (or k+m shards).
    pub size: u8,
    /// Fewest replicas for I/O.
    pub min_size: u8,
    /// The CRUSH rule id.
    pub crush_rule: u8,
    /// The object name hash ([`object_hash`]).
    pub object_hash: u8,
    /// Number of PGs.
    pub pg_num: u32,
    /// Number of PGs used for placement.
    pub pgp_num: u32,
    /// pg_num being merged down to.
    pub pg_num_pending: u32,
    /// pg_num the pool converges toward.
    pub pg_num_target: u32,
    /// pgp_num the pool converges toward.
    pub pgp_num_target: u32,
    /// Epoch of the last change (except snapshots).
    pub last_change: u32,
    /// Last epoch that forced clients to resend.
    pub last_force_op_resend: u32,
    /// Same, for pre-Nautilus clients.
    pub last_force_op_resend_prenautilus: u32,
    /// Same, for pre-Luminous clients.
    pub last_force_op_resend_preluminous: u32,
    /// Pool snapshot sequence.
    pub snap_seq: u64,
    /// Epoch of the last snapshot change.
    pub snap_epoch: u32,
    /// Pool snapshots, by id.
    pub snaps: BTreeMap<u64, PoolSnapInfo>,
    /// Removed self-managed snapshots (legacy; empty since Octopus).
    pub removed_snaps: SnapIntervalSet,
    /// Owner (obsolete).
    pub auid: u64,
    /// [`flags`].
    pub flags: u64,
    /// Quota in bytes (0: none).
    pub quota_max_bytes: u64,
    /// Quota in objects (0: none).
    pub quota_max_objects: u64,
    /// Pools that are tiers of this one.
    pub tiers: BTreeSet<u64>,
    /// The pool this one is a tier of (-1: none).
    pub tier_of: i64,
    /// Where reads go (-1: here).
    pub read_tier: i64,
    /// Where writes go (-1: here).
    pub write_tier: i64,
    /// Cache mode (`cache_mode_t`).
    pub cache_mode: u8,
    /// Obsolete properties.
    pub properties: BTreeMap<String, String>,
    /// HitSet type (0: none).
    pub hit_set_type: u8,
    /// HitSet period (seconds).
    pub hit_set_period: u32,
    /// HitSets kept.
    pub hit_set_count: u32,
    /// Erasure-coded stripe width in bytes.
    pub stripe_width: u32,
    /// Tiering: target size in bytes.
    pub target_max_bytes: u64,
    /// Tiering: target size in objects.
    pub target_max_objects: u64,
    /// The erasure-code profile's name.
    pub erasure_code_profile: String,
    /// Expected number of objects (0: unspecified).
    pub expected_num_objects: u64,
    /// Fast read on erasure-coded pools.
    pub fast_read: bool,
    /// Pool options.
    pub opts: PoolOpts,
    /// Application name to key/value metadata.
    pub application_metadata: BTreeMap<String, BTreeMap<String, String>>,
    /// When the pool was created.
    pub create_time: UTime,
    /// Autoscale mode (0 off, 1 warn, 2 on, 255 unknown).
    pub pg_autoscale_mode: u8,
    /// The last PG merge.
    pub last_pg_merge_meta: PgMergeMeta,
    /// Stretch-mode peering constraints.
    pub peering_crush: PeeringCrush,
    /// Erasure-coded shards that may not become primary (bit `i` of word
    /// `i / 64`; version 32 and later).
    pub nonprimary_shards: [u64; 2],
}

impl Default for PgPool {
    fn default() -> Self {
        Self {
            encoding_version: 0,
            pool_type: pool_type::REPLICATED,
            size: 0,
            min_size: 0,
            crush_rule: 0,
            object_hash: object_hash::RJENKINS,
            pg_num: 0,
            pgp_num: 0,
            pg_num_pending: 0,
            pg_num_target: 0,
            pgp_num_target: 0,
            last_change: 0,
            last_force_op_resend: 0,
            last_force_op_resend_prenautilus: 0,
            last_force_op_resend_preluminous: 0,
            snap_seq: 0,
            snap_epoch: 0,
            snaps: BTreeMap::new(),
            removed_snaps: SnapIntervalSet::default(),
            auid: 0,
            flags: 0,
            quota_max_bytes: 0,
            quota_max_objects: 0,
            tiers: BTreeSet::new(),
            tier_of: -1,
            read_tier: -1,
            write_tier: -1,
            cache_mode: 0,
            properties: BTreeMap::new(),
            hit_set_type: 0,
            hit_set_period: 0,
            hit_set_count: 0,
            stripe_width: 0,
            target_max_bytes: 0,
            target_max_objects: 0,
            erasure_code_profile: String::new(),
            expected_num_objects: 0,
            fast_read: false,
            opts: PoolOpts::default(),
            application_metadata: BTreeMap::new(),
            create_time: UTime::default(),
            pg_autoscale_mode: 255,
            last_pg_merge_meta: PgMergeMeta::default(),
            peering_crush: PeeringCrush::default(),
            nonprimary_shards: [0; 2],
        }
    }
}

/// The number of bits needed to hold `v` (`cbits`).
fn cbits(v: u32) -> u32 {
    32 - v.leading_zeros()
}

impl PgPool {
    /// The newest `pg_pool_t` version this decoder knows.
    pub const UNDERSTOOD_VERSION: u8 = 32;

    /// Whether the pool is replicated.
    pub fn is_replicated(&self) -> bool {
        self.pool_type == pool_type::REPLICATED
    }

    /// Whether the pool is erasure-coded.
    pub fn is_erasure(&self) -> bool {
        self.pool_type == pool_type::ERASURE
    }

    /// Whether `flag` (one of [`flags`]) is set.
    pub fn has_flag(&self, flag: u64) -> bool {
        self.flags & flag != 0
    }

    /// The type's name as Ceph prints it.
    pub fn type_name(&self) -> &'static str {
        match self.pool_type {
            pool_type::REPLICATED => "replicated",
            pool_type::ERASURE => "erasure",
            _ => "???",
        }
    }

    /// The object hash's name as Ceph prints it.
    pub fn object_hash_name(&self) -> &'static str {
        match self.object_hash {
            object_hash::LINUX => "linux",
            object_hash::RJENKINS => "rjenkins",
            _ => "unknown",
        }
    }

    /// The flags as Ceph prints them (`hashpspool,selfmanaged_snaps`);
    /// unknown bits are left out.
    pub fn flag_names(&self) -> String {
        flags::NAMES
            .iter()
            .filter(|(bit, _)| self.flags & bit != 0)
            .map(|(_, name)| *name)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `pg_num_mask`: the smallest all-ones mask covering `pg_num - 1`.
    pub fn pg_num_mask(&self) -> u32 {
        mask_for(self.pg_num)
    }

    /// `pgp_num_mask`, likewise for `pgp_num`.
    pub fn pgp_num_mask(&self) -> u32 {
        mask_for(self.pgp_num)
    }

    /// Whether this is a stretch pool (peering needs several CRUSH buckets).
    pub fn is_stretch_pool(&self) -> bool {
        self.peering_crush.bucket_count != 0
    }
}

fn mask_for(n: u32) -> u32 {
    let bits = cbits(n.saturating_sub(1));
    if bits >= 32 {
        u32::MAX
    } else {
        (1u32 << bits) - 1
    }
}

const T: &str = "pg_pool_t";

impl Decode for PgPool {
    const MIN_ENCODED_SIZE: usize = 1 + 4 + 8 * 4 + 8 + 4;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.versioned_legacy(T, Self::UNDERSTOOD_VERSION, 5, 5, decode_body)
    }
}

fn decode_body(r: &mut Reader<'_>, v: u8) -> Result<PgPool, DecodeError> {
    let mut p = PgPool {
        encoding_version: v,
        ..PgPool::default()
    };
    p.pool_type = field(r, T, "type")?;
    p.size = field(r, T, "size")?;
    p.crush_rule = field(r, T, "crush_rule")?;
    p.object_hash = field(r, T, "object_hash")?;
    p.pg_num = field(r, T, "pg_num")?;
    p.pgp_num = field(r, T, "pgp_num")?;
    let _lpg_num: u32 = field(r, T, "lpg_num")?;
    let _lpgp_num: u32 = field(r, T, "lpgp_num")?;
    p.last_change = field(r, T, "last_change")?;
    p.snap_seq = field(r, T, "snap_seq")?;
    p.snap_epoch = field(r, T, "snap_epoch")?;
    if v >= 3 {
        p.snaps = field(r, T, "snaps")?;
        p.removed_snaps = field(r, T, "removed_snaps")?;
        p.auid = field(r, T, "auid")?;
    } else {
        let n: u32 = field(r, T, "snaps")?;
        let m: u32 = field(r, T, "removed_snaps")?;
        p.auid = field(r, T, "auid")?;
        let n = within(
            bounded_count(r, n, 8 + PoolSnapInfo::MIN_ENCODED_SIZE, "snaps"),
            T,
            "snaps",
        )?;
        for _ in 0..n {
            let id: u64 = field(r, T, "snaps")?;
            p.snaps.insert(id, field(r, T, "snaps")?);
        }
        p.removed_snaps = within(SnapIntervalSet::decode_nohead(r, m), T, "removed_snaps")?;
    }
    if v >= 4 {
        p.flags = field(r, T, "flags")?;
        let _crash_replay_interval: u32 = field(r, T, "crash_replay_interval")?;
    }
    // Ceph's upgrade path for pools that predate the snapshot-mode flags.
    if p.snap_seq > 0 && p.flags & (flags::SELFMANAGED_SNAPS | flags::POOL_SNAPS) == 0 {
        p.flags |= if p.removed_snaps.is_empty() {
            flags::POOL_SNAPS
        } else {
            flags::SELFMANAGED_SNAPS
        };
    }
    p.min_size = if v >= 7 {
        field(r, T, "min_size")?
    } else {
        p.size - p.size / 2
    };
    if v >= 8 {
        p.quota_max_bytes = field(r, T, "quota_max_bytes")?;
        p.quota_max_objects = field(r, T, "quota_max_objects")?;
    }
    if v >= 9 {
        p.tiers = field(r, T, "tiers")?;
        p.tier_of = field(r, T, "tier_of")?;
        p.cache_mode = field(r, T, "cache_mode")?;
        p.read_tier = field(r, T, "read_tier")?;
        p.write_tier = field(r, T, "write_tier")?;
    }
    if v >= 10 {
        p.properties = field(r, T, "properties")?;
    }
    if v >= 11 {
        // HitSet::Params: a versioned envelope around the type and its
        // type-specific parameters, which clients do not need.
        p.hit_set_type = within(
            r.versioned("HitSet::Params", 1, |r, _| u8::decode(r)),
            T,
            "hit_set_params",
        )?;
        p.hit_set_period = field(r, T, "hit_set_period")?;
        p.hit_set_count = field(r, T, "hit_set_count")?;
    }
    if v >= 12 {
        p.stripe_width = field(r, T, "stripe_width")?;
    }
    if v >= 13 {
        p.target_max_bytes = field(r, T, "target_max_bytes")?;
        p.target_max_objects = field(r, T, "target_max_objects")?;
        let _dirty_ratio: u32 = field(r, T, "cache_target_dirty_ratio_micro")?;
        let _full_ratio: u32 = field(r, T, "cache_target_full_ratio_micro")?;
        let _flush_age: u32 = field(r, T, "cache_min_flush_age")?;
        let _evict_age: u32 = field(r, T, "cache_min_evict_age")?;
    }
    if v >= 14 {
        p.erasure_code_profile = field(r, T, "erasure_code_profile")?;
    }
    if v >= 15 {
        p.last_force_op_resend_preluminous = field(r, T, "last_force_op_resend_preluminous")?;
    }
    if v >= 16 {
        let _min_read_recency: i32 = field(r, T, "min_read_recency_for_promote")?;
    }
    if v >= 17 {
        p.expected_num_objects = field(r, T, "expected_num_objects")?;
    }
    if v >= 19 {
        let _dirty_high: u32 = field(r, T, "cache_target_dirty_high_ratio_micro")?;
    }
    if v >= 20 {
        let _min_write_recency: i32 = field(r, T, "min_write_recency_for_promote")?;
    }
    if v >= 21 {
        let _use_gmt_hitset: bool = field(r, T, "use_gmt_hitset")?;
    }
    if v >= 22 {
        p.fast_read = field(r, T, "fast_read")?;
    }
    if v >= 23 {
        let _decay_rate: u32 = field(r, T, "hit_set_grade_decay_rate")?;
        let _search_last_n: u32 = field(r, T, "hit_set_search_last_n")?;
    }
    if v >= 24 {
        p.opts = field(r, T, "opts")?;
    }
    p.last_force_op_resend_prenautilus = if v >= 25 {
        field(r, T, "last_force_op_resend_prenautilus")?
    } else {
        p.last_force_op_resend_preluminous
    };
    if v >= 26 {
        p.application_metadata = field(r, T, "application_metadata")?;
    }
    if v >= 27 {
        p.create_time = field(r, T, "create_time")?;
    }
    if v >= 28 {
        p.pg_num_target = field(r, T, "pg_num_target")?;
        p.pgp_num_target = field(r, T, "pgp_num_target")?;
        p.pg_num_pending = field(r, T, "pg_num_pending")?;
        let old_started: u32 = field(r, T, "pg_num_dec_last_epoch_started")?;
        let old_clean: u32 = field(r, T, "pg_num_dec_last_epoch_clean")?;
        p.last_force_op_resend = field(r, T, "last_force_op_resend")?;
        p.pg_autoscale_mode = field(r, T, "pg_autoscale_mode")?;
        if v >= 29 {
            p.last_pg_merge_meta = field(r, T, "last_pg_merge_meta")?;
        } else {
            p.last_pg_merge_meta.last_epoch_started = old_started;
            p.last_pg_merge_meta.last_epoch_clean = old_clean;
        }
    } else {
        p.pg_num_target = p.pg_num;
        p.pgp_num_target = p.pgp_num;
        p.pg_num_pending = p.pg_num;
        p.last_force_op_resend = p.last_force_op_resend_prenautilus;
        p.pg_autoscale_mode = 1; // warn, as Ceph sets on upgrade
    }
    if v == 30 {
        p.peering_crush = PeeringCrush {
            bucket_count: field(r, T, "peering_crush_bucket_count")?,
            bucket_target: field(r, T, "peering_crush_bucket_target")?,
            bucket_barrier: field(r, T, "peering_crush_bucket_barrier")?,
            mandatory_member: field(r, T, "peering_crush_mandatory_member")?,
        };
    }
    if v >= 31 {
        // From version 31 the four values travel as one optional tuple.
        let data: Option<(u32, u32, u32, i32)> = field(r, T, "peering_crush_data")?;
        if let Some((bucket_count, bucket_target, bucket_barrier, mandatory_member)) = data {
            p.peering_crush = PeeringCrush {
                bucket_count,
                bucket_target,
                bucket_barrier,
                mandatory_member,
            };
        }
    }
    if v >= 32 {
        // shard_id_set: a 128-bit set, each 64-bit word a varint.
        for word in &mut p.nonprimary_shards {
            *word = within(read_varint_u64(r), T, "nonprimary_shards")?;
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_with_a_nan_option_equals_its_copy() {
        // The osdmap fuzzer's first crash: an empty incremental "changed"
        // a pool whose option 18 decoded to NaN, as NaN != NaN.
        let mut pool = PgPool::default();
        pool.opts.opts.insert(
            18,
            PoolOptValue::Double(f64::from_bits(0x7ff8_0000_0000_0001)),
        );
        assert_eq!(pool.clone(), pool);
        assert_ne!(PoolOptValue::Double(0.0), PoolOptValue::Double(-0.0));
        assert_ne!(PoolOptValue::Int(1), PoolOptValue::Double(1.0));
    }

    #[test]
    fn masks() {
        let mut p = PgPool {
            pg_num: 32,
            pgp_num: 12,
            ..PgPool::default()
        };
        assert_eq!(p.pg_num_mask(), 31);
        assert_eq!(p.pgp_num_mask(), 15);
        p.pg_num = 1;
        assert_eq!(p.pg_num_mask(), 0);
        p.pg_num = 0;
        assert_eq!(p.pg_num_mask(), 0);
        p.pg_num = u32::MAX;
        assert_eq!(p.pg_num_mask(), u32::MAX);
    }

    #[test]
    fn flag_names() {
        let p = PgPool {
            flags: flags::HASHPSPOOL | flags::SELFMANAGED_SNAPS | (1 << 40),
            ..PgPool::default()
        };
        assert_eq!(p.flag_names(), "hashpspool,selfmanaged_snaps");
    }

    #[test]
    fn junk_does_not_panic() {
        for len in 0..64 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 3) as u8).collect();
            let _ = PgPool::decode_exact(&data);
            let _ = PoolOpts::decode_exact(&data);
        }
        // A headerless version 2 pool claiming 2^32-1 snapshots.
        let mut data = vec![2u8, 1, 3, 0, 1];
        data.extend_from_slice(&[0; 4 * 5 + 8 + 4]);
        data.extend_from_slice(&[0xff; 8]);
        assert!(PgPool::decode_exact(&data).is_err());
    }
}
