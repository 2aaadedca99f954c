//! The sending half: frames to bytes.

use bytes::BytesMut;

use crate::error::Result;
use crate::frame::Frame;
use crate::outbuf::OutBuf;
use crate::preamble::Preamble;
use crate::secure_mode::{DirectionKey, GcmStream};
use crate::{crc_mode, secure_mode};

#[derive(Debug)]
enum TxMode {
    Crc,
    Secure(Box<GcmStream>),
}

/// Turns frames into wire bytes, in crc mode until
/// [`FrameEncoder::enable_secure`] switches it to secure mode.
///
/// Frames before AUTH_DONE (HELLO, AUTH_*) are always sent in crc mode; a
/// secure-mode connection switches right after AUTH_DONE, so its first
/// encrypted frame is AUTH_SIGNATURE.
#[derive(Debug)]
pub struct FrameEncoder {
    mode: TxMode,
}

impl Default for FrameEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameEncoder {
    /// An encoder in crc mode.
    #[must_use]
    pub fn new() -> Self {
        Self { mode: TxMode::Crc }
    }

    /// An encoder in secure mode from the start.
    #[must_use]
    pub fn secure(key: &DirectionKey) -> Self {
        let mut e = Self::new();
        e.enable_secure(key);
        e
    }

    /// Switches to secure mode with the transmit key and nonce
    /// ([`SecureKeys::tx`](crate::SecureKeys::tx)); every later frame is
    /// encrypted.
    pub fn enable_secure(&mut self, key: &DirectionKey) {
        self.mode = TxMode::Secure(Box::new(GcmStream::new(key)));
    }

    /// Whether frames are encrypted.
    #[must_use]
    pub fn is_secure(&self) -> bool {
        matches!(self.mode, TxMode::Secure(_))
    }

    /// Appends the wire form of `frame` to `out`.
    ///
    /// Fails only for a segment longer than 4 GiB − 1
    /// ([`Error::SegmentTooLarge`](crate::Error::SegmentTooLarge)) or, in
    /// secure mode, when the nonces are exhausted; `out` is then unchanged.
    pub fn encode_frame(&mut self, frame: &Frame, out: &mut BytesMut) -> Result<()> {
        self.encode_inner(frame, out, false)
    }

    /// Like [`FrameEncoder::encode_frame`], into a session's output: in
    /// crc mode large segments are chained there, not copied.
    pub fn encode_frame_to(&mut self, frame: &Frame, out: &mut OutBuf) -> Result<()> {
        let preamble = Preamble::for_frame(frame)?;
        match &mut self.mode {
            TxMode::Crc => {
                crc_mode::encode(&preamble, frame, out, false);
                Ok(())
            }
            TxMode::Secure(gcm) => {
                secure_mode::encode(gcm, &preamble, frame, out.tail_mut(), false)
            }
        }
    }

    pub(crate) fn encode_inner(
        &mut self,
        frame: &Frame,
        out: &mut BytesMut,
        aborted: bool,
    ) -> Result<()> {
        let preamble = Preamble::for_frame(frame)?;
        match &mut self.mode {
            TxMode::Crc => {
                crc_mode::encode(&preamble, frame, out, aborted);
                Ok(())
            }
            TxMode::Secure(gcm) => secure_mode::encode(gcm, &preamble, frame, out, aborted),
        }
    }

    /// Like [`FrameEncoder::encode_frame`], but marks the frame aborted in its
    /// epilogue and sends zeros in place of segments 1..: what a sender does
    /// when it gives up on a frame after its first segment. Only frames of
    /// more than one segment have an epilogue; a single-segment frame is
    /// encoded normally. Meant for tests of peers.
    #[doc(hidden)]
    pub fn encode_aborted_frame(&mut self, frame: &Frame, out: &mut BytesMut) -> Result<()> {
        self.encode_inner(frame, out, true)
    }
}
