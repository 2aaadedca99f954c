//! The 32-byte preamble that starts every frame.
//!
//! ```text
//! u8    tag
//! u8    segment count (1..=4)
//! 4 x { le32 length, le16 alignment }   descriptors; unused ones are zero
//! u8    flags          (compression, Quincy+; we negotiate none: must be 0)
//! u8    reserved       (must be 0)
//! le32  crc32c         ceph_crc32c(0, first 28 bytes)
//! ```
//!
//! The crc is computed and checked in both modes (in secure mode, on the
//! decrypted preamble).

use crate::crc::{ceph_crc32c, PREAMBLE_CRC_SEED};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::segment::{FrameLimits, MAX_SEGMENTS};
use crate::tag::Tag;

impl Tag {
    /// The tag of a wire number, or [`Error::UnknownTag`].
    ///
    /// (Here, where tags are read off the wire: `tag.rs` knows no errors.)
    pub fn from_u8(value: u8) -> Result<Self> {
        match value {
            1..=22 => Ok(Self::ALL[usize::from(value) - 1]),
            other => Err(Error::UnknownTag(other)),
        }
    }
}

impl TryFrom<u8> for Tag {
    type Error = Error;

    fn try_from(value: u8) -> Result<Self> {
        Self::from_u8(value)
    }
}

/// Length of a preamble on the wire (before encryption).
pub const PREAMBLE_LEN: usize = 32;

/// Bytes of the preamble the crc covers.
const PREAMBLE_CRC_COVERED: usize = 28;

/// One segment descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SegmentDesc {
    pub(crate) len: u32,
    pub(crate) alignment: u16,
}

/// A parsed, validated preamble.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Preamble {
    pub(crate) tag: Tag,
    pub(crate) count: usize,
    pub(crate) descs: [SegmentDesc; MAX_SEGMENTS],
}

impl Preamble {
    /// The preamble describing `frame`; fails if a segment does not fit the
    /// 32-bit length field.
    pub(crate) fn for_frame(frame: &Frame) -> Result<Self> {
        let segments = frame.segments();
        if segments.is_empty() || segments.len() > MAX_SEGMENTS {
            return Err(Error::InvalidSegmentCount(segments.len()));
        }
        let mut descs = [SegmentDesc::default(); MAX_SEGMENTS];
        for (i, (desc, seg)) in descs.iter_mut().zip(segments).enumerate() {
            desc.len = u32::try_from(seg.len()).map_err(|_| Error::SegmentTooLarge {
                index: i,
                len: seg.len(),
            })?;
            desc.alignment = seg.alignment;
        }
        Ok(Self {
            tag: frame.tag(),
            count: segments.len(),
            descs,
        })
    }

    /// The segment lengths, zero beyond the count.
    pub(crate) fn lens(&self) -> [u32; MAX_SEGMENTS] {
        self.descs.map(|d| d.len)
    }

