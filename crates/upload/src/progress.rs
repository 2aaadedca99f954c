//! How far a streamed upload is, for whoever shows it (the library
//! prints nothing).

use std::sync::Arc;

/// How far a streamed upload is ([`crate::Uploader::on_progress`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// `done` of the volume's `total` bytes are read (`done == total`
    /// comes once, last).
    Read {
        /// Bytes read so far.
        done: u64,
        /// The volume's size.
        total: u64,
    },
    /// The upload failed before every byte was read: no more reports.
    Stopped,
}

/// The callback of [`crate::Uploader::on_progress`].
pub(crate) type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;
