//! Fuzz target bodies for the OSD message decoders (see `fuzz/`).

use bytes::Bytes;

use super::listing::PgNlsResponse;
use super::MOsdOpReply;

/// Decodes arbitrary bytes as an MOSDOpReply (the first byte picks the
/// encoding version, the next two bytes the length of the front part,
/// the rest is front then data) and as a PGNLS response. Must not panic.
pub fn op_reply(data: &[u8]) {
    let Some((&v, rest)) = data.split_first() else {
        return;
    };
    let version = u16::from(v % 12);
    let (front_len, rest) = match rest {
        [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        _ => (0, rest),
    };
    let front_len = front_len.min(rest.len());
    let (front, payload) = rest.split_at(front_len);
    let payload = Bytes::copy_from_slice(payload);
    if let Ok(reply) = MOsdOpReply::decode(front, version, &payload) {
        let total: usize = reply.ops.iter().map(|o| o.outdata.len()).sum();
        assert!(total <= payload.len(), "outdata longer than the data part");
    }
    let _ = <PgNlsResponse as ceph_encoding::Decode>::decode_exact(data);
}
