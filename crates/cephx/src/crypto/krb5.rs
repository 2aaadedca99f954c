//! The `aes256k` cephx cipher (key type 2, `CEPH_CRYPTO_AES256KRB5`):
//! Kerberos's aes256-cts-hmac-sha384-192 of RFC 8009.
//!
//! For each key usage two keys are derived from the 32-byte base key with
//! the KDF of RFC 8009 section 3 (HMAC-SHA-384 in counter mode): Ke, for
//! AES-256 in CBC mode with ciphertext stealing (CBC-CS3, IV zero), and
//! Ki, for HMAC-SHA-384 truncated to 192 bits. A message is
//! `C | H` where `C = AES-CTS(Ke, confounder | plaintext)` with a random
//! 16-byte confounder, and `H = HMAC(Ki, IV | C)` (section 5).

use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use hmac::{Hmac, Mac};
use sha2::Sha384;
use zeroize::Zeroizing;

use super::usage::KeyUsage;
use crate::error::CephxError;

/// Length of a base key.
pub const KEY_LEN: usize = 32;
/// Length of the confounder before the plaintext.
pub const CONFOUNDER_LEN: usize = 16;
/// Length of the truncated HMAC after the ciphertext.
pub const MAC_LEN: usize = 24;
const BLOCK: usize = 16;

type HmacSha384 = Hmac<Sha384>;

/// The derived keys of one usage.
struct UsageKeys {
    ke: Zeroizing<[u8; 32]>,
    ki: Zeroizing<[u8; 24]>,
}

/// KDF-HMAC-SHA2 (RFC 8009 section 3) for outputs of at most 48 bytes:
/// the first `out.len()` bytes of HMAC-SHA-384(key, 1 | label | 0 | bits).
fn kdf(base: &[u8; KEY_LEN], label: &[u8], out: &mut [u8]) {
    let bits = (out.len() as u32) * 8;
    let mut mac = <HmacSha384 as KeyInit>::new_from_slice(base)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(&1u32.to_be_bytes());
    mac.update(label);
    mac.update(&[0]);
    mac.update(&bits.to_be_bytes());
    let full: Zeroizing<[u8; 48]> = Zeroizing::new(mac.finalize().into_bytes().into());
    out.copy_from_slice(&full[..out.len()]);
}

fn derive(base: &[u8; KEY_LEN], usage: KeyUsage, kind: u8, out: &mut [u8]) {
    let mut label = [0u8; 5];
    label[..4].copy_from_slice(&usage.to_be_bytes());
    label[4] = kind;
    kdf(base, &label, out);
}

fn usage_keys(base: &[u8; KEY_LEN], usage: KeyUsage) -> UsageKeys {
    let mut keys = UsageKeys {
        ke: Zeroizing::new([0; 32]),
        ki: Zeroizing::new([0; 24]),
    };
    derive(base, usage, 0xAA, &mut keys.ke[..]);
    derive(base, usage, 0x55, &mut keys.ki[..]);
    keys
}

fn mac(ki: &[u8; 24], ciphertext: &[u8]) -> HmacSha384 {
    let mut mac = <HmacSha384 as KeyInit>::new_from_slice(ki)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(&[0u8; BLOCK]);
    mac.update(ciphertext);
    mac
}

/// AES-256-CBC-CS3 with a zero IV; `data` must be at least one block.
fn cts_encrypt(ke: &[u8; 32], data: &[u8]) -> Vec<u8> {
    let cipher = aes::Aes256::new(&Array::from(*ke));
    let n = data.len();
    let blocks = n.div_ceil(BLOCK);
    let mut buf = Zeroizing::new(vec![0u8; blocks * BLOCK]);
    buf[..n].copy_from_slice(data);
    let mut prev = [0u8; BLOCK];
    for chunk in buf.chunks_exact_mut(BLOCK) {
        for (b, p) in chunk.iter_mut().zip(prev.iter()) {
            *b ^= p;
        }
        let block: &mut Array<u8, _> = chunk
            .try_into()
            .unwrap_or_else(|_| unreachable!("chunks are blocks"));
        cipher.encrypt_block(block);
        prev.copy_from_slice(chunk);
    }
    if blocks == 1 {
        return buf.to_vec();
    }
    // Swap the last two blocks and drop the padding's share of the
    // (now last) next-to-last block.
    let tail = n - (blocks - 1) * BLOCK;
    let mut out = Vec::with_capacity(n);
    out.extend_from_slice(&buf[..(blocks - 2) * BLOCK]);
    out.extend_from_slice(&buf[(blocks - 1) * BLOCK..]);
    out.extend_from_slice(&buf[(blocks - 2) * BLOCK..(blocks - 2) * BLOCK + tail]);
    out
}

