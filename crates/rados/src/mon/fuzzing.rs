//! The body of the `mon_client` fuzz target, public so that `cargo test`
//! replays the fuzzer's saved corpus through the same code; and the
//! scripted-monitor pieces the core's tests share with it.
//!
//! The input drives a mounted [`MonCore`] through a script of steps: a
//! monitor message of a known type with a front part from the input, time
//! passing (with the timeouts a driver would run), new requests, session
//! events, and monmaps of our cluster or another. The core must never
//! panic, never answer a request twice or one that was never made, and
//! never ask to be woken in the past after a timeout was handled (a driver
//! would spin).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use ceph_cephx::fuzzing::{
    expand, literal, span, ticket_reply_template, CLIENT_KEY, KEY_NONE, SERVICE_KEY, SESSION_KEY,
};
use ceph_cephx::wire::{
    ResponseHeader, ServerChallenge, CEPHX_GET_AUTH_SESSION_KEY, CEPHX_GET_PRINCIPAL_SESSION_KEY,
};
use ceph_cephx::{
    CephxClient, CryptoKey, SecretKey, SharedClient, SERVICE_AUTH, SERVICE_MON, SERVICE_OSD,
};
use ceph_encoding::{Encode, EntityName, EntityType, UTime, Uuid};
use ceph_msgr2::session::{Event, Message};

use super::core::{Action, MonCore};
use super::messages::*;
use super::pending::RequestKind;
use super::types::MonClientOptions;
use crate::config::{MonEndpoint, Protocol, Timeouts};
use crate::monmap::{MonInfo, MonMap};

/// The fsid of the scripted cluster.
pub const FSID: Uuid = Uuid([0x88; 16]);
/// The fsid of another cluster.
pub const OTHER_FSID: Uuid = Uuid([0x11; 16]);
/// The global id the scripted monitors hand out.
pub const GLOBAL_ID: u64 = 4242;

/// The wall-clock time the scripts start at.
pub fn wall0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// Monitor `i` of the scripted cluster (`10.0.0.i:3300`).
pub fn endpoint(i: usize) -> MonEndpoint {
    MonEndpoint {
        protocol: Protocol::V2,
        host: format!("10.0.0.{i}"),
        port: 3300,
    }
}

/// Options for a client of `mons` scripted monitors.
pub fn options(mons: usize, timeouts: Timeouts) -> MonClientOptions {
    MonClientOptions {
        mons: (1..=mons).map(|i| vec![endpoint(i)]).collect(),
        name: EntityName::new(EntityType::CLIENT, "admin"),
        key: None,
        mon_modes: vec![crate::config::MODE_CRC],
        connect_timeout: Duration::from_secs(60),
        attempt_timeout: Duration::from_secs(3),
        want_services: SERVICE_MON | SERVICE_OSD,
        hostname: "test".into(),
        timeouts,
    }
}

/// An MMonMap of cluster `fsid` listing `mons` monitors.
pub fn monmap_message(fsid: Uuid, mons: usize) -> Message {
    let mut map = MonMap {
        fsid,
        epoch: 1,
        ..MonMap::default()
    };
    for i in 1..=mons {
        let addr = ceph_encoding::EntityAddr::new(
            ceph_encoding::AddrType::MSGR2,
            std::net::SocketAddr::from(([10, 0, 0, u8::try_from(i).unwrap_or(1)], 3300)),
            0,
        );
        map.add(MonInfo::new(
            format!("m{i}"),
            ceph_encoding::EntityAddrVec::single(addr),
        ));
    }
    let m = MonMapMessage {
        monmap: map.to_bytes(ceph_encoding::features::CEPH_FEATURES_ALL),
    };
    Message::new(MSG_MON_MAP, 1, 1, m.to_bytes(0))
}

/// A cephx client wanting the services `want` that did a handshake at
/// [`wall0`]: an AUTH ticket of `auth_secs`, then MON and OSD tickets of
/// `service_secs`. `None` only if the cephx crate's templates stop working
/// (a bug there).
pub fn cephx_client(auth_secs: u32, service_secs: u32, want: u32) -> Option<SharedClient> {
    let key = CryptoKey {
        created: (1, 2),
        secret: SecretKey::aes(CLIENT_KEY),
    };
    let name = EntityName::new(EntityType::CLIENT, "admin");
    let mut c = CephxClient::new(name, key, want);
    let challenge = ServerChallenge {
        server_challenge: 77,
    }
    .to_bytes(0);
    c.handle_challenge_with(&challenge, 99, wall0()).ok()?;
    let t = auth_ticket_template(auth_secs)?;
    c.handle_done(GLOBAL_ID, &expand(&t), wall0()).ok()?;
    c.handle_service_ticket_reply(&service_reply(service_secs)?, wall0())
        .ok()?;
    Some(Arc::new(Mutex::new(c)))
}

