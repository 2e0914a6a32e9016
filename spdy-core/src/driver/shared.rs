//! State shared between the connection task and the handles, behind one
//! briefly held lock. No lock is ever held across an await.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;

use super::Error;
use crate::frame::{Priority, RstStatus, StreamId};
use crate::header::HeaderBlock;
use crate::session::{CloseReason, Event, ResetOrigin, Session};

/// A stream the peer opened, waiting for `accept`.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(crate) stream_id: StreamId,
    pub(crate) headers: HeaderBlock,
    pub(crate) priority: Priority,
    pub(crate) associated_to: StreamId,
    pub(crate) fin: bool,
    pub(crate) unidirectional: bool,
}

/// The handle side of one stream.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    pub(crate) data: VecDeque<Bytes>,
    pub(crate) headers: VecDeque<HeaderBlock>,
    /// The peer sent FIN.
    pub(crate) fin: bool,
    pub(crate) reset: Option<(RstStatus, ResetOrigin)>,
    /// Both ends finished; the session forgot the stream.
    pub(crate) closed: bool,
    pub(crate) recv_waker: Option<Waker>,
    pub(crate) send_waker: Option<Waker>,
    /// Tasks waiting for the stream to end (`SessionHandle::stream_reset`).
    pub(crate) end_waiters: Vec<Waker>,
    pub(crate) recv_alive: bool,
    pub(crate) send_alive: bool,
    /// Our sending half ended cleanly (FIN queued).
    pub(crate) send_finished: bool,
}

impl Slot {
    pub(crate) fn wake_all(&mut self) {
        if let Some(w) = self.recv_waker.take() {
            w.wake();
        }
        if let Some(w) = self.send_waker.take() {
            w.wake();
        }
        for w in self.end_waiters.drain(..) {
            w.wake();
        }
    }
}

pub(crate) struct Shared {
    pub(crate) session: Session,
    pub(crate) slots: HashMap<StreamId, Slot>,
    pub(crate) incoming: VecDeque<Incoming>,
    /// Tasks waiting in `accept` (several handles may accept at once).
    pub(crate) accept_waiters: Vec<Waker>,
    pub(crate) open_waiters: Vec<Waker>,
    pub(crate) pings: HashMap<u32, oneshot::Sender<Duration>>,
    pub(crate) closed: Option<CloseReason>,
    pub(crate) close_waiters: Vec<Waker>,
    /// Tasks waiting for the peer's first SETTINGS.
    pub(crate) settings_waiters: Vec<Waker>,
    pub(crate) driver_waker: Option<Waker>,
    /// Received bytes not yet taken by the application, all streams.
    pub(crate) buffered: usize,
    /// Live `SessionHandle`s; when the last goes, the session winds down.
    pub(crate) handles: usize,
}

/// Adds `waker` to a list of tasks to wake, unless it is already there: a
/// task polled again and again while it waits (in a `select!` loop, say)
/// must not grow the list.
pub(crate) fn register(waiters: &mut Vec<Waker>, waker: &Waker) {
    if !waiters.iter().any(|w| w.will_wake(waker)) {
        waiters.push(waker.clone());
    }
}

/// The lock around [`Shared`].
#[derive(Clone)]
pub(crate) struct SharedRef(Arc<Mutex<Shared>>);

impl SharedRef {
    pub(crate) fn new(session: Session) -> Self {
        SharedRef(Arc::new(Mutex::new(Shared {
            session,
            slots: HashMap::new(),
            incoming: VecDeque::new(),
            accept_waiters: Vec::new(),
            open_waiters: Vec::new(),
            pings: HashMap::new(),
            closed: None,
            close_waiters: Vec::new(),
            settings_waiters: Vec::new(),
            driver_waker: None,
            buffered: 0,
            handles: 0,
        })))
    }

    /// Locks the state. A panic while the lock was held leaves the data
    /// consistent enough to fail every operation, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Shared> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Shared {
    /// Wakes the connection task so it sends what a command queued.
    pub(crate) fn wake_driver(&mut self) {
        if let Some(waker) = self.driver_waker.take() {
            waker.wake();
        }
    }

