//! `rbd-native rados -p POOL bench SECONDS write|seq|rand` and
//! `rbd-native rados -p POOL cleanup`, after the `rados` tool's: keep
//! `-t` operations in flight for some seconds, then print a summary (or
//! one JSON document) of ops, bytes, seconds, bandwidth and latencies.
//!
//! A write run names its objects as `rados bench` does
//! (`benchmark_data_<host>_<pid>_object<N>`) and, with `--no-cleanup`,
//! leaves them and a metadata object (named by `--run-name`) that a later
//! `seq` or `rand` run reads them by, and `cleanup` removes them by.
//! The metadata is our own (JSON), under its own default name, so that
//! it is never mistaken for that of `rados bench`.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ceph_rados::{IoCtx, RadosError};
use clap::{Args, ValueEnum};

use crate::error::Error;
use crate::format::Format;

/// The metadata object's name when no `--run-name` is given.
pub const DEFAULT_RUN_NAME: &str = "rbd_native_bench_last_metadata";

/// What a bench run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchMode {
    /// Write whole objects, one per op.
    Write,
    /// Read the objects of the last write run, in order.
    Seq,
    /// Read those objects at random.
    Rand,
}

/// Arguments of `rados bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// How long to keep issuing operations.
    pub seconds: u64,
    /// What to do.
    #[arg(value_enum)]
    pub mode: BenchMode,
    /// Operations in flight.
    #[arg(short = 't', long = "concurrent-ios", default_value_t = 16)]
    pub concurrent: usize,
    /// Bytes per object written (K and M suffixes: KiB, MiB).
    #[arg(short = 'b', long = "block-size", default_value = "4M", value_parser = parse_size)]
    pub block_size: u64,
    /// Keep the objects a write run made (for a later seq or rand run).
    #[arg(long = "no-cleanup")]
    pub no_cleanup: bool,
    /// The metadata object of the run.
    #[arg(long = "run-name", default_value = DEFAULT_RUN_NAME)]
    pub run_name: String,
    /// Output format.
    #[arg(long = "format", value_enum, default_value_t = Format::Plain)]
    pub format: Format,
}

/// Arguments of `rados cleanup`.
#[derive(Args, Debug)]
pub struct CleanupArgs {
    /// The metadata object of the run whose objects to remove.
    #[arg(long = "run-name", default_value = DEFAULT_RUN_NAME)]
    pub run_name: String,
    /// Instead: remove every object whose name starts with this (lists the pool).
    #[arg(long = "prefix")]
    pub prefix: Option<String>,
}

/// `4096`, `4K`, `4M` as bytes.
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, ""),
    };
    let n: u64 = digits.parse().map_err(|_| format!("not a size: {s:?}"))?;
    let mult = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        _ => return Err(format!("not a size unit: {unit:?} (B, K, M)")),
    };
    match n.checked_mul(mult) {
        Some(0) | None => Err(format!("not a usable size: {s:?}")),
        Some(v) => Ok(v),
    }
}

/// What a write run leaves for the read runs, in its metadata object.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RunMeta {
    prefix: String,
    object_size: u64,
    objects: u64,
}

impl RunMeta {
    fn to_json(&self) -> Vec<u8> {
        serde_json::json!({
            "object_prefix": self.prefix,
            "object_size": self.object_size,
            "num_objects": self.objects,
        })
        .to_string()
        .into_bytes()
    }

    fn from_json(data: &[u8], name: &str) -> Result<RunMeta, Error> {
        let bad = || {
            Error::Input(format!(
                "{name}: not the metadata of an rbd-native bench run"
            ))
        };
        let v: serde_json::Value = serde_json::from_slice(data).map_err(|_| bad())?;
        Ok(RunMeta {
            prefix: v["object_prefix"].as_str().ok_or_else(bad)?.to_string(),
            object_size: v["object_size"].as_u64().ok_or_else(bad)?,
            objects: v["num_objects"].as_u64().ok_or_else(bad)?,
        })
    }

    fn object(&self, i: u64) -> String {
        object_name(&self.prefix, i)
    }
}

fn object_name(prefix: &str, i: u64) -> String {
    format!("{prefix}_object{i}")
}

/// `benchmark_data_<host>_<pid>`, as `rados bench` names its objects.
fn object_prefix() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    format!("benchmark_data_{host}_{}", std::process::id())
}

