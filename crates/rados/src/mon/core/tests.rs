//! The core driven by scripted monitors: no socket, no clock. Every reply
//! is a real message struct, encoded, so the core decodes real bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ceph_cephx::wire::{CEPHX_GET_AUTH_SESSION_KEY, CEPHX_GET_PRINCIPAL_SESSION_KEY};
use ceph_cephx::{SERVICE_AUTH, SERVICE_OSD};
use ceph_encoding::{Decode, Encode, UTime};
use ceph_msgr2::session::{Event, Message};

use super::*;
use crate::config::Timeouts;
use crate::mon::fuzzing::{
    auth_ticket_reply, cephx_client, monmap_message, options, service_reply, wall0, FSID,
    OTHER_FSID,
};

fn monmap(fsid: Uuid, mons: usize) -> Message {
    monmap_message(fsid, mons)
}

fn pool_op_reply(tid: u64, snapid: u64) -> Message {
    let r = PoolOpReply {
        paxos: PaxosHeader::default(),
        fsid: FSID,
        reply_code: 0,
        epoch: 42,
        response: Some(snapid.to_bytes(0)),
    };
    Message::new(MSG_POOLOP_REPLY, 1, 1, r.to_bytes(0)).with_tid(tid)
}

fn command_ack(tid: u64, rs: &str) -> Message {
    let ack = MonCommandAck {
        paxos: PaxosHeader::default(),
        r: 0,
        rs: rs.into(),
        cmd: vec![],
    };
    Message::new(MSG_MON_COMMAND_ACK, 1, 1, ack.to_bytes(0))
        .with_tid(tid)
        .with_data(Bytes::from_static(b"output"))
}

fn version_reply(handle: u64, version: u64) -> Message {
    let r = MonGetVersionReply {
        handle,
        version,
        oldest_version: 1,
    };
    Message::new(MSG_MON_GET_VERSION_REPLY, 1, 1, r.to_bytes(0))
}

fn pool_op(pool: u32) -> RequestKind {
    RequestKind::PoolOp {
        pool,
        op: POOL_OP_CREATE_UNMANAGED_SNAP,
        snapid: 0,
    }
}

fn command(cmd: &str) -> RequestKind {
    RequestKind::Command {
        cmd: vec![cmd.into()],
        input: Bytes::new(),
    }
}

/// A core, the time, and what it asked for so far.
struct Harness {
    core: MonCore,
    now: Instant,
    start: Instant,
    /// Actions taken out and not yet looked at.
    seen: Vec<Action>,
    /// The attempt in flight (from the last Connect).
    attempt: Option<(u64, MonEndpoint)>,
    /// Every message sent, in order, with the session it went on.
    sent: Vec<(usize, Message)>,
    sessions: usize,
    keepalives: usize,
}

impl Harness {
    fn new(opts: MonClientOptions, cephx: Option<SharedClient>) -> Harness {
        let now = Instant::now();
        let core = MonCore::new(opts, cephx, now, wall0(), 0);
        let mut h = Harness {
            core,
            now,
            start: now,
            seen: Vec::new(),
            attempt: None,
            sent: Vec::new(),
            sessions: 0,
            keepalives: 0,
        };
        h.pump();
        h
    }

    /// Takes the core's actions out, recording connects and sends.
    fn pump(&mut self) {
        while let Some(a) = self.core.poll_action() {
            match &a {
                Action::Connect { attempt, mon, .. } => {
                    self.attempt = Some((*attempt, mon.clone()))
                }
                Action::Send(m) => self.sent.push((self.sessions, m.clone())),
                Action::Keepalive => self.keepalives += 1,
                _ => {}
            }
            self.seen.push(a);
        }
    }

    fn take(&mut self) -> Vec<Action> {
        self.pump();
        std::mem::take(&mut self.seen)
    }

    /// The pending Connect succeeds; returns the monitor.
    fn connect(&mut self) -> MonEndpoint {
        self.pump();
        let (id, mon) = self.attempt.take().expect("a connect attempt");
        assert!(self.core.handle_connected(self.now, id, 4242));
        self.sessions += 1;
        self.pump();
        mon
    }

