//! The streaming and pool-wide image commands: `import`, `export`
//! (sparse-aware, bounded memory, read-ahead), `ls`, `du`, `resize` and
//! `trash mv|ls|restore|rm`, with the `rbd` tool's syntax.

use std::io::{IsTerminal, Read, Seek, SeekFrom, Write};
use std::time::Duration;

use bytes::Bytes;
use ceph_rados::Rados;
use ceph_rbd::image::{
    create_image, list_images, trash_list, trash_move, trash_remove, trash_restore, CreateOptions,
    Image,
};
use clap::{Args, Subcommand};
use futures::stream::{self, FuturesUnordered, StreamExt, TryStreamExt};

use super::image_spec::{data_pool_id, io_err, ioctx, open_at_snap, rbd_err, ImageArgs, ImageSpec};
use crate::error::Error;
use crate::format::Format;

/// Reads (export) or writes (import) in flight.
const IN_FLIGHT: usize = 8;
/// The granularity of holes: all-zero blocks of this size are skipped.
const SPARSE_BLOCK: usize = 64 << 10;

/// `import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The file to read, `-` for standard input.
    pub path: String,
    /// The new image, `[pool/]image`.
    pub spec: String,
    /// The pool, when the spec has none.
    #[arg(short = 'p', long = "pool")]
    pub pool: Option<String>,
    /// Feature names (repeatable), instead of the default set.
    #[arg(long = "image-feature")]
    pub features: Vec<String>,
    /// Object order.
    #[arg(long = "order", default_value_t = 22)]
    pub order: u8,
    /// A pool for the image's data objects (such as an erasure-coded pool).
    #[arg(long = "data-pool")]
    pub data_pool: Option<String>,
    /// No progress bar.
    #[arg(long = "no-progress")]
    pub no_progress: bool,
}

/// `export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The image.
    #[command(flatten)]
    pub image: ImageArgs,
    /// Where to, `-` for standard output.
    pub path: String,
    /// No progress bar.
    #[arg(long = "no-progress")]
    pub no_progress: bool,
}

/// `ls`.
#[derive(Args, Debug)]
pub struct LsArgs {
    /// The pool (`rbd` when not given).
    pub pool: Option<String>,
    /// Long listing: size, parent, format, protection, lock.
    #[arg(short = 'l', long = "long")]
    pub long: bool,
    /// Output format.
    #[arg(long = "format", value_enum, default_value_t)]
    pub format: Format,
    /// The pool, as an option.
    #[arg(short = 'p', long = "pool", id = "pool_opt")]
    pub pool_opt: Option<String>,
}

/// `resize`.
#[derive(Args, Debug)]
pub struct ResizeArgs {
    /// The image.
    #[command(flatten)]
    pub image: ImageArgs,
    /// New size, with an optional K/M/G/T suffix (MiB without one).
    #[arg(short = 's', long = "size")]
    pub size: String,
    /// Allow shrinking.
    #[arg(long = "allow-shrink")]
    pub allow_shrink: bool,
    /// No progress bar.
    #[arg(long = "no-progress")]
    pub no_progress: bool,
}

/// `trash ...`.
#[derive(Subcommand, Debug)]
pub enum TrashAction {
    /// Move an image to the trash.
    Mv {
        /// The image.
        #[command(flatten)]
        image: ImageArgs,
        /// Keep it from removal for this long (`N [seconds|minutes|hours|days]`).
        #[arg(long = "expires-at")]
        expires_at: Option<String>,
    },
    /// List the trash.
    Ls {
        /// The pool (`rbd` when not given).
        pool: Option<String>,
        /// Output format.
        #[arg(long = "format", value_enum, default_value_t)]
        format: Format,
    },
    /// Restore an image, `[pool/]image-id`.
    Restore {
        /// The image id.
        #[command(flatten)]
        image: ImageArgs,
        /// Its new name (its old one by default).
        #[arg(long = "image")]
        name: Option<String>,
    },
    /// Remove an image from the trash, `[pool/]image-id`.
    Rm {
        /// The image id.
        #[command(flatten)]
        image: ImageArgs,
        /// Even before its expiry.
        #[arg(long = "force")]
        force: bool,
        /// No progress bar.
        #[arg(long = "no-progress")]
        no_progress: bool,
    },
}

