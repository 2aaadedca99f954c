//! The client side of a msgr2.1 connection, sans-IO.
//!
//! Drive it with [`ClientSession::start`] once TCP is up, feed it what the
//! socket reads with [`ClientSession::receive`], and write out what
//! [`ClientSession::take_output`] returns. Messages queued with
//! [`ClientSession::send`] before the session is ready go out once it is.
//! After a broken connection, [`ClientSession::restart`] begins a new
//! connection that resumes the session (SESSION_RECONNECT, when the server
//! keeps sessions) or opens a new one, and either way sends again what the
//! peer had not acknowledged.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use ceph_encoding::{Decode, Encode, EntityAddr, EntityAddrVec, EntityType, UTime};
use hmac::{KeyInit, Mac};
use tracing::{debug, trace};

use super::auth::{AuthKeys, AuthProvider};
use super::control::{
    AuthBadMethod, AuthDone, AuthMore, AuthRequest, ClientIdent, Hello, Keepalive, ServerIdent,
    SessionReconnect, SessionReset, U64Frame, CON_MODE_CRC, CON_MODE_SECURE, MSG_CONNECT_LOSSY,
};
use super::header::MsgHeader2;
use super::message::Message;
use crate::banner::Banner;
use crate::decoder::FrameDecoder;
use crate::encoder::FrameEncoder;
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::outbuf::OutBuf;
use crate::secure_mode::{Role, SecureKeys};
use crate::tag::Tag;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Features used to encode control payloads: msgr2 always uses the
/// versioned address encoding.
const CONTROL_FEATURES: u64 = ceph_encoding::features::CEPH_FEATURES_ALL;

/// What a client connection needs to know.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The kind of peer (monitor, OSD, manager); checked against its HELLO.
    pub peer_type: EntityType,
    /// The peer's msgr2 address (with its nonce, when known).
    pub peer_addr: EntityAddr,
    /// Our nonce (random per client instance).
    pub nonce: u32,
    /// Connection modes we accept, in order of preference.
    pub modes: Vec<u32>,
    /// Feature bits we support.
    pub supported_features: u64,
    /// Feature bits we require of the peer.
    pub required_features: u64,
    /// Our global id as known before this connection (0 if none yet).
    pub global_id: u64,
}

/// What the session learned once ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The peer's addresses.
    pub peer_addrs: EntityAddrVec,
    /// The peer's global id (entity number).
    pub peer_gid: i64,
    /// The peer's features.
    pub peer_features: u64,
    /// Our global id.
    pub global_id: u64,
    /// Our address as the peer sees it.
    pub my_addr: EntityAddr,
    /// The connection mode in use.
    pub con_mode: u32,
    /// Whether an existing session was resumed.
    pub resumed: bool,
}

/// Something the session reports to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The handshake is complete; messages flow.
    Ready(SessionInfo),
    /// A message arrived.
    Message(Message),
    /// The peer answered a keepalive (with our time stamp).
    KeepaliveAck(UTime),
    /// The peer lost our session: messages not acknowledged are gone and
    /// were not sent again; the owner decides what to resend.
    SessionReset(Vec<Message>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Banner,
    Hello,
    Auth,
    AuthSignature,
    Ident,
    Reconnect,
    Ready,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::Banner => "waiting for the banner",
            State::Hello => "waiting for HELLO",
            State::Auth => "authenticating",
            State::AuthSignature => "waiting for AUTH_SIGNATURE",
            State::Ident => "waiting for SERVER_IDENT",
            State::Reconnect => "reconnecting the session",
            State::Ready => "ready",
        }
    }
}

/// A client connection and the session it carries.
pub struct ClientSession {
    config: ClientConfig,
    auth: Box<dyn AuthProvider>,
    state: State,
    inbuf: BytesMut,
    out: OutBuf,
    encoder: FrameEncoder,
    decoder: FrameDecoder,
    rx_signed: BytesMut,
    tx_signed: BytesMut,
    keys: AuthKeys,
    con_mode: u32,
    my_addr: EntityAddr,
    client_cookie: u64,
    server_cookie: u64,
    global_seq: u64,
    connect_seq: u64,
    out_seq: u64,
    in_seq: u64,
    in_seq_acked: u64,
    /// Whether the server keeps nothing of the session (its SERVER_IDENT
    /// says `CEPH_MSG_CONNECT_LOSSY`): it has no queue of sent messages
    /// for an acknowledgement to trim, so no ACK frame is owed to it.
    lossy: bool,
    /// Sent and not yet acknowledged, in order (kept for replay).
    unacked: VecDeque<Message>,
    /// Waiting for the session to be ready.
    queued: VecDeque<Message>,
}

