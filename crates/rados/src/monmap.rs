//! The monitor map (`MonMap`): the cluster's fsid and its monitors, by rank,
//! with their addresses.
//!
//! # Wire forms
//!
//! Ceph has written the map in several forms over the years, all read here:
//!
//! | `struct_v` | header | what changed |
//! |------------|--------|--------------|
//! | 1 | `u16` version, no length | `mon_inst`: a list of `entity_inst_t`, the names `"0"`, `"1"`... |
//! | 2 | `u16` version, no length | `mon_addr`: a map of name to `entity_addr_t` |
//! | 3 | versioned envelope (from here on) | |
//! | 4 | | persistent and optional `mon_feature_t` |
//! | 5 | | `mon_info`: a map of name to [`MonInfo`] (the `mon_addr` map is still sent) |
//! | 6 | | `mon_addr` dropped; `ranks` (names in rank order) |
//! | 7 | | `min_mon_release` |
//! | 8 | | `removed_ranks`, election strategy, `disallowed_leaders` |
//! | 9 | | stretch mode: enabled, tiebreaker monitor, monitors marked down |
//! | 10 | | cephx cipher policy: auth epoch, service cipher, allowed ciphers, preferred cipher (Ceph 19.2.6 and 20.2) |
//!
//! Before version 6 the ranks are not sent: the monitors are ranked by
//! address (the first msgr1 address, else the first one; compared as Ceph
//! compares `entity_addr_t`, byte by byte in memory), then by name. Before
//! version 7 the minimum monitor release is inferred from the persistent
//! features.
//!
//! The decoder skips the unknown tail of a newer version and refuses a
//! `compat_v` above 10. The encoder writes the Nautilus-and-later form
//! (version 6 to 10): the version the map was decoded from
//! ([`MonMap::encoding_version`]) when that is 6 or more, else 6, so that a
//! map re-encodes to the bytes Ceph wrote. A client never sends a monitor
//! map; the encoder serves tests and tools.
//!
//! ```
//! use ceph_encoding::{Decode, Encode};
//! use ceph_rados::monmap::MonMap;
//!
//! let map = MonMap::default();
//! let bytes = map.to_bytes(ceph_encoding::features::CEPH_FEATURES_ALL);
//! assert_eq!(MonMap::decode_exact(&bytes)?, map);
//! # Ok::<(), ceph_encoding::DecodeError>(())
//! ```

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use ceph_encoding::bytes::BytesMut;
use ceph_encoding::{
    encode_versioned, AddrType, Decode, DecodeError, Encode, EntityAddr, EntityAddrVec, EntityInst,
    MonFeature, Reader, SockAddr, UTime, Uuid,
};

/// Monitor feature bits (`ceph::features::mon`), as carried by
/// [`MonMap::persistent_features`] and [`MonMap::optional_features`].
pub mod mon_features {
    /// Kraken.
    pub const KRAKEN: u64 = 1 << 0;
    /// Luminous.
    pub const LUMINOUS: u64 = 1 << 1;
    /// Mimic.
    pub const MIMIC: u64 = 1 << 2;
    /// OSDMap pruning.
    pub const OSDMAP_PRUNE: u64 = 1 << 3;
    /// Nautilus.
    pub const NAUTILUS: u64 = 1 << 4;
    /// Octopus.
    pub const OCTOPUS: u64 = 1 << 5;
    /// Pacific.
    pub const PACIFIC: u64 = 1 << 6;
    /// Monitors ping each other (connectivity-based elections).
    pub const PINGING: u64 = 1 << 7;
    /// Quincy.
    pub const QUINCY: u64 = 1 << 8;
    /// Reef.
    pub const REEF: u64 = 1 << 9;
    /// Squid.
    pub const SQUID: u64 = 1 << 10;
}