/// A progress line on stderr, only when stderr is a terminal.
struct Progress {
    what: &'static str,
    total: u64,
    shown: Option<u64>,
    on: bool,
}

impl Progress {
    fn new(what: &'static str, total: u64, disabled: bool) -> Progress {
        Progress {
            what,
            total,
            shown: None,
            on: !disabled && std::io::stderr().is_terminal(),
        }
    }

    fn update(&mut self, done: u64) {
        if !self.on || self.total == 0 {
            return;
        }
        let pct = done.min(self.total) * 100 / self.total;
        if self.shown != Some(pct) {
            self.shown = Some(pct);
            eprint!("\r{}: {pct}% complete...", self.what);
        }
    }

    fn finish(&self) {
        if self.on {
            eprintln!("\r{}: 100% complete...done.", self.what);
        }
    }
}

fn is_zero(d: &[u8]) -> bool {
    d.iter().all(|b| *b == 0)
}

/// `export`: reads ahead a few chunks in parallel, writes them in order;
/// to a file, all-zero blocks become holes.
pub async fn export(rados: &Rados, a: &ExportArgs) -> Result<(), Error> {
    let spec = ImageSpec::parse(&a.image.spec, a.image.pool.as_deref())?;
    let img = open_at_snap(rados, &spec).await?;
    let layout = img.meta().layout;
    let chunk = layout.io_chunk();
    let size = img.size();
    let mut file = if a.path == "-" {
        None
    } else {
        Some(std::fs::File::create(&a.path).map_err(io_err(format!("creating {}", a.path)))?)
    };
    let mut stdout = std::io::stdout().lock();
    let mut progress = Progress::new("Exporting image", size, a.no_progress);
    let img = &img;
    let mut reads = stream::iter((0..size).step_by(chunk as usize))
        .map(|off| async move { img.read(off, chunk).await.map(|d| (off, d)) })
        .buffered(IN_FLIGHT);
    while let Some((off, d)) = reads.try_next().await.map_err(rbd_err)? {
        match &mut file {
            Some(f) => {
                for block in d.chunks(SPARSE_BLOCK) {
                    if is_zero(block) {
                        f.seek(SeekFrom::Current(block.len() as i64))
                            .map_err(io_err("seeking in the output"))?;
                    } else {
                        f.write_all(block).map_err(io_err("writing the output"))?;
                    }
                }
            }
            None => stdout.write_all(&d).map_err(io_err("writing the output"))?,
        }
        progress.update(off + d.len() as u64);
    }
    if let Some(f) = &mut file {
        f.set_len(size).map_err(io_err("sizing the output"))?;
        f.flush().map_err(io_err("writing the output"))?;
    }
    stdout.flush().map_err(io_err("writing the output"))?;
    progress.finish();
    Ok(())
}

/// Fills `buf` from `r` as far as it goes; the bytes read.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads `input` in pieces of `chunk` bytes on a thread of its own (a
/// pipe may block for as long as its writer likes, and the runtime must
/// go on meanwhile), at most two pieces ahead. An empty piece or an error
/// ends it; so does dropping the receiver.
fn spawn_reader(
    mut input: Box<dyn Read + Send>,
    chunk: usize,
) -> tokio::sync::mpsc::Receiver<std::io::Result<Vec<u8>>> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    std::thread::spawn(move || loop {
        let mut buf = vec![0u8; chunk];
        let read = read_full(&mut *input, &mut buf).map(|n| {
            buf.truncate(n);
            buf
        });
        let last = !matches!(&read, Ok(b) if !b.is_empty());
        if tx.blocking_send(read).is_err() || last {
            break;
        }
    });
    rx
}

