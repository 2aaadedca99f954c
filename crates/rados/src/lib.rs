//! A RADOS client, without librados.
//!
//! - [`config`]: client configuration as Ceph's tools read it (ceph.conf,
//!   keyrings, `mon_host`, `--name`, messenger modes): [`config::ClientSettings`];
//! - [`mon`]: the monitor client (hunting, cephx authentication, map
//!   subscriptions, commands, pool and snapshot-id operations, ticket
//!   renewal), and [`monmap`]: the monitor map;
//! - [`auth`]: cephx behind the messenger's authentication hook, for
//!   monitors and for OSDs;
//! - [`osdmap`]: the OSD map and its incrementals, [`crush`]: the CRUSH map
//!   and mapper, and [`placement`]: objects to PGs to OSDs as Ceph computes
//!   them;
//! - [`osd`]: the operations, messages and sessions of OSDs (ops and their
//!   replies, listing, watch/notify, backoffs);
//! - [`objecter`]: operations sent to the right OSD and sent again when the
//!   map changes, a session fails or an OSD redirects, with watches kept
//!   across resets;
//! - [`ioctx`]: the librados-like API, [`Rados`] and [`IoCtx`];
//! - [`error`]: the crate's [`RadosError`].

pub mod auth;
pub mod config;
pub mod crush;
pub mod error;
pub mod ioctx;
pub mod mon;
pub mod monmap;
pub mod objecter;
pub mod osd;
pub mod osdmap;
pub mod placement;

pub use error::{RadosError, Result};
pub use ioctx::{IoCtx, Rados, SnapIdGrant};
