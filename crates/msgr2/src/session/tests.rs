//! The client session against a scripted server, sans-IO: the whole
//! handshake with the "none" method, message exchange, and the protocol
//! errors a hostile or broken server can cause.

use bytes::{Bytes, BytesMut};
use ceph_encoding::{AddrType, Decode, Encode, EntityAddr, EntityAddrVec, EntityName, EntityType};

use super::auth::NoneAuth;
use super::client::{ClientConfig, ClientSession, Event};
use super::control::*;
use super::header::MsgHeader2;
use super::message::Message;
use crate::{Banner, Error, Frame, FrameDecoder, FrameEncoder, Tag};

const ALL: u64 = ceph_encoding::features::CEPH_FEATURES_ALL;

fn mon_addr() -> EntityAddr {
    EntityAddr::new(AddrType::MSGR2, "127.0.0.1:3300".parse().unwrap(), 0)
}

fn client() -> ClientSession {
    let name = EntityName::new(EntityType::CLIENT, "admin");
    ClientSession::new(
        ClientConfig {
            peer_type: EntityType::MON,
            peer_addr: mon_addr(),
            nonce: 7,
            modes: vec![CON_MODE_CRC],
            supported_features: ALL,
            required_features: 0,
            global_id: 0,
        },
        Box::new(NoneAuth::for_monitor(&name, 0)),
        42,
    )
}

/// The server side of the script.
struct Server {
    enc: FrameEncoder,
    dec: FrameDecoder,
    inbuf: BytesMut,
}

impl Server {
    fn new() -> Server {
        Server {
            enc: FrameEncoder::new(),
            dec: FrameDecoder::new(),
            inbuf: BytesMut::new(),
        }
    }

    fn banner() -> Bytes {
        let mut b = BytesMut::new();
        Banner::ours().encode(&mut b);
        b.freeze()
    }

    fn frame<T: Encode>(&mut self, tag: Tag, body: &T) -> Bytes {
        let mut out = BytesMut::new();
        self.enc
            .encode_frame(&Frame::control(tag, body.to_bytes(ALL)), &mut out)
            .unwrap();
        out.freeze()
    }

    fn raw(&mut self, tag: Tag, body: Bytes) -> Bytes {
        let mut out = BytesMut::new();
        self.enc
            .encode_frame(&Frame::control(tag, body), &mut out)
            .unwrap();
        out.freeze()
    }

    /// Takes what the client wrote; returns the frames in it.
    fn read(&mut self, bytes: &[u8]) -> Vec<Frame> {
        self.inbuf.extend_from_slice(bytes);
        let mut frames = Vec::new();
        while let Some(f) = self.dec.decode(&mut self.inbuf).unwrap() {
            frames.push(f);
        }
        frames
    }
}

/// Runs the handshake up to READY; returns the client and the server.
fn ready() -> (ClientSession, Server) {
    ready_with(MSG_CONNECT_LOSSY, 0)
}

