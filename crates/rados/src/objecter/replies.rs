//! What OSDs send the core: op replies (answers, redirects, EAGAIN),
//! watch notifications and backoffs; and completing an op.

use std::time::Instant;

use ceph_msgr2::session::Message;
use tracing::{debug, warn};

use super::core::{Action, ObjecterCore, OpState, Owner, Wait};
use super::request::{OpReply, OpRequest};
use crate::error::Result;
use crate::osd::messages::{MSG_OSD_BACKOFF, MSG_OSD_OPREPLY};
use crate::osd::watch::MSG_WATCH_NOTIFY;
use crate::osd::MOsdOpReply;

impl ObjecterCore {
    /// A message from `osd` on session `incarnation`.
    pub fn handle_message(&mut self, now: Instant, osd: i32, incarnation: u64, msg: &Message) {
        self.now = now;
        match msg.msg_type {
            MSG_WATCH_NOTIFY => self.handle_watch_notify(osd, msg),
            MSG_OSD_BACKOFF => self.handle_backoff(osd, incarnation, msg),
            MSG_OSD_OPREPLY => self.handle_op_reply(osd, incarnation, msg),
            other => debug!(osd, msg_type = other, "ignoring an OSD message"),
        }
    }

    fn handle_op_reply(&mut self, osd: i32, incarnation: u64, msg: &Message) {
        let reply = match MOsdOpReply::decode(&msg.front, msg.version, &msg.data) {
            Ok(r) => r,
            Err(e) => {
                warn!(osd, "unusable op reply: {e}");
                return;
            }
        };
        let tid = msg.tid;
        let Some(op) = self.ops.get_mut(&tid) else {
            debug!(tid, osd, "reply to an op no longer in flight");
            return;
        };
        if op.state != (OpState::Sent { osd, incarnation }) {
            debug!(tid, osd, "reply from a session the op is no longer on");
            return;
        }
        // A reply to an earlier attempt (the op was sent again since).
        if reply.retry_attempt >= 0 && reply.retry_attempt != op.attempts - 1 {
            debug!(
                tid,
                osd,
                attempt = reply.retry_attempt,
                "reply to an older attempt"
            );
            return;
        }
        if let Some(redirect) = reply.redirect {
            debug!(tid, pool = redirect.redirect_locator.pool, "redirected");
            op.redirect = Some((redirect.redirect_locator, redirect.redirect_object));
            op.target = None;
            self.set_state(tid, OpState::Unsent(Wait::Map));
            self.try_send(tid);
            return;
        }
        if reply.result == ceph_common::errno::EAGAIN {
            // Not the primary (any more), or a replica read refused:
            // compute the target again and resend.
            debug!(tid, osd, "EAGAIN; resending");
            op.target = None;
            self.set_state(tid, OpState::Unsent(Wait::Map));
            self.try_send(tid);
            return;
        }
        let answer = op_reply(&op.req, reply);
        self.complete(tid, answer, Some((osd, incarnation)));
    }

    /// Completes op `tid` with `r`; `from` is the OSD and session that
    /// answered.
    pub(super) fn complete(&mut self, tid: u64, r: Result<OpReply>, from: Option<(i32, u64)>) {
        let Some(op) = self.ops.remove(&tid) else {
            return;
        };
        if let Some(d) = op.deadline {
            self.deadlines.remove(&(d, tid));
        }
        match op.owner {
            Owner::User => {
                if let (Some(from), Ok(reply)) = (from, &r) {
                    self.note_watch_reply(&op.req, from, op.target.as_ref(), reply);
                }
                self.actions.push_back(Action::Complete { tid, result: r });
            }
            Owner::Linger(cookie) => {
                self.linger_op_done(cookie, &op.req, from, op.target, r);
            }
        }
    }
}

/// The answer to `req` from the OSD's `reply`, which must answer each op
/// of the request (an OSD's reply copies the request's ops, even on error;
/// the kernel client drops a reply with another count too).
pub(super) fn op_reply(req: &OpRequest, reply: MOsdOpReply) -> Result<OpReply> {
    if reply.ops.len() != req.ops.len() {
        return Err(crate::error::RadosError::op_count(
            req.what(),
            req.ops.len(),
            reply.ops.len(),
        ));
    }
    Ok(OpReply {
        result: reply.result,
        ops: reply.ops,
        version: reply.user_version,
    })
}
