//! Commands from the application.

use std::time::Instant;

use bytes::Bytes;

use super::stream::Outgoing;
use super::{SendError, Session, Stream};
use crate::frame::{
    Frame, GoAwayStatus, MAX_FRAME_LEN, Ping, Priority, RstStatus, RstStream, SettingId, Settings,
    StreamId, SynReply, SynStream, WindowUpdate,
};
use crate::header::HeaderBlock;

/// What [`Session::open_stream`] opens.
#[derive(Clone, Debug, Default)]
pub struct OpenStream {
    /// The SYN_STREAM headers.
    pub headers: HeaderBlock,
    /// 0 (highest) to 7.
    pub priority: Priority,
    /// Nothing will be sent after the headers.
    pub fin: bool,
    /// The peer may not send on the stream.
    pub unidirectional: bool,
    /// Server push: the peer's stream this one belongs to. Implies
    /// `unidirectional`.
    pub associated_to: Option<StreamId>,
}

impl OpenStream {
    /// A stream with `headers`, priority 3, no flags.
    pub fn new(headers: HeaderBlock) -> Self {
        OpenStream {
            headers,
            ..OpenStream::default()
        }
    }

    /// Sets the priority.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Sets FIN: no body follows.
    pub fn fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }

    /// Sets UNIDIRECTIONAL.
    pub fn unidirectional(mut self, unidirectional: bool) -> Self {
        self.unidirectional = unidirectional;
        self
    }

    /// Makes it a push associated with the peer's stream `stream_id`.
    pub fn pushed_for(mut self, stream_id: StreamId) -> Self {
        self.associated_to = Some(stream_id);
        self.unidirectional = true;
        self
    }
}

/// Header blocks whose uncompressed size could not fit a frame are refused
/// when the command is given, never when the frame is encoded.
fn check_block(block: &HeaderBlock) -> Result<(), SendError> {
    let size: usize = 4 + block
        .pairs()
        .iter()
        .map(|p| 8 + p.name.len() + p.value.len())
        .sum::<usize>();
    if size > MAX_FRAME_LEN as usize / 2 {
        return Err(SendError::Invalid(format!(
            "a header block of {size} bytes is too large to send"
        )));
    }
    Ok(())
}

impl Session {
    fn check_open(&self) -> Result<(), SendError> {
        match &self.close_reason {
            Some(reason) => Err(SendError::SessionClosed(reason.clone())),
            None => Ok(()),
        }
    }

    fn sendable_stream(&mut self, stream_id: StreamId) -> Result<&mut Stream, SendError> {
        self.check_open()?;
        let stream = self
            .streams
            .get_mut(&stream_id)
            .ok_or(SendError::UnknownStream(stream_id))?;
        if stream.fin_queued || stream.send_closed {
            return Err(SendError::SendClosed(stream_id));
        }
        if !stream.local && !stream.replied {
            return Err(SendError::Invalid(format!(
                "stream {stream_id} needs a SYN_REPLY before anything else"
            )));
        }
        Ok(stream)
    }

    /// Opens a stream with SYN_STREAM.
    pub fn open_stream(&mut self, open: OpenStream) -> Result<StreamId, SendError> {
        self.check_open()?;
        if self.next_local_id.is_none() {
            return Err(SendError::StreamIdsExhausted);
        }
        if self.goaway_sent || self.goaway_received.is_some() {
            return Err(SendError::GoingAway);
        }
        check_block(&open.headers)?;
        let limit = self
            .peer_settings
            .max_concurrent_streams
            .unwrap_or(self.config.assumed_peer_max_concurrent_streams);
        if self.local_open >= limit {
            self.open_blocked = true;
            return Err(SendError::StreamLimit { limit });
        }
        let Some(id) = self.next_local_id else {
            return Err(SendError::StreamIdsExhausted);
        };
        let associated = open.associated_to.unwrap_or(StreamId::ZERO);
        let pushed = !associated.is_zero();
        if pushed {
            let parent_ok = self.role == super::Role::Server
                && self
                    .streams
                    .get(&associated)
                    .is_some_and(|s| !s.local && !s.send_closed && !s.fin_queued);
            if !parent_ok {
                return Err(SendError::Invalid(format!(
                    "cannot push on stream {associated}: it is not an open client stream"
                )));
            }
        }
        let unidirectional = open.unidirectional || pushed;
        self.next_local_id = id.next();
        let mut stream = Stream::new(
            id,
            open.priority,
            true,
            self.peer_initial_window,
            self.config.stream_window,
            self.clock,
        );
        stream.pushed = pushed;
        stream.recv_closed = unidirectional;
        // A unidirectional stream expects no reply.
        stream.replied = unidirectional;
        stream.send_closed = open.fin;
        stream.fin_queued = open.fin;
        self.streams.insert(id, stream);
        self.local_open += 1;
        // Its receive timeout starts when the SYN_STREAM goes out: the peer
        // cannot answer before, and no input may have carried the time for
        // long (`self.clock` can be far behind).
        self.queue_command(Frame::SynStream(SynStream {
            stream_id: id,
            associated_to: associated,
            priority: open.priority,
            slot: 0,
            fin: open.fin,
            unidirectional,
            headers: open.headers,
        }));
        if self.next_local_id.is_none() {
            // That was the last id of our parity: drain and let the caller
            // start a new session.
            self.queue_goaway(GoAwayStatus::Ok);
        }
        self.maybe_finish_stream(id);
        Ok(id)
    }

