//! The crate's error type: what failed.

use thiserror::Error;

/// An error of an upload (see [`crate::Uploader`]).
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
