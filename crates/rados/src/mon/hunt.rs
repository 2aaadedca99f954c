//! Hunting for a monitor: which monitor to try next, and what a failed
//! attempt means (a refusal of our credentials or of our connection modes
//! ends the hunt; anything else moves on to the next monitor).

use std::time::{Duration, Instant};

use ceph_cephx::Cipher;
use ceph_common::errno::{EACCES, EPERM};
use ceph_common::Errno;

use super::types::MonClientOptions;
use crate::config::{MonEndpoint, Protocol, MODE_CRC, MODE_SECURE};
use crate::error::RadosError;

/// The pause after every monitor was tried once without success.
pub const ROUND_PAUSE: Duration = Duration::from_millis(500);
/// Extra time a connection attempt is given over its own timeout before
/// the core counts it as failed (the driver reports every attempt; this
/// is a guard).
pub const ATTEMPT_GRACE: Duration = Duration::from_secs(2);

/// One connection attempt in flight.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// Its id (connection events of other attempts are stale).
    pub id: u64,
    /// The monitor tried.
    pub mon: MonEndpoint,
    /// When the core gives up waiting for its outcome.
    pub guard: Instant,
}

/// A hunt: from its start until a session opens or the hunt times out
/// (`client_mount_timeout`).
#[derive(Debug, Clone)]
pub struct Hunt {
    /// When the hunt fails.
    pub deadline: Instant,
    /// The attempt in flight.
    pub attempt: Option<Attempt>,
    /// When to start the next attempt (when none is in flight).
    pub next_try: Instant,
    /// Attempts since the last pause.
    pub in_round: usize,
    /// Rounds over every monitor that failed.
    pub rounds: u32,
    /// The monitors tried, for the final error.
    pub tried: Vec<String>,
    /// The last failure, for the final error.
    pub last: String,
    /// The monitor that just failed: tried last in the first round.
    pub avoid: Option<MonEndpoint>,
}

impl Hunt {
    /// A hunt starting at `now` that gives up after `timeout`, trying
    /// `avoid` only after the others.
    pub fn new(now: Instant, timeout: Duration, avoid: Option<MonEndpoint>) -> Hunt {
        Hunt {
            deadline: now.checked_add(timeout).unwrap_or(now),
            attempt: None,
            next_try: now,
            in_round: 0,
            rounds: 0,
            tried: Vec::new(),
            last: String::from("no msgr2 address to try"),
            avoid,
        }
    }

    /// How long the next attempt may take: `mon_client_hunt_interval`,
    /// half as long again after each failed round up to ten times as
    /// long (librados's backoff), and never more than the options'
    /// `attempt_timeout`.
    pub fn attempt_timeout(&self, opts: &MonClientOptions) -> Duration {
        let factor = 1.5f64
            .powi(i32::try_from(self.rounds).unwrap_or(i32::MAX))
            .min(10.0);
        opts.timeouts
            .mon_hunt_interval
            .mul_f64(factor)
            .min(opts.attempt_timeout)
    }

    /// Picks the next monitor among `mons` from `cursor` on, skipping the
    /// one to avoid while another is left in this round.
    pub fn pick(&mut self, mons: &[MonEndpoint], cursor: &mut usize) -> Option<MonEndpoint> {
        if mons.is_empty() {
            return None;
        }
        for _ in 0..=mons.len() {
            let ep = mons.get(*cursor % mons.len())?.clone();
            *cursor = cursor.wrapping_add(1);
            if mons.len() > 1 && self.avoid.as_ref() == Some(&ep) {
                // Once skipped, it is a candidate again in later rounds.
                self.avoid = None;
                continue;
            }
            return Some(ep);
        }
        None
    }

    /// The error of a hunt that ran out of time.
    pub fn no_monitor(&self, opts: &MonClientOptions) -> RadosError {
        let tried = if self.tried.is_empty() {
            opts.mons
                .iter()
                .flatten()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            self.tried.join(", ")
        };
        RadosError::NoMonitor {
            timeout_secs: opts.connect_timeout.as_secs(),
            tried,
            last: self.last.clone(),
        }
    }
}

/// The msgr2 endpoints of the configured monitors, in order.
pub fn v2_endpoints(mons: &[crate::config::MonAddrs]) -> Vec<MonEndpoint> {
    mons.iter()
        .flatten()
        .filter(|e| e.protocol == Protocol::V2)
        .cloned()
        .collect()
}

/// What a failed attempt on `mon` means: `Some` when it ends the hunt
/// (our key, our user or our connection modes are refused: another
/// monitor would say the same), `None` when another monitor may do.
pub fn fatal(err: &ceph_msgr2::Error, mon: &str, opts: &MonClientOptions) -> Option<RadosError> {
    let ceph_msgr2::Error::AuthRejected {
        method,
        result,
        allowed_methods,
        allowed_modes,
    } = err
    else {
        if let ceph_msgr2::Error::Auth(failure) = err {
            return Some(RadosError::AuthFailed {
                entity: opts.name.to_string(),
                detail: failure.to_string(),
            });
        }
        return None;
    };
    let refused_key = *result == EACCES || *result == EPERM;
    if refused_key && opts.key.as_ref().map(|k| k.cipher()) == Some(Cipher::Aes) {
        return Some(RadosError::KeyTypeRefused {
            entity: opts.name.to_string(),
            mon: mon.to_string(),
        });
    }
    if refused_key {
        return Some(RadosError::AuthFailed {
            entity: opts.name.to_string(),
            detail: format!(
                "the monitor at {mon} refused our key ({}); check the keyring and the user",
                Errno(*result)
            ),
        });
    }
    if !allowed_modes.is_empty() && !allowed_modes.iter().any(|m| opts.mon_modes.contains(m)) {
        return Some(RadosError::ModeMismatch {
            peer: mon.to_string(),
            offered: mode_names(&opts.mon_modes),
            allowed: mode_names(allowed_modes),
        });
    }
    Some(RadosError::AuthFailed {
        entity: opts.name.to_string(),
        detail: format!(
            "the monitor at {mon} refused method {} in mode {} ({}); it allows methods {} and modes {}",
            method_name(*method),
            mode_names(&opts.mon_modes),
            Errno(*result),
            allowed_methods
                .iter()
                .map(|m| method_name(*m))
                .collect::<Vec<_>>()
                .join(" "),
            mode_names(allowed_modes),
        ),
    })
}

/// A copy of a hunt's final error for each request it fails: the
/// authentication and reachability errors as they are, anything else as a
/// timeout with its text.
pub fn copy_error(e: &RadosError) -> RadosError {
    match e {
        RadosError::AuthFailed { entity, detail } => RadosError::AuthFailed {
            entity: entity.clone(),
            detail: detail.clone(),
        },
        RadosError::KeyTypeRefused { entity, mon } => RadosError::KeyTypeRefused {
            entity: entity.clone(),
            mon: mon.clone(),
        },
        RadosError::ModeMismatch {
            peer,
            offered,
            allowed,
        } => RadosError::ModeMismatch {
            peer: peer.clone(),
            offered: offered.clone(),
            allowed: allowed.clone(),
        },
        RadosError::NoMonitor {
            timeout_secs,
            tried,
            last,
        } => RadosError::NoMonitor {
            timeout_secs: *timeout_secs,
            tried: tried.clone(),
            last: last.clone(),
        },
        other => RadosError::Timeout(other.to_string()),
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
            MODE_CRC => "crc".to_string(),
            MODE_SECURE => "secure".to_string(),
            other => format!("mode {other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}
