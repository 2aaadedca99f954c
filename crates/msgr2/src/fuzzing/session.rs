//! The body of the `msgr2_session` fuzz target: a [`ClientSession`] driven
//! from `new`/`start` by a scripted, hostile server.
//!
//! The input is a script. Its first byte picks the client's configuration
//! (the "none" method or one with a session key and a connection secret,
//! crc only or secure preferred, a monitor or an OSD as peer); each
//! following operation either hands the session raw bytes or builds
//! server frames (banner, HELLO, AUTH_*, a correct or forged
//! AUTH_SIGNATURE, SERVER_IDENT, SESSION_*, messages, keepalives, ACKs) with
//! the server's own encoder, which turns secure after an AUTH_DONE that
//! chose secure mode, as Ceph's does. The session may refuse anything; it
//! must never panic, and what it writes stays proportional to what it
//! was given.

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use ceph_encoding::{AddrType, Encode, EntityAddr, EntityAddrVec, EntityName, EntityType, UTime};

use super::input::{Input, FUZZ_SECRET};
use crate::banner::Banner;
use crate::error::{Error, Result};
use crate::secure_mode::{Role, SecureKeys};
use crate::session::auth::{AuthKeys, AuthProvider, NoneAuth};
use crate::session::control::{
    AuthBadMethod, AuthDone, AuthMore, Hello, Keepalive, ServerIdent, SessionReset, U64Frame,
    CON_MODE_CRC, CON_MODE_SECURE,
};
use crate::session::header::MsgHeader2;
use crate::session::{ClientConfig, ClientSession, Event, Message};
use crate::{Frame, FrameEncoder, Tag};

/// The session key of the keyed method (HMAC key of AUTH_SIGNATURE).
const FUZZ_SESSION_KEY: [u8; 16] = *b"fuzz session key";
/// The method id the keyed provider claims (cephx).
const KEYED_METHOD: u32 = 2;
/// A payload byte that makes the keyed provider refuse a round.
const REFUSE: u8 = 0xff;
/// Connection attempts per input (the first and the restarts).
const MAX_CONNECTIONS: usize = 4;

const ALL: u64 = ceph_encoding::features::CEPH_FEATURES_ALL;

/// An authentication method with keys: it answers every AUTH_REPLY_MORE
/// with the first bytes of the server's payload and takes any AUTH_DONE,
/// unless a payload begins with [`REFUSE`].
struct KeyedAuth;

impl AuthProvider for KeyedAuth {
    fn method(&self) -> u32 {
        KEYED_METHOD
    }

    fn initial_payload(&mut self) -> Result<Bytes> {
        Ok(Bytes::from_static(b"fuzz"))
    }

    fn handle_more(&mut self, payload: &[u8]) -> Result<Bytes> {
        if payload.first() == Some(&REFUSE) {
            return Err(Error::Auth("refused round".into()));
        }
        Ok(Bytes::copy_from_slice(&payload[..payload.len().min(64)]))
    }

    fn handle_done(&mut self, _global_id: u64, _mode: u32, payload: &[u8]) -> Result<AuthKeys> {
        if payload.first() == Some(&REFUSE) {
            return Err(Error::Auth("refused tickets".into()));
        }
        Ok(AuthKeys {
            session_key: FUZZ_SESSION_KEY.to_vec(),
            connection_secret: FUZZ_SECRET.to_vec(),
        })
    }
}

/// The client's configuration, from the script's first byte.
#[derive(Clone, Copy)]
struct Setup {
    keyed: bool,
    secure: bool,
    osd: bool,
}

impl Setup {
    fn from_byte(b: u8) -> Setup {
        Setup {
            keyed: b & 1 != 0,
            secure: b & 2 != 0,
            osd: b & 4 != 0,
        }
    }

    fn peer_type(self) -> EntityType {
        if self.osd {
            EntityType::OSD
        } else {
            EntityType::MON
        }
    }

    fn auth(self) -> Box<dyn AuthProvider> {
        if self.keyed {
            Box::new(KeyedAuth)
        } else {
            let name = EntityName::new(EntityType::CLIENT, "fuzz");
            Box::new(NoneAuth::for_monitor(&name, 0))
        }
    }

