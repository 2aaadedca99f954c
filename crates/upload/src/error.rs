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
    /// The upload was stopped from outside (a signal: `why`) and undid
    /// what it had made; `undone` is what it removed.
    #[error("the upload was stopped ({why}); {}", cleaned(.undone))]
    Stopped {
        /// Why it was stopped.
        why: String,
        /// What was removed again (the undos that succeeded).
        undone: Vec<String>,
    },
    /// No clone was made and streaming was not allowed
    /// ([`crate::UploadRequest::fallback`] off): no clone was possible
    /// (`reason`), or the clone failed and was undone. Nothing the upload
    /// made is left; an image given by the caller is still `queued`, and
    /// the caller may fill it another way.
    #[error("not uploaded by clone: {reason}; nothing was left behind{}", image_note(.image_id))]
    NotCloned {
        /// Why.
        reason: String,
        /// The caller's image, still `queued` (empty: the upload was to
        /// create its image).
        image_id: String,
    },
    /// Glance made a streamed image `active` with `stored` bytes where
    /// `sent` were sent: something between the client and Glance's store
    /// (a proxy, the store) lost or added data. The upload fails and is
    /// undone like any other failure.
    #[error("Glance made image {image_id} active with {stored} bytes where {sent} were sent, so it is not the volume; check what lies between this host and Glance (a proxy that does not pass chunked request bodies whole?) and Glance's store")]
    StoredSize {
        /// The Glance image.
        image_id: String,
        /// The bytes sent.
        sent: u64,
        /// The size Glance reports.
        stored: u64,
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

fn image_note(image_id: &str) -> String {
    if image_id.is_empty() {
        String::new()
    } else {
        format!(" and Glance image {image_id} is still queued")
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
