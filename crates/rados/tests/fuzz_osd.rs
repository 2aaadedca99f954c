//! Replays the `osd_op_reply` fuzzer's saved corpus through the function
//! the target calls, and checks a hand-built MOSDOpReply (version 8) seed.
//! `OSD_WRITE_SEEDS=1` writes the seed into the corpus.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

use bytes::{BufMut, Bytes, BytesMut};
use ceph_rados::osd::MOsdOpReply;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/osd_op_reply")
}

/// An MOSDOpReply front: one READ op with 3 bytes of output.
fn reply_front() -> Bytes {
    let mut b = BytesMut::new();
    b.put_u32_le(3);
    b.put_slice(b"obj");
    b.put_u8(1); // pg_t v1
    b.put_u64_le(3);
    b.put_u32_le(0x1b);
    b.put_i32_le(-1);
    b.put_u64_le(0x11); // flags
    b.put_i32_le(0); // result
    b.put_u64_le(0); // bad_replay_version
    b.put_u32_le(0);
    b.put_u32_le(35); // epoch
    b.put_u32_le(1); // one op
    b.put_u16_le(0x1201);
    b.put_u32_le(0);
    b.put_slice(&[0u8; 28]);
    b.put_u32_le(3); // payload_len
    b.put_i32_le(0); // retry_attempt
    b.put_i32_le(0); // rval
    b.put_u64_le(7); // replay_version
    b.put_u32_le(35);
    b.put_u64_le(42); // user_version
    b.put_u8(0); // no redirect
    b.put_slice(&[0u8; 24]); // trace
    b.freeze()
}

#[test]
fn a_hand_built_reply_decodes_and_seeds_the_corpus() {
    let front = reply_front();
    let r = MOsdOpReply::decode(&front, 8, &Bytes::from_static(b"abc")).unwrap();
    assert_eq!(r.oid, "obj");
    assert_eq!(r.user_version, 42);
    assert_eq!(&r.ops[0].outdata[..], b"abc");
    assert!(MOsdOpReply::decode(&front, 8, &Bytes::from_static(b"ab")).is_err());
    let mut seed = vec![8u8];
    seed.extend_from_slice(&(front.len() as u16).to_le_bytes());
    seed.extend_from_slice(&front);
    seed.extend_from_slice(b"abc");
    ceph_rados::osd::fuzzing::op_reply(&seed);
    if std::env::var_os("OSD_WRITE_SEEDS").is_some() {
        std::fs::create_dir_all(corpus()).unwrap();
        std::fs::write(corpus().join("seed-read-reply"), seed).unwrap();
    }
}

#[test]
fn replay_osd_op_reply_corpus() {
    let Ok(entries) = std::fs::read_dir(corpus()) else {
        eprintln!(
            "fuzz corpus replay SKIPPED for osd_op_reply: no folder {}",
            corpus().display()
        );
        return;
    };
    let mut n = 0;
    for e in entries {
        let p = e.unwrap().path();
        if p.is_file() {
            ceph_rados::osd::fuzzing::op_reply(&std::fs::read(&p).unwrap());
            n += 1;
        }
    }
    eprintln!("replayed {n} osd_op_reply inputs");
}

/// Seeds for `osd_watch_backoff`: a watch notification, a notify
/// completion, a backoff block and a sparse-read output, each behind the
/// version byte the target reads first.
fn watch_backoff_seeds() -> Vec<(&'static str, Vec<u8>)> {
    use ceph_encoding::Encode;
    use ceph_rados::osd::backoff::{backoff_op, MOsdBackoff};
    use ceph_rados::osd::listing::HObject;
    use ceph_rados::osd::types::{PgId, SPgId};
    use ceph_rados::osd::watch::{event, MWatchNotify, NotifyResult, WatcherId};
    let notify = MWatchNotify {
        opcode: event::NOTIFY,
        cookie: 1,
        ver: 2,
        notify_id: 3,
        payload: Bytes::from_static(b"payload"),
        return_code: 0,
        notifier_gid: 4,
    };
    let mut result = NotifyResult::default();
    result
        .acks
        .insert(WatcherId { gid: 4, cookie: 1 }, Bytes::from_static(b"ok"));
    result.timeouts.push(WatcherId { gid: 5, cookie: 2 });
    let mut obj = HObject::min();
    obj.pool = 2;
    let backoff = MOsdBackoff {
        spgid: SPgId {
            pgid: PgId { pool: 2, seed: 1 },
            shard: -1,
        },
        map_epoch: 10,
        op: backoff_op::BLOCK,
        id: 1,
        begin: obj.clone(),
        end: HObject { max: true, ..obj },
    };
    let mut sparse = BytesMut::new();
    std::collections::BTreeMap::from([(0u64, 3u64)]).encode(&mut sparse, 0);
    Bytes::from_static(b"abc").encode(&mut sparse, 0);
    let with_version = |v: u8, b: &[u8]| {
        let mut s = vec![v];
        s.extend_from_slice(b);
        s
    };
    vec![
        ("seed-watch-notify", with_version(3, &notify.encode_front())),
        ("seed-notify-result", with_version(0, &result.to_bytes(0))),
        ("seed-backoff", with_version(0, &backoff.to_bytes(0))),
        ("seed-sparse-read", with_version(0, &sparse)),
    ]
}

