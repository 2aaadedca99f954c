//! Snapshots: create (a self-managed snapshot id, then `snapshot_add`,
//! then the object map's copy), remove, protect and unprotect, following
//! librbd's rules for images with the exclusive lock.

use ceph_common::errno::{EACCES, EBUSY, EEXIST, EINVAL, ENOENT, EPERM, ESTALE};

use super::cls_call::call;
use super::handle::Image;
use super::lock::{self, OpLock};
use crate::cls::rbd::{
    ChildrenList, GetChildren, ObjectMapSnapAdd, SetFlags, SetProtectionStatus, SnapshotAdd,
    SnapshotRemove, SnapshotTrashAdd,
};
use crate::cls::types::{ChildImageSpec, SnapshotNamespace};
use crate::features::{
    FAST_DIFF, FLAG_OBJECT_MAP_INVALID, LAYERING, OBJECT_MAP, PROTECTION_PROTECTED,
    PROTECTION_UNPROTECTED, PROTECTION_UNPROTECTING,
};
use crate::names::{object_map_object, NOSNAP, RBD_CHILDREN};
use crate::{Error, Result};

/// A child of a snapshot, wherever it lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Child {
    /// Its pool id.
    pub pool_id: i64,
    /// Its RADOS namespace.
    pub pool_namespace: String,
    /// Its image id.
    pub image_id: String,
}

impl Image {
    fn writable(&self) -> Result<()> {
        if self.snap_id != NOSNAP {
            return Err(Error::Refused(
                "a snapshot is read-only: open the image's head".into(),
            ));
        }
        Ok(())
    }

    /// Creates snapshot `name` and returns its id. `snap_id`, if given, is
    /// an id already allocated in the data pool (see
    /// [`IoCtx::selfmanaged_snap_create`](ceph_rados::IoCtx::selfmanaged_snap_create));
    /// if the image has moved past it, a fresh one is allocated and the
    /// given one released.
    ///
    /// With the exclusive lock held by another client (a running VM), the
    /// owner is asked to take the snapshot, as librbd does; the
    /// pre-allocated id is then released.
    pub async fn snap_create(&mut self, name: &str, snap_id: Option<u64>) -> Result<u64> {
        let ready = match self.writable() {
            Ok(()) => self.refresh().await,
            Err(e) => Err(e),
        };
        if let Err(e) = ready {
            if let Some(id) = snap_id {
                let _ = self.data_io.selfmanaged_snap_remove(id).await;
            }
            return Err(e);
        }
        if self.snapshot(name).is_ok() {
            if let Some(id) = snap_id {
                let _ = self.data_io.selfmanaged_snap_remove(id).await;
            }
            return Err(Error::Rados {
                context: format!("creating snapshot {name}"),
                errno: Some(EEXIST),
                message: "a snapshot of that name exists".into(),
            });
        }
        let op = match lock::for_op(self).await {
            Ok(l) => l,
            Err(e) => {
                if let Some(id) = snap_id {
                    let _ = self.data_io.selfmanaged_snap_remove(id).await;
                }
                return Err(e);
            }
        };
        if let OpLock::Other { watch, owner } = op {
            if let Some(id) = snap_id {
                let _ = self.data_io.selfmanaged_snap_remove(id).await;
            }
            tracing::info!(owner = %owner.locker, "asking the lock owner to snapshot");
            lock::snap_create_by_owner(self, watch, &owner, name).await?;
            self.refresh().await?;
            return Ok(self.snapshot(name)?.id);
        }
        let result = self.snap_create_locked(name, snap_id).await;
        let refreshed = self.refresh().await;
        let mut op = op;
        if let OpLock::Held(st) = &mut op {
            // Writes from now on carry the new snapshot, and the head's
            // object map changed (EXISTS -> EXISTS_CLEAN with fast-diff).
            st.snapc = Some(self.meta.snapc.clone());
            if st.object_map.is_some() {
                st.object_map = Some(super::object_map::load(self).await?);
            }
        }
        let released = lock::end_op(self, op).await;
        let id = result?;
        refreshed?;
        released?;
        Ok(id)
    }

