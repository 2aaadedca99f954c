//! Lists, maps, optionals, pairs and tuples, fixed arrays.
//!
//! Lists and maps are a `u32` element count followed by the elements (for a
//! map, key then value); an optional is a `u8` flag followed by the value
//! when the flag is set; tuples and fixed arrays are their elements in order,
//! without a count.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;

use bytes::BytesMut;

use crate::codec::{Decode, Encode};
use crate::error::{DecodeError, ErrorKind};
use crate::primitives::put_len;
use crate::reader::Reader;

/// Capacity to reserve for `len` elements: never more than the input left
/// could possibly hold.
fn bounded_capacity(reader: &Reader<'_>, len: usize, min_element_size: usize) -> usize {
    len.min(reader.remaining() / min_element_size.max(1))
}

impl<T: Encode> Encode for [T] {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        put_len(buf, self.len());
        for item in self {
            item.encode(buf, features);
        }
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        self.as_slice().encode(buf, features);
    }
}

impl<T: Decode> Decode for Vec<T> {
    const MIN_ENCODED_SIZE: usize = 4;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let len = reader.read_len("list", T::MIN_ENCODED_SIZE)?;
        let mut out = Vec::with_capacity(bounded_capacity(reader, len, T::MIN_ENCODED_SIZE));
        for _ in 0..len {
            out.push(T::decode(reader)?);
        }
        Ok(out)
    }
}

impl<T: Encode> Encode for BTreeSet<T> {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        put_len(buf, self.len());
        for item in self {
            item.encode(buf, features);
        }
    }
}

impl<T: Decode + Ord> Decode for BTreeSet<T> {
    const MIN_ENCODED_SIZE: usize = 4;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let len = reader.read_len("set", T::MIN_ENCODED_SIZE)?;
        let mut out = BTreeSet::new();
        for _ in 0..len {
            out.insert(T::decode(reader)?);
        }
        Ok(out)
    }
}

fn encode_map<'m, K: Encode + 'm, V: Encode + 'm>(
    buf: &mut BytesMut,
    features: u64,
    len: usize,
    entries: impl Iterator<Item = (&'m K, &'m V)>,
) {
    put_len(buf, len);
    for (k, v) in entries {
        k.encode(buf, features);
        v.encode(buf, features);
    }
}

/// On decode a repeated key keeps the last value, as Ceph's decoder does.
impl<K: Encode, V: Encode> Encode for BTreeMap<K, V> {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        encode_map(buf, features, self.len(), self.iter());
    }
}

impl<K: Decode + Ord, V: Decode> Decode for BTreeMap<K, V> {
    const MIN_ENCODED_SIZE: usize = 4;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let len = reader.read_len("map", K::MIN_ENCODED_SIZE + V::MIN_ENCODED_SIZE)?;
        let mut out = BTreeMap::new();
        for _ in 0..len {
            let k = K::decode(reader)?;
            let v = V::decode(reader)?;
            out.insert(k, v);
        }
        Ok(out)
    }
}

/// Entries are written in the map's iteration order, which is unspecified:
/// prefer `BTreeMap` where byte-exact output matters.
impl<K: Encode, V: Encode, S> Encode for HashMap<K, V, S> {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        encode_map(buf, features, self.len(), self.iter());
    }
}

impl<K: Decode + Eq + Hash, V: Decode> Decode for HashMap<K, V> {
    const MIN_ENCODED_SIZE: usize = 4;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let min = K::MIN_ENCODED_SIZE + V::MIN_ENCODED_SIZE;
        let len = reader.read_len("map", min)?;
        let mut out = HashMap::with_capacity(bounded_capacity(reader, len, min));
        for _ in 0..len {
            let k = K::decode(reader)?;
            let v = V::decode(reader)?;
            out.insert(k, v);
        }
        Ok(out)
    }
}

/// A `u8` presence flag (any non-zero byte means present), then the value.
impl<T: Encode> Encode for Option<T> {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        match self {
            None => false.encode(buf, features),
            Some(v) => {
                true.encode(buf, features);
                v.encode(buf, features);
            }
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if bool::decode(reader)? {
            T::decode(reader).map(Some)
        } else {
            Ok(None)
        }
    }
}