/// `import`: creates the image and writes the non-zero blocks of the
/// input, several chunks in flight. From standard input the image grows
/// as data comes and is cut to the input's length at the end.
pub async fn import(rados: &Rados, a: &ImportArgs, features: Option<u64>) -> Result<(), Error> {
    let spec = ImageSpec::parse(&a.spec, a.pool.as_deref())?;
    let io = ioctx(rados, &spec.pool, &spec.namespace)?;
    let (input, known_size): (Box<dyn Read + Send>, Option<u64>) = if a.path == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let f = std::fs::File::open(&a.path).map_err(io_err(format!("opening {}", a.path)))?;
        let len = f
            .metadata()
            .map_err(io_err(format!("reading {}", a.path)))?
            .len();
        (Box::new(f), Some(len))
    };
    let mut opts = CreateOptions {
        order: a.order,
        data_pool: data_pool_id(rados, a.data_pool.as_deref())?,
        ..CreateOptions::default()
    };
    if let Some(f) = features {
        opts.features = f;
    }
    const GROW: u64 = 1 << 30;
    let mut size = known_size.unwrap_or(GROW);
    create_image(rados, &io, &spec.image, size, &opts)
        .await
        .map_err(rbd_err)?;
    let mut img = Image::open(rados, &io, &spec.image)
        .await
        .map_err(rbd_err)?;
    let layout = img.meta().layout;
    let chunk = usize::try_from(layout.io_chunk()).unwrap_or(usize::MAX);
    let mut progress = Progress::new("Importing image", known_size.unwrap_or(0), a.no_progress);
    let mut chunks = spawn_reader(input, chunk);
    let result = async {
        let mut off = 0u64;
        let mut in_flight = FuturesUnordered::new();
        loop {
            let buf = match chunks.recv().await {
                Some(read) => read.map_err(io_err(format!("reading {}", a.path)))?,
                None => Vec::new(),
            };
            let n = buf.len();
            if n == 0 {
                break;
            }
            if known_size.is_none() && off + n as u64 > size {
                // Let the writes in flight land, then grow.
                while let Some(r) = in_flight.next().await {
                    r?;
                }
                size = (off + n as u64).max(size + GROW);
                img.resize(size).await.map_err(rbd_err)?;
            }
            let data = Bytes::from(buf);
            let mut at = 0;
            while at < n {
                let end = (at + SPARSE_BLOCK).min(n);
                if is_zero(&data[at..end]) {
                    at = end;
                    continue;
                }
                // Runs of non-zero blocks go in one write.
                let mut run_end = end;
                while run_end < n {
                    let next = (run_end + SPARSE_BLOCK).min(n);
                    if is_zero(&data[run_end..next]) {
                        break;
                    }
                    run_end = next;
                }
                let piece = data.slice(at..run_end);
                // A clone shares the lock and object map, and has the
                // size of the last resize.
                let writer = img.clone();
                let pos = off + at as u64;
                in_flight.push(async move { writer.write(pos, piece).await.map_err(rbd_err) });
                at = run_end;
            }
            while in_flight.len() >= IN_FLIGHT {
                if let Some(r) = in_flight.next().await {
                    r?;
                }
            }
            off += n as u64;
            progress.update(off);
        }
        while let Some(r) = in_flight.next().await {
            r?;
        }
        drop(in_flight);
        if off != size {
            img.resize(off).await.map_err(rbd_err)?;
        }
        Ok::<(), Error>(())
    }
    .await;
    let closed = img.close().await.map_err(rbd_err);
    if let Err(e) = result {
        let _ = ceph_rbd::image::remove_image(rados, &io, &spec.image).await;
        return Err(e);
    }
    closed?;
    progress.finish();
    Ok(())
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.0} {}", UNITS[u])
    }
}

