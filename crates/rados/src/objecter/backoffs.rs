//! The objecter's side of OSD backoffs: remember each block, acknowledge
//! it, hold back ops it covers, and send them when the OSD unblocks.

use ceph_msgr2::session::Message;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::request::OpRequest;
use super::task::Task;
use crate::error::Result;
use crate::osd::backoff::{backoff_op, MOsdBackoff, MOSDBACKOFF_VERSION};
use crate::osd::messages::MSG_OSD_BACKOFF;
use crate::osd::session::OsdSession;
use crate::osd::types::{HObject, PgId};

impl Task {
    /// Whether an op for `req` to `osd` in PG `pgid` is blocked.
    pub(super) fn blocked_by_backoff(
        &self,
        osd: i32,
        pgid: PgId,
        hash: u32,
        req: &OpRequest,
        nspace: &str,
        key: &str,
    ) -> bool {
        let Some(list) = self.backoffs.get(&osd) else {
            return false;
        };
        if req.pg.is_some() {
            return list.iter().any(|b| b.spgid.pgid == pgid);
        }
        let obj = HObject {
            key: key.to_string(),
            oid: req.oid.clone(),
            snap: req.snapid,
            hash,
            max: false,
            nspace: nspace.to_string(),
            pool: pgid.pool,
        };
        list.iter().any(|b| b.spgid.pgid == pgid && b.covers(&obj))
    }

    /// An `MOSDBackoff` from `osd`.
    pub(super) fn handle_backoff(
        &mut self,
        osd: i32,
        incarnation: u64,
        msg: &Message,
        opened_tx: &mpsc::UnboundedSender<(i32, u64, Result<OsdSession>)>,
    ) {
        let m = match <MOsdBackoff as ceph_encoding::Decode>::decode_exact(&msg.front) {
            Ok(m) => m,
            Err(e) => {
                warn!(osd, "unusable backoff message: {e}");
                return;
            }
        };
        match m.op {
            backoff_op::BLOCK => {
                debug!(osd, id = m.id, pg = %m.spgid.pgid, "OSD backoff: block");
                if let Some(s) = self
                    .sessions
                    .get(&osd)
                    .filter(|s| s.incarnation == incarnation)
                {
                    let ack = Message::new(MSG_OSD_BACKOFF, MOSDBACKOFF_VERSION, 1, m.ack());
                    s.send(ack);
                }
                self.backoffs.entry(osd).or_default().push(m);
            }
            backoff_op::UNBLOCK => {
                debug!(osd, id = m.id, pg = %m.spgid.pgid, "OSD backoff: unblock");
                if let Some(list) = self.backoffs.get_mut(&osd) {
                    list.retain(|b| b.id != m.id);
                }
                // Ops held back, and those the OSD dropped while blocked
                // (every op sent to that PG there: a resend of one it did
                // answer is recognised by its tid).
                let pg = m.spgid.pgid;
                let held: Vec<u64> = self
                    .ops
                    .iter()
                    .filter(|(_, o)| match o.sent_to {
                        None => true,
                        Some((to, p, _)) => to == osd && p == pg,
                    })
                    .map(|(t, _)| *t)
                    .collect();
                for tid in held {
                    if let Some(op) = self.ops.get_mut(&tid) {
                        op.sent_to = None;
                    }
                    self.dispatch(tid, opened_tx);
                }
            }
            other => warn!(osd, op = other, "unknown backoff op"),
        }
    }
}
