//! The incremental frame decoder and the frame encoder of one direction.

use bytes::{Buf, BufMut, BytesMut};

use super::goaway::GOAWAY_LEN;
use super::headers::HEADERS_FIXED_LEN;
use super::ping::PING_LEN;
use super::rst_stream::RST_STREAM_LEN;
use super::syn_reply::SYN_REPLY_FIXED_LEN;
use super::syn_stream::SYN_STREAM_FIXED_LEN;
use super::window_update::WINDOW_UPDATE_LEN;
use super::{
    Data, EncodeError, Frame, FrameError, FrameHead, FrameType, GoAway, HEAD_LEN, Headers, Ignored,
    LengthRule, MAX_FRAME_LEN, Ping, RstStream, SPDY_VERSION, Settings, StreamId, SynReply,
    SynStream, WindowUpdate,
};
use crate::header::{
    DEFAULT_MAX_HEADER_BLOCK_SIZE, HeaderBlock, HeaderCompression, HeaderDecoder, HeaderEncoder,
};

/// Default largest control frame payload accepted: room for a header block
/// at the default inflated bound plus deflate's framing overhead.
pub const DEFAULT_MAX_CONTROL_FRAME_LEN: u32 = 72 * 1024;
/// Default largest DATA payload accepted. A peer that honours flow control
/// never sends a frame larger than the window it was given; real peers send
/// 4 to 64 KiB frames.
pub const DEFAULT_MAX_DATA_FRAME_LEN: u32 = 1024 * 1024;

/// Limits the decoder enforces while parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecoderConfig {
    /// Largest control frame payload; longer frames are a session error,
    /// detected from the head alone (nothing is buffered).
    /// Default [`DEFAULT_MAX_CONTROL_FRAME_LEN`].
    pub max_control_frame_len: u32,
    /// Largest DATA payload; longer frames are skipped as they arrive and
    /// reported as RST_STREAM FRAME_TOO_LARGE. Default [`DEFAULT_MAX_DATA_FRAME_LEN`].
    pub max_data_frame_len: u32,
    /// Largest inflated header block. Default [`DEFAULT_MAX_HEADER_BLOCK_SIZE`].
    pub max_header_block_size: usize,
    /// Check the name/value rules (lowercase, unique, non-empty names; NUL
    /// placement). Default true; debugging tools turn it off to show blocks as sent.
    pub validate_headers: bool,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            max_control_frame_len: DEFAULT_MAX_CONTROL_FRAME_LEN,
            max_data_frame_len: DEFAULT_MAX_DATA_FRAME_LEN,
            max_header_block_size: DEFAULT_MAX_HEADER_BLOCK_SIZE,
            validate_headers: true,
        }
    }
}

#[derive(Debug)]
enum DecodeState {
    /// Waiting for the 8-byte head of the next frame.
    Head,
    /// The head is consumed; waiting for its whole payload.
    Payload(FrameHead),
    /// The head is consumed; the frame will be refused once the stream id at
    /// the start of its payload (if any) has arrived.
    Refuse(FrameHead),
    /// Skipping this many payload bytes as they arrive.
    Discard(usize),
    /// A session error was reported; nothing more is decoded.
    Stopped,
}

/// Decodes the frames of one direction of a session, incrementally.
///
/// Feed it the read buffer as bytes arrive; a frame split at any byte
/// boundary decodes the same. DATA payloads are split off the buffer without
/// copying. The decoder owns the direction's inflate context, so header
/// blocks come out in clear.
///
/// After an error whose [`scope`](FrameError::scope) is a session error the
/// decoder stops and returns [`FrameError::Stopped`]. After a stream error
/// the offending frame has been consumed (or is being skipped) and decoding
/// can go on.
pub struct FrameDecoder {
    config: DecoderConfig,
    headers: HeaderDecoder,
    state: DecodeState,
    consumed: u64,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new()
    }
}

impl FrameDecoder {
    /// A decoder with the default limits.
    pub fn new() -> Self {
        FrameDecoder::with_config(DecoderConfig::default())
    }

    /// A decoder with the given limits.
    pub fn with_config(config: DecoderConfig) -> Self {
        FrameDecoder {
            headers: HeaderDecoder::new(config.max_header_block_size),
            config,
            state: DecodeState::Head,
            consumed: 0,
        }
    }

    /// The limits in force.
    pub fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// Total bytes consumed from the input so far: the offset of the next
    /// unread byte of the stream.
    pub fn bytes_consumed(&self) -> u64 {
        self.consumed
    }

    /// True between frames: no partial frame is pending.
    pub fn is_at_frame_boundary(&self) -> bool {
        matches!(self.state, DecodeState::Head)
    }

