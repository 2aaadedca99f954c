//! `rbd-native`: upload a Cinder volume kept in Ceph RBD to a Glance image,
//! and the Ceph tools it rests on, without librados or librbd. A thin
//! command line over the library crates: `rbd-upload` (the upload),
//! `ceph-rbd`, `ceph-rados`.

mod cli;
mod commands;
mod error;
mod format;
mod global;

use clap::Parser;

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn main() {
    let cli = cli::Cli::parse();
    init_logging(cli.global.verbose);
    // One thread: the client waits on sockets far more than it computes,
    // and tasks handing each op along on one thread need no cross-thread
    // wake-ups (futexes, IPIs) that a small host pays for in CPU.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rbd-native: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match runtime.block_on(cli.run()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rbd-native: {e}");
            if let Some(hint) = e.hint() {
                eprintln!("rbd-native: hint: {hint}");
            }
            e.exit_status()
        }
    };
    // Do not wait for background tasks (monitor sessions) to wind down.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    std::process::exit(code);
}
