//! The client side of the cephx handshake with a monitor, sans-IO: the
//! messenger hands it the payloads of AUTH_REPLY_MORE and AUTH_DONE and
//! sends the payloads it returns.
//!
//! ```text
//! client                                   monitor
//!   AUTH_REQUEST(cephx, [mode mon, name, global_id])  ->
//!                       <- AUTH_REPLY_MORE(server challenge)
//!   AUTH_REQUEST_MORE(header, Authenticate{proof, old ticket, wanted}) ->
//!                       <- AUTH_DONE(global_id, tickets, connection secret)
//! ```

use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use ceph_encoding::{Decode, Encode, EntityName, Reader};

use crate::crypto::{challenge_key, random_bytes, usage, SecretKey};
use crate::error::CephxError;
use crate::keyring::CryptoKey;
use crate::tickets::{Authorizer, Tickets, SERVICE_AUTH};
use crate::wire::{
    open_from, Authenticate, RequestHeader, ResponseHeader, ServerChallenge, ServiceTicketRequest,
    CEPHX_GET_AUTH_SESSION_KEY, CEPHX_GET_PRINCIPAL_SESSION_KEY,
};

/// Auth method id of "none" (`CEPH_AUTH_NONE`).
pub const AUTH_METHOD_NONE: u32 = 1;
/// Auth method id of cephx (`CEPH_AUTH_CEPHX`).
pub const AUTH_METHOD_CEPHX: u32 = 2;
/// The auth payload's mode byte when talking to a monitor.
pub const AUTH_MODE_MON: u8 = 10;

/// A random 64-bit value from the operating system.
pub fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    random_bytes(&mut b);
    u64::from_le_bytes(b)
}

/// The result of a completed handshake with a monitor.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The global id the monitor gave us.
    pub global_id: u64,
    /// The auth session key (also signs the msgr2 handshake).
    pub session_key: SecretKey,
    /// The connection secret for msgr2 secure mode (empty if none sent).
    pub connection_secret: Bytes,
}

/// A cephx client: its identity, its secret and its tickets.
#[derive(Debug, Clone)]
pub struct CephxClient {
    name: EntityName,
    secret: CryptoKey,
    want: u32,
    tickets: Tickets,
    global_id: u64,
    server_challenge: Option<u64>,
}

impl CephxClient {
    /// A client `name` with `secret`, wanting tickets for the services in
    /// `want` (entity type bits; the auth ticket is always wanted).
    pub fn new(name: EntityName, secret: CryptoKey, want: u32) -> CephxClient {
        CephxClient {
            name,
            secret,
            want: want | SERVICE_AUTH,
            tickets: Tickets::default(),
            global_id: 0,
            server_challenge: None,
        }
    }

    /// The entity this client authenticates as.
    pub fn name(&self) -> &EntityName {
        &self.name
    }

    /// The global id from the last handshake (0 before the first).
    pub fn global_id(&self) -> u64 {
        self.global_id
    }

    /// The tickets held.
    pub fn tickets(&self) -> &Tickets {
        &self.tickets
    }

    /// The first payload (AUTH_REQUEST) for a monitor: mode, our name and
    /// the global id we had (0 the first time; a reconnecting client
    /// reclaims its id with it and its old ticket).
    pub fn mon_request(&mut self) -> Bytes {
        self.server_challenge = None;
        mon_request_payload(&self.name, self.global_id)
    }

    /// Answers the monitor's challenge (AUTH_REPLY_MORE payload) with the
    /// proof of our key (AUTH_REQUEST_MORE payload).
    pub fn handle_challenge(
        &mut self,
        payload: &[u8],
        now: SystemTime,
    ) -> Result<Bytes, CephxError> {
        self.handle_challenge_with(payload, random_u64(), now)
    }

    /// [`CephxClient::handle_challenge`] with a given client challenge.
    pub fn handle_challenge_with(
        &mut self,
        payload: &[u8],
        client_challenge: u64,
        now: SystemTime,
    ) -> Result<Bytes, CephxError> {
        let ch = ServerChallenge::decode_exact(payload).map_err(|e| CephxError::Decode {
            what: "server challenge",
            source: e,
        })?;
        self.server_challenge = Some(ch.server_challenge);
        let old_ticket = self
            .tickets
            .get(SERVICE_AUTH)
            .map(|t| t.blob.clone())
            .unwrap_or_default();
        let req = Authenticate {
            client_challenge,
            key: challenge_key(&self.secret.secret, ch.server_challenge, client_challenge),
            old_ticket,
            other_keys: self.want_all_needed(now),
        };
        let mut out = BytesMut::new();
        RequestHeader {
            request_type: CEPHX_GET_AUTH_SESSION_KEY,
        }
        .encode(&mut out, 0);
        req.encode(&mut out, 0);
        Ok(out.freeze())
    }

    fn want_all_needed(&self, now: SystemTime) -> u32 {
        // The monitor hands out a fresh auth ticket on every handshake;
        // ask for every other wanted service that lacks a good ticket.
        self.tickets.need(self.want, now) | SERVICE_AUTH
    }

