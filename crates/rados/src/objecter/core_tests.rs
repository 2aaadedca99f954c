//! The core driven by scripted OSDs and maps, with no sockets: the maps
//! come from the test bed's real epoch-35 map (three OSDs, pools 1-3),
//! changed by editing the decoded map as an incremental would.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ceph_encoding::{Reader, UTime};
use ceph_msgr2::session::Message;

use super::core::{Action, ObjecterCore, PING_INTERVAL};
use super::fuzzing::osdmap_message;
use super::linger_state::WatchEvent;
use super::request::{Maps, ObjecterOptions, OpReply, OpRequest};
use crate::error::{RadosError, Result};
use crate::osd::messages::{flag, MSG_OSD_OP, MSG_OSD_OPREPLY};
use crate::osd::op::code;
use crate::osd::types::{ObjectLocator, PgId, ReqId, RequestRedirect, SPgId};
use crate::osd::watch::{event, watch_op, MWatchNotify, MSG_WATCH_NOTIFY};
use crate::osd::{MOsdOpReply, OpResult, OsdOp};
use crate::osdmap::constants::{map_flags, osd_state};
use crate::osdmap::{pool_type, Incremental, OsdMap};
use crate::placement::Placer;

const E35: &[u8] = include_bytes!("../../tests/fixtures/osdmap/pacific-e35.bin");

/// What the core sent: the MOSDOp's fields the tests look at.
#[derive(Debug, Clone)]
struct Sent {
    osd: i32,
    incarnation: u64,
    tid: u64,
    spgid: SPgId,
    hash: u32,
    epoch: u32,
    flags: u32,
    oloc: ObjectLocator,
    oid: String,
    attempt: i32,
    /// The first op's code and arguments.
    first_op: Option<(u16, Vec<u8>)>,
}

fn decode_op(osd: i32, incarnation: u64, msg: &Message) -> Sent {
    assert_eq!(msg.msg_type, MSG_OSD_OP);
    let mut r = Reader::new(&msg.front);
    let spgid: SPgId = r.read().unwrap();
    let hash: u32 = r.read().unwrap();
    let epoch: u32 = r.read().unwrap();
    let flags: u32 = r.read().unwrap();
    let _: ReqId = r.read().unwrap();
    r.skip(24).unwrap();
    let _client_inc: i32 = r.read().unwrap();
    let _mtime: UTime = r.read().unwrap();
    let oloc: ObjectLocator = r.read().unwrap();
    let oid: String = r.read().unwrap();
    let nops: u16 = r.read().unwrap();
    let mut first_op = None;
    for _ in 0..nops {
        let code: u16 = r.read().unwrap();
        let _flags: u32 = r.read().unwrap();
        let args = r.take(28).unwrap().to_vec();
        let _len: u32 = r.read().unwrap();
        first_op.get_or_insert((code, args));
    }
    let _snapid: u64 = r.read().unwrap();
    let _snap_seq: u64 = r.read().unwrap();
    let _snaps: Vec<u64> = r.read().unwrap();
    let attempt: i32 = r.read().unwrap();
    Sent {
        osd,
        incarnation,
        tid: msg.tid,
        spgid,
        hash,
        epoch,
        flags,
        oloc,
        oid,
        attempt,
        first_op,
    }
}

/// What came out of the core in one step.
#[derive(Debug, Default)]
struct Out {
    sent: Vec<Sent>,
    opened: Vec<(i32, u64)>,
    closed: Vec<(i32, u64)>,
    done: Vec<(u64, Result<OpReply>)>,
    asked_from: Vec<u32>,
    watch_events: Vec<(u64, WatchEvent)>,
    notified: Vec<(u64, i32, Bytes)>,
}

/// A core, its clock, and scripted OSDs that open every session asked
/// for (unless told not to).
struct Bed {
    core: ObjecterCore,
    now: Instant,
    open_sessions: bool,
}