    async fn snap_create_locked(&mut self, name: &str, snap_id: Option<u64>) -> Result<u64> {
        let header = self.header_oid();
        let mut id = match snap_id {
            Some(id) => id,
            None => self.allocate_snap_id().await?,
        };
        loop {
            let add = SnapshotAdd {
                snap_name: name.to_string(),
                snap_id: id,
                snap_namespace: SnapshotNamespace::User,
            };
            match call(&self.io, &header, &add).await {
                Ok(()) => break,
                Err(e) if e.errno() == Some(ESTALE) => {
                    // The image's snap_seq is past this id: take a new one.
                    let _ = self.data_io.selfmanaged_snap_remove(id).await;
                    id = self.allocate_snap_id().await?;
                }
                Err(e) => {
                    let _ = self.data_io.selfmanaged_snap_remove(id).await;
                    return Err(e);
                }
            }
        }
        if self.meta.has(OBJECT_MAP) {
            if let Err(e) = self.snapshot_object_map(id).await {
                // As librbd does: the snapshot's map is flagged invalid,
                // so that no read or `du` trusts it.
                tracing::warn!("snapshot object map: {e}");
                let invalid = SetFlags {
                    flags: FLAG_OBJECT_MAP_INVALID,
                    mask: FLAG_OBJECT_MAP_INVALID,
                    snap_id: id,
                };
                if let Err(e) = call(&self.io, &header, &invalid).await {
                    tracing::warn!("flagging the snapshot's object map invalid: {e}");
                }
            }
        }
        lock::notify_header_update(self).await;
        Ok(id)
    }

    async fn allocate_snap_id(&self) -> Result<u64> {
        self.data_io
            .selfmanaged_snap_create()
            .await
            .map_err(|e| Error::rados("allocating a snapshot id", e))
    }

    /// Copies the head's object map to the snapshot's, and (fast-diff)
    /// marks the head's objects clean.
    async fn snapshot_object_map(&self, snap_id: u64) -> Result<()> {
        let head = object_map_object(&self.id, NOSNAP);
        let data = self
            .io
            .read_full(&head)
            .await
            .map_err(|e| Error::rados("reading the object map", e))?;
        self.io
            .write_full(&object_map_object(&self.id, snap_id), data)
            .await
            .map_err(|e| Error::rados("writing the snapshot's object map", e))?;
        if self.meta.has(FAST_DIFF) {
            call(&self.io, &head, &ObjectMapSnapAdd {}).await?;
        }
        Ok(())
    }

    /// Protects snapshot `name` (clone v1 needs it; v2 does not).
    pub async fn snap_protect(&mut self, name: &str) -> Result<()> {
        self.writable()?;
        if !self.meta.has(LAYERING) {
            return Err(Error::Unsupported(
                "protecting a snapshot needs the layering feature".into(),
            ));
        }
        let snap = self.snapshot(name)?.clone();
        if snap.is_protected() {
            return Err(Error::Rados {
                context: format!("protecting snapshot {name}"),
                errno: Some(EBUSY),
                message: "it is already protected".into(),
            });
        }
        self.set_protection(snap.id, PROTECTION_PROTECTED).await?;
        lock::notify_header_update(self).await;
        self.refresh().await
    }

    async fn set_protection(&self, snap_id: u64, status: u8) -> Result<()> {
        call(
            &self.io,
            &self.header_oid(),
            &SetProtectionStatus { snap_id, status },
        )
        .await
    }

    /// Unprotects snapshot `name`; refused while it has children.
    pub async fn snap_unprotect(&mut self, name: &str) -> Result<()> {
        self.writable()?;
        let snap = self.snapshot(name)?.clone();
        if !snap.is_protected() {
            return Err(Error::Rados {
                context: format!("unprotecting snapshot {name}"),
                errno: Some(EINVAL),
                message: "it is not protected".into(),
            });
        }
        self.set_protection(snap.id, PROTECTION_UNPROTECTING)
            .await?;
        let children = match self.children(snap.id).await {
            Ok(c) => c,
            Err(e) => {
                let _ = self.set_protection(snap.id, PROTECTION_PROTECTED).await;
                return Err(e);
            }
        };
        if !children.is_empty() {
            self.set_protection(snap.id, PROTECTION_PROTECTED).await?;
            return Err(Error::Refused(format!(
                "snapshot {name} has {} child image(s): remove or flatten them first",
                children.len()
            )));
        }
        self.set_protection(snap.id, PROTECTION_UNPROTECTED).await?;
        lock::notify_header_update(self).await;
        self.refresh().await
    }

