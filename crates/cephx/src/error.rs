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
    /// A message that does not decode.
    #[error("cannot decode {what}: {source}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's error.
        source: ceph_encoding::DecodeError,
    },
    /// The server answered with an error status.
    #[error("{what} refused by the server: {}", ceph_common::Errno(*.status))]
    Refused {
        /// The request.
        what: &'static str,
        /// The negative errno.
        status: i32,
    },
    /// A reply that does not fit the state of the exchange.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// No ticket is held for a service that was asked for.
    #[error("no ticket for service {0:#x}")]
    NoTicket(u32),
    /// A ciphertext that does not decrypt to a valid envelope.
    #[error("decryption failed: {0}")]
    Decrypt(String),
}
