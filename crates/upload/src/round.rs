//! The snapshot ids of a batch of uploads in shared monitor rounds.
//!
//! Each clone needs two self-managed snapshot ids, each a pool operation
//! the monitor answers only once an OSD map that records it is committed.
//! The monitor gathers the pool operations that reach it close together
//! into one proposal (one epoch), so the uploads of one batch send theirs
//! together: each takes a [`Seat`] in the batch's [`Round`], and an upload
//! ready for its ids waits until every other upload of the batch is ready
//! too or has left (it streams, or failed before), then all send at once.

use std::sync::Arc;
use std::time::Duration;

use ceph_rados::{IoCtx, RadosError, SnapIdGrant};
use tokio::sync::watch;

/// How long an upload ready for its ids waits for the rest of its batch
/// before it goes alone (a stuck upload must not hold the others).
const WAIT: Duration = Duration::from_secs(5);

/// The uploads of one batch, counting those not yet ready for their ids.
#[derive(Debug)]
pub(crate) struct Round {
    outstanding: watch::Sender<usize>,
}

impl Round {
    /// A round for `uploads` uploads; give each a [`Round::seat`].
    pub(crate) fn new(uploads: usize) -> Arc<Round> {
        Arc::new(Round {
            outstanding: watch::Sender::new(uploads),
        })
    }

    /// The place of one upload.
    pub(crate) fn seat(self: &Arc<Self>) -> Seat {
        Seat {
            round: self.clone(),
            arrived: false,
        }
    }
}

/// One upload's place in a [`Round`]: it counts as outstanding until it
/// allots its ids ([`Seat::allot`]) or is dropped (the upload will not
/// clone).
#[derive(Debug)]
pub(crate) struct Seat {
    round: Arc<Round>,
    arrived: bool,
}

impl Seat {
    fn arrive(&mut self) {
        if !self.arrived {
            self.arrived = true;
            self.round
                .outstanding
                .send_modify(|n| *n = n.saturating_sub(1));
        }
    }

    /// Allots one snapshot id in `a`'s pool and one in `b`'s, once every
    /// other upload of the round is ready for its own ids or has left.
    pub(crate) async fn allot(
        mut self,
        a: &IoCtx,
        b: &IoCtx,
    ) -> (
        Result<SnapIdGrant, RadosError>,
        Result<SnapIdGrant, RadosError>,
    ) {
        self.arrive();
        let mut rx = self.round.outstanding.subscribe();
        if tokio::time::timeout(WAIT, rx.wait_for(|n| *n == 0))
            .await
            .is_err()
        {
            tracing::info!(
                "not every upload of the batch was ready for its snapshot ids within {WAIT:?}: allotting without them"
            );
        }
        tokio::join!(
            a.selfmanaged_snap_create_with_epoch(),
            b.selfmanaged_snap_create_with_epoch()
        )
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.arrive();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_last_to_arrive_or_leave_releases_the_round() {
        let round = Round::new(3);
        let (mut a, b, c) = (round.seat(), round.seat(), round.seat());
        let mut rx = round.outstanding.subscribe();
        a.arrive();
        assert_eq!(*rx.borrow_and_update(), 2);
        drop(b);
        assert_eq!(*rx.borrow_and_update(), 1);
        // Arriving twice (allot, then drop) counts once.
        a.arrive();
        drop(a);
        assert_eq!(*rx.borrow_and_update(), 1);
        drop(c);
        assert_eq!(*rx.borrow_and_update(), 0);
    }
}
