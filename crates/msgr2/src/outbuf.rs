//! Bytes waiting to be written: small pieces copied together, large
//! segments kept as the caller's shared buffers and written from there
//! (a vectored write), so that a 4 MiB payload is not copied once more on
//! its way to the socket.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

/// Segments at least this long are chained, not copied.
pub const SHARE_MIN: usize = 16 * 1024;

/// Where an encoder puts a frame's wire bytes.
pub(crate) trait Sink {
    /// Makes room for `n` more bytes that will be copied in.
    fn reserve_copied(&mut self, n: usize);
    /// Appends a copy of `s`.
    fn put(&mut self, s: &[u8]);
    /// Appends `b`, a copy or the shared buffer itself.
    fn put_shared(&mut self, b: &Bytes);
}

impl Sink for BytesMut {
    fn reserve_copied(&mut self, n: usize) {
        self.reserve(n);
    }
    fn put(&mut self, s: &[u8]) {
        self.extend_from_slice(s);
    }
    fn put_shared(&mut self, b: &Bytes) {
        self.extend_from_slice(b);
    }
}

/// A session's output: the parts in order, the last one still growing.
#[derive(Debug, Default)]
pub struct OutBuf {
    parts: VecDeque<Bytes>,
    tail: BytesMut,
}

impl OutBuf {
    /// Whether nothing is waiting.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty() && self.tail.is_empty()
    }

    /// Bytes waiting.
    #[must_use]
    pub fn len(&self) -> usize {
        self.parts.iter().map(Bytes::len).sum::<usize>() + self.tail.len()
    }

    /// The growing part, for encoders that must copy (or encrypt) all.
    pub(crate) fn tail_mut(&mut self) -> &mut BytesMut {
        &mut self.tail
    }

    /// Drops everything waiting.
    pub fn clear(&mut self) {
        self.parts.clear();
        self.tail.clear();
    }

    fn seal(&mut self) {
        if !self.tail.is_empty() {
            self.parts.push_back(self.tail.split().freeze());
        }
    }

    /// Takes everything waiting, as parts to write in order.
    pub fn take_parts(&mut self) -> VecDeque<Bytes> {
        self.seal();
        std::mem::take(&mut self.parts)
    }

    /// Takes everything waiting as one buffer (copying only when there
    /// is more than one part).
    pub fn take(&mut self) -> Bytes {
        let mut parts = self.take_parts();
        match parts.len() {
            0 => Bytes::new(),
            1 => parts.pop_front().unwrap_or_default(),
            _ => {
                let mut all = BytesMut::with_capacity(parts.iter().map(Bytes::len).sum());
                for p in parts {
                    all.extend_from_slice(&p);
                }
                all.freeze()
            }
        }
    }
}

impl Sink for OutBuf {
    fn reserve_copied(&mut self, n: usize) {
        self.tail.reserve(n);
    }
    fn put(&mut self, s: &[u8]) {
        self.tail.extend_from_slice(s);
    }
    fn put_shared(&mut self, b: &Bytes) {
        if b.len() < SHARE_MIN {
            self.tail.extend_from_slice(b);
        } else {
            self.seal();
            self.parts.push_back(b.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_pieces_are_chained_small_ones_copied_and_order_is_kept() {
        let big = Bytes::from(vec![7u8; SHARE_MIN]);
        let mut o = OutBuf::default();
        o.put(b"ab");
        o.put_shared(&Bytes::from_static(b"cd"));
        o.put_shared(&big);
        o.put(b"ef");
        assert_eq!(o.len(), 6 + SHARE_MIN);
        let parts = o.take_parts();
        assert_eq!(parts.len(), 3);
        assert_eq!(&parts[0][..], b"abcd");
        assert_eq!(parts[1].as_ptr(), big.as_ptr(), "not copied");
        assert_eq!(&parts[2][..], b"ef");
        assert!(o.is_empty());
    }

    #[test]
    fn a_frame_chained_into_an_outbuf_has_the_bytes_of_a_copied_one() {
        use crate::{Frame, FrameDecoder, FrameEncoder};
        let data = Bytes::from((0..3 * SHARE_MIN).map(|i| i as u8).collect::<Vec<u8>>());
        let frame = Frame::message(
            Bytes::from_static(b"header"),
            Bytes::from_static(b"front"),
            Bytes::new(),
            data.clone(),
        );
        let mut copied = BytesMut::new();
        FrameEncoder::new()
            .encode_frame(&frame, &mut copied)
            .unwrap();
        let mut o = OutBuf::default();
        FrameEncoder::new().encode_frame_to(&frame, &mut o).unwrap();
        let parts = o.take_parts();
        assert!(parts.iter().any(|p| p.as_ptr() == data.as_ptr()), "chained");
        let joined: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
        assert_eq!(joined, copied.to_vec());
        let mut wire = BytesMut::from(&joined[..]);
        let back = FrameDecoder::new().decode(&mut wire).unwrap().unwrap();
        assert_eq!(back.segments()[3].data, data);
    }

    #[test]
    fn take_joins_the_parts() {
        let big = Bytes::from(vec![1u8; SHARE_MIN]);
        let mut o = OutBuf::default();
        o.put(b"x");
        o.put_shared(&big);
        let all = o.take();
        assert_eq!(all.len(), SHARE_MIN + 1);
        assert_eq!(all[0], b'x');
        assert!(o.take().is_empty());
    }
}
