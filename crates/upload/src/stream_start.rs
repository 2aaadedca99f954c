//! The stream's snapshot id, allotted off the critical path.
//!
//! The stream reads the volume at a snapshot of its own, whose id is a
//! self-managed snapshot id of the volume's data pool: one monitor round
//! (0.05-1 s). That round need not wait for anything but the open volume,
//! so it is started as early as the upload knows it will stream (while
//! `check` runs, when the clone optimization is off; else while Glance
//! creates the image) and runs along the steps in between ([`Allotting`]);
//! the snapshot then takes the id ([`take_snapshot`]).
//!
//! The undo ledger stays whole: the id's release is recorded as soon as
//! the id is known, also when a step in between failed (the allotment is
//! finished first, [`Allotting::abandon`]), and handed over to the
//! snapshot's creation, which releases the id itself if it fails.

use std::future::Future;
use std::pin::Pin;

use ceph_rados::{RadosError, SnapIdGrant};
use futures::future::{BoxFuture, MaybeDone};

use crate::error::Error;
use crate::ledger::{Ledger, Undo};

/// A snapshot id allotted for the stream's snapshot, not yet taken by
/// it; its release is recorded in the upload's ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SnapId {
    /// The id.
    pub id: u64,
    /// Its release, as recorded.
    release: Undo,
}

/// An allotment in flight, and then its result.
type Pending<'a> = Pin<Box<MaybeDone<BoxFuture<'a, Result<SnapIdGrant, RadosError>>>>>;

/// An allotment of a snapshot id in a pool, running while the upload
/// does other steps ([`Allotting::during`]).
pub(crate) struct Allotting<'a> {
    pool: String,
    allot: Pending<'a>,
}

impl std::fmt::Debug for Allotting<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Allotting")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl<'a> Allotting<'a> {
    /// Starts allotting with `allot` (an id of pool `pool`); it makes
    /// progress whenever the upload waits in [`Allotting::during`] or
    /// [`Allotting::finish`].
    pub(crate) fn start(
        pool: &str,
        allot: impl Future<Output = Result<SnapIdGrant, RadosError>> + Send + 'a,
    ) -> Allotting<'a> {
        let allot: BoxFuture<'a, _> = Box::pin(allot);
        Allotting {
            pool: pool.to_string(),
            allot: Box::pin(futures::future::maybe_done(allot)),
        }
    }

    /// Runs `work` to its end, the allotment going on meanwhile (it is not
    /// waited for).
    pub(crate) async fn during<T>(&mut self, work: impl Future<Output = T>) -> T {
        let mut work = std::pin::pin!(work);
        let allot = &mut self.allot;
        std::future::poll_fn(|cx| {
            // Done or not, the allotment keeps its result until finish.
            let _ = allot.as_mut().poll(cx);
            work.as_mut().poll(cx)
        })
        .await
    }

    /// Waits for the id and records its release in `ledger`.
    pub(crate) async fn finish(mut self, ledger: &mut Ledger) -> Result<SnapId, Error> {
        (&mut self.allot).await;
        let granted = self
            .allot
            .as_mut()
            .take_output()
            .ok_or_else(|| Error::Input("the snapshot id was taken already".into()))?;
        let grant = granted.map_err(|e| {
            Error::Input(format!(
                "could not allot a snapshot id in pool {} for the stream's snapshot ({e}; check the Ceph user's caps)",
                self.pool
            ))
        })?;
        let release = Undo::ReleaseSnapId {
            pool: self.pool.clone(),
            id: grant.id,
        };
        ledger.record(release.clone());
        Ok(SnapId {
            id: grant.id,
            release,
        })
    }

    /// Ends the allotment of an upload that failed meanwhile: waits for
    /// it, so that the id it got is released by the rollback.
    pub(crate) async fn abandon(self, ledger: &mut Ledger) {
        if let Err(e) = self.finish(ledger).await {
            tracing::debug!("the stream's snapshot id, no longer needed: {e}");
        }
    }
}

/// Runs `work`, the allotment `allot` (if any) going on meanwhile.
pub(crate) async fn during<T>(
    allot: &mut Option<Allotting<'_>>,
    work: impl Future<Output = T>,
) -> T {
    match allot {
        Some(a) => a.during(work).await,
        None => work.await,
    }
}

/// Ends `allot`, if any, as [`Allotting::abandon`] does, then gives
/// back `e`: for a step that failed while the id was being allotted.
pub(crate) async fn failed_while(
    allot: Option<Allotting<'_>>,
    ledger: &mut Ledger,
    e: Error,
) -> Error {
    if let Some(a) = allot {
        a.abandon(ledger).await;
    }
    e
}

