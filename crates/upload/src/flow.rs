//! One upload from start to end: the checks, then the clone path when
//! Glance's store allows it (falling back to streaming when it fails and
//! the request allows it), else the streaming path.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ceph_rbd::image::Image;
use glance_client::NewImage;

use crate::check::gather;
use crate::clients::Clients;
use crate::clone_path::{self, ClonePlan};
use crate::clone_steps::{Cluster, TheImage};
use crate::eligibility::{decide, Decision};
use crate::error::Error;
use crate::ledger::{failed, Ledger, Undo};
use crate::leftovers::Leftovers;
use crate::naming::random_image_id;
use crate::report::Report;
use crate::request::{UploadOutcome, UploadRequest};
use crate::round::Seat;
use crate::stream_path;
use crate::stream_start::{during, failed_while, Allotting};
use crate::undo::Undoer;

/// The image of `r`, with an id chosen here (recorded in `leftovers`
/// before the image is asked for) when the system gives randomness.
fn new_image(r: &UploadRequest, leftovers: &mut Leftovers) -> NewImage {
    let id = random_image_id();
    if let Some(id) = &id {
        leftovers.image_ids.push(id.clone());
    }
    NewImage {
        id,
        name: Some(r.name.clone()),
        disk_format: Some(r.disk_format.clone()),
        container_format: Some(r.container_format.clone()),
        visibility: r.visibility.clone(),
        properties: r.properties.clone(),
        ..NewImage::default()
    }
}

/// Refuses a disk format other than raw (a volume holds raw data and
/// nothing is converted).
pub fn check_disk_format(disk_format: &str) -> Result<(), Error> {
    if disk_format != "raw" {
        return Err(Error::Input(format!(
            "disk format {disk_format}: a volume holds raw data and rbd-native does not convert images (Glance checks that the data matches the format); upload with --disk-format raw"
        )));
    }
    Ok(())
}

/// Why an upload was stopped before it ended.
enum Halt {
    /// Its deadline passed.
    Deadline(Duration),
    /// Its uploader was told to stop.
    Stop(String),
}

