//! OSD backoffs (`MOSDBackoff`): an OSD asks the client to stop sending
//! ops for a range of objects of a PG until it says unblock.

use std::cmp::Ordering;

use bytes::{Bytes, BytesMut};
use ceph_encoding::{Decode, DecodeError, Encode, Reader};

use super::types::{HObject, SPgId};

/// The message version we write.
pub const MOSDBACKOFF_VERSION: u16 = 1;

/// `CEPH_OSD_BACKOFF_OP_*`.
pub mod backoff_op {
    /// Stop sending ops in the range.
    pub const BLOCK: u8 = 1;
    /// The client's acknowledgement of a block.
    pub const ACK_BLOCK: u8 = 2;
    /// Ops in the range may be sent again.
    pub const UNBLOCK: u8 = 3;
}

/// An `MOSDBackoff` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MOsdBackoff {
    /// The PG.
    pub spgid: SPgId,
    /// The OSD's map epoch when it blocked.
    pub map_epoch: u32,
    /// `backoff_op::*`.
    pub op: u8,
    /// The backoff's id (per session).
    pub id: u64,
    /// The first object of the range.
    pub begin: HObject,
    /// The end of the range (excluded).
    pub end: HObject,
}

impl Encode for MOsdBackoff {
    fn encode(&self, buf: &mut BytesMut, f: u64) {
        self.spgid.encode(buf, f);
        self.map_epoch.encode(buf, f);
        self.op.encode(buf, f);
        self.id.encode(buf, f);
        self.begin.encode(buf, f);
        self.end.encode(buf, f);
    }
}

impl Decode for MOsdBackoff {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(MOsdBackoff {
            spgid: r.read()?,
            map_epoch: r.read()?,
            op: r.read()?,
            id: r.read()?,
            begin: r.read()?,
            end: r.read()?,
        })
    }
}

impl MOsdBackoff {
    /// The acknowledgement of this block, as the client sends it.
    pub fn ack(&self) -> Bytes {
        MOsdBackoff {
            op: backoff_op::ACK_BLOCK,
            ..self.clone()
        }
        .to_bytes(0)
    }

    /// Whether the object `o` falls in `[begin, end)` (or equals `begin`).
    pub fn covers(&self, o: &HObject) -> bool {
        let c = hobject_cmp(o, &self.begin);
        c == Ordering::Equal || (c == Ordering::Greater && hobject_cmp(o, &self.end).is_lt())
    }
}

/// The OSD's ("bitwise") sort order of objects within a pool: max last,
/// then pool, the hash with its bits reversed, namespace, the effective
/// key (locator key, else name), name, snapshot.
pub fn hobject_cmp(a: &HObject, b: &HObject) -> Ordering {
    let key = |o: &HObject| {
        if o.key.is_empty() {
            o.oid.clone()
        } else {
            o.key.clone()
        }
    };
    a.max.cmp(&b.max).then_with(|| {
        if a.max && b.max {
            Ordering::Equal
        } else {
            a.pool
                .cmp(&b.pool)
                .then(a.hash.reverse_bits().cmp(&b.hash.reverse_bits()))
                .then_with(|| a.nspace.cmp(&b.nspace))
                .then_with(|| key(a).cmp(&key(b)))
                .then_with(|| a.oid.cmp(&b.oid))
                .then(a.snap.cmp(&b.snap))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osd::types::PgId;

    fn obj(name: &str, hash: u32) -> HObject {
        HObject {
            key: String::new(),
            oid: name.into(),
            snap: super::super::NOSNAP,
            hash,
            max: false,
            nspace: String::new(),
            pool: 3,
        }
    }

    #[test]
    fn round_trip_and_ack() {
        let m = MOsdBackoff {
            spgid: SPgId {
                pgid: PgId { pool: 3, seed: 5 },
                shard: -1,
            },
            map_epoch: 77,
            op: backoff_op::BLOCK,
            id: 9,
            begin: obj("a", 0x10),
            end: obj("z", 0x20),
        };
        let b = m.to_bytes(0);
        assert_eq!(MOsdBackoff::decode_exact(&b).unwrap(), m);
        let ack = MOsdBackoff::decode_exact(&m.ack()).unwrap();
        assert_eq!(ack.op, backoff_op::ACK_BLOCK);
        assert_eq!(ack.id, 9);
        for cut in 0..b.len() {
            assert!(MOsdBackoff::decode_exact(&b[..cut]).is_err());
        }
    }

    #[test]
    fn ranges_follow_the_reversed_hash() {
        let m = MOsdBackoff {
            spgid: SPgId {
                pgid: PgId { pool: 3, seed: 0 },
                shard: -1,
            },
            map_epoch: 1,
            op: backoff_op::BLOCK,
            id: 1,
            begin: obj("", 0x0000_0000),
            end: obj("", 0x0000_0001), // reversed: 0x8000_0000
        };
        assert!(m.covers(&obj("x", 0x0000_0002))); // reversed 0x4000_0000
        assert!(!m.covers(&obj("x", 0x0000_0003))); // reversed 0xc000_0000
        let mut max = obj("", 0);
        max.max = true;
        assert!(hobject_cmp(&obj("x", u32::MAX), &max).is_lt());
    }
}
