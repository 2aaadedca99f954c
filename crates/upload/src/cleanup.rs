//! `--cleanup`: remove what an interrupted upload left behind (the Glance
//! image, the clone, the volume snapshots named after the image).

use ceph_rbd::image::{list_images, Image};

use crate::clients::Clients;
use crate::error::Error;
use crate::naming::{clone_snap, image_of_snap};
use crate::undo::remove_clone;

/// Whether `img` is the clone an upload of `image_id` makes: a child of a
/// snapshot named [`clone_snap`]`(image_id)`, still in the user namespace
/// or moved to the snapshot trash.
async fn is_our_clone(c: &Clients, img: &Image, image_id: &str) -> bool {
    let Some(parent) = &img.meta().parent else {
        return false;
    };
    let spec = &parent.spec;
    let Some(pool) = c
        .rados
        .objecter()
        .maps()
        .and_then(|m| m.osdmap.pool_name(spec.pool_id).map(str::to_string))
    else {
        return false;
    };
    let Ok(mut pio) = c.rados.ioctx(&pool) else {
        return false;
    };
    pio.set_namespace(&spec.pool_namespace);
    let Ok(vol) = Image::open_id(
        &c.rados,
        &pio,
        &spec.image_id,
        None,
        ceph_rbd::names::NOSNAP,
    )
    .await
    else {
        return false;
    };
    let want = clone_snap(image_id);
    vol.meta()
        .snaps
        .iter()
        .filter(|s| s.id == spec.snap_id)
        .any(|s| s.name == want || s.trashed_name() == Some(want.as_str()))
}

/// Whether `img` looks like a clone this tool was making when it was
/// killed: no parent attached yet, no snapshot, no data (the clone's first
/// step). Ours only if a volume has the snapshot it was to hang from
/// ([`has_clone_snap`]).
async fn is_unfinished_clone(img: &Image) -> bool {
    img.meta().parent.is_none()
        && img.meta().snaps.is_empty()
        && img.used_bytes().await.is_ok_and(|b| b == 0)
}

/// Whether a volume of `volume_pool` has the snapshot an upload of
/// `image_id` clones from, in the user namespace or the snapshot trash.
async fn has_clone_snap(c: &Clients, volume_pool: &str, image_id: &str) -> bool {
    let want = clone_snap(image_id);
    let Ok(vio) = c.rados.ioctx(volume_pool) else {
        return false;
    };
    let Ok(images) = list_images(&vio).await else {
        return false;
    };
    for (name, _id) in images {
        let Ok(vol) = Image::open(&c.rados, &vio, &name).await else {
            continue;
        };
        if vol
            .meta()
            .snaps
            .iter()
            .any(|s| s.name == want || s.trashed_name() == Some(want.as_str()))
        {
            return true;
        }
    }
    false
}

/// Removes what an interrupted upload of `image_id` left: a Glance image
/// still `queued` (or failed; unless `keep_image`: an image its caller
/// owns, as Cinder owns the image it asks its driver to fill), the clone in an RBD store of our cluster
/// when Glance has no active image of it and it is a clone of the volume
/// snapshot named after `image_id`, and the volume snapshots named
/// after it in `volume_pool` (the clone's parent only once the clone is
/// gone), the snapshot trash included. Returns what it removed.
pub(crate) async fn cleanup(
    c: &Clients,
    volume_pool: &str,
    image_id: &str,
    keep_image: bool,
) -> Result<Vec<String>, Error> {
    // Only a UUID: the names removed below are made from it.
    let image_id = &crate::naming::image_id(image_id).map_err(Error::Input)?;
    let mut removed = Vec::new();
    let active = match c.glance.show_image(image_id).await {
        Ok(img) if img.status == "active" => true,
        Ok(_) if keep_image => false,
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
        let Ok(found) = Image::open(&c.rados, &sio, image_id).await else {
            continue;
        };
        if active {
            clone_exists = true;
            continue;
        }
        let ours = is_our_clone(c, &found, image_id).await
            || (is_unfinished_clone(&found).await
                && has_clone_snap(c, volume_pool, image_id).await);
        if !ours {
            // Named like the image, but neither a clone of the volume
            // snapshot this tool makes for it nor an empty clone it was
            // making: not ours to remove.
            tracing::warn!(
                "RBD image {pool}/{image_id} is not a clone of a snapshot named {}; left alone",
                clone_snap(image_id)
            );
            clone_exists = true;
            continue;
        }
        if let Err(e) = remove_clone(c, &sio, image_id).await {
            tracing::warn!("removing RBD image {pool}/{image_id}: {e}");
        }
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
