//! The body of the `objecter_replies` fuzz target, public so that the
//! saved corpus replays as an ordinary test: an MOSDMap message, then a
//! script of OSD messages, session events and time steps fed to an
//! [`ObjecterCore`] with a few ops in flight. Must never panic.
//!
//! Input layout: a little-endian `u16` length, that many bytes of MOSDMap
//! front (fsid, incrementals, fulls: the core's fsid is taken from its
//! first 16 bytes, so the fsid check passes unless a record changes it),
//! then records of `[kind, osd, tid, len lo, len hi, bytes...]`; a
//! message record's bytes are its front's length (`u16`), front and data
//! ([`message_record`]).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ceph_encoding::{Decode, Encode, Reader, UTime, Uuid};
use ceph_msgr2::session::Message;

use super::core::{Action, ObjecterCore};
use super::request::{ObjecterOptions, OpRequest};
use crate::crush::fuzzing::cheap_to_map;
use crate::crush::CrushMap;
use crate::osd::messages::{MSG_OSD_BACKOFF, MSG_OSD_OPREPLY};
use crate::osd::watch::{watch_op, MSG_WATCH_NOTIFY};
use crate::osd::OsdOp;
use crate::osdmap::{Incremental, OsdMap};

/// The front part of an MOSDMap message of cluster `fsid`.
pub fn osdmap_message(fsid: Uuid, incrementals: &[(u32, Bytes)], fulls: &[(u32, Bytes)]) -> Bytes {
    let mut b = BytesMut::new();
    fsid.encode(&mut b, 0);
    let incs: BTreeMap<u32, Bytes> = incrementals.iter().cloned().collect();
    let fulls: BTreeMap<u32, Bytes> = fulls.iter().cloned().collect();
    incs.encode(&mut b, 0);
    fulls.encode(&mut b, 0);
    b.freeze()
}

/// An input for [`replies`]: the map message, then the records.
pub fn input(map_message: &[u8], records: &[(u8, u8, u8, &[u8])]) -> Vec<u8> {
    let len = map_message.len().min(usize::from(u16::MAX));
    let mut out = (len as u16).to_le_bytes().to_vec();
    out.extend_from_slice(&map_message[..len]);
    for (kind, osd, tid, bytes) in records {
        let n = bytes.len().min(usize::from(u16::MAX));
        out.extend_from_slice(&[*kind, *osd, *tid]);
        out.extend_from_slice(&(n as u16).to_le_bytes());
        out.extend_from_slice(&bytes[..n]);
    }
    out
}

/// Record kinds (the low three bits of a record's first byte).
pub mod record {
    /// An MOSDOpReply (message version: the kind byte's upper bits).
    pub const OP_REPLY: u8 = 0;
    /// An MWatchNotify.
    pub const WATCH_NOTIFY: u8 = 1;
    /// An MOSDBackoff.
    pub const BACKOFF: u8 = 2;
    /// Another MOSDMap message.
    pub const OSD_MAP: u8 = 3;
    /// The OSD's current session fails.
    pub const SESSION_FAILED: u8 = 4;
    /// Time passes (the tid byte in seconds) and timed work runs.
    pub const TIME: u8 = 5;
    /// A new op on the object the bytes name.
    pub const SUBMIT: u8 = 6;
    /// The core's fsid becomes the bytes' first 16 (a foreign cluster).
    pub const FSID: u8 = 7;
}