/// `ls [-l] [POOL]`.
pub async fn ls(rados: &Rados, a: &LsArgs, out: &mut dyn Write) -> Result<(), Error> {
    let pool = a.pool.as_deref().or(a.pool_opt.as_deref()).unwrap_or("rbd");
    let (pool, ns) = pool.split_once('/').unwrap_or((pool, ""));
    let io = ioctx(rados, pool, ns)?;
    let images = list_images(&io).await.map_err(rbd_err)?;
    let w = io_err("writing the output");
    if !a.long {
        if a.format.is_json() {
            let names: Vec<&str> = images.iter().map(|(n, _)| n.as_str()).collect();
            writeln!(out, "{}", serde_json::json!(names)).map_err(w)?;
        } else {
            for (n, _) in &images {
                writeln!(out, "{n}").map_err(io_err("writing the output"))?;
            }
        }
        return Ok(());
    }
    let opened: Vec<Option<Image>> = stream::iter(images.iter())
        .map(|(name, id)| {
            let io = &io;
            async move {
                Image::open_id(rados, io, id, Some(name.clone()), ceph_rbd::names::NOSNAP)
                    .await
                    .ok()
            }
        })
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    let mut rows = Vec::new();
    for img in opened.into_iter().flatten() {
        let name = img.name().unwrap_or_default().to_string();
        let m = img.meta();
        let parent = match &m.parent {
            Some(p) => {
                let pool = rados
                    .objecter()
                    .maps()
                    .and_then(|mp| mp.osdmap.pool_name(p.spec.pool_id).map(str::to_string))
                    .unwrap_or_else(|| p.spec.pool_id.to_string());
                let mut pio = ioctx(rados, &pool, &p.spec.pool_namespace)?;
                pio.set_namespace(&p.spec.pool_namespace);
                let pname = ceph_rbd::image::image_name(&pio, &p.spec.image_id)
                    .await
                    .unwrap_or_else(|_| p.spec.image_id.clone());
                let snap = match Image::open_id(
                    rados,
                    &pio,
                    &p.spec.image_id,
                    None,
                    ceph_rbd::names::NOSNAP,
                )
                .await
                {
                    Ok(pi) => pi
                        .meta()
                        .snaps
                        .iter()
                        .find(|s| s.id == p.spec.snap_id)
                        .map(|s| s.name.clone())
                        .unwrap_or_default(),
                    Err(_) => String::new(),
                };
                Some(
                    serde_json::json!({"pool": pool, "pool_namespace": p.spec.pool_namespace,
                    "image": pname, "snapshot": snap}),
                )
            }
            None => None,
        };
        let mut row =
            serde_json::json!({"image": name, "id": img.id(), "size": img.size(), "format": 2});
        if let Some(p) = &parent {
            row["parent"] = p.clone();
        }
        rows.push(row);
        for s in m.snaps.iter().filter(|s| s.is_user()) {
            rows.push(
                serde_json::json!({"image": name, "id": img.id(), "snapshot": s.name,
                "snapshot_id": s.id, "size": s.size, "format": 2,
                "protected": if s.is_protected() {"true"} else {"false"}}),
            );
        }
    }
    if a.format.is_json() {
        writeln!(out, "{}", serde_json::Value::Array(rows)).map_err(w)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<40} {:>10} {:<40} {:>3} {:>4}",
        "NAME", "SIZE", "PARENT", "FMT", "PROT"
    )
    .map_err(w)?;
    for r in rows {
        let name = match r["snapshot"].as_str() {
            Some(s) => format!("{}@{s}", r["image"].as_str().unwrap_or_default()),
            None => r["image"].as_str().unwrap_or_default().to_string(),
        };
        let parent = r
            .get("parent")
            .map(|p| {
                format!(
                    "{}/{}@{}",
                    p["pool"].as_str().unwrap_or_default(),
                    p["image"].as_str().unwrap_or_default(),
                    p["snapshot"].as_str().unwrap_or_default()
                )
            })
            .unwrap_or_default();
        let prot = if r["protected"] == "true" { "yes" } else { "" };
        writeln!(
            out,
            "{:<40} {:>10} {:<40} {:>3} {:>4}",
            name,
            human(r["size"].as_u64().unwrap_or(0)),
            parent,
            2,
            prot
        )
        .map_err(io_err("writing the output"))?;
    }
    Ok(())
}

/// `du SPEC`.
pub async fn du(rados: &Rados, a: &ImageArgs, out: &mut dyn Write) -> Result<(), Error> {
    let spec = ImageSpec::parse(&a.spec, a.pool.as_deref())?;
    let img = open_at_snap(rados, &spec).await?;
    let used = img.used_bytes().await.map_err(rbd_err)?;
    let w = io_err("writing the output");
    if a.format.is_json() {
        let v = serde_json::json!({
            "images": [{"name": spec.image, "id": img.id(), "provisioned_size": img.size(), "used_size": used}],
            "total_provisioned_size": img.size(), "total_used_size": used,
        });
        writeln!(out, "{v}").map_err(w)?;
    } else {
        writeln!(out, "NAME PROVISIONED USED").map_err(w)?;
        writeln!(out, "{} {} {}", spec.image, human(img.size()), human(used))
            .map_err(io_err("writing the output"))?;
    }
    Ok(())
}

