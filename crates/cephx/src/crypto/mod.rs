//! The symmetric crypto of cephx, by key type:
//!
//! - `aes` (type 1): AES-128-CBC with Ceph's fixed IV ([`aes_cbc`]);
//! - `aes256k` (type 2): aes256-cts-hmac-sha384-192 of RFC 8009
//!   ([`krb5`]), Ceph's default since 19.2.6 and 20.2 (Tentacle).
//!
//! Both carry the same "encode then encrypt" envelope: a version byte and a
//! magic number before the payload, so that a wrong key is detected rather
//! than decoded into garbage. Every encryption names its [`usage`], which
//! only the aes256k cipher mixes into its keys.

pub mod aes_cbc;
pub mod krb5;
mod random;
pub mod usage;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::CephxError;
pub use random::random_bytes;
pub use usage::KeyUsage;

/// The magic number that follows the version byte in encrypted envelopes.
pub const AUTH_ENC_MAGIC: u64 = 0xff00_9cad_8826_aa55;

/// A cephx key type (`CEPH_CRYPTO_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cipher {
    /// `aes` (1): AES-128-CBC, deprecated since CVE-2025-30156.
    Aes,
    /// `aes256k` (2): AES-256-CTS with HMAC-SHA-384-192 (RFC 8009).
    Aes256k,
}

impl Cipher {
    /// The type code in Ceph's key encoding.
    pub const fn code(self) -> u16 {
        match self {
            Cipher::Aes => 1,
            Cipher::Aes256k => 2,
        }
    }

    /// The cipher of a type code, if it is one we speak.
    pub const fn from_code(code: u16) -> Option<Cipher> {
        match code {
            1 => Some(Cipher::Aes),
            2 => Some(Cipher::Aes256k),
            _ => None,
        }
    }

    /// The name Ceph's commands use (`--key-type`, `auth_allowed_ciphers`).
    pub const fn name(self) -> &'static str {
        match self {
            Cipher::Aes => "aes",
            Cipher::Aes256k => "aes256k",
        }
    }

    /// The length of the cipher's secret.
    pub const fn key_len(self) -> usize {
        match self {
            Cipher::Aes => aes_cbc::KEY_LEN,
            Cipher::Aes256k => krb5::KEY_LEN,
        }
    }
}

impl std::fmt::Display for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A secret: a user's key, a session key or a service key, with its
/// cipher. The bytes are wiped when the key is dropped.
#[derive(Clone)]
pub struct SecretKey {
    cipher: Cipher,
    bytes: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({}, ..)", self.cipher)
    }
}