macro_rules! tuple_codec {
    ($(($($name:ident $idx:tt),+)),* $(,)?) => {$(
        impl<$($name: Encode),+> Encode for ($($name,)+) {
            fn encode(&self, buf: &mut BytesMut, features: u64) {
                $(self.$idx.encode(buf, features);)+
            }
        }
        impl<$($name: Decode),+> Decode for ($($name,)+) {
            const MIN_ENCODED_SIZE: usize = 0 $(+ $name::MIN_ENCODED_SIZE)+;
            fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(($($name::decode(reader)?,)+))
            }
        }
    )*};
}

tuple_codec! {
    (A 0, B 1),
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, D 3),
}

/// The `N` elements in order, without a count (Ceph's `std::array` and C
/// arrays).
impl<T: Encode, const N: usize> Encode for [T; N] {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        for item in self {
            item.encode(buf, features);
        }
    }
}

impl<T: Decode, const N: usize> Decode for [T; N] {
    const MIN_ENCODED_SIZE: usize = N * T::MIN_ENCODED_SIZE;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let start = reader.offset();
        let mut items = Vec::with_capacity(N);
        for _ in 0..N {
            items.push(T::decode(reader)?);
        }
        <[T; N]>::try_from(items).map_err(|_| {
            DecodeError::new(
                ErrorKind::Malformed {
                    what: "fixed array",
                    reason: "wrong element count",
                },
                start,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use proptest::prelude::*;

    fn round_trip<T: Encode + Decode + PartialEq + std::fmt::Debug>(v: &T) {
        let bytes = v.to_bytes(0);
        assert_eq!(T::decode_exact(&bytes).as_ref(), Ok(v));
    }

    #[test]
    fn layouts() {
        assert_eq!(&vec![1u16, 2].to_bytes(0)[..], &[2, 0, 0, 0, 1, 0, 2, 0]);
        assert_eq!(&Some(5u8).to_bytes(0)[..], &[1, 5]);
        assert_eq!(&None::<u8>.to_bytes(0)[..], &[0]);
        assert_eq!(&(1u8, 2u16).to_bytes(0)[..], &[1, 2, 0]);
        assert_eq!(&[1u8, 2, 3].to_bytes(0)[..], &[1, 2, 3]);
        let m: BTreeMap<u8, u8> = [(1, 2), (3, 4)].into();
        assert_eq!(&m.to_bytes(0)[..], &[2, 0, 0, 0, 1, 2, 3, 4]);
    }

    #[test]
    fn huge_counts_fail_before_allocating() {
        let data = [0xff, 0xff, 0xff, 0x7f, 1, 2, 3];
        assert!(Vec::<u64>::decode_exact(&data).is_err());
        assert!(Vec::<Vec<u8>>::decode_exact(&data).is_err());
        assert!(BTreeMap::<u32, String>::decode_exact(&data).is_err());
        assert!(HashMap::<u32, u32>::decode_exact(&data).is_err());
        assert!(BTreeSet::<u32>::decode_exact(&data).is_err());
    }

    #[test]
    fn duplicate_map_keys_keep_last() {
        let data = [2, 0, 0, 0, 1, 2, 1, 3];
        let m = BTreeMap::<u8, u8>::decode_exact(&data);
        assert_eq!(m, Ok([(1, 3)].into()));
    }

    proptest! {
        #[test]
        fn containers_round_trip(
            v: Vec<u32>,
            vv: Vec<Vec<i16>>,
            m: BTreeMap<String, u64>,
            h: HashMap<u32, String>,
            s: BTreeSet<i64>,
            o: Option<Option<String>>,
            t: (u8, String, i64),
            a: [u16; 5],
            b: Vec<Vec<u8>>,
        ) {
            round_trip(&v);
            round_trip(&vv);
            round_trip(&m);
            round_trip(&h);
            round_trip(&s);
            round_trip(&o);
            round_trip(&t);
            round_trip(&a);
            round_trip(&b.into_iter().map(Bytes::from).collect::<Vec<_>>());
        }

        #[test]
        fn arbitrary_bytes_never_panic(data: Vec<u8>) {
            let _ = Vec::<String>::decode_exact(&data);
            let _ = BTreeMap::<u32, Vec<u64>>::decode_exact(&data);
            let _ = HashMap::<String, Option<u8>>::decode_exact(&data);
            let _ = <(u8, [u32; 3], Bytes)>::decode_exact(&data);
        }
    }
}