/// The inverse of [`cts_encrypt`]; `data` must be at least one block.
fn cts_decrypt(ke: &[u8; 32], data: &[u8]) -> Zeroizing<Vec<u8>> {
    let cipher = aes::Aes256::new(&Array::from(*ke));
    let n = data.len();
    let blocks = n.div_ceil(BLOCK);
    // Rebuild the plain CBC ciphertext: the stolen block's missing bytes
    // are the decryption of the last full block past the tail's length.
    let mut cbc = vec![0u8; blocks * BLOCK];
    if blocks == 1 {
        cbc.copy_from_slice(data);
    } else {
        let tail = n - (blocks - 1) * BLOCK;
        let head = (blocks - 2) * BLOCK;
        cbc[..head].copy_from_slice(&data[..head]);
        let mut last = Array::from([0u8; BLOCK]);
        last.copy_from_slice(&data[head..head + BLOCK]);
        let mut d = last;
        cipher.decrypt_block(&mut d);
        cbc[head..head + tail].copy_from_slice(&data[head + BLOCK..]);
        cbc[head + tail..head + BLOCK].copy_from_slice(&d[tail..]);
        cbc[head + BLOCK..].copy_from_slice(&last);
    }
    let mut out = Zeroizing::new(vec![0u8; blocks * BLOCK]);
    let mut prev = [0u8; BLOCK];
    for (i, chunk) in cbc.chunks_exact(BLOCK).enumerate() {
        let mut block = Array::from([0u8; BLOCK]);
        block.copy_from_slice(chunk);
        cipher.decrypt_block(&mut block);
        for (j, b) in block.iter().enumerate() {
            out[i * BLOCK + j] = b ^ prev[j];
        }
        prev.copy_from_slice(chunk);
    }
    out.truncate(n);
    out
}

/// Encrypts `plaintext` for `usage` with a given confounder (the known
/// answers of RFC 8009 fix it; [`encrypt`] draws it at random).
pub fn encrypt_with(
    base: &[u8; KEY_LEN],
    usage: KeyUsage,
    confounder: &[u8; CONFOUNDER_LEN],
    plaintext: &[u8],
) -> Vec<u8> {
    let keys = usage_keys(base, usage);
    let mut data = Zeroizing::new(Vec::with_capacity(CONFOUNDER_LEN + plaintext.len()));
    data.extend_from_slice(confounder);
    data.extend_from_slice(plaintext);
    let mut out = cts_encrypt(&keys.ke, &data);
    let h = mac(&keys.ki, &out).finalize().into_bytes();
    out.extend_from_slice(&h[..MAC_LEN]);
    out
}

/// Encrypts `plaintext` for `usage` with a random confounder.
pub fn encrypt(base: &[u8; KEY_LEN], usage: KeyUsage, plaintext: &[u8]) -> Vec<u8> {
    let mut confounder = [0u8; CONFOUNDER_LEN];
    super::random::random_bytes(&mut confounder);
    encrypt_with(base, usage, &confounder, plaintext)
}

