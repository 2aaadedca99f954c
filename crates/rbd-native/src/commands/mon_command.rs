//! `rbd-native mon-command '<json>'`.

use std::io::Write;

use bytes::Bytes;
use ceph_rados::config::ClientSettings;
use ceph_rados::mon::{MonClient, MonClientOptions};
use clap::Args;

use crate::error::Error;
use crate::global::GlobalArgs;

/// Arguments of `mon-command`.
#[derive(Args, Debug)]
pub struct MonCommandArgs {
    /// The command as JSON, e.g. '{"prefix":"osd pool ls","format":"json"}'.
    pub json: String,
    /// A file whose contents are the command's input.
    #[arg(short = 'i', long = "in-file", value_name = "PATH")]
    pub input: Option<std::path::PathBuf>,
}

/// Connects to the cluster's monitors as the global options say.
async fn connect_monitors(global: &GlobalArgs) -> Result<MonClient, Error> {
    let s = ClientSettings::resolve(&global.client_args())?;
    tracing::debug!(conf = %s.conf_display(), name = %s.name, "connecting");
    let opts = MonClientOptions::from_settings(&s);
    Ok(MonClient::connect(opts).await?)
}

/// Runs the command; returns the exit status (the command's errno).
pub async fn run(global: &GlobalArgs, args: &MonCommandArgs) -> Result<i32, Error> {
    let input = match &args.input {
        Some(p) => Bytes::from(std::fs::read(p).map_err(|e| Error::Io {
            context: format!("reading {}", p.display()),
            source: e,
        })?),
        None => Bytes::new(),
    };
    let mon = connect_monitors(global).await?;
    let reply = mon.command(&args.json, input).await?;
    let mut out = std::io::stdout().lock();
    if !reply.output.is_empty() {
        let _ = out.write_all(&reply.output);
        if !reply.output.ends_with(b"\n") {
            let _ = out.write_all(b"\n");
        }
    }
    let _ = out.flush();
    if reply.status < 0 {
        eprintln!("Error {}: {}", errno_name(-reply.status), reply.status_text);
        return Ok(-reply.status);
    }
    if !reply.status_text.is_empty() {
        eprintln!("{}", reply.status_text);
    }
    Ok(0)
}

/// `ENOENT` for 2, as the ceph CLI prints it; `errno N` for one not named.
fn errno_name(e: i32) -> String {
    ceph_common::Errno(-e)
        .name()
        .map_or_else(|| format!("errno {e}"), str::to_string)
}
