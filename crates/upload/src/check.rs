//! The facts an upload's path rests on: Glance's target store, whether it
//! is in our cluster, whether we may write to its pool; and `check`, which
//! reports them without changing anything.

use ceph_rados::osd::OsdOp;
use ceph_rados::IoCtx;
use glance_client::StoreDetail;
use serde::Serialize;

use crate::clients::Clients;
use crate::eligibility::{decide, Decision, Facts, StoreFacts};
use crate::error::Error;

/// What [`crate::Uploader::check`] found: would a raw/bare upload to the
/// store clone, and why not.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CheckReport {
    /// The target store's id (`None`: Glance has no default store).
    pub store: Option<String>,
    /// Its type (`rbd`, `file`...).
    pub store_type: Option<String>,
    /// Our cluster's fsid.
    pub cluster_fsid: String,
    /// Whether our Ceph user may write to the store's pool.
    pub pool_writable: bool,
    /// Clone or stream, and why.
    pub decision: Decision,
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
pub(crate) async fn gather(
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

/// Whether a raw/bare upload to `store` (default: Glance's default store)
/// would clone, with the optimization on.
pub(crate) async fn check(c: &Clients, store: Option<&str>) -> Result<CheckReport, Error> {
    let (facts, target) = gather(c, store, true, "raw", "bare").await?;
    let decision = decide(&facts);
    Ok(CheckReport {
        store: target.as_ref().map(|s| s.id.clone()),
        store_type: target.as_ref().map(|s| s.store_type.clone()),
        cluster_fsid: c.fsid.clone(),
        pool_writable: facts.pool_writable,
        decision,
    })
}
