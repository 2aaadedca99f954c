//! The objecter's sans-IO core: the maps, the state of each OSD session
//! and the ops in flight, with no sockets, no tasks and no clock.
//!
//! Events go in with the current time (`submit`, `handle_osdmap`,
//! `handle_message`, `session_opened`, `session_failed`,
//! `handle_timeout`, and the watch commands); what to do comes out of
//! [`ObjecterCore::poll_action`], and [`ObjecterCore::poll_timeout`] says
//! when `handle_timeout` is due next (the earliest op deadline, watch
//! ping or retry of waiting ops). The tokio driver (`task.rs`) only moves
//! bytes and sleeps until that deadline.
//!
//! The parts: sending and resending (`dispatch.rs`), replies
//! (`replies.rs`), watches (`watches.rs`), backoffs (`backoffs.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ceph_encoding::{EntityAddr, UTime, Uuid};
use ceph_msgr2::session::Message;
use tracing::{info, warn};

use super::linger_state::{Linger, WatchEvent};
use super::map_update::apply_osdmap_message;
use super::request::{Maps, ObjecterOptions, OpReply, OpRequest};
use super::target::OpTarget;
use crate::error::{RadosError, Result};
use crate::osd::backoff::MOsdBackoff;
use crate::osd::types::ObjectLocator;

/// How long ops that could not be sent wait before they are tried again
/// (besides every new map).
pub(super) const RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// How often registered watches are pinged.
pub(super) const PING_INTERVAL: Duration = Duration::from_secs(5);

/// Something the driver must do.
#[derive(Debug)]
pub enum Action {
    /// Open a session with `osd` at `addr`, and report the outcome with
    /// [`ObjecterCore::session_opened`] or [`ObjecterCore::session_failed`]
    /// under `incarnation`.
    OpenSession {
        /// The OSD.
        osd: i32,
        /// Its msgr2 address.
        addr: EntityAddr,
        /// The session's incarnation.
        incarnation: u64,
    },
    /// Send `msg` on session `incarnation` with `osd`.
    Send {
        /// The OSD.
        osd: i32,
        /// The session's incarnation.
        incarnation: u64,
        /// The message.
        msg: Message,
    },
    /// Close session `incarnation` with `osd`.
    CloseSession {
        /// The OSD.
        osd: i32,
        /// The session's incarnation.
        incarnation: u64,
    },
    /// Op `tid` is done.
    Complete {
        /// The op.
        tid: u64,
        /// Its answer.
        result: Result<OpReply>,
    },
    /// Something happened to watch `cookie`.
    Watch {
        /// The watch.
        cookie: u64,
        /// What.
        event: WatchEvent,
    },
    /// The notify of `cookie` completed.
    NotifyDone {
        /// The notify.
        cookie: u64,
        /// 0, or -ETIMEDOUT when some watchers did not answer.
        code: i32,
        /// The encoded completion (answers and timeouts).
        data: Bytes,
    },
    /// Ask the monitor for the OSD maps from epoch `from`.
    RequestMaps {
        /// The first epoch wanted.
        from: u32,
    },
    /// The maps changed: publish them.
    PublishMaps(Maps),
}

/// What a session with an OSD is, as far as the core knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SessionState {
    pub(super) incarnation: u64,
    pub(super) addr: EntityAddr,
    /// Open (else being opened).
    pub(super) open: bool,
}

/// Why an op is not in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wait {
    /// No OSD map yet.
    Map,
    /// The map's flags (pause, full) hold it back.
    Paused,
    /// Its PG has no primary.
    NoPrimary,
    /// The OSD asked for a backoff.
    Backoff,
    /// A session with this OSD could not be opened.
    Session(i32),
    /// The map gives this OSD no msgr2 address.
    NoAddress(i32),
}

/// Where an op is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OpState {
    /// Not sent, and why.
    Unsent(Wait),
    /// Waiting for this session to open.
    Opening {
        /// The OSD.
        osd: i32,
        /// The session's incarnation.
        incarnation: u64,
    },
    /// Sent on this session.
    Sent {
        /// The OSD.
        osd: i32,
        /// The session's incarnation.
        incarnation: u64,
    },
}

/// Who waits for an op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    /// A caller, told by [`Action::Complete`].
    User,
    /// The core itself, keeping watch `cookie` registered.
    Linger(u64),
}

/// An op in flight.
#[derive(Debug)]
pub(super) struct InFlight {
    pub(super) req: OpRequest,
    pub(super) owner: Owner,
    /// Its modification time (writes).
    pub(super) mtime: UTime,
    /// Where an OSD redirected it: locator and object name ("" for the same).
    pub(super) redirect: Option<(ObjectLocator, String)>,
    /// Where it last went (or would go).
    pub(super) target: Option<OpTarget>,
    pub(super) state: OpState,
    /// How many times it was sent.
    pub(super) attempts: i32,
    pub(super) deadline: Option<Instant>,
}

