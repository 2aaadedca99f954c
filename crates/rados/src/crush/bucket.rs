//! Buckets: the interior nodes of the CRUSH hierarchy, and how each of the
//! five algorithms picks one of its items for an input `x` and a replica
//! rank `r`.
//!
//! The uniform bucket (and the local fallback search of every algorithm)
//! draws from a pseudo-random permutation that is built lazily and kept in
//! a [`Permutation`] for the duration of one mapping.

use super::choose_args::ChooseArg;
use super::hash::{hash32_3, hash32_4};
use super::item::ITEM_NONE;
use super::ln::crush_ln;

/// The bucket algorithms, by their numbers on the wire (`CRUSH_BUCKET_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BucketAlg {
    /// Every item has the same weight; choice by permutation.
    Uniform,
    /// A linked list, cheap to append to.
    List,
    /// A weighted binary tree.
    Tree,
    /// The original straw algorithm (precomputed straw lengths).
    Straw,
    /// Straw2: independent exponential draws, the modern default.
    Straw2,
}

impl BucketAlg {
    /// The wire number of this algorithm.
    pub fn number(self) -> u8 {
        match self {
            Self::Uniform => 1,
            Self::List => 2,
            Self::Tree => 3,
            Self::Straw => 4,
            Self::Straw2 => 5,
        }
    }

    /// The algorithm with wire number `n`, if there is one.
    pub fn from_number(n: u32) -> Option<Self> {
        Some(match n {
            1 => Self::Uniform,
            2 => Self::List,
            3 => Self::Tree,
            4 => Self::Straw,
            5 => Self::Straw2,
            _ => return None,
        })
    }

    /// The name `crushtool` prints for this algorithm.
    pub fn name(self) -> &'static str {
        match self {
            Self::Uniform => "uniform",
            Self::List => "list",
            Self::Tree => "tree",
            Self::Straw => "straw",
            Self::Straw2 => "straw2",
        }
    }
}

/// The per-algorithm part of a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketKind {
    /// Uniform: one weight shared by all items.
    Uniform {
        /// Weight of each item (16.16 fixed point).
        item_weight: u32,
    },
    /// List: per-item weights and running sums.
    List {
        /// Weight of each item (16.16).
        item_weights: Vec<u32>,
        /// Sum of the weights of items `0..=i` (16.16).
        sum_weights: Vec<u32>,
    },
    /// Tree: node weights of a binary tree whose odd nodes are leaves.
    Tree {
        /// Number of tree nodes (a power of two).
        num_nodes: u8,
        /// Weight of each node (16.16); leaf `i` is node `2i + 1`.
        node_weights: Vec<u32>,
    },
    /// Straw (v1): per-item weights and precomputed straw lengths.
    Straw {
        /// Weight of each item (16.16).
        item_weights: Vec<u32>,
        /// Straw length of each item (16.16).
        straws: Vec<u32>,
    },
    /// Straw2: per-item weights.
    Straw2 {
        /// Weight of each item (16.16).
        item_weights: Vec<u32>,
    },
}

/// One bucket of the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// The bucket's id (negative; bucket slot `i` holds id `-1 - i`).
    pub id: i32,
    /// The bucket's type (an index into the map's type names; 0 is devices).
    pub bucket_type: u16,
    /// The hash function (only [`HASH_RJENKINS1`](super::hash::HASH_RJENKINS1)
    /// is defined).
    pub hash: u8,
    /// Total weight of the bucket (16.16).
    pub weight: u32,
    /// Children: devices (>= 0) and buckets (< 0).
    pub items: Vec<i32>,
    /// Algorithm-specific data.
    pub kind: BucketKind,
}

impl Bucket {
    /// The bucket's algorithm.
    pub fn alg(&self) -> BucketAlg {
        match self.kind {
            BucketKind::Uniform { .. } => BucketAlg::Uniform,
            BucketKind::List { .. } => BucketAlg::List,
            BucketKind::Tree { .. } => BucketAlg::Tree,
            BucketKind::Straw { .. } => BucketAlg::Straw,
            BucketKind::Straw2 { .. } => BucketAlg::Straw2,
        }
    }

