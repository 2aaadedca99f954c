//! Network addresses: `entity_addr_t` and `entity_addrvec_t`.
//!
//! # Wire forms
//!
//! `entity_addr_t` has two encodings, chosen by the peer's features:
//!
//! * **legacy** (peer lacks [`CEPH_FEATURE_MSG_ADDR2`]): a `u32` zero (so the
//!   first byte, the marker, is 0), the nonce (`u32`), then a Linux
//!   `sockaddr_storage` of 128 bytes whose `ss_family` is **big-endian** and
//!   whose remaining bytes are the raw `sockaddr_in`/`sockaddr_in6` (port and
//!   flow info in network order, scope id in host order). The address type
//!   is not sent; the decoder takes it as [`AddrType::LEGACY`].
//! * **versioned** (`MSG_ADDR2`): the marker byte 1, then a versioned
//!   envelope (v1, compat 1) holding the type (`u32`), the nonce (`u32`), the
//!   sockaddr length `elen` (`u32`) and `elen` bytes of sockaddr whose
//!   family is **little-endian** (the rest as above). Ceph writes `elen` 16
//!   for IPv4 and 28 otherwise (also for an unset address); the decoder
//!   accepts any `elen` from 2 up to that size (and 0 for no address), the
//!   missing bytes being zero. Without `SERVER_NAUTILUS` the type `any` is
//!   sent as `legacy`.
//!
//! `entity_addrvec_t` starts with a marker too: 0 and 1 introduce a single
//! address in the two forms above (the marker doubling as the address's own),
//! 2 a list (`u32` count, then each address with its marker). Without
//! `MSG_ADDR2` it is encoded as its first legacy-type address in the legacy
//! form (or a blank one).
//!
//! Address families are Linux's: `AF_INET` = 2, `AF_INET6` = 10.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::str::FromStr;

use bytes::{BufMut, BytesMut};

use crate::codec::{Decode, Encode};
use crate::envelope::encode_versioned;
use crate::error::{DecodeError, ErrorKind};
use crate::features::{has_feature, CEPH_FEATUREMASK_SERVER_NAUTILUS, CEPH_FEATURE_MSG_ADDR2};
use crate::reader::Reader;

/// Linux's `AF_INET`.
pub const AF_INET: u16 = 2;
/// Linux's `AF_INET6`.
pub const AF_INET6: u16 = 10;

/// Size of `sockaddr_storage` in the legacy encoding.
const SOCKADDR_STORAGE_LEN: usize = 128;
/// Bytes of sockaddr after the family that Ceph keeps (`sizeof(sockaddr_in6) - 2`).
const SOCKADDR_DATA_LEN: usize = 26;
/// `sizeof(sockaddr_in)`.
const SOCKADDR_IN_LEN: usize = 16;
/// `sizeof(sockaddr_in6)`, also Ceph's length for other families.
const SOCKADDR_IN6_LEN: usize = 28;

/// The kind of an entity address (`entity_addr_t::TYPE_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AddrType(pub u32);

impl AddrType {
    /// No address.
    pub const NONE: Self = Self(0);
    /// The msgr1 protocol ("v1").
    pub const LEGACY: Self = Self(1);
    /// The msgr2 protocol ("v2").
    pub const MSGR2: Self = Self(2);
    /// Either protocol (as in blocklist entries).
    pub const ANY: Self = Self(3);
    /// A CIDR range (the nonce holds the prefix length), in range blocklists.
    pub const CIDR: Self = Self(4);

    /// Ceph's short name: `none`, `v1`, `v2`, `any`, `cidr`, or `???`.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "none",
            1 => "v1",
            2 => "v2",
            3 => "any",
            4 => "cidr",
            _ => "???",
        }
    }
}

/// The socket address inside an [`EntityAddr`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SockAddr {
    /// No address: family 0 and nothing else (a blank `entity_addr_t`).
    #[default]
    Unspecified,
    /// An IPv4 address and port.
    V4(SocketAddrV4),
    /// An IPv6 address, port, flow info (in network order on the wire) and
    /// scope id.
    V6(SocketAddrV6),
    /// Another family, kept as raw bytes so it re-encodes unchanged. The
    /// decoder never produces `family` 2 or 10 here, nor family 0 with all
    /// bytes zero.
    Other {
        /// The address family.
        family: u16,
        /// The bytes after the family (zero-padded).
        data: [u8; SOCKADDR_DATA_LEN],
    },
}

