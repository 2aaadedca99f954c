//! What an upload is asked and what it gives: where the cluster and the
//! OpenStack credentials are, an [`UploadRequest`] and its
//! [`UploadOutcome`].

use std::collections::BTreeMap;
use std::time::Duration;

use ceph_rbd::image::CloneFormat;
use glance_client::{CloudConfig, ConfigLoader};

use crate::error::Error;
use crate::report::Report;

/// Where the Ceph cluster is and who we are in it, as the `rbd` tool's
/// options say it: `conf` (the ceph.conf; default `$CEPH_CONF`, then
/// `/etc/ceph/$cluster.conf`), `name` (the entity, such as
/// `client.cinder`; default `client.admin`), `keyring` or `keyfile`, and
/// optionally `mon_host`, `ms_mode`, `connect_timeout`; everything else
/// comes from ceph.conf.
pub use ceph_rados::config::ClientArgs as CephOptions;

/// Where the OpenStack credentials (Keystone, then Glance from its catalog)
/// come from.
// Made once per connection: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Default)]
pub enum OpenStack {
    /// The process environment, as the `openstack` client reads it:
    /// `OS_CLOUD` and clouds.yaml, else the `OS_*` variables.
    #[default]
    Environment,
    /// Cloud `name` of clouds.yaml (with the `OS_*` variables over it).
    Cloud(String),
    /// A configuration made by the caller.
    Config(CloudConfig),
}

impl OpenStack {
    /// The configuration this stands for.
    pub fn config(&self) -> Result<CloudConfig, Error> {
        Ok(match self {
            OpenStack::Environment => ConfigLoader::from_process_env().load()?,
            OpenStack::Cloud(name) => ConfigLoader::from_process_env().cloud(name).load()?,
            OpenStack::Config(c) => c.clone(),
        })
    }
}

impl From<CloudConfig> for OpenStack {
    fn from(c: CloudConfig) -> OpenStack {
        OpenStack::Config(c)
    }
}

/// One volume to upload, and how.
///
/// [`UploadRequest::new`] gives the defaults of `rbd-native upload`
/// except for `clone_optimization`, which is off unless set (the tool
/// reads it from its config file, the library from the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadRequest {
    /// The volume's pool (Cinder's `volumes`, say).
    pub pool: String,
    /// The volume: the RBD image's name (Cinder's `volume-<UUID>`).
    pub volume: String,
    /// The Glance image's name (unused with [`UploadRequest::image_id`]).
    pub name: String,
    /// An existing Glance image to fill, which must be `queued`: its
    /// caller (Cinder, which creates the image before it asks its driver
    /// for the data) owns it. The upload never creates nor deletes it,
    /// takes its disk and container formats from it, and undoes
    /// everything else it made when it fails. `None`: the upload creates
    /// its image, named `name`, with the formats, visibility and
    /// properties below.
    pub image_id: Option<String>,
    /// The image's disk format: only `raw` is accepted (a volume holds
    /// raw data and nothing is converted).
    pub disk_format: String,
    /// The image's container format (a clone needs `bare`).
    pub container_format: String,
    /// The image's visibility (`private`, `shared`, `community`,
    /// `public`); `None`: Glance's default.
    pub visibility: Option<String>,
    /// Extra image properties.
    pub properties: BTreeMap<String, String>,
    /// The Glance store to upload to; `None`: Glance's default store.
    pub store: Option<String>,
    /// Clone inside the cluster when Glance's store allows it (else the
    /// data is always streamed).
    pub clone_optimization: bool,
    /// The clone's format (default [`CloneFormat::V2`]: the volume keeps
    /// no visible snapshot).
    pub clone_format: CloneFormat,
    /// Stream when a clone is not possible or fails (otherwise the
    /// upload fails: with the reason, and having made nothing, when no
    /// clone is possible; with the clone's steps undone when it fails).
    pub fallback: bool,
    /// How long to wait for the image to become `active`.
    pub timeout: Duration,
    /// The most the whole upload may take, from its start; `None`: no
    /// limit. When it passes, the upload stops where it is, undoes what
    /// it made (what it had recorded, and anything named after its image
    /// that a step in flight made) and fails with [`Error::TimedOut`].
    pub deadline: Option<Duration>,
}

impl UploadRequest {
    /// Volume `pool/volume` to an image named `name`: raw, bare, Glance's
    /// default store and visibility, no extra property, no clone (set
    /// `clone_optimization`), clone format 2, fallback to streaming,
    /// 600 s to become active, no deadline.
    pub fn new(
        pool: impl Into<String>,
        volume: impl Into<String>,
        name: impl Into<String>,
    ) -> UploadRequest {
        UploadRequest {
            pool: pool.into(),
            volume: volume.into(),
            name: name.into(),
            image_id: None,
            disk_format: "raw".into(),
            container_format: "bare".into(),
            visibility: None,
            properties: BTreeMap::new(),
            store: None,
            clone_optimization: false,
            clone_format: CloneFormat::V2,
            fallback: true,
            timeout: Duration::from_secs(600),
            deadline: None,
        }
    }
}

/// What became of one [`UploadRequest`].
#[derive(Debug)]
#[non_exhaustive]
pub struct UploadOutcome {
    /// The report: the image, the path taken and why, the snapshot ids
    /// and the epochs they were granted in, the steps. Filled as far as
    /// the upload went when it failed.
    pub report: Report,
    /// Why the upload failed; `None` when the image is active. A failed
    /// upload leaves nothing behind (the Glance image, snapshots, clone
    /// and snapshot ids it made are undone).
    pub error: Option<Error>,
}

impl UploadOutcome {
    /// Whether the upload succeeded.
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }

    /// The report when the upload succeeded, else the error.
    pub fn into_result(self) -> Result<Report, Error> {
        match self.error {
            None => Ok(self.report),
            Some(e) => Err(e),
        }
    }
}
