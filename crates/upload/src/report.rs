//! What an upload reports: the image, the path taken and why, the bytes,
//! and the time of each step.

use std::time::Instant;

use serde::Serialize;

/// One timed step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// What it was.
    pub name: String,
    /// How long it took, in seconds.
    pub seconds: f64,
}

/// An undo that failed: what is left behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UndoFailure {
    /// The undo (`remove RBD image images/ID`, say).
    pub step: String,
    /// Why it failed.
    pub error: String,
}

/// The result of an upload.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The Glance image.
    pub image_id: String,
    /// `clone` or `stream`.
    pub path: String,
    /// Why not a clone, when the clone was not tried.
    pub reason: Option<String>,
    /// Why the clone failed, when it was tried and the upload streamed.
    pub clone_error: Option<String>,
    /// The volume, POOL/NAME.
    pub volume: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Self-managed snapshot ids allotted for the clone: (pool, id).
    pub snapshot_ids: Vec<(String, u64)>,
    /// The OSD map epoch in which the monitor granted each of
    /// `snapshot_ids`, in the same order: ids granted in one epoch were
    /// granted in one monitor round.
    pub snapshot_epochs: Vec<u32>,
    /// Those released again (unused, or undone after a failure).
    pub released_snapshot_ids: Vec<(String, u64)>,
    /// The undos that failed after a failure (of the clone, when the
    /// upload then streamed; of the upload otherwise): what is left.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undo_failures: Vec<UndoFailure>,
    /// The undos carried out after a failure (of the clone, when the
    /// upload then streamed; of the upload otherwise): what was made and
    /// removed again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undone: Vec<String>,
    /// The steps.
    pub steps: Vec<Step>,
    /// Parts of a step that ran side by side, each timed on its own (the
    /// Glance image's creation and the monitor round for snapshot ids,
    /// within `image create and snapshot ids`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overlapped: Vec<Step>,
    /// Total seconds.
    pub seconds: f64,
}

impl Report {
    /// A report for volume `pool/name` of `bytes` bytes.
    pub fn new(pool: &str, name: &str, bytes: u64) -> Report {
        Report {
            image_id: String::new(),
            path: String::new(),
            reason: None,
            clone_error: None,
            volume: format!("{pool}/{name}"),
            bytes,
            snapshot_ids: Vec::new(),
            snapshot_epochs: Vec::new(),
            released_snapshot_ids: Vec::new(),
            undo_failures: Vec::new(),
            undone: Vec::new(),
            steps: Vec::new(),
            overlapped: Vec::new(),
            seconds: 0.0,
        }
    }

    /// Records step `name`, begun at `since`.
    pub fn step(&mut self, name: &str, since: Instant) {
        self.steps.push(Step {
            name: name.to_string(),
            seconds: since.elapsed().as_secs_f64(),
        });
    }

    /// Records the total time.
    pub fn finish(&mut self, since: Instant) {
        self.seconds = since.elapsed().as_secs_f64();
    }
}
