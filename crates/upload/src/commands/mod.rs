//! The commands of `rbd-native`, one module each.

pub mod mon_command;

use ceph_rados::config::ClientSettings;
use ceph_rados::mon::{MonClient, MonClientOptions};

use crate::cli::GlobalArgs;
use crate::error::CliError;

/// Connects to the cluster's monitors as the global options say.
pub async fn connect_monitors(global: &GlobalArgs) -> Result<MonClient, CliError> {
    let s = ClientSettings::resolve(&global.client_args())?;
    tracing::debug!(conf = %s.conf_display(), name = %s.name, "connecting");
    let opts = MonClientOptions {
        mons: s.mons.clone(),
        name: s.name.clone(),
        key: s.key.clone(),
        mon_modes: s.mon_modes.clone(),
        connect_timeout: s.connect_timeout,
        attempt_timeout: s.connect_timeout.min(std::time::Duration::from_secs(10)),
        want_services: 0x01 | 0x04 | 0x10,
        hostname: ClientSettings::hostname(),
    };
    Ok(MonClient::connect(opts).await?)
}