    fn session(self) -> ClientSession {
        let modes = if self.secure {
            vec![CON_MODE_SECURE, CON_MODE_CRC]
        } else {
            vec![CON_MODE_CRC]
        };
        ClientSession::new(
            ClientConfig {
                peer_type: self.peer_type(),
                peer_addr: addr(3300, 0),
                nonce: 7,
                modes,
                supported_features: ALL,
                required_features: 0,
                global_id: 0,
            },
            self.auth(),
            42,
        )
    }
}

fn addr(port: u16, nonce: u32) -> EntityAddr {
    EntityAddr::new(
        AddrType::MSGR2,
        SocketAddr::from(([10, 1, 2, 3], port)),
        nonce,
    )
}

/// The scripted server and the client it talks to.
struct Driver<'a> {
    input: Input<'a>,
    setup: Setup,
    client: ClientSession,
    server: FrameEncoder,
    /// Frames built while holding, handed over in one `receive`.
    held: BytesMut,
    holding: bool,
    connections: usize,
    /// The sequence number the next in-order message gets.
    next_seq: u64,
    /// Bytes of the messages the client was asked to send (what it may
    /// have to send again).
    sent_payload: usize,
    /// How many times the session became ready.
    readies: usize,
    done: bool,
}

impl Driver<'_> {
    fn frame(&mut self, frame: &Frame) {
        let mut out = BytesMut::new();
        // Every frame built here is well formed: encoding cannot fail.
        if let Err(e) = self.server.encode_frame(frame, &mut out) {
            panic!("the server's frame does not encode: {e}");
        }
        self.deliver(&out);
    }

    fn control<T: Encode>(&mut self, tag: Tag, body: &T) {
        self.frame(&Frame::control(tag, body.to_bytes(ALL)));
    }

    fn deliver(&mut self, bytes: &[u8]) {
        if self.holding {
            self.held.extend_from_slice(bytes);
        } else {
            self.receive(bytes);
        }
    }

    fn flush(&mut self) {
        let held = self.held.split();
        if !held.is_empty() {
            self.receive(&held);
        }
    }

    fn receive(&mut self, bytes: &[u8]) {
        let result = self.client.receive(bytes);
        let out = self.client.take_output();
        assert!(
            out.len() <= 4096 + 4 * bytes.len() + 2 * self.sent_payload,
            "{} bytes written for {} received",
            out.len(),
            bytes.len()
        );
        match result {
            Ok(events) => {
                for e in events {
                    if let Event::Ready(_) = e {
                        assert!(self.client.is_ready());
                        self.next_seq = 1;
                        self.readies += 1;
                    }
                }
            }
            Err(_) => self.restart(),
        }
    }

    /// A new connection, as the transport makes after an error.
    fn restart(&mut self) {
        self.connections += 1;
        if self.connections >= MAX_CONNECTIONS {
            self.done = true;
            return;
        }
        self.client.restart(self.setup.auth());
        self.server = FrameEncoder::new();
        self.held.clear();
        drop(self.client.take_output());
    }

    fn step(&mut self) {
        match self.input.byte() % 9 {
            0 => {
                let n = usize::from(self.input.byte());
                let raw = self.input.take(n);
                self.deliver(raw);
            }
            1 => {
                let b = self.input.byte();
                let mut out = BytesMut::new();
                Banner {
                    supported: u64::from(b & 3),
                    required: u64::from((b >> 2) & 3),
                }
                .encode(&mut out);
                self.deliver(&out);
            }
            2 => {
                let tag = Tag::ALL[usize::from(self.input.byte()) % Tag::ALL.len()];
                let n = usize::from(self.input.u16());
                let payload = Bytes::copy_from_slice(self.input.take(n));
                self.frame(&Frame::control(tag, payload));
            }
            3 => self.structured_control(),
            4 => self.message(),
            5 => self.signature(),
            6 => self.client_action(),
            7 => self.restart(),
            _ => {
                self.holding = !self.holding;
                if !self.holding {
                    self.flush();
                }
            }
        }
    }

    fn u64_frame(&mut self, tag: Tag) {
        let value = self.input.u64();
        self.control(tag, &U64Frame { value });
    }

    fn structured_control(&mut self) {
        match self.input.byte() % 14 {
            0 => {
                let t = self.input.byte();
                let entity_type = if t & 1 == 0 {
                    self.setup.peer_type().0
                } else {
                    t
                };
                let port = self.input.u16();
                self.control(
                    Tag::Hello,
                    &Hello {
                        entity_type,
                        peer_addr: addr(port, 0),
                    },
                );
            }
            1 => {
                let n = usize::from(self.input.byte());
                let auth_payload = Bytes::copy_from_slice(self.input.take(n));
                self.control(Tag::AuthReplyMore, &AuthMore { auth_payload });
            }
            2 => {
                let method = u32::from(self.input.byte());
                self.control(
                    Tag::AuthBadMethod,
                    &AuthBadMethod {
                        method,
                        result: -13,
                        allowed_methods: vec![KEYED_METHOD],
                        allowed_modes: vec![CON_MODE_CRC, CON_MODE_SECURE],
                    },
                );
            }
            3 => {
                let global_id = self.input.u64();
                let con_mode = u32::from(self.input.byte() % 3);
                let n = usize::from(self.input.byte());
                let auth_payload = Bytes::copy_from_slice(self.input.take(n));
                self.control(
                    Tag::AuthDone,
                    &AuthDone {
                        global_id,
                        con_mode,
                        auth_payload,
                    },
                );
                if con_mode == CON_MODE_SECURE {
                    // Ceph's server encrypts from the frame after AUTH_DONE.
                    match SecureKeys::from_connection_secret(&FUZZ_SECRET, Role::Server) {
                        Ok(keys) => self.server.enable_secure(&keys.tx),
                        Err(e) => panic!("the fuzz secret gives no keys: {e}"),
                    }
                }
            }
            4 => self.server_ident(),
            5 => self.u64_frame(Tag::IdentMissingFeatures),
            6 => self.u64_frame(Tag::SessionReconnectOk),
            7 => self.u64_frame(Tag::SessionRetry),
            8 => self.u64_frame(Tag::SessionRetryGlobal),
            9 => {
                let full = self.input.byte() & 1 != 0;
                self.control(Tag::SessionReset, &SessionReset { full });
            }
            10 | 11 => {
                let stamp = UTime {
                    sec: self.input.byte().into(),
                    nsec: self.input.byte().into(),
                };
                let tag = if self.input.byte() & 1 == 0 {
                    Tag::Keepalive2
                } else {
                    Tag::Keepalive2Ack
                };
                self.control(tag, &Keepalive { stamp });
            }
            12 => self.u64_frame(Tag::Ack),
            _ => self.frame(&Frame::control(Tag::Wait, Bytes::new())),
        }
    }

    fn server_ident(&mut self) {
        let b = self.input.byte();
        let supported_features = if b & 1 == 0 { ALL } else { self.input.u64() };
        let ident = ServerIdent {
            addrs: EntityAddrVec::single(addr(6800, 9)),
            gid: self.input.u64() as i64,
            global_seq: self.input.u64(),
            supported_features,
            required_features: 0,
            flags: u64::from((b >> 1) & 1),
            cookie: if b & 4 == 0 { 77 } else { self.input.u64() },
        };
        self.control(Tag::ServerIdent, &ident);
    }

    fn message(&mut self) {
        let sel = self.input.byte();
        let seq = if sel & 1 == 0 {
            self.next_seq
        } else {
            self.input.u64()
        };
        self.next_seq = self.next_seq.saturating_add(1);
        let ack_seq = if sel & 2 == 0 { 0 } else { self.input.u64() };
        let header = MsgHeader2 {
            seq,
            tid: u64::from(self.input.byte()),
            msg_type: u16::from(self.input.byte()),
            version: 1,
            compat_version: 1,
            ack_seq,
            ..MsgHeader2::default()
        };
        let mut head = header.to_bytes(0);
        if sel & 4 != 0 {
            // A header cut short (or left whole).
            let keep = usize::from(self.input.byte()) % (head.len() + 1);
            head.truncate(keep);
        }
        let part = |input: &mut Input<'_>| {
            let n = usize::from(input.byte());
            Bytes::copy_from_slice(input.take(n))
        };
        let front = part(&mut self.input);
        let middle = if sel & 8 == 0 {
            Bytes::new()
        } else {
            part(&mut self.input)
        };
        let data = part(&mut self.input);
        self.frame(&Frame::message(head, front, middle, data));
    }

    /// AUTH_SIGNATURE over what the client sent, right or with a byte
    /// altered; what was held goes first, so that the signature covers it.
    fn signature(&mut self) {
        self.flush();
        let wrong = self.input.byte();
        let mut sig = match self.client.expected_peer_signature() {
            Ok(sig) => sig,
            Err(e) => panic!("no signature with the fuzz session key: {e}"),
        };
        if wrong & 1 != 0 {
            let at = usize::from(wrong >> 1) % sig.len();
            sig[at] ^= 1;
        }
        self.frame(&Frame::control(Tag::AuthSignature, Bytes::from(sig)));
    }

    fn client_action(&mut self) {
        let b = self.input.byte();
        if b & 1 == 0 {
            let n = usize::from(self.input.byte());
            let front = Bytes::copy_from_slice(self.input.take(n));
            self.sent_payload += front.len() + 256;
            let msg = Message::new(u16::from(b), 1, 1, front).with_tid(u64::from(b));
            if self.client.send(msg).is_err() {
                self.restart();
            }
        } else {
            let now = UTime {
                sec: u32::from(b),
                nsec: 0,
            };
            if self.client.keepalive(now).is_err() {
                self.restart();
            }
        }
        drop(self.client.take_output());
    }
}

