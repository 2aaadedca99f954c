//! The receiving half: bytes to frames.

use bytes::{Bytes, BytesMut};

use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::preamble::{Preamble, PREAMBLE_LEN};
use crate::secure_mode::{DirectionKey, GcmStream, SECURE_HEAD_LEN};
use crate::segment::FrameLimits;
use crate::{crc_mode, secure_mode};

/// The most room reserved ahead for the rest of a frame whose preamble
/// has come (a peer announcing a large frame does not get more allocated
/// than this before it sends the bytes).
const RESERVE_AHEAD: usize = 16 << 20;

/// The room reserved ahead is at most this many times what the buffer
/// already holds: an allocation bounded by the input's length (a peer
/// that sends a preamble alone gets 2 KiB, not its announced length), yet
/// one socket read of 64 KiB makes room for a 4 MiB frame at once.
const RESERVE_FACTOR: usize = 64;

#[derive(Debug)]
enum RxMode {
    Crc,
    Secure(Box<GcmStream>),
}

/// The most room allocated beyond what the frame under way needs, when
/// the buffer has to grow for it (and at most what the buffer holds).
/// Frames of one kind differ by a few bytes (a reply naming an object
/// whose number has one more digit): an allocation made to fit one frame
/// exactly is a few bytes short for the next, and `BytesMut::reserve`
/// then copies, the earlier frames' bytes included. The slack lets the
/// next frame reuse the allocation once its frames are dropped.
const GROW_SLACK: usize = 64 << 10;

/// Makes room for `additional` more bytes in `buf`; when it has to grow,
/// with [`GROW_SLACK`] more (bounded by what `buf` holds).
fn make_room(buf: &mut BytesMut, additional: usize) {
    if buf.capacity() - buf.len() < additional {
        let slack = GROW_SLACK.min(buf.len());
        buf.reserve(additional.saturating_add(slack));
    }
}

/// What the decoder knows of the frame at the front of the buffer.
#[derive(Debug)]
enum Pending {
    /// Nothing yet: waiting for a preamble.
    Nothing,
    /// A crc-mode preamble was parsed (nothing consumed; parsing has no
    /// side effects, this only saves doing it again).
    Crc { preamble: Preamble, total: usize },
    /// A secure-mode head block was decrypted (its nonce is spent, so the
    /// plaintext is kept until the whole frame is there).
    Secure {
        preamble: Preamble,
        head: Box<[u8; PREAMBLE_LEN + secure_mode::INLINE_LEN]>,
        total: usize,
    },
}

/// Turns a byte stream into frames: a sans-IO decoder in the manner of
/// `tokio_util::codec::Decoder`.
///
/// The caller keeps a [`BytesMut`] of received bytes, appends to it what
/// each read returns, and calls [`FrameDecoder::decode`] until it returns
/// `Ok(None)`; each call consumes exactly one frame from the front of the
/// buffer. The buffer must not be altered between calls other than by
/// appending. [`FrameDecoder::needed`] tells how many bytes the buffer must
/// hold for the next step; it never exceeds what the validated preamble
/// announced, and the decoder itself allocates nothing sized by the peer:
/// segments are slices of the caller's buffer.
///
/// The decoder starts in crc mode (frames before AUTH_DONE); switch it to
/// secure mode with [`FrameDecoder::enable_secure`] right after decoding
/// AUTH_DONE, before decoding the next frame.
///
/// Any error is final: the decoder then refuses further input with
/// [`Error::DecoderFailed`].
#[derive(Debug)]
pub struct FrameDecoder {
    mode: RxMode,
    limits: FrameLimits,
    pending: Pending,
    failed: bool,
    aborted: u64,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    /// A crc-mode decoder with the default [`FrameLimits`].
    #[must_use]
    pub fn new() -> Self {
        Self::with_limits(FrameLimits::default())
    }

    /// A crc-mode decoder with the given bounds on segment lengths.
    #[must_use]
    pub fn with_limits(limits: FrameLimits) -> Self {
        Self {
            mode: RxMode::Crc,
            limits,
            pending: Pending::Nothing,
            failed: false,
            aborted: 0,
        }
    }

    /// A decoder in secure mode from the start.
    #[must_use]
    pub fn secure(key: &DirectionKey, limits: FrameLimits) -> Self {
        let mut d = Self::with_limits(limits);
        d.mode = RxMode::Secure(Box::new(GcmStream::new(key)));
        d
    }

    /// Switches to secure mode with the receive key and nonce
    /// ([`SecureKeys::rx`](crate::SecureKeys::rx)). Fails with
    /// [`Error::ModeSwitchMidFrame`] if a secure frame is half decoded.
    pub fn enable_secure(&mut self, key: &DirectionKey) -> Result<()> {
        if matches!(self.pending, Pending::Secure { .. }) {
            return Err(Error::ModeSwitchMidFrame);
        }
        self.pending = Pending::Nothing;
        self.mode = RxMode::Secure(Box::new(GcmStream::new(key)));
        Ok(())
    }

    /// Whether frames are decrypted.
    #[must_use]
    pub fn is_secure(&self) -> bool {
        matches!(self.mode, RxMode::Secure(_))
    }

    /// The bounds on segment lengths.
    #[must_use]
    pub fn limits(&self) -> &FrameLimits {
        &self.limits
    }

    /// How many frames the peer aborted (see [`crate::epilogue`]); they are
    /// dropped, as Ceph does.
    #[must_use]
    pub fn aborted_frames(&self) -> u64 {
        self.aborted
    }