impl Bed {
    fn new(op_timeout: Option<Duration>) -> Bed {
        let map = OsdMap::from_bytes(E35).unwrap();
        let now = Instant::now();
        let opts = ObjecterOptions {
            op_timeout,
            ..ObjecterOptions::default()
        };
        let mut core = ObjecterCore::new(map.fsid, &opts, now);
        let front = osdmap_message(map.fsid, &[], &[(35, Bytes::from_static(E35))]);
        core.handle_osdmap(now, &front).unwrap();
        let mut bed = Bed {
            core,
            now,
            open_sessions: true,
        };
        bed.step();
        assert_eq!(bed.maps().osdmap.epoch, 35);
        bed
    }

    fn maps(&self) -> Maps {
        self.core.maps().cloned().unwrap()
    }

    /// The next epoch: the current map changed by `edit`.
    fn new_epoch(&mut self, edit: impl FnOnce(&mut OsdMap)) -> Out {
        let maps = self.maps();
        let mut map = (*maps.osdmap).clone();
        map.epoch += 1;
        edit(&mut map);
        self.core.install_maps(Maps {
            osdmap: Arc::new(map),
            crush: maps.crush,
        });
        self.step()
    }

    /// The next epoch from an incremental, as the monitor sends it.
    fn apply(&mut self, edit: impl FnOnce(&mut Incremental)) -> Out {
        let maps = self.maps();
        let mut map = (*maps.osdmap).clone();
        let mut inc = Incremental::new(map.fsid, map.epoch + 1);
        edit(&mut inc);
        map.apply_incremental(&inc).unwrap();
        self.core.install_maps(Maps {
            osdmap: Arc::new(map),
            crush: maps.crush,
        });
        self.step()
    }

    fn advance(&mut self, by: Duration) -> Out {
        self.now += by;
        self.core.handle_timeout(self.now);
        self.step()
    }

    fn submit(&mut self, req: OpRequest) -> (u64, Out) {
        let tid = self
            .core
            .submit(self.now, UTime::new(1_700_000_000, 0), req);
        (tid, self.step())
    }

    /// Carries out the core's actions until there are none.
    fn step(&mut self) -> Out {
        let mut out = Out::default();
        while let Some(a) = self.core.poll_action() {
            match a {
                Action::OpenSession {
                    osd, incarnation, ..
                } => {
                    out.opened.push((osd, incarnation));
                    if self.open_sessions {
                        self.core.session_opened(self.now, osd, incarnation);
                    }
                }
                Action::Send {
                    osd,
                    incarnation,
                    msg,
                } => {
                    if msg.msg_type == MSG_OSD_OP {
                        out.sent.push(decode_op(osd, incarnation, &msg));
                    }
                }
                Action::CloseSession { osd, incarnation } => out.closed.push((osd, incarnation)),
                Action::Complete { tid, result } => out.done.push((tid, result)),
                Action::RequestMaps { from } => out.asked_from.push(from),
                Action::Watch { cookie, event } => out.watch_events.push((cookie, event)),
                Action::NotifyDone { cookie, code, data } => {
                    out.notified.push((cookie, code, data))
                }
                Action::PublishMaps(_) => {}
            }
        }
        out
    }

    /// `osd` answers `to` with `result` (and a redirect, if any).
    fn reply(&mut self, to: &Sent, result: i32, redirect: Option<RequestRedirect>) -> Out {
        let reply = MOsdOpReply {
            oid: to.oid.clone(),
            pgid: to.spgid.pgid,
            flags: u64::from(to.flags),
            result,
            epoch: to.epoch,
            ops: vec![OpResult {
                code: code::STAT,
                rval: result,
                outdata: Bytes::new(),
            }],
            retry_attempt: to.attempt,
            user_version: 7,
            redirect,
        };
        let (front, data) = reply.encode_parts();
        let msg = Message::new(MSG_OSD_OPREPLY, 8, 2, front)
            .with_tid(to.tid)
            .with_data(data);
        self.core
            .handle_message(self.now, to.osd, to.incarnation, &msg);
        self.step()
    }

    /// The acting primary and set of object `oid` in `pool` now.
    fn placement(&self, pool: i64, oid: &str) -> (i32, Vec<i32>, PgId, u32) {
        let maps = self.maps();
        let placer = Placer::new(&maps.osdmap, &maps.crush);
        let (m, hash) = placer.object_to_up_acting(pool, oid, "", "").unwrap();
        (m.acting_primary, m.acting, m.pgid, hash)
    }
}

