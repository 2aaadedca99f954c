//! A librados-like API: [`Rados`] (a connected cluster) and [`IoCtx`]
//! (a pool and namespace to do object operations in).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use ceph_common::errno::{EACCES, EOPNOTSUPP, EPERM};
use ceph_common::Errno;
use ceph_encoding::UTime;

use crate::config::ClientSettings;
use crate::error::{RadosError, Result};
use crate::mon::{MonClient, MonClientOptions};
use crate::objecter::{
    Objecter, ObjecterOptions, OpReply, OpRequest, SnapContext, WatchRegistration,
};
use crate::osd::listing::{list_pg, ListEntry, ALL_NAMESPACES};
use crate::osd::watch::{NotifyResult, WatchItem, WatcherList};
use crate::osd::{OsdOp, NOSNAP};

#[cfg(any(fuzzing, test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod replies;

use replies::{check_op_count, decode, first_output};

/// A self-managed snapshot id as the monitor granted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapIdGrant {
    /// The id.
    pub id: u64,
    /// The OSD map epoch that carries it (the pool's `snap_seq` includes
    /// it from this epoch on). Ids granted in the same epoch were granted
    /// in one monitor round: one Paxos proposal of the OSD map.
    pub epoch: u32,
}

/// A connected cluster: the monitor session and the objecter.
#[derive(Debug, Clone)]
pub struct Rados {
    mon: MonClient,
    objecter: Objecter,
}

impl Rados {
    /// Connects with resolved settings (monitors, name, key, modes).
    pub async fn connect(settings: &ClientSettings) -> Result<Rados> {
        let mon = MonClient::connect(MonClientOptions::from_settings(settings)).await?;
        let opts = ObjecterOptions {
            op_timeout: settings.timeouts.osd_op,
            modes: settings.modes.clone(),
            connect_timeout: settings
                .connect_timeout
                .min(std::time::Duration::from_secs(60)),
            ..ObjecterOptions::default()
        };
        let objecter = Objecter::start(mon.clone(), opts).await?;
        Ok(Rados { mon, objecter })
    }

    /// The monitor client.
    pub fn mon(&self) -> &MonClient {
        &self.mon
    }

    /// The objecter.
    pub fn objecter(&self) -> &Objecter {
        &self.objecter
    }

    /// An I/O context on pool `name`.
    pub fn ioctx(&self, name: &str) -> Result<IoCtx> {
        let pool = self.objecter.pool_id(name)?;
        Ok(self.ioctx_by_id(pool, name))
    }

    /// An I/O context on pool `id`.
    pub fn ioctx_by_id(&self, id: i64, name: &str) -> IoCtx {
        IoCtx {
            objecter: self.objecter.clone(),
            pool: id,
            pool_name: name.to_string(),
            nspace: String::new(),
            read_snap: NOSNAP,
            snapc: SnapContext::default(),
            who: self.mon.name().to_string(),
        }
    }
}

/// Object operations in one pool and namespace.
#[derive(Debug, Clone)]
pub struct IoCtx {
    objecter: Objecter,
    pool: i64,
    pool_name: String,
    nspace: String,
    read_snap: u64,
    snapc: SnapContext,
    who: String,
}

impl IoCtx {
    /// The pool's id.
    pub fn pool_id(&self) -> i64 {
        self.pool
    }

    /// The objecter underneath.
    pub fn objecter(&self) -> &Objecter {
        &self.objecter
    }

    /// The namespace ops go to.
    pub fn namespace(&self) -> &str {
        &self.nspace
    }

    /// Allocates a self-managed snapshot id in this pool (a monitor
    /// round) and waits for the OSD map that knows it.
    pub async fn selfmanaged_snap_create(&self) -> Result<u64> {
        Ok(self.selfmanaged_snap_create_with_epoch().await?.id)
    }

    /// [`IoCtx::selfmanaged_snap_create`], telling also the OSD map epoch
    /// the monitor granted the id in (from its pool-op reply).
    pub async fn selfmanaged_snap_create_with_epoch(&self) -> Result<SnapIdGrant> {
        let pool =
            u32::try_from(self.pool).map_err(|_| RadosError::NoSuchPool(self.pool_name.clone()))?;
        let (id, epoch) = self.objecter.mon().allocate_snap_id(pool).await?;
        self.objecter.wait_for_epoch(epoch).await?;
        Ok(SnapIdGrant { id, epoch })
    }