/// Checks the HMAC (in constant time) and decrypts; returns the plaintext
/// without its confounder.
pub fn decrypt(
    base: &[u8; KEY_LEN],
    usage: KeyUsage,
    message: &[u8],
) -> Result<Vec<u8>, CephxError> {
    if message.len() < CONFOUNDER_LEN + MAC_LEN {
        return Err(CephxError::Decrypt(format!(
            "aes256k message of {} bytes is shorter than its confounder and checksum",
            message.len()
        )));
    }
    let keys = usage_keys(base, usage);
    let (ciphertext, h) = message.split_at(message.len() - MAC_LEN);
    mac(&keys.ki, ciphertext)
        .verify_truncated_left(h)
        .map_err(|_| CephxError::Decrypt("aes256k checksum mismatch (wrong key?)".into()))?;
    let plain = cts_decrypt(&keys.ke, ciphertext);
    Ok(plain[CONFOUNDER_LEN..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn base() -> [u8; 32] {
        hex("6D404D37FAF79F9DF0D33568D320669800EB4836472EA8A026D16B7182460C52")
            .try_into()
            .unwrap()
    }

    /// RFC 8009 appendix A: key derivation for usage 2.
    #[test]
    fn rfc8009_key_derivation() {
        let mut kc = [0u8; 24];
        derive(&base(), 2, 0x99, &mut kc);
        assert_eq!(
            kc.to_vec(),
            hex("EF5718BE86CC84963D8BBB5031E9F5C4BA41F28FAF69E73D")
        );
        let keys = usage_keys(&base(), 2);
        assert_eq!(
            keys.ke.to_vec(),
            hex("56AB22BEE63D82D7BC5227F6773F8EA7A5EB1C825160C38312980C442E5C7E49")
        );
        assert_eq!(
            keys.ki.to_vec(),
            hex("69B16514E3CD8E56B82010D5C73012B622C4D00FFC23ED1F")
        );
    }

    /// RFC 8009 appendix A: the four aes256-cts-hmac-sha384-192
    /// encryptions (empty, shorter than, equal to and longer than a block).
    #[test]
    fn rfc8009_encryption() {
        let cases = [
            (
                "",
                "F764E9FA15C276478B2C7D0C4E5F58E4",
                "41F53FA5BFE7026D91FAF9BE959195A058707273A96A40F0A01960621AC612748B9BBFBE7EB4CE3C",
            ),
            (
                "000102030405",
                "B80D3251C1F6471494256FFE712D0B9A",
                "4ED7B37C2BCAC8F74F23C1CF07E62BC7B75FB3F637B9F559C7F664F69EAB7B6092237526EA0D1F61CB20D69D10F2",
            ),
            (
                "000102030405060708090A0B0C0D0E0F",
                "53BF8A0D105265D4E276428624CE5E63",
                "BC47FFEC7998EB91E8115CF8D19DAC4BBBE2E163E87DD37F49BECA92027764F68CF51F14D798C2273F35DF574D1F932E40C4FF255B36A266",
            ),
            (
                "000102030405060708090A0B0C0D0E0F1011121314",
                "763E65367E864F02F55153C7E3B58AF1",
                "40013E2DF58E8751957D2878BCD2D6FE101CCFD556CB1EAE79DB3C3EE86429F2B2A602AC86FEF6ECB647D6295FAE077A1FEB517508D2C16B4192E01F62",
            ),
        ];
        for (plain, conf, want) in cases {
            let plain = hex(plain);
            let conf: [u8; 16] = hex(conf).try_into().unwrap();
            let ct = encrypt_with(&base(), 2, &conf, &plain);
            assert_eq!(ct, hex(want), "plaintext of {} bytes", plain.len());
            assert_eq!(decrypt(&base(), 2, &ct).unwrap(), plain);
        }
    }

    #[test]
    fn round_trips_every_length_and_detects_tampering() {
        for len in 0..70 {
            let plain: Vec<u8> = (0..len as u8).collect();
            let ct = encrypt(&base(), 0x10, &plain);
            assert_eq!(ct.len(), CONFOUNDER_LEN + len + MAC_LEN);
            assert_eq!(decrypt(&base(), 0x10, &ct).unwrap(), plain);
            // Another usage derives other keys.
            assert!(decrypt(&base(), 0x11, &ct).is_err());
            let mut bad = ct.clone();
            bad[len % ct.len()] ^= 1;
            assert!(decrypt(&base(), 0x10, &bad).is_err());
        }
        assert!(decrypt(&base(), 1, &[0; 39]).is_err());
    }
}
