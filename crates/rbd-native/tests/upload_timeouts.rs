//! `rbd-native upload` against a Glance that stops answering, and past
//! its own deadline, on the test bed:
//!
//! - glance-api stopped (SIGSTOP, as a hung server) in the middle of a
//!   streaming upload: the upload fails within its read timeout
//!   (`--read-timeout`), and once Glance answers again nothing is left;
//! - `--timeout SECS`: an upload still streaming when it passes stops,
//!   says it timed out and what it cleaned up, exits non-zero, and leaves
//!   nothing; a clone upload stopped wherever 1 or 2 s find it (its steps
//!   in flight included) leaves nothing either.
//!
//! The bounds on time are generous: they tell "within its timeout" from
//! "hangs", nothing finer.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use glance_client::Glance;
use rbd_native_tests::{glance_delete, rbd_native_bin, unique_name, ScratchDir, Testbed};

mod common;
use common::nothing_left::{
    admin_glance, assert_nothing_left, image_id, images_named, report, stderr, wait_for_glance,
};
use common::{clone_upload, ours};

/// Uploads share one Glance: one test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A volume of 1 GiB whose first `written` are data (Glance's rbd store
/// may skip zeros: data keeps it busy for seconds, and is far more than
/// the socket buffers between the tool and Glance hold); its name.
/// Removed by [`Volume`]'s drop.
struct Volume<'a> {
    bed: &'a Testbed,
    name: String,
}

impl<'a> Volume<'a> {
    fn create(bed: &'a Testbed, prefix: &str, written: &str) -> Volume<'a> {
        let name = unique_name(prefix);
        let vol = Volume { bed, name };
        bed.rbd_ok(&["create", "--size", "1024", &vol.spec()]);
        if !written.is_empty() {
            bed.rbd_bench_write(&vol.spec(), written, "seq");
        }
        vol
    }

    fn spec(&self) -> String {
        format!("volumes/{}", self.name)
    }
}

impl Drop for Volume<'_> {
    fn drop(&mut self) {
        self.bed.remove_image_and_snaps(&self.spec());
    }
}

