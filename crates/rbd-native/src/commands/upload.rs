//! `rbd-native upload`: RBD volumes to Glance images, by clone when
//! possible, by streaming otherwise, through [`rbd_upload::Uploader`]; and
//! `upload --cleanup` (remove what a killed run left).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use rbd_upload::settings::ToolSettings;
use rbd_upload::{
    check_disk_format, naming, CloneFormat, OpenStack, Progress, Report, UploadRequest, Uploader,
};

use crate::error::{Error, EXIT_LEFT_BEHIND};
use crate::format::Format;
use crate::global::GlobalArgs;

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
    #[arg(long = "name", required_unless_present_any = ["cleanup", "image_id"], conflicts_with = "image_id")]
    pub name: Vec<String>,
    /// Fill this existing Glance image, which must be `queued`, instead of
    /// creating one (one volume only). Its owner (Cinder, say) made it and
    /// deletes it: the upload never does, takes its disk and container
    /// formats, and undoes everything else it made if it fails.
    #[arg(long = "image-id", value_name = "UUID", value_parser = naming::image_id,
          conflicts_with_all = ["cleanup", "visibility", "properties", "disk_format", "container_format"])]
    pub image_id: Option<String>,
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
    /// Output format, the tool's config and the cloud.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Remove what an interrupted upload of IMAGE_ID left behind.
    #[arg(long = "cleanup", value_name = "IMAGE_ID", value_parser = naming::image_id)]
    pub cleanup: Option<String>,
    /// With --cleanup: leave the Glance image itself to its owner (an
    /// image given with --image-id); remove only the clone and snapshots.
    #[arg(long = "keep-image", requires = "cleanup")]
    pub keep_image: bool,
    /// The most one upload may take, in seconds, once connected: when it
    /// passes, the upload stops, removes what it made and fails (0: no
    /// limit).
    #[arg(long = "timeout", value_name = "SECS", default_value_t = 0)]
    pub timeout: u64,
    /// Seconds to wait for the image to become active.
    #[arg(long = "active-timeout", value_name = "SECS", default_value_t = 600)]
    pub active_timeout: u64,
}

/// The options `upload` and `check` share.
#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Output format.
    #[arg(long = "format", value_enum, default_value_t)]
    pub format: Format,
    /// The tool's config file (enable_clone_optimization = true|false).
    #[arg(long = "config", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The cloud of clouds.yaml (default: $OS_CLOUD, then the OS_* variables).
    #[arg(long = "os-cloud")]
    pub os_cloud: Option<String>,
    /// How long, in seconds, a transfer of image data to or from Glance
    /// may make no progress (Glance taking none of the data, or not
    /// answering once it has it all) before it fails (0: no limit).
    #[arg(long = "read-timeout", value_name = "SECS", default_value_t = glance_client::DEFAULT_READ_TIMEOUT.as_secs())]
    pub read_timeout: u64,
}

/// The variable that holds a service token, sent to Glance as
/// `X-Service-Token` beside the user's (a Cinder driver passes Cinder's
/// own): an environment variable, as tokens must not show in `ps`.
pub const SERVICE_TOKEN_VAR: &str = "RBD_NATIVE_SERVICE_TOKEN";

impl CommonArgs {
    /// The tool's settings and an uploader connected with `global`.
    pub async fn connect(&self, global: &GlobalArgs) -> Result<(ToolSettings, Uploader), Error> {
        let tool = ToolSettings::load(self.config.as_deref())?;
        let mut cloud = openstack_of(self.os_cloud.as_deref()).config()?;
        cloud.read_timeout = Some(Duration::from_secs(self.read_timeout));
        if let Some(t) = std::env::var(SERVICE_TOKEN_VAR)
            .ok()
            .filter(|t| !t.is_empty())
        {
            cloud.service_token = Some(t.into());
        }
        let uploader = Uploader::connect(&global.client_args(), OpenStack::Config(cloud)).await?;
        Ok((tool, uploader))
    }
}

/// The OpenStack settings of `--os-cloud`.
pub fn openstack_of(os_cloud: Option<&str>) -> OpenStack {
    match os_cloud {
        Some(c) => OpenStack::Cloud(c.to_string()),
        None => OpenStack::Environment,
    }
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
    if a.image_id.is_some() {
        if vols.len() != 1 {
            return Err(Error::Input(format!(
                "--image-id fills one image: give one volume, not {}",
                vols.len()
            )));
        }
        return Ok(vols
            .into_iter()
            .map(|(p, v)| (p, v, String::new()))
            .collect());
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
            r.image_id = a.image_id.clone();
            r.disk_format = a.disk_format.clone();
            r.container_format = a.container_format.clone();
            r.visibility = a.visibility.clone();
            r.properties = properties.clone();
            r.store = a.store.clone();
            r.clone_optimization = optimization_on;
            r.clone_format = clone_format;
            r.fallback = !a.no_fallback;
            r.timeout = Duration::from_secs(a.active_timeout);
            r.deadline = (a.timeout > 0).then(|| Duration::from_secs(a.timeout));
            r
        })
        .collect())
}

/// The streaming progress line on stderr (only when it is a terminal).
fn show_progress(p: Progress) {
    match p {
        Progress::Read { done, total } => {
            let pct = (done * 100).checked_div(total).unwrap_or(100);
            eprint!(
                "\ruploading: {pct:3}% ({} of {} MiB)",
                done >> 20,
                total >> 20
            );
            if done >= total {
                eprintln!();
            }
        }
        _ => eprintln!(),
    }
}

