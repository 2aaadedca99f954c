//! Bodies of the fuzz targets, public so that the saved corpora can be
//! replayed by ordinary tests (`tests/fuzz_corpus.rs`) and by the cargo-fuzz
//! targets in `fuzz/fuzz_targets/msgr2_frame_*.rs`.
//!
//! Each function takes arbitrary bytes and panics only when an invariant of
//! the frame layer is broken:
//!
//! * decoding arbitrary bytes never panics, and after an error the decoder
//!   stays failed;
//! * a decoded frame re-encodes to a frame that decodes equal;
//! * a frame built from the input round-trips unchanged, fed in chunks of
//!   any size;
//! * the same frame with one byte of its wire form altered never decodes as
//!   a different frame (crc mode: the only alterations that may go
//!   unnoticed are the reserved high bits of `late_status`, which leave the
//!   frame unchanged; secure mode: every alteration is an error).

use bytes::{BufMut, Bytes, BytesMut};

mod banner;
mod input;
mod session;

pub use banner::banner;
pub use input::FUZZ_SECRET;
pub use session::{session, SessionScript};

use input::Input;

use crate::preamble::PREAMBLE_LEN;
use crate::secure_mode::{
    DirectionKey, GcmStream, SecureKeys, GCM_BLOCK_LEN, INLINE_LEN, SECURE_EPILOGUE_LEN,
};
use crate::segment::{FrameLimits, Segment, MAX_SEGMENTS};
use crate::{Frame, FrameDecoder, FrameEncoder, Role, Tag};

/// Tight bounds so that fuzzing does not spend its time on big buffers.
const FUZZ_LIMITS: FrameLimits = FrameLimits {
    max_control: 1 << 16,
    max_message_header: 4096,
    max_front: 1 << 16,
    max_middle: 1 << 16,
    max_data: 1 << 18,
};

fn keys() -> (DirectionKey, DirectionKey) {
    // What the client sends, the server receives: the client's tx key is
    // the server's rx key.
    match (
        SecureKeys::from_connection_secret(&FUZZ_SECRET, Role::Client),
        SecureKeys::from_connection_secret(&FUZZ_SECRET, Role::Server),
    ) {
        (Ok(client), Ok(server)) => (client.tx, server.rx),
        _ => unreachable!("the fuzz secret is long enough"),
    }
}

/// Feeds `wire` to `decoder` in chunks of `chunk` bytes and collects the
/// frames; stops at the first error.
fn feed_all(decoder: &mut FrameDecoder, wire: &[u8], chunk: usize) -> (Vec<Frame>, bool) {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for part in wire.chunks(chunk.max(1)) {
        buf.extend_from_slice(part);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(_) => {
                    assert!(
                        decoder.decode(&mut buf).is_err(),
                        "decoder accepted input after an error"
                    );
                    return (frames, true);
                }
            }
        }
        assert!(
            buf.len() < decoder.needed(),
            "decoder stalled with enough bytes"
        );
    }
    (frames, false)
}

/// A frame built from the input: tag, segment count, lengths, contents.
fn frame_from(input: &mut Input<'_>) -> Frame {
    let tag = Tag::ALL[usize::from(input.byte()) % Tag::ALL.len()];
    let count = 1 + usize::from(input.byte()) % MAX_SEGMENTS;
    let mut segments = Vec::with_capacity(count);
    for i in 0..count {
        let len = usize::from(input.u16()) % if i == 0 { 300 } else { 5000 };
        let fill = input.byte();
        let mut data = input.take(len).to_vec();
        data.resize(len, fill);
        let alignment = if input.byte() & 1 == 0 { 8 } else { 4096 };
        segments.push(Segment::new(Bytes::from(data), alignment));
    }
    Frame::new(tag, segments).unwrap_or_else(|_| Frame::control(tag, Bytes::new()))
}

fn round_trip(frame: &Frame, secure: bool) {
    let (tx, rx) = keys();
    let mut encoder = if secure {
        FrameEncoder::secure(&tx)
    } else {
        FrameEncoder::new()
    };
    let mut decoder = if secure {
        FrameDecoder::secure(&rx, FUZZ_LIMITS)
    } else {
        FrameDecoder::with_limits(FUZZ_LIMITS)
    };
    let mut wire = BytesMut::new();
    if encoder.encode_frame(frame, &mut wire).is_err() {
        return;
    }
    let mut buf = wire;
    match decoder.decode(&mut buf) {
        Ok(Some(back)) => assert_eq!(&back, frame, "re-encoded frame decodes differently"),
        // Beyond the fuzz limits.
        Err(crate::Error::SegmentTooLong { .. }) => {}
        other => panic!("re-encoded frame does not decode: {other:?}"),
    }
}

