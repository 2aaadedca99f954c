//! Random bytes for nonces and confounders.

/// Fills `out` with random bytes from the operating system. getrandom only
/// fails when the OS has no entropy source at all; a clock-derived value is
/// then better than aborting the handshake (these values are nonces and
/// confounders, never keys).
pub fn random_bytes(out: &mut [u8]) {
    if getrandom::fill(out).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x5eed);
        for (i, b) in out.iter_mut().enumerate() {
            *b = (t.rotate_left((i % 8) as u32 * 8) >> 56) as u8 ^ i as u8;
        }
    }
}
