//! The crc32c seeds of msgr2 frames. The crc is Ceph's
//! ([`ceph_crc32c`], from `ceph-common`: no inversion on entry or exit).
//!
//! msgr2 uses two seeds: the preamble crc is `ceph_crc32c(0, preamble[..28])`
//! and segment crcs are `ceph_crc32c(0xffff_ffff, segment)` (so the crc of
//! an empty segment is `0xffff_ffff`).

/// The seed of segment crcs (Ceph's `crc32c(-1)`).
pub const SEGMENT_CRC_SEED: u32 = u32::MAX;

/// The seed of preamble crcs.
pub const PREAMBLE_CRC_SEED: u32 = 0;

pub use ceph_common::ceph_crc32c;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds() {
        assert_eq!(ceph_crc32c(SEGMENT_CRC_SEED, b""), u32::MAX);
        assert_eq!(ceph_crc32c(PREAMBLE_CRC_SEED, b""), 0);
        assert_eq!(
            ceph_crc32c(PREAMBLE_CRC_SEED, b"foo bar baz"),
            4_119_623_852
        );
    }
}