/// Takes the stream's snapshot with `make` (given the allotted id, or
/// `None` to allot one itself) and records its removal (`undo` of its id)
/// in `ledger`. The id's release leaves the ledger first: the snapshot's
/// creation owns the id from then on (and releases it if it fails). The
/// removal recorded.
pub(crate) async fn take_snapshot<F>(
    ledger: &mut Ledger,
    id: Option<SnapId>,
    make: impl FnOnce(Option<u64>) -> F,
    undo: impl FnOnce(u64) -> Undo,
) -> Result<Undo, Error>
where
    F: Future<Output = Result<u64, Error>>,
{
    if let Some(id) = &id {
        ledger.hand_over(&id.release);
    }
    let taken = undo(make(id.map(|i| i.id)).await?);
    ledger.record(taken.clone());
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::ledger::tests::Recorder;
    use crate::report::Report;

    const IMAGE: &str = "delete Glance image I";
    const ID: &str = "release snapshot id 9 of pool volumes";
    const SNAP: &str = "remove snapshot volumes/vol@s";

    async fn grant_after(ms: u64, ok: bool) -> Result<SnapIdGrant, RadosError> {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        if ok {
            Ok(SnapIdGrant { id: 9, epoch: 3 })
        } else {
            Err(RadosError::NoSuchPool("volumes".into()))
        }
    }

    fn snap_undo(id: u64) -> Undo {
        Undo::RemoveVolumeSnap {
            pool: "volumes".into(),
            volume: "vol".into(),
            snap: "s".into(),
            data_pool: "volumes".into(),
            id,
        }
    }

    fn image() -> Undo {
        Undo::DeleteImage {
            image_id: "I".into(),
        }
    }

    /// Where the stream's start fails.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Fail {
        Nothing,
        Check,
        Allot,
        ImageCreate,
        Snapshot,
        Upload,
    }

    /// The stream's start as the upload runs it (the id allotted from the
    /// check on), failing at `fail`, then the rollback: the undos done,
    /// and whether the check and image create ran while the id was being
    /// allotted.
    async fn start(fail: Fail) -> (Vec<String>, bool) {
        let mut ledger = Ledger::default();
        let allotted = Arc::new(AtomicBool::new(false));
        let seen = allotted.clone();
        let overlapped = Arc::new(AtomicBool::new(false));
        let r: Result<(), Error> = async {
            let mut allot = Some(Allotting::start("volumes", async move {
                let r = grant_after(50, fail != Fail::Allot).await;
                seen.store(true, Ordering::SeqCst);
                r
            }));
            let check = async {
                // The check runs while the id is not there yet.
                overlapped.store(!allotted.load(Ordering::SeqCst), Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                if fail == Fail::Check {
                    return Err(Error::Input("check failed".into()));
                }
                Ok(())
            };
            let checked = during(&mut allot, check).await;
            if let Err(e) = checked {
                return Err(failed_while(allot.take(), &mut ledger, e).await);
            }
            let create = async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                if fail == Fail::ImageCreate {
                    return Err(Error::Input("image create failed".into()));
                }
                Ok("I".to_string())
            };
            let created = during(&mut allot, create).await;
            match created {
                Ok(_) => ledger.record(image()),
                Err(e) => return Err(failed_while(allot.take(), &mut ledger, e).await),
            }
            let id = match allot.take() {
                Some(a) => Some(a.finish(&mut ledger).await?),
                None => None,
            };
            take_snapshot(
                &mut ledger,
                id,
                |id| async move {
                    assert_eq!(id, Some(9));
                    if fail == Fail::Snapshot {
                        return Err(Error::Input("snapshot failed".into()));
                    }
                    Ok(9)
                },
                snap_undo,
            )
            .await?;
            if fail == Fail::Upload {
                return Err(Error::Input("upload failed".into()));
            }
            Ok(())
        }
        .await;
        let mut exec = Recorder::default();
        let mut report = Report::new("volumes", "vol", 0);
        match r {
            Ok(()) => ledger.commit(),
            Err(_) => ledger.rollback(&mut exec, &mut report).await,
        }
        assert_eq!(r.is_ok(), fail == Fail::Nothing);
        // The ledger is spent: nothing is undone twice.
        ledger.rollback(&mut exec, &mut report).await;
        (exec.done, overlapped.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn each_failing_step_of_the_stream_start_undoes_what_it_made() {
        let cases: &[(Fail, &[&str])] = &[
            (Fail::Nothing, &[]),
            // The id arrived after the check failed: released all the same.
            (Fail::Check, &[ID]),
            (Fail::Allot, &[IMAGE]),
            (Fail::ImageCreate, &[ID]),
            // The snapshot's creation owns the id: it releases it itself.
            (Fail::Snapshot, &[IMAGE]),
            (Fail::Upload, &[SNAP, IMAGE]),
        ];
        for (fail, expected) in cases {
            let (done, overlapped) = start(*fail).await;
            assert_eq!(&done, expected, "{fail:?} failing");
            assert!(overlapped, "{fail:?}: the check waited for the id");
        }
    }

    #[tokio::test]
    async fn the_allotment_goes_on_while_the_steps_run() {
        let mut ledger = Ledger::default();
        let mut a = Allotting::start("volumes", grant_after(30, true));
        let t = tokio::time::Instant::now();
        a.during(tokio::time::sleep(Duration::from_millis(20)))
            .await;
        a.during(tokio::time::sleep(Duration::from_millis(20)))
            .await;
        let id = a.finish(&mut ledger).await;
        // Not 20 + 20 + 30 ms: the id came during the steps.
        assert!(t.elapsed() < Duration::from_millis(60), "{:?}", t.elapsed());
        assert_eq!(id.map(|i| i.id).ok(), Some(9));
        assert!(ledger.holds(|u| u.to_string() == ID));
    }

    #[tokio::test]
    async fn without_an_allotted_id_the_snapshot_allots_its_own() {
        let mut ledger = Ledger::default();
        let taken = take_snapshot(
            &mut ledger,
            None,
            |id| async move {
                assert_eq!(id, None);
                Ok(12)
            },
            snap_undo,
        )
        .await;
        assert_eq!(taken.ok(), Some(snap_undo(12)));
        let mut exec = Recorder::default();
        ledger
            .rollback(&mut exec, &mut Report::new("volumes", "vol", 0))
            .await;
        assert_eq!(exec.done, [SNAP]);
    }
}