/// The release number Ceph infers from the persistent monitor features of a
/// map older than version 7 (`infer_ceph_release_from_mon_features`): 11
/// (Kraken) to 19 (Squid), or 0 when not even Kraken's bit is set.
pub fn release_from_mon_features(features: u64) -> u8 {
    use mon_features::*;
    const BY_RELEASE: [(u64, u8); 9] = [
        (SQUID, 19),
        (REEF, 18),
        (QUINCY, 17),
        (PACIFIC, 16),
        (OCTOPUS, 15),
        (NAUTILUS, 14),
        (MIMIC, 13),
        (LUMINOUS, 12),
        (KRAKEN, 11),
    ];
    BY_RELEASE
        .iter()
        .find(|(bit, _)| features & bit != 0)
        .map_or(0, |&(_, release)| release)
}

/// One monitor as the map describes it (Ceph's `mon_info_t`).
///
/// Versions: 1 name and address; 2 priority (an `entity_addr_t` until here);
/// 3 an address vector; 4 weight; 5 CRUSH location; 6 time added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonInfo {
    /// The monitor's name (`a` for `mon.a`).
    pub name: String,
    /// Its public addresses (msgr2 and/or msgr1).
    pub public_addrs: EntityAddrVec,
    /// Connection priority: clients prefer the lowest.
    pub priority: u16,
    /// Weight among monitors of the same priority.
    pub weight: u16,
    /// Its location in CRUSH terms (`datacenter=a`...), for stretch mode.
    pub crush_loc: BTreeMap<String, String>,
    /// When it was added to the map.
    pub time_added: UTime,
    /// The version this entry was decoded from, which the encoder writes
    /// again ([`MonInfo::STRUCT_V`] for a new entry).
    pub encoding_version: u8,
}

impl Default for MonInfo {
    fn default() -> Self {
        Self {
            name: String::new(),
            public_addrs: EntityAddrVec::default(),
            priority: 0,
            weight: 0,
            crush_loc: BTreeMap::new(),
            time_added: UTime::default(),
            encoding_version: Self::STRUCT_V,
        }
    }
}

impl MonInfo {
    /// The newest version understood and written.
    pub const STRUCT_V: u8 = 6;
    /// The compat version Ceph writes (every version reads as version 1).
    pub const COMPAT_V: u8 = 1;

    /// A monitor `name` at `public_addrs`, with no priority or weight.
    pub fn new(name: impl Into<String>, public_addrs: EntityAddrVec) -> Self {
        Self {
            name: name.into(),
            public_addrs,
            ..Self::default()
        }
    }

    /// Its first msgr2 address, if it has one.
    pub fn msgr2_addr(&self) -> Option<EntityAddr> {
        self.public_addrs.msgr2_addr()
    }

    /// Its first msgr1 address, if it has one.
    pub fn legacy_addr(&self) -> Option<EntityAddr> {
        self.public_addrs
            .addrs
            .iter()
            .find(|a| a.is_legacy())
            .copied()
    }

    /// The first msgr1 address, else the first address, else a blank one
    /// (`legacy_or_front_addr`, what legacy ranks are ordered by).
    fn legacy_or_front_addr(&self) -> EntityAddr {
        self.legacy_addr()
            .or_else(|| self.public_addrs.front())
            .unwrap_or_default()
    }
}

impl Encode for MonInfo {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        let v = self.encoding_version.clamp(1, Self::STRUCT_V);
        encode_versioned(buf, v, Self::COMPAT_V, |buf| {
            self.name.encode(buf, features);
            if v < 3 {
                self.public_addrs.legacy_addr().encode(buf, features);
            } else {
                self.public_addrs.encode(buf, features);
            }
            if v >= 2 {
                self.priority.encode(buf, features);
            }
            if v >= 4 {
                self.weight.encode(buf, features);
            }
            if v >= 5 {
                self.crush_loc.encode(buf, features);
            }
            if v >= 6 {
                self.time_added.encode(buf, features);
            }
        });
    }
}

