//! The core's side of OSD backoffs: remember each block, acknowledge
//! it, hold back ops it covers, and send them when the OSD unblocks.

use ceph_msgr2::session::Message;
use tracing::{debug, warn};

use super::core::{Action, ObjecterCore, OpState, Wait};
use super::request::OpRequest;
use super::target::OpTarget;
use crate::osd::backoff::{backoff_op, MOsdBackoff, MOSDBACKOFF_VERSION};
use crate::osd::messages::MSG_OSD_BACKOFF;
use crate::osd::types::HObject;

impl ObjecterCore {
    /// Whether an op for `req` going to `target` on `osd` is blocked.
    pub(super) fn blocked_by_backoff(&self, osd: i32, target: &OpTarget, req: &OpRequest) -> bool {
        let Some(list) = self.backoffs.get(&osd) else {
            return false;
        };
        let pgid = target.pgid;
        if req.pg.is_some() {
            return list.iter().any(|b| b.spgid.pgid == pgid);
        }
        let obj = HObject {
            key: target.key.clone(),
            oid: target.oid.clone(),
            snap: req.snapid,
            hash: target.hash,
            max: false,
            nspace: target.nspace.clone(),
            pool: pgid.pool,
        };
        list.iter().any(|b| b.spgid.pgid == pgid && b.covers(&obj))
    }

    /// An `MOSDBackoff` from `osd` on session `incarnation`.
    pub(super) fn handle_backoff(&mut self, osd: i32, incarnation: u64, msg: &Message) {
        let m = match <MOsdBackoff as ceph_encoding::Decode>::decode_exact(&msg.front) {
            Ok(m) => m,
            Err(e) => {
                warn!(osd, "unusable backoff message: {e}");
                return;
            }
        };
        let current = self
            .sessions
            .get(&osd)
            .is_some_and(|s| s.incarnation == incarnation && s.open);
        if !current {
            debug!(osd, "backoff from an old session; ignored");
            return;
        }
        match m.op {
            backoff_op::BLOCK => {
                debug!(osd, id = m.id, pg = %m.spgid.pgid, "OSD backoff: block");
                let ack = Message::new(MSG_OSD_BACKOFF, MOSDBACKOFF_VERSION, 1, m.ack());
                self.actions.push_back(Action::Send {
                    osd,
                    incarnation,
                    msg: ack,
                });
                self.backoffs.entry(osd).or_default().push(m);
            }
            backoff_op::UNBLOCK => {
                debug!(osd, id = m.id, pg = %m.spgid.pgid, "OSD backoff: unblock");
                if let Some(list) = self.backoffs.get_mut(&osd) {
                    list.retain(|b| b.id != m.id);
                }
                // Ops held back, and those the OSD dropped while blocked
                // (every op sent to that PG there: a resend of one it did
                // answer is recognised by its reqid).
                let pg = m.spgid.pgid;
                let held: Vec<u64> = self
                    .ops
                    .iter()
                    .filter(|(_, o)| match o.state {
                        OpState::Unsent(Wait::Backoff) => true,
                        OpState::Sent { osd: to, .. } => {
                            to == osd && o.target.as_ref().is_some_and(|t| t.pgid == pg)
                        }
                        _ => false,
                    })
                    .map(|(t, _)| *t)
                    .collect();
                for tid in held {
                    self.set_state(tid, OpState::Unsent(Wait::Backoff));
                    self.try_send(tid);
                }
            }
            other => warn!(osd, op = other, "unknown backoff op"),
        }
    }
}