/// The template of a `CEPHX_GET_AUTH_SESSION_KEY` reply's start: the
/// header and an AUTH ticket of `auth_secs` sealed with the client's key.
fn auth_ticket_template(auth_secs: u32) -> Option<Vec<u8>> {
    let mut t = literal(
        &ResponseHeader {
            request_type: CEPHX_GET_AUTH_SESSION_KEY,
            status: 0,
        }
        .to_bytes(0),
    );
    t.extend(ticket_reply_template(
        0,
        &[(SERVICE_AUTH, SESSION_KEY, auth_secs)],
    )?);
    Some(t)
}

/// A `CEPHX_GET_PRINCIPAL_SESSION_KEY` reply: MON and OSD tickets of
/// `secs`, sealed with the auth session key of [`cephx_client`].
pub fn service_reply(secs: u32) -> Option<Bytes> {
    let mut t = literal(
        &ResponseHeader {
            request_type: CEPHX_GET_PRINCIPAL_SESSION_KEY,
            status: 0,
        }
        .to_bytes(0),
    );
    t.extend(ticket_reply_template(
        1,
        &[
            (SERVICE_MON, SERVICE_KEY, secs),
            (SERVICE_OSD, SERVICE_KEY, secs),
        ],
    )?);
    Some(Bytes::from(expand(&t)))
}

/// A `CEPHX_GET_AUTH_SESSION_KEY` reply as a monitor sends it in the
/// session: an AUTH ticket of `auth_secs` sealed with the client's key, no
/// connection secret, and MON and OSD tickets of `service_secs` sealed
/// with the new auth session key.
pub fn auth_ticket_reply(auth_secs: u32, service_secs: u32) -> Option<Bytes> {
    let mut t = auth_ticket_template(auth_secs)?;
    t.extend(literal(&Bytes::new().to_bytes(0)));
    let extra = ticket_reply_template(
        1,
        &[
            (SERVICE_MON, SERVICE_KEY, service_secs),
            (SERVICE_OSD, SERVICE_KEY, service_secs),
        ],
    )?;
    t.extend(span(KEY_NONE, false, &extra)?);
    Some(Bytes::from(expand(&t)))
}

/// The message types a script step can send.
pub const MESSAGE_TYPES: [u16; 9] = [
    MSG_MON_MAP,
    MSG_MON_SUBSCRIBE_ACK,
    MSG_AUTH_REPLY,
    MSG_MON_GET_VERSION_REPLY,
    MSG_OSD_MAP,
    MSG_POOLOP_REPLY,
    MSG_MON_COMMAND_ACK,
    MSG_CONFIG,
    0x7777,
];

/// Reads a script from the input.
struct Script<'a> {
    data: &'a [u8],
}

impl Script<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(*b)
    }

    fn bytes(&mut self, n: usize) -> Bytes {
        let n = n.min(self.data.len());
        let (a, rest) = self.data.split_at(n);
        self.data = rest;
        Bytes::copy_from_slice(a)
    }
}

/// A mounted core and the bookkeeping of the invariants.
struct Run {
    core: MonCore,
    now: Instant,
    attempt: Option<u64>,
    submitted: BTreeSet<u64>,
    completed: BTreeSet<u64>,
}

impl Run {
    fn drain(&mut self) {
        while let Some(a) = self.core.poll_action() {
            match a {
                Action::Connect { attempt, .. } => self.attempt = Some(attempt),
                Action::Complete { tid, .. } => {
                    assert!(
                        self.submitted.contains(&tid),
                        "answer to tid {tid}, never made"
                    );
                    assert!(self.completed.insert(tid), "tid {tid} answered twice");
                }
                _ => {}
            }
        }
    }