    /// Reads AUTH_DONE's payload: the auth ticket sealed with our key, then
    /// the connection secret and the other services' tickets sealed with
    /// the new session key.
    pub fn handle_done(
        &mut self,
        global_id: u64,
        payload: &[u8],
        now: SystemTime,
    ) -> Result<Authenticated, CephxError> {
        if self.server_challenge.is_none() {
            return Err(CephxError::Protocol(
                "AUTH_DONE before the challenge".into(),
            ));
        }
        let dec = |what| move |e| CephxError::Decode { what, source: e };
        let mut r = Reader::new(payload);
        let header: ResponseHeader = r.read().map_err(dec("response header"))?;
        if header.status < 0 {
            return Err(CephxError::Refused {
                what: "authentication",
                status: header.status,
            });
        }
        if header.request_type != CEPHX_GET_AUTH_SESSION_KEY {
            return Err(CephxError::Protocol(format!(
                "reply to request type {:#x} while authenticating",
                header.request_type
            )));
        }
        self.tickets.read_reply(&self.secret.secret, &mut r, now)?;
        let session_key = self
            .tickets
            .get(SERVICE_AUTH)
            .map(|t| t.session_key.clone())
            .ok_or(CephxError::NoTicket(SERVICE_AUTH))?;
        let mut connection_secret = Bytes::new();
        if !r.is_empty() {
            let sealed_secret: Bytes = r.read().map_err(dec("connection secret"))?;
            let extra: Bytes = r.read().map_err(dec("extra tickets"))?;
            if !sealed_secret.is_empty() {
                // A buffer holding a sealed buffer (encode_encrypt of the
                // secret, then encoded again as a bufferlist).
                let mut sr = Reader::new(&sealed_secret);
                connection_secret = open_from::<Bytes>(
                    &session_key,
                    usage::AUTH_CONNECTION_SECRET,
                    &mut sr,
                    "connection secret",
                )?;
            }
            if !extra.is_empty() {
                let mut er = Reader::new(&extra);
                self.tickets.read_reply(&session_key, &mut er, now)?;
            }
        }
        self.global_id = global_id;
        self.server_challenge = None;
        Ok(Authenticated {
            global_id,
            session_key,
            connection_secret,
        })
    }

    /// The payload of an MAuth asking for the service tickets that are
    /// missing or due at `now` (CEPHX_GET_PRINCIPAL_SESSION_KEY, shown
    /// with an authorizer of our auth ticket).
    pub fn service_ticket_request(&self, now: SystemTime) -> Result<Bytes, CephxError> {
        let authorizer = self
            .tickets
            .authorizer(SERVICE_AUTH, self.global_id, random_u64())?;
        let mut out = BytesMut::new();
        RequestHeader {
            request_type: CEPHX_GET_PRINCIPAL_SESSION_KEY,
        }
        .encode(&mut out, 0);
        out.extend_from_slice(authorizer.bytes());
        ServiceTicketRequest {
            keys: self.need(now) & !SERVICE_AUTH,
        }
        .encode(&mut out, 0);
        Ok(out.freeze())
    }

    /// Reads the reply to [`CephxClient::service_ticket_request`] and
    /// stores the new tickets; returns the services renewed.
    pub fn handle_service_ticket_reply(
        &mut self,
        payload: &[u8],
        now: SystemTime,
    ) -> Result<Vec<u32>, CephxError> {
        let mut r = Reader::new(payload);
        let header: ResponseHeader = r.read().map_err(|e| CephxError::Decode {
            what: "response header",
            source: e,
        })?;
        if header.status < 0 {
            return Err(CephxError::Refused {
                what: "service ticket request",
                status: header.status,
            });
        }
        if header.request_type != CEPHX_GET_PRINCIPAL_SESSION_KEY {
            return Err(CephxError::Protocol(format!(
                "reply to request type {:#x} to a ticket request",
                header.request_type
            )));
        }
        let key = self
            .tickets
            .get(SERVICE_AUTH)
            .map(|t| t.session_key.clone())
            .ok_or(CephxError::NoTicket(SERVICE_AUTH))?;
        self.tickets.read_reply(&key, &mut r, now)
    }

    /// An authorizer for a service (OSD, manager) from our ticket for it.
    pub fn authorizer(&self, service: u32) -> Result<Authorizer, CephxError> {
        self.tickets
            .authorizer(service, self.global_id, random_u64())
    }

    /// The services among those wanted whose tickets are missing or due for
    /// renewal at `now`.
    pub fn need(&self, now: SystemTime) -> u32 {
        self.tickets.need(self.want, now)
    }

    /// The earliest time a ticket is due for renewal.
    pub fn next_renewal(&self) -> Option<SystemTime> {
        self.tickets.next_renewal()
    }
}

/// The AUTH_REQUEST payload for a monitor: mode, name, global id. The
/// same for cephx and for "none".
pub fn mon_request_payload(name: &EntityName, global_id: u64) -> Bytes {
    let mut out = BytesMut::new();
    AUTH_MODE_MON.encode(&mut out, 0);
    name.encode(&mut out, 0);
    global_id.encode(&mut out, 0);
    out.freeze()
}

/// The authorizer of the "none" method: version, name, global id.
pub fn none_authorizer(name: &EntityName, global_id: u64) -> Bytes {
    let mut out = BytesMut::new();
    1u8.encode(&mut out, 0);
    name.encode(&mut out, 0);
    global_id.encode(&mut out, 0);
    out.freeze()
}
