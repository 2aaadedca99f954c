//! The clone path, as the spec has it: a Glance image, a snapshot of the
//! volume, a copy-on-write clone of it into the pool of Glance's RBD
//! store, the snapshot Glance's store expects on the clone, the clone
//! registered as the image's location, and the image `active`.
//!
//! Each step that makes something records its inverse in the upload's
//! [`Ledger`] right after it succeeds; whoever fails, the caller rolls
//! the ledger back once. The steps themselves are [`CloneSteps`]: the
//! cluster and Glance ([`crate::clone_steps::Cluster`]), or a fake in the
//! tests.

use std::time::Instant;

use ceph_rados::SnapIdGrant;
use ceph_rbd::image::CloneFormat;

use crate::error::Error;
use crate::ledger::{Executor, Ledger, Undo};
use crate::naming::clone_snap;
use crate::report::Report;

/// Where the clone path works: the names its undos need.
#[derive(Debug, Clone)]
pub(crate) struct ClonePlan {
    /// The clone's format (1 or 2: resolved).
    pub format: CloneFormat,
    /// The volume's pool.
    pub volume_pool: String,
    /// The volume.
    pub volume: String,
    /// The volume's data pool: where its snapshot ids are allotted.
    pub data_pool: String,
    /// The store's pool: where the clone goes.
    pub store_pool: String,
    /// Whether the upload creates the Glance image (and so deletes it
    /// again when it fails); not when its caller gave it.
    pub owns_image: bool,
}

/// The steps of the clone path; each undoes nothing itself (the ledger
/// does), and each [`Undo`] of the path is carried out by the same value.
pub(crate) trait CloneSteps: Executor {
    /// Creates the Glance image (its id; the caller's image's id when it
    /// gave one) and allots one snapshot id in
    /// the volume's data pool and one in the store's pool, all at once.
    async fn create_image_and_allot(
        &mut self,
    ) -> (
        Result<String, Error>,
        Result<SnapIdGrant, Error>,
        Result<SnapIdGrant, Error>,
    );
    /// How long each part of [`CloneSteps::create_image_and_allot`] took
    /// on its own, when it knows.
    fn overlapped_parts(&mut self) -> Vec<crate::report::Step> {
        Vec::new()
    }
    /// Creates snapshot `snap` of the volume with id `id` (which it owns
    /// from then on: released if it fails, replaced if the volume moved
    /// past it); the snapshot's id.
    async fn snapshot_volume(&mut self, snap: &str, id: u64) -> Result<u64, Error>;
    /// Protects snapshot `snap` of the volume (clone format 1).
    async fn protect_volume_snapshot(&mut self, snap: &str) -> Result<(), Error>;
    /// Clones the volume at `snap` into the store's pool as `image_id`.
    async fn clone_volume(&mut self, snap: &str, image_id: &str) -> Result<(), Error>;
    /// Opens clone `image_id`.
    async fn open_clone(&mut self, image_id: &str) -> Result<(), Error>;
    /// Creates Glance's snapshot on clone `image_id` with id `id` (owned
    /// by it from then on, as with [`CloneSteps::snapshot_volume`]); the
    /// snapshot's id.
    async fn snapshot_clone(&mut self, image_id: &str, id: u64) -> Result<u64, Error>;
    /// Protects Glance's snapshot on the clone.
    async fn protect_clone_snapshot(&mut self, image_id: &str) -> Result<(), Error>;
    /// Registers the clone as the location of Glance image `image_id`.
    async fn add_location(&mut self, image_id: &str) -> Result<(), Error>;
    /// Waits for Glance image `image_id` to become `active`.
    async fn wait_active(&mut self, image_id: &str) -> Result<(), Error>;
    /// Removes snapshot `snap` of the volume, once the clone is Glance's
    /// (format 2: it goes to the snapshot trash until the clone goes).
    async fn trash_volume_snapshot(&mut self, snap: &str) -> Result<(), Error>;
}

