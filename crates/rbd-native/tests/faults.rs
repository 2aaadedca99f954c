//! Faults an operator's cluster has, on the test bed, while `rbd-native`
//! works: an OSD that stops answering (SIGSTOP) for longer than the
//! heartbeat grace during an export and during a streaming upload (the
//! monitors mark it down, ops go to the new primary, and the bytes are
//! right); a client that outlives its service tickets and keeps opening
//! OSD sessions; the leader monitor stopped (SIGSTOP) while a clone upload
//! allots its snapshot ids; a monitor restarted at several points of clone
//! and streaming uploads (each finishes, or fails with a message, and
//! leaves nothing); an undo that fails (Glance refusing, through a proxy
//! in front of it, to delete the image the failed upload made) shows in
//! the report, the message and the exit status. These tests change the
//! cluster: one at a time.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rbd_native_tests::{
    glance_delete, glance_download, rbd_native_bin, run_ok, unique_name, MonConfig, ScratchDir,
    Testbed,
};

mod common;
use common::nothing_left::{
    admin_env, admin_glance, assert_nothing_left, image_id, report, stderr,
};
use common::ours;

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Sends `sig` to OSD `id` of cluster main through the bed's command.
fn signal_osd(bed: &Testbed, id: u32, sig: &str) {
    signal(bed, "RBD_NATIVE_OSD_SIGNAL_CMD", &id.to_string(), sig);
}

/// Runs the bed's signal command in variable `var` for daemon `id`.
fn signal(bed: &Testbed, var: &str, id: &str, sig: &str) {
    let line = bed.var(var).replace("{id}", id).replace("{sig}", sig);
    run_ok(Command::new("sh").arg("-c").arg(line));
}

/// Stops an OSD with SIGSTOP; sends SIGCONT when dropped, even when the
/// test fails, and waits until the cluster is clean again.
struct StoppedOsd<'a> {
    bed: &'a Testbed,
    id: u32,
}

impl<'a> StoppedOsd<'a> {
    fn stop(bed: &'a Testbed, id: u32) -> StoppedOsd<'a> {
        signal_osd(bed, id, "STOP");
        StoppedOsd { bed, id }
    }
}

impl Drop for StoppedOsd<'_> {
    fn drop(&mut self) {
        signal_osd(self.bed, self.id, "CONT");
        wait_osd(self.bed, self.id, true, 180);
        self.bed.wait_for_clean("CEPH_CONF", 300);
    }
}

