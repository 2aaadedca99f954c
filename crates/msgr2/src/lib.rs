//! The Ceph messenger v2.1 protocol, client side.
//!
//! - The frame layer, sans-IO: it turns bytes into frames and frames into
//!   bytes (below).
//! - [`session`], sans-IO too: the client's connection state machine
//!   (banner, HELLO, authentication through an [`session::AuthProvider`],
//!   signatures, IDENT or reconnection, messages with their sequence
//!   numbers, acks and keepalives).
//! - [`Connection`]: a session run over a tokio TCP stream.
//!
//! # A connection's byte stream
//!
//! 1. Each side sends its [`Banner`] (`"ceph v2\n"`, a length, the msgr2
//!    feature words) and checks the peer's with [`Banner::check_peer`]. We
//!    support and require msgr2.1 ([`features::REVISION_1`]); compression is
//!    not supported.
//! 2. Then frames: a [`Tag`] and one to four segments, preceded by a 32-byte
//!    preamble. Until AUTH_DONE every frame is in crc mode (see
//!    [`crc_mode`]); a connection that negotiated secure mode switches both
//!    directions to AES-128-GCM (see [`secure_mode`]) right after AUTH_DONE,
//!    with keys taken from the connection secret by
//!    [`SecureKeys::from_connection_secret`].
//!
//! # Driving it
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use ceph_msgr2::{Frame, FrameDecoder, FrameEncoder, Tag};
//!
//! let mut encoder = FrameEncoder::new();
//! let mut wire = BytesMut::new();
//! let ack = Frame::control(Tag::Ack, Bytes::copy_from_slice(&7u64.to_le_bytes()));
//! encoder.encode_frame(&ack, &mut wire)?;
//!
//! // The receiving side appends whatever the socket gives...
//! let mut decoder = FrameDecoder::new();
//! let mut buf = BytesMut::new();
//! buf.extend_from_slice(&wire[..10]);
//! assert_eq!(decoder.decode(&mut buf)?, None); // needs decoder.needed() bytes
//! buf.extend_from_slice(&wire[10..]);
//! let frame = decoder.decode(&mut buf)?.expect("a whole frame");
//! assert_eq!(frame.tag(), Tag::Ack);
//! assert_eq!(&frame.payload()[..], &7u64.to_le_bytes());
//! # Ok::<(), ceph_msgr2::Error>(())
//! ```
//!
//! Hostile input ends in a typed [`Error`], never a panic; nothing is
//! allocated on the strength of a length the peer announced before those
//! bytes have arrived, and segment lengths are bounded by [`FrameLimits`].

pub mod banner;
pub mod crc;
pub mod crc_mode;
mod decoder;
mod encoder;
pub mod epilogue;
mod error;
mod frame;
#[cfg(any(fuzzing, test, feature = "fuzzing"))]
pub mod fuzzing;
mod outbuf;
pub mod preamble;
pub mod secure_mode;
pub mod segment;
pub mod session;
mod tag;
mod transport;

pub use banner::{features, Banner};
pub use decoder::FrameDecoder;
pub use encoder::FrameEncoder;
pub use error::{Error, Result};
pub use frame::Frame;
pub use outbuf::OutBuf;
pub use secure_mode::{DirectionKey, Role, SecureKeys};
pub use segment::{FrameLimits, Segment};
pub use tag::Tag;
pub use transport::Connection;
