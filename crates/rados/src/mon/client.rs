//! The monitor client: hunts for a monitor, authenticates, keeps the
//! session (keepalives, ticket renewal, a new monitor when one fails) and
//! carries commands, version queries and subscriptions.
//!
//! A background task owns the connection; [`MonClient`] is a handle that
//! sends it requests.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use ceph_cephx::{CephxClient, Cipher, CryptoKey, SharedClient};
use ceph_common::errno::{EACCES, EPERM};
use ceph_common::Errno;
use ceph_encoding::{AddrType, Decode, Encode, EntityAddr, EntityName, EntityType, Uuid};
use ceph_msgr2::session::auth::NoneAuth;
use ceph_msgr2::session::{AuthProvider, ClientConfig, ClientSession, Event, Message};
use ceph_msgr2::Connection;
use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::{debug, info, warn};

use super::messages::*;
use crate::auth::MonHandshake;
use crate::config::{MonAddrs, Protocol};
use crate::error::{RadosError, Result};

/// How a client reaches and authenticates to the monitors.
#[derive(Debug, Clone)]
pub struct MonClientOptions {
    /// The monitors' addresses (from `mon_host`).
    pub mons: Vec<MonAddrs>,
    /// Who we are.
    pub name: EntityName,
    /// Our key; `None` authenticates with the "none" method.
    pub key: Option<CryptoKey>,
    /// Connection modes for monitors, in order of preference.
    pub mon_modes: Vec<u32>,
    /// How long to look for a monitor before giving up.
    pub connect_timeout: Duration,
    /// How long one attempt on one monitor may take.
    pub attempt_timeout: Duration,
    /// The services whose tickets we want (entity type bits).
    pub want_services: u32,
    /// Our host name, sent with subscriptions.
    pub hostname: String,
    /// Request, keepalive and hunting deadlines.
    pub timeouts: crate::config::Timeouts,
}

impl MonClientOptions {
    /// Options from resolved client settings: tickets for monitors, OSDs
    /// and managers; attempts of at most 10 s each.
    pub fn from_settings(s: &crate::config::ClientSettings) -> MonClientOptions {
        MonClientOptions {
            mons: s.mons.clone(),
            name: s.name.clone(),
            key: s.key.clone(),
            mon_modes: s.mon_modes.clone(),
            connect_timeout: s.connect_timeout,
            attempt_timeout: s.connect_timeout.min(Duration::from_secs(10)),
            want_services: ceph_cephx::SERVICE_MON
                | ceph_cephx::SERVICE_OSD
                | ceph_cephx::SERVICE_MGR,
            hostname: crate::config::ClientSettings::hostname(),
            timeouts: s.timeouts,
        }
    }
}

/// The answer to a monitor command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandReply {
    /// 0 or a negative errno.
    pub status: i32,
    /// The status string.
    pub status_text: String,
    /// The output.
    pub output: Bytes,
}

/// A map the monitor sent (raw; decoding is the caller's).
#[derive(Debug, Clone)]
pub enum MapUpdate {
    /// An MMonMap's encoded MonMap.
    MonMap(Bytes),
    /// An MOSDMap message (front part, and its encoding version).
    OsdMap {
        /// The message's front part.
        front: Bytes,
        /// The message's encoding version.
        version: u16,
    },
}

enum Request {
    Command {
        cmd: Vec<String>,
        input: Bytes,
        reply: oneshot::Sender<Result<CommandReply>>,
    },
    GetVersion {
        what: String,
        reply: oneshot::Sender<Result<(u64, u64)>>,
    },
    Subscribe {
        what: String,
        start: u64,
        onetime: bool,
    },
    PoolOp {
        pool: u32,
        op: u32,
        snapid: u64,
        reply: oneshot::Sender<Result<PoolOpResult>>,
    },
    Reconnect,
}

