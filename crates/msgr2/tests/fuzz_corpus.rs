//! Replays the saved fuzz corpora (`fuzz/corpus/msgr2_frame_crc/` and
//! `fuzz/corpus/msgr2_frame_secure/`) through the fuzz targets' bodies, so
//! that what fuzzing found stays covered by `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(name)
}

fn replay(name: &str, body: fn(&[u8])) -> usize {
    rbd_native_tests::replay_fuzz_corpus(name, body)
}

#[test]
fn replay_crc_corpus() {
    let n = replay("msgr2_frame_crc", ceph_msgr2::fuzzing::frame_crc);
    eprintln!("replayed {n} crc-mode inputs");
}

#[test]
fn replay_secure_corpus() {
    let n = replay("msgr2_frame_secure", ceph_msgr2::fuzzing::frame_secure);
    eprintln!("replayed {n} secure-mode inputs");
}

/// Runs the seed inputs of both corpora through the fuzz bodies; with
/// `MSGR2_WRITE_SEEDS=1` it also (re)writes them into the corpora:
/// `MSGR2_WRITE_SEEDS=1 cargo test -p ceph-msgr2 --test fuzz_corpus seed`.
#[test]
fn seed_corpora() {
    use bytes::{Bytes, BytesMut};
    use ceph_msgr2::{fuzzing::FUZZ_SECRET, Frame, FrameEncoder, Role, SecureKeys, Tag};

    let write_seeds = std::env::var_os("MSGR2_WRITE_SEEDS").is_some();
    let frames = [
        Frame::control(Tag::Ack, Bytes::from_static(&[1, 0, 0, 0, 0, 0, 0, 0])),
        Frame::control(Tag::Wait, Bytes::new()),
        Frame::control(Tag::AuthDone, Bytes::from(vec![0x41; 70])),
        Frame::message(
            Bytes::from(vec![2; 53]),
            Bytes::from_static(b"front"),
            Bytes::from_static(b"mid"),
            Bytes::from(vec![3; 100]),
        ),
    ];
    let stream = |secure: bool| {
        let mut enc = if secure {
            let k = SecureKeys::from_connection_secret(&FUZZ_SECRET, Role::Client).unwrap();
            FrameEncoder::secure(&k.tx)
        } else {
            FrameEncoder::new()
        };
        let mut out = BytesMut::new();
        for f in &frames {
            enc.encode_frame(f, &mut out).unwrap();
        }
        out.to_vec()
    };
    let hello = include_bytes!("fixtures/mon_hello_crc.bin");
    let structured: Vec<u8> = (0..200u8).map(|i| i.wrapping_mul(13)).collect();
    let mut plain_head = vec![17u8, 2];
    plain_head.extend_from_slice(&[53, 0, 0, 0, 8, 0, 20, 0, 0, 0, 8, 0]);
    plain_head.resize(80 + 64, 0x5a);

    let write = |dir: &str, name: &str, selector: u8, body: &[u8]| {
        let mut data = vec![selector];
        data.extend_from_slice(body);
        if dir == "msgr2_frame_crc" {
            ceph_msgr2::fuzzing::frame_crc(&data);
        } else {
            ceph_msgr2::fuzzing::frame_secure(&data);
        }
        if write_seeds {
            let d = corpus(dir);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(name), data).unwrap();
        }
    };
    write("msgr2_frame_crc", "seed-mon-hello", 0x00, hello);
    write("msgr2_frame_crc", "seed-stream", 0x3f, &stream(false));
    write("msgr2_frame_crc", "seed-structured", 0x85, &structured);
    write("msgr2_frame_secure", "seed-stream", 0x00, &stream(true));
    write(
        "msgr2_frame_secure",
        "seed-stream-chunked",
        0x07,
        &stream(true),
    );
    write("msgr2_frame_secure", "seed-plaintext", 0x40, &plain_head);
    write("msgr2_frame_secure", "seed-structured", 0xc5, &structured);
}