    /// The pending Connect fails.
    fn refuse(&mut self) -> MonEndpoint {
        self.pump();
        let (id, mon) = self.attempt.take().expect("a connect attempt");
        let e = ceph_msgr2::Error::Closed("refused".into());
        self.core.handle_connect_failed(self.now, id, e);
        self.pump();
        mon
    }

    fn deliver(&mut self, m: Message) {
        self.core.handle_event(self.now, Event::Message(m));
        self.pump();
    }

    fn lose(&mut self) {
        let e = ceph_msgr2::Error::Closed("reset by peer".into());
        self.core.handle_session_lost(self.now, &e);
        self.pump();
    }

    /// Mounts: a session and the first monmap.
    fn mount(&mut self, mons: usize) {
        self.connect();
        self.deliver(monmap(FSID, mons));
        assert!(self
            .take()
            .iter()
            .any(|a| matches!(a, Action::Ready { .. })));
    }

    /// Moves the clock to `t` (from the start), running every timeout on
    /// the way as a driver would; `ack` answers keepalives.
    fn run_to(&mut self, t: Duration, ack: bool) {
        let end = self.start + t;
        loop {
            self.pump();
            let due = self.core.poll_timeout().filter(|d| *d <= end);
            let Some(d) = due else { break };
            self.now = self.now.max(d);
            let before = self.keepalives;
            self.core.handle_timeout(self.now);
            self.pump();
            if let Some(next) = self.core.poll_timeout() {
                assert!(
                    next > self.now,
                    "a wake-up in the past: a driver would spin"
                );
            }
            if ack && self.keepalives > before {
                self.core
                    .handle_event(self.now, Event::KeepaliveAck(UTime::default()));
            }
        }
        self.now = self.now.max(end);
    }

    fn sent_of_type(&self, t: u16) -> Vec<(usize, Message)> {
        self.sent
            .iter()
            .filter(|(_, m)| m.msg_type == t)
            .cloned()
            .collect()
    }

    fn completions(actions: &[Action]) -> Vec<(u64, &Result<MonReply>)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Complete { tid, result } => Some((*tid, result)),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn a_lost_reply_is_sent_again_after_reconnecting() {
    let mut h = Harness::new(options(3, Timeouts::default()), None);
    h.mount(3);
    let tid = h.core.submit(h.now, command("status"));
    h.pump();
    assert_eq!(h.sent_of_type(MSG_MON_COMMAND).len(), 1);
    // The monitor dies before answering.
    h.lose();
    h.connect();
    let sent = h.sent_of_type(MSG_MON_COMMAND);
    assert_eq!(sent.len(), 2, "sent again on the new session");
    assert_eq!(sent[1].0, 2);
    assert_eq!(sent[1].1.tid, tid);
    let cmd = MonCommand::decode_exact(&sent[1].1.front).unwrap();
    assert_eq!(cmd.cmd, ["status"]);
    h.deliver(command_ack(tid, "ok"));
    let done = h.take();
    let c = Harness::completions(&done);
    assert_eq!(c.len(), 1);
    assert!(matches!(c[0], (t, Ok(MonReply::Command(r))) if t == tid && r.status_text == "ok"));
    assert!(h.core.pending().is_empty());
}

#[test]
fn a_pool_op_survives_a_reconnect_and_completes_once() {
    let mut h = Harness::new(options(3, Timeouts::default()), None);
    h.mount(3);
    let tid = h.core.submit(h.now, pool_op(7));
    let version = h.core.submit(
        h.now,
        RequestKind::Version {
            what: "osdmap".into(),
        },
    );
    h.pump();
    assert_eq!(h.sent_of_type(MSG_POOLOP).len(), 1);
    h.core.reconnect(h.now);
    h.pump();
    assert!(h.take().iter().any(|a| matches!(a, Action::Disconnect)));
    h.connect();
    let ops = h.sent_of_type(MSG_POOLOP);
    assert_eq!(ops.len(), 2, "the pool op is sent on the new session");
    let op = PoolOp::decode_exact(&ops[1].1.front).unwrap();
    assert_eq!(
        (op.pool, op.op, ops[1].1.tid),
        (7, POOL_OP_CREATE_UNMANAGED_SNAP, tid)
    );
    assert_eq!(op.fsid, FSID);
    assert_eq!(h.sent_of_type(MSG_MON_GET_VERSION).len(), 2);
    // The old monitor's late answer and the new one's: one completion.
    h.deliver(pool_op_reply(tid, 5));
    h.deliver(pool_op_reply(tid, 5));
    h.deliver(version_reply(version, 9));
    let done = h.take();
    let c = Harness::completions(&done);
    assert_eq!(c.len(), 2, "{c:?}");
    assert!(matches!(c[0], (t, Ok(MonReply::PoolOp(r))) if t == tid && r.epoch == 42));
    assert!(matches!(
        c[1],
        (t, Ok(MonReply::Version { newest: 9, .. })) if t == version
    ));
}

#[test]
fn requests_wait_for_the_fsid_then_go_out_once() {
    let mut h = Harness::new(options(1, Timeouts::default()), None);
    let tid = h.core.submit(h.now, pool_op(1));
    h.connect();
    assert!(h.sent_of_type(MSG_POOLOP).is_empty(), "no fsid yet");
    h.deliver(monmap(FSID, 1));
    let ops = h.sent_of_type(MSG_POOLOP);
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].1.tid, tid);
    // A later monmap does not send it again.
    h.deliver(monmap(FSID, 1));
    assert_eq!(h.sent_of_type(MSG_POOLOP).len(), 1);
}

