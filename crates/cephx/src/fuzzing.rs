//! The body of the `cephx_reply` fuzz target, public so that an ordinary
//! test replays the fuzzer's saved corpus through exactly the same code.
//!
//! The decoders a client runs on what a monitor or a service sends are
//! driven with the input: [`ServerChallenge`] and the other wire structs,
//! [`CephxClient::handle_done`] on a client that has answered a challenge,
//! [`Tickets::read_reply`], [`Authorizer::add_challenge`] and
//! [`Authorizer::verify_reply`], and [`open`]. None may panic.
//!
//! Most of those decoders sit behind AES: random bytes never get past the
//! decryption. So the input is also read as a small *template* (see
//! [`expand`]) in which the fuzzer marks spans to be sealed with one of the
//! fixed keys the target's client and authorizer use, or wrapped in a length
//! prefix; the expanded bytes are then driven through the same decoders, so
//! the fuzzer reaches the ticket, connection-secret and authorizer decoders
//! behind the encryption.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use ceph_encoding::{Decode, Encode, EntityName, EntityType, Reader, UTime};

use crate::client::CephxClient;
use crate::crypto::{usage, SecretKey};
use crate::keyring::CryptoKey;
use crate::tickets::{Authorizer, Tickets, SERVICE_AUTH, SERVICE_MON, SERVICE_OSD};
use crate::wire::{
    open, Authenticate, Authorize, AuthorizeChallenge, AuthorizeReply, RequestHeader,
    ResponseHeader, ServerChallenge, ServiceTicket, ServiceTicketRequest, TicketBlob,
};

/// The client's secret (template key selector 0).
pub const CLIENT_KEY: [u8; 16] = *b"fuzz-client-key!";
/// The auth session key the seeds give the client (selector 1).
pub const SESSION_KEY: [u8; 16] = *b"fuzz-session-key";
/// The session key of the OSD ticket the authorizer is built from
/// (selector 2).
pub const SERVICE_KEY: [u8; 16] = *b"fuzz-service-key";
/// The authorizer's nonce (its reply must carry this plus one).
pub const AUTHORIZER_NONCE: u64 = 0x0123_4567_89ab_cdef;
/// The global id handed to `handle_done`.
pub const GLOBAL_ID: u64 = 4242;

/// The template escape byte.
pub const ESCAPE: u8 = 0xe5;
/// Template flag: no `u32` length in front of the result (a bare
/// ciphertext, as `add_challenge` takes).
pub const FLAG_BARE: u8 = 0x80;
/// Template key selector meaning "do not seal, only add the length".
pub const KEY_NONE: u8 = 3;
/// The flags byte that stands for a literal [`ESCAPE`] byte.
pub const LITERAL_ESCAPE: u8 = 0xff;
/// How deeply template spans may nest.
pub const MAX_TEMPLATE_DEPTH: u32 = 4;

/// A fixed time, so that a run is reproducible.
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn key(selector: u8) -> Option<SecretKey> {
    match selector & 3 {
        0 => Some(SecretKey::aes(CLIENT_KEY)),
        1 => Some(SecretKey::aes(SESSION_KEY)),
        2 => Some(SecretKey::aes(SERVICE_KEY)),
        _ => None,
    }
}

/// Expands a template: bytes are copied, except that [`ESCAPE`] starts a
/// span `ESCAPE flags len body[len]` whose body (itself a template, up to
/// [`MAX_TEMPLATE_DEPTH`] deep) is expanded, sealed with the key chosen by
/// `flags & 3` (0 client, 1 session, 2 service, 3 none) and written with a
/// `u32` length in front unless `flags` has [`FLAG_BARE`]. `ESCAPE
/// LITERAL_ESCAPE` is the escape byte itself; a span cut short by the end
/// of the input is copied as it is.
pub fn expand(template: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(template.len());
    expand_into(template, 0, &mut out);
    out
}

fn expand_into(mut t: &[u8], depth: u32, out: &mut Vec<u8>) {
    while let Some((&b, rest)) = t.split_first() {
        t = rest;
        if b != ESCAPE {
            out.push(b);
            continue;
        }
        match t {
            [LITERAL_ESCAPE, rest @ ..] => {
                out.push(ESCAPE);
                t = rest;
            }
            [flags, len, rest @ ..] if usize::from(*len) <= rest.len() => {
                let (body, rest) = rest.split_at(usize::from(*len));
                t = rest;
                let mut inner = Vec::new();
                if depth < MAX_TEMPLATE_DEPTH {
                    expand_into(body, depth + 1, &mut inner);
                } else {
                    inner.extend_from_slice(body);
                }
                let sealed = match key(*flags) {
                    Some(k) => k.seal(0, &inner),
                    None => inner,
                };
                if flags & FLAG_BARE == 0 {
                    let len = u32::try_from(sealed.len()).unwrap_or(u32::MAX);
                    out.extend_from_slice(&len.to_le_bytes());
                }
                out.extend_from_slice(&sealed);
            }
            _ => {
                out.push(b);
                out.extend_from_slice(t);
                return;
            }
        }
    }
}

