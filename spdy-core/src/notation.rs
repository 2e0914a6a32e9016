//! The YAML frame notation: how frames are written in scenarios and printed
//! by `cargo xtask frames decode`.
//!
//! A frame is a mapping tagged by `type` (the draft's frame names), with its
//! fields by name; header blocks are shown in clear as an ordered mapping.
//!
//! ```yaml
//! - type: SYN_STREAM
//!   stream_id: 1
//!   priority: 0
//!   fin: true
//!   headers:
//!     :method: GET
//!     :path: /
//!     cookie: [a=1, b=2]          # NUL-separated values as a list
//!     x-bin: {hex: ff00}          # bytes that are not UTF-8
//!     x-big: {fill: ab, len: 9}   # "ababababa" (input only)
//!   # or, for blocks a mapping cannot hold (one name twice), a list of pairs:
//!   # headers: [[x-dup, a], [x-dup, b]]
//! - type: DATA
//!   stream_id: 1
//!   data: hello                   # or data_hex: 68656c6c6f
//! - type: DATA
//!   stream_id: 1
//!   data_len: 70000               # 70000 bytes of data_fill (default 0)
//! - type: RST_STREAM
//!   stream_id: 1
//!   status: CANCEL                # a name from the draft, or a number
//! - type: SETTINGS
//!   clear_settings: true
//!   entries:
//!     - {id: INITIAL_WINDOW_SIZE, value: 1048576, persist_value: true}
//! - type: SKIPPED                 # CREDENTIAL or an unknown control type
//!   frame_type: 255
//!   length: 4
//! - type: RAW                     # exact bytes, for malformed input
//!   hex: 80 03 00 06 00 00 00 03 00 00 00
//! ```
//!
//! Printing a frame and encoding the result gives the same frame back, except
//! for DATA payloads longer than the inline limit, which are summarised as
//! `data_len` plus `data_sha256` (encoding such a note is an error).

use std::fmt;

