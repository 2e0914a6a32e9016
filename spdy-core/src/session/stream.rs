//! One stream's state: which halves are open, its windows and its queue.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

use super::flow::Window;
use crate::frame::{Priority, StreamId};
use crate::header::HeaderBlock;

/// Something queued to go out on a stream, in order.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// Payload, possibly empty, with FIN on its last frame when `fin`.
    Data { bytes: Bytes, fin: bool },
    /// A HEADERS frame (e.g. trailers, or a pushed stream's :status).
    Headers { block: HeaderBlock, fin: bool },
}

/// The state of one open stream.
#[derive(Debug)]
pub(crate) struct Stream {
    pub(crate) id: StreamId,
    pub(crate) priority: Priority,
    /// We opened it.
    pub(crate) local: bool,
    /// A pushed stream (unidirectional, associated with another).
    pub(crate) pushed: bool,
    /// We sent FIN, or may never send (the peer's unidirectional stream).
    pub(crate) send_closed: bool,
    /// The application finished its sending half; nothing more is accepted.
    pub(crate) fin_queued: bool,
    /// The peer sent FIN, or may never send (our unidirectional stream).
    pub(crate) recv_closed: bool,
    /// SYN_REPLY sent (peer's stream) or received (ours).
    pub(crate) replied: bool,
    /// A pushed stream from the peer got the HEADERS carrying its `:status`.
    pub(crate) status_received: bool,
    pub(crate) send_window: Window,
    pub(crate) recv_window: Window,
    /// Bytes the application released but we have not yet credited.
    pub(crate) recv_unacked: u32,
    pub(crate) queue: VecDeque<Outgoing>,
    pub(crate) queued_bytes: usize,
    /// In the scheduler's ready queue.
    pub(crate) scheduled: bool,
    /// `send_data` was refused; announce `Writable` once the queue drains.
    pub(crate) wants_writable: bool,
    /// A flush waits; announce `Writable` once the queue is empty.
    pub(crate) wants_sent: bool,
    /// A writer waits for room under the session's send buffer cap.
    pub(crate) wants_session_room: bool,
    /// Reset with this status once the FIN has been sent.
    pub(crate) reset_when_sent: Option<crate::frame::RstStatus>,
    /// Since when the peer has had reason to send on the stream without
    /// sending anything: the last frame it sent on it, or the last thing we
    /// sent that it may have waited for (SYN_STREAM, SYN_REPLY, credit).
    pub(crate) recv_idle_since: Instant,
    /// The key of the stream's entry in the receive-timeout schedule.
    pub(crate) recv_timer: Option<Instant>,
    /// A WINDOW_UPDATE for the stream is queued but not yet sent.
    pub(crate) recv_credit_pending: bool,
    /// Items (DATA payloads, HEADERS) ever queued on the stream.
    pub(crate) items_queued: u64,
    /// Items sent in full.
    pub(crate) items_sent: u64,
    /// A held GOAWAY waits until `items_sent` reaches this.
    pub(crate) goaway_barrier: Option<u64>,
    /// Since when the peer's windows have kept the stream's queued DATA
    /// from going out (see `send_timeout`).
    pub(crate) send_blocked_since: Option<Instant>,
    /// When the peer last sent DATA on the stream: a stream the peer is
    /// sending on is alive, whatever its send side waits for.
    pub(crate) peer_data_at: Option<Instant>,
}

impl Stream {
    pub(crate) fn new(
        id: StreamId,
        priority: Priority,
        local: bool,
        send_window: u32,
        recv_window: u32,
        now: Instant,
    ) -> Self {
        Stream {
            id,
            priority,
            local,
            pushed: false,
            send_closed: false,
            fin_queued: false,
            recv_closed: false,
            replied: false,
            status_received: false,
            send_window: Window::new(send_window),
            recv_window: Window::new(recv_window),
            recv_unacked: 0,
            queue: VecDeque::new(),
            queued_bytes: 0,
            scheduled: false,
            wants_writable: false,
            wants_sent: false,
            wants_session_room: false,
            reset_when_sent: None,
            recv_idle_since: now,
            recv_timer: None,
            recv_credit_pending: false,
            items_queued: 0,
            items_sent: 0,
            goaway_barrier: None,
            send_blocked_since: None,
            peer_data_at: None,
        }
    }

    /// Both halves are finished.
    pub(crate) fn is_done(&self) -> bool {
        self.send_closed && self.recv_closed && self.queue.is_empty()
    }

    /// Queues an item at the back.
    pub(crate) fn push(&mut self, item: Outgoing) {
        if let Outgoing::Data { bytes, .. } = &item {
            self.queued_bytes += bytes.len();
        }
        self.items_queued += 1;
        self.queue.push_back(item);
    }

    /// Counts an item sent in full; true when that passes the stream's
    /// GOAWAY barrier.
    pub(crate) fn item_sent(&mut self) -> bool {
        self.items_sent += 1;
        match self.goaway_barrier {
            Some(mark) if self.items_sent >= mark => {
                self.goaway_barrier = None;
                true
            }
            _ => false,
        }
    }

    /// DATA waits at the head of the queue and the stream's or the
    /// session's send window is used up.
    pub(crate) fn window_blocked(&self, session_window: u64, ignore_windows: bool) -> bool {
        !ignore_windows
            && matches!(self.queue.front(), Some(Outgoing::Data { bytes, .. }) if !bytes.is_empty())
            && (self.send_window.available() == 0 || session_window == 0)
    }

    /// Whether the front of the queue can go out now.
    pub(crate) fn can_send(&self, session_window: u64, ignore_windows: bool) -> bool {
        match self.queue.front() {
            None => false,
            Some(Outgoing::Headers { .. }) => true,
            Some(Outgoing::Data { bytes, .. }) if bytes.is_empty() => true,
            Some(Outgoing::Data { .. }) => {
                ignore_windows || (self.send_window.available() > 0 && session_window > 0)
            }
        }
    }
}
