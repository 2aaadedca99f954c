//! What is asked of the objecter and what it answers.

use std::sync::Arc;
use std::time::Duration;

use crate::crush::CrushMap;
use crate::osd::{OpResult, OsdOp, NOSNAP};
use crate::osdmap::OsdMap;

/// A snapshot context for writes: the newest snapshot id and the
/// snapshots, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapContext {
    /// The sequence (newest snapshot id known).
    pub seq: u64,
    /// Existing snapshots, newest first.
    pub snaps: Vec<u64>,
}

/// An operation request on one object.
#[derive(Debug, Clone)]
pub struct OpRequest {
    /// The pool.
    pub pool: i64,
    /// The namespace ("" for the default).
    pub nspace: String,
    /// The object's name.
    pub oid: String,
    /// A locator key ("" to place by name).
    pub key: String,
    /// The operations, done atomically in order.
    pub ops: Vec<OsdOp>,
    /// The snapshot to read ([`NOSNAP`] for the head).
    pub snapid: u64,
    /// The snapshot context of writes.
    pub snapc: SnapContext,
    /// A PG op: the PG (actual seed) it is for, instead of an object.
    pub pg: Option<u32>,
}

impl OpRequest {
    /// Operations on `oid` in `pool` (default namespace, head).
    pub fn new(pool: i64, oid: impl Into<String>, ops: Vec<OsdOp>) -> OpRequest {
        OpRequest {
            pool,
            nspace: String::new(),
            oid: oid.into(),
            key: String::new(),
            ops,
            snapid: NOSNAP,
            snapc: SnapContext::default(),
            pg: None,
        }
    }

    pub(super) fn is_write(&self) -> bool {
        self.ops.iter().any(OsdOp::is_write)
    }

    /// What the request is about, for messages: the object (or PG), its
    /// pool and namespace.
    pub(super) fn what(&self) -> String {
        let mut what = match self.pg {
            Some(seed) => format!("pg {seed:x} of pool {}", self.pool),
            None => format!("object {} in pool {}", self.oid, self.pool),
        };
        if !self.nspace.is_empty() {
            what.push_str(&format!(" namespace {}", self.nspace));
        }
        what
    }

    pub(super) fn bytes(&self) -> usize {
        self.ops.iter().map(|o| o.indata.len()).sum::<usize>() + 256
    }
}

/// The answer to an [`OpRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpReply {
    /// 0 or a negative errno for the whole request.
    pub result: i32,
    /// Per-op results.
    pub ops: Vec<OpResult>,
    /// The object's version after the request.
    pub version: u64,
}

/// Tunables of the objecter.
#[derive(Debug, Clone)]
pub struct ObjecterOptions {
    /// Give up on an op after this long (`rados_osd_op_timeout`); `None`:
    /// wait for ever, as librados does by default.
    pub op_timeout: Option<Duration>,
    /// At most this many bytes of op data in flight.
    pub max_bytes_in_flight: usize,
    /// Time allowed to open a session with an OSD.
    pub connect_timeout: Duration,
    /// Messenger modes for OSD connections.
    pub modes: Vec<u32>,
}

impl Default for ObjecterOptions {
    fn default() -> Self {
        ObjecterOptions {
            op_timeout: None,
            max_bytes_in_flight: 100 << 20,
            connect_timeout: Duration::from_secs(30),
            modes: vec![1, 2],
        }
    }
}

/// The current maps, shared with readers.
#[derive(Debug, Clone)]
pub struct Maps {
    /// The OSD map.
    pub osdmap: Arc<OsdMap>,
    /// Its CRUSH map, decoded.
    pub crush: Arc<CrushMap>,
}