impl SockAddr {
    /// The family and the bytes after it, as in a Linux sockaddr, and the
    /// length Ceph gives it (`get_sockaddr_len`).
    fn to_raw(self) -> (u16, [u8; SOCKADDR_DATA_LEN], usize) {
        let mut data = [0u8; SOCKADDR_DATA_LEN];
        match self {
            SockAddr::Unspecified => (0, data, SOCKADDR_IN6_LEN),
            SockAddr::V4(a) => {
                put(&mut data, 0, &a.port().to_be_bytes());
                put(&mut data, 2, &a.ip().octets());
                (AF_INET, data, SOCKADDR_IN_LEN)
            }
            SockAddr::V6(a) => {
                put(&mut data, 0, &a.port().to_be_bytes());
                put(&mut data, 2, &a.flowinfo().to_be_bytes());
                put(&mut data, 6, &a.ip().octets());
                put(&mut data, 22, &a.scope_id().to_le_bytes());
                (AF_INET6, data, SOCKADDR_IN6_LEN)
            }
            SockAddr::Other { family, data } => (family, data, SOCKADDR_IN6_LEN),
        }
    }

    /// The address a Linux sockaddr of `family` with `data` after the family
    /// stands for.
    fn from_raw(family: u16, data: &[u8; SOCKADDR_DATA_LEN]) -> SockAddr {
        match family {
            AF_INET => SockAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(array::<4>(data, 2)),
                u16::from_be_bytes(array::<2>(data, 0)),
            )),
            AF_INET6 => SockAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(array::<16>(data, 6)),
                u16::from_be_bytes(array::<2>(data, 0)),
                u32::from_be_bytes(array::<4>(data, 2)),
                u32::from_le_bytes(array::<4>(data, 22)),
            )),
            0 if data.iter().all(|b| *b == 0) => SockAddr::Unspecified,
            family => SockAddr::Other {
                family,
                data: *data,
            },
        }
    }

    /// The IP address and port, if this is an IP address.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match *self {
            SockAddr::V4(a) => Some(SocketAddr::V4(a)),
            SockAddr::V6(a) => Some(SocketAddr::V6(a)),
            _ => None,
        }
    }
}

impl From<SocketAddr> for SockAddr {
    fn from(a: SocketAddr) -> Self {
        match a {
            SocketAddr::V4(a) => SockAddr::V4(a),
            SocketAddr::V6(a) => SockAddr::V6(a),
        }
    }
}

/// Copies `src` into `dst` at `at`, ignoring what does not fit (it always
/// fits for the constant offsets used here).
fn put(dst: &mut [u8], at: usize, src: &[u8]) {
    if let Some(slot) = dst.get_mut(at..at + src.len()) {
        slot.copy_from_slice(src);
    }
}

/// `N` bytes of `src` from `at` (zeros where `src` is too short, which does
/// not happen for the constant offsets used here).
fn array<const N: usize>(src: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(s) = src.get(at..at + N) {
        out.copy_from_slice(s);
    }
    out
}

/// Ceph's `entity_addr_t`: an address type, a nonce that tells apart
/// successive processes at one address, and a socket address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct EntityAddr {
    /// The protocol the address speaks.
    pub addr_type: AddrType,
    /// Distinguishes instances at the same address (for CIDR, the prefix length).
    pub nonce: u32,
    /// The socket address.
    pub sockaddr: SockAddr,
}

/// The smallest versioned encoding: marker, envelope header, type, nonce, elen 0.
const MIN_VERSIONED_ADDR_LEN: usize = 1 + crate::envelope::VERSION_HEADER_SIZE + 12;

impl EntityAddr {
    /// An address of `addr_type` at `addr` with `nonce`.
    pub fn new(addr_type: AddrType, addr: SocketAddr, nonce: u32) -> Self {
        Self {
            addr_type,
            nonce,
            sockaddr: addr.into(),
        }
    }

