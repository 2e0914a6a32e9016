//! The per-stream receive timeout: a stream the peer could send on, but on
//! which nothing arrived for
//! [`stream_receive_timeout`](super::SessionConfig::stream_receive_timeout),
//! is reset with CANCEL (catalogue case 95: a request body that never ends).
//!
//! Cheap with thousands of streams: arrivals only record a time in the
//! stream (no reordering); each stream with an open receiving half has one
//! entry in an ordered schedule, keyed by when to look at it next, rounded
//! up to whole seconds from the session's start so the session wakes at
//! most once a second for all of them. An entry that comes due for a
//! stream that heard from its peer since is moved to the stream's real
//! deadline: one move per stream per timeout period, O(log streams) each.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::stream::Stream;
use super::{Event, ResetOrigin, Session};
use crate::frame::{RstStatus, StreamId};

/// Deadlines are checked at this granularity.
const GRANULARITY: Duration = Duration::from_secs(1);

/// When to look at which stream, soonest first.
#[derive(Debug)]
pub(crate) struct ReceiveTimers {
    entries: BTreeSet<(Instant, StreamId)>,
    /// Deadlines are rounded up to whole seconds after this.
    epoch: Instant,
}

impl ReceiveTimers {
    pub(crate) fn new(epoch: Instant) -> Self {
        ReceiveTimers {
            entries: BTreeSet::new(),
            epoch,
        }
    }

    /// `at`, rounded up to the next whole second after the epoch.
    fn round_up(&self, at: Instant) -> Instant {
        let since = at.saturating_duration_since(self.epoch);
        let step = GRANULARITY.as_nanos();
        let steps = since.as_nanos().div_ceil(step);
        let rounded = u64::try_from(steps.saturating_mul(step)).unwrap_or(u64::MAX);
        self.epoch
            .checked_add(Duration::from_nanos(rounded))
            .unwrap_or(at)
    }

    /// Schedules a look at `stream` at `at` (rounded up), replacing its
    /// earlier entry.
    pub(crate) fn arm(&mut self, stream: &mut Stream, at: Instant) {
        self.disarm(stream);
        let key = self.round_up(at);
        self.entries.insert((key, stream.id));
        stream.recv_timer = Some(key);
    }

    /// Removes `stream`'s entry, if it has one.
    pub(crate) fn disarm(&mut self, stream: &mut Stream) {
        if let Some(key) = stream.recv_timer.take() {
            self.entries.remove(&(key, stream.id));
        }
    }

    /// The soonest entry's time.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.entries.first().map(|&(at, _)| at)
    }

    /// Takes the soonest entry if it is due at `now`.
    fn pop_due(&mut self, now: Instant) -> Option<StreamId> {
        match self.entries.first() {
            Some(&(at, _)) if at <= now => self.entries.pop_first().map(|(_, id)| id),
            _ => None,
        }
    }

    /// Entries held (one per stream with an open receiving half, at most).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

impl Session {
    /// Resets the streams a timeout of kind `origin` expired (RST_STREAM
    /// CANCEL), lowest id first, telling the application of each.
    pub(super) fn cancel_timed_out(
        &mut self,
        mut expired: Vec<StreamId>,
        origin: ResetOrigin,
        now: Instant,
    ) {
        expired.sort_unstable();
        for stream_id in expired {
            if self.is_closed() {
                break;
            }
            tracing::debug!(%stream_id, ?origin, "timed out; resetting the stream with CANCEL");
            // The event first: the reset may end a draining session, and
            // nothing follows `Closed`.
            self.events.push_back(Event::Reset {
                stream_id,
                status: RstStatus::Cancel,
                origin,
            });
            self.reset(stream_id, RstStatus::Cancel, now);
        }
    }

    /// Starts the receive timeout of a stream whose receiving half is open.
    pub(super) fn start_receive_timer(&mut self, stream_id: StreamId, now: Instant) {
        let Some(timeout) = self.config.stream_receive_timeout else {
            return;
        };
        if let Some(stream) = self.streams.get_mut(&stream_id)
            && !stream.recv_closed
        {
            stream.recv_idle_since = now;
            // A timeout too long to represent never fires.
            if let Some(deadline) = now.checked_add(timeout) {
                self.recv_timers.arm(stream, deadline);
            }
        }
    }

    /// The peer has reason to send on the stream from `now` on: something
    /// arrived on it, or we sent what it may have waited for (our
    /// SYN_STREAM or SYN_REPLY, or credit). Only records the time; the
    /// schedule catches up when the stream's entry comes due.
    pub(super) fn restart_receive_clock(&mut self, stream_id: StreamId, now: Instant) {
        if let Some(stream) = self.streams.get_mut(&stream_id) {
            stream.recv_idle_since = stream.recv_idle_since.max(now);
        }
    }

    /// Resets the streams whose receive timeout passed; moves the entries
    /// of the others to their real deadlines.
    pub(super) fn handle_receive_timeouts(&mut self, now: Instant) {
        let Some(timeout) = self.config.stream_receive_timeout else {
            return;
        };
        let session_held_back = self.recv_window.available() == 0 || self.session_credit_pending;
        let mut expired = Vec::new();
        while let Some(id) = self.recv_timers.pop_due(now) {
            let Some(stream) = self.streams.get_mut(&id) else {
                continue;
            };
            stream.recv_timer = None;
            if stream.recv_closed {
                continue;
            }
            // While we hold the peer back (a window it has used up, or
            // credit not yet sent), its silence is ours: look again later;
            // the credit, once sent, restarts its clock.
            if session_held_back
                || stream.recv_window.available() == 0
                || stream.recv_credit_pending
            {
                if let Some(later) = now.checked_add(timeout) {
                    self.recv_timers.arm(stream, later);
                }
                continue;
            }
            let since = stream.recv_idle_since.max(self.session_credit_sent_at);
            let Some(deadline) = since.checked_add(timeout) else {
                continue;
            };
            if now >= deadline {
                expired.push(id);
            } else {
                self.recv_timers.arm(stream, deadline);
            }
        }
        self.cancel_timed_out(expired, ResetOrigin::ReceiveTimeout, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Priority;

    #[test]
    fn deadlines_round_up_to_whole_seconds_and_rearm_replaces() {
        let epoch = Instant::now();
        let mut timers = ReceiveTimers::new(epoch);
        let mut stream = Stream::new(StreamId::new(1), Priority::default(), false, 1, 1, epoch);
        timers.arm(&mut stream, epoch + Duration::from_millis(1_200));
        assert_eq!(timers.next(), Some(epoch + Duration::from_secs(2)));
        timers.arm(&mut stream, epoch + Duration::from_secs(5));
        assert_eq!(timers.len(), 1, "re-arming replaces the entry");
        assert_eq!(timers.next(), Some(epoch + Duration::from_secs(5)));
        assert_eq!(timers.pop_due(epoch + Duration::from_millis(4_999)), None);
        assert_eq!(
            timers.pop_due(epoch + Duration::from_secs(5)),
            Some(StreamId::new(1))
        );
        assert_eq!(timers.len(), 0);
        timers.arm(&mut stream, epoch);
        timers.disarm(&mut stream);
        assert_eq!(timers.next(), None);
    }
}
