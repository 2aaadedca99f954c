//! The core's ticket work: when service tickets and the AUTH ticket are
//! due, the MAuth requests that renew them, their answers, and the fresh
//! session that renews the AUTH ticket when the monitor will not.

use std::time::{Duration, Instant, SystemTime};

use ceph_cephx::SERVICE_AUTH;
use ceph_encoding::Encode;
use ceph_msgr2::session::Message;
use tracing::{debug, info, warn};

use super::{Action, Link, MonCore, Session};
use crate::mon::messages::{MonAuth, MonAuthReply, PaxosHeader, MSG_AUTH};

/// How the AUTH ticket is renewed.
///
/// As Ceph's MonClient (`_check_auth_tickets`, then
/// `CephxClientHandler::build_request`) and the kernel (`auth_x.c`
/// `ceph_x_build_request`) do, in the live session: when it is due (three
/// quarters of its life, `auth_mon_ticket_ttl` on the monitor) an MAuth
/// with `CEPHX_GET_AUTH_SESSION_KEY`, whose proof is computed from the
/// server challenge of the session's handshake (the monitor keeps that
/// challenge in the session's auth handler), shows the old ticket and gets
/// a new one with the service tickets that are due.
///
/// When the monitor refuses that request, or does not answer it within
/// [`AUTH_IN_SESSION_WAIT`], the core falls back on a fresh session: it
/// drops this one and hunts, and the new handshake shows the old ticket and
/// gets a new one, through the code every connection runs. Pending
/// requests are sent again on the new session, as after any reconnection;
/// OSD sessions are not touched.
///
/// A session is kept at least this long before it is replaced for that
/// reason, so that a ticket that is due at once (a skewed clock, a very
/// short ttl) cannot make the client reconnect in a loop.
pub const AUTH_RENEWAL: Duration = Duration::from_secs(30);

/// How long an in-session AUTH ticket request may go unanswered before a
/// fresh session renews the ticket instead.
pub const AUTH_IN_SESSION_WAIT: Duration = Duration::from_secs(10);

/// How long after an unanswered service ticket request another is sent.
pub const TICKET_RETRY: Duration = Duration::from_secs(5);

impl MonCore {
    fn wall(&self, now: Instant) -> SystemTime {
        self.epoch.1 + now.saturating_duration_since(self.epoch.0)
    }

    fn instant(&self, wall: SystemTime) -> Instant {
        let after = wall.duration_since(self.epoch.1).unwrap_or_default();
        self.epoch.0.checked_add(after).unwrap_or(self.epoch.0)
    }

    /// When the tickets need the core next in session `s`: the service
    /// tickets' renewal, the AUTH ticket's (in the session, or by a fresh
    /// session when that fails).
    pub(super) fn renewal_due(&self, s: &Session) -> Option<Instant> {
        let cephx = self.cephx.as_ref()?;
        let c = cephx.lock().ok()?;
        let wall = self.wall(s.last_heard.max(s.opened));
        let services = self.opts.want_services & !SERVICE_AUTH;
        let retry = self.ticket_retry_at.unwrap_or(s.opened);
        let service = if worth_asking(c.need(wall) & services) {
            Some(retry)
        } else {
            (0..32)
                .map(|b| 1u32 << b)
                .filter(|bit| services & bit != 0)
                .filter_map(|bit| c.tickets().get(bit).and_then(|t| t.renew_after))
                .min()
                .map(|w| self.instant(w).max(retry))
        };
        let fresh_session = s.opened + AUTH_RENEWAL;
        let auth = c
            .tickets()
            .get(SERVICE_AUTH)
            .and_then(|t| t.renew_after)
            .map(|w| self.instant(w))
            .map(|due| match s.auth_asked {
                _ if s.auth_refused || !c.can_renew_auth_ticket() => due.max(fresh_session),
                Some(asked) => (asked + AUTH_IN_SESSION_WAIT).max(fresh_session),
                None => due,
            });
        [service, auth].into_iter().flatten().min()
    }

