//! Small OSD-side types a client sends and receives: placement group ids,
//! object locators, request ids, versions and redirects.

use bytes::BytesMut;
use ceph_encoding::{ceph_struct, Decode, DecodeError, Encode, EntityNameT, ErrorKind, Reader};

/// A placement group: pool and seed (`pg_t`). Encoded with a version
/// byte and the obsolete "preferred" field (-1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PgId {
    /// The pool.
    pub pool: u64,
    /// The placement seed (the PG number).
    pub seed: u32,
}

impl Encode for PgId {
    fn encode(&self, buf: &mut BytesMut, f: u64) {
        1u8.encode(buf, f);
        self.pool.encode(buf, f);
        self.seed.encode(buf, f);
        (-1i32).encode(buf, f);
    }
}

impl Decode for PgId {
    const MIN_ENCODED_SIZE: usize = 17;
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let v: u8 = r.read()?;
        if v != 1 {
            return Err(r.error(ErrorKind::InvalidValue {
                what: "pg_t version",
                value: u64::from(v),
            }));
        }
        let pool = r.read()?;
        let seed = r.read()?;
        let _preferred: i32 = r.read()?;
        Ok(PgId { pool, seed })
    }
}

impl std::fmt::Display for PgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:x}", self.pool, self.seed)
    }
}

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
    /// An object version (`eversion_t`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct EVersion {
        /// Version within the epoch.
        pub version: u64,
        /// Epoch.
        pub epoch: u32,
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
