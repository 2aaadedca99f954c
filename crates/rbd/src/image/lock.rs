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

use std::sync::atomic::Ordering;
use std::time::Duration;

use ceph_common::errno::{EBUSY, EEXIST, ERESTART, ETIMEDOUT};
use ceph_common::Errno;
use ceph_encoding::{Encode, UTime};
use tokio::sync::broadcast;

use super::cls_call::call;
use super::handle::Image;
use super::write_state::{HeaderWatch, HeldLock, WriteState};
use crate::cls::lock::{
    managed_lock_cookie, BreakLock, GetInfo, Lock, LockType, LockerId, Unlock, RBD_LOCK_NAME,
    WATCHER_LOCK_TAG,
};
use crate::notify::{AsyncRequestId, NotifyMessage, NotifyPayload, NotifyReplies};
use crate::{Error, Result};

/// How long watchers have to answer a notification.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a lock owner may take over a request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How often, and how long each time, to wait for a lock our own client
/// holds to go away (a dropped handle's watch being removed) before
/// taking it as held by a live handle.
const OWN_LOCK_WAITS: u32 = 10;
const OWN_LOCK_WAIT: Duration = Duration::from_millis(100);

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
    let me = img.rados.mon().global_id();
    let mut own_waits = 0;
    let mut attempt = 0;
    while attempt < 3 {
        attempt += 1;
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
        if alive && u64::try_from(owner.locker.num) == Ok(me) && own_waits < OWN_LOCK_WAITS {
            // Our own client holds it: a handle of this process being
            // dropped (a cancelled step) whose watch is still going away.
            // Give it a moment before calling the image in use.
            own_waits += 1;
            attempt -= 1;
            tokio::time::sleep(OWN_LOCK_WAIT).await;
            continue;
        }
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
