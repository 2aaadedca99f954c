//! The undo ledger of an upload: each step that makes something records
//! its inverse ([`Undo`]) right after it succeeds; when the upload fails,
//! one rollback walks the ledger in reverse, once, and keeps every undo
//! that fails (in the report, and in the error the caller sees).
//!
//! The inverses are plain data, carried out by an [`Executor`]: the
//! cluster and Glance ([`crate::undo::Undoer`]), or a fake in the tests.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::Error;
use crate::report::{Report, UndoFailure};

/// The inverse of one step of an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Undo {
    /// Delete the Glance image the upload created (only ever one it
    /// created: a caller's image is never recorded).
    DeleteImage {
        /// The image.
        image_id: String,
    },
    /// Give a self-managed snapshot id back to the monitor.
    ReleaseSnapId {
        /// The pool it was allotted in.
        pool: String,
        /// The id.
        id: u64,
    },
    /// Remove a snapshot the upload made on the volume (unprotected first
    /// if protected); this releases its id (unless clones keep it in the
    /// snapshot trash).
    RemoveVolumeSnap {
        /// The volume's pool.
        pool: String,
        /// The volume.
        volume: String,
        /// The snapshot.
        snap: String,
        /// The volume's data pool (where the id was allotted).
        data_pool: String,
        /// The snapshot's id.
        id: u64,
    },
    /// Remove the clone's snapshot (unprotected first if protected); this
    /// releases its id.
    RemoveCloneSnap {
        /// The store's pool.
        pool: String,
        /// The clone (named after the Glance image).
        image_id: String,
        /// The snapshot's id.
        id: u64,
    },
    /// Remove the clone (and a snapshot of it left by a failed step).
    RemoveClone {
        /// The store's pool.
        pool: String,
        /// The clone.
        image_id: String,
    },
}

impl fmt::Display for Undo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Undo::DeleteImage { image_id } => write!(f, "delete Glance image {image_id}"),
            Undo::ReleaseSnapId { pool, id } => {
                write!(f, "release snapshot id {id} of pool {pool}")
            }
            Undo::RemoveVolumeSnap {
                pool, volume, snap, ..
            } => write!(f, "remove snapshot {pool}/{volume}@{snap}"),
            Undo::RemoveCloneSnap { pool, image_id, .. } => write!(
                f,
                "remove snapshot {pool}/{image_id}@{}",
                crate::naming::GLANCE_SNAP
            ),
            Undo::RemoveClone { pool, image_id } => write!(f, "remove RBD image {pool}/{image_id}"),
        }
    }
}

/// Carries out [`Undo`]s.
pub(crate) trait Executor {
    /// Does `step`; the snapshot id it gave back to the monitor, as (pool,
    /// id), if it did.
    async fn undo(&mut self, step: &Undo) -> Result<Option<(String, u64)>, Error>;
}

/// What an upload made so far, as the steps that undo it, in order.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    entries: Vec<Undo>,
    /// Set once the upload's image is made and kept ([`Ledger::finish`]);
    /// shared with whoever decides to stop the upload.
    finished: Arc<AtomicBool>,
}

impl Ledger {
    /// Records the inverse of a step that just succeeded.
    pub(crate) fn record(&mut self, step: Undo) {
        self.entries.push(step);
    }

    /// Takes `step` out of the ledger: what it undoes is someone else's
    /// to undo from now on (a snapshot id handed to the snapshot that uses
    /// it: the snapshot's creation releases it if it fails) or is gone
    /// already (a snapshot removed on the way).
    pub(crate) fn hand_over(&mut self, step: &Undo) {
        if let Some(at) = self.entries.iter().rposition(|e| e == step) {
            self.entries.remove(at);
        }
    }

    /// Whether a step `step` picks is recorded.
    pub(crate) fn holds(&self, step: impl Fn(&Undo) -> bool) -> bool {
        self.entries.iter().any(step)
    }

    /// Forgets everything: the upload succeeded, what it made stays.
    pub(crate) fn commit(&mut self) {
        self.entries.clear();
    }

