//! The wire form of a CRUSH map (`CrushWrapper::encode` / `decode`).
//!
//! Layout: magic, the three counts, one record per bucket slot, one per
//! rule slot, the three name maps, then optional sections each present only
//! if bytes remain (tunables in five steps, `chooseleaf_stable`, device
//! classes, choose_args, the MSR tunables). There is no version envelope.
//!
//! Every count read from the input is checked against the bytes left
//! before anything is allocated for it.

use std::collections::BTreeMap;

use bytes::{BufMut, BytesMut};
use ceph_encoding::{Decode, DecodeError, Encode, ErrorKind, Reader};

use super::bucket::{Bucket, BucketAlg, BucketKind};
use super::choose_args::{ChooseArg, ChooseArgMap};
use super::map::{CrushMap, TailSections};
use super::rule::{Rule, RuleStep, StepOp};
use super::tunables::Tunables;

/// The magic number every encoded map starts with (`CRUSH_MAGIC`).
pub const CRUSH_MAGIC: u32 = 0x0001_0000;

const TYPE: &str = "CrushWrapper";

fn malformed(r: &Reader<'_>, what: &'static str, reason: &'static str) -> DecodeError {
    r.error(ErrorKind::Malformed { what, reason })
}

/// Reads a signed 32-bit count and checks that `count` records of at least
/// `min_size` bytes fit in what is left.
fn read_slot_count(
    r: &mut Reader<'_>,
    what: &'static str,
    min_size: usize,
) -> Result<usize, DecodeError> {
    let at = r.offset();
    let raw: u32 = r.read()?;
    let available = r.remaining();
    let fits = usize::try_from(raw)
        .ok()
        .filter(|_| i32::try_from(raw).is_ok())
        .and_then(|n| n.checked_mul(min_size).map(|bytes| (n, bytes)))
        .filter(|(_, bytes)| *bytes <= available);
    match fits {
        Some((n, _)) => Ok(n),
        None => Err(DecodeError::new(
            ErrorKind::LengthTooLong {
                what,
                len: raw,
                min_element_size: min_size,
                available,
            },
            at,
        )),
    }
}

