//! Listing a pool's objects, PG by PG (the PGNLS op).

use bytes::{Bytes, BytesMut};
use ceph_encoding::{ceph_struct, Decode, Encode, Reader};

use super::op::{code, OsdOp};
pub use super::types::HObject;
use crate::error::{RadosError, Result};
use crate::objecter::{Objecter, OpRequest};

/// The namespace value that asks for objects of every namespace.
pub const ALL_NAMESPACES: &str = "\u{1}";

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ListEntry {
    /// Its namespace.
    pub nspace: String,
    /// Its name.
    pub oid: String,
    /// Its locator key.
    pub locator: String,
}

impl Encode for ListEntry {
    fn encode(&self, buf: &mut BytesMut, f: u64) {
        self.nspace.encode(buf, f);
        self.oid.encode(buf, f);
        self.locator.encode(buf, f);
    }
}

impl Decode for ListEntry {
    const MIN_ENCODED_SIZE: usize = 12;
    fn decode(r: &mut Reader<'_>) -> std::result::Result<Self, ceph_encoding::DecodeError> {
        Ok(ListEntry {
            nspace: r.read()?,
            oid: r.read()?,
            locator: r.read()?,
        })
    }
}

ceph_struct! {
    /// PGNLS's answer: where to go on, and a batch of objects.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct PgNlsResponse : version 1, compat 1 {
        /// The position to continue from (max: the PG is done).
        pub handle: HObject,
        /// The objects.
        pub entries: Vec<ListEntry>,
    }
}

/// The PGNLS op: up to `count` objects after `cookie`.
pub fn pgnls_op(count: u64, cookie: &HObject, start_epoch: u32) -> OsdOp {
    let mut args = [0u8; 28];
    // pgls: count, start epoch.
    args[0..8].copy_from_slice(&count.to_le_bytes());
    args[8..12].copy_from_slice(&start_epoch.to_le_bytes());
    let mut d = BytesMut::new();
    cookie.encode(&mut d, 0);
    OsdOp {
        code: code::PGNLS,
        flags: 0,
        args,
        indata: d.freeze(),
    }
}

/// Every object of PG `seed` of `pool` in `nspace` (or all namespaces
/// with [`ALL_NAMESPACES`]).
pub async fn list_pg(
    objecter: &Objecter,
    pool: i64,
    seed: u32,
    nspace: &str,
) -> Result<Vec<ListEntry>> {
    let mut cookie = HObject::min();
    let mut out = Vec::new();
    let epoch = objecter.maps().map_or(0, |m| m.osdmap.epoch);
    for _ in 0..1_000_000 {
        let mut req = OpRequest::new(pool, "", vec![pgnls_op(1024, &cookie, epoch)]);
        req.nspace = nspace.to_string();
        req.pg = Some(seed);
        let r = objecter.execute(req).await?;
        if r.result < 0 {
            return Err(RadosError::Op {
                object: format!("pool {pool} pg {seed:x}"),
                status: r.result,
                hint: ceph_common::Errno(r.result).to_string(),
            });
        }
        let data: Bytes = r.ops.first().map(|o| o.outdata.clone()).unwrap_or_default();
        let resp =
            PgNlsResponse::decode(&mut Reader::new(&data)).map_err(|e| RadosError::Decode {
                what: "PGNLS reply",
                source: e,
            })?;
        out.extend(resp.entries);
        // 1: this PG is done (the handle then points at the next PG).
        if r.result == 1 || resp.handle.max {
            return Ok(out);
        }
        cookie = resp.handle;
    }
    Err(RadosError::Timeout(format!(
        "listing pool {pool} pg {seed:x} never ended"
    )))
}
