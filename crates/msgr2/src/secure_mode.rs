//! secure mode (msgr2.1): AES-128-GCM, keys from the connection secret.
//!
//! # Keys and nonces
//!
//! After cephx authentication both sides hold a *connection secret* (64
//! bytes from cephx today; at least 40 are needed). Ceph's
//! `rxtx_t::create_handler_pair` (`src/msg/async/crypto_onwire.cc`) and the
//! kernel's `setup_crypto` (`net/ceph/messenger_v2.c`) split it as
//!
//! ```text
//! secret[0..16]    AES-128 key, the same for both directions
//! secret[16..28]   the client's receive nonce  (= the server's send nonce)
//! secret[28..40]   the client's send nonce     (= the server's receive nonce)
//! ```
//!
//! the server taking the two nonces "crossed". A nonce is 12 bytes: a le32
//! fixed field and a le64 counter. Each AES-GCM operation (one per
//! encrypted section, see below) uses the current nonce and then adds one to
//! the counter (msgr2.1's "new nonce format"; msgr2.0 incremented the first
//! 32 bits instead). Ceph refuses to send once the transmit nonce comes back
//! to its first value ("out of nonces"), and so do we
//! ([`Error::NonceExhausted`]). There is no associated data.
//!
//! # Layout
//!
//! Segments are zero-padded to 16 bytes. The first segment goes, up to 48
//! bytes, into an inline buffer behind the preamble:
//!
//! ```text
//! E(preamble 32 | inline 48, zero-padded) + tag 16                 96 bytes
//! E(segment 0 beyond 48 bytes, padded) + tag 16       if len0 > 48
//! E(segment 1 | 2 | 3, each padded | epilogue 16) + tag 16   if count > 1
//!   epilogue: u8 late_status, 15 zero bytes
//! ```
//!
//! so a frame costs one, two or three GCM operations (nonces).

use aes_gcm::{AeadInOut, Aes128Gcm, KeyInit, Nonce};
use bytes::{BufMut, BytesMut};

use crate::epilogue::{check_late_status, LATE_STATUS_ABORTED, LATE_STATUS_COMPLETE};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::preamble::{Preamble, PREAMBLE_LEN};
use crate::segment::{Segment, MAX_SEGMENTS};

/// AES-128 key length.
pub const GCM_KEY_LEN: usize = 16;
/// GCM nonce (IV) length.
pub const GCM_NONCE_LEN: usize = 12;
/// GCM authentication tag length.
pub const GCM_TAG_LEN: usize = 16;
/// Padding unit of segments in secure mode.
pub const GCM_BLOCK_LEN: usize = 16;
/// Bytes of the first segment carried inside the preamble's block.
pub const INLINE_LEN: usize = 48;
/// The encrypted preamble block: preamble, inline buffer, tag.
pub const SECURE_HEAD_LEN: usize = PREAMBLE_LEN + INLINE_LEN + GCM_TAG_LEN;
/// The secure-mode epilogue (before its tag).
pub const SECURE_EPILOGUE_LEN: usize = 16;
/// The shortest connection secret secure mode can use.
pub const MIN_CONNECTION_SECRET_LEN: usize = GCM_KEY_LEN + 2 * GCM_NONCE_LEN;

const HEAD_PLAIN_LEN: usize = PREAMBLE_LEN + INLINE_LEN;

/// Which end of the connection we are; it decides which half of the
/// connection secret's nonces we send with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The connecting side (this crate's use).
    Client,
    /// The accepting side (Ceph creates its handlers "crossed").
    Server,
}

/// The AES-128-GCM key and first nonce of one direction.
#[derive(Clone, PartialEq, Eq)]
pub struct DirectionKey {
    key: [u8; GCM_KEY_LEN],
    nonce: [u8; GCM_NONCE_LEN],
}

impl std::fmt::Debug for DirectionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DirectionKey { .. }")
    }
}

impl DirectionKey {
    /// A key and first nonce given directly.
    #[must_use]
    pub fn new(key: [u8; GCM_KEY_LEN], nonce: [u8; GCM_NONCE_LEN]) -> Self {
        Self { key, nonce }
    }

    /// The first nonce (le32 fixed field, le64 counter).
    #[must_use]
    pub fn nonce(&self) -> [u8; GCM_NONCE_LEN] {
        self.nonce
    }
}

