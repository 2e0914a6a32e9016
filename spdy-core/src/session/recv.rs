//! Handling what the peer sends.

use std::time::Instant;

use super::{CloseReason, Event, FlowControl, ResetOrigin, Session, Stream};
use crate::frame::{
    Data, ErrorScope, Frame, FrameError, FrameType, GoAway, GoAwayStatus, Headers,
    MAX_WINDOW_DELTA, Ping, RstStatus, RstStream, SettingId, Settings, StreamId, SynReply,
    SynStream, WindowUpdate,
};

/// WINDOW_UPDATEs crediting less than this count as window dribble.
const SMALL_WINDOW_UPDATE: u32 = 1024;

impl Session {
    pub(super) fn on_frame(&mut self, frame: Frame, now: Instant) {
        tracing::trace!(?frame, "received");
        if !matches!(frame, Frame::Ping(_)) {
            self.last_activity = self.last_activity.max(now);
        }
        match frame {
            Frame::Data(f) => self.on_data(f, now),
            Frame::SynStream(f) => self.on_syn_stream(f, now),
            Frame::SynReply(f) => self.on_syn_reply(f, now),
            Frame::Headers(f) => self.on_headers(f, now),
            Frame::RstStream(f) => self.on_rst_stream(f, now),
            Frame::Settings(f) => self.on_settings(f, now),
            Frame::Ping(f) => self.on_ping(f, now),
            Frame::GoAway(f) => self.on_goaway(f),
            Frame::WindowUpdate(f) => self.on_window_update(f, now),
            Frame::Ignored(_) => self.count_empty_frame(now),
        }
    }

    pub(super) fn on_decode_error(&mut self, error: FrameError, now: Instant) {
        tracing::debug!(%error, "bad frame from peer");
        if let FrameError::DataFrameTooLarge { length, .. } = error {
            // The peer spent session window on it; give it back at once.
            self.recv_window.consume(length);
            self.release_session(length);
        }
        match error {
            FrameError::UnsupportedVersion {
                frame_type: FrameType::RstStream,
                ..
            } => {
                // Never answer a reset with a reset, whatever its version.
                self.count_empty_frame(now);
                return;
            }
            FrameError::UnsupportedVersion {
                frame_type: FrameType::SynStream,
                stream_id: Some(stream_id),
                ..
            }
            | FrameError::HeaderBlock {
                frame_type: FrameType::SynStream,
                stream_id,
                ..
            } => {
                // The id is used even though the stream never opened; an id
                // a new stream could not have is a session error as usual.
                if !self.is_peer_id(stream_id) || stream_id <= self.last_peer_id {
                    let scope = error.scope();
                    if !scope.is_session_error() {
                        self.protocol_error(format!(
                            "{error}; and stream {stream_id} is not a valid new stream id"
                        ));
                        return;
                    }
                } else {
                    self.last_peer_id = stream_id;
                }
            }
            _ => {}
        }
        match error.scope() {
            ErrorScope::Stream { stream_id, status } => {
                if !self.streams.contains_key(&stream_id)
                    && self.reset_memory.contains(stream_id, now)
                {
                    // A frame in flight for a stream we already reset.
                    self.count_empty_frame(now);
                    return;
                }
                self.stream_error(stream_id, status, now);
            }
            ErrorScope::Session {
                status,
                reset_first,
            } => self.fail(
                status,
                CloseReason::ProtocolError {
                    status,
                    detail: error.to_string(),
                },
                reset_first,
            ),
        }
    }

    fn protocol_error(&mut self, detail: String) {
        let status = GoAwayStatus::ProtocolError;
        self.fail(status, CloseReason::ProtocolError { status, detail }, None);
    }

    fn flood(&mut self, limit: &'static str) {
        self.fail(
            GoAwayStatus::ProtocolError,
            CloseReason::Flood { limit },
            None,
        );
    }

    fn count_empty_frame(&mut self, now: Instant) {
        if !self
            .floods
            .empty_frames
            .record(now, self.config.flood_limits.empty_frames)
        {
            self.flood("empty frames");
        }
    }

    fn count_reset(&mut self, now: Instant) {
        if !self
            .floods
            .resets
            .record(now, self.config.flood_limits.resets)
        {
            self.flood("stream resets");
        }
    }

    /// True when `id` has the parity of streams the peer opens.
    pub(super) fn is_peer_id(&self, id: StreamId) -> bool {
        match self.role {
            super::Role::Client => id.is_server_initiated(),
            super::Role::Server => id.is_client_initiated(),
        }
    }

