//! Object-class calls, as every part of an image makes them.

use ceph_rados::IoCtx;

use crate::cls::ClsMethod;
use crate::{Error, Result};

/// Runs one object-class method on `oid` and decodes its answer.
pub(crate) async fn call<M: ClsMethod>(io: &IoCtx, oid: &str, m: &M) -> Result<M::Output> {
    let out = io
        .call(oid, M::CLASS, M::METHOD, &m.input())
        .await
        .map_err(|e| Error::rados(format!("{}.{} on {oid}", M::CLASS, M::METHOD), e))?;
    M::decode_output(&out)
}