/// The keys of both directions of a secure-mode connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecureKeys {
    /// For the [`FrameDecoder`](crate::FrameDecoder).
    pub rx: DirectionKey,
    /// For the [`FrameEncoder`](crate::FrameEncoder).
    pub tx: DirectionKey,
}

impl SecureKeys {
    /// Splits the connection secret that cephx hands over with AUTH_DONE
    /// (see the [module docs](self)): key from bytes 0..16; the client
    /// receives with the nonce of bytes 16..28 and sends with 28..40, the
    /// server the other way round. Bytes beyond 40 are unused.
    pub fn from_connection_secret(secret: &[u8], role: Role) -> Result<Self> {
        if secret.len() < MIN_CONNECTION_SECRET_LEN {
            return Err(Error::ConnectionSecretTooShort {
                len: secret.len(),
                need: MIN_CONNECTION_SECRET_LEN,
            });
        }
        let mut key = [0u8; GCM_KEY_LEN];
        key.copy_from_slice(&secret[..GCM_KEY_LEN]);
        let mut first = [0u8; GCM_NONCE_LEN];
        first.copy_from_slice(&secret[GCM_KEY_LEN..GCM_KEY_LEN + GCM_NONCE_LEN]);
        let mut second = [0u8; GCM_NONCE_LEN];
        second.copy_from_slice(&secret[GCM_KEY_LEN + GCM_NONCE_LEN..MIN_CONNECTION_SECRET_LEN]);
        let (rx, tx) = match role {
            Role::Client => (first, second),
            Role::Server => (second, first),
        };
        Ok(Self {
            rx: DirectionKey::new(key, rx),
            tx: DirectionKey::new(key, tx),
        })
    }
}

/// One direction's cipher and running nonce.
pub(crate) struct GcmStream {
    cipher: Aes128Gcm,
    nonce: [u8; GCM_NONCE_LEN],
    initial: [u8; GCM_NONCE_LEN],
    used_initial: bool,
}

impl std::fmt::Debug for GcmStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GcmStream { .. }")
    }
}

impl GcmStream {
    pub(crate) fn new(key: &DirectionKey) -> Self {
        Self {
            cipher: Aes128Gcm::new(&key.key.into()),
            nonce: key.nonce,
            initial: key.nonce,
            used_initial: false,
        }
    }

    /// The nonce for the next operation; advances the le64 counter.
    fn next_nonce(&mut self, check_wrap: bool) -> Result<[u8; GCM_NONCE_LEN]> {
        if check_wrap && self.nonce == self.initial {
            if self.used_initial {
                return Err(Error::NonceExhausted);
            }
            self.used_initial = true;
        }
        let current = self.nonce;
        let mut counter = [0u8; 8];
        counter.copy_from_slice(&current[4..]);
        let next = u64::from_le_bytes(counter).wrapping_add(1);
        self.nonce[4..].copy_from_slice(&next.to_le_bytes());
        Ok(current)
    }

    /// Encrypts `buf` in place and returns the tag.
    pub(crate) fn seal(&mut self, buf: &mut [u8]) -> Result<[u8; GCM_TAG_LEN]> {
        let nonce = self.next_nonce(true)?;
        let tag = self
            .cipher
            .encrypt_inout_detached(&Nonce::from(nonce), &[], buf.into())
            .map_err(|_| Error::EncryptionFailed)?;
        Ok(tag.into())
    }

    /// Authenticates and decrypts `buf` in place.
    pub(crate) fn open(&mut self, buf: &mut [u8], tag: &[u8], section: &'static str) -> Result<()> {
        let nonce = self.next_nonce(false)?;
        let mut t = [0u8; GCM_TAG_LEN];
        t.copy_from_slice(tag);
        self.cipher
            .decrypt_inout_detached(&Nonce::from(nonce), &[], buf.into(), &t.into())
            .map_err(|_| Error::AuthenticationFailed { section })
    }

    #[cfg(test)]
    pub(crate) fn rewind_to_initial(&mut self) {
        self.nonce = self.initial;
    }
}

fn padded(len: u64) -> u64 {
    len.div_ceil(GCM_BLOCK_LEN as u64) * GCM_BLOCK_LEN as u64
}