/// Resolves when the upload of `req` must stop: its deadline, or a stop
/// signal of the uploader.
async fn halt(c: &Clients, req: &UploadRequest) -> Halt {
    let deadline = async {
        match req.deadline {
            Some(after) => {
                tokio::time::sleep(after).await;
                after
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        after = deadline => Halt::Deadline(after),
        why = c.stopped() => Halt::Stop(why),
    }
}

/// How long, beyond the wait for `active`, the rest of an upload whose
/// image is made may run once it is asked to stop (one snapshot op).
const TIDY_GRACE: Duration = Duration::from_secs(30);

/// Runs `run` to its end, unless `halt` resolves first: then `run` is
/// dropped where it is, and the halt returned. A halt that comes once
/// `finished` is set (the upload's image is made and kept) does not cut
/// `run` short: what is left is tidying, which runs to its end, for
/// `grace` at most (then it is dropped and the halt returned).
async fn run_or_halt<T, H>(
    run: impl Future<Output = T>,
    halt: impl Future<Output = H>,
    finished: &AtomicBool,
    grace: Duration,
) -> Result<T, H> {
    tokio::pin!(run);
    let h = tokio::select! {
        r = &mut run => return Ok(r),
        h = halt => h,
    };
    if !finished.load(Ordering::SeqCst) {
        return Err(h);
    }
    tracing::warn!("asked to stop once the image was made: letting the upload end");
    match tokio::time::timeout(grace, run).await {
        Ok(r) => Ok(r),
        Err(_) => {
            tracing::warn!(?grace, "the upload did not end in time; stopping it");
            Err(h)
        }
    }
}

/// Uploads as `req` says, taking its snapshot ids in `seat`'s round; the
/// report whatever happens. A failed upload is rolled back here, once:
/// whatever it made is undone, last first, and the undos that fail are
/// reported with the error. An upload past its deadline, or told to stop,
/// is stopped where it is, and what its step in flight made is undone too.
pub(crate) async fn upload_one(c: &Clients, req: &UploadRequest, seat: Seat) -> UploadOutcome {
    let mut report = Report::new(&req.pool, &req.volume, 0);
    let mut ledger = Ledger::default();
    let mut leftovers = Leftovers {
        pool: req.pool.clone(),
        volume: req.volume.clone(),
        given_image: req.image_id.clone(),
        ..Leftovers::default()
    };
    let finished = ledger.finished_flag();
    let ran = run_or_halt(
        upload_inner(c, req, seat, &mut ledger, &mut report, &mut leftovers),
        halt(c, req),
        &finished,
        req.timeout + TIDY_GRACE,
    )
    .await;
    let r = match ran {
        Ok(r) => r,
        Err(h) => {
            leftovers.record_in(c, &mut ledger).await;
            Err(match h {
                Halt::Deadline(after) => {
                    tracing::warn!(volume = %report.volume, ?after, "the upload's deadline passed; stopping it");
                    Error::TimedOut {
                        after,
                        undone: Vec::new(),
                    }
                }
                Halt::Stop(why) => {
                    tracing::warn!(volume = %report.volume, %why, "stopping the upload");
                    Error::Stopped {
                        why,
                        undone: Vec::new(),
                    }
                }
            })
        }
    };
    let error = match r {
        Ok(()) => {
            ledger.commit();
            None
        }
        Err(e) => {
            ledger.rollback(&mut Undoer::new(c), &mut report).await;
            let halted = matches!(e, Error::TimedOut { .. } | Error::Stopped { .. });
            let made = finished.load(Ordering::SeqCst);
            if halted && filled_anyway(c, req, made, &mut report).await {
                None
            } else {
                Some(failed(e, &report))
            }
        }
    };
    UploadOutcome { report, error }
}

/// How long a stopped upload waits for the caller's image to leave
/// `saving`: Glance may still be storing a stream whose bytes all arrived
/// before the stop (the image then turns `active`), or noticing that the
/// stream was cut (it turns `queued` again).
const SAVING_SETTLE: Duration = Duration::from_secs(30);

/// Whether the caller's image of an upload that was stopped (or, when
/// `made`, the image the upload made and kept) is `active` all the same: the stop came once Glance had all of its data (its
/// location, or the whole stream), while the upload tidied up. The image
/// is then what was asked for, and the upload a success. An image still
/// `saving` is watched for up to [`SAVING_SETTLE`] until Glance decides.
async fn filled_anyway(c: &Clients, req: &UploadRequest, made: bool, report: &mut Report) -> bool {
    let made = made.then(|| report.image_id.clone());
    let Some(id) = req.image_id.clone().or(made) else {
        return false;
    };
    let id = &id;
    let settle_by = Instant::now() + SAVING_SETTLE;
    let mut pause = Duration::from_millis(100);
    let status = loop {
        let status = match c.glance.show_image(id).await {
            Ok(i) => i.status,
            Err(_) => return false,
        };
        if status != "saving" || Instant::now() >= settle_by {
            break status;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    };
    if status != "active" {
        return false;
    }
    tracing::warn!(image = %id, "stopped after Glance had the image's data: it is active");
    let cloned = report.steps.iter().any(|s| s.name == "location");
    report.path = if cloned { "clone" } else { "stream" }.into();
    true
}

/// The disk and container formats of the upload: the request's, or those
/// of the caller's image, which must be `queued` (else nothing can fill
/// it).
async fn formats(
    c: &Clients,
    req: &UploadRequest,
    report: &mut Report,
) -> Result<(String, String), Error> {
    let Some(id) = &req.image_id else {
        return Ok((req.disk_format.clone(), req.container_format.clone()));
    };
    let t = Instant::now();
    let image = c.glance.show_image(id).await?;
    report.image_id = id.clone();
    report.step("image show", t);
    if image.status != "queued" {
        return Err(Error::Input(format!(
            "Glance image {id} is {}: only a queued image can be filled with a volume's data (its owner creates it)",
            image.status
        )));
    }
    Ok((
        image.disk_format.unwrap_or_default(),
        image.container_format.unwrap_or_default(),
    ))
}

/// The Glance image the upload fills: a new one (its id recorded in
/// `leftovers`) or the caller's.
fn the_image(r: &UploadRequest, leftovers: &mut Leftovers) -> TheImage {
    match &r.image_id {
        Some(id) => {
            leftovers.image_ids.push(id.clone());
            TheImage::Given(id.clone())
        }
        None => TheImage::New(new_image(r, leftovers)),
    }
}

/// Creates the upload's image for the stream, unless its caller gave
/// one; records its deletion in `ledger`. Its id.
async fn image_for_stream(
    c: &Clients,
    req: &UploadRequest,
    ledger: &mut Ledger,
    report: &mut Report,
    leftovers: &mut Leftovers,
    step: &str,
) -> Result<String, Error> {
    if let Some(id) = &req.image_id {
        if !leftovers.image_ids.contains(id) {
            leftovers.image_ids.push(id.clone());
        }
        report.image_id = id.clone();
        return Ok(id.clone());
    }
    let t = Instant::now();
    let image = c.glance.create_image(&new_image(req, leftovers)).await?;
    ledger.record(Undo::DeleteImage {
        image_id: image.id.clone(),
    });
    report.image_id = image.id.clone();
    report.step(step, t);
    Ok(image.id)
}

async fn upload_inner(
    c: &Clients,
    req: &UploadRequest,
    seat: Seat,
    ledger: &mut Ledger,
    report: &mut Report,
    leftovers: &mut Leftovers,
) -> Result<(), Error> {
    let start = Instant::now();
    let given = req.image_id.clone().unwrap_or_default();
    let not_cloned = |reason: String| Error::NotCloned {
        reason,
        image_id: given.clone(),
    };
    let (disk_format, container_format) = formats(c, req, report).await?;
    if let (Err(e), Some(_)) = (check_disk_format(&disk_format), &req.image_id) {
        // The caller's image wants a conversion: the caller does it.
        return Err(not_cloned(e.to_string()));
    }
    check_disk_format(&disk_format)?;
    let vio = c.rados.ioctx(&req.pool)?;
    let volume = Image::open(&c.rados, &vio, &req.volume).await?;
    report.bytes = volume.size();
    let data_pool = volume.data_ioctx().pool_name().to_string();
    leftovers.data_pool = Some(data_pool.clone());
    // The stream's snapshot id (a monitor round), allotted while the
    // steps before the snapshot run.
    let allot_for_stream = || {
        Allotting::start(
            &data_pool,
            volume.data_ioctx().selfmanaged_snap_create_with_epoch(),
        )
    };
    // With the clone optimization off, the upload streams whatever the
    // check finds: the id comes during the check (with --no-fallback it
    // fails instead, before making anything).
    let mut allot = (!req.clone_optimization && req.fallback).then(allot_for_stream);

    let t = Instant::now();
    let gathered = during(
        &mut allot,
        gather(
            c,
            req.store.as_deref(),
            req.clone_optimization,
            &disk_format,
            &container_format,
        ),
    )
    .await;
    let (facts, target) = match gathered {
        Ok(g) => g,
        Err(e) => return Err(failed_while(allot, ledger, e).await),
    };
    let decision = decide(&facts);
    report.step("check", t);
    if let (false, Decision::Stream { reason }) = (req.fallback, &decision) {
        // Streaming is what --no-fallback forbids: fail before making
        // anything, with the reason (it says what to change).
        report.reason = Some(reason.clone());
        return Err(failed_while(allot, ledger, not_cloned(reason.clone())).await);
    }

    let timeout = req.timeout;
    let image_id;
    if let Decision::Clone { pool: store_pool } = &decision {
        let store_id = target.as_ref().map(|s| s.id.clone()).unwrap_or_default();
        let format = req.clone_format.resolve(&c.rados);
        let sio = c.rados.ioctx(store_pool)?;
        leftovers.store_pool = Some(store_pool.clone());
        let plan = ClonePlan {
            format,
            volume_pool: req.pool.clone(),
            volume: req.volume.clone(),
            data_pool: volume.data_ioctx().pool_name().to_string(),
            store_pool: store_pool.clone(),
            owns_image: req.image_id.is_none(),
        };
        let mut cluster = Cluster::new(
            c,
            &volume,
            sio,
            store_id,
            format,
            timeout,
            the_image(req, leftovers),
            seat,
        );
        let e = match clone_path::run(&mut cluster, &plan, ledger, report).await {
            Ok(()) => {
                report.path = "clone".into();
                report.finish(start);
                return Ok(());
            }
            // Glance made no image: there is nothing to stream into either.
            Err(e) if report.image_id.is_empty() => return Err(e),
            Err(e) => e,
        };
        report.clone_error = Some(e.to_string());
        // Undo the clone's steps; the Glance image stays for the stream
        // unless a location reached Glance (then start afresh).
        ledger
            .rollback_keeping(is_image, &mut cluster, report)
            .await;
        let still_queued = c
            .glance
            .show_image(&report.image_id)
            .await
            .is_ok_and(|i| i.status == "queued");
        if !req.fallback {
            // Said as not cloned only when the undo left nothing and the
            // caller's image can still be filled.
            return Err(if still_queued || req.image_id.is_none() {
                not_cloned(format!("the clone failed: {e}"))
            } else {
                e
            });
        }
        tracing::warn!("clone failed ({e}); streaming instead");
        if !still_queued && req.image_id.is_some() {
            // Not ours to delete and make anew.
            return Err(e);
        }
        let a = allot.get_or_insert_with(allot_for_stream);
        if !still_queued {
            a.during(ledger.rollback(&mut cluster, report)).await;
            let again = a.during(image_for_stream(
                c,
                req,
                ledger,
                report,
                leftovers,
                "image create (again)",
            ));
            if let Err(e) = again.await {
                return Err(failed_while(allot, ledger, e).await);
            }
        }
        image_id = report.image_id.clone();
    } else {
        // No clone: the other uploads need not wait for this one's ids.
        drop(seat);
        if let Decision::Stream { reason } = &decision {
            report.reason = Some(reason.clone());
        }
        let a = allot.get_or_insert_with(allot_for_stream);
        match a
            .during(image_for_stream(
                c,
                req,
                ledger,
                report,
                leftovers,
                "image create",
            ))
            .await
        {
            Ok(id) => image_id = id,
            Err(e) => return Err(failed_while(allot, ledger, e).await),
        }
    }
    stream_path::run(
        c,
        &volume,
        &image_id,
        allot,
        req.store.as_deref(),
        timeout,
        ledger,
        report,
    )
    .await?;
    report.path = "stream".into();
    report.finish(start);
    Ok(())
}

/// Whether `u` deletes the Glance image.
fn is_image(u: &Undo) -> bool {
    matches!(u, Undo::DeleteImage { .. })
}

#[cfg(test)]
mod tests {
    use tokio::sync::oneshot;

    use super::*;

    /// An upload that never ends, halted at once, with its ledger
    /// `finished` or not, given `grace`: what `run_or_halt` returns.
    async fn hung_upload_halted(finished: bool, grace: Duration) -> Result<(), &'static str> {
        let mut ledger = Ledger::default();
        if finished {
            ledger.finish();
        }
        let flag = ledger.finished_flag();
        run_or_halt(std::future::pending(), async { "deadline" }, &flag, grace).await
    }

    #[tokio::test]
    async fn a_halt_before_the_image_is_made_cuts_the_upload_short() {
        let r = hung_upload_halted(false, Duration::from_secs(60)).await;
        assert_eq!(r, Err("deadline"));
    }

    #[tokio::test]
    async fn a_halt_once_the_image_is_made_lets_the_upload_end() {
        let mut ledger = Ledger::default();
        ledger.record(Undo::DeleteImage {
            image_id: "i".into(),
        });
        let finished = ledger.finished_flag();
        let (made, made_seen) = oneshot::channel();
        let (tidy_may_end, tidy_ends) = oneshot::channel::<()>();
        let run = async move {
            ledger.finish();
            made.send(()).ok();
            // The tidying in flight when the halt comes.
            tidy_ends.await.ok();
            ledger.holds(|_| true)
        };
        let halt = async move {
            made_seen.await.ok();
            tidy_may_end.send(()).ok();
            "deadline"
        };
        // The upload ends, with nothing left to undo.
        assert_eq!(
            run_or_halt(run, halt, &finished, Duration::from_secs(60)).await,
            Ok(false)
        );
    }

    #[tokio::test]
    async fn tidying_that_hangs_past_its_grace_is_stopped() {
        let r = hung_upload_halted(true, Duration::from_millis(20)).await;
        assert_eq!(r, Err("deadline"));
    }
}
