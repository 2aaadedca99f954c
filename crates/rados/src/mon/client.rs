//! The monitor client's tokio driver and its handle, [`MonClient`].
//!
//! A background task owns the connection and a [`MonCore`], which holds
//! all the logic: the task feeds it requests, connection outcomes, session
//! events and the time, and does what it says (connect, send, close,
//! answer). It sleeps until [`MonCore::poll_timeout`] with one timer that
//! lives across the loop's passes, so that steady traffic cannot starve the
//! timed work (keepalives, expiries, renewals).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use ceph_cephx::{CephxClient, SharedClient};
use ceph_common::errno::EPERM;
use ceph_encoding::{AddrType, Decode, EntityAddr, EntityName, EntityType, Uuid};
use ceph_msgr2::session::auth::NoneAuth;
use ceph_msgr2::session::{AuthProvider, ClientConfig, ClientSession, Event};
use ceph_msgr2::Connection;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;
use tracing::debug;

use super::core::{Action, MonCore};
use super::messages::*;
use super::pending::RequestKind;
pub use super::types::{CommandReply, MapUpdate, MonClientOptions, MonReply, PoolOpResult};
use crate::auth::MonHandshake;
use crate::config::MonEndpoint;
use crate::error::{RadosError, Result};

enum Request {
    Submit(RequestKind, Responder),
    Subscribe {
        what: String,
        start: u64,
        onetime: bool,
    },
    Reconnect,
}

/// Where the answer to a request goes.
enum Responder {
    Command(oneshot::Sender<Result<CommandReply>>),
    Version(oneshot::Sender<Result<(u64, u64)>>),
    PoolOp(oneshot::Sender<Result<PoolOpResult>>),
}

impl Responder {
    fn answer(self, result: Result<MonReply>) {
        let unexpected = |r: MonReply| RadosError::Protocol {
            object: "monitor".into(),
            detail: format!("unexpected answer {r:?}"),
        };
        match self {
            Responder::Command(tx) => {
                let _ = tx.send(result.and_then(|r| match r {
                    MonReply::Command(c) => Ok(c),
                    other => Err(unexpected(other)),
                }));
            }
            Responder::Version(tx) => {
                let _ = tx.send(result.and_then(|r| match r {
                    MonReply::Version { newest, oldest } => Ok((newest, oldest)),
                    other => Err(unexpected(other)),
                }));
            }
            Responder::PoolOp(tx) => {
                let _ = tx.send(result.and_then(|r| match r {
                    MonReply::PoolOp(p) => Ok(p),
                    other => Err(unexpected(other)),
                }));
            }
        }
    }
}

/// A handle on the monitor client's task.
#[derive(Debug, Clone)]
pub struct MonClient {
    tx: mpsc::UnboundedSender<Request>,
    maps: broadcast::Sender<MapUpdate>,
    fsid: Uuid,
    global_id: u64,
    cephx: Option<SharedClient>,
    name: EntityName,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Submit(kind, _) => write!(f, "Submit({kind:?})"),
            Request::Subscribe { what, .. } => write!(f, "Subscribe({what})"),
            Request::Reconnect => write!(f, "Reconnect"),
        }
    }
}

impl MonClient {
    /// Connects to a monitor, authenticates and waits for the monmap.
    pub async fn connect(opts: MonClientOptions) -> Result<MonClient> {
        if opts.mons.is_empty() {
            return Err(RadosError::Config("no monitor addresses (mon_host)".into()));
        }
        let cephx = opts.key.clone().map(|k| {
            Arc::new(Mutex::new(CephxClient::new(
                opts.name.clone(),
                k,
                opts.want_services,
            )))
        });
        let name = opts.name.clone();
        let (tx, rx) = mpsc::unbounded_channel();
        let (maps, _) = broadcast::channel(64);
        let (ready_tx, ready_rx) = oneshot::channel();
        let cookie = ceph_cephx::client::random_u64();
        let dialer = Dialer {
            cephx: cephx.clone(),
            name: opts.name.clone(),
            modes: opts.mon_modes.clone(),
            nonce: ceph_cephx::client::random_u64() as u32,
            cookie,
        };
        let core = MonCore::new(
            opts,
            cephx.clone(),
            Instant::now().into_std(),
            SystemTime::now(),
            cookie,
        );
        let (attempts_tx, attempts_rx) = mpsc::unbounded_channel();
        let driver = Driver {
            core,
            rx,
            maps: maps.clone(),
            conn: None,
            responders: HashMap::new(),
            ready: Some(ready_tx),
            dialer,
            attempts_tx,
            attempts_rx,
        };
        tokio::spawn(driver.run());
        let (fsid, global_id) = ready_rx.await.map_err(|_| RadosError::Shutdown)??;
        Ok(MonClient {
            name,
            tx,
            maps,
            fsid,
            global_id,
            cephx,
        })
    }

