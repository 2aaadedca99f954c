//! A Ceph message as the session layer carries it.

use bytes::Bytes;

use super::header::{MsgHeader2, PRIO_DEFAULT};

/// A message: its type and encoding versions, its transaction id, and its
/// three payload parts (front, middle, data).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// `CEPH_MSG_*` type.
    pub msg_type: u16,
    /// Encoding version of the payload.
    pub version: u16,
    /// Oldest version able to decode it.
    pub compat_version: u16,
    /// Priority.
    pub priority: u16,
    /// Transaction id.
    pub tid: u64,
    /// Sequence number on the session (set when sent or received).
    pub seq: u64,
    /// The front part: the message's own encoding.
    pub front: Bytes,
    /// The middle part (rarely used).
    pub middle: Bytes,
    /// The data part: bulk payload (object data, command input/output).
    pub data: Bytes,
}

impl Message {
    /// A message of `msg_type` with encoding `version`/`compat_version`
    /// and a front part.
    pub fn new(msg_type: u16, version: u16, compat_version: u16, front: Bytes) -> Message {
        Message {
            msg_type,
            version,
            compat_version,
            priority: PRIO_DEFAULT,
            front,
            ..Message::default()
        }
    }

    /// Sets the transaction id.
    pub fn with_tid(mut self, tid: u64) -> Message {
        self.tid = tid;
        self
    }

    /// Sets the data part.
    pub fn with_data(mut self, data: Bytes) -> Message {
        self.data = data;
        self
    }

    pub(crate) fn header(&self, seq: u64, ack_seq: u64) -> MsgHeader2 {
        MsgHeader2 {
            seq,
            tid: self.tid,
            msg_type: self.msg_type,
            priority: self.priority,
            version: self.version,
            data_pre_padding_len: 0,
            data_off: 0,
            ack_seq,
            flags: 0,
            compat_version: self.compat_version,
            reserved: 0,
        }
    }

    pub(crate) fn from_parts(h: &MsgHeader2, front: Bytes, middle: Bytes, data: Bytes) -> Message {
        Message {
            msg_type: h.msg_type,
            version: h.version,
            compat_version: h.compat_version,
            priority: h.priority,
            tid: h.tid,
            seq: h.seq,
            front,
            middle,
            data,
        }
    }
}
