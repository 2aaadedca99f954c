//! Full-size acceptance tests of the RADOS layer on the live test bed.
//!
//! 1. Interop both ways: 200 objects of random sizes (0 to 16 MiB), each
//!    with xattrs and omap entries, written through `IoCtx` are read
//!    identically by the `rados` tool (then truncated to 0, so that only
//!    one set's data is on the bed's disk at a time), and the same written
//!    by the `rados` tool are read identically through `IoCtx`; both list
//!    the same objects.
//! 2. Under change: 1 GiB in 4 MiB objects written and verified in a loop
//!    that keeps going while an OSD is stopped and started again and while
//!    the pool's pg_num is raised (writes for three passes, then reads
//!    only: the bed's disk is finite); every object verifies at the end.
//!
//! Both print their figures (objects, bytes, time, MB/s per phase); run
//! with `-- --nocapture` to see them, and with `RUST_LOG=ceph_rados=debug`
//! for the client's log. They change the cluster: one at a time, and each
//! leaves it as it found it (objects removed, pool deleted, OSD back, PGs
//! active+clean), also when it fails.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ceph_rados::IoCtx;
use rbd_native_tests::{
    init_logging, pattern, run, run_ok, run_template, unique_name, ScratchDir, Testbed,
};
use tokio::sync::{Mutex, Semaphore};
use tokio::task::JoinSet;

static SERIAL: Mutex<()> = Mutex::const_new(());

/// How long one op may take before the test calls it hung (an OSD that
/// was stopped is marked down within seconds to ~20 s; this is far beyond; a hang is an op the client never resent).
const OP_TIMEOUT: Duration = Duration::from_secs(120);

fn rados_cmd(bed: &Testbed, pool: &str, nspace: &str) -> Command {
    let mut c = bed.ceph_tool("rados", "CEPH_CONF", "admin");
    c.args(["-p", pool, "-N", nspace]);
    c
}

fn ceph(bed: &Testbed, args: &[&str]) -> String {
    let mut c = bed.ceph_tool("ceph", "CEPH_CONF", "admin");
    c.args(args);
    String::from_utf8_lossy(&run_ok(&mut c).stdout).into_owned()
}

/// One line of figures for a phase.
fn figures(phase: &str, objects: u64, bytes: u64, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    println!(
        "[acceptance] {phase:<44} {objects:>5} objects {:>9.1} MiB {secs:>7.1} s {:>7.1} MB/s",
        bytes as f64 / (1024.0 * 1024.0),
        if secs > 0.0 {
            bytes as f64 / 1e6 / secs
        } else {
            0.0
        }
    );
}

/// A small deterministic generator (xorshift64*) for sizes and lengths.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// ---------------------------------------------------------------------------
// 1. Interop both ways
// ---------------------------------------------------------------------------

const INTEROP_OBJECTS: usize = 200;
const INTEROP_MAX_SIZE: u64 = 16 << 20;
const OURS_IN_FLIGHT: usize = 8;
const CLI_PROCESSES: usize = 6;

/// What one object holds: its data is `pattern(size, seed)`.
#[derive(Debug, Clone)]
struct Spec {
    name: String,
    size: usize,
    seed: u64,
    xattrs: BTreeMap<String, Vec<u8>>,
    omap: BTreeMap<String, Vec<u8>>,
}

impl Spec {
    fn data(&self) -> Vec<u8> {
        pattern(self.size, self.seed)
    }
}

/// `n` objects named `prefix.i`: random sizes from 0 to 16 MiB (the first
/// ones at the edges), three xattrs and three omap entries with binary
/// values (NULs and high bytes included), all from `seed`.
fn specs(prefix: &str, seed: u64, n: usize) -> Vec<Spec> {
    let mut rng = Rng(seed | 1);
    (0..n)
        .map(|i| {
            let size = match i {
                0 => 0,
                1 => 1,
                2 => INTEROP_MAX_SIZE,
                3 => (4 << 20) + 1,
                _ => rng.below(INTEROP_MAX_SIZE + 1),
            } as usize;
            let value = |rng: &mut Rng, max: u64| {
                let len = 1 + rng.below(max) as usize;
                let mut v = pattern(len, rng.next());
                v[0] = 0; // a NUL in every value
                v
            };
            let xattrs = (0..3)
                .map(|j| (format!("acc.attr{j}"), value(&mut rng, 300)))
                .collect();
            let omap = (0..3)
                .map(|j| (format!("key-{i}-{j}"), value(&mut rng, 2000)))
                .collect();
            Spec {
                name: format!("{prefix}.{i}"),
                size,
                seed: seed.wrapping_mul(1_000_003).wrapping_add(i as u64),
                xattrs,
                omap,
            }
        })
        .collect()
}

