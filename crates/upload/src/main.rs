//! `rbd-native`: upload a Cinder volume kept in Ceph RBD to a Glance image.
//!
//! The commands arrive layer by layer; until then the binary answers
//! `--help` and `--version` only.

use clap::Parser;

/// Command line of `rbd-native`.
#[derive(Parser, Debug)]
#[command(name = "rbd-native", version, about, long_about = None)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    eprintln!("rbd-native: no command given; see `rbd-native --help`");
    std::process::exit(2);
}
