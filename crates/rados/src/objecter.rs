//! The Objecter: operations on objects, sent to the right OSD and sent
//! again when the map changes, a session fails or the OSD redirects.
//!
//! A background task holds the OSD map, the sessions and the operations
//! in flight; [`Objecter`] is a handle on it.
//!
//! This file only declares the parts: the request types (`request.rs`),
//! the task and its handle (`task.rs`), the watches' state
//! (`linger_state.rs`) and the code of watches and backoffs (`lingers.rs`,
//! `backoffs.rs`).

mod backoffs;
mod linger_state;
mod lingers;
mod request;
mod task;

pub use linger_state::WatchEvent;
pub use lingers::WatchRegistration;
pub use request::{Maps, ObjecterOptions, OpReply, OpRequest, SnapContext};
pub use task::Objecter;
