//! Little-endian integers, `bool`, `f64`, strings and bufferlists.

use bytes::{BufMut, Bytes, BytesMut};

use crate::codec::{Decode, Encode};
use crate::error::{DecodeError, ErrorKind};
use crate::reader::Reader;

macro_rules! int_codec {
    ($($ty:ty => $put:ident),* $(,)?) => {$(
        impl Encode for $ty {
            fn encode(&self, buf: &mut BytesMut, _features: u64) {
                buf.$put(*self);
            }
        }
        impl Decode for $ty {
            const MIN_ENCODED_SIZE: usize = std::mem::size_of::<$ty>();
            fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(<$ty>::from_le_bytes(reader.take_array()?))
            }
        }
    )*};
}

int_codec! {
    u8 => put_u8,
    i8 => put_i8,
    u16 => put_u16_le,
    i16 => put_i16_le,
    u32 => put_u32_le,
    i32 => put_i32_le,
    u64 => put_u64_le,
    i64 => put_i64_le,
    f64 => put_f64_le,
}

/// One byte; on decode any non-zero byte is `true`, as in Ceph.
impl Encode for bool {
    fn encode(&self, buf: &mut BytesMut, _features: u64) {
        buf.put_u8(u8::from(*self));
    }
}

impl Decode for bool {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(u8::decode(reader)? != 0)
    }
}

/// Writes a `u32` length prefix.
///
/// Ceph lengths are 32-bit; encoding anything of 4 GiB or more is outside
/// the wire format, and the length is saturated rather than wrapped.
pub(crate) fn put_len(buf: &mut BytesMut, len: usize) {
    buf.put_u32_le(u32::try_from(len).unwrap_or(u32::MAX));
}

/// A `u32` length, then the UTF-8 bytes (Ceph's `std::string`).
impl Encode for String {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        self.as_str().encode(buf, features);
    }
}

impl Encode for str {
    fn encode(&self, buf: &mut BytesMut, _features: u64) {
        put_len(buf, self.len());
        buf.put_slice(self.as_bytes());
    }
}

impl Decode for String {
    const MIN_ENCODED_SIZE: usize = 4;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let len = reader.read_len("string", 1)?;
        let at = reader.offset();
        let bytes = reader.take(len)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| DecodeError::new(ErrorKind::InvalidUtf8, at))
    }
}

/// A `u32` length, then the bytes (Ceph's `bufferlist`).
impl Encode for Bytes {
    fn encode(&self, buf: &mut BytesMut, _features: u64) {
        put_len(buf, self.len());
        buf.put_slice(self);
    }
}

impl Decode for Bytes {
    const MIN_ENCODED_SIZE: usize = 4;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let len = reader.read_len("bufferlist", 1)?;
        Ok(Bytes::copy_from_slice(reader.take(len)?))
    }
}

impl<T: Encode + ?Sized> Encode for &T {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        (**self).encode(buf, features);
    }
}

impl<T: Encode + ?Sized> Encode for Box<T> {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        (**self).encode(buf, features);
    }
}

impl<T: Decode> Decode for Box<T> {
    const MIN_ENCODED_SIZE: usize = T::MIN_ENCODED_SIZE;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        T::decode(reader).map(Box::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip<T: Encode + Decode + PartialEq + std::fmt::Debug>(v: &T) {
        let bytes = v.to_bytes(0);
        assert_eq!(T::decode_exact(&bytes).as_ref(), Ok(v));
    }

    #[test]
    fn little_endian_layout() {
        assert_eq!(&0x0102_0304u32.to_bytes(0)[..], &[4, 3, 2, 1]);
        assert_eq!(&(-2i16).to_bytes(0)[..], &[0xfe, 0xff]);
        assert_eq!(&"ab".to_bytes(0)[..], &[2, 0, 0, 0, b'a', b'b']);
        assert_eq!(&true.to_bytes(0)[..], &[1]);
        assert_eq!(bool::decode_exact(&[7]), Ok(true));
    }

    #[test]
    fn truncated_and_oversized() {
        assert!(u64::decode_exact(&[1, 2, 3]).is_err());
        assert!(String::decode_exact(&[5, 0, 0, 0, b'a']).is_err());
        assert!(String::decode_exact(&[1, 0, 0, 0, 0xff]).is_err());
        assert!(Bytes::decode_exact(&[0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(u8::decode_exact(&[1, 2]).is_err());
    }

    proptest! {
        #[test]
        fn ints_round_trip(a: u8, b: i16, c: u32, d: i64, e: u64, f: i8, g: u16, h: i32) {
            round_trip(&a); round_trip(&b); round_trip(&c); round_trip(&d);
            round_trip(&e); round_trip(&f); round_trip(&g); round_trip(&h);
        }

        #[test]
        fn f64_round_trip(x: f64) {
            let back = f64::decode_exact(&x.to_bytes(0));
            prop_assert_eq!(back.map(f64::to_bits), Ok(x.to_bits()));
        }

        #[test]
        fn strings_and_bytes_round_trip(s: String, b: Vec<u8>, flag: bool) {
            round_trip(&s);
            round_trip(&Bytes::from(b));
            round_trip(&flag);
        }
    }
}