#[test]
fn keepalive_silence_hunts_another_monitor() {
    let t = Timeouts {
        mon_ping_interval: Duration::from_secs(10),
        mon_ping_timeout: Duration::from_secs(30),
        ..Timeouts::default()
    };
    let mut h = Harness::new(options(3, t), None);
    h.mount(3);
    let first = h.core.current_mon().cloned().unwrap();
    // Acked keepalives keep the session for minutes.
    h.run_to(Duration::from_secs(300), true);
    assert!(h.core.is_connected());
    assert!(h.keepalives >= 25, "{} keepalives", h.keepalives);
    assert!(!h.take().iter().any(|a| matches!(a, Action::Disconnect)));
    // The monitor stops answering (SIGSTOP: the TCP session stays up).
    let pings = h.keepalives;
    h.run_to(Duration::from_secs(300 + 31), false);
    assert!(h.keepalives > pings, "keepalives went on");
    let acts = h.take();
    assert!(acts.iter().any(|a| matches!(a, Action::Disconnect)));
    let next = acts
        .iter()
        .find_map(|a| match a {
            Action::Connect { mon, .. } => Some(mon.clone()),
            _ => None,
        })
        .expect("hunting");
    assert_ne!(next, first, "another monitor first");
}

#[test]
fn steady_traffic_does_not_starve_keepalives() {
    // The old driver re-created its tick timer on every pass: a message
    // every second kept the tick from ever firing. Here, events come every
    // second and the deadline still comes due.
    let mut h = Harness::new(options(1, Timeouts::default()), None);
    h.mount(1);
    let mut keepalives = 0;
    for _ in 0..60 {
        h.now += Duration::from_secs(1);
        h.core
            .handle_event(h.now, Event::KeepaliveAck(UTime::default()));
        if h.core.poll_timeout().is_some_and(|d| d <= h.now) {
            h.core.handle_timeout(h.now);
        }
        keepalives += h
            .take()
            .iter()
            .filter(|a| matches!(a, Action::Keepalive))
            .count();
    }
    assert!(keepalives >= 5, "{keepalives} keepalives in 60 s");
}

#[test]
fn requests_expire_with_rados_mon_op_timeout() {
    let t = Timeouts {
        mon_op: Some(Duration::from_secs(5)),
        ..Timeouts::default()
    };
    let mut h = Harness::new(options(1, t), None);
    h.mount(1);
    let tid = h.core.submit(h.now, pool_op(3));
    h.run_to(Duration::from_secs(4), true);
    assert!(Harness::completions(&h.take()).is_empty());
    h.run_to(Duration::from_secs(6), true);
    let done = h.take();
    let c = Harness::completions(&done);
    assert_eq!(c.len(), 1);
    let (t, Err(RadosError::Timeout(text))) = c[0] else {
        panic!("{c:?}");
    };
    assert_eq!(t, tid);
    assert!(text.contains("rados_mon_op_timeout"), "{text}");
    assert!(h.core.pending().is_empty());
    // A late answer is ignored.
    h.deliver(pool_op_reply(tid, 1));
    assert!(Harness::completions(&h.take()).is_empty());
}

