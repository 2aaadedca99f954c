//! Small types shared by the full map and its incrementals: `pg_t`,
//! snapshot interval sets, `eversion_t`, and a few decoding helpers.

use std::fmt;

use ceph_encoding::bytes::{BufMut, BytesMut};
use ceph_encoding::{Decode, DecodeError, Encode, ErrorKind, Reader};

/// Ceph's `pg_t`: a placement group, named by its pool and its placement
/// seed (`ps`); the OSD map's keys and the OSD messages' PG.
///
/// Encoded as a version byte (1), the pool (`u64` on the wire), the seed
/// (`u32`) and a long-obsolete "preferred OSD" (`i32`, always -1), which is
/// dropped. Like Ceph, decoding reads past the version byte whatever it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PgId {
    /// The pool id.
    pub pool: i64,
    /// The placement seed.
    pub seed: u32,
}

impl PgId {
    /// The PG of `pool` with placement seed `seed`.
    pub const fn new(pool: i64, seed: u32) -> Self {
        Self { pool, seed }
    }
}

/// `pool.seed` with the seed in lower-case hex, as Ceph prints it (`2.1f`).
impl fmt::Display for PgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:x}", self.pool, self.seed)
    }
}

impl Encode for PgId {
    fn encode(&self, buf: &mut BytesMut, _features: u64) {
        buf.put_u8(1);
        buf.put_i64_le(self.pool);
        buf.put_u32_le(self.seed);
        buf.put_i32_le(-1);
    }
}

impl Decode for PgId {
    const MIN_ENCODED_SIZE: usize = 17;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        // Ceph reads and ignores the version byte, and skips `preferred`.
        let _version = u8::decode(reader)?;
        let pool = i64::decode(reader)?;
        let seed = u32::decode(reader)?;
        let _preferred = i32::decode(reader)?;
        Ok(Self { pool, seed })
    }
}

/// Ceph's `interval_set<snapid_t>` (removed or purged snapshots): disjoint
/// intervals of snapshot ids, each a start and a length.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SnapIntervalSet {
    /// `(start, length)` pairs, in the order encoded (ascending).
    pub intervals: Vec<(u64, u64)>,
}

impl SnapIntervalSet {
    /// Whether `snap` lies in one of the intervals.
    pub fn contains(&self, snap: u64) -> bool {
        self.intervals
            .iter()
            .any(|&(start, len)| snap >= start && snap - start < len)
    }

    /// Whether the set holds no interval.
    pub fn is_empty(&self) -> bool {
        self.intervals.is_empty()
    }

    /// Adds every snapshot of `other` (`interval_set::union_of`).
    pub fn union_with(&mut self, other: &SnapIntervalSet) {
        let mut all: Vec<(u64, u64)> = self
            .intervals
            .iter()
            .chain(other.intervals.iter())
            .filter(|(_, len)| *len > 0)
            .map(|&(start, len)| (start, start.saturating_add(len)))
            .collect();
        all.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(all.len());
        for (start, end) in all {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        self.intervals = merged.into_iter().map(|(s, e)| (s, e - s)).collect();
    }

    /// Removes every snapshot of `other` (`interval_set::subtract`, without
    /// Ceph's requirement that `other` be contained in `self`).
    pub fn subtract(&mut self, other: &SnapIntervalSet) {
        let mut out = Vec::with_capacity(self.intervals.len());
        for &(start, len) in &self.intervals {
            let mut pieces = vec![(start, start.saturating_add(len))];
            for &(os, ol) in &other.intervals {
                let oe = os.saturating_add(ol);
                pieces = pieces
                    .into_iter()
                    .flat_map(|(s, e)| {
                        if oe <= s || os >= e {
                            vec![(s, e)]
                        } else {
                            [(s, os.max(s)), (oe.min(e), e)]
                                .into_iter()
                                .filter(|(a, b)| a < b)
                                .collect()
                        }
                    })
                    .collect();
            }
            out.extend(pieces.into_iter().map(|(s, e)| (s, e - s)));
        }
        self.intervals = out;
    }

    /// Decodes `count` intervals without a count prefix (`decode_nohead`).
    pub(crate) fn decode_nohead(reader: &mut Reader<'_>, count: u32) -> Result<Self, DecodeError> {
        let count = bounded_count(reader, count, 16, "interval_set")?;
        let mut intervals = Vec::with_capacity(count);
        for _ in 0..count {
            intervals.push(<(u64, u64)>::decode(reader)?);
        }
        Ok(Self { intervals })
    }
}

impl Encode for SnapIntervalSet {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        self.intervals.encode(buf, features);
    }
}

impl Decode for SnapIntervalSet {
    const MIN_ENCODED_SIZE: usize = 4;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            intervals: Vec::decode(reader)?,
        })
    }
}