/// The handshake with a server that answers with `flags` and `cookie`.
fn ready_with(flags: u64, cookie: u64) -> (ClientSession, Server) {
    let mut c = client();
    let mut s = Server::new();
    c.start();
    let out = c.take_output();
    assert!(out.starts_with(b"ceph v2\n"));
    assert!(c.receive(&Server::banner()).unwrap().is_empty());
    let hello = s.read(&c.take_output()[..]);
    assert_eq!(hello.len(), 1);
    assert_eq!(hello[0].tag(), Tag::Hello);
    let h = Hello::decode_exact(hello[0].payload()).unwrap();
    assert_eq!(h.entity_type, EntityType::CLIENT.0);
    assert_eq!(h.peer_addr, mon_addr());

    let my_addr = EntityAddr::new(AddrType::MSGR2, "127.0.0.1:40000".parse().unwrap(), 0);
    let f = s.frame(
        Tag::Hello,
        &Hello {
            entity_type: EntityType::MON.0,
            peer_addr: my_addr,
        },
    );
    assert!(c.receive(&f).unwrap().is_empty());
    let req = s.read(&c.take_output()[..]);
    assert_eq!(req[0].tag(), Tag::AuthRequest);
    let req = AuthRequest::decode_exact(req[0].payload()).unwrap();
    assert_eq!(req.method, 1);
    assert_eq!(req.preferred_modes, [CON_MODE_CRC]);

    let f = s.frame(
        Tag::AuthDone,
        &AuthDone {
            global_id: 4100,
            con_mode: CON_MODE_CRC,
            auth_payload: Bytes::new(),
        },
    );
    assert!(c.receive(&f).unwrap().is_empty());
    let sig = s.read(&c.take_output()[..]);
    assert_eq!(sig[0].tag(), Tag::AuthSignature);
    assert_eq!(
        sig[0].payload().as_ref(),
        &[0u8; 32],
        "method none signs with zeros"
    );

    let f = s.raw(Tag::AuthSignature, Bytes::from(vec![0u8; 32]));
    assert!(c.receive(&f).unwrap().is_empty());
    let ident = s.read(&c.take_output()[..]);
    assert_eq!(ident[0].tag(), Tag::ClientIdent);
    let ident = ClientIdent::decode_exact(ident[0].payload()).unwrap();
    assert_eq!(ident.gid, 4100);
    assert_eq!(ident.cookie, 42);
    assert_eq!(ident.target_addr, mon_addr());
    assert_eq!(ident.addrs.addrs[0].nonce, 7);

    let f = s.frame(
        Tag::ServerIdent,
        &ServerIdent {
            addrs: EntityAddrVec::single(mon_addr()),
            gid: 0,
            global_seq: 1,
            supported_features: ALL,
            required_features: 0,
            flags,
            cookie,
        },
    );
    let ev = c.receive(&f).unwrap();
    assert!(matches!(&ev[..], [Event::Ready(info)] if info.global_id == 4100 && !info.resumed));
    assert!(c.is_ready());
    (c, s)
}

/// Restarts the client on a new connection to a new server, runs the
/// handshake up to the signatures, and returns the server and the frames
/// the client sent next (CLIENT_IDENT or SESSION_RECONNECT).
fn restart_to_ident(c: &mut ClientSession) -> (Server, Vec<Frame>) {
    let name = EntityName::new(EntityType::CLIENT, "admin");
    c.restart(Box::new(NoneAuth::for_monitor(&name, 4100)));
    let mut s = Server::new();
    assert!(c.take_output().starts_with(b"ceph v2\n"));
    c.receive(&Server::banner()).unwrap();
    s.read(&c.take_output()[..]);
    let hello = Hello {
        entity_type: EntityType::MON.0,
        peer_addr: mon_addr(),
    };
    c.receive(&s.frame(Tag::Hello, &hello)).unwrap();
    s.read(&c.take_output()[..]);
    let done = AuthDone {
        global_id: 4100,
        con_mode: CON_MODE_CRC,
        auth_payload: Bytes::new(),
    };
    c.receive(&s.frame(Tag::AuthDone, &done)).unwrap();
    s.read(&c.take_output()[..]);
    c.receive(&s.raw(Tag::AuthSignature, Bytes::from(vec![0u8; 32])))
        .unwrap();
    let next = s.read(&c.take_output()[..]);
    (s, next)
}

fn message_frame(s: &mut Server, seq: u64, ack: u64, tid: u64) -> Bytes {
    message_frame_with(
        s,
        seq,
        ack,
        tid,
        Bytes::from_static(b"front"),
        Bytes::from_static(b"data"),
    )
}

/// A message of type 51 from the server, with `front` and `data`.
fn message_frame_with(
    s: &mut Server,
    seq: u64,
    ack: u64,
    tid: u64,
    front: Bytes,
    data: Bytes,
) -> Bytes {
    let h = MsgHeader2 {
        seq,
        tid,
        msg_type: 51,
        ack_seq: ack,
        version: 1,
        compat_version: 1,
        ..Default::default()
    };
    let mut out = BytesMut::new();
    s.enc
        .encode_frame(
            &Frame::message(h.to_bytes(0), front, Bytes::new(), data),
            &mut out,
        )
        .unwrap();
    out.freeze()
}