    /// The error for operations on a session that has ended.
    pub(crate) fn closed_error(&self) -> Option<Error> {
        self.closed.clone().map(Error::SessionClosed)
    }

    /// The error for an operation on stream `id`, if it cannot go on.
    pub(crate) fn stream_error(&self, id: StreamId) -> Option<Error> {
        match self.slots.get(&id).and_then(|s| s.reset) {
            Some((status, origin)) => Some(Error::Reset {
                stream_id: id,
                status,
                origin,
            }),
            None => self.closed_error(),
        }
    }

    /// Queues a header block for a stream's reader; its size counts
    /// against `max_buffered_recv` like payload, so a peer that floods
    /// HEADERS nobody reads meets back-pressure instead of growing memory.
    fn push_headers(&mut self, id: StreamId, headers: HeaderBlock) -> bool {
        let Some(slot) = self.slots.get_mut(&id) else {
            return false;
        };
        if !slot.recv_alive {
            return true;
        }
        self.buffered += headers.encoded_len();
        slot.headers.push_back(headers);
        true
    }

    /// Takes the next header block of a stream's reader.
    pub(crate) fn take_headers(&mut self, id: StreamId) -> Option<HeaderBlock> {
        let headers = self.slots.get_mut(&id)?.headers.pop_front()?;
        self.buffered = self.buffered.saturating_sub(headers.encoded_len());
        self.wake_driver();
        Some(headers)
    }

    /// Forgets what a stream's reader never took; the payload's credit goes
    /// back to the peer.
    pub(crate) fn discard_unread(&mut self, id: StreamId) {
        let Some(slot) = self.slots.get_mut(&id) else {
            return;
        };
        let unread: usize = slot.data.drain(..).map(|b| b.len()).sum();
        let headers: usize = slot.headers.drain(..).map(|h| h.encoded_len()).sum();
        self.buffered = self.buffered.saturating_sub(unread + headers);
        if unread > 0 {
            self.session.release_capacity(id, unread);
        }
        self.wake_driver();
    }

    /// Every stream the peer opened that nobody accepted, and nobody can
    /// any more (the last session handle is gone), is refused: the peer
    /// may retry it elsewhere.
    pub(crate) fn refuse_unaccepted(&mut self, now: Instant) {
        while let Some(incoming) = self.incoming.pop_front() {
            self.refuse_incoming(incoming.stream_id, RstStatus::RefusedStream, now);
        }
    }

    /// Resets a stream the peer opened and the application never accepted
    /// (refused, or dropped unanswered) and forgets its slot. What arrived
    /// on it before is dropped and its bytes released like any the reader
    /// never took: counted out of `buffered`, credited back to the peer.
    pub(crate) fn refuse_incoming(&mut self, id: StreamId, status: RstStatus, now: Instant) {
        // Reset first: the credit then goes to the session window only, not
        // in a stream WINDOW_UPDATE just ahead of the RST_STREAM.
        self.session.reset(id, status, now);
        self.discard_unread(id);
        self.slots.remove(&id);
        self.wake_driver();
    }

    /// Gives receive credit back for bytes the application consumed.
    pub(crate) fn consumed(&mut self, id: StreamId, n: usize) {
        self.buffered = self.buffered.saturating_sub(n);
        self.session.release_capacity(id, n);
        self.wake_driver();
    }

    /// A handle of stream `id` is gone; forget the slot once nothing needs it.
    pub(crate) fn release_slot(&mut self, id: StreamId, now: Instant) {
        let Some(slot) = self.slots.get(&id) else {
            return;
        };
        if !slot.recv_alive {
            // Nobody will read: give the credit back now.
            self.discard_unread(id);
        }
        let Some(slot) = self.slots.get(&id) else {
            return;
        };
        if !slot.recv_alive && !slot.send_alive {
            let finished = slot.closed || slot.reset.is_some() || (slot.send_finished && slot.fin);
            let send_finished = slot.send_finished;
            if let Some(mut slot) = self.slots.remove(&id) {
                slot.wake_all();
            }
            if !finished {
                if send_finished {
                    // Our half ended cleanly: let what is queued and the FIN
                    // go out, then tell the peer to stop sending.
                    self.session.reset_when_sent(id, RstStatus::Cancel);
                } else {
                    self.session.reset(id, RstStatus::Cancel, now);
                }
            }
        }
        self.wake_driver();
    }