#[test]
fn watch_and_backoff_seeds_decode_and_the_corpus_replays() {
    for (name, seed) in watch_backoff_seeds() {
        ceph_rados::osd::fuzzing::watch_and_backoff(&seed);
        if std::env::var_os("OSD_WRITE_SEEDS").is_some() {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../fuzz/corpus/osd_watch_backoff");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(name), seed).unwrap();
        }
    }
    let n = rbd_native_tests::replay_fuzz_corpus(
        "osd_watch_backoff",
        ceph_rados::osd::fuzzing::watch_and_backoff,
    );
    eprintln!("replayed {n} osd_watch_backoff inputs");
}

/// `osd_reply_outputs` seeds: a stat output, a sparse read, xattrs and
/// omap batches (selector byte, then the output), and zero-op replies.
/// `OSD_WRITE_SEEDS=1` writes them into the corpus.
#[test]
fn reply_output_seeds() {
    use ceph_encoding::Encode;
    use std::collections::BTreeMap;

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/osd_reply_outputs");
    let one_op = 0b0101;
    let mut stat = vec![one_op];
    stat.extend_from_slice(&4096u64.to_le_bytes());
    stat.extend_from_slice(&[0x10, 0, 0, 0, 0x20, 0, 0, 0]);
    let mut sparse = vec![0x40 | one_op];
    let extents: BTreeMap<u64, u64> = [(0, 3), (100, 2)].into_iter().collect();
    sparse.extend_from_slice(&extents.to_bytes(0));
    sparse.extend_from_slice(&Bytes::from_static(b"abcde").to_bytes(0));
    let attrs: BTreeMap<String, Bytes> = [("rbd.lock".to_string(), Bytes::from_static(b"x"))]
        .into_iter()
        .collect();
    let mut xattrs = vec![0x80 | one_op];
    xattrs.extend_from_slice(&attrs.to_bytes(0));
    let mut omap = vec![0xc0 | one_op];
    omap.extend_from_slice(&attrs.to_bytes(0));
    omap.extend_from_slice(&true.to_bytes(0));
    let mut omap_stuck = vec![0xd0 | one_op];
    let stuck: BTreeMap<String, Bytes> =
        [("\u{1}".to_string(), Bytes::new())].into_iter().collect();
    omap_stuck.extend_from_slice(&stuck.to_bytes(0));
    omap_stuck.extend_from_slice(&true.to_bytes(0));
    let seeds: [(&str, Vec<u8>); 7] = [
        ("seed-stat", stat),
        ("seed-sparse-read", sparse),
        ("seed-xattrs", xattrs),
        ("seed-omap-batch", omap),
        ("seed-omap-stuck", omap_stuck),
        ("seed-zero-ops", vec![0x01]),
        ("seed-op-count-mismatch", vec![0x0d, 1, 2]),
    ];
    let write = std::env::var_os("OSD_WRITE_SEEDS").is_some();
    for (name, data) in seeds {
        ceph_rados::ioctx::fuzzing::reply_outputs(&data);
        if write {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(name), &data).unwrap();
        }
    }
}

#[test]
fn replay_reply_outputs_corpus() {
    let n = rbd_native_tests::replay_fuzz_corpus(
        "osd_reply_outputs",
        ceph_rados::ioctx::fuzzing::reply_outputs,
    );
    eprintln!("replayed {n} osd_reply_outputs inputs");
}
