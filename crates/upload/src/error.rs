//! The crate's error type: what failed.

use thiserror::Error;

use crate::report::UndoFailure;

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
    /// The upload did not finish within its deadline
    /// ([`crate::UploadRequest::deadline`]): it was stopped, and `undone`
    /// is what was made and then removed.
    #[error("the upload timed out after {} s and was stopped; {}", after.as_secs_f64(), cleaned(.undone))]
    TimedOut {
        /// The deadline.
        after: std::time::Duration,
        /// What was removed again (the undos that succeeded).
        undone: Vec<String>,
    },
    /// The upload failed (`cause`), and undoing what it had made failed
    /// too: `failures` is what is left behind.
    #[error("{cause}; undoing the upload then failed: {}{}", undo_list(.failures), cleanup_hint(.image_id))]
    Undo {
        /// Why the upload failed.
        cause: Box<Error>,
        /// The undos that failed.
        failures: Vec<UndoFailure>,
        /// The Glance image of the upload (empty: none was made).
        image_id: String,
    },
}

impl Error {
    /// What failed first: the cause of an [`Error::Undo`], else this.
    pub fn cause(&self) -> &Error {
        match self {
            Error::Undo { cause, .. } => cause.cause(),
            e => e,
        }
    }
}

fn cleaned(undone: &[String]) -> String {
    if undone.is_empty() {
        "it had made nothing that stayed".to_string()
    } else {
        format!("cleaned up: {}", undone.join(", "))
    }
}

fn undo_list(failures: &[UndoFailure]) -> String {
    failures
        .iter()
        .map(|f| format!("{}: {}", f.step, f.error))
        .collect::<Vec<_>>()
        .join("; ")
}

fn cleanup_hint(image_id: &str) -> String {
    if image_id.is_empty() {
        String::new()
    } else {
        format!(" (`rbd-native upload --cleanup {image_id}` removes what is left)")
    }
}
