//! A long-lived monitor session on the live test bed: it survives a
//! monitor restart and a dropped connection (commands in flight are
//! sent again), and it renews service tickets before they expire.
//!
//! These tests change the cluster (restart its monitor, shorten ticket
//! lifetimes): they run one after another in this binary.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use ceph_rados::config::{ClientArgs, ClientSettings};
use ceph_rados::mon::{MonClient, MonClientOptions};
use rbd_native_tests::{run_ok, MonConfig, Testbed};
use tokio::sync::Mutex;

/// One test at a time: they restart and reconfigure the monitor.
static SERIAL: Mutex<()> = Mutex::const_new(());

fn settings(bed: &Testbed, mon_host: Option<String>) -> ClientSettings {
    ClientSettings::resolve(&ClientArgs {
        conf: Some(bed.var("CEPH_CONF").into()),
        name: Some("client.admin".into()),
        keyring: Some(bed.var("CEPH_ADMIN_KEYRING").into()),
        mon_host,
        connect_timeout: Some(Duration::from_secs(60)),
        ..ClientArgs::default()
    })
    .expect("settings from the bed")
}

async fn fsid_via(mon: &MonClient) -> String {
    let reply = tokio::time::timeout(
        Duration::from_secs(90),
        mon.command(r#"{"prefix":"fsid","format":"json"}"#, Bytes::new()),
    )
    .await
    .expect("the command did not complete")
    .expect("the command failed");
    assert_eq!(reply.status, 0, "{}", reply.status_text);
    let v: serde_json::Value = serde_json::from_slice(&reply.output).expect("json");
    v["fsid"].as_str().expect("fsid").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_a_monitor_restart() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let restart = bed.var("RBD_NATIVE_MON_RESTART_CMD");
    let mon = MonClient::connect(MonClientOptions::from_settings(&settings(&bed, None)))
        .await
        .expect("connect");
    let before = fsid_via(&mon).await;
    run_ok(std::process::Command::new("sh").arg("-c").arg(&restart));
    let after = fsid_via(&mon).await;
    assert_eq!(before, after);
    assert_eq!(after, bed.fsid("CEPH_CONF"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_is_reopened_and_commands_in_flight_are_sent_again() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let mon = MonClient::connect(MonClientOptions::from_settings(&settings(&bed, None)))
        .await
        .expect("connect");
    let fsid = fsid_via(&mon).await;
    let mut dropped_in_flight = 0;
    for _ in 0..20 {
        if dropped_in_flight == 3 {
            break;
        }
        // The command goes out, then the connection drops before its answer
        // can be read: the client must reconnect and send it again.
        let pending = mon.command(r#"{"prefix":"fsid","format":"json"}"#, Bytes::new());
        tokio::pin!(pending);
        // One poll queues the command with the client (before the drop).
        // On a loaded host this thread can be descheduled within that poll
        // long enough for the answer to come: that round tests nothing.
        if let Some(early) = futures_poll_once(&mut pending).await {
            let v: serde_json::Value =
                serde_json::from_slice(&early.expect("the command failed").output).expect("json");
            assert_eq!(v["fsid"].as_str(), Some(fsid.as_str()));
            continue;
        }
        dropped_in_flight += 1;
        mon.reconnect().expect("client alive");
        let reply = tokio::time::timeout(Duration::from_secs(90), pending)
            .await
            .expect("the command in flight was never answered")
            .expect("the command failed");
        let v: serde_json::Value = serde_json::from_slice(&reply.output).expect("json");
        let again = v["fsid"].as_str().expect("fsid").to_string();
        assert_eq!(again, fsid);
    }
    assert_eq!(dropped_in_flight, 3, "commands kept being answered at once");
    assert_eq!(
        fsid_via(&mon).await,
        fsid,
        "the session works after reconnecting"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_tickets_are_renewed_on_a_live_session() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    // Short-lived service tickets for this test only.
    let _ttl = MonConfig::set(&bed, "auth_service_ticket_ttl", "8");

    let mon = MonClient::connect(MonClientOptions::from_settings(&settings(&bed, None)))
        .await
        .expect("connect");
    let osd_expiry = |mon: &MonClient| -> Option<SystemTime> {
        let c = mon.cephx()?.lock().ok()?;
        c.tickets().get(ceph_cephx::SERVICE_OSD)?.expires
    };
    let first = osd_expiry(&mon).expect("an OSD ticket with a validity");
    let lifetime = first.duration_since(SystemTime::now()).unwrap_or_default();
    assert!(
        lifetime <= Duration::from_secs(9),
        "the ticket lives {lifetime:?}; the ttl was not applied"
    );
    // Past the renewal point (3/4 of the validity) and past expiry.
    let mut renewed = None;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Some(e) = osd_expiry(&mon) {
            if e > first {
                renewed = Some(e);
                break;
            }
        }
    }
    let renewed = renewed.expect("the OSD ticket was not renewed before it expired");
    assert!(
        renewed > SystemTime::now(),
        "the renewed ticket is already expired"
    );
    assert_eq!(fsid_via(&mon).await, bed.fsid("CEPH_CONF"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auth_ticket_is_renewed_on_a_live_session() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    // A short-lived AUTH ticket for this test only.
    let _ttl = MonConfig::set(&bed, "auth_mon_ticket_ttl", "12");

    let mon = MonClient::connect(MonClientOptions::from_settings(&settings(&bed, None)))
        .await
        .expect("connect");
    let auth_expiry = |mon: &MonClient| -> Option<SystemTime> {
        let c = mon.cephx()?.lock().ok()?;
        c.tickets().get(ceph_cephx::SERVICE_AUTH)?.expires
    };
    let first = auth_expiry(&mon).expect("an AUTH ticket with a validity");
    let lifetime = first.duration_since(SystemTime::now()).unwrap_or_default();
    assert!(
        lifetime <= Duration::from_secs(13),
        "the AUTH ticket lives {lifetime:?}; the ttl was not applied"
    );
    let mut renewed = None;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Some(e) = auth_expiry(&mon) {
            if e > first {
                renewed = Some(e);
                break;
            }
        }
    }
    let renewed = renewed.expect("the AUTH ticket was not renewed before it expired");
    assert!(renewed > SystemTime::now());
    // Past the first ticket's end, the session still answers.
    tokio::time::sleep(first.duration_since(SystemTime::now()).unwrap_or_default()).await;
    assert_eq!(fsid_via(&mon).await, bed.fsid("CEPH_CONF"));
}

/// Polls `fut` once; `Some` if it completed.
async fn futures_poll_once<F: std::future::Future + Unpin>(fut: &mut F) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match std::pin::Pin::new(&mut *fut).poll(cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        })
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_and_osdmap_subscriptions() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let mon = MonClient::connect(MonClientOptions::from_settings(&settings(&bed, None)))
        .await
        .expect("connect");
    let epoch = bed.ceph_json("CEPH_CONF", &["osd", "stat"])["epoch"]
        .as_u64()
        .expect("epoch");
    let (newest, oldest) = mon.get_version("osdmap").await.expect("get_version");
    assert!(
        newest >= epoch && oldest <= newest,
        "osdmap versions {oldest}..{newest}, ceph says {epoch}"
    );

    // The raw MOSDMap is handed up: its front starts with the fsid and
    // holds the newest full map.
    let mut maps = mon.maps();
    mon.subscribe("osdmap", 0, false).expect("subscribe");
    let update = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Ok(ceph_rados::mon::MapUpdate::OsdMap { front, .. }) = maps.recv().await {
                return front;
            }
        }
    })
    .await
    .expect("no MOSDMap within 30 s");
    let fsid: ceph_encoding::Uuid =
        ceph_encoding::Decode::decode_exact(&update[..16]).expect("fsid");
    assert_eq!(fsid.to_string(), bed.fsid("CEPH_CONF"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_managed_snapshot_ids_are_allocated_and_released() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let mon = MonClient::connect(MonClientOptions::from_settings(&settings(&bed, None)))
        .await
        .expect("connect");
    let pools = bed.ceph_json("CEPH_CONF", &["osd", "pool", "ls", "detail"]);
    let pool_id = |name: &str| -> u32 {
        pools
            .as_array()
            .expect("pools")
            .iter()
            .find(|p| p["pool_name"] == name)
            .and_then(|p| p["pool_id"].as_u64())
            .expect("pool id") as u32
    };
    let (images, volumes) = (pool_id("images"), pool_id("volumes"));
    // One in each pool, at the same time.
    let (a, b) = tokio::join!(mon.allocate_snap_id(images), mon.allocate_snap_id(volumes));
    let (snap_a, epoch_a) = a.expect("allocate in images");
    let (snap_b, _) = b.expect("allocate in volumes");
    assert!(snap_a > 0 && snap_b > 0);
    let detail = bed.ceph_json("CEPH_CONF", &["osd", "pool", "ls", "detail"]);
    let seq = |id: u32| {
        detail
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pool_id"].as_u64() == Some(u64::from(id)))
            .and_then(|p| p["snap_seq"].as_u64())
            .unwrap()
    };
    assert!(
        seq(images) >= snap_a,
        "pool images snap_seq {} < {snap_a}",
        seq(images)
    );
    assert!(seq(volumes) >= snap_b);
    assert!(
        u64::from(epoch_a)
            <= bed.ceph_json("CEPH_CONF", &["osd", "stat"])["epoch"]
                .as_u64()
                .unwrap()
    );

    let e1 = mon.release_snap_id(images, snap_a).await.expect("release");
    let e2 = mon.release_snap_id(volumes, snap_b).await.expect("release");
    assert!(e1 > 0 && e2 > 0);
    // The map records the removals (queued for purging, or purged).
    let dump = bed.ceph_json("CEPH_CONF", &["osd", "dump"]);
    let text = dump.to_string();
    assert!(
        text.contains("removed_snaps_queue"),
        "no removed_snaps_queue in the osd dump"
    );
    // Releasing an id twice is harmless, as in Ceph.
    mon.release_snap_id(images, snap_a)
        .await
        .expect("release again");
}