/// Runs the clone path with `s` as `plan` says, recording in `ledger` the
/// inverse of each step done. On success the ledger is committed (the
/// image is active: what was made is Glance's); on failure it is left for
/// the caller to roll back. A failure before the Glance image exists
/// leaves `report.image_id` empty.
pub(crate) async fn run<S: CloneSteps>(
    s: &mut S,
    plan: &ClonePlan,
    ledger: &mut Ledger,
    report: &mut Report,
) -> Result<(), Error> {
    // The Glance image and both snapshot ids (one monitor round, shared
    // with the other uploads of the batch) at once: neither needs the
    // other.
    let t = Instant::now();
    let (image, vol_id, clone_id) = s.create_image_and_allot().await;
    report.step("image create and snapshot ids", t);
    report.overlapped.extend(s.overlapped_parts());
    if let (Ok(image_id), true) = (&image, plan.owns_image) {
        ledger.record(Undo::DeleteImage {
            image_id: image_id.clone(),
        });
    }
    let vol_release = vol_id.as_ref().ok().map(|g| release(&plan.data_pool, g));
    let clone_release = clone_id.as_ref().ok().map(|g| release(&plan.store_pool, g));
    for r in [&vol_release, &clone_release].into_iter().flatten() {
        ledger.record(r.clone());
    }
    let image_id = image?;
    report.image_id = image_id.clone();
    let (Ok(vol_id), Ok(clone_id), Some(vol_release), Some(clone_release)) =
        (vol_id, clone_id, vol_release, clone_release)
    else {
        return Err(Error::Input(
            "could not allot snapshot ids in the volume's and the store's pools (check the Ceph user's caps)".into(),
        ));
    };
    report.snapshot_ids = vec![
        (plan.data_pool.clone(), vol_id.id),
        (plan.store_pool.clone(), clone_id.id),
    ];
    report.snapshot_epochs = vec![vol_id.epoch, clone_id.epoch];

    // Snapshot the volume (protected for clone format 1).
    let snap = clone_snap(&image_id);
    let t = Instant::now();
    ledger.hand_over(&vol_release);
    let id = s.snapshot_volume(&snap, vol_id.id).await?;
    ledger.record(Undo::RemoveVolumeSnap {
        pool: plan.volume_pool.clone(),
        volume: plan.volume.clone(),
        snap: snap.clone(),
        data_pool: plan.data_pool.clone(),
        id,
    });
    report.step("volume snapshot", t);
    if plan.format == CloneFormat::V1 {
        // Undone with the snapshot, which is unprotected first.
        let t = Instant::now();
        s.protect_volume_snapshot(&snap).await?;
        report.step("volume snapshot protect", t);
    }

    // Clone it into the store's pool, named after the image.
    let t = Instant::now();
    s.clone_volume(&snap, &image_id).await?;
    ledger.record(Undo::RemoveClone {
        pool: plan.store_pool.clone(),
        image_id: image_id.clone(),
    });
    report.step("clone", t);

    // The protected snapshot Glance's RBD store expects on its images.
    let t = Instant::now();
    s.open_clone(&image_id).await?;
    ledger.hand_over(&clone_release);
    let id = s.snapshot_clone(&image_id, clone_id.id).await?;
    ledger.record(Undo::RemoveCloneSnap {
        pool: plan.store_pool.clone(),
        image_id: image_id.clone(),
        id,
    });
    s.protect_clone_snapshot(&image_id).await?;
    report.step("clone snapshot", t);

    // Register the clone as the image's location (undone with the image).
    let t = Instant::now();
    s.add_location(&image_id).await?;
    report.step("location", t);
    if !plan.owns_image {
        // The caller's image holds the clone now: whatever happens next,
        // the clone is its data, not this upload's to remove, and a stop
        // lets the rest end (the wait for `active` is bounded by its own
        // timeout).
        ledger.finish();
    }
    let t = Instant::now();
    s.wait_active(&image_id).await?;
    report.step("active", t);
    // The image is made: a stop from now on lets the rest end (cutting
    // the snapshot's move to the trash short would leave it in sight).
    ledger.finish();

    if plan.format == CloneFormat::V2 {
        // The clone holds the snapshot: removing it moves it to the
        // trash namespace, out of sight of Cinder and users; it goes
        // away by itself when the clone is deleted.
        let t = Instant::now();
        if let Err(e) = s.trash_volume_snapshot(&snap).await {
            tracing::warn!("could not move {snap} to the snapshot trash: {e}");
        }
        report.step("volume snapshot to trash", t);
    }
    Ok(())
}

