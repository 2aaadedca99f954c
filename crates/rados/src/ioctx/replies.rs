//! The pure part of [`IoCtx`](super::IoCtx)'s handling of OSD replies:
//! checking the op count, taking the first op's output and decoding the
//! outputs of stat, sparse reads, xattrs and omap batches. No I/O, so that
//! the `osd_reply_outputs` fuzz target can drive it.

use std::collections::BTreeMap;

use bytes::Bytes;
use ceph_encoding::{Decode, DecodeError, ErrorKind, Reader, UTime};

use crate::error::{RadosError, Result};
use crate::objecter::OpReply;
use crate::osd::messages::decode_stat;
use crate::osd::watch::decode_sparse_read;

/// Keys an omap batch asks for ([`omap_batch`] pages by this many).
pub const OMAP_BATCH: u64 = 512;

/// Decodes `data` as a `T`, an answer about `what`.
pub fn decode<T: Decode>(what: &'static str, data: &[u8]) -> Result<T> {
    T::decode(&mut Reader::new(data)).map_err(|e| RadosError::Decode { what, source: e })
}

/// Checks that `reply` answers each of the `requested` ops of a request
/// on `object` (an OSD answers every op, even on error: its MOSDOpReply
/// copies the request's ops); another count is a protocol error.
pub fn check_op_count(object: &str, requested: usize, reply: OpReply) -> Result<OpReply> {
    if reply.ops.len() != requested {
        return Err(RadosError::op_count(
            object.to_string(),
            requested,
            reply.ops.len(),
        ));
    }
    Ok(reply)
}

/// The output of the first op of `reply`, a reply to a request on `object`.
pub fn first_output(object: &str, reply: OpReply) -> Result<Bytes> {
    let got = reply.ops.len();
    reply
        .ops
        .into_iter()
        .next()
        .map(|o| o.outdata)
        .ok_or_else(|| RadosError::op_count(object.to_string(), 1, got))
}

/// A stat op's output: size and modification time.
pub fn stat_output(out: &[u8]) -> Result<(u64, UTime)> {
    decode_stat(out).map_err(|e| RadosError::Decode {
        what: "stat output",
        source: e,
    })
}

/// A sparse read's output as (offset, bytes) pairs that share `out`'s
/// buffer; extents longer than the data are an error.
pub fn sparse_read_output(out: &Bytes) -> Result<Vec<(u64, Bytes)>> {
    let malformed = || RadosError::Decode {
        what: "sparse read",
        source: DecodeError::new(
            ErrorKind::Malformed {
                what: "sparse read",
                reason: "extents longer than the data",
            },
            0,
        ),
    };
    let (extents, data) = decode_sparse_read(out).map_err(|e| RadosError::Decode {
        what: "sparse read",
        source: e,
    })?;
    let mut at = 0usize;
    let mut parts = Vec::with_capacity(extents.len());
    for (off, len) in extents {
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| at.checked_add(l))
            .filter(|e| *e <= data.len())
            .ok_or_else(malformed)?;
        parts.push((off, data.slice(at..end)));
        at = end;
    }
    Ok(parts)
}

/// A getxattrs op's output: every attribute.
pub fn xattrs_output(out: &[u8]) -> Result<BTreeMap<String, Bytes>> {
    decode("xattrs", out)
}

/// One batch of an omap listing of `object` that asked for the keys after
/// `after`: the keys and values, and the key to ask after next if there
/// are more. A batch that says there are more but does not get past
/// `after` is a protocol error (asking again would loop for ever).
pub fn omap_batch(
    object: &str,
    after: &str,
    out: &[u8],
) -> Result<(BTreeMap<String, Bytes>, Option<String>)> {
    let mut rd = Reader::new(out);
    let batch: BTreeMap<String, Bytes> = rd.read().map_err(|e| RadosError::Decode {
        what: "omap values",
        source: e,
    })?;
    let more: bool = if rd.is_empty() {
        !batch.is_empty() && batch.len() as u64 >= OMAP_BATCH
    } else {
        rd.read().unwrap_or(false)
    };
    let next = match batch.keys().next_back() {
        Some(last) if more => {
            if last.as_str() <= after {
                return Err(RadosError::Protocol {
                    object: object.to_string(),
                    detail: format!(
                        "an omap batch after key {after:?} ends at {last:?} and says there are more"
                    ),
                });
            }
            Some(last.clone())
        }
        _ => None,
    };
    Ok((batch, next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ceph_encoding::Encode;

    fn batch(keys: &[&str], more: Option<bool>) -> Vec<u8> {
        let map: BTreeMap<String, Bytes> = keys
            .iter()
            .map(|k| (k.to_string(), Bytes::from_static(b"v")))
            .collect();
        let mut out = map.to_bytes(0).to_vec();
        if let Some(m) = more {
            out.extend_from_slice(&m.to_bytes(0));
        }
        out
    }

    #[test]
    fn an_omap_batch_that_does_not_advance_is_refused() {
        // An OSD answering "after b" with a..b and "more" would have the
        // listing ask after b for ever.
        let r = omap_batch("rbd/h", "b", &batch(&["a", "b"], Some(true)));
        let text = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("rbd/h") && text.contains("more"), "{text}");
        let r = omap_batch("rbd/h", "", &batch(&[""], Some(true)));
        assert!(r.is_err());
        let next = omap_batch("rbd/h", "b", &batch(&["c", "d"], Some(true))).map(|r| r.1);
        assert_eq!(next.ok(), Some(Some("d".to_string())));
        let done = omap_batch("rbd/h", "b", &batch(&["c"], Some(false))).map(|r| r.1);
        assert_eq!(done.ok(), Some(None));
        let old = omap_batch("rbd/h", "", &batch(&["a"], None)).map(|r| r.1);
        assert_eq!(old.ok(), Some(None));
    }
}