    /// The children of snapshot `snap_id`: clone v2 ones from the header,
    /// clone v1 ones from `rbd_children` in every pool.
    pub async fn children(&self, snap_id: u64) -> Result<Vec<Child>> {
        let mut out = Vec::new();
        match call(&self.io, &self.header_oid(), &ChildrenList { snap_id }).await {
            Ok(list) => out.extend(list.into_iter().map(|c: ChildImageSpec| Child {
                pool_id: c.pool_id,
                pool_namespace: c.pool_namespace,
                image_id: c.image_id,
            })),
            Err(e) if e.errno() == Some(ENOENT) => {}
            Err(e) => return Err(e),
        }
        let pools: Vec<(i64, String)> = self
            .rados
            .objecter()
            .maps()
            .map(|m| {
                m.osdmap
                    .pools
                    .keys()
                    .filter_map(|id| m.osdmap.pool_name(*id).map(|n| (*id, n.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        for (pool_id, pool) in pools {
            let Ok(io) = self.rados.ioctx(&pool) else {
                continue;
            };
            let q = GetChildren {
                parent_pool_id: self.io.pool_id(),
                parent_image_id: self.id.clone(),
                parent_snap_id: snap_id,
            };
            match call(&io, RBD_CHILDREN, &q).await {
                Ok(ids) => out.extend(ids.into_iter().map(|image_id| Child {
                    pool_id,
                    pool_namespace: String::new(),
                    image_id,
                })),
                // No rbd_children object, or a pool we may not read.
                Err(e) if matches!(e.errno(), Some(ENOENT) | Some(EPERM) | Some(EACCES)) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Removes snapshot `name`. One with clone v2 children goes to the
    /// trash namespace instead (and leaves when its last child does).
    pub async fn snap_remove(&mut self, name: &str) -> Result<()> {
        self.writable()?;
        // Children may have come since this handle last looked.
        self.refresh().await?;
        let snap = self.snapshot(name)?.clone();
        if snap.is_protected() {
            return Err(Error::Refused(format!(
                "snapshot {name} is protected: unprotect it first"
            )));
        }
        let header = self.header_oid();
        if snap.child_count > 0 {
            call(&self.io, &header, &SnapshotTrashAdd { snap_id: snap.id }).await?;
            lock::notify_header_update(self).await;
            return self.refresh().await;
        }
        let op = lock::for_op(self).await?;
        if let OpLock::Other { watch, owner } = op {
            watch.stop().await;
            return Err(lock::in_use(self, &owner, "removing a snapshot"));
        }
        let result = async {
            call(&self.io, &header, &SnapshotRemove { snap_id: snap.id }).await?;
            if self.meta.has(OBJECT_MAP) {
                let _ = self.io.remove(&object_map_object(&self.id, snap.id)).await;
            }
            self.data_io
                .selfmanaged_snap_remove(snap.id)
                .await
                .map_err(|e| Error::rados("releasing the snapshot id", e))
        }
        .await;
        let mut op = op;
        let refreshed = self.refresh().await;
        if let OpLock::Held(st) = &mut op {
            st.snapc = Some(self.meta.snapc.clone());
        }
        let _ = lock::end_op(self, op).await;
        result?;
        refreshed?;
        lock::notify_header_update(self).await;
        Ok(())
    }

    /// Removes trashed snapshot `snap_id` once its last clone is gone, as
    /// librbd does when a clone leaves (a client that may not write to the
    /// parent's pool - Glance's usual Ceph user - cannot, and leaves it
    /// there until the parent image is removed). Refused for a snapshot
    /// that is not in the trash or still has children.
    pub async fn snap_remove_trashed(&mut self, snap_id: u64) -> Result<()> {
        self.writable()?;
        self.refresh().await?;
        let Some(snap) = self.meta.snaps.iter().find(|s| s.id == snap_id) else {
            return Err(Error::NotFound(format!("snapshot id {snap_id}")));
        };
        if snap.trashed_name().is_none() {
            return Err(Error::Refused(format!(
                "snapshot {} (id {snap_id}) is not in the trash",
                snap.name
            )));
        }
        if snap.child_count > 0 {
            return Err(Error::Refused(format!(
                "trashed snapshot id {snap_id} still has {} clone(s)",
                snap.child_count
            )));
        }
        self.remove_trashed_snapshot(snap_id).await
    }

    /// Removes a trashed snapshot (by id) once its last clone is gone.
    pub(crate) async fn remove_trashed_snapshot(&mut self, snap_id: u64) -> Result<()> {
        call(&self.io, &self.header_oid(), &SnapshotRemove { snap_id }).await?;
        if self.meta.has(OBJECT_MAP) {
            let _ = self.io.remove(&object_map_object(&self.id, snap_id)).await;
        }
        let _ = self.data_io.selfmanaged_snap_remove(snap_id).await;
        lock::notify_header_update(self).await;
        self.refresh().await
    }
}