    /// The IP address and port, if there is one.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        self.sockaddr.socket_addr()
    }

    /// Whether this is a msgr1 address.
    pub fn is_legacy(&self) -> bool {
        self.addr_type == AddrType::LEGACY
    }

    /// Whether this is a msgr2 address.
    pub fn is_msgr2(&self) -> bool {
        self.addr_type == AddrType::MSGR2
    }

    fn encode_legacy(&self, buf: &mut BytesMut) {
        buf.put_u32_le(0);
        buf.put_u32_le(self.nonce);
        let (family, data, _) = self.sockaddr.to_raw();
        buf.put_u16(family); // big-endian, as Ceph's legacy form has it
        buf.put_slice(&data);
        buf.put_bytes(0, SOCKADDR_STORAGE_LEN - 2 - SOCKADDR_DATA_LEN);
    }

    /// The legacy form after its first byte (the marker 0).
    fn decode_legacy_after_marker(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader
            .skip(3)
            .map_err(|e| e.within("EntityAddr", "legacy_marker"))?;
        let nonce = u32::decode(reader).map_err(|e| e.within("EntityAddr", "nonce"))?;
        let storage = reader
            .take(SOCKADDR_STORAGE_LEN)
            .map_err(|e| e.within("EntityAddr", "sockaddr_storage"))?;
        let family = u16::from_be_bytes(array::<2>(storage, 0));
        let data = array::<SOCKADDR_DATA_LEN>(storage, 2);
        // Like Ceph's set_sockaddr(): only IPv4 and IPv6 are taken, anything
        // else leaves the address blank.
        let sockaddr = match family {
            AF_INET | AF_INET6 => SockAddr::from_raw(family, &data),
            _ => SockAddr::Unspecified,
        };
        Ok(Self {
            addr_type: AddrType::LEGACY,
            nonce,
            sockaddr,
        })
    }

    fn encode_versioned_after_marker(&self, buf: &mut BytesMut, features: u64) {
        encode_versioned(buf, 1, 1, |buf| {
            let addr_type = if self.addr_type == AddrType::ANY
                && !has_feature(features, CEPH_FEATUREMASK_SERVER_NAUTILUS)
            {
                AddrType::LEGACY
            } else {
                self.addr_type
            };
            buf.put_u32_le(addr_type.0);
            buf.put_u32_le(self.nonce);
            let (family, data, len) = self.sockaddr.to_raw();
            buf.put_u32_le(len as u32);
            buf.put_u16_le(family);
            buf.put_slice(data.get(..len - 2).unwrap_or(&data));
        });
    }

    /// The versioned form after its marker byte 1.
    fn decode_versioned_after_marker(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.versioned("EntityAddr", 1, |r, _| {
            let addr_type = u32::decode(r)
                .map(AddrType)
                .map_err(|e| e.within("EntityAddr", "type"))?;
            let nonce = u32::decode(r).map_err(|e| e.within("EntityAddr", "nonce"))?;
            let elen_at = r.offset();
            let elen = u32::decode(r).map_err(|e| e.within("EntityAddr", "elen"))?;
            let sockaddr = if elen == 0 {
                SockAddr::Unspecified
            } else {
                let malformed = |reason| {
                    DecodeError::new(
                        ErrorKind::Malformed {
                            what: "sockaddr length",
                            reason,
                        },
                        elen_at,
                    )
                    .within("EntityAddr", "elen")
                };
                if elen < 2 {
                    return Err(malformed("shorter than the family"));
                }
                let family = u16::decode(r).map_err(|e| e.within("EntityAddr", "sockaddr"))?;
                let max = if family == AF_INET {
                    SOCKADDR_IN_LEN
                } else {
                    SOCKADDR_IN6_LEN
                };
                let rest = usize::try_from(elen - 2).unwrap_or(usize::MAX);
                if rest > max - 2 {
                    return Err(malformed("longer than the family's sockaddr"));
                }
                let bytes = r
                    .take(rest)
                    .map_err(|e| e.within("EntityAddr", "sockaddr"))?;
                let mut data = [0u8; SOCKADDR_DATA_LEN];
                put(&mut data, 0, bytes);
                SockAddr::from_raw(family, &data)
            };
            Ok(Self {
                addr_type,
                nonce,
                sockaddr,
            })
        })
    }
}

impl Encode for EntityAddr {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        if features & CEPH_FEATURE_MSG_ADDR2 == 0 {
            self.encode_legacy(buf);
        } else {
            buf.put_u8(1);
            self.encode_versioned_after_marker(buf, features);
        }
    }
}