/// Writes `plain` as template text (escaping the escape byte).
pub fn literal(plain: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(plain.len());
    for &b in plain {
        out.push(b);
        if b == ESCAPE {
            out.push(LITERAL_ESCAPE);
        }
    }
    out
}

/// A template span: `body` (template text) sealed with key `selector`
/// (or only length-prefixed, with [`KEY_NONE`]), bare or not. `None` if
/// the body is longer than a span can hold (255 bytes).
pub fn span(selector: u8, bare: bool, body: &[u8]) -> Option<Vec<u8>> {
    let len = u8::try_from(body.len()).ok()?;
    let flags = (selector & 3) | if bare { FLAG_BARE } else { 0 };
    let mut out = vec![ESCAPE, flags, len];
    out.extend_from_slice(body);
    Some(out)
}

/// The client, having answered a monitor's challenge: what
/// [`CephxClient::handle_done`] is called on.
fn challenged_client() -> Option<CephxClient> {
    let name = EntityName::new(EntityType::CLIENT, "fuzz");
    let secret = CryptoKey {
        created: (1, 2),
        secret: SecretKey::aes(CLIENT_KEY),
    };
    let mut client = CephxClient::new(name, secret, SERVICE_MON | SERVICE_OSD);
    let challenge = ServerChallenge {
        server_challenge: 77,
    }
    .to_bytes(0);
    client.handle_challenge_with(&challenge, 99, now()).ok()?;
    Some(client)
}

/// The plaintext of a ticket's client part: `session` for `validity_sec`.
pub fn service_ticket(session: [u8; 16], validity_sec: u32) -> Vec<u8> {
    ServiceTicket {
        session_key: CryptoKey {
            created: (3, 4),
            secret: SecretKey::aes(session),
        },
        validity: UTime::new(validity_sec, 0),
    }
    .to_bytes(0)
    .to_vec()
}

/// A ticket reply (`service_ticket_reply`) template: per service, its
/// client part sealed with `client_part_key`, and a plain ticket blob.
pub fn ticket_reply_template(
    client_part_key: u8,
    tickets: &[(u32, [u8; 16], u32)],
) -> Option<Vec<u8>> {
    let mut t = literal(&[1]);
    t.extend(literal(&u32::try_from(tickets.len()).ok()?.to_le_bytes()));
    for (service, session, validity) in tickets {
        t.extend(literal(&service.to_le_bytes()));
        t.extend(literal(&[1]));
        t.extend(span(
            client_part_key,
            false,
            &literal(&service_ticket(*session, *validity)),
        )?);
        t.extend(literal(&[0]));
        let blob = TicketBlob {
            secret_id: u64::from(*service),
            blob: Bytes::from_static(b"opaque ticket"),
        }
        .to_bytes(0);
        t.extend(literal(&Bytes::from(blob.to_vec()).to_bytes(0)));
    }
    Some(t)
}

/// The tickets the authorizer is made from: one for the OSDs, whose
/// session key is [`SERVICE_KEY`].
fn osd_tickets() -> Option<&'static Tickets> {
    static TICKETS: OnceLock<Option<Tickets>> = OnceLock::new();
    TICKETS
        .get_or_init(|| {
            let reply = expand(&ticket_reply_template(
                0,
                &[(SERVICE_OSD, SERVICE_KEY, 3600)],
            )?);
            let mut tickets = Tickets::default();
            tickets
                .read_reply(&SecretKey::aes(CLIENT_KEY), &mut Reader::new(&reply), now())
                .ok()?;
            Some(tickets)
        })
        .as_ref()
}

fn authorizer() -> Option<Authorizer> {
    osd_tickets()?
        .authorizer(SERVICE_OSD, GLOBAL_ID, AUTHORIZER_NONCE)
        .ok()
}

/// What the target found out about one input (for tests and seeds).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reached {
    /// `handle_done` accepted the input.
    pub handle_done: bool,
    /// `Tickets::read_reply` accepted it.
    pub read_reply: bool,
    /// `Authorizer::add_challenge` accepted it.
    pub add_challenge: bool,
    /// `Authorizer::verify_reply` accepted it.
    pub verify_reply: bool,
}