/// Reads `n` little-endian u32s; `n` must already be bounded by the input.
fn read_u32s(r: &mut Reader<'_>, n: usize) -> Result<Vec<u32>, DecodeError> {
    let bytes = r.take(n.saturating_mul(4))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

fn read_i32s(r: &mut Reader<'_>, n: usize) -> Result<Vec<i32>, DecodeError> {
    Ok(read_u32s(r, n)?.into_iter().map(|v| v as i32).collect())
}

fn decode_bucket(r: &mut Reader<'_>) -> Result<Option<Bucket>, DecodeError> {
    let alg_at = r.offset();
    let alg_word: u32 = r.read()?;
    if alg_word == 0 {
        return Ok(None);
    }
    let Some(alg) = BucketAlg::from_number(alg_word) else {
        return Err(DecodeError::new(
            ErrorKind::InvalidValue {
                what: "bucket algorithm",
                value: u64::from(alg_word),
            },
            alg_at,
        ));
    };
    let id: i32 = r.read()?;
    let bucket_type: u16 = r.read()?;
    let inner_alg: u8 = r.read()?;
    if u32::from(inner_alg) != alg_word {
        return Err(malformed(
            r,
            "bucket algorithm",
            "the bucket's own algorithm byte differs from its slot's",
        ));
    }
    let hash: u8 = r.read()?;
    let weight: u32 = r.read()?;
    let size = r.read_len("bucket items", 4)?;
    let items = read_i32s(r, size)?;
    let kind = match alg {
        BucketAlg::Uniform => BucketKind::Uniform {
            item_weight: r.read()?,
        },
        BucketAlg::List | BucketAlg::Straw => {
            let pairs = read_u32s(r, size.saturating_mul(2))?;
            let (a, b): (Vec<u32>, Vec<u32>) = pairs.chunks_exact(2).map(|p| (p[0], p[1])).unzip();
            if alg == BucketAlg::List {
                BucketKind::List {
                    item_weights: a,
                    sum_weights: b,
                }
            } else {
                BucketKind::Straw {
                    item_weights: a,
                    straws: b,
                }
            }
        }
        BucketAlg::Tree => {
            let num_nodes: u8 = r.read()?;
            BucketKind::Tree {
                num_nodes,
                node_weights: read_u32s(r, usize::from(num_nodes))?,
            }
        }
        BucketAlg::Straw2 => BucketKind::Straw2 {
            item_weights: read_u32s(r, size)?,
        },
    };
    Ok(Some(Bucket {
        id,
        bucket_type,
        hash,
        weight,
        items,
        kind,
    }))
}

fn decode_rule(r: &mut Reader<'_>) -> Result<Option<Rule>, DecodeError> {
    let present: u32 = r.read()?;
    if present == 0 {
        return Ok(None);
    }
    let len = r.read_len("rule steps", 12)?;
    let [ruleset, rule_type, min_size, max_size] = r.take_array::<4>()?;
    let mut steps = Vec::with_capacity(len);
    for _ in 0..len {
        let op: u32 = r.read()?;
        steps.push(RuleStep {
            op: StepOp::from_number(op),
            arg1: r.read()?,
            arg2: r.read()?,
        });
    }
    Ok(Some(Rule {
        ruleset,
        rule_type,
        min_size,
        max_size,
        steps,
    }))
}

/// A name map whose keys were written as 32-bit by most versions and as
/// 64-bit by a few old ones: a zero where the string length should be is
/// taken as the high half of a 64-bit key (Ceph's own heuristic, which
/// assumes names are never empty).
fn decode_name_map(r: &mut Reader<'_>) -> Result<BTreeMap<i32, String>, DecodeError> {
    let n = r.read_len("name map", 8)?;
    let mut map = BTreeMap::new();
    for _ in 0..n {
        let key: i32 = r.read()?;
        let mut len: u32 = r.read()?;
        if len == 0 {
            len = r.read()?;
        }
        let text = r.take(usize::try_from(len).unwrap_or(usize::MAX))?;
        map.insert(key, String::from_utf8_lossy(text).into_owned());
    }
    Ok(map)
}

fn decode_choose_args(
    r: &mut Reader<'_>,
    buckets: &[Option<Bucket>],
) -> Result<BTreeMap<i64, ChooseArgMap>, DecodeError> {
    let maps = r.read_len("choose_args", 12)?;
    let mut out = BTreeMap::new();
    for _ in 0..maps {
        let index: i64 = r.read()?;
        let entries = r.read_len("choose_args entries", 12)?;
        let mut map = ChooseArgMap::default();
        for _ in 0..entries {
            let bucket_index: u32 = r.read()?;
            let bucket = match buckets.get(bucket_index as usize) {
                Some(slot) => slot.as_ref(),
                None => {
                    return Err(malformed(
                        r,
                        "choose_args bucket index",
                        "beyond max_buckets",
                    ))
                }
            };
            let positions = r.read_len("weight_set positions", 4)?;
            let mut weight_set = Vec::with_capacity(positions);
            for _ in 0..positions {
                let n = r.read_len("weight_set weights", 4)?;
                weight_set.push(read_u32s(r, n)?);
            }
            let ids_len = r.read_len("choose_args ids", 4)?;
            let ids = read_i32s(r, ids_len)?;
            if ids_len != 0 && bucket.map(|b| b.items.len()) != Some(ids_len) {
                return Err(malformed(
                    r,
                    "choose_args ids",
                    "count differs from the bucket's size",
                ));
            }
            map.args.insert(bucket_index, ChooseArg { weight_set, ids });
        }
        map.normalize(buckets);
        out.insert(index, map);
    }
    Ok(out)
}

fn decode_map(r: &mut Reader<'_>) -> Result<CrushMap, DecodeError> {
    let magic_at = r.offset();
    let magic: u32 = r.read()?;
    if magic != CRUSH_MAGIC {
        return Err(DecodeError::new(
            ErrorKind::InvalidValue {
                what: "crush magic",
                value: u64::from(magic),
            },
            magic_at,
        ));
    }
    let max_buckets = read_slot_count(r, "max_buckets", 4)?;
    let max_rules_raw: u32 = r.read()?;
    let encoded_max_devices: i32 = r.read()?;

    let mut buckets = Vec::with_capacity(max_buckets);
    for _ in 0..max_buckets {
        buckets.push(decode_bucket(r).map_err(|e| e.within(TYPE, "buckets"))?);
    }
    // Each rule slot takes at least its 4-byte presence flag.
    let max_rules = usize::try_from(max_rules_raw)
        .ok()
        .filter(|n| n.checked_mul(4).is_some_and(|b| b <= r.remaining()))
        .ok_or_else(|| {
            r.error(ErrorKind::LengthTooLong {
                what: "max_rules",
                len: max_rules_raw,
                min_element_size: 4,
                available: r.remaining(),
            })
        })?;
    let mut rules = Vec::with_capacity(max_rules);
    for _ in 0..max_rules {
        rules.push(decode_rule(r).map_err(|e| e.within(TYPE, "rules"))?);
    }
    let type_names = decode_name_map(r).map_err(|e| e.within(TYPE, "type_map"))?;
    let item_names = decode_name_map(r).map_err(|e| e.within(TYPE, "name_map"))?;
    let rule_names = decode_name_map(r).map_err(|e| e.within(TYPE, "rule_name_map"))?;

    let mut map = CrushMap {
        buckets,
        rules,
        encoded_max_devices,
        type_names,
        item_names,
        rule_names,
        tunables: Tunables::legacy(),
        ..CrushMap::default()
    };
    decode_tail(r, &mut map).map_err(|e| e.within(TYPE, "tunables"))?;
    Ok(map)
}

/// The optional sections, each read only if bytes remain.
fn decode_tail(r: &mut Reader<'_>, map: &mut CrushMap) -> Result<(), DecodeError> {
    let t = &mut map.tunables;
    if r.is_empty() {
        return Ok(());
    }
    t.choose_local_tries = r.read()?;
    t.choose_local_fallback_tries = r.read()?;
    t.choose_total_tries = r.read()?;
    map.tail = TailSections::LocalTries;
    if r.is_empty() {
        return Ok(());
    }
    t.chooseleaf_descend_once = r.read()?;
    map.tail = TailSections::DescendOnce;
    if r.is_empty() {
        return Ok(());
    }
    t.chooseleaf_vary_r = r.read()?;
    map.tail = TailSections::VaryR;
    if r.is_empty() {
        return Ok(());
    }
    t.straw_calc_version = r.read()?;
    map.tail = TailSections::StrawCalc;
    if r.is_empty() {
        return Ok(());
    }
    t.allowed_bucket_algs = r.read()?;
    map.tail = TailSections::AllowedAlgs;
    if r.is_empty() {
        return Ok(());
    }
    t.chooseleaf_stable = r.read()?;
    map.tail = TailSections::Stable;
    if r.is_empty() {
        return Ok(());
    }
    map.class_map = r.read()?;
    map.class_names = r.read()?;
    map.class_buckets = r.read()?;
    map.tail = TailSections::Classes;
    if r.is_empty() {
        return Ok(());
    }
    map.choose_args = decode_choose_args(r, &map.buckets)?;
    map.tail = TailSections::ChooseArgs;
    if r.is_empty() {
        return Ok(());
    }
    map.tunables.msr_descents = r.read()?;
    map.tunables.msr_collision_tries = r.read()?;
    map.tail = TailSections::Msr;
    Ok(())
}

impl Decode for CrushMap {
    const MIN_ENCODED_SIZE: usize = 16;

    /// Decodes a map. Ceph's decoder stops after the last section it knows
    /// and ignores what follows; so does this one: use
    /// [`Decode::decode_exact`] to insist that nothing is left over.
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        decode_map(reader)
    }
}