    /// Answers the peer's stream with SYN_REPLY.
    pub fn reply(
        &mut self,
        stream_id: StreamId,
        headers: HeaderBlock,
        fin: bool,
    ) -> Result<(), SendError> {
        self.check_open()?;
        check_block(&headers)?;
        let stream = self
            .streams
            .get_mut(&stream_id)
            .ok_or(SendError::UnknownStream(stream_id))?;
        if stream.local || stream.replied {
            return Err(SendError::CannotReply(stream_id));
        }
        stream.replied = true;
        if fin {
            stream.send_closed = true;
            stream.fin_queued = true;
        }
        self.queue_command(Frame::SynReply(SynReply {
            stream_id,
            fin,
            headers,
        }));
        self.maybe_finish_stream(stream_id);
        Ok(())
    }

    /// Queues a HEADERS frame after whatever data is already queued on the stream.
    pub fn send_headers(
        &mut self,
        stream_id: StreamId,
        headers: HeaderBlock,
        fin: bool,
    ) -> Result<(), SendError> {
        check_block(&headers)?;
        let stream = self.sendable_stream(stream_id)?;
        stream.push(Outgoing::Headers {
            block: headers,
            fin,
        });
        stream.fin_queued = fin;
        self.schedule(stream_id);
        Ok(())
    }

    /// Queues payload on a stream, with FIN when `fin`. Refused with
    /// [`SendError::BufferFull`] while the stream already holds
    /// [`max_send_buffer`](super::SessionConfig::max_send_buffer) unsent
    /// bytes, or all streams together
    /// [`max_session_send_buffer`](super::SessionConfig::max_session_send_buffer);
    /// an [`Event::Writable`](super::Event::Writable) follows when it drains.
    pub fn send_data(
        &mut self,
        stream_id: StreamId,
        data: Bytes,
        fin: bool,
    ) -> Result<(), SendError> {
        let limit = self.config.max_send_buffer as usize;
        let session_full = self.session_send_buffer_full();
        let floor = self.config.max_send_frame as usize;
        let stream = self.sendable_stream(stream_id)?;
        if data.is_empty() && !fin {
            // Nothing to say: an empty DATA frame would only cost the peer work.
            return Ok(());
        }
        if !data.is_empty() && stream.queued_bytes >= limit {
            stream.wants_writable = true;
            return Err(SendError::BufferFull(stream_id));
        }
        if !data.is_empty() && session_full && stream.queued_bytes >= floor {
            self.wait_for_session_room(stream_id);
            return Err(SendError::BufferFull(stream_id));
        }
        let len = data.len();
        stream.push(Outgoing::Data { bytes: data, fin });
        stream.fin_queued = fin;
        self.queued_send_total += len;
        self.schedule(stream_id);
        Ok(())
    }

    /// Asks for an [`Event::Writable`](super::Event::Writable) once the
    /// stream's queue has room again.
    pub fn notify_when_writable(&mut self, stream_id: StreamId) {
        let limit = self.config.max_send_buffer as usize;
        let session_full = self.session_send_buffer_full();
        let floor = self.config.max_send_frame as usize;
        if let Some(stream) = self.streams.get_mut(&stream_id) {
            if stream.queued_bytes >= limit {
                stream.wants_writable = true;
            } else if session_full && stream.queued_bytes >= floor {
                self.wait_for_session_room(stream_id);
            } else {
                self.events.push_back(super::Event::Writable { stream_id });
            }
        }
    }