    /// The cluster's fsid.
    pub fn fsid(&self) -> Uuid {
        self.fsid
    }

    /// Our global id.
    pub fn global_id(&self) -> u64 {
        self.global_id
    }

    /// Who we are.
    pub fn name(&self) -> &EntityName {
        &self.name
    }

    /// The cephx client (for service tickets), if cephx is in use.
    pub fn cephx(&self) -> Option<&SharedClient> {
        self.cephx.as_ref()
    }

    fn submit(&self, kind: RequestKind, responder: Responder) -> Result<()> {
        self.tx
            .send(Request::Submit(kind, responder))
            .map_err(|_| RadosError::Shutdown)
    }

    /// Runs a monitor command (JSON) with `input` as its input.
    pub async fn command(&self, cmd: &str, input: Bytes) -> Result<CommandReply> {
        let (reply, rx) = oneshot::channel();
        let kind = RequestKind::Command {
            cmd: vec![cmd.to_string()],
            input,
        };
        self.submit(kind, Responder::Command(reply))?;
        rx.await.map_err(|_| RadosError::Shutdown)?
    }

    /// The newest and oldest versions of a map ("osdmap", "monmap"...).
    pub async fn get_version(&self, what: &str) -> Result<(u64, u64)> {
        let (reply, rx) = oneshot::channel();
        let kind = RequestKind::Version {
            what: what.to_string(),
        };
        self.submit(kind, Responder::Version(reply))?;
        rx.await.map_err(|_| RadosError::Shutdown)?
    }

    /// Subscribes to a map from version `start`.
    pub fn subscribe(&self, what: &str, start: u64, onetime: bool) -> Result<()> {
        self.tx
            .send(Request::Subscribe {
                what: what.to_string(),
                start,
                onetime,
            })
            .map_err(|_| RadosError::Shutdown)
    }

    /// Allocates a self-managed snapshot id in `pool`; returns the id and
    /// the osdmap epoch from which the pool's snap_seq includes it.
    pub async fn allocate_snap_id(&self, pool: u32) -> Result<(u64, u32)> {
        let r = self.pool_op(pool, POOL_OP_CREATE_UNMANAGED_SNAP, 0).await?;
        if r.status < 0 {
            return Err(RadosError::PoolOp {
                what: format!("allocating a snapshot id in pool {pool}"),
                status: r.status,
            });
        }
        let id = <u64 as Decode>::decode_exact(&r.data).map_err(|e| RadosError::Decode {
            what: "snapshot id",
            source: e,
        })?;
        Ok((id, r.epoch))
    }

    /// Releases a self-managed snapshot id of `pool`; returns the epoch
    /// that records the removal.
    pub async fn release_snap_id(&self, pool: u32, snapid: u64) -> Result<u32> {
        let r = self
            .pool_op(pool, POOL_OP_DELETE_UNMANAGED_SNAP, snapid)
            .await?;
        if r.status < 0 {
            return Err(RadosError::PoolOp {
                what: format!("releasing snapshot id {snapid} of pool {pool}"),
                status: r.status,
            });
        }
        Ok(r.epoch)
    }

