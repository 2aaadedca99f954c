//! librbd's exclusive lock on an image header: a watch on the header,
//! the `rbd_lock` cls_lock with the cookie `auto <watch handle>`, and the
//! acquired/released notifications. When another client holds the lock,
//! requests go to it through the header's watch/notify.
//!
//! Every watch we keep on a header has a background task that
//! acknowledges each notification at once (a watcher that does not ack
//! stalls every notifier for the notify timeout) and forwards the decoded
//! messages to whoever waits for one (a snapshot request waiting for the
//! owner's `AsyncComplete`). While we own the lock, the task answers lock
//! requests the way a librbd owner that keeps its lock does (`-EROFS`:
//! "the peer will not release the lock") and refuses operation requests
//! the same way, so peers fail fast instead of retrying until timeout.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ceph_common::errno::{EBUSY, EEXIST, ERESTART, EROFS, ETIMEDOUT};
use ceph_common::Errno;
use ceph_encoding::{Encode, UTime};
use ceph_rados::objecter::{WatchEvent, WatchRegistration};
use ceph_rados::IoCtx;
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

use super::{call, Image};
use crate::cls::lock::{
    managed_lock_cookie, BreakLock, GetInfo, Lock, LockType, LockerId, Unlock, RBD_LOCK_NAME,
    WATCHER_LOCK_TAG,
};
use crate::cls::types::SnapContext;
use crate::notify::{
    AsyncRequestId, ClientId, NotifyMessage, NotifyPayload, NotifyReplies, ResponseMessage,
};
use crate::object_map::BitVector2;
use crate::{Error, Result};

/// How long watchers have to answer a notification.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a lock owner may take over a request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What the clones of one [`Image`] handle share for writing: the lock
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
    gid: u64,
    cookie: u64,
    /// Whether we own the lock (how the task answers lock requests).
    owner: Arc<AtomicBool>,
    messages: broadcast::Sender<NotifyMessage>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<WatchRegistration>>,
}

/// Where the exclusive lock stands for us.
pub(crate) enum LockState {
    /// We took it; release it with [`release`].
    Acquired(HeldLock),
    /// Another client holds it and has a watch: requests go to it.
    HeldBy {
        /// Our own watch, to hear the owner's answers.
        watch: HeaderWatch,
        /// Who holds it.
        owner: LockerId,
    },
}

/// The lock, held by us.
pub(crate) struct HeldLock {
    watch: HeaderWatch,
    cookie: String,
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
                        _ = &mut stopped => break,
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
                watch
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

    fn client_id(&self) -> ClientId {
        ClientId {
            gid: self.gid,
            handle: self.cookie,
        }
    }

    /// Decoded notifications from now on.
    fn subscribe(&self) -> broadcast::Receiver<NotifyMessage> {
        self.messages.subscribe()
    }

    /// Stops the task and removes the watch.
    pub(crate) async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            match t.await {
                Ok(watch) => {
                    let _ = watch.unwatch().await;
                }
                Err(e) => tracing::warn!("header watch task: {e}"),
            }
        }
    }
}

