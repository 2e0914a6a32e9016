//! The connection task: runs a [`Session`] over any `AsyncRead + AsyncWrite`.

use std::collections::VecDeque;
use std::future::Future;
use std::io::IoSlice;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Sleep;

use super::shared::SharedRef;
use crate::session::{CloseReason, Transmit};

/// Settings of the connection task, beyond the session's own.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// How long a write may make no progress at all (the peer stopped
    /// reading) before the session is closed. Default 30 s: a peer that
    /// takes not one byte for that long is gone or hostile (kernels retry
    /// a lost segment within a few seconds), while a slow but live reader
    /// never trips it, since any progress restarts the clock. A flush
    /// (bytes held in a TLS layer) and the final shutdown (a TLS
    /// close_notify) that do not complete are bounded by it too.
    pub write_timeout: Duration,
    /// Received bytes (payload and header blocks) the application has not
    /// yet taken, over all streams, beyond which the task stops reading the
    /// socket (TCP back-pressure). Under strict flow control the session
    /// window bounds the payload already, and this must stay above it
    /// (stopping reads also stops WINDOW_UPDATEs); without flow control
    /// (spdystream peers) this is the bound. Default 8 MiB, twice the
    /// default session window. Measured without flow control: 1, 4 and
    /// 16 MiB move one stream at the same speed within the benchmark's
    /// noise (0.58, 0.51 and 0.52 of raw TCP, medians of eight runs).
    pub max_buffered_recv: usize,
    /// Bytes read from the socket at a time. Default 64 KiB. Measured: 16,
    /// 64 and 256 KiB reads reach 0.67, 0.73 and 0.84 of raw TCP (medians),
    /// 0.74, 0.88 and 0.89 (best runs): 256 KiB may gain a little and costs
    /// four times the memory per busy connection. An idle connection keeps
    /// no read buffer at all.
    pub read_chunk: usize,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            write_timeout: Duration::from_secs(30),
            max_buffered_recv: 8 * 1024 * 1024,
            read_chunk: 64 * 1024,
        }
    }
}

/// Bytes waiting for the socket: small pieces coalesced, large DATA
/// payloads kept as they are for vectored writes.
#[derive(Default)]
struct WriteQueue {
    chunks: VecDeque<Bytes>,
    coalesce: BytesMut,
    len: usize,
}

/// Payloads at least this long go out as their own chunk, uncopied.
const ZERO_COPY_MIN: usize = 1024;
/// How much the queue holds before the task stops asking the session.
const WRITE_HIGH_WATER: usize = 256 * 1024;
/// Rounds of read, dispatch and write in one poll before the task yields,
/// so one busy connection cannot starve the others on its runtime thread.
const MAX_ROUNDS_PER_POLL: usize = 32;
/// Why the connection ended when the socket took nothing for the write timeout.
const STALLED: &str = "the peer stopped reading";

impl WriteQueue {
    fn push(&mut self, transmit: Transmit) {
        self.len += transmit.len();
        match transmit {
            Transmit::Control(bytes) => self.coalesce.extend_from_slice(&bytes),
            Transmit::Data { head, payload } => {
                self.coalesce.extend_from_slice(&head);
                if payload.len() >= ZERO_COPY_MIN {
                    self.seal();
                    self.chunks.push_back(payload);
                } else {
                    self.coalesce.extend_from_slice(&payload);
                }
            }
        }
    }

    fn seal(&mut self) {
        if !self.coalesce.is_empty() {
            self.chunks.push_back(self.coalesce.split().freeze());
        }
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn advance(&mut self, mut n: usize) {
        self.len -= n;
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            if n >= front.len() {
                n -= front.len();
                self.chunks.pop_front();
            } else {
                let _ = front.split_to(n);
                n = 0;
            }
        }
    }
}

/// The task that drives one connection. Spawn it (or await it); it ends
/// when the session ends, with the reason. A graceful end whose last bytes,
/// or the connection's shutdown, the peer did not take within the write
/// timeout is reported as [`CloseReason::ConnectionLost`] instead.
///
/// Made by [`connect`](super::connect).
#[must_use = "the connection does nothing unless spawned or awaited"]
pub struct Connection<IO> {
    io: IO,
    shared: SharedRef,
    config: DriverConfig,
    read_buf: BytesMut,
    write: WriteQueue,
    read_closed: bool,
    write_stalled_since: Option<Instant>,
    /// Why the task gave up writing (the socket took nothing for the
    /// write timeout): reported instead of a graceful end.
    gave_up: Option<String>,
    timer: Pin<Box<Sleep>>,
    /// Every handle is gone and our GOAWAY is queued.
    winding_down: bool,
    /// What the socket did since the session last looked.
    outcome: IoOutcome,
}

impl<IO> Connection<IO> {
    pub(crate) fn new(io: IO, shared: SharedRef, config: DriverConfig) -> Self {
        Connection {
            io,
            shared,
            read_buf: BytesMut::new(),
            config,
            write: WriteQueue::default(),
            read_closed: false,
            write_stalled_since: None,
            gave_up: None,
            timer: Box::pin(tokio::time::sleep(Duration::from_secs(3600))),
            winding_down: false,
            outcome: IoOutcome::default(),
        }
    }
}

