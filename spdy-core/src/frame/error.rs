//! Errors of the frame layer. Each decoding error knows its scope: a stream
//! error answered with RST_STREAM, or a session error answered with GOAWAY.

use std::fmt;

use super::{FrameType, GoAwayStatus, RstStatus, StreamId};
use crate::header::HeaderError;

/// What the receiver of a bad frame must do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorScope {
    /// Reset one stream with RST_STREAM; the session goes on.
    Stream {
        /// The stream to reset.
        stream_id: StreamId,
        /// The RST_STREAM status to send.
        status: RstStatus,
    },
    /// End the session with GOAWAY and close the connection.
    Session {
        /// The GOAWAY status to send.
        status: GoAwayStatus,
        /// A stream to reset first, when the draft asks for it (a header
        /// frame too large to process gets RST_STREAM FRAME_TOO_LARGE before
        /// the session closes, since the compression context is lost).
        reset_first: Option<(StreamId, RstStatus)>,
    },
}

impl ErrorScope {
    /// True for errors that end the session.
    pub fn is_session_error(self) -> bool {
        matches!(self, ErrorScope::Session { .. })
    }

    fn session(status: GoAwayStatus) -> Self {
        ErrorScope::Session {
            status,
            reset_first: None,
        }
    }
}

/// What a fixed-layout frame's length must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthRule {
    /// Exactly this many bytes.
    Exactly(u32),
    /// At least this many bytes.
    AtLeast(u32),
    /// 4 + 8 × the entry count in the frame.
    SettingsEntries {
        /// The entry count the frame declares.
        count: u32,
    },
}

impl fmt::Display for LengthRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LengthRule::Exactly(n) => write!(f, "exactly {n} bytes"),
            LengthRule::AtLeast(n) => write!(f, "at least {n} bytes"),
            LengthRule::SettingsEntries { count } => {
                write!(
                    f,
                    "4 + 8 x {count} entries = {} bytes",
                    4 + 8 * u64::from(*count)
                )
            }
        }
    }
}

/// A frame the decoder cannot accept.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// A DATA frame longer than the configured maximum; its payload was skipped.
    #[error("DATA frame on stream {stream_id} is {length} bytes, over the limit of {limit}")]
    DataFrameTooLarge {
        /// The stream named by the frame.
        stream_id: StreamId,
        /// The frame's payload length (all of it was discarded).
        length: u32,
        /// The configured maximum DATA payload.
        limit: u32,
    },
    /// A control frame longer than the configured maximum.
    #[error("{frame_type} frame is {length} bytes, over the control frame limit of {limit}")]
    ControlFrameTooLarge {
        /// The frame's type.
        frame_type: FrameType,
        /// The declared payload length.
        length: u32,
        /// The configured maximum control payload.
        limit: u32,
        /// The stream it names, when that could be read.
        stream_id: Option<StreamId>,
    },
    /// A control frame whose version field is not 3; it was skipped.
    #[error("{frame_type} frame has SPDY version {version}, only 3 is supported")]
    UnsupportedVersion {
        /// The version found.
        version: u16,
        /// The frame's type.
        frame_type: FrameType,
        /// The stream it names, if its type names one.
        stream_id: Option<StreamId>,
    },
    /// A frame whose length breaks its type's layout.
    #[error("{frame_type} frame has length {length}, expected {expected}")]
    InvalidLength {
        /// The frame's type.
        frame_type: FrameType,
        /// The declared payload length.
        length: u32,
        /// What it should have been.
        expected: LengthRule,
    },
    /// Stream id 0 where a real stream is required.
    #[error("{frame_type} frame names stream 0")]
    StreamIdZero {
        /// The frame's type.
        frame_type: FrameType,
    },
    /// A WINDOW_UPDATE delta outside 1..=2^31-1.
    #[error("WINDOW_UPDATE for stream {stream_id} has delta {delta}, outside 1..=2147483647")]
    InvalidWindowDelta {
        /// The stream (0 for the session).
        stream_id: StreamId,
        /// The raw 32-bit delta field.
        delta: u32,
    },
    /// An RST_STREAM with status 0.
    #[error("RST_STREAM for stream {stream_id} has status 0")]
    RstStatusZero {
        /// The stream named.
        stream_id: StreamId,
    },
    /// A header block that could not be decompressed or parsed.
    #[error("{frame_type} frame for stream {stream_id}: {source}")]
    HeaderBlock {
        /// The frame's type.
        frame_type: FrameType,
        /// The stream named.
        stream_id: StreamId,
        /// What went wrong.
        source: HeaderError,
    },
    /// The decoder already failed with a session error and will not go on.
    #[error("frame decoder stopped after an earlier session error")]
    Stopped,
}

impl FrameError {
    /// What the receiver must do: reset a stream or end the session.
    pub fn scope(&self) -> ErrorScope {
        match self {
            FrameError::DataFrameTooLarge { stream_id, .. } => ErrorScope::Stream {
                stream_id: *stream_id,
                status: RstStatus::FrameTooLarge,
            },
            FrameError::ControlFrameTooLarge {
                frame_type,
                stream_id,
                ..
            } => ErrorScope::Session {
                status: GoAwayStatus::ProtocolError,
                reset_first: match (frame_type, stream_id) {
                    (FrameType::SynStream | FrameType::SynReply | FrameType::Headers, Some(id)) => {
                        Some((*id, RstStatus::FrameTooLarge))
                    }
                    _ => None,
                },
            },
            FrameError::UnsupportedVersion {
                stream_id: Some(stream_id),
                ..
            } if !stream_id.is_zero() => ErrorScope::Stream {
                stream_id: *stream_id,
                status: RstStatus::UnsupportedVersion,
            },
            FrameError::UnsupportedVersion { .. }
            | FrameError::InvalidLength { .. }
            | FrameError::StreamIdZero { .. }
            | FrameError::RstStatusZero { .. }
            | FrameError::Stopped => ErrorScope::session(GoAwayStatus::ProtocolError),
            FrameError::InvalidWindowDelta { stream_id, .. } if !stream_id.is_zero() => {
                ErrorScope::Stream {
                    stream_id: *stream_id,
                    status: RstStatus::ProtocolError,
                }
            }
            FrameError::InvalidWindowDelta { .. } => {
                ErrorScope::session(GoAwayStatus::ProtocolError)
            }
            FrameError::HeaderBlock {
                stream_id, source, ..
            } => match source {
                HeaderError::Malformed(_) => ErrorScope::Stream {
                    stream_id: *stream_id,
                    status: RstStatus::ProtocolError,
                },
                HeaderError::TooLarge { .. } => ErrorScope::Session {
                    status: GoAwayStatus::ProtocolError,
                    reset_first: Some((*stream_id, RstStatus::FrameTooLarge)),
                },
                _ => ErrorScope::session(GoAwayStatus::ProtocolError),
            },
        }
    }
}

/// A frame that cannot be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The payload does not fit the 24-bit length field.
    #[error("{frame_type} payload of {length} bytes exceeds the 16777215-byte frame limit")]
    TooLong {
        /// The frame's type.
        frame_type: FrameType,
        /// The payload length that was needed.
        length: usize,
    },
    /// Compressing the header block failed.
    #[error("compressing the {frame_type} header block failed: {source}")]
    Header {
        /// The frame's type.
        frame_type: FrameType,
        /// What went wrong.
        source: HeaderError,
    },
}
