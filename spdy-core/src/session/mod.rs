//! The sans-IO SPDY/3.1 session: streams, both flow-control windows,
//! SETTINGS, PING, GOAWAY, priorities and limits.
//!
//! A [`Session`] owns no socket, task or clock. The caller feeds it
//! received bytes with [`receive`](Session::receive), gives it commands
//! ([`open_stream`](Session::open_stream), [`send_data`](Session::send_data),
//! [`reset`](Session::reset), ...), takes bytes to write from
//! [`poll_transmit`](Session::poll_transmit), events from
//! [`poll_event`](Session::poll_event), and calls
//! [`handle_timeout`](Session::handle_timeout) when
//! [`poll_timeout`](Session::poll_timeout) says so. Every input carries the
//! current `Instant`, so tests and fuzzers drive it deterministically.
//!
//! ```
//! use std::time::Instant;
//! use bytes::BytesMut;
//! use spdy_core::header::HeaderBlock;
//! use spdy_core::session::{Event, OpenStream, Role, Session, SessionConfig, Transmit};
//!
//! let now = Instant::now();
//! let mut client = Session::new(Role::Client, SessionConfig::default(), now);
//! let mut server = Session::new(Role::Server, SessionConfig::default(), now);
//!
//! let mut headers = HeaderBlock::new();
//! headers.push(":method", "GET");
//! let id = client.open_stream(OpenStream::new(headers).fin(true)).unwrap();
//!
//! // Carry the client's bytes to the server.
//! let mut wire = BytesMut::new();
//! while let Some(transmit) = client.poll_transmit(now) {
//!     transmit.write_to(&mut wire);
//! }
//! server.receive(&mut wire, now);
//! let opened = std::iter::from_fn(|| server.poll_event())
//!     .find(|e| matches!(e, Event::StreamOpened { .. }));
//! assert!(matches!(opened, Some(Event::StreamOpened { stream_id, fin: true, .. }) if stream_id == id));
//! ```

mod config;
mod error;
mod event;
mod flow;
mod goaway;
mod limits;
mod ping;
mod priority;
mod recv;
mod recv_timeout;
mod reset_memory;
mod send;
mod send_timeout;
mod settings;
mod stream;
mod transmit;

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use bytes::BytesMut;

pub use config::{
    DEFAULT_SESSION_SEND_BUFFER, DEFAULT_SESSION_WINDOW, DEFAULT_STREAM_RECEIVE_TIMEOUT,
    DEFAULT_STREAM_SEND_TIMEOUT, DEFAULT_STREAM_WINDOW, FloodLimits, FlowControl,
    PROTOCOL_INITIAL_WINDOW, RateLimit, Role, SPDYSTREAM_IDLE_TIMEOUT,
    SPDYSTREAM_MAX_CONCURRENT_STREAMS, SessionConfig,
};
pub use error::{CloseReason, SendError};
pub use event::{Event, ResetOrigin};
pub use send::OpenStream;
pub use settings::PeerSettings;
pub use transmit::Transmit;

use crate::frame::{
    DecoderConfig, Frame, FrameDecoder, FrameEncoder, GoAway, GoAwayStatus, MAX_FRAME_LEN,
    MAX_WINDOW_DELTA, RstStatus, RstStream, SettingId, Settings, StreamId, WindowUpdate,
};
use flow::Window;
use limits::RateCounter;
use ping::PingTracker;
use priority::ReadyQueues;
use recv_timeout::ReceiveTimers;
use reset_memory::ResetMemory;
use send_timeout::SendStallCheck;
use stream::Stream;

/// The first stream id this end opens.
fn first_local_id(role: Role, configured: Option<StreamId>) -> StreamId {
    let default = match role {
        Role::Client => 1,
        Role::Server => 2,
    };
    match configured {
        // Keep the parity of the role; round up to it.
        Some(id) if !id.is_zero() => {
            let id = id.get();
            let id = if id % 2 == default % 2 {
                id
            } else {
                id.saturating_add(1)
            };
            StreamId::new(id.min(StreamId::MAX.get() - (1 - default % 2)))
        }
        _ => StreamId::new(default),
    }
}

/// Counters of the peer's work without data.
#[derive(Debug, Default)]
struct FloodCounters {
    pings: RateCounter,
    settings: RateCounter,
    resets: RateCounter,
    empty_frames: RateCounter,
    small_window_updates: RateCounter,
}

