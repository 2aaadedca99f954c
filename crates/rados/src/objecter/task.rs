//! The objecter's task, which holds the maps, sessions and operations,
//! and [`Objecter`], the handle on it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ceph_encoding::{Decode, Reader, UTime, Uuid};
use ceph_msgr2::session::Message;
use tokio::sync::{mpsc, oneshot, watch, OwnedSemaphorePermit, Semaphore};
use tracing::{debug, info, warn};

use crate::crush::CrushMap;
use crate::error::{RadosError, Result};
use crate::mon::{MapUpdate, MonClient};
use crate::osd::messages::{flag, MOSDOP_COMPAT, MOSDOP_VERSION, MSG_OSD_OP, MSG_OSD_OPREPLY};
use crate::osd::op::code;
use crate::osd::session::{OsdSession, SessionEvent, SessionParams};
use crate::osd::types::{ObjectLocator, PgId, ReqId, SPgId};
use crate::osd::{MOsdOp, MOsdOpReply};
use crate::osdmap::{pool_flags, OsdMap};
use crate::placement::Placer;

use super::linger_state::{Linger, LingerCmd};
use super::request::{Maps, ObjecterOptions, OpReply, OpRequest};

pub(super) enum Cmd {
    Submit {
        req: OpRequest,
        reply: oneshot::Sender<Result<OpReply>>,
        permit: OwnedSemaphorePermit,
    },
    Linger(LingerCmd),
}

/// A handle on the objecter's task.
#[derive(Debug, Clone)]
pub struct Objecter {
    pub(super) tx: mpsc::UnboundedSender<Cmd>,
    pub(super) maps: watch::Receiver<Option<Maps>>,
    pub(super) throttle: Arc<Semaphore>,
    pub(super) max_bytes: usize,
    pub(super) mon: MonClient,
    pub(super) next_cookie: Arc<std::sync::atomic::AtomicU64>,
}

impl Objecter {
    /// Starts the objecter on `mon`'s session and waits for the first OSD map.
    pub async fn start(mon: MonClient, opts: ObjecterOptions) -> Result<Objecter> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (maps_tx, mut maps_rx) = watch::channel(None);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let params = SessionParams {
            cephx: mon.cephx().cloned(),
            name: mon.name().clone(),
            global_id: mon.global_id(),
            modes: opts.modes.clone(),
            nonce: ceph_cephx::client::random_u64() as u32,
            connect_timeout: opts.connect_timeout,
        };
        let updates = mon.maps();
        mon.subscribe("osdmap", 0, false)?;
        let task = Task {
            mon: mon.clone(),
            opts: opts.clone(),
            params,
            rx,
            updates,
            maps_tx,
            events_tx,
            events_rx,
            maps: None,
            sessions: HashMap::new(),
            opening: HashMap::new(),
            incarnation: 0,
            ops: BTreeMap::new(),
            next_tid: 1,
            fsid: mon.fsid(),
            lingers: HashMap::new(),
            notifies: HashMap::new(),
            backoffs: HashMap::new(),
            last_ping: Instant::now(),
        };
        tokio::spawn(task.run());
        let waited = tokio::time::timeout(opts.connect_timeout, async {
            loop {
                if maps_rx.borrow().is_some() {
                    return Ok(());
                }
                if maps_rx.changed().await.is_err() {
                    return Err(RadosError::Shutdown);
                }
            }
        })
        .await;
        match waited {
            Ok(r) => r?,
            Err(_) => return Err(RadosError::Timeout("waiting for the first OSD map".into())),
        }
        Ok(Objecter {
            tx,
            maps: maps_rx,
            throttle: Arc::new(Semaphore::new(opts.max_bytes_in_flight)),
            max_bytes: opts.max_bytes_in_flight,
            mon,
            next_cookie: Arc::new(std::sync::atomic::AtomicU64::new(1)),
        })
    }

    /// The monitor client underneath.
    pub fn mon(&self) -> &MonClient {
        &self.mon
    }

    /// The current maps.
    pub fn maps(&self) -> Option<Maps> {
        self.maps.borrow().clone()
    }

    /// Waits until the OSD map is at least at `epoch`.
    pub async fn wait_for_epoch(&self, epoch: u32) -> Result<()> {
        let mut rx = self.maps.clone();
        loop {
            if rx
                .borrow()
                .as_ref()
                .is_some_and(|m| m.osdmap.epoch >= epoch)
            {
                return Ok(());
            }
            rx.changed().await.map_err(|_| RadosError::Shutdown)?;
        }
    }

    /// The id of pool `name`.
    pub fn pool_id(&self, name: &str) -> Result<i64> {
        self.maps()
            .and_then(|m| m.osdmap.pool_id(name))
            .ok_or_else(|| RadosError::NoSuchPool(name.to_string()))
    }

    /// Runs `req` and returns the OSD's answer (whose result may be an
    /// errno: that is for the caller to judge).
    pub async fn execute(&self, req: OpRequest) -> Result<OpReply> {
        let want = req.bytes().min(self.max_bytes) as u32;
        let permit = self
            .throttle
            .clone()
            .acquire_many_owned(want)
            .await
            .map_err(|_| RadosError::Shutdown)?;
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Submit { req, reply, permit })
            .map_err(|_| RadosError::Shutdown)?;
        rx.await.map_err(|_| RadosError::Shutdown)?
    }
}