impl std::fmt::Debug for ClientSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSession")
            .field("peer", &self.config.peer_addr)
            .field("state", &self.state)
            .field("out_seq", &self.out_seq)
            .field("in_seq", &self.in_seq)
            .finish()
    }
}

impl ClientSession {
    /// A session to the peer of `config`, authenticating with `auth`.
    pub fn new(
        config: ClientConfig,
        auth: Box<dyn AuthProvider>,
        client_cookie: u64,
    ) -> ClientSession {
        ClientSession {
            config,
            auth,
            state: State::Idle,
            inbuf: BytesMut::new(),
            out: OutBuf::default(),
            encoder: FrameEncoder::new(),
            decoder: FrameDecoder::new(),
            rx_signed: BytesMut::new(),
            tx_signed: BytesMut::new(),
            keys: AuthKeys::default(),
            con_mode: CON_MODE_CRC,
            my_addr: EntityAddr::default(),
            client_cookie: client_cookie.max(1),
            server_cookie: 0,
            global_seq: 1,
            connect_seq: 0,
            out_seq: 0,
            in_seq: 0,
            in_seq_acked: 0,
            lossy: false,
            unacked: VecDeque::new(),
            queued: VecDeque::new(),
        }
    }

    /// Whether messages flow.
    pub fn is_ready(&self) -> bool {
        self.state == State::Ready
    }

    /// A short description of the state, for error messages.
    pub fn state_name(&self) -> &'static str {
        self.state.name()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> &EntityAddr {
        &self.config.peer_addr
    }

    /// Begins a connection: queues our banner. Call once TCP is up.
    pub fn start(&mut self) {
        let mut b = BytesMut::new();
        Banner::ours().encode(&mut b);
        self.tx_signed.extend_from_slice(&b);
        self.out.tail_mut().extend_from_slice(&b);
        self.state = State::Banner;
    }

    /// Starts over on a new TCP connection with a new authentication,
    /// keeping the session (cookies, sequence numbers, unacknowledged
    /// messages) so that it can be resumed.
    pub fn restart(&mut self, auth: Box<dyn AuthProvider>) {
        self.auth = auth;
        self.inbuf.clear();
        self.out.clear();
        self.encoder = FrameEncoder::new();
        self.decoder = FrameDecoder::new();
        self.rx_signed.clear();
        self.tx_signed.clear();
        // Values a peer set (SESSION_RETRY*) are below u64::MAX.
        self.global_seq = self.global_seq.saturating_add(1);
        if self.server_cookie != 0 {
            self.connect_seq = self.connect_seq.saturating_add(1);
        }
        self.start();
    }

    /// Bytes to write to the socket.
    ///
    /// The acknowledgement of what was received goes out here, as an ACK
    /// frame, only if the session is lossless and no message sent since
    /// carried it in its header: a driver that lets replies turn into new
    /// requests before it writes sends no ACK frames while the traffic
    /// flows both ways. A lossy session (what monitors and OSDs grant a
    /// client) sends none, as Ceph's own messenger does: there, the
    /// acknowledgement rides in message headers only.
    pub fn take_output(&mut self) -> Bytes {
        self.queue_owed_ack();
        self.out.take()
    }

    /// Like [`ClientSession::take_output`], as parts to write in order
    /// (large message segments are not copied into one buffer).
    pub fn take_output_parts(&mut self) -> VecDeque<Bytes> {
        self.queue_owed_ack();
        self.out.take_parts()
    }

    /// Whether there are bytes to write (or an acknowledgement owed).
    pub fn has_output(&self) -> bool {
        !self.out.is_empty() || self.owes_ack()
    }