/// Drives a client session through the script in `data` (see the module
/// documentation). Panics only on a bug of the session.
pub fn session(data: &[u8]) {
    run(data);
}

/// Runs the script; returns how many times the session became ready.
fn run(data: &[u8]) -> usize {
    let mut input = Input { data };
    let setup = Setup::from_byte(input.byte());
    let mut client = setup.session();
    client.start();
    drop(client.take_output());
    let mut driver = Driver {
        input,
        setup,
        client,
        server: FrameEncoder::new(),
        held: BytesMut::new(),
        holding: false,
        connections: 0,
        next_seq: 1,
        sent_payload: 0,
        readies: 0,
        done: false,
    };
    while !driver.done && !driver.input.is_empty() {
        driver.step();
    }
    if !driver.done {
        driver.flush();
    }
    driver.readies
}

/// Builds `msgr2_session` scripts (for seeds and tests): each method
/// appends one operation of the script format.
#[derive(Debug, Clone)]
pub struct SessionScript {
    bytes: Vec<u8>,
}

impl SessionScript {
    /// A script for a client with the keyed method (else "none"),
    /// preferring secure mode (else crc only), talking to an OSD (else a
    /// monitor).
    #[must_use]
    pub fn new(keyed: bool, secure: bool, osd: bool) -> SessionScript {
        let b = u8::from(keyed) | u8::from(secure) << 1 | u8::from(osd) << 2;
        SessionScript { bytes: vec![b] }
    }

