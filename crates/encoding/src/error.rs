//! The crate's one error type: what went wrong, where, and inside what.

use std::fmt;

/// What went wrong while decoding (or parsing) a value.
///
/// Carried inside a [`DecodeError`], which adds the byte offset and the
/// type/field path at which the problem was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ended before the value did.
    #[error("unexpected end of input: needed {needed} bytes, {available} left")]
    UnexpectedEof {
        /// Bytes the decoder asked for.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A versioned encoding whose `compat_v` is newer than the decoder knows.
    #[error(
        "{type_name}: encoding is struct_v {struct_v} with compat_v {compat_v}, \
         but this decoder understands only up to version {understood}"
    )]
    UnsupportedVersion {
        /// The type being decoded.
        type_name: &'static str,
        /// The encoding's `struct_v`.
        struct_v: u8,
        /// The encoding's `compat_v`: the oldest decoder version able to read it.
        compat_v: u8,
        /// The newest version this decoder understands.
        understood: u8,
    },
    /// A versioned encoding whose `struct_len` runs past the end of the input.
    #[error("{type_name}: struct_len {struct_len} exceeds the {available} bytes left")]
    StructLenTooLong {
        /// The type being decoded.
        type_name: &'static str,
        /// The declared length.
        struct_len: u32,
        /// Bytes that were left after the header.
        available: usize,
    },
    /// The fields of a versioned encoding need more bytes than its `struct_len`.
    #[error("{type_name}: the fields read past the end of struct_len {struct_len}")]
    PastStructEnd {
        /// The type being decoded.
        type_name: &'static str,
        /// The declared length.
        struct_len: u32,
    },
    /// A length or element count larger than the remaining input can hold.
    #[error(
        "{what}: length {len} (elements of at least {min_element_size} bytes) \
         exceeds the {available} bytes left"
    )]
    LengthTooLong {
        /// What the length counts (string, list, map...).
        what: &'static str,
        /// The declared length.
        len: u32,
        /// The smallest possible encoding of one element.
        min_element_size: usize,
        /// Bytes that were left after the length.
        available: usize,
    },
    /// A string that is not valid UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A field holding a value outside its domain.
    #[error("{what}: invalid value {value}")]
    InvalidValue {
        /// The field or concept.
        what: &'static str,
        /// The value found.
        value: u64,
    },
    /// A structurally impossible encoding.
    #[error("{what}: {reason}")]
    Malformed {
        /// The field or concept.
        what: &'static str,
        /// Why it cannot be decoded.
        reason: &'static str,
    },
    /// Bytes left over after a value that should fill the whole input.
    #[error("{0} bytes left over after the value")]
    TrailingBytes(usize),
    /// Versioned encodings nested deeper than the reader allows.
    #[error("encodings nested deeper than {0} levels")]
    TooDeep(u32),
    /// A textual form (such as `client.admin`) that does not parse.
    #[error("cannot parse {input:?}: {reason}")]
    BadText {
        /// The text given.
        input: String,
        /// Why it does not parse.
        reason: &'static str,
    },
}

/// One step of the path to the failing field: a type and one of its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// The type being decoded.
    pub type_name: &'static str,
    /// The field of that type being decoded.
    pub field: &'static str,
}

/// The error of this crate: an [`ErrorKind`], the byte offset in the input
/// where it was detected, and the path of types and fields being decoded.
///
/// Displayed as, for example,
/// `EntityInst.addr > EntityAddr.sockaddr: unexpected end of input: needed 14 bytes, 3 left (at offset 25)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    kind: ErrorKind,
    offset: usize,
    /// Innermost frame first.
    path: Vec<Frame>,
}

impl DecodeError {
    /// A new error of `kind` detected at byte `offset` of the input.
    pub fn new(kind: ErrorKind, offset: usize) -> Self {
        Self {
            kind,
            offset,
            path: Vec::new(),
        }
    }

    /// Records that the error happened while decoding `field` of `type_name`
    /// (called as the error travels outwards, so the path grows outwards).
    #[must_use]
    pub fn within(mut self, type_name: &'static str, field: &'static str) -> Self {
        self.path.push(Frame { type_name, field });
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The byte offset in the input where the problem was detected.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The path of types and fields being decoded, outermost first.
    pub fn path(&self) -> impl Iterator<Item = &Frame> {
        self.path.iter().rev()
    }

    pub(crate) fn kind_mut(&mut self) -> &mut ErrorKind {
        &mut self.kind
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for frame in self.path() {
            if !first {
                f.write_str(" > ")?;
            }
            first = false;
            write!(f, "{}.{}", frame.type_name, frame.field)?;
        }
        if !first {
            f.write_str(": ")?;
        }
        write!(f, "{} (at offset {})", self.kind, self.offset)
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_path_kind_and_offset() {
        let e = DecodeError::new(
            ErrorKind::UnexpectedEof {
                needed: 4,
                available: 1,
            },
            7,
        )
        .within("Inner", "nonce")
        .within("Outer", "addr");
        assert_eq!(
            e.to_string(),
            "Outer.addr > Inner.nonce: unexpected end of input: needed 4 bytes, 1 left (at offset 7)"
        );
        assert_eq!(e.offset(), 7);
        assert_eq!(e.path().count(), 2);
    }

    #[test]
    fn display_without_path() {
        let e = DecodeError::new(ErrorKind::TrailingBytes(3), 9);
        assert_eq!(
            e.to_string(),
            "3 bytes left over after the value (at offset 9)"
        );
    }
}
