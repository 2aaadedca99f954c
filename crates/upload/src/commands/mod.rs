//! The commands of `rbd-native`, one module each.

pub mod mon_command;
pub mod osdmap;
pub mod rados;
pub mod rbd;
pub mod rbd_io;

use ceph_rados::config::ClientSettings;
use ceph_rados::mon::{MonClient, MonClientOptions};

use crate::cli::GlobalArgs;
use crate::error::Error;

/// Connects to the cluster's monitors as the global options say.
pub async fn connect_monitors(global: &GlobalArgs) -> Result<MonClient, Error> {
    let s = ClientSettings::resolve(&global.client_args())?;
    tracing::debug!(conf = %s.conf_display(), name = %s.name, "connecting");
    let opts = MonClientOptions::from_settings(&s);
    Ok(MonClient::connect(opts).await?)
}
