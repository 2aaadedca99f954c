//! The payloads of msgr2.1's control frames. Each is defined once with
//! `ceph_struct!`, which gives both its encoder and its decoder.

use bytes::Bytes;
use ceph_encoding::{ceph_struct, EntityAddr, EntityAddrVec, UTime};

/// Connection mode "crc" in AUTH_REQUEST / AUTH_DONE.
pub const CON_MODE_CRC: u32 = 1;
/// Connection mode "secure".
pub const CON_MODE_SECURE: u32 = 2;

/// `CEPH_MSG_CONNECT_LOSSY`: the server does not keep the session.
pub const MSG_CONNECT_LOSSY: u64 = 1;

ceph_struct! {
    /// HELLO: our entity type and the peer's address as we see it (and,
    /// from the server, our address as it sees it).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Hello {
        /// `CEPH_ENTITY_TYPE_*` of the sender.
        pub entity_type: u8,
        /// The receiver's address as the sender sees it.
        pub peer_addr: EntityAddr,
    }
}

ceph_struct! {
    /// AUTH_REQUEST: the method, our preferred connection modes and the
    /// method's first payload.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AuthRequest {
        /// `CEPH_AUTH_*` method.
        pub method: u32,
        /// Connection modes in order of preference.
        pub preferred_modes: Vec<u32>,
        /// Method-specific payload.
        pub auth_payload: Bytes,
    }
}

ceph_struct! {
    /// AUTH_BAD_METHOD: the server refused the method or the credentials.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AuthBadMethod {
        /// The method tried.
        pub method: u32,
        /// Negative errno (`-EACCES` for a wrong key).
        pub result: i32,
        /// Methods the server allows.
        pub allowed_methods: Vec<u32>,
        /// Connection modes the server allows.
        pub allowed_modes: Vec<u32>,
    }
}

ceph_struct! {
    /// AUTH_REPLY_MORE (server) and AUTH_REQUEST_MORE (client): one more
    /// round of the method's exchange.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AuthMore {
        /// Method-specific payload.
        pub auth_payload: Bytes,
    }
}

ceph_struct! {
    /// AUTH_DONE: authentication succeeded.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AuthDone {
        /// Our global id.
        pub global_id: u64,
        /// The connection mode the server chose.
        pub con_mode: u32,
        /// Method-specific payload (tickets, connection secret).
        pub auth_payload: Bytes,
    }
}

ceph_struct! {
    /// CLIENT_IDENT: who we are and what we want of the session.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ClientIdent {
        /// Our addresses.
        pub addrs: EntityAddrVec,
        /// The address we meant to reach.
        pub target_addr: EntityAddr,
        /// Our global id.
        pub gid: i64,
        /// Our connection attempt counter across all peers.
        pub global_seq: u64,
        /// Features we support.
        pub supported_features: u64,
        /// Features we require.
        pub required_features: u64,
        /// `CEPH_MSG_CONNECT_*` flags.
        pub flags: u64,
        /// Our session cookie.
        pub cookie: u64,
    }
}

ceph_struct! {
    /// SERVER_IDENT: the server's identity and session cookie.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ServerIdent {
        /// Its addresses.
        pub addrs: EntityAddrVec,
        /// Its global id (the entity number, e.g. the OSD id).
        pub gid: i64,
        /// Its global sequence.
        pub global_seq: u64,
        /// Features it supports.
        pub supported_features: u64,
        /// Features it requires.
        pub required_features: u64,
        /// `CEPH_MSG_CONNECT_*` flags.
        pub flags: u64,
        /// Its session cookie (0 for lossy sessions).
        pub cookie: u64,
    }
}

ceph_struct! {
    /// SESSION_RECONNECT: resume a session after the connection dropped.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SessionReconnect {
        /// Our addresses.
        pub addrs: EntityAddrVec,
        /// Our cookie.
        pub client_cookie: u64,
        /// The server's cookie.
        pub server_cookie: u64,
        /// Our global sequence.
        pub global_seq: u64,
        /// How many times we reconnected this session.
        pub connect_seq: u64,
        /// The last message sequence we received.
        pub msg_seq: u64,
    }
}

ceph_struct! {
    /// A frame holding one u64: IDENT_MISSING_FEATURES (the features),
    /// SESSION_RECONNECT_OK (last seq received), SESSION_RETRY (connect_seq),
    /// SESSION_RETRY_GLOBAL (global_seq), ACK (seq).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct U64Frame {
        /// The value.
        pub value: u64,
    }
}

ceph_struct! {
    /// SESSION_RESET: the server lost the session.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct SessionReset {
        /// Whether the whole session is reset.
        pub full: bool,
    }
}

ceph_struct! {
    /// KEEPALIVE2 and KEEPALIVE2_ACK: a time stamp.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Keepalive {
        /// The sender's clock (echoed in the ack).
        pub stamp: UTime,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ceph_encoding::{AddrType, Decode, Encode};

    #[test]
    fn hello_layout() {
        let h = Hello {
            entity_type: 8,
            peer_addr: EntityAddr::new(AddrType::MSGR2, "127.0.0.1:3300".parse().unwrap(), 0),
        };
        let b = h.to_bytes(ceph_encoding::features::CEPH_FEATURES_ALL);
        assert_eq!(b[0], 8);
        assert_eq!(b[1], 1, "new-style address marker");
        assert_eq!(Hello::decode_exact(&b).unwrap(), h);
    }

    #[test]
    fn auth_done_round_trip() {
        let d = AuthDone {
            global_id: 4242,
            con_mode: CON_MODE_SECURE,
            auth_payload: Bytes::from_static(b"tickets"),
        };
        let b = d.to_bytes(0);
        assert_eq!(b.len(), 8 + 4 + 4 + 7);
        assert_eq!(AuthDone::decode_exact(&b).unwrap(), d);
    }
}
