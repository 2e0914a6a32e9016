//! GOAWAY (type 7): the sender accepts no new streams.

use bytes::{BufMut, BytesMut};

use super::StreamId;

/// Length of a GOAWAY payload.
pub(crate) const GOAWAY_LEN: u32 = 8;

/// GOAWAY: no streams above `last_good_stream_id` were or will be processed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GoAway {
    /// The last stream the sender processed (0 if none).
    pub last_good_stream_id: StreamId,
    /// Why the session ends.
    pub status: GoAwayStatus,
}

impl GoAway {
    pub(crate) fn decode(payload: &[u8; 8]) -> GoAway {
        GoAway {
            last_good_stream_id: StreamId::new(u32::from_be_bytes([
                payload[0], payload[1], payload[2], payload[3],
            ])),
            status: GoAwayStatus::from_code(u32::from_be_bytes([
                payload[4], payload[5], payload[6], payload[7],
            ])),
        }
    }

    pub(crate) fn encode_payload(&self, dst: &mut BytesMut) {
        dst.put_u32(self.last_good_stream_id.get());
        dst.put_u32(self.status.code());
    }
}

/// The status of a GOAWAY frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GoAwayStatus {
    /// 0: a normal shutdown.
    Ok,
    /// 1: the peer broke the protocol.
    ProtocolError,
    /// 2: an internal failure.
    InternalError,
    /// Any other value.
    Unknown(u32),
}

impl GoAwayStatus {
    /// The status for a wire value.
    pub const fn from_code(code: u32) -> GoAwayStatus {
        match code {
            0 => GoAwayStatus::Ok,
            1 => GoAwayStatus::ProtocolError,
            2 => GoAwayStatus::InternalError,
            other => GoAwayStatus::Unknown(other),
        }
    }

    /// The wire value.
    pub const fn code(self) -> u32 {
        match self {
            GoAwayStatus::Ok => 0,
            GoAwayStatus::ProtocolError => 1,
            GoAwayStatus::InternalError => 2,
            GoAwayStatus::Unknown(code) => code,
        }
    }

    /// The name the draft uses, e.g. `PROTOCOL_ERROR`.
    pub const fn name(self) -> &'static str {
        match self {
            GoAwayStatus::Ok => "OK",
            GoAwayStatus::ProtocolError => "PROTOCOL_ERROR",
            GoAwayStatus::InternalError => "INTERNAL_ERROR",
            GoAwayStatus::Unknown(_) => "UNKNOWN",
        }
    }
}

impl std::fmt::Display for GoAwayStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GoAwayStatus::Unknown(code) => write!(f, "UNKNOWN({code})"),
            known => f.write_str(known.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_round_trip() {
        for code in 0..5 {
            assert_eq!(GoAwayStatus::from_code(code).code(), code);
        }
        assert_eq!(GoAwayStatus::from_code(2), GoAwayStatus::InternalError);
        assert_eq!(GoAwayStatus::Unknown(7).to_string(), "UNKNOWN(7)");
    }
}
