//! The one error type of the frame layer, and the failure of an
//! authentication method it carries.

use std::sync::Arc;

/// Everything that can go wrong while encoding or decoding the banner and
/// frames of msgr2.1.
///
/// Every decoding error is fatal for the connection: the peer sent bytes that
/// are corrupt, forged or outside what this client accepts, and the stream
/// cannot be resynchronised. After a decoding error the
/// [`FrameDecoder`](crate::FrameDecoder) refuses further input
/// ([`Error::DecoderFailed`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer's banner does not start with `ceph v2\n`.
    #[error("bad banner prefix: the peer does not speak msgr2")]
    BadBannerPrefix,
    /// The peer's banner is the legacy msgr1 one (`ceph v027`).
    #[error("the peer speaks the msgr1 protocol, not msgr2")]
    Msgr1Peer,
    /// The banner payload is too short to hold the two feature words.
    #[error("banner payload of {len} bytes is shorter than the 16 it must hold")]
    BannerPayloadTooShort {
        /// The payload length the peer announced.
        len: u16,
    },
    /// The peer does not support a msgr2 feature that we require.
    #[error("the peer lacks required msgr2 features {missing:#x}")]
    PeerLacksRequiredFeatures {
        /// Our required features the peer does not support.
        missing: u64,
    },
    /// The peer requires a msgr2 feature that we do not support.
    #[error("the peer requires msgr2 features {unsupported:#x} that we do not support")]
    PeerRequiresUnsupportedFeatures {
        /// The peer's required features we do not support.
        unsupported: u64,
    },
    /// The crc32c of a preamble does not match its contents.
    #[error("bad preamble crc: computed {computed:#010x}, frame says {expected:#010x}")]
    BadPreambleCrc {
        /// The crc carried by the preamble.
        expected: u32,
        /// The crc computed over the received preamble.
        computed: u32,
    },
    /// A frame tag this implementation does not know.
    #[error("unknown frame tag {0}")]
    UnknownTag(u8),
    /// A preamble announced zero or more than four segments.
    #[error("bad segment count {0} (must be 1..=4)")]
    BadSegmentCount(u8),
    /// A frame of more than one segment whose last segment is empty
    /// (senders drop trailing empty segments).
    #[error("the last of {count} segments is empty")]
    EmptyLastSegment {
        /// The announced segment count.
        count: u8,
    },
    /// A segment descriptor beyond the announced segment count is not zero.
    #[error("unused segment descriptor {index} is not zero")]
    NonZeroUnusedDescriptor {
        /// The index of the offending descriptor.
        index: usize,
    },
    /// The preamble carries flags we did not negotiate (such as compression)
    /// or a non-zero reserved byte.
    #[error("unsupported preamble flags {flags:#04x} / reserved byte {reserved:#04x}")]
    UnsupportedFlags {
        /// The flags byte.
        flags: u8,
        /// The reserved byte.
        reserved: u8,
    },
    /// A segment is longer than the configured bound for its frame kind.
    #[error("segment {index} of a {tag:?} frame is {len} bytes, more than the {max} allowed")]
    SegmentTooLong {
        /// The frame tag.
        tag: crate::tag::Tag,
        /// The segment index (0..=3).
        index: usize,
        /// The announced length.
        len: u32,
        /// The configured bound.
        max: u32,
    },
    /// The crc32c of a segment does not match (crc mode).
    #[error("bad crc of segment {index}: computed {computed:#010x}, frame says {expected:#010x}")]
    BadSegmentCrc {
        /// The segment index.
        index: usize,
        /// The crc carried by the frame.
        expected: u32,
        /// The crc computed over the received segment.
        computed: u32,
    },
    /// A crc slot of the epilogue for a segment the frame does not have is
    /// not zero (crc mode).
    #[error("epilogue crc slot of absent segment {index} is not zero")]
    NonZeroUnusedCrc {
        /// The segment index of the slot.
        index: usize,
    },
    /// The late status of an epilogue is neither "complete" nor "aborted".
    #[error("bad epilogue late_status {0:#04x}")]
    BadLateStatus(u8),
    /// AES-GCM authentication of a received section failed (secure mode):
    /// the bytes were corrupted or forged, or the nonces are out of step.
    #[error("AES-GCM authentication failed for the frame {section}")]
    AuthenticationFailed {
        /// Which section: "preamble", "first segment" or "segments".
        section: &'static str,
    },
    /// AES-GCM refused to encrypt (a section beyond GCM's length limit).
    #[error("AES-GCM encryption failed")]
    EncryptionFailed,
    /// The transmit nonce counter came back to its first value (secure mode);
    /// the connection must be re-established with a new secret.
    #[error("out of AES-GCM nonces for this connection secret")]
    NonceExhausted,
    /// The connection secret from the authentication is too short for
    /// secure mode.
    #[error("connection secret of {len} bytes is shorter than the {need} secure mode needs")]
    ConnectionSecretTooShort {
        /// The length given.
        len: usize,
        /// The minimum length.
        need: usize,
    },
    /// A frame must have between one and four segments.
    #[error("a frame must have 1..=4 segments, not {0}")]
    InvalidSegmentCount(usize),
    /// A segment to send is longer than the 32-bit length field allows.
    #[error("segment {index} of {len} bytes does not fit a frame")]
    SegmentTooLarge {
        /// The segment index.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// The decoder was switched to secure mode in the middle of a frame.
    #[error("cannot switch the decoder to secure mode in the middle of a frame")]
    ModeSwitchMidFrame,
    /// The stream ended in the middle of the banner or of a frame.
    #[error("the stream ended inside a frame: {buffered} bytes buffered, {needed} needed")]
    Truncated {
        /// Bytes buffered when the stream ended.
        buffered: usize,
        /// Bytes the next step needed.
        needed: usize,
    },
    /// The decoder already failed; the connection must be dropped.
    #[error("the frame decoder already failed; the connection must be closed")]
    DecoderFailed,
    /// A frame's or message's payload does not decode.
    #[error("cannot decode {what}: {source}")]
    Decode {
        /// The frame or message.
        what: &'static str,
        /// The decoder's error.
        source: ceph_encoding::DecodeError,
    },
    /// A frame that the protocol does not allow in the connection's state.
    #[error("protocol error: {tag:?} frame while {state}")]
    UnexpectedFrame {
        /// The frame's tag.
        tag: crate::tag::Tag,
        /// The connection's state.
        state: &'static str,
    },
    /// The peer refused our authentication (AUTH_BAD_METHOD).
    #[error("authentication failed: the server refused method {method} with {}", ceph_common::Errno(*.result))]
    AuthRejected {
        /// The method we tried.
        method: u32,
        /// The negative errno the server gave.
        result: i32,
        /// The methods it allows.
        allowed_methods: Vec<u32>,
        /// The connection modes it allows.
        allowed_modes: Vec<u32>,
    },
    /// The authentication method failed on our side (bad reply, no ticket):
    /// its own error, kept typed.
    #[error("authentication failed: {0}")]
    Auth(AuthFailure),
    /// The server chose a connection mode we did not offer.
    #[error("the server chose connection mode {0}, which we did not offer")]
    UnwantedMode(u32),
    /// A frame whose values break the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The peer's AUTH_SIGNATURE does not match what we sent.
    #[error("integrity error: bad auth signature from the peer")]
    BadAuthSignature,
    /// The peer lacks features we require, or requires features we lack.
    #[error("feature mismatch: missing {0:#x}")]
    MissingFeatures(u64),
    /// The peer is not the entity we meant to reach.
    #[error("wrong peer: {0}")]
    WrongPeer(String),
    /// A message arrived out of sequence.
    #[error("bad message sequence: got {got}, expected {expected}")]
    BadSequence {
        /// The sequence number received.
        got: u64,
        /// The one expected.
        expected: u64,
    },
    /// The peer reset the session: messages in flight are lost.
    #[error("the peer reset the session")]
    SessionReset,
    /// A socket error.
    #[error("{context}: {message}")]
    Io {
        /// What was being done.
        context: String,
        /// The kind of error.
        kind: std::io::ErrorKind,
        /// The system's message.
        message: String,
    },
    /// The connection closed.
    #[error("connection closed: {0}")]
    Closed(String),
    /// A deadline passed.
    #[error("timed out: {0}")]
    Timeout(String),
}

