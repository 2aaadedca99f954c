//! Sending ops: each op's target from [`calc_target`], the session it
//! needs, the MOSDOp itself; and, when a map arrives, closing the
//! sessions of OSDs that went down or moved and resending every op whose
//! target changed.

use ceph_msgr2::session::Message;
use tracing::{debug, warn};

use super::core::{Action, ObjecterCore, OpState, SessionState, Wait};
use super::request::Maps;
use super::target::{calc_target, OpBase, OpTarget, TargetCalc};
use crate::error::RadosError;
use crate::osd::messages::{flag, MOSDOP_COMPAT, MOSDOP_VERSION, MSG_OSD_OP};
use crate::osd::op::code;
use crate::osd::types::{ObjectLocator, ReqId, SPgId};
use crate::osd::MOsdOp;

/// What [`ObjecterCore::target_of`] found.
enum Found {
    /// The op was completed (its pool is gone, or cannot be placed).
    Done,
    /// Its target, and whether it must be (re)sent.
    Target(OpTarget, bool),
}

impl ObjecterCore {
    /// Computes op `tid`'s target under the current maps (comparing with
    /// where it went before) and stores it; completes the op if it has
    /// no target at all.
    fn target_of(&mut self, tid: u64, maps: &Maps) -> Option<Found> {
        let op = self.ops.get(&tid)?;
        let base = OpBase {
            req: &op.req,
            redirect: op.redirect.as_ref(),
        };
        match calc_target(maps, base, op.target.as_ref(), false) {
            TargetCalc::PoolGone(pool) => {
                let e = RadosError::NoSuchPool(format!("{pool}"));
                self.complete(tid, Err(e), None);
                Some(Found::Done)
            }
            TargetCalc::Unplaceable(pool) => {
                self.complete(tid, Err(RadosError::Placement { pool }), None);
                Some(Found::Done)
            }
            TargetCalc::Target { target, resend } => {
                if let Some(op) = self.ops.get_mut(&tid) {
                    op.target = Some(target.clone());
                }
                Some(Found::Target(target, resend))
            }
        }
    }

    /// Sends op `tid` if it can go now, else leaves it waiting (for a
    /// map, an unpause, a primary, a backoff's end or a session).
    pub(super) fn try_send(&mut self, tid: u64) {
        let Some(maps) = self.maps.clone() else {
            self.set_state(tid, OpState::Unsent(Wait::Map));
            return;
        };
        let Some(Found::Target(target, _)) = self.target_of(tid, &maps) else {
            return;
        };
        if target.paused {
            debug!(tid, "op paused by the map's flags");
            self.set_state(tid, OpState::Unsent(Wait::Paused));
            return;
        }
        let osd = target.primary;
        if osd < 0 {
            debug!(tid, pg = %target.pgid, "no primary; waiting for a new map");
            self.set_state(tid, OpState::Unsent(Wait::NoPrimary));
            self.request_maps(maps.osdmap.epoch.saturating_add(1));
            return;
        }
        let blocked = self
            .ops
            .get(&tid)
            .is_some_and(|op| self.blocked_by_backoff(osd, &target, &op.req));
        if blocked {
            debug!(tid, osd, "op held back by an OSD backoff");
            self.set_state(tid, OpState::Unsent(Wait::Backoff));
            return;
        }
        match self.sessions.get(&osd) {
            Some(s) if s.open => {
                let incarnation = s.incarnation;
                self.send_now(tid, osd, incarnation, &target, maps.osdmap.epoch);
            }
            Some(s) => {
                let incarnation = s.incarnation;
                self.set_state(tid, OpState::Opening { osd, incarnation });
            }
            None => {
                let state = match self.open_session(osd, &maps) {
                    Some(incarnation) => OpState::Opening { osd, incarnation },
                    None => OpState::Unsent(Wait::NoAddress(osd)),
                };
                self.set_state(tid, state);
            }
        }
    }

    /// Asks the driver to open a session with `osd`: its incarnation, or
    /// `None` if the map gives the OSD no msgr2 address.
    fn open_session(&mut self, osd: i32, maps: &Maps) -> Option<u64> {
        let Some(addr) = maps.osdmap.addrs(osd).and_then(|v| v.msgr2_addr()) else {
            warn!(osd, "osd.{osd} has no msgr2 address in the map");
            return None;
        };
        let incarnation = self.next_incarnation;
        self.next_incarnation += 1;
        self.sessions.insert(
            osd,
            SessionState {
                incarnation,
                addr,
                open: false,
            },
        );
        self.actions.push_back(Action::OpenSession {
            osd,
            addr,
            incarnation,
        });
        Some(incarnation)
    }