    /// Commits, and marks the upload as done with its image: what is left
    /// is tidying that must not be cut short (a stop or a deadline from
    /// now on lets it end; see [`Ledger::finished_flag`]).
    pub(crate) fn finish(&mut self) {
        self.commit();
        self.finished.store(true, Ordering::SeqCst);
    }

    /// A flag that turns true when [`Ledger::finish`] is called, to be
    /// read while the upload holds the ledger.
    pub(crate) fn finished_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.finished)
    }

    /// Undoes everything recorded, last first; see [`Ledger::rollback_keeping`].
    pub(crate) async fn rollback<E: Executor>(&mut self, exec: &mut E, report: &mut Report) {
        self.rollback_keeping(|_| false, exec, report).await;
    }

    /// Undoes what is recorded, last first, except the steps `keep`
    /// picks, which stay recorded. Each step is undone once and leaves the
    /// ledger whether it succeeds or not; an undo that fails does not stop
    /// the others, and goes to `report.undo_failures`. The ids given back
    /// go to `report.released_snapshot_ids` (those of
    /// `report.snapshot_ids`: the ids allotted for a clone).
    pub(crate) async fn rollback_keeping<E: Executor>(
        &mut self,
        keep: impl Fn(&Undo) -> bool,
        exec: &mut E,
        report: &mut Report,
    ) {
        let mut kept = Vec::new();
        while let Some(step) = self.entries.pop() {
            if keep(&step) {
                kept.push(step);
                continue;
            }
            match exec.undo(&step).await {
                Ok(released) => {
                    report.undone.push(step.to_string());
                    if let Some(released) = released {
                        if report.snapshot_ids.contains(&released) {
                            report.released_snapshot_ids.push(released);
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!("undo: {step}: {e}");
                    report.undo_failures.push(UndoFailure {
                        step: step.to_string(),
                        error: e.to_string(),
                    });
                }
            }
        }
        kept.reverse();
        self.entries = kept;
    }
}

/// The error of a failed upload whose rollback is done: `cause` itself
/// when every undo succeeded, else `cause` with the undos that failed; a
/// [`Error::TimedOut`] says what was undone.
pub(crate) fn failed(cause: Error, report: &Report) -> Error {
    let cause = match cause {
        Error::TimedOut { after, .. } => Error::TimedOut {
            after,
            undone: report.undone.clone(),
        },
        Error::Stopped { why, .. } => Error::Stopped {
            why,
            undone: report.undone.clone(),
        },
        other => other,
    };
    if report.undo_failures.is_empty() {
        return cause;
    }
    Error::Undo {
        cause: Box::new(cause),
        failures: report.undo_failures.clone(),
        image_id: report.image_id.clone(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An executor that writes down what it is asked, and fails the
    /// undos whose text contains one of `fail`.
    #[derive(Debug, Default)]
    pub(crate) struct Recorder {
        pub done: Vec<String>,
        pub fail: Vec<&'static str>,
    }

    impl Executor for Recorder {
        async fn undo(&mut self, step: &Undo) -> Result<Option<(String, u64)>, Error> {
            let text = step.to_string();
            self.done.push(text.clone());
            if self.fail.iter().any(|f| text.contains(f)) {
                return Err(Error::Input("refused by the test".into()));
            }
            Ok(match step {
                Undo::ReleaseSnapId { pool, id } => Some((pool.clone(), *id)),
                Undo::RemoveVolumeSnap { data_pool, id, .. } => Some((data_pool.clone(), *id)),
                Undo::RemoveCloneSnap { pool, id, .. } => Some((pool.clone(), *id)),
                _ => None,
            })
        }
    }

    fn image() -> Undo {
        Undo::DeleteImage {
            image_id: "i".into(),
        }
    }

    fn id(pool: &str, id: u64) -> Undo {
        Undo::ReleaseSnapId {
            pool: pool.into(),
            id,
        }
    }

    #[tokio::test]
    async fn a_rollback_keeps_what_it_is_told_and_undoes_the_rest_once() {
        let mut ledger = Ledger::default();
        ledger.record(image());
        ledger.record(id("volumes", 4));
        ledger.record(id("images", 5));
        let mut report = Report::new("volumes", "v", 0);
        report.snapshot_ids = vec![("volumes".into(), 4)];
        let mut exec = Recorder::default();
        ledger
            .rollback_keeping(
                |u| matches!(u, Undo::DeleteImage { .. }),
                &mut exec,
                &mut report,
            )
            .await;
        assert_eq!(
            exec.done,
            [
                "release snapshot id 5 of pool images",
                "release snapshot id 4 of pool volumes"
            ]
        );
        // Only the ids allotted for the clone are reported.
        assert_eq!(report.released_snapshot_ids, [("volumes".to_string(), 4)]);
        assert!(ledger.holds(|u| *u == image()));
        ledger.rollback(&mut exec, &mut report).await;
        ledger.rollback(&mut exec, &mut report).await;
        assert_eq!(exec.done.len(), 3);
        assert_eq!(exec.done[2], "delete Glance image i");
        assert!(report.undo_failures.is_empty());
    }

    #[tokio::test]
    async fn a_timed_out_upload_says_what_it_cleaned_up() {
        let mut ledger = Ledger::default();
        ledger.record(image());
        ledger.record(id("volumes", 4));
        let mut report = Report::new("volumes", "v", 0);
        let timed_out = || Error::TimedOut {
            after: std::time::Duration::from_secs(3),
            undone: Vec::new(),
        };
        ledger.rollback(&mut Recorder::default(), &mut report).await;
        assert_eq!(
            report.undone,
            [
                "release snapshot id 4 of pool volumes",
                "delete Glance image i"
            ]
        );
        let e = failed(timed_out(), &report).to_string();
        assert_eq!(
            e,
            "the upload timed out after 3 s and was stopped; cleaned up: \
             release snapshot id 4 of pool volumes, delete Glance image i"
        );
        // Nothing made: nothing to clean.
        let e = failed(timed_out(), &Report::new("volumes", "v", 0)).to_string();
        assert!(e.ends_with("it had made nothing that stayed"), "{e}");
        // An undo that failed is said too.
        let mut ledger = Ledger::default();
        ledger.record(image());
        let mut report = Report::new("volumes", "v", 0);
        report.image_id = "i".into();
        let mut refusing = Recorder {
            fail: vec!["Glance"],
            ..Recorder::default()
        };
        ledger.rollback(&mut refusing, &mut report).await;
        let e = failed(timed_out(), &report);
        assert!(matches!(e.cause(), Error::TimedOut { .. }), "{e}");
        let e = e.to_string();
        assert!(e.contains("timed out after 3 s"), "{e}");
        assert!(
            e.contains("delete Glance image i: refused by the test"),
            "{e}"
        );
        assert!(e.contains("--cleanup i"), "{e}");
    }

    #[tokio::test]
    async fn a_failing_undo_is_kept_and_the_others_still_run() {
        let mut ledger = Ledger::default();
        ledger.record(image());
        ledger.record(id("volumes", 4));
        ledger.record(id("images", 5));
        ledger.hand_over(&id("images", 5));
        let mut report = Report::new("volumes", "v", 0);
        report.image_id = "i".into();
        let mut exec = Recorder {
            fail: vec!["volumes"],
            ..Recorder::default()
        };
        ledger.rollback(&mut exec, &mut report).await;
        assert_eq!(
            exec.done,
            [
                "release snapshot id 4 of pool volumes",
                "delete Glance image i"
            ]
        );
        assert_eq!(report.undo_failures.len(), 1);
        assert_eq!(
            report.undo_failures[0].step,
            "release snapshot id 4 of pool volumes"
        );
        assert!(report.released_snapshot_ids.is_empty());
        let e = failed(Error::Input("the cause".into()), &report).to_string();
        assert!(e.starts_with("the cause"), "{e}");
        assert!(
            e.contains("release snapshot id 4 of pool volumes: refused by the test"),
            "{e}"
        );
        assert!(e.contains("--cleanup i"), "{e}");
    }
}
