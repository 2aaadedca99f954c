//! The monitor client and the messages it exchanges.

pub mod client;
pub mod messages;

pub use client::{CommandReply, MapUpdate, MonClient, MonClientOptions, PoolOpResult};