#[test]
fn replay_banner_corpus() {
    let n = replay("msgr2_banner", ceph_msgr2::fuzzing::banner);
    eprintln!("replayed {n} banner inputs");
}

#[test]
fn replay_session_corpus() {
    let n = replay("msgr2_session", ceph_msgr2::fuzzing::session);
    eprintln!("replayed {n} session scripts");
}

/// Runs the seeds of the banner and session corpora (a real monitor's
/// banner and HELLO, and handshakes in every mode); with
/// `MSGR2_WRITE_SEEDS=1` it also (re)writes them into the corpora.
#[test]
fn seed_session_corpora() {
    use ceph_msgr2::fuzzing::SessionScript as S;

    let write_seeds = std::env::var_os("MSGR2_WRITE_SEEDS").is_some();
    let write = |dir: &str, name: &str, data: &[u8], body: fn(&[u8])| {
        body(data);
        if write_seeds {
            let d = corpus(dir);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(name), data).unwrap();
        }
    };
    let mon_banner = include_bytes!("fixtures/mon_banner.bin");
    let mon_hello = include_bytes!("fixtures/mon_hello_crc.bin");
    let client = include_bytes!("fixtures/client_banner_hello_crc.bin");
    let banner = ceph_msgr2::fuzzing::banner;
    write("msgr2_banner", "seed-mon", mon_banner, banner);
    write("msgr2_banner", "seed-client-hello", client, banner);
    let mut long = mon_banner[..8].to_vec();
    long.extend_from_slice(&[20, 0]);
    long.extend_from_slice(&[1; 20]);
    write("msgr2_banner", "seed-long-payload", &long, banner);
    write("msgr2_banner", "seed-msgr1", b"ceph v027", banner);

    let session = ceph_msgr2::fuzzing::session;
    let handshake = |keyed, secure, mode| {
        S::new(keyed, secure, false)
            .banner()
            .hello()
            .auth_done(mode)
            .signature(true)
            .server_ident(false)
    };
    let real = S::new(false, false, false)
        .raw(mon_banner)
        .raw(mon_hello)
        .auth_done(1)
        .signature(true)
        .server_ident(false)
        .message(b"monmap")
        .into_bytes();
    write("msgr2_session", "seed-real-mon", &real, session);
    let none = handshake(false, false, 1)
        .message(b"one")
        .message(b"two")
        .keepalive()
        .u64_frame(12, 1)
        .client_send(8)
        .into_bytes();
    write("msgr2_session", "seed-none-crc", &none, session);
    let keyed = S::new(true, false, true)
        .banner()
        .hello()
        .auth_more(b"challenge")
        .auth_done(1)
        .signature(true)
        .server_ident(true)
        .message(b"reply")
        .into_bytes();
    write("msgr2_session", "seed-keyed-crc", &keyed, session);
    let secure = handshake(true, true, 2)
        .message(b"sealed")
        .keepalive()
        .client_send(16)
        .into_bytes();
    write("msgr2_session", "seed-keyed-secure", &secure, session);
    let held = S::new(true, true, false)
        .hold()
        .banner()
        .hello()
        .auth_done(2)
        .signature(true)
        .server_ident(false)
        .message(b"x")
        .hold()
        .into_bytes();
    write("msgr2_session", "seed-held", &held, session);
    let resumed = handshake(true, false, 1)
        .client_send(3)
        .client_send(4)
        .restart()
        .banner()
        .hello()
        .auth_done(1)
        .signature(true)
        .u64_frame(7, 3)
        .u64_frame(8, 9)
        .u64_frame(6, 1)
        .message(b"after")
        .restart()
        .banner()
        .hello()
        .auth_done(1)
        .signature(true)
        .session_reset()
        .server_ident(false)
        .into_bytes();
    write("msgr2_session", "seed-reconnect", &resumed, session);
}
