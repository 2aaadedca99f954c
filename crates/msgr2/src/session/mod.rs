//! The session layer of msgr2.1 on the client side, sans-IO: the
//! handshake (banner, HELLO, authentication, signatures, identification or
//! reconnection) and the exchange of messages with sequence numbers,
//! acknowledgements and keepalives. A transport feeds it bytes and sends
//! the bytes it produces.

pub mod auth;
pub mod client;
pub mod control;
pub mod header;
pub mod message;

#[cfg(test)]
mod tests;

pub use auth::{AuthKeys, AuthProvider};
pub use client::{ClientConfig, ClientSession, Event, SessionInfo};
pub use header::MsgHeader2;
pub use message::Message;

/// A readable form of a negative errno from a peer.
pub fn errno_text(result: i32) -> String {
    let name = match -result {
        1 => "EPERM (operation not permitted)",
        2 => "ENOENT (no such entity)",
        13 => "EACCES (permission denied: wrong key or unknown entity)",
        22 => "EINVAL (invalid argument)",
        95 => "EOPNOTSUPP (method not supported)",
        110 => "ETIMEDOUT",
        _ => "error",
    };
    format!("{result} {name}")
}