use crate::frame::{
    Data, Frame, FrameEncoder, GoAway, GoAwayStatus, Headers, Ignored, Ping, Priority, RstStatus,
    RstStream, SettingEntry, SettingFlags, SettingId, Settings, StreamId, SynReply, SynStream,
    WindowUpdate,
};
use crate::header::HeaderBlock;
use bytes::{BufMut, Bytes, BytesMut};
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// One frame in the notation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE", deny_unknown_fields)]
pub enum FrameNote {
    /// A DATA frame. Exactly one payload form is given: `data`, `data_hex` or `data_len`.
    Data {
        /// Stream id.
        stream_id: u32,
        /// FIN flag.
        #[serde(default, skip_serializing_if = "is_false")]
        fin: bool,
        /// Payload as UTF-8 text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<String>,
        /// Payload as hex (spaces allowed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data_hex: Option<String>,
        /// Payload length: `data_len` copies of `data_fill`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data_len: Option<u32>,
        /// The byte repeated for `data_len` (default 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data_fill: Option<u8>,
        /// SHA-256 of a payload too long to print (output only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data_sha256: Option<String>,
    },
    /// A SYN_STREAM frame.
    SynStream {
        /// Stream id.
        stream_id: u32,
        /// Associated-to stream id (server push).
        #[serde(default, skip_serializing_if = "is_zero")]
        associated_to: u32,
        /// Priority 0 (highest) to 7.
        #[serde(default = "default_priority")]
        priority: u8,
        /// Credential slot.
        #[serde(default, skip_serializing_if = "is_zero_u8")]
        slot: u8,
        /// FIN flag.
        #[serde(default, skip_serializing_if = "is_false")]
        fin: bool,
        /// UNIDIRECTIONAL flag.
        #[serde(default, skip_serializing_if = "is_false")]
        unidirectional: bool,
        /// Header block in clear.
        #[serde(default)]
        headers: HeadersNote,
    },
    /// A SYN_REPLY frame.
    SynReply {
        /// Stream id.
        stream_id: u32,
        /// FIN flag.
        #[serde(default, skip_serializing_if = "is_false")]
        fin: bool,
        /// Header block in clear.
        #[serde(default)]
        headers: HeadersNote,
    },
    /// An RST_STREAM frame.
    RstStream {
        /// Stream id.
        stream_id: u32,
        /// Status name (e.g. CANCEL) or number.
        status: CodeNote,
    },
    /// A SETTINGS frame.
    Settings {
        /// CLEAR_SETTINGS flag.
        #[serde(default, skip_serializing_if = "is_false")]
        clear_settings: bool,
        /// Entries in order.
        #[serde(default)]
        entries: Vec<SettingNote>,
    },
    /// A PING frame.
    Ping {
        /// Ping id.
        id: u32,
    },
    /// A GOAWAY frame.
    Goaway {
        /// Last good stream id.
        last_good_stream_id: u32,
        /// Status name (OK, PROTOCOL_ERROR, INTERNAL_ERROR) or number.
        #[serde(default = "ok_status")]
        status: CodeNote,
    },
    /// A HEADERS frame.
    Headers {
        /// Stream id.
        stream_id: u32,
        /// FIN flag.
        #[serde(default, skip_serializing_if = "is_false")]
        fin: bool,
        /// Header block in clear.
        #[serde(default)]
        headers: HeadersNote,
    },
    /// A WINDOW_UPDATE frame.
    WindowUpdate {
        /// Stream id; 0 for the session.
        stream_id: u32,
        /// Credit.
        delta: u32,
    },
    /// A control frame skipped by length (CREDENTIAL or an unknown type).
    Skipped {
        /// Raw type number.
        frame_type: u16,
        /// Flags byte.
        #[serde(default, skip_serializing_if = "is_zero_u8")]
        flags: u8,
        /// Payload length (zeros when encoded).
        #[serde(default)]
        length: u32,
    },
    /// Exact bytes, sent as they are (input only).
    Raw {
        /// Hex bytes; whitespace is ignored.
        hex: String,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}
fn is_zero(n: &u32) -> bool {
    *n == 0
}
fn is_zero_u8(n: &u8) -> bool {
    *n == 0
}
fn default_priority() -> u8 {
    Priority::default().get()
}
fn ok_status() -> CodeNote {
    CodeNote::Name("OK".into())
}

/// A status or setting id: the draft's name, or a number for values without one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CodeNote {
    /// A name such as `REFUSED_STREAM`.
    Name(String),
    /// A raw number.
    Code(u32),
}

/// One SETTINGS entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingNote {
    /// Setting name (e.g. INITIAL_WINDOW_SIZE) or number.
    pub id: CodeNote,
    /// Value.
    pub value: u32,
    /// PERSIST_VALUE flag.
    #[serde(default, skip_serializing_if = "is_false")]
    pub persist_value: bool,
    /// PERSISTED flag.
    #[serde(default, skip_serializing_if = "is_false")]
    pub persisted: bool,
}

/// A header value: text, several NUL-separated values, or raw bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HeaderValueNote {
    /// One UTF-8 value.
    Text(String),
    /// Several values, joined by NUL on the wire.
    List(Vec<String>),
    /// Bytes that are not UTF-8.
    Hex {
        /// Hex bytes.
        hex: String,
    },
    /// `len` copies of the text `fill` (input only): large values without
    /// a large file, e.g. a header block that inflates to megabytes.
    Fill {
        /// The text repeated.
        fill: String,
        /// Bytes in all (the last copy is cut short).
        len: u32,
    },
}

/// A header block as an ordered mapping from name to value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeadersNote(pub Vec<(String, HeaderValueNote)>);

