//! The per-stream send timeout: a stream whose queued DATA the peer's
//! windows have kept from going out for
//! [`stream_send_timeout`](super::SessionConfig::stream_send_timeout) is
//! reset with CANCEL, and the buffer it holds is freed.
//!
//! Without it a peer that stops granting credit (a stream window left at
//! zero, INITIAL_WINDOW_SIZE 0, a session window never reopened) holds
//! every stream's send buffer for as long as it keeps the connection, while
//! neither the write timeout (the socket is idle) nor the idle timeout
//! (streams are open) can see it.
//!
//! Cheap with many streams: a stream records when it became blocked; the
//! session keeps only the earliest time anything may expire and looks over
//! its streams then, at most once per second while something is blocked
//! and never while nothing is.

use std::time::{Duration, Instant};

use super::stream::Stream;
use super::{FlowControl, ResetOrigin, Session, SessionConfig};

/// Looks are at least this far apart.
const GRANULARITY: Duration = Duration::from_secs(1);

/// When to look for streams the peer's windows hold up.
#[derive(Debug, Default)]
pub(crate) struct SendStallCheck {
    next: Option<Instant>,
}

impl SendStallCheck {
    /// Notes at `now` whether the peer's windows hold `stream` up: its
    /// clock starts when it becomes blocked (and the session then looks by
    /// the time it could expire) and stops when it is not.
    pub(crate) fn track(
        &mut self,
        stream: &mut Stream,
        blocked: bool,
        now: Instant,
        config: &SessionConfig,
    ) {
        if !blocked {
            stream.send_blocked_since = None;
        } else if stream.send_blocked_since.is_none() {
            stream.send_blocked_since = Some(now);
            self.blocked_at(now, config);
        }
    }

    /// A stream became blocked at `at`: make sure the session looks by the
    /// time it could expire.
    fn blocked_at(&mut self, at: Instant, config: &SessionConfig) {
        let Some(due) = config
            .stream_send_timeout
            .and_then(|timeout| at.checked_add(timeout))
        else {
            return;
        };
        self.next = Some(self.next.map_or(due, |next| next.min(due)));
    }

    /// When the session should look next.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.next
    }
}

impl Session {
    /// Resets the streams the peer's windows have held up for the send
    /// timeout; forgets those that moved again.
    pub(super) fn handle_send_timeouts(&mut self, now: Instant) {
        let Some(timeout) = self.config.stream_send_timeout else {
            self.send_timers.next = None;
            return;
        };
        if self.send_timers.next.is_none_or(|next| now < next) {
            return;
        }
        let ignore = self.config.flow_control == FlowControl::Disabled;
        let session_window = self.send_window.available();
        let mut expired = Vec::new();
        let mut next: Option<Instant> = None;
        for (&id, stream) in &mut self.streams {
            let Some(since) = stream.send_blocked_since else {
                continue;
            };
            if !stream.window_blocked(session_window, ignore) {
                stream.send_blocked_since = None;
                continue;
            }
            // A peer still sending on the stream is alive: an upload held
            // back while the response streams in is not stalled.
            let since = stream.peer_data_at.map_or(since, |at| at.max(since));
            let Some(due) = since.checked_add(timeout) else {
                continue;
            };
            if now >= due {
                expired.push(id);
            } else {
                next = Some(next.map_or(due, |n| n.min(due)));
            }
        }
        // Round the next look up so many streams blocking a moment apart
        // cost one look, not one each.
        self.send_timers.next = next.map(|n| n.max(now + GRANULARITY));
        self.cancel_timed_out(expired, ResetOrigin::SendTimeout, now);
    }
}
