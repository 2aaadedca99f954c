//! Watches and notifies: registrations the objecter keeps alive across
//! session resets and map changes (reconnect, ping, re-register), the
//! notifications it routes to their watch, and notify completions.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ceph_common::errno::ENOTCONN;
use ceph_encoding::Decode;
use ceph_msgr2::session::Message;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use super::linger_state::{Linger, LingerCmd, WatchEvent};
use super::request::{OpReply, OpRequest};
use super::task::{Cmd, Objecter, Task, Waiter};
use crate::error::{RadosError, Result};
use crate::osd::op::code;
use crate::osd::session::OsdSession;
use crate::osd::watch::{event, watch_op, MWatchNotify, NotifyResult};
use crate::osd::OsdOp;
use crate::placement::Placer;

/// How often registered watches are pinged.
const PING_INTERVAL: Duration = Duration::from_secs(5);

/// A registered watch on one object. Dropping it does not unwatch (the
/// OSD drops the watch when our session ends); call
/// [`WatchRegistration::unwatch`].
#[derive(Debug)]
pub struct WatchRegistration {
    objecter: Objecter,
    target: OpRequest,
    cookie: u64,
    events: mpsc::UnboundedReceiver<WatchEvent>,
}

impl WatchRegistration {
    /// The watch's cookie (librbd's "watch handle").
    pub fn cookie(&self) -> u64 {
        self.cookie
    }

    /// The next event; `None` once the objecter has stopped.
    pub async fn next_event(&mut self) -> Option<WatchEvent> {
        self.events.recv().await
    }

    /// An event if one is waiting.
    pub fn try_event(&mut self) -> Option<WatchEvent> {
        self.events.try_recv().ok()
    }

    /// Answers notification `notify_id` with `reply`.
    pub async fn ack(&self, notify_id: u64, reply: &[u8]) -> Result<OpReply> {
        let mut req = self.target.clone();
        req.ops = vec![OsdOp::notify_ack(notify_id, self.cookie, reply)];
        self.objecter.execute(req).await
    }

    /// Removes the watch.
    pub async fn unwatch(self) -> Result<OpReply> {
        let _ = self.objecter.tx.send(Cmd::Linger(LingerCmd::Remove {
            cookie: self.cookie,
        }));
        let mut req = self.target.clone();
        req.ops = vec![OsdOp::watch(self.cookie, watch_op::UNWATCH, 0)];
        self.objecter.execute(req).await
    }
}

type OpenedTx = mpsc::UnboundedSender<(i32, u64, Result<OsdSession>)>;

impl Objecter {
    /// Registers a watch on `target`'s object (its `ops` are ignored).
    /// The inner error is the OSD's negative errno.
    pub async fn watch(
        &self,
        target: OpRequest,
    ) -> Result<std::result::Result<WatchRegistration, i32>> {
        let cookie = self.next_cookie.fetch_add(1, Ordering::Relaxed);
        let (events_tx, events) = mpsc::unbounded_channel();
        let mut target = target;
        target.ops.clear();
        self.tx
            .send(Cmd::Linger(LingerCmd::Add {
                cookie,
                target: target.clone(),
                events: events_tx,
            }))
            .map_err(|_| RadosError::Shutdown)?;
        let mut req = target.clone();
        req.ops = vec![OsdOp::watch(cookie, watch_op::WATCH, 0)];
        let r = self.execute(req).await;
        let failed = match &r {
            Ok(reply) => reply.result < 0,
            Err(_) => true,
        };
        if failed {
            let _ = self.tx.send(Cmd::Linger(LingerCmd::Remove { cookie }));
        }
        let reply = r?;
        if reply.result < 0 {
            return Ok(Err(reply.result));
        }
        Ok(Ok(WatchRegistration {
            objecter: self.clone(),
            target,
            cookie,
            events,
        }))
    }

