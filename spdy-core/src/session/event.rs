//! What a session tells the application.

use std::time::Duration;

use bytes::Bytes;

use super::CloseReason;
use crate::frame::{GoAwayStatus, Priority, RstStatus, Settings, StreamId};
use crate::header::HeaderBlock;

/// An event for the application, returned by [`Session::poll_event`](super::Session::poll_event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The peer opened a stream (SYN_STREAM).
    StreamOpened {
        /// The new stream.
        stream_id: StreamId,
        /// Its headers.
        headers: HeaderBlock,
        /// Its priority.
        priority: Priority,
        /// For a pushed stream, the stream it belongs to; 0 otherwise.
        associated_to: StreamId,
        /// The peer will send nothing more (no body).
        fin: bool,
        /// We may not send on the stream (pushed streams).
        unidirectional: bool,
    },
    /// The peer answered a stream we opened (SYN_REPLY).
    Reply {
        /// Our stream.
        stream_id: StreamId,
        /// The reply's headers.
        headers: HeaderBlock,
        /// The peer will send nothing more.
        fin: bool,
    },
    /// More headers on a stream (HEADERS).
    Headers {
        /// The stream.
        stream_id: StreamId,
        /// The headers.
        headers: HeaderBlock,
        /// The peer will send nothing more.
        fin: bool,
    },
    /// Payload on a stream. Give the bytes back with
    /// [`release_capacity`](super::Session::release_capacity) once consumed,
    /// so the peer may send more.
    Data {
        /// The stream.
        stream_id: StreamId,
        /// The payload (may be empty when only `fin` is news).
        data: Bytes,
        /// The peer will send nothing more.
        fin: bool,
    },
    /// The stream was reset and is gone: by the peer (RST_STREAM), by us
    /// because the peer broke a rule on it, or because the peer's GOAWAY
    /// showed it was never processed.
    Reset {
        /// The stream.
        stream_id: StreamId,
        /// The status.
        status: RstStatus,
        /// Who ended it.
        origin: ResetOrigin,
    },
    /// A stream that could not take more data can again (its queue drained
    /// to half of [`max_send_buffer`](super::SessionConfig::max_send_buffer)),
    /// or everything queued on it was sent after
    /// [`notify_when_sent`](super::Session::notify_when_sent).
    Writable {
        /// The stream.
        stream_id: StreamId,
    },
    /// Both ends finished a stream; it is removed.
    StreamClosed {
        /// The stream.
        stream_id: StreamId,
    },
    /// A stream slot became free after [`open_stream`](super::Session::open_stream)
    /// refused with [`StreamLimit`](super::SendError::StreamLimit).
    CanOpenStream,
    /// A PING we sent was answered.
    PingAnswered {
        /// The ping id.
        id: u32,
        /// Time from queueing the PING to reading its echo.
        rtt: Duration,
    },
    /// The peer's SETTINGS frame, after it was applied.
    Settings(Settings),
    /// The peer sent GOAWAY: it opens nothing more and processed none of our
    /// streams above `last_good_stream_id` (those get a retryable reset).
    GoAway {
        /// The last of our streams the peer processed.
        last_good_stream_id: StreamId,
        /// The peer's status.
        status: GoAwayStatus,
    },
    /// The session is over; nothing more will be sent or received.
    Closed(CloseReason),
}

/// Who reset a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetOrigin {
    /// The peer sent RST_STREAM.
    Peer,
    /// We sent RST_STREAM because the peer broke a rule on the stream.
    Local,
    /// The peer's GOAWAY named a lower last-good stream id: the peer never
    /// processed the stream, so repeating the request elsewhere is safe.
    GoAway,
    /// The session ended before the stream finished.
    SessionClosed,
    /// We reset the stream (CANCEL) because the peer could send on it but
    /// sent nothing for
    /// [`stream_receive_timeout`](super::SessionConfig::stream_receive_timeout).
    ReceiveTimeout,
    /// We reset the stream (CANCEL) because the peer's windows kept its
    /// queued data from going out for
    /// [`stream_send_timeout`](super::SessionConfig::stream_send_timeout).
    SendTimeout,
}

impl ResetOrigin {
    /// True when the peer is known not to have processed the stream, so it
    /// is safe to retry (GOAWAY, or REFUSED_STREAM from the peer).
    pub fn is_retryable(self, status: RstStatus) -> bool {
        matches!(self, ResetOrigin::GoAway)
            || (self == ResetOrigin::Peer && status == RstStatus::RefusedStream)
    }
}
