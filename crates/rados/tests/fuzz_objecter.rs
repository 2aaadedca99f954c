//! Seeds for the `objecter_replies` fuzz target, built from the test
//! bed's real OSD maps (epochs 34 and 35) and hand-made OSD messages, run
//! through the target's body; and the saved corpus replayed.
//! `OBJECTER_WRITE_SEEDS=1` writes the seeds into the corpus.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

use bytes::Bytes;
use ceph_encoding::{Encode, Uuid};
use ceph_rados::objecter::fuzzing::{input, message_record, osdmap_message, record, replies};
use ceph_rados::osd::backoff::{backoff_op, MOsdBackoff};
use ceph_rados::osd::listing::HObject;
use ceph_rados::osd::op::code;
use ceph_rados::osd::types::{ObjectLocator, PgId, RequestRedirect, SPgId};
use ceph_rados::osd::watch::{event, MWatchNotify};
use ceph_rados::osd::{MOsdOpReply, OpResult};
use ceph_rados::osdmap::OsdMap;

const E34: &[u8] = include_bytes!("fixtures/osdmap/pacific-e34.bin");
const E35: &[u8] = include_bytes!("fixtures/osdmap/pacific-e35.bin");

fn fsid() -> Uuid {
    OsdMap::from_bytes(E35).unwrap().fsid
}

/// An op reply record body: one STAT result.
fn reply(result: i32, attempt: i32, redirect: Option<RequestRedirect>) -> Vec<u8> {
    let r = MOsdOpReply {
        oid: "obj".into(),
        pgid: PgId::new(2, 0),
        flags: 0,
        result,
        epoch: 35,
        ops: vec![OpResult {
            code: code::STAT,
            rval: result,
            outdata: Bytes::from_static(b"0123456789abcdef"),
        }],
        retry_attempt: attempt,
        user_version: 3,
        redirect,
    };
    let (front, data) = r.encode_parts();
    message_record(&front, &data)
}

/// Replies of `body` to every op the body starts with, from each OSD.
fn to_all(body: &[u8]) -> Vec<(u8, u8, u8, Vec<u8>)> {
    let mut out = Vec::new();
    for tid in 1..=9u8 {
        for osd in 0..3u8 {
            out.push((record::OP_REPLY | (8 << 3), osd, tid, body.to_vec()));
        }
    }
    out
}

fn notify(opcode: u8, cookie: u64) -> Vec<u8> {
    let m = MWatchNotify {
        opcode,
        cookie,
        ver: 1,
        notify_id: 77,
        payload: Bytes::from_static(b"hello"),
        return_code: 0,
        notifier_gid: 4100,
    };
    message_record(&m.encode_front(), &[])
}