/// Waits until OSD `id` is up (`up`) or down in the map.
fn wait_osd(bed: &Testbed, id: u32, up: bool, secs: u64) {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        let d = bed.ceph_json("CEPH_CONF", &["osd", "dump"]);
        let is_up = d["osds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["osd"] == id && o["up"] == 1);
        if is_up == up {
            return;
        }
        assert!(
            Instant::now() < end,
            "osd.{id} not {} after {secs} s",
            if up { "up" } else { "down" }
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `rbd-native ARGS` as the uploader, started in the background.
fn spawn_ours(bed: &Testbed, args: &[&str]) -> Child {
    let bin = rbd_native_bin(env!("CARGO_BIN_EXE_rbd-native"));
    bed.rbd_native_uploader(&bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child`, at most `secs` seconds (then kills it and fails).
fn finish(mut child: Child, secs: u64) -> std::process::Output {
    let end = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > end {
            let _ = child.kill();
            panic!("rbd-native still running after {secs} s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_osd_stopped_past_its_heartbeat_grace_during_an_export_and_an_upload() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    bed.wait_for_clean("CEPH_CONF", 120);
    let (vol, data) = bed.import_volume("fault-osd", 96 << 20, 41);
    let spec = format!("volumes/{vol}");
    let dir = ScratchDir::new("fault-osd");

    // An export: the OSD stops as it starts, so a third of its reads
    // wait until the monitors mark the OSD down and its PGs move.
    let out = dir.path().join("export");
    let export = spawn_ours(
        &bed,
        &["export", "--no-progress", &spec, &out.to_string_lossy()],
    );
    {
        let _stopped = StoppedOsd::stop(&bed, 1);
        wait_osd(&bed, 1, false, 120);
        let done = finish(export, 300);
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
    assert!(
        std::fs::read(&out).unwrap() == data,
        "the export's bytes differ"
    );

    // A streaming upload, the same way.
    let upload = spawn_ours(
        &bed,
        &[
            "upload",
            "--format",
            "json",
            "--volume",
            &spec,
            "--name",
            "t-fault-osd",
        ],
    );
    let done = {
        let _stopped = StoppedOsd::stop(&bed, 2);
        wait_osd(&bed, 2, false, 120);
        finish(upload, 300)
    };
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(r["path"], "stream", "{r}");
    let id = r["image_id"].as_str().unwrap();
    let g = bed.glance().await;
    assert!(
        glance_download(&g, id).await == data,
        "the image's bytes differ"
    );
    glance_delete(&g, id).await;
    bed.remove_image_and_snaps(&spec);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_outliving_its_service_tickets_keeps_opening_osd_sessions() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    // Service tickets of 10 s, for this test only.
    let _ttl = MonConfig::set(&bed, "auth_service_ticket_ttl", "10");

    let rados = bed
        .rados("CEPH_CONF", "client.cinder", "CEPH_CINDER_KEYRING")
        .await;
    let io = rados.ioctx("volumes").unwrap();
    // Three times the tickets' life: objects written and read all along;
    // every OSD restarted on the way, so sessions are opened anew with
    // renewed tickets.
    let start = Instant::now();
    let mut restarted = 0u32;
    let mut i = 0u64;
    while restarted < 3 || start.elapsed() < Duration::from_secs(32) {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "still going after 300 s"
        );
        let name = format!("ttl-{}-{i}", std::process::id());
        let body = bytes::Bytes::from(vec![i as u8; 4096 + i as usize]);
        io.write_full(&name, body.clone()).await.unwrap();
        assert!(io.read_full(&name).await.unwrap() == body);
        io.remove(&name).await.unwrap();
        i += 1;
        let due = start.elapsed() > Duration::from_secs(12 + 6 * u64::from(restarted));
        if restarted < 3 && due {
            let stop = bed
                .var("RBD_NATIVE_OSD_STOP_CMD")
                .replace("{id}", &restarted.to_string());
            let go = bed
                .var("RBD_NATIVE_OSD_START_CMD")
                .replace("{id}", &restarted.to_string());
            run_ok(Command::new("sh").arg("-c").arg(stop));
            run_ok(Command::new("sh").arg("-c").arg(go));
            restarted += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(restarted, 3);
    assert!(i > 20, "only {i} rounds");
    bed.wait_for_clean("CEPH_CONF", 300);
}

/// The monitors in the quorum of cluster main, and its leader.
fn quorum(bed: &Testbed) -> (Vec<String>, String) {
    let q = bed.ceph_json("CEPH_CONF", &["quorum_status"]);
    let names = q["quorum_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    (names, q["quorum_leader_name"].as_str().unwrap().to_string())
}

/// Waits until all three monitors of cluster main are in the quorum.
fn wait_full_quorum(bed: &Testbed, secs: u64) {
    let end = Instant::now() + Duration::from_secs(secs);
    while quorum(bed).0.len() < 3 {
        assert!(Instant::now() < end, "no full quorum after {secs} s");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A monitor stopped with SIGSTOP; SIGCONT when dropped, even when the
/// test fails, then the quorum is waited for.
struct StoppedMon<'a> {
    bed: &'a Testbed,
    id: String,
}

impl<'a> StoppedMon<'a> {
    fn stop(bed: &'a Testbed, id: &str) -> StoppedMon<'a> {
        signal(bed, "RBD_NATIVE_MON_SIGNAL_CMD", id, "STOP");
        StoppedMon {
            bed,
            id: id.to_string(),
        }
    }
}

impl Drop for StoppedMon<'_> {
    fn drop(&mut self) {
        signal(self.bed, "RBD_NATIVE_MON_SIGNAL_CMD", &self.id, "CONT");
        wait_full_quorum(self.bed, 180);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_monitor_stopped_while_a_clone_upload_allots_its_ids() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    wait_full_quorum(&bed, 120);
    let g = admin_glance(&bed).await;
    let (vol, data) = bed.import_volume("fault-leader", 8 << 20, 43);
    let spec = format!("volumes/{vol}");
    let name = unique_name("t-fault-leader");
    let (_, leader) = quorum(&bed);

    let upload = spawn_ours(
        &bed,
        &[
            "upload",
            "--format",
            "json",
            "--volume",
            &spec,
            "--name",
            &name,
            "--clone-optimization",
            "--no-fallback",
        ],
    );
    let done = {
        std::thread::sleep(Duration::from_millis(200));
        let _stopped = StoppedMon::stop(&bed, &leader);
        let done = finish(upload, 300);
        // The others elected a leader among themselves.
        assert_ne!(quorum(&bed).1, leader);
        done
    };
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(r["path"], "clone", "{r}");
    let id = image_id(&r);
    assert!(glance_download(&g, &id).await == data);
    glance_delete(&g, &id).await;
    bed.remove_image_and_snaps(&spec);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_restarted_during_uploads_leaves_each_finished_or_undone() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    wait_full_quorum(&bed, 120);
    let g = admin_glance(&bed).await;
    let (vol, data) = bed.import_volume("fault-monrestart", 8 << 20, 44);
    let spec = format!("volumes/{vol}");
    let restart = bed.var("RBD_NATIVE_MON_RESTART_CMD");
    for clone in [true, false] {
        for delay_ms in [50u64, 150, 300, 600, 1000] {
            let name = unique_name("t-fault-monrestart");
            let mut args = vec![
                "upload", "--format", "json", "--volume", &spec, "--name", &name,
            ];
            if clone {
                args.push("--clone-optimization");
            }
            let upload = spawn_ours(&bed, &args);
            std::thread::sleep(Duration::from_millis(delay_ms));
            run_ok(Command::new("sh").arg("-c").arg(&restart));
            let done = finish(upload, 300);
            let err = String::from_utf8_lossy(&done.stderr).into_owned();
            let r: serde_json::Value = serde_json::from_slice(&done.stdout)
                .unwrap_or_else(|_| panic!("no report (clone {clone}, {delay_ms} ms): {err}"));
            let id = image_id(&r);
            println!(
                "clone {clone}, restart at {delay_ms} ms: {} {err}",
                r["path"]
            );
            if done.status.success() {
                assert!(glance_download(&g, &id).await == data, "{r}");
                glance_delete(&g, &id).await;
                // A clone's volume snapshot stays in the snapshot trash
                // (Glance may not write to volumes); the documented way
                // to remove it.
                let out = ours(&bed, &["upload", "--cleanup", &id], &[]);
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            } else {
                assert!(err.starts_with("rbd-native: ") && err.len() > 20, "{err}");
            }
            assert_nothing_left(&bed, &g, &vol, &name, &[id]).await;
        }
    }
    bed.remove_image_and_snaps(&spec);
}

/// A proxy in front of Glance that answers 503 to every image delete and
/// forwards everything else, one request per connection; it stops when
/// dropped.
struct NoDeleteProxy {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl NoDeleteProxy {
    async fn start(upstream: &str) -> NoDeleteProxy {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let up = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let up = up.clone();
                tokio::spawn(async move {
                    // The request: its head, then Content-Length bytes.
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    let head_end = loop {
                        let n = client.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                    let len: usize = head
                        .lines()
                        .filter_map(|l| l.split_once(':'))
                        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                        .and_then(|(_, v)| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        let n = client.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    if head.starts_with("DELETE /v2/images/") {
                        let body = "{\"message\": \"deletes refused by the test's proxy\"}";
                        let reply = format!(
                            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = client.write_all(reply.as_bytes()).await;
                        return;
                    }
                    // Forwarded with `Connection: close`, so that the
                    // client opens a connection (and this proxy sees a
                    // request) each time.
                    let mut lines: Vec<&str> = head[..head_end - 4]
                        .split("\r\n")
                        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
                        .collect();
                    lines.push("Connection: close");
                    let mut out = lines.join("\r\n").into_bytes();
                    out.extend_from_slice(b"\r\n\r\n");
                    out.extend_from_slice(&buf[head_end..]);
                    let Ok(mut server) = tokio::net::TcpStream::connect(&up).await else {
                        return;
                    };
                    if server.write_all(&out).await.is_err() {
                        return;
                    }
                    let _ = tokio::io::copy(&mut server, &mut client).await;
                });
            }
        });
        NoDeleteProxy { url, task }
    }
}

impl Drop for NoDeleteProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undo_that_fails_shows_in_the_report_and_the_exit_status() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let g = admin_glance(&bed).await;
    let (vol, _) = bed.import_volume("fault-undo", 4 << 20, 45);
    let spec = format!("volumes/{vol}");
    let proxy = NoDeleteProxy::start(&bed.var("GLANCE_URL")).await;
    // The bed's admin lacks the `service` role: Glance refuses the
    // clone's location, the upload (--no-fallback) fails and undoes its
    // steps; the proxy makes the last, deleting the Glance image, fail.
    let mut env = admin_env(&bed);
    env.push(("OS_IMAGE_URL".into(), proxy.url.clone()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let name = unique_name("t-fault-undo");
    let out = tokio::task::block_in_place(|| {
        ours(
            &bed,
            &[
                "upload",
                "--format",
                "json",
                "--volume",
                &spec,
                "--name",
                &name,
                "--clone-optimization",
                "--no-fallback",
            ],
            &env,
        )
    });
    drop(proxy);
    let err = stderr(&out);
    println!("{err}");
    assert!(!out.status.success(), "{err}");
    let r = report(&out);
    let id = image_id(&r);
    assert!(!id.is_empty(), "{r}");
    let failures = r["undo_failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{r}");
    assert_eq!(
        failures[0]["step"],
        format!("delete Glance image {id}"),
        "{r}"
    );
    assert!(
        failures[0]["error"].as_str().unwrap().contains("503"),
        "{r}"
    );
    assert!(err.contains("undoing the upload then failed"), "{err}");
    assert!(err.contains(&format!("upload --cleanup {id}")), "{err}");
    // Only the Glance image is left; the documented cleanup (by its
    // owner) removes it.
    assert_eq!(g.show_image(&id).await.unwrap().status, "queued");
    let env = admin_env(&bed);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = ours(&bed, &["upload", "--cleanup", &id], &env);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_nothing_left(&bed, &g, &vol, &name, &[id]).await;
    bed.remove_image_and_snaps(&spec);
}