impl PartialEq for SecretKey {
    /// Compares in time independent of where the secrets differ.
    fn eq(&self, other: &SecretKey) -> bool {
        self.cipher == other.cipher
            && self.bytes.len() == other.bytes.len()
            && self
                .bytes
                .iter()
                .zip(other.bytes.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl Eq for SecretKey {}

impl SecretKey {
    /// A key of `cipher` holding `bytes`, which must be at least the
    /// cipher's key length (Ceph uses the leading bytes of a longer one).
    pub fn new(cipher: Cipher, bytes: &[u8]) -> Result<SecretKey, CephxError> {
        if bytes.len() < cipher.key_len() {
            return Err(CephxError::BadKey(format!(
                "{cipher} secret of {} bytes, at least {} needed",
                bytes.len(),
                cipher.key_len()
            )));
        }
        Ok(SecretKey {
            cipher,
            bytes: Zeroizing::new(bytes.to_vec()),
        })
    }

    /// An `aes` key of 16 bytes.
    pub fn aes(bytes: [u8; aes_cbc::KEY_LEN]) -> SecretKey {
        let bytes = Zeroizing::new(bytes);
        SecretKey {
            cipher: Cipher::Aes,
            bytes: Zeroizing::new(bytes.to_vec()),
        }
    }

    /// An `aes256k` key of 32 bytes.
    pub fn aes256k(bytes: [u8; krb5::KEY_LEN]) -> SecretKey {
        let bytes = Zeroizing::new(bytes);
        SecretKey {
            cipher: Cipher::Aes256k,
            bytes: Zeroizing::new(bytes.to_vec()),
        }
    }

    /// The key's cipher.
    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    /// The secret bytes (msgr2 signs its handshake with them).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn aes_key(&self) -> Zeroizing<[u8; aes_cbc::KEY_LEN]> {
        let mut k = Zeroizing::new([0u8; aes_cbc::KEY_LEN]);
        k.copy_from_slice(&self.bytes[..aes_cbc::KEY_LEN]);
        k
    }

    fn krb5_key(&self) -> Zeroizing<[u8; krb5::KEY_LEN]> {
        let mut k = Zeroizing::new([0u8; krb5::KEY_LEN]);
        k.copy_from_slice(&self.bytes[..krb5::KEY_LEN]);
        k
    }

    /// Encrypts `plaintext` for `usage`.
    pub fn encrypt(&self, usage: KeyUsage, plaintext: &[u8]) -> Vec<u8> {
        match self.cipher {
            Cipher::Aes => aes_cbc::encrypt(&self.aes_key(), plaintext),
            Cipher::Aes256k => krb5::encrypt(&self.krb5_key(), usage, plaintext),
        }
    }

    /// Decrypts a ciphertext made for `usage`; fails when it was made with
    /// another key (bad padding, or a checksum that does not match).
    pub fn decrypt(&self, usage: KeyUsage, ciphertext: &[u8]) -> Result<Vec<u8>, CephxError> {
        match self.cipher {
            Cipher::Aes => aes_cbc::decrypt(&self.aes_key(), ciphertext),
            Cipher::Aes256k => krb5::decrypt(&self.krb5_key(), usage, ciphertext),
        }
    }

    /// Encrypts `payload` in Ceph's envelope: version byte 1, the magic,
    /// then the payload's encoding. Returns the bare ciphertext.
    pub fn seal(&self, usage: KeyUsage, payload: &[u8]) -> Vec<u8> {
        let mut plain = Zeroizing::new(Vec::with_capacity(9 + payload.len()));
        plain.push(1u8);
        plain.extend_from_slice(&AUTH_ENC_MAGIC.to_le_bytes());
        plain.extend_from_slice(payload);
        self.encrypt(usage, &plain)
    }

    /// Decrypts a ciphertext made by [`SecretKey::seal`] and returns the
    /// payload's encoding, after checking the version and the magic.
    pub fn open(&self, usage: KeyUsage, ciphertext: &[u8]) -> Result<Vec<u8>, CephxError> {
        let plain = Zeroizing::new(self.decrypt(usage, ciphertext)?);
        if plain.len() < 9 {
            return Err(CephxError::Decrypt(
                "envelope shorter than its header".into(),
            ));
        }
        if plain[0] != 1 {
            return Err(CephxError::Decrypt(format!(
                "envelope version {}",
                plain[0]
            )));
        }
        let mut magic = [0u8; 8];
        magic.copy_from_slice(&plain[1..9]);
        if u64::from_le_bytes(magic) != AUTH_ENC_MAGIC {
            return Err(CephxError::Decrypt("bad magic (wrong key?)".into()));
        }
        Ok(plain[9..].to_vec())
    }

    /// HMAC-SHA-256 keyed with the whole secret (Ceph's
    /// `CryptoKey::hmac_sha256`).
    pub fn hmac_sha256(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.bytes)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}

/// XOR of the whole little-endian 64-bit words of `bytes`.
fn fold_words(bytes: &[u8]) -> u64 {
    bytes.chunks_exact(8).fold(0u64, |k, c| {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        k ^ u64::from_le_bytes(w)
    })
}

/// The proof of key that answers the monitor's challenge
/// (`cephx_calc_client_server_challenge`), folded into 64 bits by XOR of
/// whole little-endian words.
///
/// - `aes`: the sealed `(server_challenge, client_challenge)` as a
///   length-prefixed buffer (the prefix takes part: Ceph and the kernel
///   both fold the buffer from its first byte).
/// - `aes256k`: HMAC-SHA-256 of the bare pair under the secret, since
///   the cipher's random confounder makes its ciphertext differ each time.
pub fn challenge_key(secret: &SecretKey, server_challenge: u64, client_challenge: u64) -> u64 {
    let mut blob = [0u8; 16];
    blob[..8].copy_from_slice(&server_challenge.to_le_bytes());
    blob[8..].copy_from_slice(&client_challenge.to_le_bytes());
    match secret.cipher {
        Cipher::Aes => {
            let sealed = secret.seal(0, &blob);
            let mut framed = Vec::with_capacity(4 + sealed.len());
            framed.extend_from_slice(&(sealed.len() as u32).to_le_bytes());
            framed.extend_from_slice(&sealed);
            fold_words(&framed)
        }
        Cipher::Aes256k => fold_words(&secret.hmac_sha256(&blob)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> [SecretKey; 2] {
        [
            SecretKey::aes(*b"0123456789abcdef"),
            SecretKey::aes256k([0x5a; 32]),
        ]
    }

    #[test]
    fn seal_open_round_trip() {
        for key in keys() {
            for len in [0usize, 1, 6, 7, 8, 15, 16, 17, 100] {
                let payload: Vec<u8> = (0..len as u8).collect();
                let sealed = key.seal(usage::AUTHORIZE, &payload);
                assert_eq!(key.open(usage::AUTHORIZE, &sealed).unwrap(), payload);
            }
        }
    }

    #[test]
    fn wrong_key_is_detected() {
        let others = [
            SecretKey::aes(*b"fedcba9876543210"),
            SecretKey::aes256k([0xa5; 32]),
        ];
        for (key, other) in keys().iter().zip(others.iter()) {
            let sealed = key.seal(usage::TICKET_BLOB, b"ticket");
            assert!(other.open(usage::TICKET_BLOB, &sealed).is_err());
            assert!(key.open(usage::TICKET_BLOB, &sealed[..15]).is_err());
            assert!(key.open(usage::TICKET_BLOB, &[]).is_err());
        }
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(SecretKey::new(Cipher::Aes, &[1; 15]).is_err());
        assert!(SecretKey::new(Cipher::Aes256k, &[1; 16]).is_err());
        assert!(SecretKey::new(Cipher::Aes256k, &[1; 32]).is_ok());
    }

    #[test]
    fn challenge_key_is_stable_and_key_dependent() {
        for (a, b) in [
            (SecretKey::aes([1; 16]), SecretKey::aes([2; 16])),
            (SecretKey::aes256k([1; 32]), SecretKey::aes256k([2; 32])),
        ] {
            assert_eq!(challenge_key(&a, 5, 7), challenge_key(&a, 5, 7));
            assert_ne!(challenge_key(&a, 5, 7), challenge_key(&b, 5, 7));
            assert_ne!(challenge_key(&a, 5, 7), challenge_key(&a, 5, 8));
        }
    }

    /// The aes256k proof is HMAC-SHA-256 of the bare pair, folded: checked
    /// against Python's hmac module (`hmac.new(bytes(range(32)),
    /// struct.pack('<QQ', 1, 2), 'sha256')`, its four words XORed).
    #[test]
    fn aes256k_challenge_known_answer() {
        let mut k = [0u8; 32];
        for (i, b) in k.iter_mut().enumerate() {
            *b = i as u8;
        }
        let key = SecretKey::aes256k(k);
        assert_eq!(challenge_key(&key, 1, 2), 0xc09e_a0cb_8662_ac0a);
    }
}
