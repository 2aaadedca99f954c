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

pub use auth::{AuthFailure, AuthKeys, AuthProvider};
pub use client::{ClientConfig, ClientSession, Event, SessionInfo};
pub use header::MsgHeader2;
pub use message::Message;
