//! The core's side of watches: registrations kept alive across session
//! resets and map changes (reconnect, ping, re-register), notifications
//! routed to their watch, and notify completions.

use std::time::Instant;

use ceph_common::errno::{ENOTCONN, ETIMEDOUT};
use ceph_msgr2::session::Message;
use tracing::{debug, info, warn};

use super::core::{Action, ObjecterCore, Owner, PING_INTERVAL};
use super::linger_state::{Linger, WatchEvent};
use super::request::{OpReply, OpRequest};
use super::target::{calc_target, OpBase, OpTarget, TargetCalc};
use crate::error::Result;
use crate::osd::op::code;
use crate::osd::watch::{event, watch_op, MWatchNotify};
use crate::osd::OsdOp;

/// The cookie and watch op of a WATCH op.
fn watch_of(req: &OpRequest) -> Option<(u64, u8)> {
    let op = req.ops.first().filter(|o| o.code == code::WATCH)?;
    let cookie = u64::from_le_bytes(op.args.get(..8)?.try_into().ok()?);
    Some((cookie, *op.args.get(16)?))
}

impl ObjecterCore {
    /// Starts keeping watch `cookie` on `target`'s object (the caller
    /// sends the first WATCH op itself).
    pub fn add_watch(&mut self, now: Instant, cookie: u64, target: OpRequest) {
        self.now = now;
        self.lingers.insert(
            cookie,
            Linger {
                target,
                attached: None,
                placed: None,
                gen: 0,
                busy: false,
                dead: false,
            },
        );
        if self.ping_at.is_none() {
            self.ping_at = now.checked_add(PING_INTERVAL);
        }
    }

    /// Stops keeping watch `cookie`.
    pub fn remove_watch(&mut self, cookie: u64) {
        self.lingers.remove(&cookie);
        if self.lingers.is_empty() {
            self.ping_at = None;
        }
    }

    /// A caller's WATCH op was answered by `from`: that is where the
    /// watch now lives.
    pub(super) fn note_watch_reply(
        &mut self,
        req: &OpRequest,
        from: (i32, u64),
        target: Option<&OpTarget>,
        reply: &OpReply,
    ) {
        let Some((cookie, op)) = watch_of(req) else {
            return;
        };
        if reply.result < 0 || !(op == watch_op::WATCH || op == watch_op::RECONNECT) {
            return;
        }
        if let Some(l) = self.lingers.get_mut(&cookie) {
            l.attached = Some(from);
            l.placed = target.cloned();
        }
    }

    /// Sends one of our own WATCH ops for `cookie`.
    fn send_linger_op(&mut self, cookie: u64, op: u8) {
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
        let mtime = self.wall_now();
        self.submit_owned(req, Owner::Linger(cookie), mtime);
    }

    /// One of our own WATCH ops for `cookie` is done.
    pub(super) fn linger_op_done(
        &mut self,
        cookie: u64,
        req: &OpRequest,
        from: Option<(i32, u64)>,
        target: Option<OpTarget>,
        r: Result<OpReply>,
    ) {
        let op = watch_of(req).map_or(watch_op::PING, |w| w.1);
        let Some(l) = self.lingers.get_mut(&cookie) else {
            return;
        };
        l.busy = false;
        // (errno, whether the OSD said it)
        let (errno, answered) = match r {
            Ok(reply) if reply.result >= 0 => {
                if op != watch_op::PING {
                    l.attached = from;
                    l.placed = target;
                    debug!(cookie, op, "watch registered again");
                }
                return;
            }
            Ok(reply) => (reply.result, true),
            Err(e) => {
                warn!(cookie, "watch op failed: {e}");
                (ETIMEDOUT, false)
            }
        };
        info!(cookie, op, errno, "watch lost; registering it again");
        l.attached = None;
        self.actions.push_back(Action::Watch {
            cookie,
            event: WatchEvent::Error { errno },
        });
        if op == watch_op::WATCH && answered && errno != ENOTCONN {
            // The OSD refuses even a fresh registration (the object is
            // gone, or we may not): stop trying. A timeout keeps trying.
            if let Some(l) = self.lingers.get_mut(&cookie) {
                l.dead = true;
            }
            return;
        }
        self.send_linger_op(cookie, watch_op::WATCH);
    }