    /// Sends op `tid` to `target` on session `incarnation` of `osd`.
    fn send_now(&mut self, tid: u64, osd: i32, incarnation: u64, target: &OpTarget, epoch: u32) {
        let Some(op) = self.ops.get_mut(&tid) else {
            return;
        };
        let write = op.req.is_write();
        let mut flags = flag::KNOWN_REDIR
            | if write {
                flag::WRITE | flag::ONDISK
            } else {
                flag::READ
            };
        if op.req.ops.iter().any(|o| o.code == code::CALL) {
            flags |= flag::EXEC;
        }
        if op.attempts > 0 {
            flags |= flag::RETRY;
        }
        if op.req.pg.is_some() {
            flags |= flag::PGOP;
        }
        if target.redirected {
            flags |= flag::REDIRECTED | flag::IGNORE_OVERLAY | flag::IGNORE_CACHE;
        }
        let m = MOsdOp {
            spgid: SPgId {
                pgid: target.pgid,
                shard: target.shard,
            },
            hash: target.hash,
            epoch,
            flags,
            reqid: ReqId::default(),
            mtime: if write {
                op.mtime
            } else {
                ceph_encoding::UTime::default()
            },
            oloc: ObjectLocator {
                key: target.key.clone(),
                ..ObjectLocator::new(target.pool, &target.nspace)
            },
            oid: target.oid.clone(),
            ops: op.req.ops.clone(),
            snapid: op.req.snapid,
            snap_seq: op.req.snapc.seq,
            snaps: op.req.snapc.snaps.clone(),
            retry_attempt: op.attempts,
            features: ceph_encoding::features::CEPH_FEATURES_SUPPORTED_DEFAULT,
        };
        let (front, data) = m.encode_parts();
        let msg = Message::new(MSG_OSD_OP, MOSDOP_VERSION, MOSDOP_COMPAT, front)
            .with_tid(tid)
            .with_data(data);
        op.attempts += 1;
        op.state = OpState::Sent { osd, incarnation };
        debug!(tid, osd, pg = %target.pgid, shard = target.shard, attempt = op.attempts, "sending op");
        self.actions.push_back(Action::Send {
            osd,
            incarnation,
            msg,
        });
    }

    /// A new map: publish it, drop the sessions of OSDs that went down
    /// or changed address, and resend what must be resent.
    pub(crate) fn install_maps(&mut self, maps: Maps) {
        self.maps = Some(maps.clone());
        self.actions.push_back(Action::PublishMaps(maps.clone()));
        let map = &maps.osdmap;
        let stale: Vec<(i32, u64)> = self
            .sessions
            .iter()
            .filter(|(&osd, s)| {
                !map.is_up(osd) || map.addrs(osd).and_then(|v| v.msgr2_addr()) != Some(s.addr)
            })
            .map(|(&osd, s)| (osd, s.incarnation))
            .collect();
        for (osd, incarnation) in stale {
            debug!(osd, "osd.{osd} went down or moved; closing its session");
            self.sessions.remove(&osd);
            self.backoffs.remove(&osd);
            self.actions
                .push_back(Action::CloseSession { osd, incarnation });
            let lost: Vec<u64> = self
                .ops
                .iter()
                .filter(|(_, o)| match o.state {
                    OpState::Sent { osd: to, .. } | OpState::Opening { osd: to, .. } => to == osd,
                    OpState::Unsent(_) => false,
                })
                .map(|(t, _)| *t)
                .collect();
            for tid in lost {
                self.set_state(tid, OpState::Unsent(Wait::Session(osd)));
            }
            self.lingers_lost_session(osd, incarnation);
        }
        let tids: Vec<u64> = self.ops.keys().copied().collect();
        for tid in tids {
            let Some(state) = self.ops.get(&tid).map(|o| o.state) else {
                continue;
            };
            match state {
                OpState::Unsent(_) => self.try_send(tid),
                OpState::Sent { .. } | OpState::Opening { .. } => {
                    if let Some(Found::Target(_, true)) = self.target_of(tid, &maps) {
                        debug!(tid, "target changed; resending");
                        self.set_state(tid, OpState::Unsent(Wait::Map));
                        self.try_send(tid);
                    }
                }
            }
        }
        self.retarget_lingers();
    }
}
