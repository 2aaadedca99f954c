//! The outer envelope shared by the full map and the incremental.
//!
//! Since Firefly both are wrapped in a versioned envelope (version 7 or 8,
//! `compat_v` 7) holding two inner envelopes — the client-usable part and
//! the OSD-only part — and, from version 8, a crc32c over the whole
//! encoding except the crc field itself. Older, "classic" encodings start
//! with a `u16` version below 7 and no length; they date from before
//! Firefly (2014) and are refused.

use ceph_common::ceph_crc32c;
use ceph_encoding::{DecodeError, ErrorKind, Reader};

/// What the wrapper's body returns besides the value: where the crc field
/// sits (absolute offset), when the encoding has one.
pub(crate) struct Wrapped<T> {
    pub value: T,
    pub crc_at: Option<usize>,
    pub crc: u32,
    pub wrapper_version: u8,
}

/// Reads the wrapper of `type_name` around `body`, then checks the crc if
/// `verify_crc` and the encoding has one. `body` gets the wrapper's
/// version and must return the crc's offset and value.
pub(crate) fn decode_wrapped<'a, T>(
    reader: &mut Reader<'a>,
    type_name: &'static str,
    verify_crc: bool,
    body: impl FnOnce(&mut Reader<'a>, u8) -> Result<(T, Option<(usize, u32)>), DecodeError>,
) -> Result<Wrapped<T>, DecodeError> {
    let start = reader.offset();
    let whole = reader.peek_rest();
    match whole.first() {
        Some(&v) if v < 7 => {
            return Err(reader.error(ErrorKind::UnsupportedVersion {
                type_name,
                struct_v: v,
                compat_v: v,
                understood: 8,
            }))
        }
        _ => {}
    }
    let (version, (value, crc)) = reader.versioned(type_name, 8, |r, v| Ok((v, body(r, v)?)))?;
    let end = reader.offset();
    if let (true, Some((crc_at, expected))) = (verify_crc, crc) {
        let front = whole.get(..crc_at - start);
        let tail = whole.get(crc_at + 4 - start..end - start);
        let actual = match (front, tail) {
            (Some(front), Some(tail)) => ceph_crc32c(ceph_crc32c(u32::MAX, front), tail),
            _ => !expected,
        };
        if actual != expected {
            return Err(DecodeError::new(
                ErrorKind::InvalidValue {
                    what: "crc32c of the encoding (expected value differs)",
                    value: u64::from(actual),
                },
                crc_at,
            ));
        }
    }
    Ok(Wrapped {
        value,
        crc_at: crc.map(|c| c.0),
        crc: crc.map_or(0, |c| c.1),
        wrapper_version: version,
    })
}
