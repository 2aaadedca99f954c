//! The monitor client's logic, sans-IO: no socket, no clock, no task.
//!
//! The shape is quinn-proto's: the driver feeds [`MonCore`] what happened
//! (`handle_*`, `submit`, with the current time) and takes out what to do
//! ([`MonCore::poll_action`]) and when to call again
//! ([`MonCore::poll_timeout`], then [`MonCore::handle_timeout`]).
//!
//! - **Hunting**: one connection attempt at a time, each monitor in turn,
//!   the one that just failed last; a refused key or mode ends the hunt,
//!   and so does `client_mount_timeout` without a session.
//! - **Requests**: one table ([`Pending`]) of commands, version queries and
//!   pool operations, each with its `rados_mon_op_timeout` deadline, all
//!   sent again on every new session once the fsid is known.
//! - **Liveness**: a keepalive every `mon_client_ping_interval`; when
//!   nothing (no message, no keepalive ack) came for
//!   `mon_client_ping_timeout`, the session is dropped and another
//!   monitor hunted.
//! - **Tickets**: service tickets are renewed in the session (an MAuth
//!   asking `CEPHX_GET_PRINCIPAL_SESSION_KEY`) when they are three
//!   quarters through their life, and so is the AUTH ticket
//!   (`CEPHX_GET_AUTH_SESSION_KEY`), with a fresh session as the fallback:
//!   see [`tickets::AUTH_RENEWAL`].

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use ceph_cephx::SharedClient;
use ceph_encoding::{Decode, Encode, Uuid};
use ceph_msgr2::session::{Event, Message};
use tracing::{debug, info, warn};

use super::hunt::{self, Attempt, Hunt, ATTEMPT_GRACE, ROUND_PAUSE};
use super::messages::*;
use super::pending::{Pending, RequestKind};
use super::types::{CommandReply, MapUpdate, MonClientOptions, MonReply, PoolOpResult};
use crate::config::MonEndpoint;
use crate::error::{RadosError, Result};

/// What the driver must do.
#[derive(Debug)]
pub enum Action {
    /// Open a session with `mon` within `timeout` and report the outcome
    /// with [`MonCore::handle_connected`] or
    /// [`MonCore::handle_connect_failed`], naming `attempt`.
    Connect {
        /// The attempt's id.
        attempt: u64,
        /// The monitor.
        mon: MonEndpoint,
        /// How long the attempt may take.
        timeout: Duration,
    },
    /// Send a message on the open session.
    Send(Message),
    /// Send a keepalive on the open session.
    Keepalive,
    /// Close the open session (the core has moved on).
    Disconnect,
    /// Request `tid` is over.
    Complete {
        /// The request.
        tid: u64,
        /// Its answer, or why there is none.
        result: Result<MonReply>,
    },
    /// A map arrived.
    Map(MapUpdate),
    /// The client is mounted: the first monitor map came.
    Ready {
        /// The cluster's fsid.
        fsid: Uuid,
        /// Our global id.
        global_id: u64,
    },
    /// The client could not mount; the core does nothing more.
    Failed(RadosError),
}

/// The open session.
#[derive(Debug, Clone)]
struct Session {
    mon: MonEndpoint,
    opened: Instant,
    last_heard: Instant,
    next_ping: Instant,
    /// When a new AUTH ticket was asked for in this session.
    auth_asked: Option<Instant>,
    /// The monitor refused (or garbled) the in-session AUTH renewal.
    auth_refused: bool,
}

#[derive(Debug, Clone)]
enum Link {
    /// No session and no hunt: after a hunt failed, until a request comes.
    Idle,
    Hunting(Hunt),
    Open(Session),
}

/// The monitor client's state machine.
#[derive(Debug)]
pub struct MonCore {
    opts: MonClientOptions,
    mons: Vec<MonEndpoint>,
    cephx: Option<SharedClient>,
    /// A time on both clocks: tickets expire in wall-clock time.
    epoch: (Instant, SystemTime),
    link: Link,
    pending: Pending,
    subs: BTreeMap<String, SubscribeItem>,
    fsid: Option<Uuid>,
    global_id: u64,
    mounted: bool,
    /// When connecting gives up if the first monmap has not come
    /// (`client_mount_timeout`, even with a session open).
    mount_deadline: Instant,
    dead: bool,
    actions: VecDeque<Action>,
    next_attempt: u64,
    cursor: usize,
    ticket_retry_at: Option<Instant>,
}

