//! The objecter's tokio driver, and [`Objecter`], the handle on it.
//!
//! The driver owns the [`ObjecterCore`] and moves things between it and
//! the world: commands from handles, map messages from the monitor
//! client, messages and failures from OSD sessions, sessions opened in
//! spawned futures; it carries out the core's actions and sleeps until
//! the core's next deadline, on one timer that survives every pass of
//! its loop.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use ceph_encoding::UTime;
use tokio::sync::{broadcast, mpsc, oneshot, watch, OwnedSemaphorePermit, Semaphore};
use tracing::{debug, warn};

use super::core::{Action, ObjecterCore};
use super::linger_state::WatchEvent;
use super::request::{Maps, ObjecterOptions, OpReply, OpRequest};
use super::timer::Timer;
use crate::error::{RadosError, Result};
use crate::mon::{MapUpdate, MonClient};
use crate::osd::session::{OsdSession, SessionEvent, SessionParams};

pub(super) enum Cmd {
    Submit {
        req: OpRequest,
        reply: oneshot::Sender<Result<OpReply>>,
        permit: OwnedSemaphorePermit,
    },
    Linger(LingerCmd),
}

/// Requests to the driver about watches and notifies.
pub(super) enum LingerCmd {
    Add {
        cookie: u64,
        target: OpRequest,
        events: mpsc::UnboundedSender<WatchEvent>,
    },
    Remove {
        cookie: u64,
    },
    AddNotify {
        cookie: u64,
        done: oneshot::Sender<(i32, Bytes)>,
    },
    RemoveNotify {
        cookie: u64,
    },
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
        let (opened_tx, opened_rx) = mpsc::unbounded_channel();
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
        let driver = Driver {
            core: ObjecterCore::new(mon.fsid(), &opts, Instant::now()),
            mon: mon.clone(),
            params,
            rx,
            updates,
            maps_tx,
            events_tx,
            events_rx,
            opened_tx,
            opened_rx,
            sessions: HashMap::new(),
            waiters: HashMap::new(),
            watches: HashMap::new(),
            notifies: HashMap::new(),
        };
        tokio::spawn(driver.run());
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

type Opened = (i32, u64, Result<OsdSession>);

/// The driver's state: the core, and the IO around it.
struct Driver {
    core: ObjecterCore,
    mon: MonClient,
    params: SessionParams,
    rx: mpsc::UnboundedReceiver<Cmd>,
    updates: broadcast::Receiver<MapUpdate>,
    maps_tx: watch::Sender<Option<Maps>>,
    events_tx: mpsc::UnboundedSender<SessionEvent>,
    events_rx: mpsc::UnboundedReceiver<SessionEvent>,
    opened_tx: mpsc::UnboundedSender<Opened>,
    opened_rx: mpsc::UnboundedReceiver<Opened>,
    /// Open sessions, by OSD.
    sessions: HashMap<i32, OsdSession>,
    /// Callers waiting for their op, with the bytes they hold.
    waiters: HashMap<u64, (oneshot::Sender<Result<OpReply>>, OwnedSemaphorePermit)>,
    /// Where each watch's events go.
    watches: HashMap<u64, mpsc::UnboundedSender<WatchEvent>>,
    /// Notifies waiting for their completion, by cookie.
    notifies: HashMap<u64, oneshot::Sender<(i32, Bytes)>>,
}

enum Input {
    Cmd(Option<Cmd>),
    Map(std::result::Result<MapUpdate, broadcast::error::RecvError>),
    Session(Option<SessionEvent>),
    Opened(Option<Opened>),
    Timeout,
}

impl Driver {
    async fn run(mut self) {
        let mut timer = Timer::new();
        loop {
            self.carry_out_actions();
            timer.set(self.core.poll_timeout());
            let input = tokio::select! {
                c = self.rx.recv() => Input::Cmd(c),
                m = self.updates.recv() => Input::Map(m),
                e = self.events_rx.recv() => Input::Session(e),
                o = self.opened_rx.recv() => Input::Opened(o),
                () = timer.wait() => Input::Timeout,
            };
            let now = Instant::now();
            match input {
                Input::Cmd(None) | Input::Session(None) | Input::Opened(None) => return,
                Input::Map(Err(broadcast::error::RecvError::Closed)) => return,
                Input::Cmd(Some(cmd)) => self.handle_cmd(now, cmd),
                Input::Map(Ok(MapUpdate::OsdMap { front, .. })) => {
                    if let Err(e) = self.core.handle_osdmap(now, &front) {
                        warn!("OSD map message unusable: {e}");
                    }
                }
                Input::Map(Ok(MapUpdate::MonMap(_))) => {}
                Input::Map(Err(broadcast::error::RecvError::Lagged(n))) => {
                    warn!("missed {n} map messages; asking for the map again");
                    self.core.maps_lost(now);
                }
                Input::Session(Some(SessionEvent::Message {
                    osd,
                    incarnation,
                    msg,
                })) => self.core.handle_message(now, osd, incarnation, &msg),
                Input::Session(Some(SessionEvent::Failed {
                    osd,
                    incarnation,
                    error,
                })) => {
                    self.drop_session(osd, incarnation);
                    self.core.session_failed(now, osd, incarnation, &error);
                }
                Input::Opened(Some((osd, incarnation, r))) => match r {
                    // A session the core gave up on meanwhile is dropped,
                    // which closes it.
                    Ok(s) if self.core.expects_session(osd, incarnation) => {
                        self.sessions.insert(osd, s);
                        self.core.session_opened(now, osd, incarnation);
                    }
                    Ok(_) => debug!(osd, "dropping a session no longer wanted"),
                    Err(e) => {
                        self.core
                            .session_failed(now, osd, incarnation, &e.to_string());
                    }
                },
                Input::Timeout => self.core.handle_timeout(now),
            }
        }
    }

