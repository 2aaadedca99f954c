//! The `Encode` / `Decode` trait pair.

use bytes::{Bytes, BytesMut};

use crate::error::DecodeError;
use crate::reader::Reader;

impl Reader<'_> {
    /// Decodes a `T` (shorthand for `T::decode(reader)`).
    ///
    /// (Here rather than in `reader.rs`, which does not know [`Decode`].)
    pub fn read<T: Decode>(&mut self) -> Result<T, DecodeError> {
        T::decode(self)
    }
}

/// A value with a Ceph wire encoding.
///
/// `features` are the feature bits of the peer (or of the store) the bytes
/// are for: most types ignore them, some pick an older encoding when a bit is
/// missing (as [`EntityAddr`](crate::EntityAddr) does without
/// [`MSG_ADDR2`](crate::features::CEPH_FEATURE_MSG_ADDR2)). Containers pass
/// them on to their elements. Pass
/// [`CEPH_FEATURES_ALL`](crate::features::CEPH_FEATURES_ALL) for the newest
/// encoding.
pub trait Encode {
    /// Appends the encoding of `self` to `buf`.
    fn encode(&self, buf: &mut BytesMut, features: u64);

    /// The encoding of `self` as a new buffer.
    fn to_bytes(&self, features: u64) -> Bytes {
        let mut buf = BytesMut::new();
        self.encode(&mut buf, features);
        buf.freeze()
    }
}

/// A value that can be decoded from its Ceph wire encoding.
///
/// Decoders never panic and never allocate more than the input can justify:
/// a length prefix is checked against the bytes left, counting at least
/// [`MIN_ENCODED_SIZE`](Decode::MIN_ENCODED_SIZE) bytes per element.
pub trait Decode: Sized {
    /// A lower bound on the size of any encoding of this type (used to bound
    /// element counts before allocating). Must not overstate it.
    const MIN_ENCODED_SIZE: usize = 1;

    /// Decodes one value from `reader`, leaving it just past the value.
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes a value that must fill the whole of `data`.
    fn decode_exact(data: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(data);
        let value = Self::decode(&mut reader)?;
        reader.finish()?;
        Ok(value)
    }
}
