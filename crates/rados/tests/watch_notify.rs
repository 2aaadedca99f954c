//! Watch/notify and sparse reads on the live test bed, with librados
//! (through its Python bindings) as the other party: our notify reaches a
//! librados watcher and carries its answer back, a librados notify reaches
//! our watch, and our watch keeps working after its OSD is marked down.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use ceph_rados::objecter::WatchEvent;
use ceph_rados::osd::watch::WatcherId;
use ceph_rados::{IoCtx, Rados};
use rbd_native_tests::{run_ok, unique_name, Testbed};

async fn ioctx(bed: &Testbed, pool: &str) -> (Rados, IoCtx) {
    let r = bed
        .rados("CEPH_CONF", "client.cinder", "CEPH_CINDER_KEYRING")
        .await;
    let io = r.ioctx(pool).unwrap();
    (r, io)
}

/// A librados watcher in a Python process: answers each notification
/// with `py:` and the payload, and prints what it got.
struct PyWatcher {
    child: std::process::Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

const PY_WATCHER: &str = r#"
import rados, sys
c = rados.Rados(conffile=sys.argv[1], name='client.admin', conf={'keyring': sys.argv[2]})
c.connect()
io = c.open_ioctx(sys.argv[3])
def cb(notify_id, notifier_id, watch_id, data):
    print('notify', notifier_id, data.decode(), flush=True)
    return b'py:' + data
w = io.watch(sys.argv[4], cb)
print('ready', c.get_instance_id(), w.get_id(), flush=True)
sys.stdin.read()
w.close()
io.close()
c.shutdown()
"#;

impl PyWatcher {
    fn start(bed: &Testbed, pool: &str, oid: &str) -> (PyWatcher, u64, u64) {
        let mut child = bed
            .system_python()
            .args([
                "-c",
                PY_WATCHER,
                &bed.var("CEPH_CONF"),
                &bed.var("CEPH_ADMIN_KEYRING"),
                pool,
                oid,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with the rados bindings");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = lines.next().unwrap().unwrap();
        let parts: Vec<&str> = ready.split_whitespace().collect();
        assert_eq!(parts[0], "ready", "{ready}");
        let gid = parts[1].parse().unwrap();
        let cookie = parts[2].parse().unwrap();
        (PyWatcher { child, lines }, gid, cookie)
    }

    fn next_line(&mut self) -> String {
        self.lines.next().unwrap().unwrap()
    }
}

impl Drop for PyWatcher {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_notify_reaches_a_librados_watcher_and_brings_its_answer() {
    let bed = Testbed::load();
    let (rados, io) = ioctx(&bed, "volumes").await;
    let oid = unique_name("watch-py");
    io.write_full(&oid, Bytes::from_static(b"x")).await.unwrap();
    let (mut py, py_gid, py_cookie) = PyWatcher::start(&bed, "volumes", &oid);

    let watchers = io.list_watchers(&oid).await.unwrap();
    assert!(
        watchers.iter().any(|w| w.cookie == py_cookie),
        "{watchers:?}"
    );

    let r = io
        .notify(&oid, b"hello", Duration::from_secs(10))
        .await
        .unwrap();
    let id = WatcherId {
        gid: py_gid,
        cookie: py_cookie,
    };
    assert_eq!(r.acks.get(&id).map(|b| &b[..]), Some(&b"py:hello"[..]));
    assert!(r.timeouts.is_empty());
    assert_eq!(
        py.next_line(),
        format!("notify {} hello", rados.mon().global_id())
    );
    drop(py);
    io.remove(&oid).await.unwrap();
}

const PY_NOTIFY: &str = r#"
import rados, sys
c = rados.Rados(conffile=sys.argv[1], name='client.admin', conf={'keyring': sys.argv[2]})
c.connect()
io = c.open_ioctx(sys.argv[3])
print(io.notify(sys.argv[4], sys.argv[5], 10000))
io.close()
c.shutdown()
"#;

fn py_notify(bed: &Testbed, pool: &str, oid: &str, msg: &str) -> String {
    let out = run_ok(bed.system_python().args([
        "-c",
        PY_NOTIFY,
        &bed.var("CEPH_CONF"),
        &bed.var("CEPH_ADMIN_KEYRING"),
        pool,
        oid,
        msg,
    ]));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

async fn expect_notify(
    w: &mut ceph_rados::objecter::WatchRegistration,
    payload: &[u8],
) -> (u64, u64) {
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(30), w.next_event())
            .await
            .expect("a notification in time")
            .expect("the objecter runs");
        match ev {
            WatchEvent::Notify {
                notify_id,
                notifier_gid,
                payload: p,
            } => {
                assert_eq!(&p[..], payload);
                return (notify_id, notifier_gid);
            }
            WatchEvent::Error { errno } => eprintln!("watch error {errno} (re-registering)"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_librados_notify_reaches_our_watch_also_after_its_osd_went_down() {
    let bed = Testbed::load();
    let (rados, io) = ioctx(&bed, "volumes").await;
    let oid = unique_name("watch-ours");
    io.write_full(&oid, Bytes::from_static(b"x")).await.unwrap();
    let mut w = io.watch(&oid).await.unwrap();
    let watchers = io.list_watchers(&oid).await.unwrap();
    assert!(
        watchers
            .iter()
            .any(|x| x.cookie == w.cookie() && x.name.num as u64 == rados.mon().global_id()),
        "{watchers:?}"
    );

    let notifier = {
        let bed_env = bed.clone();
        let oid = oid.clone();
        std::thread::spawn(move || py_notify(&bed_env, "volumes", &oid, "one"))
    };
    let (id, _) = expect_notify(&mut w, b"one").await;
    w.ack(id, b"ours").await.unwrap();
    assert_eq!(notifier.join().unwrap(), "True");

    // Mark the object's primary down: the map changes, the OSD comes back
    // by itself, and the watch must follow.
    let map = bed.ceph_json("CEPH_CONF", &["osd", "map", "volumes", &oid]);
    let primary = map["acting_primary"].as_i64().unwrap().to_string();
    let mut c = bed.ceph_tool("ceph", "CEPH_CONF", "admin");
    c.args(["osd", "down", &primary]);
    run_ok(&mut c);
    bed.wait_for_clean("CEPH_CONF", 180);
    tokio::time::sleep(Duration::from_secs(6)).await; // a ping round

    let notifier = {
        let bed_env = bed.clone();
        let oid = oid.clone();
        std::thread::spawn(move || py_notify(&bed_env, "volumes", &oid, "two"))
    };
    let (id, _) = expect_notify(&mut w, b"two").await;
    w.ack(id, b"ours").await.unwrap();
    assert_eq!(notifier.join().unwrap(), "True");

    w.unwatch().await.unwrap();
    assert!(io
        .list_watchers(&oid)
        .await
        .unwrap()
        .iter()
        .all(|x| x.name.num as u64 != rados.mon().global_id()));
    io.remove(&oid).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_of_our_clients_notify_each_other_and_sparse_reads_skip_holes() {
    let bed = Testbed::load();
    let (_a, io_a) = ioctx(&bed, "images").await;
    let (b, io_b) = ioctx(&bed, "images").await;
    let oid = unique_name("watch-both");
    io_a.write(&oid, 0, Bytes::from(vec![7u8; 4096]))
        .await
        .unwrap();
    io_a.write(&oid, 1 << 20, Bytes::from(vec![9u8; 4096]))
        .await
        .unwrap();

    let mut w = io_a.watch(&oid).await.unwrap();
    let notify = {
        let io_b = io_b.clone();
        let oid = oid.clone();
        tokio::spawn(async move { io_b.notify(&oid, b"ping", Duration::from_secs(10)).await })
    };
    let (id, gid) = expect_notify(&mut w, b"ping").await;
    assert_eq!(gid, b.mon().global_id());
    w.ack(id, b"pong").await.unwrap();
    let r = notify.await.unwrap().unwrap();
    assert_eq!(r.acks.len(), 1);
    assert_eq!(r.acks.values().next().map(|v| &v[..]), Some(&b"pong"[..]));
    w.unwatch().await.unwrap();

    // Sparse read: the data comes back where it was written, and the
    // hole between is not sent as zeros.
    let parts = io_b.sparse_read(&oid, 0, 2 << 20).await.unwrap();
    let full = io_b.read_full(&oid).await.unwrap();
    let sent: usize = parts.iter().map(|(_, d)| d.len()).sum();
    assert!(sent < full.len() / 2, "{sent} of {}", full.len());
    for (off, d) in &parts {
        let off = *off as usize;
        assert_eq!(&full[off..off + d.len()], &d[..]);
    }
    assert!(parts.iter().any(|(o, _)| *o == 0));
    assert!(parts
        .iter()
        .any(|(o, d)| *o <= 1 << 20 && o + d.len() as u64 > 1 << 20));
    io_a.remove(&oid).await.unwrap();
}
