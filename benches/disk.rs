//! Room on the host for a benchmark's writes. The bed's OSDs are sparse
//! files that BlueStore's allocator fills forward, so deleted data is not
//! reused until an OSD restarts. Before a large write, [`Room::for_bytes`]
//! compares the host's free space with what the write needs (pool size x
//! bytes, plus a margin); when it is short and the OSD files hold enough
//! freed space, it restarts the OSDs one at a time with the bed's
//! `RBD_NATIVE_OSD_STOP_CMD`/`START_CMD` (waiting for active+clean after
//! each) so that BlueStore reuses that space. `BENCH_RECLAIM=never`
//! forbids the restarts, `always` does them before every large write.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use rbd_native_tests::{run, run_template, Testbed};

const GIB: u64 = 1 << 30;

/// Room kept free on the host beyond a write's needs.
pub const MARGIN: u64 = 2 * GIB;

/// How long a write short of room waits for the OSDs to free what was
/// just deleted before it is skipped.
const FREE_SETTLE: std::time::Duration = std::time::Duration::from_secs(60);

/// The host's room for the writes of a benchmark on cluster main of `bed`.
pub struct Room<'a> {
    bed: &'a Testbed,
    conf: String,
    reclaim: String,
}

impl<'a> Room<'a> {
    /// The room of cluster main of `bed`; `BENCH_RECLAIM` says whether
    /// OSDs may be restarted (`auto`, the default; `never`; `always`).
    pub fn new(bed: &'a Testbed) -> Room<'a> {
        Room {
            bed,
            conf: bed.var("CEPH_CONF"),
            reclaim: std::env::var("BENCH_RECLAIM").unwrap_or_else(|_| "auto".into()),
        }
    }

    /// Whether `bytes` more of data (times the pool `pool`'s size) can be
    /// written without filling the host; restarts the OSDs to reuse freed
    /// space when that is what it takes. What it did or why it refuses
    /// goes to `note`, naming the write `what`.
    pub fn for_bytes(
        &self,
        pool: &str,
        bytes: u64,
        what: &str,
        note: &mut dyn FnMut(String),
    ) -> bool {
        let replicas = self
            .bed
            .ceph_json("CEPH_CONF", &["osd", "pool", "get", pool, "size"])["size"]
            .as_u64()
            .unwrap_or(3);
        let need = replicas * bytes + MARGIN;
        let files = self.osd_files();
        let dir = files
            .first()
            .and_then(|(_, p)| p.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| {
                Path::new(&self.conf)
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default()
            });
        let avail = host_avail(&dir);
        let can_restart = !files.is_empty()
            && self.bed.get("RBD_NATIVE_OSD_STOP_CMD").is_some()
            && self.bed.get("RBD_NATIVE_OSD_START_CMD").is_some()
            && self.reclaim != "never";
        if avail >= need && self.reclaim != "always" {
            return true;
        }
        let mut freed = if files.is_empty() {
            0
        } else {
            self.freed_in_osd_files(&files)
        };
        // What was just deleted (the last round's image) is freed by the
        // OSDs in the background: give it up to a minute to show.
        let settle = Instant::now();
        while can_restart && avail + freed < need && settle.elapsed() < FREE_SETTLE {
            std::thread::sleep(std::time::Duration::from_secs(5));
            freed = self.freed_in_osd_files(&files);
        }
        let gib = |b: u64| b as f64 / GIB as f64;
        if can_restart && avail + freed >= need {
            note(format!(
                "{what}: needs {:.1} GiB on the host, {:.1} GiB free and {:.1} GiB freed inside the OSD files: restarting the OSDs so that BlueStore reuses it",
                gib(need),
                gib(avail),
                gib(freed)
            ));
            let (stop, start) = (
                self.bed.var("RBD_NATIVE_OSD_STOP_CMD"),
                self.bed.var("RBD_NATIVE_OSD_START_CMD"),
            );
            let t = Instant::now();
            for (id, _) in &files {
                let _ = run_template(&stop, id);
                let out = run_template(&start, id);
                assert!(out.status.success(), "could not restart osd.{id}");
                self.bed.wait_for_clean("CEPH_CONF", 300);
            }
            note(format!(
                "OSDs restarted in {:.0} s",
                t.elapsed().as_secs_f64()
            ));
            return true;
        }
        if avail >= need {
            return true;
        }
        note(format!(
            "{what}: SKIPPED, it needs {:.1} GiB on the host and {:.1} GiB are free ({:.1} GiB freed inside the OSD files{})",
            gib(need),
            gib(avail),
            gib(freed),
            if can_restart { "" } else { ", OSD restarts not possible or not allowed" }
        ));
        false
    }

    /// The OSDs' ids and their block files when they are local sparse
    /// files (the bed's kind of cluster).
    fn osd_files(&self) -> Vec<(String, PathBuf)> {
        let conf = std::fs::read_to_string(&self.conf).unwrap_or_default();
        let Some(template) = conf.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "bluestore_block_path").then(|| v.trim().to_string())
        }) else {
            return Vec::new();
        };
        let ids = self.bed.ceph_json("CEPH_CONF", &["osd", "ls"]);
        ids.as_array()
            .map(|a| {
                a.iter()
                    .map(|id| {
                        let id = id.to_string();
                        let path = PathBuf::from(template.replace("$id", &id));
                        (id, path)
                    })
                    .filter(|(_, p)| p.exists())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Space the OSD files hold that BlueStore has freed (allocated on the
    /// host minus the cluster's raw use).
    fn freed_in_osd_files(&self, files: &[(String, PathBuf)]) -> u64 {
        use std::os::unix::fs::MetadataExt;
        let allocated: u64 = files
            .iter()
            .filter_map(|(_, p)| std::fs::metadata(p).ok())
            .map(|m| m.blocks() * 512)
            .sum();
        let df = self.bed.ceph_json("CEPH_CONF", &["df"]);
        let used = df["stats"]["total_used_raw_bytes"].as_u64().unwrap_or(0);
        allocated.saturating_sub(used)
    }
}

/// Free bytes of the host file system that holds `dir`.
pub fn host_avail(dir: &Path) -> u64 {
    let out = run(Command::new("df").args(["-B1", "--output=avail"]).arg(dir));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0)
}
