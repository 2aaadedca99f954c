//! One side of a measure run as a child process, and what it cost: wall
//! time, CPU time (user and system) and peak resident memory of that
//! process alone, so that the harness's own work is never counted.
//!
//! Without `unsafe` (the workspace forbids it) there is no `wait4`; the
//! figures come from `/proc` instead:
//! - CPU: the growth of this process's `cutime` and `cstime` (fields 16
//!   and 17 of `/proc/self/stat`) across the child's wait. The kernel adds
//!   a child's user and system time (and those of its waited-for
//!   descendants) there when it is reaped, so the delta is the child's own
//!   figure, as `getrusage(RUSAGE_CHILDREN)` would give it. Resolution: one
//!   clock tick (USER_HZ, 100 on Linux: 10 ms).
//! - Peak RSS: `VmHWM` of `/proc/<pid>/status` (the kernel's high-water
//!   mark of the resident set), sampled every 5 ms over the child and its
//!   descendants (a wrapper script that does not `exec` is seen through);
//!   the largest value read. Growth in the last 5 ms before exit may be
//!   missed.
//!
//! Children must be run one at a time (the harness is sequential): the
//! CPU delta counts every child reaped meanwhile.

use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc`'s time fields (USER_HZ).
const TICKS_PER_SEC: f64 = 100.0;

/// What running one child cost.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// Wall time from spawn to reaping, in seconds.
    pub wall: f64,
    /// User CPU time, in seconds.
    pub user: f64,
    /// System CPU time, in seconds.
    pub sys: f64,
    /// Peak resident set, in KiB.
    pub peak_rss_kib: u64,
}

impl Usage {
    /// User plus system CPU time, in seconds.
    pub fn cpu(&self) -> f64 {
        self.user + self.sys
    }
}

/// (cutime, cstime) of this process, in ticks.
fn children_ticks() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may hold spaces: count from its ')'.
    let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // rest starts at field 3 (state): field n is at index n - 3.
    (
        f.get(16 - 3).copied().unwrap_or(0),
        f.get(17 - 3).copied().unwrap_or(0),
    )
}

/// `VmHWM` of a process, in KiB.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The process and its descendants, by `/proc/<pid>/task/*/children`.
fn tree(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    let mut i = 0;
    while let Some(&p) = out.get(i) {
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) {
            for t in tasks.flatten() {
                let kids = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
                out.extend(
                    kids.split_whitespace()
                        .filter_map(|k| k.parse::<u32>().ok()),
                );
            }
        }
        i += 1;
    }
    out
}

/// Runs `cmd` to its end (stdout and stderr captured) and measures it.
pub fn run(cmd: &mut Command) -> std::io::Result<(Output, Usage)> {
    run_with(cmd, Stdio::piped())
}

/// Runs `cmd` to its end, its stdout thrown away (a stream of data, an
/// export), and measures it.
pub fn run_discarding_stdout(cmd: &mut Command) -> std::io::Result<(Output, Usage)> {
    run_with(cmd, Stdio::null())
}

fn run_with(cmd: &mut Command, stdout: Stdio) -> std::io::Result<(Output, Usage)> {
    let (cu0, cs0) = children_ticks();
    let start = Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let peak = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let hwm = tree(pid).into_iter().filter_map(vm_hwm_kib).max();
                if let Some(h) = hwm {
                    peak.fetch_max(h, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let output = child.wait_with_output();
    let wall = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let output = output?;
    let (cu1, cs1) = children_ticks();
    Ok((
        output,
        Usage {
            wall,
            user: cu1.saturating_sub(cu0) as f64 / TICKS_PER_SEC,
            sys: cs1.saturating_sub(cs0) as f64 / TICKS_PER_SEC,
            peak_rss_kib: peak.load(Ordering::Relaxed),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_child_costs_cpu_and_memory() {
        // 64 MiB touched, then some CPU.
        let (out, u) = run(Command::new("python3").args([
            "-c",
            "b = bytearray(64 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\nx = sum(range(3_000_000))",
        ]))
        .unwrap();
        assert!(out.status.success());
        assert!(u.cpu() > 0.0, "{u:?}");
        assert!(u.peak_rss_kib >= 64 << 10, "{u:?}");
        assert!(u.wall >= u.cpu() / 2.0, "{u:?}");
    }
}
