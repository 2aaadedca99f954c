//! Ceph's binary encoding.
//!
//! * [`Encode`] / [`Decode`]: one trait pair for every encodable type;
//!   encoders take the peer's feature bits, decoders read from a strict
//!   [`Reader`] and fail with a [`DecodeError`] that says what, where
//!   (byte offset) and inside which type and field.
//! * Primitives and containers: little-endian integers, `bool`, `f64`,
//!   length-prefixed strings and bufferlists ([`bytes::Bytes`]), `Vec`,
//!   `BTreeMap`/`HashMap`, `BTreeSet`, `Option`, tuples and fixed arrays.
//! * The versioned envelope (`struct_v`, `compat_v`, `struct_len`):
//!   [`encode_versioned`] and [`Reader::versioned`]; decoders refuse a
//!   `compat_v` they do not understand and skip the unknown tail of newer
//!   versions.
//! * [`ceph_struct!`]: a struct, its encoder and its decoder from one field
//!   list, plain or versioned.
//! * The common types: [`EntityType`], [`EntityNameT`] (`entity_name_t`),
//!   [`EntityName`], [`EntityAddr`] (`entity_addr_t`, legacy and
//!   `MSG_ADDR2` forms), [`EntityAddrVec`], [`EntityInst`], [`UTime`]
//!   (`utime_t`), [`Uuid`] (`uuid_d`), [`MonFeature`] (`mon_feature_t`) and
//!   the [`features`] bits.
//!
//! Decoders never panic, and never reserve memory for more elements than
//! the bytes left could hold.
//!
//! ```
//! use ceph_encoding::{features::CEPH_FEATURES_ALL, Decode, Encode, EntityAddr};
//!
//! let addr: EntityAddr = "v2:10.0.0.1:3300/42".parse()?;
//! let bytes = addr.to_bytes(CEPH_FEATURES_ALL);
//! assert_eq!(EntityAddr::decode_exact(&bytes)?, addr);
//! # Ok::<(), ceph_encoding::DecodeError>(())
//! ```

pub use bytes;

mod addr;
mod codec;
mod containers;
mod entity;
mod envelope;
mod error;
pub mod features;
#[cfg(any(fuzzing, test, feature = "fuzzing"))]
pub mod fuzzing;
mod macros;
mod primitives;
mod reader;
mod time;
mod uuid;

pub use addr::{AddrType, EntityAddr, EntityAddrVec, SockAddr, AF_INET, AF_INET6};
pub use codec::{Decode, Encode};
pub use entity::{EntityInst, EntityName, EntityNameT, EntityType};
pub use envelope::{encode_versioned, VERSION_HEADER_SIZE};
pub use error::{DecodeError, ErrorKind, Frame};
pub use features::MonFeature;
pub use reader::{Reader, DEFAULT_MAX_DEPTH};
pub use time::UTime;
pub use uuid::Uuid;
