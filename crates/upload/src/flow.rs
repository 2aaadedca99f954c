//! One upload from start to end: the checks, then the clone path when
//! Glance's store allows it (falling back to streaming when it fails and
//! the request allows it), else the streaming path.

use std::time::Instant;

use ceph_rbd::image::Image;
use glance_client::NewImage;

use crate::check::gather;
use crate::clients::Clients;
use crate::clone_path;
use crate::eligibility::{decide, Decision};
use crate::error::Error;
use crate::report::Report;
use crate::request::{UploadOutcome, UploadRequest};
use crate::round::Seat;
use crate::stream_path;

fn new_image(r: &UploadRequest) -> NewImage {
    NewImage {
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
/// report whatever happens.
pub(crate) async fn upload_one(c: &Clients, req: &UploadRequest, seat: Seat) -> UploadOutcome {
    let mut report = Report::new(&req.pool, &req.volume, 0);
    let r = upload_inner(c, req, seat, &mut report).await;
    UploadOutcome {
        report,
        error: r.err(),
    }
}

async fn upload_inner(
    c: &Clients,
    req: &UploadRequest,
    seat: Seat,
    report: &mut Report,
) -> Result<(), Error> {
    let start = Instant::now();
    check_disk_format(&req.disk_format)?;
    let vio = c.rados.ioctx(&req.pool)?;
    let volume = Image::open(&c.rados, &vio, &req.volume).await?;
    report.bytes = volume.size();

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
    let mut image;
    if let Decision::Clone { pool: store_pool } = &decision {
        let store_id = target.as_ref().map(|s| s.id.clone()).unwrap_or_default();
        let format = req.clone_format.resolve(&c.rados);
        let sio = c.rados.ioctx(store_pool)?;
        let vol_data = volume.data_ioctx().clone();
        // The Glance image and both snapshot ids (one monitor round,
        // shared with the other uploads of the batch; librbd allots each
        // inside its snapshot request: two rounds) at once: neither needs
        // the other.
        let t = Instant::now();
        let new = new_image(req);
        let (created, grants) =
            tokio::join!(c.glance.create_image(&new), seat.allot(&vol_data, &sio));
        report.step("image create and snapshot ids", t);
        image = match created {
            Ok(i) => i,
            Err(e) => {
                clone_path::release(&vol_data, &sio, &grants).await;
                return Err(e.into());
            }
        };
        report.image_id = image.id.clone();
        match clone_path::run(
            c, &volume, &image.id, &sio, &store_id, format, timeout, grants, report,
        )
        .await
        {
            Ok(()) => {
                report.path = "clone".into();
                report.finish(start);
                return Ok(());
            }
            Err(e) => {
                report.clone_error = Some(e.to_string());
                if !req.fallback {
                    let _ = c.glance.delete_image(&image.id).await;
                    return Err(e);
                }
                tracing::warn!("clone failed ({e}); streaming instead");
                // A location may have reached Glance: start afresh.
                let still_queued = c
                    .glance
                    .show_image(&image.id)
                    .await
                    .is_ok_and(|i| i.status == "queued");
                if !still_queued {
                    let _ = c.glance.delete_image(&image.id).await;
                    let t = Instant::now();
                    image = c.glance.create_image(&new_image(req)).await?;
                    report.image_id = image.id.clone();
                    report.step("image create (again)", t);
                }
            }
        }
    } else {
        // No clone: the other uploads need not wait for this one's ids.
        drop(seat);
        if let Decision::Stream { reason } = &decision {
            report.reason = Some(reason.clone());
        }
        let t = Instant::now();
        image = c.glance.create_image(&new_image(req)).await?;
        report.image_id = image.id.clone();
        report.step("image create", t);
    }
    match stream_path::run(c, &volume, &image.id, req.store.as_deref(), timeout, report).await {
        Ok(()) => {
            report.path = "stream".into();
            report.finish(start);
            Ok(())
        }
        Err(e) => {
            if let Err(d) = c.glance.delete_image(&image.id).await {
                tracing::warn!("could not delete Glance image {}: {d}", image.id);
            }
            Err(e)
        }
    }
}
