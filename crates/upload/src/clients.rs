//! The connected clients an upload works with: the cluster, Glance, and
//! what the uploads of one [`crate::Uploader`] share.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ceph_rados::config::ClientSettings;
use ceph_rados::Rados;
use glance_client::{Glance, StatusBoard, StoreDetail};

use crate::error::Error;
use crate::progress::ProgressFn;
use crate::request::{CephOptions, OpenStack};

/// Connected clients.
pub(crate) struct Clients {
    pub rados: Rados,
    pub glance: Arc<Glance>,
    pub fsid: String,
    /// Glance's stores detail as last read, and when: the uploads of a
    /// batch read it once.
    stores: tokio::sync::Mutex<Option<(Instant, Vec<StoreDetail>)>>,
    /// The status waits of the uploads: one image list a poll round for
    /// all of them.
    pub status: StatusBoard,
    /// Where the streaming path reports its progress, if anywhere.
    pub progress: Option<ProgressFn>,
    /// Holds a reason once the uploads are to stop.
    pub stop: Option<tokio::sync::watch::Receiver<Option<String>>>,
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients")
            .field("rados", &self.rados)
            .field("glance", &self.glance)
            .field("fsid", &self.fsid)
            .field("progress", &self.progress.is_some())
            .finish_non_exhaustive()
    }
}

/// How long a stores detail read serves the next uploads.
const STORES_FRESH: Duration = Duration::from_secs(30);

impl Clients {
    /// Connects to the cluster and to Glance, both at once.
    pub(crate) async fn connect(
        ceph: &CephOptions,
        openstack: &OpenStack,
    ) -> Result<Clients, Error> {
        let settings = ClientSettings::resolve(ceph)?;
        let cloud = openstack.config()?;
        let (rados, glance) =
            tokio::join!(Rados::connect(&settings), glance_client::connect(cloud));
        let rados = rados?;
        let fsid = rados.mon().fsid().to_string();
        let glance = Arc::new(glance?);
        Ok(Clients {
            rados,
            status: StatusBoard::new(glance.clone()),
            glance,
            fsid,
            stores: tokio::sync::Mutex::new(None),
            progress: None,
            stop: None,
        })
    }

    /// Resolves, with the reason, once the uploads are to stop; never
    /// without a stop signal.
    pub(crate) async fn stopped(&self) -> String {
        if let Some(mut rx) = self.stop.clone() {
            loop {
                if let Some(why) = rx.borrow_and_update().clone() {
                    return why;
                }
                if rx.changed().await.is_err() {
                    break;
                }
            }
        }
        std::future::pending().await
    }

    /// Glance's stores detail, read at most once per [`STORES_FRESH`]
    /// (uploads asking together wait for the one read).
    pub(crate) async fn stores_detail(&self) -> Result<Vec<StoreDetail>, Error> {
        let mut cached = self.stores.lock().await;
        if let Some((at, stores)) = cached.as_ref() {
            if at.elapsed() < STORES_FRESH {
                return Ok(stores.clone());
            }
        }
        let stores = self.glance.stores_detail().await?;
        *cached = Some((Instant::now(), stores.clone()));
        Ok(stores)
    }
}