/// Drives every cephx reply decoder with `data` as it is and, when it
/// differs, with `data` expanded as a template (see [`expand`]).
///
/// # Panics
///
/// Only on a bug: a decoder that panics, or an accepted handshake whose
/// session key is not the auth ticket's.
pub fn cephx_reply(data: &[u8]) -> Reached {
    let mut reached = drive(data);
    let expanded = expand(data);
    if expanded != data {
        let more = drive(&expanded);
        reached.handle_done |= more.handle_done;
        reached.read_reply |= more.read_reply;
        reached.add_challenge |= more.add_challenge;
        reached.verify_reply |= more.verify_reply;
    }
    reached
}

fn drive(data: &[u8]) -> Reached {
    let mut reached = Reached::default();

    // The wire structures, bare.
    let _ = ServerChallenge::decode_exact(data);
    let _ = ResponseHeader::decode_exact(data);
    let _ = RequestHeader::decode_exact(data);
    let _ = TicketBlob::decode_exact(data);
    let _ = ServiceTicket::decode_exact(data);
    let _ = AuthorizeReply::decode_exact(data);
    let _ = AuthorizeChallenge::decode_exact(data);
    let _ = Authenticate::decode_exact(data);
    let _ = Authorize::decode_exact(data);
    let _ = ServiceTicketRequest::decode_exact(data);
    let _ = CryptoKey::decode_exact(data);

    // Sealed ones, with every key the template can seal with.
    // (aes256k: the checksum stops random bytes, but every length and
    // every usage goes through its framing checks.)
    let aes256k = SecretKey::aes256k([0x6b; 32]);
    for k in (0..3).filter_map(key).chain([aes256k]) {
        let _ = open::<ServiceTicket>(&k, usage::TICKET_SESSION_KEY, data, "service ticket");
        let _ = open::<AuthorizeReply>(&k, usage::AUTHORIZE_REPLY, data, "authorizer reply");
        let _ = open::<AuthorizeChallenge>(&k, usage::AUTHORIZE_CHALLENGE, data, "challenge");
        let _ = open::<Bytes>(&k, usage::AUTH_CONNECTION_SECRET, data, "connection secret");
    }

    // AUTH_DONE after a challenge.
    if let Some(mut client) = challenged_client() {
        if let Ok(done) = client.handle_done(GLOBAL_ID, data, now()) {
            reached.handle_done = true;
            let auth = client.tickets().get(SERVICE_AUTH);
            assert_eq!(
                auth.map(|t| t.session_key.as_bytes()),
                Some(done.session_key.as_bytes()),
                "the session key is the auth ticket's"
            );
            assert_eq!(client.global_id(), GLOBAL_ID);
            let _ = client.authorizer(SERVICE_OSD);
        }
    }

    // A ticket reply, for a client holding an OSD ticket (so that a ticket
    // sealed with the old session key can be opened).
    if let Some(tickets) = osd_tickets() {
        let mut tickets = tickets.clone();
        let mut r = Reader::new(data);
        if let Ok(services) = tickets.read_reply(&SecretKey::aes(CLIENT_KEY), &mut r, now()) {
            reached.read_reply = true;
            for s in services {
                assert!(tickets.get(s).is_some(), "a read ticket is held");
            }
        }
    }

    // A service's answers to our authorizer.
    if let Some(mut a) = authorizer() {
        reached.verify_reply = a.verify_reply(data).is_ok();
        if a.add_challenge(data).is_ok() {
            reached.add_challenge = true;
            let _ = a.verify_reply(data);
        }
    }
    reached
}

/// Seed templates: an AUTH_DONE payload with a connection secret and extra
/// tickets, a ticket reply, an authorizer challenge and an authorizer
/// reply, each of which the decoders accept once expanded.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let mut response = BytesMut::new();
    ResponseHeader {
        request_type: crate::wire::CEPHX_GET_AUTH_SESSION_KEY,
        status: 0,
    }
    .encode(&mut response, 0);
    let auth_reply = ticket_reply_template(0, &[(SERVICE_AUTH, SESSION_KEY, 3600)]);
    let extra = ticket_reply_template(
        1,
        &[
            (SERVICE_MON, SERVICE_KEY, 3600),
            (SERVICE_OSD, SERVICE_KEY, 600),
        ],
    );
    let secret = literal(&Bytes::from_static(b"0123456789abcdef0123456789abcdef").to_bytes(0));
    // The secret is sealed with its own length in front (encode_encrypt),
    // and that bufferlist is sent as a bufferlist.
    let secret = span(1, false, &secret).and_then(|s| span(KEY_NONE, false, &s));
    if let (Some(auth_reply), Some(extra), Some(secret)) = (auth_reply, extra, secret) {
        let mut done = literal(&response);
        done.extend_from_slice(&auth_reply);
        // Without the secret and the extra tickets (an older monitor).
        out.push(("auth_done_short", done.clone()));
        done.extend_from_slice(&secret);
        if let Some(extra) = span(KEY_NONE, false, &extra) {
            done.extend_from_slice(&extra);
            out.push(("auth_done", done));
        }
    }
    // A renewal: the OSD ticket sealed with the session key it replaces.
    if let Some(t) = ticket_reply_template(0, &[(SERVICE_OSD, SESSION_KEY, 60)]) {
        out.push(("ticket_reply", t));
    }
    let challenge = literal(
        &AuthorizeChallenge {
            server_challenge: 5,
        }
        .to_bytes(0),
    );
    if let Some(s) = span(2, true, &challenge) {
        out.push(("authorizer_challenge", s));
    }
    let reply = literal(
        &AuthorizeReply {
            nonce_plus_one: AUTHORIZER_NONCE.wrapping_add(1),
            connection_secret: crate::SecretBytes::from(&b"secret"[..]),
        }
        .to_bytes(0),
    );
    if let Some(s) = span(2, false, &reply) {
        out.push(("authorizer_reply", s));
    }
    out
}

