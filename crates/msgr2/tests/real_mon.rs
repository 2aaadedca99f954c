//! Bytes captured from a real Ceph 16.2.15 monitor (msgr2, crc mode) on the
//! test bed, with `fixtures/capture_mon_hello.py`: the script sent our
//! banner and a HELLO frame that it built by hand from the kernel's
//! description (`fixtures/client_banner_hello_crc.bin`), and saved what the
//! monitor answered: its banner (`mon_banner.bin`) and its HELLO frame
//! (`mon_hello_crc.bin`). The monitor kept the connection open, waiting for
//! AUTH_REQUEST, so it accepted our HELLO; with one crc bit flipped it closed
//! the connection at once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::{BufMut, Bytes, BytesMut};
use ceph_msgr2::{features, Banner, Frame, FrameDecoder, FrameEncoder, Tag};

const MON_BANNER: &[u8] = include_bytes!("fixtures/mon_banner.bin");
const MON_HELLO: &[u8] = include_bytes!("fixtures/mon_hello_crc.bin");
const CLIENT_BANNER_HELLO: &[u8] = include_bytes!("fixtures/client_banner_hello_crc.bin");

#[test]
fn monitor_banner_decodes_and_is_compatible() {
    let mut buf = BytesMut::from(MON_BANNER);
    let (banner, raw) = Banner::decode(&mut buf).unwrap().unwrap();
    assert!(buf.is_empty());
    assert_eq!(&raw[..], MON_BANNER);
    // Pacific supports msgr2.1 and requires nothing.
    assert_eq!(banner.supported, features::REVISION_1);
    assert_eq!(banner.required, 0);
    Banner::ours().check_peer(&banner).unwrap();
    assert!(Banner::ours().is_rev1_with(&banner));
}

#[test]
fn monitor_hello_decodes() {
    let mut decoder = FrameDecoder::new();
    let mut buf = BytesMut::from(MON_HELLO);
    let (frame, raw) = decoder.decode_with_raw(&mut buf).unwrap().unwrap();
    assert!(buf.is_empty());
    assert_eq!(&raw[..], MON_HELLO);
    assert_eq!(frame.tag(), Tag::Hello);
    assert_eq!(frame.segments().len(), 1);
    assert_eq!(frame.segments()[0].alignment, 8);
    decoder.check_eof(&buf).unwrap();

    // The payload: the monitor's entity type, then our address as it sees
    // it (entity_addr_t, new encoding).
    let p = frame.payload();
    assert_eq!(p[0], 1, "CEPH_ENTITY_TYPE_MON");
    assert_eq!(&p[1..4], &[1, 1, 1], "marker, struct_v, compat");
    assert_eq!(u32::from_le_bytes(p[4..8].try_into().unwrap()), 28);
    assert_eq!(
        u32::from_le_bytes(p[8..12].try_into().unwrap()),
        2,
        "TYPE_MSGR2"
    );
    assert_eq!(
        u32::from_le_bytes(p[16..20].try_into().unwrap()),
        16,
        "sockaddr_in"
    );
    assert_eq!(
        u16::from_le_bytes(p[20..22].try_into().unwrap()),
        2,
        "AF_INET"
    );
    assert_eq!(&p[24..28], &[127, 0, 0, 1]);
    assert_eq!(p.len(), 36);

    // Re-encoding gives the monitor's bytes exactly.
    let mut out = BytesMut::new();
    FrameEncoder::new().encode_frame(&frame, &mut out).unwrap();
    assert_eq!(&out[..], MON_HELLO);
}

#[test]
fn our_banner_and_hello_equal_the_hand_built_bytes_the_monitor_accepted() {
    // The HELLO payload the script built: CEPH_ENTITY_TYPE_CLIENT, then the
    // monitor's address 127.0.0.1:3300 (msgr2, nonce 0).
    let mut payload = BytesMut::new();
    payload.put_u8(8);
    payload.put_slice(&[1, 1, 1]);
    payload.put_u32_le(28);
    payload.put_u32_le(2);
    payload.put_u32_le(0);
    payload.put_u32_le(16);
    payload.put_u16_le(2);
    payload.put_u16(3300);
    payload.put_slice(&[127, 0, 0, 1]);
    payload.put_bytes(0, 8);

    let mut out = BytesMut::new();
    Banner::ours().encode(&mut out);
    FrameEncoder::new()
        .encode_frame(&Frame::control(Tag::Hello, payload.freeze()), &mut out)
        .unwrap();
    assert_eq!(&out[..], CLIENT_BANNER_HELLO);
}

#[test]
fn monitor_bytes_fed_one_at_a_time() {
    let mut all = BytesMut::new();
    let mut decoder = FrameDecoder::new();
    let mut banner = None;
    let mut frames = Vec::new();
    for &b in MON_BANNER.iter().chain(MON_HELLO) {
        all.put_u8(b);
        if banner.is_none() {
            banner = Banner::decode(&mut all).unwrap();
            continue;
        }
        if let Some(f) = decoder.decode(&mut all).unwrap() {
            frames.push(f);
        }
    }
    assert!(banner.is_some());
    assert_eq!(frames.len(), 1);
    assert_eq!(
        frames[0].payload(),
        &Bytes::copy_from_slice(&MON_HELLO[32..68])
    );
}