/// Ops, bytes and latencies of some operations.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    ops: u64,
    bytes: u64,
    lat_sum: f64,
    lat_min: f64,
    lat_max: f64,
}

impl Tally {
    fn add(&mut self, bytes: u64, lat: Duration) {
        let l = lat.as_secs_f64();
        if self.ops == 0 || l < self.lat_min {
            self.lat_min = l;
        }
        self.lat_max = self.lat_max.max(l);
        self.lat_sum += l;
        self.ops += 1;
        self.bytes += bytes;
    }

    fn merge(&mut self, o: &Tally) {
        if o.ops == 0 {
            return;
        }
        if self.ops == 0 || o.lat_min < self.lat_min {
            self.lat_min = o.lat_min;
        }
        self.lat_max = self.lat_max.max(o.lat_max);
        self.lat_sum += o.lat_sum;
        self.ops += o.ops;
        self.bytes += o.bytes;
    }
}

/// A small xorshift generator for `rand` runs (no cryptographic use).
struct XorShift(u64);

impl XorShift {
    fn seeded(salt: u64) -> XorShift {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15);
        XorShift((nanos ^ salt.wrapping_mul(0x2545_f491_4f6c_dd1d)) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x % n.max(1)
    }
}

/// What every worker of a run shares.
struct Job {
    io: IoCtx,
    mode: BenchMode,
    prefix: String,
    object_size: u64,
    objects: u64,
    data: Bytes,
    next: AtomicU64,
    deadline: Instant,
}

async fn worker(job: Arc<Job>, salt: u64) -> Result<Tally, RadosError> {
    let mut tally = Tally::default();
    let mut rng = XorShift::seeded(salt);
    while Instant::now() < job.deadline {
        let i = match job.mode {
            BenchMode::Write => job.next.fetch_add(1, Ordering::Relaxed),
            BenchMode::Seq => {
                let i = job.next.fetch_add(1, Ordering::Relaxed);
                if i >= job.objects {
                    break;
                }
                i
            }
            BenchMode::Rand => rng.below(job.objects),
        };
        let oid = object_name(&job.prefix, i);
        let t = Instant::now();
        let bytes = match job.mode {
            BenchMode::Write => {
                job.io.write_full(&oid, job.data.clone()).await?;
                job.object_size
            }
            BenchMode::Seq | BenchMode::Rand => {
                job.io.read(&oid, 0, job.object_size).await?.len() as u64
            }
        };
        tally.add(bytes, t.elapsed());
    }
    Ok(tally)
}

/// Runs `concurrent` workers until the deadline (and what they started
/// has finished); returns their tally and the seconds it took.
async fn run_workers(job: Arc<Job>, concurrent: usize) -> Result<(Tally, f64), Error> {
    let start = Instant::now();
    let tasks: Vec<_> = (0..concurrent.max(1) as u64)
        .map(|n| tokio::spawn(worker(job.clone(), n)))
        .collect();
    let mut total = Tally::default();
    let mut failed = None;
    for t in tasks {
        match t.await {
            Ok(Ok(tally)) => total.merge(&tally),
            Ok(Err(e)) => failed = failed.or(Some(Error::Rados(e))),
            Err(e) => failed = failed.or(Some(Error::Input(format!("a bench worker failed: {e}")))),
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok((total, start.elapsed().as_secs_f64())),
    }
}

/// Removes objects `0..count` of `meta`, `concurrent` at a time; objects
/// already gone are fine.
async fn remove_objects(io: &IoCtx, names: Vec<String>, concurrent: usize) -> Result<u64, Error> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    let removed = stream::iter(names)
        .map(|oid| async move {
            match io.remove(&oid).await {
                Ok(()) => Ok(1u64),
                Err(e) if e.errno() == Some(ceph_common::errno::ENOENT) => Ok(0),
                Err(e) => Err(Error::Rados(e)),
            }
        })
        .buffer_unordered(concurrent.max(1))
        .try_fold(0u64, |a, n| async move { Ok(a + n) })
        .await?;
    Ok(removed)
}

/// The figures of a finished run.
struct Summary<'a> {
    args: &'a BenchArgs,
    prefix: &'a str,
    object_size: u64,
    tally: Tally,
    seconds: f64,
}

