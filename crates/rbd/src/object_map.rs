//! The object map: Ceph's `BitVector<2>`, two bits of state per data object.
//!
//! Encoding (what `object_map_load` returns and `object_map_save` takes):
//!
//! * the header, a bufferlist (`u32` length) holding a versioned (1, 1)
//!   envelope around the element count (`u64`);
//! * the data, `ceil(count / 4)` bytes with no length prefix, four elements
//!   a byte, the first in the two most significant bits;
//! * the footer, a bufferlist: empty when crcs are disabled, else the
//!   header's crc32c, a `u32` count and one crc32c for each 4096-byte block
//!   of data (Ceph's crc32c with seed 0, no final inversion).

use bytes::{BufMut, Bytes, BytesMut};
use ceph_common::ceph_crc32c;
use ceph_encoding::{encode_versioned, Decode, DecodeError, Encode, ErrorKind, Reader};

use crate::{Error, Result};

/// Object state: does not exist.
pub const OBJECT_NONEXISTENT: u8 = 0;
/// Object state: exists (and changed since the last snapshot).
pub const OBJECT_EXISTS: u8 = 1;
/// Object state: being removed.
pub const OBJECT_PENDING: u8 = 2;
/// Object state: exists, unchanged since the last snapshot (fast-diff).
pub const OBJECT_EXISTS_CLEAN: u8 = 3;

/// The crc blocks' size.
pub const BLOCK_SIZE: usize = 4096;

/// A vector of 2-bit elements (`ceph::BitVector<2>`).
///
/// Decoding keeps the crcs' presence ([`BitVector2::crc_enabled`]) and
/// checks nothing; [`BitVector2::verify`] checks the crcs of a decoded map
/// (see [`decode_verified`](BitVector2::decode_verified)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitVector2 {
    size: u64,
    data: Vec<u8>,
    /// Whether the encoding carries crcs (librbd saves maps without; the
    /// OSD stores them with).
    pub crc_enabled: bool,
    stored_crcs: Option<(u32, Vec<u32>)>,
}

impl Default for BitVector2 {
    fn default() -> Self {
        Self::new(0)
    }
}

fn data_len(size: u64) -> Option<usize> {
    usize::try_from(size.checked_add(3)? / 4).ok()
}

impl BitVector2 {
    /// `size` elements, all 0 ([`OBJECT_NONEXISTENT`]), crcs enabled
    /// (allocates `ceil(size / 4)` bytes).
    pub fn new(size: u64) -> Self {
        Self {
            size,
            data: vec![0; data_len(size).unwrap_or(0)],
            crc_enabled: true,
            stored_crcs: None,
        }
    }

    /// The number of elements.
    pub fn len(&self) -> u64 {
        self.size
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The packed data bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Element `index`, or `None` past the end.
    pub fn get(&self, index: u64) -> Option<u8> {
        if index >= self.size {
            return None;
        }
        let byte = self.data.get(usize::try_from(index / 4).ok()?)?;
        let shift = (3 - (index % 4)) * 2;
        Some((byte >> shift) & 0b11)
    }

    /// Sets element `index` to `value & 3`; returns false past the end.
    pub fn set(&mut self, index: u64, value: u8) -> bool {
        if index >= self.size {
            return false;
        }
        let Some(byte) = usize::try_from(index / 4)
            .ok()
            .and_then(|i| self.data.get_mut(i))
        else {
            return false;
        };
        let shift = (3 - (index % 4)) * 2;
        *byte = (*byte & !(0b11 << shift)) | ((value & 0b11) << shift);
        self.stored_crcs = None;
        true
    }

    /// Iterates over the elements.
    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        (0..self.size).map(|i| self.get(i).unwrap_or(0))
    }

    /// The header bufferlist's contents (the versioned element count).
    fn header(&self) -> BytesMut {
        let mut header = BytesMut::new();
        encode_versioned(&mut header, 1, 1, |b| b.put_u64_le(self.size));
        header
    }

    /// The crcs this map's bytes have: the header's and one per block.
    pub fn compute_crcs(&self) -> (u32, Vec<u32>) {
        let header_crc = ceph_crc32c(0, &self.header());
        let blocks = self
            .data
            .chunks(BLOCK_SIZE)
            .map(|block| ceph_crc32c(0, block))
            .collect();
        (header_crc, blocks)
    }

