//! The crate's error type.

use ceph_common::Errno;
use ceph_encoding::Uuid;
use thiserror::Error;

/// What can go wrong in the RADOS client.
#[derive(Debug, Error)]
pub enum RadosError {
    /// The configuration is unusable (file, option, name, monitor
    /// addresses).
    #[error("configuration: {0}")]
    Config(String),
    /// The monitors or an OSD map speak for another cluster than the one
    /// this client joined.
    #[error("{what} is of cluster {theirs}, not of ours ({ours})")]
    OtherCluster {
        /// What came: the monitor map, an OSD map.
        what: &'static str,
        /// Its cluster's fsid.
        theirs: Uuid,
        /// Ours.
        ours: Uuid,
    },
    /// An incremental OSD map that does not apply to the map we hold.
    #[error("cannot apply OSD map epoch {epoch}: {source}")]
    OsdMap {
        /// The incremental's epoch.
        epoch: u32,
        /// Why it does not apply.
        source: crate::osdmap::ApplyError,
    },
    /// The OSD map names no OSD for objects of a pool (CRUSH maps them
    /// nowhere).
    #[error("cannot place objects in pool {pool}")]
    Placement {
        /// The pool.
        pool: i64,
    },
    /// The OSD map gives an OSD no IP address to connect to.
    #[error("osd.{osd} has no IP address ({addr})")]
    OsdAddress {
        /// The OSD.
        osd: i32,
        /// The address the map gives.
        addr: String,
    },
    /// A keyring or key problem.
    #[error(transparent)]
    Key(#[from] ceph_cephx::CephxError),
    /// The monitors refused our credentials.
    #[error("authentication failed for {entity}: {detail}")]
    AuthFailed {
        /// The entity we authenticated as.
        entity: String,
        /// What the monitor said.
        detail: String,
    },
    /// The monitors refused a key of the legacy `aes` type: clusters since
    /// Ceph 19.2.6 (and Tentacle's default) accept `aes256k` keys only.
    #[error(
        "authentication failed for {entity}: the monitor at {mon} refused its key, which is of \
         the legacy type aes; Ceph 19.2.6 and later refuse aes keys unless auth_allowed_ciphers \
         lists aes. Rotate the key with `ceph auth rotate {entity} --key-type aes256k` and use \
         the new keyring (if the cluster does allow aes, the key is wrong: compare it with \
         `ceph auth get {entity}`)"
    )]
    KeyTypeRefused {
        /// The entity we authenticated as.
        entity: String,
        /// The monitor that refused.
        mon: String,
    },
    /// The peer allows none of the messenger modes we offered.
    #[error("{peer} accepts messenger mode {allowed} only, and we offered {offered}")]
    ModeMismatch {
        /// The peer.
        peer: String,
        /// What we offered.
        offered: String,
        /// What it allows.
        allowed: String,
    },
    /// No monitor could be reached in time.
    #[error("no monitor reachable within {timeout_secs}s; tried {tried}: {last}")]
    NoMonitor {
        /// How long we tried.
        timeout_secs: u64,
        /// The addresses tried.
        tried: String,
        /// The last failure.
        last: String,
    },
    /// A messenger error on a connection.
    #[error(transparent)]
    Messenger(#[from] ceph_msgr2::Error),
    /// A message that does not decode.
    #[error("cannot decode {what}: {source}")]
    Decode {
        /// The message.
        what: &'static str,
        /// The decoder's error.
        source: ceph_encoding::DecodeError,
    },
    /// The monitor refused a pool operation.
    #[error("{what}: {}", Errno(*.status))]
    PoolOp {
        /// The operation.
        what: String,
        /// The negative errno.
        status: i32,
    },
    /// An OSD refused or failed an operation on an object.
    #[error("{object}: {hint}")]
    Op {
        /// The object (pool/name).
        object: String,
        /// The negative errno.
        status: i32,
        /// What it means and what to do.
        hint: String,
    },
    /// An answer that breaks the protocol, such as an OSD reply that does
    /// not answer each op of the request.
    #[error("{object}: protocol error: {detail}")]
    Protocol {
        /// What the answer was about (the object).
        object: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A pool that does not exist.
    #[error("pool {0} does not exist")]
    NoSuchPool(String),
    /// A request took longer than allowed.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The client was shut down.
    #[error("the client is shut down")]
    Shutdown,
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, RadosError>;

impl RadosError {
    /// An OSD reply to a request on `object` answering `got` ops of the
    /// `requested`.
    pub(crate) fn op_count(object: String, requested: usize, got: usize) -> RadosError {
        RadosError::Protocol {
            object,
            detail: format!(
                "the OSD's reply carries {got} op results for a request of {requested} ops"
            ),
        }
    }
}

impl RadosError {
    /// The negative errno an OSD or monitor answered with, if that is
    /// what this error is.
    pub fn errno(&self) -> Option<i32> {
        match self {
            RadosError::Op { status, .. } | RadosError::PoolOp { status, .. } => Some(*status),
            _ => None,
        }
    }
}
