//! What the monitor client is configured with and what it answers: the
//! options, and the replies of commands and pool operations.

use std::time::Duration;

use bytes::Bytes;
use ceph_cephx::CryptoKey;
use ceph_encoding::EntityName;

use crate::config::MonAddrs;

/// How a client reaches and authenticates to the monitors.
#[derive(Debug, Clone)]
pub struct MonClientOptions {
    /// The monitors' addresses (from `mon_host`).
    pub mons: Vec<MonAddrs>,
    /// Who we are.
    pub name: EntityName,
    /// Our key; `None` authenticates with the "none" method.
    pub key: Option<CryptoKey>,
    /// Connection modes for monitors, in order of preference.
    pub mon_modes: Vec<u32>,
    /// How long to look for a monitor before giving up
    /// (`client_mount_timeout`).
    pub connect_timeout: Duration,
    /// The most one attempt on one monitor may take (attempts take
    /// `mon_client_hunt_interval`, longer after failed rounds, up to this).
    pub attempt_timeout: Duration,
    /// The services whose tickets we want (entity type bits).
    pub want_services: u32,
    /// Our host name, sent with subscriptions.
    pub hostname: String,
    /// Request, keepalive and hunting deadlines.
    pub timeouts: crate::config::Timeouts,
}

impl MonClientOptions {
    /// Options from resolved client settings: tickets for monitors, OSDs
    /// and managers; attempts of at most 10 s each.
    pub fn from_settings(s: &crate::config::ClientSettings) -> MonClientOptions {
        MonClientOptions {
            mons: s.mons.clone(),
            name: s.name.clone(),
            key: s.key.clone(),
            mon_modes: s.mon_modes.clone(),
            connect_timeout: s.connect_timeout,
            attempt_timeout: s.connect_timeout.min(Duration::from_secs(10)),
            want_services: ceph_cephx::SERVICE_MON
                | ceph_cephx::SERVICE_OSD
                | ceph_cephx::SERVICE_MGR,
            hostname: crate::config::ClientSettings::hostname(),
            timeouts: s.timeouts,
        }
    }
}

/// The answer to a monitor command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandReply {
    /// 0 or a negative errno.
    pub status: i32,
    /// The status string.
    pub status_text: String,
    /// The output.
    pub output: Bytes,
}

/// A map the monitor sent (raw; decoding is the caller's).
#[derive(Debug, Clone)]
pub enum MapUpdate {
    /// An MMonMap's encoded MonMap.
    MonMap(Bytes),
    /// An MOSDMap message (front part, and its encoding version).
    OsdMap {
        /// The message's front part.
        front: Bytes,
        /// The message's encoding version.
        version: u16,
    },
}

/// The outcome of a pool operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolOpResult {
    /// 0 or a negative errno.
    pub status: i32,
    /// The osdmap epoch that carries the change.
    pub epoch: u32,
    /// Extra data (for a new snapshot id: its encoding).
    pub data: Bytes,
}

/// The answer to one pending monitor request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonReply {
    /// A command's answer.
    Command(CommandReply),
    /// A version query's answer: the newest and the oldest version.
    Version {
        /// The newest version.
        newest: u64,
        /// The oldest version the monitor keeps.
        oldest: u64,
    },
    /// A pool operation's answer.
    PoolOp(PoolOpResult),
}
