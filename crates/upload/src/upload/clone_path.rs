//! The clone path, each step undone in reverse when a later one fails:
//! snapshot the volume, protect it (clone format 1), clone it into the
//! store's pool under the image id, snapshot and protect `snap` on the
//! clone, register the location with Glance, wait for `active`.
//! And `--cleanup`: remove what an interrupted run left.

use std::time::{Duration, Instant};

use ceph_rados::{IoCtx, RadosError, SnapIdGrant};
use ceph_rbd::image::{list_images, remove_image, CloneFormat, CloneOptions, Image};
use glance_client::NewLocation;

use super::naming::{clone_snap, image_of_snap, location_url, GLANCE_SNAP};
use super::{Clients, Report};
use crate::error::Error;

/// What has been made so far (for the undo).
#[derive(Debug, Default)]
struct Made {
    volume_snap: bool,
    volume_snap_protected: bool,
    clone: bool,
    clone_snap: bool,
    clone_snap_protected: bool,
}

/// The two snapshot ids of a clone (the volume's pool's, the store
/// pool's), as the monitor answered.
pub(super) type Grants = (
    Result<SnapIdGrant, RadosError>,
    Result<SnapIdGrant, RadosError>,
);

/// Gives back to the monitor the ids of `grants` that were granted (a
/// clone that will not use them).
pub(super) async fn release(vol_data: &IoCtx, store: &IoCtx, grants: &Grants) {
    if let Ok(a) = &grants.0 {
        let _ = vol_data.selfmanaged_snap_remove(a.id).await;
    }
    if let Ok(b) = &grants.1 {
        let _ = store.selfmanaged_snap_remove(b.id).await;
    }
}

/// Runs the clone path for Glance image `image_id` (queued) into
/// the pool of `sio`, Glance's store `store_id`, with the snapshot ids
/// `grants` allotted beforehand.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run(
    c: &Clients,
    volume: &Image,
    image_id: &str,
    sio: &IoCtx,
    store_id: &str,
    format: CloneFormat,
    timeout: Duration,
    grants: Grants,
    report: &mut Report,
) -> Result<(), Error> {
    let store_pool = sio.pool_name();
    let snap = clone_snap(image_id);
    let mut vol = volume.clone();
    let mut made = Made::default();
    let vol_data = vol.data_ioctx().clone();
    let (vol_id, clone_id) = match grants {
        (Ok(a), Ok(b)) => (a, b),
        grants => {
            release(&vol_data, sio, &grants).await;
            return Err(Error::Input(
                "could not allot snapshot ids in the volume's and the store's pools (check the Ceph user's caps)".into(),
            ));
        }
    };
    report.snapshot_ids = vec![
        (vol_data.pool_name().to_string(), vol_id.id),
        (store_pool.to_string(), clone_id.id),
    ];
    report.snapshot_epochs = vec![vol_id.epoch, clone_id.epoch];
    let (vol_id, clone_id) = (vol_id.id, clone_id.id);
    let mut unused_clone_id = Some(clone_id);
    let result = async {
        let t = Instant::now();
        vol.snap_create(&snap, Some(vol_id)).await?;
        made.volume_snap = true;
        report.step("volume snapshot", t);
        if format == CloneFormat::V1 {
            let t = Instant::now();
            vol.snap_protect(&snap).await?;
            made.volume_snap_protected = true;
            report.step("volume snapshot protect", t);
        }
        let t = Instant::now();
        let opts = CloneOptions {
            format,
            features: Some(ceph_rbd::features::LAYERING),
            order: None,
        };
        vol.clone_to(&snap, sio, image_id, &opts).await?;
        made.clone = true;
        report.step("clone", t);
        let t = Instant::now();
        let mut child = Image::open(&c.rados, sio, image_id).await?;
        child
            .snap_create(GLANCE_SNAP, unused_clone_id.take())
            .await?;
        made.clone_snap = true;
        child.snap_protect(GLANCE_SNAP).await?;
        made.clone_snap_protected = true;
        report.step("clone snapshot", t);
        let t = Instant::now();
        let url = location_url(&c.fsid, store_pool, image_id);
        c.glance
            .add_location(image_id, &NewLocation::new(url, Some(store_id)))
            .await
            .map_err(|e| match e.status() {
                // Glance's policy refused: say what the user lacks.
                Some(403) => Error::Input(format!(
                    "Glance refused to register the clone as the image's location ({e}): \
                     the OpenStack user needs the `service` role in its project for Glance's \
                     locations API (or upload without --clone-optimization)"
                )),
                _ => e.into(),
            })?;
        report.step("location", t);
        let t = Instant::now();
        c.status
            .wait_for_status(image_id, &["active"], timeout)
            .await?;
        report.step("active", t);
        if format == CloneFormat::V2 {
            // The clone holds the snapshot: removing it moves it to the
            // trash namespace, out of sight of Cinder and users; it goes
            // away by itself when the clone is deleted.
            let t = Instant::now();
            if let Err(e) = vol.snap_remove(&snap).await {
                tracing::warn!("could not move {snap} to the snapshot trash: {e}");
            }
            report.step("volume snapshot to trash", t);
        }
        Ok::<(), Error>(())
    }
    .await;
    if let Err(e) = result {
        if let Some(id) = unused_clone_id {
            match sio.selfmanaged_snap_remove(id).await {
                Ok(()) => report
                    .released_snapshot_ids
                    .push((store_pool.to_string(), id)),
                Err(r) => tracing::warn!("undo: releasing snapshot id {id}: {r}"),
            }
        }
        if !made.volume_snap {
            // snap_create released the volume's id itself when it failed.
            report
                .released_snapshot_ids
                .push((vol_data.pool_name().to_string(), vol_id));
        }
        undo(c, &mut vol, sio, image_id, &snap, &made).await;
        if made.volume_snap {
            report
                .released_snapshot_ids
                .push((vol_data.pool_name().to_string(), vol_id));
        }
        return Err(e);
    }
    Ok(())
}