    fn queue_owed_ack(&mut self) {
        if self.owes_ack() {
            self.in_seq_acked = self.in_seq;
            let ack = U64Frame { value: self.in_seq };
            if let Err(e) = self.control(Tag::Ack, &ack) {
                // The next message's header carries the ack instead.
                debug!("cannot encode ACK: {e}");
            }
        }
    }

    /// Whether messages received are not yet acknowledged to a peer that
    /// keeps what it sent until we do.
    fn owes_ack(&self) -> bool {
        !self.lossy && self.in_seq > self.in_seq_acked && self.state == State::Ready
    }

    /// Sends `msg` now if the session is ready, else once it is.
    pub fn send(&mut self, msg: Message) -> Result<()> {
        if self.state == State::Ready {
            self.transmit(msg)
        } else {
            self.queued.push_back(msg);
            Ok(())
        }
    }

    /// Queues a KEEPALIVE2 with time stamp `now`.
    pub fn keepalive(&mut self, now: UTime) -> Result<()> {
        if self.state == State::Ready {
            self.control(Tag::Keepalive2, &Keepalive { stamp: now })?;
        }
        Ok(())
    }

    fn transmit(&mut self, mut msg: Message) -> Result<()> {
        self.out_seq += 1;
        msg.seq = self.out_seq;
        let header = msg.header(self.out_seq, self.in_seq);
        self.in_seq_acked = self.in_seq;
        let frame = Frame::message(
            header.to_bytes(0),
            msg.front.clone(),
            msg.middle.clone(),
            msg.data.clone(),
        );
        self.encoder.encode_frame_to(&frame, &mut self.out)?;
        trace!(
            seq = msg.seq,
            msg_type = msg.msg_type,
            tid = msg.tid,
            "sent message"
        );
        self.unacked.push_back(msg);
        Ok(())
    }

    fn control<T: Encode>(&mut self, tag: Tag, body: &T) -> Result<()> {
        let frame = Frame::control(tag, body.to_bytes(CONTROL_FEATURES));
        let out = self.out.tail_mut();
        let start = out.len();
        self.encoder.encode_frame(&frame, out)?;
        if matches!(self.state, State::Banner | State::Hello | State::Auth) {
            self.tx_signed.extend_from_slice(&out[start..]);
        }
        Ok(())
    }

    /// Feeds bytes read from the socket; returns what happened.
    pub fn receive(&mut self, data: &[u8]) -> Result<Vec<Event>> {
        self.inbuf.extend_from_slice(data);
        self.process_received()
    }

    /// The session's receive buffer, for a driver to read the socket into
    /// directly (then [`ClientSession::process_received`]): with room for
    /// `at_least` more bytes. The room for a large frame is made by the
    /// decoder as its bytes come (in one allocation once a read of 1/64th
    /// of it has come), never from the length the peer announces alone.
    pub fn receive_buffer(&mut self, at_least: usize) -> &mut BytesMut {
        self.inbuf.reserve(at_least);
        &mut self.inbuf
    }

    /// Handles what was read into [`ClientSession::receive_buffer`];
    /// returns what happened.
    pub fn process_received(&mut self) -> Result<Vec<Event>> {
        let mut events = Vec::new();
        if self.state == State::Banner {
            match Banner::decode(&mut self.inbuf)? {
                None => return Ok(events),
                Some((peer, raw)) => {
                    Banner::ours().check_peer(&peer)?;
                    self.rx_signed.extend_from_slice(&raw);
                    self.state = State::Hello;
                    let hello = Hello {
                        entity_type: EntityType::CLIENT.0,
                        peer_addr: self.config.peer_addr,
                    };
                    self.control(Tag::Hello, &hello)?;
                }
            }
        }
        while self.state != State::Idle {
            let signing = matches!(self.state, State::Hello | State::Auth);
            let Some((frame, raw)) = self.decoder.decode_with_raw(&mut self.inbuf)? else {
                break;
            };
            if signing {
                self.rx_signed.extend_from_slice(&raw);
            }
            self.handle_frame(frame, &mut events)?;
        }
        Ok(events)
    }

    fn decode<T: Decode>(frame: &Frame, what: &'static str) -> Result<T> {
        T::decode_exact(frame.payload()).map_err(|e| Error::Decode { what, source: e })
    }