fn backoff(op: u8, seed: u32) -> Vec<u8> {
    let mut begin = HObject::min();
    begin.pool = 2;
    let m = MOsdBackoff {
        spgid: SPgId {
            pgid: PgId::new(2, seed),
            shard: -1,
        },
        map_epoch: 35,
        op,
        id: 5,
        begin: begin.clone(),
        end: HObject { max: true, ..begin },
    };
    message_record(&m.to_bytes(0), &[])
}

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let fsid = fsid();
    let e35 = osdmap_message(fsid, &[], &[(35, Bytes::from_static(E35))]);
    let e34 = osdmap_message(fsid, &[], &[(34, Bytes::from_static(E34))]);
    let gap = osdmap_message(fsid, &[(40, Bytes::from_static(b"\x01"))], &[]);
    let build = |front: &[u8], recs: Vec<(u8, u8, u8, Vec<u8>)>| {
        let recs: Vec<(u8, u8, u8, &[u8])> = recs
            .iter()
            .map(|(k, o, t, b)| (*k, *o, *t, &b[..]))
            .collect();
        input(front, &recs)
    };
    let mut answers = to_all(&reply(0, 0, None));
    answers.push((record::TIME, 0, 31, vec![]));
    let mut eagain = to_all(&reply(-11, 0, None));
    eagain.extend(to_all(&reply(0, 1, None)));
    let redirect = RequestRedirect {
        redirect_locator: ObjectLocator::new(3, "ns"),
        redirect_object: "other".into(),
        osd_instructions: Bytes::new(),
    };
    let mut redirected = to_all(&reply(0, 0, Some(redirect)));
    redirected.extend(to_all(&reply(0, 1, None)));
    let mut sessions = vec![
        (record::SESSION_FAILED, 0, 0, vec![]),
        (record::SESSION_FAILED, 1, 0, vec![]),
        (record::SESSION_FAILED, 2, 0, vec![]),
        (record::TIME, 0, 1, vec![]),
    ];
    sessions.extend(to_all(&reply(0, 1, None)));
    let watch = vec![
        (
            record::WATCH_NOTIFY | (3 << 3),
            0,
            0,
            notify(event::NOTIFY, 1),
        ),
        (
            record::WATCH_NOTIFY | (3 << 3),
            1,
            0,
            notify(event::NOTIFY_COMPLETE, 9),
        ),
        (
            record::WATCH_NOTIFY | (3 << 3),
            2,
            0,
            notify(event::DISCONNECT, 1),
        ),
        (record::BACKOFF, 0, 0, backoff(backoff_op::BLOCK, 0)),
        (record::BACKOFF, 1, 0, backoff(backoff_op::BLOCK, 0)),
        (record::SUBMIT, 0, 2, b"another".to_vec()),
        (record::BACKOFF, 0, 0, backoff(backoff_op::UNBLOCK, 0)),
        (record::BACKOFF, 1, 0, backoff(backoff_op::UNBLOCK, 0)),
        (record::TIME, 0, 6, vec![]),
        (record::TIME, 0, 30, vec![]),
    ];
    let maps = vec![
        (record::OSD_MAP, 0, 0, e35.to_vec()),
        (record::OSD_MAP, 0, 0, gap.to_vec()),
        (record::FSID, 0, 0, vec![7; 16]),
        (record::OSD_MAP, 0, 0, e35.to_vec()),
        (record::TIME, 0, 40, vec![]),
    ];
    vec![
        ("seed-replies", build(&e35, answers)),
        ("seed-eagain", build(&e35, eagain)),
        ("seed-redirect", build(&e35, redirected)),
        ("seed-session-failures", build(&e35, sessions)),
        ("seed-watch-backoff", build(&e35, watch)),
        ("seed-maps", build(&e34, maps)),
    ]
}

#[test]
fn seeds_run_and_the_corpus_replays() {
    for (name, seed) in seeds() {
        replies(&seed);
        if std::env::var_os("OBJECTER_WRITE_SEEDS").is_some() {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../fuzz/corpus/objecter_replies");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(name), seed).unwrap();
        }
    }
    let n = rbd_native_tests::replay_fuzz_corpus("objecter_replies", replies);
    eprintln!("replayed {n} objecter_replies inputs");
}

/// Without cargo-fuzz at hand: each seed mutated a few hundred times
/// (`OBJECTER_MUTATIONS` for more; bytes flipped, spans dropped or
/// repeated, by a fixed xorshift, mostly past the map message) must not
/// make the body panic.
#[test]
fn mutated_seeds_do_not_panic() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let rounds: usize = std::env::var("OBJECTER_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    for (_, seed) in seeds() {
        let map_len = usize::from(u16::from_le_bytes([seed[0], seed[1]])) + 2;
        for round in 0..rounds {
            let mut data = seed.clone();
            // Most rounds keep the map message whole.
            let from = if round % 4 == 0 { 0 } else { map_len };
            for _ in 0..1 + next() % 8 {
                let span = data.len().saturating_sub(from).max(1);
                let at = (from + (next() as usize) % span).min(data.len());
                match next() % 4 {
                    0 if at < data.len() => data[at] ^= 1 << (next() % 8),
                    1 if at < data.len() => data[at] = next() as u8,
                    2 => {
                        let end = (at + (next() as usize) % 64).min(data.len());
                        data.drain(at..end);
                    }
                    _ => {
                        let end = (at + (next() as usize) % 64).min(data.len());
                        let span = data[at..end].to_vec();
                        data.splice(at..at, span);
                    }
                }
            }
            replies(&data);
        }
    }
}