    /// Routes one session event to the handles.
    pub(crate) fn dispatch(&mut self, event: Event) {
        match event {
            Event::StreamOpened {
                stream_id,
                headers,
                priority,
                associated_to,
                fin,
                unidirectional,
            } => {
                self.slots.insert(
                    stream_id,
                    Slot {
                        fin,
                        recv_alive: true,
                        send_alive: !unidirectional,
                        send_finished: unidirectional,
                        ..Slot::default()
                    },
                );
                self.incoming.push_back(Incoming {
                    stream_id,
                    headers,
                    priority,
                    associated_to,
                    fin,
                    unidirectional,
                });
                for w in self.accept_waiters.drain(..) {
                    w.wake();
                }
            }
            Event::Reply {
                stream_id,
                headers,
                fin,
            }
            | Event::Headers {
                stream_id,
                headers,
                fin,
            } => {
                if self.push_headers(stream_id, headers)
                    && let Some(slot) = self.slots.get_mut(&stream_id)
                {
                    slot.fin |= fin;
                    slot.wake_all();
                }
            }
            Event::Data {
                stream_id,
                data,
                fin,
            } => {
                let len = data.len();
                if let Some(slot) = self.slots.get_mut(&stream_id) {
                    slot.fin |= fin;
                }
                match self.slots.get_mut(&stream_id) {
                    Some(slot) if slot.recv_alive => {
                        if !data.is_empty() {
                            slot.data.push_back(data);
                        }
                        self.buffered += len;
                        if let Some(w) = slot.recv_waker.take() {
                            w.wake();
                        }
                    }
                    // Nobody reads this stream: drop the bytes, keep the credit flowing.
                    _ => self.session.release_capacity(stream_id, len),
                }
            }
            Event::Reset {
                stream_id,
                status,
                origin,
            } => {
                if let Some(slot) = self.slots.get_mut(&stream_id) {
                    // What arrived before the reset is still read first;
                    // then the reader sees the error.
                    slot.reset = Some((status, origin));
                    slot.wake_all();
                }
            }
            Event::Writable { stream_id } => {
                if let Some(w) = self
                    .slots
                    .get_mut(&stream_id)
                    .and_then(|s| s.send_waker.take())
                {
                    w.wake();
                }
            }
            Event::StreamClosed { stream_id } => {
                if let Some(slot) = self.slots.get_mut(&stream_id) {
                    slot.closed = true;
                    slot.wake_all();
                    if !slot.recv_alive && !slot.send_alive {
                        self.slots.remove(&stream_id);
                    }
                }
            }
            Event::CanOpenStream | Event::GoAway { .. } => {
                for w in self.open_waiters.drain(..) {
                    w.wake();
                }
                for w in self.accept_waiters.drain(..) {
                    w.wake();
                }
            }
            Event::PingAnswered { id, rtt } => {
                if let Some(tx) = self.pings.remove(&id) {
                    let _ = tx.send(rtt);
                }
            }
            Event::Settings(_) => {
                for w in self.settings_waiters.drain(..) {
                    w.wake();
                }
            }
            Event::Closed(reason) => self.mark_closed(reason),
        }
    }

    /// Fails everything that waits: the session is over.
    pub(crate) fn mark_closed(&mut self, reason: CloseReason) {
        if self.closed.is_none() {
            self.closed = Some(reason);
        }
        self.pings.clear();
        for slot in self.slots.values_mut() {
            slot.wake_all();
        }
        for w in self
            .open_waiters
            .drain(..)
            .chain(self.close_waiters.drain(..))
            .chain(self.settings_waiters.drain(..))
        {
            w.wake();
        }
        for w in self.accept_waiters.drain(..) {
            w.wake();
        }
    }
}