/// Undoes what was made, in reverse; failures are logged (the error that
/// caused the undo is what the user must see).
async fn undo(c: &Clients, vol: &mut Image, sio: &IoCtx, image_id: &str, snap: &str, made: &Made) {
    if made.clone {
        // Glance may have taken the image (a location was added): then
        // deleting the Glance image removes it. Otherwise remove it here.
        remove_clone(c, sio, image_id, made.clone_snap_protected, made.clone_snap).await;
    }
    if made.volume_snap_protected {
        if let Err(e) = vol.snap_unprotect(snap).await {
            tracing::warn!("undo: unprotecting {snap}: {e}");
        }
    }
    if made.volume_snap {
        if let Err(e) = vol.snap_remove(snap).await {
            tracing::warn!("undo: removing {snap}: {e}");
        }
    }
}

async fn remove_clone(c: &Clients, sio: &IoCtx, image_id: &str, protected: bool, snapped: bool) {
    let Ok(mut child) = Image::open(&c.rados, sio, image_id).await else {
        return;
    };
    if protected {
        if let Err(e) = child.snap_unprotect(GLANCE_SNAP).await {
            tracing::warn!("undo: unprotecting {image_id}@snap: {e}");
        }
    }
    if snapped || child.snapshot(GLANCE_SNAP).is_ok() {
        if let Err(e) = child.snap_remove(GLANCE_SNAP).await {
            tracing::warn!("undo: removing {image_id}@snap: {e}");
        }
    }
    if let Err(e) = remove_image(&c.rados, sio, image_id).await {
        tracing::warn!("undo: removing image {image_id}: {e}");
    }
}

/// Removes what an interrupted upload of `image_id` left: a Glance image
/// still `queued` (or failed), the clone in an RBD store of our cluster
/// when Glance has no active image of it, and the volume snapshots named
/// after it in `volume_pool` (the clone's parent only once the clone is
/// gone), the snapshot trash included. Returns what it removed.
pub(super) async fn cleanup(
    c: &Clients,
    volume_pool: &str,
    image_id: &str,
) -> Result<Vec<String>, Error> {
    // Only a UUID: the names removed below are made from it.
    let image_id = &super::naming::image_id(image_id).map_err(Error::Input)?;
    let mut removed = Vec::new();
    let active = match c.glance.show_image(image_id).await {
        Ok(img) if img.status == "active" => true,
        Ok(img) => {
            c.glance.delete_image(image_id).await?;
            removed.push(format!("Glance image {image_id} ({})", img.status));
            false
        }
        Err(e) if e.is_not_found() => false,
        Err(e) => return Err(e.into()),
    };
    let mut clone_exists = false;
    let stores = c.glance.stores_detail().await?;
    for s in stores {
        let Some(rbd) = s.rbd() else { continue };
        let (Some(pool), Some(fsid)) = (rbd.pool, rbd.fsid) else {
            continue;
        };
        if !fsid.eq_ignore_ascii_case(&c.fsid) {
            continue;
        }
        let Ok(sio) = c.rados.ioctx(&pool) else {
            continue;
        };
        if Image::open(&c.rados, &sio, image_id).await.is_err() {
            continue;
        }
        if active {
            clone_exists = true;
            continue;
        }
        remove_clone(c, &sio, image_id, true, true).await;
        if Image::open(&c.rados, &sio, image_id).await.is_ok() {
            clone_exists = true;
        } else {
            removed.push(format!("RBD image {pool}/{image_id}"));
        }
    }
    let vio = c.rados.ioctx(volume_pool)?;
    for (name, _id) in list_images(&vio).await? {
        let Ok(mut vol) = Image::open(&c.rados, &vio, &name).await else {
            continue;
        };
        let ours: Vec<ceph_rbd::image::SnapInfo> = vol
            .meta()
            .snaps
            .iter()
            .filter(|s| s.is_user() && image_of_snap(&s.name) == Some(image_id))
            .cloned()
            .collect();
        for s in ours {
            let is_clone_parent = s.name == clone_snap(image_id);
            if is_clone_parent && clone_exists {
                continue;
            }
            if s.is_protected() {
                vol.snap_unprotect(&s.name).await?;
            }
            vol.snap_remove(&s.name).await?;
            removed.push(format!("snapshot {volume_pool}/{name}@{}", s.name));
        }
        // The clone snapshot in the snapshot trash, once its clone is gone:
        // librbd removes it when the clone is deleted only if the deleting
        // client (Glance) may write to the volume's pool.
        let trashed: Vec<(u64, String)> = vol
            .meta()
            .snaps
            .iter()
            .filter(|s| s.child_count == 0)
            .filter_map(|s| {
                let original = s.trashed_name()?;
                (image_of_snap(original) == Some(image_id)).then(|| (s.id, original.to_string()))
            })
            .collect();
        for (id, original) in trashed {
            vol.snap_remove_trashed(id).await?;
            removed.push(format!(
                "trashed snapshot {volume_pool}/{name}@{original} (id {id})"
            ));
        }
    }
    Ok(removed)
}