    /// Number of items, as the 32-bit size the C code works with.
    pub fn size(&self) -> u32 {
        u32::try_from(self.items.len()).unwrap_or(u32::MAX)
    }

    /// The weight of the item at `pos` (16.16), 0 if there is none.
    pub fn item_weight(&self, pos: usize) -> u32 {
        if pos >= self.items.len() {
            return 0;
        }
        match &self.kind {
            BucketKind::Uniform { item_weight } => *item_weight,
            BucketKind::List { item_weights, .. }
            | BucketKind::Straw { item_weights, .. }
            | BucketKind::Straw2 { item_weights } => item_weights.get(pos).copied().unwrap_or(0),
            BucketKind::Tree { node_weights, .. } => pos
                .checked_mul(2)
                .and_then(|n| node_weights.get(n + 1))
                .copied()
                .unwrap_or(0),
        }
    }

    /// The item at position `pos`, falling back to the first item for an
    /// index a malformed bucket cannot honour (never reached on a
    /// well-formed map). Callers make sure the bucket is not empty.
    fn item_at(&self, pos: usize) -> i32 {
        self.items
            .get(pos)
            .or_else(|| self.items.first())
            .copied()
            .unwrap_or(ITEM_NONE)
    }

    /// Chooses an item for input `x` and rank `r` with the bucket's own
    /// algorithm (`crush_bucket_choose`). `perm` is this bucket's
    /// permutation state (used by uniform buckets); `arg` the bucket's
    /// choose_args entry (used by straw2) and `position` the output slot,
    /// which selects the weight set.
    pub(super) fn choose(
        &self,
        perm: &mut Permutation,
        x: i32,
        r: i32,
        arg: Option<&ChooseArg>,
        position: usize,
    ) -> i32 {
        match &self.kind {
            BucketKind::Uniform { .. } => perm.choose(self, x, r),
            BucketKind::List {
                item_weights,
                sum_weights,
            } => self.list_choose(item_weights, sum_weights, x, r),
            BucketKind::Tree { node_weights, .. } => self.tree_choose(node_weights, x, r),
            BucketKind::Straw { straws, .. } => self.straw_choose(straws, x, r),
            BucketKind::Straw2 { item_weights } => {
                self.straw2_choose(item_weights, x, r, arg, position)
            }
        }
    }

    /// List: walk from the tail; each item takes the input with probability
    /// its weight over the sum of the weights up to it.
    fn list_choose(&self, item_weights: &[u32], sum_weights: &[u32], x: i32, r: i32) -> i32 {
        for i in (0..self.items.len()).rev() {
            let item = self.items[i];
            let draw = u64::from(
                hash32_4(self.hash, x as u32, item as u32, r as u32, self.id as u32) & 0xffff,
            );
            let sum = u64::from(sum_weights.get(i).copied().unwrap_or(0));
            let scaled = (draw * sum) >> 16;
            if scaled < u64::from(item_weights.get(i).copied().unwrap_or(0)) {
                return item;
            }
        }
        self.item_at(0)
    }

    /// Tree: descend from the root, going left with probability the left
    /// subtree's share of the node weight.
    fn tree_choose(&self, node_weights: &[u32], x: i32, r: i32) -> i32 {
        let num_nodes = match &self.kind {
            BucketKind::Tree { num_nodes, .. } => u32::from(*num_nodes),
            _ => 0,
        };
        let mut n = num_nodes >> 1;
        // Leaves are the odd nodes. A node of 0 cannot be descended from
        // (only a malformed bucket has one): settle for the first item.
        while n & 1 == 0 {
            if n == 0 {
                return self.item_at(0);
            }
            let Some(&w) = node_weights.get(n as usize) else {
                return self.item_at(0);
            };
            let t = (u64::from(hash32_4(self.hash, x as u32, n, r as u32, self.id as u32))
                * u64::from(w))
                >> 32;
            let half = 1u32 << (n.trailing_zeros() - 1);
            let left = n - half;
            let left_weight = node_weights.get(left as usize).copied().unwrap_or(0);
            n = if t < u64::from(left_weight) {
                left
            } else {
                n + half
            };
        }
        self.item_at((n >> 1) as usize)
    }