/// Sizes of what a [`Session`] holds, from [`Session::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Open streams, both ends' together.
    pub streams: usize,
    /// Control frames waiting for [`Session::poll_transmit`].
    pub queued_control_frames: usize,
    /// Events waiting for [`Session::poll_event`].
    pub queued_events: usize,
    /// DATA payload bytes queued on streams, not yet sent.
    pub queued_send_bytes: usize,
    /// DATA and HEADERS items queued on streams.
    pub queued_send_items: usize,
    /// Streams waiting in the transmit scheduler.
    pub ready_streams: usize,
    /// Recently reset streams remembered so their late frames are ignored.
    pub remembered_resets: usize,
    /// Our PINGs waiting for an answer.
    pub outstanding_pings: usize,
    /// Entries in the receive-timeout schedule (at most one per stream).
    pub receive_timers: usize,
}

/// One SPDY/3.1 session, either role, with no I/O of its own.
pub struct Session {
    role: Role,
    config: SessionConfig,
    decoder: FrameDecoder,
    encoder: FrameEncoder,
    streams: HashMap<StreamId, Stream>,
    /// Open streams we started, counted against the peer's limit.
    local_open: u32,
    /// Open streams the peer started, counted against ours.
    peer_open: u32,
    next_local_id: Option<StreamId>,
    /// Highest stream id the peer has used.
    last_peer_id: StreamId,
    /// Highest peer stream we accepted for processing (for GOAWAY).
    last_good_peer_id: StreamId,
    send_window: Window,
    recv_window: Window,
    recv_unacked: u32,
    /// Our send window for new streams: the peer's INITIAL_WINDOW_SIZE.
    peer_initial_window: u32,
    peer_settings: PeerSettings,
    control: VecDeque<Frame>,
    ready: ReadyQueues,
    events: VecDeque<Event>,
    pings: PingTracker,
    reset_memory: ResetMemory,
    floods: FloodCounters,
    /// We decided to go away: our GOAWAY is queued, sent, or held behind
    /// queued data. Nothing new is opened or accepted.
    goaway_sent: bool,
    /// Our GOAWAY frame is queued or sent.
    goaway_queued: bool,
    /// A graceful GOAWAY waiting for the data queued before it (sessions
    /// without flow control; see [`Session::goaway`]).
    held_goaway: Option<GoAwayStatus>,
    /// Streams whose data queued before the held GOAWAY is not all sent.
    goaway_barriers: usize,
    goaway_received: Option<GoAway>,
    /// `open_stream` was refused for the peer's limit; announce a free slot.
    open_blocked: bool,
    close_reason: Option<CloseReason>,
    /// When the peer last sent a frame other than PING, or the last
    /// stream closed: what the idle timeout counts from. PINGs are not
    /// activity, or a keepalive (ours answered, or the peer's) would keep
    /// an idle session for ever.
    last_activity: Instant,
    /// When the peer last sent anything: what the keepalive counts from.
    last_heard: Instant,
    /// The latest `now` any input carried: the session's idea of the time
    /// for work done by inputs that carry none.
    clock: Instant,
    /// When to look at which stream for the receive timeout.
    recv_timers: ReceiveTimers,
    /// When to look for streams the peer's windows hold up.
    send_timers: SendStallCheck,
    /// Bytes queued on all streams and not yet sent.
    queued_send_total: usize,
    /// Streams whose writers wait for room under `max_session_send_buffer`.
    session_room_waiters: Vec<StreamId>,
    /// A session WINDOW_UPDATE that reopens a used-up session window is
    /// queued but not yet sent.
    session_credit_pending: bool,
    /// When the last session WINDOW_UPDATE that reopened a used-up session
    /// window was sent: every stream's receive clock counts from it at the
    /// earliest.
    session_credit_sent_at: Instant,
    out: BytesMut,
}

