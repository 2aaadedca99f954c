//! Watch/notify on the wire: the OSD's `MWatchNotify` message, the
//! completion a notifier receives, and the watcher list.

use bytes::{Bytes, BytesMut};
use ceph_encoding::{ceph_struct, DecodeError, Encode, EntityAddr, EntityNameT, Reader};

/// `CEPH_MSG_WATCH_NOTIFY`.
pub const MSG_WATCH_NOTIFY: u16 = 44;
/// The `MWatchNotify` encoding we write (return code and notifier gid
/// included).
pub const MWATCHNOTIFY_VERSION: u16 = 3;

/// `CEPH_OSD_WATCH_OP_*`: what a WATCH op does.
pub mod watch_op {
    /// Remove the watch.
    pub const UNWATCH: u8 = 0;
    /// Register a watch.
    pub const WATCH: u8 = 3;
    /// Re-attach a registered watch to a new session.
    pub const RECONNECT: u8 = 5;
    /// Check that the watch is still attached.
    pub const PING: u8 = 7;
}

/// `CEPH_WATCH_EVENT_*`: what an `MWatchNotify` says.
pub mod event {
    /// A notification to a watcher.
    pub const NOTIFY: u8 = 1;
    /// The end of a notify, to the notifier.
    pub const NOTIFY_COMPLETE: u8 = 2;
    /// The watch was torn down by the OSD.
    pub const DISCONNECT: u8 = 3;
}

/// An `MWatchNotify` message (front part; a notify completion's result
/// may come in the message's data part instead of `payload`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MWatchNotify {
    /// `event::*`.
    pub opcode: u8,
    /// The watch (or notify) cookie it is for.
    pub cookie: u64,
    /// The object's version (unused by clients).
    pub ver: u64,
    /// The notification's id.
    pub notify_id: u64,
    /// The notification's payload.
    pub payload: Bytes,
    /// For a completion: 0, or -ETIMEDOUT when watchers did not answer.
    pub return_code: i32,
    /// Who sent the notification.
    pub notifier_gid: u64,
}

impl MWatchNotify {
    /// Encodes the front part (message version [`MWATCHNOTIFY_VERSION`]).
    pub fn encode_front(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(40 + self.payload.len());
        1u8.encode(&mut b, 0);
        self.opcode.encode(&mut b, 0);
        self.cookie.encode(&mut b, 0);
        self.ver.encode(&mut b, 0);
        self.notify_id.encode(&mut b, 0);
        self.payload.encode(&mut b, 0);
        self.return_code.encode(&mut b, 0);
        self.notifier_gid.encode(&mut b, 0);
        b.freeze()
    }

    /// Decodes the front part of a message of header version `version`.
    pub fn decode(front: &[u8], version: u16) -> Result<MWatchNotify, DecodeError> {
        let mut r = Reader::new(front);
        let proto: u8 = r.read()?;
        let opcode = r.read()?;
        let cookie = r.read()?;
        let ver = r.read()?;
        let notify_id = r.read()?;
        let payload = if proto >= 1 { r.read()? } else { Bytes::new() };
        let return_code = if version >= 2 { r.read()? } else { 0 };
        let notifier_gid = if version >= 3 { r.read()? } else { 0 };
        Ok(MWatchNotify {
            opcode,
            cookie,
            ver,
            notify_id,
            payload,
            return_code,
            notifier_gid,
        })
    }
}

ceph_struct! {
    /// A watcher: the client's global id and its watch cookie.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub struct WatcherId {
        /// The watching client's global id.
        pub gid: u64,
        /// Its watch cookie.
        pub cookie: u64,
    }
}

ceph_struct! {
    /// What a notifier learns when its notify completes: each watcher's
    /// answer, and the watchers that did not answer in time.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct NotifyResult {
        /// Answers by watcher.
        pub acks: std::collections::BTreeMap<WatcherId, Bytes>,
        /// Watchers that timed out.
        pub timeouts: Vec<WatcherId>,
    }
}

ceph_struct! {
    /// One watcher of an object (`watch_item_t`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct WatchItem : version 2, compat 1 {
        /// The watching entity.
        pub name: EntityNameT,
        /// Its cookie.
        pub cookie: u64,
        /// Its timeout in seconds.
        pub timeout_seconds: u32,
        /// Its address.
        pub addr: EntityAddr = since 2 => EntityAddr::default(),
    }
}

ceph_struct! {
    /// The answer to LIST_WATCHERS (`obj_list_watch_response_t`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct WatcherList : version 1, compat 1 {
        /// The watchers.
        pub entries: Vec<WatchItem>,
    }
}

/// Decodes SPARSE_READ's output: the extents that hold data, as
/// (offset, length), and their bytes back to back.
pub fn decode_sparse_read(out: &Bytes) -> Result<(Vec<(u64, u64)>, Bytes), DecodeError> {
    let mut r = Reader::new(out);
    let extents: std::collections::BTreeMap<u64, u64> = r.read()?;
    let data: Bytes = r.read()?;
    Ok((extents.into_iter().collect(), data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ceph_encoding::Decode;

    #[test]
    fn watch_notify_round_trip_and_older_versions() {
        let m = MWatchNotify {
            opcode: event::NOTIFY,
            cookie: 7,
            ver: 9,
            notify_id: 1 << 40,
            payload: Bytes::from_static(b"hello"),
            return_code: -110,
            notifier_gid: 4242,
        };
        let front = m.encode_front();
        assert_eq!(MWatchNotify::decode(&front, 3).unwrap(), m);
        let v1 = MWatchNotify::decode(&front, 1).unwrap();
        assert_eq!((v1.return_code, v1.notifier_gid), (0, 0));
        assert_eq!(v1.payload, m.payload);
        for cut in 0..29 {
            assert!(MWatchNotify::decode(&front[..cut], 3).is_err());
        }
    }

    #[test]
    fn notify_result_round_trip() {
        let mut r = NotifyResult::default();
        r.acks.insert(
            WatcherId { gid: 1, cookie: 2 },
            Bytes::from_static(b"\x01\x00"),
        );
        r.timeouts.push(WatcherId { gid: 3, cookie: 4 });
        let b = r.to_bytes(0);
        assert_eq!(NotifyResult::decode_exact(&b).unwrap(), r);
    }

    #[test]
    fn sparse_read_output() {
        let mut b = BytesMut::new();
        let mut m = std::collections::BTreeMap::new();
        m.insert(0u64, 2u64);
        m.insert(4096u64, 3u64);
        m.encode(&mut b, 0);
        Bytes::from_static(b"abcde").encode(&mut b, 0);
        let (ext, data) = decode_sparse_read(&b.freeze()).unwrap();
        assert_eq!(ext, vec![(0, 2), (4096, 3)]);
        assert_eq!(&data[..], b"abcde");
    }
}