#[test]
fn requests_expire_while_hunting_too() {
    let t = Timeouts {
        mon_op: Some(Duration::from_secs(5)),
        ..Timeouts::default()
    };
    let mut h = Harness::new(options(2, t), None);
    h.mount(2);
    let tid = h.core.submit(h.now, command("status"));
    h.lose();
    // Every attempt fails.
    for _ in 0..10 {
        h.refuse();
        h.run_to(h.now - h.start + Duration::from_millis(600), false);
    }
    let done = h.take();
    let c = Harness::completions(&done);
    assert!(
        matches!(c.as_slice(), [(t, Err(RadosError::Timeout(_)))] if *t == tid),
        "{c:?}"
    );
}

#[test]
fn no_expiry_without_rados_mon_op_timeout() {
    let mut h = Harness::new(options(1, Timeouts::default()), None);
    h.mount(1);
    let tid = h.core.submit(h.now, pool_op(3));
    h.run_to(Duration::from_secs(3600), true);
    assert!(Harness::completions(&h.take()).is_empty());
    assert!(h.core.pending().get(tid).is_some());
    assert!(h.core.is_connected());
}

#[test]
fn a_monmap_of_another_cluster_is_refused() {
    let mut h = Harness::new(options(2, Timeouts::default()), None);
    h.mount(2);
    let first = h.core.current_mon().cloned().unwrap();
    h.deliver(monmap(OTHER_FSID, 2));
    let acts = h.take();
    assert!(!acts.iter().any(|a| matches!(a, Action::Map(_))));
    assert!(acts.iter().any(|a| matches!(a, Action::Disconnect)));
    assert_eq!(h.core.fsid(), Some(FSID));
    let next = h.connect();
    assert_ne!(next, first);
}

#[test]
fn hunting_prefers_another_monitor_and_gives_up_at_the_mount_timeout() {
    let mut opts = options(3, Timeouts::default());
    opts.connect_timeout = Duration::from_secs(10);
    let mut h = Harness::new(opts, None);
    let mut tried = Vec::new();
    for _ in 0..3 {
        tried.push(h.refuse());
    }
    tried.sort_by_key(ToString::to_string);
    tried.dedup();
    assert_eq!(tried.len(), 3, "each monitor in a round");
    h.run_to(Duration::from_secs(11), false);
    let acts = h.take();
    let failed = acts.iter().find_map(|a| match a {
        Action::Failed(e) => Some(e),
        _ => None,
    });
    assert!(
        matches!(
            failed,
            Some(RadosError::NoMonitor {
                timeout_secs: 10,
                ..
            })
        ),
        "{failed:?}"
    );
    assert!(h.core.is_dead());
    assert_eq!(h.core.poll_timeout(), None);
}

#[test]
fn a_refused_key_ends_the_hunt() {
    let mut h = Harness::new(options(3, Timeouts::default()), None);
    let (id, _) = h.attempt.take().unwrap();
    h.take();
    let e = ceph_msgr2::Error::AuthRejected {
        method: 2,
        result: ceph_common::errno::EACCES,
        allowed_methods: vec![2],
        allowed_modes: vec![1],
    };
    h.core.handle_connect_failed(h.now, id, e);
    let acts = h.take();
    assert!(acts
        .iter()
        .any(|a| matches!(a, Action::Failed(RadosError::AuthFailed { .. }))));
    assert!(!acts.iter().any(|a| matches!(a, Action::Connect { .. })));
}

#[test]
fn a_stale_attempt_is_ignored() {
    let mut h = Harness::new(options(2, Timeouts::default()), None);
    let (old, _) = h.attempt.clone().unwrap();
    h.refuse();
    assert!(!h.core.handle_connected(h.now, old, 1));
    h.connect();
    assert!(h.core.is_connected());
}