impl Session {
    /// A new session. Our SETTINGS (and a session WINDOW_UPDATE when the
    /// configured session window exceeds 64 KiB) are queued as the first
    /// frames to send.
    pub fn new(role: Role, mut config: SessionConfig, now: Instant) -> Self {
        // Values the wire cannot carry are brought into range.
        config.max_send_frame = config.max_send_frame.clamp(1, MAX_FRAME_LEN);
        // A stream that may queue nothing could never send.
        config.max_send_buffer = config.max_send_buffer.max(1);
        config.max_session_send_buffer = config.max_session_send_buffer.max(1);
        config.stream_window = config.stream_window.min(MAX_WINDOW_DELTA);
        config.session_window = config.session_window.min(MAX_WINDOW_DELTA);
        let decoder = FrameDecoder::with_config(DecoderConfig {
            max_control_frame_len: config.max_control_frame_len,
            max_data_frame_len: config.max_data_frame_len,
            max_header_block_size: config.max_header_block_size,
            validate_headers: true,
        });
        let mut session = Session {
            role,
            decoder,
            encoder: FrameEncoder::with_compression(config.header_compression),
            streams: HashMap::new(),
            local_open: 0,
            peer_open: 0,
            next_local_id: Some(first_local_id(role, config.initial_stream_id)),
            last_peer_id: StreamId::ZERO,
            last_good_peer_id: StreamId::ZERO,
            send_window: Window::new(PROTOCOL_INITIAL_WINDOW),
            recv_window: Window::new(PROTOCOL_INITIAL_WINDOW),
            recv_unacked: 0,
            peer_initial_window: PROTOCOL_INITIAL_WINDOW,
            peer_settings: PeerSettings::default(),
            control: VecDeque::new(),
            ready: ReadyQueues::default(),
            events: VecDeque::new(),
            pings: PingTracker::new(role),
            reset_memory: ResetMemory::new(
                config.max_remembered_resets,
                config.reset_stream_memory,
            ),
            floods: FloodCounters::default(),
            goaway_sent: false,
            goaway_queued: false,
            held_goaway: None,
            goaway_barriers: 0,
            goaway_received: None,
            open_blocked: false,
            close_reason: None,
            last_activity: now,
            last_heard: now,
            clock: now,
            recv_timers: ReceiveTimers::new(now),
            send_timers: SendStallCheck::default(),
            queued_send_total: 0,
            session_room_waiters: Vec::new(),
            session_credit_pending: false,
            session_credit_sent_at: now,
            out: BytesMut::new(),
            config,
        };
        session.control.push_back(Frame::Settings(Settings::new([
            (
                SettingId::MaxConcurrentStreams,
                session.config.max_concurrent_streams,
            ),
            (SettingId::InitialWindowSize, session.config.stream_window),
        ])));
        if session.config.session_window > PROTOCOL_INITIAL_WINDOW {
            let delta = session.config.session_window - PROTOCOL_INITIAL_WINDOW;
            session.recv_window = Window::new(session.config.session_window);
            session.control.push_back(Frame::WindowUpdate(WindowUpdate {
                stream_id: StreamId::ZERO,
                delta,
            }));
        }
        session
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration in force.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// What the peer told us in its SETTINGS frames.
    pub fn peer_settings(&self) -> &PeerSettings {
        &self.peer_settings
    }

    /// Open streams, both ends' together.
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// True when the stream is open (in either direction).
    pub fn is_open(&self, stream_id: StreamId) -> bool {
        self.streams.contains_key(&stream_id)
    }

    /// Our session-level send window (may be negative only at stream level).
    pub fn send_window(&self) -> i64 {
        self.send_window.get()
    }

    /// A stream's send window, if the stream is open.
    pub fn stream_send_window(&self, stream_id: StreamId) -> Option<i64> {
        self.streams.get(&stream_id).map(|s| s.send_window.get())
    }

    /// Bytes queued on a stream and not yet sent.
    pub fn queued_bytes(&self, stream_id: StreamId) -> Option<usize> {
        self.streams.get(&stream_id).map(|s| s.queued_bytes)
    }

    /// How much the session holds now: for monitoring, and for tests that
    /// check nothing grows without bound.
    pub fn stats(&self) -> SessionStats {
        SessionStats {
            streams: self.streams.len(),
            queued_control_frames: self.control.len(),
            queued_events: self.events.len(),
            queued_send_bytes: self.queued_send_total,
            queued_send_items: self.streams.values().map(|s| s.queue.len()).sum(),
            ready_streams: self.ready.len(),
            remembered_resets: self.reset_memory.len(),
            outstanding_pings: self.pings.outstanding(),
            receive_timers: self.recv_timers.len(),
        }
    }

    /// Why the session ended, once it has.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.close_reason.as_ref()
    }

    /// True once the session has ended; commands are refused.
    pub fn is_closed(&self) -> bool {
        self.close_reason.is_some()
    }