/// Whether placing objects with the maps of MOSDMap `front` stays cheap
/// (few OSDs, pools and PGs, a small CRUSH map); the fuzz body skips
/// others, whose cost says nothing about the objecter.
fn cheap_maps(front: &[u8]) -> bool {
    let mut r = Reader::new(front);
    let parts = (|| {
        let _: Uuid = r.read()?;
        let incs: BTreeMap<u32, Bytes> = r.read()?;
        let fulls: BTreeMap<u32, Bytes> = r.read()?;
        Ok::<_, ceph_encoding::DecodeError>((incs, fulls))
    })();
    let Ok((incs, fulls)) = parts else {
        return true; // the core refuses it before placing anything
    };
    let small_pool = |p: &crate::osdmap::PgPool| p.size <= 16 && p.pg_num <= 4096;
    let small_crush = |c: &[u8]| CrushMap::decode_exact(c).map_or(true, |m| cheap_to_map(&m));
    let fulls_ok = fulls.values().all(|f| {
        OsdMap::from_bytes(f).map_or(true, |m| {
            m.max_osd <= 256
                && m.pools.len() <= 16
                && m.pools.values().all(small_pool)
                && small_crush(&m.crush)
        })
    });
    let incs_ok = incs.values().all(|i| {
        Incremental::from_bytes(i).map_or(true, |inc| {
            inc.new_max_osd <= 256
                && inc.new_pools.len() <= 16
                && inc.new_pools.values().all(small_pool)
                && (inc.crush.is_empty() || small_crush(&inc.crush))
                && (inc.fullmap.is_empty()
                    || cheap_maps(&osdmap_message(Uuid::NIL, &[], &[(0, inc.fullmap.clone())])))
        })
    });
    fulls_ok && incs_ok
}

/// Drives a core with the map message and records of `data` (see the
/// module's documentation).
///
/// # Panics
///
/// On a bug: a panic inside the core, an op completed twice or never
/// submitted, or a timeout that is already due right after timed work
/// ran (the driver would spin).
pub fn replies(data: &[u8]) {
    let _ = drive(data);
}

