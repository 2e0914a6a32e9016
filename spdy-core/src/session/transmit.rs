//! Choosing what goes out next: control frames first, then DATA by
//! priority, round-robin inside a level, in slices of `max_send_frame`.

use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};

use super::stream::Outgoing;
use super::{CloseReason, Event, FlowControl, ResetOrigin, Session};
use crate::frame::{Data, Frame, GoAwayStatus, HEAD_LEN, Headers, StreamId};

/// Bytes for the socket, from [`Session::poll_transmit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// One or more encoded control frames.
    Control(Bytes),
    /// A DATA frame as its head and the caller's payload, for a vectored
    /// write without copying the payload.
    Data {
        /// The 8-byte frame head.
        head: [u8; HEAD_LEN],
        /// The payload.
        payload: Bytes,
    },
}

impl Transmit {
    /// Total bytes.
    pub fn len(&self) -> usize {
        match self {
            Transmit::Control(bytes) => bytes.len(),
            Transmit::Data { payload, .. } => HEAD_LEN + payload.len(),
        }
    }

    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the bytes to `dst` (copying the payload).
    pub fn write_to(&self, dst: &mut BytesMut) {
        match self {
            Transmit::Control(bytes) => dst.put_slice(bytes),
            Transmit::Data { head, payload } => {
                dst.put_slice(head);
                dst.put_slice(payload);
            }
        }
    }
}

