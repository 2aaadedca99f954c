//! The command's error type: what failed, and a hint on what to do.

use ceph_common::errno::{EACCES, EPERM};
use ceph_rados::RadosError;
use thiserror::Error;

/// The exit status of an upload that succeeded although undoing its failed
/// clone left something behind (the report's `undo_failures`): the image
/// is there, but an operator or a driver must know, and clean up.
pub const EXIT_LEFT_BEHIND: i32 = 3;

/// The exit status of an upload that made nothing because it could not
/// clone and was not to stream (`--no-fallback`): the caller (a Cinder
/// driver, say) may upload the volume its own way; an image given with
/// `--image-id` is still `queued`.
pub const EXIT_NOT_CLONED: i32 = 4;

/// An error of a command.
#[derive(Debug, Error)]
pub enum Error {
    /// An upload or a check failed (see [`rbd_upload::Uploader`]).
    #[error(transparent)]
    Upload(#[from] rbd_upload::Error),
    /// A RADOS-level failure (configuration, monitors, authentication).
    #[error(transparent)]
    Rados(#[from] RadosError),
    /// Input that cannot be used (an argument, a file that is not what it
    /// should be).
    #[error("{0}")]
    Input(String),
    /// Something local (files, standard input and output).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
}

impl Error {
    /// The process's exit status for this error: 4
    /// ([`EXIT_NOT_CLONED`]) for an upload that
    /// made nothing because it could not clone and was not to stream, else 1.
    pub fn exit_status(&self) -> i32 {
        match self {
            Error::Upload(rbd_upload::Error::NotCloned { .. }) => EXIT_NOT_CLONED,
            _ => 1,
        }
    }

    /// A hint on what to do, for errors where one helps.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::Upload(e) => upload_hint(e),
            Error::Rados(e) => rados_hint(e),
            Error::Input(_) | Error::Io { .. } => None,
        }
    }
}

fn upload_hint(e: &rbd_upload::Error) -> Option<&'static str> {
    use rbd_upload::Error as U;
    match e {
        // What to do about what failed first (the message lists what the
        // undo left, and how to remove it).
        U::Undo { cause, .. } => upload_hint(cause),
        U::Rados(e) => rados_hint(e),
        U::Glance(e) if e.is_unauthorized() => Some(
            "check the OpenStack credentials (OS_* variables, --os-cloud and clouds.yaml)",
        ),
        U::NotCloned { .. } => Some(
            "`rbd-native check` says whether a clone is possible and why not; leave out --no-fallback to stream instead",
        ),
        U::TimedOut { .. } => Some(
            "give the upload more time with --timeout SECS (0: no limit), or find what held it up with -v",
        ),
        U::Glance(glance_client::Error::Stalled { .. }) => Some(
            "Glance stopped taking the data: check glance-api and its store (its log, its cluster); --read-timeout SECS sets how long to wait",
        ),
        U::Glance(glance_client::Error::Connect { .. }) => Some(
            "check that Keystone and Glance are reachable at the configured URLs (OS_AUTH_URL, the catalog)",
        ),
        U::Rbd(e) if matches!(e.errno(), Some(EPERM) | Some(EACCES)) => Some(
            "the Ceph user lacks the caps for this: check `ceph auth get` for it (profile rbd on the pools involved)",
        ),
        _ => None,
    }
}

fn rados_hint(e: &RadosError) -> Option<&'static str> {
    use ceph_rados::RadosError as R;
    match e {
        R::AuthFailed { .. } => Some(
            "check --name/--id and --keyring (the key must be the one `ceph auth get` shows for that user), and --ms-mode against what the cluster allows",
        ),
        R::NoMonitor { .. } => Some(
            "check mon_host in ceph.conf (or -m), that the monitors run, and that no firewall blocks port 3300",
        ),
        R::Config(_) => Some(
            "check the client's Ceph settings: ceph.conf (-c PATH or CEPH_CONF), the monitors (-m), the user (--name) and its key (--keyring)",
        ),
        R::ModeMismatch { .. } => Some(
            "pass --ms-mode with a mode the peer accepts (or set ms_mon_client_mode / ms_client_mode in ceph.conf)",
        ),
        _ => None,
    }
}