    /// Resets a stream because the peer broke a rule on it.
    pub(super) fn stream_error(&mut self, stream_id: StreamId, status: RstStatus, now: Instant) {
        if self.is_closed() {
            return;
        }
        self.queue_response(Frame::RstStream(RstStream { stream_id, status }));
        self.reset_memory.remember(stream_id, now);
        if self.remove_stream(stream_id).is_some() {
            self.events.push_back(Event::Reset {
                stream_id,
                status,
                origin: ResetOrigin::Local,
            });
            self.check_drained();
        }
        self.count_reset(now);
    }

    /// A frame for a stream we do not have. Frames for streams we reset
    /// recently are dropped; others are answered with INVALID_STREAM once,
    /// then dropped like those.
    fn on_unknown_stream(&mut self, stream_id: StreamId, now: Instant) {
        if !self.reset_memory.contains(stream_id, now) {
            self.stream_error(stream_id, RstStatus::InvalidStream, now);
        }
    }

    fn on_data(&mut self, frame: Data, now: Instant) {
        let Data {
            stream_id,
            fin,
            payload,
        } = frame;
        let len = payload.len() as u32;
        let strict = self.config.flow_control == FlowControl::Strict;
        if strict && u64::from(len) > self.recv_window.available() {
            self.protocol_error(format!(
                "DATA of {len} bytes on stream {stream_id} exceeds the session window of {}",
                self.recv_window.get()
            ));
            return;
        }
        self.recv_window.consume(len);
        let Some(stream) = self.streams.get_mut(&stream_id) else {
            self.release_session(len);
            self.on_unknown_stream(stream_id, now);
            return;
        };
        let error = if stream.recv_closed {
            Some(RstStatus::StreamAlreadyClosed)
        } else if stream.local && !stream.pushed && !stream.replied {
            // DATA before the SYN_REPLY.
            Some(RstStatus::ProtocolError)
        } else if stream.pushed && !stream.local && !stream.status_received {
            // A pushed stream's :status comes in a HEADERS frame before any DATA.
            Some(RstStatus::ProtocolError)
        } else if strict && u64::from(len) > stream.recv_window.available() {
            Some(RstStatus::FlowControlError)
        } else {
            None
        };
        if let Some(status) = error {
            self.release_session(len);
            self.stream_error(stream_id, status, now);
            return;
        }
        stream.recv_window.consume(len);
        stream.recv_idle_since = now;
        stream.peer_data_at = Some(now);
        if fin {
            stream.recv_closed = true;
        }
        if len == 0 && !fin {
            self.count_empty_frame(now);
        }
        self.events.push_back(Event::Data {
            stream_id,
            data: payload,
            fin,
        });
        if fin {
            self.maybe_finish_stream(stream_id);
        }
    }

