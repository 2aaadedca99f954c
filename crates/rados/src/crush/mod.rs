//! CRUSH: the map that describes the cluster's failure domains, and the
//! deterministic, pseudo-random placement function that maps an input (a
//! placement group's seed) to a list of OSDs.
//!
//! * [`CrushMap`]: decoded from (and encoded to) Ceph's `CrushWrapper`
//!   wire form with [`Decode`](ceph_encoding::Decode) /
//!   [`Encode`](ceph_encoding::Encode): buckets of all five algorithms
//!   ([`BucketKind`]), rules ([`Rule`]), names, [`Tunables`], device
//!   classes with their shadow trees, and choose_args ([`ChooseArgMap`]).
//! * [`CrushMap::do_rule`]: the mapper, equal bit for bit to Ceph's
//!   `crush_do_rule` (take, choose / chooseleaf in firstn and indep modes,
//!   the `set_*` steps, emit; every tunable; choose_args weight sets and
//!   ids; the per-device weight vector).
//! * [`hash`] and [`crush_ln`]: the rjenkins1 hashes and the fixed-point
//!   logarithm behind straw2.
//!
//! Not yet supported: the MSR rule types of Squid and later
//! ([`Rule::is_msr`]); `do_rule` returns nothing for them.
//!
//! ```
//! use ceph_encoding::{Decode, Encode};
//! use ceph_rados::crush::{CrushMap, TailSections, Tunables};
//!
//! // An empty map with modern tunables, encoded with every optional section.
//! let map = CrushMap {
//!     tunables: Tunables::optimal(),
//!     tail: TailSections::Msr,
//!     ..CrushMap::default()
//! };
//! let bytes = map.to_bytes(0);
//! assert_eq!(CrushMap::decode_exact(&bytes)?, map);
//! // No rule 0 in an empty map: nothing is placed.
//! assert!(map.do_rule(0, 42, 3, &[], None).is_empty());
//! # Ok::<(), ceph_encoding::DecodeError>(())
//! ```

mod bucket;
mod choose_args;
mod decode;
#[cfg(any(fuzzing, test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod hash;
mod item;
mod ln;
mod ln_table;
mod map;
mod mapper;
mod rule;
mod tunables;

pub use bucket::{exponential_draw, Bucket, BucketAlg, BucketKind};
pub use choose_args::{ChooseArg, ChooseArgMap, DEFAULT_CHOOSE_ARGS};
pub use decode::CRUSH_MAGIC;
pub use item::ITEM_NONE;
pub use ln::crush_ln;
pub use map::{CrushMap, TailSections};
pub use mapper::MAX_MAPPING_WORK;
pub use rule::{rule_type, Rule, RuleStep, StepOp};
pub use tunables::{Tunables, LEGACY_ALLOWED_BUCKET_ALGS};
