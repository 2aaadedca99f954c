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
    pub fn default_device_weights(&self) -> Vec<u32> {
        let max = usize::try_from(self.max_devices()).unwrap_or(0);
        let mut linked = vec![false; max];
        for item in self.buckets.iter().flatten().flat_map(|b| b.items.iter()) {
            if let Some(slot) = usize::try_from(*item).ok().and_then(|i| linked.get_mut(i)) {
                *slot = true;
            }
        }
        linked
            .into_iter()
            .map(|l| if l { 0x10000 } else { 0 })
            .collect()
    }
}
