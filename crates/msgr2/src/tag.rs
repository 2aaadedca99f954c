//! The msgr2.1 frame tags.

/// The tag of a msgr2 frame: what its payload is.
///
/// Numbers as in Ceph's `frames_v2.h` (`enum class Tag`) and the kernel's
/// `FRAME_TAG_*`; the two compression tags came with Quincy's on-wire
/// compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Tag {
    /// Entity type and the address the peer sees us at.
    Hello = 1,
    /// Authentication method, preferred modes, auth payload.
    AuthRequest = 2,
    /// The server refuses the method; lists allowed methods and modes.
    AuthBadMethod = 3,
    /// A further round of the authentication exchange (server to client).
    AuthReplyMore = 4,
    /// A further round of the authentication exchange (client to server).
    AuthRequestMore = 5,
    /// Authentication succeeded: global id, connection mode, auth payload.
    AuthDone = 6,
    /// HMAC-SHA256 of the bytes received before authentication completed.
    AuthSignature = 7,
    /// The client's identity (addresses, global id, features, cookie).
    ClientIdent = 8,
    /// The server's identity.
    ServerIdent = 9,
    /// The server lacks features the client requires.
    IdentMissingFeatures = 10,
    /// Reconnect to an existing session.
    SessionReconnect = 11,
    /// The session is gone; start a new one.
    SessionReset = 12,
    /// Retry with a higher connect sequence.
    SessionRetry = 13,
    /// Retry with a higher global sequence.
    SessionRetryGlobal = 14,
    /// Reconnection accepted, with the last message sequence received.
    SessionReconnectOk = 15,
    /// Wait: the peer is racing a connection of its own.
    Wait = 16,
    /// A Ceph message: header, front, middle and data segments.
    Message = 17,
    /// Keepalive with a timestamp.
    Keepalive2 = 18,
    /// Answer to a keepalive, echoing its timestamp.
    Keepalive2Ack = 19,
    /// Acknowledges messages up to a sequence number.
    Ack = 20,
    /// Asks for on-wire compression (Quincy and later).
    CompressionRequest = 21,
    /// Answer to a compression request.
    CompressionDone = 22,
}

impl Tag {
    /// Every tag, in numeric order.
    pub const ALL: [Tag; 22] = [
        Tag::Hello,
        Tag::AuthRequest,
        Tag::AuthBadMethod,
        Tag::AuthReplyMore,
        Tag::AuthRequestMore,
        Tag::AuthDone,
        Tag::AuthSignature,
        Tag::ClientIdent,
        Tag::ServerIdent,
        Tag::IdentMissingFeatures,
        Tag::SessionReconnect,
        Tag::SessionReset,
        Tag::SessionRetry,
        Tag::SessionRetryGlobal,
        Tag::SessionReconnectOk,
        Tag::Wait,
        Tag::Message,
        Tag::Keepalive2,
        Tag::Keepalive2Ack,
        Tag::Ack,
        Tag::CompressionRequest,
        Tag::CompressionDone,
    ];

    /// The tag's number on the wire.
    #[must_use]
    pub const fn as_u8(self) -> u8 {
        self as u8
    }
}

impl From<Tag> for u8 {
    fn from(tag: Tag) -> u8 {
        tag.as_u8()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn numbers_match_frames_v2() {
        assert_eq!(Tag::Hello.as_u8(), 1);
        assert_eq!(Tag::AuthSignature.as_u8(), 7);
        assert_eq!(Tag::Wait.as_u8(), 16);
        assert_eq!(Tag::Message.as_u8(), 17);
        assert_eq!(Tag::Ack.as_u8(), 20);
        assert_eq!(Tag::CompressionDone.as_u8(), 22);
        for (i, tag) in Tag::ALL.iter().enumerate() {
            assert_eq!(usize::from(tag.as_u8()), i + 1);
            assert_eq!(Tag::from_u8(tag.as_u8()), Ok(*tag));
        }
        assert_eq!(Tag::from_u8(0), Err(Error::UnknownTag(0)));
        assert_eq!(Tag::from_u8(23), Err(Error::UnknownTag(23)));
        assert_eq!(Tag::from_u8(255), Err(Error::UnknownTag(255)));
    }
}
