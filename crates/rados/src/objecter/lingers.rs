//! The watch/notify API: [`Objecter::watch`], [`Objecter::notify`] and
//! [`WatchRegistration`]. The core keeps watches alive (`watches.rs`).

use std::sync::atomic::Ordering;
use std::time::Duration;

use ceph_encoding::Decode;
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

use super::linger_state::WatchEvent;
use super::request::{OpReply, OpRequest};
use super::task::{Cmd, LingerCmd, Objecter};
use crate::error::{RadosError, Result};
use crate::osd::watch::{watch_op, NotifyResult};
use crate::osd::OsdOp;

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
