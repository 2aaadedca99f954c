//! The cephx messages as they travel, and the sealed (encrypted) form of
//! any encodable value.
//!
//! cephx structures carry a single version byte in front of their fields
//! (no compat byte, no length), so they are defined with [`cephx_struct!`](crate::cephx_struct),
//! which, like `ceph_struct!`, makes both the encoder and the decoder from
//! one field list.

use bytes::{Bytes, BytesMut};
use ceph_encoding::{Decode, DecodeError, Encode, ErrorKind, Reader, UTime};

use crate::crypto::{Cipher, KeyUsage, SecretKey};
use crate::error::CephxError;
use crate::keyring::CryptoKey;
use crate::secret_bytes::SecretBytes;

/// Request type: authenticate and get the auth session key.
pub const CEPHX_GET_AUTH_SESSION_KEY: u16 = 0x0100;
/// Request type: get service tickets with the auth ticket.
pub const CEPHX_GET_PRINCIPAL_SESSION_KEY: u16 = 0x0200;
/// Request type: get rotating service keys (daemons only).
pub const CEPHX_GET_ROTATING_KEY: u16 = 0x0400;

/// Defines a cephx structure: a `u8` version, then the fields. A field
/// added in a later version is written `= since N => default`.
#[macro_export]
macro_rules! cephx_struct {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident : version $v:literal {
            $(
                $(#[$fmeta:meta])*
                $fvis:vis $field:ident : $fty:ty $(= since $since:literal => $default:expr)?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $(
                $(#[$fmeta])*
                $fvis $field: $fty,
            )*
        }

        impl ::ceph_encoding::Encode for $name {
            fn encode(&self, buf: &mut ::bytes::BytesMut, features: u64) {
                ::ceph_encoding::Encode::encode(&($v as u8), buf, features);
                $( ::ceph_encoding::Encode::encode(&self.$field, buf, features); )*
            }
        }

        impl ::ceph_encoding::Decode for $name {
            fn decode(
                reader: &mut ::ceph_encoding::Reader<'_>,
            ) -> ::core::result::Result<Self, ::ceph_encoding::DecodeError> {
                let struct_v: u8 = reader
                    .read()
                    .map_err(|e| e.within(stringify!($name), "struct_v"))?;
                let _ = struct_v;
                $(
                    let $field = ::ceph_encoding::__ceph_field!(
                        reader, struct_v, $v, $name, $field, $fty $(, $since, $default)?
                    );
                )*
                Ok(Self { $($field),* })
            }
        }
    };
}

impl Encode for CryptoKey {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        let secret = self.secret.as_bytes();
        self.secret.cipher().code().encode(buf, features);
        UTime {
            sec: self.created.0,
            nsec: self.created.1,
        }
        .encode(buf, features);
        // A secret is 16 or 32 bytes: its length always fits.
        (secret.len() as u16).encode(buf, features);
        buf.extend_from_slice(secret);
    }
}

impl Decode for CryptoKey {
    const MIN_ENCODED_SIZE: usize = 12;

    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let kind: u16 = reader.read()?;
        let cipher = Cipher::from_code(kind).ok_or_else(|| {
            reader.error(ErrorKind::InvalidValue {
                what: "CryptoKey type: key type not supported (this client speaks aes (1) and aes256k (2))",
                value: u64::from(kind),
            })
        })?;
        let created: UTime = reader.read()?;
        let len: u16 = reader.read()?;
        let secret = reader.take(usize::from(len))?;
        let secret = SecretKey::new(cipher, secret).map_err(|_| {
            reader.error(ErrorKind::InvalidValue {
                what: "CryptoKey secret length",
                value: u64::from(len),
            })
        })?;
        Ok(CryptoKey {
            created: (created.sec, created.nsec),
            secret,
        })
    }
}

cephx_struct! {
    /// The monitor's first answer: a random challenge.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ServerChallenge : version 1 {
        /// The challenge.
        pub server_challenge: u64,
    }
}