/// The body of [`replies`]; what the core completed, unless the input
/// was skipped.
fn drive(data: &[u8]) -> Option<Run> {
    let (len, rest) = match data {
        [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        _ => return None,
    };
    let (front, mut records) = rest.split_at(len.min(rest.len()));
    if !cheap_maps(front) {
        return None;
    }
    let fsid = front
        .get(..16)
        .and_then(|b| Uuid::decode_exact(b).ok())
        .unwrap_or(Uuid::NIL);
    let opts = ObjecterOptions {
        op_timeout: Some(Duration::from_secs(30)),
        ..ObjecterOptions::default()
    };
    let mut now = Instant::now();
    let mut core = ObjecterCore::new(fsid, &opts, now);
    let mut run = Run::default();
    let _ = core.handle_osdmap(now, front);
    let pools: Vec<i64> = core
        .maps()
        .map(|m| m.osdmap.pools.keys().take(3).copied().collect())
        .unwrap_or_default();
    for pool in pools {
        run.submit(
            &mut core,
            now,
            OpRequest::new(pool, "obj", vec![OsdOp::stat()]),
        );
        let write = vec![OsdOp::write_full(Bytes::from_static(b"data"))];
        run.submit(&mut core, now, OpRequest::new(pool, "obj", write));
        core.add_watch(now, 1, OpRequest::new(pool, "watched", vec![]));
        let watch = vec![OsdOp::watch(1, watch_op::WATCH, 0)];
        run.submit(&mut core, now, OpRequest::new(pool, "watched", watch));
    }
    run.drive(&mut core, now);
    while let [kind, osd, tid, lo, hi, tail @ ..] = records {
        let n = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
        let (bytes, next) = tail.split_at(n);
        records = next;
        let osd = i32::from(*osd % 8);
        let incarnation = core.sessions.get(&osd).map_or(0, |s| s.incarnation);
        // A message's bytes: its front's length (u16), front, data.
        let message = |msg_type: u16, version: u16| {
            let (front, data) = split_message(bytes);
            Message::new(msg_type, version, 1, front)
                .with_tid(u64::from(*tid))
                .with_data(data)
        };
        match kind & 7 {
            record::OP_REPLY => {
                let msg = message(MSG_OSD_OPREPLY, u16::from(kind >> 3));
                core.handle_message(now, osd, incarnation, &msg);
            }
            record::WATCH_NOTIFY => {
                let msg = message(MSG_WATCH_NOTIFY, u16::from(kind >> 3) % 4);
                core.handle_message(now, osd, incarnation, &msg);
            }
            record::BACKOFF => {
                let msg = message(MSG_OSD_BACKOFF, 1);
                core.handle_message(now, osd, incarnation, &msg);
            }
            record::OSD_MAP => {
                if cheap_maps(bytes) {
                    let _ = core.handle_osdmap(now, bytes);
                }
            }
            record::SESSION_FAILED => core.session_failed(now, osd, incarnation, "fuzz"),
            record::TIME => {
                now += Duration::from_secs(u64::from(*tid));
                core.handle_timeout(now);
                run.drive(&mut core, now);
                let next = core.poll_timeout();
                assert!(
                    next.is_none_or(|t| t > now),
                    "a timeout due right after timed work"
                );
            }
            record::SUBMIT => {
                let pool = i64::from(*tid % 4);
                let name = String::from_utf8_lossy(bytes).into_owned();
                run.submit(
                    &mut core,
                    now,
                    OpRequest::new(pool, name, vec![OsdOp::stat()]),
                );
            }
            _ => {
                if let Some(f) = bytes.get(..16).and_then(|b| Uuid::decode_exact(b).ok()) {
                    core.fsid = f;
                }
            }
        }
        run.drive(&mut core, now);
    }
    Some(run)
}

/// A record's bytes as a message's front and data parts: a `u16` front
/// length, the front, the data.
fn split_message(bytes: &[u8]) -> (Bytes, Bytes) {
    let (len, rest) = match bytes {
        [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        _ => (0, bytes),
    };
    let (front, data) = rest.split_at(len.min(rest.len()));
    (Bytes::copy_from_slice(front), Bytes::copy_from_slice(data))
}

/// The bytes of a message record: front length, front, data.
pub fn message_record(front: &[u8], data: &[u8]) -> Vec<u8> {
    let len = front.len().min(usize::from(u16::MAX));
    let mut out = (len as u16).to_le_bytes().to_vec();
    out.extend_from_slice(&front[..len]);
    out.extend_from_slice(data);
    out
}

/// What the fuzz body tracks of the core's answers.
#[derive(Default)]
struct Run {
    submitted: BTreeSet<u64>,
    completed: BTreeSet<u64>,
}

impl Run {
    fn submit(&mut self, core: &mut ObjecterCore, now: Instant, req: OpRequest) {
        let tid = core.submit(now, UTime::new(1, 0), req);
        self.submitted.insert(tid);
    }

    /// Carries out the core's actions: sessions open at once.
    fn drive(&mut self, core: &mut ObjecterCore, now: Instant) {
        while let Some(action) = core.poll_action() {
            match action {
                Action::OpenSession {
                    osd, incarnation, ..
                } => core.session_opened(now, osd, incarnation),
                Action::Complete { tid, .. } => {
                    assert!(
                        self.submitted.contains(&tid),
                        "completed an unknown op {tid}"
                    );
                    assert!(self.completed.insert(tid), "completed op {tid} twice");
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const E35: &[u8] = include_bytes!("../../tests/fixtures/osdmap/pacific-e35.bin");

    /// The bed's map is cheap enough to be used, its ops are sent, and
    /// replies to them (from whichever OSD is their primary) complete
    /// them; then the rest expire.
    #[test]
    fn real_maps_and_replies_get_through() {
        let Ok(map) = OsdMap::from_bytes(E35) else {
            panic!("fixture")
        };
        let front = osdmap_message(map.fsid, &[], &[(35, Bytes::from_static(E35))]);
        assert!(cheap_maps(&front));
        let reply = crate::osd::MOsdOpReply {
            oid: "obj".into(),
            pgid: crate::osd::PgId::new(2, 0),
            flags: 0,
            result: 0,
            epoch: 35,
            ops: vec![crate::osd::OpResult {
                code: crate::osd::op::code::STAT,
                rval: 0,
                outdata: Bytes::new(),
            }],
            retry_attempt: 0,
            user_version: 1,
            redirect: None,
        };
        let (f, d) = reply.encode_parts();
        let body = message_record(&f, &d);
        let mut recs: Vec<(u8, u8, u8, &[u8])> = Vec::new();
        for tid in [1u8, 4, 7] {
            for osd in 0..3 {
                recs.push((record::OP_REPLY | (8 << 3), osd, tid, &body));
            }
        }
        let Some(run) = drive(&input(&front, &recs)) else {
            panic!("skipped")
        };
        assert_eq!(run.completed.len(), 3, "{:?}", run.completed);
        recs.push((record::TIME, 0, 31, &[]));
        let Some(run) = drive(&input(&front, &recs)) else {
            panic!("skipped")
        };
        assert_eq!(run.completed, run.submitted, "the rest expired");
        replies(&[]);
        replies(&[5, 0, 1, 2]);
    }
}