/// The objecter's state machine. See the module's documentation.
#[derive(Debug)]
pub struct ObjecterCore {
    pub(super) fsid: Uuid,
    pub(super) op_timeout: Option<Duration>,
    pub(super) maps: Option<Maps>,
    pub(super) sessions: HashMap<i32, SessionState>,
    pub(super) next_incarnation: u64,
    pub(super) ops: BTreeMap<u64, InFlight>,
    pub(super) next_tid: u64,
    /// Op deadlines, earliest first.
    pub(super) deadlines: BTreeSet<(Instant, u64)>,
    /// Watches, by cookie.
    pub(super) lingers: HashMap<u64, Linger>,
    /// Backoffs the OSDs asked for, by OSD.
    pub(super) backoffs: HashMap<i32, Vec<MOsdBackoff>>,
    pub(super) actions: VecDeque<Action>,
    /// The time of the latest input.
    pub(super) now: Instant,
    /// A wall-clock reading and when it was taken (from the latest
    /// submit), for the mtime of the core's own ops.
    pub(super) wall: Option<(Instant, UTime)>,
    /// When waiting ops are tried again.
    pub(super) retry_at: Option<Instant>,
    /// When watches are pinged next.
    pub(super) ping_at: Option<Instant>,
    /// The latest epoch asked of the monitor.
    pub(super) asked_from: u32,
}

impl ObjecterCore {
    /// A core for cluster `fsid`, at time `now`.
    pub fn new(fsid: Uuid, opts: &ObjecterOptions, now: Instant) -> ObjecterCore {
        ObjecterCore {
            fsid,
            op_timeout: opts.op_timeout,
            maps: None,
            sessions: HashMap::new(),
            next_incarnation: 1,
            ops: BTreeMap::new(),
            next_tid: 1,
            deadlines: BTreeSet::new(),
            lingers: HashMap::new(),
            backoffs: HashMap::new(),
            actions: VecDeque::new(),
            now,
            wall: None,
            retry_at: None,
            ping_at: None,
            asked_from: 0,
        }
    }

    /// The maps the core holds.
    pub fn maps(&self) -> Option<&Maps> {
        self.maps.as_ref()
    }

