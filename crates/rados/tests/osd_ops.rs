//! MOSDOp and MOSDOpReply against a real OSD of the test bed: a compound
//! write (data, xattr, omap), a compound read, an object class call, a
//! remove; the `rados` tool checks what we wrote. Placement comes from
//! `ceph osd map` until the client computes it itself.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use ceph_cephx::SERVICE_OSD;
use ceph_encoding::{AddrType, Decode, EntityAddr, EntityType, UTime};
use ceph_msgr2::session::{ClientConfig, ClientSession, Event, Message};
use ceph_msgr2::Connection;
use ceph_rados::auth::ServiceHandshake;
use ceph_rados::config::{MODE_CRC, MODE_SECURE};
use ceph_rados::mon::{MonClient, MonClientOptions};
use ceph_rados::osd::messages::{decode_stat, flag, MSG_OSD_OP, MSG_OSD_OPREPLY};
use ceph_rados::osd::types::ReqId;
use ceph_rados::osd::{MOsdOp, MOsdOpReply, ObjectLocator, OsdOp, PgId, SPgId, NOSNAP};
use rbd_native_tests::{run_ok, unique_name, Testbed};
use serde_json::Value;

struct Target {
    pool: i64,
    seed: u32,
    hash: u32,
    epoch: u32,
    primary: EntityAddr,
}