/// Prints a report as text or JSON.
fn print_report(r: &Report, format: Format) {
    if format.is_json() {
        println!("{}", serde_json::to_string(r).unwrap_or_default());
        return;
    }
    println!("image {} from {} by {}", r.image_id, r.volume, r.path);
    if let Some(reason) = &r.reason {
        println!("not cloned: {reason}");
    }
    if let Some(e) = &r.clone_error {
        println!("clone failed, streamed instead: {e}");
    }
    println!("{} bytes in {:.3} s", r.bytes, r.seconds);
    for s in &r.steps {
        println!("  {:<30} {:>9.3} s", s.name, s.seconds);
    }
    if !r.overlapped.is_empty() {
        println!("  of which, side by side:");
        for s in &r.overlapped {
            println!("    {:<28} {:>9.3} s", s.name, s.seconds);
        }
    }
    for f in &r.undo_failures {
        println!("left behind: {}: {}", f.step, f.error);
    }
}

/// Prints what is known when the upload fails (JSON only: the error
/// itself goes to stderr).
fn print_failed_report(r: &Report, format: Format) {
    if format.is_json() {
        println!("{}", serde_json::to_string(r).unwrap_or_default());
    }
}

/// Runs `upload`; returns the exit status.
pub async fn run(global: &GlobalArgs, a: &UploadArgs) -> Result<i32, Error> {
    // From the start: a signal while connecting ends the run at once
    // (nothing is made yet), a later one stops the uploads, which undo.
    let stop = a.cleanup.is_none().then(stop_on_signals);
    let (tool, mut uploader) = a.common.connect(global).await?;
    if std::io::stderr().is_terminal() {
        uploader = uploader.on_progress(show_progress);
    }
    if let Some(id) = &a.cleanup {
        let removed = uploader.cleanup(&a.pool, id, a.keep_image).await?;
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
    if a.image_id.is_none() {
        check_disk_format(&a.disk_format)?;
    }
    let requests = upload_requests(a, optimization_on)?;
    if let Some(stop) = stop {
        uploader = uploader.stop_on(stop);
    }
    let outcomes = uploader.upload_many(&requests).await;
    if outcomes.len() == 1 {
        if let Some(o) = outcomes.into_iter().next() {
            return match o.error {
                None => {
                    print_report(&o.report, a.common.format);
                    Ok(warn_left_behind(&o.report))
                }
                Some(e) => {
                    print_failed_report(&o.report, a.common.format);
                    Err(e.into())
                }
            };
        }
        return Ok(0);
    }
    let mut failed = 0;
    let mut left = 0;
    let mut all = Vec::new();
    for o in &outcomes {
        match &o.error {
            None => {
                if !a.common.format.is_json() {
                    print_report(&o.report, a.common.format);
                }
                left = left.max(warn_left_behind(&o.report));
            }
            Some(e) => {
                failed += 1;
                eprintln!("rbd-native: {}: {e}", o.report.volume);
            }
        }
        all.push(&o.report);
    }
    if a.common.format.is_json() {
        println!("{}", serde_json::to_string(&all).unwrap_or_default());
    }
    Ok(if failed > 0 { 1 } else { left })
}

/// A channel that holds the signal's name once SIGINT or SIGTERM comes:
/// the uploads then stop and undo what they made, as at their deadline.
fn stop_on_signals() -> tokio::sync::watch::Receiver<Option<String>> {
    use tokio::signal::unix::{signal, SignalKind};
    let (tx, rx) = tokio::sync::watch::channel(None);
    let listen = |kind: SignalKind, name: &'static str| {
        let tx = tx.clone();
        match signal(kind) {
            Ok(mut s) => {
                tokio::spawn(async move {
                    if s.recv().await.is_some() {
                        let _ = tx.send(Some(name.to_string()));
                    }
                });
            }
            Err(e) => tracing::warn!("cannot listen for {name}: {e}"),
        }
    };
    listen(SignalKind::interrupt(), "SIGINT");
    listen(SignalKind::terminate(), "SIGTERM");
    rx
}

/// Says on stderr what a successful upload left behind; its exit status
/// (0, or [`EXIT_LEFT_BEHIND`]).
fn warn_left_behind(r: &Report) -> i32 {
    if r.undo_failures.is_empty() {
        return 0;
    }
    let what: Vec<String> = r
        .undo_failures
        .iter()
        .map(|f| format!("{}: {}", f.step, f.error))
        .collect();
    eprintln!(
        "rbd-native: image {} was uploaded by {}, but undoing the failed clone left: {} (`rbd-native upload --cleanup {}` removes it)",
        r.image_id,
        r.path,
        what.join("; "),
        r.image_id
    );
    EXIT_LEFT_BEHIND
}

#[cfg(test)]
mod tests {
    use super::*;
    use rbd_upload::UndoFailure;

    #[test]
    fn an_upload_that_left_something_exits_with_3() {
        let mut r = Report::new("volumes", "vol", 1);
        assert_eq!(warn_left_behind(&r), 0);
        r.undo_failures.push(UndoFailure {
            step: "remove RBD image images/x".into(),
            error: "EBUSY".into(),
        });
        assert_eq!(warn_left_behind(&r), EXIT_LEFT_BEHIND);
    }
}
