//! cephx authentication.
//!
//! What is here: keyrings and keys ([`keyring`]), and the AES-128-CBC crypto
//! with Ceph's envelope ([`crypto`]). To come: the monitor handshake that
//! yields the session key and service tickets, authorizers for OSD and
//! manager connections (with the CEPHX_V2 challenge), ticket renewal, and
//! the connection secret that msgr2's secure mode keys its ciphers with.

pub mod crypto;
pub mod error;
pub mod keyring;

pub use crypto::{challenge_key, AesKey};
pub use error::CephxError;
pub use keyring::{CryptoKey, Keyring, KeyringEntry};