/// The answer to `req` from the OSD's `reply`, which must answer each op
/// of the request (an OSD's reply copies the request's ops, even on error;
/// the kernel client drops a reply with another count too).
fn op_reply(req: &OpRequest, reply: MOsdOpReply) -> Result<OpReply> {
    if reply.ops.len() != req.ops.len() {
        let mut object = match req.pg {
            Some(seed) => format!("pool {} pg {seed:x}", req.pool),
            None => format!("object {} in pool {}", req.oid, req.pool),
        };
        if !req.nspace.is_empty() {
            object.push_str(&format!(" namespace {}", req.nspace));
        }
        return Err(RadosError::op_count(object, req.ops.len(), reply.ops.len()));
    }
    Ok(OpReply {
        result: reply.result,
        ops: reply.ops,
        version: reply.user_version,
    })
}

/// Who waits for an op's answer.
pub(super) enum Waiter {
    /// A caller of [`Objecter::execute`].
    User(oneshot::Sender<Result<OpReply>>),
    /// The objecter itself, keeping watch `cookie` registered.
    Linger(u64),
}

pub(super) struct InFlight {
    pub(super) req: OpRequest,
    pub(super) waiter: Waiter,
    pub(super) _permit: Option<OwnedSemaphorePermit>,
    /// Where it was last sent: OSD and PG, with the map epoch.
    pub(super) sent_to: Option<(i32, PgId, u64)>,
    /// The pool's pg_num when it was last sent: an OSD drops (without a
    /// reply) an op sent before its PG split or merged, and counts on the
    /// client to resend it.
    pub(super) sent_pg_num: u32,
    pub(super) attempts: i32,
    pub(super) deadline: Option<Instant>,
    /// Set by a redirect.
    pub(super) oloc_override: Option<ObjectLocator>,
}

pub(super) struct Task {
    pub(super) mon: MonClient,
    pub(super) opts: ObjecterOptions,
    pub(super) params: SessionParams,
    pub(super) rx: mpsc::UnboundedReceiver<Cmd>,
    pub(super) updates: tokio::sync::broadcast::Receiver<MapUpdate>,
    pub(super) maps_tx: watch::Sender<Option<Maps>>,
    pub(super) events_tx: mpsc::UnboundedSender<SessionEvent>,
    pub(super) events_rx: mpsc::UnboundedReceiver<SessionEvent>,
    pub(super) maps: Option<Maps>,
    pub(super) sessions: HashMap<i32, OsdSession>,
    /// OSDs whose session is being opened, with the tids waiting for it.
    pub(super) opening: HashMap<i32, VecDeque<u64>>,
    pub(super) incarnation: u64,
    pub(super) ops: BTreeMap<u64, InFlight>,
    pub(super) next_tid: u64,
    pub(super) fsid: Uuid,
    /// Watches, by cookie.
    pub(super) lingers: HashMap<u64, Linger>,
    /// Notifies waiting for their completion, by cookie.
    pub(super) notifies: HashMap<u64, oneshot::Sender<(i32, Bytes)>>,
    /// Backoffs the OSDs asked for, by OSD.
    pub(super) backoffs: HashMap<i32, Vec<crate::osd::backoff::MOsdBackoff>>,
    /// When the watches were last pinged.
    pub(super) last_ping: Instant,
}