    fn handle_cmd(&mut self, now: Instant, cmd: Cmd) {
        match cmd {
            Cmd::Submit { req, reply, permit } => {
                let mtime = UTime::now().unwrap_or_default();
                let tid = self.core.submit(now, mtime, req);
                self.waiters.insert(tid, (reply, permit));
            }
            Cmd::Linger(LingerCmd::Add {
                cookie,
                target,
                events,
            }) => {
                self.watches.insert(cookie, events);
                self.core.add_watch(now, cookie, target);
            }
            Cmd::Linger(LingerCmd::Remove { cookie }) => {
                self.watches.remove(&cookie);
                self.core.remove_watch(cookie);
            }
            Cmd::Linger(LingerCmd::AddNotify { cookie, done }) => {
                self.notifies.insert(cookie, done);
            }
            Cmd::Linger(LingerCmd::RemoveNotify { cookie }) => {
                self.notifies.remove(&cookie);
            }
        }
    }

    /// Forgets session `incarnation` with `osd` (dropping the handle
    /// closes it).
    fn drop_session(&mut self, osd: i32, incarnation: u64) {
        if self
            .sessions
            .get(&osd)
            .is_some_and(|s| s.incarnation == incarnation)
        {
            self.sessions.remove(&osd);
        }
    }

    /// Does what the core asks.
    fn carry_out_actions(&mut self) {
        while let Some(action) = self.core.poll_action() {
            match action {
                Action::OpenSession {
                    osd,
                    addr,
                    incarnation,
                } => {
                    let params = self.params.clone();
                    let events = self.events_tx.clone();
                    let opened = self.opened_tx.clone();
                    tokio::spawn(async move {
                        let r = OsdSession::open(osd, addr, incarnation, &params, events).await;
                        let _ = opened.send((osd, incarnation, r));
                    });
                }
                Action::Send {
                    osd,
                    incarnation,
                    msg,
                } => {
                    let sent = self
                        .sessions
                        .get(&osd)
                        .filter(|s| s.incarnation == incarnation)
                        .is_some_and(|s| s.send(msg));
                    if !sent {
                        self.drop_session(osd, incarnation);
                        self.core.session_failed(
                            Instant::now(),
                            osd,
                            incarnation,
                            "the session's task has ended",
                        );
                    }
                }
                Action::CloseSession { osd, incarnation } => self.drop_session(osd, incarnation),
                Action::Complete { tid, result } => {
                    if let Some((reply, _permit)) = self.waiters.remove(&tid) {
                        let _ = reply.send(result);
                    }
                }
                Action::Watch { cookie, event } => {
                    if let Some(tx) = self.watches.get(&cookie) {
                        let _ = tx.send(event);
                    }
                }
                Action::NotifyDone { cookie, code, data } => {
                    if let Some(done) = self.notifies.remove(&cookie) {
                        let _ = done.send((code, data));
                    }
                }
                Action::RequestMaps { from } => {
                    debug!(from, "asking the monitor for OSD maps");
                    if let Err(e) = self.mon.subscribe("osdmap", u64::from(from), false) {
                        warn!("cannot ask for OSD maps: {e}");
                    }
                }
                Action::PublishMaps(maps) => {
                    let _ = self.maps_tx.send(Some(maps));
                }
            }
        }
    }
}