impl MonCore {
    /// A core that starts hunting at `now` (`wall` is the same instant on
    /// the wall clock); `seed` picks the first monitor tried.
    pub fn new(
        opts: MonClientOptions,
        cephx: Option<SharedClient>,
        now: Instant,
        wall: SystemTime,
        seed: u64,
    ) -> MonCore {
        let mons = hunt::v2_endpoints(&opts.mons);
        let opts_timeout = opts.connect_timeout;
        let cursor = usize::try_from(seed % (mons.len().max(1) as u64)).unwrap_or(0);
        let mut subs = BTreeMap::new();
        subs.insert("monmap".to_string(), SubscribeItem { start: 0, flags: 0 });
        let mut core = MonCore {
            opts,
            mons,
            cephx,
            epoch: (now, wall),
            link: Link::Idle,
            pending: Pending::default(),
            subs,
            fsid: None,
            global_id: 0,
            mounted: false,
            mount_deadline: now.checked_add(opts_timeout).unwrap_or(now),
            dead: false,
            actions: VecDeque::new(),
            next_attempt: 0,
            cursor,
            ticket_retry_at: None,
        };
        core.start_hunt(now, None);
        core
    }

    /// The next thing to do, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The cluster's fsid, once known.
    pub fn fsid(&self) -> Option<Uuid> {
        self.fsid
    }

    /// The deadlines the core works with.
    pub fn timeouts(&self) -> crate::config::Timeouts {
        self.opts.timeouts
    }

    /// Whether a session is open.
    pub fn is_connected(&self) -> bool {
        matches!(self.link, Link::Open(_))
    }

    /// The monitor of the open session.
    pub fn current_mon(&self) -> Option<&MonEndpoint> {
        match &self.link {
            Link::Open(s) => Some(&s.mon),
            _ => None,
        }
    }

    /// The monitors hunted among.
    pub fn monitors(&self) -> &[MonEndpoint] {
        &self.mons
    }

    /// The pending requests.
    pub fn pending(&self) -> &Pending {
        &self.pending
    }

