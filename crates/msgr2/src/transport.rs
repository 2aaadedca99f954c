//! The thin tokio layer: a TCP socket driven by a [`ClientSession`].

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use std::io::IoSlice;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::debug;

use crate::error::{Error, Result};
use crate::session::{AuthProvider, ClientSession, Event, Message, SessionInfo};

/// A connection to one peer: the socket and the session on it.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    session: ClientSession,
    events: VecDeque<Event>,
    addr: SocketAddr,
    info: Option<SessionInfo>,
}

/// Room made for each read (more while a large frame arrives).
const READ_SIZE: usize = 64 * 1024;

impl Connection {
    /// Connects to `addr` and runs the handshake of `session`, all within
    /// `timeout`. Returns once the session is ready.
    pub async fn connect(
        addr: SocketAddr,
        session: ClientSession,
        timeout: Duration,
    ) -> Result<Connection> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| Error::Timeout(format!("connecting to {addr}")))?
            .map_err(|e| Error::io(format!("connecting to {addr}"), &e))?;
        let _ = stream.set_nodelay(true);
        let mut conn = Connection {
            stream,
            session,
            events: VecDeque::new(),
            addr,
            info: None,
        };
        conn.session.start();
        tokio::time::timeout(timeout, conn.handshake())
            .await
            .map_err(|_| {
                Error::Timeout(format!(
                    "handshake with {addr} ({})",
                    conn.session.state_name()
                ))
            })??;
        Ok(conn)
    }

    /// Reconnects the same session on a new socket (with a new
    /// authentication), resuming it or starting a new one, and sends again
    /// what the peer had not acknowledged.
    pub async fn reconnect(
        &mut self,
        auth: Box<dyn AuthProvider>,
        timeout: Duration,
    ) -> Result<()> {
        let addr = self.addr;
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| Error::Timeout(format!("connecting to {addr}")))?
            .map_err(|e| Error::io(format!("connecting to {addr}"), &e))?;
        let _ = stream.set_nodelay(true);
        self.stream = stream;
        self.info = None;
        self.session.restart(auth);
        tokio::time::timeout(timeout, self.handshake())
            .await
            .map_err(|_| Error::Timeout(format!("handshake with {addr}")))?
    }

    async fn handshake(&mut self) -> Result<()> {
        while self.info.is_none() {
            self.pump().await?;
        }
        Ok(())
    }

    /// What the handshake learned.
    pub fn info(&self) -> Option<&SessionInfo> {
        self.info.as_ref()
    }

    /// The peer's socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The session (for its counters).
    pub fn session(&self) -> &ClientSession {
        &self.session
    }

    /// Writes everything the session has queued.
    pub async fn flush(&mut self) -> Result<()> {
        while self.session.has_output() {
            let mut parts = self.session.take_output_parts();
            write_parts(&mut self.stream, &mut parts)
                .await
                .map_err(|e| Error::io(format!("writing to {}", self.addr), &e))?;
        }
        Ok(())
    }

    /// Reads once and queues the events. Cancel-safe: nothing is lost if
    /// the future is dropped before it completes.
    async fn read_once(&mut self) -> Result<()> {
        let buf = self.session.receive_buffer(READ_SIZE);
        let n = self
            .stream
            .read_buf(buf)
            .await
            .map_err(|e| Error::io(format!("reading from {}", self.addr), &e))?;
        if n == 0 {
            return Err(Error::Closed(format!(
                "{} closed the connection while {}",
                self.addr,
                self.session.state_name()
            )));
        }
        let events = self.session.process_received()?;
        for e in events {
            if let Event::Ready(info) = &e {
                debug!(peer = %self.addr, mode = info.con_mode, global_id = info.global_id, "session ready");
                self.info = Some(info.clone());
            }
            self.events.push_back(e);
        }
        Ok(())
    }

    async fn pump(&mut self) -> Result<()> {
        self.flush().await?;
        self.read_once().await?;
        self.flush().await
    }

    /// Queues a message; it is written by the next [`Connection::flush`].
    pub fn queue(&mut self, msg: Message) -> Result<()> {
        self.session.send(msg)
    }

    /// Sends a message and writes it out.
    pub async fn send(&mut self, msg: Message) -> Result<()> {
        self.session.send(msg)?;
        self.flush().await
    }

    /// Queues a keepalive with the current time (written by the next flush).
    pub fn queue_keepalive(&mut self) -> Result<()> {
        if let Some(now) = ceph_encoding::UTime::now() {
            self.session.keepalive(now)?;
        }
        Ok(())
    }

    /// An event already read, if any (it does not read).
    pub fn queued_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next event. Cancel-safe (it only reads); replies the session
    /// owes the peer (acks) are written by the next [`Connection::flush`].
    pub async fn next_event(&mut self) -> Result<Event> {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Ok(e);
            }
            self.read_once().await?;
        }
    }
}

/// Writes `parts` in order, as many at once as the socket takes.
async fn write_parts(stream: &mut TcpStream, parts: &mut VecDeque<Bytes>) -> std::io::Result<()> {
    /// Parts handed to one write (the kernel's limit is 1024).
    const MAX_IOV: usize = 64;
    while !parts.is_empty() {
        let slices: Vec<IoSlice<'_>> = parts
            .iter()
            .take(MAX_IOV)
            .map(|p| IoSlice::new(p))
            .collect();
        let mut n = stream.write_vectored(&slices).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while n > 0 {
            let Some(first) = parts.front_mut() else {
                break;
            };
            if n < first.len() {
                first.advance(n);
                n = 0;
            } else {
                n -= first.len();
                parts.pop_front();
            }
        }
    }
    Ok(())
}
