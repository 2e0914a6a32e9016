//! RST_STREAM (type 3): abort a stream with a status.

use bytes::{BufMut, BytesMut};

use super::{FrameError, FrameType, StreamId};

/// Length of an RST_STREAM payload.
pub(crate) const RST_STREAM_LEN: u32 = 8;

/// RST_STREAM: the stream is aborted; no more frames follow on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RstStream {
    /// The stream being reset (never 0).
    pub stream_id: StreamId,
    /// Why it is reset (never 0 on the wire).
    pub status: RstStatus,
}

impl RstStream {
    /// An RST_STREAM for `stream_id` with `status`.
    pub fn new(stream_id: StreamId, status: RstStatus) -> Self {
        RstStream { stream_id, status }
    }

    pub(crate) fn decode(payload: &[u8; 8]) -> Result<RstStream, FrameError> {
        let stream_id = StreamId::new(u32::from_be_bytes([
            payload[0], payload[1], payload[2], payload[3],
        ]));
        let status = u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]);
        if stream_id.is_zero() {
            return Err(FrameError::StreamIdZero {
                frame_type: FrameType::RstStream,
            });
        }
        if status == 0 {
            return Err(FrameError::RstStatusZero { stream_id });
        }
        Ok(RstStream {
            stream_id,
            status: RstStatus::from_code(status),
        })
    }

    pub(crate) fn encode_payload(&self, dst: &mut BytesMut) {
        dst.put_u32(self.stream_id.get());
        dst.put_u32(self.status.code());
    }
}

/// The status of an RST_STREAM frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RstStatus {
    /// 1: a generic protocol violation.
    ProtocolError,
    /// 2: a frame for a stream that is not active.
    InvalidStream,
    /// 3: the stream was refused before any processing; safe to retry.
    RefusedStream,
    /// 4: the peer's SPDY version is not supported.
    UnsupportedVersion,
    /// 5: the stream is no longer needed.
    Cancel,
    /// 6: an internal failure.
    InternalError,
    /// 7: the peer broke flow control.
    FlowControlError,
    /// 8: a SYN_REPLY for a stream that already has one.
    StreamInUse,
    /// 9: data or headers after the stream was half-closed.
    StreamAlreadyClosed,
    /// 10: the credential in use is not valid.
    InvalidCredentials,
    /// 11: a frame too large for this endpoint.
    FrameTooLarge,
    /// Any other value; 0 is invalid on the wire and rejected by the decoder.
    Unknown(u32),
}

impl RstStatus {
    /// The status for a wire value.
    pub const fn from_code(code: u32) -> RstStatus {
        match code {
            1 => RstStatus::ProtocolError,
            2 => RstStatus::InvalidStream,
            3 => RstStatus::RefusedStream,
            4 => RstStatus::UnsupportedVersion,
            5 => RstStatus::Cancel,
            6 => RstStatus::InternalError,
            7 => RstStatus::FlowControlError,
            8 => RstStatus::StreamInUse,
            9 => RstStatus::StreamAlreadyClosed,
            10 => RstStatus::InvalidCredentials,
            11 => RstStatus::FrameTooLarge,
            other => RstStatus::Unknown(other),
        }
    }

    /// The wire value.
    pub const fn code(self) -> u32 {
        match self {
            RstStatus::ProtocolError => 1,
            RstStatus::InvalidStream => 2,
            RstStatus::RefusedStream => 3,
            RstStatus::UnsupportedVersion => 4,
            RstStatus::Cancel => 5,
            RstStatus::InternalError => 6,
            RstStatus::FlowControlError => 7,
            RstStatus::StreamInUse => 8,
            RstStatus::StreamAlreadyClosed => 9,
            RstStatus::InvalidCredentials => 10,
            RstStatus::FrameTooLarge => 11,
            RstStatus::Unknown(code) => code,
        }
    }

    /// The name the draft uses, e.g. `REFUSED_STREAM`.
    pub const fn name(self) -> &'static str {
        match self {
            RstStatus::ProtocolError => "PROTOCOL_ERROR",
            RstStatus::InvalidStream => "INVALID_STREAM",
            RstStatus::RefusedStream => "REFUSED_STREAM",
            RstStatus::UnsupportedVersion => "UNSUPPORTED_VERSION",
            RstStatus::Cancel => "CANCEL",
            RstStatus::InternalError => "INTERNAL_ERROR",
            RstStatus::FlowControlError => "FLOW_CONTROL_ERROR",
            RstStatus::StreamInUse => "STREAM_IN_USE",
            RstStatus::StreamAlreadyClosed => "STREAM_ALREADY_CLOSED",
            RstStatus::InvalidCredentials => "INVALID_CREDENTIALS",
            RstStatus::FrameTooLarge => "FRAME_TOO_LARGE",
            RstStatus::Unknown(_) => "UNKNOWN",
        }
    }

    /// Every status the draft defines, in wire order.
    pub const KNOWN: [RstStatus; 11] = [
        RstStatus::ProtocolError,
        RstStatus::InvalidStream,
        RstStatus::RefusedStream,
        RstStatus::UnsupportedVersion,
        RstStatus::Cancel,
        RstStatus::InternalError,
        RstStatus::FlowControlError,
        RstStatus::StreamInUse,
        RstStatus::StreamAlreadyClosed,
        RstStatus::InvalidCredentials,
        RstStatus::FrameTooLarge,
    ];
}

impl std::fmt::Display for RstStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RstStatus::Unknown(code) => write!(f, "UNKNOWN({code})"),
            known => f.write_str(known.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_round_trip() {
        for (i, status) in RstStatus::KNOWN.iter().enumerate() {
            assert_eq!(status.code(), i as u32 + 1);
            assert_eq!(RstStatus::from_code(status.code()), *status);
        }
        assert_eq!(RstStatus::from_code(0), RstStatus::Unknown(0));
        assert_eq!(RstStatus::from_code(99).to_string(), "UNKNOWN(99)");
    }
}
