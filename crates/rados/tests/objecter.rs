//! The Objecter on the live test bed: placement computed from the map,
//! many objects across PGs and OSDs, and ops that survive map changes (an
//! OSD marked out and in) and wait out a paused cluster. The `rados` tool
//! checks the data. These tests change the cluster: one at a time.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use bytes::Bytes;
use ceph_rados::mon::{MonClient, MonClientOptions};
use ceph_rados::objecter::{Objecter, ObjecterOptions, OpRequest};
use ceph_rados::osd::OsdOp;
use rbd_native_tests::{pattern, run_ok, unique_name, Testbed};
use tokio::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::const_new(());

async fn objecter(bed: &Testbed) -> Objecter {
    let s = bed.client_settings("CEPH_CONF", "client.cinder", "CEPH_CINDER_KEYRING");
    let mon = MonClient::connect(MonClientOptions::from_settings(&s))
        .await
        .unwrap();
    Objecter::start(mon, ObjecterOptions::default())
        .await
        .unwrap()
}

fn ceph(bed: &Testbed, args: &[&str]) {
    let mut c = bed.ceph_tool("ceph", "CEPH_CONF", "admin");
    c.args(args);
    run_ok(&mut c);
}

async fn put(o: &Objecter, pool: i64, name: &str, data: Bytes) {
    let r = o
        .execute(OpRequest::new(pool, name, vec![OsdOp::write_full(data)]))
        .await
        .unwrap();
    assert_eq!(r.result, 0, "write {name}");
}

async fn get(o: &Objecter, pool: i64, name: &str) -> Bytes {
    let r = o
        .execute(OpRequest::new(pool, name, vec![OsdOp::read(0, 0)]))
        .await
        .unwrap();
    assert_eq!(r.result, 0, "read {name}");
    r.ops[0].outdata.clone()
}

async fn remove(o: &Objecter, pool: i64, name: &str) {
    let r = o
        .execute(OpRequest::new(pool, name, vec![OsdOp::remove()]))
        .await
        .unwrap();
    assert_eq!(r.result, 0, "remove {name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_objects_on_every_osd() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let o = objecter(&bed).await;
    let pool = o.pool_id("images").unwrap();
    let prefix = unique_name("objecter");
    let names: Vec<String> = (0..48).map(|i| format!("{prefix}.{i}")).collect();
    let writes = names.clone().into_iter().enumerate().map(|(i, n)| {
        let o = o.clone();
        async move { put(&o, pool, &n, Bytes::from(pattern(1000 + i * 37, i as u64))).await }
    });
    futures_join_all(writes).await;
    for (i, n) in names.iter().enumerate() {
        assert_eq!(
            get(&o, pool, n).await,
            Bytes::from(pattern(1000 + i * 37, i as u64))
        );
    }
    // The oracle reads one back.
    let mut c = bed.ceph_tool("rados", "CEPH_CONF", "admin");
    c.args(["-p", "images", "get", &names[7], "-"]);
    assert_eq!(run_ok(&mut c).stdout, pattern(1000 + 7 * 37, 7));
    for n in &names {
        remove(&o, pool, n).await;
    }
    let r = o
        .execute(OpRequest::new(pool, &names[0], vec![OsdOp::stat()]))
        .await
        .unwrap();
    assert_eq!(r.result, -2);
    let missing = o.pool_id("no-such-pool");
    assert!(missing.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_follow_map_changes_and_wait_out_a_pause() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let o = objecter(&bed).await;
    let pool = o.pool_id("images").unwrap();
    let name = unique_name("objecter-moves");
    put(&o, pool, &name, Bytes::from_static(b"before")).await;

    // osd.0 out: placement changes for many PGs; ops go to the new primaries.
    let epoch = o.maps().unwrap().osdmap.epoch;
    ceph(&bed, &["osd", "out", "0"]);
    struct In<'a>(&'a Testbed);
    impl Drop for In<'_> {
        fn drop(&mut self) {
            let mut c = self.0.ceph_tool("ceph", "CEPH_CONF", "admin");
            c.args(["osd", "in", "0"]);
            let _ = c.output();
            let mut c = self.0.ceph_tool("ceph", "CEPH_CONF", "admin");
            c.args(["osd", "unpause"]);
            let _ = c.output();
            // Leave the cluster settled for the tests that follow.
            self.0.wait_for_clean("CEPH_CONF", 180);
        }
    }
    let _restore = In(&bed);
    tokio::time::timeout(Duration::from_secs(30), o.wait_for_epoch(epoch + 1))
        .await
        .expect("the objecter saw the new map")
        .unwrap();
    for i in 0..16 {
        let n = format!("{name}.{i}");
        put(&o, pool, &n, Bytes::from(format!("out {i}"))).await;
        assert_eq!(get(&o, pool, &n).await, Bytes::from(format!("out {i}")));
        remove(&o, pool, &n).await;
    }
    ceph(&bed, &["osd", "in", "0"]);
    assert_eq!(get(&o, pool, &name).await, Bytes::from_static(b"before"));

    // Paused: a write waits (it is not lost and does not fail) until unpause.
    ceph(&bed, &["osd", "pause"]);
    let epoch = bed.ceph_json("CEPH_CONF", &["osd", "stat"])["epoch"]
        .as_u64()
        .unwrap() as u32;
    tokio::time::timeout(Duration::from_secs(30), o.wait_for_epoch(epoch))
        .await
        .expect("the objecter saw the paused map")
        .unwrap();
    let write = {
        let o = o.clone();
        let name = name.clone();
        tokio::spawn(async move { put(&o, pool, &name, Bytes::from_static(b"after")).await })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !write.is_finished(),
        "a write went through a paused cluster"
    );
    ceph(&bed, &["osd", "unpause"]);
    tokio::time::timeout(Duration::from_secs(60), write)
        .await
        .expect("the paused write never completed")
        .unwrap();
    assert_eq!(get(&o, pool, &name).await, Bytes::from_static(b"after"));
    remove(&o, pool, &name).await;
}

/// Runs futures concurrently and waits for all (a tiny join_all).
async fn futures_join_all<F: std::future::Future<Output = ()> + Send + 'static>(
    futs: impl Iterator<Item = F>,
) {
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    for h in handles {
        h.await.unwrap();
    }
}
