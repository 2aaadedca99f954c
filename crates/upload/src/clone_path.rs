//! The clone path, each step undone in reverse when a later one fails:
//! snapshot the volume, protect it (clone format 1), clone it into the
//! store's pool under the image id, snapshot and protect `snap` on the
//! clone, register the location with Glance, wait for `active`.

use std::time::{Duration, Instant};

use ceph_rados::{IoCtx, RadosError, SnapIdGrant};
use ceph_rbd::image::{remove_image, CloneFormat, CloneOptions, Image};
use glance_client::NewLocation;

use crate::clients::Clients;
use crate::error::Error;
use crate::naming::{clone_snap, location_url, GLANCE_SNAP};
use crate::report::Report;

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
pub(crate) type Grants = (
    Result<SnapIdGrant, RadosError>,
    Result<SnapIdGrant, RadosError>,
);

/// Gives back to the monitor the ids of `grants` that were granted (a
/// clone that will not use them).
pub(crate) async fn release(vol_data: &IoCtx, store: &IoCtx, grants: &Grants) {
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
pub(crate) async fn run(
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

pub(crate) async fn remove_clone(
    c: &Clients,
    sio: &IoCtx,
    image_id: &str,
    protected: bool,
    snapped: bool,
) {
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
