//! Round trips in crc and secure mode: 1..=4 segments, the lengths around
//! the 48-byte inline buffer and the 16-byte padding, page-sized data,
//! random frames (proptest), fed whole, byte by byte and in random chunks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::{Bytes, BytesMut};
use ceph_msgr2::{Frame, FrameDecoder, FrameEncoder, FrameLimits, Role, SecureKeys, Segment, Tag};
use proptest::prelude::*;

const SECRET: [u8; 64] = [0x42; 64];

/// The default bounds, but MESSAGE headers as long as the tests make them.
fn limits() -> FrameLimits {
    FrameLimits {
        max_message_header: 1 << 20,
        ..FrameLimits::default()
    }
}

fn pair(secure: bool) -> (FrameEncoder, FrameDecoder) {
    if secure {
        let c = SecureKeys::from_connection_secret(&SECRET, Role::Client).unwrap();
        let s = SecureKeys::from_connection_secret(&SECRET, Role::Server).unwrap();
        (
            FrameEncoder::secure(&c.tx),
            FrameDecoder::secure(&s.rx, limits()),
        )
    } else {
        (FrameEncoder::new(), FrameDecoder::with_limits(limits()))
    }
}

fn bytes(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect::<Vec<u8>>()
        .into()
}

/// Encodes all frames, decodes them feeding `chunk` bytes at a time, and
/// checks they come back equal and nothing is left over.
fn check(frames: &[Frame], secure: bool, chunk: usize) {
    let (mut enc, mut dec) = pair(secure);
    let mut wire = BytesMut::new();
    for f in frames {
        enc.encode_frame(f, &mut wire).unwrap();
    }
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for part in wire.chunks(chunk) {
        buf.extend_from_slice(part);
        while let Some(f) = dec.decode(&mut buf).unwrap() {
            out.push(f);
        }
        assert!(buf.len() < dec.needed());
    }
    assert_eq!(out, frames);
    assert!(buf.is_empty());
    dec.check_eof(&buf).unwrap();
}

const LENS: [usize; 12] = [0, 1, 15, 16, 17, 47, 48, 49, 64, 65, 4096, 4096 + 123];

#[test]
fn every_segment_count_and_edge_length() {
    for secure in [false, true] {
        for count in 1..=4usize {
            let mut frames = Vec::new();
            for &len in &LENS {
                for &last in &[1usize, 48, 4097] {
                    // Segment i has the edge length, the last one is
                    // non-empty so that the count is kept.
                    let segs: Vec<Segment> = (0..count)
                        .map(|i| {
                            let l = if i + 1 == count && count > 1 {
                                last
                            } else {
                                len
                            };
                            Segment::new(bytes(l, i as u8), if i == 3 { 4096 } else { 8 })
                        })
                        .collect();
                    let tag = if count == 1 {
                        Tag::AuthDone
                    } else {
                        Tag::Message
                    };
                    let f = Frame::new(tag, segs).unwrap();
                    assert_eq!(f.segments().len(), count);
                    frames.push(f);
                }
            }
            check(&frames, secure, usize::MAX);
            check(&frames[..6], secure, 1);
            check(&frames, secure, 1000);
        }
    }
}

#[test]
fn empty_segments_in_the_middle() {
    for secure in [false, true] {
        let frames = vec![
            Frame::message(bytes(53, 1), Bytes::new(), Bytes::new(), bytes(5000, 2)),
            Frame::message(bytes(53, 1), bytes(3, 3), Bytes::new(), bytes(1, 2)),
            Frame::message(bytes(53, 1), Bytes::new(), bytes(100, 4), Bytes::new()),
            Frame::message(Bytes::new(), bytes(7, 1), Bytes::new(), Bytes::new()),
            Frame::control(Tag::Wait, Bytes::new()),
        ];
        check(&frames, secure, usize::MAX);
        check(&frames, secure, 7);
    }
}

#[test]
fn every_tag() {
    for secure in [false, true] {
        let frames: Vec<Frame> = Tag::ALL
            .iter()
            .enumerate()
            .map(|(i, &t)| Frame::control(t, bytes(i * 5, i as u8)))
            .collect();
        check(&frames, secure, 33);
    }
}