    /// Sends a pool operation to the monitor.
    ///
    /// A refusal (EPERM) is asked again, three times over 3.5 s: a peon that forwarded the op
    /// to a leader which then lost an election resends it to the new
    /// leader without the client's entity name (Ceph's
    /// `Monitor::resend_routed_requests` leaves `MForward::entity_name`
    /// empty, unlike `forward_request_leader`), and the leader refuses an
    /// unmanaged-snapshot op of a nameless entity. Sent anew once the
    /// elections a monitor restart sets off are over, the op is forwarded
    /// with the name; a client really lacking caps is refused every time,
    /// and nothing was done.
    pub async fn pool_op(&self, pool: u32, op: u32, snapid: u64) -> Result<PoolOpResult> {
        let mut r = self.pool_op_once(pool, op, snapid).await?;
        for pause_ms in EPERM_RETRY_PAUSES_MS {
            if r.status != EPERM {
                break;
            }
            debug!(pool, op, pause_ms, "pool op refused (EPERM); asking again");
            tokio::time::sleep(Duration::from_millis(pause_ms)).await;
            r = self.pool_op_once(pool, op, snapid).await?;
        }
        Ok(r)
    }

    async fn pool_op_once(&self, pool: u32, op: u32, snapid: u64) -> Result<PoolOpResult> {
        let (reply, rx) = oneshot::channel();
        let kind = RequestKind::PoolOp { pool, op, snapid };
        self.submit(kind, Responder::PoolOp(reply))?;
        rx.await.map_err(|_| RadosError::Shutdown)?
    }

    /// Drops the current monitor connection, as a network failure would:
    /// the client hunts for a monitor again and sends again every request
    /// still unanswered. Requests made before this call are sent first.
    pub fn reconnect(&self) -> Result<()> {
        self.tx
            .send(Request::Reconnect)
            .map_err(|_| RadosError::Shutdown)
    }

    /// A receiver of the maps the monitors send from now on.
    pub fn maps(&self) -> broadcast::Receiver<MapUpdate> {
        self.maps.subscribe()
    }
}

/// The pauses before asking again a pool op refused with EPERM (see
/// [`MonClient::pool_op`]).
const EPERM_RETRY_PAUSES_MS: [u64; 3] = [500, 1000, 2000];

/// What opening a monitor session needs, cloned into each attempt.
#[derive(Debug, Clone)]
struct Dialer {
    cephx: Option<SharedClient>,
    name: EntityName,
    modes: Vec<u32>,
    nonce: u32,
    cookie: u64,
}

impl Dialer {
    fn auth(&self) -> Box<dyn AuthProvider> {
        match &self.cephx {
            Some(c) => Box::new(MonHandshake::new(c.clone())),
            None => Box::new(NoneAuth::for_monitor(&self.name, 0)),
        }
    }

    fn config(&self, addr: SocketAddr) -> ClientConfig {
        ClientConfig {
            peer_type: EntityType::MON,
            peer_addr: EntityAddr::new(AddrType::MSGR2, addr, 0),
            nonce: self.nonce,
            modes: self.modes.clone(),
            supported_features: ceph_encoding::features::CEPH_FEATURES_SUPPORTED_DEFAULT,
            required_features: 0,
            global_id: self
                .cephx
                .as_ref()
                .and_then(|c| c.lock().ok().map(|c| c.global_id()))
                .unwrap_or(0),
        }
    }

