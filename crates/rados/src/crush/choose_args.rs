//! choose_args: alternative weights (per output position) and ids that
//! straw2 buckets use instead of their own when a mapping asks for them.
//!
//! A map holds any number of choose_args maps keyed by a 64-bit index:
//! the pool id, or [`DEFAULT_CHOOSE_ARGS`] (-1) for the "compat" weight
//! set that the balancer writes and every pool without its own falls back
//! to.

use std::collections::BTreeMap;

use super::bucket::{Bucket, BucketAlg};

/// The index of the fallback choose_args map (`CrushWrapper::DEFAULT_CHOOSE_ARGS`).
pub const DEFAULT_CHOOSE_ARGS: i64 = -1;

/// Replacement weights and ids for one straw2 bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChooseArg {
    /// Weight sets, one per output position; a position past the last uses
    /// the last. Each holds one 16.16 weight per bucket item.
    pub weight_set: Vec<Vec<u32>>,
    /// Ids to hash instead of the bucket's items (empty: use the items).
    pub ids: Vec<i32>,
}

impl ChooseArg {
    /// Whether the entry replaces nothing.
    pub fn is_empty(&self) -> bool {
        self.weight_set.is_empty() && self.ids.is_empty()
    }
}

/// One choose_args map: entries by bucket index (`-1 - bucket id`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChooseArgMap {
    /// The entries, by bucket index.
    pub args: BTreeMap<u32, ChooseArg>,
}

impl ChooseArgMap {
    /// The entry for the bucket with id `bucket_id`, if any.
    pub fn for_bucket(&self, bucket_id: i32) -> Option<&ChooseArg> {
        let index = u32::try_from(-1i64 - i64::from(bucket_id)).ok()?;
        self.args.get(&index)
    }

    /// The number of weight-set positions of the map: that of the first
    /// bucket (by index) that has any, or 1 (`get_choose_args_positions`).
    pub fn positions(&self) -> usize {
        self.args
            .values()
            .map(|a| a.weight_set.len())
            .find(|&n| n != 0)
            .unwrap_or(1)
    }

    /// Brings the map in line with the buckets, as Ceph does after
    /// decoding (`update_choose_args`): entries for missing or non-straw2
    /// buckets (and empty ones) are dropped; weight sets of buckets with the map's number of
    /// positions are padded with zeros or cut to the bucket's size.
    pub(super) fn normalize(&mut self, buckets: &[Option<Bucket>]) {
        let positions = self.positions();
        self.args.retain(|&index, arg| {
            let bucket = buckets.get(index as usize).and_then(Option::as_ref);
            let Some(bucket) = bucket.filter(|b| b.alg() == BucketAlg::Straw2) else {
                return false;
            };
            if arg.is_empty() {
                return false;
            }
            if arg.weight_set.len() == positions {
                for set in &mut arg.weight_set {
                    set.resize(bucket.items.len(), 0);
                }
            }
            true
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crush::bucket::BucketKind;

    fn straw2(id: i32, n: usize) -> Bucket {
        Bucket {
            id,
            bucket_type: 1,
            hash: 0,
            weight: 0,
            items: (0..n as i32).collect(),
            kind: BucketKind::Straw2 {
                item_weights: vec![0x10000; n],
            },
        }
    }

    #[test]
    fn normalize_drops_and_resizes() {
        let buckets = vec![Some(straw2(-1, 3)), None, Some(straw2(-3, 2))];
        let mut m = ChooseArgMap::default();
        m.args.insert(
            0,
            ChooseArg {
                weight_set: vec![vec![1, 2]],
                ids: vec![],
            },
        );
        m.args.insert(1, ChooseArg::default());
        m.args.insert(
            2,
            ChooseArg {
                weight_set: vec![vec![5, 6, 7]],
                ids: vec![],
            },
        );
        m.normalize(&buckets);
        assert_eq!(m.args.len(), 2);
        assert_eq!(m.args[&0].weight_set, vec![vec![1, 2, 0]]);
        assert_eq!(m.args[&2].weight_set, vec![vec![5, 6]]);
        assert_eq!(m.for_bucket(-3).map(|a| a.weight_set.len()), Some(1));
        assert!(m.for_bucket(0).is_none());
    }
}
