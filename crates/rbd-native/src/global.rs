//! The options shared by every command, in the style of the `rbd` and
//! `ceph` tools, and the `CEPH_ARGS` they may come from.

use std::path::PathBuf;
use std::time::Duration;

use ceph_rados::config::ClientArgs;
use clap::Args;

/// Options shared by every command (as the `rbd` tool has them).
#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// The ceph.conf to read (default: $CEPH_CONF, /etc/ceph/$cluster.conf).
    #[arg(short = 'c', long = "conf", global = true, value_name = "PATH")]
    pub conf: Option<PathBuf>,
    /// The cluster name, for default paths.
    #[arg(long = "cluster", global = true, value_name = "NAME")]
    pub cluster: Option<String>,
    /// The user id, without the "client." prefix.
    #[arg(long = "id", alias = "user", global = true, value_name = "ID")]
    pub id: Option<String>,
    /// The entity name, such as client.admin (before the command: after
    /// `upload`, `--name` is the image's name; `--id` works everywhere).
    #[arg(short = 'n', long = "name", value_name = "TYPE.ID")]
    pub name: Option<String>,
    /// The keyring to read the key from.
    #[arg(short = 'k', long = "keyring", global = true, value_name = "PATH")]
    pub keyring: Option<PathBuf>,
    /// A file holding the key alone, in base64 (as `ceph auth get-key` prints it).
    #[arg(long = "keyfile", global = true, value_name = "PATH")]
    pub keyfile: Option<PathBuf>,
    /// Monitor addresses, overriding ceph.conf's mon_host.
    #[arg(short = 'm', long = "mon-host", global = true, value_name = "ADDRS")]
    pub mon_host: Option<String>,
    /// Messenger mode for every connection: crc, secure, prefer-crc, prefer-secure.
    #[arg(long = "ms-mode", global = true, value_name = "MODE")]
    pub ms_mode: Option<String>,
    /// Seconds to look for a monitor before giving up (default: client_mount_timeout, 300).
    #[arg(long = "connect-timeout", global = true, value_name = "SECONDS")]
    pub connect_timeout: Option<f64>,
    /// More logging (-v info, -vv debug, -vvv trace); RUST_LOG also works.
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl GlobalArgs {
    /// The client settings these options ask for.
    pub fn client_args(&self) -> ClientArgs {
        ClientArgs {
            conf: self.conf.clone(),
            cluster: self.cluster.clone(),
            name: self
                .name
                .clone()
                .or_else(|| self.id.as_ref().map(|i| format!("client.{i}"))),
            keyring: self.keyring.clone(),
            keyfile: self.keyfile.clone(),
            mon_host: self.mon_host.clone(),
            ms_mode: self.ms_mode.clone(),
            connect_timeout: self
                .connect_timeout
                .filter(|t| t.is_finite() && *t > 0.0)
                .map(Duration::from_secs_f64),
        }
    }
}
