//! The undos on the cluster and Glance: the [`Executor`] of an upload's
//! [`Ledger`](crate::ledger::Ledger), and the removal of a clone that
//! `--cleanup` shares.

use ceph_rados::IoCtx;
use ceph_rbd::image::{remove_image, Image};

use crate::clients::Clients;
use crate::error::Error;
use crate::ledger::{Executor, Undo};
use crate::naming::GLANCE_SNAP;

/// Carries out undos with an upload's clients.
#[derive(Debug)]
pub(crate) struct Undoer<'a> {
    c: &'a Clients,
}

impl<'a> Undoer<'a> {
    /// An executor on `c`.
    pub(crate) fn new(c: &'a Clients) -> Undoer<'a> {
        Undoer { c }
    }
}

impl Executor for Undoer<'_> {
    async fn undo(&mut self, step: &Undo) -> Result<Option<(String, u64)>, Error> {
        let c = self.c;
        match step {
            Undo::DeleteImage { image_id } => match c.glance.delete_image(image_id).await {
                Err(e) if !e.is_not_found() => Err(e.into()),
                _ => Ok(None),
            },
            Undo::ReleaseSnapId { pool, id } => {
                c.rados.ioctx(pool)?.selfmanaged_snap_remove(*id).await?;
                Ok(Some((pool.clone(), *id)))
            }
            Undo::RemoveVolumeSnap {
                pool,
                volume,
                snap,
                data_pool,
                id,
            } => {
                let mut vol = Image::open(&c.rados, &c.rados.ioctx(pool)?, volume).await?;
                let released = remove_snapshot(&mut vol, snap).await?;
                Ok(released.then(|| (data_pool.clone(), *id)))
            }
            Undo::RemoveCloneSnap { pool, image_id, id } => {
                let mut child = Image::open(&c.rados, &c.rados.ioctx(pool)?, image_id).await?;
                let released = remove_snapshot(&mut child, GLANCE_SNAP).await?;
                Ok(released.then(|| (pool.clone(), *id)))
            }
            Undo::RemoveClone { pool, image_id } => {
                remove_clone(c, &c.rados.ioctx(pool)?, image_id).await?;
                Ok(None)
            }
        }
    }
}

/// Removes snapshot `snap` of `img` (freshly opened), unprotecting it
/// first if it is protected; whether it went with its id (rather than to
/// the snapshot trash, where clones keep it, or was not there).
async fn remove_snapshot(img: &mut Image, snap: &str) -> Result<bool, Error> {
    let Ok(s) = img.snapshot(snap) else {
        return Ok(false);
    };
    let (protected, children) = (s.is_protected(), s.child_count);
    if protected {
        img.snap_unprotect(snap).await?;
    }
    img.snap_remove(snap).await?;
    Ok(children == 0)
}

/// Removes clone `image_id` of the store pool `sio`, with its Glance
/// snapshot if it has one (unprotected first); a clone that is not there
/// is no error.
pub(crate) async fn remove_clone(c: &Clients, sio: &IoCtx, image_id: &str) -> Result<(), Error> {
    let mut child = match Image::open(&c.rados, sio, image_id).await {
        Ok(child) => child,
        Err(e) if e.errno() == Some(-2) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if child.snapshot(GLANCE_SNAP).is_ok() {
        remove_snapshot(&mut child, GLANCE_SNAP).await?;
    }
    remove_image(&c.rados, sio, image_id).await?;
    Ok(())
}
