//! Talking to OSDs: operations, the MOSDOp/MOSDOpReply messages and the
//! types they carry.

pub mod backoff;
#[cfg(any(fuzzing, test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod hash;
pub mod listing;
pub mod messages;
pub mod op;
pub mod session;
pub mod types;
pub mod watch;

pub use messages::{MOsdOp, MOsdOpReply, NOSNAP};
pub use op::{OpResult, OsdOp};
pub use types::{ObjectLocator, PgId, SPgId};
