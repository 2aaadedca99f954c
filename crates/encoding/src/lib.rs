//! Ceph's binary encoding.
//!
//! This crate will hold the little-endian primitives, strings, lists and maps
//! of Ceph's wire format, the versioned envelope (`struct_v`, `compat_v`,
//! length, with unknown tails skipped) and the common types: entity names
//! and addresses, `utime_t`, uuids and feature bits. One definition per type
//! serves both encoding and decoding.