/// A redirect to pool `pool`, namespace `nspace`.
fn redirect_to(pool: i64, nspace: &str) -> RequestRedirect {
    RequestRedirect {
        redirect_locator: ObjectLocator::new(pool, nspace),
        redirect_object: String::new(),
        osd_instructions: Bytes::new(),
    }
}

fn stat(pool: i64, oid: &str) -> OpRequest {
    OpRequest::new(pool, oid, vec![OsdOp::stat()])
}

fn only(out: &Out) -> &Sent {
    assert_eq!(out.sent.len(), 1, "{out:?}");
    &out.sent[0]
}

#[test]
fn an_op_goes_to_its_primary_and_completes() {
    let mut bed = Bed::new(None);
    let (primary, _, pgid, hash) = bed.placement(2, "obj");
    let (tid, out) = bed.submit(stat(2, "obj"));
    assert_eq!(out.opened.len(), 1);
    let sent = only(&out).clone();
    assert_eq!(
        (sent.osd, sent.tid, sent.spgid.pgid, sent.spgid.shard),
        (primary, tid, pgid, -1)
    );
    assert_eq!(
        (sent.hash, sent.epoch, sent.oid.as_str()),
        (hash, 35, "obj")
    );
    assert_eq!(
        sent.flags & (flag::READ | flag::RETRY | flag::KNOWN_REDIR),
        flag::READ | flag::KNOWN_REDIR
    );
    let out = bed.reply(&sent, 0, None);
    assert_eq!(out.done.len(), 1);
    let (done, r) = &out.done[0];
    assert_eq!((*done, r.as_ref().map(|r| r.version).ok()), (tid, Some(7)));
    assert_eq!(bed.core.poll_timeout(), None, "nothing left to time");
}

/// A session fails with the op in flight (the reply is lost): the op is
/// sent again on a new session, with the RETRY flag; a late reply on the
/// old session is ignored. If the map then says the OSD is down, the op
/// goes to the new primary.
#[test]
fn a_lost_reply_is_resent_on_a_new_session_then_to_a_new_primary() {
    let mut bed = Bed::new(None);
    let (tid, out) = bed.submit(stat(2, "obj"));
    let first = only(&out).clone();
    bed.core
        .session_failed(bed.now, first.osd, first.incarnation, "connection reset");
    let out = bed.step();
    let second = only(&out).clone();
    assert_eq!(out.opened.len(), 1);
    assert_eq!((second.osd, second.tid), (first.osd, tid));
    assert_ne!(second.incarnation, first.incarnation);
    assert_ne!(second.flags & flag::RETRY, 0);
    assert!(
        bed.reply(&first, 0, None).done.is_empty(),
        "reply on a dead session"
    );

    let down = second.osd;
    // new_state toggles the bits it names: osd `down` goes down.
    let out = bed.apply(|inc| {
        inc.new_state.insert(down, osd_state::UP);
    });
    assert_eq!(out.closed, vec![(down, second.incarnation)]);
    let third = only(&out).clone();
    let (primary, ..) = bed.placement(2, "obj");
    assert_ne!(primary, down);
    assert_eq!((third.osd, third.epoch, third.tid), (primary, 36, tid));
    assert_ne!(third.flags & flag::RETRY, 0);
    let out = bed.reply(&third, 0, None);
    assert_eq!(out.done.len(), 1);
}

/// The primary moves while the op is in flight: it is resent to the new
/// primary with the RETRY flag and the new epoch; the old primary's
/// answer no longer counts.
#[test]
fn a_map_change_in_flight_resends_with_retry_and_the_new_epoch() {
    let mut bed = Bed::new(None);
    let (tid, out) = bed.submit(stat(2, "obj"));
    let first = only(&out).clone();
    let (_, acting, pgid, _) = bed.placement(2, "obj");
    let new_primary = acting[1];
    let out = bed.new_epoch(|m| {
        m.primary_temp.insert(pgid, new_primary);
    });
    let second = only(&out).clone();
    assert_eq!(
        (second.osd, second.epoch, second.tid),
        (new_primary, 36, tid)
    );
    assert_ne!(second.flags & flag::RETRY, 0);
    assert!(out.closed.is_empty(), "the old primary is still up");
    assert!(bed.reply(&first, 0, None).done.is_empty());
    assert_eq!(bed.reply(&second, 0, None).done.len(), 1);
}