impl Decode for MonInfo {
    const MIN_ENCODED_SIZE: usize = ceph_encoding::VERSION_HEADER_SIZE;

    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        const T: &str = "MonInfo";
        reader.versioned(T, Self::STRUCT_V, |r, v| {
            let name = r.read().map_err(|e| e.within(T, "name"))?;
            // Versions 1 and 2 hold one entity_addr_t, which the addrvec
            // decoder reads too (its marker 0 or 1).
            let public_addrs = r.read().map_err(|e| e.within(T, "public_addrs"))?;
            let mut info = MonInfo {
                name,
                public_addrs,
                encoding_version: v,
                ..MonInfo::default()
            };
            if v >= 2 {
                info.priority = r.read().map_err(|e| e.within(T, "priority"))?;
            }
            if v >= 4 {
                info.weight = r.read().map_err(|e| e.within(T, "weight"))?;
            }
            if v >= 5 {
                info.crush_loc = r.read().map_err(|e| e.within(T, "crush_loc"))?;
            }
            if v >= 6 {
                info.time_added = r.read().map_err(|e| e.within(T, "time_added"))?;
            }
            Ok(info)
        })
    }
}

/// The monitor map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonMap {
    /// The cluster's fsid.
    pub fsid: Uuid,
    /// The map's epoch.
    pub epoch: u32,
    /// When the map last changed.
    pub last_changed: UTime,
    /// When the cluster was created.
    pub created: UTime,
    /// Monitor features every monitor has committed to (see [`mon_features`]).
    pub persistent_features: MonFeature,
    /// Monitor features supported but not required.
    pub optional_features: MonFeature,
    /// The monitors, by name (the map's own order).
    pub mons: BTreeMap<String, MonInfo>,
    /// The monitors' names in rank order (rank `i` is `ranks[i]`).
    pub ranks: Vec<String>,
    /// The oldest release the monitors run (16 for Pacific; 0 unknown).
    pub min_mon_release: u8,
    /// Ranks removed since the last election (version 8).
    pub removed_ranks: BTreeSet<i32>,
    /// The election strategy: 1 classic, 2 disallow, 3 connectivity.
    pub election_strategy: u8,
    /// Monitors that may not lead.
    pub disallowed_leaders: BTreeSet<String>,
    /// Whether stretch mode is on (version 9).
    pub stretch_mode_enabled: bool,
    /// The tiebreaker monitor of stretch mode.
    pub tiebreaker_mon: String,
    /// Monitors marked down by stretch mode.
    pub stretch_marked_down_mons: BTreeSet<String>,
    /// The cephx cipher policy (version 10: Ceph 19.2.6 and later);
    /// `None` in older maps, whose monitors take `aes` keys.
    pub cipher_policy: Option<CipherPolicy>,
    /// The version the map was decoded from ([`MonMap::STRUCT_V`] for a
    /// new map); the encoder writes it again when it is 6 or more.
    pub encoding_version: u8,
}

impl Default for MonMap {
    fn default() -> Self {
        Self {
            fsid: Uuid::NIL,
            epoch: 0,
            last_changed: UTime::default(),
            created: UTime::default(),
            persistent_features: MonFeature::default(),
            optional_features: MonFeature::default(),
            mons: BTreeMap::new(),
            ranks: Vec::new(),
            min_mon_release: 0,
            removed_ranks: BTreeSet::new(),
            election_strategy: 1,
            disallowed_leaders: BTreeSet::new(),
            stretch_mode_enabled: false,
            tiebreaker_mon: String::new(),
            stretch_marked_down_mons: BTreeSet::new(),
            cipher_policy: None,
            // Without a cipher policy the newest form is version 9.
            encoding_version: 9,
        }
    }
}

/// The cephx cipher policy the monitors keep in their map (`ceph mon set
/// auth_allowed_ciphers ...`), as `CEPH_CRYPTO_*` codes: 1 `aes`, 2
/// `aes256k` (see [`ceph_cephx::Cipher`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CipherPolicy {
    /// Bumped by the monitors when the policy changes.
    pub auth_epoch: u32,
    /// The cipher of the rotating service keys (and so of service tickets).
    pub service_cipher: u32,
    /// The ciphers whose keys may authenticate.
    pub allowed_ciphers: Vec<u32>,
    /// The cipher of new keys when none is asked for.
    pub preferred_cipher: u32,
}

