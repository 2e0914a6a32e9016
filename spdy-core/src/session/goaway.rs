//! Our GOAWAY: queued at once, or, for a graceful shutdown of a session
//! without flow control, held until the data queued before it is sent.
//!
//! Control frames go out ahead of queued DATA. Go spdystream (and so
//! kubectl and the kubelet) stops reading the connection as soon as it
//! reads a GOAWAY, so a graceful GOAWAY that overtook the output already
//! queued on open streams would lose that output. In
//! [`FlowControl::Disabled`](super::FlowControl::Disabled) sessions, the
//! sessions for those peers, a GOAWAY with status OK therefore waits until
//! every item (DATA payload, HEADERS, FIN) queued before it has been handed
//! to [`poll_transmit`](Session::poll_transmit), or its stream is gone.
//! GOAWAYs for errors, and every GOAWAY of strict sessions, go out at once.

use super::{FlowControl, Session};
use crate::frame::{Frame, GoAway, GoAwayStatus};

impl Session {
    /// Starts a graceful shutdown: GOAWAY with `status`; the peer's streams
    /// already accepted and ours finish, nothing new is opened, and the
    /// session closes once no stream is left.
    ///
    /// The GOAWAY goes out ahead of queued DATA, except in a session
    /// without flow control ([`FlowControl::Disabled`]) with status OK:
    /// there it is held until the data (and FINs and HEADERS) already
    /// queued on open streams has been sent, since spdystream peers stop
    /// reading at GOAWAY. Data queued after this call may follow the
    /// GOAWAY. While it is held, [`open_stream`](Session::open_stream)
    /// refuses with [`GoingAway`](super::SendError::GoingAway) and new
    /// streams from the peer are refused with REFUSED_STREAM (retryable);
    /// a later GOAWAY with an error status, [`close`](Session::close) or a
    /// session error sends its own GOAWAY at once.
    pub fn goaway(&mut self, status: GoAwayStatus) {
        if self.is_closed() {
            return;
        }
        if status == GoAwayStatus::Ok {
            if self.held_goaway.is_some() {
                return;
            }
            if !self.goaway_sent
                && self.config.flow_control == FlowControl::Disabled
                && self.set_goaway_barriers()
            {
                tracing::debug!(
                    streams = self.goaway_barriers,
                    "GOAWAY held until the data queued before it is sent"
                );
                self.goaway_sent = true;
                self.held_goaway = Some(status);
                return;
            }
        }
        self.queue_goaway(status);
        self.check_drained();
    }

    /// Marks, on every stream with something queued, the item a held
    /// GOAWAY waits for; false when nothing is queued anywhere.
    fn set_goaway_barriers(&mut self) -> bool {
        let mut waiting = 0;
        for stream in self.streams.values_mut() {
            if !stream.queue.is_empty() {
                stream.goaway_barrier = Some(stream.items_queued);
                waiting += 1;
            }
        }
        self.goaway_barriers = waiting;
        waiting > 0
    }

    /// Queues our GOAWAY now (once per session), with the last peer stream
    /// we accepted. A held graceful GOAWAY is replaced by this one.
    pub(super) fn queue_goaway(&mut self, status: GoAwayStatus) {
        self.held_goaway = None;
        self.goaway_sent = true;
        if !self.goaway_queued {
            self.goaway_queued = true;
            self.control.push_back(Frame::GoAway(GoAway {
                last_good_stream_id: self.last_good_peer_id,
                status,
            }));
        }
    }

    /// A stream's data queued before the held GOAWAY is all out, or the
    /// stream is gone: the GOAWAY goes once no stream waits any more.
    pub(super) fn goaway_barrier_passed(&mut self) {
        self.goaway_barriers = self.goaway_barriers.saturating_sub(1);
        if self.goaway_barriers == 0
            && !self.is_closed()
            && let Some(status) = self.held_goaway
        {
            self.queue_goaway(status);
        }
    }
}