    /// Decodes the next frame from `src`, consuming its bytes. Returns
    /// `Ok(None)` when more bytes are needed.
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        let result = self.decode_inner(src);
        if let Err(error) = &result
            && error.scope().is_session_error()
        {
            self.state = DecodeState::Stopped;
        }
        result
    }

    fn consume(&mut self, src: &mut BytesMut, n: usize) {
        src.advance(n);
        self.consumed += n as u64;
    }

    fn decode_inner(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        loop {
            match self.state {
                DecodeState::Stopped => return Err(FrameError::Stopped),
                DecodeState::Discard(remaining) => {
                    let n = remaining.min(src.len());
                    self.consume(src, n);
                    if n < remaining {
                        self.state = DecodeState::Discard(remaining - n);
                        return Ok(None);
                    }
                    self.state = DecodeState::Head;
                }
                DecodeState::Head => {
                    let Some(head_bytes) = src.first_chunk::<HEAD_LEN>() else {
                        return Ok(None);
                    };
                    let head = FrameHead::parse(head_bytes);
                    self.consume(src, HEAD_LEN);
                    if let Some(frame) = self.on_head(head)? {
                        return Ok(Some(frame));
                    }
                }
                DecodeState::Refuse(head) => {
                    let needs_id = head.frame_type().names_stream() && head.length() >= 4;
                    let stream_id = if needs_id {
                        let Some(id) = src.first_chunk::<4>() else {
                            return Ok(None);
                        };
                        Some(StreamId::new(u32::from_be_bytes(*id)))
                    } else {
                        None
                    };
                    return Err(self.refuse(src, head, stream_id));
                }
                DecodeState::Payload(head) => {
                    let length = head.length() as usize;
                    if src.len() < length {
                        src.reserve(length - src.len());
                        return Ok(None);
                    }
                    self.state = DecodeState::Head;
                    let frame = self.parse_payload(head, src);
                    self.consumed += length as u64;
                    return frame.map(Some);
                }
            }
        }
    }

    /// Checks a fresh head; returns a frame when it can be reported at once.
    fn on_head(&mut self, head: FrameHead) -> Result<Option<Frame>, FrameError> {
        let length = head.length();
        match head {
            FrameHead::Data { stream_id, .. } => {
                if stream_id.is_zero() {
                    return Err(FrameError::StreamIdZero {
                        frame_type: FrameType::Data,
                    });
                }
                if length > self.config.max_data_frame_len {
                    self.state = DecodeState::Discard(length as usize);
                    return Err(FrameError::DataFrameTooLarge {
                        stream_id,
                        length,
                        limit: self.config.max_data_frame_len,
                    });
                }
            }
            FrameHead::Control {
                version,
                frame_type,
                flags,
                ..
            } => {
                let kind = FrameType::from_code(frame_type);
                if version != SPDY_VERSION {
                    self.state = DecodeState::Refuse(head);
                    return Ok(None);
                }
                if matches!(
                    kind,
                    FrameType::Credential | FrameType::Noop | FrameType::Unknown(_)
                ) {
                    self.state = DecodeState::Discard(length as usize);
                    return Ok(Some(Frame::Ignored(Ignored {
                        frame_type,
                        flags,
                        length,
                    })));
                }
                if let Some(expected) = length_rule(kind) {
                    let ok = match expected {
                        LengthRule::Exactly(n) => length == n,
                        LengthRule::AtLeast(n) => length >= n,
                        LengthRule::SettingsEntries { .. } => true,
                    };
                    if !ok {
                        return Err(FrameError::InvalidLength {
                            frame_type: kind,
                            length,
                            expected,
                        });
                    }
                }
                if kind == FrameType::Settings && (length < 4 || !(length - 4).is_multiple_of(8)) {
                    return Err(FrameError::InvalidLength {
                        frame_type: kind,
                        length,
                        expected: LengthRule::SettingsEntries {
                            count: length.saturating_sub(4) / 8,
                        },
                    });
                }
                if length > self.config.max_control_frame_len {
                    self.state = DecodeState::Refuse(head);
                    return Ok(None);
                }
            }
        }
        self.state = DecodeState::Payload(head);
        Ok(None)
    }

    /// Builds the error for a frame refused from its head (a wrong version or
    /// an oversized control frame) and skips what must be skipped.
    fn refuse(
        &mut self,
        src: &mut BytesMut,
        head: FrameHead,
        stream_id: Option<StreamId>,
    ) -> FrameError {
        let FrameHead::Control {
            version, length, ..
        } = head
        else {
            unreachable!("only control frames are refused from their head")
        };
        let frame_type = head.frame_type();
        if version != SPDY_VERSION {
            // A stream error: skip the frame so decoding can go on.
            let taken = if stream_id.is_some() { 4 } else { 0 };
            self.consume(src, taken);
            self.state = DecodeState::Discard(length as usize - taken);
            FrameError::UnsupportedVersion {
                version,
                frame_type,
                stream_id,
            }
        } else {
            FrameError::ControlFrameTooLarge {
                frame_type,
                length,
                limit: self.config.max_control_frame_len,
                stream_id,
            }
        }
    }

    /// Parses a whole payload at the front of `src` and removes it.
    fn parse_payload(&mut self, head: FrameHead, src: &mut BytesMut) -> Result<Frame, FrameError> {
        let length = head.length() as usize;
        let flags = head.flags();
        if let FrameHead::Data { stream_id, .. } = head {
            return Ok(Frame::Data(Data {
                stream_id,
                fin: flags & super::FLAG_FIN != 0,
                payload: src.split_to(length).freeze(),
            }));
        }
        let payload = src.split_to(length);
        let fixed8 = || -> &[u8; 8] { payload.first_chunk::<8>().expect("length checked") };
        Ok(match head.frame_type() {
            FrameType::RstStream => Frame::RstStream(RstStream::decode(fixed8())?),
            FrameType::GoAway => Frame::GoAway(GoAway::decode(fixed8())),
            FrameType::WindowUpdate => Frame::WindowUpdate(WindowUpdate::decode(fixed8())?),
            FrameType::Ping => Frame::Ping(Ping::decode(
                payload.first_chunk::<4>().expect("length checked"),
            )),
            FrameType::Settings => Frame::Settings(Settings::decode(flags, &payload)?),
            FrameType::SynStream => {
                let fixed = payload.first_chunk::<10>().expect("length checked");
                let mut frame = SynStream::decode_fixed(flags, fixed);
                frame.headers = self.header_block(
                    FrameType::SynStream,
                    frame.stream_id,
                    &payload[SYN_STREAM_FIXED_LEN as usize..],
                )?;
                Frame::SynStream(frame)
            }
            FrameType::SynReply => {
                let fixed = payload.first_chunk::<4>().expect("length checked");
                let mut frame = SynReply::decode_fixed(flags, fixed);
                frame.headers = self.header_block(
                    FrameType::SynReply,
                    frame.stream_id,
                    &payload[SYN_REPLY_FIXED_LEN as usize..],
                )?;
                Frame::SynReply(frame)
            }
            FrameType::Headers => {
                let fixed = payload.first_chunk::<4>().expect("length checked");
                let mut frame = Headers::decode_fixed(flags, fixed);
                frame.headers = self.header_block(
                    FrameType::Headers,
                    frame.stream_id,
                    &payload[HEADERS_FIXED_LEN as usize..],
                )?;
                Frame::Headers(frame)
            }
            other => unreachable!("{other} frames never reach payload parsing"),
        })
    }

    fn header_block(
        &mut self,
        frame_type: FrameType,
        stream_id: StreamId,
        compressed: &[u8],
    ) -> Result<HeaderBlock, FrameError> {
        if stream_id.is_zero() {
            return Err(FrameError::StreamIdZero { frame_type });
        }
        let decoded = if self.config.validate_headers {
            self.headers.decode(compressed)
        } else {
            self.headers.decode_raw(compressed)
        };
        decoded.map_err(|source| FrameError::HeaderBlock {
            frame_type,
            stream_id,
            source,
        })
    }
}

