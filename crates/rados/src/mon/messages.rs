//! The monitor messages a client uses, each defined once for both
//! directions with `ceph_struct!`.

use std::collections::BTreeMap;

use bytes::Bytes;
use ceph_encoding::{ceph_struct, Uuid};

/// `CEPH_MSG_MON_MAP`.
pub const MSG_MON_MAP: u16 = 4;
/// `CEPH_MSG_MON_SUBSCRIBE`.
pub const MSG_MON_SUBSCRIBE: u16 = 15;
/// `CEPH_MSG_MON_SUBSCRIBE_ACK`.
pub const MSG_MON_SUBSCRIBE_ACK: u16 = 16;
/// `CEPH_MSG_AUTH`.
pub const MSG_AUTH: u16 = 17;
/// `CEPH_MSG_AUTH_REPLY`.
pub const MSG_AUTH_REPLY: u16 = 18;
/// `CEPH_MSG_MON_GET_VERSION`.
pub const MSG_MON_GET_VERSION: u16 = 19;
/// `CEPH_MSG_MON_GET_VERSION_REPLY`.
pub const MSG_MON_GET_VERSION_REPLY: u16 = 20;
/// `CEPH_MSG_OSD_MAP`.
pub const MSG_OSD_MAP: u16 = 41;
/// `CEPH_MSG_POOLOP_REPLY`.
pub const MSG_POOLOP_REPLY: u16 = 48;
/// `CEPH_MSG_POOLOP`.
pub const MSG_POOLOP: u16 = 49;
/// `MSG_MON_COMMAND`.
pub const MSG_MON_COMMAND: u16 = 50;
/// `MSG_MON_COMMAND_ACK`.
pub const MSG_MON_COMMAND_ACK: u16 = 51;
/// `MSG_CONFIG` (configuration pushed by the monitor).
pub const MSG_CONFIG: u16 = 62;

/// `CEPH_SUBSCRIBE_ONETIME`.
pub const SUBSCRIBE_ONETIME: u8 = 1;

ceph_struct! {
    /// The header of messages handled by a Paxos service.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct PaxosHeader {
        /// The map version the sender has.
        pub version: u64,
        /// Unused (-1).
        pub deprecated_session_mon: i16,
        /// Unused (0).
        pub deprecated_session_mon_tid: u64,
    }
}

impl Default for PaxosHeader {
    fn default() -> PaxosHeader {
        PaxosHeader {
            version: 0,
            deprecated_session_mon: -1,
            deprecated_session_mon_tid: 0,
        }
    }
}

ceph_struct! {
    /// MMonCommand: a command (JSON strings) for the monitor; input in
    /// the data part.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MonCommand {
        /// Paxos header.
        pub paxos: PaxosHeader,
        /// The cluster's fsid.
        pub fsid: Uuid,
        /// The command, as JSON.
        pub cmd: Vec<String>,
    }
}

ceph_struct! {
    /// MMonCommandAck: status and status string; output in the data part.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MonCommandAck {
        /// Paxos header.
        pub paxos: PaxosHeader,
        /// 0 or a negative errno.
        pub r: i32,
        /// The status string.
        pub rs: String,
        /// The command answered.
        pub cmd: Vec<String>,
    }
}

ceph_struct! {
    /// One subscription: from which version, once or ongoing.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct SubscribeItem {
        /// The first version wanted.
        pub start: u64,
        /// `SUBSCRIBE_ONETIME` or 0.
        pub flags: u8,
    }
}

ceph_struct! {
    /// MMonSubscribe (version 3): what we want to be sent.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MonSubscribe {
        /// Maps by name ("monmap", "osdmap", "config", ...).
        pub what: BTreeMap<String, SubscribeItem>,
        /// Our host name.
        pub hostname: String,
    }
}

ceph_struct! {
    /// MMonGetVersion: the newest version of a map.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MonGetVersion {
        /// Our request id.
        pub handle: u64,
        /// "osdmap", "monmap", ...
        pub what: String,
    }
}

ceph_struct! {
    /// MMonGetVersionReply.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct MonGetVersionReply {
        /// The request id.
        pub handle: u64,
        /// The newest version.
        pub version: u64,
        /// The oldest version the monitor keeps.
        pub oldest_version: u64,
    }
}

ceph_struct! {
    /// MAuth: an authentication request on an open session (ticket
    /// renewal).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MonAuth {
        /// Paxos header.
        pub paxos: PaxosHeader,
        /// The auth method.
        pub protocol: u32,
        /// The method's payload.
        pub auth_payload: Bytes,
        /// The monmap epoch we have.
        pub monmap_epoch: u32,
    }
}

ceph_struct! {
    /// MAuthReply.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MonAuthReply {
        /// The auth method.
        pub protocol: u32,
        /// 0 or a negative errno.
        pub result: i32,
        /// Our global id.
        pub global_id: u64,
        /// The method's reply.
        pub result_bl: Bytes,
        /// A message for humans.
        pub result_msg: String,
    }
}

ceph_struct! {
    /// MMonMap: the encoded monmap.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MonMapMessage {
        /// The MonMap's encoding.
        pub monmap: Bytes,
    }
}

/// Pool operation: allocate a self-managed snapshot id.
pub const POOL_OP_CREATE_UNMANAGED_SNAP: u32 = 0x21;
/// Pool operation: release a self-managed snapshot id.
pub const POOL_OP_DELETE_UNMANAGED_SNAP: u32 = 0x22;

ceph_struct! {
    /// MPoolOp (version 4): an operation on a pool handled by the monitor.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct PoolOp {
        /// Paxos header (version: the osdmap epoch we have).
        pub paxos: PaxosHeader,
        /// The cluster's fsid.
        pub fsid: Uuid,
        /// The pool.
        pub pool: u32,
        /// `POOL_OP_*`.
        pub op: u32,
        /// Obsolete owner id (0).
        pub auid: u64,
        /// The snapshot id (for removal).
        pub snapid: u64,
        /// A snapshot name (pool snapshots; empty here).
        pub name: String,
        /// Padding kept by the v3 to v4 change (0).
        pub pad: u8,
        /// Crush rule (pool creation; 0 here).
        pub crush_rule: i16,
    }
}

ceph_struct! {
    /// MPoolOpReply.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct PoolOpReply {
        /// Paxos header.
        pub paxos: PaxosHeader,
        /// The cluster's fsid.
        pub fsid: Uuid,
        /// 0 or a negative errno (sent as unsigned).
        pub reply_code: u32,
        /// The osdmap epoch that carries the change.
        pub epoch: u32,
        /// Extra data (the new snapshot id), if any.
        pub response: Option<Bytes>,
    }
}