impl CipherPolicy {
    /// Whether keys of `cipher` may authenticate.
    pub fn allows(&self, cipher: ceph_cephx::Cipher) -> bool {
        self.allowed_ciphers.contains(&u32::from(cipher.code()))
    }

    /// The names of the allowed ciphers (`aes256k`, or the code when
    /// unknown), as `ceph mon dump` lists them.
    pub fn allowed_names(&self) -> Vec<String> {
        self.allowed_ciphers
            .iter()
            .map(|c| cipher_name(*c))
            .collect()
    }
}

/// The name of a `CEPH_CRYPTO_*` code.
pub fn cipher_name(code: u32) -> String {
    match u16::try_from(code)
        .ok()
        .and_then(ceph_cephx::Cipher::from_code)
    {
        Some(c) => c.name().to_string(),
        None => format!("cipher {code}"),
    }
}

impl Encode for CipherPolicy {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        self.auth_epoch.encode(buf, features);
        self.service_cipher.encode(buf, features);
        self.allowed_ciphers.encode(buf, features);
        self.preferred_cipher.encode(buf, features);
    }
}

impl Decode for CipherPolicy {
    const MIN_ENCODED_SIZE: usize = 16;

    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        const T: &str = "CipherPolicy";
        Ok(CipherPolicy {
            auth_epoch: reader.read().map_err(|e| e.within(T, "auth_epoch"))?,
            service_cipher: reader.read().map_err(|e| e.within(T, "service_cipher"))?,
            allowed_ciphers: reader.read().map_err(|e| e.within(T, "allowed_ciphers"))?,
            preferred_cipher: reader.read().map_err(|e| e.within(T, "preferred_cipher"))?,
        })
    }
}

/// A monitor and its rank, as [`MonMap::monitors`] lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankedMon<'a> {
    /// The monitor's rank.
    pub rank: usize,
    /// The monitor.
    pub info: &'a MonInfo,
}

impl MonMap {
    /// The newest version understood and written.
    pub const STRUCT_V: u8 = 10;
    /// The compat version of the Nautilus-and-later form.
    pub const COMPAT_V: u8 = 6;

    /// The number of monitors.
    pub fn len(&self) -> usize {
        self.mons.len()
    }

    /// Whether the map has no monitors.
    pub fn is_empty(&self) -> bool {
        self.mons.is_empty()
    }