ceph_encoding::ceph_struct! {
    /// Ceph's `eversion_t`: a PG log version (`version`, then the `epoch`);
    /// pool records and OSD replies carry it.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub struct EVersion {
        /// The version within the epoch.
        pub version: u64,
        /// The map epoch.
        pub epoch: u32,
    }
}

/// A count read earlier (for instance a `decode_nohead` count) checked
/// against the bytes left, like [`Reader::read_len`].
pub(crate) fn bounded_count(
    reader: &Reader<'_>,
    count: u32,
    min_element_size: usize,
    what: &'static str,
) -> Result<usize, DecodeError> {
    let available = reader.remaining();
    let fits = usize::try_from(count)
        .ok()
        .and_then(|n| n.checked_mul(min_element_size.max(1)))
        .is_some_and(|bytes| bytes <= available);
    if fits {
        Ok(count as usize)
    } else {
        Err(reader.error(ErrorKind::LengthTooLong {
            what,
            len: count,
            min_element_size,
            available,
        }))
    }
}

/// Reads a C `float` (IEEE single precision, little-endian).
pub(crate) fn read_f32(reader: &mut Reader<'_>) -> Result<f32, DecodeError> {
    u32::decode(reader).map(f32::from_bits)
}

/// Reads a `denc_varint`: 7 bits per byte, low bits first, the high bit
/// set on every byte but the last.
pub(crate) fn read_varint_u64(reader: &mut Reader<'_>) -> Result<u64, DecodeError> {
    let start = reader.offset();
    let mut value = 0u64;
    let mut shift = 0u32;
    loop {
        let byte = u8::decode(reader)?;
        let bits = u64::from(byte & 0x7f);
        if shift >= 64 || (shift == 63 && bits > 1) {
            return Err(DecodeError::new(
                ErrorKind::Malformed {
                    what: "varint",
                    reason: "more than 64 bits",
                },
                start,
            ));
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
    }
}

/// Adds `type.field` to the path of an error.
pub(crate) fn within<T>(
    result: Result<T, DecodeError>,
    type_name: &'static str,
    field: &'static str,
) -> Result<T, DecodeError> {
    result.map_err(|e| e.within(type_name, field))
}

/// Decodes a `T` and names `type.field` in the error path.
pub(crate) fn field<T: Decode>(
    reader: &mut Reader<'_>,
    type_name: &'static str,
    field: &'static str,
) -> Result<T, DecodeError> {
    within(T::decode(reader), type_name, field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_id_layout_and_display() {
        let pg = PgId::new(3, 0x1f);
        let bytes = pg.to_bytes(0);
        assert_eq!(bytes.len(), 17);
        assert_eq!(PgId::decode_exact(&bytes), Ok(pg));
        assert_eq!(pg.to_string(), "3.1f");
    }

    #[test]
    fn intervals() {
        let s = SnapIntervalSet {
            intervals: vec![(2, 3), (10, 1)],
        };
        assert!(s.contains(2) && s.contains(4) && s.contains(10));
        assert!(!s.contains(5) && !s.contains(1) && !s.contains(11));
        assert_eq!(SnapIntervalSet::decode_exact(&s.to_bytes(0)), Ok(s));
    }

    #[test]
    fn union_and_subtract() {
        let mut a = SnapIntervalSet {
            intervals: vec![(1, 2), (10, 5)],
        };
        a.union_with(&SnapIntervalSet {
            intervals: vec![(3, 1), (12, 10), (30, 0)],
        });
        assert_eq!(a.intervals, vec![(1, 3), (10, 12)]);
        a.subtract(&SnapIntervalSet {
            intervals: vec![(2, 1), (11, 2), (20, 100)],
        });
        assert_eq!(a.intervals, vec![(1, 1), (3, 1), (10, 1), (13, 7)]);
        a.subtract(&a.clone());
        assert!(a.is_empty());
    }

    #[test]
    fn varints() {
        let mut r = Reader::new(&[0x00, 0x7f, 0x80, 0x01, 0xff, 0xff, 0x03]);
        assert_eq!(read_varint_u64(&mut r), Ok(0));
        assert_eq!(read_varint_u64(&mut r), Ok(0x7f));
        assert_eq!(read_varint_u64(&mut r), Ok(0x80));
        assert_eq!(read_varint_u64(&mut r), Ok(0xffff));
        let mut r = Reader::new(&[0xff; 11]);
        assert!(read_varint_u64(&mut r).is_err());
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(read_varint_u64(&mut Reader::new(&max)), Ok(u64::MAX));
        let over = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert!(read_varint_u64(&mut Reader::new(&over)).is_err());
    }

    #[test]
    fn counts_are_bounded() {
        let r = Reader::new(&[0; 8]);
        assert!(bounded_count(&r, 1, 16, "x").is_err());
        assert_eq!(bounded_count(&r, 2, 4, "x"), Ok(2));
    }
}
