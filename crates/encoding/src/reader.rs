//! A strict cursor over the bytes being decoded.

use crate::error::{DecodeError, ErrorKind};

/// The default limit on nested versioned encodings (see [`Reader::with_max_depth`]).
pub const DEFAULT_MAX_DEPTH: u32 = 64;

/// A cursor over an encoded value.
///
/// Every read is bounds-checked and fails with a [`DecodeError`] carrying the
/// offset (counted from the start of the original input, also inside nested
/// versioned encodings). Nothing here panics or allocates on behalf of the
/// input; length-prefixed containers check their lengths against the bytes
/// left before reserving memory (see [`Reader::read_len`]).
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    /// The input up to the current limit (the end of the input, or of the
    /// `struct_len` of the versioned encoding being read).
    data: &'a [u8],
    pos: usize,
    depth: u32,
    max_depth: u32,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self::with_max_depth(data, DEFAULT_MAX_DEPTH)
    }

    /// A reader that refuses versioned encodings nested more than `max_depth`
    /// levels deep (a guard for recursive types).
    pub fn with_max_depth(data: &'a [u8], max_depth: u32) -> Self {
        Self {
            data,
            pos: 0,
            depth: 0,
            max_depth,
        }
    }

    /// The current offset from the start of the input.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Bytes left before the current limit.
    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// Whether no bytes are left before the current limit.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The bytes left before the current limit, without consuming them.
    pub fn peek_rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }

    /// An error of `kind` at the current offset.
    pub fn error(&self, kind: ErrorKind) -> DecodeError {
        DecodeError::new(kind, self.pos)
    }

    /// Consumes and returns the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let available = self.remaining();
        let end = self.pos.checked_add(n);
        match end.and_then(|end| self.data.get(self.pos..end).map(|s| (end, s))) {
            Some((end, slice)) => {
                self.pos = end;
                Ok(slice)
            }
            None => Err(self.error(ErrorKind::UnexpectedEof {
                needed: n,
                available,
            })),
        }
    }

    /// Consumes the next `N` bytes as an array.
    pub fn take_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let start = self.pos;
        let slice = self.take(N)?;
        <[u8; N]>::try_from(slice).map_err(|_| {
            DecodeError::new(
                ErrorKind::UnexpectedEof {
                    needed: N,
                    available: slice.len(),
                },
                start,
            )
        })
    }

    /// Skips the next `n` bytes.
    pub fn skip(&mut self, n: usize) -> Result<(), DecodeError> {
        self.take(n).map(|_| ())
    }

    /// Reads a `u32` length or element count and checks that `len` elements
    /// of at least `min_element_size` bytes each can fit in what is left.
    ///
    /// After this check, reserving `len` elements is bounded by the input's
    /// size: at most `remaining / max(min_element_size, 1)` elements.
    /// `what` names the container in the error.
    pub fn read_len(
        &mut self,
        what: &'static str,
        min_element_size: usize,
    ) -> Result<usize, DecodeError> {
        let start = self.pos;
        let len = u32::from_le_bytes(self.take_array::<4>()?);
        let available = self.remaining();
        let fits = usize::try_from(len)
            .ok()
            .and_then(|n| n.checked_mul(min_element_size.max(1)))
            .is_some_and(|bytes| bytes <= available);
        if fits {
            Ok(len as usize)
        } else {
            Err(DecodeError::new(
                ErrorKind::LengthTooLong {
                    what,
                    len,
                    min_element_size,
                    available,
                },
                start,
            ))
        }
    }

    /// Succeeds only if every byte has been consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(self.error(ErrorKind::TrailingBytes(n))),
        }
    }

    /// Reads a versioned encoding of `type_name` (Ceph's `DECODE_START` /
    /// `DECODE_FINISH`): `struct_v` (u8), `compat_v` (u8), `struct_len` (u32),
    /// then the body.
    ///
    /// Fails with [`ErrorKind::UnsupportedVersion`] if `compat_v` is greater
    /// than `understood`, the newest version this decoder knows. `body` gets a
    /// reader limited to `struct_len` bytes and the encoding's `struct_v`;
    /// reading past that limit fails with [`ErrorKind::PastStructEnd`], and
    /// whatever `body` leaves unread (the fields of a newer version) is
    /// skipped.
    pub fn versioned<T>(
        &mut self,
        type_name: &'static str,
        understood: u8,
        body: impl FnOnce(&mut Reader<'a>, u8) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        let header_at = self.pos;
        let [struct_v, compat_v] = self.take_array::<2>()?;
        if compat_v > understood {
            return Err(DecodeError::new(
                ErrorKind::UnsupportedVersion {
                    type_name,
                    struct_v,
                    compat_v,
                    understood,
                },
                header_at,
            ));
        }
        let struct_len = u32::from_le_bytes(self.take_array::<4>()?);
        self.bounded_body(type_name, struct_len, struct_v, body)
    }

    /// Reads a versioned encoding that older versions of the type wrote
    /// without some of the header (Ceph's `DECODE_START_LEGACY_COMPAT_LEN`):
    /// `compat_v` is present only when `struct_v >= compat_since`, and
    /// `struct_len` only when `struct_v >= len_since`. Without a length,
    /// `body` reads from this reader directly and nothing is skipped.
    pub fn versioned_legacy<T>(
        &mut self,
        type_name: &'static str,
        understood: u8,
        compat_since: u8,
        len_since: u8,
        body: impl FnOnce(&mut Reader<'a>, u8) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        let header_at = self.pos;
        let [struct_v] = self.take_array::<1>()?;
        if struct_v >= compat_since {
            let [compat_v] = self.take_array::<1>()?;
            if compat_v > understood {
                return Err(DecodeError::new(
                    ErrorKind::UnsupportedVersion {
                        type_name,
                        struct_v,
                        compat_v,
                        understood,
                    },
                    header_at,
                ));
            }
        }
        if struct_v >= len_since {
            let struct_len = u32::from_le_bytes(self.take_array::<4>()?);
            self.bounded_body(type_name, struct_len, struct_v, body)
        } else {
            self.enter()?;
            let result = body(self, struct_v);
            self.depth -= 1;
            result
        }
    }

    fn enter(&mut self) -> Result<(), DecodeError> {
        if self.depth >= self.max_depth {
            return Err(self.error(ErrorKind::TooDeep(self.max_depth)));
        }
        self.depth += 1;
        Ok(())
    }

    fn bounded_body<T>(
        &mut self,
        type_name: &'static str,
        struct_len: u32,
        struct_v: u8,
        body: impl FnOnce(&mut Reader<'a>, u8) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        let available = self.remaining();
        let end = usize::try_from(struct_len)
            .ok()
            .filter(|len| *len <= available)
            .and_then(|len| self.pos.checked_add(len));
        let (Some(end), Some(limited)) = (end, end.and_then(|end| self.data.get(..end))) else {
            return Err(self.error(ErrorKind::StructLenTooLong {
                type_name,
                struct_len,
                available,
            }));
        };
        if self.depth >= self.max_depth {
            return Err(self.error(ErrorKind::TooDeep(self.max_depth)));
        }
        let mut inner = Reader {
            data: limited,
            pos: self.pos,
            depth: self.depth + 1,
            max_depth: self.max_depth,
        };
        let outer_has_more = end < self.data.len();
        match body(&mut inner, struct_v) {
            Ok(value) => {
                // Skip the fields of newer versions that `body` did not read.
                self.pos = end;
                Ok(value)
            }
            Err(mut e) => {
                // Running out of bytes at this struct's limit while the input
                // goes on means the fields overran struct_len.
                if let ErrorKind::UnexpectedEof { available, .. } = *e.kind() {
                    if outer_has_more && e.offset().checked_add(available) == Some(end) {
                        *e.kind_mut() = ErrorKind::PastStructEnd {
                            type_name,
                            struct_len,
                        };
                    }
                }
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_and_eof() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.take(2).ok(), Some(&[1u8, 2][..]));
        let e = r.take(2).err();
        assert_eq!(
            e.map(|e| (e.kind().clone(), e.offset())),
            Some((
                ErrorKind::UnexpectedEof {
                    needed: 2,
                    available: 1
                },
                2
            ))
        );
        assert_eq!(r.remaining(), 1);
        assert!(r.take(usize::MAX).is_err());
    }

    #[test]
    fn read_len_bounds_count_by_remaining_bytes() {
        // 3 elements of at least 4 bytes need 12 bytes; only 8 are there.
        let mut data = vec![3, 0, 0, 0];
        data.extend_from_slice(&[0; 8]);
        let mut r = Reader::new(&data);
        let e = r.read_len("list", 4).err();
        assert!(matches!(
            e.as_ref().map(DecodeError::kind),
            Some(ErrorKind::LengthTooLong {
                len: 3,
                available: 8,
                ..
            })
        ));
        let mut r = Reader::new(&data);
        assert_eq!(r.read_len("list", 2).ok(), Some(3));
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff]);
        assert!(r.read_len("list", 0).is_err());
    }

    #[test]
    fn versioned_skips_unknown_tail() {
        // v2, compat 1, len 6: a u16 we know and 4 bytes of a newer version.
        let data = [2, 1, 6, 0, 0, 0, 0x34, 0x12, 9, 9, 9, 9, 0xaa];
        let mut r = Reader::new(&data);
        let v = r.versioned("T", 1, |r, v| {
            assert_eq!(v, 2);
            Ok(u16::from_le_bytes(r.take_array::<2>()?))
        });
        assert_eq!(v.ok(), Some(0x1234));
        assert_eq!(r.offset(), 12);
    }

    #[test]
    fn versioned_refuses_newer_compat() {
        let data = [3, 2, 0, 0, 0, 0];
        let mut r = Reader::new(&data);
        let e = r.versioned("Thing", 1, |_, _| Ok(())).err();
        assert_eq!(
            e.map(|e| e.kind().clone()),
            Some(ErrorKind::UnsupportedVersion {
                type_name: "Thing",
                struct_v: 3,
                compat_v: 2,
                understood: 1
            })
        );
    }

    #[test]
    fn versioned_detects_overrun_and_long_len() {
        // len 2 but the body wants 4 bytes, with input left after the struct.
        let data = [1, 1, 2, 0, 0, 0, 1, 2, 3, 4];
        let mut r = Reader::new(&data);
        let e = r.versioned("T", 1, |r, _| r.take_array::<4>()).err();
        assert_eq!(
            e.map(|e| e.kind().clone()),
            Some(ErrorKind::PastStructEnd {
                type_name: "T",
                struct_len: 2
            })
        );
        let data = [1, 1, 9, 0, 0, 0, 1];
        let mut r = Reader::new(&data);
        let e = r.versioned("T", 1, |_, _| Ok(())).err();
        assert!(matches!(
            e.map(|e| e.kind().clone()),
            Some(ErrorKind::StructLenTooLong { struct_len: 9, .. })
        ));
    }

    #[test]
    fn versioned_depth_limit() {
        fn nest(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
            r.versioned("N", 1, |r, _| {
                if r.is_empty() {
                    Ok(0)
                } else {
                    nest(r).map(|d| d + 1)
                }
            })
        }
        // Build 10 nested empty envelopes.
        let mut data: Vec<u8> = Vec::new();
        for _ in 0..10 {
            let mut outer = vec![1, 1];
            outer.extend_from_slice(&(data.len() as u32).to_le_bytes());
            outer.extend_from_slice(&data);
            data = outer;
        }
        assert_eq!(nest(&mut Reader::new(&data)).ok(), Some(9));
        let e = nest(&mut Reader::with_max_depth(&data, 5)).err();
        assert_eq!(e.map(|e| e.kind().clone()), Some(ErrorKind::TooDeep(5)));
    }

    #[test]
    fn legacy_compat_len() {
        // struct_v 1: no compat, no length.
        let mut r = Reader::new(&[1, 7]);
        let v = r.versioned_legacy("L", 3, 2, 3, |r, v| Ok((v, r.take_array::<1>()?)));
        assert_eq!(v.ok(), Some((1, [7])));
        // struct_v 3: compat and length, tail skipped.
        let mut r = Reader::new(&[3, 1, 2, 0, 0, 0, 7, 8]);
        let v = r.versioned_legacy("L", 3, 2, 3, |r, v| Ok((v, r.take_array::<1>()?)));
        assert_eq!(v.ok(), Some((3, [7])));
        assert!(r.is_empty());
    }
}
