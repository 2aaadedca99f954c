//! Ceph's flavour of crc32c.
//!
//! Ceph's `ceph_crc32c(seed, data)` (and the kernel's `crc32c()`) is the bare
//! Castagnoli CRC register update: no inversion of the seed on entry and none
//! of the result on exit. The usual CRC-32C (as the `crc32c` crate computes
//! it) inverts both, so `ceph_crc32c(seed, d) == !crc32c_append(!seed, d)`.

/// Ceph's `ceph_crc32c(seed, data)`: the Castagnoli CRC register update
/// without pre- or post-inversion.
#[must_use]
pub fn ceph_crc32c(seed: u32, data: &[u8]) -> u32 {
    !crc32c::crc32c_append(!seed, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_ceph_test_vectors() {
        // src/test/common/test_crc32c.cc: ceph_crc32c(0, "foo bar baz")
        assert_eq!(ceph_crc32c(0, b"foo bar baz"), 4_119_623_852);
        assert_eq!(ceph_crc32c(1234, b"foo bar baz"), 881_700_046);
        assert_eq!(ceph_crc32c(0, b"whiz bang boom"), 2_360_230_088);
        assert_eq!(ceph_crc32c(5678, b"whiz bang boom"), 3_743_019_208);
        assert_eq!(ceph_crc32c(u32::MAX, b""), u32::MAX);
        assert_eq!(ceph_crc32c(0, b""), 0);
        // Chaining equals one pass.
        let a = ceph_crc32c(7, b"hello ");
        assert_eq!(ceph_crc32c(a, b"world"), ceph_crc32c(7, b"hello world"));
    }
}