fn target(bed: &Testbed, pool: &str, oid: &str) -> Target {
    let map = bed.ceph_json("CEPH_CONF", &["osd", "map", pool, oid]);
    let pgid = map["pgid"].as_str().unwrap();
    let raw = map["raw_pgid"].as_str().unwrap();
    let seed = u32::from_str_radix(pgid.split('.').nth(1).unwrap(), 16).unwrap();
    let hash = u32::from_str_radix(raw.split('.').nth(1).unwrap(), 16).unwrap();
    let primary = map["acting_primary"].as_i64().unwrap();
    let dump = bed.ceph_json("CEPH_CONF", &["osd", "dump"]);
    let osd: &Value = dump["osds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["osd"].as_i64() == Some(primary))
        .unwrap();
    let v2 = osd["public_addrs"]["addrvec"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "v2")
        .unwrap();
    let sa: SocketAddr = v2["addr"].as_str().unwrap().parse().unwrap();
    Target {
        pool: map["pool_id"].as_i64().unwrap(),
        seed,
        hash,
        epoch: dump["epoch"].as_u64().unwrap() as u32,
        primary: EntityAddr::new(AddrType::MSGR2, sa, v2["nonce"].as_u64().unwrap() as u32),
    }
}

async fn execute(
    conn: &mut Connection,
    t: &Target,
    oid: &str,
    ops: Vec<OsdOp>,
    tid: u64,
) -> MOsdOpReply {
    let write = ops.iter().any(OsdOp::is_write);
    let exec = ops
        .iter()
        .any(|o| o.code == ceph_rados::osd::op::code::CALL);
    let mut flags = flag::KNOWN_REDIR
        | if write {
            flag::WRITE | flag::ONDISK
        } else {
            flag::READ
        };
    if exec {
        flags |= flag::EXEC;
    }
    let m = MOsdOp {
        spgid: SPgId {
            pgid: PgId {
                pool: t.pool,
                seed: t.seed,
            },
            shard: -1,
        },
        hash: t.hash,
        epoch: t.epoch,
        flags,
        reqid: ReqId::default(),
        mtime: UTime::now().unwrap(),
        oloc: ObjectLocator::new(t.pool, ""),
        oid: oid.to_string(),
        ops,
        snapid: NOSNAP,
        snap_seq: 0,
        snaps: vec![],
        retry_attempt: 0,
        features: conn.info().unwrap().peer_features,
    };
    let (front, data) = m.encode_parts();
    let msg = Message::new(MSG_OSD_OP, 8, 3, front)
        .with_tid(tid)
        .with_data(data);
    conn.send(msg).await.unwrap();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(30), conn.next_event())
            .await
            .expect("no reply from the OSD")
            .unwrap();
        conn.flush().await.unwrap();
        if let Event::Message(m) = ev {
            if m.msg_type == MSG_OSD_OPREPLY && m.tid == tid {
                return MOsdOpReply::decode(&m.front, m.version, &m.data).unwrap();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compound_ops_on_a_real_osd_in_both_modes() {
    let bed = Testbed::load();
    // Placement comes from the oracle's map: it must not be moving.
    bed.wait_for_clean("CEPH_CONF", 180);
    let settings = bed.client_settings("CEPH_CONF", "client.cinder", "CEPH_CINDER_KEYRING");
    let mon = MonClient::connect(MonClientOptions::from_settings(&settings))
        .await
        .unwrap();
    for mode in bed
        .ms_modes()
        .into_iter()
        .map(|m| if m == "crc" { MODE_CRC } else { MODE_SECURE })
    {
        // The OSD recognises a request it already did by client and tid:
        // every request of this client needs its own tid.
        let base = u64::from(mode) * 100;
        let oid = unique_name("osd-ops");
        let t = target(&bed, "images", &oid);
        let auth = ServiceHandshake::new(mon.cephx().unwrap(), SERVICE_OSD).unwrap();
        let config = ClientConfig {
            peer_type: EntityType::OSD,
            peer_addr: t.primary,
            nonce: 5,
            modes: vec![mode],
            supported_features: ceph_encoding::features::CEPH_FEATURES_SUPPORTED_DEFAULT,
            required_features: 0,
            global_id: mon.global_id(),
        };
        let mut conn = Connection::connect(
            t.primary.socket_addr().unwrap(),
            ClientSession::new(config, Box::new(auth), 77),
            Duration::from_secs(30),
        )
        .await
        .unwrap();

        let data = Bytes::from(rbd_native_tests::pattern(100_000, 3));
        let kv: BTreeMap<String, Bytes> = [("k1", "v1"), ("k2", "value two")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Bytes::from(v)))
            .collect();
        let r = execute(
            &mut conn,
            &t,
            &oid,
            vec![
                OsdOp::create(true),
                OsdOp::write_full(data.clone()),
                OsdOp::set_xattr("owner", b"rbd-native"),
                OsdOp::omap_set(&kv),
            ],
            base + 1,
        )
        .await;
        assert_eq!(r.result, 0, "write: {r:?}");
        assert!(r.user_version > 0);

        // The oracle sees what we wrote.
        let mut get = bed.ceph_tool("rados", "CEPH_CONF", "admin");
        get.args(["-p", "images", "get", &oid, "-"]);
        assert_eq!(run_ok(&mut get).stdout, data.to_vec());
        let mut xa = bed.ceph_tool("rados", "CEPH_CONF", "admin");
        xa.args(["-p", "images", "getxattr", &oid, "owner"]);
        assert_eq!(run_ok(&mut xa).stdout, b"rbd-native");

        let keys: BTreeSet<String> = ["k2".to_string()].into();
        let r = execute(
            &mut conn,
            &t,
            &oid,
            vec![
                OsdOp::read(10, 1000),
                OsdOp::stat(),
                OsdOp::get_xattr("owner"),
                OsdOp::omap_get_vals_by_keys(&keys),
                OsdOp::omap_get_keys("", 100),
            ],
            base + 2,
        )
        .await;
        assert_eq!(r.result, 0, "read: {r:?}");
        assert_eq!(r.ops[0].outdata, data.slice(10..1010));
        let (size, _mtime) = decode_stat(&r.ops[1].outdata).unwrap();
        assert_eq!(size, data.len() as u64);
        assert_eq!(&r.ops[2].outdata[..], b"rbd-native");
        let vals =
            BTreeMap::<String, Bytes>::decode(&mut ceph_encoding::Reader::new(&r.ops[3].outdata))
                .unwrap();
        assert_eq!(vals.get("k2").map(|v| &v[..]), Some(&b"value two"[..]));
        let all =
            BTreeSet::<String>::decode(&mut ceph_encoding::Reader::new(&r.ops[4].outdata)).unwrap();
        assert_eq!(all, ["k1".to_string(), "k2".to_string()].into());

        // An object class method (cls_rbd, read-only, needs no object data).
        let r = execute(
            &mut conn,
            &t,
            &oid,
            vec![OsdOp::call("rbd", "get_all_features", b"")],
            base + 3,
        )
        .await;
        assert_eq!(r.result, 0, "call: {r:?}");
        let features = u64::decode_exact(&r.ops[0].outdata).unwrap();
        assert!(
            features & 1 != 0,
            "layering is among rbd's features: {features:#x}"
        );

        // Exclusive create of an existing object fails; remove; then ENOENT.
        let r = execute(&mut conn, &t, &oid, vec![OsdOp::create(true)], base + 4).await;
        assert_eq!(r.result, -17, "EEXIST expected");
        let r = execute(&mut conn, &t, &oid, vec![OsdOp::remove()], base + 5).await;
        assert_eq!(r.result, 0);
        let r = execute(&mut conn, &t, &oid, vec![OsdOp::stat()], base + 6).await;
        assert_eq!(r.result, -2, "ENOENT expected after remove");
    }
}

#[test]
fn object_names_hash_and_map_to_pgs_as_ceph_says() {
    use ceph_rados::osd::hash::{hash_input, pg_mask, stable_mod, str_hash_rjenkins};
    let bed = Testbed::load();
    let detail = bed.ceph_json("CEPH_CONF", &["osd", "pool", "ls", "detail"]);
    let pg_num = detail
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pool_name"] == "images")
        .and_then(|p| p["pg_num"].as_u64())
        .unwrap() as u32;
    let names = [
        "a",
        "rbd_directory",
        "rbd_header.10226b8b4567",
        "rbd_data.10226b8b4567.0000000000000000",
        "exactly12byt",
        "thirteen-byte",
        "",
        "\u{e9}t\u{e9}",
        "a-much-longer-object-name-of-more-than-thirty-bytes",
    ];
    for name in names.iter().filter(|n| !n.is_empty()) {
        for ns in ["", "tenant-a"] {
            let mut args = vec!["osd", "map", "images", name];
            if !ns.is_empty() {
                args.push(ns);
            }
            let map = bed.ceph_json("CEPH_CONF", &args);
            let raw = map["raw_pgid"].as_str().unwrap();
            let want = u32::from_str_radix(raw.split('.').nth(1).unwrap(), 16).unwrap();
            let got = str_hash_rjenkins(&hash_input(name, "", ns));
            assert_eq!(got, want, "hash of {name:?} in namespace {ns:?}");
            let pg = map["pgid"].as_str().unwrap();
            let seed = u32::from_str_radix(pg.split('.').nth(1).unwrap(), 16).unwrap();
            assert_eq!(
                stable_mod(got, pg_num, pg_mask(pg_num)),
                seed,
                "pg of {name:?}"
            );
        }
    }
}