enum Input {
    Cmd(Option<Cmd>),
    Map(std::result::Result<MapUpdate, tokio::sync::broadcast::error::RecvError>),
    Session(Option<SessionEvent>),
    Opened(i32, u64, Result<OsdSession>),
    Tick,
}

const TICK: Duration = Duration::from_secs(1);

impl Task {
    async fn run(mut self) {
        let (opened_tx, mut opened_rx) =
            mpsc::unbounded_channel::<(i32, u64, Result<OsdSession>)>();
        loop {
            let input = tokio::select! {
                c = self.rx.recv() => Input::Cmd(c),
                m = self.updates.recv() => Input::Map(m),
                e = self.events_rx.recv() => Input::Session(e),
                o = opened_rx.recv() => match o {
                    Some((osd, inc, r)) => Input::Opened(osd, inc, r),
                    None => Input::Tick,
                },
                _ = tokio::time::sleep(TICK) => Input::Tick,
            };
            match input {
                Input::Cmd(None) => return,
                Input::Cmd(Some(Cmd::Submit { req, reply, permit })) => {
                    self.submit(req, Waiter::User(reply), Some(permit), &opened_tx);
                }
                Input::Cmd(Some(Cmd::Linger(c))) => self.handle_linger_cmd(c, &opened_tx),
                Input::Map(Ok(MapUpdate::OsdMap { front, version })) => {
                    if let Err(e) = self.handle_osdmap(&front, version) {
                        warn!("OSD map message unusable: {e}");
                    }
                    self.retarget_all(&opened_tx);
                    self.retarget_lingers(&opened_tx);
                }
                Input::Map(Ok(MapUpdate::MonMap(_))) => {}
                Input::Map(Err(tokio::sync::broadcast::error::RecvError::Lagged(n))) => {
                    warn!("missed {n} map messages; asking for the map again");
                    let from = self
                        .maps
                        .as_ref()
                        .map_or(0, |m| u64::from(m.osdmap.epoch) + 1);
                    let _ = self.mon.subscribe("osdmap", from, false);
                }
                Input::Map(Err(_)) => return,
                Input::Session(None) => return,
                Input::Session(Some(ev)) => self.handle_session_event(ev, &opened_tx),
                Input::Opened(osd, inc, r) => self.handle_opened(osd, inc, r, &opened_tx),
                Input::Tick => {
                    self.expire();
                    self.ping_lingers(&opened_tx);
                    let waiting: Vec<u64> = self
                        .ops
                        .iter()
                        .filter(|(_, o)| o.sent_to.is_none())
                        .map(|(t, _)| *t)
                        .filter(|t| !self.opening.values().any(|q| q.contains(t)))
                        .collect();
                    for tid in waiting {
                        self.dispatch(tid, &opened_tx);
                    }
                }
            }
        }
    }