/// The body of the `cephx_aes256k` fuzz target: the aes256k cipher on
/// any input. The input is decrypted as it is (it must be refused, never
/// panic), and read as `usage, confounder[16], plaintext`: encrypted with
/// a fixed key, the result must decrypt to the plaintext, and with one bit
/// flipped (at a place the input picks) must be refused. Every length goes
/// through the ciphertext stealing both ways.
///
/// # Panics
///
/// Only on a bug: a round trip that loses the plaintext, or a tampered
/// message that is accepted.
pub fn aes256k(data: &[u8]) {
    use crate::crypto::krb5;
    const KEY: [u8; krb5::KEY_LEN] = *b"fuzz-aes256k-key-fuzz-aes256k-ky";
    let Some((&usage_byte, rest)) = data.split_first() else {
        return;
    };
    let usage = u32::from(usage_byte);
    let _ = krb5::decrypt(&KEY, usage, rest);
    let _ = SecretKey::aes256k(KEY).open(usage, rest);
    let Some((confounder, plaintext)) = rest.split_first_chunk::<{ krb5::CONFOUNDER_LEN }>() else {
        return;
    };
    let message = krb5::encrypt_with(&KEY, usage, confounder, plaintext);
    assert_eq!(
        message.len(),
        krb5::CONFOUNDER_LEN + plaintext.len() + krb5::MAC_LEN
    );
    assert_eq!(
        krb5::decrypt(&KEY, usage, &message).ok().as_deref(),
        Some(plaintext),
        "round trip"
    );
    let mut tampered = message.clone();
    let at = (usize::from(usage_byte) * 7) % (tampered.len() * 8);
    tampered[at / 8] ^= 1 << (at % 8);
    assert!(
        krb5::decrypt(&KEY, usage, &tampered).is_err(),
        "a flipped bit was accepted"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_reach_their_decoders() {
        let seeds = seeds();
        assert_eq!(seeds.len(), 5);
        for (name, seed) in seeds {
            let r = cephx_reply(&seed);
            let ok = match name {
                "auth_done" | "auth_done_short" => r.handle_done,
                "ticket_reply" => r.read_reply,
                "authorizer_challenge" => r.add_challenge,
                "authorizer_reply" => r.verify_reply,
                _ => false,
            };
            assert!(ok, "{name}: {r:?}");
        }
    }

    #[test]
    fn templates() {
        assert_eq!(expand(&[1, 2, 3]), [1, 2, 3]);
        assert_eq!(expand(&[ESCAPE, LITERAL_ESCAPE, 7]), [ESCAPE, 7]);
        assert_eq!(expand(&[ESCAPE, 3, 2, 8, 9]), [2, 0, 0, 0, 8, 9]);
        assert_eq!(expand(&[ESCAPE, 3 | FLAG_BARE, 1, 8]), [8]);
        // Cut short: copied as it is.
        assert_eq!(expand(&[ESCAPE, 3, 9, 1]), [ESCAPE, 3, 9, 1]);
        assert_eq!(expand(&literal(&[ESCAPE, 1])), [ESCAPE, 1]);
        let sealed = expand(&[ESCAPE, 2 | FLAG_BARE, 1, 42]);
        assert_eq!(SecretKey::aes(SERVICE_KEY).open(0, &sealed).unwrap(), [42]);
    }

    #[test]
    fn aes256k_body_takes_every_length() {
        for len in 0..80 {
            let data: Vec<u8> = (0..len).map(|i| i as u8 ^ 0x3c).collect();
            aes256k(&data);
        }
    }

    #[test]
    fn accepts_junk() {
        for data in [
            &[][..],
            &[0; 7],
            &[0xff; 64],
            &[ESCAPE; 40],
            &[ESCAPE, 0, 255],
        ] {
            let _ = cephx_reply(data);
        }
    }
}
