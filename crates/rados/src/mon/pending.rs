//! The one table of monitor requests waiting for an answer (commands,
//! version queries, pool operations), keyed by tid. Every entry carries
//! its deadline (`rados_mon_op_timeout`) and is sent again, as it is, on
//! every new monitor session.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ceph_encoding::{Encode, Uuid};
use ceph_msgr2::session::Message;

use super::messages::{
    MonCommand, MonGetVersion, PaxosHeader, PoolOp, MSG_MON_COMMAND, MSG_MON_GET_VERSION,
    MSG_POOLOP,
};

/// What a pending request asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestKind {
    /// A command (JSON strings) with its input.
    Command {
        /// The command.
        cmd: Vec<String>,
        /// Its input (the message's data part).
        input: Bytes,
    },
    /// The newest and oldest version of a map ("osdmap", ...).
    Version {
        /// Which map.
        what: String,
    },
    /// A pool operation (`POOL_OP_*`).
    PoolOp {
        /// The pool.
        pool: u32,
        /// The operation.
        op: u32,
        /// The snapshot id it names (0 if none).
        snapid: u64,
    },
}

impl RequestKind {
    /// A short description, for messages.
    pub fn describe(&self) -> String {
        match self {
            RequestKind::Command { cmd, .. } => format!("monitor command {}", cmd.join(" ")),
            RequestKind::Version { what } => format!("version query for the {what}"),
            RequestKind::PoolOp { pool, op, snapid } => {
                format!("pool operation {op:#x} on pool {pool} (snapid {snapid})")
            }
        }
    }

    /// The message that carries the request with `tid`.
    pub fn message(&self, tid: u64, fsid: Uuid) -> Message {
        match self {
            RequestKind::Command { cmd, input } => {
                let m = MonCommand {
                    paxos: PaxosHeader::default(),
                    fsid,
                    cmd: cmd.clone(),
                };
                Message::new(MSG_MON_COMMAND, 1, 1, m.to_bytes(0))
                    .with_tid(tid)
                    .with_data(input.clone())
            }
            RequestKind::Version { what } => {
                let m = MonGetVersion {
                    handle: tid,
                    what: what.clone(),
                };
                Message::new(MSG_MON_GET_VERSION, 1, 1, m.to_bytes(0))
            }
            RequestKind::PoolOp { pool, op, snapid } => {
                let m = PoolOp {
                    paxos: PaxosHeader::default(),
                    fsid,
                    pool: *pool,
                    op: *op,
                    auid: 0,
                    snapid: *snapid,
                    name: String::new(),
                    pad: 0,
                    crush_rule: 0,
                };
                Message::new(MSG_POOLOP, 4, 2, m.to_bytes(0)).with_tid(tid)
            }
        }
    }
}

/// One request waiting for its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRequest {
    /// What it asks.
    pub kind: RequestKind,
    /// When it fails with a timeout (`None`: never).
    pub deadline: Option<Instant>,
    /// How many times it was sent.
    pub sent: u32,
}

/// The pending requests, by tid.
#[derive(Debug, Default)]
pub struct Pending {
    next_tid: u64,
    by_tid: BTreeMap<u64, PendingRequest>,
}

impl Pending {
    /// Adds a request made at `now` that may wait `timeout` (`None`: for
    /// ever); returns its tid.
    pub fn insert(&mut self, kind: RequestKind, now: Instant, timeout: Option<Duration>) -> u64 {
        self.next_tid += 1;
        let tid = self.next_tid;
        let deadline = timeout.and_then(|t| now.checked_add(t));
        self.by_tid.insert(
            tid,
            PendingRequest {
                kind,
                deadline,
                sent: 0,
            },
        );
        tid
    }

    /// Takes the request `tid` out, if it is pending and `accept` says its
    /// kind is the one answered.
    pub fn take_if(
        &mut self,
        tid: u64,
        accept: impl FnOnce(&RequestKind) -> bool,
    ) -> Option<PendingRequest> {
        if self.by_tid.get(&tid).is_some_and(|p| accept(&p.kind)) {
            self.by_tid.remove(&tid)
        } else {
            None
        }
    }

    /// The messages of every pending request, in tid order, each counted
    /// as sent once more.
    pub fn messages(&mut self, fsid: Uuid) -> Vec<Message> {
        self.by_tid
            .iter_mut()
            .map(|(tid, p)| {
                p.sent = p.sent.saturating_add(1);
                p.kind.message(*tid, fsid)
            })
            .collect()
    }

    /// The message of request `tid`, counted as sent.
    pub fn message(&mut self, tid: u64, fsid: Uuid) -> Option<Message> {
        let p = self.by_tid.get_mut(&tid)?;
        p.sent = p.sent.saturating_add(1);
        Some(p.kind.message(tid, fsid))
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.by_tid.values().filter_map(|p| p.deadline).min()
    }

    /// Takes out the requests whose deadline is at or before `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<(u64, PendingRequest)> {
        let due: Vec<u64> = self
            .by_tid
            .iter()
            .filter(|(_, p)| p.deadline.is_some_and(|d| d <= now))
            .map(|(tid, _)| *tid)
            .collect();
        due.into_iter()
            .filter_map(|tid| self.by_tid.remove(&tid).map(|p| (tid, p)))
            .collect()
    }

    /// Takes out every request.
    pub fn drain(&mut self) -> Vec<(u64, PendingRequest)> {
        std::mem::take(&mut self.by_tid).into_iter().collect()
    }

    /// The request `tid`, if pending.
    pub fn get(&self, tid: u64) -> Option<&PendingRequest> {
        self.by_tid.get(&tid)
    }

    /// How many requests are pending.
    pub fn len(&self) -> usize {
        self.by_tid.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.by_tid.is_empty()
    }
}
