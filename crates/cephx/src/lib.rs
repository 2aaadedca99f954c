//! cephx authentication, sans-IO.
//!
//! - [`keyring`]: keyring files and keys;
//! - [`crypto`]: the ciphers (`aes`, `aes256k`) and the sealed envelope;
//! - [`wire`]: the cephx messages;
//! - [`client`]: the handshake with a monitor, which yields the auth session
//!   key, the service tickets and the msgr2 connection secret;
//! - [`tickets`]: tickets and the authorizers (with the CEPHX_V2 challenge)
//!   shown to OSDs and managers.

pub mod client;
pub mod crypto;
pub mod error;
#[cfg(any(fuzzing, test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod keyring;
pub mod secret_bytes;
pub mod tickets;
pub mod wire;

pub use client::{Authenticated, CephxClient, SharedClient, AUTH_METHOD_CEPHX, AUTH_METHOD_NONE};
pub use crypto::{challenge_key, Cipher, SecretKey};
pub use error::CephxError;
pub use keyring::{CryptoKey, Keyring, KeyringEntry};
pub use secret_bytes::SecretBytes;
pub use tickets::{
    Authorizer, Ticket, Tickets, SERVICE_AUTH, SERVICE_MGR, SERVICE_MON, SERVICE_OSD,
};
