//! Small OSD-side types a client sends and receives: placement group ids
//! with their shard, object locators, request ids, versions and redirects.

use bytes::BytesMut;
use ceph_encoding::{ceph_struct, Decode, DecodeError, Encode, EntityNameT, Reader};

/// `pg_t` and `eversion_t`, which the OSD map and the OSD messages share,
/// are defined once, with the map's types.
pub use crate::osdmap::{EVersion, PgId};

/// A PG and a shard (`spg_t`; shard -1 for replicated pools).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SPgId {
    /// The PG.
    pub pgid: PgId,
    /// The erasure-code shard, or -1.
    pub shard: i8,
}

impl Encode for SPgId {
    fn encode(&self, buf: &mut BytesMut, f: u64) {
        ceph_encoding::encode_versioned(buf, 1, 1, |b| {
            self.pgid.encode(b, f);
            self.shard.encode(b, f);
        });
    }
}

impl Decode for SPgId {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.versioned("spg_t", 1, |r, _| {
            Ok(SPgId {
                pgid: r.read()?,
                shard: r.read()?,
            })
        })
    }
}

ceph_struct! {
    /// Where an object lives (`object_locator_t`, version 6).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ObjectLocator : version 6, compat 3 {
        /// The pool.
        pub pool: i64,
        /// Obsolete (-1).
        pub preferred: i32,
        /// Locator key: placement by this instead of the object name.
        pub key: String,
        /// Namespace.
        pub nspace: String = since 5 => String::new(),
        /// Explicit hash, or -1.
        pub hash: i64 = since 6 => -1,
    }
}

impl ObjectLocator {
    /// The locator of pool `pool` and namespace `nspace`.
    pub fn new(pool: i64, nspace: &str) -> ObjectLocator {
        ObjectLocator {
            pool,
            preferred: -1,
            key: String::new(),
            nspace: nspace.to_string(),
            hash: -1,
        }
    }
}

ceph_struct! {
    /// A request id (`osd_reqid_t`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct ReqId : version 2, compat 2 {
        /// The client.
        pub name: EntityNameT,
        /// Its transaction id.
        pub tid: u64,
        /// Its incarnation.
        pub inc: i32,
    }
}

ceph_struct! {
    /// Where to send an op instead (`request_redirect_t`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RequestRedirect : version 1, compat 1 {
        /// The new locator.
        pub redirect_locator: ObjectLocator,
        /// The new object name (empty: same).
        pub redirect_object: String,
        /// Obsolete offset.
        pub osd_instructions: bytes::Bytes,
    }
}

ceph_struct! {
    /// An object's position in a PG's sort order (`hobject_t`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct HObject : version 4, compat 3 {
        /// Locator key.
        pub key: String,
        /// Object name.
        pub oid: String,
        /// Snapshot id.
        pub snap: u64,
        /// Hash.
        pub hash: u32,
        /// The end of the PG.
        pub max: bool,
        /// Namespace.
        pub nspace: String,
        /// Pool.
        pub pool: i64,
    }
}

impl HObject {
    /// The start of a listing.
    pub fn min() -> HObject {
        HObject {
            key: String::new(),
            oid: String::new(),
            snap: 0,
            hash: 0,
            max: false,
            nspace: String::new(),
            pool: i64::MIN,
        }
    }
}
