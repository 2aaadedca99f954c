//! Object name hashing and the stable modulo that turn an object into a
//! placement group.

/// `CEPH_STR_HASH_LINUX`.
pub const STR_HASH_LINUX: u8 = 1;
/// `CEPH_STR_HASH_RJENKINS` (the default of every pool).
pub const STR_HASH_RJENKINS: u8 = 2;

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

fn le32(k: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    for (d, s) in w.iter_mut().zip(k) {
        *d = *s;
    }
    u32::from_le_bytes(w)
}

/// Bob Jenkins' 1997 hash over bytes, as Ceph hashes object names.
pub fn str_hash_rjenkins(key: &[u8]) -> u32 {
    let mut a: u32 = 0x9e37_79b9;
    let mut b: u32 = a;
    let mut c: u32 = 0;
    let mut chunks = key.chunks_exact(12);
    for k in &mut chunks {
        a = a.wrapping_add(le32(&k[0..4]));
        b = b.wrapping_add(le32(&k[4..8]));
        c = c.wrapping_add(le32(&k[8..12]));
        mix(&mut a, &mut b, &mut c);
    }
    let rest = chunks.remainder();
    c = c.wrapping_add(key.len() as u32);
    // The last 11 bytes: a takes 0..4, b 4..8, c 8..11 shifted up one byte
    // (its low byte holds the length).
    a = a.wrapping_add(le32(rest.get(0..rest.len().min(4)).unwrap_or_default()));
    if rest.len() > 4 {
        b = b.wrapping_add(le32(rest.get(4..rest.len().min(8)).unwrap_or_default()));
    }
    if rest.len() > 8 {
        c = c.wrapping_add(le32(rest.get(8..).unwrap_or_default()) << 8);
    }
    mix(&mut a, &mut b, &mut c);
    c
}

/// The Linux dcache hash, the other string hash a pool may use.
pub fn str_hash_linux(key: &[u8]) -> u32 {
    let mut hash: u64 = 0;
    for &c in key {
        let c = u64::from(c);
        hash = hash.wrapping_add((c << 4) + (c >> 4)).wrapping_mul(11);
    }
    hash as u32
}

/// The hash of a pool's kind `hash_type` over `key`; `None` for an unknown
/// kind.
pub fn str_hash(hash_type: u8, key: &[u8]) -> Option<u32> {
    match hash_type {
        STR_HASH_RJENKINS => Some(str_hash_rjenkins(key)),
        STR_HASH_LINUX => Some(str_hash_linux(key)),
        _ => None,
    }
}

/// What is hashed for an object: the locator key if set, else the name;
/// prefixed by the namespace and a 0x1f separator when there is one.
pub fn hash_input(name: &str, key: &str, nspace: &str) -> Vec<u8> {
    let k = if key.is_empty() { name } else { key };
    let mut v = Vec::with_capacity(nspace.len() + 1 + k.len());
    if !nspace.is_empty() {
        v.extend_from_slice(nspace.as_bytes());
        v.push(0x1f);
    }
    v.extend_from_slice(k.as_bytes());
    v
}

/// Ceph's stable modulo: `x mod b` that moves few inputs when `b` grows
/// (`bmask` is the next power of two minus one).
pub fn stable_mod(x: u32, b: u32, bmask: u32) -> u32 {
    if x & bmask < b {
        x & bmask
    } else {
        x & (bmask >> 1)
    }
}

/// The mask that goes with a PG count: enough low bits to hold
/// `pg_num - 1`.
pub fn pg_mask(pg_num: u32) -> u32 {
    let bits = 32 - pg_num.saturating_sub(1).leading_zeros();
    if bits >= 32 {
        u32::MAX
    } else {
        (1u32 << bits) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_stable_mod() {
        assert_eq!(pg_mask(32), 31);
        assert_eq!(pg_mask(33), 63);
        assert_eq!(pg_mask(1), 0);
        assert_eq!(pg_mask(12), 15);
        assert_eq!(stable_mod(0x1f, 32, 31), 0x1f);
        assert_eq!(stable_mod(13, 12, 15), 5);
        assert_eq!(stable_mod(11, 12, 15), 11);
    }

    #[test]
    fn hash_input_with_namespace_and_key() {
        assert_eq!(hash_input("obj", "", ""), b"obj");
        assert_eq!(hash_input("obj", "k", ""), b"k");
        assert_eq!(hash_input("obj", "", "ns"), b"ns\x1fobj");
    }
}