    fn on_syn_stream(&mut self, frame: SynStream, now: Instant) {
        let id = frame.stream_id;
        if self.goaway_sent && !self.goaway_queued && self.is_peer_id(id) && id > self.last_peer_id
        {
            // Our GOAWAY waits behind queued data, so the peer cannot know
            // yet that we take nothing new: refuse the stream (retryable).
            self.last_peer_id = id;
            self.refuse(id, now);
            return;
        }
        if self.goaway_sent {
            // We promised to process nothing new and the peer learns it from
            // our GOAWAY: no answer. Frames that follow for the stream are
            // dropped quietly too, and the work still counts as a refusal.
            if self.is_peer_id(id) && id > self.last_peer_id {
                self.last_peer_id = id;
            }
            self.reset_memory.remember(id, now);
            self.count_reset(now);
            return;
        }
        if !self.is_peer_id(id) {
            self.protocol_error(format!("SYN_STREAM {id} has the parity of our own streams"));
            return;
        }
        if id <= self.last_peer_id {
            if self.streams.contains_key(&id) || id == self.last_peer_id {
                self.stream_error(id, RstStatus::ProtocolError, now);
            } else {
                self.protocol_error(format!(
                    "SYN_STREAM {id} is below the last stream id {} the peer used",
                    self.last_peer_id
                ));
            }
            return;
        }
        self.last_peer_id = id;
        let associated = frame.associated_to;
        let pushed = !associated.is_zero();
        match self.role {
            super::Role::Server => {
                if frame.unidirectional || pushed {
                    self.stream_error(id, RstStatus::ProtocolError, now);
                    return;
                }
            }
            super::Role::Client => {
                if pushed {
                    let parent_open = self
                        .streams
                        .get(&associated)
                        .is_some_and(|s| s.local && !s.recv_closed);
                    if !parent_open {
                        self.stream_error(id, RstStatus::InvalidStream, now);
                        return;
                    }
                    if !self.config.accept_push {
                        self.refuse(id, now);
                        return;
                    }
                } else if !self.config.accept_peer_bidirectional_streams {
                    self.stream_error(id, RstStatus::InvalidStream, now);
                    return;
                }
            }
        }
        if self.peer_open >= self.config.max_concurrent_streams {
            self.refuse(id, now);
            return;
        }
        // A push is one-way whatever its flags say: the draft has the
        // server set UNIDIRECTIONAL, but node-spdy 4 omits it, and we never
        // send on a pushed stream anyway.
        let unidirectional = frame.unidirectional || pushed;
        let mut stream = Stream::new(
            id,
            frame.priority,
            false,
            self.peer_initial_window,
            self.config.stream_window,
            now,
        );
        stream.pushed = pushed;
        // node-spdy 4 sends a push's :status in its SYN_STREAM rather than
        // in a HEADERS frame after it; either way the status is known.
        stream.status_received = pushed && frame.headers.get(":status").is_some();
        stream.send_closed = unidirectional;
        stream.replied = unidirectional;
        stream.recv_closed = frame.fin;
        self.streams.insert(id, stream);
        self.peer_open += 1;
        self.last_good_peer_id = id;
        self.start_receive_timer(id, now);
        self.events.push_back(Event::StreamOpened {
            stream_id: id,
            headers: frame.headers,
            priority: frame.priority,
            associated_to: associated,
            fin: frame.fin,
            unidirectional,
        });
        self.maybe_finish_stream(id);
    }

    /// Refuses a new stream without processing it (REFUSED_STREAM: retryable).
    fn refuse(&mut self, stream_id: StreamId, now: Instant) {
        self.queue_response(Frame::RstStream(RstStream {
            stream_id,
            status: RstStatus::RefusedStream,
        }));
        self.reset_memory.remember(stream_id, now);
        self.count_reset(now);
    }

    fn on_syn_reply(&mut self, frame: SynReply, now: Instant) {
        let id = frame.stream_id;
        let Some(stream) = self.streams.get_mut(&id) else {
            self.on_unknown_stream(id, now);
            return;
        };
        let error = if !stream.local || stream.pushed {
            Some(RstStatus::ProtocolError)
        } else if stream.replied {
            Some(RstStatus::StreamInUse)
        } else {
            None
        };
        if let Some(status) = error {
            self.stream_error(id, status, now);
            return;
        }
        stream.replied = true;
        stream.recv_closed |= frame.fin;
        stream.recv_idle_since = now;
        self.events.push_back(Event::Reply {
            stream_id: id,
            headers: frame.headers,
            fin: frame.fin,
        });
        self.maybe_finish_stream(id);
    }

    fn on_headers(&mut self, frame: Headers, now: Instant) {
        let id = frame.stream_id;
        let Some(stream) = self.streams.get_mut(&id) else {
            self.on_unknown_stream(id, now);
            return;
        };
        let error = if stream.recv_closed {
            Some(RstStatus::StreamAlreadyClosed)
        } else if stream.local && !stream.pushed && !stream.replied {
            Some(RstStatus::ProtocolError)
        } else {
            None
        };
        if let Some(status) = error {
            self.stream_error(id, status, now);
            return;
        }
        stream.recv_closed |= frame.fin;
        stream.recv_idle_since = now;
        if stream.pushed && frame.headers.get(":status").is_some() {
            stream.status_received = true;
        }
        if frame.headers.is_empty() && !frame.fin {
            self.count_empty_frame(now);
        }
        self.events.push_back(Event::Headers {
            stream_id: id,
            headers: frame.headers,
            fin: frame.fin,
        });
        self.maybe_finish_stream(id);
    }

    fn on_rst_stream(&mut self, frame: RstStream, now: Instant) {
        if self.remove_stream(frame.stream_id).is_some() {
            self.events.push_back(Event::Reset {
                stream_id: frame.stream_id,
                status: frame.status,
                origin: ResetOrigin::Peer,
            });
            self.check_drained();
        }
        self.count_reset(now);
    }