/// An upload running in the background, its output going to files.
struct Upload {
    child: Child,
    _dir: ScratchDir,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Upload {
    /// `upload` of `vol` as image `name` with `extra` options, JSON out.
    fn start(bed: &Testbed, vol: &Volume, name: &str, extra: &[&str]) -> Upload {
        let spec = vol.spec();
        let mut args = vec![
            "upload", "--volume", &spec, "--name", name, "--format", "json",
        ];
        args.extend_from_slice(extra);
        let bin = rbd_native_bin(env!("CARGO_BIN_EXE_rbd-native"));
        let dir = ScratchDir::new("upload-timeouts");
        let (stdout, stderr) = (dir.path().join("out"), dir.path().join("err"));
        let child = bed
            .rbd_native_uploader(&bin)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Upload {
            child,
            _dir: dir,
            stdout,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits up to `limit` for the upload to end; its success, or a
    /// failed test (the upload killed) if it does not end.
    fn wait(&mut self, limit: Duration) -> bool {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the upload did not end within {limit:?}: {}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The JSON report `--format json` printed.
    fn report(&self) -> serde_json::Value {
        let out = std::fs::read(&self.stdout).unwrap();
        serde_json::from_slice(&out).unwrap_or_else(|e| {
            panic!(
                "no JSON report ({e}): {}\n{}",
                String::from_utf8_lossy(&out),
                self.stderr()
            )
        })
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The pid file of the bed's glance-api (testbed/openstack.sh's
/// `GL_PID`), beside the bed's env file; `None` for a bed that has none
/// (another cloud's).
fn glance_pid_file() -> Option<PathBuf> {
    let f = Testbed::env_path().parent()?.join("glance/glance-api.pid");
    f.is_file().then_some(f)
}

/// `pid` and all its descendants (gunicorn's master and its workers).
fn process_tree(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let parent = all[i];
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // pid (comm) state ppid ...: comm may hold spaces.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(parent) && !all.contains(&child) {
                all.push(child);
            }
        }
        i += 1;
    }
    all
}

fn signal(sig: &str, pids: &[u32]) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .args(pids.iter().map(u32::to_string))
        .status()
        .unwrap();
    assert!(status.success(), "kill -{sig} {pids:?}");
}

/// glance-api stopped with SIGSTOP; continued (SIGCONT) when dropped,
/// whatever the test does.
struct GlanceStopped {
    pids: Vec<u32>,
}

impl GlanceStopped {
    fn stop(pid_file: &PathBuf) -> GlanceStopped {
        let pid: u32 = std::fs::read_to_string(pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let pids = process_tree(pid);
        let stopped = GlanceStopped { pids };
        signal("STOP", &stopped.pids);
        stopped
    }
}

impl Drop for GlanceStopped {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-CONT")
            .args(self.pids.iter().map(u32::to_string))
            .status();
    }
}

/// The status of the Glance image named `name`, once there is one.
async fn status_of(g: &Glance, name: &str) -> Option<String> {
    let listed = images_named(g, name).await;
    let first = listed.first()?;
    let (_, status) = first.rsplit_once(" (")?;
    // Written as JSON strings: `"id" ("status")`.
    Some(status.trim_end_matches(')').trim_matches('"').to_string())
}

/// Waits (up to 2 minutes) until Glance has no image `id` and the store
/// pool no RBD image `id`: Glance removes its store's partial image on
/// its side once it runs again.
async fn wait_until_gone(bed: &Testbed, g: &Glance, id: &str) {
    for _ in 0..120 {
        let in_glance = match g.show_image(id).await {
            Err(e) => !e.is_not_found(),
            Ok(img) => img.status != "deleted",
        };
        let in_store = bed.rbd(&["info", &format!("images/{id}")]).status.success();
        if !in_glance && !in_store {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Nothing is left of the upload of `vol` as `name` whose report is `r`
/// (once Glance had the time to remove its store's partial image).
async fn assert_all_gone(
    bed: &Testbed,
    g: &Glance,
    vol: &Volume<'_>,
    name: &str,
    r: &serde_json::Value,
) {
    let id = r["image_id"].as_str().unwrap().to_string();
    assert!(!id.is_empty(), "{r}");
    wait_until_gone(bed, g, &id).await;
    assert_nothing_left(bed, g, &vol.name, name, &[id]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glance_stopped_mid_stream_fails_within_the_read_timeout_and_leaves_nothing() {
    let _one = SERIAL.lock().await;
    let Some(pid_file) = glance_pid_file() else {
        println!("skipped: this bed has no glance-api pid file to stop it by");
        return;
    };
    let bed = Testbed::load();
    let admin = admin_glance(&bed).await;
    wait_for_glance(&admin).await;
    let vol = Volume::create(&bed, "upto-stall", "768M");
    let name = unique_name("t-glance-stopped");
    let read_timeout = 5;
    let mut upload = Upload::start(
        &bed,
        &vol,
        &name,
        &["--read-timeout", &read_timeout.to_string()],
    );

    // Stop Glance once it takes the data.
    let started = Instant::now();
    loop {
        if status_of(&admin, &name).await.as_deref() == Some("saving") {
            break;
        }
        assert!(
            upload.child.try_wait().unwrap().is_none(),
            "the upload ended before Glance took data: {}",
            upload.stderr()
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "Glance never took the data: {}",
            upload.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stopped = GlanceStopped::stop(&pid_file);
    let stopped_at = Instant::now();

    // The stall is noticed within the read timeout (the tool warns at
    // once, then undoes what it made, which needs Glance back).
    let noticed = loop {
        let err = upload.stderr();
        if err.contains("took none of the data") || err.contains("no answer") {
            break stopped_at.elapsed();
        }
        assert!(
            stopped_at.elapsed() < Duration::from_secs(read_timeout + 60),
            "no stall noticed {:?} after Glance stopped: {err}",
            stopped_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("stall noticed {noticed:?} after Glance stopped");
    assert!(
        noticed >= Duration::from_secs(read_timeout - 1),
        "{noticed:?}"
    );
    drop(stopped);

    let ok = upload.wait(Duration::from_secs(300));
    let err = upload.stderr();
    println!("upload with Glance stopped: {err}");
    assert!(!ok, "the upload succeeded: {err}");
    assert!(err.contains("/file"), "{err}");
    assert!(
        err.contains(&format!("for {read_timeout} s (the read timeout)")),
        "{err}"
    );
    assert!(err.contains("--read-timeout"), "the hint: {err}");
    let r = upload.report();
    assert_all_gone(&bed, &admin, &vol, &name, &r).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_past_its_timeout_stops_and_leaves_nothing() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let admin = admin_glance(&bed).await;
    wait_for_glance(&admin).await;
    let vol = Volume::create(&bed, "upto-deadline", "");
    let name = unique_name("t-deadline");
    let started = Instant::now();
    let mut upload = Upload::start(&bed, &vol, &name, &["--timeout", "3"]);
    let ok = upload.wait(Duration::from_secs(180));
    let took = started.elapsed();
    let err = upload.stderr();
    println!("upload with --timeout 3 ({took:?}): {err}");
    assert!(!ok, "the upload succeeded within 3 s: {err}");
    assert!(err.contains("timed out after 3 s"), "{err}");
    assert!(err.contains("cleaned up: "), "{err}");
    assert!(err.contains("delete Glance image"), "{err}");
    assert!(err.contains("--timeout"), "the hint: {err}");
    assert!(took < Duration::from_secs(120), "{took:?}");
    let r = upload.report();
    let id = r["image_id"].as_str().unwrap();
    assert!(
        r["undone"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u.as_str().unwrap().contains(id)),
        "{r}"
    );
    assert_all_gone(&bed, &admin, &vol, &name, &r).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_upload_stopped_at_its_timeout_leaves_nothing() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let admin = admin_glance(&bed).await;
    wait_for_glance(&admin).await;
    let (vol, _) = bed.import_volume("upto-clone", 4 << 20, 31);
    let spec = format!("volumes/{vol}");
    // A clone takes a second or two: these stop it at one step or
    // another (snapshot ids, snapshots, the clone, the location), or it
    // finishes in time.
    for secs in ["1", "1", "2"] {
        let name = unique_name("t-clone-deadline");
        let mut args = clone_upload(&spec, &name, true);
        args.extend(["--timeout", secs]);
        let out = ours(&bed, &args, &[]);
        let r = report(&out);
        let id = image_id(&r);
        if out.status.success() {
            println!("clone with --timeout {secs}: finished in time");
            // An image like any other: delete it, and what it leaves.
            glance_delete(&admin, &id).await;
            ours(&bed, &["upload", "--cleanup", &id], &[]);
        } else {
            let err = stderr(&out);
            println!("clone with --timeout {secs}: {err}");
            assert!(err.contains(&format!("timed out after {secs} s")), "{err}");
        }
        if !id.is_empty() {
            wait_until_gone(&bed, &admin, &id).await;
        }
        assert_nothing_left(&bed, &admin, &vol, &name, &[id]).await;
    }
    bed.remove_image_and_snaps(&spec);
}