impl Session {
    /// The next bytes to write, or `None` when nothing may be sent now.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        if !self.control.is_empty() {
            return self.transmit_control(now);
        }
        if self.is_closed() {
            return None;
        }
        self.transmit_stream(now)
    }

    fn transmit_control(&mut self, now: Instant) -> Option<Transmit> {
        let mut out = std::mem::take(&mut self.out);
        while let Some(frame) = self.control.pop_front() {
            self.on_control_sent(&frame, now);
            if let Err(error) = self.encoder.encode(&frame, &mut out) {
                // Header blocks are size-checked when queued, so this is a bug.
                tracing::error!(%error, "cannot encode a control frame");
                self.control.clear();
                let status = GoAwayStatus::InternalError;
                self.fail(
                    status,
                    CloseReason::ProtocolError {
                        status,
                        detail: format!("internal: {error}"),
                    },
                    None,
                );
                continue;
            }
            // Keep each write to a reasonable size.
            if out.len() >= 64 * 1024 {
                break;
            }
        }
        let bytes = out.split().freeze();
        self.out = out;
        (!bytes.is_empty()).then_some(Transmit::Control(bytes))
    }

    fn transmit_stream(&mut self, now: Instant) -> Option<Transmit> {
        let ignore_windows = self.config.flow_control == FlowControl::Disabled;
        loop {
            let id = self.ready.pop()?;
            let session_window = self.send_window.available();
            let Some(stream) = self.streams.get_mut(&id) else {
                continue;
            };
            stream.scheduled = false;
            if !stream.can_send(session_window, ignore_windows) {
                // Queued while windows were open, blocked now (another
                // stream used up the session window): the send timeout
                // starts here.
                let blocked = stream.window_blocked(session_window, ignore_windows);
                self.send_timers.track(stream, blocked, now, &self.config);
                continue;
            }
            let mut barrier_passed = false;
            let transmit = match stream.queue.pop_front() {
                Some(Outgoing::Headers { block, fin }) => {
                    if fin {
                        stream.send_closed = true;
                    }
                    barrier_passed = stream.item_sent();
                    let frame = Frame::Headers(Headers {
                        stream_id: id,
                        fin,
                        headers: block,
                    });
                    let mut out = std::mem::take(&mut self.out);
                    let encoded = self.encoder.encode(&frame, &mut out);
                    let bytes = out.split().freeze();
                    self.out = out;
                    if let Err(error) = encoded {
                        tracing::error!(%error, "cannot encode HEADERS");
                        continue;
                    }
                    Transmit::Control(bytes)
                }
                Some(Outgoing::Data { mut bytes, fin }) => {
                    let mut n = bytes.len().min(self.config.max_send_frame as usize);
                    if !ignore_windows {
                        let window = stream.send_window.available().min(session_window);
                        n = n.min(usize::try_from(window).unwrap_or(usize::MAX));
                    }
                    let payload = bytes.split_to(n);
                    let last = bytes.is_empty();
                    if last {
                        barrier_passed = stream.item_sent();
                    } else {
                        stream.queue.push_front(Outgoing::Data { bytes, fin });
                    }
                    let fin = fin && last;
                    if fin {
                        stream.send_closed = true;
                    }
                    stream.send_window.consume(n as u32);
                    self.send_window.consume(n as u32);
                    stream.queued_bytes -= n;
                    self.queued_send_total = self.queued_send_total.saturating_sub(n);
                    Transmit::Data {
                        head: Data::head(id, fin, n as u32),
                        payload,
                    }
                }
                None => continue,
            };
            // Writers wake once half the buffer is free, so each wake-up
            // hands over a large piece instead of a frame's worth.
            let room = stream.queued_bytes <= self.config.max_send_buffer as usize / 2;
            let writable = stream.wants_writable && room;
            // A writer waiting for session room may go on once its own
            // floor (a frame's worth) is free again.
            let floor_free = stream.wants_session_room
                && stream.queued_bytes < self.config.max_send_frame as usize;
            if floor_free {
                stream.wants_session_room = false;
                self.session_room_waiters.retain(|waiter| *waiter != id);
                self.events.push_back(Event::Writable { stream_id: id });
            }
            let sent = stream.wants_sent && stream.queue.is_empty();
            if writable || sent {
                stream.wants_writable &= !writable;
                stream.wants_sent &= !sent;
                self.events.push_back(Event::Writable { stream_id: id });
            }
            if barrier_passed {
                self.goaway_barrier_passed();
            }
            self.wake_session_room_waiters();
            // A stream we are sending on is not idle: a response streaming
            // to a client that never half-closed its request is not cut.
            if self.config.stream_receive_timeout.is_some() {
                self.restart_receive_clock(id, now);
            }
            self.after_send(id);
            return Some(transmit);
        }
    }

    /// Restarts the receive clocks that a control frame going out gives the
    /// peer reason to act on: our SYN_STREAM or SYN_REPLY (the peer may wait
    /// for it), and credit.
    fn on_control_sent(&mut self, frame: &Frame, now: Instant) {
        if self.config.stream_receive_timeout.is_none() {
            return;
        }
        match frame {
            Frame::SynStream(f) => self.start_receive_timer(f.stream_id, now),
            Frame::SynReply(f) => self.restart_receive_clock(f.stream_id, now),
            Frame::WindowUpdate(f) if f.stream_id.is_zero() && self.session_credit_pending => {
                self.session_credit_pending = false;
                self.session_credit_sent_at = now;
            }
            Frame::WindowUpdate(f) if f.stream_id.is_zero() => {}
            Frame::WindowUpdate(f) => {
                if let Some(stream) = self.streams.get_mut(&f.stream_id) {
                    stream.recv_credit_pending = false;
                }
                self.restart_receive_clock(f.stream_id, now);
            }
            _ => {}
        }
    }

    /// Requeues a stream that can go on, or finishes it.
    fn after_send(&mut self, id: StreamId) {
        self.schedule(id);
        self.maybe_finish_stream(id);
        let deferred = self
            .streams
            .get(&id)
            .filter(|s| s.send_closed && s.queue.is_empty())
            .and_then(|s| s.reset_when_sent);
        if let Some(status) = deferred {
            // The FIN is out; now tell the peer to stop sending. The event
            // comes first: the reset may end a draining session, and
            // nothing follows `Closed`.
            self.events.push_back(Event::Reset {
                stream_id: id,
                status,
                origin: ResetOrigin::Local,
            });
            let now = self.clock;
            self.reset(id, status, now);
        }
    }
}
