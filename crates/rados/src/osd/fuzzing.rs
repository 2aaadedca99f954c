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

/// Decodes arbitrary bytes as the other messages and outputs an OSD
/// sends a client: `MWatchNotify` (the first byte picks the message
/// version), a notify completion, a watcher list, `MOSDBackoff` and
/// SPARSE_READ's output. Must not panic.
pub fn watch_and_backoff(data: &[u8]) {
    use ceph_encoding::Decode;
    let Some((&v, rest)) = data.split_first() else {
        return;
    };
    let _ = super::watch::MWatchNotify::decode(rest, u16::from(v % 4));
    let _ = super::watch::NotifyResult::decode_exact(rest);
    let _ = super::watch::WatcherList::decode_exact(rest);
    if let Ok(b) = super::backoff::MOsdBackoff::decode_exact(rest) {
        let _ = b.covers(&b.end);
    }
    let _ = super::watch::decode_sparse_read(&Bytes::copy_from_slice(rest));
}
