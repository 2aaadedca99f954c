//! The Ceph messenger v2.1 protocol, client side.
//!
//! This crate will hold a sans-IO core (banner, frames and the connection
//! state machine, in crc and secure modes) and a thin tokio transport that
//! owns the socket.
