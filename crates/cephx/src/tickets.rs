//! The tickets a client holds, one per service, and how they are read from
//! the monitor's ticket replies.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use ceph_encoding::{Decode, Encode, Reader};

use crate::crypto::{usage, SecretKey};
use crate::error::CephxError;
use crate::secret_bytes::SecretBytes;
use crate::wire::{
    open, open_from, seal_into, Authorize, AuthorizeChallenge, AuthorizeReply, ServiceTicket,
    TicketBlob,
};

/// Service bit of the monitors (`CEPH_ENTITY_TYPE_MON`).
pub const SERVICE_MON: u32 = 0x01;
/// Service bit of the OSDs.
pub const SERVICE_OSD: u32 = 0x04;
/// Service bit of the MDSs.
pub const SERVICE_MDS: u32 = 0x02;
/// Service bit of the managers.
pub const SERVICE_MGR: u32 = 0x10;
/// Service bit of the auth service itself.
pub const SERVICE_AUTH: u32 = 0x20;

/// One service's ticket: the session key, the opaque ticket, its times.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// The service (one of the `SERVICE_*` bits).
    pub service: u32,
    /// Key for this session with the service.
    pub session_key: SecretKey,
    /// The ticket to show the service.
    pub blob: TicketBlob,
    /// When it stops being valid; `None` if the monitor gave no validity.
    pub expires: Option<SystemTime>,
    /// When to ask for a new one (three quarters of the way).
    pub renew_after: Option<SystemTime>,
}

impl Ticket {
    /// Whether the ticket can still be used at `now`.
    pub fn is_valid(&self, now: SystemTime) -> bool {
        self.expires.is_none_or(|e| now < e)
    }

    /// Whether it is time to renew it at `now`.
    pub fn needs_renewal(&self, now: SystemTime) -> bool {
        self.renew_after.is_some_and(|r| now >= r)
    }
}

/// The tickets of one client, by service.
#[derive(Debug, Clone, Default)]
pub struct Tickets {
    by_service: BTreeMap<u32, Ticket>,
}

impl Tickets {
    /// The ticket of `service`, if any.
    pub fn get(&self, service: u32) -> Option<&Ticket> {
        self.by_service.get(&service)
    }

    /// Forgets the ticket of `service`.
    pub fn invalidate(&mut self, service: u32) {
        self.by_service.remove(&service);
    }

    /// The services among `want` that lack a usable ticket or are due for
    /// renewal at `now`.
    pub fn need(&self, want: u32, now: SystemTime) -> u32 {
        (0..32)
            .map(|b| 1u32 << b)
            .filter(|bit| want & bit != 0)
            .filter(|bit| match self.by_service.get(bit) {
                None => true,
                Some(t) => !t.is_valid(now) || t.needs_renewal(now),
            })
            .fold(0, |acc, bit| acc | bit)
    }

    /// The earliest renewal time among the held tickets.
    pub fn next_renewal(&self) -> Option<SystemTime> {
        self.by_service.values().filter_map(|t| t.renew_after).min()
    }

