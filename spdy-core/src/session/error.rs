//! Why a session ended, and why a command was refused.

use std::fmt;

use crate::frame::{GoAwayStatus, StreamId};

/// Why a session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// Both ends finished cleanly: after a GOAWAY (ours or the peer's) every
    /// remaining stream completed, or [`close`](super::Session::close) was called.
    Graceful,
    /// The peer broke the protocol; we sent GOAWAY with this status.
    ProtocolError {
        /// The GOAWAY status we sent.
        status: GoAwayStatus,
        /// What the peer did.
        detail: String,
    },
    /// The peer sent GOAWAY with an error status and the session ended.
    PeerError {
        /// The peer's status.
        status: GoAwayStatus,
    },
    /// The peer made us do too much work without data (a flood).
    Flood {
        /// Which limit was passed.
        limit: &'static str,
    },
    /// A PING we sent was not answered in time.
    PingTimeout,
    /// No stream was open and nothing arrived for the idle timeout.
    IdleTimeout,
    /// The peer stopped reading: our queue of control frames filled up.
    PeerNotReading,
    /// The connection ended (reported by the driver).
    ConnectionLost(String),
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Graceful => f.write_str("session closed gracefully"),
            CloseReason::ProtocolError { status, detail } => {
                write!(f, "peer protocol error ({status}): {detail}")
            }
            CloseReason::PeerError { status } => {
                write!(f, "peer ended the session with GOAWAY {status}")
            }
            CloseReason::Flood { limit } => write!(f, "peer exceeded the {limit} limit"),
            CloseReason::PingTimeout => f.write_str("peer did not answer a PING in time"),
            CloseReason::IdleTimeout => f.write_str("session idle timeout"),
            CloseReason::PeerNotReading => f.write_str("peer stopped reading"),
            CloseReason::ConnectionLost(why) => write!(f, "connection lost: {why}"),
        }
    }
}

/// Why a command on a session or stream was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The session is over.
    #[error("session closed: {0}")]
    SessionClosed(CloseReason),
    /// A GOAWAY was sent or received: no new streams.
    #[error("no new streams after GOAWAY")]
    GoingAway,
    /// The peer's MAX_CONCURRENT_STREAMS is reached; wait for [`Event::CanOpenStream`](super::Event::CanOpenStream).
    #[error("the peer's limit of {limit} concurrent streams is reached")]
    StreamLimit {
        /// The peer's limit.
        limit: u32,
    },
    /// Every stream id of our parity has been used; start a new session.
    #[error("stream ids are exhausted; open a new session")]
    StreamIdsExhausted,
    /// The stream is not open (never opened, reset, or finished).
    #[error("stream {0} is not open")]
    UnknownStream(StreamId),
    /// We already sent FIN on the stream, or it is the peer's push.
    #[error("stream {0} is closed for sending")]
    SendClosed(StreamId),
    /// SYN_REPLY was already sent, or the stream is our own.
    #[error("stream {0} cannot be replied to")]
    CannotReply(StreamId),
    /// The stream's send queue is full; wait for [`Event::Writable`](super::Event::Writable).
    #[error("stream {0} send buffer is full")]
    BufferFull(StreamId),
    /// The frame is invalid (e.g. a pushed stream without an open associated stream).
    #[error("{0}")]
    Invalid(String),
}