/// The outcome of a pool operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolOpResult {
    /// 0 or a negative errno.
    pub status: i32,
    /// The osdmap epoch that carries the change.
    pub epoch: u32,
    /// Extra data (for a new snapshot id: its encoding).
    pub data: Bytes,
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
        let name_for_handle = opts.name.clone();
        let (tx, rx) = mpsc::unbounded_channel();
        let (maps, _) = broadcast::channel(64);
        let (ready_tx, ready_rx) = oneshot::channel();
        let task = Task {
            opts,
            cephx: cephx.clone(),
            rx,
            maps: maps.clone(),
            conn: None,
            commands: BTreeMap::new(),
            versions: BTreeMap::new(),
            pool_ops: BTreeMap::new(),
            subs: BTreeMap::new(),
            next_tid: 1,
            fsid: None,
            ready: Some(ready_tx),
            cookie: ceph_cephx::client::random_u64(),
            nonce: ceph_cephx::client::random_u64() as u32,
            last_renewal_try: None,
        };
        tokio::spawn(task.run());
        let (fsid, global_id) = ready_rx.await.map_err(|_| RadosError::Shutdown)??;
        Ok(MonClient {
            name: name_for_handle,
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

    /// Runs a monitor command (JSON) with `input` as its input.
    pub async fn command(&self, cmd: &str, input: Bytes) -> Result<CommandReply> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Command {
                cmd: vec![cmd.to_string()],
                input,
                reply,
            })
            .map_err(|_| RadosError::Shutdown)?;
        rx.await.map_err(|_| RadosError::Shutdown)?
    }

    /// The newest and oldest versions of a map ("osdmap", "monmap"...).
    pub async fn get_version(&self, what: &str) -> Result<(u64, u64)> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::GetVersion {
                what: what.to_string(),
                reply,
            })
            .map_err(|_| RadosError::Shutdown)?;
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
    pub async fn pool_op(&self, pool: u32, op: u32, snapid: u64) -> Result<PoolOpResult> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::PoolOp {
                pool,
                op,
                snapid,
                reply,
            })
            .map_err(|_| RadosError::Shutdown)?;
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

/// Where the answer to a version query goes.
type VersionReply = oneshot::Sender<Result<(u64, u64)>>;

struct PendingPoolOp {
    pool: u32,
    op: u32,
    snapid: u64,
    reply: oneshot::Sender<Result<PoolOpResult>>,
}

struct PendingCommand {
    cmd: Vec<String>,
    input: Bytes,
    reply: oneshot::Sender<Result<CommandReply>>,
}

struct Task {
    opts: MonClientOptions,
    cephx: Option<SharedClient>,
    rx: mpsc::UnboundedReceiver<Request>,
    maps: broadcast::Sender<MapUpdate>,
    conn: Option<Connection>,
    commands: BTreeMap<u64, PendingCommand>,
    versions: BTreeMap<u64, (String, VersionReply)>,
    pool_ops: BTreeMap<u64, PendingPoolOp>,
    subs: BTreeMap<String, SubscribeItem>,
    next_tid: u64,
    fsid: Option<Uuid>,
    ready: Option<oneshot::Sender<Result<(Uuid, u64)>>>,
    cookie: u64,
    nonce: u32,
    last_renewal_try: Option<Instant>,
}

enum Outcome {
    Request(Option<Request>),
    Event(std::result::Result<Event, ceph_msgr2::Error>),
    Tick,
}

const TICK: Duration = Duration::from_secs(2);

impl Task {
    async fn run(mut self) {
        self.subs
            .insert("monmap".into(), SubscribeItem { start: 0, flags: 0 });
        loop {
            if self.conn.is_none() {
                match self.hunt().await {
                    Ok(conn) => {
                        self.conn = Some(conn);
                        if let Err(e) = self.on_session() {
                            warn!("new monitor session failed at once: {e}");
                            self.conn = None;
                            continue;
                        }
                    }
                    Err(e) => {
                        self.fail_all(&e);
                        if let Some(ready) = self.ready.take() {
                            let _ = ready.send(Err(e));
                            return;
                        }
                        // Wait for the next request before hunting again.
                        match self.rx.recv().await {
                            None => return,
                            Some(r) => {
                                self.accept(r);
                                continue;
                            }
                        }
                    }
                }
            }
            let Some(conn) = self.conn.as_mut() else {
                continue;
            };
            let outcome = tokio::select! {
                r = self.rx.recv() => Outcome::Request(r),
                e = conn.next_event() => Outcome::Event(e),
                _ = tokio::time::sleep(TICK) => Outcome::Tick,
            };
            let step = match outcome {
                Outcome::Request(None) => return,
                Outcome::Request(Some(r)) => {
                    self.accept(r);
                    Ok(())
                }
                Outcome::Event(Ok(ev)) => self.handle_event(ev),
                Outcome::Event(Err(e)) => Err(RadosError::Messenger(e)),
                Outcome::Tick => self.tick(),
            };
            let flushed = match (&step, self.conn.as_mut()) {
                (Ok(()), Some(c)) => c.flush().await.map_err(RadosError::Messenger),
                _ => Ok(()),
            };
            if let Err(e) = step.and(flushed) {
                let peer = self
                    .conn
                    .as_ref()
                    .map(|c| c.addr().to_string())
                    .unwrap_or_default();
                warn!("monitor session with {peer} lost: {e}; hunting for a monitor");
                self.conn = None;
            }
        }
    }