    /// Runs the timeouts due up to `end`, as a driver would.
    fn run_to(&mut self, end: Instant) {
        for _ in 0..1000 {
            let Some(due) = self.core.poll_timeout().filter(|d| *d <= end) else {
                break;
            };
            self.now = self.now.max(due);
            self.core.handle_timeout(self.now);
            self.drain();
            if let Some(next) = self.core.poll_timeout() {
                assert!(
                    next > self.now,
                    "a wake-up in the past: the driver would spin"
                );
            }
        }
        self.now = self.now.max(end);
    }

    fn connect(&mut self) {
        if let Some(a) = self.attempt.take() {
            self.core.handle_connected(self.now, a, GLOBAL_ID);
            self.drain();
        }
    }
}

/// Drives a mounted [`MonCore`] with the script in `data` (see the module
/// documentation).
///
/// # Panics
///
/// Only on a bug: a panic in the core, a request answered twice or never
/// made, a wake-up asked for in the past.
pub fn mon_client(data: &[u8]) {
    let _ = run_script(data);
}

/// What a script reached.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reached {
    /// Requests made.
    pub submitted: usize,
    /// Requests answered (with a reply or an error).
    pub completed: usize,
    /// Whether a session was open at the end of the script (before the
    /// final minute).
    pub connected: bool,
}

/// [`mon_client`], telling what the script reached.
///
/// # Panics
///
/// As [`mon_client`].
pub fn run_script(data: &[u8]) -> Reached {
    let mut s = Script { data };
    let flags = s.byte().unwrap_or(0);
    let timeouts = Timeouts {
        mon_op: (flags & 2 != 0).then(|| Duration::from_secs(5)),
        ..Timeouts::default()
    };
    let cephx = if flags & 1 != 0 {
        // The handshake's crypto once; each run gets its own copy.
        static PROTOTYPE: OnceLock<Option<SharedClient>> = OnceLock::new();
        PROTOTYPE
            .get_or_init(|| cephx_client(3600, 600, SERVICE_MON | SERVICE_OSD))
            .as_ref()
            .and_then(|c| c.lock().ok().map(|c| Arc::new(Mutex::new(c.clone()))))
    } else {
        None
    };
    let now = Instant::now();
    let core = MonCore::new(options(3, timeouts), cephx, now, wall0(), 0);
    let mut run = Run {
        core,
        now,
        attempt: None,
        submitted: BTreeSet::new(),
        completed: BTreeSet::new(),
    };
    run.drain();
    run.connect();
    run.core
        .handle_event(run.now, Event::Message(monmap_message(FSID, 3)));
    run.drain();
    while let Some(op) = s.byte() {
        let arg = s.byte().unwrap_or(0);
        match op % 8 {
            0..=3 => {
                let msg_type = MESSAGE_TYPES[usize::from(op / 8) % MESSAGE_TYPES.len()];
                let front = s.bytes(usize::from(arg));
                let tid = u64::from(s.byte().unwrap_or(0) % 8);
                let m = Message::new(msg_type, 1, 1, front).with_tid(tid);
                run.core.handle_event(run.now, Event::Message(m));
            }
            4 => {
                let end = run.now + Duration::from_millis(250) * u32::from(arg);
                run.run_to(end);
            }
            5 => {
                let kind = match arg % 3 {
                    0 => RequestKind::Command {
                        cmd: vec!["status".into()],
                        input: Bytes::new(),
                    },
                    1 => RequestKind::Version {
                        what: "osdmap".into(),
                    },
                    _ => RequestKind::PoolOp {
                        pool: u32::from(arg),
                        op: POOL_OP_CREATE_UNMANAGED_SNAP,
                        snapid: 0,
                    },
                };
                let tid = run.core.submit(run.now, kind);
                run.submitted.insert(tid);
            }
            6 => match arg % 7 {
                0 => run
                    .core
                    .handle_session_lost(run.now, &ceph_msgr2::Error::Closed("reset".into())),
                1 => run.connect(),
                2 => {
                    if let Some(a) = run.attempt.take() {
                        let e = ceph_msgr2::Error::Timeout("connecting".into());
                        run.core.handle_connect_failed(run.now, a, e);
                    }
                }
                3 => run
                    .core
                    .handle_event(run.now, Event::KeepaliveAck(UTime::default())),
                4 => run.core.reconnect(run.now),
                5 => run
                    .core
                    .handle_event(run.now, Event::SessionReset(Vec::new())),
                _ => run
                    .core
                    .subscribe(run.now, "osdmap", u64::from(arg), arg & 1 == 0),
            },
            _ => {
                let fsid = if arg & 1 == 0 { FSID } else { OTHER_FSID };
                let m = monmap_message(fsid, usize::from(arg % 5));
                run.core.handle_event(run.now, Event::Message(m));
            }
        }
        run.drain();
    }
    let connected = run.core.is_connected();
    let completed_in_script = run.completed.len();
    // However the script ends, a minute later nothing is left waiting
    // with a deadline.
    run.run_to(run.now + Duration::from_secs(60));
    if flags & 2 != 0 {
        let left = run.core.pending().len();
        assert!(
            left == 0 || !run.core.is_connected(),
            "{left} requests outlived rados_mon_op_timeout"
        );
    }
    Reached {
        submitted: run.submitted.len(),
        completed: completed_in_script,
        connected,
    }
}