/// The fixed length rule of each control type that has one.
fn length_rule(kind: FrameType) -> Option<LengthRule> {
    match kind {
        FrameType::RstStream => Some(LengthRule::Exactly(RST_STREAM_LEN)),
        FrameType::GoAway => Some(LengthRule::Exactly(GOAWAY_LEN)),
        FrameType::WindowUpdate => Some(LengthRule::Exactly(WINDOW_UPDATE_LEN)),
        FrameType::Ping => Some(LengthRule::Exactly(PING_LEN)),
        FrameType::Settings => Some(LengthRule::AtLeast(4)),
        FrameType::SynStream => Some(LengthRule::AtLeast(SYN_STREAM_FIXED_LEN)),
        FrameType::SynReply => Some(LengthRule::AtLeast(SYN_REPLY_FIXED_LEN)),
        FrameType::Headers => Some(LengthRule::AtLeast(HEADERS_FIXED_LEN)),
        _ => None,
    }
}

/// Encodes the frames of one direction of a session.
///
/// The encoder owns the direction's deflate context: header blocks must be
/// encoded in the order the frames are sent.
pub struct FrameEncoder {
    headers: HeaderEncoder,
}

impl Default for FrameEncoder {
    fn default() -> Self {
        FrameEncoder::new()
    }
}

impl FrameEncoder {
    /// An encoder with zlib deflate at level 1 for header blocks.
    pub fn new() -> Self {
        FrameEncoder {
            headers: HeaderEncoder::new(),
        }
    }

