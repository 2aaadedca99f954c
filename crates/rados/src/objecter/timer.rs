//! The driver's one timer: set to the core's next deadline on every pass
//! of the driver's loop, it keeps its deadline across passes (a timer made
//! anew on each pass never fires while inputs keep coming).

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::time::Sleep;

/// How far away "no deadline" is.
const FAR: Duration = Duration::from_secs(86_400 * 365);

/// A timer with an absolute deadline that survives `select!` passes.
#[derive(Debug)]
pub(super) struct Timer {
    sleep: Pin<Box<Sleep>>,
    deadline: Option<Instant>,
}

impl Timer {
    /// A timer with no deadline.
    pub(super) fn new() -> Timer {
        Timer {
            sleep: Box::pin(tokio::time::sleep(FAR)),
            deadline: None,
        }
    }

    /// Sets the deadline (`None`: none); an unchanged deadline leaves the
    /// timer as it is.
    pub(super) fn set(&mut self, deadline: Option<Instant>) {
        if deadline == self.deadline {
            return;
        }
        self.deadline = deadline;
        let at = deadline.unwrap_or_else(|| Instant::now() + FAR);
        self.sleep
            .as_mut()
            .reset(tokio::time::Instant::from_std(at));
    }

    /// Waits for the deadline (for ever if there is none).
    pub(super) fn wait(&mut self) -> impl Future<Output = ()> + '_ {
        self.sleep.as_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Under steady traffic (an input every 5 ms), a deadline 60 ms away
    /// still fires, about on time. (The old loop made a new one-second
    /// sleep on every pass, which never fired under such traffic.)
    #[test]
    fn the_deadline_fires_under_steady_traffic() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build();
        let Ok(rt) = rt else {
            panic!("no runtime");
        };
        rt.block_on(async {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
            tokio::spawn(async move {
                while tx.send(()).is_ok() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            });
            let start = Instant::now();
            let deadline = start + Duration::from_millis(60);
            let mut timer = Timer::new();
            let mut inputs = 0;
            loop {
                timer.set(Some(deadline));
                tokio::select! {
                    _ = rx.recv() => inputs += 1,
                    () = timer.wait() => break,
                }
                assert!(
                    start.elapsed() < Duration::from_secs(2),
                    "the timer never fired"
                );
            }
            assert!(Instant::now() >= deadline);
            assert!(inputs > 3, "traffic ran meanwhile ({inputs} inputs)");
        });
    }
}
