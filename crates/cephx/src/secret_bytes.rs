//! [`SecretBytes`]: a buffer that holds a secret (a connection secret
//! sent by a monitor or an OSD), encoded as a bufferlist, wiped when it is
//! dropped and never shown by `Debug`.

use bytes::BytesMut;
use ceph_encoding::{Decode, DecodeError, Encode, Reader};
use zeroize::Zeroizing;

/// A secret buffer: a length-prefixed bufferlist on the wire, whose bytes
/// are decoded straight into memory that is zeroized on drop. Its `Debug`
/// output gives its length only.
#[derive(Clone, Default)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// The secret's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret's length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty (none was sent).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&[u8]> for SecretBytes {
    fn from(bytes: &[u8]) -> Self {
        SecretBytes(Zeroizing::new(bytes.to_vec()))
    }
}

impl PartialEq for SecretBytes {
    /// Compares in constant time for equal lengths (the length is not
    /// secret).
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(other.0.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl Eq for SecretBytes {}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<secret, {} bytes>", self.0.len())
    }
}

impl Encode for SecretBytes {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        self.0.as_slice().encode(buf, features);
    }
}

impl Decode for SecretBytes {
    const MIN_ENCODED_SIZE: usize = 4;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let len = reader.read_len("secret", 1)?;
        Ok(SecretBytes::from(reader.take(len)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_as_a_bufferlist() {
        let s = SecretBytes::from(&b"0123456789abcdef"[..]);
        let wire = s.to_bytes(0);
        assert_eq!(&wire[..4], &16u32.to_le_bytes());
        assert_eq!(&wire[4..], b"0123456789abcdef");
        // The same bytes as a plain bufferlist.
        assert_eq!(
            wire,
            bytes::Bytes::from_static(b"0123456789abcdef").to_bytes(0)
        );
        assert_eq!(SecretBytes::decode_exact(&wire).unwrap(), s);
    }

    #[test]
    fn a_length_beyond_the_input_is_refused() {
        assert!(SecretBytes::decode_exact(&[0xff, 0xff, 0xff, 0x7f, 1]).is_err());
    }

    #[test]
    fn debug_shows_the_length_only() {
        let s = SecretBytes::from(&b"SECRETSECRET"[..]);
        let d = format!("{s:?}");
        assert!(!d.contains("SECRET"), "{d}");
        assert!(d.contains("12 bytes"), "{d}");
    }

    #[test]
    fn equality_needs_the_same_bytes() {
        let a = SecretBytes::from(&b"abc"[..]);
        assert_eq!(a, SecretBytes::from(&b"abc"[..]));
        assert_ne!(a, SecretBytes::from(&b"abd"[..]));
        assert_ne!(a, SecretBytes::from(&b"ab"[..]));
    }
}
