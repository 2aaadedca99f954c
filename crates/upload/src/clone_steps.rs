//! The clone path's steps on the cluster and Glance.

use std::future::Future;
use std::time::{Duration, Instant};

use ceph_rados::{IoCtx, SnapIdGrant};
use ceph_rbd::image::{CloneFormat, CloneOptions, Image};
use glance_client::{NewImage, NewLocation};

use crate::clients::Clients;
use crate::clone_path::CloneSteps;
use crate::error::Error;
use crate::ledger::{Executor, Undo};
use crate::naming::{location_url, GLANCE_SNAP};
use crate::report::Step;
use crate::round::Seat;
use crate::undo::Undoer;

/// The Glance image an upload fills.
#[derive(Debug, Clone)]
pub(crate) enum TheImage {
    /// One the upload creates (and deletes again if it fails).
    New(NewImage),
    /// One its caller made, `queued`, by id: never created nor deleted
    /// here.
    Given(String),
}

/// The clone of one volume into Glance's RBD store.
#[derive(Debug)]
pub(crate) struct Cluster<'a> {
    c: &'a Clients,
    /// The volume.
    vol: Image,
    /// The store's pool.
    sio: IoCtx,
    /// Glance's store.
    store_id: String,
    format: CloneFormat,
    /// How long to wait for `active`.
    timeout: Duration,
    /// The Glance image to create, or the caller's to fill.
    image: TheImage,
    /// The place of the upload in its batch's round, until the ids are
    /// allotted.
    seat: Option<Seat>,
    /// The clone, once made.
    child: Option<Image>,
    undo: Undoer<'a>,
    /// The parts of the first step, timed each.
    overlapped: Vec<Step>,
}

impl<'a> Cluster<'a> {
    /// The clone of `vol` into `sio` (Glance's store `store_id`) as
    /// Glance image `image`, its ids allotted in `seat`'s round.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        c: &'a Clients,
        vol: &Image,
        sio: IoCtx,
        store_id: String,
        format: CloneFormat,
        timeout: Duration,
        image: TheImage,
        seat: Seat,
    ) -> Cluster<'a> {
        Cluster {
            c,
            vol: vol.clone(),
            sio,
            store_id,
            format,
            timeout,
            image,
            seat: Some(seat),
            child: None,
            undo: Undoer::new(c),
            overlapped: Vec::new(),
        }
    }

    fn child(&mut self) -> Result<&mut Image, Error> {
        self.child
            .as_mut()
            .ok_or_else(|| Error::Input("the clone is not made yet".into()))
    }
}

impl Executor for Cluster<'_> {
    async fn undo(&mut self, step: &Undo) -> Result<Option<(String, u64)>, Error> {
        self.undo.undo(step).await
    }
}

impl CloneSteps for Cluster<'_> {
    async fn create_image_and_allot(
        &mut self,
    ) -> (
        Result<String, Error>,
        Result<SnapIdGrant, Error>,
        Result<SnapIdGrant, Error>,
    ) {
        let vol_data = self.vol.data_ioctx();
        let (seat, sio) = (self.seat.take(), &self.sio);
        let allot = async move {
            match seat {
                Some(seat) => seat.allot(vol_data, sio).await,
                None => tokio::join!(
                    vol_data.selfmanaged_snap_create_with_epoch(),
                    sio.selfmanaged_snap_create_with_epoch()
                ),
            }
        };
        let glance = &self.c.glance;
        let image = async {
            match &self.image {
                TheImage::New(new) => glance.create_image(new).await.map(|i| i.id),
                TheImage::Given(id) => Ok(id.clone()),
            }
        };
        let t = Instant::now();
        let ((created, image_secs), ((a, b), allot_secs)) =
            tokio::join!(timed(t, image), timed(t, allot));
        self.overlapped = vec![
            Step {
                name: "glance image create".into(),
                seconds: image_secs,
            },
            Step {
                name: "snapshot ids".into(),
                seconds: allot_secs,
            },
        ];
        (
            created.map_err(Error::from),
            a.map_err(Error::from),
            b.map_err(Error::from),
        )
    }

    fn overlapped_parts(&mut self) -> Vec<Step> {
        std::mem::take(&mut self.overlapped)
    }

    async fn snapshot_volume(&mut self, snap: &str, id: u64) -> Result<u64, Error> {
        Ok(self.vol.snap_create(snap, Some(id)).await?)
    }

    async fn protect_volume_snapshot(&mut self, snap: &str) -> Result<(), Error> {
        Ok(self.vol.snap_protect(snap).await?)
    }

    async fn clone_volume(&mut self, snap: &str, image_id: &str) -> Result<(), Error> {
        let opts = CloneOptions {
            format: self.format,
            features: Some(ceph_rbd::features::LAYERING),
            order: None,
            data_pool: None,
        };
        self.vol.clone_to(snap, &self.sio, image_id, &opts).await?;
        Ok(())
    }

    async fn open_clone(&mut self, image_id: &str) -> Result<(), Error> {
        self.child = Some(Image::open(&self.c.rados, &self.sio, image_id).await?);
        Ok(())
    }

    async fn snapshot_clone(&mut self, _image_id: &str, id: u64) -> Result<u64, Error> {
        Ok(self.child()?.snap_create(GLANCE_SNAP, Some(id)).await?)
    }

    async fn protect_clone_snapshot(&mut self, _image_id: &str) -> Result<(), Error> {
        Ok(self.child()?.snap_protect(GLANCE_SNAP).await?)
    }

    async fn add_location(&mut self, image_id: &str) -> Result<(), Error> {
        let url = location_url(&self.c.fsid, self.sio.pool_name(), image_id);
        self.c
            .glance
            .add_location(image_id, &NewLocation::new(url, Some(&self.store_id)))
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
        Ok(())
    }

    async fn wait_active(&mut self, image_id: &str) -> Result<(), Error> {
        self.c
            .status
            .wait_for_status(image_id, &["active"], self.timeout)
            .await?;
        Ok(())
    }

    async fn trash_volume_snapshot(&mut self, snap: &str) -> Result<(), Error> {
        Ok(self.vol.snap_remove(snap).await?)
    }
}

/// `f`'s output and the seconds from `start` to its end.
async fn timed<T>(start: Instant, f: impl Future<Output = T>) -> (T, f64) {
    let out = f.await;
    (out, start.elapsed().as_secs_f64())
}