    /// Decodes an MOSDOp message and brings the map up to date.
    fn handle_osdmap(&mut self, front: &[u8], _version: u16) -> Result<()> {
        let dec = |e| RadosError::Decode {
            what: "MOSDMap",
            source: e,
        };
        let mut r = Reader::new(front);
        let fsid: Uuid = r.read().map_err(dec)?;
        if fsid != self.fsid {
            return Err(RadosError::OtherCluster {
                what: "an OSD map",
                theirs: fsid,
                ours: self.fsid,
            });
        }
        let incrementals: BTreeMap<u32, Bytes> = r.read().map_err(dec)?;
        let fulls: BTreeMap<u32, Bytes> = r.read().map_err(dec)?;
        let mut map: Option<OsdMap> = self.maps.as_ref().map(|m| (*m.osdmap).clone());
        let mut crush_changed = false;
        let first = incrementals
            .keys()
            .chain(fulls.keys())
            .min()
            .copied()
            .unwrap_or(0);
        let last = incrementals
            .keys()
            .chain(fulls.keys())
            .max()
            .copied()
            .unwrap_or(0);
        for epoch in first..=last {
            let have = map.as_ref().map_or(0, |m| m.epoch);
            if epoch <= have {
                continue;
            }
            if let Some(full) = fulls.get(&epoch) {
                map = Some(OsdMap::from_bytes(full).map_err(dec)?);
                crush_changed = true;
            } else if let (Some(inc), Some(m)) = (incrementals.get(&epoch), map.as_mut()) {
                if epoch != m.epoch + 1 {
                    break;
                }
                let inc = crate::osdmap::Incremental::from_bytes(inc).map_err(dec)?;
                crush_changed |= !inc.crush.is_empty() || !inc.fullmap.is_empty();
                m.apply_incremental(&inc)
                    .map_err(|source| RadosError::OsdMap { epoch, source })?;
            } else {
                // A gap: ask for the maps from where we are.
                let from = u64::from(have) + 1;
                info!(have, "gap in OSD maps; asking from epoch {from}");
                let _ = self.mon.subscribe("osdmap", from, false);
                break;
            }
        }
        let Some(map) = map else { return Ok(()) };
        if self
            .maps
            .as_ref()
            .is_some_and(|m| m.osdmap.epoch == map.epoch)
        {
            return Ok(());
        }
        let crush = match (&self.maps, crush_changed) {
            (Some(m), false) => m.crush.clone(),
            _ => Arc::new(CrushMap::decode_exact(&map.crush).map_err(dec)?),
        };
        debug!(epoch = map.epoch, "new OSD map");
        let maps = Maps {
            osdmap: Arc::new(map),
            crush,
        };
        self.maps = Some(maps.clone());
        let _ = self.maps_tx.send(Some(maps));
        Ok(())
    }

    /// Registers a new op and sends it.
    pub(super) fn submit(
        &mut self,
        req: OpRequest,
        waiter: Waiter,
        permit: Option<OwnedSemaphorePermit>,
        opened_tx: &mpsc::UnboundedSender<(i32, u64, Result<OsdSession>)>,
    ) -> u64 {
        let tid = self.next_tid;
        self.next_tid += 1;
        let deadline = self.opts.op_timeout.map(|t| Instant::now() + t);
        self.ops.insert(
            tid,
            InFlight {
                req,
                waiter,
                _permit: permit,
                sent_to: None,
                sent_pg_num: 0,
                attempts: 0,
                deadline,
                oloc_override: None,
            },
        );
        self.dispatch(tid, opened_tx);
        tid
    }

    fn complete(&mut self, tid: u64, r: Result<OpReply>) {
        self.complete_from(tid, None, r, None);
    }

    /// Completes `tid`; `from` is the OSD and session that answered.
    fn complete_from(
        &mut self,
        tid: u64,
        from: Option<(i32, u64)>,
        r: Result<OpReply>,
        opened_tx: Option<&mpsc::UnboundedSender<(i32, u64, Result<OsdSession>)>>,
    ) {
        let Some(op) = self.ops.remove(&tid) else {
            return;
        };
        match op.waiter {
            Waiter::User(reply) => {
                if let (Some(from), Ok(reply)) = (from, &r) {
                    self.note_watch_reply(&op.req, from, reply);
                }
                let _ = reply.send(r);
            }
            Waiter::Linger(cookie) => {
                if let Some(tx) = opened_tx {
                    self.linger_op_done(cookie, &op.req, from, r, tx);
                }
            }
        }
    }