/// What a request is (no version byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHeader {
    /// One of the `CEPHX_GET_*` request types.
    pub request_type: u16,
}

ceph_encoding::ceph_struct! {
    /// The header of a reply: its request type and status.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct ResponseHeader {
        /// The request type answered.
        pub request_type: u16,
        /// 0, or a negative errno.
        pub status: i32,
    }
}

impl Encode for RequestHeader {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        self.request_type.encode(buf, features);
    }
}

impl Decode for RequestHeader {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(RequestHeader {
            request_type: reader.read()?,
        })
    }
}

cephx_struct! {
    /// A ticket, opaque to the client: sealed with the service's secret.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct TicketBlob : version 1 {
        /// Which of the service's rotating secrets sealed it.
        pub secret_id: u64,
        /// The sealed ticket.
        pub blob: Bytes,
    }
}

cephx_struct! {
    /// The client's answer to the monitor's challenge.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Authenticate : version 3 {
        /// The client's random challenge.
        pub client_challenge: u64,
        /// Proof of key, see [`crate::challenge_key`].
        pub key: u64,
        /// The previous auth ticket, for renewal and global_id reclaim.
        pub old_ticket: TicketBlob,
        /// The services whose tickets are wanted in the same round.
        pub other_keys: u32 = since 2 => 0,
    }
}

cephx_struct! {
    /// A service ticket's client part, sealed with the client's key (or
    /// the auth session key): the session key and how long it is valid.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ServiceTicket : version 1 {
        /// Session key for talking to the service.
        pub session_key: CryptoKey,
        /// How long the ticket is valid, from now.
        pub validity: UTime,
    }
}

cephx_struct! {
    /// Asking the monitor for service tickets.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ServiceTicketRequest : version 1 {
        /// The services (entity type bits) wanted.
        pub keys: u32,
    }
}

cephx_struct! {
    /// The sealed part of an authorizer.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Authorize : version 2 {
        /// Random nonce; the service answers with nonce + 1.
        pub nonce: u64,
        /// Whether the service's challenge is answered.
        pub have_challenge: bool = since 2 => false,
        /// The service's challenge plus one.
        pub server_challenge_plus_one: u64 = since 2 => 0,
    }
}

cephx_struct! {
    /// A service's challenge to an authorizer (CEPHX_V2).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AuthorizeChallenge : version 1 {
        /// The challenge.
        pub server_challenge: u64,
    }
}

cephx_struct! {
    /// A service's reply to an accepted authorizer (its `Debug` output
    /// gives the connection secret's length only).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AuthorizeReply : version 2 {
        /// The authorizer's nonce plus one.
        pub nonce_plus_one: u64,
        /// The connection secret for msgr2 secure mode (may be empty).
        pub connection_secret: SecretBytes = since 2 => SecretBytes::default(),
    }
}

/// Seals the encoding of `value` with `key` for `usage`: the bare
/// ciphertext (Ceph's `encode_encrypt_enc_bl`).
pub fn seal<T: Encode>(key: &SecretKey, usage: KeyUsage, value: &T) -> Vec<u8> {
    let plain = zeroize::Zeroizing::new(
        value
            .to_bytes(ceph_encoding::features::CEPH_FEATURES_ALL)
            .to_vec(),
    );
    key.seal(usage, &plain)
}

/// Seals `value` and appends it as a length-prefixed buffer (Ceph's
/// `encode_encrypt`).
pub fn seal_into<T: Encode>(key: &SecretKey, usage: KeyUsage, value: &T, buf: &mut BytesMut) {
    Bytes::from(seal(key, usage, value)).encode(buf, 0);
}

