//! The symmetric crypto cephx uses: AES-128-CBC with Ceph's fixed IV and
//! PKCS#7 padding, and the "encode then encrypt" envelope that prefixes the
//! plaintext with a version byte and a magic number so that a wrong key is
//! detected rather than decoded into garbage.

use aes::cipher::{block_padding::Pkcs7, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};

use crate::error::CephxError;

/// The IV Ceph uses for every AES-CBC operation of cephx.
pub const CEPH_AES_IV: &[u8; 16] = b"cephsageyudagreg";

/// The magic number that follows the version byte in encrypted envelopes.
pub const AUTH_ENC_MAGIC: u64 = 0xff00_9cad_8826_aa55;

/// Length of an AES-128 secret.
pub const AES_KEY_LEN: usize = 16;

type Aes128CbcEnc = cbc::Encryptor<aes::Aes128>;
type Aes128CbcDec = cbc::Decryptor<aes::Aes128>;

/// A 128-bit AES secret: a user's key, a session key or a service key.
#[derive(Clone, PartialEq, Eq)]
pub struct AesKey([u8; AES_KEY_LEN]);

impl std::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesKey(..)")
    }
}

impl AesKey {
    /// Wraps 16 secret bytes.
    pub fn new(bytes: [u8; AES_KEY_LEN]) -> AesKey {
        AesKey(bytes)
    }

    /// Takes a secret from a slice, which must be 16 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<AesKey, CephxError> {
        let arr: [u8; AES_KEY_LEN] = bytes.try_into().map_err(|_| {
            CephxError::BadKey(format!("AES secret of {} bytes, not 16", bytes.len()))
        })?;
        Ok(AesKey(arr))
    }

    /// The secret bytes.
    pub fn as_bytes(&self) -> &[u8; AES_KEY_LEN] {
        &self.0
    }

    /// AES-128-CBC with Ceph's IV and PKCS#7 padding.
    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        Aes128CbcEnc::new(&self.0.into(), CEPH_AES_IV.into()).encrypt_padded_vec::<Pkcs7>(plaintext)
    }

    /// The inverse of [`AesKey::encrypt`]; fails on a ciphertext that is not
    /// whole blocks or whose padding is wrong (usually: the wrong key).
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>, CephxError> {
        if ciphertext.is_empty() || ciphertext.len() % 16 != 0 {
            return Err(CephxError::Decrypt(format!(
                "ciphertext of {} bytes is not whole AES blocks",
                ciphertext.len()
            )));
        }
        Aes128CbcDec::new(&self.0.into(), CEPH_AES_IV.into())
            .decrypt_padded_vec::<Pkcs7>(ciphertext)
            .map_err(|_| CephxError::Decrypt("bad padding (wrong key?)".into()))
    }

    /// Encrypts `payload` in Ceph's envelope: version byte 1, the magic,
    /// then the payload's encoding. Returns the bare ciphertext.
    pub fn seal(&self, payload: &[u8]) -> Vec<u8> {
        let mut plain = Vec::with_capacity(9 + payload.len());
        plain.push(1u8);
        plain.extend_from_slice(&AUTH_ENC_MAGIC.to_le_bytes());
        plain.extend_from_slice(payload);
        self.encrypt(&plain)
    }

    /// Decrypts a ciphertext made by [`AesKey::seal`] and returns the
    /// payload's encoding, after checking the version and the magic.
    pub fn open(&self, ciphertext: &[u8]) -> Result<Vec<u8>, CephxError> {
        let plain = self.decrypt(ciphertext)?;
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
}

/// The proof of key that answers the monitor's challenge: the sealed
/// `(server_challenge, client_challenge)`, as a length-prefixed buffer,
/// folded into 64 bits by XOR of its whole little-endian words. (The length
/// prefix takes part: Ceph and the kernel both fold the buffer from its
/// first byte.)
pub fn challenge_key(secret: &AesKey, server_challenge: u64, client_challenge: u64) -> u64 {
    let mut blob = [0u8; 16];
    blob[..8].copy_from_slice(&server_challenge.to_le_bytes());
    blob[8..].copy_from_slice(&client_challenge.to_le_bytes());
    let sealed = secret.seal(&blob);
    let mut framed = Vec::with_capacity(4 + sealed.len());
    framed.extend_from_slice(&(sealed.len() as u32).to_le_bytes());
    framed.extend_from_slice(&sealed);
    framed.chunks_exact(8).fold(0u64, |k, c| {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        k ^ u64::from_le_bytes(w)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip() {
        let key = AesKey::new(*b"0123456789abcdef");
        for len in [0usize, 1, 6, 7, 8, 15, 16, 17, 100] {
            let payload: Vec<u8> = (0..len as u8).collect();
            let sealed = key.seal(&payload);
            assert_eq!(sealed.len() % 16, 0);
            assert_eq!(key.open(&sealed).unwrap(), payload);
        }
    }

    #[test]
    fn wrong_key_is_detected() {
        let key = AesKey::new(*b"0123456789abcdef");
        let other = AesKey::new(*b"fedcba9876543210");
        let sealed = key.seal(b"ticket");
        assert!(other.open(&sealed).is_err());
        assert!(key.open(&sealed[..15]).is_err());
        assert!(key.open(&[]).is_err());
    }

    #[test]
    fn known_answer_aes_cbc() {
        // Computed with: printf hello | openssl enc -aes-128-cbc
        //   -K 4242...42 -iv $(printf cephsageyudagreg | xxd -p) | xxd -p
        let key = AesKey::new([0x42; 16]);
        let ct = key.encrypt(b"hello");
        let want = [
            0x5c, 0x98, 0xf9, 0x26, 0xba, 0x1c, 0x35, 0xf2, 0x6a, 0x65, 0x20, 0xad, 0x9e, 0x09,
            0xc0, 0xe8,
        ];
        assert_eq!(ct, want);
        assert_eq!(key.decrypt(&ct).unwrap(), b"hello");
    }

    #[test]
    fn challenge_key_is_stable_and_key_dependent() {
        let a = AesKey::new([1; 16]);
        let b = AesKey::new([2; 16]);
        assert_eq!(challenge_key(&a, 5, 7), challenge_key(&a, 5, 7));
        assert_ne!(challenge_key(&a, 5, 7), challenge_key(&b, 5, 7));
        assert_ne!(challenge_key(&a, 5, 7), challenge_key(&a, 5, 8));
    }
}