fn auth_reply(result_bl: Bytes) -> Message {
    let r = MonAuthReply {
        protocol: 2,
        result: 0,
        global_id: 4242,
        result_bl,
        result_msg: String::new(),
    };
    Message::new(MSG_AUTH_REPLY, 1, 1, r.to_bytes(0))
}

#[test]
fn tickets_are_renewed_before_they_expire() {
    let cephx = cephx_client(3600, 600, ceph_cephx::SERVICE_MON | SERVICE_OSD).unwrap();
    let mut h = Harness::new(options(3, Timeouts::default()), Some(cephx.clone()));
    h.mount(3);
    // The service tickets are due at 450 s (three quarters of 600).
    h.run_to(Duration::from_secs(449), true);
    assert!(h.sent_of_type(MSG_AUTH).is_empty(), "not due yet");
    h.run_to(Duration::from_secs(451), true);
    let auths = h.sent_of_type(MSG_AUTH);
    assert_eq!(auths.len(), 1, "one request when due");
    let m = MonAuth::decode_exact(&auths[0].1.front).unwrap();
    let header =
        ceph_cephx::wire::RequestHeader::decode_exact(m.auth_payload.get(..2).unwrap_or_default())
            .unwrap();
    assert_eq!(header.request_type, CEPHX_GET_PRINCIPAL_SESSION_KEY);
    // The monitor answers with fresh tickets: nothing more is asked for
    // until they are due in turn.
    h.deliver(auth_reply(service_reply(600).unwrap()));
    let renewed = cephx
        .lock()
        .unwrap()
        .tickets()
        .get(SERVICE_OSD)
        .unwrap()
        .expires;
    assert_eq!(renewed, Some(wall0() + Duration::from_secs(451 + 600)));
    h.run_to(Duration::from_secs(451 + 440), true);
    assert_eq!(h.sent_of_type(MSG_AUTH).len(), 1);
    assert!(h.core.is_connected());
    // The AUTH ticket is due at 2700 s: renewed in the session, as Ceph's
    // MonClient and the kernel do, with the handshake's challenge.
    h.run_to(Duration::from_secs(2699), true);
    assert!(
        h.sent_of_type(MSG_AUTH).len() > 1,
        "service tickets renewed in session"
    );
    h.deliver(auth_reply(service_reply(3600).unwrap()));
    let asked = h.sent_of_type(MSG_AUTH).len();
    h.run_to(Duration::from_secs(2701), true);
    let auths = h.sent_of_type(MSG_AUTH);
    assert_eq!(auths.len(), asked + 1);
    let m = MonAuth::decode_exact(&auths[asked].1.front).unwrap();
    let mut r = ceph_encoding::Reader::new(&m.auth_payload);
    let header: ceph_cephx::wire::RequestHeader = r.read().unwrap();
    assert_eq!(header.request_type, CEPHX_GET_AUTH_SESSION_KEY);
    let a: ceph_cephx::wire::Authenticate = r.read().unwrap();
    let client_key = ceph_cephx::SecretKey::aes(ceph_cephx::fuzzing::CLIENT_KEY);
    assert_eq!(
        a.key,
        ceph_cephx::challenge_key(&client_key, 77, a.client_challenge),
        "proof against the handshake's challenge"
    );
    assert!(!a.old_ticket.blob.is_empty(), "the old ticket is shown");
    h.deliver(auth_reply(auth_ticket_reply(3600, 3600).unwrap()));
    let auth = cephx
        .lock()
        .unwrap()
        .tickets()
        .get(SERVICE_AUTH)
        .unwrap()
        .expires;
    assert_eq!(auth, Some(wall0() + Duration::from_secs(2701 + 3600)));
    h.run_to(Duration::from_secs(3700), true);
    assert!(h.core.is_connected());
    assert_eq!(h.sessions, 1, "one session all along");
    assert!(!h.take().iter().any(|a| matches!(a, Action::Disconnect)));
}

