//! `rbd-native check`: would an upload clone, and if not, why (nothing is
//! changed).

use clap::Args;
use rbd_upload::Decision;

use super::upload::CommonArgs;
use crate::error::Error;
use crate::global::GlobalArgs;

/// Options of `check`.
#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// The Glance store to check (default: Glance's default store).
    #[arg(long = "store")]
    pub store: Option<String>,
    /// Output format, the tool's config and the cloud.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Runs `check`; returns the exit status.
pub async fn run(global: &GlobalArgs, a: &CheckArgs) -> Result<i32, Error> {
    let (tool, uploader) = a.common.connect(global).await?;
    let r = uploader.check(a.store.as_deref()).await?;
    if a.common.format.is_json() {
        let v = serde_json::json!({
            "store": r.store,
            "store_type": r.store_type,
            "cluster_fsid": r.cluster_fsid,
            "pool_writable": r.pool_writable,
            "clone_optimization_enabled": tool.enable_clone_optimization,
            "decision": r.decision,
        });
        println!("{v}");
    } else {
        match &r.decision {
            Decision::Clone { pool } => println!(
                "a raw/bare upload would clone into pool {pool} (store {}){}",
                r.store.unwrap_or_default(),
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