    /// Notifies the watchers of `target`'s object with `payload` and
    /// waits for their answers (at most `timeout` for each watcher).
    /// The inner error is the OSD's negative errno for the notify op.
    pub async fn notify(
        &self,
        target: OpRequest,
        payload: &[u8],
        timeout: Duration,
    ) -> Result<std::result::Result<NotifyResult, i32>> {
        let cookie = self.next_cookie.fetch_add(1, Ordering::Relaxed);
        let (done_tx, done) = oneshot::channel();
        self.tx
            .send(Cmd::Linger(LingerCmd::AddNotify {
                cookie,
                done: done_tx,
            }))
            .map_err(|_| RadosError::Shutdown)?;
        let secs = timeout.as_secs().clamp(1, u64::from(u32::MAX)) as u32;
        let mut req = target;
        req.ops = vec![OsdOp::notify(cookie, secs, payload)];
        let reply = match self.execute(req).await {
            Ok(r) if r.result >= 0 => r,
            other => {
                let _ = self
                    .tx
                    .send(Cmd::Linger(LingerCmd::RemoveNotify { cookie }));
                return other.map(|r| Err(r.result));
            }
        };
        debug!(
            cookie,
            version = reply.version,
            "notify sent; waiting for answers"
        );
        let wait = timeout * 2 + Duration::from_secs(10);
        let (_code, data) = match tokio::time::timeout(wait, done).await {
            Ok(Ok(x)) => x,
            Ok(Err(_)) => return Err(RadosError::Shutdown),
            Err(_) => {
                let _ = self
                    .tx
                    .send(Cmd::Linger(LingerCmd::RemoveNotify { cookie }));
                return Err(RadosError::Timeout(
                    "waiting for a notify to complete".into(),
                ));
            }
        };
        // A completion with -ETIMEDOUT still lists who answered and who
        // did not.
        NotifyResult::decode_exact(&data)
            .map(Ok)
            .map_err(|e| RadosError::Decode {
                what: "notify completion",
                source: e,
            })
    }
}

/// The cookie and watch op of a WATCH op.
fn watch_of(req: &OpRequest) -> Option<(u64, u8)> {
    let op = req.ops.first().filter(|o| o.code == code::WATCH)?;
    let cookie = u64::from_le_bytes(op.args.get(..8)?.try_into().ok()?);
    Some((cookie, *op.args.get(16)?))
}

impl Task {
    pub(super) fn handle_linger_cmd(&mut self, c: LingerCmd, _opened_tx: &OpenedTx) {
        match c {
            LingerCmd::Add {
                cookie,
                target,
                events,
            } => {
                self.lingers.insert(
                    cookie,
                    Linger {
                        target,
                        events,
                        attached: None,
                        gen: 0,
                        busy: false,
                        dead: false,
                    },
                );
            }
            LingerCmd::Remove { cookie } => {
                self.lingers.remove(&cookie);
            }
            LingerCmd::AddNotify { cookie, done } => {
                self.notifies.insert(cookie, done);
            }
            LingerCmd::RemoveNotify { cookie } => {
                self.notifies.remove(&cookie);
            }
        }
    }

    /// A caller's WATCH op was answered by `from`: that is where the
    /// watch now lives.
    pub(super) fn note_watch_reply(&mut self, req: &OpRequest, from: (i32, u64), reply: &OpReply) {
        let Some((cookie, op)) = watch_of(req) else {
            return;
        };
        if reply.result < 0 || !(op == watch_op::WATCH || op == watch_op::RECONNECT) {
            return;
        }
        if let Some(l) = self.lingers.get_mut(&cookie) {
            l.attached = Some(from);
        }
    }

    /// Sends one of our own WATCH ops for `cookie`.
    fn send_linger_op(&mut self, cookie: u64, op: u8, opened_tx: &OpenedTx) {
        let Some(l) = self.lingers.get_mut(&cookie) else {
            return;
        };
        if l.busy || l.dead {
            return;
        }
        l.busy = true;
        if op == watch_op::RECONNECT || op == watch_op::WATCH {
            l.gen += 1;
        }
        let mut req = l.target.clone();
        req.ops = vec![OsdOp::watch(cookie, op, l.gen)];
        self.submit(req, Waiter::Linger(cookie), None, opened_tx);
    }

    /// One of our own WATCH ops for `cookie` is done.
    pub(super) fn linger_op_done(
        &mut self,
        cookie: u64,
        req: &OpRequest,
        from: Option<(i32, u64)>,
        r: Result<OpReply>,
        opened_tx: &OpenedTx,
    ) {
        let op = watch_of(req).map_or(watch_op::PING, |w| w.1);
        let Some(l) = self.lingers.get_mut(&cookie) else {
            return;
        };
        l.busy = false;
        let errno = match r {
            Ok(reply) if reply.result >= 0 => {
                if op != watch_op::PING {
                    l.attached = from;
                    debug!(cookie, op, "watch registered again");
                }
                return;
            }
            Ok(reply) => reply.result,
            Err(e) => {
                warn!(cookie, "watch op failed: {e}");
                -110
            }
        };
        info!(cookie, op, errno, "watch lost; registering it again");
        let _ = l.events.send(WatchEvent::Error { errno });
        l.attached = None;
        if op == watch_op::WATCH && errno != ENOTCONN {
            // Even a fresh registration fails (the object is gone, or we
            // may not): stop trying.
            l.dead = true;
            return;
        }
        self.send_linger_op(cookie, watch_op::WATCH, opened_tx);
    }

