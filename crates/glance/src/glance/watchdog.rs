//! The no-progress watchdog of a streamed request body: a transfer with
//! no overall timeout (an image's data, of any size) still fails when the
//! server stops taking the data, or stops answering once it has it all.
//!
//! The body's stream tells the watchdog what it is doing. While it reads
//! its own source (the volume), any wait is ours, not the server's. Once
//! it has handed a chunk to the HTTP client, the client asks for the next
//! one only when the socket took the last: a chunk handed over and not
//! followed by a new request for the read timeout means the server took
//! nothing in that time (its socket buffers are full). Once the body is
//! all handed over, the server is to answer within the read timeout.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use tokio::time::Instant;

/// Where a body stream is, as the watchdog sees it.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Reading its source: waits are the caller's, not the server's.
    Source,
    /// Its last chunk was handed to the HTTP client at this instant (or
    /// the request began then): the server is to take it.
    Sending(Instant),
    /// All of it was handed over at this instant: the server is to answer.
    Answer(Instant),
}

/// What a stalled transfer was waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stall {
    /// The server took none of the data.
    Sending,
    /// The server had all the data and did not answer.
    Answer,
}

impl Stall {
    /// What the server did not do, for an error message.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Stall::Sending => "Glance took none of the data",
            Stall::Answer => "Glance sent no answer after the last of the data",
        }
    }
}

/// The phase of one body, shared by its stream ([`BodyWatch::wrap`]) and
/// its watchdog ([`BodyWatch::stalled`]).
#[derive(Debug, Clone)]
pub(crate) struct BodyWatch {
    phase: Arc<Mutex<Phase>>,
}

impl BodyWatch {
    /// A watch on a request still being prepared (a token fetched, say):
    /// nothing counts until [`BodyWatch::begin`].
    pub(crate) fn new() -> BodyWatch {
        BodyWatch {
            phase: Arc::new(Mutex::new(Phase::Source)),
        }
    }

    /// The request goes out now: the server is to take it (and then the
    /// body) from now on.
    pub(crate) fn begin(&self) {
        self.set(Phase::Sending(Instant::now()));
    }

    fn set(&self, phase: Phase) {
        if let Ok(mut p) = self.phase.lock() {
            *p = phase;
        }
    }

    fn get(&self) -> Phase {
        self.phase.lock().map_or(Phase::Source, |p| *p)
    }

    /// `stream` reporting its phase to this watch; `size`, when known,
    /// tells when the last chunk has been handed over (the HTTP client
    /// may not ask for the end of a body whose length it was given).
    pub(crate) fn wrap<S>(&self, stream: S, size: Option<u64>) -> Watched<S> {
        Watched {
            inner: Box::pin(stream),
            watch: self.clone(),
            left: size,
        }
    }

    /// Resolves when the server has made no progress for `limit`, with
    /// what it was waited for; never while the stream reads its source.
    pub(crate) async fn stalled(&self, limit: Duration) -> Stall {
        let tick = (limit / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
        loop {
            let (since, stall) = match self.get() {
                Phase::Source => {
                    tokio::time::sleep(tick).await;
                    continue;
                }
                Phase::Sending(t) => (t, Stall::Sending),
                Phase::Answer(t) => (t, Stall::Answer),
            };
            let waited = since.elapsed();
            if waited >= limit {
                return stall;
            }
            tokio::time::sleep((limit - waited).min(tick)).await;
        }
    }
}

/// A body stream that tells its [`BodyWatch`] what it does.
pub(crate) struct Watched<S> {
    inner: Pin<Box<S>>,
    watch: BodyWatch,
    /// Bytes still to come, when the size is known.
    left: Option<u64>,
}

impl<S, B, E> Stream for Watched<S>
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
{
    type Item = Result<B, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Asked for more: the client took the last chunk.
        self.watch.set(Phase::Source);
        let polled = self.inner.as_mut().poll_next(cx);
        let now = Instant::now();
        match &polled {
            Poll::Ready(Some(Ok(chunk))) => {
                let len = chunk.as_ref().len() as u64;
                let left = self.left.map(|l| l.saturating_sub(len));
                self.left = left;
                self.watch.set(if left == Some(0) {
                    Phase::Answer(now)
                } else {
                    Phase::Sending(now)
                });
            }
            Poll::Ready(Some(Err(_))) | Poll::Ready(None) => self.watch.set(Phase::Answer(now)),
            Poll::Pending => {}
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    type Chunk = Result<Vec<u8>, std::io::Error>;

    #[tokio::test(start_paused = true)]
    async fn a_slow_source_is_not_a_stall_but_a_slow_consumer_is() {
        let watch = BodyWatch::new();
        // A source that takes 10 s per chunk (the volume being slow).
        let source = futures_util::stream::iter(0..3).then(|i| async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok::<_, std::io::Error>(vec![i; 4])
        });
        let mut body = watch.wrap(source, Some(12));
        watch.begin();
        let limit = Duration::from_secs(2);
        // Consumed at once: no stall, however slow the source.
        for _ in 0..3 {
            tokio::select! {
                c = body.next() => assert!(c.is_some()),
                s = watch.stalled(limit) => panic!("stalled while reading the source: {s:?}"),
            }
        }
        // All handed over: the answer is awaited.
        assert_eq!(watch.stalled(limit).await, Stall::Answer);

        // A consumer that stops asking after the first chunk.
        let watch = BodyWatch::new();
        watch.begin();
        let chunks: Vec<Chunk> = vec![Ok(vec![1; 4]), Ok(vec![2; 4])];
        let mut body = watch.wrap(futures_util::stream::iter(chunks), None);
        assert!(body.next().await.is_some());
        let started = tokio::time::Instant::now();
        assert_eq!(watch.stalled(limit).await, Stall::Sending);
        let took = started.elapsed();
        assert!(took >= limit && took < limit * 2, "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_never_asked_for_its_body_stalls() {
        let watch = BodyWatch::new();
        let _body = watch.wrap(futures_util::stream::empty::<Chunk>(), None);
        // Not yet sent (a token being fetched): no stall, however long.
        tokio::select! {
            s = watch.stalled(Duration::from_secs(1)) => panic!("stalled before the request: {s:?}"),
            () = tokio::time::sleep(Duration::from_secs(10)) => {}
        }
        watch.begin();
        assert_eq!(watch.stalled(Duration::from_secs(1)).await, Stall::Sending);
    }
}