    /// Computes where `tid` goes and sends it, or leaves it waiting (no
    /// map, paused, no primary, session opening).
    pub(super) fn dispatch(
        &mut self,
        tid: u64,
        opened_tx: &mpsc::UnboundedSender<(i32, u64, Result<OsdSession>)>,
    ) {
        let Some(maps) = self.maps.clone() else {
            return;
        };
        let Some(op) = self.ops.get(&tid) else { return };
        let map = &maps.osdmap;
        let pool_id = op.oloc_override.as_ref().map_or(op.req.pool, |o| o.pool);
        let Some(pool) = map.pools.get(&pool_id) else {
            let name = format!("pool {pool_id}");
            self.complete(tid, Err(RadosError::NoSuchPool(name)));
            return;
        };
        let write = op.req.is_write();
        let pool_full = pool.has_flag(pool_flags::FULL) || pool.has_flag(pool_flags::FULL_QUOTA);
        if (write && (map.writes_blocked() || pool_full)) || (!write && map.reads_blocked()) {
            debug!(tid, "op paused by the map's flags");
            return;
        }
        let placer = Placer::new(map, &maps.crush);
        let (nspace, key) = match &op.oloc_override {
            Some(o) => (o.nspace.clone(), o.key.clone()),
            None => (op.req.nspace.clone(), op.req.key.clone()),
        };
        let target = match op.req.pg {
            Some(seed) => placer
                .pg_to_up_acting(PgId::new(pool_id, seed))
                .map(|m| (m, seed)),
            None => placer.object_to_up_acting(pool_id, &op.req.oid, &key, &nspace),
        };
        let Some((mapping, hash)) = target else {
            self.complete(tid, Err(RadosError::Placement { pool: pool_id }));
            return;
        };
        let osd = mapping.acting_primary;
        if osd < 0 {
            debug!(tid, pg = %mapping.pgid.seed, "no primary; waiting for a new map");
            return;
        }
        let pgid = mapping.pgid;
        let shard = mapping.primary_shard(pool.is_erasure());
        let interval = u64::from(map.epoch);
        let pg_num = pool.pg_num;
        if self.blocked_by_backoff(osd, pgid, hash, &op.req, &nspace, &key) {
            debug!(tid, osd, "op held back by an OSD backoff");
            return;
        }
        let Some(session) = self.sessions.get(&osd).filter(|s| s.is_open()) else {
            // Open a session; the op is sent once it is open.
            self.opening.entry(osd).or_default().push_back(tid);
            if self.opening.get(&osd).is_some_and(|q| q.len() == 1) {
                self.open_session(osd, map, opened_tx);
            }
            return;
        };
        let Some(op) = self.ops.get_mut(&tid) else {
            return;
        };
        let mut flags = flag::KNOWN_REDIR
            | if write {
                flag::WRITE | flag::ONDISK
            } else {
                flag::READ
            };
        if op.req.ops.iter().any(|o| o.code == code::CALL) {
            flags |= flag::EXEC;
        }
        if op.attempts > 0 {
            flags |= flag::RETRY;
        }
        if op.req.pg.is_some() {
            flags |= flag::PGOP;
        }
        let oloc = op.oloc_override.clone().unwrap_or_else(|| ObjectLocator {
            key: key.clone(),
            ..ObjectLocator::new(pool_id, &nspace)
        });
        let m = MOsdOp {
            spgid: SPgId { pgid, shard },
            hash,
            epoch: map.epoch,
            flags,
            reqid: ReqId::default(),
            mtime: if write {
                UTime::now().unwrap_or_default()
            } else {
                UTime::default()
            },
            oloc,
            oid: op.req.oid.clone(),
            ops: op.req.ops.clone(),
            snapid: op.req.snapid,
            snap_seq: op.req.snapc.seq,
            snaps: op.req.snapc.snaps.clone(),
            retry_attempt: op.attempts,
            features: ceph_encoding::features::CEPH_FEATURES_SUPPORTED_DEFAULT,
        };
        let (front, data) = m.encode_parts();
        let msg = Message::new(MSG_OSD_OP, MOSDOP_VERSION, MOSDOP_COMPAT, front)
            .with_tid(tid)
            .with_data(data);
        op.attempts += 1;
        op.sent_to = Some((osd, pgid, interval));
        op.sent_pg_num = pg_num;
        if !session.send(msg) {
            self.sessions.remove(&osd);
            if let Some(op) = self.ops.get_mut(&tid) {
                op.sent_to = None;
            }
            self.dispatch(tid, opened_tx);
        }
    }

