//! The library's API: an [`Uploader`] connected to a Ceph cluster and to
//! Glance, and the [`UploadRequest`]s it carries out, one or several at
//! once, each into an [`UploadOutcome`].

use std::sync::Arc;

use crate::check::{check, CheckReport};
use crate::cleanup::cleanup;
use crate::clients::Clients;
use crate::error::Error;
use crate::flow::upload_one;
use crate::progress::Progress;
use crate::request::{CephOptions, OpenStack, UploadOutcome, UploadRequest};
use crate::round::Round;

/// A connection to one Ceph cluster (one monitor session) and to Glance,
/// to upload volumes with. Uploads may run concurrently on one uploader.
#[derive(Debug)]
pub struct Uploader {
    clients: Clients,
}

impl Uploader {
    /// Connects to the Ceph cluster `ceph` describes and authenticates
    /// with Keystone for Glance, both at once.
    pub async fn connect(ceph: &CephOptions, openstack: OpenStack) -> Result<Uploader, Error> {
        Ok(Uploader {
            clients: Clients::connect(ceph, &openstack).await?,
        })
    }

    /// The Ceph cluster's fsid.
    pub fn fsid(&self) -> &str {
        &self.clients.fsid
    }

    /// Uploads one volume.
    pub async fn upload(&self, request: &UploadRequest) -> UploadOutcome {
        let round = Round::new(1);
        upload_one(&self.clients, request, round.seat()).await
    }

    /// Uploads several volumes concurrently, with one outcome per request,
    /// in the order of `requests`. Those that clone allot their snapshot
    /// ids together: each waits (a few seconds at most) until every other
    /// upload of the call is ready for its ids or will not clone, then
    /// all go to the monitor at once and share its rounds (OSD map epochs)
    /// instead of taking one each.
    pub async fn upload_many(&self, requests: &[UploadRequest]) -> Vec<UploadOutcome> {
        let round = Round::new(requests.len());
        let uploads = requests
            .iter()
            .map(|r| upload_one(&self.clients, r, round.seat()));
        futures::future::join_all(uploads).await
    }

    /// Removes what an interrupted upload of Glance image `image_id` left:
    /// the image when it is not active (unless `keep_image`: its caller
    /// owns it), its clone, and the snapshots named after it on the
    /// volumes of `volume_pool`. Returns what it removed. An `image_id`
    /// that is not a UUID is refused ([`Error::Input`]).
    pub async fn cleanup(
        &self,
        volume_pool: &str,
        image_id: &str,
        keep_image: bool,
    ) -> Result<Vec<String>, Error> {
        cleanup(&self.clients, volume_pool, image_id, keep_image).await
    }

    /// Has every upload of this uploader stop, as at its deadline, when
    /// `stop` holds a reason (a signal's name, say): each undoes what it
    /// made and fails with [`Error::Stopped`].
    pub fn stop_on(mut self, stop: tokio::sync::watch::Receiver<Option<String>>) -> Uploader {
        self.clients.stop = Some(stop);
        self
    }

    /// Tells, without changing anything, whether a raw/bare upload to
    /// Glance's store `store` (default: its default store) would clone,
    /// and if not, why.
    pub async fn check(&self, store: Option<&str>) -> Result<CheckReport, Error> {
        check(&self.clients, store).await
    }

    /// Has the streaming path report its progress to `f` (about twice a
    /// second, while data is read; [`Progress::Stopped`] when an upload
    /// fails before all is read). Without it, nothing is reported.
    pub fn on_progress(mut self, f: impl Fn(Progress) + Send + Sync + 'static) -> Uploader {
        self.clients.progress = Some(Arc::new(f));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Callers spawn uploads on a multi-threaded runtime.
    #[allow(dead_code)]
    fn uploads_are_send(u: &'static Uploader, r: &'static UploadRequest) {
        fn send<T: Send>(_: T) {}
        send(u.upload(r));
        send(u.upload_many(std::slice::from_ref(r)));
        send(u.cleanup("volumes", "id", false));
        send(u.check(None));
    }
}