    /// Session `incarnation` with `osd` failed: its watches reconnect.
    pub(super) fn lingers_lost_session(
        &mut self,
        osd: i32,
        incarnation: u64,
        opened_tx: &OpenedTx,
    ) {
        let lost: Vec<u64> = self
            .lingers
            .iter_mut()
            .filter(|(_, l)| l.attached == Some((osd, incarnation)))
            .map(|(c, l)| {
                l.attached = None;
                *c
            })
            .collect();
        for cookie in lost {
            self.send_linger_op(cookie, watch_op::RECONNECT, opened_tx);
        }
    }

    /// After a map change: watches whose object moved reconnect.
    pub(super) fn retarget_lingers(&mut self, opened_tx: &OpenedTx) {
        let Some(maps) = self.maps.clone() else {
            return;
        };
        let placer = Placer::new(&maps.osdmap, &maps.crush);
        let mut moved = Vec::new();
        for (&cookie, l) in &mut self.lingers {
            let Some((osd, _)) = l.attached else { continue };
            let t = &l.target;
            let now = placer
                .object_to_up_acting(t.pool, &t.oid, &t.key, &t.nspace)
                .map(|(m, _)| m.acting_primary);
            if now != Some(osd) {
                l.attached = None;
                moved.push(cookie);
            }
        }
        for cookie in moved {
            self.send_linger_op(cookie, watch_op::RECONNECT, opened_tx);
        }
    }

    /// Pings registered watches now and then (a lost one answers with an
    /// error and is registered again).
    pub(super) fn ping_lingers(&mut self, opened_tx: &OpenedTx) {
        if self.last_ping.elapsed() < PING_INTERVAL {
            return;
        }
        self.last_ping = Instant::now();
        let ping: Vec<u64> = self
            .lingers
            .iter()
            .filter(|(_, l)| l.attached.is_some() && !l.busy && !l.dead)
            .map(|(c, _)| *c)
            .collect();
        for cookie in ping {
            self.send_linger_op(cookie, watch_op::PING, opened_tx);
        }
        let unattached: Vec<u64> = self
            .lingers
            .iter()
            .filter(|(_, l)| l.attached.is_none() && !l.busy && !l.dead && l.gen > 0)
            .map(|(c, _)| *c)
            .collect();
        for cookie in unattached {
            self.send_linger_op(cookie, watch_op::RECONNECT, opened_tx);
        }
    }

    /// An `MWatchNotify` from `osd`.
    pub(super) fn handle_watch_notify(&mut self, osd: i32, msg: &Message, opened_tx: &OpenedTx) {
        let m = match MWatchNotify::decode(&msg.front, msg.version) {
            Ok(m) => m,
            Err(e) => {
                warn!(osd, "unusable watch-notify message: {e}");
                return;
            }
        };
        match m.opcode {
            event::NOTIFY => {
                if let Some(l) = self.lingers.get(&m.cookie) {
                    let _ = l.events.send(WatchEvent::Notify {
                        notify_id: m.notify_id,
                        notifier_gid: m.notifier_gid,
                        payload: m.payload,
                    });
                } else {
                    debug!(cookie = m.cookie, "notification for an unknown watch");
                }
            }
            event::NOTIFY_COMPLETE => {
                if let Some(done) = self.notifies.remove(&m.cookie) {
                    let data = if msg.data.is_empty() {
                        m.payload
                    } else {
                        msg.data.clone()
                    };
                    let _ = done.send((m.return_code, data));
                }
            }
            event::DISCONNECT => {
                if let Some(l) = self.lingers.get_mut(&m.cookie) {
                    let _ = l.events.send(WatchEvent::Error { errno: ENOTCONN });
                    l.attached = None;
                    self.send_linger_op(m.cookie, watch_op::WATCH, opened_tx);
                }
            }
            other => debug!(osd, opcode = other, "unknown watch-notify opcode"),
        }
    }
}