    fn unexpected(&self, tag: Tag) -> Error {
        Error::UnexpectedFrame {
            tag,
            state: self.state.name(),
        }
    }

    fn handle_frame(&mut self, frame: Frame, events: &mut Vec<Event>) -> Result<()> {
        let tag = frame.tag();
        trace!(?tag, state = self.state.name(), "frame");
        match (self.state, tag) {
            (State::Hello, Tag::Hello) => {
                let hello: Hello = Self::decode(&frame, "HELLO")?;
                if hello.entity_type != self.config.peer_type.0 {
                    return Err(Error::WrongPeer(format!(
                        "expected entity type {}, the peer is {}",
                        self.config.peer_type, hello.entity_type
                    )));
                }
                self.my_addr = hello.peer_addr;
                self.state = State::Auth;
                let req = AuthRequest {
                    method: self.auth.method(),
                    preferred_modes: self.config.modes.clone(),
                    auth_payload: self.auth.initial_payload()?,
                };
                self.control(Tag::AuthRequest, &req)?;
            }
            (State::Auth, Tag::AuthReplyMore) => {
                let more: AuthMore = Self::decode(&frame, "AUTH_REPLY_MORE")?;
                let payload = self.auth.handle_more(&more.auth_payload)?;
                self.control(
                    Tag::AuthRequestMore,
                    &AuthMore {
                        auth_payload: payload,
                    },
                )?;
            }
            (State::Auth, Tag::AuthBadMethod) => {
                let bad: AuthBadMethod = Self::decode(&frame, "AUTH_BAD_METHOD")?;
                return Err(Error::AuthRejected {
                    method: bad.method,
                    result: bad.result,
                    allowed_methods: bad.allowed_methods,
                    allowed_modes: bad.allowed_modes,
                });
            }
            (State::Auth, Tag::AuthDone) => {
                let done: AuthDone = Self::decode(&frame, "AUTH_DONE")?;
                if !self.config.modes.contains(&done.con_mode) {
                    return Err(Error::UnwantedMode(done.con_mode));
                }
                self.keys =
                    self.auth
                        .handle_done(done.global_id, done.con_mode, &done.auth_payload)?;
                self.config.global_id = done.global_id;
                self.con_mode = done.con_mode;
                if done.con_mode == CON_MODE_SECURE {
                    let keys = SecureKeys::from_connection_secret(
                        &self.keys.connection_secret,
                        Role::Client,
                    )?;
                    self.encoder.enable_secure(&keys.tx);
                    self.decoder.enable_secure(&keys.rx)?;
                }
                self.state = State::AuthSignature;
                let sig = self.hmac(&self.rx_signed)?;
                self.control(Tag::AuthSignature, &Raw(sig))?;
            }
            (State::AuthSignature, Tag::AuthSignature) => {
                if !self.signature_matches(&self.tx_signed, frame.payload())? {
                    return Err(Error::BadAuthSignature);
                }
                self.rx_signed.clear();
                self.tx_signed.clear();
                if self.server_cookie != 0 {
                    self.state = State::Reconnect;
                    let rec = SessionReconnect {
                        addrs: EntityAddrVec::single(self.my_ident_addr()),
                        client_cookie: self.client_cookie,
                        server_cookie: self.server_cookie,
                        global_seq: self.global_seq,
                        connect_seq: self.connect_seq,
                        msg_seq: self.in_seq,
                    };
                    self.control(Tag::SessionReconnect, &rec)?;
                } else {
                    self.send_client_ident()?;
                }
            }
            (State::Ident, Tag::ServerIdent) => {
                let id: ServerIdent = Self::decode(&frame, "SERVER_IDENT")?;
                let missing = self.config.required_features & !id.supported_features;
                if missing != 0 {
                    return Err(Error::MissingFeatures(missing));
                }
                self.lossy = id.flags & MSG_CONNECT_LOSSY != 0;
                self.server_cookie = if self.lossy { 0 } else { id.cookie };
                self.state = State::Ready;
                events.push(Event::Ready(SessionInfo {
                    peer_addrs: id.addrs,
                    peer_gid: id.gid,
                    peer_features: id.supported_features,
                    global_id: self.config.global_id,
                    my_addr: self.my_addr,
                    con_mode: self.con_mode,
                    resumed: false,
                }));
                // A new session: whatever the old one had not delivered is
                // sent again with new sequence numbers.
                let replay: Vec<Message> = self.unacked.drain(..).collect();
                self.out_seq = 0;
                self.in_seq = 0;
                self.in_seq_acked = 0;
                for m in replay
                    .into_iter()
                    .chain(self.queued.drain(..).collect::<Vec<_>>())
                {
                    self.transmit(m)?;
                }
            }
            (State::Ident, Tag::IdentMissingFeatures) => {
                let f: U64Frame = Self::decode(&frame, "IDENT_MISSING_FEATURES")?;
                return Err(Error::MissingFeatures(f.value));
            }
            (State::Reconnect, Tag::SessionReconnectOk) => {
                let ok: U64Frame = Self::decode(&frame, "SESSION_RECONNECT_OK")?;
                self.discard_acked(ok.value);
                self.state = State::Ready;
                debug!(
                    acked = ok.value,
                    resend = self.unacked.len(),
                    "session resumed"
                );
                events.push(Event::Ready(SessionInfo {
                    peer_addrs: EntityAddrVec::single(self.config.peer_addr),
                    peer_gid: -1,
                    peer_features: self.config.supported_features,
                    global_id: self.config.global_id,
                    my_addr: self.my_addr,
                    con_mode: self.con_mode,
                    resumed: true,
                }));
                let resend: Vec<Message> = self.unacked.drain(..).collect();
                // Resent messages keep their sequence numbers.
                self.out_seq = resend.first().map_or(self.out_seq, |m| m.seq - 1);
                for m in resend
                    .into_iter()
                    .chain(self.queued.drain(..).collect::<Vec<_>>())
                {
                    self.transmit(m)?;
                }
            }
            (State::Reconnect, Tag::SessionRetry) => {
                let r: U64Frame = Self::decode(&frame, "SESSION_RETRY")?;
                self.connect_seq = next_seq("SESSION_RETRY connect_seq", r.value)?;
                self.resend_reconnect()?;
            }
            (State::Reconnect, Tag::SessionRetryGlobal) => {
                let r: U64Frame = Self::decode(&frame, "SESSION_RETRY_GLOBAL")?;
                self.global_seq = next_seq(
                    "SESSION_RETRY_GLOBAL global_seq",
                    self.global_seq.max(r.value),
                )?;
                self.resend_reconnect()?;
            }
            (State::Reconnect, Tag::SessionReset) => {
                let _r: SessionReset = Self::decode(&frame, "SESSION_RESET")?;
                let lost: Vec<Message> = self.unacked.drain(..).collect();
                self.server_cookie = 0;
                self.connect_seq = 0;
                self.out_seq = 0;
                self.in_seq = 0;
                self.in_seq_acked = 0;
                events.push(Event::SessionReset(lost));
                self.send_client_ident()?;
            }
            (State::Ident | State::Reconnect, Tag::Wait) => {
                return Err(Error::Closed(
                    "the peer asked us to wait (connection race)".into(),
                ));
            }
            (State::Ready, Tag::Message) => {
                let header =
                    MsgHeader2::decode_exact(&frame.segment(0)).map_err(|e| Error::Decode {
                        what: "message header",
                        source: e,
                    })?;
                if header.seq <= self.in_seq {
                    debug!(
                        seq = header.seq,
                        in_seq = self.in_seq,
                        "dropping an old message"
                    );
                    return Ok(());
                }
                if header.seq != self.in_seq + 1 {
                    return Err(Error::BadSequence {
                        got: header.seq,
                        expected: self.in_seq + 1,
                    });
                }
                self.in_seq = header.seq;
                self.discard_acked(header.ack_seq);
                let msg = Message::from_parts(
                    &header,
                    frame.segment(1),
                    frame.segment(2),
                    frame.segment(3),
                );
                trace!(
                    seq = msg.seq,
                    msg_type = msg.msg_type,
                    tid = msg.tid,
                    "received message"
                );
                events.push(Event::Message(msg));
            }
            (State::Ready, Tag::Ack) => {
                let a: U64Frame = Self::decode(&frame, "ACK")?;
                self.discard_acked(a.value);
            }
            (State::Ready, Tag::Keepalive2) => {
                let k: Keepalive = Self::decode(&frame, "KEEPALIVE2")?;
                self.control(Tag::Keepalive2Ack, &k)?;
            }
            (State::Ready, Tag::Keepalive2Ack) => {
                let k: Keepalive = Self::decode(&frame, "KEEPALIVE2_ACK")?;
                events.push(Event::KeepaliveAck(k.stamp));
            }
            (_, tag) => return Err(self.unexpected(tag)),
        }
        Ok(())
    }