/// The connection's life: frames in crc mode up to AUTH_DONE, then secure
/// mode from AUTH_SIGNATURE on, with everything arriving in one buffer.
#[test]
fn switch_to_secure_after_auth_done() {
    let c = SecureKeys::from_connection_secret(&SECRET, Role::Client).unwrap();
    let s = SecureKeys::from_connection_secret(&SECRET, Role::Server).unwrap();
    // The server sends, the client receives.
    let mut enc = FrameEncoder::new();
    let mut wire = BytesMut::new();
    let hello = Frame::control(Tag::Hello, bytes(36, 1));
    let done = Frame::control(Tag::AuthDone, bytes(300, 2));
    let sig = Frame::control(Tag::AuthSignature, bytes(32, 3));
    let ident = Frame::control(Tag::ServerIdent, bytes(120, 4));
    enc.encode_frame(&hello, &mut wire).unwrap();
    enc.encode_frame(&done, &mut wire).unwrap();
    enc.enable_secure(&s.tx);
    assert!(enc.is_secure());
    enc.encode_frame(&sig, &mut wire).unwrap();
    enc.encode_frame(&ident, &mut wire).unwrap();

    let mut dec = FrameDecoder::new();
    let mut buf = wire;
    let (f, raw) = dec.decode_with_raw(&mut buf).unwrap().unwrap();
    assert_eq!((f, raw.len()), (hello, 32 + 36 + 4));
    assert_eq!(dec.decode(&mut buf).unwrap(), Some(done));
    dec.enable_secure(&c.rx).unwrap();
    assert_eq!(dec.decode(&mut buf).unwrap(), Some(sig));
    assert_eq!(dec.decode(&mut buf).unwrap(), Some(ident));
    assert_eq!(dec.decode(&mut buf).unwrap(), None);
}

#[test]
fn mode_switch_refused_mid_secure_frame() {
    let c = SecureKeys::from_connection_secret(&SECRET, Role::Client).unwrap();
    let s = SecureKeys::from_connection_secret(&SECRET, Role::Server).unwrap();
    let mut enc = FrameEncoder::secure(&s.tx);
    let mut wire = BytesMut::new();
    enc.encode_frame(&Frame::control(Tag::Ack, bytes(200, 0)), &mut wire)
        .unwrap();
    let mut dec = FrameDecoder::secure(&c.rx, FrameLimits::default());
    let mut buf = BytesMut::from(&wire[..100]);
    assert_eq!(dec.decode(&mut buf).unwrap(), None);
    assert_eq!(dec.needed(), wire.len());
    assert_eq!(
        dec.enable_secure(&c.rx),
        Err(ceph_msgr2::Error::ModeSwitchMidFrame)
    );
}

fn arb_tag() -> impl Strategy<Value = Tag> {
    (0..Tag::ALL.len()).prop_map(|i| Tag::ALL[i])
}

fn arb_segment() -> impl Strategy<Value = Segment> {
    (
        prop_oneof![
            0usize..100,
            Just(47usize),
            Just(48),
            Just(49),
            4000usize..4200,
            0usize..20_000
        ],
        any::<u8>(),
        prop_oneof![Just(8u16), Just(4096), any::<u16>()],
    )
        .prop_map(|(len, seed, align)| Segment::new(bytes(len, seed), align))
}

fn arb_frame() -> impl Strategy<Value = Frame> {
    (arb_tag(), prop::collection::vec(arb_segment(), 1..=4))
        .prop_map(|(tag, segs)| Frame::new(tag, segs).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_frames_round_trip(
        frames in prop::collection::vec(arb_frame(), 1..5),
        secure in any::<bool>(),
        chunk in 1usize..5000,
    ) {
        check(&frames, secure, chunk);
    }

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..2000), secure in any::<bool>()) {
        let (_, mut dec) = pair(secure);
        let mut buf = BytesMut::from(&data[..]);
        while let Ok(Some(_)) = dec.decode(&mut buf) {}
    }
}

/// A large frame fed as a socket gives it (64 KiB at a time) lands in one
/// buffer of its size, reserved once its preamble is read, rather than in
/// one that doubles as the bytes come (and that the frame's segments, an
/// object read's data, then keep alive whole).
#[test]
fn a_large_frame_gets_room_for_all_of_it_once_its_preamble_is_read() {
    let data = bytes(4 << 20, 7);
    let frame = Frame::message(bytes(53, 1), Bytes::new(), Bytes::new(), data.clone());
    let (mut enc, mut dec) = pair(false);
    let mut wire = BytesMut::new();
    enc.encode_frame(&frame, &mut wire).unwrap();
    let total = wire.len();
    let mut buf = BytesMut::new();
    let mut parts = wire.chunks(64 << 10);
    buf.extend_from_slice(parts.next().unwrap());
    assert!(dec.decode(&mut buf).unwrap().is_none());
    assert_eq!(dec.needed(), total);
    let reserved = buf.capacity();
    assert!(reserved >= total, "{reserved} < {total}");
    assert!(
        reserved < total + (1 << 20),
        "{reserved}: more than the frame"
    );
    let mut out = None;
    for part in parts {
        buf.extend_from_slice(part);
        if let Some(f) = dec.decode(&mut buf).unwrap() {
            out = Some(f);
        }
    }
    assert_eq!(out, Some(frame));
    assert!(buf.is_empty());
}
