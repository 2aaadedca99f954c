//! The legacy cephx cipher (`aes`, key type 1): AES-128-CBC with Ceph's
//! fixed IV and PKCS#7 padding, no integrity check of its own.

use aes::cipher::{block_padding::Pkcs7, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};

use crate::error::CephxError;

/// The IV Ceph uses for every AES-CBC operation of cephx.
pub const CEPH_AES_IV: &[u8; 16] = b"cephsageyudagreg";

/// Length of an AES-128 secret.
pub const KEY_LEN: usize = 16;

type Enc = cbc::Encryptor<aes::Aes128>;
type Dec = cbc::Decryptor<aes::Aes128>;

/// Encrypts with the 16-byte `key`.
pub fn encrypt(key: &[u8; KEY_LEN], plaintext: &[u8]) -> Vec<u8> {
    Enc::new(key.into(), CEPH_AES_IV.into()).encrypt_padded_vec::<Pkcs7>(plaintext)
}

/// Decrypts with the 16-byte `key`; fails on a ciphertext that is not
/// whole blocks or whose padding is wrong (usually: the wrong key).
pub fn decrypt(key: &[u8; KEY_LEN], ciphertext: &[u8]) -> Result<Vec<u8>, CephxError> {
    if ciphertext.is_empty() || ciphertext.len() % 16 != 0 {
        return Err(CephxError::Decrypt(format!(
            "ciphertext of {} bytes is not whole AES blocks",
            ciphertext.len()
        )));
    }
    Dec::new(key.into(), CEPH_AES_IV.into())
        .decrypt_padded_vec::<Pkcs7>(ciphertext)
        .map_err(|_| CephxError::Decrypt("bad padding (wrong key?)".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer() {
        // Computed with: printf hello | openssl enc -aes-128-cbc
        //   -K 4242...42 -iv $(printf cephsageyudagreg | xxd -p) | xxd -p
        let key = [0x42; 16];
        let ct = encrypt(&key, b"hello");
        let want = [
            0x5c, 0x98, 0xf9, 0x26, 0xba, 0x1c, 0x35, 0xf2, 0x6a, 0x65, 0x20, 0xad, 0x9e, 0x09,
            0xc0, 0xe8,
        ];
        assert_eq!(ct, want);
        assert_eq!(decrypt(&key, &ct).unwrap(), b"hello");
    }

    #[test]
    fn refuses_partial_blocks() {
        assert!(decrypt(&[1; 16], &[]).is_err());
        assert!(decrypt(&[1; 16], &[0; 15]).is_err());
    }
}
