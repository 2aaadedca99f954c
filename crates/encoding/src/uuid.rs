//! `uuid_d`: 16 raw bytes.

use std::fmt;
use std::str::FromStr;

use bytes::{BufMut, BytesMut};

use crate::codec::{Decode, Encode};
use crate::error::{DecodeError, ErrorKind};
use crate::reader::Reader;

/// Ceph's `uuid_d` (cluster fsid, OSD uuids...): the 16 bytes of the UUID in
/// their usual (big-endian, RFC 4122) order, with no length prefix.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The all-zero UUID.
    pub const NIL: Uuid = Uuid([0; 16]);

    /// The UUID's bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Whether this is the all-zero UUID.
    pub fn is_nil(&self) -> bool {
        self.0 == [0; 16]
    }
}

impl Encode for Uuid {
    fn encode(&self, buf: &mut BytesMut, _features: u64) {
        buf.put_slice(&self.0);
    }
}

impl Decode for Uuid {
    const MIN_ENCODED_SIZE: usize = 16;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.take_array().map(Uuid)
    }
}

/// The hyphenated lower-case form, `01234567-89ab-cdef-0123-456789abcdef`.
impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Parses the hyphenated form (either case), or 32 hex digits without hyphens.
impl FromStr for Uuid {
    type Err = DecodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason| {
            DecodeError::new(
                ErrorKind::BadText {
                    input: s.to_owned(),
                    reason,
                },
                0,
            )
        };
        let hyphenated = s.len() == 36;
        if hyphenated {
            let at = |i: usize| s.as_bytes().get(i).copied();
            if [8, 13, 18, 23].iter().any(|&i| at(i) != Some(b'-')) {
                return Err(bad("hyphens must be at positions 8, 13, 18 and 23"));
            }
        } else if s.len() != 32 {
            return Err(bad("a uuid has 32 hex digits"));
        }
        let mut out = [0u8; 16];
        let mut digits = s.chars().filter(|c| *c != '-');
        for byte in &mut out {
            let (Some(hi), Some(lo)) = (digits.next(), digits.next()) else {
                return Err(bad("a uuid has 32 hex digits"));
            };
            let (Some(hi), Some(lo)) = (hi.to_digit(16), lo.to_digit(16)) else {
                return Err(bad("not a hex digit"));
            };
            *byte = u8::try_from(hi * 16 + lo).map_err(|_| bad("not a hex digit"))?;
        }
        if digits.next().is_some() {
            return Err(bad("a uuid has 32 hex digits"));
        }
        Ok(Uuid(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_forms() {
        let u: Result<Uuid, _> = "01234567-89ab-cdef-0123-456789ABCDEF".parse();
        let u = u.ok();
        assert_eq!(
            u.map(|u| u.to_string()),
            Some("01234567-89ab-cdef-0123-456789abcdef".to_owned())
        );
        assert_eq!(
            u.map(|u| u.to_bytes(0).to_vec()),
            Some(vec![
                0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
                0xcd, 0xef
            ])
        );
        assert!("0123456789abcdef0123456789abcdef".parse::<Uuid>().is_ok());
        assert!("01234567-89ab-cdef-0123-456789abcdeg"
            .parse::<Uuid>()
            .is_err());
        assert!("0123456789abcdef0123456789abcde".parse::<Uuid>().is_err());
        assert!("0123456789abcdef0123-456789abcdef".parse::<Uuid>().is_err());
        assert!("é123456789abcdef0123456789abcde".parse::<Uuid>().is_err());
        assert!(Uuid::NIL.is_nil());
    }

    proptest! {
        #[test]
        fn round_trip(bytes: [u8; 16]) {
            let u = Uuid(bytes);
            prop_assert_eq!(Uuid::decode_exact(&u.to_bytes(0)), Ok(u));
            prop_assert_eq!(u.to_string().parse::<Uuid>(), Ok(u));
        }
    }
}