impl Decode for EntityAddr {
    const MIN_ENCODED_SIZE: usize = MIN_VERSIONED_ADDR_LEN;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = reader.offset();
        match u8::decode(reader).map_err(|e| e.within("EntityAddr", "marker"))? {
            0 => Self::decode_legacy_after_marker(reader),
            1 => Self::decode_versioned_after_marker(reader),
            marker => Err(DecodeError::new(
                ErrorKind::InvalidValue {
                    what: "entity_addr_t marker (0 or 1)",
                    value: u64::from(marker),
                },
                at,
            )
            .within("EntityAddr", "marker")),
        }
    }
}

/// Ceph's notation: `v2:10.0.0.1:3300/0`, `v1:[::1]:6789/12`, `-` for no
/// address; type `any` has no prefix.
impl fmt::Display for EntityAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.addr_type == AddrType::NONE {
            return f.write_str("-");
        }
        if self.addr_type != AddrType::ANY {
            write!(f, "{}:", self.addr_type.name())?;
        }
        match self.sockaddr {
            SockAddr::V4(a) => write!(f, "{a}")?,
            SockAddr::V6(a) => write!(f, "[{}]:{}", a.ip(), a.port())?,
            SockAddr::Unspecified => f.write_str("(unrecognized address family 0)")?,
            SockAddr::Other { family, .. } => {
                write!(f, "(unrecognized address family {family})")?;
            }
        }
        write!(f, "/{}", self.nonce)
    }
}

fn bad_addr(input: &str, reason: &'static str) -> DecodeError {
    DecodeError::new(
        ErrorKind::BadText {
            input: input.to_owned(),
            reason,
        },
        0,
    )
}

impl EntityAddr {
    /// Parses one address at the start of `s` as Ceph does
    /// (`entity_addr_t::parse`): an optional `v1:`, `v2:` or `any:` prefix
    /// (else `default_type`), an IPv4 address, or an IPv6 one with or
    /// without brackets, then optionally `:port` and `/nonce`; `-` alone is a
    /// blank address. Returns the address and the unparsed rest.
    pub fn parse_prefix(s: &str, default_type: AddrType) -> Result<(Self, &str), DecodeError> {
        let (addr_type, rest) = if let Some(r) = s.strip_prefix("v1:") {
            (AddrType::LEGACY, r)
        } else if let Some(r) = s.strip_prefix("v2:") {
            (AddrType::MSGR2, r)
        } else if let Some(r) = s.strip_prefix("any:") {
            (AddrType::ANY, r)
        } else if let Some(r) = s.strip_prefix('-') {
            return Ok((Self::default(), r));
        } else {
            (default_type, s)
        };
        let (bracketed, rest) = match rest.strip_prefix('[') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let v4_len = rest
            .find(|c: char| !(c == '.' || c.is_ascii_digit()))
            .unwrap_or(rest.len());
        // Inside brackets the IPv6 address runs to the ']' (so that
        // `[::ffff:1.2.3.4]` parses); bare, it is the hex digits and colons.
        let v6_len = if bracketed {
            rest.find(']').unwrap_or(rest.len())
        } else {
            rest.find(|c: char| !(c == ':' || c.is_ascii_hexdigit()))
                .unwrap_or(rest.len())
        };
        let parsed = rest
            .get(..v4_len)
            .and_then(|t| t.parse::<Ipv4Addr>().ok())
            .map(|ip| (IpAddr::V4(ip), v4_len))
            .or_else(|| {
                rest.get(..v6_len)
                    .and_then(|t| t.parse::<Ipv6Addr>().ok())
                    .map(|ip| (IpAddr::V6(ip), v6_len))
            });
        let Some((ip, ip_len)) = parsed else {
            return Err(bad_addr(s, "expected an IPv4 or IPv6 address"));
        };
        let mut rest = rest.get(ip_len..).unwrap_or("");
        if bracketed {
            rest = rest
                .strip_prefix(']')
                .ok_or_else(|| bad_addr(s, "missing ']'"))?;
        }
        let mut port = 0u16;
        if let Some(r) = rest.strip_prefix(':') {
            let digits = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            port = r
                .get(..digits)
                .and_then(|d| d.parse().ok())
                .ok_or_else(|| bad_addr(s, "bad port"))?;
            rest = r.get(digits..).unwrap_or("");
        }
        let mut nonce = 0u32;
        if let Some(r) = rest.strip_prefix('/') {
            let digits = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            nonce = r
                .get(..digits)
                .and_then(|d| d.parse().ok())
                .ok_or_else(|| bad_addr(s, "bad nonce"))?;
            rest = r.get(digits..).unwrap_or("");
        }
        Ok((Self::new(addr_type, SocketAddr::new(ip, port), nonce), rest))
    }
}