    fn my_ident_addr(&self) -> EntityAddr {
        // Like the kernel: our IP as the peer saw it, no port, our nonce,
        // type "any" (a client listens nowhere).
        let mut a = self.my_addr;
        a.addr_type = ceph_encoding::AddrType::ANY;
        a.nonce = self.config.nonce;
        if let Some(mut sa) = a.socket_addr() {
            sa.set_port(0);
            a.sockaddr = sa.into();
        }
        a
    }

    fn send_client_ident(&mut self) -> Result<()> {
        self.state = State::Ident;
        let ident = ClientIdent {
            addrs: EntityAddrVec::single(self.my_ident_addr()),
            target_addr: self.config.peer_addr,
            gid: self.config.global_id as i64,
            global_seq: self.global_seq,
            supported_features: self.config.supported_features,
            required_features: self.config.required_features,
            flags: 0,
            cookie: self.client_cookie,
        };
        self.control(Tag::ClientIdent, &ident)
    }

    fn resend_reconnect(&mut self) -> Result<()> {
        let rec = SessionReconnect {
            addrs: EntityAddrVec::single(self.my_ident_addr()),
            client_cookie: self.client_cookie,
            server_cookie: self.server_cookie,
            global_seq: self.global_seq,
            connect_seq: self.connect_seq,
            msg_seq: self.in_seq,
        };
        self.control(Tag::SessionReconnect, &rec)
    }