impl Summary<'_> {
    fn bandwidth(&self) -> f64 {
        per_sec(self.tally.bytes as f64 / 1_048_576.0, self.seconds)
    }

    fn iops(&self) -> f64 {
        per_sec(self.tally.ops as f64, self.seconds)
    }

    fn avg_latency(&self) -> f64 {
        if self.tally.ops == 0 {
            0.0
        } else {
            self.tally.lat_sum / self.tally.ops as f64
        }
    }

    fn json(&self) -> serde_json::Value {
        let (made, size) = match self.args.mode {
            BenchMode::Write => ("total_writes_made", "write_size"),
            BenchMode::Seq | BenchMode::Rand => ("total_reads_made", "read_size"),
        };
        serde_json::json!({
            "mode": format!("{:?}", self.args.mode).to_lowercase(),
            "concurrent_ios": self.args.concurrent,
            "seconds_to_run": self.args.seconds,
            "object_prefix": self.prefix,
            "object_size": self.object_size,
            "total_time_run": self.seconds,
            made: self.tally.ops,
            size: self.object_size,
            "ops": self.tally.ops,
            "bytes": self.tally.bytes,
            "seconds": self.seconds,
            "bandwidth": self.bandwidth(),
            "average_iops": self.iops(),
            "average_latency": self.avg_latency(),
            "max_latency": self.tally.lat_max,
            "min_latency": self.tally.lat_min,
        })
    }

    fn text(&self) -> String {
        let (made, size) = match self.args.mode {
            BenchMode::Write => ("Total writes made:", "Write size:"),
            BenchMode::Seq | BenchMode::Rand => ("Total reads made:", "Read size:"),
        };
        format!(
            "Total time run:         {:.6}\n\
             {made:<24}{}\n\
             {size:<24}{}\n\
             Object size:            {}\n\
             Bandwidth (MB/sec):     {:.6}\n\
             Average IOPS:           {:.0}\n\
             Average Latency(s):     {:.6}\n\
             Max latency(s):         {:.6}\n\
             Min latency(s):         {:.6}\n",
            self.seconds,
            self.tally.ops,
            self.object_size,
            self.object_size,
            self.bandwidth(),
            self.iops(),
            self.avg_latency(),
            self.tally.lat_max,
            self.tally.lat_min,
        )
    }
}

fn per_sec(x: f64, secs: f64) -> f64 {
    if secs > 0.0 {
        x / secs
    } else {
        0.0
    }
}

/// Runs `bench` on a connected pool.
pub async fn bench(io: &IoCtx, args: &BenchArgs) -> Result<i32, Error> {
    let meta = match args.mode {
        BenchMode::Write => RunMeta {
            prefix: object_prefix(),
            object_size: args.block_size,
            objects: 0,
        },
        BenchMode::Seq | BenchMode::Rand => {
            let data = io.read_full(&args.run_name).await?;
            let meta = RunMeta::from_json(&data, &args.run_name)?;
            if meta.objects == 0 {
                return Err(Error::Input(format!(
                    "{}: the write run left no objects (run a write with --no-cleanup first)",
                    args.run_name
                )));
            }
            meta
        }
    };
    let mut stdout = std::io::stdout().lock();
    if !args.format.is_json() && args.mode == BenchMode::Write {
        let _ = writeln!(
            stdout,
            "Maintaining {} concurrent writes of {} bytes to objects of size {} for up to {} seconds\n\
             Object prefix: {}",
            args.concurrent, args.block_size, args.block_size, args.seconds, meta.prefix
        );
    }
    let job = Arc::new(Job {
        io: io.clone(),
        mode: args.mode,
        prefix: meta.prefix.clone(),
        object_size: meta.object_size,
        objects: meta.objects,
        data: match args.mode {
            BenchMode::Write => {
                Bytes::from(vec![0x5a; usize::try_from(args.block_size).unwrap_or(0)])
            }
            BenchMode::Seq | BenchMode::Rand => Bytes::new(),
        },
        next: AtomicU64::new(0),
        deadline: Instant::now() + Duration::from_secs(args.seconds),
    });
    let (tally, seconds) = run_workers(job.clone(), args.concurrent).await?;
    let summary = Summary {
        args,
        prefix: &meta.prefix,
        object_size: meta.object_size,
        tally,
        seconds,
    };
    if args.format.is_json() {
        let _ = writeln!(stdout, "{}", summary.json());
    } else {
        let _ = write!(stdout, "{}", summary.text());
    }
    if args.mode == BenchMode::Write {
        let written = RunMeta {
            objects: job.next.load(Ordering::Relaxed),
            ..meta
        };
        if args.no_cleanup {
            io.write_full(&args.run_name, Bytes::from(written.to_json()))
                .await?;
        } else {
            let names = (0..written.objects).map(|i| written.object(i)).collect();
            remove_objects(io, names, args.concurrent).await?;
        }
    }
    let _ = stdout.flush();
    Ok(0)
}

