//! CRUSH's integer hash: Robert Jenkins' 96-bit mix applied to two to five
//! 32-bit inputs (`rjenkins1`, hash type 0, the only one Ceph defines).
//!
//! A bucket names its hash type; for any type other than
//! [`HASH_RJENKINS1`] Ceph's hash functions return 0, and so do these.

/// The `rjenkins1` hash type, the only one CRUSH knows.
pub const HASH_RJENKINS1: u8 = 0;

const SEED: u32 = 1_315_423_911;
const X0: u32 = 231_232;
const Y0: u32 = 1_232;

/// One round of Jenkins' mix over three words; `c` carries the result.
///
/// Each line subtracts the other two words from one word (a, b, c in
/// turn) and folds in a shifted copy of the word subtracted last.
#[inline]
fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*b).wrapping_sub(*c) ^ (*c >> 13);
    *b = b.wrapping_sub(*c).wrapping_sub(*a) ^ (*a << 8);
    *c = c.wrapping_sub(*a).wrapping_sub(*b) ^ (*b >> 13);
    *a = a.wrapping_sub(*b).wrapping_sub(*c) ^ (*c >> 12);
    *b = b.wrapping_sub(*c).wrapping_sub(*a) ^ (*a << 16);
    *c = c.wrapping_sub(*a).wrapping_sub(*b) ^ (*b >> 5);
    *a = a.wrapping_sub(*b).wrapping_sub(*c) ^ (*c >> 3);
    *b = b.wrapping_sub(*c).wrapping_sub(*a) ^ (*a << 10);
    *c = c.wrapping_sub(*a).wrapping_sub(*b) ^ (*b >> 15);
}

/// Hash of one value (used by nothing in the mapper; provided for
/// completeness and tests).
pub fn hash32(hash_type: u8, a: u32) -> u32 {
    if hash_type != HASH_RJENKINS1 {
        return 0;
    }
    let mut h = SEED ^ a;
    let (mut a, mut b, mut x, mut y) = (a, a, X0, Y0);
    mix(&mut b, &mut x, &mut h);
    mix(&mut y, &mut a, &mut h);
    h
}

/// `crush_hash32_2`: hash of two values.
pub fn hash32_2(hash_type: u8, a: u32, b: u32) -> u32 {
    if hash_type != HASH_RJENKINS1 {
        return 0;
    }
    let mut h = SEED ^ a ^ b;
    let (mut a, mut b, mut x, mut y) = (a, b, X0, Y0);
    mix(&mut a, &mut b, &mut h);
    mix(&mut x, &mut a, &mut h);
    mix(&mut b, &mut y, &mut h);
    h
}

/// `crush_hash32_3`: hash of three values.
pub fn hash32_3(hash_type: u8, a: u32, b: u32, c: u32) -> u32 {
    if hash_type != HASH_RJENKINS1 {
        return 0;
    }
    let mut h = SEED ^ a ^ b ^ c;
    let (mut a, mut b, mut c, mut x, mut y) = (a, b, c, X0, Y0);
    mix(&mut a, &mut b, &mut h);
    mix(&mut c, &mut x, &mut h);
    mix(&mut y, &mut a, &mut h);
    mix(&mut b, &mut x, &mut h);
    mix(&mut y, &mut c, &mut h);
    h
}

/// `crush_hash32_4`: hash of four values.
pub fn hash32_4(hash_type: u8, a: u32, b: u32, c: u32, d: u32) -> u32 {
    if hash_type != HASH_RJENKINS1 {
        return 0;
    }
    let mut h = SEED ^ a ^ b ^ c ^ d;
    let (mut a, mut b, mut c, mut d, mut x, mut y) = (a, b, c, d, X0, Y0);
    mix(&mut a, &mut b, &mut h);
    mix(&mut c, &mut d, &mut h);
    mix(&mut a, &mut x, &mut h);
    mix(&mut y, &mut b, &mut h);
    mix(&mut c, &mut x, &mut h);
    mix(&mut y, &mut d, &mut h);
    h
}

/// `crush_hash32_5`: hash of five values.
pub fn hash32_5(hash_type: u8, a: u32, b: u32, c: u32, d: u32, e: u32) -> u32 {
    if hash_type != HASH_RJENKINS1 {
        return 0;
    }
    let mut h = SEED ^ a ^ b ^ c ^ d ^ e;
    let (mut a, mut b, mut c, mut d, mut e, mut x, mut y) = (a, b, c, d, e, X0, Y0);
    mix(&mut a, &mut b, &mut h);
    mix(&mut c, &mut d, &mut h);
    mix(&mut e, &mut x, &mut h);
    mix(&mut y, &mut a, &mut h);
    mix(&mut b, &mut x, &mut h);
    mix(&mut y, &mut c, &mut h);
    mix(&mut d, &mut x, &mut h);
    mix(&mut y, &mut e, &mut h);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values computed with an independent C build of Ceph's hash.c.
    #[test]
    fn known_answers() {
        assert_eq!(hash32(0, 0), 0x17c4_a80b);
        assert_eq!(hash32(0, 123_456_789), 0xe440_22e5);
        assert_eq!(hash32_2(0, 0, 0), 0x19ad_4ce9);
        assert_eq!(hash32_2(0, 1, u32::MAX), 0xa6cf_bfe3);
        assert_eq!(hash32_3(0, 1, 2, 3), 0x735a_d42b);
        assert_eq!(hash32_3(0, 0x7fff_ffff, -3i32 as u32, 17), 0x0207_b6ff);
        assert_eq!(hash32_4(0, 1, 2, 3, 4), 0x696d_1f16);
        assert_eq!(hash32_4(0, 42, u32::MAX, 7, -5i32 as u32), 0x52f5_747a);
        assert_eq!(hash32_5(0, 1, 2, 3, 4, 5), 0x4b42_a1a1);
        assert_eq!(hash32_5(0, 9, 8, 7, 6, -2i32 as u32), 0xde67_c339);
    }

    #[test]
    fn unknown_hash_type_is_zero() {
        assert_eq!(hash32_2(1, 5, 6), 0);
        assert_eq!(hash32_3(7, 5, 6, 7), 0);
        assert_eq!(hash32_4(2, 1, 2, 3, 4), 0);
        assert_eq!(hash32_5(3, 1, 2, 3, 4, 5), 0);
        assert_eq!(hash32(9, 1), 0);
    }
}