impl Serialize for HeadersNote {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for HeadersNote {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = HeadersNote;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping from header name to value, or a list of [name, value] pairs")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<HeadersNote, A::Error> {
                let mut pairs = Vec::new();
                while let Some((name, value)) = access.next_entry()? {
                    pairs.push((name, value));
                }
                Ok(HeadersNote(pairs))
            }
            /// A list of `[name, value]` pairs: the form for blocks a
            /// mapping cannot hold, such as one name twice.
            fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<HeadersNote, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = access.next_element::<(String, HeaderValueNote)>()? {
                    pairs.push(pair);
                }
                Ok(HeadersNote(pairs))
            }
        }
        deserializer.deserialize_any(PairsVisitor)
    }
}

/// How frames are printed.
#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    /// DATA payloads longer than this are summarised by length and SHA-256.
    pub max_inline_data: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            max_inline_data: 256,
        }
    }
}

/// A note that cannot become bytes.
#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    /// A field has a value the frame cannot carry.
    #[error("{0}")]
    Invalid(String),
    /// The frame encoder refused the frame.
    #[error(transparent)]
    Encode(#[from] crate::frame::EncodeError),
}

fn invalid(message: impl Into<String>) -> NoteError {
    NoteError::Invalid(message.into())
}

/// What a note stands for on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wire {
    /// A frame, encoded with the direction's compression context.
    Frame(Frame),
    /// Bytes sent exactly as given.
    Raw(Bytes),
}

impl FrameNote {
    /// The note for a decoded frame.
    pub fn from_frame(frame: &Frame, options: &RenderOptions) -> FrameNote {
        match frame {
            Frame::Data(data) => data_note(data, options),
            Frame::SynStream(f) => FrameNote::SynStream {
                stream_id: f.stream_id.get(),
                associated_to: f.associated_to.get(),
                priority: f.priority.get(),
                slot: f.slot,
                fin: f.fin,
                unidirectional: f.unidirectional,
                headers: HeadersNote::from_block(&f.headers),
            },
            Frame::SynReply(f) => FrameNote::SynReply {
                stream_id: f.stream_id.get(),
                fin: f.fin,
                headers: HeadersNote::from_block(&f.headers),
            },
            Frame::Headers(f) => FrameNote::Headers {
                stream_id: f.stream_id.get(),
                fin: f.fin,
                headers: HeadersNote::from_block(&f.headers),
            },
            Frame::RstStream(f) => FrameNote::RstStream {
                stream_id: f.stream_id.get(),
                status: match f.status {
                    RstStatus::Unknown(code) => CodeNote::Code(code),
                    known => CodeNote::Name(known.name().into()),
                },
            },
            Frame::Settings(f) => FrameNote::Settings {
                clear_settings: f.clear_settings,
                entries: f
                    .entries
                    .iter()
                    .map(|e| SettingNote {
                        id: match e.id {
                            SettingId::Unknown(code) => CodeNote::Code(code),
                            known => CodeNote::Name(known.name().into()),
                        },
                        value: e.value,
                        persist_value: e.flags.persist_value,
                        persisted: e.flags.persisted,
                    })
                    .collect(),
            },
            Frame::Ping(f) => FrameNote::Ping { id: f.id },
            Frame::GoAway(f) => FrameNote::Goaway {
                last_good_stream_id: f.last_good_stream_id.get(),
                status: match f.status {
                    GoAwayStatus::Unknown(code) => CodeNote::Code(code),
                    known => CodeNote::Name(known.name().into()),
                },
            },
            Frame::WindowUpdate(f) => FrameNote::WindowUpdate {
                stream_id: f.stream_id.get(),
                delta: f.delta,
            },
            Frame::Ignored(f) => FrameNote::Skipped {
                frame_type: f.frame_type,
                flags: f.flags,
                length: f.length,
            },
        }
    }

