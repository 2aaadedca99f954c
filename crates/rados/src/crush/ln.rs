//! Fixed-point logarithm used by straw2 buckets.

use super::ln_table::{LL, RH_LH};

/// The mantissa step of the smallest normalised input (`0x8000 >> 8 << 1`),
/// which maps to the first pair of [`RH_LH`].
const LH_INDEX_BASE: usize = 256;

/// `2^44 * log2(x + 1)` for `x` in `0..=0xffff`, in Ceph's fixed point
/// (`crush_ln`), computed from the two lookup tables exactly as Ceph does
/// so that straw2 draws agree bit for bit.
///
/// Inputs above `0xffff` are masked to 17 bits like the C code's shifts;
/// the mapper never passes them.
pub fn crush_ln(xin: u32) -> u64 {
    let mut x = xin.wrapping_add(1);
    let mut exponent: u64 = 15;
    // Normalise so that bit 15 or 16 is set, in one shift.
    if x & 0x18000 == 0 {
        let bits = (x & 0x1ffff).leading_zeros().saturating_sub(16);
        x <<= bits;
        exponent = 15u64.wrapping_sub(u64::from(bits));
    }
    // Which 1/128 step of the mantissa x falls in.
    let step = ((x >> 8) << 1) as usize;
    let idx = step.wrapping_sub(LH_INDEX_BASE);
    let reciprocal = RH_LH.get(idx).copied().unwrap_or(0);
    let coarse = RH_LH.get(idx.wrapping_add(1)).copied().unwrap_or(0);
    // x scaled by the reciprocal leaves the small remainder in bits 48..56.
    let scaled = (i64::from(x) as u64).wrapping_mul(reciprocal as u64) >> 48;
    let fine = LL[(scaled & 0xff) as usize];
    let log_part = (coarse as u64).wrapping_add(fine as u64) >> (48 - 12 - 32);
    (exponent << (12 + 32)).wrapping_add(log_part)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        // log2(1) = 0. At the top the table's last pair holds
        // 2^48 - 2^32 instead of 2^48, so log2(0x10000) comes out just
        // under 16: 0xfffff0000000 rather than 16 << 44 (Ceph's value too).
        assert_eq!(crush_ln(0), 0);
        assert_eq!(crush_ln(0xffff), 0xffff_f000_0000);
    }

    #[test]
    fn close_to_the_real_logarithm() {
        for x in [1u32, 2, 3, 10, 100, 1000, 0x7fff, 0x8000, 0xabcd, 0xfffe] {
            let exact = f64::from(x + 1).log2() * (1u64 << 44) as f64;
            let got = crush_ln(x) as f64;
            assert!(
                (got - exact).abs() / exact < 1e-4,
                "x={x}: {got} vs {exact}"
            );
        }
    }

    #[test]
    fn monotone_over_the_domain() {
        let mut last = 0;
        // Up to 0xfffe; the last input dips below its neighbour (see above).
        for x in 0..=0xfffeu32 {
            let v = crush_ln(x);
            assert!(v >= last, "not monotone at {x}");
            last = v;
        }
    }
}
