//! The upload benchmark (issues 6 and 7): `rbd-native upload` against the
//! reference paths on the same bed, in one run.
//!
//! For each size (`SIZES`, GiB, default `1,2,5`) a volume full of random
//! bytes is made, then timed: our clone upload, the same clone sequence
//! through librbd (`benches/py/librbd_clone_upload.py`, the floor of a
//! librbd-based implementation), our streaming upload, and today's Cinder
//! path (`benches/py/cinder_stream_upload.py`: librbd reading,
//! python-glanceclient uploading). Every image is checked `active`; at the
//! smallest size the clone and stream images are downloaded and their
//! sha256 compared with the volume's. Then 1, 4 and 16 clone uploads of
//! different volumes started together (issue 7): as that many commands at
//! once, as that many commands given one token issued beforehand
//! (`OS_AUTH_TYPE=token` without a project: used as it is), then as one
//! command given that many volumes (the library's `upload_many`: one
//! Keystone token, one monitor session). Beside each run's wall time come
//! its longest "image create and snapshot ids" step (the ids are allotted
//! while the Glance image is created: it shows whether the allotments
//! shared monitor rounds), its longest time from image creation to the
//! location request (the cluster's part of the clone path) and its longest
//! location import (Glance's part).
//!
//! Each upload time is the window the spec's table measures, from the
//! Glance image's creation to the end of the upload (for ours: every step
//! after the eligibility check, the post-`active` clean-up steps included;
//! for the scripts: `clone_seconds` / `upload_seconds`). Command wall
//! times (process start to exit: authentication and cluster connection
//! included) are reported too.
//!
//! Output: a table on stdout, `target/bench/upload.json` and `.md`
//! (`BENCH_OUT` to change the folder), and `docs/upload-bench.svg`,
//! written after every phase so that a run cut short keeps its figures.
//!
//! Disk: before each large write the benchmark makes sure the host has
//! room for it, restarting the bed's OSDs when their files hold enough
//! freed space (`benches/disk.rs`; `BENCH_RECLAIM=never|always`); when
//! even that would not do, the rest of that size is skipped and the report
//! says so.
//!
//! Other knobs: `CLONE_RUNS` (default 3: median of the clone timings per
//! size), `CONCURRENT` (default `1,4,16`), `CONCURRENT_RUNS` (default 3),
//! `VERIFY_SIZES` (GiB whose images are downloaded and hashed; default the
//! smallest size).

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    missing_docs,
    clippy::too_many_lines,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rbd_native_benches::child::{self, Usage};
use rbd_native_benches::disk::Room;
use rbd_native_benches::method::{order, rounds, Sample, Side};
use rbd_native_benches::report::Report;
use rbd_native_benches::Setup;
use rbd_native_tests::{run, Testbed};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const VOLUME_POOL: &str = "volumes";
const GIB: u64 = 1 << 30;
const CHUNK: usize = 4 << 20;

fn env_list(name: &str, default: &str) -> Vec<u64> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{name}: {s:?} is not a number"))
        })
        .collect()
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Everything the runs need: the bed, the tool, the scripts.
struct Bench {
    bed: Testbed,
    conf: String,
    admin_keyring: String,
    cinder_keyring: String,
    tool: PathBuf,
    python: PathBuf,
    pydir: PathBuf,
    stamp: u32,
    log: Vec<String>,
    /// The side-by-side measures by the method (benches/method.rs).
    report: Report,
}

impl Bench {
    /// `rbd` as admin on cluster main.
    fn rbd(&self, args: &[&str]) -> std::process::Output {
        run(self
            .bed
            .tool("rbd")
            .args(["-c", &self.conf, "-k", &self.admin_keyring])
            .env_remove("CEPH_ARGS")
            .args(args))
    }