/// Opens a bare ciphertext made by [`seal`] for `usage` and decodes the
/// whole of it.
pub fn open<T: Decode>(
    key: &SecretKey,
    usage: KeyUsage,
    ciphertext: &[u8],
    what: &'static str,
) -> Result<T, CephxError> {
    let plain = zeroize::Zeroizing::new(key.open(usage, ciphertext)?);
    T::decode_exact(&plain).map_err(|e| CephxError::Decode { what, source: e })
}

/// Reads a length-prefixed ciphertext from `reader` and opens it.
pub fn open_from<T: Decode>(
    key: &SecretKey,
    usage: KeyUsage,
    reader: &mut Reader<'_>,
    what: &'static str,
) -> Result<T, CephxError> {
    let sealed: Bytes = reader
        .read()
        .map_err(|e| CephxError::Decode { what, source: e })?;
    open(key, usage, &sealed, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authenticate_round_trip_and_layout() {
        let a = Authenticate {
            client_challenge: 1,
            key: 2,
            old_ticket: TicketBlob {
                secret_id: 3,
                blob: Bytes::from_static(b"xy"),
            },
            other_keys: 0x25,
        };
        let bytes = a.to_bytes(0);
        assert_eq!(bytes[0], 3);
        assert_eq!(bytes.len(), 1 + 8 + 8 + (1 + 8 + 4 + 2) + 4);
        assert_eq!(Authenticate::decode_exact(&bytes).unwrap(), a);
    }

    /// The connection secret keys secure mode: it must not reach a log.
    #[test]
    fn debug_output_hides_the_connection_secret() {
        let r = AuthorizeReply {
            nonce_plus_one: 42,
            connection_secret: crate::SecretBytes::from(&b"SECRETSECRETSECRET"[..]),
        };
        let text = format!("{r:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(!text.contains("83, 69, 67"), "{text}");
        assert!(text.contains("42") && text.contains("18 bytes"), "{text}");
    }

    #[test]
    fn older_versions_take_defaults() {
        // AuthorizeReply v1: no connection secret.
        let mut v1 = vec![1u8];
        v1.extend_from_slice(&42u64.to_le_bytes());
        let r = AuthorizeReply::decode_exact(&v1).unwrap();
        assert_eq!(r.nonce_plus_one, 42);
        assert!(r.connection_secret.is_empty());
    }

    #[test]
    fn sealed_values_open_with_the_same_key_and_usage_only() {
        use crate::crypto::usage::{AUTHORIZE_CHALLENGE, AUTHORIZE_REPLY};
        let ch = AuthorizeChallenge {
            server_challenge: 77,
        };
        for (key, other) in [
            (SecretKey::aes([9; 16]), SecretKey::aes([8; 16])),
            (SecretKey::aes256k([9; 32]), SecretKey::aes256k([8; 32])),
        ] {
            let sealed = seal(&key, AUTHORIZE_CHALLENGE, &ch);
            assert_eq!(
                open::<AuthorizeChallenge>(&key, AUTHORIZE_CHALLENGE, &sealed, "challenge")
                    .unwrap(),
                ch
            );
            assert!(
                open::<AuthorizeChallenge>(&other, AUTHORIZE_CHALLENGE, &sealed, "challenge")
                    .is_err()
            );
            if key.cipher() == Cipher::Aes256k {
                assert!(open::<AuthorizeChallenge>(&key, AUTHORIZE_REPLY, &sealed, "c").is_err());
            }
        }
    }

    #[test]
    fn crypto_key_wire_form() {
        for (secret, len) in [
            (SecretKey::aes([7; 16]), 28),
            (SecretKey::aes256k([7; 32]), 44),
        ] {
            let k = CryptoKey {
                created: (5, 6),
                secret,
            };
            let bytes = k.to_bytes(0);
            assert_eq!(bytes.len(), len);
            assert_eq!(u16::from_le_bytes([bytes[0], bytes[1]]), k.cipher().code());
            assert_eq!(CryptoKey::decode_exact(&bytes).unwrap(), k);
            assert!(CryptoKey::decode_exact(&bytes[..20]).is_err());
        }
    }
}