#[test]
fn handshake_then_messages_both_ways() {
    let (mut c, mut s) = ready_with(0, 77);
    c.send(Message::new(50, 1, 1, Bytes::from_static(b"cmd")).with_tid(9))
        .unwrap();
    let sent = s.read(&c.take_output()[..]);
    assert_eq!(sent[0].tag(), Tag::Message);
    let h = MsgHeader2::decode_exact(&sent[0].segment(0)).unwrap();
    assert_eq!((h.seq, h.tid, h.msg_type), (1, 9, 50));
    assert_eq!(c.unacked_len(), 1);

    let f = message_frame(&mut s, 1, 1, 9);
    let ev = c.receive(&f).unwrap();
    match &ev[..] {
        [Event::Message(m)] => {
            assert_eq!((m.tid, m.msg_type), (9, 51));
            assert_eq!(&m.front[..], b"front");
            assert_eq!(&m.data[..], b"data");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.unacked_len(), 0, "ack_seq in the header acknowledges");
    let ack = s.read(&c.take_output()[..]);
    assert_eq!(ack[0].tag(), Tag::Ack);
    assert_eq!(U64Frame::decode_exact(ack[0].payload()).unwrap().value, 1);

    // An old message is dropped; a gap is an error.
    assert!(c
        .receive(&message_frame(&mut s, 1, 1, 9))
        .unwrap()
        .is_empty());
    assert!(matches!(
        c.receive(&message_frame(&mut s, 5, 1, 9)),
        Err(Error::BadSequence {
            got: 5,
            expected: 2
        })
    ));
}

#[test]
fn a_message_sent_before_the_next_write_carries_the_ack_instead_of_an_ack_frame() {
    let (mut c, mut s) = ready_with(0, 77);
    c.send(Message::new(50, 1, 1, Bytes::from_static(b"op")).with_tid(1))
        .unwrap();
    s.read(&c.take_output()[..]);
    c.receive(&message_frame(&mut s, 1, 1, 1)).unwrap();
    c.receive(&message_frame(&mut s, 2, 1, 1)).unwrap();
    assert!(c.has_output(), "an acknowledgement is owed");
    c.send(Message::new(50, 1, 1, Bytes::from_static(b"op")).with_tid(2))
        .unwrap();
    let sent = s.read(&c.take_output()[..]);
    assert_eq!(sent.len(), 1, "no ACK frame beside the message");
    assert_eq!(sent[0].tag(), Tag::Message);
    let h = MsgHeader2::decode_exact(&sent[0].segment(0)).unwrap();
    assert_eq!(h.ack_seq, 2);
    assert!(!c.has_output());
}

#[test]
fn a_preamble_alone_gets_no_room_for_the_length_it_announces() {
    let (mut c, mut s) = ready();
    let data = Bytes::from(vec![0x5au8; 8 << 20]);
    let wire = message_frame_with(&mut s, 1, 0, 3, Bytes::new(), data);
    c.receive_buffer(0).extend_from_slice(&wire[..32]);
    assert!(c.process_received().unwrap().is_empty());
    let buf = c.receive_buffer(64 << 10);
    assert!(
        buf.capacity() < 1 << 20,
        "{} bytes of room for a 32-byte preamble",
        buf.capacity()
    );
}

#[test]
fn a_lossy_session_sends_no_ack_frame_and_acknowledges_in_headers() {
    let (mut c, mut s) = ready();
    c.send(Message::new(50, 1, 1, Bytes::from_static(b"op")).with_tid(1))
        .unwrap();
    s.read(&c.take_output()[..]);
    c.receive(&message_frame(&mut s, 1, 1, 1)).unwrap();
    assert!(!c.has_output(), "a lossy peer keeps nothing to acknowledge");
    assert!(c.take_output().is_empty());
    c.send(Message::new(50, 1, 1, Bytes::from_static(b"op")).with_tid(2))
        .unwrap();
    let sent = s.read(&c.take_output()[..]);
    assert_eq!(sent.len(), 1);
    let h = MsgHeader2::decode_exact(&sent[0].segment(0)).unwrap();
    assert_eq!(h.ack_seq, 1, "the header still says what was received");
}

#[test]
fn a_large_message_read_into_the_receive_buffer_needs_one_allocation() {
    let (mut c, mut s) = ready();
    let data = Bytes::from(vec![0xa5u8; 4 << 20]);
    let wire = message_frame_with(&mut s, 1, 0, 3, Bytes::new(), data.clone());
    // One socket read's worth: room for the rest of the frame at once.
    let (head, rest) = wire.split_at(64 << 10);
    c.receive_buffer(0).extend_from_slice(head);
    assert!(c.process_received().unwrap().is_empty());
    let buf = c.receive_buffer(16);
    assert!(
        buf.capacity() - buf.len() >= rest.len(),
        "room for the whole frame at once"
    );
    buf.extend_from_slice(rest);
    match &c.process_received().unwrap()[..] {
        [Event::Message(m)] => assert_eq!(m.data, data),
        other => panic!("{other:?}"),
    }
}

#[test]
fn keepalives_are_answered() {
    let (mut c, mut s) = ready();
    let stamp = ceph_encoding::UTime::new(5, 6);
    let f = s.frame(Tag::Keepalive2, &Keepalive { stamp });
    assert!(c.receive(&f).unwrap().is_empty());
    let out = s.read(&c.take_output()[..]);
    assert_eq!(out[0].tag(), Tag::Keepalive2Ack);
    assert_eq!(
        Keepalive::decode_exact(out[0].payload()).unwrap().stamp,
        stamp
    );
}

#[test]
fn messages_queued_before_ready_go_out_once_ready() {
    let mut c = client();
    c.send(Message::new(15, 3, 1, Bytes::from_static(b"sub")))
        .unwrap();
    c.start();
    assert!(!c.take_output().is_empty());
    let (mut c2, mut s) = ready();
    c2.send(Message::new(15, 3, 1, Bytes::from_static(b"sub")))
        .unwrap();
    assert_eq!(s.read(&c2.take_output()[..]).len(), 1);
}

#[test]
fn frames_out_of_place_are_protocol_errors() {
    let mut c = client();
    let mut s = Server::new();
    c.start();
    c.receive(&Server::banner()).unwrap();
    let f = s.frame(
        Tag::AuthDone,
        &AuthDone {
            global_id: 1,
            con_mode: CON_MODE_CRC,
            auth_payload: Bytes::new(),
        },
    );
    assert!(matches!(
        c.receive(&f),
        Err(Error::UnexpectedFrame {
            tag: Tag::AuthDone,
            ..
        })
    ));
}

#[test]
fn a_wrong_peer_type_is_refused() {
    let mut c = client();
    let mut s = Server::new();
    c.start();
    c.receive(&Server::banner()).unwrap();
    let f = s.frame(
        Tag::Hello,
        &Hello {
            entity_type: EntityType::OSD.0,
            peer_addr: mon_addr(),
        },
    );
    assert!(matches!(c.receive(&f), Err(Error::WrongPeer(_))));
}

#[test]
fn auth_bad_method_names_the_errno() {
    let mut c = client();
    let mut s = Server::new();
    c.start();
    c.receive(&Server::banner()).unwrap();
    let f = s.frame(
        Tag::Hello,
        &Hello {
            entity_type: EntityType::MON.0,
            peer_addr: mon_addr(),
        },
    );
    c.receive(&f).unwrap();
    let f = s.frame(
        Tag::AuthBadMethod,
        &AuthBadMethod {
            method: 1,
            result: -13,
            allowed_methods: vec![2],
            allowed_modes: vec![2],
        },
    );
    let err = c.receive(&f).unwrap_err();
    assert!(matches!(err, Error::AuthRejected { result: -13, .. }));
    assert!(err.to_string().contains("authentication failed"));
}

#[test]
fn a_bad_auth_signature_is_refused() {
    let mut c = client();
    let mut s = Server::new();
    c.start();
    c.receive(&Server::banner()).unwrap();
    let f = s.frame(
        Tag::Hello,
        &Hello {
            entity_type: EntityType::MON.0,
            peer_addr: mon_addr(),
        },
    );
    c.receive(&f).unwrap();
    let f = s.frame(
        Tag::AuthDone,
        &AuthDone {
            global_id: 1,
            con_mode: CON_MODE_CRC,
            auth_payload: Bytes::new(),
        },
    );
    c.receive(&f).unwrap();
    let f = s.raw(Tag::AuthSignature, Bytes::from(vec![1u8; 32]));
    assert!(matches!(c.receive(&f), Err(Error::BadAuthSignature)));
}

#[test]
fn a_mode_we_did_not_offer_is_refused() {
    let mut c = client();
    let mut s = Server::new();
    c.start();
    c.receive(&Server::banner()).unwrap();
    let f = s.frame(
        Tag::Hello,
        &Hello {
            entity_type: EntityType::MON.0,
            peer_addr: mon_addr(),
        },
    );
    c.receive(&f).unwrap();
    let f = s.frame(
        Tag::AuthDone,
        &AuthDone {
            global_id: 1,
            con_mode: CON_MODE_SECURE,
            auth_payload: Bytes::new(),
        },
    );
    assert!(matches!(
        c.receive(&f),
        Err(Error::UnwantedMode(CON_MODE_SECURE))
    ));
}

#[test]
fn a_restart_resends_what_was_not_acknowledged() {
    let (mut c, mut s) = ready();
    c.send(Message::new(50, 1, 1, Bytes::from_static(b"a")).with_tid(1))
        .unwrap();
    c.send(Message::new(50, 1, 1, Bytes::from_static(b"b")).with_tid(2))
        .unwrap();
    s.read(&c.take_output()[..]);
    // The server acknowledged the first only; then the connection broke.
    c.receive(&s.frame(Tag::Ack, &U64Frame { value: 1 }))
        .unwrap();
    assert_eq!(c.unacked_len(), 1);
    // The lossy server gives a new session: the unacknowledged message
    // goes out again, renumbered from 1.
    let (mut s, ident) = restart_to_ident(&mut c);
    assert_eq!(
        ident[0].tag(),
        Tag::ClientIdent,
        "lossy: a new session, not a reconnect"
    );
    let f = s.frame(
        Tag::ServerIdent,
        &ServerIdent {
            addrs: EntityAddrVec::single(mon_addr()),
            gid: 0,
            global_seq: 2,
            supported_features: ALL,
            required_features: 0,
            flags: MSG_CONNECT_LOSSY,
            cookie: 0,
        },
    );
    c.receive(&f).unwrap();
    let resent = s.read(&c.take_output()[..]);
    assert_eq!(resent.len(), 1);
    let h = MsgHeader2::decode_exact(&resent[0].segment(0)).unwrap();
    assert_eq!((h.seq, h.tid), (1, 2));
}

#[test]
fn a_kept_session_is_resumed_with_session_reconnect() {
    // A server that keeps sessions (cookie, not lossy).
    let (mut c, mut s) = ready_with(0, 77);
    for tid in 1..=3 {
        c.send(Message::new(50, 1, 1, Bytes::from_static(b"x")).with_tid(tid))
            .unwrap();
    }
    s.read(&c.take_output()[..]);
    // The server got two messages from us and sent us one.
    c.receive(&message_frame(&mut s, 1, 2, 100)).unwrap();
    s.read(&c.take_output()[..]);
    assert_eq!(c.unacked_len(), 1);

    let (mut s, rec) = restart_to_ident(&mut c);
    assert_eq!(rec[0].tag(), Tag::SessionReconnect);
    let rec = SessionReconnect::decode_exact(rec[0].payload()).unwrap();
    assert_eq!((rec.client_cookie, rec.server_cookie), (42, 77));
    assert_eq!(rec.msg_seq, 1, "the last message we received");
    assert_eq!(rec.connect_seq, 1);
    assert_eq!(rec.global_seq, 2);

    // The server had received our seq 2: only seq 3 goes out again, with
    // its own sequence number.
    let ev = c
        .receive(&s.frame(Tag::SessionReconnectOk, &U64Frame { value: 2 }))
        .unwrap();
    assert!(matches!(&ev[..], [Event::Ready(info)] if info.resumed));
    let resent = s.read(&c.take_output()[..]);
    assert_eq!(resent.len(), 1);
    let h = MsgHeader2::decode_exact(&resent[0].segment(0)).unwrap();
    assert_eq!((h.seq, h.tid), (3, 3));
    // The session goes on where it was.
    c.send(Message::new(50, 1, 1, Bytes::from_static(b"y")).with_tid(4))
        .unwrap();
    let next = s.read(&c.take_output()[..]);
    assert_eq!(
        MsgHeader2::decode_exact(&next[0].segment(0)).unwrap().seq,
        4
    );
}

#[test]
fn session_retry_values_at_the_top_of_the_range_are_refused_not_overflowed() {
    for tag in [Tag::SessionRetry, Tag::SessionRetryGlobal] {
        let (mut c, _s) = ready_with(0, 77);
        let (mut s2, rec) = restart_to_ident(&mut c);
        assert_eq!(rec[0].tag(), Tag::SessionReconnect);
        let f = s2.frame(tag, &U64Frame { value: u64::MAX });
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.receive(&f)));
        let text = match r {
            Ok(Err(e)) => e.to_string(),
            Ok(Ok(ev)) => format!("accepted: {ev:?}"),
            Err(_) => "panicked".into(),
        };
        assert!(text.contains("protocol error"), "{tag:?}: {text}");
        // One below the top still works.
        let (mut c, _s) = ready_with(0, 77);
        let (mut s2, _rec) = restart_to_ident(&mut c);
        let f = s2.frame(
            tag,
            &U64Frame {
                value: u64::MAX - 1,
            },
        );
        assert!(c.receive(&f).is_ok(), "{tag:?}");
        let again = s2.read(&c.take_output()[..]);
        assert_eq!(again[0].tag(), Tag::SessionReconnect);
        let rec = SessionReconnect::decode_exact(again[0].payload()).unwrap();
        assert_eq!(
            if tag == Tag::SessionRetry {
                rec.connect_seq
            } else {
                rec.global_seq
            },
            u64::MAX
        );
    }
}