/// A map that changes nothing for the op sends nothing.
#[test]
fn an_unrelated_map_change_resends_nothing() {
    let mut bed = Bed::new(None);
    let (_, out) = bed.submit(stat(2, "obj"));
    let _ = only(&out);
    let out = bed.new_epoch(|m| {
        m.pools.entry(3).and_modify(|p| p.pg_num_target += 1);
    });
    assert!(out.sent.is_empty(), "{out:?}");
}

/// pg_num grows from 32 to 64: an op whose object moves to the new PG
/// is resent to that PG; one in a PG that split but whose object stays
/// is resent too (the OSD drops ops from before a split).
#[test]
fn a_pg_split_resends_to_the_new_pgid() {
    let mut bed = Bed::new(None);
    let pick = |bed: &Bed, moves: bool| {
        (0..200)
            .map(|i| format!("obj{i}"))
            .find(|o| (bed.placement(2, o).3 & 32 != 0) == moves)
            .unwrap()
    };
    let (mover, stayer) = (pick(&bed, true), pick(&bed, false));
    let (t1, out1) = bed.submit(stat(2, &mover));
    let (t2, out2) = bed.submit(stat(2, &stayer));
    let (a, b) = (only(&out1).clone(), only(&out2).clone());
    assert_eq!(a.spgid.pgid.seed, a.hash & 31);
    let out = bed.new_epoch(|m| {
        m.pools.entry(2).and_modify(|p| p.pg_num = 64);
    });
    assert_eq!(out.sent.len(), 2, "{out:?}");
    let a2 = out.sent.iter().find(|s| s.tid == t1).unwrap();
    let b2 = out.sent.iter().find(|s| s.tid == t2).unwrap();
    assert_eq!(a2.spgid.pgid, PgId::new(2, a.hash & 63));
    assert_ne!(a2.spgid.pgid, a.spgid.pgid);
    assert_eq!(b2.spgid.pgid, b.spgid.pgid);
    assert_ne!(a2.flags & flag::RETRY, 0);
}

/// An OSD answers with a redirect to another pool: the op is sent again
/// to that pool's PG, flagged as redirected.
#[test]
fn a_redirect_reply_resends_to_the_redirect_pool() {
    let mut bed = Bed::new(None);
    let (tid, out) = bed.submit(stat(2, "obj"));
    let first = only(&out).clone();
    let out = bed.reply(&first, 0, Some(redirect_to(3, "")));
    assert!(out.done.is_empty());
    let second = only(&out).clone();
    let (primary, _, pgid, _) = bed.placement(3, "obj");
    assert_eq!(
        (second.tid, second.osd, second.spgid.pgid),
        (tid, primary, pgid)
    );
    assert_eq!(second.oloc.pool, 3);
    assert_ne!(second.flags & flag::REDIRECTED, 0);
    assert_ne!(second.flags & flag::IGNORE_OVERLAY, 0);
    assert_eq!(bed.reply(&second, 0, None).done.len(), 1);
}

/// EAGAIN (not the primary) sends the op again; the next answer
/// completes it.
#[test]
fn eagain_resends() {
    let mut bed = Bed::new(None);
    let (tid, out) = bed.submit(stat(2, "obj"));
    let first = only(&out).clone();
    let out = bed.reply(&first, ceph_common::errno::EAGAIN, None);
    assert!(out.done.is_empty());
    let second = only(&out).clone();
    assert_eq!((second.tid, second.osd), (tid, first.osd));
    assert_ne!(second.flags & flag::RETRY, 0);
    let out = bed.reply(&second, 0, None);
    assert_eq!(out.done.len(), 1);
}

