//! The body of the `osd_reply_outputs` fuzz target.

use bytes::Bytes;

use super::replies::{
    check_op_count, first_output, omap_batch, sparse_read_output, stat_output, xattrs_output,
};
use crate::objecter::OpReply;
use crate::osd::OpResult;

/// Feeds an OSD reply to what [`IoCtx`](super::IoCtx) does with it. The
/// first byte picks the ops requested (low 2 bits), the ops in the reply
/// (next 2) and the consumer (high 4: stat, sparse read, xattrs, omap
/// batch after no key or after the key in the next byte); the rest is
/// every op's output. Panics only on a bug: a reply with another op count
/// is refused, and what is decoded stays within the output.
pub fn reply_outputs(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let requested = usize::from(sel & 3);
    let answered = usize::from((sel >> 2) & 3);
    let out = Bytes::copy_from_slice(rest);
    let reply = OpReply {
        result: 0,
        ops: (0..answered)
            .map(|_| OpResult {
                code: 0,
                rval: 0,
                outdata: out.clone(),
            })
            .collect(),
        version: 0,
    };
    let checked = check_op_count("fuzz/obj", requested, reply);
    assert_eq!(checked.is_ok(), requested == answered);
    let Ok(reply) = checked else {
        return;
    };
    let first = first_output("fuzz/obj", reply);
    assert_eq!(first.is_ok(), answered > 0);
    let Ok(out) = first else {
        return;
    };
    match sel >> 4 {
        0..=3 => {
            let _ = stat_output(&out);
        }
        4..=7 => {
            if let Ok(parts) = sparse_read_output(&out) {
                let total: usize = parts.iter().map(|p| p.1.len()).sum();
                assert!(total <= out.len());
            }
        }
        8..=11 => {
            if let Ok(attrs) = xattrs_output(&out) {
                assert!(attrs.len() <= out.len());
            }
        }
        _ => {
            let after = if sel & 0x10 == 0 {
                String::new()
            } else {
                char::from(out.first().copied().unwrap_or(b'a') & 0x7f).to_string()
            };
            if let Ok((batch, next)) = omap_batch("fuzz/obj", &after, &out) {
                assert!(batch.len() <= out.len());
                if let Some(next) = next {
                    assert!(next > after && batch.contains_key(&next));
                }
            }
        }
    }
}
