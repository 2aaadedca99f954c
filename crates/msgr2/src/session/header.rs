//! `ceph_msg_header2`: the first segment of every MESSAGE frame.

use ceph_encoding::ceph_struct;

/// Default message priority (`CEPH_MSG_PRIO_DEFAULT`).
pub const PRIO_DEFAULT: u16 = 127;
/// High priority (`CEPH_MSG_PRIO_HIGH`).
pub const PRIO_HIGH: u16 = 196;

ceph_struct! {
    /// The header of a message on a msgr2 connection (packed, 41 bytes).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct MsgHeader2 {
        /// Sequence number on this session.
        pub seq: u64,
        /// Transaction id (matches a reply to its request).
        pub tid: u64,
        /// `CEPH_MSG_*` type.
        pub msg_type: u16,
        /// Priority.
        pub priority: u16,
        /// Encoding version of the payload (HEAD_VERSION).
        pub version: u16,
        /// Padding before the data segment (unused by msgr2.1, 0).
        pub data_pre_padding_len: u32,
        /// Offset hint for the data (0).
        pub data_off: u16,
        /// The last sequence we received from the peer.
        pub ack_seq: u64,
        /// Flags (0).
        pub flags: u8,
        /// The oldest version able to decode the payload (COMPAT_VERSION).
        pub compat_version: u16,
        /// Reserved (0).
        pub reserved: u16,
    }
}

/// The encoded length of [`MsgHeader2`].
pub const MSG_HEADER2_LEN: usize = 41;

#[cfg(test)]
mod tests {
    use super::*;
    use ceph_encoding::{Decode, Encode};

    #[test]
    fn header_is_41_bytes_and_round_trips() {
        let h = MsgHeader2 {
            seq: 1,
            tid: 2,
            msg_type: 50,
            priority: PRIO_DEFAULT,
            version: 1,
            ack_seq: 3,
            compat_version: 1,
            ..MsgHeader2::default()
        };
        let b = h.to_bytes(0);
        assert_eq!(b.len(), MSG_HEADER2_LEN);
        assert_eq!(&b[16..18], &50u16.to_le_bytes());
        assert_eq!(MsgHeader2::decode_exact(&b).unwrap(), h);
    }
}