    fn rbd_ok(&self, args: &[&str]) -> String {
        let out = self.rbd(args);
        assert!(
            out.status.success(),
            "rbd {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn note(&mut self, msg: String) {
        println!("[bench] {msg}");
        self.log.push(msg);
    }

    /// `rbd-native upload` of `volume` (no config file, the bed's OS_*
    /// variables, not OS_CLOUD).
    fn tool_cmd(&self, volume: &str, name: &str, clone: bool) -> Command {
        let mut cmd = Command::new(&self.tool);
        cmd.args([
            "-c",
            &self.conf,
            "--id",
            "cinder",
            "-k",
            &self.cinder_keyring,
        ])
        .args(["upload", "--volume", &format!("{VOLUME_POOL}/{volume}")])
        .args(["--name", name, "--format", "json"])
        .arg(if clone {
            "--clone-optimization"
        } else {
            "--no-clone-optimization"
        })
        .env("RBD_NATIVE_CONFIG", "/dev/null")
        .env_remove("OS_CLOUD")
        .env_remove("CEPH_ARGS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        for var in [
            "OS_AUTH_URL",
            "OS_USERNAME",
            "OS_PASSWORD",
            "OS_PROJECT_NAME",
            "OS_USER_DOMAIN_NAME",
            "OS_PROJECT_DOMAIN_NAME",
            "OS_REGION_NAME",
            "OS_IDENTITY_API_VERSION",
            "OS_CACERT",
            "OS_INTERFACE",
        ] {
            if let Some(v) = self.bed.get(var) {
                cmd.env(var, v);
            }
        }
        cmd
    }

    /// Parses the tool's JSON result; panics unless it took `path`.
    fn tool_result(out: &std::process::Output, path: &str) -> Value {
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "rbd-native upload printed no JSON ({e}, {}): {}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert!(
            out.status.success() && v["path"] == path,
            "rbd-native upload did not take the {path} path: {v}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        v
    }

    /// One upload by the tool: (result, command wall seconds). A failed
    /// attempt (the bed's Glance answers 500 when its SQLite database is
    /// locked by other clients) is reported, what it left in Glance
    /// deleted, and the upload tried again, up to 3 times.
    fn upload(&mut self, volume: &str, clone: bool) -> (Value, f64, Usage) {
        let path = if clone { "clone" } else { "stream" };
        let name = format!("bench-{path}-{volume}");
        for attempt in 1..=3 {
            // A child of its own, measured (CPU, peak RSS: benches/child.rs).
            let (out, usage) =
                child::run(&mut self.tool_cmd(volume, &name, clone)).expect("run rbd-native");
            let wall = usage.wall;
            let ok = out.status.success()
                && serde_json::from_slice::<Value>(&out.stdout).is_ok_and(|v| v["path"] == path);
            if ok || attempt == 3 {
                return (Self::tool_result(&out, path), wall, usage);
            }
            self.note(format!(
                "{path} upload of {volume}, attempt {attempt} failed (retried): {}{}",
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            self.py("glance_images.py", &["delete-named", &name]);
        }
        unreachable!()
    }

    /// An upload script of benches/py (which cleans up after a failure
    /// itself), tried up to 3 times like [`Bench::upload`].
    fn py_upload(&mut self, script: &str, args: &[&str]) -> (Value, f64, Option<Usage>) {
        for attempt in 1..3 {
            let (out, usage) = child::run(
                Command::new(&self.python)
                    .arg(self.pydir.join(script))
                    .args(args)
                    .current_dir(&self.pydir),
            )
            .expect("run the upload script");
            let wall = usage.wall;
            match serde_json::from_slice::<Value>(&out.stdout) {
                Ok(v) if out.status.success() && v["ok"] == true => return (v, wall, Some(usage)),
                _ => self.note(format!(
                    "{script}, attempt {attempt} failed (retried): {}",
                    String::from_utf8_lossy(&out.stdout).trim()
                )),
            }
        }
        let (v, wall) = self.py(script, args);
        (v, wall, None)
    }

    /// A reference upload of `volume` by `script` (its image deleted after):
    /// (result, wall seconds, process cost, the result's `seconds_key`).
    fn reference_upload(
        &mut self,
        script: &str,
        volume: &str,
        seconds_key: &str,
    ) -> (Value, f64, Option<Usage>, f64) {
        let spec = format!("{VOLUME_POOL}/{volume}");
        let (v, wall, usage) = self.py_upload(script, &["--volume", &spec, "--delete"]);
        let secs = v[seconds_key].as_f64().unwrap();
        (v, wall, usage, secs)
    }

    /// A script of benches/py with the venv's Python; its JSON.
    fn py(&self, script: &str, args: &[&str]) -> (Value, f64) {
        let t = Instant::now();
        let out = run(Command::new(&self.python)
            .arg(self.pydir.join(script))
            .args(args)
            .current_dir(&self.pydir));
        let wall = t.elapsed().as_secs_f64();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{script} printed no JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert!(
            out.status.success() && v["ok"] == true,
            "{script} {args:?} failed: {v}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (v, wall)
    }

    fn glance_status(&self, ids: &[&str]) -> Vec<String> {
        let mut args = vec!["status"];
        args.extend_from_slice(ids);
        let (v, _) = self.py("glance_images.py", &args);
        ids.iter()
            .map(|id| v["statuses"][*id].as_str().unwrap_or("?").to_string())
            .collect()
    }

    fn glance_sha256(&self, id: &str) -> String {
        let (v, _) = self.py("glance_images.py", &["sha256", id]);
        v["sha256"].as_str().unwrap().to_string()
    }

    fn glance_delete(&self, ids: &[String]) {
        if ids.is_empty() {
            return;
        }
        let mut args = vec!["delete"];
        args.extend(ids.iter().map(String::as_str));
        self.py("glance_images.py", &args);
    }

    /// A volume of `size` bytes of random data, written through `rbd
    /// import` (librbd) from /dev/urandom, its data in `data_pool` when
    /// given; its sha256 and the seconds.
    fn make_volume(&self, name: &str, size: u64, data_pool: Option<&str>) -> (String, f64) {
        let t = Instant::now();
        let mut child = self
            .bed
            .tool("rbd")
            .args(["-c", &self.conf, "-k", &self.admin_keyring])
            .env_remove("CEPH_ARGS")
            .args([
                "import",
                "--no-progress",
                "-",
                &format!("{VOLUME_POOL}/{name}"),
            ])
            .args(data_pool.map(|p| ["--data-pool", p]).into_iter().flatten())
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("rbd import");
        let mut urandom = std::fs::File::open("/dev/urandom").expect("/dev/urandom");
        let mut stdin = child.stdin.take().unwrap();
        let mut buf = vec![0u8; CHUNK];
        let mut hash = Sha256::new();
        let mut left = size;
        while left > 0 {
            let n = left.min(CHUNK as u64) as usize;
            urandom.read_exact(&mut buf[..n]).unwrap();
            hash.update(&buf[..n]);
            stdin.write_all(&buf[..n]).expect("feed rbd import");
            left -= n as u64;
        }
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "rbd import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (hex(&hash.finalize()), t.elapsed().as_secs_f64())
    }

    /// Removes a volume; it must have no snapshot left but trashed ones
    /// (which `rbd rm` takes with it once their clones are gone).
    fn remove_volume(&self, name: &str) {
        let spec = format!("{VOLUME_POOL}/{name}");
        for _ in 0..20 {
            if self.rbd(&["rm", "--no-progress", &spec]).status.success() {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        let snaps = self.rbd(&["snap", "ls", "--all", &spec]);
        panic!(
            "could not remove {spec}: {}",
            String::from_utf8_lossy(&snaps.stdout)
        );
    }

    /// Whether `bytes` more of data (times the images pool's size) can be
    /// written without filling the host (see [`Room`]).
    fn room_for(&mut self, bytes: u64, what: &str) -> bool {
        let mut notes = Vec::new();
        let ok = Room::new(&self.bed).for_bytes("images", bytes, what, &mut |m| notes.push(m));
        for m in notes {
            self.note(m);
        }
        ok
    }
}

/// Our upload time: every step after the eligibility check.
fn our_seconds(v: &Value) -> f64 {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] != "check")
        .map(|s| s["seconds"].as_f64().unwrap_or(0.0))
        .sum()
}

#[derive(Default, Clone)]
struct SizeRow {
    gib: u64,
    fill_seconds: f64,
    ours_clone: Option<f64>,
    ours_clone_wall: Option<f64>,
    librbd_clone: Option<f64>,
    librbd_clone_wall: Option<f64>,
    ours_stream: Option<f64>,
    ours_stream_wall: Option<f64>,
    cinder_stream: Option<f64>,
    cinder_stream_wall: Option<f64>,
    /// What our stream's process and Cinder's script cost.
    ours_stream_usage: Option<Usage>,
    cinder_stream_usage: Option<Usage>,
    clone_runs: Vec<Value>,
    verified: Option<bool>,
    notes: Vec<String>,
}

/// A process's cost as JSON (null when not measured).
fn usage_json(u: Option<Usage>) -> Value {
    u.map_or(Value::Null, |u| {
        json!({"wall_s": u.wall, "user_s": u.user, "sys_s": u.sys, "peak_rss_kib": u.peak_rss_kib})
    })
}

/// CPU seconds per GiB of a process that moved `gib` GiB.
fn cpu_per_gib(u: Option<Usage>, gib: u64) -> Option<f64> {
    u.filter(|_| gib > 0).map(|u| u.cpu() / gib as f64)
}

fn rss_mib(u: Option<Usage>) -> String {
    u.map_or("-".into(), |u| {
        format!("{:.1} MiB", u.peak_rss_kib as f64 / 1024.0)
    })
}

fn opt(v: Option<f64>) -> Value {
    v.map_or(Value::Null, |x| json!((x * 1000.0).round() / 1000.0))
}

fn fmt_s(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |x| {
        if x >= 60.0 {
            format!("{}m {:04.1}s", (x / 60.0) as u64, x % 60.0)
        } else {
            format!("{x:.2} s")
        }
    })
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// One size: `runs` = (clone rounds, stream rounds), ours and the
/// reference alternating (who goes first alternates too); the volume's
/// data in `data_pool` when given.
fn run_size(
    b: &mut Bench,
    gib: u64,
    runs: (usize, usize),
    verify: bool,
    data_pool: Option<&str>,
) -> SizeRow {
    let (clone_runs, stream_runs) = runs;
    let size = gib * GIB;
    let mut row = SizeRow {
        gib,
        ..SizeRow::default()
    };
    let volume = format!("bench-up-{}-{gib}g", b.stamp);
    if !b.room_for(size, &format!("{gib} GiB volume")) {
        row.notes.push("skipped: no room for the volume".into());
        return row;
    }
    let (sha, fill) = b.make_volume(&volume, size, data_pool);
    row.fill_seconds = fill;
    b.note(format!(
        "{gib} GiB: volume {VOLUME_POOL}/{volume}{} written in {fill:.1} s (sha256 {sha})",
        data_pool.map_or(String::new(), |p| format!(" (data pool {p})"))
    ));
    let mut verified = true;

    // Clones, ours and librbd's in turn, CLONE_RUNS times each.
    let (mut ours, mut ours_wall, mut theirs, mut theirs_wall) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let clone_measure = format!("{gib} GiB clone upload");
    for i in 0..clone_runs {
        for side in order(i) {
            if side == Side::Ours {
                let (v, wall, usage) = b.upload(&volume, true);
                let id = v["image_id"].as_str().unwrap().to_string();
                let status = b.glance_status(&[&id]);
                assert_eq!(status[0], "active", "our clone image {id}");
                if verify && i == 0 {
                    let got = b.glance_sha256(&id);
                    b.note(format!("{gib} GiB: clone image {id} sha256 {got}"));
                    verified &= got == sha;
                }
                b.glance_delete(std::slice::from_ref(&id));
                ours.push(our_seconds(&v));
                ours_wall.push(wall);
                b.report.record(
                    &clone_measure,
                    "s",
                    false,
                    side,
                    Sample::new(our_seconds(&v)).work(1, 0).usage(usage),
                );
                row.clone_runs.push(json!({"who": "rbd-native", "result": v, "wall_seconds": wall, "usage": usage_json(Some(usage))}));
            } else {
                let (v, wall, usage, secs) =
                    b.reference_upload("librbd_clone_upload.py", &volume, "clone_seconds");
                theirs.push(secs);
                theirs_wall.push(wall);
                let mut sample = Sample::new(secs).work(1, 0);
                sample.usage = usage;
                b.report.record(&clone_measure, "s", false, side, sample);
                row.clone_runs.push(
                    json!({"who": "librbd", "result": v, "wall_seconds": wall, "usage": usage_json(usage)}),
                );
            }
        }
        println!(
            "  {gib} GiB clone run {}: ours {:.3} s (command {:.2} s), librbd sequence {:.3} s (script {:.2} s)",
            i + 1,
            ours[i],
            ours_wall[i],
            theirs[i],
            theirs_wall[i]
        );
    }
    let med = |v: &[f64]| (!v.is_empty()).then(|| median(v.to_vec()));
    row.ours_clone = med(&ours);
    row.ours_clone_wall = med(&ours_wall);
    row.librbd_clone = med(&theirs);
    row.librbd_clone_wall = med(&theirs_wall);

    // Streams, ours and Cinder's path alternating, STREAM_RUNS rounds.
    let stream_measure = format!("{gib} GiB streaming upload");
    let (mut ours_s, mut ours_s_wall, mut cinder_s, mut cinder_s_wall) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..stream_runs {
        for side in order(round) {
            if side == Side::Ours {
                if !b.room_for(size, &format!("{gib} GiB: our stream")) {
                    row.notes
                        .push(format!("our stream round {round} skipped: no room"));
                    continue;
                }
                let (v, wall, usage) = b.upload(&volume, false);
                let id = v["image_id"].as_str().unwrap().to_string();
                assert_eq!(
                    b.glance_status(&[&id])[0],
                    "active",
                    "our stream image {id}"
                );
                if verify && round == 0 {
                    let got = b.glance_sha256(&id);
                    b.note(format!("{gib} GiB: stream image {id} sha256 {got}"));
                    verified &= got == sha;
                }
                b.glance_delete(std::slice::from_ref(&id));
                let secs = our_seconds(&v);
                ours_s.push(secs);
                ours_s_wall.push(wall);
                // The largest peak of the rounds.
                if row
                    .ours_stream_usage
                    .is_none_or(|u| u.peak_rss_kib < usage.peak_rss_kib)
                {
                    row.ours_stream_usage = Some(usage);
                }
                b.report.record(
                    &stream_measure,
                    "s",
                    false,
                    side,
                    Sample::new(secs).work(0, size).usage(usage),
                );
                println!(
                    "  {gib} GiB our stream, round {round}: {secs:.2} s (command {wall:.2} s), {:.0} MB/s",
                    size as f64 / 1e6 / secs
                );
                row.clone_runs.push(json!({"who": "rbd-native stream", "result": v, "wall_seconds": wall, "usage": usage_json(Some(usage))}));
            } else {
                if !b.room_for(size, &format!("{gib} GiB: Cinder's stream")) {
                    row.notes
                        .push(format!("Cinder's stream round {round} skipped: no room"));
                    continue;
                }
                let (v, wall, usage, secs) =
                    b.reference_upload("cinder_stream_upload.py", &volume, "upload_seconds");
                cinder_s.push(secs);
                cinder_s_wall.push(wall);
                if let Some(u) = usage {
                    if row
                        .cinder_stream_usage
                        .is_none_or(|c| c.peak_rss_kib < u.peak_rss_kib)
                    {
                        row.cinder_stream_usage = Some(u);
                    }
                }
                let mut sample = Sample::new(secs).work(0, size);
                sample.usage = usage;
                b.report.record(&stream_measure, "s", false, side, sample);
                println!(
                    "  {gib} GiB Cinder stream, round {round}: {secs:.2} s (script {wall:.2} s), {:.0} MB/s",
                    size as f64 / 1e6 / secs
                );
                row.clone_runs.push(json!({"who": "cinder stream", "result": v, "wall_seconds": wall, "usage": usage_json(usage)}));
            }
        }
    }
    row.ours_stream = med(&ours_s);
    row.ours_stream_wall = med(&ours_s_wall);
    row.cinder_stream = med(&cinder_s);
    row.cinder_stream_wall = med(&cinder_s_wall);

    if verify {
        row.verified = Some(verified);
        assert!(
            verified,
            "{gib} GiB: an image's sha256 differs from the volume's"
        );
    }
    b.remove_volume(&volume);
    row
}

/// How long a concurrent run may take before its commands are killed.
const CONCURRENT_DEADLINE: Duration = Duration::from_secs(300);

/// The steps of an upload from the Glance image's creation to its
/// location request: what the cluster's side of the clone path costs
/// (Glance's image create overlaps the snapshot-id allotment).
const TO_LOCATION_STEPS: [&str; 4] = [
    "image create and snapshot ids",
    "volume snapshot",
    "clone",
    "clone snapshot",
];

/// The steps of an upload that are Glance's location import.
const IMPORT_STEPS: [&str; 2] = ["location", "active"];

/// The sum of the `names` steps of upload result `r`.
fn steps_sum(r: &Value, names: &[&str]) -> f64 {
    r["steps"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .filter(|s| s["name"].as_str().is_some_and(|n| names.contains(&n)))
                .filter_map(|s| s["seconds"].as_f64())
                .sum()
        })
        .unwrap_or(0.0)
}

/// One concurrent run: the wall time until the last upload ended, each
/// upload's time, the longest "image create and snapshot ids" step (the
/// ids are allotted while the Glance image is created) among them, the
/// longest time from image creation to location request
/// ([`TO_LOCATION_STEPS`]) and the longest location import
/// ([`IMPORT_STEPS`]).
struct ConcRun {
    wall: f64,
    /// Uploads that failed (the reference's only), left out of the rest.
    failed: usize,
    each: Vec<f64>,
    ids_max: f64,
    to_location_max: f64,
    import_max: f64,
    /// The longest Glance image creation (timed on its own).
    glance_create_max: f64,
    /// The longest part of the cluster alone before the location request
    /// ([`cluster_part`]).
    cluster_max: f64,
}

/// Our steps on the cluster after the snapshot-id round, up to the
/// location request.
const CLUSTER_STEPS: [&str; 4] = [
    "volume snapshot",
    "volume snapshot protect",
    "clone",
    "clone snapshot",
];

/// The seconds of part `name` of upload result `r`'s first step (its
/// parts ran side by side, each timed on its own).
fn overlapped_part(r: &Value, name: &str) -> f64 {
    r["overlapped"]
        .as_array()
        .and_then(|parts| parts.iter().find(|p| p["name"] == name))
        .and_then(|p| p["seconds"].as_f64())
        .unwrap_or(0.0)
}

/// The cluster's own part of upload result `r` before its location
/// request: the snapshot-id round and the `names` steps after it, without
/// Glance's image creation that ran beside the round.
fn cluster_part(r: &Value, names: &[&str]) -> f64 {
    overlapped_part(r, "snapshot ids") + steps_sum(r, names)
}

/// Glance's image creation in upload result `r`.
fn glance_create(r: &Value, _: &[&str]) -> f64 {
    overlapped_part(r, "glance image create")
}

/// Waits for `child` until `deadline`, killing it then; its output.
fn wait_until(mut child: std::process::Child, deadline: Instant) -> std::process::Output {
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// How the N uploads of a concurrent run are started.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ConcMode {
    /// N commands, each authenticating to Keystone with the password.
    Commands,
    /// N commands given one token (`OS_AUTH_TYPE=token`, no project: the
    /// token is used as it is), issued before the run as a caller holding
    /// a token (Cinder with its request's) would have it.
    SharedToken,
    /// One command given the N volumes (the library's `upload_many`).
    OneCommand,
    /// The reference: N librbd-based uploads at once
    /// (`benches/py/librbd_clone_upload.py`, a process each).
    Librbd,
}

impl ConcMode {
    const ALL: [ConcMode; 4] = [
        ConcMode::Commands,
        ConcMode::SharedToken,
        ConcMode::OneCommand,
        ConcMode::Librbd,
    ];

    fn label(self) -> &'static str {
        match self {
            ConcMode::Commands => "N commands",
            ConcMode::SharedToken => "N commands sharing one token",
            ConcMode::OneCommand => "one command, N volumes",
            ConcMode::Librbd => "librbd: N processes",
        }
    }

    fn key(self) -> &'static str {
        match self {
            ConcMode::Commands => "commands",
            ConcMode::SharedToken => "commands_shared_token",
            ConcMode::OneCommand => "one_command",
            ConcMode::Librbd => "librbd_processes",
        }
    }
}

/// N clone uploads of N different volumes started together as `mode`
/// says: the wall time until the last one ends.
fn run_concurrent(b: &Bench, volumes: &[String], n: usize, mode: ConcMode) -> ConcRun {
    if mode == ConcMode::Librbd {
        return run_concurrent_librbd(b, &volumes[..n]);
    }
    let token = (mode == ConcMode::SharedToken).then(|| {
        let (v, _) = b.py("glance_images.py", &["token"]);
        v["token"].as_str().expect("a token").to_string()
    });
    let command = |v: &String| {
        let mut cmd = b.tool_cmd(v, &format!("bench-conc-{v}"), true);
        if let Some(t) = &token {
            rbd_native_tests::with_given_token(&mut cmd, t);
        }
        cmd
    };
    let t = Instant::now();
    let deadline = t + CONCURRENT_DEADLINE;
    let results: Vec<Value> = if mode == ConcMode::OneCommand {
        let mut cmd = command(&volumes[0]);
        for v in &volumes[1..n] {
            cmd.args(["--volume", &format!("{VOLUME_POOL}/{v}")])
                .args(["--name", &format!("bench-conc-{v}")]);
        }
        let out = wait_until(cmd.spawn().expect("spawn rbd-native"), deadline);
        if n == 1 {
            vec![Bench::tool_result(&out, "clone")]
        } else {
            let all: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                panic!(
                    "rbd-native upload of {n} volumes printed no JSON ({e}, {}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                )
            });
            assert!(
                out.status.success(),
                "rbd-native upload of {n} volumes failed: {all}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            all.as_array().unwrap().clone()
        }
    } else {
        let children: Vec<_> = volumes[..n]
            .iter()
            .map(|v| command(v).spawn().expect("spawn rbd-native"))
            .collect();
        children
            .into_iter()
            .map(|c| Bench::tool_result(&wait_until(c, deadline), "clone"))
            .collect()
    };
    let wall = t.elapsed().as_secs_f64();
    for r in &results {
        assert_eq!(r["path"], "clone", "{r}");
    }
    let ids: Vec<String> = results
        .iter()
        .map(|v| v["image_id"].as_str().unwrap().to_string())
        .collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let statuses = b.glance_status(&refs);
    assert!(
        statuses.iter().all(|s| s == "active"),
        "concurrent images not all active: {statuses:?}"
    );
    b.glance_delete(&ids);
    // Let Glance finish with the deleted images (their hashing stops).
    std::thread::sleep(Duration::from_secs(3));
    let longest = |names: &[&str]| longest_of(&results, names, steps_sum);
    ConcRun {
        wall,
        each: results.iter().map(our_seconds).collect(),
        ids_max: longest(&["image create and snapshot ids"]),
        to_location_max: longest(&TO_LOCATION_STEPS),
        import_max: longest(&IMPORT_STEPS),
        glance_create_max: longest_of(&results, &[], glance_create),
        cluster_max: longest_of(&results, &CLUSTER_STEPS, cluster_part),
        failed: 0,
    }
}

/// The longest sum of the `names` steps among upload results `results`,
/// each read by `sum`.
fn longest_of(results: &[Value], names: &[&str], sum: fn(&Value, &[&str]) -> f64) -> f64 {
    results.iter().map(|r| sum(r, names)).fold(0.0, f64::max)
}

/// The steps of the librbd script from the Glance image's creation to its
/// location request (its image create is not overlapped).
const LIBRBD_TO_LOCATION_STEPS: [&str; 5] = [
    "image create",
    "volume snapshot",
    "volume snapshot protect",
    "clone",
    "clone snapshot",
];

/// The sum of the `names` steps of a librbd script's result (its steps are
/// an object of name to seconds).
fn script_steps_sum(r: &Value, names: &[&str]) -> f64 {
    names.iter().filter_map(|n| r["steps"][*n].as_f64()).sum()
}

/// [`run_concurrent`] for the reference: the librbd script once per volume,
/// all started together, each removing what it made once it is measured.
fn run_concurrent_librbd(b: &Bench, volumes: &[String]) -> ConcRun {
    let t = Instant::now();
    let deadline = t + CONCURRENT_DEADLINE;
    let children: Vec<_> = volumes
        .iter()
        .map(|v| {
            Command::new(&b.python)
                .arg(b.pydir.join("librbd_clone_upload.py"))
                .args(["--volume", &format!("{VOLUME_POOL}/{v}")])
                .args(["--name", &format!("bench-conc-librbd-{v}"), "--delete"])
                .current_dir(&b.pydir)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn librbd_clone_upload.py")
        })
        .collect();
    // A failed upload (the bed's one Glance worker resets connections
    // when 16 processes authenticate and connect at once) is counted and
    // left out of the figures; the script removed what it made.
    let mut failed = 0;
    let results: Vec<Value> = children
        .into_iter()
        .filter_map(|c| {
            let out = wait_until(c, deadline);
            let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            if out.status.success() && v["ok"] == true {
                Some(v)
            } else {
                failed += 1;
                println!(
                    "  librbd_clone_upload.py failed (left out): {}",
                    v.get("error").unwrap_or(&v)
                );
                None
            }
        })
        .collect();
    assert!(!results.is_empty(), "every librbd upload failed");
    let wall = t.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(3));
    let longest = |names: &[&str]| longest_of(&results, names, script_steps_sum);
    ConcRun {
        wall,
        each: results
            .iter()
            .map(|r| r["clone_seconds"].as_f64().unwrap_or(f64::NAN))
            .collect(),
        ids_max: longest(&["image create"]),
        to_location_max: longest(&LIBRBD_TO_LOCATION_STEPS),
        import_max: longest(&IMPORT_STEPS),
        glance_create_max: longest(&LIBRBD_TO_LOCATION_STEPS[..1]),
        cluster_max: longest(&LIBRBD_TO_LOCATION_STEPS[1..]),
        failed,
    }
}