    /// Session `incarnation` with `osd` is gone: its watches reconnect.
    pub(super) fn lingers_lost_session(&mut self, osd: i32, incarnation: u64) {
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
            self.send_linger_op(cookie, watch_op::RECONNECT);
        }
    }

    /// After a map change: watches whose PG had any change of interval
    /// reconnect (Ceph's `any_change` rule for lingers).
    pub(super) fn retarget_lingers(&mut self) {
        let Some(maps) = self.maps.clone() else {
            return;
        };
        let mut moved = Vec::new();
        for (&cookie, l) in &mut self.lingers {
            if l.attached.is_none() {
                continue;
            }
            let base = OpBase {
                req: &l.target,
                redirect: None,
            };
            let changed = match calc_target(&maps, base, l.placed.as_ref(), true) {
                TargetCalc::Target { target, resend } => {
                    l.placed = Some(target);
                    resend
                }
                TargetCalc::PoolGone(_) | TargetCalc::Unplaceable(_) => true,
            };
            if changed {
                l.attached = None;
                moved.push(cookie);
            }
        }
        for cookie in moved {
            self.send_linger_op(cookie, watch_op::RECONNECT);
        }
    }

    /// Pings registered watches (a lost one answers with an error and is
    /// registered again), and reconnects those left unattached.
    pub(super) fn ping_lingers(&mut self) {
        if self.lingers.is_empty() {
            return;
        }
        self.ping_at = self.now.checked_add(PING_INTERVAL);
        let idle = |l: &Linger| !l.busy && !l.dead;
        let ping: Vec<u64> = self
            .lingers
            .iter()
            .filter(|(_, l)| l.attached.is_some() && idle(l))
            .map(|(c, _)| *c)
            .collect();
        for cookie in ping {
            self.send_linger_op(cookie, watch_op::PING);
        }
        let unattached: Vec<u64> = self
            .lingers
            .iter()
            .filter(|(_, l)| l.attached.is_none() && idle(l) && l.gen > 0)
            .map(|(c, _)| *c)
            .collect();
        for cookie in unattached {
            self.send_linger_op(cookie, watch_op::RECONNECT);
        }
    }

    /// An `MWatchNotify` from `osd`.
    pub(super) fn handle_watch_notify(&mut self, osd: i32, msg: &Message) {
        let m = match MWatchNotify::decode(&msg.front, msg.version) {
            Ok(m) => m,
            Err(e) => {
                warn!(osd, "unusable watch-notify message: {e}");
                return;
            }
        };
        match m.opcode {
            event::NOTIFY => {
                if self.lingers.contains_key(&m.cookie) {
                    self.actions.push_back(Action::Watch {
                        cookie: m.cookie,
                        event: WatchEvent::Notify {
                            notify_id: m.notify_id,
                            notifier_gid: m.notifier_gid,
                            payload: m.payload,
                        },
                    });
                } else {
                    debug!(cookie = m.cookie, "notification for an unknown watch");
                }
            }
            event::NOTIFY_COMPLETE => {
                let data = if msg.data.is_empty() {
                    m.payload
                } else {
                    msg.data.clone()
                };
                self.actions.push_back(Action::NotifyDone {
                    cookie: m.cookie,
                    code: m.return_code,
                    data,
                });
            }
            event::DISCONNECT => {
                if let Some(l) = self.lingers.get_mut(&m.cookie) {
                    l.attached = None;
                    self.actions.push_back(Action::Watch {
                        cookie: m.cookie,
                        event: WatchEvent::Error { errno: ENOTCONN },
                    });
                    self.send_linger_op(m.cookie, watch_op::WATCH);
                }
            }
            other => debug!(osd, opcode = other, "unknown watch-notify opcode"),
        }
    }
}