    /// Reads a ticket reply (`service_ticket_reply`): a version byte, a
    /// count, then per service its id, a version byte, the client part
    /// sealed with `key`, and the ticket (sealed with the service session
    /// key when flagged). Stores each ticket.
    pub fn read_reply(
        &mut self,
        key: &SecretKey,
        reader: &mut Reader<'_>,
        now: SystemTime,
    ) -> Result<Vec<u32>, CephxError> {
        let dec = |e| CephxError::Decode {
            what: "ticket reply",
            source: e,
        };
        let _version: u8 = reader.read().map_err(dec)?;
        let count = reader.read_len("tickets", 4 + 1 + 4 + 1 + 4).map_err(dec)?;
        let mut services = Vec::with_capacity(count);
        for _ in 0..count {
            let service: u32 = reader.read().map_err(dec)?;
            let _ticket_v: u8 = reader.read().map_err(dec)?;
            let client_part: ServiceTicket =
                open_from(key, usage::TICKET_SESSION_KEY, reader, "service ticket")?;
            let sealed_ticket: u8 = reader.read().map_err(dec)?;
            let blob_bytes: Bytes = if sealed_ticket != 0 {
                // Sealed with the session key of the ticket it replaces
                // (the monitor does this when an old ticket was shown).
                let old_key = self
                    .by_service
                    .get(&service)
                    .map(|t| t.session_key.clone())
                    .ok_or_else(|| {
                        CephxError::Protocol(format!(
                            "ticket for service {service:#x} sealed with a session key we do not hold"
                        ))
                    })?;
                let sealed: Bytes = reader.read().map_err(dec)?;
                let plain = old_key.open(usage::TICKET_BLOB, &sealed)?;
                let mut r = Reader::new(&plain);
                let inner: Bytes = r.read().map_err(dec)?;
                inner
            } else {
                reader.read().map_err(dec)?
            };
            let blob = TicketBlob::decode_exact(&blob_bytes).map_err(dec)?;
            let validity = Duration::new(
                u64::from(client_part.validity.sec),
                client_part.validity.nsec.min(999_999_999),
            );
            let (expires, renew_after) = if validity.is_zero() {
                (None, None)
            } else {
                (Some(now + validity), Some(now + validity - validity / 4))
            };
            tracing::debug!(
                service = format_args!("{service:#x}"),
                session_key = %client_part.session_key.cipher(),
                validity_s = validity.as_secs(),
                "cephx ticket"
            );
            self.by_service.insert(
                service,
                Ticket {
                    service,
                    session_key: client_part.session_key.secret,
                    blob,
                    expires,
                    renew_after,
                },
            );
            services.push(service);
        }
        Ok(services)
    }

    /// Builds an authorizer for `service` (CephXTicketHandler::build_authorizer).
    pub fn authorizer(
        &self,
        service: u32,
        global_id: u64,
        nonce: u64,
    ) -> Result<Authorizer, CephxError> {
        let ticket = self
            .by_service
            .get(&service)
            .ok_or(CephxError::NoTicket(service))?;
        let mut base = BytesMut::new();
        1u8.encode(&mut base, 0);
        global_id.encode(&mut base, 0);
        service.encode(&mut base, 0);
        ticket.blob.encode(&mut base, 0);
        let base = base.freeze();
        let mut a = Authorizer {
            base,
            bytes: Bytes::new(),
            nonce,
            session_key: ticket.session_key.clone(),
        };
        a.seal(None);
        Ok(a)
    }
}

/// What a client shows a service (OSD, manager) to be let in: the ticket
/// and a nonce sealed with the ticket's session key.
#[derive(Debug, Clone)]
pub struct Authorizer {
    base: Bytes,
    bytes: Bytes,
    nonce: u64,
    session_key: SecretKey,
}

impl Authorizer {
    fn seal(&mut self, challenge: Option<u64>) {
        let msg = Authorize {
            nonce: self.nonce,
            have_challenge: challenge.is_some(),
            server_challenge_plus_one: challenge.map_or(0, |c| c.wrapping_add(1)),
        };
        let mut out = BytesMut::from(&self.base[..]);
        seal_into(&self.session_key, usage::AUTHORIZE, &msg, &mut out);
        self.bytes = out.freeze();
    }

    /// The authorizer's bytes, to send in AUTH_REQUEST.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The session key shared with the service through this ticket.
    pub fn session_key(&self) -> &SecretKey {
        &self.session_key
    }

    /// Answers the service's challenge (CEPHX_V2): the next
    /// [`Authorizer::bytes`] carry the challenge plus one.
    pub fn add_challenge(&mut self, challenge: &[u8]) -> Result<(), CephxError> {
        if challenge.is_empty() {
            self.seal(None);
            return Ok(());
        }
        let ch: AuthorizeChallenge = open(
            &self.session_key,
            usage::AUTHORIZE_CHALLENGE,
            challenge,
            "authorizer challenge",
        )?;
        self.seal(Some(ch.server_challenge));
        Ok(())
    }

    /// Checks the service's reply (our nonce plus one) and returns the
    /// connection secret it carries (empty when the service sent none).
    pub fn verify_reply(&self, reply: &[u8]) -> Result<SecretBytes, CephxError> {
        let mut r = Reader::new(reply);
        let reply: AuthorizeReply = open_from(
            &self.session_key,
            usage::AUTHORIZE_REPLY,
            &mut r,
            "authorizer reply",
        )?;
        if reply.nonce_plus_one != self.nonce.wrapping_add(1) {
            return Err(CephxError::Protocol(
                "the service's authorizer reply does not match our nonce".into(),
            ));
        }
        Ok(reply.connection_secret)
    }
}
