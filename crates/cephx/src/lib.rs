//! cephx authentication.
//!
//! This crate will hold keyring parsing, the monitor handshake that yields
//! the session key and service tickets, authorizers for OSD and manager
//! connections (with the CEPHX_V2 challenge), ticket renewal, and the
//! connection secret that msgr2's secure mode keys its ciphers with.