/// Parses the whole string with [`EntityAddr::parse_prefix`], defaulting to
/// [`AddrType::MSGR2`] as Ceph does.
impl FromStr for EntityAddr {
    type Err = DecodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match Self::parse_prefix(s, AddrType::MSGR2)? {
            (addr, "") => Ok(addr),
            _ => Err(bad_addr(s, "unexpected text after the address")),
        }
    }
}

/// Ceph's `entity_addrvec_t`: the addresses an entity listens on (typically
/// one msgr2 and one msgr1 address).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EntityAddrVec {
    /// The addresses, in order of preference.
    pub addrs: Vec<EntityAddr>,
}

impl EntityAddrVec {
    /// A vector of one address.
    pub fn single(addr: EntityAddr) -> Self {
        Self { addrs: vec![addr] }
    }

    /// The first msgr1 address, or a blank one (what peers without
    /// `MSG_ADDR2` get).
    pub fn legacy_addr(&self) -> EntityAddr {
        self.addrs
            .iter()
            .find(|a| a.is_legacy())
            .copied()
            .unwrap_or_default()
    }

    /// The first msgr2 address, if any.
    pub fn msgr2_addr(&self) -> Option<EntityAddr> {
        self.addrs.iter().find(|a| a.is_msgr2()).copied()
    }

    /// The first address, if any.
    pub fn front(&self) -> Option<EntityAddr> {
        self.addrs.first().copied()
    }
}

impl Encode for EntityAddrVec {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        if features & CEPH_FEATURE_MSG_ADDR2 == 0 {
            self.legacy_addr().encode(buf, 0);
        } else {
            buf.put_u8(2);
            self.addrs.encode(buf, features);
        }
    }
}

impl Decode for EntityAddrVec {
    const MIN_ENCODED_SIZE: usize = 5;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = reader.offset();
        let marker = u8::decode(reader).map_err(|e| e.within("EntityAddrVec", "marker"))?;
        let addrs = match marker {
            0 => vec![EntityAddr::decode_legacy_after_marker(reader)
                .map_err(|e| e.within("EntityAddrVec", "addr"))?],
            1 => vec![EntityAddr::decode_versioned_after_marker(reader)
                .map_err(|e| e.within("EntityAddrVec", "addr"))?],
            2 => {
                Vec::<EntityAddr>::decode(reader).map_err(|e| e.within("EntityAddrVec", "addrs"))?
            }
            marker => {
                return Err(DecodeError::new(
                    ErrorKind::InvalidValue {
                        what: "entity_addrvec_t marker (0, 1 or 2)",
                        value: u64::from(marker),
                    },
                    at,
                )
                .within("EntityAddrVec", "marker"))
            }
        };
        Ok(Self { addrs })
    }
}