fn release(pool: &str, grant: &SnapIdGrant) -> Undo {
    Undo::ReleaseSnapId {
        pool: pool.to_string(),
        id: grant.id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::tests::Recorder;
    use crate::ledger::{failed, Executor};

    /// The forward steps, by name, in order; and the undos, written down
    /// by a [`Recorder`].
    #[derive(Debug, Default)]
    struct Fake {
        steps: Vec<&'static str>,
        fail_step: Option<&'static str>,
        undos: Recorder,
    }

    impl Fake {
        fn step(&mut self, name: &'static str) -> Result<(), Error> {
            self.steps.push(name);
            if self.fail_step == Some(name) {
                return Err(Error::Input(format!("{name} failed")));
            }
            Ok(())
        }
    }

    impl Executor for Fake {
        async fn undo(&mut self, step: &Undo) -> Result<Option<(String, u64)>, Error> {
            self.undos.undo(step).await
        }
    }

    impl CloneSteps for Fake {
        async fn create_image_and_allot(
            &mut self,
        ) -> (
            Result<String, Error>,
            Result<SnapIdGrant, Error>,
            Result<SnapIdGrant, Error>,
        ) {
            let grant = |id| SnapIdGrant { id, epoch: 7 };
            (
                self.step("image create").map(|()| "I".to_string()),
                self.step("volume id").map(|()| grant(10)),
                self.step("store id").map(|()| grant(20)),
            )
        }
        async fn snapshot_volume(&mut self, _: &str, id: u64) -> Result<u64, Error> {
            self.step("volume snapshot").map(|()| id)
        }
        async fn protect_volume_snapshot(&mut self, _: &str) -> Result<(), Error> {
            self.step("volume snapshot protect")
        }
        async fn clone_volume(&mut self, _: &str, _: &str) -> Result<(), Error> {
            self.step("clone")
        }
        async fn open_clone(&mut self, _: &str) -> Result<(), Error> {
            self.step("clone open")
        }
        async fn snapshot_clone(&mut self, _: &str, id: u64) -> Result<u64, Error> {
            self.step("clone snapshot").map(|()| id)
        }
        async fn protect_clone_snapshot(&mut self, _: &str) -> Result<(), Error> {
            self.step("clone snapshot protect")
        }
        async fn add_location(&mut self, _: &str) -> Result<(), Error> {
            self.step("location")
        }
        async fn wait_active(&mut self, _: &str) -> Result<(), Error> {
            self.step("active")
        }
        async fn trash_volume_snapshot(&mut self, _: &str) -> Result<(), Error> {
            self.step("trash")
        }
    }

    fn plan(format: CloneFormat) -> ClonePlan {
        ClonePlan {
            format,
            volume_pool: "volumes".into(),
            volume: "vol".into(),
            data_pool: "volumes".into(),
            store_pool: "images".into(),
            owns_image: true,
        }
    }

    const IMAGE: &str = "delete Glance image I";
    const VOL_ID: &str = "release snapshot id 10 of pool volumes";
    const STORE_ID: &str = "release snapshot id 20 of pool images";
    const VOL_SNAP: &str = "remove snapshot volumes/vol@image-I.clone_snap";
    const CLONE: &str = "remove RBD image images/I";
    const CLONE_SNAP: &str = "remove snapshot images/I@snap";

    /// The clone path with `fail_step` failing, then the rollback (as the
    /// upload does it): the forward steps run and the undos done.
    async fn fail_at(
        format: CloneFormat,
        fail_step: Option<&'static str>,
        fail_undo: Vec<&'static str>,
    ) -> (Fake, Report, Result<(), Error>) {
        let mut fake = Fake {
            fail_step,
            undos: Recorder {
                fail: fail_undo,
                ..Recorder::default()
            },
            ..Fake::default()
        };
        let mut ledger = Ledger::default();
        let mut report = Report::new("volumes", "vol", 0);
        let r = run(&mut fake, &plan(format), &mut ledger, &mut report).await;
        let r = match r {
            Ok(()) => Ok(()),
            Err(e) => {
                ledger.rollback(&mut fake, &mut report).await;
                Err(failed(e, &report))
            }
        };
        // Whatever happened, the ledger is spent: nothing is undone twice.
        ledger.rollback(&mut fake, &mut report).await;
        (fake, report, r)
    }

    #[tokio::test]
    async fn each_failing_step_undoes_exactly_the_steps_done_in_reverse() {
        // (the failing step, the undos expected, in order). A snapshot's
        // creation owns its id: it releases it itself when it fails.
        let cases: &[(&str, &[&str])] = &[
            ("image create", &[STORE_ID, VOL_ID]),
            ("volume id", &[STORE_ID, IMAGE]),
            ("store id", &[VOL_ID, IMAGE]),
            ("volume snapshot", &[STORE_ID, IMAGE]),
            ("volume snapshot protect", &[VOL_SNAP, STORE_ID, IMAGE]),
            ("clone", &[VOL_SNAP, STORE_ID, IMAGE]),
            ("clone open", &[CLONE, VOL_SNAP, STORE_ID, IMAGE]),
            ("clone snapshot", &[CLONE, VOL_SNAP, IMAGE]),
            (
                "clone snapshot protect",
                &[CLONE_SNAP, CLONE, VOL_SNAP, IMAGE],
            ),
            ("location", &[CLONE_SNAP, CLONE, VOL_SNAP, IMAGE]),
            ("active", &[CLONE_SNAP, CLONE, VOL_SNAP, IMAGE]),
        ];
        for (step, expected) in cases {
            let (fake, report, r) = fail_at(CloneFormat::V1, Some(step), vec![]).await;
            let e = r.err().map(|e| e.to_string()).unwrap_or_default();
            let said = match *step {
                "volume id" | "store id" => "could not allot snapshot ids".to_string(),
                _ => format!("{step} failed"),
            };
            assert!(e.starts_with(&said), "{step}: {e}");
            assert_eq!(&fake.undos.done, expected, "{step} failing");
            // Nothing ran after the failing step (the three first run
            // together).
            if !["image create", "volume id"].contains(step) {
                assert_eq!(fake.steps.last(), Some(step), "{step}: ran on");
            }
            assert!(report.undo_failures.is_empty(), "{step}");
            // An id is reported released only when its release (or the
            // removal of the snapshot that took it) succeeded.
            for (pool, id) in &report.released_snapshot_ids {
                let by = if *id == 10 {
                    [VOL_ID, VOL_SNAP]
                } else {
                    [STORE_ID, CLONE_SNAP]
                };
                assert!(
                    by.iter().any(|u| fake.undos.done.contains(&u.to_string())),
                    "{step}: {pool} {id} reported released"
                );
            }
        }
    }

    #[tokio::test]
    async fn an_image_the_caller_gave_is_never_deleted() {
        for step in ["volume id", "clone", "location", "active"] {
            let mut fake = Fake {
                fail_step: Some(step),
                ..Fake::default()
            };
            let mut ledger = Ledger::default();
            let mut report = Report::new("volumes", "vol", 0);
            let mut p = plan(CloneFormat::V2);
            p.owns_image = false;
            let r = run(&mut fake, &p, &mut ledger, &mut report).await;
            assert!(r.is_err(), "{step}");
            ledger.rollback(&mut fake, &mut report).await;
            assert!(
                !fake.undos.done.iter().any(|u| u == IMAGE),
                "{step}: {:?}",
                fake.undos.done
            );
            assert_eq!(report.image_id, "I", "{step}");
            // Once Glance took the location, the clone is the image's.
            if step == "active" {
                assert!(fake.undos.done.is_empty(), "{:?}", fake.undos.done);
            }
        }
    }

    #[tokio::test]
    async fn a_clone_that_succeeds_undoes_nothing() {
        for format in [CloneFormat::V1, CloneFormat::V2] {
            let (fake, report, r) = fail_at(format, None, vec![]).await;
            assert!(r.is_ok());
            assert!(fake.undos.done.is_empty(), "{:?}", fake.undos.done);
            assert_eq!(report.image_id, "I");
            assert_eq!(fake.steps.contains(&"trash"), format == CloneFormat::V2);
            assert_eq!(
                fake.steps.contains(&"volume snapshot protect"),
                format == CloneFormat::V1
            );
        }
        // The snapshot's move to the trash failing fails nothing.
        let mut fake = Fake {
            fail_step: Some("trash"),
            ..Fake::default()
        };
        let mut ledger = Ledger::default();
        let mut report = Report::new("volumes", "vol", 0);
        let r = run(&mut fake, &plan(CloneFormat::V2), &mut ledger, &mut report).await;
        assert!(r.is_ok());
        ledger.rollback(&mut fake, &mut report).await;
        assert!(fake.undos.done.is_empty());
    }

    #[tokio::test]
    async fn a_stop_is_let_through_only_until_the_image_is_made() {
        use std::sync::atomic::Ordering;
        // (whether the upload made the image, the failing step, whether
        // the ledger is finished: a stop then lets the upload end).
        let cases = [
            (true, Some("location"), false),
            (true, Some("active"), false),
            (true, Some("trash"), true),
            (true, None, true),
            (false, Some("location"), false),
            // The caller's image took the location: the rest is tidying.
            (false, Some("active"), true),
            (false, None, true),
        ];
        for (owns_image, fail_step, finished) in cases {
            let mut fake = Fake {
                fail_step,
                ..Fake::default()
            };
            let mut ledger = Ledger::default();
            let flag = ledger.finished_flag();
            let mut report = Report::new("volumes", "vol", 0);
            let mut p = plan(CloneFormat::V2);
            p.owns_image = owns_image;
            let _ = run(&mut fake, &p, &mut ledger, &mut report).await;
            assert_eq!(
                flag.load(Ordering::SeqCst),
                finished,
                "owns the image: {owns_image}, {fail_step:?} failing"
            );
        }
    }

    #[tokio::test]
    async fn a_failing_undo_is_reported_and_the_rest_still_undone() {
        let (fake, report, r) = fail_at(CloneFormat::V2, Some("location"), vec![CLONE]).await;
        assert_eq!(fake.undos.done, [CLONE_SNAP, CLONE, VOL_SNAP, IMAGE]);
        assert_eq!(report.undo_failures.len(), 1);
        assert_eq!(report.undo_failures[0].step, CLONE);
        let e = r.err().map(|e| e.to_string()).unwrap_or_default();
        // What failed first, then what is left, then what to do.
        assert!(e.starts_with("location failed; "), "{e}");
        assert!(e.contains(&format!("{CLONE}: refused by the test")), "{e}");
        assert!(e.contains("upload --cleanup I"), "{e}");
        // The ids went with their snapshots.
        assert_eq!(
            report.released_snapshot_ids,
            [("images".to_string(), 20), ("volumes".to_string(), 10)]
        );
    }
}
