//! One upload from start to end: the checks, then the clone path when
//! Glance's store allows it (falling back to streaming when it fails and
//! the request allows it), else the streaming path.

use std::time::Instant;

use ceph_rbd::image::Image;
use glance_client::NewImage;

use crate::check::gather;
use crate::clients::Clients;
use crate::clone_path::{self, ClonePlan};
use crate::clone_steps::Cluster;
use crate::eligibility::{decide, Decision};
use crate::error::Error;
use crate::ledger::{failed, Ledger, Undo};
use crate::leftovers::Leftovers;
use crate::naming::random_image_id;
use crate::report::Report;
use crate::request::{UploadOutcome, UploadRequest};
use crate::round::Seat;
use crate::stream_path;
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

/// Uploads as `req` says, taking its snapshot ids in `seat`'s round; the
/// report whatever happens. A failed upload is rolled back here, once:
/// whatever it made is undone, last first, and the undos that fail are
/// reported with the error. An upload past its deadline is stopped where
/// it is, and what its step in flight made is undone too.
pub(crate) async fn upload_one(c: &Clients, req: &UploadRequest, seat: Seat) -> UploadOutcome {
    let mut report = Report::new(&req.pool, &req.volume, 0);
    let mut ledger = Ledger::default();
    let mut leftovers = Leftovers {
        pool: req.pool.clone(),
        volume: req.volume.clone(),
        ..Leftovers::default()
    };
    let run = upload_inner(c, req, seat, &mut ledger, &mut report, &mut leftovers);
    let r = match req.deadline {
        None => run.await,
        Some(after) => match tokio::time::timeout(after, run).await {
            Ok(r) => r,
            Err(_) => {
                tracing::warn!(volume = %report.volume, ?after, "the upload's deadline passed; stopping it");
                leftovers.record_in(c, &mut ledger).await;
                Err(Error::TimedOut {
                    after,
                    undone: Vec::new(),
                })
            }
        },
    };
    let error = match r {
        Ok(()) => {
            ledger.commit();
            None
        }
        Err(e) => {
            ledger.rollback(&mut Undoer::new(c), &mut report).await;
            Some(failed(e, &report))
        }
    };
    UploadOutcome { report, error }
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
    check_disk_format(&req.disk_format)?;
    let vio = c.rados.ioctx(&req.pool)?;
    let volume = Image::open(&c.rados, &vio, &req.volume).await?;
    report.bytes = volume.size();
    leftovers.data_pool = Some(volume.data_ioctx().pool_name().to_string());

    let t = Instant::now();
    let (facts, target) = gather(
        c,
        req.store.as_deref(),
        req.clone_optimization,
        &req.disk_format,
        &req.container_format,
    )
    .await?;
    let decision = decide(&facts);
    report.step("check", t);
    if let (false, Decision::Stream { reason }) = (req.fallback, &decision) {
        // Streaming is what --no-fallback forbids: fail before making
        // anything, with the reason (it says what to change).
        report.reason = Some(reason.clone());
        return Err(Error::Input(format!(
            "cannot upload by clone: {reason}; --no-fallback forbids streaming (leave it out to stream)"
        )));
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
        };
        let mut cluster = Cluster::new(
            c,
            &volume,
            sio,
            store_id,
            format,
            timeout,
            new_image(req, leftovers),
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
        if !req.fallback {
            return Err(e);
        }
        tracing::warn!("clone failed ({e}); streaming instead");
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
        if !still_queued {
            ledger.rollback(&mut cluster, report).await;
            let t = Instant::now();
            let image = c.glance.create_image(&new_image(req, leftovers)).await?;
            ledger.record(Undo::DeleteImage {
                image_id: image.id.clone(),
            });
            report.image_id = image.id;
            report.step("image create (again)", t);
        }
        image_id = report.image_id.clone();
    } else {
        // No clone: the other uploads need not wait for this one's ids.
        drop(seat);
        if let Decision::Stream { reason } = &decision {
            report.reason = Some(reason.clone());
        }
        let t = Instant::now();
        let image = c.glance.create_image(&new_image(req, leftovers)).await?;
        ledger.record(Undo::DeleteImage {
            image_id: image.id.clone(),
        });
        image_id = image.id;
        report.image_id = image_id.clone();
        report.step("image create", t);
    }
    stream_path::run(
        c,
        &volume,
        &image_id,
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