    /// Releases self-managed snapshot id `snapid` of this pool.
    pub async fn selfmanaged_snap_remove(&self, snapid: u64) -> Result<()> {
        let pool =
            u32::try_from(self.pool).map_err(|_| RadosError::NoSuchPool(self.pool_name.clone()))?;
        let epoch = self.objecter.mon().release_snap_id(pool, snapid).await?;
        self.objecter.wait_for_epoch(epoch).await
    }

    /// The pool's name.
    pub fn pool_name(&self) -> &str {
        &self.pool_name
    }

    /// Works in namespace `nspace` ("" is the default namespace).
    pub fn set_namespace(&mut self, nspace: &str) {
        self.nspace = nspace.to_string();
    }

    /// Reads from snapshot `snapid` ([`NOSNAP`] for the head).
    pub fn set_read_snap(&mut self, snapid: u64) {
        self.read_snap = snapid;
    }

    /// Writes with this snapshot context.
    pub fn set_snap_context(&mut self, snapc: SnapContext) {
        self.snapc = snapc;
    }

    /// Runs `ops` on `oid` and returns the reply whatever its result.
    pub async fn operate_raw(&self, oid: &str, ops: Vec<OsdOp>) -> Result<OpReply> {
        let mut req = OpRequest::new(self.pool, oid, ops);
        req.nspace = self.nspace.clone();
        req.snapid = self.read_snap;
        req.snapc = self.snapc.clone();
        self.objecter.execute(req).await
    }

    /// Runs `ops` on `oid`; a negative result is an error naming the
    /// object and what went wrong.
    pub async fn operate(&self, oid: &str, ops: Vec<OsdOp>) -> Result<OpReply> {
        let requested = ops.len();
        let r = self.operate_raw(oid, ops).await?;
        if r.result < 0 {
            return Err(self.op_error(oid, r.result));
        }
        check_op_count(&self.object_name(oid), requested, r)
    }

    /// `pool/oid` or `pool/namespace/oid`, for messages.
    fn object_name(&self, oid: &str) -> String {
        if self.nspace.is_empty() {
            format!("{}/{oid}", self.pool_name)
        } else {
            format!("{}/{}/{oid}", self.pool_name, self.nspace)
        }
    }

    /// The output of the first op of `reply` (a reply to `oid`).
    fn first_output(&self, oid: &str, reply: OpReply) -> Result<Bytes> {
        first_output(&self.object_name(oid), reply)
    }

    fn op_error(&self, oid: &str, status: i32) -> RadosError {
        let object = self.object_name(oid);
        if status == EPERM || status == EACCES {
            return RadosError::Op {
                object,
                status,
                hint: format!(
                    "{} is not allowed to do this in pool {}: check its OSD caps (`ceph auth get {}`)",
                    self.who, self.pool_name, self.who
                ),
            };
        }
        if status == EOPNOTSUPP && self.is_erasure() {
            return RadosError::Op {
                object,
                status,
                hint: format!(
                    "pool {} is erasure-coded, and erasure-coded pools have no omap (RBD image headers, directories, class methods): keep metadata in a replicated pool and put data in {} as a data pool (`--data-pool {}`)",
                    self.pool_name, self.pool_name, self.pool_name
                ),
            };
        }
        RadosError::Op {
            object,
            status,
            hint: Errno(status).to_string(),
        }
    }

    /// Whether this context's pool is erasure-coded (per the current map).
    pub fn is_erasure(&self) -> bool {
        self.objecter
            .maps()
            .and_then(|m| m.osdmap.pools.get(&self.pool).map(|p| p.is_erasure()))
            .unwrap_or(false)
    }

    fn target(&self, oid: &str) -> OpRequest {
        let mut req = OpRequest::new(self.pool, oid, Vec::new());
        req.nspace = self.nspace.clone();
        req
    }

    /// Watches `oid` for notifications.
    pub async fn watch(&self, oid: &str) -> Result<WatchRegistration> {
        self.objecter
            .watch(self.target(oid))
            .await?
            .map_err(|status| self.op_error(oid, status))
    }

    /// Notifies the watchers of `oid` and gathers their answers, waiting
    /// at most `timeout` for each.
    pub async fn notify(
        &self,
        oid: &str,
        payload: &[u8],
        timeout: Duration,
    ) -> Result<NotifyResult> {
        self.objecter
            .notify(self.target(oid), payload, timeout)
            .await?
            .map_err(|status| self.op_error(oid, status))
    }

