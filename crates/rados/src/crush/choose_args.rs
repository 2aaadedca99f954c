//! choose_args: alternative weights (per output position) and ids that
//! straw2 buckets use instead of their own when a mapping asks for them.
//!
//! A map holds any number of choose_args maps keyed by a 64-bit index:
//! the pool id, or [`DEFAULT_CHOOSE_ARGS`] (-1) for the "compat" weight
//! set that the balancer writes and every pool without its own falls back
//! to.

use std::collections::BTreeMap;

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
    /// The weight of item `index` at output `position`: a position past
    /// the last uses the last; an item past the end of the set weighs 0
    /// (Ceph pads a short set with zeros). `None` when the entry has no
    /// weight set.
    pub fn weight(&self, position: usize, index: usize) -> Option<u32> {
        let last = self.weight_set.len().checked_sub(1)?;
        let set = self.weight_set.get(position.min(last))?;
        Some(set.get(index).copied().unwrap_or(0))
    }

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crush::bucket::Bucket;
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
    fn normalize_drops_and_keeps_sets_as_decoded() {
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
        // Ceph pads the first to [1, 2, 0] and cuts the second to [5, 6]:
        // the weights read are the same.
        let a = &m.args[&0];
        let read: Vec<Option<u32>> = (0..3).map(|i| a.weight(0, i)).collect();
        assert_eq!(read, vec![Some(1), Some(2), Some(0)]);
        assert_eq!(m.args[&2].weight(5, 1), Some(6));
        assert_eq!(ChooseArg::default().weight(0, 0), None);
        assert_eq!(m.for_bucket(-3).map(|a| a.weight_set.len()), Some(1));
        assert!(m.for_bucket(0).is_none());
    }
}