/// Runs `cleanup` on a connected pool: the objects of a run (and its
/// metadata), or every object with a prefix.
pub async fn cleanup(io: &IoCtx, args: &CleanupArgs) -> Result<i32, Error> {
    let (names, meta_object) = match &args.prefix {
        Some(prefix) => {
            let names = io
                .list_objects(false)
                .await?
                .into_iter()
                .map(|e| e.oid)
                .filter(|o| o.starts_with(prefix.as_str()))
                .collect();
            (names, None)
        }
        None => {
            let data = io.read_full(&args.run_name).await?;
            let meta = RunMeta::from_json(&data, &args.run_name)?;
            let names = (0..meta.objects).map(|i| meta.object(i)).collect();
            (names, Some(args.run_name.clone()))
        }
    };
    let removed = remove_objects(io, names, 16).await?;
    if let Some(m) = meta_object {
        io.remove(&m).await?;
    }
    let _ = writeln!(std::io::stdout().lock(), "Removed {removed} objects");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("4m"), Ok(4 << 20));
        assert!(parse_size("0").is_err());
        assert!(parse_size("4G").is_err());
        assert!(parse_size("x").is_err());
        assert!(parse_size("99999999999999999999M").is_err());
    }

    #[test]
    fn metadata_round_trip() {
        let m = RunMeta {
            prefix: "benchmark_data_h_1".into(),
            object_size: 4096,
            objects: 7,
        };
        assert_eq!(RunMeta::from_json(&m.to_json(), "x").ok(), Some(m.clone()));
        assert!(RunMeta::from_json(b"\x01\x02", "x").is_err());
        assert_eq!(m.object(3), "benchmark_data_h_1_object3");
    }

    #[test]
    fn tallies_merge() {
        let mut a = Tally::default();
        a.add(10, Duration::from_millis(5));
        a.add(10, Duration::from_millis(1));
        let mut b = Tally::default();
        b.add(5, Duration::from_millis(9));
        a.merge(&b);
        a.merge(&Tally::default());
        assert_eq!((a.ops, a.bytes), (3, 25));
        assert!((a.lat_min - 0.001).abs() < 1e-9 && (a.lat_max - 0.009).abs() < 1e-9);
    }

    /// The bench arguments of a command line, if it parses as one.
    fn bench_args(argv: &[&str]) -> Option<BenchArgs> {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from(argv).ok()?;
        match cli.command {
            crate::cli::Action::Rados(args) => match args.action {
                super::super::rados::RadosAction::Bench(b) => Some(b),
                _ => None,
            },
            _ => None,
        }
    }

    #[test]
    fn parses_as_rados_bench_does() {
        let b = bench_args(&[
            "rbd-native",
            "rados",
            "-p",
            "volumes",
            "bench",
            "5",
            "write",
            "-t",
            "1",
            "-b",
            "4K",
            "--no-cleanup",
            "--run-name",
            "r1",
            "--format",
            "json",
        ])
        .unwrap();
        assert_eq!((b.seconds, b.mode, b.concurrent), (5, BenchMode::Write, 1));
        assert_eq!((b.block_size, b.no_cleanup), (4096, true));
        assert_eq!((b.run_name.as_str(), b.format), ("r1", Format::Json));
        let b = bench_args(&["rbd-native", "rados", "-p", "v", "bench", "1", "seq"]).unwrap();
        assert_eq!(
            (b.concurrent, b.block_size, b.run_name.as_str()),
            (16, 4 << 20, DEFAULT_RUN_NAME)
        );
        assert!(bench_args(&["rbd-native", "rados", "-p", "v", "bench", "1", "read"]).is_none());
    }

    #[test]
    fn random_below() {
        let mut r = XorShift::seeded(3);
        assert!((0..1000).all(|_| r.below(7) < 7));
        assert_eq!(r.below(0), 0);
    }
}
