//! What the clones of an image handle share for writing (the lock held,
//! the object map, the snapshot context), and our watch on the header
//! that holding the lock keeps.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ceph_common::errno::EROFS;
use ceph_encoding::Encode;
use ceph_rados::objecter::WatchEvent;
use ceph_rados::IoCtx;
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

use crate::cls::types::SnapContext;
use crate::notify::{ClientId, NotifyMessage, NotifyPayload, ResponseMessage};
use crate::object_map::BitVector2;
use crate::{Error, Result};

/// What the clones of one [`Image`](crate::image::Image) handle share for writing: the lock
/// we hold, the head's object map (kept in step with the OSD's copy) and
/// the newest snapshot context.
#[derive(Default)]
pub(crate) struct WriteState {
    /// The exclusive lock, while we hold it.
    pub(crate) held: Option<HeldLock>,
    /// The head's object map, loaded when the lock was taken.
    pub(crate) object_map: Option<BitVector2>,
    /// The snapshot context writes carry (`None`: the image's).
    pub(crate) snapc: Option<SnapContext>,
}

impl std::fmt::Debug for WriteState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteState")
            .field("locked", &self.held.is_some())
            .field("object_map", &self.object_map.as_ref().map(BitVector2::len))
            .field("snapc", &self.snapc)
            .finish()
    }
}

/// The write state, shared by an image handle's clones.
pub(crate) type SharedState = Arc<tokio::sync::Mutex<WriteState>>;

/// Our watch on an image header, with its acking task.
pub(crate) struct HeaderWatch {
    pub(super) gid: u64,
    pub(super) cookie: u64,
    /// Whether we own the lock (how the task answers lock requests).
    pub(super) owner: Arc<AtomicBool>,
    pub(super) messages: broadcast::Sender<NotifyMessage>,
    pub(super) stop: Option<oneshot::Sender<()>>,
    pub(super) task: Option<JoinHandle<()>>,
}

/// The lock, held by us.
pub(crate) struct HeldLock {
    pub(super) watch: HeaderWatch,
    pub(super) cookie: String,
}

/// The reply a lock owner that keeps its lock gives to `payload`.
fn owner_reply(payload: &NotifyPayload, me: &ClientId) -> Option<ResponseMessage> {
    use NotifyPayload as P;
    match payload {
        P::RequestLock { client_id, .. } if client_id != me => {
            Some(ResponseMessage { result: EROFS })
        }
        P::Flatten { .. }
        | P::Resize { .. }
        | P::SnapCreate { .. }
        | P::SnapRemove { .. }
        | P::RebuildObjectMap { .. }
        | P::SnapRename { .. }
        | P::SnapProtect { .. }
        | P::SnapUnprotect { .. }
        | P::Rename { .. }
        | P::UpdateFeatures { .. }
        | P::Migrate { .. }
        | P::Sparsify { .. }
        | P::MetadataUpdate { .. } => Some(ResponseMessage { result: EROFS }),
        _ => None,
    }
}

impl HeaderWatch {
    /// Watches `header` and starts the acking task.
    pub(crate) async fn start(io: &IoCtx, header: &str, gid: u64) -> Result<HeaderWatch> {
        let mut watch = io
            .watch(header)
            .await
            .map_err(|e| Error::rados(format!("watching {header}"), e))?;
        let cookie = watch.cookie();
        let me = ClientId {
            gid,
            handle: cookie,
        };
        let owner = Arc::new(AtomicBool::new(false));
        let (messages, _) = broadcast::channel(64);
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = {
            let owner = owner.clone();
            let messages = messages.clone();
            tokio::spawn(async move {
                loop {
                    let ev = tokio::select! {
                        _ = &mut stopped => {
                            // Told to stop, or the HeaderWatch was dropped
                            // (a cancelled future): the watch goes either
                            // way, or it would outlive its handle and make
                            // our own stale lock look alive to the next
                            // acquirer, in this process or another.
                            if let Err(e) = watch.unwatch().await {
                                tracing::debug!("removing a header watch: {e}");
                            }
                            return;
                        }
                        ev = watch.next_event() => ev,
                    };
                    let Some(ev) = ev else { break };
                    let WatchEvent::Notify {
                        notify_id, payload, ..
                    } = ev
                    else {
                        continue;
                    };
                    let msg = NotifyMessage::from_bytes(&payload).ok();
                    let reply = match &msg {
                        Some(m) if owner.load(Ordering::SeqCst) => owner_reply(&m.payload, &me)
                            .map(|r| r.to_bytes(0))
                            .unwrap_or_default(),
                        _ => bytes::Bytes::new(),
                    };
                    if let Err(e) = watch.ack(notify_id, &reply).await {
                        tracing::debug!("acknowledging a header notification: {e}");
                    }
                    if let Some(m) = msg {
                        let _ = messages.send(m);
                    }
                }
            })
        };
        Ok(HeaderWatch {
            gid,
            cookie,
            owner,
            messages,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub(super) fn client_id(&self) -> ClientId {
        ClientId {
            gid: self.gid,
            handle: self.cookie,
        }
    }

    /// Decoded notifications from now on.
    pub(super) fn subscribe(&self) -> broadcast::Receiver<NotifyMessage> {
        self.messages.subscribe()
    }

    /// Stops the task and removes the watch.
    pub(crate) async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            // The task removes the watch as it ends.
            if let Err(e) = t.await {
                tracing::warn!("header watch task: {e}");
            }
        }
    }
}

impl Drop for HeaderWatch {
    fn drop(&mut self) {
        // Dropped without `stop` (a cancelled future): end the task, which
        // removes the watch in the background.
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}
