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
use crate::secret_bytes::SecretBytes;
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

/// The result of a completed handshake with a monitor (its `Debug`
/// output shows neither key).
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The global id the monitor gave us.
    pub global_id: u64,
    /// The auth session key (also signs the msgr2 handshake).
    pub session_key: SecretKey,
    /// The connection secret for msgr2 secure mode (empty if none sent).
    pub connection_secret: SecretBytes,
}

/// A cephx client shared by the connections that use its tickets.
pub type SharedClient = std::sync::Arc<std::sync::Mutex<CephxClient>>;

/// A cephx client: its identity, its secret and its tickets.
#[derive(Debug, Clone)]
pub struct CephxClient {
    name: EntityName,
    secret: CryptoKey,
    want: u32,
    tickets: Tickets,
    global_id: u64,
    server_challenge: Option<u64>,
    /// The server challenge of the last completed handshake: the monitor
    /// keeps it for the session, and an in-session request for a new AUTH
    /// ticket proves our key against it.
    session_challenge: Option<u64>,
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
            session_challenge: None,
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
        self.session_challenge = None;
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
        Ok(self.authenticate(ch.server_challenge, client_challenge, now))
    }

    /// A `CEPHX_GET_AUTH_SESSION_KEY` request: the proof of our key for
    /// `server_challenge`, our AUTH ticket (if any) and the services we
    /// want tickets for.
    fn authenticate(&self, server_challenge: u64, client_challenge: u64, now: SystemTime) -> Bytes {
        let old_ticket = self
            .tickets
            .get(SERVICE_AUTH)
            .map(|t| t.blob.clone())
            .unwrap_or_default();
        let req = Authenticate {
            client_challenge,
            key: challenge_key(&self.secret.secret, server_challenge, client_challenge),
            old_ticket,
            other_keys: self.want_all_needed(now),
        };
        let mut out = BytesMut::new();
        RequestHeader {
            request_type: CEPHX_GET_AUTH_SESSION_KEY,
        }
        .encode(&mut out, 0);
        req.encode(&mut out, 0);
        out.freeze()
    }

    /// The payload of an MAuth asking, in the live session, for a new AUTH
    /// ticket (and the service tickets due): what Ceph's
    /// `CephxClientHandler::build_request` and the kernel's
    /// `ceph_x_build_request` send when the AUTH ticket is due. The proof
    /// uses the server challenge of the session's handshake.
    pub fn auth_ticket_request(&self, now: SystemTime) -> Result<Bytes, CephxError> {
        let challenge = self.session_challenge.ok_or_else(|| {
            CephxError::Protocol("no monitor session to renew the AUTH ticket in".into())
        })?;
        Ok(self.authenticate(challenge, random_u64(), now))
    }

    /// Whether [`CephxClient::auth_ticket_request`] can be built.
    pub fn can_renew_auth_ticket(&self) -> bool {
        self.session_challenge.is_some()
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
        let (session_key, sealed_secret, _) = self.read_auth_reply(&mut r, now)?;
        let mut connection_secret = SecretBytes::default();
        if !sealed_secret.is_empty() {
            // A buffer holding a sealed buffer (encode_encrypt of the
            // secret, then encoded again as a bufferlist).
            let mut sr = Reader::new(&sealed_secret);
            connection_secret = open_from::<SecretBytes>(
                &session_key,
                usage::AUTH_CONNECTION_SECRET,
                &mut sr,
                "connection secret",
            )?;
        }
        self.global_id = global_id;
        self.session_challenge = self.server_challenge.take();
        Ok(Authenticated {
            global_id,
            session_key,
            connection_secret,
        })
    }

    /// Reads the body of a `CEPHX_GET_AUTH_SESSION_KEY` reply: the AUTH
    /// ticket sealed with our key then, from Nautilus on, the sealed
    /// connection secret and the other tickets sealed with the new auth
    /// session key. Stores the tickets; returns the new auth session key,
    /// the sealed secret (empty if none) and the services renewed.
    fn read_auth_reply(
        &mut self,
        r: &mut Reader<'_>,
        now: SystemTime,
    ) -> Result<(SecretKey, Bytes, Vec<u32>), CephxError> {
        let dec = |what| move |e| CephxError::Decode { what, source: e };
        let mut services = self.tickets.read_reply(&self.secret.secret, r, now)?;
        let session_key = self
            .tickets
            .get(SERVICE_AUTH)
            .map(|t| t.session_key.clone())
            .ok_or(CephxError::NoTicket(SERVICE_AUTH))?;
        let mut sealed_secret = Bytes::new();
        if !r.is_empty() {
            sealed_secret = r.read().map_err(dec("connection secret"))?;
            let extra: Bytes = r.read().map_err(dec("extra tickets"))?;
            if !extra.is_empty() {
                let mut er = Reader::new(&extra);
                services.extend(self.tickets.read_reply(&session_key, &mut er, now)?);
            }
        }
        Ok((session_key, sealed_secret, services))
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

    /// Reads the reply to [`CephxClient::service_ticket_request`] or to
    /// [`CephxClient::auth_ticket_request`] and stores the new tickets;
    /// returns the services renewed.
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
        match header.request_type {
            CEPHX_GET_PRINCIPAL_SESSION_KEY => {
                let key = self
                    .tickets
                    .get(SERVICE_AUTH)
                    .map(|t| t.session_key.clone())
                    .ok_or(CephxError::NoTicket(SERVICE_AUTH))?;
                self.tickets.read_reply(&key, &mut r, now)
            }
            CEPHX_GET_AUTH_SESSION_KEY => Ok(self.read_auth_reply(&mut r, now)?.2),
            other => Err(CephxError::Protocol(format!(
                "reply to request type {other:#x} to a ticket request"
            ))),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Cipher;
    use crate::tickets::SERVICE_OSD;
    use crate::wire::{
        open, seal, seal_into, AuthorizeChallenge, AuthorizeReply, ServerChallenge, ServiceTicket,
        TicketBlob,
    };
    use ceph_encoding::{EntityType, UTime};

    /// The session key and connection secret must not reach a log.
    #[test]
    fn debug_output_of_a_handshake_hides_its_secrets() {
        let a = Authenticated {
            global_id: 4242,
            session_key: key(Cipher::Aes, 0x5a),
            connection_secret: crate::SecretBytes::from(&b"SECRETSECRETSECRET"[..]),
        };
        let text = format!("{a:?}");
        for leak in ["SECRET", "83, 69, 67", "90, 90", "5a5a", "Wlpa"] {
            assert!(!text.contains(leak), "{leak} in {text}");
        }
        assert!(text.contains("4242") && text.contains("18 bytes"), "{text}");
    }

    fn key(cipher: Cipher, fill: u8) -> SecretKey {
        SecretKey::new(cipher, &vec![fill; cipher.key_len()]).unwrap()
    }

    /// One ticket of a ticket reply: its client part sealed with `sealer`.
    fn ticket(out: &mut BytesMut, sealer: &SecretKey, service: u32, session: &SecretKey) {
        service.encode(out, 0);
        1u8.encode(out, 0);
        let part = ServiceTicket {
            session_key: CryptoKey {
                created: (1, 0),
                secret: session.clone(),
            },
            validity: UTime::new(3600, 0),
        };
        seal_into(sealer, usage::TICKET_SESSION_KEY, &part, out);
        0u8.encode(out, 0);
        let blob = TicketBlob {
            secret_id: 7,
            blob: Bytes::from_static(b"for the service"),
        };
        Bytes::from(blob.to_bytes(0).to_vec()).encode(out, 0);
    }

    /// AUTH_DONE as a monitor writes it: the auth ticket sealed with the
    /// client's key, the connection secret and an OSD ticket sealed with
    /// the auth session key.
    fn auth_done(client: &SecretKey, auth: &SecretKey, osd: &SecretKey, secret: &[u8]) -> Bytes {
        let mut out = BytesMut::new();
        ResponseHeader {
            request_type: CEPHX_GET_AUTH_SESSION_KEY,
            status: 0,
        }
        .encode(&mut out, 0);
        1u8.encode(&mut out, 0);
        1u32.encode(&mut out, 0);
        ticket(&mut out, client, SERVICE_AUTH, auth);
        let mut sealed_secret = BytesMut::new();
        seal_into(
            auth,
            usage::AUTH_CONNECTION_SECRET,
            &Bytes::copy_from_slice(secret),
            &mut sealed_secret,
        );
        sealed_secret.freeze().encode(&mut out, 0);
        let mut extra = BytesMut::new();
        1u8.encode(&mut extra, 0);
        1u32.encode(&mut extra, 0);
        ticket(&mut extra, auth, SERVICE_OSD, osd);
        extra.freeze().encode(&mut out, 0);
        out.freeze()
    }

    /// Every mix of the user key's, the auth session key's and the service
    /// session key's ciphers: a cluster upgraded from Squid keeps `aes` user
    /// keys while it hands out `aes256k` tickets, and the reverse.
    #[test]
    fn handshake_and_authorizer_with_every_mix_of_ciphers() {
        let ciphers = [Cipher::Aes, Cipher::Aes256k];
        for user in ciphers {
            for auth_c in ciphers {
                for osd_c in ciphers {
                    let (user_key, auth, osd) = (key(user, 1), key(auth_c, 2), key(osd_c, 3));
                    let name = EntityName::new(EntityType::CLIENT, "mix");
                    let secret = CryptoKey {
                        created: (0, 0),
                        secret: user_key.clone(),
                    };
                    let mut client = CephxClient::new(name, secret, SERVICE_OSD);
                    client.mon_request();
                    let challenge = ServerChallenge {
                        server_challenge: 5,
                    }
                    .to_bytes(0);
                    let proof = client
                        .handle_challenge_with(&challenge, 9, SystemTime::now())
                        .unwrap();
                    // The proof is the one the monitor computes for the key.
                    let mut r = Reader::new(&proof);
                    let _: RequestHeader = r.read().unwrap();
                    let a: Authenticate = r.read().unwrap();
                    assert_eq!(a.key, challenge_key(&user_key, 5, 9));

                    let done = client
                        .handle_done(
                            44,
                            &auth_done(&user_key, &auth, &osd, b"0123456789abcdef0123"),
                            SystemTime::now(),
                        )
                        .unwrap_or_else(|e| panic!("{user}/{auth_c}/{osd_c}: {e}"));
                    assert_eq!(done.session_key, auth);
                    assert_eq!(done.connection_secret.as_bytes(), b"0123456789abcdef0123");

                    // The OSD's side of the authorizer exchange, with the
                    // OSD ticket's session key.
                    let mut authorizer = client.authorizer(SERVICE_OSD).unwrap();
                    assert_eq!(authorizer.session_key(), &osd);
                    let ch = seal(
                        &osd,
                        usage::AUTHORIZE_CHALLENGE,
                        &AuthorizeChallenge {
                            server_challenge: 70,
                        },
                    );
                    authorizer.add_challenge(&ch).unwrap();
                    let mut ar = Reader::new(authorizer.bytes());
                    let _: u8 = ar.read().unwrap();
                    let _: u64 = ar.read().unwrap();
                    let _: u32 = ar.read().unwrap();
                    let _: TicketBlob = ar.read().unwrap();
                    let sealed: Bytes = ar.read().unwrap();
                    let msg: crate::wire::Authorize =
                        open(&osd, usage::AUTHORIZE, &sealed, "authorize").unwrap();
                    assert_eq!(msg.server_challenge_plus_one, 71);
                    let mut reply = BytesMut::new();
                    seal_into(
                        &osd,
                        usage::AUTHORIZE_REPLY,
                        &AuthorizeReply {
                            nonce_plus_one: msg.nonce.wrapping_add(1),
                            connection_secret: crate::SecretBytes::from(&b"osd secret"[..]),
                        },
                        &mut reply,
                    );
                    assert_eq!(
                        authorizer.verify_reply(&reply).unwrap().as_bytes(),
                        b"osd secret"
                    );
                }
            }
        }
    }

    /// After a handshake, a new AUTH ticket is asked for in the session
    /// with the handshake's challenge, and its reply (a new auth session
    /// key, the other tickets sealed with it) is taken in.
    #[test]
    fn auth_ticket_renewed_in_the_session() {
        let (user_key, auth, osd) = (
            key(Cipher::Aes, 1),
            key(Cipher::Aes, 2),
            key(Cipher::Aes, 3),
        );
        let name = EntityName::new(EntityType::CLIENT, "renew");
        let secret = CryptoKey {
            created: (0, 0),
            secret: user_key.clone(),
        };
        let mut client = CephxClient::new(name, secret, SERVICE_OSD);
        assert!(client.auth_ticket_request(SystemTime::now()).is_err());
        client.mon_request();
        let challenge = ServerChallenge {
            server_challenge: 5,
        }
        .to_bytes(0);
        client
            .handle_challenge_with(&challenge, 9, SystemTime::now())
            .unwrap();
        client
            .handle_done(
                44,
                &auth_done(&user_key, &auth, &osd, b"secret"),
                SystemTime::now(),
            )
            .unwrap();
        assert!(client.can_renew_auth_ticket());
        let req = client.auth_ticket_request(SystemTime::now()).unwrap();
        let mut r = Reader::new(&req);
        let h: RequestHeader = r.read().unwrap();
        assert_eq!(h.request_type, CEPHX_GET_AUTH_SESSION_KEY);
        let a: Authenticate = r.read().unwrap();
        assert_eq!(a.key, challenge_key(&user_key, 5, a.client_challenge));
        assert!(!a.old_ticket.blob.is_empty());
        // The monitor's answer: a new auth session key.
        let (auth2, osd2) = (key(Cipher::Aes, 4), key(Cipher::Aes, 5));
        let services = client
            .handle_service_ticket_reply(
                &auth_done(&user_key, &auth2, &osd2, b""),
                SystemTime::now(),
            )
            .unwrap();
        assert_eq!(services, [SERVICE_AUTH, SERVICE_OSD]);
        let held = client.tickets().get(SERVICE_AUTH).unwrap();
        assert_eq!(held.session_key, auth2);
        assert_eq!(client.authorizer(SERVICE_OSD).unwrap().session_key(), &osd2);
        // A new handshake forgets the old session's challenge.
        client.mon_request();
        assert!(!client.can_renew_auth_ticket());
    }
}