    /// The watchers of `oid`.
    pub async fn list_watchers(&self, oid: &str) -> Result<Vec<WatchItem>> {
        let r = self.operate(oid, vec![OsdOp::list_watchers()]).await?;
        let out = self.first_output(oid, r)?;
        Ok(decode::<WatcherList>("watcher list", &out)?.entries)
    }

    /// Reads an extent as the extents that hold data: (offset, bytes)
    /// pairs, holes left out.
    pub async fn sparse_read(&self, oid: &str, offset: u64, len: u64) -> Result<Vec<(u64, Bytes)>> {
        let r = self
            .operate(oid, vec![OsdOp::sparse_read(offset, len)])
            .await?;
        replies::sparse_read_output(&self.first_output(oid, r)?)
    }

    /// The whole object.
    pub async fn read_full(&self, oid: &str) -> Result<Bytes> {
        self.operate(oid, vec![OsdOp::read(0, 0)])
            .await
            .and_then(|r| self.first_output(oid, r))
    }

    /// `len` bytes at `offset` (fewer at the end of the object).
    pub async fn read(&self, oid: &str, offset: u64, len: u64) -> Result<Bytes> {
        self.operate(oid, vec![OsdOp::read(offset, len)])
            .await
            .and_then(|r| self.first_output(oid, r))
    }

    /// Replaces the object's data.
    pub async fn write_full(&self, oid: &str, data: Bytes) -> Result<()> {
        self.operate(oid, vec![OsdOp::write_full(data)])
            .await
            .map(|_| ())
    }

    /// Writes `data` at `offset`.
    pub async fn write(&self, oid: &str, offset: u64, data: Bytes) -> Result<()> {
        self.operate(oid, vec![OsdOp::write(offset, data)])
            .await
            .map(|_| ())
    }

    /// Appends `data`.
    pub async fn append(&self, oid: &str, data: Bytes) -> Result<()> {
        self.operate(oid, vec![OsdOp::append(data)])
            .await
            .map(|_| ())
    }

    /// Sets the object's size.
    pub async fn truncate(&self, oid: &str, size: u64) -> Result<()> {
        self.operate(oid, vec![OsdOp::truncate(size)])
            .await
            .map(|_| ())
    }

    /// Zeroes an extent.
    pub async fn zero(&self, oid: &str, offset: u64, len: u64) -> Result<()> {
        self.operate(oid, vec![OsdOp::zero(offset, len)])
            .await
            .map(|_| ())
    }

    /// Creates the object (failing if it exists when `exclusive`).
    pub async fn create(&self, oid: &str, exclusive: bool) -> Result<()> {
        self.operate(oid, vec![OsdOp::create(exclusive)])
            .await
            .map(|_| ())
    }

    /// Removes the object.
    pub async fn remove(&self, oid: &str) -> Result<()> {
        self.operate(oid, vec![OsdOp::remove()]).await.map(|_| ())
    }

    /// Size and modification time.
    pub async fn stat(&self, oid: &str) -> Result<(u64, UTime)> {
        let r = self.operate(oid, vec![OsdOp::stat()]).await?;
        replies::stat_output(&self.first_output(oid, r)?)
    }

    /// One extended attribute.
    pub async fn get_xattr(&self, oid: &str, name: &str) -> Result<Bytes> {
        self.operate(oid, vec![OsdOp::get_xattr(name)])
            .await
            .and_then(|r| self.first_output(oid, r))
    }

    /// All extended attributes.
    pub async fn get_xattrs(&self, oid: &str) -> Result<BTreeMap<String, Bytes>> {
        let r = self.operate(oid, vec![OsdOp::get_xattrs()]).await?;
        replies::xattrs_output(&self.first_output(oid, r)?)
    }

    /// Sets an extended attribute.
    pub async fn set_xattr(&self, oid: &str, name: &str, value: &[u8]) -> Result<()> {
        self.operate(oid, vec![OsdOp::set_xattr(name, value)])
            .await
            .map(|_| ())
    }

    /// Removes an extended attribute.
    pub async fn rm_xattr(&self, oid: &str, name: &str) -> Result<()> {
        self.operate(oid, vec![OsdOp::rm_xattr(name)])
            .await
            .map(|_| ())
    }

