//! `rbd-native upload`: an RBD volume to a Glance image, by copy-on-write
//! clone inside the cluster when Glance's target store allows it, by
//! streaming otherwise. Also `check` (would an upload clone?) and
//! `--cleanup` (remove what a killed run left).
//!
//! The library's API is [`Uploader`] with [`UploadRequest`] and
//! [`UploadOutcome`]; the command line (`run`) goes through it too.

mod clone_path;
mod eligibility;
mod naming;
mod report;
mod round;
mod settings;
mod stream_path;
mod uploader;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ceph_rados::config::ClientSettings;
use ceph_rados::osd::OsdOp;
use ceph_rados::{IoCtx, Rados};
use ceph_rbd::image::Image;
use clap::Args;
use glance_client::{Glance, NewImage, StatusBoard, StoreDetail};

/// The clone formats ([`UploadRequest::clone_format`]).
pub use ceph_rbd::image::CloneFormat;
pub use eligibility::{decide, Decision, Facts, StoreFacts};
/// An OpenStack client configuration ([`OpenStack::Config`]).
pub use glance_client::CloudConfig;
pub use report::{Report, Step};
pub use uploader::{CephOptions, OpenStack, UploadOutcome, UploadRequest, Uploader};

use round::Seat;

use crate::cli::GlobalArgs;
use crate::error::Error;

/// Options of `upload`.
#[doc(hidden)]
#[derive(Args, Debug, Clone)]
pub struct UploadArgs {
    /// The volume, POOL/NAME (repeat, with as many --name, to upload
    /// several volumes at once: their snapshot ids share monitor rounds).
    #[arg(long = "volume", conflicts_with = "volume_id", required_unless_present_any = ["volume_id", "cleanup"])]
    pub volume: Vec<String>,
    /// The Cinder volume id: the image `volume-<UUID>` in --pool (repeatable).
    #[arg(long = "volume-id")]
    pub volume_id: Vec<String>,
    /// The pool of --volume-id.
    #[arg(long = "pool", default_value = "volumes")]
    pub pool: String,
    /// The image's name (one per volume).
    #[arg(long = "name", required_unless_present = "cleanup")]
    pub name: Vec<String>,
    /// Disk format.
    #[arg(long = "disk-format", default_value = "raw")]
    pub disk_format: String,
    /// Container format.
    #[arg(long = "container-format", default_value = "bare")]
    pub container_format: String,
    /// Visibility (private, shared, community, public).
    #[arg(long = "visibility")]
    pub visibility: Option<String>,
    /// Extra image properties, KEY=VALUE (repeatable).
    #[arg(long = "property", value_name = "KEY=VALUE")]
    pub properties: Vec<String>,
    /// The Glance store to upload to (default: Glance's default store).
    #[arg(long = "store")]
    pub store: Option<String>,
    /// Clone inside the cluster when possible (skips Glance's upload-time
    /// hash with Glance before 2024.2; see the README).
    #[arg(long = "clone-optimization", overrides_with = "no_clone_optimization")]
    pub clone_optimization: bool,
    /// Never clone.
    #[arg(long = "no-clone-optimization")]
    pub no_clone_optimization: bool,
    /// Clone format: 2 (default: the volume keeps no visible snapshot and
    /// can be deleted by Cinder at any time), 1 (a protected snapshot stays
    /// on the volume; for clusters with pre-Mimic clients), or auto
    /// (librbd's choice from the cluster's min-compat setting).
    #[arg(long = "clone-format", default_value = "2", value_parser = ["1", "2", "auto"])]
    pub clone_format: String,
    /// Fail rather than stream: when a clone is not possible (the reason
    /// is given; nothing is made) or when it fails (its steps undone).
    #[arg(long = "no-fallback")]
    pub no_fallback: bool,
    /// Output format: plain or json.
    #[arg(long = "format", default_value = "plain")]
    pub format: String,
    /// The tool's config file (enable_clone_optimization = true|false).
    #[arg(long = "config", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The cloud of clouds.yaml (default: $OS_CLOUD, then the OS_* variables).
    #[arg(long = "os-cloud")]
    pub os_cloud: Option<String>,
    /// Remove what an interrupted upload of IMAGE_ID left behind.
    #[arg(long = "cleanup", value_name = "IMAGE_ID", value_parser = naming::image_id)]
    pub cleanup: Option<String>,
    /// Seconds to wait for the image to become active.
    #[arg(long = "timeout", default_value_t = 600)]
    pub timeout: u64,
}

