//! The decoded CRUSH map and its lookups.

use std::collections::BTreeMap;

use super::bucket::Bucket;
use super::choose_args::{ChooseArgMap, DEFAULT_CHOOSE_ARGS};
use super::rule::Rule;
use super::tunables::Tunables;

/// A CRUSH map (Ceph's `CrushWrapper`): the hierarchy, the rules, the
/// names, the tunables, device classes and choose_args.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CrushMap {
    /// Buckets by slot: slot `i` holds the bucket with id `-1 - i`, or
    /// nothing. The slot count is the map's `max_buckets`.
    pub buckets: Vec<Option<Bucket>>,
    /// Rules by id; the count is the map's `max_rules`.
    pub rules: Vec<Option<Rule>>,
    /// `max_devices` as encoded (kept for re-encoding; the mapper uses
    /// [`CrushMap::max_devices`], computed from the buckets as Ceph does).
    pub encoded_max_devices: i32,
    /// Bucket type names by type id (type 0 is the device type).
    pub type_names: BTreeMap<i32, String>,
    /// Names of devices (ids >= 0) and buckets (ids < 0).
    pub item_names: BTreeMap<i32, String>,
    /// Rule names by rule id.
    pub rule_names: BTreeMap<i32, String>,
    /// The tunables.
    pub tunables: Tunables,
    /// Device (and shadow bucket) class ids, by item id.
    pub class_map: BTreeMap<i32, i32>,
    /// Class names by class id.
    pub class_names: BTreeMap<i32, String>,
    /// Shadow trees: for each original bucket id, its per-class shadow
    /// bucket ids (class id -> shadow bucket id).
    pub class_buckets: BTreeMap<i32, BTreeMap<i32, i32>>,
    /// choose_args maps by index (pool id, or -1 for the compat set).
    pub choose_args: BTreeMap<i64, ChooseArgMap>,
    /// How many of the optional trailing sections the encoding carried
    /// (see [`TailSections`]); the encoder writes the same ones back.
    pub tail: TailSections,
}

/// How far the optional tail of an encoded map reaches. Older encoders
/// stop earlier; each section is present only if the bytes go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum TailSections {
    /// Nothing after the rule names (argonaut).
    #[default]
    None,
    /// `choose_local_tries`, `choose_local_fallback_tries`, `choose_total_tries`.
    LocalTries,
    /// ... and `chooseleaf_descend_once`.
    DescendOnce,
    /// ... and `chooseleaf_vary_r`.
    VaryR,
    /// ... and `straw_calc_version`.
    StrawCalc,
    /// ... and `allowed_bucket_algs`.
    AllowedAlgs,
    /// ... and `chooseleaf_stable`.
    Stable,
    /// ... and the device classes (class map, names, shadow buckets).
    Classes,
    /// ... and choose_args.
    ChooseArgs,
    /// ... and the MSR tunables.
    Msr,
}

/// Device ids [`CrushMap::default_device_weights`] covers beyond what the
/// map's own item count allows, so that small maps with gaps in their ids
/// (removed OSDs) keep every device.
pub const MAX_DEVICE_ID_SLACK: usize = 1024;

/// Weight slots [`CrushMap::default_device_weights`] allows per item linked
/// in the map's buckets. Each item takes at least 4 bytes of the encoded
/// map, so the vector is at most a fixed factor of the map's length.
pub const DEVICE_SLOTS_PER_ITEM: usize = 4;

impl CrushMap {
    /// The map's `max_buckets`: the number of bucket slots.
    pub fn max_buckets(&self) -> usize {
        self.buckets.len()
    }

    /// One more than the largest device id found in any bucket (0 if
    /// none), which is what Ceph's mapper uses as `max_devices`.
    pub fn max_devices(&self) -> i32 {
        self.buckets
            .iter()
            .flatten()
            .flat_map(|b| b.items.iter())
            .filter(|&&item| item >= 0)
            .map(|&item| item.saturating_add(1))
            .max()
            .unwrap_or(0)
    }