/// What the socket did while the lock was not held, for the session to
/// learn under the next lock.
#[derive(Debug, Default)]
struct IoOutcome {
    /// Bytes arrived in `read_buf`.
    read: bool,
    /// The connection ended (EOF, a failed read or write, a write stall):
    /// why, for `connection_lost`.
    lost: Option<String>,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Future for Connection<IO> {
    type Output = CloseReason;

    /// Alternates two phases until neither makes progress: under the lock,
    /// the session takes what was read, acts on its timers, hands events to
    /// the handles and fills the write queue; without the lock, the socket
    /// is read and written. Socket calls (a TLS stream encrypts inside
    /// `poll_write`) never hold up the handles.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CloseReason> {
        let this = self.get_mut();
        let shared = this.shared.clone();
        for _ in 0..MAX_ROUNDS_PER_POLL {
            let now = super::now();
            // ----- with the lock: the session's work -----
            let mut state = shared.lock();
            match &state.driver_waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => state.driver_waker = Some(cx.waker().clone()),
            }
            let mut progress = false;
            if std::mem::take(&mut this.outcome.read) {
                state.session.receive(&mut this.read_buf, now);
                progress = true;
            }
            if let Some(why) = this.outcome.lost.take() {
                state.session.connection_lost(why);
                progress = true;
            }
            if state.handles == 0 && !state.incoming.is_empty() {
                // Nobody can accept them any more.
                state.refuse_unaccepted(now);
                progress = true;
            }
            if !this.winding_down
                && state.handles == 0
                && !state.session.is_closed()
                && state.slots.is_empty()
            {
                // Nobody can use the session any more: wind it down.
                this.winding_down = true;
                state.session.goaway(crate::frame::GoAwayStatus::Ok);
                progress = true;
            }
            // Timers of the session.
            if let Some(deadline) = state.session.poll_timeout()
                && now >= deadline
            {
                state.session.handle_timeout(now);
                progress = true;
            }
            // Hand events to the handles.
            while let Some(event) = state.session.poll_event() {
                state.dispatch(event);
                progress = true;
            }
            // Fill the write queue.
            while this.write.len < WRITE_HIGH_WATER {
                match state.session.poll_transmit(now) {
                    Some(transmit) => {
                        this.write.push(transmit);
                        progress = true;
                    }
                    None => break,
                }
            }
            // Data was sent: streams may have become writable.
            while let Some(event) = state.session.poll_event() {
                state.dispatch(event);
            }
            this.write.seal();
            // A peer that stopped reading will never take what is still
            // queued: drop it instead of waiting out the write timeout.
            if state.session.is_finished()
                && matches!(
                    state.session.close_reason(),
                    Some(CloseReason::PeerNotReading)
                )
                && !this.write.is_empty()
            {
                this.write = WriteQueue::default();
            }
            // The end: everything written, then shut the connection down.
            if state.session.is_finished() && this.write.is_empty() {
                while let Some(event) = state.session.poll_event() {
                    state.dispatch(event);
                }
                let reason = state
                    .session
                    .close_reason()
                    .cloned()
                    .unwrap_or(CloseReason::Graceful);
                state.mark_closed(reason.clone());
                drop(state);
                if Pin::new(&mut this.io).poll_shutdown(cx).is_pending() && !this.read_closed {
                    // A shutdown may have to write (a TLS close_notify) and
                    // wait for a peer that no longer reads: it gets the
                    // write timeout, then the connection is dropped as it is.
                    if !this.stalled(now) {
                        let deadline = this.stall_deadline().unwrap_or(now);
                        this.timer.as_mut().reset(deadline.into());
                        if this.timer.as_mut().poll(cx).is_pending() {
                            return Poll::Pending;
                        }
                    }
                    tracing::debug!("the connection did not shut down in time; dropping it");
                    this.gave_up
                        .get_or_insert_with(|| format!("{STALLED}: the shutdown did not complete"));
                }
                return Poll::Ready(match (reason, &this.gave_up) {
                    (CloseReason::Graceful, Some(why)) => CloseReason::ConnectionLost(why.clone()),
                    (reason, _) => reason,
                });
            }
            // Read only while the application keeps up.
            let may_read = !this.read_closed
                && !state.session.is_closed()
                && state.buffered < this.config.max_buffered_recv;
            let session_deadline = state.session.poll_timeout();
            drop(state);

            // ----- without the lock: the socket -----
            if may_read {
                if this.read_buf.capacity() - this.read_buf.len() < this.config.read_chunk / 4 {
                    this.read_buf.reserve(this.config.read_chunk);
                }
                match tokio_util::io::poll_read_buf(Pin::new(&mut this.io), cx, &mut this.read_buf)
                {
                    Poll::Ready(Ok(0)) => {
                        progress = true;
                        this.read_closed = true;
                        this.outcome.lost = Some("the peer closed the connection".into());
                    }
                    Poll::Ready(Ok(_)) => {
                        progress = true;
                        this.outcome.read = true;
                    }
                    Poll::Ready(Err(error)) => {
                        progress = true;
                        this.read_closed = true;
                        this.outcome.lost = Some(format!("read failed: {error}"));
                    }
                    Poll::Pending => {}
                }
            }
            if this.write_some(cx, now) {
                progress = true;
            }
            if this.write.is_empty() && !this.read_closed {
                // Bytes a layer below holds (TLS records) count as unwritten:
                // a flush that makes no progress is a write stall.
                match Pin::new(&mut this.io).poll_flush(cx) {
                    Poll::Ready(Ok(())) => this.write_stalled_since = None,
                    Poll::Ready(Err(error)) => {
                        this.fail_writes(format!("flush failed: {error}"));
                        progress = true;
                    }
                    Poll::Pending => {
                        if this.stalled(now) {
                            this.give_up();
                            progress = true;
                        }
                    }
                }
            }

            if !progress {
                if this.read_buf.is_empty() && this.read_buf.capacity() > 0 {
                    // Nothing waits in the read buffer: an idle connection
                    // keeps no read_chunk-sized buffer (the next read
                    // allocates one again; DATA handed out keeps its own).
                    this.read_buf = BytesMut::new();
                }
                // Sleep until the next timer: the session's, or the write stall limit.
                let mut deadline = session_deadline;
                if let Some(stall) = this.stall_deadline() {
                    deadline = Some(deadline.map_or(stall, |d| d.min(stall)));
                }
                if let Some(deadline) = deadline {
                    this.timer.as_mut().reset(deadline.into());
                    if this.timer.as_mut().poll(cx).is_ready() {
                        continue;
                    }
                }
                return Poll::Pending;
            }
        }
        // A busy connection yields to the other tasks now and then. What the
        // last round read or learnt waits in `outcome` for the next poll.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<IO: AsyncWrite + Unpin> Connection<IO> {
    /// Writes from the queue until it is empty or the socket is full; true
    /// when anything happened. A failed write, or one that made no
    /// progress for the write timeout, ends the connection: the reason is
    /// left in `outcome` for the session and the queue is dropped.
    fn write_some(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let mut progress = false;
        while !self.write.is_empty() && !self.read_closed_for_writes() {
            let slices: Vec<IoSlice<'_>> = self
                .write
                .chunks
                .iter()
                .take(64)
                .map(|c| IoSlice::new(c))
                .collect();
            let io = Pin::new(&mut self.io);
            let result = if slices.len() > 1 {
                io.poll_write_vectored(cx, &slices)
            } else {
                io.poll_write(cx, &slices[0])
            };
            match result {
                Poll::Ready(Ok(0)) => {
                    self.fail_writes("the connection accepts no more bytes".into());
                    return true;
                }
                Poll::Ready(Ok(n)) => {
                    self.write.advance(n);
                    self.write_stalled_since = None;
                    progress = true;
                }
                Poll::Ready(Err(error)) => {
                    self.fail_writes(format!("write failed: {error}"));
                    return true;
                }
                Poll::Pending => {
                    if self.stalled(now) {
                        self.give_up();
                        return true;
                    }
                    break;
                }
            }
        }
        progress
    }