    fn op(mut self, op: &[u8]) -> Self {
        self.bytes.extend_from_slice(op);
        self
    }

    /// Raw bytes from the server, as they are.
    #[must_use]
    pub fn raw(mut self, data: &[u8]) -> Self {
        for chunk in data.chunks(255) {
            self.bytes.extend_from_slice(&[0, chunk.len() as u8]);
            self.bytes.extend_from_slice(chunk);
        }
        self
    }

    /// The server's banner (revision 1 supported, nothing required).
    #[must_use]
    pub fn banner(self) -> Self {
        self.op(&[1, 1])
    }

    /// HELLO from the expected kind of peer.
    #[must_use]
    pub fn hello(self) -> Self {
        self.op(&[3, 0, 0, 0x2c, 0x0c])
    }

    /// AUTH_REPLY_MORE with `payload` (at most 255 bytes).
    #[must_use]
    pub fn auth_more(self, payload: &[u8]) -> Self {
        self.op(&[3, 1, payload.len() as u8]).op(payload)
    }

    /// AUTH_DONE with global id 4100 and connection mode `con_mode`.
    #[must_use]
    pub fn auth_done(self, con_mode: u8) -> Self {
        self.op(&[3, 3])
            .op(&4100u64.to_le_bytes())
            .op(&[con_mode, 3])
            .op(b"tkt")
    }

