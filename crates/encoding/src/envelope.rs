//! The versioned envelope: `struct_v` (u8), `compat_v` (u8), `struct_len`
//! (u32, the length of what follows), then the fields.
//!
//! `struct_v` is the version the encoder wrote, `compat_v` the oldest version
//! of the decoder that can still read it. A decoder that knows version `n`
//! refuses an encoding with `compat_v > n`, reads the fields it knows, and
//! skips the rest of `struct_len` (the fields a newer version appended). The
//! decoding half lives on [`Reader::versioned`](crate::Reader::versioned).

use bytes::{BufMut, BytesMut};

/// The size of the envelope's header: `struct_v`, `compat_v`, `struct_len`.
pub const VERSION_HEADER_SIZE: usize = 6;

/// Writes a versioned envelope (Ceph's `ENCODE_START` / `ENCODE_FINISH`):
/// the header, then whatever `body` appends, with `struct_len` filled in
/// afterwards.
pub fn encode_versioned(
    buf: &mut BytesMut,
    struct_v: u8,
    compat_v: u8,
    body: impl FnOnce(&mut BytesMut),
) {
    buf.put_u8(struct_v);
    buf.put_u8(compat_v);
    let len_at = buf.len();
    buf.put_u32_le(0);
    let body_start = buf.len();
    body(buf);
    let len = u32::try_from(buf.len() - body_start).unwrap_or(u32::MAX);
    if let Some(slot) = buf.get_mut(len_at..body_start) {
        slot.copy_from_slice(&len.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decode, Encode, Reader};

    #[test]
    fn header_and_length() {
        let mut buf = BytesMut::new();
        encode_versioned(&mut buf, 3, 2, |b| {
            7u32.encode(b, 0);
            encode_versioned(b, 1, 1, |b| b.put_u8(9));
        });
        assert_eq!(
            &buf[..],
            &[3, 2, 11, 0, 0, 0, 7, 0, 0, 0, 1, 1, 1, 0, 0, 0, 9]
        );
        let mut r = Reader::new(&buf);
        let got = r.versioned("Outer", 3, |r, v| {
            let a = u32::decode(r)?;
            let b = r.versioned("Inner", 1, |r, _| u8::decode(r))?;
            Ok((v, a, b))
        });
        assert_eq!(got.ok(), Some((3, 7, 9)));
        assert!(r.is_empty());
    }
}