    /// All streams together hold `max_session_send_buffer`: only a stream
    /// below its frame's worth may queue more.
    fn session_send_buffer_full(&self) -> bool {
        self.queued_send_total >= self.config.max_session_send_buffer
    }

    /// Announces `Writable` to `stream_id` once the session's queued bytes
    /// drop to half of `max_session_send_buffer`.
    fn wait_for_session_room(&mut self, stream_id: StreamId) {
        if let Some(stream) = self.streams.get_mut(&stream_id)
            && !stream.wants_session_room
        {
            stream.wants_session_room = true;
            self.session_room_waiters.push(stream_id);
        }
    }

    /// Wakes the writers waiting for session room once half of it is free.
    pub(super) fn wake_session_room_waiters(&mut self) {
        if self.session_room_waiters.is_empty()
            || self.queued_send_total > self.config.max_session_send_buffer / 2
        {
            return;
        }
        for stream_id in std::mem::take(&mut self.session_room_waiters) {
            if let Some(stream) = self.streams.get_mut(&stream_id)
                && std::mem::take(&mut stream.wants_session_room)
            {
                self.events.push_back(super::Event::Writable { stream_id });
            }
        }
    }

    /// Asks for an [`Event::Writable`](super::Event::Writable) once every
    /// byte queued on the stream has been handed to
    /// [`poll_transmit`](Session::poll_transmit) (at once if none is queued):
    /// what a flush waits for.
    pub fn notify_when_sent(&mut self, stream_id: StreamId) {
        if let Some(stream) = self.streams.get_mut(&stream_id) {
            if stream.queue.is_empty() {
                self.events.push_back(super::Event::Writable { stream_id });
            } else {
                stream.wants_sent = true;
            }
        }
    }

    /// Changes the priority our scheduler gives a stream's frames from now
    /// on. SPDY/3.1 has no frame to tell the peer; this is local only.
    pub fn set_priority(&mut self, stream_id: StreamId, priority: Priority) {
        if let Some(stream) = self.streams.get_mut(&stream_id) {
            stream.priority = priority;
        }
    }

    /// A stream's priority, if the stream is open.
    pub fn priority(&self, stream_id: StreamId) -> Option<Priority> {
        self.streams.get(&stream_id).map(|s| s.priority)
    }

    /// How many more bytes `send_data` accepts on the stream now: what is
    /// left of the stream's buffer and of the session's. Every stream may
    /// hold one frame's worth (`max_send_frame`) whatever the session
    /// holds, so streams the peer holds back never starve the others.
    pub fn send_capacity(&self, stream_id: StreamId) -> usize {
        let session_room = self
            .config
            .max_session_send_buffer
            .saturating_sub(self.queued_send_total);
        let floor = self.config.max_send_frame as usize;
        match self.streams.get(&stream_id) {
            Some(s) if !s.fin_queued && !s.send_closed => (self.config.max_send_buffer as usize)
                .saturating_sub(s.queued_bytes)
                .min(session_room.max(floor.saturating_sub(s.queued_bytes))),
            _ => 0,
        }
    }

    /// Resets a stream with RST_STREAM; queued data is dropped. Resetting a
    /// stream that is already gone does nothing.
    pub fn reset(&mut self, stream_id: StreamId, status: RstStatus, now: Instant) {
        if self.is_closed() || self.remove_stream(stream_id).is_none() {
            return;
        }
        self.reset_memory.remember(stream_id, now);
        self.queue_command(Frame::RstStream(RstStream { stream_id, status }));
        self.check_drained();
    }

    /// Resets the stream with `status` once everything queued on it, FIN
    /// included, has been sent, unless the peer finishes the stream first
    /// (then it simply closes). For a stream whose reader went away after
    /// its writer finished: the peer gets the whole body, then is told to
    /// stop sending. The reset, when it happens, comes as an
    /// [`Event::Reset`](super::Event::Reset) with origin `Local`. A stream
    /// whose FIN is not queued is reset at once, as by
    /// [`reset`](Session::reset).
    pub fn reset_when_sent(&mut self, stream_id: StreamId, status: RstStatus) {
        let Some(stream) = self.streams.get_mut(&stream_id) else {
            return;
        };
        if stream.fin_queued && !stream.send_closed {
            stream.reset_when_sent = Some(status);
        } else {
            let now = self.clock;
            self.reset(stream_id, status, now);
        }
    }