/// The median figures of the concurrent runs for one N and mode.
#[derive(Clone)]
struct ConcRow {
    n: usize,
    mode: ConcMode,
    wall: f64,
    /// The slowest upload's time from its image's creation to its end.
    slowest: f64,
    ids_max: f64,
    to_location_max: f64,
    import_max: f64,
    glance_create_max: f64,
    cluster_max: f64,
}

/// A method in the chart: its label, colour and the figure it takes.
type ChartMethod = (&'static str, &'static str, fn(&SizeRow) -> Option<f64>);

fn svg_chart(rows: &[SizeRow], conc: &[(usize, f64)]) -> String {
    const W: f64 = 900.0;
    const H: f64 = 420.0;
    let methods: [ChartMethod; 4] = [
        ("rbd-native clone", "#1b7837", |r| r.ours_clone),
        ("librbd clone sequence", "#7fbf7b", |r| r.librbd_clone),
        ("rbd-native stream", "#2166ac", |r| r.ours_stream),
        ("Cinder stream (librbd + glanceclient)", "#b2182b", |r| {
            r.cinder_stream
        }),
    ];
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    s.push_str("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    s.push_str("<text x=\"450\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">Volume to Glance image: upload time (log scale, lower is better)</text>\n");

    // Panel 1: sizes x methods, log scale.
    let (x0, y0, pw, ph) = (70.0, 50.0, 540.0, 300.0);
    let values: Vec<f64> = rows
        .iter()
        .flat_map(|r| methods.iter().filter_map(move |m| (m.2)(r)))
        .collect();
    let hi = values.iter().copied().fold(1.0_f64, f64::max);
    let lo_exp = -1i32;
    let hi_exp = hi.log10().ceil().max(1.0) as i32;
    let ylog = |v: f64| {
        let f = (v.max(0.1).log10() - f64::from(lo_exp)) / f64::from(hi_exp - lo_exp);
        y0 + ph - f * ph
    };
    for e in lo_exp..=hi_exp {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powi(e);
            if e == hi_exp && m > 1.0 {
                continue;
            }
            let y = ylog(v);
            let major = m == 1.0;
            let _ = writeln!(
                s,
                r##"<line x1="{x0}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="{}" stroke-width="1"/>"##,
                x0 + pw,
                if major { "#bbb" } else { "#eee" }
            );
            let label = if v < 1.0 {
                format!("{v:.1}")
            } else {
                format!("{v:.0}")
            };
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{:.1}" text-anchor="end">{label}</text>"#,
                x0 - 6.0,
                y + 4.0
            );
        }
    }
    let _ = writeln!(
        s,
        r#"<text transform="translate(22 {}) rotate(-90)" text-anchor="middle">seconds (image create to done)</text>"#,
        y0 + ph / 2.0
    );
    let gw = pw / rows.len().max(1) as f64;
    let bw = (gw - 30.0) / 4.0;
    for (i, r) in rows.iter().enumerate() {
        let gx = x0 + gw * i as f64 + 15.0;
        for (j, (_, color, get)) in methods.iter().enumerate() {
            let x = gx + bw * j as f64;
            if let Some(v) = get(r) {
                let y = ylog(v);
                let _ = writeln!(
                    s,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{color}"><title>{v:.2} s</title></rect>"#,
                    bw - 2.0,
                    y0 + ph - y
                );
                let label = if v >= 10.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v:.1}")
                };
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{label}</text>"#,
                    x + bw / 2.0 - 1.0,
                    y - 3.0
                );
            } else {
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">n/a</text>"#,
                    x + bw / 2.0 - 1.0,
                    y0 + ph - 3.0
                );
            }
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle" font-weight="bold">{} GiB</text>"#,
            gx + bw * 2.0,
            y0 + ph + 18.0,
            r.gib
        );
    }
    let _ = writeln!(
        s,
        r##"<line x1="{x0}" x2="{}" y1="{}" y2="{}" stroke="#333"/><line x1="{x0}" x2="{x0}" y1="{y0}" y2="{}" stroke="#333"/>"##,
        x0 + pw,
        y0 + ph,
        y0 + ph,
        y0 + ph
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">volume size</text>"#,
        x0 + pw / 2.0,
        y0 + ph + 36.0
    );
    for (j, (name, color, _)) in methods.iter().enumerate() {
        let lx = x0 + 10.0 + 270.0 * (j % 2) as f64;
        let ly = H - 26.0 + 14.0 * (j / 2) as f64;
        let _ = writeln!(
            s,
            r#"<rect x="{lx}" y="{}" width="12" height="10" fill="{color}"/><text x="{}" y="{ly}">{name}</text>"#,
            ly - 9.0,
            lx + 16.0
        );
    }

    // Panel 2: concurrent clone uploads, linear.
    let (cx0, cy0, cw, ch) = (680.0, 50.0, 190.0, 300.0);
    let chi = conc.iter().map(|c| c.1).fold(1.0_f64, f64::max) * 1.15;
    let cy = |v: f64| cy0 + ch - v / chi * ch;
    let step = if chi > 10.0 {
        5.0
    } else if chi > 4.0 {
        1.0
    } else {
        0.5
    };
    let mut v = 0.0;
    while v <= chi {
        let y = cy(v);
        let _ = writeln!(
            s,
            r##"<line x1="{cx0}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{v}</text>"##,
            cx0 + cw,
            cx0 - 6.0,
            y + 4.0
        );
        v += step;
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="42" text-anchor="middle" font-weight="bold">N clone uploads at once</text>"#,
        cx0 + cw / 2.0
    );
    let bw = cw / conc.len().max(1) as f64;
    for (i, (n, wall)) in conc.iter().enumerate() {
        let x = cx0 + bw * i as f64 + 8.0;
        let y = cy(*wall);
        let _ = writeln!(
            s,
            r##"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="#1b7837"><title>{wall:.2} s</title></rect><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{wall:.2}</text><text x="{:.1}" y="{}" text-anchor="middle">N={n}</text>"##,
            bw - 16.0,
            cy0 + ch - y,
            x + (bw - 16.0) / 2.0,
            y - 3.0,
            x + (bw - 16.0) / 2.0,
            cy0 + ch + 18.0
        );
    }
    let _ = writeln!(
        s,
        r##"<line x1="{cx0}" x2="{}" y1="{}" y2="{}" stroke="#333"/><line x1="{cx0}" x2="{cx0}" y1="{cy0}" y2="{}" stroke="#333"/>"##,
        cx0 + cw,
        cy0 + ch,
        cy0 + ch,
        cy0 + ch
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">wall seconds until the last is done</text>"#,
        cx0 + cw / 2.0,
        cy0 + ch + 36.0
    );
    s.push_str("</svg>\n");
    s
}