    fn open_session(
        &mut self,
        osd: i32,
        map: &OsdMap,
        opened_tx: &mpsc::UnboundedSender<(i32, u64, Result<OsdSession>)>,
    ) {
        let Some(addr) = map.addrs(osd).and_then(|v| v.msgr2_addr()) else {
            warn!(osd, "osd has no msgr2 address in the map");
            return;
        };
        self.incarnation += 1;
        let inc = self.incarnation;
        let params = self.params.clone();
        let events = self.events_tx.clone();
        let opened = opened_tx.clone();
        tokio::spawn(async move {
            let r = OsdSession::open(osd, addr, inc, &params, events).await;
            let _ = opened.send((osd, inc, r));
        });
    }

    fn handle_opened(
        &mut self,
        osd: i32,
        _inc: u64,
        r: Result<OsdSession>,
        opened_tx: &mpsc::UnboundedSender<(i32, u64, Result<OsdSession>)>,
    ) {
        let waiting: Vec<u64> = self.opening.remove(&osd).map(Vec::from).unwrap_or_default();
        match r {
            Ok(s) => {
                self.sessions.insert(osd, s);
            }
            Err(e) => {
                warn!(
                    osd,
                    "cannot open a session with osd.{osd}: {e}; retrying on the next map or tick"
                );
            }
        }
        for tid in waiting {
            if self.sessions.contains_key(&osd) {
                self.dispatch(tid, opened_tx);
            }
        }
    }

    fn handle_session_event(
        &mut self,
        ev: SessionEvent,
        opened_tx: &mpsc::UnboundedSender<(i32, u64, Result<OsdSession>)>,
    ) {
        match ev {
            SessionEvent::Message {
                osd,
                msg,
                incarnation,
            } => {
                if msg.msg_type == crate::osd::watch::MSG_WATCH_NOTIFY {
                    self.handle_watch_notify(osd, &msg, opened_tx);
                    return;
                }
                if msg.msg_type == crate::osd::messages::MSG_OSD_BACKOFF {
                    self.handle_backoff(osd, incarnation, &msg, opened_tx);
                    return;
                }
                if msg.msg_type != MSG_OSD_OPREPLY {
                    debug!(osd, msg_type = msg.msg_type, "ignoring an OSD message");
                    return;
                }
                let reply = match MOsdOpReply::decode(&msg.front, msg.version, &msg.data) {
                    Ok(r) => r,
                    Err(e) => {
                        warn!(osd, "unusable op reply: {e}");
                        return;
                    }
                };
                let tid = msg.tid;
                let Some(op) = self.ops.get_mut(&tid) else {
                    return;
                };
                if op.sent_to.map(|s| s.0) != Some(osd) {
                    return; // a reply to an older attempt
                }
                if let Some(redirect) = reply.redirect {
                    debug!(tid, "redirected");
                    op.oloc_override = Some(redirect.redirect_locator);
                    op.sent_to = None;
                    self.dispatch(tid, opened_tx);
                    return;
                }
                if reply.result == ceph_common::errno::EAGAIN {
                    // EAGAIN: not the primary (any more); resend once the
                    // map says where to.
                    op.sent_to = None;
                    self.dispatch(tid, opened_tx);
                    return;
                }
                let reply = op_reply(&op.req, reply);
                self.complete_from(tid, Some((osd, incarnation)), reply, Some(opened_tx));
            }
            SessionEvent::Failed {
                osd,
                incarnation,
                error,
            } => {
                if self
                    .sessions
                    .get(&osd)
                    .is_some_and(|s| s.incarnation == incarnation)
                {
                    self.sessions.remove(&osd);
                }
                info!(osd, "session failed ({error}); resending its ops");
                self.backoffs.remove(&osd);
                self.lingers_lost_session(osd, incarnation, opened_tx);
                let tids: Vec<u64> = self
                    .ops
                    .iter()
                    .filter(|(_, o)| o.sent_to.map(|s| s.0) == Some(osd))
                    .map(|(t, _)| *t)
                    .collect();
                for tid in tids {
                    if let Some(op) = self.ops.get_mut(&tid) {
                        op.sent_to = None;
                    }
                    self.dispatch(tid, opened_tx);
                }
            }
        }
    }

