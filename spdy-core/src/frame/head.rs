//! The 8-byte head every SPDY frame starts with.

use std::fmt;

use super::StreamId;

/// Length of a frame head in bytes.
pub const HEAD_LEN: usize = 8;
/// The protocol version this crate speaks in control frames.
pub const SPDY_VERSION: u16 = 3;
/// Top bit of the first byte: set on control frames.
pub const CONTROL_BIT: u8 = 0x80;
/// The largest payload a 24-bit length can express.
pub const MAX_FRAME_LEN: u32 = 0x00ff_ffff;

/// The type of a frame, including types this crate does not interpret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameType {
    /// A data frame (control bit clear).
    Data,
    /// Control type 1.
    SynStream,
    /// Control type 2.
    SynReply,
    /// Control type 3.
    RstStream,
    /// Control type 4.
    Settings,
    /// Control type 5, a SPDY/2 frame that SPDY/3 no longer defines.
    Noop,
    /// Control type 6.
    Ping,
    /// Control type 7.
    GoAway,
    /// Control type 8.
    Headers,
    /// Control type 9.
    WindowUpdate,
    /// Control type 10 (parsed and skipped).
    Credential,
    /// Any other control type.
    Unknown(u16),
}

impl FrameType {
    /// The type for a control frame's 16-bit type field.
    pub const fn from_code(code: u16) -> FrameType {
        match code {
            1 => FrameType::SynStream,
            2 => FrameType::SynReply,
            3 => FrameType::RstStream,
            4 => FrameType::Settings,
            5 => FrameType::Noop,
            6 => FrameType::Ping,
            7 => FrameType::GoAway,
            8 => FrameType::Headers,
            9 => FrameType::WindowUpdate,
            10 => FrameType::Credential,
            other => FrameType::Unknown(other),
        }
    }

    /// The 16-bit type field of a control frame (0 for DATA, which has none).
    pub const fn code(self) -> u16 {
        match self {
            FrameType::Data => 0,
            FrameType::SynStream => 1,
            FrameType::SynReply => 2,
            FrameType::RstStream => 3,
            FrameType::Settings => 4,
            FrameType::Noop => 5,
            FrameType::Ping => 6,
            FrameType::GoAway => 7,
            FrameType::Headers => 8,
            FrameType::WindowUpdate => 9,
            FrameType::Credential => 10,
            FrameType::Unknown(code) => code,
        }
    }

    /// True when the frame's payload starts with the stream id it belongs to.
    pub const fn names_stream(self) -> bool {
        matches!(
            self,
            FrameType::Data
                | FrameType::SynStream
                | FrameType::SynReply
                | FrameType::RstStream
                | FrameType::Headers
                | FrameType::WindowUpdate
        )
    }

    /// The name the SPDY draft uses, e.g. `SYN_STREAM`.
    pub const fn name(self) -> &'static str {
        match self {
            FrameType::Data => "DATA",
            FrameType::SynStream => "SYN_STREAM",
            FrameType::SynReply => "SYN_REPLY",
            FrameType::RstStream => "RST_STREAM",
            FrameType::Settings => "SETTINGS",
            FrameType::Noop => "NOOP",
            FrameType::Ping => "PING",
            FrameType::GoAway => "GOAWAY",
            FrameType::Headers => "HEADERS",
            FrameType::WindowUpdate => "WINDOW_UPDATE",
            FrameType::Credential => "CREDENTIAL",
            FrameType::Unknown(_) => "UNKNOWN",
        }
    }
}

impl fmt::Display for FrameType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameType::Unknown(code) => write!(f, "UNKNOWN({code})"),
            other => f.write_str(other.name()),
        }
    }
}

/// A parsed frame head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameHead {
    /// A control frame head.
    Control {
        /// Version field (3 for SPDY/3.1).
        version: u16,
        /// Raw 16-bit type field.
        frame_type: u16,
        /// Flags byte.
        flags: u8,
        /// Payload length.
        length: u32,
    },
    /// A data frame head.
    Data {
        /// The stream the payload belongs to.
        stream_id: StreamId,
        /// Flags byte.
        flags: u8,
        /// Payload length.
        length: u32,
    },
}

impl FrameHead {
    /// Parses the first 8 bytes of a frame.
    pub fn parse(bytes: &[u8; HEAD_LEN]) -> FrameHead {
        let flags = bytes[4];
        let length = u32::from_be_bytes([0, bytes[5], bytes[6], bytes[7]]);
        if bytes[0] & CONTROL_BIT != 0 {
            FrameHead::Control {
                version: u16::from_be_bytes([bytes[0] & !CONTROL_BIT, bytes[1]]),
                frame_type: u16::from_be_bytes([bytes[2], bytes[3]]),
                flags,
                length,
            }
        } else {
            FrameHead::Data {
                stream_id: StreamId::new(u32::from_be_bytes([
                    bytes[0], bytes[1], bytes[2], bytes[3],
                ])),
                flags,
                length,
            }
        }
    }

    /// Serialises the head. `length` must fit 24 bits and `version` 15 bits.
    pub fn to_bytes(self) -> [u8; HEAD_LEN] {
        let (first, flags, length) = match self {
            FrameHead::Control {
                version,
                frame_type,
                flags,
                length,
            } => {
                let word = (u32::from(CONTROL_BIT) << 24)
                    | (u32::from(version & 0x7fff) << 16)
                    | u32::from(frame_type);
                (word, flags, length)
            }
            FrameHead::Data {
                stream_id,
                flags,
                length,
            } => (stream_id.get(), flags, length),
        };
        let first = first.to_be_bytes();
        let length = (length & MAX_FRAME_LEN).to_be_bytes();
        [
            first[0], first[1], first[2], first[3], flags, length[1], length[2], length[3],
        ]
    }

    /// The payload length that follows the head.
    pub fn length(self) -> u32 {
        match self {
            FrameHead::Control { length, .. } | FrameHead::Data { length, .. } => length,
        }
    }

    /// The flags byte.
    pub fn flags(self) -> u8 {
        match self {
            FrameHead::Control { flags, .. } | FrameHead::Data { flags, .. } => flags,
        }
    }

    /// The frame type this head announces.
    pub fn frame_type(self) -> FrameType {
        match self {
            FrameHead::Control { frame_type, .. } => FrameType::from_code(frame_type),
            FrameHead::Data { .. } => FrameType::Data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_head_round_trip() {
        let head = FrameHead::Control {
            version: 3,
            frame_type: 1,
            flags: 0x03,
            length: 0x00ab_cdef,
        };
        let bytes = head.to_bytes();
        assert_eq!(bytes, [0x80, 0x03, 0x00, 0x01, 0x03, 0xab, 0xcd, 0xef]);
        assert_eq!(FrameHead::parse(&bytes), head);
    }

    #[test]
    fn data_head_round_trip() {
        let head = FrameHead::Data {
            stream_id: StreamId::new(0x7fff_ffff),
            flags: 0x01,
            length: 5,
        };
        let bytes = head.to_bytes();
        assert_eq!(bytes, [0x7f, 0xff, 0xff, 0xff, 0x01, 0, 0, 5]);
        assert_eq!(FrameHead::parse(&bytes), head);
    }

    #[test]
    fn frame_type_codes_round_trip() {
        for code in 0..=12u16 {
            assert_eq!(FrameType::from_code(code).code(), code);
        }
        assert_eq!(FrameType::from_code(0xff), FrameType::Unknown(0xff));
        assert_eq!(FrameType::WindowUpdate.to_string(), "WINDOW_UPDATE");
        assert_eq!(FrameType::Unknown(77).to_string(), "UNKNOWN(77)");
    }
}