    fn auth(&self) -> Box<dyn AuthProvider> {
        match &self.cephx {
            Some(c) => Box::new(MonHandshake::new(c.clone())),
            None => Box::new(NoneAuth::for_monitor(&self.opts.name, 0)),
        }
    }

    async fn resolve(ep: &crate::config::MonEndpoint) -> Vec<SocketAddr> {
        if let Ok(ip) = ep.host.parse::<std::net::IpAddr>() {
            return vec![SocketAddr::new(ip, ep.port)];
        }
        match tokio::net::lookup_host((ep.host.as_str(), ep.port)).await {
            Ok(a) => a.collect(),
            Err(e) => {
                warn!("cannot resolve monitor host {}: {e}", ep.host);
                Vec::new()
            }
        }
    }

    async fn hunt(&mut self) -> Result<Connection> {
        let start = Instant::now();
        let deadline = start + self.opts.connect_timeout;
        let mut tried: Vec<String> = Vec::new();
        let mut last = String::from("no msgr2 address to try");
        let offset = (self.cookie as usize) % self.opts.mons.len().max(1);
        loop {
            for i in 0..self.opts.mons.len() {
                let mon = &self.opts.mons[(i + offset) % self.opts.mons.len()];
                for ep in mon.iter().filter(|e| e.protocol == Protocol::V2) {
                    for addr in Self::resolve(ep).await {
                        let now = Instant::now();
                        if now >= deadline {
                            return Err(self.no_monitor(&tried, &last));
                        }
                        let per_try = self.opts.attempt_timeout.min(deadline - now);
                        let name = format!("v2:{addr}");
                        if !tried.contains(&name) {
                            tried.push(name);
                        }
                        let session =
                            ClientSession::new(self.session_config(addr), self.auth(), self.cookie);
                        match Connection::connect(addr, session, per_try).await {
                            Ok(conn) => {
                                info!(mon = %addr, "monitor session open");
                                return Ok(conn);
                            }
                            Err(ceph_msgr2::Error::AuthRejected { result, .. })
                                if (result == EACCES || result == EPERM)
                                    && self.opts.key.as_ref().map(|k| k.cipher())
                                        == Some(Cipher::Aes) =>
                            {
                                return Err(RadosError::KeyTypeRefused {
                                    entity: self.opts.name.to_string(),
                                    mon: addr.to_string(),
                                });
                            }
                            Err(ceph_msgr2::Error::AuthRejected { result, .. })
                                if result == EACCES || result == EPERM =>
                            {
                                return Err(RadosError::AuthFailed {
                                    entity: self.opts.name.to_string(),
                                    detail: format!(
                                        "the monitor at {addr} refused our key ({}); check the keyring and the user",
                                        Errno(result)
                                    ),
                                });
                            }
                            Err(ceph_msgr2::Error::AuthRejected { allowed_modes, .. })
                                if !allowed_modes.is_empty()
                                    && !allowed_modes
                                        .iter()
                                        .any(|m| self.opts.mon_modes.contains(m)) =>
                            {
                                return Err(RadosError::ModeMismatch {
                                    peer: addr.to_string(),
                                    offered: mode_names(&self.opts.mon_modes),
                                    allowed: mode_names(&allowed_modes),
                                });
                            }
                            Err(ceph_msgr2::Error::AuthRejected {
                                method,
                                result,
                                allowed_methods,
                                allowed_modes,
                            }) => {
                                return Err(RadosError::AuthFailed {
                                    entity: self.opts.name.to_string(),
                                    detail: format!(
                                        "the monitor at {addr} refused method {} in mode {} ({}); it allows methods {} and modes {}",
                                        method_name(method),
                                        mode_names(&self.opts.mon_modes),
                                        Errno(result),
                                        allowed_methods.iter().map(|m| method_name(*m)).collect::<Vec<_>>().join(" "),
                                        mode_names(&allowed_modes),
                                    ),
                                });
                            }
                            Err(ceph_msgr2::Error::Auth(failure)) => {
                                return Err(RadosError::AuthFailed {
                                    entity: self.opts.name.to_string(),
                                    detail: failure.to_string(),
                                });
                            }
                            Err(e) => {
                                debug!(mon = %addr, "monitor attempt failed: {e}");
                                last = format!("{addr}: {e}");
                            }
                        }
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(self.no_monitor(&tried, &last));
            }
            tokio::time::sleep(Duration::from_millis(500).min(deadline - Instant::now())).await;
        }
    }

    fn no_monitor(&self, tried: &[String], last: &str) -> RadosError {
        let all: Vec<String> = self
            .opts
            .mons
            .iter()
            .flatten()
            .map(ToString::to_string)
            .collect();
        RadosError::NoMonitor {
            timeout_secs: self.opts.connect_timeout.as_secs(),
            tried: if tried.is_empty() {
                all.join(", ")
            } else {
                tried.join(", ")
            },
            last: last.to_string(),
        }
    }

    fn session_config(&self, addr: SocketAddr) -> ClientConfig {
        ClientConfig {
            peer_type: EntityType::MON,
            peer_addr: EntityAddr::new(AddrType::MSGR2, addr, 0),
            nonce: self.nonce,
            modes: self.opts.mon_modes.clone(),
            supported_features: ceph_encoding::features::CEPH_FEATURES_SUPPORTED_DEFAULT,
            required_features: 0,
            global_id: self.cephx_global_id(),
        }
    }

    fn cephx_global_id(&self) -> u64 {
        self.cephx
            .as_ref()
            .and_then(|c| c.lock().ok().map(|c| c.global_id()))
            .unwrap_or(0)
    }

    /// A new session: subscribe again and resend what was in flight.
    fn on_session(&mut self) -> Result<()> {
        self.send_subscribe()?;
        let cmds: Vec<(u64, Vec<String>, Bytes)> = self
            .commands
            .iter()
            .map(|(tid, p)| (*tid, p.cmd.clone(), p.input.clone()))
            .collect();
        for (tid, cmd, input) in cmds {
            self.send_command(tid, cmd, input)?;
        }
        let versions: Vec<(u64, String)> = self
            .versions
            .iter()
            .map(|(h, (w, _))| (*h, w.clone()))
            .collect();
        for (handle, what) in versions {
            self.send_msg(Message::new(
                MSG_MON_GET_VERSION,
                1,
                1,
                MonGetVersion { handle, what }.to_bytes(0),
            ))?;
        }
        Ok(())
    }

    fn send_msg(&mut self, msg: Message) -> Result<()> {
        match self.conn.as_mut() {
            Some(c) => c.queue(msg).map_err(RadosError::Messenger),
            None => Ok(()),
        }
    }

    fn send_subscribe(&mut self) -> Result<()> {
        let sub = MonSubscribe {
            what: self.subs.clone(),
            hostname: self.opts.hostname.clone(),
        };
        self.send_msg(Message::new(MSG_MON_SUBSCRIBE, 3, 1, sub.to_bytes(0)))
    }

    fn send_command(&mut self, tid: u64, cmd: Vec<String>, input: Bytes) -> Result<()> {
        let Some(fsid) = self.fsid else {
            // Sent once the monmap (and so the fsid) is known.
            return Ok(());
        };
        let m = MonCommand {
            paxos: PaxosHeader::default(),
            fsid,
            cmd,
        };
        self.send_msg(
            Message::new(MSG_MON_COMMAND, 1, 1, m.to_bytes(0))
                .with_tid(tid)
                .with_data(input),
        )
    }

    fn send_pool_op(&mut self, tid: u64, pool: u32, op: u32, snapid: u64) -> Result<()> {
        let Some(fsid) = self.fsid else { return Ok(()) };
        let m = PoolOp {
            paxos: PaxosHeader::default(),
            fsid,
            pool,
            op,
            auid: 0,
            snapid,
            name: String::new(),
            pad: 0,
            crush_rule: 0,
        };
        self.send_msg(Message::new(MSG_POOLOP, 4, 2, m.to_bytes(0)).with_tid(tid))
    }

    fn accept(&mut self, r: Request) {
        if matches!(r, Request::Reconnect) {
            info!("dropping the monitor connection on request");
            self.conn = None;
            return;
        }
        let tid = self.next_tid;
        self.next_tid += 1;
        let sent = match r {
            Request::Command { cmd, input, reply } => {
                self.commands.insert(
                    tid,
                    PendingCommand {
                        cmd: cmd.clone(),
                        input: input.clone(),
                        reply,
                    },
                );
                self.send_command(tid, cmd, input)
            }
            Request::GetVersion { what, reply } => {
                self.versions.insert(tid, (what.clone(), reply));
                self.send_msg(Message::new(
                    MSG_MON_GET_VERSION,
                    1,
                    1,
                    MonGetVersion { handle: tid, what }.to_bytes(0),
                ))
            }
            Request::Subscribe {
                what,
                start,
                onetime,
            } => {
                self.subs.insert(
                    what,
                    SubscribeItem {
                        start,
                        flags: if onetime { SUBSCRIBE_ONETIME } else { 0 },
                    },
                );
                self.send_subscribe()
            }
            Request::PoolOp {
                pool,
                op,
                snapid,
                reply,
            } => {
                self.pool_ops.insert(
                    tid,
                    PendingPoolOp {
                        pool,
                        op,
                        snapid,
                        reply,
                    },
                );
                self.send_pool_op(tid, pool, op, snapid)
            }
            Request::Reconnect => Ok(()),
        };
        if let Err(e) = sent {
            warn!("cannot send to the monitor: {e}");
            self.conn = None;
        }
    }

    fn decode<T: Decode>(msg: &Message, what: &'static str) -> Result<T> {
        let mut r = ceph_encoding::Reader::new(&msg.front);
        T::decode(&mut r).map_err(|e| RadosError::Decode { what, source: e })
    }

    fn handle_event(&mut self, ev: Event) -> Result<()> {
        let msg = match ev {
            Event::Message(m) => m,
            Event::SessionReset(_) | Event::Ready(_) => return self.on_session(),
            Event::KeepaliveAck(_) => return Ok(()),
        };
        match msg.msg_type {
            MSG_MON_MAP => {
                let m: MonMapMessage = Self::decode(&msg, "MMonMap")?;
                let map = crate::monmap::MonMap::decode_exact(&m.monmap).map_err(|e| {
                    RadosError::Decode {
                        what: "MonMap",
                        source: e,
                    }
                })?;
                let fsid = map.fsid;
                if let Some(ours) = self.fsid.filter(|f| *f != fsid) {
                    return Err(RadosError::OtherCluster {
                        what: "the monitor map",
                        theirs: fsid,
                        ours,
                    });
                }
                // Hunt among the monitors of the map from now on.
                let mons: Vec<MonAddrs> = map
                    .msgr2_addrs()
                    .into_iter()
                    .filter_map(|(_, a)| a.socket_addr())
                    .map(|sa| {
                        vec![crate::config::MonEndpoint {
                            protocol: Protocol::V2,
                            host: sa.ip().to_string(),
                            port: sa.port(),
                        }]
                    })
                    .collect();
                if !mons.is_empty() {
                    debug!(epoch = map.epoch, mons = mons.len(), "monmap");
                    self.opts.mons = mons;
                }
                let first = self.fsid.is_none();
                self.fsid = Some(fsid);
                if first {
                    // Commands waiting for the fsid go out now.
                    let cmds: Vec<(u64, Vec<String>, Bytes)> = self
                        .commands
                        .iter()
                        .map(|(tid, p)| (*tid, p.cmd.clone(), p.input.clone()))
                        .collect();
                    for (tid, cmd, input) in cmds {
                        self.send_command(tid, cmd, input)?;
                    }
                    let ops: Vec<(u64, u32, u32, u64)> = self
                        .pool_ops
                        .iter()
                        .map(|(tid, p)| (*tid, p.pool, p.op, p.snapid))
                        .collect();
                    for (tid, pool, op, snapid) in ops {
                        self.send_pool_op(tid, pool, op, snapid)?;
                    }
                }
                if let Some(ready) = self.ready.take() {
                    let _ = ready.send(Ok((fsid, self.cephx_global_id())));
                }
                let _ = self.maps.send(MapUpdate::MonMap(m.monmap));
            }
            MSG_MON_COMMAND_ACK => {
                let ack: MonCommandAck = Self::decode(&msg, "MMonCommandAck")?;
                if let Some(p) = self.commands.remove(&msg.tid) {
                    let _ = p.reply.send(Ok(CommandReply {
                        status: ack.r,
                        status_text: ack.rs,
                        output: msg.data.clone(),
                    }));
                }
            }
            MSG_POOLOP_REPLY => {
                let r: PoolOpReply = Self::decode(&msg, "MPoolOpReply")?;
                if let Some(p) = self.pool_ops.remove(&msg.tid) {
                    let _ = p.reply.send(Ok(PoolOpResult {
                        status: r.reply_code as i32,
                        epoch: r.epoch,
                        data: r.response.unwrap_or_default(),
                    }));
                }
            }
            MSG_MON_GET_VERSION_REPLY => {
                let r: MonGetVersionReply = Self::decode(&msg, "MMonGetVersionReply")?;
                if let Some((_, reply)) = self.versions.remove(&r.handle) {
                    let _ = reply.send(Ok((r.version, r.oldest_version)));
                }
            }
            MSG_OSD_MAP => {
                let _ = self.maps.send(MapUpdate::OsdMap {
                    front: msg.front.clone(),
                    version: msg.version,
                });
            }
            MSG_AUTH_REPLY => {
                let r: MonAuthReply = Self::decode(&msg, "MAuthReply")?;
                self.handle_auth_reply(r);
            }
            other => debug!(msg_type = other, "ignoring a monitor message"),
        }
        Ok(())
    }

    fn tick(&mut self) -> Result<()> {
        if let Some(c) = self.conn.as_mut() {
            c.queue_keepalive().map_err(RadosError::Messenger)?;
        }
        self.renew_tickets()
    }

    /// Asks for fresh service tickets when some are due (MAuth with
    /// CEPHX_GET_PRINCIPAL_SESSION_KEY), at most every few seconds.
    fn renew_tickets(&mut self) -> Result<()> {
        let Some(cephx) = self.cephx.clone() else {
            return Ok(());
        };
        if self
            .last_renewal_try
            .is_some_and(|t| t.elapsed() < Duration::from_secs(5))
        {
            return Ok(());
        }
        let payload = {
            let c = cephx.lock().map_err(|_| RadosError::Shutdown)?;
            if c.need(SystemTime::now()) == 0 {
                return Ok(());
            }
            c.service_ticket_request(SystemTime::now())?
        };
        self.last_renewal_try = Some(Instant::now());
        debug!("renewing cephx tickets");
        let m = MonAuth {
            paxos: PaxosHeader::default(),
            protocol: ceph_cephx::AUTH_METHOD_CEPHX,
            auth_payload: payload,
            monmap_epoch: 0,
        };
        self.send_msg(Message::new(MSG_AUTH, 1, 1, m.to_bytes(0)))
    }

    fn handle_auth_reply(&mut self, r: MonAuthReply) {
        let Some(cephx) = self.cephx.clone() else {
            return;
        };
        if r.result < 0 {
            warn!("ticket renewal refused: {} {}", r.result, r.result_msg);
            return;
        }
        let renewed = match cephx.lock() {
            Ok(mut c) => c
                .handle_service_ticket_reply(&r.result_bl, SystemTime::now())
                .map_err(|e| e.to_string()),
            Err(_) => Err("cephx client state poisoned".to_string()),
        };
        match renewed {
            Ok(services) => debug!(?services, "cephx tickets renewed"),
            Err(e) => warn!("ticket renewal reply unusable: {e}"),
        }
    }

    fn fail_all(&mut self, e: &RadosError) {
        let text = e.to_string();
        let err = |t: &str| match e {
            RadosError::AuthFailed { entity, detail } => RadosError::AuthFailed {
                entity: entity.clone(),
                detail: detail.clone(),
            },
            RadosError::KeyTypeRefused { entity, mon } => RadosError::KeyTypeRefused {
                entity: entity.clone(),
                mon: mon.clone(),
            },
            _ => RadosError::Timeout(t.to_string()),
        };
        for (_, p) in std::mem::take(&mut self.commands) {
            let _ = p.reply.send(Err(err(&text)));
        }
        for (_, (_, reply)) in std::mem::take(&mut self.versions) {
            let _ = reply.send(Err(err(&text)));
        }
        for (_, p) in std::mem::take(&mut self.pool_ops) {
            let _ = p.reply.send(Err(err(&text)));
        }
    }
}

/// "none", "cephx" for an auth method id.
fn method_name(m: u32) -> String {
    match m {
        1 => "none".into(),
        2 => "cephx".into(),
        other => format!("method {other}"),
    }
}

/// "crc", "secure" for a list of connection modes.
fn mode_names(modes: &[u32]) -> String {
    modes
        .iter()
        .map(|m| match *m {
            crate::config::MODE_CRC => "crc".to_string(),
            crate::config::MODE_SECURE => "secure".to_string(),
            other => format!("mode {other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}