    /// AUTH_SIGNATURE, right or forged.
    #[must_use]
    pub fn signature(self, right: bool) -> Self {
        self.op(&[5, u8::from(!right)])
    }

    /// SERVER_IDENT with every feature and a session cookie (lossless)
    /// or none (lossy).
    #[must_use]
    pub fn server_ident(self, lossy: bool) -> Self {
        self.op(&[3, 4, u8::from(lossy) << 1])
            .op(&5u64.to_le_bytes())
            .op(&1u64.to_le_bytes())
    }

    /// The next message in order, with a front of `front` (at most 255).
    #[must_use]
    pub fn message(self, front: &[u8]) -> Self {
        self.op(&[4, 0, 9, 42, front.len() as u8])
            .op(front)
            .op(&[0])
    }

    /// A control frame holding `value`: ACK (`kind` 12), SESSION_RETRY
    /// (7), SESSION_RETRY_GLOBAL (8), SESSION_RECONNECT_OK (6).
    #[must_use]
    pub fn u64_frame(self, kind: u8, value: u64) -> Self {
        self.op(&[3, kind]).op(&value.to_le_bytes())
    }

    /// KEEPALIVE2 from the server.
    #[must_use]
    pub fn keepalive(self) -> Self {
        self.op(&[3, 10, 5, 6, 0])
    }

    /// SESSION_RESET.
    #[must_use]
    pub fn session_reset(self) -> Self {
        self.op(&[3, 9, 1])
    }

    /// The client sends a message with a `len`-byte front.
    #[must_use]
    pub fn client_send(self, len: u8) -> Self {
        let mut op = vec![6, 2, len];
        op.resize(3 + usize::from(len), 0x33);
        self.op(&op)
    }

    /// The connection breaks; the client starts a new one.
    #[must_use]
    pub fn restart(self) -> Self {
        self.op(&[7])
    }

    /// Starts or ends holding frames to hand them over in one piece.
    #[must_use]
    pub fn hold(self) -> Self {
        self.op(&[8])
    }

    /// The script.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake(keyed: bool, secure: bool, mode: u8) -> SessionScript {
        SessionScript::new(keyed, secure, false)
            .banner()
            .hello()
            .auth_done(mode)
            .signature(true)
            .server_ident(false)
    }

    #[test]
    fn scripts_reach_ready() {
        for (keyed, secure, mode) in [(false, false, 1), (true, false, 1), (true, true, 2)] {
            let s = handshake(keyed, secure, mode)
                .message(b"hi")
                .keepalive()
                .into_bytes();
            assert_eq!(run(&s), 1, "keyed {keyed} secure {secure}");
        }
        let held = SessionScript::new(true, true, true)
            .hold()
            .banner()
            .hello()
            .auth_more(b"more")
            .auth_done(2)
            .signature(true)
            .server_ident(false)
            .hold()
            .into_bytes();
        assert_eq!(run(&held), 1);
        // A lossless session, broken and resumed after a SESSION_RETRY.
        let mut resumed = handshake(true, false, 1).client_send(3).restart();
        resumed = resumed.banner().hello().auth_done(1).signature(true);
        let resumed = resumed.u64_frame(7, 3).u64_frame(6, 0).into_bytes();
        assert_eq!(run(&resumed), 2);
    }

    #[test]
    fn forged_signatures_are_refused() {
        let s = SessionScript::new(true, false, false)
            .banner()
            .hello()
            .auth_done(1)
            .signature(false)
            .server_ident(false)
            .into_bytes();
        assert_eq!(run(&s), 0);
    }
}