    /// How many bytes the buffer must hold before the next call to
    /// [`FrameDecoder::decode`] can make progress: the preamble's length (32
    /// in crc mode, 96 in secure mode) or, once a preamble was read, the
    /// whole frame's.
    #[must_use]
    pub fn needed(&self) -> usize {
        match (&self.pending, &self.mode) {
            (Pending::Crc { total, .. } | Pending::Secure { total, .. }, _) => *total,
            (Pending::Nothing, RxMode::Crc) => PREAMBLE_LEN,
            (Pending::Nothing, RxMode::Secure(_)) => SECURE_HEAD_LEN,
        }
    }

    /// Decodes the frame at the front of `buf`, consuming it; `Ok(None)` if
    /// the buffer does not hold a whole frame yet (see
    /// [`FrameDecoder::needed`]). Frames the peer aborted are skipped.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>> {
        Ok(self.decode_inner(buf, false)?.map(|(frame, _)| frame))
    }

    /// Like [`FrameDecoder::decode`], and also returns the frame's bytes as
    /// received (before decryption): the authentication signature covers
    /// the raw bytes of the frames exchanged before AUTH_DONE.
    pub fn decode_with_raw(&mut self, buf: &mut BytesMut) -> Result<Option<(Frame, Bytes)>> {
        Ok(self
            .decode_inner(buf, true)?
            .map(|(frame, raw)| (frame, raw.unwrap_or_default())))
    }

    /// Call when the stream has ended: fails with [`Error::Truncated`] if
    /// `buf` holds part of a frame.
    pub fn check_eof(&self, buf: &BytesMut) -> Result<()> {
        if buf.is_empty() && matches!(self.pending, Pending::Nothing) {
            return Ok(());
        }
        Err(Error::Truncated {
            buffered: buf.len(),
            needed: self.needed(),
        })
    }

    fn decode_inner(
        &mut self,
        buf: &mut BytesMut,
        want_raw: bool,
    ) -> Result<Option<(Frame, Option<Bytes>)>> {
        if self.failed {
            return Err(Error::DecoderFailed);
        }
        let result = self.decode_step(buf, want_raw);
        if result.is_err() {
            self.failed = true;
            self.pending = Pending::Nothing;
        }
        result
    }

    fn decode_step(
        &mut self,
        buf: &mut BytesMut,
        want_raw: bool,
    ) -> Result<Option<(Frame, Option<Bytes>)>> {
        loop {
            if matches!(self.pending, Pending::Nothing) && !self.read_preamble(buf)? {
                return Ok(None);
            }
            if buf.len() < self.needed() {
                // Room for the rest of the frame at once (its lengths are
                // within the limits): one allocation of its size, rather
                // than one doubling as the bytes come, up to twice the
                // frame, that the frame's segments keep alive. Bounded by
                // what has come, so that only bytes sent cost memory.
                let ahead = (self.needed() - buf.len())
                    .min(RESERVE_AHEAD)
                    .min(buf.len().saturating_mul(RESERVE_FACTOR));
                make_room(buf, ahead);
                return Ok(None);
            }
            let wire = buf.split_to(self.needed());
            let pending = std::mem::replace(&mut self.pending, Pending::Nothing);
            let (frame, raw) = match (pending, &mut self.mode) {
                (Pending::Crc { preamble, .. }, _) => {
                    let wire = wire.freeze();
                    let raw = want_raw.then(|| wire.clone());
                    (crc_mode::decode(&preamble, wire)?, raw)
                }
                (Pending::Secure { preamble, head, .. }, RxMode::Secure(gcm)) => {
                    let raw = want_raw.then(|| Bytes::copy_from_slice(&wire));
                    (secure_mode::decode(gcm, &preamble, &head, wire)?, raw)
                }
                // A secure head is only ever read in secure mode, and the
                // mode cannot change while one is pending.
                (Pending::Secure { .. }, RxMode::Crc) | (Pending::Nothing, _) => {
                    return Err(Error::DecoderFailed)
                }
            };
            match frame {
                Some(frame) => return Ok(Some((frame, raw))),
                None => self.aborted += 1,
            }
        }
    }

    /// Reads the preamble at the front of `buf` if it is all there; `false`
    /// if more bytes are needed.
    fn read_preamble(&mut self, buf: &BytesMut) -> Result<bool> {
        match &mut self.mode {
            RxMode::Crc => {
                let Some(bytes) = buf.get(..PREAMBLE_LEN) else {
                    return Ok(false);
                };
                let mut b = [0u8; PREAMBLE_LEN];
                b.copy_from_slice(bytes);
                let preamble = Preamble::decode(&b, &self.limits)?;
                let total = to_usize(crc_mode::onwire_len(&preamble))?;
                self.pending = Pending::Crc { preamble, total };
            }
            RxMode::Secure(gcm) => {
                let Some(bytes) = buf.get(..SECURE_HEAD_LEN) else {
                    return Ok(false);
                };
                let head = secure_mode::open_head(gcm, bytes)?;
                let mut b = [0u8; PREAMBLE_LEN];
                b.copy_from_slice(&head[..PREAMBLE_LEN]);
                let preamble = Preamble::decode(&b, &self.limits)?;
                let total = to_usize(secure_mode::onwire_len(&preamble))?;
                self.pending = Pending::Secure {
                    preamble,
                    head: Box::new(head),
                    total,
                };
            }
        }
        Ok(true)
    }
}

/// Frame lengths are bounded by [`FrameLimits`]; on a 32-bit host a frame
/// beyond the address space is refused as too long.
fn to_usize(len: u64) -> Result<usize> {
    usize::try_from(len).map_err(|_| Error::SegmentTooLarge {
        index: 0,
        len: usize::MAX,
    })
}
