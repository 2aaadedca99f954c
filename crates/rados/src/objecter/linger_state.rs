//! What the objecter keeps of a watch, and what a watch hears.

use bytes::Bytes;

use super::request::OpRequest;
use super::target::OpTarget;

/// Something that happened to a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// A notification: answer it with [`WatchRegistration::ack`](super::WatchRegistration::ack).
    Notify {
        /// The notification's id.
        notify_id: u64,
        /// The notifier's global id.
        notifier_gid: u64,
        /// What it says.
        payload: Bytes,
    },
    /// The watch was lost for a while (notifications may have been
    /// missed); the objecter registers it again by itself unless the
    /// error says the object is gone.
    Error {
        /// The negative errno.
        errno: i32,
    },
}

/// A watch the core keeps registered.
#[derive(Debug)]
pub(super) struct Linger {
    pub(super) target: OpRequest,
    /// The OSD and session incarnation it is registered with.
    pub(super) attached: Option<(i32, u64)>,
    /// Where it was registered (to tell, when a map arrives, whether its
    /// PG changed).
    pub(super) placed: Option<OpTarget>,
    /// Registration generation (reconnects count up).
    pub(super) gen: u32,
    /// One of our own ops for it is in flight.
    pub(super) busy: bool,
    /// Given up (the object is gone).
    pub(super) dead: bool,
}
