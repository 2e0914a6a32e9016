//! SPDY/3.1 frames: one module per frame type, the 8-byte frame head, the
//! incremental decoder and the encoder.
//!
//! Header-bearing frames (SYN_STREAM, SYN_REPLY, HEADERS) carry their header
//! block in clear as a [`HeaderBlock`]; the [`FrameDecoder`] and
//! [`FrameEncoder`] own the zlib context of their direction and (de)compress
//! blocks as frames pass, so a session needs one of each.
//!
//! ```
//! use bytes::BytesMut;
//! use spdy_core::frame::{Frame, FrameDecoder, FrameEncoder, Ping};
//!
//! let mut encoder = FrameEncoder::new();
//! let mut wire = BytesMut::new();
//! encoder.encode(&Frame::Ping(Ping { id: 1 }), &mut wire).unwrap();
//!
//! let mut decoder = FrameDecoder::new();
//! assert_eq!(decoder.decode(&mut wire).unwrap(), Some(Frame::Ping(Ping { id: 1 })));
//! ```

#[cfg(feature = "arbitrary")]
mod arbitrary;
mod codec;
mod data;
mod error;
mod goaway;
mod head;
mod headers;
mod ids;
mod ignored;
mod ping;
mod rst_stream;
mod settings;
mod syn_reply;
mod syn_stream;
mod window_update;

pub use crate::header::HeaderBlock;
pub use codec::{
    DEFAULT_MAX_CONTROL_FRAME_LEN, DEFAULT_MAX_DATA_FRAME_LEN, DecoderConfig, FrameDecoder,
    FrameEncoder,
};
pub use data::Data;
pub use error::{EncodeError, ErrorScope, FrameError, LengthRule};
pub use goaway::{GoAway, GoAwayStatus};
pub use head::{CONTROL_BIT, FrameHead, FrameType, HEAD_LEN, MAX_FRAME_LEN, SPDY_VERSION};
pub use headers::Headers;
pub use ids::{Priority, StreamId};
pub use ignored::Ignored;
pub use ping::Ping;
pub use rst_stream::{RstStatus, RstStream};
pub use settings::{SettingEntry, SettingFlags, SettingId, Settings};
pub use syn_reply::SynReply;
pub use syn_stream::SynStream;
pub use window_update::{MAX_WINDOW_DELTA, WindowUpdate};

/// Flag carried by DATA, SYN_STREAM, SYN_REPLY and HEADERS: the sender's last frame on the stream.
pub const FLAG_FIN: u8 = 0x01;
/// SYN_STREAM flag: the stream is open in one direction only (server push).
pub const FLAG_UNIDIRECTIONAL: u8 = 0x02;
/// SETTINGS flag: drop all persisted settings before applying this frame.
pub const FLAG_SETTINGS_CLEAR_SETTINGS: u8 = 0x01;

/// One decoded SPDY/3.1 frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// DATA: payload bytes for a stream.
    Data(Data),
    /// SYN_STREAM (type 1): opens a stream.
    SynStream(SynStream),
    /// SYN_REPLY (type 2): accepts a stream opened by the peer.
    SynReply(SynReply),
    /// RST_STREAM (type 3): aborts a stream.
    RstStream(RstStream),
    /// SETTINGS (type 4).
    Settings(Settings),
    /// PING (type 6).
    Ping(Ping),
    /// GOAWAY (type 7).
    GoAway(GoAway),
    /// HEADERS (type 8): more headers for an open stream.
    Headers(Headers),
    /// WINDOW_UPDATE (type 9): flow-control credit.
    WindowUpdate(WindowUpdate),
    /// A control frame that was skipped by length: CREDENTIAL or an unknown type.
    Ignored(Ignored),
}

impl Frame {
    /// The frame's type.
    pub fn frame_type(&self) -> FrameType {
        match self {
            Frame::Data(_) => FrameType::Data,
            Frame::SynStream(_) => FrameType::SynStream,
            Frame::SynReply(_) => FrameType::SynReply,
            Frame::RstStream(_) => FrameType::RstStream,
            Frame::Settings(_) => FrameType::Settings,
            Frame::Ping(_) => FrameType::Ping,
            Frame::GoAway(_) => FrameType::GoAway,
            Frame::Headers(_) => FrameType::Headers,
            Frame::WindowUpdate(_) => FrameType::WindowUpdate,
            Frame::Ignored(ignored) => FrameType::from_code(ignored.frame_type),
        }
    }

    /// The stream the frame belongs to, if it names one (0 is reported as `None`).
    pub fn stream_id(&self) -> Option<StreamId> {
        let id = match self {
            Frame::Data(f) => f.stream_id,
            Frame::SynStream(f) => f.stream_id,
            Frame::SynReply(f) => f.stream_id,
            Frame::RstStream(f) => f.stream_id,
            Frame::Headers(f) => f.stream_id,
            Frame::WindowUpdate(f) => f.stream_id,
            Frame::Settings(_) | Frame::Ping(_) | Frame::GoAway(_) | Frame::Ignored(_) => {
                return None;
            }
        };
        (!id.is_zero()).then_some(id)
    }
}

macro_rules! impl_from_frame {
    ($($variant:ident),* $(,)?) => {
        $(impl From<$variant> for Frame {
            fn from(frame: $variant) -> Self {
                Frame::$variant(frame)
            }
        })*
    };
}
impl_from_frame!(
    Data,
    SynStream,
    SynReply,
    RstStream,
    Settings,
    Ping,
    GoAway,
    Headers,
    WindowUpdate,
    Ignored
);