/// Length of the encrypted remainder of segment 0 (tag excluded), 0 if it
/// fits the inline buffer.
fn first_rest_len(p: &Preamble) -> u64 {
    padded(u64::from(p.descs[0].len)).saturating_sub(INLINE_LEN as u64)
}

/// Length of the encrypted tail (segments 1.. and epilogue, tag excluded),
/// 0 for a single-segment frame.
fn tail_len(p: &Preamble) -> u64 {
    if p.count == 1 {
        return 0;
    }
    p.descs[1..p.count]
        .iter()
        .map(|d| padded(u64::from(d.len)))
        .sum::<u64>()
        + SECURE_EPILOGUE_LEN as u64
}

/// The frame's length on the wire in secure mode.
pub(crate) fn onwire_len(p: &Preamble) -> u64 {
    let mut total = SECURE_HEAD_LEN as u64;
    let rest = first_rest_len(p);
    if rest > 0 {
        total += rest + GCM_TAG_LEN as u64;
    }
    let tail = tail_len(p);
    if tail > 0 {
        total += tail + GCM_TAG_LEN as u64;
    }
    total
}

fn put_padded(out: &mut BytesMut, data: &[u8]) {
    out.put_slice(data);
    let pad = padded(data.len() as u64) as usize - data.len();
    out.put_bytes(0, pad);
}

/// Encrypts the bytes of `out` from `start` to its end and appends the tag.
fn seal_from(gcm: &mut GcmStream, out: &mut BytesMut, start: usize) -> Result<()> {
    let tag = gcm.seal(&mut out[start..])?;
    out.put_slice(&tag);
    Ok(())
}

/// Appends the secure-mode wire form of `frame` to `out`. On error `out` is
/// left as it was.
pub(crate) fn encode(
    gcm: &mut GcmStream,
    p: &Preamble,
    frame: &Frame,
    out: &mut BytesMut,
    aborted: bool,
) -> Result<()> {
    let origin = out.len();
    let result = encode_inner(gcm, p, frame, out, aborted);
    if result.is_err() {
        out.truncate(origin);
    }
    result
}

fn encode_inner(
    gcm: &mut GcmStream,
    p: &Preamble,
    frame: &Frame,
    out: &mut BytesMut,
    aborted: bool,
) -> Result<()> {
    out.reserve(usize::try_from(onwire_len(p)).unwrap_or(0));
    let segs = frame.segments();
    let first: &[u8] = segs.first().map(|s| &s.data[..]).unwrap_or_default();

    // Preamble and inline buffer.
    let start = out.len();
    out.put_slice(&p.encode());
    let inline = first.len().min(INLINE_LEN);
    out.put_slice(&first[..inline]);
    out.put_bytes(0, INLINE_LEN - inline);
    seal_from(gcm, out, start)?;

    // The rest of the first segment.
    if first.len() > INLINE_LEN {
        let start = out.len();
        put_padded(out, &first[INLINE_LEN..]);
        seal_from(gcm, out, start)?;
    }

    // Segments 1.. and the epilogue.
    if segs.len() > 1 {
        let start = out.len();
        for seg in &segs[1..] {
            if aborted {
                out.put_bytes(0, padded(seg.len() as u64) as usize);
            } else {
                put_padded(out, &seg.data);
            }
        }
        out.put_u8(if aborted {
            LATE_STATUS_ABORTED
        } else {
            LATE_STATUS_COMPLETE
        });
        out.put_bytes(0, SECURE_EPILOGUE_LEN - 1);
        seal_from(gcm, out, start)?;
    }
    Ok(())
}

/// Decrypts the 96-byte head block; returns the plaintext preamble and
/// inline buffer.
pub(crate) fn open_head(gcm: &mut GcmStream, head: &[u8]) -> Result<[u8; HEAD_PLAIN_LEN]> {
    let mut plain = [0u8; HEAD_PLAIN_LEN];
    plain.copy_from_slice(&head[..HEAD_PLAIN_LEN]);
    gcm.open(
        &mut plain,
        &head[HEAD_PLAIN_LEN..SECURE_HEAD_LEN],
        "preamble",
    )?;
    Ok(plain)
}

