//! librbd's exclusive lock on an image header: a watch on the header,
//! the `rbd_lock` cls_lock with the cookie `auto <watch handle>`, and the
//! acquired/released notifications. When another client holds the lock,
//! requests go to it through the header's watch/notify.

use std::time::Duration;

use ceph_encoding::UTime;
use ceph_rados::objecter::{WatchEvent, WatchRegistration};

use super::{call, Image};
use crate::cls::lock::{
    managed_lock_cookie, BreakLock, GetInfo, Lock, LockType, LockerId, Unlock, RBD_LOCK_NAME,
    WATCHER_LOCK_TAG,
};
use crate::notify::{AsyncRequestId, ClientId, NotifyMessage, NotifyPayload, NotifyReplies};
use crate::{Error, Result};

/// -EBUSY, -EEXIST, -ETIMEDOUT, -ERESTART.
const EBUSY: i32 = -16;
const EEXIST: i32 = -17;
const ETIMEDOUT: i32 = -110;
const ERESTART: i32 = -85;

/// How long watchers have to answer a notification.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a lock owner may take over a request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Our watch on an image header.
pub(crate) struct HeaderWatch {
    watch: WatchRegistration,
    gid: u64,
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

impl HeaderWatch {
    fn client_id(&self) -> ClientId {
        ClientId {
            gid: self.gid,
            handle: self.watch.cookie(),
        }
    }
}

/// Sends `payload` to the header's watchers and returns their replies.
async fn notify(img: &Image, payload: NotifyPayload) -> Result<NotifyReplies> {
    let msg = ceph_encoding::Encode::to_bytes(&NotifyMessage::new(payload), 0);
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
    let watch = img
        .io
        .watch(&header)
        .await
        .map_err(|e| Error::rados(format!("watching {header}"), e))?;
    let watch = HeaderWatch {
        watch,
        gid: img.rados.mon().global_id(),
    };
    let cookie = managed_lock_cookie(watch.watch.cookie());
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
                let _ = watch.watch.unwatch().await;
                return Err(e);
            }
        }
        let info = call(
            &img.io,
            &header,
            &GetInfo {
                name: RBD_LOCK_NAME.to_string(),
            },
        )
        .await?;
        let Some((owner, _)) = info.lockers.into_iter().next() else {
            continue; // released meanwhile: try again
        };
        // A holder without a watch on the header is gone (a crashed
        // client): break its lock, as librbd does.
        let watchers = img
            .io
            .list_watchers(&header)
            .await
            .map_err(|e| Error::rados("listing the header's watchers", e))?;
        let handle = crate::cls::lock::parse_managed_lock_cookie(&owner.cookie);
        let alive = watchers
            .iter()
            .any(|w| w.name.num == owner.locker.num && Some(w.cookie) == handle);
        if alive {
            return Ok(LockState::HeldBy { watch, owner });
        }
        tracing::info!(owner = %owner.locker, "breaking the lock of a client without a watch");
        call(
            &img.io,
            &header,
            &BreakLock {
                name: RBD_LOCK_NAME.to_string(),
                locker: owner.locker,
                cookie: owner.cookie,
            },
        )
        .await?;
    }
    let _ = watch.watch.unwatch().await;
    Err(Error::Refused(format!(
        "could not take the exclusive lock of image {}: it changes hands too fast",
        img.id
    )))
}

/// Releases a lock we took.
pub(crate) async fn release(img: &Image, held: HeldLock) -> Result<()> {
    let header = img.header_oid();
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
    let _ = held.watch.watch.unwatch().await;
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
    mut watch: HeaderWatch,
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
                        message: ceph_rados::error::errno_text(r.result),
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
        wait_async_complete(&mut watch, &request).await
    }
    .await;
    let _ = watch.watch.unwatch().await;
    result
}

/// Waits on our header watch for the owner's completion of `request`,
/// acknowledging every notification we get meanwhile.
async fn wait_async_complete(watch: &mut HeaderWatch, request: &AsyncRequestId) -> Result<()> {
    let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
    loop {
        let ev = tokio::time::timeout_at(deadline, watch.watch.next_event())
            .await
            .map_err(|_| Error::Rados {
                context: "waiting for the lock owner to finish".into(),
                errno: Some(ETIMEDOUT),
                message: ceph_rados::error::errno_text(ETIMEDOUT),
            })?
            .ok_or_else(|| Error::Refused("the client shut down".into()))?;
        let WatchEvent::Notify {
            notify_id, payload, ..
        } = ev
        else {
            continue;
        };
        let _ = watch.watch.ack(notify_id, &[]).await;
        let Ok(msg) = NotifyMessage::from_bytes(&payload) else {
            continue;
        };
        if let NotifyPayload::AsyncComplete { request: r, result } = msg.payload {
            if &r == request {
                if result < 0 {
                    return Err(Error::Rados {
                        context: "the lock owner failed the request".into(),
                        errno: Some(result),
                        message: ceph_rados::error::errno_text(result),
                    });
                }
                return Ok(());
            }
        }
    }
}
