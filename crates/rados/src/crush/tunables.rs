//! Map-wide tunables: the knobs that keep old clusters' placements stable
//! while newer ones get better behaviour.

/// Bit mask of the bucket algorithms legacy maps allow (uniform, list, straw).
pub const LEGACY_ALLOWED_BUCKET_ALGS: u32 = (1 << 1) | (1 << 2) | (1 << 4);

/// The tunables of a map. A map that predates a tunable decodes with its
/// legacy value ([`Tunables::legacy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tunables {
    /// Retries within the same bucket after a collision.
    pub choose_local_tries: u32,
    /// Retries within the same bucket by exhaustive permutation search.
    pub choose_local_fallback_tries: u32,
    /// Total descents before giving up on a replica (counted as retries,
    /// hence the mapper's `+ 1`).
    pub choose_total_tries: u32,
    /// Whether chooseleaf firstn tries its leaf descent only once.
    pub chooseleaf_descend_once: u32,
    /// Feeds the outer rank into chooseleaf's leaf descent, shifted right by
    /// `vary_r - 1` (0 disables).
    pub chooseleaf_vary_r: u8,
    /// Whether chooseleaf firstn starts its leaf descent at rank 0.
    pub chooseleaf_stable: u8,
    /// Straw (v1) length calculation version (for building buckets; the
    /// mapper reads the stored straws).
    pub straw_calc_version: u8,
    /// Bit mask of the bucket algorithms new buckets may use.
    pub allowed_bucket_algs: u32,
    /// Total descents of MSR rules.
    pub msr_descents: u32,
    /// Collision retries of MSR rules.
    pub msr_collision_tries: u32,
}

impl Tunables {
    /// The values of a map that encodes no tunables (argonaut).
    pub fn legacy() -> Self {
        Self {
            choose_local_tries: 2,
            choose_local_fallback_tries: 5,
            choose_total_tries: 19,
            chooseleaf_descend_once: 0,
            chooseleaf_vary_r: 0,
            chooseleaf_stable: 0,
            straw_calc_version: 0,
            allowed_bucket_algs: LEGACY_ALLOWED_BUCKET_ALGS,
            msr_descents: 100,
            msr_collision_tries: 100,
        }
    }

    /// The values Ceph uses for new clusters (the jewel profile and later).
    pub fn optimal() -> Self {
        Self {
            choose_local_tries: 0,
            choose_local_fallback_tries: 0,
            choose_total_tries: 50,
            chooseleaf_descend_once: 1,
            chooseleaf_vary_r: 1,
            chooseleaf_stable: 1,
            straw_calc_version: 1,
            allowed_bucket_algs: LEGACY_ALLOWED_BUCKET_ALGS | (1 << 5),
            msr_descents: 100,
            msr_collision_tries: 100,
        }
    }
}

impl Default for Tunables {
    fn default() -> Self {
        Self::legacy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimal_allows_54() {
        // crushtool prints `tunable allowed_bucket_algs 54` for new maps.
        assert_eq!(Tunables::optimal().allowed_bucket_algs, 54);
        assert_eq!(Tunables::legacy().allowed_bucket_algs, 22);
    }
}