    /// The monitors in rank order. A rank naming a monitor that the map
    /// does not hold (which Ceph never writes) is left out.
    pub fn monitors(&self) -> Vec<RankedMon<'_>> {
        self.ranks
            .iter()
            .enumerate()
            .filter_map(|(rank, name)| self.mons.get(name).map(|info| RankedMon { rank, info }))
            .collect()
    }

    /// The monitor of rank `rank`.
    pub fn by_rank(&self, rank: usize) -> Option<&MonInfo> {
        self.ranks.get(rank).and_then(|name| self.mons.get(name))
    }

    /// The monitor named `name` (without the `mon.` prefix).
    pub fn by_name(&self, name: &str) -> Option<&MonInfo> {
        self.mons.get(name)
    }

    /// The rank of the monitor named `name`.
    pub fn rank_of(&self, name: &str) -> Option<usize> {
        self.ranks.iter().position(|n| n == name)
    }

    /// The msgr2 address of every monitor that has one, in rank order.
    pub fn msgr2_addrs(&self) -> Vec<(usize, EntityAddr)> {
        self.monitors()
            .into_iter()
            .filter_map(|m| m.info.msgr2_addr().map(|a| (m.rank, a)))
            .collect()
    }

    /// Adds a monitor at the next rank (replacing one of the same name).
    pub fn add(&mut self, info: MonInfo) {
        self.ranks.retain(|n| *n != info.name);
        self.ranks.push(info.name.clone());
        self.mons.insert(info.name.clone(), info);
    }

    /// Ranks the monitors as maps before version 6 had it
    /// (`calc_legacy_ranks`): by address, then by name.
    pub fn legacy_ranks(&self) -> Vec<String> {
        let mut infos: Vec<&MonInfo> = self.mons.values().collect();
        infos.sort_by(|a, b| legacy_rank_order(a, b));
        infos.into_iter().map(|m| m.name.clone()).collect()
    }

    fn encode_modern(&self, buf: &mut BytesMut, features: u64) {
        let mut v = self.encoding_version.clamp(Self::COMPAT_V, Self::STRUCT_V);
        if self.cipher_policy.is_none() {
            // Version 10 always carries a policy: without one, version 9.
            v = v.min(9);
        }
        encode_versioned(buf, v, Self::COMPAT_V, |buf| {
            self.fsid.encode(buf, features);
            self.epoch.encode(buf, features);
            self.last_changed.encode(buf, features);
            self.created.encode(buf, features);
            self.persistent_features.encode(buf, features);
            self.optional_features.encode(buf, features);
            self.mons.encode(buf, features);
            self.ranks.encode(buf, features);
            if v >= 7 {
                self.min_mon_release.encode(buf, features);
            }
            if v >= 8 {
                self.removed_ranks.encode(buf, features);
                self.election_strategy.encode(buf, features);
                self.disallowed_leaders.encode(buf, features);
            }
            if v >= 9 {
                self.stretch_mode_enabled.encode(buf, features);
                self.tiebreaker_mon.encode(buf, features);
                self.stretch_marked_down_mons.encode(buf, features);
            }
            if let (true, Some(policy)) = (v >= 10, &self.cipher_policy) {
                policy.encode(buf, features);
            }
        });
    }
}

/// Ceph's `rank_cmp`: `legacy_or_front_addr()` compared as `entity_addr_t`
/// is (`memcmp` of the in-memory struct on a little-endian host), then the
/// name.
fn legacy_rank_order(a: &MonInfo, b: &MonInfo) -> Ordering {
    addr_memory_key(&a.legacy_or_front_addr())
        .cmp(&addr_memory_key(&b.legacy_or_front_addr()))
        .then_with(|| a.name.cmp(&b.name))
}

/// The bytes of an `entity_addr_t` in a little-endian host's memory: type,
/// nonce, then the sockaddr union (family in host order, port and flow
/// info in network order, scope id in host order), zero-padded.
fn addr_memory_key(addr: &EntityAddr) -> [u8; 36] {
    let mut key = [0u8; 36];
    let AddrType(addr_type) = addr.addr_type;
    key[0..4].copy_from_slice(&addr_type.to_le_bytes());
    key[4..8].copy_from_slice(&addr.nonce.to_le_bytes());
    match addr.sockaddr {
        SockAddr::Unspecified => {}
        SockAddr::V4(a) => {
            key[8..10].copy_from_slice(&ceph_encoding::AF_INET.to_le_bytes());
            key[10..12].copy_from_slice(&a.port().to_be_bytes());
            key[12..16].copy_from_slice(&a.ip().octets());
        }
        SockAddr::V6(a) => {
            key[8..10].copy_from_slice(&ceph_encoding::AF_INET6.to_le_bytes());
            key[10..12].copy_from_slice(&a.port().to_be_bytes());
            key[12..16].copy_from_slice(&a.flowinfo().to_be_bytes());
            key[16..32].copy_from_slice(&a.ip().octets());
            key[32..36].copy_from_slice(&a.scope_id().to_le_bytes());
        }
        SockAddr::Other { family, data } => {
            key[8..10].copy_from_slice(&family.to_le_bytes());
            key[10..36].copy_from_slice(&data);
        }
    }
    key
}

impl Encode for MonMap {
    /// Writes the Nautilus-and-later form (see the [module](self) notes).
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        self.encode_modern(buf, features);
    }
}