/// Empty, the one address, or `[a,b]`, as Ceph prints it.
impl fmt::Display for EntityAddrVec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addrs.as_slice() {
            [] => Ok(()),
            [one] => write!(f, "{one}"),
            many => {
                f.write_str("[")?;
                for (i, a) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Parses `[v2:1.2.3.4:3300,v1:1.2.3.4:6789]` or a single address (see
/// [`EntityAddr::parse_prefix`]; untyped addresses default to msgr2).
impl FromStr for EntityAddrVec {
    type Err = DecodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let single = s.parse::<EntityAddr>();
        if !s.starts_with('[') || single.is_ok() {
            return single.map(EntityAddrVec::single);
        }
        let inner = s
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .ok_or_else(|| bad_addr(s, "missing ']'"))?;
        let mut addrs = Vec::new();
        let mut rest = inner;
        loop {
            let (addr, after) = EntityAddr::parse_prefix(rest, AddrType::MSGR2)?;
            addrs.push(addr);
            match after.strip_prefix(',') {
                Some(r) => rest = r,
                None if after.is_empty() => break,
                None => return Err(bad_addr(s, "expected ',' or ']' after an address")),
            }
        }
        Ok(Self { addrs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::CEPH_FEATURES_ALL;
    use proptest::prelude::*;

    fn v4(a: [u8; 4], port: u16) -> SockAddr {
        SockAddr::V4(SocketAddrV4::new(Ipv4Addr::from(a), port))
    }

    #[test]
    fn versioned_ipv4_layout() {
        // Corpus sample (16.2.0): any:172.21.64.1:0/749981277.
        let addr = EntityAddr {
            addr_type: AddrType::ANY,
            nonce: 0x2cb3_ce5d,
            sockaddr: v4([172, 21, 64, 1], 0),
        };
        let expect: &[u8] = &[
            1, 1, 1, 0x1c, 0, 0, 0, 3, 0, 0, 0, 0x5d, 0xce, 0xb3, 0x2c, 0x10, 0, 0, 0, 2, 0, 0, 0,
            172, 21, 64, 1, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(&addr.to_bytes(CEPH_FEATURES_ALL)[..], expect);
        assert_eq!(EntityAddr::decode_exact(expect), Ok(addr));
        assert_eq!(addr.to_string(), "172.21.64.1:0/749981277");
    }

    #[test]
    fn port_is_big_endian() {
        let addr = EntityAddr::new(AddrType::MSGR2, SocketAddr::from(([10, 0, 0, 1], 3300)), 7);
        let b = addr.to_bytes(CEPH_FEATURES_ALL);
        // family LE 2, then port 3300 = 0x0ce4 big-endian.
        assert_eq!(&b[19..23], &[2, 0, 0x0c, 0xe4]);
        let b = addr.to_bytes(0);
        // legacy: family big-endian.
        assert_eq!(&b[8..12], &[0, 2, 0x0c, 0xe4]);
    }

    #[test]
    fn legacy_layout() {
        // What Ceph's generate_test_instances()'s third entity_addr_t
        // (v1:127.0.1.2:2/5) looks like encoded without MSG_ADDR2.
        let addr = EntityAddr {
            addr_type: AddrType::LEGACY,
            nonce: 5,
            sockaddr: v4([127, 0, 1, 2], 2),
        };
        let mut expect = vec![0, 0, 0, 0, 5, 0, 0, 0, 0, 2, 0, 2, 127, 0, 1, 2];
        expect.resize(8 + 128, 0);
        let b = addr.to_bytes(0);
        assert_eq!(&b[..], &expect[..]);
        assert_eq!(EntityAddr::decode_exact(&b), Ok(addr));
        // The type is not carried: anything decodes as legacy.
        let msgr2 = EntityAddr {
            addr_type: AddrType::MSGR2,
            ..addr
        };
        assert_eq!(EntityAddr::decode_exact(&msgr2.to_bytes(0)), Ok(addr));
    }

    #[test]
    fn ipv6_both_forms() {
        let a = SocketAddrV6::new(
            "2001:db8::1".parse().unwrap_or(Ipv6Addr::LOCALHOST),
            6789,
            0x0001_2345,
            3,
        );
        let addr = EntityAddr {
            addr_type: AddrType::LEGACY,
            nonce: 9,
            sockaddr: SockAddr::V6(a),
        };
        let b = addr.to_bytes(CEPH_FEATURES_ALL);
        assert_eq!(b.len(), 1 + 6 + 12 + 28);
        assert_eq!(&b[15..19], &[28, 0, 0, 0]);
        assert_eq!(&b[19..21], &[10, 0]);
        assert_eq!(&b[21..23], &[0x1a, 0x85]);
        assert_eq!(&b[23..27], &[0, 1, 0x23, 0x45]);
        assert_eq!(&b[43..47], &[3, 0, 0, 0]);
        assert_eq!(EntityAddr::decode_exact(&b), Ok(addr));
        let b = addr.to_bytes(0);
        assert_eq!(b.len(), 136);
        assert_eq!(&b[8..10], &[0, 10]);
        assert_eq!(EntityAddr::decode_exact(&b), Ok(addr));
        assert_eq!(addr.to_string(), "v1:[2001:db8::1]:6789/9");
    }

    #[test]
    fn blank_address_forms() {
        // Ceph writes a blank address with elen 28; elen 0 decodes the same.
        let blank = EntityAddr::default();
        let b = blank.to_bytes(CEPH_FEATURES_ALL);
        assert_eq!(b.len(), 1 + 6 + 12 + 28);
        assert_eq!(EntityAddr::decode_exact(&b), Ok(blank));
        let short = [1, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(EntityAddr::decode_exact(&short), Ok(blank));
        assert_eq!(blank.to_string(), "-");
    }

    #[test]
    fn short_elen_is_zero_padded_and_long_elen_refused() {
        // IPv4 with elen 8: family, port, address, no sin_zero.
        let data = [
            1, 1, 1, 20, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 2, 0, 0x1a, 0x85, 10, 0, 0, 1,
        ];
        let addr = EntityAddr::decode_exact(&data);
        assert_eq!(addr.map(|a| a.sockaddr), Ok(v4([10, 0, 0, 1], 6789)));
        // IPv4 with elen 20 > sizeof(sockaddr_in).
        let mut data = vec![
            1, 1, 1, 32, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 20, 0, 0, 0, 2, 0,
        ];
        data.resize(data.len() + 18, 0);
        assert!(matches!(
            EntityAddr::decode_exact(&data).map_err(|e| e.kind().clone()),
            Err(ErrorKind::Malformed { .. })
        ));
        // elen 1.
        let data = [1, 1, 1, 13, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2];
        assert!(EntityAddr::decode_exact(&data).is_err());
        // marker 7.
        assert!(EntityAddr::decode_exact(&[7]).is_err());
    }

    #[test]
    fn any_becomes_legacy_for_pre_nautilus_peers() {
        let addr = EntityAddr {
            addr_type: AddrType::ANY,
            nonce: 1,
            sockaddr: v4([1, 2, 3, 4], 5),
        };
        let b = addr.to_bytes(CEPH_FEATURE_MSG_ADDR2);
        assert_eq!(
            EntityAddr::decode_exact(&b).map(|a| a.addr_type),
            Ok(AddrType::LEGACY)
        );
    }

    #[test]
    fn unknown_tail_is_skipped() {
        // A future v2 of entity_addr_t with 3 extra bytes, compat 1.
        let mut data = vec![
            1, 2, 1, 31, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 16, 0, 0, 0, 2, 0, 0, 1, 10, 0, 0, 1,
        ];
        data.extend_from_slice(&[0; 8]);
        data.extend_from_slice(&[0xee; 3]);
        assert_eq!(
            EntityAddr::decode_exact(&data).map(|a| a.sockaddr),
            Ok(v4([10, 0, 0, 1], 1))
        );
        // compat 2 is refused.
        data[2] = 2;
        assert!(matches!(
            EntityAddr::decode_exact(&data).map_err(|e| e.kind().clone()),
            Err(ErrorKind::UnsupportedVersion {
                type_name: "EntityAddr",
                ..
            })
        ));
    }

    #[test]
    fn addrvec_forms() {
        let v2 = EntityAddr::new(AddrType::MSGR2, SocketAddr::from(([10, 0, 0, 1], 3300)), 0);
        let v1 = EntityAddr::new(AddrType::LEGACY, SocketAddr::from(([10, 0, 0, 1], 6789)), 0);
        let vec = EntityAddrVec {
            addrs: vec![v2, v1],
        };
        let b = vec.to_bytes(CEPH_FEATURES_ALL);
        assert_eq!(&b[..5], &[2, 2, 0, 0, 0]);
        assert_eq!(EntityAddrVec::decode_exact(&b), Ok(vec.clone()));
        // Legacy peers get the v1 address alone.
        let b = vec.to_bytes(0);
        assert_eq!(b.len(), 136);
        assert_eq!(
            EntityAddrVec::decode_exact(&b),
            Ok(EntityAddrVec::single(v1))
        );
        // Marker 1: one versioned address.
        let b = v2.to_bytes(CEPH_FEATURES_ALL);
        assert_eq!(
            EntityAddrVec::decode_exact(&b),
            Ok(EntityAddrVec::single(v2))
        );
        assert!(EntityAddrVec::decode_exact(&[3]).is_err());
        assert_eq!(vec.to_string(), "[v2:10.0.0.1:3300/0,v1:10.0.0.1:6789/0]");
        assert_eq!(
            "[v2:10.0.0.1:3300/0,v1:10.0.0.1:6789/0]".parse::<EntityAddrVec>(),
            Ok(vec)
        );
        // No legacy address: a blank one.
        let only_v2 = EntityAddrVec::single(v2);
        assert_eq!(
            EntityAddrVec::decode_exact(&only_v2.to_bytes(0)),
            Ok(EntityAddrVec::single(EntityAddr {
                addr_type: AddrType::LEGACY,
                ..EntityAddr::default()
            }))
        );
    }

    #[test]
    fn parsing() {
        let p = |s: &str| s.parse::<EntityAddr>().map(|a| a.to_string());
        assert_eq!(p("v1:1.2.3.4:6789/5"), Ok("v1:1.2.3.4:6789/5".into()));
        assert_eq!(p("1.2.3.4"), Ok("v2:1.2.3.4:0/0".into()));
        assert_eq!(p("any:1.2.3.4:1"), Ok("1.2.3.4:1/0".into()));
        assert_eq!(p("[::1]:3300"), Ok("v2:[::1]:3300/0".into()));
        assert_eq!(p("v2:fe80::1"), Ok("v2:[fe80::1]:0/0".into()));
        assert_eq!(p("-"), Ok("-".into()));
        assert!(p("1.2.3.4:99999").is_err());
        assert!(p("host.example:3300").is_err());
        assert!(p("[::1:3300").is_err());
        assert!(p("1.2.3.4:1 x").is_err());
        assert!("[1.2.3.4,".parse::<EntityAddrVec>().is_err());
        assert_eq!(
            "[::1]:6789".parse::<EntityAddrVec>().map(|v| v.addrs.len()),
            Ok(1)
        );
    }

    pub(crate) fn sockaddr_strategy() -> impl Strategy<Value = SockAddr> {
        prop_oneof![
            Just(SockAddr::Unspecified),
            (any::<[u8; 4]>(), any::<u16>()).prop_map(|(a, p)| v4(a, p)),
            (any::<[u8; 16]>(), any::<u16>(), any::<u32>(), any::<u32>()).prop_map(
                |(a, p, f, s)| SockAddr::V6(SocketAddrV6::new(Ipv6Addr::from(a), p, f, s))
            ),
            (any::<u16>(), any::<[u8; 26]>())
                .prop_filter("not a known family or blank", |(f, d)| {
                    *f != AF_INET && *f != AF_INET6 && !(*f == 0 && d.iter().all(|b| *b == 0))
                })
                .prop_map(|(family, data)| SockAddr::Other { family, data }),
        ]
    }

    pub(crate) fn addr_strategy() -> impl Strategy<Value = EntityAddr> {
        (any::<u32>(), any::<u32>(), sockaddr_strategy()).prop_map(|(t, nonce, sockaddr)| {
            EntityAddr {
                addr_type: AddrType(t),
                nonce,
                sockaddr,
            }
        })
    }

    proptest! {
        #[test]
        fn addr_round_trip(addr in addr_strategy()) {
            let b = addr.to_bytes(CEPH_FEATURES_ALL);
            prop_assert_eq!(EntityAddr::decode_exact(&b), Ok(addr));
            // Legacy form: type becomes v1; families other than IP are lost.
            let legacy = EntityAddr::decode_exact(&addr.to_bytes(0));
            let sockaddr = match addr.sockaddr {
                SockAddr::Other { .. } => SockAddr::Unspecified,
                s => s,
            };
            prop_assert_eq!(legacy, Ok(EntityAddr { addr_type: AddrType::LEGACY, sockaddr, ..addr }));
        }

        #[test]
        fn addrvec_round_trip(addrs in proptest::collection::vec(addr_strategy(), 0..4)) {
            let v = EntityAddrVec { addrs };
            prop_assert_eq!(EntityAddrVec::decode_exact(&v.to_bytes(CEPH_FEATURES_ALL)), Ok(v));
        }

        #[test]
        fn ip_text_round_trip(t in 1u32..=2, ip: IpAddr, port: u16, nonce: u32) {
            let addr = EntityAddr::new(AddrType(t), SocketAddr::new(ip, port), nonce);
            prop_assert_eq!(addr.to_string().parse::<EntityAddr>(), Ok(addr));
        }

        #[test]
        fn arbitrary_bytes_never_panic(data: Vec<u8>) {
            let _ = EntityAddr::decode_exact(&data);
            let _ = EntityAddrVec::decode_exact(&data);
        }
    }
}