    fn on_settings(&mut self, frame: Settings, now: Instant) {
        if !self
            .floods
            .settings
            .record(now, self.config.flood_limits.settings)
        {
            self.flood("SETTINGS frames");
            return;
        }
        self.peer_settings
            .record(&frame, self.role == super::Role::Client);
        if frame.get(SettingId::MaxConcurrentStreams).is_some() && self.open_blocked {
            self.open_blocked = false;
            self.events.push_back(Event::CanOpenStream);
        }
        if let Some(size) = frame.get(SettingId::InitialWindowSize) {
            if size > MAX_WINDOW_DELTA {
                self.protocol_error(format!("INITIAL_WINDOW_SIZE {size} exceeds 2^31-1"));
                return;
            }
            let delta = i64::from(size) - i64::from(self.peer_initial_window);
            self.peer_initial_window = size;
            let mut ids: Vec<StreamId> = self.streams.keys().copied().collect();
            ids.sort_unstable();
            for id in ids {
                let overflow = self
                    .streams
                    .get_mut(&id)
                    .is_some_and(|s| s.send_window.adjust(delta).is_err());
                if overflow {
                    self.stream_error(id, RstStatus::FlowControlError, now);
                }
            }
            if delta > 0 {
                self.schedule_all();
            }
        }
        self.events.push_back(Event::Settings(frame));
    }

    fn on_ping(&mut self, frame: Ping, now: Instant) {
        if super::ping::PingTracker::is_ours(self.role, frame.id) {
            if let Some(sent) = self.pings.answer(frame.id) {
                self.events.push_back(Event::PingAnswered {
                    id: frame.id,
                    rtt: now.saturating_duration_since(sent),
                });
            } else if !self
                .floods
                .pings
                .record(now, self.config.flood_limits.pings)
            {
                // Echoes of PINGs we never sent cost work too.
                self.flood("PING frames");
            }
            return;
        }
        if !self
            .floods
            .pings
            .record(now, self.config.flood_limits.pings)
        {
            self.flood("PING frames");
            return;
        }
        self.queue_response(Frame::Ping(frame));
    }

    fn on_goaway(&mut self, frame: GoAway) {
        if self.goaway_received.is_some() {
            return;
        }
        self.goaway_received = Some(frame);
        let mut refused: Vec<StreamId> = self
            .streams
            .values()
            .filter(|s| s.local && s.id > frame.last_good_stream_id)
            .map(|s| s.id)
            .collect();
        refused.sort_unstable();
        // Those whose SYN_STREAM has not gone out yet are never opened:
        // nothing new goes to a peer that is going away. Their header
        // blocks are encoded only when sent, so the compression context
        // stays in step.
        self.control.retain(|frame| match frame {
            Frame::SynStream(syn) => refused.binary_search(&syn.stream_id).is_err(),
            _ => true,
        });
        for stream_id in refused {
            self.remove_stream(stream_id);
            self.events.push_back(Event::Reset {
                stream_id,
                status: RstStatus::RefusedStream,
                origin: ResetOrigin::GoAway,
            });
        }
        self.open_blocked = false;
        self.events.push_back(Event::GoAway {
            last_good_stream_id: frame.last_good_stream_id,
            status: frame.status,
        });
        self.check_drained();
    }

    fn on_window_update(&mut self, frame: WindowUpdate, now: Instant) {
        if frame.delta < SMALL_WINDOW_UPDATE
            && !self
                .floods
                .small_window_updates
                .record(now, self.config.flood_limits.small_window_updates)
        {
            self.flood("small WINDOW_UPDATE frames");
            return;
        }
        let delta = i64::from(frame.delta);
        if frame.stream_id.is_zero() {
            let was_shut = self.send_window.available() == 0;
            if self.send_window.adjust(delta).is_err() {
                self.fail(
                    GoAwayStatus::ProtocolError,
                    CloseReason::ProtocolError {
                        status: GoAwayStatus::ProtocolError,
                        detail: "session window grew past 2^31-1".into(),
                    },
                    None,
                );
                return;
            }
            // Only a window that was shut held streams back: while it is
            // open every stream that can send is scheduled already, so a
            // stream of session credit costs no look over every stream.
            if was_shut {
                self.schedule_all();
            }
            return;
        }
        let Some(stream) = self.streams.get_mut(&frame.stream_id) else {
            return; // Closed or never opened: nothing to credit.
        };
        if stream.send_window.adjust(delta).is_err() {
            self.stream_error(frame.stream_id, RstStatus::FlowControlError, now);
            return;
        }
        // The peer is alive on the stream: it is taking what we send.
        stream.recv_idle_since = now;
        self.schedule(frame.stream_id);
    }
}