    /// What the note stands for on the wire.
    pub fn to_wire(&self) -> Result<Wire, NoteError> {
        let frame = match self {
            FrameNote::Raw { hex } => return Ok(Wire::Raw(parse_hex(hex)?.into())),
            FrameNote::Data {
                stream_id,
                fin,
                data,
                data_hex,
                data_len,
                data_fill,
                data_sha256,
            } => {
                let payload: Vec<u8> = match (data, data_hex, data_len, data_sha256) {
                    (_, _, _, Some(_)) => {
                        return Err(invalid(
                            "a DATA note summarised by data_sha256 cannot be encoded; \
                             decode again with --full",
                        ));
                    }
                    (Some(text), None, None, None) => text.as_bytes().to_vec(),
                    (None, Some(hex), None, None) => parse_hex(hex)?,
                    (None, None, Some(len), None) => vec![data_fill.unwrap_or(0); *len as usize],
                    (None, None, None, None) => Vec::new(),
                    _ => return Err(invalid("give only one of data, data_hex and data_len")),
                };
                Frame::Data(Data {
                    stream_id: StreamId::new(*stream_id),
                    fin: *fin,
                    payload: payload.into(),
                })
            }
            FrameNote::SynStream {
                stream_id,
                associated_to,
                priority,
                slot,
                fin,
                unidirectional,
                headers,
            } => {
                if *priority > 7 {
                    return Err(invalid(format!("priority {priority} is not in 0..=7")));
                }
                Frame::SynStream(SynStream {
                    stream_id: StreamId::new(*stream_id),
                    associated_to: StreamId::new(*associated_to),
                    priority: Priority::new(*priority),
                    slot: *slot,
                    fin: *fin,
                    unidirectional: *unidirectional,
                    headers: headers.to_block()?,
                })
            }
            FrameNote::SynReply {
                stream_id,
                fin,
                headers,
            } => Frame::SynReply(SynReply {
                stream_id: StreamId::new(*stream_id),
                fin: *fin,
                headers: headers.to_block()?,
            }),
            FrameNote::Headers {
                stream_id,
                fin,
                headers,
            } => Frame::Headers(Headers {
                stream_id: StreamId::new(*stream_id),
                fin: *fin,
                headers: headers.to_block()?,
            }),
            FrameNote::RstStream { stream_id, status } => Frame::RstStream(RstStream {
                stream_id: StreamId::new(*stream_id),
                status: RstStatus::from_code(code_of(status, "RST_STREAM status", |code| {
                    RstStatus::from_code(code).name()
                })?),
            }),
            FrameNote::Settings {
                clear_settings,
                entries,
            } => Frame::Settings(Settings {
                clear_settings: *clear_settings,
                entries: entries
                    .iter()
                    .map(|e| {
                        Ok(SettingEntry {
                            id: SettingId::from_code(code_of(&e.id, "setting id", |code| {
                                SettingId::from_code(code).name()
                            })?),
                            value: e.value,
                            flags: SettingFlags {
                                persist_value: e.persist_value,
                                persisted: e.persisted,
                            },
                        })
                    })
                    .collect::<Result<_, NoteError>>()?,
            }),
            FrameNote::Ping { id } => Frame::Ping(Ping { id: *id }),
            FrameNote::Goaway {
                last_good_stream_id,
                status,
            } => Frame::GoAway(GoAway {
                last_good_stream_id: StreamId::new(*last_good_stream_id),
                status: GoAwayStatus::from_code(code_of(status, "GOAWAY status", |code| {
                    GoAwayStatus::from_code(code).name()
                })?),
            }),
            FrameNote::WindowUpdate { stream_id, delta } => Frame::WindowUpdate(WindowUpdate {
                stream_id: StreamId::new(*stream_id),
                delta: *delta,
            }),
            FrameNote::Skipped {
                frame_type,
                flags,
                length,
            } => Frame::Ignored(Ignored {
                frame_type: *frame_type,
                flags: *flags,
                length: *length,
            }),
        };
        Ok(Wire::Frame(frame))
    }

    /// Appends the note's bytes to `dst`, compressing header blocks with `encoder`.
    pub fn encode(&self, encoder: &mut FrameEncoder, dst: &mut BytesMut) -> Result<(), NoteError> {
        match self.to_wire()? {
            Wire::Frame(frame) => encoder.encode(&frame, dst)?,
            Wire::Raw(bytes) => dst.put_slice(&bytes),
        }
        Ok(())
    }
}