    /// The next thing to do, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`ObjecterCore::handle_timeout`] is due: the earliest op
    /// deadline, retry of waiting ops or watch ping.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let deadline = self.deadlines.first().map(|d| d.0);
        [deadline, self.retry_at, self.ping_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// Registers op `req` (modification time `mtime`, for writes) and
    /// sends it when it can; returns its tid, which
    /// [`Action::Complete`] names.
    pub fn submit(&mut self, now: Instant, mtime: UTime, req: OpRequest) -> u64 {
        self.now = now;
        self.wall = Some((now, mtime));
        self.submit_owned(req, Owner::User, mtime)
    }

    pub(super) fn submit_owned(&mut self, req: OpRequest, owner: Owner, mtime: UTime) -> u64 {
        let tid = self.next_tid;
        self.next_tid += 1;
        let deadline = self.op_timeout.and_then(|t| self.now.checked_add(t));
        if let Some(d) = deadline {
            self.deadlines.insert((d, tid));
        }
        self.ops.insert(
            tid,
            InFlight {
                req,
                owner,
                mtime,
                redirect: None,
                target: None,
                state: OpState::Unsent(Wait::Map),
                attempts: 0,
                deadline,
            },
        );
        self.try_send(tid);
        tid
    }

    /// The wall-clock time now, from the latest reading a submit gave.
    pub(super) fn wall_now(&self) -> UTime {
        let Some((at, wall)) = self.wall else {
            return UTime::default();
        };
        let d = wall.to_duration() + self.now.saturating_duration_since(at);
        UTime::from_duration(d).unwrap_or(wall)
    }

    /// An MOSDMap message (its front part) from the monitor.
    pub fn handle_osdmap(&mut self, now: Instant, front: &[u8]) -> Result<()> {
        self.now = now;
        let step = apply_osdmap_message(self.maps.as_ref(), self.fsid, front)?;
        if let Some(from) = step.want_from {
            self.request_maps(from);
        }
        if let Some(maps) = step.maps {
            self.install_maps(maps);
        }
        Ok(())
    }

    /// Asks the monitor for maps from `from`, once per epoch.
    pub(super) fn request_maps(&mut self, from: u32) {
        if from > self.asked_from {
            self.asked_from = from;
            self.actions.push_back(Action::RequestMaps { from });
        }
    }

    /// Asks for maps again from the one after ours (some were missed).
    pub fn maps_lost(&mut self, now: Instant) {
        self.now = now;
        let from = self
            .maps
            .as_ref()
            .map_or(0, |m| m.osdmap.epoch.saturating_add(1));
        self.asked_from = 0;
        self.request_maps(from);
    }

    /// Whether the core still waits for session `incarnation` with `osd`
    /// (a session it closed meanwhile is not wanted).
    pub fn expects_session(&self, osd: i32, incarnation: u64) -> bool {
        self.sessions
            .get(&osd)
            .is_some_and(|s| s.incarnation == incarnation)
    }

    /// Session `incarnation` with `osd` is open.
    pub fn session_opened(&mut self, now: Instant, osd: i32, incarnation: u64) {
        self.now = now;
        match self.sessions.get_mut(&osd) {
            Some(s) if s.incarnation == incarnation => s.open = true,
            _ => return,
        }
        let waiting: Vec<u64> = self
            .ops
            .iter()
            .filter(|(_, o)| o.state == OpState::Opening { osd, incarnation })
            .map(|(t, _)| *t)
            .collect();
        for tid in waiting {
            self.try_send(tid);
        }
    }

    /// Session `incarnation` with `osd` failed (or could not be opened):
    /// ops sent on it are sent again; ops that waited for it to open wait
    /// for the next retry.
    pub fn session_failed(&mut self, now: Instant, osd: i32, incarnation: u64, error: &str) {
        self.now = now;
        let was_open = match self.sessions.get(&osd) {
            Some(s) if s.incarnation == incarnation => s.open,
            _ => return,
        };
        self.sessions.remove(&osd);
        self.backoffs.remove(&osd);
        if was_open {
            info!(
                osd,
                "session with osd.{osd} failed ({error}); resending its ops"
            );
        } else {
            warn!(
                osd,
                "cannot open a session with osd.{osd}: {error}; retrying"
            );
        }
        let lost: Vec<(u64, OpState)> = self
            .ops
            .iter()
            .filter(|(_, o)| match o.state {
                OpState::Sent {
                    osd: o_osd,
                    incarnation: o_inc,
                }
                | OpState::Opening {
                    osd: o_osd,
                    incarnation: o_inc,
                } => (o_osd, o_inc) == (osd, incarnation),
                OpState::Unsent(_) => false,
            })
            .map(|(t, o)| (*t, o.state))
            .collect();
        for (tid, state) in lost {
            self.set_state(tid, OpState::Unsent(Wait::Session(osd)));
            if let OpState::Sent { .. } = state {
                self.try_send(tid);
            }
        }
        // After the scan above, which must not catch the ops this sends.
        self.lingers_lost_session(osd, incarnation);
    }

    /// Timed work due at `now`: op expiry, retries, watch pings.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        self.expire();
        if self.retry_at.is_some_and(|t| t <= now) {
            self.retry_at = None;
            let waiting: Vec<u64> = self
                .ops
                .iter()
                .filter(|(_, o)| matches!(o.state, OpState::Unsent(_)))
                .map(|(t, _)| *t)
                .collect();
            for tid in waiting {
                self.try_send(tid);
            }
        }
        if self.ping_at.is_some_and(|t| t <= now) {
            self.ping_at = None;
            self.ping_lingers();
        }
    }

    /// Sets op `tid`'s state; an op left waiting is tried again later.
    pub(super) fn set_state(&mut self, tid: u64, state: OpState) {
        if let Some(op) = self.ops.get_mut(&tid) {
            op.state = state;
            if let OpState::Unsent(_) = state {
                if self.retry_at.is_none() {
                    self.retry_at = self.now.checked_add(RETRY_INTERVAL);
                }
            }
        }
    }

    /// Fails the ops whose deadline passed.
    fn expire(&mut self) {
        while let Some(&(at, tid)) = self.deadlines.first() {
            if at > self.now {
                break;
            }
            self.deadlines.remove(&(at, tid));
            let Some(op) = self.ops.get(&tid) else {
                continue;
            };
            let error = timeout_error(op, self.op_timeout.unwrap_or_default());
            warn!(tid, "{error}");
            self.complete(tid, Err(error), None);
        }
    }
}

/// The error of an op that ran out of time: the object, the option and
/// what the op was waiting for.
fn timeout_error(op: &InFlight, limit: Duration) -> RadosError {
    let object = op.req.what();
    let waiting = match op.state {
        OpState::Unsent(Wait::Map) => "waiting for an OSD map".to_string(),
        OpState::Unsent(Wait::Paused) => "held back by the OSD map's pause or full flags".into(),
        OpState::Unsent(Wait::NoPrimary) => "its PG has no primary OSD".into(),
        OpState::Unsent(Wait::Backoff) => "held back by an OSD backoff".into(),
        OpState::Unsent(Wait::Session(osd)) => format!("no session with osd.{osd} could be opened"),
        OpState::Unsent(Wait::NoAddress(osd)) => format!("osd.{osd} has no msgr2 address"),
        OpState::Opening { osd, .. } => format!("waiting for a session with osd.{osd}"),
        OpState::Sent { osd, .. } => format!("sent to osd.{osd}, no reply"),
    };
    RadosError::Timeout(format!(
        "operation on {object}: no answer within rados_osd_op_timeout ({:.1}s; {waiting})",
        limit.as_secs_f64()
    ))
}