/// Seed scripts for the corpus: replies to each kind of request, a
/// reconnect in the middle of a pool op, silence, junk.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let reply = |t: u16, front: Bytes, tid: u8| -> Vec<u8> {
        let i = MESSAGE_TYPES.iter().position(|x| *x == t).unwrap_or(0);
        let op = u8::try_from(i * 8).unwrap_or(0);
        let len = u8::try_from(front.len()).unwrap_or(0);
        let mut v = vec![op, len];
        v.extend_from_slice(front.get(..usize::from(len)).unwrap_or_default());
        v.push(tid);
        v
    };
    let pool_reply = PoolOpReply {
        paxos: PaxosHeader::default(),
        fsid: FSID,
        reply_code: 0,
        epoch: 3,
        response: Some(5u64.to_bytes(0)),
    }
    .to_bytes(0);
    let ack = MonCommandAck {
        paxos: PaxosHeader::default(),
        r: 0,
        rs: "ok".into(),
        cmd: vec![],
    }
    .to_bytes(0);
    let version = MonGetVersionReply {
        handle: 2,
        version: 9,
        oldest_version: 1,
    }
    .to_bytes(0);
    let mut out = Vec::new();
    // Pool op, reconnect, resend, answered (twice).
    let mut v = vec![0, 5, 2, 6, 4, 6, 1];
    v.extend(reply(MSG_POOLOP_REPLY, pool_reply.clone(), 1));
    v.extend(reply(MSG_POOLOP_REPLY, pool_reply, 1));
    out.push(("pool_op_reconnect", v));
    // A command and a version query, answered.
    let mut v = vec![2, 5, 0, 5, 1];
    v.extend(reply(MSG_MON_COMMAND_ACK, ack, 1));
    v.extend(reply(MSG_MON_GET_VERSION_REPLY, version, 0));
    out.push(("command_version", v));
    // A silent monitor with cephx and a deadline on requests.
    out.push(("silence", vec![3, 5, 2, 4, 255, 4, 255, 6, 1, 4, 200]));
    // Junk of every known type.
    let mut v = vec![1];
    for (i, _) in MESSAGE_TYPES.iter().enumerate() {
        let op = u8::try_from(i * 8).unwrap_or(0);
        v.extend([op, 4, 0xff, 0xff, 0xff, 0xff, 1]);
    }
    out.push(("junk", v));
    // Another cluster's monmap, then ours.
    out.push(("other_cluster", vec![0, 7, 1, 6, 1, 7, 2]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_reach_their_goal() {
        let seeds: std::collections::BTreeMap<_, _> = seeds().into_iter().collect();
        let r = |name: &str| run_script(seeds.get(name).map(Vec::as_slice).unwrap_or_default());
        let pool = r("pool_op_reconnect");
        assert_eq!((pool.submitted, pool.completed), (1, 1), "{pool:?}");
        let cmd = r("command_version");
        assert_eq!((cmd.submitted, cmd.completed), (2, 2), "{cmd:?}");
        assert!(r("junk").submitted == 0);
        assert!(r("other_cluster").connected);
        let silence = r("silence");
        assert_eq!(silence.submitted, 1);
    }

    #[test]
    fn accepts_anything() {
        mon_client(&[]);
        mon_client(&[0xff; 64]);
        mon_client(&[0; 64]);
        let all: Vec<u8> = (0..=255).collect();
        mon_client(&all);
    }
}