/// `resize --size S [--allow-shrink] SPEC`.
pub async fn resize(rados: &Rados, a: &ResizeArgs, size: u64) -> Result<(), Error> {
    let spec = ImageSpec::parse(&a.image.spec, a.image.pool.as_deref())?;
    let io = ioctx(rados, &spec.pool, &spec.namespace)?;
    let mut img = Image::open(rados, &io, &spec.image)
        .await
        .map_err(rbd_err)?;
    if size < img.size() && !a.allow_shrink {
        return Err(Error::Input(
            "shrinking an image is only allowed with the --allow-shrink flag".into(),
        ));
    }
    let r = img.resize(size).await.map_err(rbd_err);
    let closed = img.close().await.map_err(rbd_err);
    r?;
    closed
}

/// `N [s|seconds|m|minutes|h|hours|d|days]`.
fn parse_delay(s: &str) -> Result<Duration, Error> {
    let bad = || {
        Error::Input(format!(
            "{s}: not a delay (like `3600`, `2 hours`, `1 day`)"
        ))
    };
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..split].trim().parse().map_err(|_| bad())?;
    let mult = match s[split..].trim().trim_end_matches('s') {
        "" | "sec" | "second" => 1,
        "m" | "min" | "minute" => 60,
        "h" | "hour" => 3600,
        "d" | "day" => 86400,
        "w" | "week" => 7 * 86400,
        _ => return Err(bad()),
    };
    Ok(Duration::from_secs(n.checked_mul(mult).ok_or_else(bad)?))
}

/// `trash ...`.
pub async fn trash(rados: &Rados, t: &TrashAction, out: &mut dyn Write) -> Result<(), Error> {
    let w = io_err("writing the output");
    match t {
        TrashAction::Mv { image, expires_at } => {
            let spec = ImageSpec::parse(&image.spec, image.pool.as_deref())?;
            let delay = match expires_at {
                Some(e) => parse_delay(e)?,
                None => Duration::ZERO,
            };
            let io = ioctx(rados, &spec.pool, &spec.namespace)?;
            trash_move(rados, &io, &spec.image, delay)
                .await
                .map_err(rbd_err)?;
        }
        TrashAction::Ls { pool, format } => {
            let pool = pool.as_deref().unwrap_or("rbd");
            let (pool, ns) = pool.split_once('/').unwrap_or((pool, ""));
            let io = ioctx(rados, pool, ns)?;
            let entries = trash_list(&io).await.map_err(rbd_err)?;
            if format.is_json() {
                let v: Vec<_> = entries
                    .iter()
                    .map(|e| serde_json::json!({"id": e.id, "name": e.spec.name}))
                    .collect();
                writeln!(out, "{}", serde_json::Value::Array(v)).map_err(w)?;
            } else {
                for e in entries {
                    writeln!(out, "{} {}", e.id, e.spec.name)
                        .map_err(io_err("writing the output"))?;
                }
            }
        }
        TrashAction::Restore { image, name } => {
            let spec = ImageSpec::parse(&image.spec, image.pool.as_deref())?;
            let io = ioctx(rados, &spec.pool, &spec.namespace)?;
            trash_restore(&io, &spec.image, name.as_deref())
                .await
                .map_err(rbd_err)?;
        }
        TrashAction::Rm { image, force, .. } => {
            let spec = ImageSpec::parse(&image.spec, image.pool.as_deref())?;
            let io = ioctx(rados, &spec.pool, &spec.namespace)?;
            trash_remove(rados, &io, &spec.image, *force)
                .await
                .map_err(rbd_err)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_and_sizes() {
        assert_eq!(parse_delay("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_delay("2 hours").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_delay("1 day").unwrap(), Duration::from_secs(86400));
        assert!(parse_delay("soon").is_err());
        assert_eq!(human(512), "512 B");
        assert_eq!(human(8 << 20), "8 MiB");
    }
}
