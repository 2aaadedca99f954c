//! The Objecter: operations on objects, sent to the right OSD and sent
//! again when the map changes, a session fails or the OSD redirects.
//!
//! A sans-IO core ([`ObjecterCore`], `core.rs`) holds the OSD map, the
//! state of each OSD session and the operations in flight; a thin tokio
//! driver (`task.rs`) does its IO and sleeps until its next deadline;
//! [`Objecter`] is the handle on the driver.
//!
//! The parts: the request types (`request.rs`); the core (`core.rs`),
//! each op's target (`target.rs`), sending and resending
//! (`dispatch.rs`), OSD replies (`replies.rs`), map messages
//! (`map_update.rs`), watches (`watches.rs`, `linger_state.rs`) and
//! backoffs (`backoffs.rs`); the driver (`task.rs`, `timer.rs`) and the
//! watch/notify API (`lingers.rs`).

mod backoffs;
mod core;
#[cfg(test)]
mod core_tests;
mod dispatch;
#[cfg(any(fuzzing, test, feature = "fuzzing"))]
pub mod fuzzing;
mod linger_state;
mod lingers;
mod map_update;
mod replies;
mod request;
mod target;
mod task;
mod timer;
mod watches;

pub use self::core::{Action, ObjecterCore};
pub use linger_state::WatchEvent;
pub use lingers::WatchRegistration;
pub use request::{Maps, ObjecterOptions, OpReply, OpRequest, SnapContext};
pub use task::Objecter;