/// Runs `work` on every item with `threads` threads side by side; returns
/// the failures (item index and message) instead of stopping at the first.
fn parallel<T: Sync>(
    items: &[T],
    threads: usize,
    work: impl Fn(&T) -> Result<(), String> + Sync,
) -> Vec<String> {
    let next = AtomicUsize::new(0);
    let errors = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                if let Err(e) = work(item) {
                    errors.lock().unwrap().push(e);
                }
            });
        }
    });
    errors.into_inner().unwrap()
}

/// The stdout of a `rados` command that ran, or an error naming it.
fn rados_result(cmd: &Command, out: Output) -> Result<Vec<u8>, String> {
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "`{cmd:?}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs a `rados` command, its stdout or an error naming it.
fn rados_out(mut cmd: Command) -> Result<Vec<u8>, String> {
    let out = run(&mut cmd);
    rados_result(&cmd, out)
}

/// Runs a `rados` command with `input` on its stdin.
fn rados_with_stdin(mut cmd: Command, input: &[u8]) -> Result<(), String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{cmd:?}`: {e}"))?;
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    rados_result(&cmd, out).map(|_| ())
}

fn lines(out: &[u8]) -> BTreeSet<String> {
    String::from_utf8_lossy(out)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn check(what: String, ok: bool) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what)
    }
}

/// The `rados` tool reads one object and finds exactly `spec`.
fn cli_reads(
    bed: &Testbed,
    pool: &str,
    ns: &str,
    dir: &ScratchDir,
    spec: &Spec,
) -> Result<(), String> {
    let n = &spec.name;
    let mut c = rados_cmd(bed, pool, ns);
    c.args(["get", n, "-"]);
    let data = rados_out(c)?;
    let want = spec.data();
    check(
        format!(
            "{n}: rados get returned {} bytes, {} expected{}",
            data.len(),
            want.len(),
            first_difference(&data, &want)
        ),
        data == want,
    )?;
    let mut c = rados_cmd(bed, pool, ns);
    c.args(["listxattr", n]);
    let names = lines(&rados_out(c)?);
    let want_names: BTreeSet<String> = spec.xattrs.keys().cloned().collect();
    check(
        format!("{n}: rados listxattr {names:?}, expected {want_names:?}"),
        names == want_names,
    )?;
    for (k, v) in &spec.xattrs {
        let mut c = rados_cmd(bed, pool, ns);
        c.args(["getxattr", n, k]);
        let got = rados_out(c)?;
        check(
            format!("{n}: xattr {k}: rados read {got:?}, expected {v:?}"),
            &got == v,
        )?;
    }
    let mut c = rados_cmd(bed, pool, ns);
    c.args(["listomapkeys", n]);
    let keys = lines(&rados_out(c)?);
    let want_keys: BTreeSet<String> = spec.omap.keys().cloned().collect();
    check(
        format!("{n}: rados listomapkeys {keys:?}, expected {want_keys:?}"),
        keys == want_keys,
    )?;
    for (k, v) in &spec.omap {
        let file = dir.path().join(unique_name("omapval"));
        let mut c = rados_cmd(bed, pool, ns);
        c.args(["getomapval", n, k]).arg(&file);
        rados_out(c)?;
        let got = std::fs::read(&file).map_err(|e| format!("{n}: omap {k}: {e}"))?;
        let _ = std::fs::remove_file(&file);
        check(
            format!("{n}: omap {k}: rados read {got:?}, expected {v:?}"),
            &got == v,
        )?;
    }
    Ok(())
}

/// The `rados` tool writes one object as `spec` says.
fn cli_writes(
    bed: &Testbed,
    pool: &str,
    ns: &str,
    dir: &ScratchDir,
    spec: &Spec,
) -> Result<(), String> {
    let n = &spec.name;
    let file = dir.path().join(unique_name("put"));
    std::fs::write(&file, spec.data()).map_err(|e| format!("{n}: {e}"))?;
    let mut c = rados_cmd(bed, pool, ns);
    c.args(["put", n]).arg(&file);
    let put = rados_out(c);
    let _ = std::fs::remove_file(&file);
    put?;
    for (k, v) in &spec.xattrs {
        // Without a value on the command line, setxattr reads it from stdin.
        let mut c = rados_cmd(bed, pool, ns);
        c.args(["setxattr", n, k]);
        rados_with_stdin(c, v)?;
    }
    for (k, v) in &spec.omap {
        let file = dir.path().join(unique_name("omapval"));
        std::fs::write(&file, v).map_err(|e| format!("{n}: {e}"))?;
        let mut c = rados_cmd(bed, pool, ns);
        c.args(["setomapval", n, k, "--input-file"]).arg(&file);
        let r = rados_out(c);
        let _ = std::fs::remove_file(&file);
        r?;
    }
    Ok(())
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => format!(", first difference at byte {i}"),
        None if a.len() != b.len() => ", one a prefix of the other".to_string(),
        None => String::new(),
    }
}

/// `op` on object `n`, failing as hung after `OP_TIMEOUT`; errors name
/// both.
async fn within<T, E: std::fmt::Display>(
    n: &str,
    op: &str,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    tokio::time::timeout(OP_TIMEOUT, fut)
        .await
        .map_err(|_| format!("{n}: {op}: hung"))?
        .map_err(|e| format!("{n}: {op}: {e}"))
}

/// We write one object as `spec` says.
async fn ours_writes(io: &IoCtx, spec: &Spec) -> Result<(), String> {
    let n = &spec.name;
    within(n, "write_full", io.write_full(n, Bytes::from(spec.data()))).await?;
    for (k, v) in &spec.xattrs {
        within(n, "set_xattr", io.set_xattr(n, k, v)).await?;
    }
    let kv: BTreeMap<String, Bytes> = spec
        .omap
        .iter()
        .map(|(k, v)| (k.clone(), Bytes::from(v.clone())))
        .collect();
    within(n, "omap_set", io.omap_set(n, &kv)).await?;
    Ok(())
}

/// We read one object and find exactly `spec`.
async fn ours_reads(io: &IoCtx, spec: &Spec) -> Result<(), String> {
    let n = &spec.name;
    let data = within(n, "read_full", io.read_full(n)).await?;
    let want = spec.data();
    check(
        format!(
            "{n}: read_full returned {} bytes, {} expected{}",
            data.len(),
            want.len(),
            first_difference(&data, &want)
        ),
        data[..] == want[..],
    )?;
    let (size, _) = within(n, "stat", io.stat(n)).await?;
    check(
        format!("{n}: stat size {size}, {} expected", spec.size),
        size == spec.size as u64,
    )?;
    let xattrs = within(n, "get_xattrs", io.get_xattrs(n)).await?;
    let xattrs: BTreeMap<String, Vec<u8>> =
        xattrs.into_iter().map(|(k, v)| (k, v.to_vec())).collect();
    check(
        format!("{n}: xattrs {xattrs:?}, expected {:?}", spec.xattrs),
        xattrs == spec.xattrs,
    )?;
    for (k, v) in &spec.xattrs {
        let one = within(n, "get_xattr", io.get_xattr(n, k)).await?;
        check(
            format!("{n}: xattr {k}: {one:?}, expected {v:?}"),
            one[..] == v[..],
        )?;
    }
    let omap = within(n, "omap_get_all", io.omap_get_all(n)).await?;
    let omap: BTreeMap<String, Vec<u8>> = omap.into_iter().map(|(k, v)| (k, v.to_vec())).collect();
    check(
        format!("{n}: omap {omap:?}, expected {:?}", spec.omap),
        omap == spec.omap,
    )?;
    Ok(())
}

/// Runs `f` on every spec with `OURS_IN_FLIGHT` of them in flight at once;
/// returns the failures.
async fn ours_all<F, Fut>(io: &IoCtx, specs: &[Spec], f: F) -> Vec<String>
where
    F: Fn(IoCtx, Spec) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(OURS_IN_FLIGHT));
    let mut set = JoinSet::new();
    for spec in specs {
        let permit = slots.clone().acquire_owned().await.unwrap();
        let fut = f(io.clone(), spec.clone());
        set.spawn(async move {
            let r = fut.await;
            drop(permit);
            r
        });
    }
    let mut errors = Vec::new();
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(format!("task failed: {e}")),
        }
    }
    errors
}

fn total_bytes(specs: &[Spec]) -> u64 {
    specs.iter().map(|s| s.size as u64).sum()
}

fn assert_no_errors(phase: &str, errors: &[String]) {
    assert!(
        errors.is_empty(),
        "{phase}: {} of the objects failed; first ones:\n{}",
        errors.len(),
        errors
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Fails `phase` if any of its objects failed (`errors`), else prints its
/// figures: `label`, the objects of `specs` and their bytes, the time
/// since `t`.
fn phase_done(phase: &str, errors: &[String], label: &str, specs: &[Spec], t: Instant) {
    assert_no_errors(phase, errors);
    figures(label, specs.len() as u64, total_bytes(specs), t.elapsed());
}

/// Runs `work` (`rados` tool commands for one object) on every spec,
/// `CLI_PROCESSES` side by side, off the runtime's worker; the failures.
fn cli_all(specs: &[Spec], work: impl Fn(&Spec) -> Result<(), String> + Sync) -> Vec<String> {
    tokio::task::block_in_place(|| parallel(specs, CLI_PROCESSES, work))
}

/// Removes whatever is left in the test's namespace (through the `rados`
/// tool, so that it works whatever state our client is in).
struct CleanNamespace<'a> {
    bed: &'a Testbed,
    pool: String,
    ns: String,
}

impl Drop for CleanNamespace<'_> {
    fn drop(&mut self) {
        let mut c = rados_cmd(self.bed, &self.pool, &self.ns);
        c.arg("ls");
        let Ok(out) = c.output() else { return };
        let left: Vec<String> = lines(&out.stdout).into_iter().collect();
        if left.is_empty() {
            return;
        }
        eprintln!(
            "[acceptance] removing {} objects left in {}/{}",
            left.len(),
            self.pool,
            self.ns
        );
        let errors = parallel(&left, CLI_PROCESSES, |n| {
            let mut c = rados_cmd(self.bed, &self.pool, &self.ns);
            c.args(["rm", n]);
            rados_out(c).map(|_| ())
        });
        for e in errors {
            eprintln!("[acceptance] cleanup: {e}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interop_both_ways_with_the_rados_tool() {
    let _one = SERIAL.lock().await;
    init_logging();
    let bed = Testbed::load();
    let pool = "volumes";
    let ns = unique_name("acceptance");
    let _clean = CleanNamespace {
        bed: &bed,
        pool: pool.to_string(),
        ns: ns.clone(),
    };
    let dir = ScratchDir::new("acceptance");
    let rados = bed.rados_admin().await;
    let mut io = rados.ioctx(pool).expect("pool volumes");
    io.set_namespace(&ns);

    let ours = specs("ours", 0x5eed_0001, INTEROP_OBJECTS);
    let theirs = specs("theirs", 0x5eed_0002, INTEROP_OBJECTS);
    let all = Instant::now();

    // Ours writes, the rados tool reads.
    let t = Instant::now();
    let errors = ours_all(
        &io,
        &ours,
        |io, s| async move { ours_writes(&io, &s).await },
    )
    .await;
    phase_done(
        "IoCtx writes",
        &errors,
        "IoCtx writes (data, xattrs, omap)",
        &ours,
        t,
    );

    let t = Instant::now();
    let errors = cli_all(&ours, |s| cli_reads(&bed, pool, &ns, &dir, s));
    phase_done(
        "what IoCtx wrote, read by the rados tool",
        &errors,
        "rados tool reads them (get, xattrs, omap)",
        &ours,
        t,
    );

    // Our objects' data is no longer needed (the listing below needs only
    // the objects): truncated through ours, checked by the rados tool, so
    // that the two sets' data never sit on the OSDs at once (the bed's
    // block files never give space back).
    let t = Instant::now();
    let errors = ours_all(&io, &ours, |io, s| async move {
        tokio::time::timeout(OP_TIMEOUT, io.truncate(&s.name, 0))
            .await
            .map_err(|_| format!("{}: truncate hung", s.name))?
            .map_err(|e| format!("{}: truncate: {e}", s.name))
    })
    .await;
    assert_no_errors("IoCtx truncates", &errors);
    let errors = cli_all(&ours, |s| {
        let mut c = rados_cmd(&bed, pool, &ns);
        c.args(["stat", &s.name]);
        let out = rados_out(c)?;
        let text = String::from_utf8_lossy(&out);
        check(
            format!("{}: size 0 after truncate: {}", s.name, text.trim()),
            text.trim_end().ends_with("size 0"),
        )
    });
    assert_no_errors("the rados tool's stat after IoCtx truncates", &errors);
    figures(
        "IoCtx truncates to 0 (rados stat)",
        ours.len() as u64,
        0,
        t.elapsed(),
    );

    // The rados tool writes, ours reads.
    let t = Instant::now();
    let errors = cli_all(&theirs, |s| cli_writes(&bed, pool, &ns, &dir, s));
    phase_done(
        "rados tool writes",
        &errors,
        "rados tool writes (put, setxattr, setomapval)",
        &theirs,
        t,
    );

    let t = Instant::now();
    let errors = ours_all(
        &io,
        &theirs,
        |io, s| async move { ours_reads(&io, &s).await },
    )
    .await;
    phase_done(
        "what the rados tool wrote, read through IoCtx",
        &errors,
        "IoCtx reads them (read, stat, xattrs, omap)",
        &theirs,
        t,
    );

    // Both list the same objects: those of the namespace, and only them.
    let t = Instant::now();
    let expected: BTreeSet<String> = ours.iter().chain(&theirs).map(|s| s.name.clone()).collect();
    let mut c = rados_cmd(&bed, pool, &ns);
    c.arg("ls");
    let cli_list = lines(&run_ok(&mut c).stdout);
    let our_list = io.list_objects(false).await.expect("list_objects");
    assert!(
        our_list.iter().all(|e| e.nspace == ns),
        "an entry of another namespace"
    );
    let our_set: BTreeSet<String> = our_list.iter().map(|e| e.oid.clone()).collect();
    assert_eq!(
        our_list.len(),
        our_set.len(),
        "list_objects returned duplicates"
    );
    assert_eq!(cli_list, expected, "rados ls");
    assert_eq!(our_set, expected, "list_objects");
    figures(
        "both list the namespace",
        expected.len() as u64,
        0,
        t.elapsed(),
    );

    // Clean up through ours; the rados tool then sees an empty namespace.
    let t = Instant::now();
    let everything: Vec<Spec> = ours.iter().chain(&theirs).cloned().collect();
    let errors = ours_all(&io, &everything, |io, s| async move {
        tokio::time::timeout(OP_TIMEOUT, io.remove(&s.name))
            .await
            .map_err(|_| format!("{}: remove hung", s.name))?
            .map_err(|e| format!("{}: remove: {e}", s.name))
    })
    .await;
    assert_no_errors("IoCtx removes", &errors);
    let mut c = rados_cmd(&bed, pool, &ns);
    c.arg("ls");
    assert_eq!(
        lines(&run_ok(&mut c).stdout),
        BTreeSet::new(),
        "objects left"
    );
    assert!(io
        .list_objects(false)
        .await
        .expect("list_objects")
        .is_empty());
    figures(
        "IoCtx removes them all",
        everything.len() as u64,
        0,
        t.elapsed(),
    );
    figures(
        "interop in all (both sets of objects)",
        everything.len() as u64,
        total_bytes(&everything),
        all.elapsed(),
    );
}

// ---------------------------------------------------------------------------
// 2. I/O under change: an OSD stops and starts, the pool's PGs split
// ---------------------------------------------------------------------------

const CHANGE_OBJECTS: u64 = 256;
const CHANGE_OBJECT_SIZE: usize = 4 << 20;
const CHANGE_IN_FLIGHT: usize = 8;
const PG_NUM_BEFORE: u32 = 16;
const PG_NUM_AFTER: u32 = 64;
/// Passes (of 1 GiB) that write; later passes only read and verify. The
/// bed's OSDs sit on sparse files that never shrink (no discard) and
/// BlueStore spreads rewrites over its device: rewriting without bound
/// would fill the host's disk, so writes stop after this many passes and
/// the loop goes on reading until the changes are through.
const WRITE_PASSES: u64 = 3;
/// Ops (a write and its verifying read, or a verifying read) between two
/// changes.
const OPS_BETWEEN_CHANGES: u64 = 32;
/// How long each change may take to show in the cluster.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(300);

fn change_seed(pass: u64, i: u64) -> u64 {
    0xacce_0000_0000 ^ (pass << 20) ^ i
}

/// What the loop has done so far, and what the cluster is going through.
struct Progress {
    ops: AtomicU64,
    bytes: AtomicU64,
    stage: std::sync::Mutex<String>,
    /// (stage, when it began, ops and bytes then)
    stages: std::sync::Mutex<Vec<(String, Instant, u64, u64)>>,
    changes_done: AtomicBool,
    failed: AtomicBool,
}

impl Progress {
    fn enter(&self, stage: &str) {
        let now = Instant::now();
        let ops = self.ops.load(Ordering::SeqCst);
        let bytes = self.bytes.load(Ordering::SeqCst);
        println!("[acceptance] after {ops} ops: {stage}");
        *self.stage.lock().unwrap() = stage.to_string();
        self.stages
            .lock()
            .unwrap()
            .push((stage.to_string(), now, ops, bytes));
    }

    fn stage(&self) -> String {
        self.stage.lock().unwrap().clone()
    }

    /// Waits until `more` ops are done beyond `from`, or the loop failed,
    /// or the time is up (then says so).
    fn wait_ops(&self, from: u64, more: u64) -> Result<(), String> {
        let deadline = Instant::now() + CHANGE_TIMEOUT;
        while self.ops.load(Ordering::SeqCst) < from + more {
            if self.failed.load(Ordering::SeqCst) {
                return Err("the I/O loop failed".into());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "I/O stalled: {} ops in {} s at stage `{}`",
                    self.ops.load(Ordering::SeqCst) - from,
                    CHANGE_TIMEOUT.as_secs(),
                    self.stage()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }
}

/// Polls `cond` every half second until it holds, up to `CHANGE_TIMEOUT`
/// (or until the I/O loop fails).
fn wait_until(
    progress: &Progress,
    what: &str,
    mut cond: impl FnMut() -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + CHANGE_TIMEOUT;
    while !cond() {
        if progress.failed.load(Ordering::SeqCst) {
            return Err("the I/O loop failed".into());
        }
        if Instant::now() > deadline {
            return Err(format!("{what}: not after {} s", CHANGE_TIMEOUT.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(())
}

fn osd_is_up(bed: &Testbed, id: u64) -> bool {
    bed.ceph_json("CEPH_CONF", &["osd", "dump"])["osds"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|o| o["osd"].as_u64() == Some(id) && o["up"].as_u64() == Some(1))
}

fn pool_value(bed: &Testbed, pool: &str, var: &str) -> u64 {
    bed.ceph_json("CEPH_CONF", &["osd", "pool", "get", pool, var])[var]
        .as_u64()
        .unwrap_or(0)
}

/// The changes, driven at fixed points of the loop's progress: stop an
/// OSD, see it marked down, start it, raise pg_num and see the split (and
/// pgp_num) through. Runs on its own thread (it runs the ceph tools).
fn drive_changes(bed: &Testbed, pool: &str, osd: u64, progress: &Progress) -> Result<(), String> {
    let id = osd.to_string();
    progress.wait_ops(0, OPS_BETWEEN_CHANGES)?;

    progress.enter(&format!("osd.{osd} stopping"));
    run_template(&bed.var("RBD_NATIVE_OSD_STOP_CMD"), &id);
    progress.enter(&format!("osd.{osd} stopped, not yet down in the map"));
    wait_until(progress, &format!("osd.{osd} marked down"), || {
        !osd_is_up(bed, osd)
    })?;
    progress.enter(&format!("osd.{osd} down in the map (degraded)"));
    let at = progress.ops.load(Ordering::SeqCst);
    progress.wait_ops(at, OPS_BETWEEN_CHANGES)?;

    progress.enter(&format!("osd.{osd} starting"));
    run_template(&bed.var("RBD_NATIVE_OSD_START_CMD"), &id);
    progress.enter(&format!("osd.{osd} up again (recovery)"));
    let at = progress.ops.load(Ordering::SeqCst);
    progress.wait_ops(at, OPS_BETWEEN_CHANGES)?;

    progress.enter(&format!("pg_num {PG_NUM_BEFORE} -> {PG_NUM_AFTER} asked"));
    ceph(
        bed,
        &[
            "osd",
            "pool",
            "set",
            pool,
            "pg_num",
            &PG_NUM_AFTER.to_string(),
        ],
    );
    wait_until(progress, "pg_num raised", || {
        pool_value(bed, pool, "pg_num") == u64::from(PG_NUM_AFTER)
    })?;
    progress.enter(&format!("pg_num {PG_NUM_AFTER} (split), pgp_num following"));
    let at = progress.ops.load(Ordering::SeqCst);
    progress.wait_ops(at, OPS_BETWEEN_CHANGES)?;
    progress.enter("after the changes, to the end of the pass");
    Ok(())
}

/// Hands out the loop's work: op k writes object k % N in pass k / N.
/// Once the changes are done, the loop ends with the pass it is in.
struct Dispenser {
    next: u64,
    limit: Option<u64>,
}

impl Dispenser {
    fn take(&mut self, changes_done: bool, failed: bool) -> Option<u64> {
        if failed {
            return None;
        }
        if changes_done && self.limit.is_none() {
            self.limit = Some(self.next.div_ceil(CHANGE_OBJECTS).max(1) * CHANGE_OBJECTS);
        }
        if self.limit.is_some_and(|l| self.next >= l) {
            return None;
        }
        self.next += 1;
        Some(self.next - 1)
    }
}

/// Writes object `i` of pass `pass` and reads it back.
async fn write_and_verify(io: &IoCtx, name: &str, pass: u64, i: u64) -> Result<(), String> {
    let data = Bytes::from(pattern(CHANGE_OBJECT_SIZE, change_seed(pass, i)));
    tokio::time::timeout(OP_TIMEOUT, io.write_full(name, data.clone()))
        .await
        .map_err(|_| {
            format!(
                "write_full {name} (pass {pass}) hung for {} s",
                OP_TIMEOUT.as_secs()
            )
        })?
        .map_err(|e| format!("write_full {name} (pass {pass}): {e}"))?;
    let back = tokio::time::timeout(OP_TIMEOUT, io.read_full(name))
        .await
        .map_err(|_| {
            format!(
                "read_full {name} (pass {pass}) hung for {} s",
                OP_TIMEOUT.as_secs()
            )
        })?
        .map_err(|e| format!("read_full {name} (pass {pass}): {e}"))?;
    if back != data {
        return Err(format!(
            "read_full {name} (pass {pass}): {} bytes not what was written{}",
            back.len(),
            first_difference(&back, &data)
        ));
    }
    Ok(())
}

/// Reads object `i` and checks it holds what pass `pass` wrote.
async fn verify(io: &IoCtx, name: &str, pass: u64, i: u64) -> Result<(), String> {
    let want = pattern(CHANGE_OBJECT_SIZE, change_seed(pass, i));
    let got = tokio::time::timeout(OP_TIMEOUT, io.read_full(name))
        .await
        .map_err(|_| format!("read_full {name} hung for {} s", OP_TIMEOUT.as_secs()))?
        .map_err(|e| format!("read_full {name}: {e}"))?;
    if got[..] == want[..] {
        Ok(())
    } else {
        Err(format!(
            "read_full {name}: {} bytes, not what pass {pass} wrote{}",
            got.len(),
            first_difference(&got, &want)
        ))
    }
}

/// Puts the cluster back: the OSD started, the pool deleted, PGs clean.
struct RestoreCluster<'a> {
    bed: &'a Testbed,
    pool: String,
    osd: Option<u64>,
}

impl Drop for RestoreCluster<'_> {
    fn drop(&mut self) {
        if let Some(osd) = self.osd {
            let line = self
                .bed
                .var("RBD_NATIVE_OSD_START_CMD")
                .replace("{id}", &osd.to_string());
            match Command::new("sh").arg("-c").arg(&line).output() {
                Ok(o) if o.status.success() => {}
                Ok(o) => eprintln!(
                    "[acceptance] `{line}` failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                ),
                Err(e) => eprintln!("[acceptance] cannot run `{line}`: {e}"),
            }
        }
        let mut c = self.bed.ceph_tool("ceph", "CEPH_CONF", "admin");
        c.args([
            "osd",
            "pool",
            "delete",
            &self.pool,
            &self.pool,
            "--yes-i-really-really-mean-it",
        ]);
        match c.output() {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "[acceptance] deleting pool {}: {}",
                self.pool,
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("[acceptance] deleting pool {}: {e}", self.pool),
        }
        // Leave the cluster settled for the tests that follow.
        self.bed.wait_for_clean("CEPH_CONF", 300);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_keeps_going_while_an_osd_restarts_and_pgs_split() {
    let _one = SERIAL.lock().await;
    init_logging();
    let bed = Testbed::load();
    // Both commands are needed; fail now rather than halfway.
    bed.var("RBD_NATIVE_OSD_STOP_CMD");
    bed.var("RBD_NATIVE_OSD_START_CMD");
    bed.wait_for_clean("CEPH_CONF", 300);

    let osds: Vec<u64> = bed
        .ceph_json("CEPH_CONF", &["osd", "ls"])
        .as_array()
        .expect("osd ls")
        .iter()
        .filter_map(|v| v.as_u64())
        .collect();
    assert!(
        osds.len() >= 2,
        "the cluster needs two OSDs or more to stop one of them: {osds:?}"
    );
    let osd = *osds.last().unwrap();

    let pool = unique_name("accept");
    let mut restore = RestoreCluster {
        bed: &bed,
        pool: pool.clone(),
        osd: None,
    };
    ceph(
        &bed,
        &[
            "osd",
            "pool",
            "create",
            &pool,
            &PG_NUM_BEFORE.to_string(),
            &PG_NUM_BEFORE.to_string(),
        ],
    );
    ceph(
        &bed,
        &["osd", "pool", "set", &pool, "pg_autoscale_mode", "off"],
    );
    ceph(
        &bed,
        &["osd", "pool", "application", "enable", &pool, "rados"],
    );
    bed.wait_for_clean("CEPH_CONF", 300);

    let rados = bed.rados_admin().await;
    let epoch = bed.ceph_json("CEPH_CONF", &["osd", "stat"])["epoch"]
        .as_u64()
        .unwrap() as u32;
    tokio::time::timeout(
        Duration::from_secs(60),
        rados.objecter().wait_for_epoch(epoch),
    )
    .await
    .expect("the client saw the pool's map")
    .unwrap();
    let io = rados.ioctx(&pool).expect("the new pool");
    let names: Arc<Vec<String>> =
        Arc::new((0..CHANGE_OBJECTS).map(|i| format!("obj.{i:04}")).collect());
    let last_pass: Arc<Vec<Mutex<Option<u64>>>> =
        Arc::new((0..CHANGE_OBJECTS).map(|_| Mutex::new(None)).collect());

    let progress = Arc::new(Progress {
        ops: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        stage: std::sync::Mutex::new(String::new()),
        stages: std::sync::Mutex::new(Vec::new()),
        changes_done: AtomicBool::new(false),
        failed: AtomicBool::new(false),
    });
    progress.enter("steady (all OSDs up)");
    let dispenser = Arc::new(std::sync::Mutex::new(Dispenser {
        next: 0,
        limit: None,
    }));
    let start = Instant::now();

    // The changes, on their own thread, at fixed points of progress.
    restore.osd = Some(osd);
    let driver = {
        let (bed, pool, progress) = (bed.clone(), pool.clone(), progress.clone());
        std::thread::spawn(move || {
            let r = drive_changes(&bed, &pool, osd, &progress);
            progress.changes_done.store(true, Ordering::SeqCst);
            r
        })
    };
    // A line of progress every 10 s.
    let ticker = {
        let progress = progress.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(10)).await;
                println!(
                    "[acceptance] {:>6.1} s: {} ops, {:.0} MiB, stage `{}`",
                    start.elapsed().as_secs_f64(),
                    progress.ops.load(Ordering::SeqCst),
                    progress.bytes.load(Ordering::SeqCst) as f64 / (1024.0 * 1024.0),
                    progress.stage()
                );
            }
        })
    };

    // The I/O loop.
    let mut workers = JoinSet::new();
    for _ in 0..CHANGE_IN_FLIGHT {
        let (io, names, last_pass) = (io.clone(), names.clone(), last_pass.clone());
        let (progress, dispenser) = (progress.clone(), dispenser.clone());
        workers.spawn(async move {
            let mut errors = Vec::new();
            loop {
                let k = dispenser.lock().unwrap().take(
                    progress.changes_done.load(Ordering::SeqCst),
                    progress.failed.load(Ordering::SeqCst),
                );
                let Some(k) = k else { break };
                let (pass, i) = (k / CHANGE_OBJECTS, k % CHANGE_OBJECTS);
                let mut last = last_pass[i as usize].lock().await;
                let stage = progress.stage();
                let t = Instant::now();
                let name = &names[i as usize];
                let (r, moved) = match *last {
                    Some(written) if pass >= WRITE_PASSES => {
                        (verify(&io, name, written, i).await, CHANGE_OBJECT_SIZE)
                    }
                    _ => (
                        write_and_verify(&io, name, pass, i).await,
                        2 * CHANGE_OBJECT_SIZE,
                    ),
                };
                match r {
                    Ok(()) => {
                        if pass < WRITE_PASSES || last.is_none() {
                            *last = Some(pass);
                        }
                        progress.ops.fetch_add(1, Ordering::SeqCst);
                        progress.bytes.fetch_add(moved as u64, Ordering::SeqCst);
                    }
                    Err(e) => {
                        errors.push(format!(
                            "{e} (after {:.1} s; stage `{stage}` when sent, `{}` now)",
                            t.elapsed().as_secs_f64(),
                            progress.stage()
                        ));
                        progress.failed.store(true, Ordering::SeqCst);
                    }
                }
            }
            errors
        });
    }
    let mut errors = Vec::new();
    while let Some(r) = workers.join_next().await {
        errors.extend(r.expect("an I/O task panicked"));
    }
    let loop_end = Instant::now();
    let ops_end = progress.ops.load(Ordering::SeqCst);
    let bytes_end = progress.bytes.load(Ordering::SeqCst);
    // A failed loop stops the driver at its next wait.
    let driven = tokio::task::block_in_place(|| driver.join()).expect("the driver panicked");
    ticker.abort();
    assert!(
        errors.is_empty(),
        "{} ops failed under change; first ones:\n{}",
        errors.len(),
        errors
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    driven.expect("the changes did not go through");

    // Figures per stage.
    let stages = progress.stages.lock().unwrap().clone();
    for (j, (stage, t0, ops0, bytes0)) in stages.iter().enumerate() {
        let (t1, ops1, bytes1) = stages
            .get(j + 1)
            .map(|(_, t, o, b)| (*t, *o, *b))
            .unwrap_or((loop_end, ops_end, bytes_end));
        figures(stage, ops1 - ops0, bytes1 - bytes0, t1 - *t0);
    }
    figures(
        "whole loop (bytes written + read back)",
        ops_end,
        bytes_end,
        loop_end - start,
    );
    assert!(
        ops_end >= CHANGE_OBJECTS,
        "the loop did not write every object"
    );

    // The client followed the split.
    let maps = rados.objecter().maps().expect("maps");
    let p = &maps.osdmap.pools[&io.pool_id()];
    assert_eq!(p.pg_num, PG_NUM_AFTER, "the client's map of the pool");

    // Every object holds what its last write put there.
    let t = Instant::now();
    let mut set = JoinSet::new();
    let slots = Arc::new(Semaphore::new(CHANGE_IN_FLIGHT));
    for i in 0..CHANGE_OBJECTS {
        let pass = last_pass[i as usize]
            .lock()
            .await
            .expect("every object was written");
        let permit = slots.clone().acquire_owned().await.unwrap();
        let (io, name) = (io.clone(), names[i as usize].clone());
        set.spawn(async move {
            let r = verify(&io, &name, pass, i).await;
            drop(permit);
            r.map_err(|e| format!("final check: {e}"))
        });
    }
    let mut errors = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Err(e) = r.expect("a verify task panicked") {
            errors.push(e);
        }
    }
    assert_no_errors("final verification", &errors);
    figures(
        "final verification of every object",
        CHANGE_OBJECTS,
        CHANGE_OBJECTS * CHANGE_OBJECT_SIZE as u64,
        t.elapsed(),
    );
    drop(rados);
    let t = Instant::now();
    drop(restore);
    figures("pool deleted, cluster clean again", 0, 0, t.elapsed());
}