    /// Gives back receive credit for `n` bytes the application consumed on
    /// `stream_id`. WINDOW_UPDATEs go out once half a window is owed, so a
    /// slow reader holds the peer back instead of growing our buffers.
    pub fn release_capacity(&mut self, stream_id: StreamId, n: usize) {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.release_session(n);
        let window = self.config.stream_window;
        let Some(stream) = self.streams.get_mut(&stream_id) else {
            return;
        };
        if stream.recv_closed {
            return;
        }
        // Never credit more than was consumed.
        let owed = i64::from(window) - stream.recv_window.get() - i64::from(stream.recv_unacked);
        let n = n.min(owed.clamp(0, i64::from(u32::MAX)) as u32);
        stream.recv_unacked += n;
        if stream.recv_unacked >= window / 2 && stream.recv_unacked > 0 {
            let delta = stream.recv_unacked;
            stream.recv_unacked = 0;
            // Cannot overflow: the window returns to at most its initial size.
            let _ = stream.recv_window.adjust(i64::from(delta));
            // The peer's receive clock restarts when the credit goes out.
            stream.recv_credit_pending = true;
            self.queue_command(Frame::WindowUpdate(WindowUpdate { stream_id, delta }));
        }
    }

    /// Credits the session window for `n` consumed bytes.
    pub(super) fn release_session(&mut self, n: u32) {
        let window = self
            .config
            .session_window
            .max(super::PROTOCOL_INITIAL_WINDOW);
        let owed = i64::from(window) - self.recv_window.get() - i64::from(self.recv_unacked);
        let n = n.min(owed.clamp(0, i64::from(u32::MAX)) as u32);
        self.recv_unacked += n;
        if self.recv_unacked >= window / 2 && self.recv_unacked > 0 && !self.is_closed() {
            let delta = self.recv_unacked;
            self.recv_unacked = 0;
            if self.recv_window.available() == 0 {
                // Every stream was held back: their receive clocks restart
                // when this credit goes out.
                self.session_credit_pending = true;
            }
            let _ = self.recv_window.adjust(i64::from(delta));
            self.queue_command(Frame::WindowUpdate(WindowUpdate {
                stream_id: StreamId::ZERO,
                delta,
            }));
        }
    }

    /// Sends a PING; its answer arrives as [`Event::PingAnswered`](super::Event::PingAnswered).
    pub fn ping(&mut self, now: Instant) -> Result<u32, SendError> {
        self.check_open()?;
        let id = self
            .pings
            .start(now)
            .ok_or_else(|| SendError::Invalid("too many PINGs are waiting for an answer".into()))?;
        self.queue_command(Frame::Ping(Ping { id }));
        Ok(id)
    }

    /// Ends the session now: GOAWAY OK, open streams dropped.
    pub fn close(&mut self) {
        if self.is_closed() {
            return;
        }
        self.queue_goaway(GoAwayStatus::Ok);
        self.finish(super::CloseReason::Graceful);
    }

    /// Sends SETTINGS. MAX_CONCURRENT_STREAMS and INITIAL_WINDOW_SIZE in it
    /// take effect here at once. A larger INITIAL_WINDOW_SIZE raises open
    /// streams' receive windows by the change; a smaller one applies to new
    /// streams and to the credit given back on open ones, while their DATA
    /// already in flight (sent before the peer saw the change) is still
    /// accepted up to the old window.
    pub fn send_settings(&mut self, settings: Settings) -> Result<(), SendError> {
        self.check_open()?;
        if let Some(size) = settings.get(SettingId::InitialWindowSize)
            && size > crate::frame::MAX_WINDOW_DELTA
        {
            return Err(SendError::Invalid(format!(
                "INITIAL_WINDOW_SIZE {size} exceeds 2^31-1"
            )));
        }
        if let Some(max) = settings.get(SettingId::MaxConcurrentStreams) {
            self.config.max_concurrent_streams = max;
        }
        if let Some(size) = settings.get(SettingId::InitialWindowSize) {
            let delta = i64::from(size) - i64::from(self.config.stream_window);
            self.config.stream_window = size;
            if delta > 0 {
                for stream in self.streams.values_mut() {
                    // Cannot pass 2^31-1: both sizes are below it.
                    let _ = stream.recv_window.adjust(delta);
                }
            }
        }
        self.queue_command(Frame::Settings(settings));
        Ok(())
    }
}