    /// Whether the core gave up (mounting failed).
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// When [`MonCore::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.dead {
            return None;
        }
        let link = match &self.link {
            Link::Idle => None,
            Link::Hunting(h) => Some(match &h.attempt {
                Some(a) => a.guard.min(h.deadline),
                None => h.next_try.min(h.deadline),
            }),
            Link::Open(s) => {
                let silent = s.last_heard + self.opts.timeouts.mon_ping_timeout;
                let mut t = silent.min(s.next_ping);
                if let Some(r) = self.renewal_due(s) {
                    t = t.min(r);
                }
                Some(t)
            }
        };
        let mount = (!self.mounted).then_some(self.mount_deadline);
        [link, self.pending.next_deadline(), mount]
            .into_iter()
            .flatten()
            .min()
    }

    /// Does what is due at `now`: expires requests, starts attempts, gives
    /// up hunting, pings, drops a silent monitor, renews tickets.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.dead {
            return;
        }
        self.expire(now);
        if !self.mounted && now >= self.mount_deadline {
            let e = match &self.link {
                Link::Hunting(h) => h.no_monitor(&self.opts),
                _ => RadosError::Timeout(format!(
                    "no monitor map within {}s (client_mount_timeout)",
                    self.opts.connect_timeout.as_secs()
                )),
            };
            if matches!(self.link, Link::Open(_)) {
                self.actions.push_back(Action::Disconnect);
            }
            self.fail(e);
            return;
        }
        match &mut self.link {
            Link::Idle => {}
            Link::Hunting(h) => {
                if now >= h.deadline {
                    let e = h.no_monitor(&self.opts);
                    self.fail(e);
                    // Mounted, the client keeps looking (librados does):
                    // the monitors may come back.
                    if self.mounted && !self.mons.is_empty() {
                        self.start_hunt(now, None);
                    }
                } else if let Some(a) = h.attempt.clone() {
                    if now >= a.guard {
                        let e = ceph_msgr2::Error::Timeout(format!("connecting to {}", a.mon));
                        self.handle_connect_failed(now, a.id, e);
                    }
                } else if now >= h.next_try {
                    self.start_attempt(now);
                }
            }
            Link::Open(s) => {
                let ping_timeout = self.opts.timeouts.mon_ping_timeout;
                if now >= s.last_heard + ping_timeout {
                    let mon = s.mon.clone();
                    warn!(
                        %mon,
                        "monitor silent for {:?} (mon_client_ping_timeout); hunting for another",
                        ping_timeout
                    );
                    self.drop_session(now, Some(mon));
                    return;
                }
                if now >= s.next_ping {
                    s.next_ping = now + self.opts.timeouts.mon_ping_interval;
                    self.actions.push_back(Action::Keepalive);
                }
                self.renew_tickets(now);
            }
        }
    }

    /// A new request at `now`; returns its tid. It is sent at once when a
    /// session is open and the fsid known, else on the next session.
    pub fn submit(&mut self, now: Instant, kind: RequestKind) -> u64 {
        let tid = self.pending.insert(kind, now, self.opts.timeouts.mon_op);
        if let (Link::Open(_), Some(fsid)) = (&self.link, self.fsid) {
            if let Some(m) = self.pending.message(tid, fsid) {
                self.actions.push_back(Action::Send(m));
            }
        }
        self.wake(now);
        tid
    }

    /// Subscribes to a map from version `start`, once or for good.
    pub fn subscribe(&mut self, now: Instant, what: &str, start: u64, onetime: bool) {
        self.subs.insert(
            what.to_string(),
            SubscribeItem {
                start,
                flags: if onetime { SUBSCRIBE_ONETIME } else { 0 },
            },
        );
        if matches!(self.link, Link::Open(_)) {
            self.send_subscribe();
        }
        self.wake(now);
    }

    /// Drops the session as a network failure would, and hunts (another
    /// monitor first).
    pub fn reconnect(&mut self, now: Instant) {
        match &self.link {
            Link::Open(s) => {
                info!(mon = %s.mon, "dropping the monitor session on request");
                let mon = s.mon.clone();
                self.drop_session(now, Some(mon));
            }
            Link::Hunting(_) => {}
            Link::Idle => self.wake(now),
        }
    }

    /// Attempt `attempt` opened a session (our global id: `global_id`).
    /// Returns false when the attempt is stale: the driver then closes
    /// that connection.
    pub fn handle_connected(&mut self, now: Instant, attempt: u64, global_id: u64) -> bool {
        let Link::Hunting(h) = &self.link else {
            return false;
        };
        let Some(a) = h.attempt.as_ref().filter(|a| a.id == attempt) else {
            return false;
        };
        info!(mon = %a.mon, "monitor session open");
        self.link = Link::Open(Session {
            mon: a.mon.clone(),
            opened: now,
            last_heard: now,
            next_ping: now + self.opts.timeouts.mon_ping_interval,
            auth_asked: None,
            auth_refused: false,
        });
        if global_id != 0 {
            self.global_id = global_id;
        }
        self.ticket_retry_at = None;
        self.on_session();
        true
    }

    /// Attempt `attempt` failed with `err`.
    pub fn handle_connect_failed(&mut self, now: Instant, attempt: u64, err: ceph_msgr2::Error) {
        let Link::Hunting(h) = &mut self.link else {
            return;
        };
        let Some(a) = h.attempt.take_if(|a| a.id == attempt) else {
            return;
        };
        let name = a.mon.to_string();
        if let Some(fatal) = hunt::fatal(&err, &name, &self.opts) {
            self.fail(fatal);
            return;
        }
        debug!(mon = %name, "monitor attempt failed: {err}");
        h.last = format!("{name}: {err}");
        h.in_round += 1;
        if h.in_round >= self.mons.len() {
            h.in_round = 0;
            h.rounds = h.rounds.saturating_add(1);
            h.next_try = now + ROUND_PAUSE;
        } else {
            h.next_try = now;
            self.start_attempt(now);
        }
    }

    /// The open session failed (read or write error, closed by the peer).
    pub fn handle_session_lost(&mut self, now: Instant, err: &ceph_msgr2::Error) {
        if let Link::Open(s) = &self.link {
            warn!(mon = %s.mon, "monitor session lost: {err}; hunting for a monitor");
            let mon = s.mon.clone();
            self.start_hunt(now, Some(mon));
        }
    }

    /// Something arrived on the open session.
    pub fn handle_event(&mut self, now: Instant, ev: Event) {
        let Link::Open(s) = &mut self.link else {
            return;
        };
        s.last_heard = now;
        let mon = s.mon.clone();
        match ev {
            Event::Ready(info) => {
                if info.global_id != 0 {
                    self.global_id = info.global_id;
                }
            }
            Event::KeepaliveAck(_) => {}
            Event::SessionReset(_) => {
                debug!("the monitor reset our session; sending everything again");
                self.on_session();
            }
            Event::Message(m) => {
                if let Err(e) = self.handle_message(m) {
                    warn!(%mon, "dropping the monitor session: {e}");
                    self.drop_session(now, Some(mon));
                }
            }
        }
    }

    fn wake(&mut self, now: Instant) {
        if matches!(self.link, Link::Idle) && !self.dead {
            self.start_hunt(now, None);
        }
    }

    fn start_hunt(&mut self, now: Instant, avoid: Option<MonEndpoint>) {
        self.link = Link::Hunting(Hunt::new(now, self.opts.connect_timeout, avoid));
        self.start_attempt(now);
    }

    fn start_attempt(&mut self, now: Instant) {
        let Link::Hunting(h) = &mut self.link else {
            return;
        };
        if h.attempt.is_some() {
            return;
        }
        let Some(mon) = h.pick(&self.mons, &mut self.cursor) else {
            let e = h.no_monitor(&self.opts);
            self.fail(e);
            return;
        };
        let left = h.deadline.saturating_duration_since(now);
        let timeout = h
            .attempt_timeout(&self.opts)
            .min(left)
            .max(Duration::from_millis(1));
        self.next_attempt += 1;
        let id = self.next_attempt;
        let name = mon.to_string();
        if !h.tried.contains(&name) {
            h.tried.push(name);
        }
        h.attempt = Some(Attempt {
            id,
            mon: mon.clone(),
            guard: now + timeout + ATTEMPT_GRACE,
        });
        debug!(%mon, attempt = id, "trying a monitor");
        self.actions.push_back(Action::Connect {
            attempt: id,
            mon,
            timeout,
        });
    }

    /// Closes the open session and hunts, `avoid` last.
    fn drop_session(&mut self, now: Instant, avoid: Option<MonEndpoint>) {
        self.actions.push_back(Action::Disconnect);
        self.start_hunt(now, avoid);
    }

    /// A hunt failed with `e`: every pending request fails with it; before
    /// the mount the core gives up, after it waits for the next request
    /// (the caller may hunt again at once).
    fn fail(&mut self, e: RadosError) {
        // Before the mount the caller gets the error (and says it once).
        if self.mounted {
            warn!("no monitor session: {e}");
        } else {
            debug!("no monitor session: {e}");
        }
        for (tid, _) in self.pending.drain() {
            self.actions.push_back(Action::Complete {
                tid,
                result: Err(hunt::copy_error(&e)),
            });
        }
        self.link = Link::Idle;
        if !self.mounted {
            self.dead = true;
            self.actions.push_back(Action::Failed(e));
        }
    }

    fn expire(&mut self, now: Instant) {
        for (tid, p) in self.pending.expire(now) {
            let secs = self.opts.timeouts.mon_op.map(|d| d.as_secs_f64());
            let e = RadosError::Timeout(format!(
                "{} got no answer within {:.1}s (rados_mon_op_timeout); sent {} time(s)",
                p.kind.describe(),
                secs.unwrap_or_default(),
                p.sent
            ));
            debug!(tid, "{e}");
            self.actions.push_back(Action::Complete {
                tid,
                result: Err(e),
            });
        }
    }

    /// A new session (or one the monitor reset): subscribe again and send
    /// every pending request again once the fsid is known.
    fn on_session(&mut self) {
        self.send_subscribe();
        if let Some(fsid) = self.fsid {
            for m in self.pending.messages(fsid) {
                self.actions.push_back(Action::Send(m));
            }
        }
    }

    fn send_subscribe(&mut self) {
        let sub = MonSubscribe {
            what: self.subs.clone(),
            hostname: self.opts.hostname.clone(),
        };
        self.actions.push_back(Action::Send(Message::new(
            MSG_MON_SUBSCRIBE,
            3,
            1,
            sub.to_bytes(0),
        )));
    }

    /// A map came: a one-time subscription to it is done (until then it
    /// is asked for again on every new session).
    fn got_onetime(&mut self, what: &str) {
        if self
            .subs
            .get(what)
            .is_some_and(|s| s.flags & SUBSCRIBE_ONETIME != 0)
        {
            self.subs.remove(what);
        }
    }

    /// Completes request `tid` with `reply` if it is pending and of the
    /// kind answered (a late or stray answer is dropped).
    fn answer(&mut self, tid: u64, reply: MonReply) {
        let answers = |k: &RequestKind| {
            matches!(
                (k, &reply),
                (RequestKind::Command { .. }, MonReply::Command(_))
                    | (RequestKind::PoolOp { .. }, MonReply::PoolOp(_))
                    | (RequestKind::Version { .. }, MonReply::Version { .. })
            )
        };
        if self.pending.take_if(tid, answers).is_some() {
            self.actions.push_back(Action::Complete {
                tid,
                result: Ok(reply),
            });
        } else {
            debug!(tid, "an answer to no pending request");
        }
    }

    fn handle_message(&mut self, msg: Message) -> Result<()> {
        match msg.msg_type {
            MSG_MON_MAP => self.handle_monmap(&msg)?,
            MSG_MON_COMMAND_ACK => {
                let ack: MonCommandAck = decode(&msg, "MMonCommandAck")?;
                let reply = CommandReply {
                    status: ack.r,
                    status_text: ack.rs,
                    output: msg.data.clone(),
                };
                self.answer(msg.tid, MonReply::Command(reply));
            }
            MSG_POOLOP_REPLY => {
                let r: PoolOpReply = decode(&msg, "MPoolOpReply")?;
                let reply = PoolOpResult {
                    status: r.reply_code as i32,
                    epoch: r.epoch,
                    data: r.response.unwrap_or_default(),
                };
                self.answer(msg.tid, MonReply::PoolOp(reply));
            }
            MSG_MON_GET_VERSION_REPLY => {
                let r: MonGetVersionReply = decode(&msg, "MMonGetVersionReply")?;
                let reply = MonReply::Version {
                    newest: r.version,
                    oldest: r.oldest_version,
                };
                self.answer(r.handle, reply);
            }
            MSG_OSD_MAP => {
                self.got_onetime("osdmap");
                self.actions.push_back(Action::Map(MapUpdate::OsdMap {
                    front: msg.front.clone(),
                    version: msg.version,
                }));
            }
            MSG_AUTH_REPLY => {
                let r: MonAuthReply = decode(&msg, "MAuthReply")?;
                self.handle_auth_reply(&r);
            }
            other => debug!(msg_type = other, "ignoring a monitor message"),
        }
        Ok(())
    }

    fn handle_monmap(&mut self, msg: &Message) -> Result<()> {
        let m: MonMapMessage = decode(msg, "MMonMap")?;
        let map =
            crate::monmap::MonMap::decode_exact(&m.monmap).map_err(|e| RadosError::Decode {
                what: "MonMap",
                source: e,
            })?;
        if let Some(ours) = self.fsid.filter(|f| *f != map.fsid) {
            return Err(RadosError::OtherCluster {
                what: "the monitor map",
                theirs: map.fsid,
                ours,
            });
        }
        // Hunt among the monitors of the map from now on.
        let mons: Vec<MonEndpoint> = map
            .msgr2_addrs()
            .into_iter()
            .filter_map(|(_, a)| a.socket_addr())
            .map(|sa| MonEndpoint {
                protocol: crate::config::Protocol::V2,
                host: sa.ip().to_string(),
                port: sa.port(),
            })
            .collect();
        if !mons.is_empty() {
            debug!(epoch = map.epoch, mons = mons.len(), "monmap");
            self.mons = mons;
        }
        if self.fsid.is_none() {
            self.fsid = Some(map.fsid);
            // Requests waiting for the fsid go out now.
            for m in self.pending.messages(map.fsid) {
                self.actions.push_back(Action::Send(m));
            }
        }
        if !self.mounted {
            self.mounted = true;
            self.actions.push_back(Action::Ready {
                fsid: map.fsid,
                global_id: self.global_id,
            });
        }
        self.got_onetime("monmap");
        self.actions
            .push_back(Action::Map(MapUpdate::MonMap(m.monmap)));
        Ok(())
    }
}

fn decode<T: Decode>(msg: &Message, what: &'static str) -> Result<T> {
    let mut r = ceph_encoding::Reader::new(&msg.front);
    T::decode(&mut r).map_err(|e| RadosError::Decode { what, source: e })
}

pub mod tickets;

#[cfg(test)]
mod tests;
