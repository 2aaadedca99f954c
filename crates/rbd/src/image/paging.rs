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
        let next = next_page(oid, &start_after, &entries)?;
        out.extend(entries);
        match next {
            Some(key) => start_after = key,
            None => break,
        }
    }
    Ok(out)
}

/// The key to ask the next page of the listing on `oid` after, given the
/// page that came after `start_after`: none when the page is short (the
/// end). A full page whose last key is not past `start_after` is an
/// error: asking after that key again would loop (and grow the listing)
/// for ever.
fn next_page<V>(
    oid: &str,
    start_after: &str,
    entries: &BTreeMap<String, V>,
) -> Result<Option<String>> {
    if (entries.len() as u64) < PAGE {
        return Ok(None);
    }
    match entries.keys().next_back() {
        Some(last) if last.as_str() > start_after => Ok(Some(last.clone())),
        last => Err(crate::Error::Invalid {
            what: "listing page",
            reason: format!(
                "{oid}: a full page after {start_after:?} ends at {last:?}, not past it"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(keys: impl Iterator<Item = String>) -> BTreeMap<String, ()> {
        keys.map(|k| (k, ())).collect()
    }

    #[test]
    fn a_full_page_that_does_not_advance_is_refused() {
        let full = page((0..PAGE).map(|i| format!("k{i:05}")));
        let last = full.keys().next_back().cloned();
        assert_eq!(next_page("rbd_directory", "", &full).ok(), Some(last));
        // The same page again, after its own last key: no progress.
        let r = next_page("rbd_directory", "k01023", &full);
        let text = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("rbd_directory"), "{text}");
        let short = page(["a".to_string()].into_iter());
        assert_eq!(next_page("rbd_directory", "z", &short).ok(), Some(None));
    }
}