/// Options of `check`.
#[doc(hidden)]
#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// The Glance store to check (default: Glance's default store).
    #[arg(long = "store")]
    pub store: Option<String>,
    /// Output format: plain or json.
    #[arg(long = "format", default_value = "plain")]
    pub format: String,
    /// The tool's config file.
    #[arg(long = "config", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The cloud of clouds.yaml.
    #[arg(long = "os-cloud")]
    pub os_cloud: Option<String>,
}

/// Connected clients.
#[derive(Debug)]
pub(crate) struct Clients {
    pub rados: Rados,
    pub glance: Arc<Glance>,
    pub fsid: String,
    /// Glance's stores detail as last read, and when: the uploads of a
    /// batch read it once.
    stores: tokio::sync::Mutex<Option<(Instant, Vec<StoreDetail>)>>,
    /// The status waits of the uploads: one image list a poll round for
    /// all of them.
    pub status: StatusBoard,
}

/// How long a stores detail read serves the next uploads.
const STORES_FRESH: std::time::Duration = std::time::Duration::from_secs(30);

impl Clients {
    /// Glance's stores detail, read at most once per [`STORES_FRESH`]
    /// (uploads asking together wait for the one read).
    async fn stores_detail(&self) -> Result<Vec<StoreDetail>, Error> {
        let mut cached = self.stores.lock().await;
        if let Some((at, stores)) = cached.as_ref() {
            if at.elapsed() < STORES_FRESH {
                return Ok(stores.clone());
            }
        }
        let stores = self.glance.stores_detail().await?;
        *cached = Some((Instant::now(), stores.clone()));
        Ok(stores)
    }
}

/// The OpenStack settings of `--os-cloud`.
fn openstack_of(os_cloud: Option<&str>) -> OpenStack {
    match os_cloud {
        Some(c) => OpenStack::Cloud(c.to_string()),
        None => OpenStack::Environment,
    }
}

async fn connect_with(ceph: &CephOptions, openstack: &OpenStack) -> Result<Clients, Error> {
    let settings = ClientSettings::resolve(ceph)?;
    let cloud = openstack.config()?;
    let (rados, glance) = tokio::join!(Rados::connect(&settings), glance_client::connect(cloud));
    let rados = rados?;
    let fsid = rados.mon().fsid().to_string();
    let glance = Arc::new(glance?);
    Ok(Clients {
        rados,
        status: StatusBoard::new(glance.clone()),
        glance,
        fsid,
        stores: tokio::sync::Mutex::new(None),
    })
}

/// Whether our user may write to `io`'s pool: removing an object that
/// does not exist answers ENOENT when allowed and EPERM when not, and
/// changes nothing.
async fn may_write(io: &IoCtx) -> Result<bool, Error> {
    let probe = format!("rbd-native-write-probe.{:x}", std::process::id());
    let r = io.operate_raw(&probe, vec![OsdOp::remove()]).await?;
    Ok(!matches!(r.result, -1 | -13))
}