    /// Every omap key and value, fetched in batches.
    pub async fn omap_get_all(&self, oid: &str) -> Result<BTreeMap<String, Bytes>> {
        let mut all = BTreeMap::new();
        let mut after = String::new();
        loop {
            let r = self
                .operate(
                    oid,
                    vec![OsdOp::omap_get_vals(&after, "", replies::OMAP_BATCH)],
                )
                .await?;
            let out = self.first_output(oid, r)?;
            let (batch, next) = replies::omap_batch(&self.object_name(oid), &after, &out)?;
            all.extend(batch);
            match next {
                Some(key) => after = key,
                None => break,
            }
        }
        Ok(all)
    }

    /// Values of some omap keys.
    pub async fn omap_get_vals_by_keys(
        &self,
        oid: &str,
        keys: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, Bytes>> {
        let r = self
            .operate(oid, vec![OsdOp::omap_get_vals_by_keys(keys)])
            .await?;
        decode("omap values", &self.first_output(oid, r)?)
    }

    /// Sets omap keys.
    pub async fn omap_set(&self, oid: &str, kv: &BTreeMap<String, Bytes>) -> Result<()> {
        self.operate(oid, vec![OsdOp::omap_set(kv)])
            .await
            .map(|_| ())
    }

    /// Removes omap keys.
    pub async fn omap_rm_keys(&self, oid: &str, keys: &BTreeSet<String>) -> Result<()> {
        self.operate(oid, vec![OsdOp::omap_rm_keys(keys)])
            .await
            .map(|_| ())
    }

    /// Calls an object class method; returns its output.
    pub async fn call(&self, oid: &str, class: &str, method: &str, input: &[u8]) -> Result<Bytes> {
        self.operate(oid, vec![OsdOp::call(class, method, input)])
            .await
            .and_then(|r| self.first_output(oid, r))
    }

    /// Every object of the pool, in this namespace (or in all of them).
    pub async fn list_objects(&self, all_namespaces: bool) -> Result<Vec<ListEntry>> {
        let maps = self.objecter.maps().ok_or(RadosError::Shutdown)?;
        let pg_num = maps
            .osdmap
            .pools
            .get(&self.pool)
            .map(|p| p.pg_num)
            .ok_or_else(|| RadosError::NoSuchPool(self.pool_name.clone()))?;
        let nspace = if all_namespaces {
            ALL_NAMESPACES.to_string()
        } else {
            self.nspace.clone()
        };
        let mut out = Vec::new();
        for seed in 0..pg_num {
            out.extend(
                list_pg(&self.objecter, self.pool, seed, &nspace)
                    .await
                    .map_err(|e| match e {
                        RadosError::Op { status, .. } => self.op_error("(listing)", status),
                        other => other,
                    })?,
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osd::OpResult;

    fn reply(result: i32, n: usize) -> OpReply {
        OpReply {
            result,
            ops: (0..n)
                .map(|i| OpResult {
                    code: 0x1201,
                    rval: 0,
                    outdata: Bytes::from(vec![i as u8; 3]),
                })
                .collect(),
            version: 1,
        }
    }

    #[test]
    fn a_reply_with_fewer_ops_than_the_request_is_a_protocol_error() {
        for (requested, got) in [(1, 0), (3, 2), (1, 2)] {
            let err = check_op_count("rbd/obj", requested, reply(0, got))
                .err()
                .map(|e| e.to_string());
            let text = err.unwrap_or_default();
            assert!(text.contains("rbd/obj"), "{requested}/{got}: {text:?}");
            assert!(
                text.contains(&format!("{got} op")) && text.contains(&format!("{requested} op")),
                "{requested}/{got}: {text:?}"
            );
        }
        let ok = check_op_count("rbd/obj", 2, reply(0, 2)).map(|r| r.ops.len());
        assert_eq!(ok.ok(), Some(2));
    }

    #[test]
    fn the_first_output_of_a_zero_op_reply_is_an_error_not_a_panic() {
        let r = std::panic::catch_unwind(|| first_output("rbd/obj", reply(0, 0)).is_err());
        assert_eq!(r.ok(), Some(true));
        let out = first_output("rbd/obj", reply(0, 2)).map(|b| b.to_vec());
        assert_eq!(out.ok(), Some(vec![0u8; 3]));
    }
}
