//! A RADOS client.
//!
//! What is here: client configuration ([`config`]). To come: the monitor
//! client (hunting, subscriptions, mon commands, pool operations), the
//! OSDMap with its incrementals, CRUSH and PG placement, and the Objecter
//! that sends operations to OSDs and resends them when the map changes.

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