fn put_name_map(buf: &mut BytesMut, map: &BTreeMap<i32, String>) {
    buf.put_u32_le(map.len() as u32);
    for (k, v) in map {
        buf.put_i32_le(*k);
        if v.is_empty() {
            // A bare zero length would read as the high half of a 64-bit
            // key; write the 64-bit form (zero high half, then the length).
            buf.put_u32_le(0);
        }
        buf.put_u32_le(v.len() as u32);
        buf.put_slice(v.as_bytes());
    }
}

fn put_bucket(buf: &mut BytesMut, bucket: &Bucket) {
    let alg = bucket.alg().number();
    buf.put_u32_le(u32::from(alg));
    buf.put_i32_le(bucket.id);
    buf.put_u16_le(bucket.bucket_type);
    buf.put_u8(alg);
    buf.put_u8(bucket.hash);
    buf.put_u32_le(bucket.weight);
    buf.put_u32_le(bucket.items.len() as u32);
    for item in &bucket.items {
        buf.put_i32_le(*item);
    }
    let n = bucket.items.len();
    let at = |v: &[u32], i: usize| v.get(i).copied().unwrap_or(0);
    match &bucket.kind {
        BucketKind::Uniform { item_weight } => buf.put_u32_le(*item_weight),
        BucketKind::List {
            item_weights: a,
            sum_weights: b,
        }
        | BucketKind::Straw {
            item_weights: a,
            straws: b,
        } => {
            for i in 0..n {
                buf.put_u32_le(at(a, i));
                buf.put_u32_le(at(b, i));
            }
        }
        BucketKind::Tree {
            num_nodes,
            node_weights,
        } => {
            buf.put_u8(*num_nodes);
            for i in 0..usize::from(*num_nodes) {
                buf.put_u32_le(at(node_weights, i));
            }
        }
        BucketKind::Straw2 { item_weights } => {
            for i in 0..n {
                buf.put_u32_le(at(item_weights, i));
            }
        }
    }
}

