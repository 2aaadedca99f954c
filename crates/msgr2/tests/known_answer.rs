//! Known-answer tests: the expected bytes are built here independently,
//! from the layout the kernel (`net/ceph/messenger_v2.c`) and Ceph
//! (`frames_v2.cc`, `crypto_onwire.cc`) use, with a bitwise crc32c and
//! AES-GCM called directly, and compared with what the encoder produces.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aes_gcm::{AeadInOut, Aes128Gcm, KeyInit, Nonce};
use bytes::{Bytes, BytesMut};
use ceph_msgr2::{Frame, FrameDecoder, FrameEncoder, FrameLimits, Role, SecureKeys, Tag};

/// Castagnoli CRC, bit by bit, without pre/post inversion (`ceph_crc32c`).
fn crc32c_bitwise(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
    }
    crc
}

fn preamble(tag: u8, segs: &[(u32, u16)]) -> Vec<u8> {
    let mut p = vec![tag, segs.len() as u8];
    for &(len, align) in segs {
        p.extend_from_slice(&len.to_le_bytes());
        p.extend_from_slice(&align.to_le_bytes());
    }
    p.resize(28, 0);
    let crc = crc32c_bitwise(0, &p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

#[test]
fn crc_mode_ack_frame() {
    // ACK of sequence 0x0102030405060708: one 8-byte segment.
    let seq = 0x0102_0304_0506_0708u64.to_le_bytes();
    let mut expected = preamble(20, &[(8, 8)]);
    expected.extend_from_slice(&seq);
    expected.extend_from_slice(&crc32c_bitwise(u32::MAX, &seq).to_le_bytes());
    assert_eq!(expected.len(), 32 + 8 + 4);

    let mut out = BytesMut::new();
    FrameEncoder::new()
        .encode_frame(
            &Frame::control(Tag::Ack, Bytes::copy_from_slice(&seq)),
            &mut out,
        )
        .unwrap();
    assert_eq!(&out[..], &expected[..]);
}

#[test]
fn crc_mode_wait_frame_has_no_crc() {
    // WAIT has an empty payload: preamble only.
    let expected = preamble(16, &[(0, 8)]);
    let mut out = BytesMut::new();
    FrameEncoder::new()
        .encode_frame(&Frame::control(Tag::Wait, Bytes::new()), &mut out)
        .unwrap();
    assert_eq!(&out[..], &expected[..]);
    let mut buf = out;
    let f = FrameDecoder::new().decode(&mut buf).unwrap().unwrap();
    assert_eq!(f.tag(), Tag::Wait);
    assert!(f.payload().is_empty());
}

#[test]
fn crc_mode_message_with_empty_middle() {
    let header = [0xaau8; 53];
    let front = b"front bytes";
    let data = vec![0x5a; 4100];
    let mut expected = preamble(17, &[(53, 8), (11, 8), (0, 8), (4100, 4096)]);
    expected.extend_from_slice(&header);
    expected.extend_from_slice(&crc32c_bitwise(u32::MAX, &header).to_le_bytes());
    expected.extend_from_slice(front);
    expected.extend_from_slice(&data);
    expected.push(0x0e); // late_status: complete
    expected.extend_from_slice(&crc32c_bitwise(u32::MAX, front).to_le_bytes());
    expected.extend_from_slice(&u32::MAX.to_le_bytes()); // empty middle: crc32c(-1, "")
    expected.extend_from_slice(&crc32c_bitwise(u32::MAX, &data).to_le_bytes());

    let frame = Frame::message(
        Bytes::copy_from_slice(&header),
        Bytes::from_static(front),
        Bytes::new(),
        Bytes::from(data),
    );
    let mut out = BytesMut::new();
    FrameEncoder::new().encode_frame(&frame, &mut out).unwrap();
    assert_eq!(&out[..], &expected[..]);
    assert_eq!(FrameDecoder::new().decode(&mut out).unwrap(), Some(frame));
}

#[test]
fn crc_mode_two_segments_leave_absent_crcs_zero() {
    let mut expected = preamble(17, &[(2, 8), (3, 8)]);
    expected.extend_from_slice(b"hh");
    expected.extend_from_slice(&crc32c_bitwise(u32::MAX, b"hh").to_le_bytes());
    expected.extend_from_slice(b"fff");
    expected.push(0x0e);
    expected.extend_from_slice(&crc32c_bitwise(u32::MAX, b"fff").to_le_bytes());
    expected.extend_from_slice(&[0; 8]);
    let frame = Frame::message(
        Bytes::from_static(b"hh"),
        Bytes::from_static(b"fff"),
        Bytes::new(),
        Bytes::new(),
    );
    let mut out = BytesMut::new();
    FrameEncoder::new().encode_frame(&frame, &mut out).unwrap();
    assert_eq!(&out[..], &expected[..]);
}

/// The kernel's gcm_crypt on one section: encrypt with the current nonce,
/// append the tag, then add one to the nonce's le64 counter.
fn gcm_section(key: &[u8; 16], nonce: &mut [u8; 12], plain: &[u8], out: &mut Vec<u8>) {
    let cipher = Aes128Gcm::new(&(*key).into());
    let mut buf = plain.to_vec();
    let tag = cipher
        .encrypt_inout_detached(&Nonce::from(*nonce), &[], buf.as_mut_slice().into())
        .unwrap();
    out.extend_from_slice(&buf);
    out.extend_from_slice(&tag);
    let counter = u64::from_le_bytes(nonce[4..].try_into().unwrap()) + 1;
    nonce[4..].copy_from_slice(&counter.to_le_bytes());
}

fn padded(mut v: Vec<u8>) -> Vec<u8> {
    v.resize(v.len().div_ceil(16) * 16, 0);
    v
}

#[test]
fn secure_mode_by_construction() {
    let secret: Vec<u8> = (0..64u8)
        .map(|i| i.wrapping_mul(7).wrapping_add(3))
        .collect();
    let key: [u8; 16] = secret[..16].try_into().unwrap();
    // The client sends with bytes 28..40 of the secret.
    let mut nonce: [u8; 12] = secret[28..40].try_into().unwrap();
    let mut expected = Vec::new();

    // 1. A 20-byte control payload: fully inlined, one GCM operation.
    let small: Vec<u8> = (0..20).collect();
    let mut head = preamble(8, &[(20, 8)]);
    head.extend_from_slice(&small);
    head.resize(80, 0);
    gcm_section(&key, &mut nonce, &head, &mut expected);

    // 2. A 100-byte control payload: 48 inline, 52 (+12 padding) after.
    let big: Vec<u8> = (0..100).map(|i| i as u8 ^ 0x33).collect();
    let mut head = preamble(9, &[(100, 8)]);
    head.extend_from_slice(&big[..48]);
    gcm_section(&key, &mut nonce, &head, &mut expected);
    gcm_section(&key, &mut nonce, &padded(big[48..].to_vec()), &mut expected);

    // 3. A MESSAGE: 53-byte header, front 7, no middle, data 4097.
    let header = vec![0x11u8; 53];
    let front = b"frontal".to_vec();
    let data = vec![0x77u8; 4097];
    let mut head = preamble(17, &[(53, 8), (7, 8), (0, 8), (4097, 4096)]);
    head.extend_from_slice(&header[..48]);
    gcm_section(&key, &mut nonce, &head, &mut expected);
    gcm_section(
        &key,
        &mut nonce,
        &padded(header[48..].to_vec()),
        &mut expected,
    );
    let mut tail = padded(front.clone());
    tail.extend_from_slice(&padded(data.clone()));
    let mut epilogue = vec![0x0e];
    epilogue.resize(16, 0);
    tail.extend_from_slice(&epilogue);
    gcm_section(&key, &mut nonce, &tail, &mut expected);

    let keys = SecureKeys::from_connection_secret(&secret, Role::Client).unwrap();
    let mut enc = FrameEncoder::secure(&keys.tx);
    let frames = [
        Frame::control(Tag::ClientIdent, Bytes::from(small)),
        Frame::control(Tag::ServerIdent, Bytes::from(big)),
        Frame::message(
            Bytes::from(header),
            Bytes::from(front),
            Bytes::new(),
            Bytes::from(data),
        ),
    ];
    let mut out = BytesMut::new();
    for f in &frames {
        enc.encode_frame(f, &mut out).unwrap();
    }
    assert_eq!(out.len(), expected.len());
    assert_eq!(&out[..], &expected[..]);

    // The server's receive side (crossed nonces) reads them back.
    let server = SecureKeys::from_connection_secret(&secret, Role::Server).unwrap();
    let mut dec = FrameDecoder::secure(&server.rx, FrameLimits::default());
    for f in &frames {
        assert_eq!(dec.decode(&mut out).unwrap().as_ref(), Some(f));
    }
    assert!(out.is_empty());
}