    /// Checks the crcs the encoding carried (if any) against the bytes.
    pub fn verify(&self) -> Result<()> {
        let Some((stored_header, stored_blocks)) = &self.stored_crcs else {
            return Ok(());
        };
        let (header, blocks) = self.compute_crcs();
        if *stored_header != header {
            return Err(Error::CrcMismatch {
                what: "header".into(),
                stored: *stored_header,
                computed: header,
            });
        }
        if stored_blocks.len() != blocks.len() {
            return Err(Error::Invalid {
                what: "object map",
                reason: format!(
                    "{} data crcs for {} blocks",
                    stored_blocks.len(),
                    blocks.len()
                ),
            });
        }
        for (i, (stored, computed)) in stored_blocks.iter().zip(&blocks).enumerate() {
            if stored != computed {
                return Err(Error::CrcMismatch {
                    what: format!("data block {i}"),
                    stored: *stored,
                    computed: *computed,
                });
            }
        }
        Ok(())
    }

    /// Decodes a whole encoding and checks its crcs.
    pub fn decode_verified(data: &[u8]) -> Result<Self> {
        let map = Self::decode_exact(data).map_err(|e| Error::decode("BitVector", e))?;
        map.verify()?;
        Ok(map)
    }
}

impl Encode for BitVector2 {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        let header = self.header();
        header.freeze().encode(buf, features);
        buf.put_slice(&self.data);
        let mut footer = BytesMut::new();
        if self.crc_enabled {
            let (header_crc, blocks) = self.compute_crcs();
            footer.put_u32_le(header_crc);
            blocks.encode(&mut footer, features);
        }
        footer.freeze().encode(buf, features);
    }
}

fn malformed(reader: &Reader<'_>, reason: &'static str) -> DecodeError {
    reader.error(ErrorKind::Malformed {
        what: "BitVector",
        reason,
    })
}

impl Decode for BitVector2 {
    const MIN_ENCODED_SIZE: usize = 8;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let header = Bytes::decode(reader)?;
        let mut header_reader = Reader::new(&header);
        let size = header_reader.versioned("BitVector header", 1, |r, _| u64::decode(r))?;
        let len = data_len(size).ok_or_else(|| malformed(reader, "size overflows"))?;
        if len > reader.remaining() {
            return Err(reader.error(ErrorKind::LengthTooLong {
                what: "BitVector data",
                len: u32::try_from(len).unwrap_or(u32::MAX),
                min_element_size: 1,
                available: reader.remaining(),
            }));
        }
        let data = reader.take(len)?.to_vec();
        let footer = Bytes::decode(reader)?;
        let stored_crcs = if footer.is_empty() {
            None
        } else {
            let mut f = Reader::new(&footer);
            let header_crc = u32::decode(&mut f)?;
            let blocks = Vec::<u32>::decode(&mut f)?;
            f.finish()?;
            Some((header_crc, blocks))
        };
        Ok(Self {
            size,
            data,
            crc_enabled: stored_crcs.is_some(),
            stored_crcs,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn get_set_and_layout() {
        let mut v = BitVector2::new(6);
        assert!(v.set(0, OBJECT_EXISTS_CLEAN));
        assert!(v.set(3, OBJECT_EXISTS));
        assert!(v.set(5, OBJECT_PENDING));
        assert!(!v.set(6, 1));
        assert_eq!(v.data(), &[0xc1, 0x20]);
        assert_eq!(v.iter().collect::<Vec<_>>(), [3, 0, 0, 1, 0, 2]);
        assert_eq!(v.get(6), None);
    }

    #[test]
    fn round_trip_with_and_without_crcs() {
        let mut v = BitVector2::new(20_000);
        for i in (0..20_000).step_by(7) {
            v.set(i, (i % 4) as u8);
        }
        let bytes = v.to_bytes(0);
        let back = BitVector2::decode_verified(&bytes).unwrap();
        assert_eq!(
            back.iter().collect::<Vec<_>>(),
            v.iter().collect::<Vec<_>>()
        );
        assert_eq!(back.to_bytes(0), bytes);
        v.crc_enabled = false;
        let bytes = v.to_bytes(0);
        let back = BitVector2::decode_exact(&bytes).unwrap();
        assert!(!back.crc_enabled);
        assert_eq!(back.to_bytes(0), bytes);
        // A flipped data bit is caught.
        let mut v = BitVector2::new(8);
        v.set(1, 1);
        let mut bad = v.to_bytes(0).to_vec();
        bad[18] ^= 1;
        assert!(matches!(
            BitVector2::decode_verified(&bad),
            Err(Error::CrcMismatch { .. })
        ));
    }

    #[test]
    fn huge_size_is_refused_without_allocating() {
        let mut bytes = BytesMut::new();
        let mut header = BytesMut::new();
        encode_versioned(&mut header, 1, 1, |b| b.put_u64_le(u64::MAX));
        header.freeze().encode(&mut bytes, 0);
        bytes.put_u32_le(0);
        assert!(BitVector2::decode_exact(&bytes).is_err());
    }
}