fn data_note(data: &Data, options: &RenderOptions) -> FrameNote {
    let payload = &data.payload;
    let (mut text, mut hex, mut len, mut sha) = (None, None, None, None);
    if payload.len() > options.max_inline_data {
        len = Some(payload.len() as u32);
        sha = Some(to_hex(&Sha256::digest(payload), false));
    } else if let Some(s) = printable_text(payload) {
        text = Some(s.to_owned());
    } else {
        hex = Some(to_hex(payload, false));
    }
    FrameNote::Data {
        stream_id: data.stream_id.get(),
        fin: data.fin,
        data: text,
        data_hex: hex,
        data_len: len,
        data_fill: None,
        data_sha256: sha,
    }
}

/// `bytes` as text when it is UTF-8 without control characters other than
/// tab, CR and LF.
fn printable_text(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .then_some(text)
}

fn code_of(
    note: &CodeNote,
    what: &str,
    name_of: impl Fn(u32) -> &'static str,
) -> Result<u32, NoteError> {
    match note {
        CodeNote::Code(code) => Ok(*code),
        CodeNote::Name(name) => (0..=64)
            .filter(|_| name != "UNKNOWN")
            .find(|code| name_of(*code) == name)
            .ok_or_else(|| invalid(format!("unknown {what} {name:?}"))),
    }
}

impl HeadersNote {
    /// The note for a header block.
    pub fn from_block(block: &HeaderBlock) -> HeadersNote {
        HeadersNote(
            block
                .pairs()
                .iter()
                .map(|pair| {
                    let name = String::from_utf8_lossy(&pair.name).into_owned();
                    let value = match std::str::from_utf8(&pair.value) {
                        Ok(text) if text.contains('\0') => {
                            HeaderValueNote::List(text.split('\0').map(str::to_owned).collect())
                        }
                        Ok(text) => HeaderValueNote::Text(text.to_owned()),
                        Err(_) => HeaderValueNote::Hex {
                            hex: to_hex(&pair.value, false),
                        },
                    };
                    (name, value)
                })
                .collect(),
        )
    }

    /// The header block the note describes (not validated: scenarios may
    /// send bad blocks on purpose).
    pub fn to_block(&self) -> Result<HeaderBlock, NoteError> {
        let mut block = HeaderBlock::new();
        for (name, value) in &self.0 {
            let value: Vec<u8> = match value {
                HeaderValueNote::Text(text) => text.as_bytes().to_vec(),
                HeaderValueNote::List(parts) => parts.join("\0").into_bytes(),
                HeaderValueNote::Hex { hex } => parse_hex(hex)?,
                HeaderValueNote::Fill { fill, len } => {
                    if fill.is_empty() {
                        return Err(invalid("a fill value needs a non-empty fill"));
                    }
                    fill.bytes().cycle().take(*len as usize).collect()
                }
            };
            block.push(name.clone().into_bytes(), value);
        }
        Ok(block)
    }
}

/// Lowercase hex, optionally with a space between bytes.
pub fn to_hex(bytes: &[u8], spaced: bool) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, byte) in bytes.iter().enumerate() {
        if spaced && i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Parses hex digits, ignoring whitespace.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, NoteError> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(invalid(format!("odd number of hex digits in {text:?}")));
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| invalid(format!("not hex: {text:?}")))
        })
        .collect()
}

/// Parses a YAML list of frame notes.
pub fn parse_notes(yaml: &str) -> Result<Vec<FrameNote>, serde_norway::Error> {
    serde_norway::from_str(yaml)
}

/// Prints notes as a YAML list.
pub fn print_notes(notes: &[FrameNote]) -> String {
    // Serialising these types cannot fail: every key is a string.
    serde_norway::to_string(notes).unwrap_or_else(|e| format!("# cannot print: {e}\n"))
}