    /// Notes that the socket took nothing just now; true once it has taken
    /// nothing for the write timeout.
    fn stalled(&mut self, now: Instant) -> bool {
        let since = *self.write_stalled_since.get_or_insert(now);
        now.duration_since(since) >= self.config.write_timeout
    }

    /// When the current write stall, if any, reaches the write timeout.
    fn stall_deadline(&self) -> Option<Instant> {
        self.write_stalled_since
            .and_then(|since| since.checked_add(self.config.write_timeout))
    }

    /// The socket took nothing for the write timeout: stop writing.
    fn give_up(&mut self) {
        tracing::debug!("peer stopped reading; closing the session");
        self.gave_up.get_or_insert_with(|| STALLED.into());
        self.fail_writes(STALLED.into());
    }

    fn fail_writes(&mut self, why: String) {
        self.write = WriteQueue::default();
        self.read_closed = true;
        // A write failure after a read failure: the first reason stands.
        self.outcome.lost.get_or_insert(why);
    }
}

impl<IO> Drop for Connection<IO> {
    /// A connection task dropped before the session ended (aborted, or its
    /// runtime shut down) fails every pending call on every handle, as a
    /// dropped connection would.
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if state.closed.is_none() {
            state
                .session
                .connection_lost("the connection task was dropped");
            while let Some(event) = state.session.poll_event() {
                state.dispatch(event);
            }
            let reason =
                state
                    .session
                    .close_reason()
                    .cloned()
                    .unwrap_or(CloseReason::ConnectionLost(
                        "the connection task was dropped".into(),
                    ));
            state.mark_closed(reason);
        }
        state.driver_waker = None;
    }
}

impl<IO> Connection<IO> {
    fn read_closed_for_writes(&self) -> bool {
        // After a read or write failure nothing more is written.
        self.read_closed && self.write.is_empty()
    }
}