    /// After a map change: resend every op whose target moved, and send
    /// those that were waiting.
    fn retarget_all(&mut self, opened_tx: &mpsc::UnboundedSender<(i32, u64, Result<OsdSession>)>) {
        let Some(maps) = self.maps.clone() else {
            return;
        };
        let placer = Placer::new(&maps.osdmap, &maps.crush);
        let mut resend = Vec::new();
        for (&tid, op) in &self.ops {
            match op.sent_to {
                None => resend.push(tid),
                Some((osd, pgid, _)) => {
                    let pool_id = op.oloc_override.as_ref().map_or(op.req.pool, |o| o.pool);
                    let now = match op.req.pg {
                        Some(seed) => placer
                            .pg_to_up_acting(PgId::new(pool_id, seed))
                            .map(|m| (m, seed)),
                        None => placer.object_to_up_acting(
                            pool_id,
                            &op.req.oid,
                            &op.req.key,
                            &op.req.nspace,
                        ),
                    };
                    let moved = match now {
                        Some((m, _)) => m.acting_primary != osd || m.pgid.seed != pgid.seed,
                        None => true,
                    };
                    let down = !maps.osdmap.is_up(osd);
                    let forced = maps.osdmap.pools.get(&pool_id).is_some_and(|p| {
                        u64::from(p.last_force_op_resend) > op.sent_to.map_or(0, |s| s.2)
                    });
                    // A split or merge of the pool's PGs since the op went
                    // out (Ceph's Objecter resends on is_split/is_merge_*;
                    // resending on any pg_num change is a superset, and a
                    // resent write is recognised by its reqid).
                    let split = maps
                        .osdmap
                        .pools
                        .get(&pool_id)
                        .is_some_and(|p| p.pg_num != op.sent_pg_num);
                    if moved || down || forced || split {
                        resend.push(tid);
                    }
                }
            }
        }
        for tid in resend {
            if let Some(op) = self.ops.get_mut(&tid) {
                op.sent_to = None;
            }
            self.dispatch(tid, opened_tx);
        }
    }

    fn expire(&mut self) {
        let now = Instant::now();
        let late: Vec<u64> = self
            .ops
            .iter()
            .filter(|(_, o)| o.deadline.is_some_and(|d| d <= now))
            .map(|(t, _)| *t)
            .collect();
        for tid in late {
            let what = self
                .ops
                .get(&tid)
                .map(|o| o.req.oid.clone())
                .unwrap_or_default();
            self.complete(
                tid,
                Err(RadosError::Timeout(format!("operation on {what}"))),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osd::{OpResult, OsdOp};

    fn reply(result: i32, n: usize) -> MOsdOpReply {
        MOsdOpReply {
            oid: "obj".into(),
            pgid: PgId::default(),
            flags: 0,
            result,
            epoch: 1,
            ops: (0..n)
                .map(|_| OpResult {
                    code: code::READ,
                    rval: 0,
                    outdata: Bytes::new(),
                })
                .collect(),
            retry_attempt: 0,
            user_version: 1,
            redirect: None,
        }
    }

    #[test]
    fn a_reply_with_another_op_count_than_the_request_is_refused() {
        let req = OpRequest::new(3, "obj", vec![OsdOp::read(0, 0), OsdOp::stat()]);
        for (result, n) in [(0, 0), (0, 1), (0, 3), (-2, 0)] {
            let text = op_reply(&req, reply(result, n))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                text.contains("obj") && text.contains(&format!("{n} op")) && text.contains("2 op"),
                "{result}/{n}: {text:?}"
            );
        }
        let ok = op_reply(&req, reply(-2, 2)).map(|r| (r.result, r.ops.len()));
        assert_eq!(ok.ok(), Some((-2, 2)));
    }
}