fn put_choose_args(buf: &mut BytesMut, all: &BTreeMap<i64, ChooseArgMap>) {
    buf.put_u32_le(all.len() as u32);
    for (index, map) in all {
        buf.put_i64_le(*index);
        let live: Vec<_> = map.args.iter().filter(|(_, a)| !a.is_empty()).collect();
        buf.put_u32_le(live.len() as u32);
        for (bucket_index, arg) in live {
            buf.put_u32_le(*bucket_index);
            buf.put_u32_le(arg.weight_set.len() as u32);
            for set in &arg.weight_set {
                buf.put_u32_le(set.len() as u32);
                for w in set {
                    buf.put_u32_le(*w);
                }
            }
            buf.put_u32_le(arg.ids.len() as u32);
            for id in &arg.ids {
                buf.put_i32_le(*id);
            }
        }
    }
}

impl Encode for CrushMap {
    /// Writes the map with the sections it was decoded with (see
    /// [`CrushMap::tail`]); `features` are not consulted. Name maps are
    /// written with 32-bit keys.
    fn encode(&self, buf: &mut BytesMut, _features: u64) {
        buf.put_u32_le(CRUSH_MAGIC);
        buf.put_u32_le(self.buckets.len() as u32);
        buf.put_u32_le(self.rules.len() as u32);
        buf.put_i32_le(self.encoded_max_devices);
        for slot in &self.buckets {
            match slot {
                Some(b) => put_bucket(buf, b),
                None => buf.put_u32_le(0),
            }
        }
        for slot in &self.rules {
            let Some(rule) = slot else {
                buf.put_u32_le(0);
                continue;
            };
            buf.put_u32_le(1);
            buf.put_u32_le(rule.steps.len() as u32);
            buf.put_slice(&[rule.ruleset, rule.rule_type, rule.min_size, rule.max_size]);
            for s in &rule.steps {
                buf.put_u32_le(s.op.number());
                buf.put_i32_le(s.arg1);
                buf.put_i32_le(s.arg2);
            }
        }
        put_name_map(buf, &self.type_names);
        put_name_map(buf, &self.item_names);
        put_name_map(buf, &self.rule_names);
        let t = &self.tunables;
        let tail = self.tail;
        if tail >= TailSections::LocalTries {
            buf.put_u32_le(t.choose_local_tries);
            buf.put_u32_le(t.choose_local_fallback_tries);
            buf.put_u32_le(t.choose_total_tries);
        }
        if tail >= TailSections::DescendOnce {
            buf.put_u32_le(t.chooseleaf_descend_once);
        }
        if tail >= TailSections::VaryR {
            buf.put_u8(t.chooseleaf_vary_r);
        }
        if tail >= TailSections::StrawCalc {
            buf.put_u8(t.straw_calc_version);
        }
        if tail >= TailSections::AllowedAlgs {
            buf.put_u32_le(t.allowed_bucket_algs);
        }
        if tail >= TailSections::Stable {
            buf.put_u8(t.chooseleaf_stable);
        }
        if tail >= TailSections::Classes {
            self.class_map.encode(buf, 0);
            self.class_names.encode(buf, 0);
            self.class_buckets.encode(buf, 0);
        }
        if tail >= TailSections::ChooseArgs {
            put_choose_args(buf, &self.choose_args);
        }
        if tail >= TailSections::Msr {
            buf.put_u32_le(t.msr_descents);
            buf.put_u32_le(t.msr_collision_tries);
        }
    }
}