impl Drop for HeaderWatch {
    fn drop(&mut self) {
        // Dropped without `stop` (a cancelled future): end the task; the
        // OSD drops the watch when the session ends.
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// The error for an image whose lock another live client holds.
pub(crate) fn in_use(img: &Image, owner: &LockerId, what: &str) -> Error {
    Error::Refused(format!(
        "image in use by {}: it holds the exclusive lock of {}/{}; {what} is refused so as not to act behind its back (close the image there first)",
        owner.locker,
        img.io.pool_name(),
        img.name.as_deref().unwrap_or(&img.id)
    ))
}
/// Sends `payload` to the header's watchers and returns their replies.
async fn notify(img: &Image, payload: NotifyPayload) -> Result<NotifyReplies> {
    let msg = NotifyMessage::new(payload).to_bytes(0);
    let r = img
        .io
        .notify(&img.header_oid(), &msg, NOTIFY_TIMEOUT)
        .await
        .map_err(|e| Error::rados("notifying the image's watchers", e))?;
    Ok(NotifyReplies {
        acks: r
            .acks
            .into_iter()
            .map(|(w, b)| ((w.gid, w.cookie), b))
            .collect(),
        timeouts: r.timeouts.into_iter().map(|w| (w.gid, w.cookie)).collect(),
    })
}

/// Takes the image's exclusive lock, or finds who holds it.
pub(crate) async fn acquire(img: &Image) -> Result<LockState> {
    let header = img.header_oid();
    let watch = HeaderWatch::start(&img.io, &header, img.rados.mon().global_id()).await?;
    let cookie = managed_lock_cookie(watch.cookie);
    for _attempt in 0..3 {
        let lock = Lock {
            name: RBD_LOCK_NAME.to_string(),
            lock_type: LockType::Exclusive,
            cookie: cookie.clone(),
            tag: WATCHER_LOCK_TAG.to_string(),
            description: String::new(),
            duration: UTime::default(),
            flags: 0,
        };
        match call(&img.io, &header, &lock).await {
            Ok(()) => {
                watch.owner.store(true, Ordering::SeqCst);
                let held = HeldLock { watch, cookie };
                let _ = notify(
                    img,
                    NotifyPayload::AcquiredLock {
                        client_id: held.watch.client_id(),
                    },
                )
                .await;
                return Ok(LockState::Acquired(held));
            }
            Err(e) if matches!(e.errno(), Some(EBUSY) | Some(EEXIST)) => {}
            Err(e) => {
                watch.stop().await;
                return Err(e);
            }
        }
        let info = match call(
            &img.io,
            &header,
            &GetInfo {
                name: RBD_LOCK_NAME.to_string(),
            },
        )
        .await
        {
            Ok(i) => i,
            Err(e) => {
                watch.stop().await;
                return Err(e);
            }
        };
        let Some((owner, _)) = info.lockers.into_iter().next() else {
            continue; // released meanwhile: try again
        };
        // A holder without a watch on the header is gone (a crashed
        // client): break its lock, as librbd does.
        let watchers = match img.io.list_watchers(&header).await {
            Ok(w) => w,
            Err(e) => {
                watch.stop().await;
                return Err(Error::rados("listing the header's watchers", e));
            }
        };
        let handle = crate::cls::lock::parse_managed_lock_cookie(&owner.cookie);
        let alive = watchers
            .iter()
            .any(|w| w.name.num == owner.locker.num && Some(w.cookie) == handle);
        if alive {
            return Ok(LockState::HeldBy { watch, owner });
        }
        tracing::info!(owner = %owner.locker, "breaking the lock of a client without a watch");
        if let Err(e) = call(
            &img.io,
            &header,
            &BreakLock {
                name: RBD_LOCK_NAME.to_string(),
                locker: owner.locker,
                cookie: owner.cookie,
            },
        )
        .await
        {
            watch.stop().await;
            return Err(e);
        }
    }
    watch.stop().await;
    Err(Error::Refused(format!(
        "could not take the exclusive lock of image {}: it changes hands too fast",
        img.id
    )))
}

/// Releases a lock we took.
pub(crate) async fn release(img: &Image, held: HeldLock) -> Result<()> {
    let header = img.header_oid();
    held.watch.owner.store(false, Ordering::SeqCst);
    let unlocked = call(
        &img.io,
        &header,
        &Unlock {
            name: RBD_LOCK_NAME.to_string(),
            cookie: held.cookie.clone(),
        },
    )
    .await;
    let _ = notify(
        img,
        NotifyPayload::ReleasedLock {
            client_id: held.watch.client_id(),
        },
    )
    .await;
    held.watch.stop().await;
    unlocked
}

/// Tells the header's other watchers that the header changed.
pub(crate) async fn notify_header_update(img: &Image) {
    if let Err(e) = notify(img, NotifyPayload::HeaderUpdate).await {
        tracing::warn!("header update notification failed: {e}");
    }
}

/// Asks the lock owner to create snapshot `name` and waits for it to
/// finish.
pub(crate) async fn snap_create_by_owner(
    img: &Image,
    watch: HeaderWatch,
    owner: &LockerId,
    name: &str,
) -> Result<()> {
    let request = AsyncRequestId {
        client_id: watch.client_id(),
        request_id: 1,
    };
    let payload = NotifyPayload::SnapCreate {
        snap_name: name.to_string(),
        snap_namespace: crate::cls::types::SnapshotNamespace::User,
        request,
        flags: 0,
    };
    // Listen before asking: the completion may come before the notify's
    // own answer.
    let mut messages = watch.subscribe();
    let result = async {
        let replies = notify(img, payload).await?;
        let mut answered = false;
        for (_who, response) in replies.responses() {
            if let Ok(Some(r)) = response {
                answered = true;
                if r.result == ERESTART {
                    return Err(Error::Refused(format!(
                        "the owner of image {}'s lock ({}) is busy; try again",
                        img.id, owner.locker
                    )));
                }
                if r.result < 0 {
                    return Err(Error::Rados {
                        context: format!(
                            "the owner of image {}'s lock ({}) refused to create snapshot {name}",
                            img.id, owner.locker
                        ),
                        errno: Some(r.result),
                        message: Errno(r.result).to_string(),
                    });
                }
            }
        }
        if !answered {
            return Err(Error::Refused(format!(
                "the owner of image {}'s lock ({}) did not answer the snapshot request",
                img.id, owner.locker
            )));
        }
        wait_async_complete(&mut messages, &request).await
    }
    .await;
    watch.stop().await;
    result
}

/// Waits for the owner's completion of `request` among the notifications
/// our watch task forwards.
async fn wait_async_complete(
    messages: &mut broadcast::Receiver<NotifyMessage>,
    request: &AsyncRequestId,
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
    loop {
        let msg = match tokio::time::timeout_at(deadline, messages.recv()).await {
            Err(_) => {
                return Err(Error::Rados {
                    context: "waiting for the lock owner to finish".into(),
                    errno: Some(ETIMEDOUT),
                    message: Errno(ETIMEDOUT).to_string(),
                })
            }
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Err(broadcast::error::RecvError::Closed)) => {
                return Err(Error::Refused("the client shut down".into()))
            }
            Ok(Ok(m)) => m,
        };
        if let NotifyPayload::AsyncComplete { request: r, result } = msg.payload {
            if &r == request {
                if result < 0 {
                    return Err(Error::Rados {
                        context: "the lock owner failed the request".into(),
                        errno: Some(result),
                        message: Errno(result).to_string(),
                    });
                }
                return Ok(());
            }
        }
    }
}

/// How an operation that needs the exclusive lock runs.
pub(crate) enum OpLock {
    /// The image has no exclusive lock.
    NotNeeded,
    /// Our handle holds it (for writes); the state stays locked meanwhile.
    Held(tokio::sync::OwnedMutexGuard<WriteState>),
    /// Taken for this operation only; release it after.
    Temporary(HeldLock),
    /// Another live client holds it.
    Other {
        /// Our watch, to hear it.
        watch: HeaderWatch,
        /// Who holds it.
        owner: LockerId,
    },
}

/// Gets the lock for a metadata operation (snapshot create/remove):
/// the one our handle holds, or a temporary one.
pub(crate) async fn for_op(img: &Image) -> Result<OpLock> {
    if !img.meta.has(crate::features::EXCLUSIVE_LOCK) {
        return Ok(OpLock::NotNeeded);
    }
    let st = img.shared.clone().lock_owned().await;
    if st.held.is_some() {
        return Ok(OpLock::Held(st));
    }
    drop(st);
    Ok(match acquire(img).await? {
        LockState::Acquired(h) => OpLock::Temporary(h),
        LockState::HeldBy { watch, owner } => OpLock::Other { watch, owner },
    })
}

/// Ends what [`for_op`] started: a temporary lock is released.
pub(crate) async fn end_op(img: &Image, lock: OpLock) -> Result<()> {
    match lock {
        OpLock::Temporary(h) => release(img, h).await,
        OpLock::Other { watch, .. } => {
            watch.stop().await;
            Ok(())
        }
        OpLock::NotNeeded | OpLock::Held(_) => Ok(()),
    }
}