    fn discard_acked(&mut self, seq: u64) {
        while self.unacked.front().is_some_and(|m| m.seq <= seq) {
            self.unacked.pop_front();
        }
    }

    fn hmac(&self, data: &[u8]) -> Result<Vec<u8>> {
        if self.keys.session_key.is_empty() {
            return Ok(vec![0u8; 32]);
        }
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.keys.session_key)
            .map_err(|_| Error::Auth("unusable session key".into()))?;
        mac.update(data);
        Ok(mac.finalize().into_bytes().to_vec())
    }

    /// Whether `got` is the HMAC-SHA256 of `data` under the session key
    /// (32 zero bytes without one, as Ceph sends then), compared in
    /// constant time (`Mac::verify_slice`): how long the check takes
    /// tells nothing about how much of a forged signature was right.
    fn signature_matches(&self, data: &[u8], got: &[u8]) -> Result<bool> {
        if self.keys.session_key.is_empty() {
            return Ok(got.len() == 32 && got.iter().fold(0u8, |acc, b| acc | b) == 0);
        }
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.keys.session_key)
            .map_err(|_| Error::Auth("unusable session key".into()))?;
        mac.update(data);
        Ok(mac.verify_slice(got).is_ok())
    }

    /// The AUTH_SIGNATURE the peer must send at this point (the HMAC of
    /// what we sent before it), for fuzz harnesses that play the server.
    #[cfg(any(fuzzing, test, feature = "fuzzing"))]
    pub fn expected_peer_signature(&self) -> Result<Vec<u8>> {
        self.hmac(&self.tx_signed)
    }

    /// The number of messages sent and not yet acknowledged.
    pub fn unacked_len(&self) -> usize {
        self.unacked.len()
    }
}

/// The sequence number after `value`, which the peer sent in `what`; none
/// after `u64::MAX` (Ceph's `+ 1` would wrap to 0).
fn next_seq(what: &str, value: u64) -> Result<u64> {
    value
        .checked_add(1)
        .ok_or_else(|| Error::Protocol(format!("{what} {value} leaves no next value")))
}

/// Raw bytes as a control payload (AUTH_SIGNATURE).
struct Raw(Vec<u8>);

impl Encode for Raw {
    fn encode(&self, buf: &mut BytesMut, _features: u64) {
        buf.extend_from_slice(&self.0);
    }
}
