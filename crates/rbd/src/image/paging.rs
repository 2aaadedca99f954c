//! Listings the `rbd` class answers a page at a time (`dir_list` on
//! `rbd_directory`, `trash_list` on `rbd_trash`): each page is asked for
//! after the last key of the one before, until a page comes back short.

use std::collections::BTreeMap;

use ceph_common::errno::ENOENT;
use ceph_rados::IoCtx;

use super::cls_call::call;
use crate::cls::ClsMethod;
use crate::Result;

/// Entries asked for per round trip.
const PAGE: u64 = 1024;

/// Every entry of the listing on `oid`, in key order. `page(start_after,
/// max_return)` is the request for the page after key `start_after` (""
/// for the first). An object that does not exist lists nothing.
pub(super) async fn list_all<M, V>(
    io: &IoCtx,
    oid: &str,
    page: impl Fn(String, u64) -> M,
) -> Result<Vec<(String, V)>>
where
    M: ClsMethod<Output = BTreeMap<String, V>>,
{
    let mut out = Vec::new();
    let mut start_after = String::new();
    loop {
        let entries = match call(io, oid, &page(start_after.clone(), PAGE)).await {
            Err(e) if e.errno() == Some(ENOENT) => break,
            other => other?,
        };
        let n = entries.len() as u64;
        if let Some((last, _)) = entries.iter().next_back() {
            start_after = last.clone();
        }
        out.extend(entries);
        if n < PAGE {
            break;
        }
    }
    Ok(out)
}
