//! The crate's error type.

use thiserror::Error;

/// What can go wrong in cephx: bad key material, a reply that does not
/// decrypt or decode, or a refusal from the server.
#[derive(Debug, Error)]
pub enum CephxError {
    /// A key that cannot be used: wrong length, type or base64.
    #[error("bad key: {0}")]
    BadKey(String),
    /// A keyring file that cannot be read or parsed.
    #[error("keyring {path}: {reason}")]
    Keyring {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The keyring holds no key for the entity.
    #[error("no key for {entity} in {path}")]
    NoKey {
        /// The entity asked for, such as `client.admin`.
        entity: String,
        /// Where we looked.
        path: String,
    },
    /// A ciphertext that does not decrypt to a valid envelope.
    #[error("decryption failed: {0}")]
    Decrypt(String),
}
