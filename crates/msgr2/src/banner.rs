//! The msgr2 banner: the first bytes each side sends.
//!
//! Layout (Ceph's `ProtocolV2.cc`, the kernel's `prepare_banner`):
//!
//! ```text
//! "ceph v2\n"            8 bytes
//! le16 payload length     16 today
//! payload:
//!   le64 supported msgr2 features
//!   le64 required msgr2 features
//! ```
//!
//! A longer payload is accepted and its tail ignored, as Ceph's decoder does.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{Error, Result};

/// The banner's fixed prefix.
pub const BANNER_PREFIX: &[u8; 8] = b"ceph v2\n";

/// The legacy msgr1 banner, recognised only to give a clear error.
const MSGR1_BANNER: &[u8; 8] = b"ceph v02";

/// Length of the prefix plus the le16 payload length.
pub const BANNER_HEAD_LEN: usize = BANNER_PREFIX.len() + 2;

/// Length of the banner we send (prefix, length, two feature words).
pub const BANNER_LEN: usize = BANNER_HEAD_LEN + 16;

/// msgr2 protocol feature bits (not Ceph's cluster feature bits).
pub mod features {
    /// msgr2.1: the revised frame layout (first segment with its own crc or
    /// auth tag, epilogue only for multi-segment frames, 64-bit nonce
    /// counter).
    pub const REVISION_1: u64 = 1 << 0;
    /// On-wire compression (Quincy and later). Not supported here.
    pub const COMPRESSION: u64 = 1 << 1;
    /// What this implementation supports.
    pub const SUPPORTED: u64 = REVISION_1;
    /// What this implementation requires of a peer: msgr2.0 framing is not
    /// implemented, so revision 1 is mandatory (as in the kernel client).
    pub const REQUIRED: u64 = REVISION_1;
}

/// The content of a banner: the two msgr2 feature words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Banner {
    /// msgr2 features the sender supports.
    pub supported: u64,
    /// msgr2 features the sender requires of its peer.
    pub required: u64,
}

impl Default for Banner {
    fn default() -> Self {
        Self::ours()
    }
}

impl Banner {
    /// The banner this implementation sends: supports and requires
    /// [`features::REVISION_1`], no compression.
    #[must_use]
    pub const fn ours() -> Self {
        Self {
            supported: features::SUPPORTED,
            required: features::REQUIRED,
        }
    }