/// A monitor that refuses the in-session AUTH renewal, or does not answer
/// it: a fresh session renews the ticket, well before it expires.
#[test]
fn the_auth_ticket_falls_back_on_a_fresh_session() {
    for refuse in [true, false] {
        let cephx = cephx_client(3600, 3600, ceph_cephx::SERVICE_MON | SERVICE_OSD).unwrap();
        let mut h = Harness::new(options(3, Timeouts::default()), Some(cephx));
        h.mount(3);
        h.run_to(Duration::from_secs(2701), true);
        let auths = h.sent_of_type(MSG_AUTH);
        assert_eq!(auths.len(), 1, "{auths:?}");
        if refuse {
            let r = MonAuthReply {
                protocol: 2,
                result: -13,
                global_id: 4242,
                result_bl: Bytes::new(),
                result_msg: "no".into(),
            };
            h.deliver(Message::new(MSG_AUTH_REPLY, 1, 1, r.to_bytes(0)));
            h.run_to(Duration::from_secs(2702), true);
        } else {
            h.run_to(Duration::from_secs(2709), true);
            assert!(!h.take().iter().any(|a| matches!(a, Action::Disconnect)));
            h.run_to(Duration::from_secs(2712), true);
        }
        let acts = h.take();
        assert!(
            acts.iter().any(|a| matches!(a, Action::Disconnect)),
            "{acts:?}"
        );
        assert!(acts.iter().any(|a| matches!(a, Action::Connect { .. })));
        h.connect();
        assert!(h.core.is_connected());
    }
}

#[test]
fn ticket_requests_unanswered_are_retried_not_flooded() {
    let cephx = cephx_client(3600, 600, ceph_cephx::SERVICE_MON | SERVICE_OSD).unwrap();
    let mut h = Harness::new(options(1, Timeouts::default()), Some(cephx));
    h.mount(1);
    h.run_to(Duration::from_secs(451 + 12), true);
    let n = h.sent_of_type(MSG_AUTH).len();
    assert!((2..=4).contains(&n), "{n} requests in 12 s");
}

#[test]
fn junk_from_the_monitor_drops_the_session() {
    let mut h = Harness::new(options(2, Timeouts::default()), None);
    h.mount(2);
    let mut junk = BytesMut::new();
    junk.extend_from_slice(&[0xff; 3]);
    h.deliver(Message::new(MSG_POOLOP_REPLY, 1, 1, junk.freeze()));
    let acts = h.take();
    assert!(acts.iter().any(|a| matches!(a, Action::Disconnect)));
    assert!(acts.iter().any(|a| matches!(a, Action::Connect { .. })));
}

#[test]
fn after_the_mount_hunting_goes_on() {
    let mut opts = options(2, Timeouts::default());
    opts.connect_timeout = Duration::from_secs(10);
    let mut h = Harness::new(opts, None);
    h.mount(2);
    let tid = h.core.submit(h.now, command("status"));
    h.lose();
    // Every monitor is down for longer than client_mount_timeout.
    let mut failed = None;
    for _ in 0..40 {
        h.pump();
        if h.attempt.is_some() {
            h.refuse();
        }
        h.run_to(h.now - h.start + Duration::from_millis(500), false);
        let acts = h.take();
        failed = failed.or_else(|| {
            Harness::completions(&acts)
                .into_iter()
                .find(|(t, r)| *t == tid && matches!(r, Err(RadosError::NoMonitor { .. })))
                .map(|(t, _)| t)
        });
    }
    assert_eq!(failed, Some(tid), "the request failed with NoMonitor");
    assert!(!h.core.is_dead());
    // The monitors come back: the client finds one by itself.
    h.pump();
    h.connect();
    assert!(h.core.is_connected());
    let next = h.core.submit(h.now, command("status"));
    h.pump();
    assert_eq!(h.sent.last().map(|(_, m)| m.tid), Some(next));
}

#[test]
fn attempts_back_off_from_the_hunt_interval() {
    let mut opts = options(2, Timeouts::default());
    opts.attempt_timeout = Duration::from_secs(10);
    let mut h = Harness::new(opts, None);
    let mut timeouts = Vec::new();
    for _ in 0..10 {
        let acts = h.take();
        let t = acts.iter().find_map(|a| match a {
            Action::Connect { timeout, .. } => Some(*timeout),
            _ => None,
        });
        if let Some(t) = t {
            timeouts.push(t.as_millis());
        }
        let (id, _) = h.attempt.take().expect("an attempt");
        let e = ceph_msgr2::Error::Timeout("handshake".into());
        h.core.handle_connect_failed(h.now, id, e);
        h.run_to(h.now - h.start + Duration::from_secs(1), false);
    }
    assert_eq!(timeouts[..6], [3000, 3000, 4500, 4500, 6750, 6750]);
    assert!(timeouts.iter().all(|t| *t <= 10_000), "{timeouts:?}");
    assert_eq!(timeouts.last(), Some(&10_000));
}

