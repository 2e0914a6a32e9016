//! Errors of the driver's handles.

use crate::frame::{RstStatus, StreamId};
use crate::session::{CloseReason, ResetOrigin, SendError};

/// Why an operation on a session or stream handle failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The stream was reset.
    #[error("stream {stream_id} was reset ({status}, {origin:?})")]
    Reset {
        /// The stream.
        stream_id: StreamId,
        /// The RST_STREAM status.
        status: RstStatus,
        /// Who reset it.
        origin: ResetOrigin,
    },
    /// The session ended (the connection dropped, a protocol error, a
    /// timeout or a graceful close) before the operation completed.
    #[error("{0}")]
    SessionClosed(CloseReason),
    /// The session refused the command.
    #[error(transparent)]
    Refused(SendError),
    /// The peer did not answer in time.
    #[error("timed out waiting for the peer")]
    Timeout,
    /// An HTTP body's length disagreed with its `content-length`: it went
    /// past it, or ended short of it. The stream was reset with
    /// PROTOCOL_ERROR: the body is not the message the peer declared.
    #[error(
        "stream {stream_id}: {received} body bytes arrived where its content-length declared \
         {declared}"
    )]
    ContentLength {
        /// The stream.
        stream_id: StreamId,
        /// What `content-length` said.
        declared: u64,
        /// What arrived: past `declared` when the body went on too long.
        received: u64,
    },
}

impl Error {
    /// True when the peer is known not to have processed the stream, so
    /// sending the same request again (on a new session) is safe: it was
    /// refused with REFUSED_STREAM, or lay above the peer's GOAWAY last-good id.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Reset { status, origin, .. } => origin.is_retryable(*status),
            Error::Refused(SendError::GoingAway) => true,
            _ => false,
        }
    }
}

impl From<SendError> for Error {
    fn from(error: SendError) -> Self {
        match error {
            SendError::SessionClosed(reason) => Error::SessionClosed(reason),
            other => Error::Refused(other),
        }
    }
}