    /// The bucket with id `id` (< 0), if it exists.
    pub fn bucket(&self, id: i32) -> Option<&Bucket> {
        let index = usize::try_from(-1i64 - i64::from(id)).ok()?;
        self.buckets.get(index)?.as_ref()
    }

    /// The rule with id `id`, if it exists.
    pub fn rule(&self, id: u32) -> Option<&Rule> {
        self.rules.get(id as usize)?.as_ref()
    }

    /// The id of the rule named `name`.
    pub fn rule_id(&self, name: &str) -> Option<u32> {
        self.rule_names
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .and_then(|(id, _)| u32::try_from(*id).ok())
    }

    /// The id of the item (device or bucket) named `name`.
    pub fn item_id(&self, name: &str) -> Option<i32> {
        self.item_names
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(id, _)| *id)
    }

    /// The choose_args map to use for `index` (a pool id): its own, else
    /// the compat one (-1), else none (`choose_args_get_with_fallback`).
    pub fn choose_args_with_fallback(&self, index: i64) -> Option<&ChooseArgMap> {
        self.choose_args
            .get(&index)
            .or_else(|| self.choose_args.get(&DEFAULT_CHOOSE_ARGS))
    }

    /// Whether `id` is one of the devices or buckets linked into some
    /// bucket (`check_item_present`), which `crushtool --test` uses to give
    /// unlinked devices a weight of 0.
    pub fn item_is_linked(&self, id: i32) -> bool {
        self.buckets.iter().flatten().any(|b| b.items.contains(&id))
    }

    /// The weight vector `crushtool --test` uses: 1.0 (0x10000) for every
    /// linked device below [`max_devices`](Self::max_devices), 0 for the
    /// others.
    ///
    /// The vector is indexed by device id, so its length comes from the
    /// largest id, which the map's bytes choose: it is cut at
    /// [`DEVICE_SLOTS_PER_ITEM`] slots per linked item plus
    /// [`MAX_DEVICE_ID_SLACK`]. A device past the cut has no weight, which
    /// the mapper treats as out (weight 0), as it does any id past the end.
    pub fn default_device_weights(&self) -> Vec<u32> {
        let items = self.buckets.iter().flatten().map(|b| b.items.len());
        let cap = items.fold(MAX_DEVICE_ID_SLACK, |acc, n| {
            acc.saturating_add(n.saturating_mul(DEVICE_SLOTS_PER_ITEM))
        });
        let len = usize::try_from(self.max_devices()).unwrap_or(0).min(cap);
        let mut weights = vec![0u32; len];
        for item in self.buckets.iter().flatten().flat_map(|b| b.items.iter()) {
            if let Some(slot) = usize::try_from(*item).ok().and_then(|i| weights.get_mut(i)) {
                *slot = 0x10000;
            }
        }
        weights
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crush::bucket::BucketKind;

    fn map_with_items(items: Vec<i32>) -> CrushMap {
        CrushMap {
            buckets: vec![Some(Bucket {
                id: -1,
                bucket_type: 1,
                hash: 0,
                weight: 0x10000,
                items,
                kind: BucketKind::Uniform {
                    item_weight: 0x10000,
                },
            })],
            ..CrushMap::default()
        }
    }

    #[test]
    fn default_weights_cover_the_linked_devices() {
        let map = map_with_items(vec![0, 2, 3]);
        assert_eq!(map.default_device_weights(), [0x10000, 0, 0x10000, 0x10000]);
        assert!(map_with_items(vec![]).default_device_weights().is_empty());
    }

    /// A crafted device id sized the vector: 2^31-1 asked for 8 GiB.
    #[test]
    fn default_weights_are_bounded_by_the_map_not_by_an_id() {
        for id in [1 << 24, i32::MAX - 1, i32::MAX] {
            let map = map_with_items(vec![0, id]);
            let weights = map.default_device_weights();
            assert!(
                weights.len() <= MAX_DEVICE_ID_SLACK + 2 * DEVICE_SLOTS_PER_ITEM,
                "id {id}: {} weights",
                weights.len()
            );
            assert_eq!(weights[0], 0x10000, "id {id}");
        }
    }
}