/// "none" with a session key, to check signatures made with a real key.
struct KeyedAuth;

impl super::auth::AuthProvider for KeyedAuth {
    fn method(&self) -> u32 {
        2
    }
    fn initial_payload(&mut self) -> crate::Result<Bytes> {
        Ok(Bytes::from_static(b"hi"))
    }
    fn handle_more(&mut self, _payload: &[u8]) -> crate::Result<Bytes> {
        Err(Error::Auth("no more".into()))
    }
    fn handle_done(
        &mut self,
        _global_id: u64,
        _con_mode: u32,
        _payload: &[u8],
    ) -> crate::Result<super::auth::AuthKeys> {
        Ok(super::auth::AuthKeys {
            session_key: vec![7u8; 16],
            connection_secret: Vec::new(),
        })
    }
}

/// The client's answer to the server's AUTH_SIGNATURE `sig` (made by
/// `sign` from the bytes the client sent before it).
fn answer_signature(sign: impl Fn(&[u8]) -> Vec<u8>) -> crate::Result<Vec<Event>> {
    let mut c = ClientSession::new(
        ClientConfig {
            peer_type: EntityType::MON,
            peer_addr: mon_addr(),
            nonce: 7,
            modes: vec![CON_MODE_CRC],
            supported_features: ALL,
            required_features: 0,
            global_id: 0,
        },
        Box::new(KeyedAuth),
        42,
    );
    let mut s = Server::new();
    let mut sent = BytesMut::new();
    c.start();
    sent.extend_from_slice(&c.take_output());
    c.receive(&Server::banner())?;
    let out = c.take_output();
    sent.extend_from_slice(&out);
    s.read(&out);
    let hello = Hello {
        entity_type: EntityType::MON.0,
        peer_addr: mon_addr(),
    };
    c.receive(&s.frame(Tag::Hello, &hello))?;
    let out = c.take_output();
    sent.extend_from_slice(&out);
    s.read(&out);
    let done = AuthDone {
        global_id: 1,
        con_mode: CON_MODE_CRC,
        auth_payload: Bytes::new(),
    };
    c.receive(&s.frame(Tag::AuthDone, &done))?;
    s.read(&c.take_output());
    c.receive(&s.raw(Tag::AuthSignature, Bytes::from(sign(&sent))))
}

#[test]
fn auth_signatures_under_a_session_key_must_match_exactly() {
    use hmac::{KeyInit, Mac};
    let hmac = |data: &[u8]| {
        let mut m = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&[7u8; 16]).unwrap();
        m.update(data);
        m.finalize().into_bytes().to_vec()
    };
    assert!(answer_signature(hmac).is_ok());
    let forged: [&dyn Fn(Vec<u8>) -> Vec<u8>; 5] = [
        &|mut s| {
            s[31] ^= 1;
            s
        },
        &|mut s| {
            s[0] ^= 0x80;
            s
        },
        &|mut s| {
            s.pop();
            s
        },
        &|mut s| {
            s.push(0);
            s
        },
        &|_| Vec::new(),
    ];
    for (i, f) in forged.iter().enumerate() {
        let r = answer_signature(|d| f(hmac(d)));
        assert!(matches!(r, Err(Error::BadAuthSignature)), "{i}: {r:?}");
    }
}