/// Decrypts the rest of a complete secure-mode frame. `wire` is exactly
/// [`onwire_len`] bytes, its head still encrypted; `head_plain` is the
/// head's plaintext from [`open_head`]. `Ok(None)` means the sender aborted
/// the frame.
pub(crate) fn decode(
    gcm: &mut GcmStream,
    p: &Preamble,
    head_plain: &[u8; HEAD_PLAIN_LEN],
    mut wire: BytesMut,
) -> Result<Option<Frame>> {
    let len0 = p.descs[0].len as usize;
    let rest = first_rest_len(p) as usize;
    let tail = tail_len(p) as usize;

    // Decrypt in place, then lay segment 0 out contiguously over the spent
    // head block so that every segment is a slice of `wire`.
    let first_start;
    if rest > 0 {
        let (body, tag) =
            wire[SECURE_HEAD_LEN..SECURE_HEAD_LEN + rest + GCM_TAG_LEN].split_at_mut(rest);
        gcm.open(body, tag, "first segment")?;
        first_start = SECURE_HEAD_LEN - INLINE_LEN;
        wire[first_start..SECURE_HEAD_LEN].copy_from_slice(&head_plain[PREAMBLE_LEN..]);
    } else {
        first_start = PREAMBLE_LEN;
        wire[..HEAD_PLAIN_LEN].copy_from_slice(head_plain);
    }

    let tail_start = SECURE_HEAD_LEN + if rest > 0 { rest + GCM_TAG_LEN } else { 0 };
    let mut complete = true;
    if tail > 0 {
        let (body, tag) = wire[tail_start..tail_start + tail + GCM_TAG_LEN].split_at_mut(tail);
        gcm.open(body, tag, "segments")?;
        complete = check_late_status(body[tail - SECURE_EPILOGUE_LEN])?;
    }

    let wire = wire.freeze();
    let mut segments = Vec::with_capacity(p.count);
    segments.push(Segment::new(
        wire.slice(first_start..first_start + len0),
        p.descs[0].alignment,
    ));
    let mut at = tail_start;
    for d in &p.descs[1..p.count.min(MAX_SEGMENTS)] {
        let len = d.len as usize;
        segments.push(Segment::new(wire.slice(at..at + len), d.alignment));
        at += padded(len as u64) as usize;
    }
    if !complete {
        return Ok(None);
    }
    Ok(Some(Frame::from_parts(p.tag, segments)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_split() {
        let secret: Vec<u8> = (0u8..64).collect();
        let c = SecureKeys::from_connection_secret(&secret, Role::Client).unwrap();
        let s = SecureKeys::from_connection_secret(&secret, Role::Server).unwrap();
        assert_eq!(c.rx.key, <[u8; 16]>::try_from(&secret[..16]).unwrap());
        assert_eq!(c.tx.key, c.rx.key);
        assert_eq!(&c.rx.nonce[..], &secret[16..28]);
        assert_eq!(&c.tx.nonce[..], &secret[28..40]);
        assert_eq!(c.rx, s.tx);
        assert_eq!(c.tx, s.rx);
        assert_eq!(
            SecureKeys::from_connection_secret(&secret[..39], Role::Client),
            Err(Error::ConnectionSecretTooShort { len: 39, need: 40 })
        );
        assert_eq!(format!("{:?}", c.rx), "DirectionKey { .. }");
    }

    #[test]
    fn nonce_counter_is_le64_after_fixed_le32() {
        let mut nonce = [0u8; 12];
        nonce[..4].copy_from_slice(&0xaabb_ccddu32.to_le_bytes());
        nonce[4..].copy_from_slice(&(u64::from(u32::MAX)).to_le_bytes());
        let mut g = GcmStream::new(&DirectionKey::new([7; 16], nonce));
        assert_eq!(g.next_nonce(true).unwrap(), nonce);
        let n = g.next_nonce(true).unwrap();
        assert_eq!(&n[..4], &0xaabb_ccddu32.to_le_bytes());
        assert_eq!(&n[4..], &(1u64 << 32).to_le_bytes());
    }

    #[test]
    fn tx_refuses_to_reuse_the_first_nonce() {
        let mut g = GcmStream::new(&DirectionKey::new([1; 16], [2; 12]));
        let mut buf = [0u8; 16];
        g.seal(&mut buf).unwrap();
        g.seal(&mut buf).unwrap();
        g.rewind_to_initial();
        assert_eq!(g.seal(&mut buf), Err(Error::NonceExhausted));
    }
}