#[test]
fn a_onetime_subscription_is_asked_for_until_the_map_comes() {
    let mut h = Harness::new(options(2, Timeouts::default()), None);
    h.mount(2);
    h.core.subscribe(h.now, "osdmap", 12, true);
    h.pump();
    let subscribed = |h: &Harness| -> Vec<String> {
        let (_, m) = h.sent_of_type(MSG_MON_SUBSCRIBE).pop().unwrap();
        let sub = MonSubscribe::decode_exact(&m.front).unwrap();
        sub.what.keys().cloned().collect()
    };
    assert_eq!(subscribed(&h), ["monmap", "osdmap"]);
    h.lose();
    h.connect();
    assert_eq!(subscribed(&h), ["monmap", "osdmap"], "asked again");
    h.deliver(Message::new(MSG_OSD_MAP, 1, 1, Bytes::from_static(b"map")));
    assert!(h
        .take()
        .iter()
        .any(|a| matches!(a, Action::Map(MapUpdate::OsdMap { .. }))));
    h.lose();
    h.connect();
    assert_eq!(subscribed(&h), ["monmap"], "done once the map came");
}

#[test]
fn an_answer_of_another_kind_is_not_taken() {
    let mut h = Harness::new(options(1, Timeouts::default()), None);
    h.mount(1);
    let tid = h.core.submit(h.now, pool_op(2));
    h.deliver(command_ack(tid, "not for a pool op"));
    assert!(Harness::completions(&h.take()).is_empty());
    assert!(h.core.pending().get(tid).is_some());
}

#[test]
fn a_session_reset_sends_everything_again() {
    let mut h = Harness::new(options(1, Timeouts::default()), None);
    h.mount(1);
    let tid = h.core.submit(h.now, pool_op(2));
    h.pump();
    h.core.handle_event(h.now, Event::SessionReset(Vec::new()));
    h.pump();
    let ops = h.sent_of_type(MSG_POOLOP);
    assert_eq!(ops.len(), 2);
    assert_eq!(ops[1].1.tid, tid);
    assert_eq!(h.sent_of_type(MSG_MON_SUBSCRIBE).len(), 2);
}

#[test]
fn a_missing_manager_ticket_alone_is_not_asked_for_again_and_again() {
    let want = ceph_cephx::SERVICE_MON | SERVICE_OSD | ceph_cephx::SERVICE_MGR;
    let cephx = cephx_client(3600, 600, want).unwrap();
    let mut opts = options(1, Timeouts::default());
    opts.want_services = want;
    let mut h = Harness::new(opts, Some(cephx));
    h.mount(1);
    h.run_to(Duration::from_secs(400), true);
    assert!(h.sent_of_type(MSG_AUTH).is_empty());
}

#[test]
fn a_session_without_a_monmap_fails_the_mount_in_time() {
    let mut opts = options(1, Timeouts::default());
    opts.connect_timeout = Duration::from_secs(20);
    let mut h = Harness::new(opts, None);
    let tid = h.core.submit(h.now, command("status"));
    h.connect();
    // The monitor acks keepalives but never sends its map.
    h.run_to(Duration::from_secs(19), true);
    assert!(!h.core.is_dead());
    h.run_to(Duration::from_secs(21), true);
    let acts = h.take();
    assert!(h.core.is_dead());
    assert!(acts.iter().any(|a| matches!(a, Action::Disconnect)));
    let c = Harness::completions(&acts);
    assert!(matches!(c.as_slice(), [(t, Err(RadosError::Timeout(_)))] if *t == tid));
    assert!(acts.iter().any(
        |a| matches!(a, Action::Failed(RadosError::Timeout(m)) if m.contains("client_mount_timeout"))
    ));
}
