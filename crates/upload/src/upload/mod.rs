//! `rbd-native upload`: an RBD volume to a Glance image, by copy-on-write
//! clone inside the cluster when Glance's target store allows it, by
//! streaming otherwise. Also `check` (would an upload clone?) and
//! `--cleanup` (remove what a killed run left).

mod clone_path;
mod eligibility;
mod naming;
mod report;
mod settings;
mod stream_path;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ceph_rados::config::ClientSettings;
use ceph_rados::osd::OsdOp;
use ceph_rados::{IoCtx, Rados};
use ceph_rbd::image::{CloneFormat, Image};
use clap::Args;
use glance_client::{ConfigLoader, Glance, NewImage, StoreDetail};

pub use eligibility::{decide, Decision, Facts, StoreFacts};
pub use report::Report;

use crate::cli::GlobalArgs;
use crate::error::CliError;

/// Options of `upload`.
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
    /// Fail rather than stream when the clone fails.
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
    #[arg(long = "cleanup", value_name = "IMAGE_ID")]
    pub cleanup: Option<String>,
    /// Seconds to wait for the image to become active.
    #[arg(long = "timeout", default_value_t = 600)]
    pub timeout: u64,
}

/// Options of `check`.
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
pub(crate) struct Clients {
    pub rados: Rados,
    pub glance: Arc<Glance>,
    pub fsid: String,
}

async fn connect(global: &GlobalArgs, os_cloud: Option<&str>) -> Result<Clients, CliError> {
    let settings = ClientSettings::resolve(&global.client_args())?;
    let mut loader = ConfigLoader::from_process_env();
    if let Some(c) = os_cloud {
        loader = loader.cloud(c);
    }
    let cloud = loader.load()?;
    let (rados, glance) = tokio::join!(Rados::connect(&settings), glance_client::connect(cloud));
    let rados = rados?;
    let fsid = rados.mon().fsid().to_string();
    Ok(Clients {
        rados,
        glance: Arc::new(glance?),
        fsid,
    })
}

/// Whether our user may write to `io`'s pool: removing an object that
/// does not exist answers ENOENT when allowed and EPERM when not, and
/// changes nothing.
async fn may_write(io: &IoCtx) -> Result<bool, CliError> {
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
) -> Result<(Facts, Option<StoreDetail>), CliError> {
    let stores = c.glance.stores_detail().await?;
    let target = match store {
        Some(id) => Some(stores.iter().find(|s| s.id == id).cloned().ok_or_else(|| {
            CliError::Input(format!(
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
fn volume_specs(a: &UploadArgs) -> Result<Vec<(String, String, String)>, CliError> {
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
                return Err(CliError::Input(format!(
                    "--volume {v}: give POOL/NAME (or --volume-id UUID)"
                )))
            }
        }
    }
    if vols.len() != a.name.len() {
        return Err(CliError::Input(format!(
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

fn new_image(a: &UploadArgs, name: &str) -> Result<NewImage, CliError> {
    let mut img = NewImage {
        name: Some(name.to_string()),
        disk_format: Some(a.disk_format.clone()),
        container_format: Some(a.container_format.clone()),
        visibility: a.visibility.clone(),
        ..NewImage::default()
    };
    for p in &a.properties {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| CliError::Input(format!("--property {p}: give KEY=VALUE")))?;
        img.properties.insert(k.to_string(), v.to_string());
    }
    Ok(img)
}

/// Runs `upload`.
pub async fn run(global: &GlobalArgs, a: &UploadArgs) -> Result<i32, CliError> {
    let tool = settings::ToolSettings::load(a.config.as_deref())?;
    let c = connect(global, a.os_cloud.as_deref()).await?;
    if let Some(id) = &a.cleanup {
        let removed = clone_path::cleanup(&c, &a.pool, id).await?;
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
    if a.disk_format != "raw" {
        return Err(CliError::Input(format!(
            "disk format {}: a volume holds raw data and rbd-native does not convert images (Glance checks that the data matches the format); upload with --disk-format raw",
            a.disk_format
        )));
    }
    let specs = volume_specs(a)?;
    let uploads = specs
        .iter()
        .map(|(pool, vol, name)| upload_one(&c, a, optimization_on, pool, vol, name));
    let results = futures::future::join_all(uploads).await;
    if results.len() == 1 {
        if let Some((result, report)) = results.into_iter().next() {
            return match result {
                Ok(()) => {
                    report.print(&a.format);
                    Ok(0)
                }
                Err(e) => {
                    report.print_error(&a.format);
                    Err(e)
                }
            };
        }
        return Ok(0);
    }
    let mut failed = 0;
    let mut all = Vec::new();
    for (result, report) in &results {
        match result {
            Ok(()) if a.format != "json" => report.print(&a.format),
            Ok(()) => {}
            Err(e) => {
                failed += 1;
                eprintln!("rbd-native: {}: {e}", report.volume);
            }
        }
        all.push(report);
    }
    if a.format == "json" {
        println!("{}", serde_json::to_string(&all).unwrap_or_default());
    }
    Ok(i32::from(failed > 0))
}

/// Uploads volume `pool/vol` as image `name`; the report whatever happens.
async fn upload_one(
    c: &Clients,
    a: &UploadArgs,
    optimization_on: bool,
    pool: &str,
    vol: &str,
    name: &str,
) -> (Result<(), CliError>, Report) {
    let mut report = Report::new(pool, vol, 0);
    let r = upload_inner(c, a, optimization_on, pool, vol, name, &mut report).await;
    (r, report)
}

#[allow(clippy::too_many_arguments)]
async fn upload_inner(
    c: &Clients,
    a: &UploadArgs,
    optimization_on: bool,
    pool: &str,
    vol: &str,
    name: &str,
    report: &mut Report,
) -> Result<(), CliError> {
    let start = Instant::now();
    let vio = c.rados.ioctx(pool)?;
    let volume = Image::open(&c.rados, &vio, vol).await?;
    report.bytes = volume.size();

    let t = Instant::now();
    let (facts, target) = gather(
        c,
        a.store.as_deref(),
        optimization_on,
        &a.disk_format,
        &a.container_format,
    )
    .await?;
    let decision = decide(&facts);
    report.step("check", t);

    let t = Instant::now();
    let mut image = c.glance.create_image(&new_image(a, name)?).await?;
    report.image_id = image.id.clone();
    report.step("image create", t);
    let timeout = Duration::from_secs(a.timeout);

    if let Decision::Clone { pool: store_pool } = &decision {
        let store_id = target.as_ref().map(|s| s.id.clone()).unwrap_or_default();
        let format = match a.clone_format.as_str() {
            "1" => CloneFormat::V1,
            "2" => CloneFormat::V2,
            _ => CloneFormat::Auto.resolve(&c.rados),
        };
        match clone_path::run(
            c, &volume, &image.id, store_pool, &store_id, format, timeout, report,
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
                if a.no_fallback {
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
                    image = c.glance.create_image(&new_image(a, name)?).await?;
                    report.image_id = image.id.clone();
                    report.step("image create (again)", t);
                }
            }
        }
    } else if let Decision::Stream { reason } = &decision {
        report.reason = Some(reason.clone());
    }
    let store = a.store.clone();
    match stream_path::run(c, &volume, &image.id, store.as_deref(), timeout, report).await {
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
pub async fn check(global: &GlobalArgs, a: &CheckArgs) -> Result<i32, CliError> {
    let tool = settings::ToolSettings::load(a.config.as_deref())?;
    let c = connect(global, a.os_cloud.as_deref()).await?;
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
