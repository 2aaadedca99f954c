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

/// The task that reports a streamed upload's progress every `every`,
/// from the byte count `done` of `total`. Dropped before its last report,
/// it makes that report (all read) or says [`Progress::Stopped`] (the
/// upload failed, or was stopped at its deadline, before).
pub(crate) struct Reporter {
    task: tokio::task::JoinHandle<()>,
    report: ProgressFn,
    done: Arc<std::sync::atomic::AtomicU64>,
    total: u64,
}

impl Reporter {
    /// Starts reporting to `report`.
    pub(crate) fn start(
        report: ProgressFn,
        done: Arc<std::sync::atomic::AtomicU64>,
        total: u64,
        every: std::time::Duration,
    ) -> Reporter {
        let task = tokio::spawn({
            let (report, done) = (report.clone(), done.clone());
            async move {
                loop {
                    tokio::time::sleep(every).await;
                    let d = done.load(std::sync::atomic::Ordering::Relaxed);
                    report(Progress::Read { done: d, total });
                    if d >= total {
                        return;
                    }
                }
            }
        });
        Reporter {
            task,
            report,
            done,
            total,
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        let finished = self.task.is_finished();
        self.task.abort();
        if finished {
            return;
        }
        let done = self.done.load(std::sync::atomic::Ordering::Relaxed);
        (self.report)(if done >= self.total {
            Progress::Read {
                done: self.total,
                total: self.total,
            }
        } else {
            Progress::Stopped
        });
    }
}