    /// Appends the banner's [`BANNER_LEN`] bytes to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(BANNER_LEN);
        out.put_slice(BANNER_PREFIX);
        out.put_u16_le(16);
        out.put_u64_le(self.supported);
        out.put_u64_le(self.required);
    }

    /// Decodes a banner from the front of `buf`.
    ///
    /// Returns `Ok(None)` while the banner is incomplete (nothing is
    /// consumed; call again with more bytes), and once complete consumes it
    /// and returns it with its raw bytes (which the authentication signature
    /// covers). An incomplete buffer never makes this allocate: the payload
    /// length is at most 65535 and nothing is reserved for it.
    pub fn decode(buf: &mut BytesMut) -> Result<Option<(Banner, Bytes)>> {
        let have = buf.len().min(BANNER_PREFIX.len());
        if buf[..have] != BANNER_PREFIX[..have] {
            if buf[..have] != MSGR1_BANNER[..have] {
                return Err(Error::BadBannerPrefix);
            }
            if have == MSGR1_BANNER.len() {
                return Err(Error::Msgr1Peer);
            }
            // A beginning of the msgr1 banner: not decisive yet.
            return Ok(None);
        }
        if buf.len() < BANNER_HEAD_LEN {
            return Ok(None);
        }
        let payload_len = u16::from_le_bytes([buf[8], buf[9]]);
        if payload_len < 16 {
            return Err(Error::BannerPayloadTooShort { len: payload_len });
        }
        let total = BANNER_HEAD_LEN + usize::from(payload_len);
        if buf.len() < total {
            return Ok(None);
        }
        let raw = buf.split_to(total).freeze();
        let mut payload = &raw[BANNER_HEAD_LEN..];
        let supported = payload.get_u64_le();
        let required = payload.get_u64_le();
        Ok(Some((
            Banner {
                supported,
                required,
            },
            raw,
        )))
    }

    /// How many bytes [`Banner::decode`] needs in its buffer to make
    /// progress, given what is buffered now.
    #[must_use]
    pub fn needed(buf: &[u8]) -> usize {
        if buf.len() < BANNER_HEAD_LEN {
            BANNER_HEAD_LEN
        } else {
            BANNER_HEAD_LEN + usize::from(u16::from_le_bytes([buf[8], buf[9]])).max(16)
        }
    }

    /// Checks that `self` (our banner) and `peer` can talk: the peer must
    /// support all we require and we must support all it requires (the
    /// kernel's `process_banner_payload`).
    pub fn check_peer(&self, peer: &Banner) -> Result<()> {
        let missing = self.required & !peer.supported;
        if missing != 0 {
            return Err(Error::PeerLacksRequiredFeatures { missing });
        }
        let unsupported = peer.required & !self.supported;
        if unsupported != 0 {
            return Err(Error::PeerRequiresUnsupportedFeatures { unsupported });
        }
        Ok(())
    }

    /// Whether both sides support msgr2.1 (always the case once
    /// [`Banner::check_peer`] passed with our banner).
    #[must_use]
    pub fn is_rev1_with(&self, peer: &Banner) -> bool {
        self.supported & peer.supported & features::REVISION_1 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_layout() {
        let mut out = BytesMut::new();
        Banner::ours().encode(&mut out);
        assert_eq!(
            &out[..],
            b"ceph v2\n\x10\x00\x01\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0"
        );
        let mut buf = out.clone();
        let (b, raw) = Banner::decode(&mut buf).unwrap().unwrap();
        assert_eq!(b, Banner::ours());
        assert_eq!(&raw[..], &out[..]);
        assert!(buf.is_empty());
    }

    #[test]
    fn incremental_and_long_payload() {
        let mut wire = BytesMut::new();
        wire.put_slice(BANNER_PREFIX);
        wire.put_u16_le(20);
        wire.put_u64_le(3);
        wire.put_u64_le(1);
        wire.put_u32_le(0xdead_beef);
        wire.put_slice(b"next");
        for cut in 0..30 {
            let mut part = BytesMut::from(&wire[..cut]);
            assert_eq!(Banner::decode(&mut part).unwrap(), None, "cut {cut}");
            assert_eq!(part.len(), cut);
            assert!(Banner::needed(&part) > cut);
        }
        let mut all = wire.clone();
        let (b, raw) = Banner::decode(&mut all).unwrap().unwrap();
        assert_eq!((b.supported, b.required), (3, 1));
        assert_eq!(raw.len(), 30);
        assert_eq!(&all[..], b"next");
    }

    #[test]
    fn bad_banners() {
        let mut b = BytesMut::from(&b"ceph v027"[..]);
        assert_eq!(Banner::decode(&mut b), Err(Error::Msgr1Peer));
        let mut b = BytesMut::from(&b"GET / HTTP/1.1"[..]);
        assert_eq!(Banner::decode(&mut b), Err(Error::BadBannerPrefix));
        let mut b = BytesMut::from(&b"cephX"[..]);
        assert_eq!(Banner::decode(&mut b), Err(Error::BadBannerPrefix));
        let mut b = BytesMut::from(&b"ceph v2\n\x08\x00"[..]);
        assert_eq!(
            Banner::decode(&mut b),
            Err(Error::BannerPayloadTooShort { len: 8 })
        );
    }

    #[test]
    fn compatibility() {
        let ours = Banner::ours();
        // Pacific's monitor: supports revision 1, requires nothing.
        assert!(ours
            .check_peer(&Banner {
                supported: 1,
                required: 0
            })
            .is_ok());
        // Quincy and later: also compression, which they do not require.
        assert!(ours
            .check_peer(&Banner {
                supported: 3,
                required: 0
            })
            .is_ok());
        // A msgr2.0-only peer.
        assert_eq!(
            ours.check_peer(&Banner {
                supported: 0,
                required: 0
            }),
            Err(Error::PeerLacksRequiredFeatures { missing: 1 })
        );
        // A peer requiring compression.
        assert_eq!(
            ours.check_peer(&Banner {
                supported: 3,
                required: 2
            }),
            Err(Error::PeerRequiresUnsupportedFeatures { unsupported: 2 })
        );
    }
}
