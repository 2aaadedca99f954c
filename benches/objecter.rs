//! Object I/O: `rbd-native rados bench` (our Objecter) against `rados
//! bench` (librados) on the same bed, each side a process of its own:
//! 4 KiB and 4 MiB objects, writes then sequential reads of what was
//! written, 1 and 16 in flight, for SECS seconds each (default 5), ROUNDS
//! rounds (default 5) alternating the sides (see `rbd_native_benches::method`).
//! Per measure: ops/s medians, the median ratio and its range, CPU per GiB
//! and per 1000 ops and peak RSS of each side's process; the goals
//! (ratio ≥ 1.0, our CPU per op ≤ half of librados's) met or not.
//! Every object a round writes is removed after its reads.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::process::Command;

use rbd_native_benches::child;
use rbd_native_benches::method::{order, rounds, secs, Sample, Side};
use rbd_native_benches::report::Report;
use rbd_native_benches::{rbd_native_bin, Setup};

const POOL: &str = "volumes";

/// The command of one side, with the cluster's settings.
fn side_cmd(side: Side, conf: &str, keyring: &str) -> Command {
    let mut cmd = match side {
        Side::Ours => {
            let mut c = Command::new(rbd_native_bin());
            c.arg("rados");
            c
        }
        Side::Reference => rbd_native_tests::tool("rados"),
    };
    cmd.args(["-c", conf, "-k", keyring, "-p", POOL]);
    cmd
}

/// A number of a bench summary: `rados bench` writes them as strings.
fn number(v: &serde_json::Value, key: &str) -> Option<f64> {
    match &v[key] {
        serde_json::Value::String(s) => s.trim().parse().ok(),
        n => n.as_f64(),
    }
}

/// (ops, bytes, seconds) of a bench run's JSON summary (its last `{` line).
fn parse_summary(stdout: &str) -> Option<(u64, u64, f64)> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))?;
    let v: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
    let ops = number(&v, "total_writes_made").or_else(|| number(&v, "total_reads_made"))?;
    let size = number(&v, "write_size").or_else(|| number(&v, "read_size"))?;
    let seconds = number(&v, "total_time_run")?;
    Some((ops as u64, (ops * size) as u64, seconds))
}

/// Removes what a run left; failures are reported, not fatal.
fn cleanup(side: Side, conf: &str, keyring: &str, run: &str) {
    let out = side_cmd(side, conf, keyring)
        .args(["cleanup", "--run-name", run])
        .output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => eprintln!(
            "cleanup of {run} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => eprintln!("cleanup of {run} failed: {e}"),
    }
}

struct Run<'a> {
    conf: &'a str,
    keyring: &'a str,
    secs: u64,
    size: usize,
    threads: usize,
}

impl Run<'_> {
    /// One measured bench run of one side (a write leaves its objects).
    fn bench(&self, side: Side, mode: &str, run: &str) -> Sample {
        let mut cmd = side_cmd(side, self.conf, self.keyring);
        cmd.args(["bench", &self.secs.to_string(), mode])
            .args(["-t", &self.threads.to_string(), "--run-name", run])
            .args(["--format", "json"]);
        if mode == "write" {
            cmd.args(["-b", &self.size.to_string(), "--no-cleanup"]);
        }
        let (out, usage) = child::run(&mut cmd).expect("run a bench side");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let parsed = parse_summary(&stdout).filter(|_| out.status.success());
        let Some((ops, bytes, seconds)) = parsed else {
            cleanup(side, self.conf, self.keyring, run);
            panic!(
                "{side:?} bench {mode} failed ({}): {stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        };
        Sample::new(if seconds > 0.0 {
            ops as f64 / seconds
        } else {
            0.0
        })
        .work(ops, bytes)
        .usage(usage)
    }
}

fn size_label(size: usize) -> String {
    if size >= 1 << 20 {
        format!("{} MiB", size >> 20)
    } else {
        format!("{} KiB", size >> 10)
    }
}

fn main() {
    let Setup { conf, keyring, .. } = Setup::new();
    let secs = secs(5);
    let mut report = Report::new(
        "objecter",
        &format!("Object I/O: rbd-native rados bench vs rados bench (librados), pool {POOL}"),
        "rados bench",
    );
    report.note(format!(
        "{secs} s per run (SECS); a write run, then a seq run reading what it wrote; ops/s as each tool reports it."
    ));
    report.note(
        "CPU and peak RSS: each side's whole process (start, connect, the run), from /proc (see benches/child.rs).",
    );
    let configs = [(4096usize, 1usize), (4096, 16), (4 << 20, 1), (4 << 20, 16)];
    let mut names = Vec::new();
    for (size, threads) in configs {
        let run = Run {
            conf: &conf,
            keyring: &keyring,
            secs,
            size,
            threads,
        };
        let label = format!("{}, {threads} in flight", size_label(size));
        let (w, r) = (format!("write {label}"), format!("read {label}"));
        for round in 0..rounds() {
            for side in order(round) {
                let name = format!(
                    "bench-{}-{size}-{threads}-{round}-{}",
                    std::process::id(),
                    if side == Side::Ours { "ours" } else { "ref" }
                );
                let ws = run.bench(side, "write", &name);
                let rs = run.bench(side, "seq", &name);
                cleanup(side, &conf, &keyring, &name);
                eprintln!(
                    "[objecter] {label} round {round} {side:?}: write {:.0} ops/s, read {:.0} ops/s",
                    ws.value, rs.value
                );
                report.record(&w, "ops/s", true, side, ws);
                report.record(&r, "ops/s", true, side, rs);
            }
        }
        names.push(w);
        names.push(r);
    }
    for n in &names {
        report.ratio_goal(n, 1.0);
    }
    for n in &names {
        report.cpu_goal(n, 0.5);
    }
    report.write();
}