impl Error {
    /// A socket error while doing `context`.
    pub fn io(context: impl Into<String>, e: &std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// The frame layer's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Why an authentication method failed on our side: the method's own
/// error, kept as it is (find it with [`AuthFailure::downcast_ref`], for
/// instance a `ceph_cephx::CephxError`), or a message. Its text is the
/// method error's text.
#[derive(Debug, Clone)]
pub struct AuthFailure(Arc<dyn std::error::Error + Send + Sync + 'static>);

impl AuthFailure {
    /// The failure `error` of an authentication method.
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> AuthFailure {
        AuthFailure(Arc::new(error))
    }

    /// The method's error, if it is an `E`.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref::<E>()
    }
}

impl From<String> for AuthFailure {
    fn from(message: String) -> AuthFailure {
        AuthFailure(Arc::from(Box::<dyn std::error::Error + Send + Sync>::from(
            message,
        )))
    }
}

impl From<&str> for AuthFailure {
    fn from(message: &str) -> AuthFailure {
        AuthFailure::from(message.to_string())
    }
}

impl std::fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for AuthFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Two failures are equal when they say the same.
impl PartialEq for AuthFailure {
    fn eq(&self, other: &AuthFailure) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.to_string() == other.to_string()
    }
}

impl Eq for AuthFailure {}