    /// An encoder whose header blocks are compressed as `compression` says.
    pub fn with_compression(compression: HeaderCompression) -> Self {
        FrameEncoder {
            headers: HeaderEncoder::with_compression(compression),
        }
    }

    /// Appends `frame` to `dst`. On error `dst` is left as it was and the
    /// compression context is untouched.
    ///
    /// DATA payloads are copied; to send a payload without copying, write
    /// [`Data::head`] followed by the payload with a vectored write.
    pub fn encode(&mut self, frame: &Frame, dst: &mut BytesMut) -> Result<(), EncodeError> {
        match frame {
            Frame::Data(data) => {
                check_len(FrameType::Data, data.payload.len())?;
                data.encode(dst);
            }
            Frame::SynStream(f) => self.encode_with_headers(
                FrameType::SynStream,
                f.flags(),
                SYN_STREAM_FIXED_LEN,
                &f.headers,
                dst,
                |dst| f.encode_fixed(dst),
            )?,
            Frame::SynReply(f) => self.encode_with_headers(
                FrameType::SynReply,
                f.flags(),
                SYN_REPLY_FIXED_LEN,
                &f.headers,
                dst,
                |dst| f.encode_fixed(dst),
            )?,
            Frame::Headers(f) => self.encode_with_headers(
                FrameType::Headers,
                f.flags(),
                HEADERS_FIXED_LEN,
                &f.headers,
                dst,
                |dst| f.encode_fixed(dst),
            )?,
            Frame::RstStream(f) => {
                put_control_head(dst, FrameType::RstStream, 0, RST_STREAM_LEN);
                f.encode_payload(dst);
            }
            Frame::GoAway(f) => {
                put_control_head(dst, FrameType::GoAway, 0, GOAWAY_LEN);
                f.encode_payload(dst);
            }
            Frame::WindowUpdate(f) => {
                put_control_head(dst, FrameType::WindowUpdate, 0, WINDOW_UPDATE_LEN);
                f.encode_payload(dst);
            }
            Frame::Ping(f) => {
                put_control_head(dst, FrameType::Ping, 0, PING_LEN);
                f.encode_payload(dst);
            }
            Frame::Settings(f) => {
                let length = check_len(FrameType::Settings, f.payload_len())?;
                put_control_head(dst, FrameType::Settings, f.flags(), length);
                f.encode_payload(dst);
            }
            Frame::Ignored(f) => {
                let length = check_len(FrameType::from_code(f.frame_type), f.length as usize)?;
                dst.put_slice(
                    &FrameHead::Control {
                        version: SPDY_VERSION,
                        frame_type: f.frame_type,
                        flags: f.flags,
                        length,
                    }
                    .to_bytes(),
                );
                dst.put_bytes(0, length as usize);
            }
        }
        Ok(())
    }

    fn encode_with_headers(
        &mut self,
        frame_type: FrameType,
        flags: u8,
        fixed_len: u32,
        headers: &HeaderBlock,
        dst: &mut BytesMut,
        encode_fixed: impl FnOnce(&mut BytesMut),
    ) -> Result<(), EncodeError> {
        // Refuse a block that could overflow the length field before the
        // deflate context sees it, so the context never gets out of step
        // with what the peer receives.
        let worst = fixed_len as usize + deflate_bound(serialized_len(headers));
        check_len(frame_type, worst)?;
        let start = dst.len();
        put_control_head(dst, frame_type, flags, 0);
        encode_fixed(dst);
        self.headers
            .encode(headers, dst)
            .map_err(|source| EncodeError::Header { frame_type, source })?;
        let length = (dst.len() - start - HEAD_LEN) as u32;
        dst[start + 5..start + 8].copy_from_slice(&length.to_be_bytes()[1..]);
        Ok(())
    }
}

fn put_control_head(dst: &mut BytesMut, frame_type: FrameType, flags: u8, length: u32) {
    dst.put_slice(
        &FrameHead::Control {
            version: SPDY_VERSION,
            frame_type: frame_type.code(),
            flags,
            length,
        }
        .to_bytes(),
    );
}

fn check_len(frame_type: FrameType, length: usize) -> Result<u32, EncodeError> {
    if length > MAX_FRAME_LEN as usize {
        return Err(EncodeError::TooLong { frame_type, length });
    }
    Ok(length as u32)
}

/// The uncompressed size of a name/value block.
fn serialized_len(block: &HeaderBlock) -> usize {
    4 + block
        .pairs()
        .iter()
        .map(|p| 8 + p.name.len() + p.value.len())
        .sum::<usize>()
}

/// A generous upper bound of deflate's output for `n` input bytes: stored
/// blocks add 5 bytes per 16 KiB, plus the zlib header and a sync flush.
fn deflate_bound(n: usize) -> usize {
    n + n / 1024 + 64
}