    /// Opens a session with `mon` within `timeout`: its name resolved, each
    /// of its addresses tried in turn. A refusal of our credentials ends it.
    async fn dial(
        self,
        mon: MonEndpoint,
        timeout: Duration,
    ) -> std::result::Result<Connection, ceph_msgr2::Error> {
        let deadline = Instant::now() + timeout;
        let addrs: Vec<SocketAddr> = match mon.host.parse::<std::net::IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, mon.port)],
            Err(_) => {
                let lookup = tokio::net::lookup_host((mon.host.as_str(), mon.port));
                match tokio::time::timeout_at(deadline, lookup).await {
                    Ok(Ok(a)) => a.collect(),
                    Ok(Err(e)) => {
                        return Err(ceph_msgr2::Error::io(format!("resolving {}", mon.host), &e))
                    }
                    Err(_) => {
                        return Err(ceph_msgr2::Error::Timeout(format!(
                            "resolving {}",
                            mon.host
                        )))
                    }
                }
            }
        };
        let mut last = ceph_msgr2::Error::Closed(format!("{} resolves to no address", mon.host));
        for addr in addrs {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let session = ClientSession::new(self.config(addr), self.auth(), self.cookie);
            match Connection::connect(addr, session, left).await {
                Ok(conn) => return Ok(conn),
                Err(e @ ceph_msgr2::Error::AuthRejected { .. })
                | Err(e @ ceph_msgr2::Error::Auth(_)) => return Err(e),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

/// The outcome of one connection attempt.
type AttemptResult = (u64, std::result::Result<Box<Connection>, ceph_msgr2::Error>);

struct Driver {
    core: MonCore,
    rx: mpsc::UnboundedReceiver<Request>,
    maps: broadcast::Sender<MapUpdate>,
    conn: Option<Box<Connection>>,
    responders: HashMap<u64, Responder>,
    ready: Option<oneshot::Sender<Result<(Uuid, u64)>>>,
    dialer: Dialer,
    attempts_tx: mpsc::UnboundedSender<AttemptResult>,
    attempts_rx: mpsc::UnboundedReceiver<AttemptResult>,
}

enum Wake {
    Request(Option<Request>),
    Attempt(Option<AttemptResult>),
    Event(std::result::Result<Event, ceph_msgr2::Error>),
    Timer,
}

/// The next event of the connection, or never when there is none.
async fn next_event(
    conn: &mut Option<Box<Connection>>,
) -> std::result::Result<Event, ceph_msgr2::Error> {
    match conn {
        Some(c) => c.next_event().await,
        None => std::future::pending().await,
    }
}

/// A deadline for the timer when the core has none.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

impl Driver {
    async fn run(mut self) {
        let timer = tokio::time::sleep_until(far_future());
        tokio::pin!(timer);
        let mut armed: Option<std::time::Instant> = None;
        loop {
            if !self.apply().await {
                return;
            }
            let deadline = self.core.poll_timeout();
            if deadline != armed {
                let at = deadline.map(Instant::from_std).unwrap_or_else(far_future);
                timer.as_mut().reset(at);
                armed = deadline;
            }
            let wake = tokio::select! {
                r = self.rx.recv() => Wake::Request(r),
                a = self.attempts_rx.recv() => Wake::Attempt(a),
                e = next_event(&mut self.conn) => Wake::Event(e),
                () = &mut timer, if armed.is_some() => Wake::Timer,
            };
            let now = Instant::now().into_std();
            match wake {
                Wake::Request(None) => return,
                Wake::Request(Some(r)) => self.accept(now, r),
                Wake::Attempt(None) => return,
                Wake::Attempt(Some((attempt, Ok(conn)))) => {
                    let global_id = conn.info().map(|i| i.global_id).unwrap_or(0);
                    if self.core.handle_connected(now, attempt, global_id) {
                        self.conn = Some(conn);
                    }
                }
                Wake::Attempt(Some((attempt, Err(e)))) => {
                    self.core.handle_connect_failed(now, attempt, e);
                }
                Wake::Event(Ok(ev)) => self.core.handle_event(now, ev),
                Wake::Event(Err(e)) => {
                    self.conn = None;
                    self.core.handle_session_lost(now, &e);
                }
                Wake::Timer => {
                    // Fired: re-armed on the next pass whatever it says.
                    armed = None;
                    self.core.handle_timeout(now);
                }
            }
        }
    }

    fn accept(&mut self, now: std::time::Instant, r: Request) {
        match r {
            Request::Submit(kind, responder) => {
                let tid = self.core.submit(now, kind);
                self.responders.insert(tid, responder);
            }
            Request::Subscribe {
                what,
                start,
                onetime,
            } => self.core.subscribe(now, &what, start, onetime),
            Request::Reconnect => self.core.reconnect(now),
        }
    }

    /// Does what the core asks, then writes out what was queued. Returns
    /// false when the driver must stop (mounting failed).
    async fn apply(&mut self) -> bool {
        loop {
            while let Some(action) = self.core.poll_action() {
                if !self.perform(action) {
                    return false;
                }
            }
            let Some(conn) = self.conn.as_mut() else {
                return true;
            };
            // A monitor that stopped reading must not stall the driver.
            let limit = self.core.timeouts().mon_ping_timeout;
            let flushed = match tokio::time::timeout(limit, conn.flush()).await {
                Ok(r) => r,
                Err(_) => Err(ceph_msgr2::Error::Timeout(format!(
                    "writing to the monitor at {}",
                    conn.addr()
                ))),
            };
            match flushed {
                Ok(()) => return true,
                Err(e) => {
                    self.conn = None;
                    self.core.handle_session_lost(Instant::now().into_std(), &e);
                }
            }
        }
    }

    fn perform(&mut self, action: Action) -> bool {
        let now = Instant::now().into_std();
        match action {
            Action::Connect {
                attempt,
                mon,
                timeout,
            } => {
                let dialer = self.dialer.clone();
                let tx = self.attempts_tx.clone();
                tokio::spawn(async move {
                    let r = dialer.dial(mon, timeout).await;
                    let _ = tx.send((attempt, r.map(Box::new)));
                });
            }
            Action::Send(m) => {
                if let Some(c) = self.conn.as_mut() {
                    if let Err(e) = c.queue(m) {
                        self.conn = None;
                        self.core.handle_session_lost(now, &e);
                    }
                }
            }
            Action::Keepalive => {
                if let Some(c) = self.conn.as_mut() {
                    if let Err(e) = c.queue_keepalive() {
                        self.conn = None;
                        self.core.handle_session_lost(now, &e);
                    }
                }
            }
            Action::Disconnect => {
                if let Some(c) = self.conn.take() {
                    debug!(mon = %c.addr(), "closing the monitor connection");
                }
            }
            Action::Complete { tid, result } => match self.responders.remove(&tid) {
                Some(r) => r.answer(result),
                None => debug!(tid, "an answer nobody waits for"),
            },
            Action::Map(m) => {
                let _ = self.maps.send(m);
            }
            Action::Ready { fsid, global_id } => {
                if let Some(ready) = self.ready.take() {
                    let _ = ready.send(Ok((fsid, global_id)));
                }
            }
            Action::Failed(e) => {
                debug!("cannot reach the monitors: {e}");
                if let Some(ready) = self.ready.take() {
                    let _ = ready.send(Err(e));
                }
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::config::{Protocol, Timeouts};

    /// A monitor that accepts connections and never says a word (a
    /// stopped process whose socket is still open): mounting fails with
    /// NoMonitor at `client_mount_timeout`, having tried it more than once.
    #[tokio::test]
    async fn a_silent_monitor_does_not_hang_the_mount() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                held.push(s);
            }
        });
        let opts = MonClientOptions {
            mons: vec![vec![MonEndpoint {
                protocol: Protocol::V2,
                host: "127.0.0.1".into(),
                port,
            }]],
            name: "client.admin".parse().unwrap(),
            key: None,
            mon_modes: vec![crate::config::MODE_CRC],
            connect_timeout: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(10),
            want_services: 0,
            hostname: "test".into(),
            timeouts: Timeouts {
                mon_hunt_interval: Duration::from_millis(300),
                ..Timeouts::default()
            },
        };
        let started = std::time::Instant::now();
        let r = tokio::time::timeout(Duration::from_secs(10), MonClient::connect(opts))
            .await
            .expect("the mount hung");
        let Err(RadosError::NoMonitor { timeout_secs, .. }) = r else {
            panic!("{r:?}");
        };
        assert_eq!(timeout_secs, 2);
        assert!(started.elapsed() < Duration::from_secs(4));
        assert!(accepted.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    }
}