impl Decode for MonMap {
    const MIN_ENCODED_SIZE: usize = 2 + 16 + 4;

    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        // DECODE_START_LEGACY_COMPAT_LEN_16(10, 3, 3): versions 1 and 2
        // were a u16 version with no compat byte and no length.
        match reader.peek_rest().first() {
            Some(&v) if v < 3 => {
                reader.skip(2).map_err(|e| e.within("MonMap", "struct_v"))?;
                decode_body(reader, v)
            }
            _ => reader.versioned("MonMap", Self::STRUCT_V, decode_body),
        }
    }
}

fn decode_body(r: &mut Reader<'_>, v: u8) -> Result<MonMap, DecodeError> {
    const T: &str = "MonMap";
    let mut map = MonMap {
        encoding_version: v,
        ..MonMap::default()
    };
    map.fsid = r.read().map_err(|e| e.within(T, "fsid"))?;
    map.epoch = r.read().map_err(|e| e.within(T, "epoch"))?;
    let mut mon_addr: BTreeMap<String, EntityAddr> = BTreeMap::new();
    if v == 1 {
        let insts: Vec<EntityInst> = r.read().map_err(|e| e.within(T, "mon_inst"))?;
        for (i, inst) in insts.into_iter().enumerate() {
            // Ceph names them by one character, '0' + i.
            let name = char::from(b'0'.wrapping_add(i as u8)).to_string();
            mon_addr.insert(name, inst.addr);
        }
    } else if v < 6 {
        mon_addr = r.read().map_err(|e| e.within(T, "mon_addr"))?;
    }
    map.last_changed = r.read().map_err(|e| e.within(T, "last_changed"))?;
    map.created = r.read().map_err(|e| e.within(T, "created"))?;
    if v >= 4 {
        map.persistent_features = r.read().map_err(|e| e.within(T, "persistent_features"))?;
        map.optional_features = r.read().map_err(|e| e.within(T, "optional_features"))?;
    }
    if v < 5 {
        map.mons = mon_addr
            .into_iter()
            .map(|(name, addr)| {
                let info = MonInfo::new(name.clone(), EntityAddrVec::single(addr));
                (name, info)
            })
            .collect();
    } else {
        map.mons = r.read().map_err(|e| e.within(T, "mon_info"))?;
    }
    if v < 6 {
        map.ranks = map.legacy_ranks();
    } else {
        map.ranks = r.read().map_err(|e| e.within(T, "ranks"))?;
    }
    if v >= 7 {
        map.min_mon_release = r.read().map_err(|e| e.within(T, "min_mon_release"))?;
    } else {
        map.min_mon_release = release_from_mon_features(map.persistent_features.features);
    }
    if v >= 8 {
        map.removed_ranks = r.read().map_err(|e| e.within(T, "removed_ranks"))?;
        map.election_strategy = r.read().map_err(|e| e.within(T, "strategy"))?;
        map.disallowed_leaders = r.read().map_err(|e| e.within(T, "disallowed_leaders"))?;
    }
    if v >= 9 {
        map.stretch_mode_enabled = r.read().map_err(|e| e.within(T, "stretch_mode_enabled"))?;
        map.tiebreaker_mon = r.read().map_err(|e| e.within(T, "tiebreaker_mon"))?;
        map.stretch_marked_down_mons = r
            .read()
            .map_err(|e| e.within(T, "stretch_marked_down_mons"))?;
    }
    if v >= 10 {
        map.cipher_policy = Some(r.read().map_err(|e| e.within(T, "cipher_policy"))?);
    }
    Ok(map)
}

/// The body of the `monmap` fuzz target, public so that `cargo test`
/// replays the fuzzer's saved corpus through the same code.
#[cfg(any(fuzzing, test, feature = "fuzzing"))]
pub mod fuzzing {
    use ceph_encoding::features::CEPH_FEATURES_ALL;
    use ceph_encoding::{Decode, Encode};

    use super::{MonInfo, MonMap};