fn timeout_text(out: &Out) -> String {
    assert_eq!(out.done.len(), 1, "{out:?}");
    match &out.done[0].1 {
        Err(e @ RadosError::Timeout(_)) => e.to_string(),
        other => panic!("not a timeout: {other:?}"),
    }
}

/// With `op_timeout`, an op without an answer fails at its deadline, and
/// steady traffic does not push the deadline back.
#[test]
fn an_op_expires_at_op_timeout_under_steady_traffic() {
    let mut bed = Bed::new(Some(Duration::from_secs(10)));
    let start = bed.now;
    let (_, out) = bed.submit(stat(2, "slow"));
    let sent = only(&out).clone();
    let (_, out) = bed.submit(stat(2, "quick"));
    let quick = only(&out).clone();
    assert_eq!(
        bed.core.poll_timeout(),
        Some(start + Duration::from_secs(10))
    );
    for _ in 0..9 {
        bed.now += Duration::from_secs(1);
        let _ = bed.reply(&quick, 0, None);
        let (_, out) = bed.submit(stat(2, "quick"));
        assert_eq!(
            bed.core.poll_timeout(),
            Some(start + Duration::from_secs(10))
        );
        if let [q] = &out.sent[..] {
            let _ = bed.reply(q, 0, None);
        }
    }
    let due = bed.core.poll_timeout().unwrap();
    bed.now = due;
    bed.core.handle_timeout(due);
    let out = bed.step();
    let text = timeout_text(&out);
    assert!(
        text.contains("slow") && text.contains("rados_osd_op_timeout"),
        "{text}"
    );
    assert!(text.contains(&format!("osd.{}", sent.osd)), "{text}");
    assert!(bed.core.poll_timeout().is_none_or(|t| t > due));
}

/// An op waiting for a session that never opens expires too, and says
/// what it waited for.
#[test]
fn an_op_waiting_for_a_session_expires() {
    let mut bed = Bed::new(Some(Duration::from_secs(3)));
    bed.open_sessions = false;
    let (_, out) = bed.submit(stat(2, "obj"));
    assert!(out.sent.is_empty());
    let (osd, _) = out.opened[0];
    let out = bed.advance(Duration::from_secs(3));
    let text = timeout_text(&out);
    assert!(
        text.contains(&format!("waiting for a session with osd.{osd}")),
        "{text}"
    );
}

