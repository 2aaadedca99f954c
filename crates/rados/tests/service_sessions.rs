//! Sessions with OSDs and managers on the live test bed: the cephx
//! authorizer (with the CEPHX_V2 challenge) from the tickets the monitor
//! gave, in crc and in secure mode. Addresses come from the `ceph` tool.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use ceph_cephx::{SERVICE_MGR, SERVICE_OSD};
use ceph_encoding::{AddrType, EntityAddr, EntityType};
use ceph_msgr2::session::{ClientConfig, ClientSession};
use ceph_msgr2::Connection;
use ceph_rados::auth::ServiceHandshake;
use ceph_rados::config::{MODE_CRC, MODE_SECURE};
use ceph_rados::mon::{MonClient, MonClientOptions};
use rbd_native_tests::Testbed;
use serde_json::Value;

/// The msgr2 address (with nonce) in a `ceph ... -f json` addrvec.
fn v2_addr(addrvec: &Value) -> EntityAddr {
    let a = addrvec["addrvec"]
        .as_array()
        .expect("addrvec")
        .iter()
        .find(|a| a["type"] == "v2")
        .expect("a v2 address");
    let sa: SocketAddr = a["addr"].as_str().unwrap().parse().unwrap();
    EntityAddr::new(AddrType::MSGR2, sa, a["nonce"].as_u64().unwrap() as u32)
}

async fn open(
    mon: &MonClient,
    peer_type: EntityType,
    service: u32,
    addr: EntityAddr,
    mode: u32,
) -> Connection {
    let cephx = mon.cephx().expect("cephx in use");
    let auth = ServiceHandshake::new(cephx, service).expect("a ticket for the service");
    let config = ClientConfig {
        peer_type,
        peer_addr: addr,
        nonce: 99,
        modes: vec![mode],
        supported_features: ceph_encoding::features::CEPH_FEATURES_SUPPORTED_DEFAULT,
        required_features: 0,
        global_id: mon.global_id(),
    };
    let session = ClientSession::new(config, Box::new(auth), 1234);
    Connection::connect(
        addr.socket_addr().unwrap(),
        session,
        Duration::from_secs(30),
    )
    .await
    .unwrap_or_else(|e| panic!("session with {peer_type} at {addr} in mode {mode}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn osd_and_mgr_sessions_in_both_modes_as_admin_and_cinder() {
    let bed = Testbed::load();
    let osds = bed.ceph_json("CEPH_CONF", &["osd", "dump"]);
    let mgr = bed.ceph_json("CEPH_CONF", &["mgr", "dump"]);
    for (name, keyring) in [
        ("client.admin", "CEPH_ADMIN_KEYRING"),
        ("client.cinder", "CEPH_CINDER_KEYRING"),
    ] {
        let settings = bed.client_settings("CEPH_CONF", name, keyring);
        let mon = MonClient::connect(MonClientOptions::from_settings(&settings))
            .await
            .unwrap();
        for mode in bed
            .ms_modes()
            .into_iter()
            .map(|m| if m == "crc" { MODE_CRC } else { MODE_SECURE })
        {
            for osd in osds["osds"].as_array().unwrap() {
                let addr = v2_addr(&osd["public_addrs"]);
                let conn = open(&mon, EntityType::OSD, SERVICE_OSD, addr, mode).await;
                let info = conn.info().expect("ready");
                assert_eq!(info.con_mode, mode);
                assert_eq!(info.peer_gid, osd["osd"].as_i64().unwrap(), "the OSD's id");
            }
            let addr = v2_addr(&mgr["active_addrs"]);
            let conn = open(&mon, EntityType::MGR, SERVICE_MGR, addr, mode).await;
            assert_eq!(conn.info().expect("ready").con_mode, mode);
        }
    }
}
