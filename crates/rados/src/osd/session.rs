//! A session with one OSD: a task that owns the connection, sends what it
//! is given and hands every reply (and its own failure) to the objecter.

use std::time::Duration;

use ceph_cephx::{SharedClient, SERVICE_OSD};
use ceph_encoding::{EntityAddr, EntityType};
use ceph_msgr2::session::auth::NoneAuth;
use ceph_msgr2::session::{AuthProvider, ClientConfig, ClientSession, Event, Message};
use ceph_msgr2::Connection;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::auth::ServiceHandshake;
use crate::error::{RadosError, Result};

/// What a session reports.
#[derive(Debug)]
pub enum SessionEvent {
    /// A message from the OSD.
    Message {
        /// The OSD's id.
        osd: i32,
        /// Which incarnation of the session (to drop stale events).
        incarnation: u64,
        /// The message.
        msg: Message,
    },
    /// The connection failed; messages without a reply are lost.
    Failed {
        /// The OSD's id.
        osd: i32,
        /// Which incarnation of the session.
        incarnation: u64,
        /// Why.
        error: String,
    },
}

/// How to reach and authenticate to OSDs.
#[derive(Debug, Clone)]
pub struct SessionParams {
    /// The cephx client (tickets), or `None` for auth "none".
    pub cephx: Option<SharedClient>,
    /// Our name (for auth "none").
    pub name: ceph_encoding::EntityName,
    /// Our global id.
    pub global_id: u64,
    /// Modes in order of preference.
    pub modes: Vec<u32>,
    /// Our nonce.
    pub nonce: u32,
    /// Time allowed to connect and authenticate.
    pub connect_timeout: Duration,
}

/// A handle on one OSD session's task.
#[derive(Debug)]
pub struct OsdSession {
    /// The OSD's id.
    pub osd: i32,
    /// The address it was opened to.
    pub addr: EntityAddr,
    /// Which incarnation this is.
    pub incarnation: u64,
    tx: mpsc::UnboundedSender<Message>,
}

impl OsdSession {
    /// Connects to `osd` at `addr` and starts the session's task; events
    /// go to `events`.
    pub async fn open(
        osd: i32,
        addr: EntityAddr,
        incarnation: u64,
        params: &SessionParams,
        events: mpsc::UnboundedSender<SessionEvent>,
    ) -> Result<OsdSession> {
        let auth: Box<dyn AuthProvider> = match &params.cephx {
            Some(c) => Box::new(ServiceHandshake::new(c, SERVICE_OSD)?),
            None => Box::new(NoneAuth::for_service(&params.name, params.global_id)),
        };
        let config = ClientConfig {
            peer_type: EntityType::OSD,
            peer_addr: addr,
            nonce: params.nonce,
            modes: params.modes.clone(),
            supported_features: ceph_encoding::features::CEPH_FEATURES_SUPPORTED_DEFAULT,
            required_features: 0,
            global_id: params.global_id,
        };
        let sa = addr.socket_addr().ok_or_else(|| RadosError::OsdAddress {
            osd,
            addr: addr.to_string(),
        })?;
        let session = ClientSession::new(config, auth, ceph_cephx::client::random_u64());
        let conn = Connection::connect(sa, session, params.connect_timeout).await?;
        debug!(osd, %addr, "OSD session open");
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(osd, incarnation, conn, rx, events));
        Ok(OsdSession {
            osd,
            addr,
            incarnation,
            tx,
        })
    }

    /// Sends a message; false if the session's task has ended.
    pub fn send(&self, msg: Message) -> bool {
        self.tx.send(msg).is_ok()
    }

    /// Whether the session's task still runs.
    pub fn is_open(&self) -> bool {
        !self.tx.is_closed()
    }
}

/// The session's task: sends what the objecter gives it, hands it every
/// message, and reports its own failure.
///
/// Writes are batched: after a step it hands over every message already
/// read and lets the runtime run what that sets going (replies turning
/// into new requests), takes every message queued for it, and writes them
/// all at once, with the acknowledgement riding in their headers.
async fn run(
    osd: i32,
    incarnation: u64,
    mut conn: Connection,
    mut rx: mpsc::UnboundedReceiver<Message>,
    events: mpsc::UnboundedSender<SessionEvent>,
) {
    enum Step {
        Send(Option<Message>),
        Event(std::result::Result<Event, ceph_msgr2::Error>),
    }
    // Hands `event` to the objecter; false once nobody listens.
    let deliver = |event: Event| match event {
        Event::Message(msg) => events
            .send(SessionEvent::Message {
                osd,
                incarnation,
                msg,
            })
            .is_ok(),
        _ => true,
    };
    loop {
        let step = tokio::select! {
            m = rx.recv() => Step::Send(m),
            e = conn.next_event() => Step::Event(e),
        };
        let delivered = matches!(step, Step::Event(Ok(_)));
        let mut result = match step {
            Step::Send(None) => return,
            Step::Send(Some(m)) => conn.queue(m).map_err(|e| e.to_string()),
            Step::Event(Ok(event)) => {
                if !deliver(event) {
                    return;
                }
                Ok(())
            }
            Step::Event(Err(e)) => Err(e.to_string()),
        };
        if result.is_ok() {
            while let Some(event) = conn.queued_event() {
                if !deliver(event) {
                    return;
                }
            }
            // Replies handed over: let the objecter and its callers run
            // (until nothing else is ready) before reading on. Their new
            // requests then go out together below, and replies are
            // consumed, their buffers freed, before more are read: a
            // session that read on while the socket has data would hold
            // every large reply in flight at once. A message to send needs
            // no yield: it wakes this task only once the objecter has
            // queued all it had, and `try_recv` below takes them all.
            if delivered {
                tokio::task::yield_now().await;
            }
        }
        while result.is_ok() {
            match rx.try_recv() {
                Ok(m) => result = conn.queue(m).map_err(|e| e.to_string()),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => return,
            }
        }
        let result = match result {
            Ok(()) => conn.flush().await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        if let Err(error) = result {
            warn!(osd, "OSD session failed: {error}");
            let _ = events.send(SessionEvent::Failed {
                osd,
                incarnation,
                error,
            });
            return;
        }
    }
}
