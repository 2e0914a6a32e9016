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
mod limits;
mod ping;
mod priority;
mod recv;
mod reset_memory;
mod send;
mod settings;
mod stream;
mod transmit;

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use bytes::BytesMut;

pub use config::{
    DEFAULT_SESSION_WINDOW, DEFAULT_STREAM_WINDOW, FloodLimits, FlowControl,
    PROTOCOL_INITIAL_WINDOW, RateLimit, Role, SessionConfig,
};
pub use error::{CloseReason, SendError};
pub use event::{Event, ResetOrigin};
pub use send::OpenStream;
pub use settings::PeerSettings;
pub use transmit::Transmit;

use crate::frame::{
    DecoderConfig, Frame, FrameDecoder, FrameEncoder, GoAway, GoAwayStatus, RstStatus, RstStream,
    SettingId, Settings, StreamId, WindowUpdate,
};
use flow::Window;
use limits::RateCounter;
use ping::PingTracker;
use priority::ReadyQueues;
use reset_memory::ResetMemory;
use stream::Stream;

/// Counters of the peer's work without data.
#[derive(Debug, Default)]
struct FloodCounters {
    pings: RateCounter,
    settings: RateCounter,
    resets: RateCounter,
    empty_frames: RateCounter,
    small_window_updates: RateCounter,
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
    goaway_sent: bool,
    goaway_received: Option<GoAway>,
    /// `open_stream` was refused for the peer's limit; announce a free slot.
    open_blocked: bool,
    close_reason: Option<CloseReason>,
    last_activity: Instant,
    out: BytesMut,
}

impl Session {
    /// A new session. Our SETTINGS (and a session WINDOW_UPDATE when the
    /// configured session window exceeds 64 KiB) are queued as the first
    /// frames to send.
    pub fn new(role: Role, config: SessionConfig, now: Instant) -> Self {
        let decoder = FrameDecoder::with_config(DecoderConfig {
            max_control_frame_len: config.max_control_frame_len,
            max_data_frame_len: config.max_data_frame_len,
            max_header_block_size: config.max_header_block_size,
            validate_headers: true,
        });
        let mut session = Session {
            role,
            decoder,
            encoder: FrameEncoder::new(),
            streams: HashMap::new(),
            local_open: 0,
            peer_open: 0,
            next_local_id: Some(StreamId::new(match role {
                Role::Client => 1,
                Role::Server => 2,
            })),
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
            goaway_received: None,
            open_blocked: false,
            close_reason: None,
            last_activity: now,
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
        self.last_activity = now;
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
            .map(|timeout| self.last_activity + timeout);
        let keepalive = self
            .config
            .keepalive_interval
            .map(|interval| match self.pings.oldest() {
                Some(sent) => sent + self.config.ping_timeout,
                None => self.last_activity + interval,
            });
        [idle, keepalive].into_iter().flatten().min()
    }

    /// Acts on timers that are due: the idle timeout, the keepalive PING and
    /// its answer's deadline.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        if let Some(timeout) = self.config.idle_timeout
            && self.streams.is_empty()
            && now >= self.last_activity + timeout
        {
            self.queue_goaway(GoAwayStatus::Ok);
            self.finish(CloseReason::IdleTimeout);
            return;
        }
        if let Some(interval) = self.config.keepalive_interval {
            match self.pings.oldest() {
                Some(sent) if now >= sent + self.config.ping_timeout => {
                    self.queue_goaway(GoAwayStatus::Ok);
                    self.finish(CloseReason::PingTimeout);
                }
                None if now >= self.last_activity + interval => {
                    // Cannot fail: no ping is outstanding.
                    let _ = self.ping(now);
                }
                _ => {}
            }
        }
    }

    // ----- internals shared by recv, send and transmit -----

    /// Queues a control frame; a peer that keeps us answering without
    /// reading ends the session.
    fn queue_control(&mut self, frame: Frame) {
        if self.control.len() >= self.config.max_queued_control_frames {
            self.control.clear();
            self.streams.clear();
            self.finish(CloseReason::PeerNotReading);
            return;
        }
        self.control.push_back(frame);
    }

    fn queue_goaway(&mut self, status: GoAwayStatus) {
        if !self.goaway_sent {
            self.goaway_sent = true;
            self.control.push_back(Frame::GoAway(GoAway {
                last_good_stream_id: self.last_good_peer_id,
                status,
            }));
        }
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
        self.ready.clear();
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
        let stream = self.streams.remove(&stream_id)?;
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
        if let Some(stream) = self.streams.get_mut(&stream_id)
            && !stream.scheduled
            && stream.can_send(session_window, ignore)
        {
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
