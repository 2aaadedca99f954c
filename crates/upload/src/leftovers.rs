//! What an upload stopped at its deadline may have made without
//! recording it: a step in flight (an image being created, a snapshot,
//! a clone) is dropped halfway, and what it made is not in the ledger.
//! Everything an upload makes is named after its image, whose id is
//! chosen before the image is created: what exists under those names is
//! found here and recorded for the rollback.

use ceph_rbd::image::Image;

use crate::clients::Clients;
use crate::ledger::{Ledger, Undo};
use crate::naming::{clone_snap, stream_snap};

/// The names an upload works with, as far as it got.
#[derive(Debug, Clone, Default)]
pub(crate) struct Leftovers {
    /// The volume's pool.
    pub pool: String,
    /// The volume.
    pub volume: String,
    /// The volume's data pool, once the volume is open.
    pub data_pool: Option<String>,
    /// The ids of the Glance images it created or was creating, or
    /// filled.
    pub image_ids: Vec<String>,
    /// The image it was given to fill: its caller's, never removed here.
    pub given_image: Option<String>,
    /// The store's pool, when it was to clone there.
    pub store_pool: Option<String>,
}

impl Leftovers {
    /// Records in `ledger` the removal of each thing named after one of
    /// the upload's images that exists and is not recorded yet: the
    /// Glance image (unless active: then it is not ours to remove), the
    /// volume's snapshots, the clone. Lookups that fail are skipped: the
    /// error names the image, and `upload --cleanup` finds the rest.
    pub(crate) async fn record_in(&self, c: &Clients, ledger: &mut Ledger) {
        let vio = c.rados.ioctx(&self.pool).ok();
        let volume = match &vio {
            Some(vio) => Image::open(&c.rados, vio, &self.volume).await.ok(),
            None => None,
        };
        for id in &self.image_ids {
            let image = Undo::DeleteImage {
                image_id: id.clone(),
            };
            let status = c.glance.show_image(id).await.ok().map(|i| i.status);
            let given = self.given_image.as_ref() == Some(id);
            let deleting = ledger.holds(|u| *u == image);
            if keeps_its_data(status.as_deref(), deleting) {
                continue;
            }
            // What is left of the images that keep nothing: only a
            // `queued` one of ours is there to delete.
            if status.as_deref() == Some("queued") && !given && !deleting {
                ledger.record(image);
            }
            if let (Some(vol), Some(data_pool)) = (&volume, &self.data_pool) {
                for snap in [stream_snap(id), clone_snap(id)] {
                    let Ok(s) = vol.snapshot(&snap) else { continue };
                    let recorded = |u: &Undo| {
                        matches!(u, Undo::RemoveVolumeSnap { pool, volume, snap: s, .. }
                            if *pool == self.pool && *volume == self.volume && *s == snap)
                    };
                    if !ledger.holds(recorded) {
                        ledger.record(Undo::RemoveVolumeSnap {
                            pool: self.pool.clone(),
                            volume: self.volume.clone(),
                            snap: snap.clone(),
                            data_pool: data_pool.clone(),
                            id: s.id,
                        });
                    }
                }
            }
            if let Some(store_pool) = &self.store_pool {
                let clone = Undo::RemoveClone {
                    pool: store_pool.clone(),
                    image_id: id.clone(),
                };
                let exists = match c.rados.ioctx(store_pool) {
                    Ok(sio) => Image::open(&c.rados, &sio, id).await.is_ok(),
                    Err(_) => false,
                };
                // Removed with its snapshot, before the volume's snapshot
                // it hangs from (the ledger undoes the last first).
                if exists && !ledger.holds(|u| *u == clone) {
                    ledger.record(clone);
                }
            }
        }
    }
}

/// Whether a Glance image in `status` (`None`: not known) that the
/// rollback is `deleting` or not keeps what is named after it: an image
/// that took its location (or its data) and stays, whether its caller's
/// or one the upload made and kept, has the clone and its snapshots as
/// its data.
fn keeps_its_data(status: Option<&str>, deleting: bool) -> bool {
    !deleting && status.is_some_and(|s| !matches!(s, "queued" | "deleted"))
}

#[cfg(test)]
mod tests {
    use super::keeps_its_data;

    #[test]
    fn only_an_image_that_stays_with_its_data_keeps_it() {
        // Made and kept (the upload ended with its image active), or the
        // caller's image holding its location.
        assert!(keeps_its_data(Some("active"), false));
        assert!(keeps_its_data(Some("saving"), false));
        // Deleted by the rollback: what it held goes too.
        assert!(!keeps_its_data(Some("active"), true));
        // Never filled, gone, or unknown: nothing of it is its data.
        assert!(!keeps_its_data(Some("queued"), false));
        assert!(!keeps_its_data(Some("deleted"), false));
        assert!(!keeps_its_data(None, false));
    }
}