    /// The wire bytes of this preamble, crc included.
    pub(crate) fn encode(&self) -> [u8; PREAMBLE_LEN] {
        let mut b = [0u8; PREAMBLE_LEN];
        b[0] = self.tag.as_u8();
        // count is 1..=4 by construction.
        b[1] = self.count as u8;
        for (i, d) in self.descs.iter().take(self.count).enumerate() {
            let at = 2 + 6 * i;
            b[at..at + 4].copy_from_slice(&d.len.to_le_bytes());
            b[at + 4..at + 6].copy_from_slice(&d.alignment.to_le_bytes());
        }
        // b[26] flags and b[27] reserved stay zero.
        let crc = ceph_crc32c(PREAMBLE_CRC_SEED, &b[..PREAMBLE_CRC_COVERED]);
        b[PREAMBLE_CRC_COVERED..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Parses and validates a received preamble: crc first (nothing of an
    /// unauthenticated preamble is trusted), then tag, segment count,
    /// descriptors, flags and the length bounds.
    pub(crate) fn decode(b: &[u8; PREAMBLE_LEN], limits: &FrameLimits) -> Result<Self> {
        let expected = u32::from_le_bytes([b[28], b[29], b[30], b[31]]);
        let computed = ceph_crc32c(PREAMBLE_CRC_SEED, &b[..PREAMBLE_CRC_COVERED]);
        if expected != computed {
            return Err(Error::BadPreambleCrc { expected, computed });
        }
        let tag = Tag::from_u8(b[0])?;
        let count_byte = b[1];
        let count = usize::from(count_byte);
        if !(1..=MAX_SEGMENTS).contains(&count) {
            return Err(Error::BadSegmentCount(count_byte));
        }
        let mut descs = [SegmentDesc::default(); MAX_SEGMENTS];
        for (i, d) in descs.iter_mut().enumerate() {
            let at = 2 + 6 * i;
            d.len = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
            d.alignment = u16::from_le_bytes([b[at + 4], b[at + 5]]);
            if i >= count && *d != SegmentDesc::default() {
                return Err(Error::NonZeroUnusedDescriptor { index: i });
            }
        }
        if count > 1 && descs[count - 1].len == 0 {
            return Err(Error::EmptyLastSegment { count: count_byte });
        }
        let (flags, reserved) = (b[26], b[27]);
        if flags != 0 || reserved != 0 {
            return Err(Error::UnsupportedFlags { flags, reserved });
        }
        for (i, d) in descs.iter().take(count).enumerate() {
            let max = limits.max_segment(tag, i);
            if d.len > max {
                return Err(Error::SegmentTooLong {
                    tag,
                    index: i,
                    len: d.len,
                    max,
                });
            }
        }
        Ok(Self { tag, count, descs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn with_crc(mut b: [u8; 32]) -> [u8; 32] {
        let crc = ceph_crc32c(0, &b[..28]);
        b[28..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    #[test]
    fn round_trip() {
        let f = Frame::message(
            Bytes::from_static(&[1; 53]),
            Bytes::from_static(&[2; 10]),
            Bytes::new(),
            Bytes::from_static(&[3; 5000]),
        );
        let p = Preamble::for_frame(&f).unwrap();
        let b = p.encode();
        assert_eq!(b[0], 17);
        assert_eq!(b[1], 4);
        assert_eq!(&b[2..8], &[53, 0, 0, 0, 8, 0]);
        assert_eq!(&b[20..26], &[0x88, 0x13, 0, 0, 0, 0x10]);
        assert_eq!(Preamble::decode(&b, &FrameLimits::default()).unwrap(), p);
    }

    #[test]
    fn rejections() {
        let limits = FrameLimits::default();
        let mut b = [0u8; 32];
        b[0] = 20;
        b[1] = 1;
        b[2] = 8;
        b[6] = 8;
        assert!(Preamble::decode(&with_crc(b), &limits).is_ok());

        let mut bad = with_crc(b);
        bad[31] ^= 1;
        assert!(matches!(
            Preamble::decode(&bad, &limits),
            Err(Error::BadPreambleCrc { .. })
        ));

        let mut t = b;
        t[0] = 0;
        assert_eq!(
            Preamble::decode(&with_crc(t), &limits),
            Err(Error::UnknownTag(0))
        );
        t[0] = 99;
        assert_eq!(
            Preamble::decode(&with_crc(t), &limits),
            Err(Error::UnknownTag(99))
        );

        let mut c = b;
        c[1] = 0;
        assert_eq!(
            Preamble::decode(&with_crc(c), &limits),
            Err(Error::BadSegmentCount(0))
        );
        c[1] = 5;
        assert_eq!(
            Preamble::decode(&with_crc(c), &limits),
            Err(Error::BadSegmentCount(5))
        );
        c[1] = 2;
        assert_eq!(
            Preamble::decode(&with_crc(c), &limits),
            Err(Error::EmptyLastSegment { count: 2 })
        );

        let mut u = b;
        u[14] = 1;
        assert_eq!(
            Preamble::decode(&with_crc(u), &limits),
            Err(Error::NonZeroUnusedDescriptor { index: 2 })
        );

        let mut f = b;
        f[26] = 1;
        assert_eq!(
            Preamble::decode(&with_crc(f), &limits),
            Err(Error::UnsupportedFlags {
                flags: 1,
                reserved: 0
            })
        );

        let mut l = b;
        l[2..6].copy_from_slice(&(2u32 << 20).to_le_bytes());
        assert!(matches!(
            Preamble::decode(&with_crc(l), &limits),
            Err(Error::SegmentTooLong { index: 0, .. })
        ));
        l[0] = 17; // a MESSAGE header is bounded more tightly still
        assert!(matches!(
            Preamble::decode(&with_crc(l), &limits),
            Err(Error::SegmentTooLong { max: 4096, .. })
        ));
    }
}