/// The target store and the facts about it.
async fn gather(
    c: &Clients,
    store: Option<&str>,
    optimization_on: bool,
    disk_format: &str,
    container_format: &str,
) -> Result<(Facts, Option<StoreDetail>), Error> {
    let stores = c.stores_detail().await?;
    let target = match store {
        Some(id) => Some(stores.iter().find(|s| s.id == id).cloned().ok_or_else(|| {
            Error::Input(format!(
                "Glance has no store {id} (it has: {})",
                stores
                    .iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?),
        None => glance_client::default_store(&stores).cloned(),
    };
    let store_facts = target.as_ref().map(|s| {
        let rbd = s.rbd().unwrap_or_default();
        StoreFacts {
            id: s.id.clone(),
            store_type: s.store_type.clone(),
            pool: rbd.pool,
            fsid: rbd.fsid,
        }
    });
    let mut facts = Facts {
        optimization_on,
        disk_format: disk_format.to_string(),
        container_format: container_format.to_string(),
        store: store_facts.clone(),
        our_fsid: c.fsid.clone(),
        pool_exists: false,
        pool_writable: false,
    };
    let same_cluster = store_facts
        .as_ref()
        .and_then(|s| s.fsid.as_deref())
        .is_some_and(|f| f.eq_ignore_ascii_case(&c.fsid));
    if let (true, Some(pool)) = (
        same_cluster,
        store_facts.as_ref().and_then(|s| s.pool.clone()),
    ) {
        if let Ok(io) = c.rados.ioctx(&pool) {
            facts.pool_exists = true;
            facts.pool_writable = may_write(&io).await?;
        }
    }
    Ok((facts, target))
}

/// The volumes to upload, as (pool, image) with the Glance image name.
fn volume_specs(a: &UploadArgs) -> Result<Vec<(String, String, String)>, Error> {
    let mut vols = Vec::new();
    for id in &a.volume_id {
        vols.push((a.pool.clone(), naming::cinder_volume(id)));
    }
    for v in &a.volume {
        match v.split_once('/') {
            Some((p, n)) if !p.is_empty() && !n.is_empty() && !n.contains('/') => {
                vols.push((p.to_string(), n.to_string()))
            }
            _ => {
                return Err(Error::Input(format!(
                    "--volume {v}: give POOL/NAME (or --volume-id UUID)"
                )))
            }
        }
    }
    if vols.len() != a.name.len() {
        return Err(Error::Input(format!(
            "{} volume(s) and {} --name: give one --name per volume",
            vols.len(),
            a.name.len()
        )));
    }
    Ok(vols
        .into_iter()
        .zip(a.name.iter().cloned())
        .map(|((p, v), n)| (p, v, n))
        .collect())
}

/// The requests of the command line, one per volume.
fn upload_requests(a: &UploadArgs, optimization_on: bool) -> Result<Vec<UploadRequest>, Error> {
    let mut properties = std::collections::BTreeMap::new();
    for p in &a.properties {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| Error::Input(format!("--property {p}: give KEY=VALUE")))?;
        properties.insert(k.to_string(), v.to_string());
    }
    let clone_format = match a.clone_format.as_str() {
        "1" => CloneFormat::V1,
        "2" => CloneFormat::V2,
        _ => CloneFormat::Auto,
    };
    Ok(volume_specs(a)?
        .into_iter()
        .map(|(pool, volume, name)| {
            let mut r = UploadRequest::new(pool, volume, name);
            r.disk_format = a.disk_format.clone();
            r.container_format = a.container_format.clone();
            r.visibility = a.visibility.clone();
            r.properties = properties.clone();
            r.store = a.store.clone();
            r.clone_optimization = optimization_on;
            r.clone_format = clone_format;
            r.fallback = !a.no_fallback;
            r.timeout = Duration::from_secs(a.timeout);
            r
        })
        .collect())
}

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

/// Refuses a disk format other than raw.
fn check_disk_format(disk_format: &str) -> Result<(), Error> {
    if disk_format != "raw" {
        return Err(Error::Input(format!(
            "disk format {disk_format}: a volume holds raw data and rbd-native does not convert images (Glance checks that the data matches the format); upload with --disk-format raw"
        )));
    }
    Ok(())
}

/// Runs `upload`.
#[doc(hidden)]
pub async fn run(global: &GlobalArgs, a: &UploadArgs) -> Result<i32, Error> {
    let tool = settings::ToolSettings::load(a.config.as_deref())?;
    let uploader =
        Uploader::connect(&global.client_args(), openstack_of(a.os_cloud.as_deref())).await?;
    if let Some(id) = &a.cleanup {
        let removed = uploader.cleanup(&a.pool, id).await?;
        for r in &removed {
            println!("removed {r}");
        }
        if removed.is_empty() {
            println!("nothing left of image {id}");
        }
        return Ok(0);
    }
    let optimization_on = if a.no_clone_optimization {
        false
    } else {
        a.clone_optimization || tool.enable_clone_optimization
    };
    check_disk_format(&a.disk_format)?;
    let requests = upload_requests(a, optimization_on)?;
    let outcomes = uploader.upload_many(&requests).await;
    if outcomes.len() == 1 {
        if let Some(o) = outcomes.into_iter().next() {
            return match o.error {
                None => {
                    o.report.print(&a.format);
                    Ok(0)
                }
                Some(e) => {
                    o.report.print_error(&a.format);
                    Err(e)
                }
            };
        }
        return Ok(0);
    }
    let mut failed = 0;
    let mut all = Vec::new();
    for o in &outcomes {
        match &o.error {
            None if a.format != "json" => o.report.print(&a.format),
            None => {}
            Some(e) => {
                failed += 1;
                eprintln!("rbd-native: {}: {e}", o.report.volume);
            }
        }
        all.push(&o.report);
    }
    if a.format == "json" {
        println!("{}", serde_json::to_string(&all).unwrap_or_default());
    }
    Ok(i32::from(failed > 0))
}

/// Uploads as `req` says, taking its snapshot ids in `seat`'s round; the
/// report whatever happens.
async fn upload_one(c: &Clients, req: &UploadRequest, seat: Seat) -> UploadOutcome {
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

/// Runs `check`.
#[doc(hidden)]
pub async fn check(global: &GlobalArgs, a: &CheckArgs) -> Result<i32, Error> {
    let tool = settings::ToolSettings::load(a.config.as_deref())?;
    let c = connect_with(&global.client_args(), &openstack_of(a.os_cloud.as_deref())).await?;
    let (facts, target) = gather(&c, a.store.as_deref(), true, "raw", "bare").await?;
    let decision = decide(&facts);
    let v = serde_json::json!({
        "store": target.as_ref().map(|s| s.id.clone()),
        "store_type": target.as_ref().map(|s| s.store_type.clone()),
        "cluster_fsid": c.fsid,
        "pool_writable": facts.pool_writable,
        "clone_optimization_enabled": tool.enable_clone_optimization,
        "decision": decision,
    });
    if a.format == "json" {
        println!("{v}");
    } else {
        match &decision {
            Decision::Clone { pool } => println!(
                "a raw/bare upload would clone into pool {pool} (store {}){}",
                target.map(|s| s.id).unwrap_or_default(),
                if tool.enable_clone_optimization {
                    ""
                } else {
                    " when run with --clone-optimization (it is off in the config)"
                }
            ),
            Decision::Stream { reason } => println!("an upload would stream: {reason}"),
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Action, Cli};

    fn cleanup_arg(id: &str) -> Result<Option<String>, String> {
        Cli::try_parse_from(["rbd-native", "upload", "--cleanup", id])
            .map(|c| match c.command {
                Action::Upload(a) => a.cleanup,
                _ => None,
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn cleanup_takes_a_uuid_only() {
        for bad in [
            "",
            "x",
            "../../etc",
            "volume-6f1c1c4e-4a8b-4d0e-9c47-1f7f6f0e0b3a",
            "6f1c1c4e-4a8b-4d0e-9c47-1f7f6f0e0b3",
            "6f1c1c4e-4a8b-4d0e-9c47-1f7f6f0e0b3ab",
            "6f1c1c4e4a8b4d0e9c471f7f6f0e0b3a",
            "6f1c1c4e-4a8b-4d0e-9c47-1f7f6f0e0b3g",
            " 6f1c1c4e-4a8b-4d0e-9c47-1f7f6f0e0b3",
            "6f1c1c4e-4a8b-4d0e-9c47+1f7f6f0e0b3a",
        ] {
            let r = cleanup_arg(bad);
            assert!(
                r.as_ref().is_err_and(|e| e.contains("UUID")),
                "{bad:?}: {r:?}"
            );
        }
        // Glance writes its ids in lower case: what is removed is named so.
        let r = cleanup_arg("6F1C1C4E-4A8B-4D0E-9C47-1F7F6F0E0B3A");
        assert_eq!(
            r.ok().flatten().as_deref(),
            Some("6f1c1c4e-4a8b-4d0e-9c47-1f7f6f0e0b3a")
        );
    }
}