    /// Straw (v1): the longest scaled straw wins; ties keep the first.
    fn straw_choose(&self, straws: &[u32], x: i32, r: i32) -> i32 {
        let mut best = 0usize;
        let mut best_draw = 0u64;
        for (i, &item) in self.items.iter().enumerate() {
            let draw = u64::from(hash32_3(self.hash, x as u32, item as u32, r as u32) & 0xffff)
                * u64::from(straws.get(i).copied().unwrap_or(0));
            if i == 0 || draw > best_draw {
                best = i;
                best_draw = draw;
            }
        }
        self.item_at(best)
    }

    /// Straw2: each item draws an exponential variable scaled by its
    /// weight; the largest draw wins. choose_args may replace the weights
    /// (per output position) and the ids fed to the hash.
    fn straw2_choose(
        &self,
        item_weights: &[u32],
        x: i32,
        r: i32,
        arg: Option<&ChooseArg>,
        position: usize,
    ) -> i32 {
        // A choose_args weight set shorter than the bucket reads as padded
        // with zeros (as Ceph pads it after decoding).
        let weights: &[u32] = match arg {
            Some(a) if !a.weight_set.is_empty() => {
                let p = position.min(a.weight_set.len() - 1);
                a.weight_set.get(p).map_or(&[], Vec::as_slice)
            }
            _ => item_weights,
        };
        let ids: &[i32] = match arg {
            Some(a) if !a.ids.is_empty() => &a.ids,
            _ => &self.items,
        };
        let mut best = 0usize;
        let mut best_draw = 0i64;
        for i in 0..self.items.len() {
            let w = weights.get(i).copied().unwrap_or(0);
            let draw = if w == 0 {
                i64::MIN
            } else {
                let id = ids.get(i).copied().unwrap_or(0);
                exponential_draw(self.hash, x, id, r, w)
            };
            if i == 0 || draw > best_draw {
                best = i;
                best_draw = draw;
            }
        }
        self.item_at(best)
    }
}

/// Straw2's draw (`generate_exponential_distribution`): `ln(u) / weight`
/// for a uniform `u` in `(0, 1]` from the hash, in fixed point. Always
/// `<= 0`; a heavier item draws closer to zero.
pub fn exponential_draw(hash: u8, x: i32, id: i32, r: i32, weight: u32) -> i64 {
    let u = hash32_3(hash, x as u32, id as u32, r as u32) & 0xffff;
    // crush_ln maps [0, 0xffff] to [0, 2^48]; subtracting 2^48 gives the
    // natural-log-like negative value.
    let ln = (crush_ln(u) as i64).wrapping_sub(0x1_0000_0000_0000);
    // The C code passes the weight through an `int` parameter.
    let divisor = i64::from(weight as i32);
    ln.checked_div(divisor).unwrap_or(i64::MIN)
}

/// The lazily built random permutation of a bucket's items for one input
/// `x` (`crush_work_bucket`). Fresh state for every mapping.
#[derive(Debug, Clone, Default)]
pub struct Permutation {
    x: u32,
    /// How many leading entries of `perm` are final; `SHORTCUT` after the
    /// rank-0 shortcut, which fills only `perm[0]`.
    n: u32,
    perm: Vec<u32>,
}

/// Marks the state left by the rank-0 shortcut.
const SHORTCUT: u32 = 0xffff;

