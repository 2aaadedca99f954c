//! Waiting for many images at once: each poll round lists every image
//! being waited for in one request (`GET /v2/images?id=in:A,B,...`), so
//! that N uploads waiting for `active` cost Glance one request a round
//! instead of N. Glance spends about as much CPU on a list of 16 images as
//! on showing one, and on a busy Glance (one Python worker) those requests
//! compete with the location imports being waited for.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Deserialize;

use super::images::{Image, StatusWait};
use super::{segment, Glance};
use crate::error::Result;

/// Ids listed in one request (keeps the URL short).
const IDS_PER_LIST: usize = 50;

/// Image status waits of many callers, served by shared list requests.
#[derive(Debug)]
pub struct StatusBoard {
    glance: Arc<Glance>,
    state: Mutex<Board>,
    /// Held while a round's lists are sent: callers arriving meanwhile use
    /// its result instead of sending their own.
    polling: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct Board {
    /// Image id -> how many callers wait for it.
    waiting: BTreeMap<String, usize>,
    /// What the last round listed, and when that round started.
    seen: HashMap<String, Image>,
    round_started: Option<Instant>,
}

/// The body of `GET /v2/images`.
#[derive(Deserialize)]
pub(crate) struct ImageList {
    pub(crate) images: Vec<Image>,
}

/// Takes a caller's id off the board when its wait ends, however it ends.
struct Registration<'a> {
    board: &'a StatusBoard,
    id: String,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut b = self.board.lock();
        if let Some(n) = b.waiting.get_mut(&self.id) {
            *n -= 1;
            if *n == 0 {
                b.waiting.remove(&self.id);
                b.seen.remove(&self.id);
            }
        }
    }
}

impl StatusBoard {
    /// A board over `glance`.
    pub fn new(glance: Arc<Glance>) -> StatusBoard {
        StatusBoard {
            glance,
            state: Mutex::new(Board::default()),
            polling: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Board> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// As [`Glance::wait_for_status`], with the polls shared among the
    /// callers waiting at the same time. An image a round did not list (a
    /// Glance without the `in:` filter, or an image gone) is shown by
    /// itself, so the answer is the same as without the board.
    pub async fn wait_for_status(
        &self,
        id: &str,
        wanted: &[&str],
        timeout: Duration,
    ) -> Result<Image> {
        *self.lock().waiting.entry(id.to_string()).or_insert(0) += 1;
        let _registered = Registration {
            board: self,
            id: id.to_string(),
        };
        let mut wait = StatusWait::new(id, wanted, timeout);
        loop {
            let look = match self.look(id, Instant::now()).await {
                Some(image) => Ok(image),
                None => self.glance.show_image(id).await,
            };
            if let Some(image) = wait.judge(look)? {
                return Ok(image);
            }
            wait.pause().await?;
        }
    }

    /// Image `id` as listed by a round started at or after `after`
    /// (sending that round unless another caller just did), or `None` when
    /// the round did not list it or failed.
    async fn look(&self, id: &str, after: Instant) -> Option<Image> {
        let _one = self.polling.lock().await;
        let fresh = self.lock().round_started.is_some_and(|t| t >= after);
        if !fresh {
            let started = Instant::now();
            let ids: Vec<String> = self.lock().waiting.keys().cloned().collect();
            let mut seen = HashMap::new();
            for chunk in ids.chunks(IDS_PER_LIST) {
                match self.list(chunk).await {
                    Ok(images) => seen.extend(images.into_iter().map(|i| (i.id.clone(), i))),
                    Err(e) => {
                        tracing::debug!(error = %e, "listing the images waited for failed");
                        return None;
                    }
                }
            }
            let mut b = self.lock();
            b.seen = seen;
            b.round_started = Some(started);
        }
        self.lock().seen.get(id).cloned()
    }

    /// `GET /v2/images?id=in:...` for `ids`.
    async fn list(&self, ids: &[String]) -> Result<Vec<Image>> {
        let path = format!(
            "/v2/images?id=in:{}&limit={}",
            ids.iter().map(|i| segment(i)).collect::<Vec<_>>().join(","),
            ids.len()
        );
        let list: ImageList = self.glance.call_json(Method::GET, &path, None).await?;
        Ok(list.images)
    }
}