/// Structured part shared by both targets: encode a frame from the input,
/// check it round-trips in chunks, then alter one byte and check the result.
fn structured(input: &mut Input<'_>, secure: bool) {
    let chunk = 1 + usize::from(input.byte());
    let frame = frame_from(input);
    let (tx, rx) = keys();
    let mut encoder = if secure {
        FrameEncoder::secure(&tx)
    } else {
        FrameEncoder::new()
    };
    let new_decoder = || {
        if secure {
            FrameDecoder::secure(&rx, FrameLimits::default())
        } else {
            FrameDecoder::new()
        }
    };
    let mut wire = BytesMut::new();
    // Two frames back to back: the second checks that the nonce sequence
    // and the buffer handling carry over.
    if encoder.encode_frame(&frame, &mut wire).is_err()
        || encoder.encode_frame(&frame, &mut wire).is_err()
    {
        return;
    }
    let (frames, failed) = feed_all(&mut new_decoder(), &wire, chunk);
    assert!(!failed, "valid frames failed to decode");
    assert_eq!(frames, vec![frame.clone(), frame.clone()]);

    // Alter one byte of either frame.
    let at = usize::from(input.u16()) % wire.len();
    let mut mask = input.byte();
    if mask == 0 {
        mask = 0xff;
    }
    let mut bad = wire.to_vec();
    bad[at] ^= mask;
    let (frames, failed) = feed_all(&mut new_decoder(), &bad, chunk);
    for f in &frames {
        assert_eq!(f, &frame, "altered wire decoded as another frame");
    }
    if secure {
        assert!(failed, "altered secure frame accepted");
    }
}

/// The crc-mode target: arbitrary bytes through a crc-mode decoder, then a
/// structured round trip with an alteration.
pub fn frame_crc(data: &[u8]) {
    let mut input = Input { data };
    let selector = input.byte();
    let chunk = 1 + usize::from(selector & 0x3f);
    if selector & 0x80 == 0 {
        let raw = input.data;
        let (frames, _) = feed_all(&mut FrameDecoder::with_limits(FUZZ_LIMITS), raw, chunk);
        for frame in &frames {
            round_trip(frame, false);
        }
    } else {
        structured(&mut input, false);
    }
}

/// Encrypts `plain` as one section with `gcm` and appends it and its tag.
fn seal_section(gcm: &mut GcmStream, plain: &[u8], out: &mut BytesMut) {
    let start = out.len();
    out.put_slice(plain);
    if let Ok(tag) = gcm.seal(&mut out[start..]) {
        out.put_slice(&tag);
    }
}

/// Secure-mode wire bytes whose *plaintext* comes from the input, preamble
/// included: exercises what the decoder does after a successful decryption
/// (preamble crc, counts, bounds, late status).
fn forged_plaintext(input: &mut Input<'_>) -> BytesMut {
    let (tx, _) = keys();
    let mut gcm = GcmStream::new(&tx);
    let mut head = [0u8; PREAMBLE_LEN + INLINE_LEN];
    let given = input.take(head.len());
    head[..given.len()].copy_from_slice(given);
    if input.byte() & 1 == 1 {
        // Give the preamble a valid crc most of the time.
        let crc = crate::crc::ceph_crc32c(0, &head[..28]);
        head[28..32].copy_from_slice(&crc.to_le_bytes());
    }
    let mut out = BytesMut::new();
    seal_section(&mut gcm, &head, &mut out);
    // Follow the layout the (unchecked) descriptors announce, capped.
    let len = |i: usize| {
        let at = 2 + 6 * i;
        u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]) as usize
    };
    let count = usize::from(head[1]).clamp(1, MAX_SEGMENTS);
    let padded = |l: usize| l.div_ceil(GCM_BLOCK_LEN) * GCM_BLOCK_LEN;
    let cap = 1 << 16;
    let rest = padded(len(0)).saturating_sub(INLINE_LEN);
    if rest > 0 && rest <= cap {
        let mut plain = input.take(rest).to_vec();
        plain.resize(rest, 0);
        seal_section(&mut gcm, &plain, &mut out);
    }
    if count > 1 {
        let tail: usize = (1..count).map(|i| padded(len(i))).sum::<usize>() + SECURE_EPILOGUE_LEN;
        if tail <= cap {
            let mut plain = input.take(tail).to_vec();
            plain.resize(tail, 0);
            seal_section(&mut gcm, &plain, &mut out);
        }
    }
    out.put_slice(input.data);
    out
}

/// The secure-mode target: arbitrary ciphertext, forged plaintext properly
/// encrypted, or a structured round trip with an alteration.
pub fn frame_secure(data: &[u8]) {
    let mut input = Input { data };
    let selector = input.byte();
    let chunk = 1 + usize::from(selector & 0x3f);
    let (_, rx) = keys();
    match selector >> 6 {
        0 => {
            let raw = input.data;
            // Only ciphertext made with the fuzz secret (such as the seed
            // corpus) gets past AES-GCM.
            let (frames, _) = feed_all(&mut FrameDecoder::secure(&rx, FUZZ_LIMITS), raw, chunk);
            for frame in &frames {
                round_trip(frame, true);
            }
        }
        1 | 2 => {
            let wire = forged_plaintext(&mut input);
            let (frames, _) = feed_all(&mut FrameDecoder::secure(&rx, FUZZ_LIMITS), &wire, chunk);
            for frame in &frames {
                round_trip(frame, true);
            }
        }
        _ => structured(&mut input, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoke() {
        for seed in 0u8..=255 {
            let data: Vec<u8> = (0..400u32)
                .map(|i| (i as u8).wrapping_mul(seed).wrapping_add(seed))
                .collect();
            frame_crc(&data);
            frame_secure(&data);
            frame_crc(&data[..usize::from(seed)]);
            frame_secure(&data[..usize::from(seed)]);
        }
    }
}