impl Permutation {
    /// Picks the item at rank `r` of the permutation of `bucket`'s items
    /// for input `x` (`bucket_perm_choose`). The bucket must not be empty.
    pub(super) fn choose(&mut self, bucket: &Bucket, x: i32, r: i32) -> i32 {
        let size = bucket.size();
        if size == 0 {
            return ITEM_NONE;
        }
        let x = x as u32;
        let rank = (r as u32) % size;
        if self.perm.len() != size as usize {
            self.perm = vec![0; size as usize];
            self.n = 0;
        }
        if self.x != x || self.n == 0 {
            self.x = x;
            if rank == 0 {
                // Only the first entry is needed: draw it directly.
                let s = hash32_3(bucket.hash, x, bucket.id as u32, 0) % size;
                self.perm[0] = s;
                self.n = SHORTCUT;
                return bucket.item_at(s as usize);
            }
            for (i, p) in self.perm.iter_mut().enumerate() {
                *p = i as u32;
            }
            self.n = 0;
        } else if self.n == SHORTCUT {
            // Expand the shortcut into a proper prefix of length one.
            let first = self.perm[0];
            for (i, p) in self.perm.iter_mut().enumerate().skip(1) {
                *p = i as u32;
            }
            if let Some(slot) = self.perm.get_mut(first as usize) {
                *slot = 0;
            }
            self.perm[0] = first;
            self.n = 1;
        }
        // Fisher-Yates, one step per rank, up to the rank asked for.
        while self.n <= rank {
            let p = self.n;
            if p < size - 1 {
                let i = hash32_3(bucket.hash, x, bucket.id as u32, p) % (size - p);
                if i != 0 {
                    self.perm.swap(p as usize, (p + i) as usize);
                }
            }
            self.n += 1;
        }
        let s = self.perm[rank as usize];
        bucket.item_at(s as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uniform(items: Vec<i32>) -> Bucket {
        Bucket {
            id: -1,
            bucket_type: 1,
            hash: 0,
            weight: 0x10000 * items.len() as u32,
            items,
            kind: BucketKind::Uniform {
                item_weight: 0x10000,
            },
        }
    }

    #[test]
    fn permutation_is_a_permutation() {
        let b = uniform((0..7).collect());
        for x in 0..50 {
            let mut p = Permutation::default();
            let mut seen: Vec<i32> = (0..7).map(|r| p.choose(&b, x, r)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..7).collect::<Vec<_>>(), "x={x}");
        }
    }

    #[test]
    fn shortcut_agrees_with_full_permutation() {
        let b = uniform((10..19).collect());
        for x in 0..100 {
            // Rank 0 first (shortcut), then rank 3; versus rank 3 first.
            let mut a = Permutation::default();
            let first = a.choose(&b, x, 0);
            let a3 = a.choose(&b, x, 3);
            let mut c = Permutation::default();
            let c3 = c.choose(&b, x, 3);
            let c0 = c.choose(&b, x, 0);
            assert_eq!((first, a3), (c0, c3), "x={x}");
        }
    }

    #[test]
    fn straw2_zero_weight_never_wins_unless_alone() {
        let b = Bucket {
            id: -2,
            bucket_type: 1,
            hash: 0,
            weight: 0x10000,
            items: vec![0, 1],
            kind: BucketKind::Straw2 {
                item_weights: vec![0, 0x10000],
            },
        };
        let mut p = Permutation::default();
        for x in 0..200 {
            assert_eq!(b.choose(&mut p, x, 0, None, 0), 1);
        }
    }

    #[test]
    fn malformed_tree_does_not_loop() {
        let b = Bucket {
            id: -1,
            bucket_type: 1,
            hash: 0,
            weight: 0,
            items: vec![3],
            kind: BucketKind::Tree {
                num_nodes: 0,
                node_weights: vec![],
            },
        };
        let mut p = Permutation::default();
        assert_eq!(b.choose(&mut p, 1, 0, None, 0), 3);
    }
}