fn main() {
    let started = Instant::now();
    let Setup {
        bed, conf, keyring, ..
    } = Setup::new();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // The bench runs from <target>/release/deps; the tool is <target>/release/rbd-native.
    let tool = std::env::var_os("RBD_NATIVE_BIN").map_or_else(
        || {
            std::env::current_exe()
                .unwrap()
                .parent()
                .and_then(Path::parent)
                .unwrap()
                .join("rbd-native")
        },
        PathBuf::from,
    );
    assert!(
        tool.exists(),
        "{} is missing: `cargo build --release -p rbd-native` first (or set RBD_NATIVE_BIN)",
        tool.display()
    );
    let python = bed.venv_python();
    let mut b = Bench {
        cinder_keyring: bed.var("CEPH_CINDER_KEYRING"),
        bed,
        conf,
        admin_keyring: keyring,
        tool,
        python,
        pydir: workspace.join("benches/py"),
        stamp: std::process::id(),
        log: Vec::new(),
        report: Report::new(
            "upload_rounds",
            "Upload: rbd-native against librbd's clone sequence and Cinder's stream, round by round",
            "librbd / Cinder",
        ),
    };
    b.report.note(
        "Clone: seconds from the Glance image's creation to the end (each tool's own figure); stream: the same window for a streaming upload. CPU and peak RSS: each side's whole process.",
    );
    let sizes = env_list("SIZES", "1,2,5");
    let smallest = sizes.iter().copied().min().unwrap_or(1).to_string();
    let verify_sizes = env_list("VERIFY_SIZES", &smallest);
    let clone_runs = env_usize("CLONE_RUNS", rounds()).max(1);
    let stream_runs = env_usize("STREAM_RUNS", rounds()).max(1);
    let conc_ns: Vec<usize> = env_list("CONCURRENT", "1,4,16")
        .into_iter()
        .map(|n| n as usize)
        .collect();
    let conc_runs = env_usize("CONCURRENT_RUNS", 3).max(1);
    println!(
        "\n# Upload benchmark: sizes {sizes:?} GiB, {clone_runs} clone runs each, concurrent {conc_ns:?} x {conc_runs}\n   tool {}",
        b.tool.display()
    );

    let mut out = Outputs {
        ingest: None,
        rows: Vec::new(),
        conc: Vec::new(),
        conc_json: Vec::new(),
        clone_runs,
        conc_runs,
        workspace,
    };

    // Glance's own ingest from memory (curl), the ceiling of any stream
    // into it: with Content-Length and chunked (curl's chunks are its
    // 64 KiB upload buffer, as python-glanceclient's, so Cinder's; ours
    // are the 2 MiB reads), in turn, `INGEST_RUNS` rounds (default 3) of
    // `INGEST_GIB` (default 1).
    let ingest_gib = env_usize("INGEST_GIB", 1);
    let ingest_runs = env_usize("INGEST_RUNS", 3);
    if ingest_gib > 0 && ingest_runs > 0 {
        let gib = ingest_gib.to_string();
        let (mut sized, mut chunked) = (Vec::new(), Vec::new());
        for round in 0..ingest_runs {
            for side in order(round) {
                let mut args = vec!["--gib", gib.as_str()];
                if side == Side::Reference {
                    args.push("--chunked");
                }
                let (v, _) = b.py("glance_ingest.py", &args);
                let rate = v["mb_per_s"].as_f64().unwrap_or(f64::NAN);
                println!(
                    "  Glance ingest from memory ({}), round {round}: {rate:.0} MB/s ({:.2} s to active)",
                    v["framing"].as_str().unwrap_or("?"),
                    v["active_seconds"].as_f64().unwrap_or(f64::NAN)
                );
                if side == Side::Reference {
                    chunked.push(rate);
                } else {
                    sized.push(rate);
                }
            }
        }
        out.ingest = Some((median(sized), median(chunked), ingest_runs));
        b.note(format!(
            "Glance's ingest of {ingest_gib} GiB from memory by curl (the ceiling of a stream), median of {ingest_runs}: {:.0} MB/s with Content-Length, {:.0} MB/s chunked",
            out.ingest.map_or(0.0, |i| i.0),
            out.ingest.map_or(0.0, |i| i.1)
        ));
    }

    // Sizes. The report is written after each phase, so that a run cut
    // short leaves what it measured.
    for &gib in &sizes {
        let t = Instant::now();
        let row = run_size(
            &mut b,
            gib,
            (clone_runs, stream_runs),
            verify_sizes.contains(&gib),
            None,
        );
        b.note(format!(
            "{gib} GiB done in {:.0} s",
            t.elapsed().as_secs_f64()
        ));
        out.rows.push(row);
        write_outputs(&b, &out, started);
        b.report.write();
    }

    // Issue 18, item 4: the peak RSS of streaming a large volume
    // (`RSS_GIB`, default 10; 0: none), ours and Cinder's path in turn
    // (`RSS_RUNS` rounds, default 1). Its data goes to the bed's
    // erasure-coded pool (k=2, m=1) when it has one: 1.5 times the size
    // on the host rather than 3.
    let rss_gib = env_usize("RSS_GIB", 10) as u64;
    let mut all_sizes = sizes.clone();
    if rss_gib > 0 && !sizes.contains(&rss_gib) {
        all_sizes.push(rss_gib);
        let t = Instant::now();
        let ec = b.bed.get("RBD_NATIVE_EC_POOL");
        let row = run_size(
            &mut b,
            rss_gib,
            (0, env_usize("RSS_RUNS", 1).max(1)),
            false,
            ec.as_deref(),
        );
        b.note(format!(
            "{rss_gib} GiB (peak RSS): done in {:.0} s",
            t.elapsed().as_secs_f64(),
        ));
        out.rows.push(row);
        write_outputs(&b, &out, started);
        b.report.write();
    }

    // Concurrent clone uploads of separate sparse volumes: N commands at
    // once, then one command given N volumes.
    if let Some(&max_n) = conc_ns.iter().max() {
        let volumes: Vec<String> = (0..max_n)
            .map(|i| format!("bench-up-{}-c{i}", b.stamp))
            .collect();
        for v in &volumes {
            b.rbd_ok(&["create", "--size", "1G", &format!("{VOLUME_POOL}/{v}")]);
        }
        for mode in ConcMode::ALL {
            for &n in &conc_ns {
                let mut walls = Vec::new();
                let mut slowest = Vec::new();
                let mut ids = Vec::new();
                let mut to_loc = Vec::new();
                let mut import = Vec::new();
                let mut glance = Vec::new();
                let mut cluster = Vec::new();
                for r in 0..conc_runs {
                    let run = run_concurrent(&b, &volumes, n, mode);
                    println!(
                        "  {n} clone uploads at once ({}), run {}: {:.2} s wall, snapshot ids <= {:.2} s, to the location request <= {:.2} s (Glance image create <= {:.2} s, cluster alone <= {:.2} s), location import <= {:.2} s (each: {})",
                        mode.label(),
                        r + 1,
                        run.wall,
                        run.ids_max,
                        run.to_location_max,
                        run.glance_create_max,
                        run.cluster_max,
                        run.import_max,
                        run.each
                            .iter()
                            .map(|x| format!("{x:.2}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    );
                    out.conc_json.push(json!({
                        "n": n, "mode": mode.key(), "run": r + 1,
                        "wall_seconds": run.wall, "failed": run.failed, "snapshot_ids_max_seconds": run.ids_max,
                        "to_location_max_seconds": run.to_location_max,
                        "location_import_max_seconds": run.import_max,
                        "glance_image_create_max_seconds": run.glance_create_max,
                        "cluster_alone_max_seconds": run.cluster_max,
                        "upload_seconds": run.each,
                    }));
                    walls.push(run.wall);
                    slowest.push(run.each.iter().copied().fold(0.0, f64::max));
                    ids.push(run.ids_max);
                    to_loc.push(run.to_location_max);
                    import.push(run.import_max);
                    glance.push(run.glance_create_max);
                    cluster.push(run.cluster_max);
                }
                out.conc.push(ConcRow {
                    n,
                    mode,
                    wall: median(walls),
                    slowest: median(slowest),
                    ids_max: median(ids),
                    to_location_max: median(to_loc),
                    import_max: median(import),
                    glance_create_max: median(glance),
                    cluster_max: median(cluster),
                });
                write_outputs(&b, &out, started);
            }
        }
        for v in &volumes {
            b.remove_volume(v);
        }
    }

    // Leftovers: nothing of ours may stay.
    let prefix = format!("bench-up-{}-", b.stamp);
    let vols = b.rbd_ok(&["ls", VOLUME_POOL]);
    let left: Vec<&str> = vols.lines().filter(|l| l.starts_with(&prefix)).collect();
    assert!(left.is_empty(), "volumes left behind: {left:?}");
    let trash = b.rbd_ok(&["trash", "ls", VOLUME_POOL]);
    assert!(
        !trash.contains(&prefix),
        "volumes left in the trash: {trash}"
    );
    let md = write_outputs(&b, &out, started);
    println!("\n{md}");
    report_goals(&mut b.report, &all_sizes, &out.conc);
    if let Some((sized, chunked, n)) = out.ingest {
        b.report.note(format!(
            "The streams' ceiling: Glance's own ingest from memory (curl), median of {n} rounds: {sized:.0} MB/s with Content-Length, {chunked:.0} MB/s chunked."
        ));
    }
    b.report.write();
}

/// Issue 18's goals of the upload, from this run's figures.
fn report_goals(report: &mut Report, sizes: &[u64], conc: &[ConcRow]) {
    for gib in sizes {
        report.ratio_goal(&format!("{gib} GiB streaming upload"), 1.0);
    }
    let big = sizes
        .iter()
        .filter(|&&g| g >= 10)
        .filter_map(|g| {
            let s = report.summary(&format!("{g} GiB streaming upload"))?;
            Some((*g, s.peak_rss_kib.0?))
        })
        .max_by_key(|&(_, k)| k);
    let (figure, met) = match big {
        Some((g, k)) => (
            format!("{:.1} MiB at {g} GiB", k as f64 / 1024.0),
            Some(k <= 64 << 10),
        ),
        None => (
            "not measured (no size of 10 GiB or more in SIZES)".to_string(),
            None,
        ),
    };
    report.goal("peak RSS streaming a 10 GiB volume ≤ 64 MiB", figure, met);
    let find = |n: usize| {
        conc.iter()
            .find(|c| c.n == n && c.mode == ConcMode::OneCommand)
    };
    // 16 in one command against one alone, by `part` of the runs.
    let scaling =
        |part: fn(&ConcRow) -> f64, beside: fn(&ConcRow) -> String| match (find(1), find(16)) {
            (Some(o), Some(c)) => {
                let x = part(c) / part(o);
                (
                    format!(
                        "{x:.2}x ({:.2} s against {:.2} s{})",
                        part(c),
                        part(o),
                        beside(c)
                    ),
                    Some(x <= 1.5),
                )
            }
            _ => ("not measured (CONCURRENT lacks 1 or 16)".to_string(), None),
        };
    let (figure, met) = scaling(|c| c.to_location_max, |_| String::new());
    report.goal(
        "16 uploads in one command: the cluster's part ≤ 1.5× one upload's",
        figure,
        met,
    );
    let (figure, met) = scaling(
        |c| c.cluster_max,
        |c| {
            format!(
                "; Glance's image creation beside it took up to {:.2} s",
                c.glance_create_max
            )
        },
    );
    report.goal(
        "16 uploads in one command: the cluster alone (Glance's image creation aside) ≤ 1.5× one upload's",
        figure,
        met,
    );
    let librbd = conc
        .iter()
        .find(|c| c.n == 16 && c.mode == ConcMode::Librbd);
    let (figure, met) = match (find(16), librbd) {
        (Some(c), Some(l)) => (
            format!(
                "slowest upload {:.2} s against {:.2} s ({:.2}x); cluster's part {:.2} s against {:.2} s",
                c.slowest,
                l.slowest,
                l.slowest / c.slowest,
                c.to_location_max,
                l.to_location_max
            ),
            Some(c.slowest <= l.slowest),
        ),
        _ => (
            "not measured (CONCURRENT lacks 16)".to_string(),
            None,
        ),
    };
    report.goal(
        "16 uploads in one command against 16 librbd-based uploads at once: slowest upload no longer",
        figure,
        met,
    );
}

/// What the run has measured so far.
struct Outputs {
    /// Glance's ingest from memory: median MB/s with Content-Length,
    /// chunked, and the rounds.
    ingest: Option<(f64, f64, usize)>,
    rows: Vec<SizeRow>,
    conc: Vec<ConcRow>,
    conc_json: Vec<Value>,
    clone_runs: usize,
    conc_runs: usize,
    workspace: PathBuf,
}

/// Writes the JSON, Markdown and SVG reports of what `out` holds; the
/// Markdown.
fn write_outputs(b: &Bench, out: &Outputs, started: Instant) -> String {
    let Outputs {
        ingest,
        rows,
        conc: conc_rows,
        conc_json,
        clone_runs,
        conc_runs,
        workspace,
    } = out;
    let (clone_runs, conc_runs) = (*clone_runs, *conc_runs);
    // Separate commands: the figures of the goal (and of the chart).
    let conc: Vec<(usize, f64)> = conc_rows
        .iter()
        .filter(|c| c.mode == ConcMode::Commands)
        .map(|c| (c.n, c.wall))
        .collect();
    let one = conc.iter().find(|c| c.0 == 1).map(|c| c.1);
    let elapsed = started.elapsed().as_secs_f64();
    let mut md = String::new();
    let _ = writeln!(
        md,
        "### Upload of a volume to a Glance image (`make bench`)\n"
    );
    let _ = writeln!(
        md,
        "Times from the Glance image's creation to the end of the upload; clone times are the median of {clone_runs} runs. \
         \"Without COW clone\" is `rbd-native upload --no-clone-optimization`, \"with COW clone\" `--clone-optimization`; \
         the librbd clone sequence and Cinder's stream are `benches/py/`.\n"
    );
    let _ = writeln!(
        md,
        "| size | time without COW clone | time with COW clone | reduction | librbd clone sequence | ours / librbd (clone) | Cinder stream (librbd + glanceclient) | our stream vs Cinder's |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let red = ratio(r.ours_clone, r.ours_stream).map(|x| (1.0 - x) * 100.0);
        let _ = writeln!(
            md,
            "| {} GiB | {} | {} | {} | {} | {} | {} | {} |",
            r.gib,
            fmt_s(r.ours_stream),
            fmt_s(r.ours_clone),
            red.map_or("-".into(), |x| format!("{x:.1} %")),
            fmt_s(r.librbd_clone),
            ratio(r.ours_clone, r.librbd_clone).map_or("-".into(), |x| format!("{x:.2}")),
            fmt_s(r.cinder_stream),
            ratio(r.cinder_stream, r.ours_stream).map_or("-".into(), |x| format!("{x:.2}x faster")),
        );
    }
    let _ = writeln!(
        md,
        "\nStreaming cost, each side's own process (CPU user+sys, peak RSS; benches/child.rs):\n\n\
         | size | our stream CPU s/GiB | Cinder stream CPU s/GiB | our stream peak RSS | Cinder stream peak RSS |\n\
         |---|---:|---:|---:|---:|"
    );
    for r in rows {
        let cpu =
            |u: Option<Usage>| cpu_per_gib(u, r.gib).map_or("-".into(), |x| format!("{x:.2}"));
        let _ = writeln!(
            md,
            "| {} GiB | {} | {} | {} | {} |",
            r.gib,
            cpu(r.ours_stream_usage),
            cpu(r.cinder_stream_usage),
            rss_mib(r.ours_stream_usage),
            rss_mib(r.cinder_stream_usage),
        );
    }
    if !conc_rows.is_empty() {
        let _ = writeln!(
            md,
            "\n| clone uploads started together (1 GiB volumes) | as | wall time (median of {conc_runs}) | vs one alone | longest image create + snapshot-id allotment | longest image creation to location request | vs one alone | longest location import (Glance) |"
        );
        let _ = writeln!(md, "|---:|---|---:|---:|---:|---:|---:|---:|");
        for c in conc_rows {
            let alone = conc_rows.iter().find(|o| o.n == 1 && o.mode == c.mode);
            let _ = writeln!(
                md,
                "| {} | {} | {:.2} s | {} | {:.2} s | {:.2} s | {} | {:.2} s |",
                c.n,
                c.mode.label(),
                c.wall,
                alone.map_or("-".into(), |o| format!("{:.2}x", c.wall / o.wall)),
                c.ids_max,
                c.to_location_max,
                alone.map_or("-".into(), |o| format!(
                    "{:.2}x",
                    c.to_location_max / o.to_location_max
                )),
                c.import_max,
            );
        }
    }
    // Goals.
    let clones: Vec<f64> = rows.iter().filter_map(|r| r.ours_clone).collect();
    let flat = if clones.len() > 1 {
        let lo = clones.iter().copied().fold(f64::MAX, f64::min);
        let hi = clones.iter().copied().fold(0.0, f64::max);
        Some((lo, hi))
    } else {
        None
    };
    let _ = writeln!(md, "\nGoals (issues 6 and 7):\n");
    for r in rows {
        if let Some(x) = ratio(r.ours_clone, r.librbd_clone) {
            let _ = writeln!(
                md,
                "- {} GiB: clone ours / librbd = {x:.2} (goal <= 0.6: {})",
                r.gib,
                if x <= 0.6 { "met" } else { "not met" }
            );
        }
    }
    if let Some(r) = rows
        .iter()
        .rev()
        .find(|r| r.ours_clone.is_some() && r.ours_stream.is_some())
    {
        let red = (1.0 - r.ours_clone.unwrap() / r.ours_stream.unwrap()) * 100.0;
        let _ =
            writeln!(
            md,
            "- {} GiB: clone takes {red:.1} % less time than streaming (goal at 5 GiB >= 99 %: {})",
            r.gib,
            if r.gib != 5 { "5 GiB not measured" } else if red >= 99.0 { "met" } else { "not met" }
        );
    }
    for r in rows {
        if let Some(x) = ratio(r.cinder_stream, r.ours_stream) {
            let _ = writeln!(
                md,
                "- {} GiB: our stream {x:.2}x as fast as Cinder's (goal >= 1.5x: {})",
                r.gib,
                if x >= 1.5 { "met" } else { "not met" }
            );
        }
    }
    // Issue 18, item 4: peak RSS while streaming a 10 GiB volume.
    let big = rows
        .iter()
        .filter(|r| r.gib >= 10)
        .filter_map(|r| r.ours_stream_usage.map(|u| (r.gib, u.peak_rss_kib)))
        .max_by_key(|&(_, k)| k);
    let _ = writeln!(
        md,
        "- peak RSS of our stream of a volume of 10 GiB or more <= 64 MiB: {}",
        match big {
            Some((gib, k)) => format!(
                "{:.1} MiB at {gib} GiB ({})",
                k as f64 / 1024.0,
                if k <= 64 << 10 { "met" } else { "not met" }
            ),
            None => "not measured (no size of 10 GiB or more in SIZES)".into(),
        }
    );
    if let Some((lo, hi)) = flat {
        let _ = writeln!(
            md,
            "- clone time across sizes: {lo:.2} s to {hi:.2} s (spread {:.0} %)",
            (hi / lo - 1.0) * 100.0
        );
    }
    if let (Some(o), Some(&(_, w16))) = (one, conc.iter().find(|c| c.0 == 16)) {
        let _ = writeln!(
            md,
            "- 16 clone uploads together: {:.2}x one alone (goal <= 1.5x: {})",
            w16 / o,
            if w16 / o <= 1.5 { "met" } else { "not met" }
        );
    }
    for mode in ConcMode::ALL {
        let find = |n: usize| conc_rows.iter().find(|c| c.n == n && c.mode == mode);
        if let (Some(o), Some(c)) = (find(1), find(16)) {
            let x = c.to_location_max / o.to_location_max;
            let _ = writeln!(
                md,
                "- 16 together ({}), image creation to location request (the cluster's part): {x:.2}x one alone ({:.2} s against {:.2} s; within 1.5x: {}); Glance's location import then took up to {:.2} s against {:.2} s",
                mode.label().replace('N', "16"),
                c.to_location_max,
                o.to_location_max,
                if x <= 1.5 { "yes" } else { "no" },
                c.import_max,
                o.import_max,
            );
        }
    }
    for r in rows {
        if let Some(ok) = r.verified {
            let _ = writeln!(
                md,
                "- {} GiB: clone and stream images downloaded with the volume's sha256: {}",
                r.gib,
                if ok { "yes" } else { "NO" }
            );
        }
        for n in &r.notes {
            let _ = writeln!(md, "- {} GiB: {n}", r.gib);
        }
    }
    if let Some((sized, chunked, n)) = ingest {
        let _ = writeln!(
            md,
            "- Glance's own ingest from memory (curl, the ceiling of any stream), median of {n}: {sized:.0} MB/s with Content-Length, {chunked:.0} MB/s chunked"
        );
    }
    let _ = writeln!(md, "\nWhole benchmark: {:.0} s.", elapsed);

    let out_dir =
        std::env::var_os("BENCH_OUT").map_or_else(|| workspace.join("target/bench"), PathBuf::from);
    std::fs::create_dir_all(&out_dir).unwrap();
    let sizes_json: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "gib": r.gib,
                "volume_fill_seconds": r.fill_seconds,
                "ours_clone_seconds": opt(r.ours_clone),
                "ours_clone_command_seconds": opt(r.ours_clone_wall),
                "librbd_clone_seconds": opt(r.librbd_clone),
                "librbd_clone_script_seconds": opt(r.librbd_clone_wall),
                "ours_stream_seconds": opt(r.ours_stream),
                "ours_stream_command_seconds": opt(r.ours_stream_wall),
                "cinder_stream_seconds": opt(r.cinder_stream),
                "cinder_stream_script_seconds": opt(r.cinder_stream_wall),
                "ours_stream_usage": usage_json(r.ours_stream_usage),
                "cinder_stream_usage": usage_json(r.cinder_stream_usage),
                "ours_stream_cpu_s_per_gib": opt(cpu_per_gib(r.ours_stream_usage, r.gib)),
                "cinder_stream_cpu_s_per_gib": opt(cpu_per_gib(r.cinder_stream_usage, r.gib)),
                "clone_vs_librbd": opt(ratio(r.ours_clone, r.librbd_clone)),
                "clone_reduction_pct": opt(ratio(r.ours_clone, r.ours_stream).map(|x| (1.0 - x) * 100.0)),
                "stream_speedup_vs_cinder": opt(ratio(r.cinder_stream, r.ours_stream)),
                "sha256_verified": r.verified,
                "notes": r.notes,
                "runs": r.clone_runs,
            })
        })
        .collect();
    let conc_map: BTreeMap<String, Value> = conc
        .iter()
        .map(|(n, w)| (n.to_string(), json!((w * 1000.0).round() / 1000.0)))
        .collect();
    let mode_map = |mode: ConcMode| -> BTreeMap<String, Value> {
        conc_rows
            .iter()
            .filter(|c| c.mode == mode)
            .map(|c| (c.n.to_string(), json!((c.wall * 1000.0).round() / 1000.0)))
            .collect()
    };
    let report = json!({
        "sizes": sizes_json,
        "concurrent_wall_seconds": conc_map,
        "concurrent_one_command_wall_seconds": mode_map(ConcMode::OneCommand),
        "concurrent_shared_token_wall_seconds": mode_map(ConcMode::SharedToken),
        "concurrent_librbd_wall_seconds": mode_map(ConcMode::Librbd),
        "concurrent_16_vs_1": opt(match (one, conc.iter().find(|c| c.0 == 16)) {
            (Some(o), Some(c)) => Some(c.1 / o),
            _ => None,
        }),
        "concurrent_runs": conc_json,
        "clone_runs": clone_runs,
        "log": b.log,
        "glance_ingest_mb_per_s": ingest.map(|(sized, chunked, rounds)| json!({
            "content_length": sized, "chunked": chunked, "rounds": rounds,
        })),
        "total_seconds": elapsed,
    });
    std::fs::write(
        out_dir.join("upload.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .unwrap();
    std::fs::write(out_dir.join("upload.md"), &md).unwrap();
    rbd_native_benches::report::combine(&out_dir);
    let docs = workspace.join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("upload-bench.svg"), svg_chart(rows, &conc)).unwrap();
    println!(
        "[bench] written: {}, {}, {}",
        out_dir.join("upload.json").display(),
        out_dir.join("upload.md").display(),
        docs.join("upload-bench.svg").display()
    );
    md
}