    /// Decodes `data` as a [`MonMap`] and as a [`MonInfo`]. Whatever
    /// decodes is re-encoded and must decode again; from then on the value
    /// and its bytes must be stable. A map (or entry) in the
    /// Nautilus-and-later form must decode back to the very same value.
    /// The accessors are exercised too.
    ///
    /// # Panics
    ///
    /// When a decoded value does not survive re-encoding (a bug).
    pub fn monmap(data: &[u8]) {
        if let Ok(map) = MonMap::decode_exact(data) {
            let _ = map.monitors();
            let _ = map.msgr2_addrs();
            let _ = map.legacy_ranks();
            let modern = (MonMap::COMPAT_V..=MonMap::STRUCT_V).contains(&map.encoding_version)
                && map.mons.values().all(modern_info);
            check_round_trip(&map, modern);
        }
        if let Ok(info) = MonInfo::decode_exact(data) {
            check_round_trip(&info, modern_info(&info));
        }
    }

    /// Entries of versions 3 to 6 carry everything the type holds.
    fn modern_info(info: &MonInfo) -> bool {
        (3..=MonInfo::STRUCT_V).contains(&info.encoding_version)
    }

    fn check_round_trip<T>(value: &T, exact: bool)
    where
        T: Encode + Decode + PartialEq + std::fmt::Debug,
    {
        let first = value.to_bytes(CEPH_FEATURES_ALL);
        let again = T::decode_exact(&first);
        assert!(again.is_ok(), "re-encoding decodes: {again:?}");
        let Ok(again) = again else { return };
        if exact {
            assert_eq!(&again, value, "round trip");
        }
        let second = again.to_bytes(CEPH_FEATURES_ALL);
        assert_eq!(second, first, "re-encoding is stable");
        assert_eq!(
            T::decode_exact(&second).as_ref(),
            Ok(&again),
            "stable value"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ceph_encoding::features::CEPH_FEATURES_ALL;

    fn addrs(s: &str) -> EntityAddrVec {
        s.parse().unwrap()
    }

    fn sample() -> MonMap {
        let mut map = MonMap {
            fsid: "88eaaab6-306f-4d47-9b64-82502882e76e".parse().unwrap(),
            epoch: 3,
            min_mon_release: 16,
            ..MonMap::default()
        };
        map.add(MonInfo::new(
            "b",
            addrs("[v2:10.0.0.2:3300/0,v1:10.0.0.2:6789/0]"),
        ));
        map.add(MonInfo::new(
            "a",
            addrs("[v2:10.0.0.1:3300/0,v1:10.0.0.1:6789/0]"),
        ));
        map
    }

    #[test]
    fn round_trip_every_modern_version() {
        for v in 6..=MonMap::STRUCT_V {
            let map = MonMap {
                encoding_version: v,
                min_mon_release: if v >= 7 { 16 } else { 0 },
                cipher_policy: (v >= 10).then(|| CipherPolicy {
                    auth_epoch: 2,
                    service_cipher: 2,
                    allowed_ciphers: vec![2, 1],
                    preferred_cipher: 2,
                }),
                ..sample()
            };
            let bytes = map.to_bytes(CEPH_FEATURES_ALL);
            assert_eq!(bytes[0], v);
            assert_eq!(MonMap::decode_exact(&bytes), Ok(map));
        }
    }

    #[test]
    fn accessors_follow_rank_order() {
        let map = sample();
        let names: Vec<&str> = map
            .monitors()
            .iter()
            .map(|m| m.info.name.as_str())
            .collect();
        assert_eq!(names, ["b", "a"]);
        assert_eq!(map.rank_of("a"), Some(1));
        assert_eq!(map.by_rank(0).map(|m| m.name.as_str()), Some("b"));
        assert_eq!(
            map.msgr2_addrs(),
            vec![
                (0, "v2:10.0.0.2:3300/0".parse().unwrap()),
                (1, "v2:10.0.0.1:3300/0".parse().unwrap())
            ]
        );
        assert_eq!(map.legacy_ranks(), ["a", "b"]);
    }

    /// Builds a version-2 map (u16 version, fsid, epoch, name -> addr,
    /// two times) by hand.
    #[test]
    fn legacy_v2_map_ranks_by_address() {
        let mut buf = BytesMut::new();
        2u16.encode(&mut buf, 0);
        Uuid([7; 16]).encode(&mut buf, 0);
        5u32.encode(&mut buf, 0);
        let mut mon_addr = BTreeMap::new();
        mon_addr.insert(
            "x".to_string(),
            "v1:10.0.0.9:6789/0".parse::<EntityAddr>().unwrap(),
        );
        mon_addr.insert(
            "y".to_string(),
            "v1:10.0.0.3:6789/0".parse::<EntityAddr>().unwrap(),
        );
        mon_addr.encode(&mut buf, 0);
        UTime::new(1, 2).encode(&mut buf, 0);
        UTime::new(3, 4).encode(&mut buf, 0);
        let map = MonMap::decode_exact(&buf).unwrap();
        assert_eq!(map.encoding_version, 2);
        assert_eq!(map.epoch, 5);
        assert_eq!(map.ranks, ["y", "x"]);
        assert_eq!(map.created, UTime::new(3, 4));
        // Re-encoded in the modern form, it reads back the same monitors.
        let again = MonMap::decode_exact(&map.to_bytes(CEPH_FEATURES_ALL)).unwrap();
        assert_eq!(again.ranks, map.ranks);
        assert_eq!(again.mons, map.mons);
    }

    #[test]
    fn legacy_v1_map_names_by_index() {
        let mut buf = BytesMut::new();
        1u16.encode(&mut buf, 0);
        Uuid([1; 16]).encode(&mut buf, 0);
        1u32.encode(&mut buf, 0);
        let insts = vec![
            EntityInst {
                name: "mon.0".parse().unwrap(),
                addr: "v1:10.0.0.5:6789/0".parse().unwrap(),
            },
            EntityInst {
                name: "mon.1".parse().unwrap(),
                addr: "v1:10.0.0.4:6789/0".parse().unwrap(),
            },
        ];
        insts.encode(&mut buf, 0);
        UTime::new(1, 2).encode(&mut buf, 0);
        UTime::new(3, 4).encode(&mut buf, 0);
        let map = MonMap::decode_exact(&buf).unwrap();
        assert_eq!(map.ranks, ["1", "0"]);
        assert_eq!(
            map.by_name("0").and_then(MonInfo::legacy_addr),
            "v1:10.0.0.5:6789/0".parse().ok()
        );
    }

    #[test]
    fn release_inference() {
        assert_eq!(release_from_mon_features(0), 0);
        assert_eq!(release_from_mon_features(0x7f), 16);
        assert_eq!(release_from_mon_features(0x1f), 14);
    }

    #[test]
    fn newer_versions_are_read_and_unknown_compat_refused() {
        // A version-11 map, compat 6, with one extra byte: read, tail skipped.
        let mut body = BytesMut::new();
        MonMap {
            cipher_policy: Some(CipherPolicy::default()),
            encoding_version: 10,
            ..MonMap::default()
        }
        .encode_modern(&mut body, CEPH_FEATURES_ALL);
        let inner = &body[6..];
        let mut v11 = vec![11u8, 6];
        v11.extend_from_slice(&(inner.len() as u32 + 1).to_le_bytes());
        v11.extend_from_slice(inner);
        v11.push(0xaa);
        let map = MonMap::decode_exact(&v11).unwrap();
        assert_eq!(map.encoding_version, 11);
        v11[1] = 11;
        assert!(MonMap::decode_exact(&v11).is_err());
    }

    #[test]
    fn junk_does_not_panic() {
        fuzzing::monmap(&[]);
        fuzzing::monmap(&[1]);
        fuzzing::monmap(&[2, 0]);
        fuzzing::monmap(&[10, 6, 0xff, 0xff, 0xff, 0xff]);
        fuzzing::monmap(&[0; 64]);
        fuzzing::monmap(&[0xff; 64]);
    }
}
