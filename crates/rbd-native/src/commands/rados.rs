//! `rbd-native rados -p POOL put|get|stat|rm|ls|setxattr|getxattr|listomapvals|bench|cleanup`,
//! with the `rados` tool's syntax and output (`bench` and `cleanup`:
//! [`super::rados_bench`]).

use std::io::{Read, Write};

use bytes::Bytes;
use ceph_rados::config::ClientSettings;
use ceph_rados::Rados;
use clap::{Args, Subcommand};

use super::rados_bench::{self, BenchArgs, CleanupArgs};
use crate::error::Error;
use crate::global::GlobalArgs;

/// Arguments of `rados`.
#[derive(Args, Debug)]
pub struct RadosArgs {
    /// The pool.
    #[arg(short = 'p', long = "pool")]
    pub pool: String,
    /// The namespace.
    #[arg(short = 'N', long = "namespace", default_value = "")]
    pub namespace: String,
    /// What to do.
    #[command(subcommand)]
    pub action: RadosAction,
}

/// The `rados` actions.
#[derive(Subcommand, Debug)]
pub enum RadosAction {
    /// Write an object from a file (`-` for standard input).
    Put {
        /// The object.
        object: String,
        /// The file.
        file: String,
    },
    /// Read an object into a file (`-` for standard output).
    Get {
        /// The object.
        object: String,
        /// The file.
        file: String,
    },
    /// Size and modification time.
    Stat {
        /// The object.
        object: String,
    },
    /// Remove objects.
    Rm {
        /// The objects.
        #[arg(required = true)]
        objects: Vec<String>,
    },
    /// List the pool's objects.
    Ls {
        /// Every namespace (printed before the name, tab-separated).
        #[arg(long = "all")]
        all: bool,
    },
    /// Set an extended attribute.
    Setxattr {
        /// The object.
        object: String,
        /// The attribute.
        #[arg(value_name = "NAME")]
        attr: String,
        /// The value.
        value: String,
    },
    /// Print an extended attribute.
    Getxattr {
        /// The object.
        object: String,
        /// The attribute.
        #[arg(value_name = "NAME")]
        attr: String,
    },
    /// Print the omap keys and values.
    Listomapvals {
        /// The object.
        object: String,
    },
    /// Keep operations in flight for some seconds and print the figures,
    /// as `rados bench` does.
    Bench(BenchArgs),
    /// Remove the objects a bench run left.
    Cleanup(CleanupArgs),
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { context, source }
}

/// Ceph's hexdump of a value, as `rados listomapvals` prints it.
pub fn hexdump(data: &[u8]) -> String {
    let mut out = String::new();
    for (i, chunk) in data.chunks(16).enumerate() {
        out.push_str(&format!("{:08x} ", i * 16));
        for j in 0..16 {
            if j == 8 {
                out.push(' ');
            }
            match chunk.get(j) {
                Some(b) => out.push_str(&format!(" {b:02x}")),
                None => out.push_str("   "),
            }
        }
        out.push_str("  |");
        for b in chunk {
            out.push(if (0x20..0x7f).contains(b) {
                *b as char
            } else {
                '.'
            });
        }
        out.push_str("|\n");
    }
    out.push_str(&format!("{:08x}\n", data.len()));
    out
}

/// Runs the action.
pub async fn run(global: &GlobalArgs, args: &RadosArgs) -> Result<i32, Error> {
    let settings = ClientSettings::resolve(&global.client_args())?;
    let rados = Rados::connect(&settings).await?;
    let mut io_ctx = rados.ioctx(&args.pool)?;
    io_ctx.set_namespace(&args.namespace);
    let mut stdout = std::io::stdout().lock();
    match &args.action {
        RadosAction::Put { object, file } => {
            let mut data = Vec::new();
            if file == "-" {
                std::io::stdin()
                    .read_to_end(&mut data)
                    .map_err(io("reading standard input".into()))?;
            } else {
                data = std::fs::read(file).map_err(io(format!("reading {file}")))?;
            }
            io_ctx.write_full(object, Bytes::from(data)).await?;
        }
        RadosAction::Get { object, file } => {
            let data = io_ctx.read_full(object).await?;
            if file == "-" {
                stdout
                    .write_all(&data)
                    .map_err(io("writing standard output".into()))?;
            } else {
                std::fs::write(file, &data).map_err(io(format!("writing {file}")))?;
            }
        }
        RadosAction::Stat { object } => {
            let (size, mtime) = io_ctx.stat(object).await?;
            // Whole seconds, as `rados stat` prints them.
            let t = time_text(mtime.sec, 0);
            let _ = writeln!(stdout, "{}/{object} mtime {t}, size {size}", args.pool);
        }
        RadosAction::Rm { objects } => {
            for o in objects {
                io_ctx.remove(o).await?;
            }
        }
        RadosAction::Ls { all } => {
            let mut entries = io_ctx.list_objects(*all).await?;
            entries.sort();
            for e in entries {
                if *all {
                    let _ = writeln!(stdout, "{}\t{}", e.nspace, e.oid);
                } else {
                    let _ = writeln!(stdout, "{}", e.oid);
                }
            }
        }
        RadosAction::Setxattr {
            object,
            attr,
            value,
        } => {
            io_ctx.set_xattr(object, attr, value.as_bytes()).await?;
        }
        RadosAction::Getxattr { object, attr } => {
            let v = io_ctx.get_xattr(object, attr).await?;
            let _ = stdout.write_all(&v);
        }
        RadosAction::Listomapvals { object } => {
            for (k, v) in io_ctx.omap_get_all(object).await? {
                let _ = write!(
                    stdout,
                    "{k}\nvalue ({} bytes) :\n{}\n",
                    v.len(),
                    hexdump(&v)
                );
            }
        }
        RadosAction::Bench(bench) => {
            drop(stdout);
            return rados_bench::bench(&io_ctx, bench).await;
        }
        RadosAction::Cleanup(cleanup) => {
            drop(stdout);
            return rados_bench::cleanup(&io_ctx, cleanup).await;
        }
    }
    let _ = stdout.flush();
    Ok(0)
}

/// `2026-11-25T12:00:00.000000+0000` for a UTC time stamp.
fn time_text(sec: u32, nsec: u32) -> String {
    let days = i64::from(sec) / 86_400;
    let rem = i64::from(sec) % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}+0000",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        nsec / 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_dumps() {
        assert_eq!(time_text(0, 0), "1970-01-01T00:00:00.000000+0000");
        assert_eq!(
            time_text(1_764_072_000, 5_000),
            "2025-11-25T12:00:00.000005+0000"
        );
        assert_eq!(
            hexdump(b"v1"),
            "00000000  76 31                                             |v1|\n00000002\n"
        );
    }
}