    /// Asks for the tickets that are due: service tickets, and the AUTH
    /// ticket in the session; replaces the session when the AUTH ticket
    /// cannot be renewed in it (see [`AUTH_RENEWAL`]).
    pub(super) fn renew_tickets(&mut self, now: Instant) {
        let Some(cephx) = self.cephx.clone() else {
            return;
        };
        let wall = self.wall(now);
        let Link::Open(s) = &mut self.link else {
            return;
        };
        let Ok(c) = cephx.lock() else { return };
        let auth_due = c
            .tickets()
            .get(SERVICE_AUTH)
            .is_some_and(|t| t.needs_renewal(wall));
        let request = if auth_due {
            let in_session = !s.auth_refused && c.can_renew_auth_ticket();
            match s.auth_asked {
                None if in_session => {
                    s.auth_asked = Some(now);
                    info!(mon = %s.mon, "renewing the AUTH ticket in the monitor session");
                    Some(c.auth_ticket_request(wall))
                }
                Some(asked) if in_session && now < asked + AUTH_IN_SESSION_WAIT => {
                    // The answer brings the service tickets too.
                    self.ticket_retry_at = Some(asked + AUTH_IN_SESSION_WAIT);
                    None
                }
                _ if now >= s.opened + AUTH_RENEWAL => {
                    let mon = s.mon.clone();
                    drop(c);
                    info!(%mon, "the AUTH ticket is due; opening a fresh monitor session");
                    self.drop_session(now, None);
                    return;
                }
                _ => {
                    // The fresh session brings the service tickets too.
                    self.ticket_retry_at = Some(s.opened + AUTH_RENEWAL);
                    None
                }
            }
        } else {
            let services = self.opts.want_services & !SERVICE_AUTH;
            let retry_ok = self.ticket_retry_at.is_none_or(|t| now >= t);
            (worth_asking(c.need(wall) & services) && retry_ok)
                .then(|| c.service_ticket_request(wall))
        };
        drop(c);
        match request {
            None => {}
            Some(Err(e)) => {
                warn!("cannot ask for tickets: {e}");
                self.ticket_retry_at = Some(now + TICKET_RETRY);
            }
            Some(Ok(payload)) => {
                debug!("asking the monitor for cephx tickets");
                self.ticket_retry_at = Some(now + TICKET_RETRY);
                let m = MonAuth {
                    paxos: PaxosHeader::default(),
                    protocol: ceph_cephx::AUTH_METHOD_CEPHX,
                    auth_payload: payload,
                    monmap_epoch: 0,
                };
                self.actions
                    .push_back(Action::Send(Message::new(MSG_AUTH, 1, 1, m.to_bytes(0))));
            }
        }
    }

    pub(super) fn handle_auth_reply(&mut self, r: &MonAuthReply) {
        let Some(cephx) = self.cephx.clone() else {
            return;
        };
        let Link::Open(s) = &mut self.link else {
            return;
        };
        let wall = self.epoch.1 + s.last_heard.saturating_duration_since(self.epoch.0);
        let renewed = if r.result < 0 {
            Err(format!("refused: {} {}", r.result, r.result_msg))
        } else {
            match cephx.lock() {
                Ok(mut c) => c
                    .handle_service_ticket_reply(&r.result_bl, wall)
                    .map_err(|e| e.to_string()),
                Err(_) => Err("cephx client state poisoned".to_string()),
            }
        };
        match renewed {
            Ok(services) => {
                debug!(?services, "cephx tickets renewed");
                self.ticket_retry_at = None;
                if services.contains(&SERVICE_AUTH) {
                    s.auth_asked = None;
                    s.auth_refused = false;
                }
            }
            Err(e) => {
                warn!("ticket renewal failed: {e}");
                if s.auth_asked.is_some() {
                    // A fresh session renews it instead.
                    s.auth_refused = true;
                }
            }
        }
    }
}

/// Whether the service tickets in `need` are worth a request: not when
/// only the manager's is missing (a monitor may never hand it out, as
/// Ceph's `CephxClientHandler::_need_tickets` notes; asking again would
/// loop; it comes with the next request for other tickets).
fn worth_asking(need: u32) -> bool {
    need != 0 && need != ceph_cephx::SERVICE_MGR
}
