//! The crate's error type: what failed and what to do about it.

use thiserror::Error;

/// An error of an upload (see [`crate::upload::Uploader`]) or of a
/// command of the tool.
#[derive(Debug, Error)]
pub enum Error {
    /// A RADOS-level failure (configuration, monitors, authentication).
    #[error(transparent)]
    Rados(#[from] ceph_rados::RadosError),
    /// An RBD-level failure.
    #[error(transparent)]
    Rbd(#[from] ceph_rbd::Error),
    /// Glance or Keystone failed or refused.
    #[error(transparent)]
    Glance(#[from] glance_client::Error),
    /// Input that cannot be used (a file that is not what it should be).
    #[error("{0}")]
    Input(String),
    /// Something local (files, runtime).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
}

impl Error {
    /// A hint on what to do, for errors where one helps.
    pub fn hint(&self) -> Option<&'static str> {
        use ceph_rados::RadosError as R;
        match self {
            Error::Rados(R::AuthFailed { .. }) => {
                Some("check --name/--id and --keyring (the key must be the one `ceph auth get` shows for that user), and --ms-mode against what the cluster allows")
            }
            Error::Rados(R::NoMonitor { .. }) => {
                Some("check mon_host in ceph.conf (or -m), that the monitors run, and that no firewall blocks port 3300")
            }
            Error::Rados(R::Config(_)) => Some("pass -c PATH to a ceph.conf, or set CEPH_CONF"),
            Error::Rados(R::ModeMismatch { .. }) => {
                Some("pass --ms-mode with a mode the peer accepts (or set ms_mon_client_mode / ms_client_mode in ceph.conf)")
            }
            Error::Glance(e) if e.is_unauthorized() => Some(
                "check the OpenStack credentials (OS_* variables, --os-cloud and clouds.yaml)",
            ),
            Error::Glance(glance_client::Error::Connect { .. }) => Some(
                "check that Keystone and Glance are reachable at the configured URLs (OS_AUTH_URL, the catalog)",
            ),
            Error::Rbd(e) if matches!(e.errno(), Some(-1) | Some(-13)) => Some(
                "the Ceph user lacks the caps for this: check `ceph auth get` for it (profile rbd on the pools involved)",
            ),
            _ => None,
        }
    }
}
