//! Client configuration the way Ceph's tools read it: ceph.conf, keyrings,
//! `mon_host`, and the options that matter to a client.

pub mod ceph_args;
pub mod ini;
pub mod mon_host;
pub mod settings;

pub use ceph_args::CephArgs;
pub use ceph_common::ini::normalize_name;
pub use ini::ConfFile;
pub use mon_host::{parse_mon_host, MonAddrs, MonEndpoint, Protocol, MON_PORT_V1, MON_PORT_V2};
pub use settings::{parse_modes, ClientArgs, ClientSettings, Timeouts, MODE_CRC, MODE_SECURE};
