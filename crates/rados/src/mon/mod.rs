//! The monitor client and the messages it exchanges: [`core`] is the
//! client's logic without I/O, [`client`] the tokio driver and the handle.

pub mod client;
pub mod core;
#[cfg(any(fuzzing, test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod hunt;
pub mod messages;
pub mod pending;
pub mod types;

pub use client::MonClient;
pub use types::{CommandReply, MapUpdate, MonClientOptions, MonReply, PoolOpResult};