    /// True once the session has ended and its last frames (GOAWAY) have
    /// been handed out by [`poll_transmit`](Session::poll_transmit): the
    /// connection can be closed.
    pub fn is_finished(&self) -> bool {
        self.close_reason.is_some() && self.control.is_empty()
    }

    /// The peer's GOAWAY, if it sent one.
    pub fn peer_goaway(&self) -> Option<GoAway> {
        self.goaway_received
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Feeds received bytes. Complete frames are consumed from `buf` and
    /// processed; a partial frame stays for the next call.
    pub fn receive(&mut self, buf: &mut BytesMut, now: Instant) {
        if self.is_closed() {
            buf.clear();
            return;
        }
        self.tick(now);
        self.last_heard = now;
        loop {
            match self.decoder.decode(buf) {
                Ok(Some(frame)) => self.on_frame(frame, now),
                Ok(None) => break,
                Err(error) => self.on_decode_error(error, now),
            }
            if self.is_closed() {
                buf.clear();
                break;
            }
        }
    }

    /// The connection ended (EOF or an I/O error): the session is over.
    pub fn connection_lost(&mut self, why: impl Into<String>) {
        if !self.is_closed() {
            self.control.clear();
            self.finish(CloseReason::ConnectionLost(why.into()));
        }
    }

    /// When [`handle_timeout`](Session::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_closed() {
            return None;
        }
        let idle = self
            .config
            .idle_timeout
            .filter(|_| self.streams.is_empty())
            .and_then(|timeout| self.last_activity.checked_add(timeout));
        // An unanswered PING: with the keepalive it ends the session, without
        // it is forgotten; either way at `ping_timeout`.
        let ping_answer = self
            .pings
            .oldest()
            .and_then(|sent| sent.checked_add(self.config.ping_timeout));
        let keepalive = self
            .config
            .keepalive_interval
            .filter(|_| self.pings.oldest().is_none())
            .and_then(|interval| self.last_heard.checked_add(interval));
        let receive = self.recv_timers.next();
        let send_stall = self.send_timers.next();
        [idle, ping_answer, keepalive, receive, send_stall]
            .into_iter()
            .flatten()
            .min()
    }

    /// Acts on timers that are due: the idle timeout, the keepalive PING,
    /// the deadline of PING answers and the streams' receive and send
    /// timeouts.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        self.tick(now);
        if let Some(timeout) = self.config.idle_timeout
            && self.streams.is_empty()
            && self
                .last_activity
                .checked_add(timeout)
                .is_some_and(|deadline| now >= deadline)
        {
            self.queue_goaway(GoAwayStatus::Ok);
            self.finish(CloseReason::IdleTimeout);
            return;
        }
        if let Some(sent) = self.pings.oldest()
            && sent
                .checked_add(self.config.ping_timeout)
                .is_some_and(|deadline| now >= deadline)
        {
            if self.config.keepalive_interval.is_some() {
                self.queue_goaway(GoAwayStatus::Ok);
                self.finish(CloseReason::PingTimeout);
                return;
            }
            // Nobody relies on the answer ending the session: forget the
            // PINGs that will not be answered, so new ones can be sent.
            if let Some(cutoff) = now.checked_sub(self.config.ping_timeout) {
                self.pings.expire(cutoff);
            }
        }
        if let Some(interval) = self.config.keepalive_interval
            && self.pings.oldest().is_none()
            && self
                .last_heard
                .checked_add(interval)
                .is_some_and(|deadline| now >= deadline)
        {
            // Cannot fail: no ping is outstanding.
            let _ = self.ping(now);
        }
        self.handle_receive_timeouts(now);
        self.handle_send_timeouts(now);
    }

    /// Records the time an input carried.
    fn tick(&mut self, now: Instant) {
        if now > self.clock {
            self.clock = now;
        }
    }

    // ----- internals shared by recv, send and transmit -----

    /// Queues a control frame the peer made us send (a PING echo, an
    /// RST_STREAM for its error). A peer that keeps us answering without
    /// reading fills the queue and ends the session.
    fn queue_response(&mut self, frame: Frame) {
        if self.control.len() >= self.config.max_queued_control_frames {
            self.control.clear();
            self.finish(CloseReason::PeerNotReading);
            return;
        }
        self.control.push_back(frame);
    }

    /// Queues a control frame the application asked for (SYN_STREAM,
    /// SYN_REPLY, its own RST_STREAM, PING or SETTINGS) or that follows the
    /// application's consumption (WINDOW_UPDATE). Their number is bounded by
    /// what the application does, so they never end the session.
    fn queue_command(&mut self, frame: Frame) {
        self.control.push_back(frame);
    }

    /// Ends the session for a protocol error: GOAWAY with `status` (after an
    /// optional RST_STREAM), then nothing more.
    fn fail(
        &mut self,
        status: GoAwayStatus,
        reason: CloseReason,
        reset_first: Option<(StreamId, RstStatus)>,
    ) {
        if self.is_closed() {
            return;
        }
        tracing::debug!(%reason, "session error");
        self.control.retain(|f| !matches!(f, Frame::Data(_)));
        if let Some((stream_id, status)) = reset_first {
            self.control
                .push_back(Frame::RstStream(RstStream { stream_id, status }));
        }
        self.queue_goaway(status);
        self.finish(reason);
    }

    /// Marks the session over and tells the application.
    fn finish(&mut self, reason: CloseReason) {
        if self.close_reason.is_some() {
            return;
        }
        self.streams.clear();
        self.queued_send_total = 0;
        self.session_room_waiters.clear();
        self.ready.clear();
        self.recv_timers.clear();
        self.local_open = 0;
        self.peer_open = 0;
        self.events.push_back(Event::Closed(reason.clone()));
        self.close_reason = Some(reason);
    }

    /// Closes the session once a GOAWAY was exchanged and no stream is left.
    fn check_drained(&mut self) {
        if self.is_closed() || !self.streams.is_empty() {
            return;
        }
        if let Some(goaway) = self.goaway_received {
            let reason = match goaway.status {
                GoAwayStatus::Ok => CloseReason::Graceful,
                status => CloseReason::PeerError { status },
            };
            self.finish(reason);
        } else if self.goaway_sent {
            self.finish(CloseReason::Graceful);
        }
    }

    /// Removes a stream whose both halves are done.
    fn maybe_finish_stream(&mut self, stream_id: StreamId) {
        if self.streams.get(&stream_id).is_some_and(Stream::is_done) {
            self.remove_stream(stream_id);
            self.events.push_back(Event::StreamClosed { stream_id });
            self.check_drained();
        }
    }

    /// Drops a stream's state and updates the open counts.
    fn remove_stream(&mut self, stream_id: StreamId) -> Option<Stream> {
        let mut stream = self.streams.remove(&stream_id)?;
        self.recv_timers.disarm(&mut stream);
        self.queued_send_total = self.queued_send_total.saturating_sub(stream.queued_bytes);
        if stream.wants_session_room {
            self.session_room_waiters
                .retain(|waiter| *waiter != stream_id);
        }
        self.wake_session_room_waiters();
        if stream.goaway_barrier.is_some() {
            self.goaway_barrier_passed();
        }
        if stream.scheduled {
            self.ready.remove(stream_id, stream.priority);
        }
        if self.streams.is_empty() {
            // The idle timeout counts from the end of the last stream.
            self.last_activity = self.last_activity.max(self.clock);
        }
        if stream.local {
            self.local_open = self.local_open.saturating_sub(1);
            if self.open_blocked {
                self.open_blocked = false;
                self.events.push_back(Event::CanOpenStream);
            }
        } else {
            self.peer_open = self.peer_open.saturating_sub(1);
        }
        Some(stream)
    }

    /// Puts a stream in the ready queue if it has something it may send.
    fn schedule(&mut self, stream_id: StreamId) {
        let ignore = self.config.flow_control == FlowControl::Disabled;
        let session_window = self.send_window.available();
        let Some(stream) = self.streams.get_mut(&stream_id) else {
            return;
        };
        let blocked = stream.window_blocked(session_window, ignore);
        self.send_timers
            .track(stream, blocked, self.clock, &self.config);
        if !stream.scheduled && stream.can_send(session_window, ignore) {
            stream.scheduled = true;
            self.ready.push(stream_id, stream.priority);
        }
    }

    /// Re-examines every stream after the session window or the initial
    /// window grew.
    fn schedule_all(&mut self) {
        let mut ids: Vec<StreamId> = self.streams.keys().copied().collect();
        // Lowest ids first, so the order is the same on every run.
        ids.sort_unstable();
        for id in ids {
            self.schedule(id);
        }
    }
}