impl ChooseArgMap {
    /// Brings the map in line with the buckets, as Ceph does after
    /// decoding (`update_choose_args`): entries for missing or non-straw2
    /// buckets (and empty ones) are dropped. (Here, beside the decoding
    /// that calls it: `choose_args.rs` does not know buckets.)
    ///
    /// Ceph also pads a weight set shorter than its bucket with zeros and
    /// cuts a longer one; here the sets stay as decoded and
    /// [`ChooseArg::weight`] (and the mapper) read a missing weight as 0
    /// and never look past the bucket's items: the same mapping, without
    /// letting a set that costs 4 bytes on the wire allocate 4 bytes per
    /// bucket item (64 Ki empty sets against a 64 Ki-item bucket would be
    /// 16 GiB).
    pub(super) fn normalize(&mut self, buckets: &[Option<Bucket>]) {
        self.args.retain(|&index, arg| {
            let bucket = buckets.get(index as usize).and_then(Option::as_ref);
            bucket.is_some_and(|b| b.alg() == BucketAlg::Straw2) && !arg.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CrushMap {
        let host = Bucket {
            id: -2,
            bucket_type: 1,
            hash: 0,
            weight: 0x20000,
            items: vec![0, 1],
            kind: BucketKind::Straw2 {
                item_weights: vec![0x10000, 0x10000],
            },
        };
        let root = Bucket {
            id: -1,
            bucket_type: 2,
            hash: 0,
            weight: 0x20000,
            items: vec![-2],
            kind: BucketKind::Tree {
                num_nodes: 2,
                node_weights: vec![0, 0x20000],
            },
        };
        let mut choose_args = BTreeMap::new();
        let mut cam = ChooseArgMap::default();
        cam.args.insert(
            1,
            ChooseArg {
                weight_set: vec![vec![5, 6]],
                ids: vec![7, 8],
            },
        );
        choose_args.insert(-1, cam);
        CrushMap {
            buckets: vec![Some(root), Some(host), None],
            rules: vec![
                Some(Rule {
                    ruleset: 0,
                    rule_type: 1,
                    min_size: 1,
                    max_size: 10,
                    steps: vec![
                        RuleStep {
                            op: StepOp::Take,
                            arg1: -1,
                            arg2: 0,
                        },
                        RuleStep {
                            op: StepOp::ChooseLeafFirstN,
                            arg1: 0,
                            arg2: 1,
                        },
                        RuleStep {
                            op: StepOp::Emit,
                            arg1: 0,
                            arg2: 0,
                        },
                    ],
                }),
                None,
            ],
            encoded_max_devices: 2,
            type_names: [(0, "osd".into()), (1, "host".into()), (2, "root".into())].into(),
            item_names: [(0, "osd.0".into()), (-1, "default".into())].into(),
            rule_names: [(0, "r".into())].into(),
            tunables: Tunables::optimal(),
            class_map: [(0, 0), (1, 0)].into(),
            class_names: [(0, "hdd".into())].into(),
            class_buckets: [(-1, [(0, -3)].into())].into(),
            choose_args,
            tail: TailSections::Msr,
        }
    }

    #[test]
    fn round_trip_every_tail_length() {
        let full = sample();
        for tail in [
            TailSections::None,
            TailSections::LocalTries,
            TailSections::DescendOnce,
            TailSections::VaryR,
            TailSections::StrawCalc,
            TailSections::AllowedAlgs,
            TailSections::Stable,
            TailSections::Classes,
            TailSections::ChooseArgs,
            TailSections::Msr,
        ] {
            let mut m = full.clone();
            m.tail = tail;
            let bytes = m.to_bytes(0);
            let back = CrushMap::decode_exact(&bytes).unwrap();
            assert_eq!(back.tail, tail);
            assert_eq!(back.to_bytes(0), bytes, "{tail:?}");
            assert_eq!(back.buckets, full.buckets);
            assert_eq!(back.rules, full.rules);
            if tail == TailSections::Msr {
                assert_eq!(back, full);
            }
        }
    }

    #[test]
    fn truncations_fail_cleanly() {
        let bytes = sample().to_bytes(0);
        for len in 0..bytes.len() {
            // Every prefix either fails or decodes a shorter tail.
            if let Ok(m) = CrushMap::decode_exact(&bytes[..len]) {
                assert!(m.tail < TailSections::Msr);
            }
        }
    }

    #[test]
    fn rejects_bad_magic_and_huge_counts() {
        assert!(CrushMap::decode_exact(&[0, 0, 0, 0]).is_err());
        let mut b = CRUSH_MAGIC.to_le_bytes().to_vec();
        b.extend_from_slice(&0x7fff_ffffu32.to_le_bytes());
        b.extend_from_slice(&[0; 8]);
        assert!(CrushMap::decode_exact(&b).is_err());
        let mut b = CRUSH_MAGIC.to_le_bytes().to_vec();
        b.extend_from_slice(&0xffff_ffffu32.to_le_bytes());
        assert!(CrushMap::decode_exact(&b).is_err());
    }

    #[test]
    fn sixty_four_bit_name_keys() {
        // One entry, key 5 written as 64 bits, name "ab".
        let mut b = Vec::new();
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&5i32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&2u32.to_le_bytes());
        b.extend_from_slice(b"ab");
        let mut r = Reader::new(&b);
        let m = decode_name_map(&mut r).unwrap();
        assert!(r.is_empty());
        assert_eq!(m.get(&5).map(String::as_str), Some("ab"));
    }

    /// A straw2 bucket of `items` items and a choose_args entry for it with
    /// `positions` empty weight sets (4 bytes each on the wire), as the
    /// bytes of a whole map.
    fn empty_weight_sets(items: usize, positions: usize) -> Vec<u8> {
        let mut m = sample();
        if let Some(Some(host)) = m.buckets.get_mut(1) {
            host.items = (0..items as i32).collect();
            host.kind = BucketKind::Straw2 {
                item_weights: vec![0x10000; items],
            };
        }
        if let Some(cam) = m.choose_args.get_mut(&-1) {
            cam.args.insert(
                1,
                ChooseArg {
                    weight_set: vec![Vec::new(); positions],
                    ids: Vec::new(),
                },
            );
        }
        m.to_bytes(0).to_vec()
    }

    #[test]
    fn empty_weight_sets_cost_no_more_memory_than_their_bytes() {
        // Before: each empty set was resized to the bucket's size, 4096
        // positions x 4096 items = 64 MiB from 48 KiB; 64 Ki x 64 Ki would
        // be 16 GiB from 768 KiB.
        let bytes = empty_weight_sets(4096, 4096);
        let m = CrushMap::decode_exact(&bytes).unwrap();
        let weights: usize = m
            .choose_args
            .values()
            .flat_map(|cam| cam.args.values())
            .flat_map(|a| a.weight_set.iter())
            .map(Vec::len)
            .sum();
        assert!(
            weights * 4 <= bytes.len(),
            "{weights} weights held from {} bytes",
            bytes.len()
        );
        // The entry is kept, and its missing weights read as 0 (Ceph pads
        // them with zeros): the mapper sees the same map.
        let arg = m.choose_args[&-1].for_bucket(-2).unwrap();
        assert_eq!(arg.weight_set.len(), 4096);
        assert_eq!(arg.weight(4095, 7), Some(0));
        assert_eq!(arg.weight(9999, 4095), Some(0));
    }

    #[test]
    fn choose_args_ids_must_match_bucket_size() {
        let mut m = sample();
        if let Some(cam) = m.choose_args.get_mut(&-1) {
            if let Some(a) = cam.args.get_mut(&1) {
                a.ids = vec![1];
            }
        }
        assert!(CrushMap::decode_exact(&m.to_bytes(0)).is_err());
    }
}