/// An op submitted before any map expires while waiting for one.
#[test]
fn an_op_waiting_for_a_map_expires() {
    let now = Instant::now();
    let opts = ObjecterOptions {
        op_timeout: Some(Duration::from_secs(2)),
        ..ObjecterOptions::default()
    };
    let map = OsdMap::from_bytes(E35).unwrap();
    let mut core = ObjecterCore::new(map.fsid, &opts, now);
    let tid = core.submit(now, UTime::default(), stat(2, "obj"));
    assert!(core.poll_action().is_none());
    assert_eq!(
        core.poll_timeout(),
        Some(now + Duration::from_secs(1)),
        "retry first"
    );
    core.handle_timeout(now + Duration::from_secs(2));
    match core.poll_action() {
        Some(Action::Complete {
            tid: t,
            result: Err(e),
        }) => {
            assert_eq!(t, tid);
            assert!(e.to_string().contains("waiting for an OSD map"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

/// Without `op_timeout` nothing expires, and nothing is timed.
#[test]
fn no_expiry_without_op_timeout() {
    let mut bed = Bed::new(None);
    let (_, out) = bed.submit(stat(2, "obj"));
    let _ = only(&out);
    assert_eq!(bed.core.poll_timeout(), None);
    let out = bed.advance(Duration::from_secs(3600));
    assert!(out.done.is_empty() && out.sent.is_empty());
}

/// A session that cannot be opened is tried again at the next retry,
/// not at once.
#[test]
fn a_failed_open_is_retried_later() {
    let mut bed = Bed::new(None);
    bed.open_sessions = false;
    let (_, out) = bed.submit(stat(2, "obj"));
    let (osd, inc) = out.opened[0];
    bed.core
        .session_failed(bed.now, osd, inc, "connection refused");
    let out = bed.step();
    assert!(out.opened.is_empty(), "no hot loop of connects");
    let due = bed.core.poll_timeout().unwrap();
    bed.open_sessions = true;
    let out = bed.advance(due - bed.now);
    assert_eq!(out.opened.len(), 1);
    assert_eq!(only(&out).osd, osd);
}

/// A bed whose pool 2 is erasure-coded, with an op on "obj" submitted:
/// the object's acting set and PG, and what the submit sent.
fn ec_bed() -> (Bed, Vec<i32>, PgId, Out) {
    let mut bed = Bed::new(None);
    let (_, acting, pgid, _) = bed.placement(2, "obj");
    let _ = bed.new_epoch(|m| {
        m.pools
            .entry(2)
            .and_modify(|p| p.pool_type = pool_type::ERASURE);
    });
    let (_, out) = bed.submit(stat(2, "obj"));
    (bed, acting, pgid, out)
}

/// In an erasure-coded pool the op names the primary's shard: its
/// position in the acting set.
#[test]
fn an_ec_pool_op_carries_the_primarys_shard() {
    let (mut bed, acting, pgid, out) = ec_bed();
    let first = only(&out).clone();
    assert_eq!((first.osd, first.spgid.shard), (acting[0], 0));
    let out = bed.new_epoch(|m| {
        m.primary_temp.insert(pgid, acting[2]);
    });
    let second = only(&out).clone();
    assert_eq!(
        (second.osd, second.spgid.pgid, second.spgid.shard),
        (acting[2], pgid, 2)
    );
}

/// Paused writes wait for the flag to go, then go.
#[test]
fn a_paused_write_goes_when_unpaused() {
    let mut bed = Bed::new(None);
    let _ = bed.new_epoch(|m| m.flags |= map_flags::PAUSEWR);
    let write = OpRequest::new(2, "obj", vec![OsdOp::write_full(Bytes::from_static(b"x"))]);
    let (_, out) = bed.submit(write);
    assert!(out.sent.is_empty());
    let out = bed.new_epoch(|m| m.flags &= !map_flags::PAUSEWR);
    assert_ne!(only(&out).flags & flag::WRITE, 0);
}

/// A pool's last_force_op_resend makes in-flight ops go again.
#[test]
fn last_force_op_resend_resends() {
    let mut bed = Bed::new(None);
    let (_, out) = bed.submit(stat(2, "obj"));
    let first = only(&out).clone();
    let out = bed.new_epoch(|m| {
        let e = m.epoch;
        m.pools.entry(2).and_modify(|p| p.last_force_op_resend = e);
    });
    let second = only(&out);
    assert_eq!((second.osd, second.epoch), (first.osd, 36));
}

/// A primary that no map gives: the op waits and the monitor is asked
/// for the next map; a map with a primary sends it.
#[test]
fn no_primary_asks_for_the_next_map() {
    let mut bed = Bed::new(None);
    let out = bed.new_epoch(|m| {
        for s in &mut m.osd_state {
            *s &= !osd_state::UP;
        }
    });
    assert!(out.sent.is_empty());
    let (_, out) = bed.submit(stat(2, "obj"));
    assert!(out.sent.is_empty());
    assert_eq!(out.asked_from, vec![37]);
    let out = bed.new_epoch(|m| {
        for s in &mut m.osd_state {
            *s |= osd_state::UP;
        }
    });
    assert_eq!(only(&out).epoch, 37);
}

/// In an EC pool the primary keeps its OSD but moves within the acting
/// set: the op is resent naming the new shard.
#[test]
fn an_ec_primary_that_changes_shard_is_resent() {
    let (mut bed, acting, pgid, out) = ec_bed();
    assert_eq!(only(&out).spgid.shard, 0);
    let out = bed.new_epoch(|m| {
        m.pg_temp
            .insert(pgid, vec![acting[1], acting[0], acting[2]]);
        m.primary_temp.insert(pgid, acting[0]);
    });
    let again = only(&out);
    assert_eq!((again.osd, again.spgid.shard), (acting[0], 1));
}

/// A redirected op is placed by the redirect's locator (pool, key and
/// namespace) every time: a map change that moves nothing leaves it be.
#[test]
fn a_redirected_op_stays_put_on_an_unrelated_map_change() {
    let mut bed = Bed::new(None);
    let (_, out) = bed.submit(stat(2, "obj"));
    let first = only(&out).clone();
    let out = bed.reply(&first, 0, Some(redirect_to(3, "elsewhere")));
    let second = only(&out).clone();
    assert_eq!(
        (second.oloc.pool, second.oloc.nspace.as_str()),
        (3, "elsewhere")
    );
    let out = bed.new_epoch(|m| {
        m.pools.entry(1).and_modify(|p| p.pg_num_target += 1);
    });
    assert!(out.sent.is_empty(), "{out:?}");
}

/// The watch op (`watch_op::*`) a sent op carries, if it is a WATCH.
fn watch_op_of(sent: &Sent) -> Option<u8> {
    let (c, args) = sent.first_op.as_ref()?;
    (*c == code::WATCH).then(|| args[16])
}

/// A watch lives through a session failure (RECONNECT to its primary),
/// is pinged, hears notifications, and a notify's completion reaches
/// its notifier.
#[test]
fn a_watch_reconnects_is_pinged_and_hears_notifications() {
    let mut bed = Bed::new(None);
    let target = OpRequest::new(2, "watched", vec![]);
    bed.core.add_watch(bed.now, 9, target.clone());
    let mut watch = target.clone();
    watch.ops = vec![OsdOp::watch(9, watch_op::WATCH, 0)];
    let (_, out) = bed.submit(watch);
    let first = only(&out).clone();
    assert_eq!(watch_op_of(&first), Some(watch_op::WATCH));
    assert_eq!(bed.reply(&first, 0, None).done.len(), 1);

    bed.core
        .session_failed(bed.now, first.osd, first.incarnation, "reset");
    let out = bed.step();
    let reconnect = only(&out).clone();
    assert_eq!(watch_op_of(&reconnect), Some(watch_op::RECONNECT));
    assert_eq!(reconnect.osd, first.osd);
    assert!(
        bed.reply(&reconnect, 0, None).done.is_empty(),
        "the core's own op"
    );

    assert!(bed
        .core
        .poll_timeout()
        .is_some_and(|t| t <= bed.now + PING_INTERVAL));
    let out = bed.advance(PING_INTERVAL);
    let ping = only(&out).clone();
    assert_eq!(watch_op_of(&ping), Some(watch_op::PING));
    let _ = bed.reply(&ping, 0, None);

    let notify = |opcode, cookie| MWatchNotify {
        opcode,
        cookie,
        ver: 1,
        notify_id: 42,
        payload: Bytes::from_static(b"hi"),
        return_code: 0,
        notifier_gid: 7,
    };
    for (opcode, cookie) in [(event::NOTIFY, 9), (event::NOTIFY_COMPLETE, 11)] {
        let msg = Message::new(
            MSG_WATCH_NOTIFY,
            3,
            1,
            notify(opcode, cookie).encode_front(),
        );
        bed.core
            .handle_message(bed.now, ping.osd, ping.incarnation, &msg);
    }
    let out = bed.step();
    assert!(matches!(
        &out.watch_events[..],
        [(
            9,
            WatchEvent::Notify {
                notify_id: 42,
                notifier_gid: 7,
                ..
            }
        )]
    ));
    assert_eq!(out.notified.len(), 1);
    assert_eq!(out.notified[0].0, 11);
}

/// An OSD backoff holds back new ops to its range until it unblocks.
#[test]
fn a_backoff_holds_ops_until_unblocked() {
    use crate::osd::backoff::{backoff_op, MOsdBackoff};
    use crate::osd::messages::MSG_OSD_BACKOFF;
    use crate::osd::types::HObject;
    use ceph_encoding::Encode;
    let mut bed = Bed::new(None);
    let (_, out) = bed.submit(stat(2, "obj"));
    let first = only(&out).clone();
    let _ = bed.reply(&first, 0, None);
    let mut begin = HObject::min();
    begin.pool = 2;
    let block = MOsdBackoff {
        spgid: first.spgid,
        map_epoch: 35,
        op: backoff_op::BLOCK,
        id: 3,
        begin: begin.clone(),
        end: HObject { max: true, ..begin },
    };
    let send = |bed: &mut Bed, m: &MOsdBackoff| {
        let msg = Message::new(MSG_OSD_BACKOFF, 1, 1, m.to_bytes(0));
        bed.core
            .handle_message(bed.now, first.osd, first.incarnation, &msg);
    };
    send(&mut bed, &block);
    let _ = bed.step();
    let (_, out) = bed.submit(stat(2, "obj"));
    assert!(out.sent.is_empty(), "held back");
    let unblock = MOsdBackoff {
        op: backoff_op::UNBLOCK,
        ..block.clone()
    };
    send(&mut bed, &unblock);
    let out = bed.step();
    assert_eq!(only(&out).osd, first.osd);
}

/// A redirect that names another object and no pool sends the op to
/// that object in its own pool.
#[test]
fn a_redirect_to_another_object_keeps_the_pool() {
    let mut bed = Bed::new(None);
    let (_, out) = bed.submit(stat(2, "obj"));
    let first = only(&out).clone();
    let mut redirect = redirect_to(-1, "");
    redirect.redirect_object = "elsewhere".into();
    let out = bed.reply(&first, 0, Some(redirect));
    let second = only(&out).clone();
    let (primary, _, pgid, hash) = bed.placement(2, "elsewhere");
    assert_eq!((second.oid.as_str(), second.oloc.pool), ("elsewhere", 2));
    assert_eq!(
        (second.osd, second.spgid.pgid, second.hash),
        (primary, pgid, hash)
    );
}

/// Reads follow the pool's read tier and writes its write tier.
#[test]
fn ops_follow_the_pools_tiers() {
    let mut bed = Bed::new(None);
    let _ = bed.new_epoch(|m| {
        m.pools.entry(2).and_modify(|p| p.read_tier = 3);
    });
    let (_, out) = bed.submit(stat(2, "obj"));
    assert_eq!(only(&out).oloc.pool, 3);
    assert_eq!(only(&out).spgid.pgid, bed.placement(3, "obj").2);
    let write = OpRequest::new(2, "obj", vec![OsdOp::write_full(Bytes::from_static(b"x"))]);
    let (_, out) = bed.submit(write);
    assert_eq!(only(&out).oloc.pool, 2);
}

/// pg_num shrinks from 32 to 16: an op in a PG merged away goes to the
/// merge target.
#[test]
fn a_pg_merge_resends_to_the_target() {
    let mut bed = Bed::new(None);
    let name = (0..200)
        .map(|i| format!("obj{i}"))
        .find(|o| bed.placement(2, o).3 & 16 != 0)
        .unwrap();
    let (tid, out) = bed.submit(stat(2, &name));
    let first = only(&out).clone();
    let out = bed.new_epoch(|m| {
        m.pools.entry(2).and_modify(|p| p.pg_num = 16);
    });
    let again = only(&out);
    assert_eq!(again.tid, tid);
    assert_eq!(again.spgid.pgid, PgId::new(2, first.hash & 15));
}

/// A watch reconnects on any change of its PG's acting set, even when
/// the primary stays (Ceph's rule for lingers); a plain op stays put.
#[test]
fn a_watch_reconnects_when_its_acting_set_changes() {
    let mut bed = Bed::new(None);
    let target = OpRequest::new(2, "watched", vec![]);
    bed.core.add_watch(bed.now, 5, target.clone());
    let mut watch = target;
    watch.ops = vec![OsdOp::watch(5, watch_op::WATCH, 0)];
    let (_, out) = bed.submit(watch);
    let first = only(&out).clone();
    let _ = bed.reply(&first, 0, None);
    let (_, acting, pgid, _) = bed.placement(2, "watched");
    let out = bed.new_epoch(|m| {
        m.pg_temp
            .insert(pgid, vec![acting[0], acting[2], acting[1]]);
    });
    let again = only(&out);
    assert_eq!(watch_op_of(again), Some(watch_op::RECONNECT));
    assert_eq!(again.osd, acting[0]);
}
