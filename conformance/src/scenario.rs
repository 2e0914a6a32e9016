//! The scenario model: one YAML file per scenario under
//! `conformance/scenarios/<group>/<name>.yaml`.
//!
//! A scenario puts the implementation under test (an *end*) in one role and
//! scripts the other side of the connection as a *peer* that speaks raw
//! frames with its own codec, so its own compression contexts:
//!
//! ```yaml
//! description: A PING from the client is echoed at once.
//! catalogue: [67]            # the numbers of shared/spec/catalogue.md it covers
//! role: server               # the end under test plays the server (or client)
//! handler: echo              # what the server does with each stream
//! steps:
//!   - send: [{type: PING, id: 1}]
//!   - expect: [{type: PING, id: 1}]
//! ```
//!
//! The end's opening frames (SETTINGS, and a session WINDOW_UPDATE when its
//! session window is above 64 KiB) are checked and consumed before the first
//! step unless `preface: false`. `conformance/README.md` lists every step,
//! action, handler and pattern form.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_norway::Value;
use spdy_core::driver::DriverConfig;
use spdy_core::frame::{RstStatus, Settings};
use spdy_core::session::{FlowControl, RateLimit, SessionConfig};

use crate::duration::{Dur, parse_duration};
use crate::notation::{CodeNote, FrameNote, HeadersNote, SettingNote, Wire};

/// Which side the implementation under test plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The end under test is the server; the scripted peer is a client.
    Server,
    /// The end under test is the client; the scripted peer is a server.
    Client,
}

/// One scenario file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// `group/name`, from the file's place (set by the loader).
    #[serde(skip)]
    pub name: String,
    /// The group directory.
    #[serde(skip)]
    pub group: String,
    /// Where it was read from.
    #[serde(skip)]
    pub path: PathBuf,
    /// What the scenario shows, in a sentence or two.
    pub description: String,
    /// Numbers of the catalogue cases it covers (empty for a case the
    /// catalogue lacks; say where it comes from in `description`).
    #[serde(default)]
    pub catalogue: Vec<u32>,
    /// The role of the end under test.
    pub role: Side,
    /// Only these ends (by name); every end of the role when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends: Option<Vec<String>>,
    /// The server's handler (server role).
    #[serde(default)]
    pub handler: Handler,
    /// Session and driver settings of the end under test.
    #[serde(default)]
    pub config: ConfigSpec,
    /// Check and consume the end's opening SETTINGS (and session
    /// WINDOW_UPDATE) before the first step. Default true.
    #[serde(default = "yes")]
    pub preface: bool,
    /// Frame patterns every `expect` step skips over (they stay in the transcript).
    #[serde(default)]
    pub ignore: Vec<Value>,
    /// The script.
    pub steps: Vec<Step>,
}

fn yes() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What the built-in server does with each stream a client opens.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Handler {
    /// SYN_REPLY 200, then every byte of the request body back, then FIN.
    #[default]
    Echo,
    /// SYN_REPLY 200 and a fixed body (`body` text, or `size` bytes of `fill`).
    Fixed(FixedBody),
    /// SYN_REPLY 200, then reads the request body one chunk per `delay`.
    SlowReader {
        /// Pause after each chunk read.
        delay: Dur,
    },
    /// SYN_REPLY 200 and nothing more: never reads the body, never finishes.
    NeverReads,
    /// SYN_REPLY 200, pushes one resource (SYN_STREAM with associated-to,
    /// then HEADERS :status and its body), then finishes the response.
    Push(PushSpec),
    /// Accepts the stream and never answers it.
    NoReply,
    /// Refuses every stream with RST_STREAM `status`.
    Refuse {
        /// The status name or number.
        status: CodeNote,
    },
}

/// A fixed response body.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedBody {
    /// The body as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Or this many bytes of `fill`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    /// The byte repeated for `size` (default `a`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill: Option<u8>,
    /// Response headers besides `:status` and `:version` (the HTTP server
    /// maps them; hop-by-hop ones must not reach the wire).
    #[serde(default)]
    pub headers: HeadersNote,
}

impl FixedBody {
    /// The body bytes.
    pub fn bytes(&self) -> Vec<u8> {
        match (&self.body, self.size) {
            (Some(text), _) => text.as_bytes().to_vec(),
            (None, Some(size)) => vec![self.fill.unwrap_or(b'a'); size as usize],
            (None, None) => Vec::new(),
        }
    }
}

/// What the push handler pushes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushSpec {
    /// The pushed resource's path.
    #[serde(default = "default_push_path")]
    pub path: String,
    /// The pushed body.
    #[serde(default)]
    pub body: String,
    /// Or this many bytes of `p`.
    #[serde(default)]
    pub body_len: Option<u32>,
    /// The response body of the original stream.
    #[serde(default)]
    pub response: String,
}

impl PushSpec {
    /// The pushed body's bytes.
    pub fn body_bytes(&self) -> Vec<u8> {
        match self.body_len {
            Some(len) => vec![b'p'; len as usize],
            None => self.body.as_bytes().to_vec(),
        }
    }
}

fn default_push_path() -> String {
    "/pushed".into()
}

/// Flow control as a scenario names it.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowMode {
    /// SPDY/3.1 flow control.
    Strict,
    /// No flow control (spdystream peers).
    Disabled,
}

/// A rate limit: `{max: 10, period: 1s}`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSpec {
    /// Events allowed per period.
    pub max: u32,
    /// The period.
    pub period: Dur,
}

/// Overrides of the flood limits.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloodSpec {
    /// PINGs.
    pub pings: Option<LimitSpec>,
    /// SETTINGS frames.
    pub settings: Option<LimitSpec>,
    /// Stream resets.
    pub resets: Option<LimitSpec>,
    /// Empty frames.
    pub empty_frames: Option<LimitSpec>,
    /// Small WINDOW_UPDATEs.
    pub small_window_updates: Option<LimitSpec>,
}

/// Settings of the end under test; each overrides the default
/// (`SessionConfig::default()`, or `spdystream_compatible()` with
/// `preset: spdystream`, and `DriverConfig::default()`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ConfigSpec {
    /// `default` or `spdystream`.
    pub preset: Option<String>,
    pub stream_window: Option<u32>,
    pub session_window: Option<u32>,
    pub max_concurrent_streams: Option<u32>,
    pub assumed_peer_max_concurrent_streams: Option<u32>,
    pub flow_control: Option<FlowMode>,
    pub accept_peer_bidirectional_streams: Option<bool>,
    pub accept_push: Option<bool>,
    pub max_send_frame: Option<u32>,
    pub max_send_buffer: Option<u32>,
    pub max_header_block_size: Option<usize>,
    pub max_control_frame_len: Option<u32>,
    pub max_data_frame_len: Option<u32>,
    pub max_queued_control_frames: Option<usize>,
    pub reset_stream_memory: Option<Dur>,
    pub max_remembered_resets: Option<usize>,
    pub keepalive_interval: Option<Dur>,
    pub ping_timeout: Option<Dur>,
    /// A duration, or `never`.
    pub idle_timeout: Option<String>,
    /// A duration, or `never`.
    pub stream_receive_timeout: Option<String>,
    pub flood_limits: Option<FloodSpec>,
    /// Driver: how long a write may stall before the session closes.
    pub write_timeout: Option<Dur>,
    /// Driver: unread bytes beyond which the socket is not read.
    pub max_buffered_recv: Option<usize>,
    /// Driver: bytes read at a time.
    pub read_chunk: Option<usize>,
    /// Bytes each direction of the in-memory connection holds (default 64 KiB).
    pub pipe_buffer: Option<usize>,
}

/// Bytes each direction of the in-memory connection holds by default.
pub const DEFAULT_PIPE_BUFFER: usize = 64 * 1024;

impl ConfigSpec {
    /// The session configuration it describes.
    pub fn session(&self) -> Result<SessionConfig, String> {
        let mut c = match self.preset.as_deref() {
            None | Some("default") => SessionConfig::default(),
            Some("spdystream") => SessionConfig::spdystream_compatible(),
            Some(other) => return Err(format!("unknown preset {other:?}")),
        };
        macro_rules! set {
            ($($field:ident),*) => {$(if let Some(v) = self.$field { c.$field = v; })*};
        }
        set!(
            stream_window,
            session_window,
            max_concurrent_streams,
            assumed_peer_max_concurrent_streams,
            accept_peer_bidirectional_streams,
            accept_push,
            max_send_frame,
            max_send_buffer,
            max_header_block_size,
            max_control_frame_len,
            max_data_frame_len,
            max_queued_control_frames,
            max_remembered_resets
        );
        if let Some(mode) = self.flow_control {
            c.flow_control = match mode {
                FlowMode::Strict => FlowControl::Strict,
                FlowMode::Disabled => FlowControl::Disabled,
            };
        }
        if let Some(d) = self.reset_stream_memory {
            c.reset_stream_memory = d.0;
        }
        if let Some(d) = self.keepalive_interval {
            c.keepalive_interval = Some(d.0);
        }
        if let Some(d) = self.ping_timeout {
            c.ping_timeout = d.0;
        }
        if let Some(text) = &self.idle_timeout {
            c.idle_timeout = match text.as_str() {
                "never" => None,
                other => Some(parse_duration(other)?),
            };
        }
        if let Some(text) = &self.stream_receive_timeout {
            c.stream_receive_timeout = match text.as_str() {
                "never" => None,
                other => Some(parse_duration(other)?),
            };
        }
        if let Some(f) = &self.flood_limits {
            let limit = |s: LimitSpec| RateLimit::new(s.max, s.period.0);
            let l = &mut c.flood_limits;
            if let Some(s) = f.pings {
                l.pings = limit(s);
            }
            if let Some(s) = f.settings {
                l.settings = limit(s);
            }
            if let Some(s) = f.resets {
                l.resets = limit(s);
            }
            if let Some(s) = f.empty_frames {
                l.empty_frames = limit(s);
            }
            if let Some(s) = f.small_window_updates {
                l.small_window_updates = limit(s);
            }
        }
        Ok(c)
    }

    /// The driver configuration it describes.
    pub fn driver(&self) -> DriverConfig {
        let mut d = DriverConfig::default();
        if let Some(t) = self.write_timeout {
            d.write_timeout = t.0;
        }
        if let Some(n) = self.max_buffered_recv {
            d.max_buffered_recv = n;
        }
        if let Some(n) = self.read_chunk {
            d.read_chunk = n;
        }
        d
    }
}

/// One step of a scenario, optionally for some ends only (`ends: [...]`).
#[derive(Clone, Debug)]
pub struct Step {
    /// What the step does.
    pub kind: StepKind,
    /// Only for these ends; every end when `None`.
    pub ends: Option<Vec<String>>,
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut value = Value::deserialize(deserializer)?;
        let ends = match &mut value {
            Value::Mapping(map) if map.len() > 1 => map
                .remove("ends")
                .map(serde_norway::from_value)
                .transpose()
                .map_err(D::Error::custom)?,
            _ => None,
        };
        let kind = serde_norway::with::singleton_map_recursive::deserialize(value)
            .map_err(D::Error::custom)?;
        Ok(Step { kind, ends })
    }
}

/// What a step does.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// The peer sends frames (one write, or writes of `chunk` bytes).
    Send(SendSpec),
    /// The peer sends the same frames `count` times, stream and ping ids
    /// stepping on each round.
    SendRepeated(RepeatSpec),
    /// Frames the end must send next, in order (`{any_order: [...]}` items
    /// match a group in any order, `{repeat: N, frame: PATTERN}` items N
    /// frames in a row).
    Expect(ExpectSpec),
    /// DATA the end must send on a stream: exactly `bytes` payload bytes in
    /// as many frames as it likes (other frames may interleave only if they
    /// match `skip` or the scenario's `ignore`).
    ExpectData(ExpectDataSpec),
    /// The end sends nothing for this long.
    ExpectSilence(Dur),
    /// The end closes the connection (the peer reads EOF).
    ExpectEof(EofSpec),
    /// Application events at the end, in order (others may come between;
    /// `{any_order: [...]}` items match a group in any order).
    ExpectApp(ExpectAppSpec),
    /// Consumes the frames already read that match these patterns (without
    /// waiting), so a later `max_skipped` counts only what comes after.
    Discard(Vec<Value>),
    /// Lets this much (virtual) time pass.
    Wait(Dur),
    /// The peer stops reading the connection.
    StopReading,
    /// The peer reads again.
    ResumeReading,
    /// The peer shuts down its writing half (TCP FIN); it still reads.
    HalfClose,
    /// The peer drops the connection at once.
    Disconnect,
    /// The application at the end does something.
    Act(Action),
    /// For every byte offset of these frames' encoding, a fresh end gets
    /// the bytes up to it and the connection is then dropped: every one of
    /// those sessions must end (as a lost connection) without a panic or a
    /// hang. The main run's end is not involved.
    CutSweep(CutSweepSpec),
}

/// A `cut_sweep` step.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CutSweepSpec {
    /// The exchange, as the peer would send it.
    pub frames: Vec<FrameNote>,
    /// How long each cut session may take to end (default 5 s).
    #[serde(default)]
    pub within: Option<Dur>,
}

/// Frames to send.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum SendSpec {
    /// Frames in one write.
    Frames(Vec<FrameNote>),
    /// Frames in writes of at most `chunk` bytes.
    Chunked {
        /// The frames.
        frames: Vec<FrameNote>,
        /// Bytes per write.
        chunk: usize,
    },
}

impl SendSpec {
    /// The frames.
    pub fn frames(&self) -> &[FrameNote] {
        match self {
            SendSpec::Frames(frames) | SendSpec::Chunked { frames, .. } => frames,
        }
    }

    /// Bytes per write, if split.
    pub fn chunk(&self) -> Option<usize> {
        match self {
            SendSpec::Frames(_) => None,
            SendSpec::Chunked { chunk, .. } => Some((*chunk).max(1)),
        }
    }
}

/// A repeated send.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatSpec {
    /// Rounds.
    pub count: u32,
    /// The frames of round 0.
    pub frames: Vec<FrameNote>,
    /// Added to every nonzero stream id per round (default 0).
    #[serde(default)]
    pub stream_id_step: u32,
    /// Added to every PING id per round (default 0).
    #[serde(default)]
    pub ping_id_step: u32,
    /// Stop sending once the end has closed the connection (default true):
    /// a flood may be cut short by the very defence it tests.
    #[serde(default = "yes")]
    pub stop_on_close: bool,
}

impl RepeatSpec {
    /// The frames of round `round`.
    pub fn round(&self, round: u32) -> Vec<FrameNote> {
        let bump = |id: &mut u32, step: u32| {
            if *id != 0 {
                *id = id.wrapping_add(step.wrapping_mul(round)) & 0x7fff_ffff;
            }
        };
        self.frames
            .iter()
            .map(|note| {
                let mut note = note.clone();
                match &mut note {
                    FrameNote::Data { stream_id, .. }
                    | FrameNote::SynStream { stream_id, .. }
                    | FrameNote::SynReply { stream_id, .. }
                    | FrameNote::RstStream { stream_id, .. }
                    | FrameNote::Headers { stream_id, .. }
                    | FrameNote::WindowUpdate { stream_id, .. } => {
                        bump(stream_id, self.stream_id_step)
                    }
                    FrameNote::Ping { id } => {
                        *id = id.wrapping_add(self.ping_id_step.wrapping_mul(round))
                    }
                    _ => {}
                }
                note
            })
            .collect()
    }
}

/// An `expect` step.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum ExpectSpec {
    /// Patterns only.
    Frames(Vec<Value>),
    /// Patterns with options.
    Full {
        /// The patterns.
        frames: Vec<Value>,
        /// How long to wait for the whole group (default 5 s).
        #[serde(default)]
        within: Option<Dur>,
        /// Frames that may come before or between the expected ones.
        #[serde(default)]
        skip: Vec<Value>,
        /// At most this many frames may be skipped (default: any number).
        #[serde(default)]
        max_skipped: Option<usize>,
    },
}

/// Default wait of an expecting step.
pub const DEFAULT_WITHIN: Dur = Dur::secs(5);

impl ExpectSpec {
    /// The patterns, the wait, the skippable frames and how many may be skipped.
    pub fn parts(&self) -> (&[Value], Dur, &[Value], Option<usize>) {
        match self {
            ExpectSpec::Frames(frames) => (frames, DEFAULT_WITHIN, &[], None),
            ExpectSpec::Full {
                frames,
                within,
                skip,
                max_skipped,
            } => (frames, within.unwrap_or(DEFAULT_WITHIN), skip, *max_skipped),
        }
    }
}

/// An `expect_data` step.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectDataSpec {
    /// The stream.
    pub stream_id: u32,
    /// Payload bytes, all frames together.
    pub bytes: u64,
    /// Whether the last frame carries FIN (not checked when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fin: Option<bool>,
    /// How long to wait (default 5 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Dur>,
    /// Frames that may interleave.
    #[serde(default)]
    pub skip: Vec<Value>,
}

/// An `expect_eof` step: `expect_eof: {}` or with options.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EofSpec {
    /// How long to wait (default 5 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Dur>,
    /// Frames that may still come before the end closes.
    #[serde(default)]
    pub skip: Vec<Value>,
}

/// An `expect_app` step.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum ExpectAppSpec {
    /// Event patterns.
    Events(Vec<Value>),
    /// Event patterns with a wait.
    Full {
        /// The patterns.
        events: Vec<Value>,
        /// How long to wait (default 5 s).
        #[serde(default)]
        within: Option<Dur>,
    },
}

impl ExpectAppSpec {
    /// The patterns and the wait.
    pub fn parts(&self) -> (&[Value], Dur) {
        match self {
            ExpectAppSpec::Events(events) => (events, DEFAULT_WITHIN),
            ExpectAppSpec::Full { events, within } => (events, within.unwrap_or(DEFAULT_WITHIN)),
        }
    }
}

/// What the application at the end under test does.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Client: open a stream, send its body, read its response.
    Open(OpenSpec),
    /// Send more data on a stream we opened.
    Send(SendDataSpec),
    /// Finish (FIN) a stream we opened.
    Finish {
        /// The stream.
        stream_id: u32,
    },
    /// Reset a stream with RST_STREAM.
    Reset {
        /// The stream.
        stream_id: u32,
        /// Status name or number (default CANCEL).
        #[serde(default = "cancel")]
        status: CodeNote,
    },
    /// Start reading a stream opened with `read: never`.
    Read {
        /// The stream.
        stream_id: u32,
    },
    /// Send a PING and wait for the answer (`timeout` default 5 s).
    Ping {
        /// How long to wait.
        #[serde(default)]
        timeout: Option<Dur>,
    },
    /// Start a graceful shutdown with GOAWAY.
    Goaway {
        /// Status (default OK).
        #[serde(default = "ok")]
        status: CodeNote,
    },
    /// End the session at once.
    Close,
    /// Send SETTINGS.
    Settings {
        /// CLEAR_SETTINGS flag.
        #[serde(default, skip_serializing_if = "is_false")]
        clear_settings: bool,
        /// Entries.
        entries: Vec<SettingNote>,
    },
    /// Drop the application's session handle (and the accept loop's).
    DropHandle,
    /// Report what the peer's SETTINGS said (a `peer_settings` event).
    PeerSettings,
}

fn cancel() -> CodeNote {
    CodeNote::Name("CANCEL".into())
}

fn ok() -> CodeNote {
    CodeNote::Name("OK".into())
}

/// How the client reads a response.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadMode {
    /// Read the reply and the whole body at once.
    #[default]
    Auto,
    /// Do not read until a `read` action.
    Never,
    /// Read the reply, then the body one chunk per `delay`.
    Slow {
        /// Pause after each chunk.
        delay: Dur,
    },
}

/// A client `open` action.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OpenSpec {
    /// SYN_STREAM headers in clear.
    #[serde(default)]
    pub headers: HeadersNote,
    /// Priority 0-7 (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// FIN on the SYN_STREAM: no body.
    #[serde(default, skip_serializing_if = "is_false")]
    pub fin: bool,
    /// UNIDIRECTIONAL.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unidirectional: bool,
    /// Body text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Or this many bytes of `fill`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_len: Option<u32>,
    /// The byte repeated for `body_len` (default `b`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill: Option<u8>,
    /// Send FIN after the body (default true).
    #[serde(default = "yes")]
    pub finish: bool,
    /// How to read the response.
    #[serde(default)]
    pub read: ReadMode,
}

impl OpenSpec {
    /// The body bytes.
    pub fn body(&self) -> Vec<u8> {
        body_bytes(&self.body, self.body_len, self.fill)
    }
}

fn body_bytes(text: &Option<String>, len: Option<u32>, fill: Option<u8>) -> Vec<u8> {
    match (text, len) {
        (Some(text), _) => text.as_bytes().to_vec(),
        (None, Some(len)) => vec![fill.unwrap_or(b'b'); len as usize],
        (None, None) => Vec::new(),
    }
}

/// A `send` action.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SendDataSpec {
    /// The stream.
    pub stream_id: u32,
    /// Text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Or this many bytes of `fill`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_len: Option<u32>,
    /// The byte repeated for `data_len` (default `b`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill: Option<u8>,
    /// FIN after it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub fin: bool,
}

impl SendDataSpec {
    /// The bytes.
    pub fn bytes(&self) -> Vec<u8> {
        body_bytes(&self.data, self.data_len, self.fill)
    }
}

/// An RST_STREAM status from a note.
pub fn rst_status(code: &CodeNote) -> Result<RstStatus, String> {
    let note = FrameNote::RstStream {
        stream_id: 1,
        status: code.clone(),
    };
    match note.to_wire().map_err(|e| e.to_string())? {
        Wire::Frame(spdy_core::frame::Frame::RstStream(f)) => Ok(f.status),
        _ => Err("not a status".into()),
    }
}

/// A GOAWAY status from a note.
pub fn goaway_status(code: &CodeNote) -> Result<spdy_core::frame::GoAwayStatus, String> {
    let note = FrameNote::Goaway {
        last_good_stream_id: 0,
        status: code.clone(),
    };
    match note.to_wire().map_err(|e| e.to_string())? {
        Wire::Frame(spdy_core::frame::Frame::GoAway(f)) => Ok(f.status),
        _ => Err("not a status".into()),
    }
}

/// A SETTINGS frame from notes.
pub fn settings_frame(clear_settings: bool, entries: &[SettingNote]) -> Result<Settings, String> {
    let note = FrameNote::Settings {
        clear_settings,
        entries: entries.to_vec(),
    };
    match note.to_wire().map_err(|e| e.to_string())? {
        Wire::Frame(spdy_core::frame::Frame::Settings(f)) => Ok(f),
        _ => Err("not settings".into()),
    }
}

impl Scenario {
    /// Reads and checks one scenario file; `group` and `name` come from its place.
    pub fn load(path: &Path, group: &str) -> Result<Scenario, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut scenario: Scenario = serde_norway::with::singleton_map_recursive::deserialize(
            serde_norway::Deserializer::from_str(&text),
        )
        .map_err(|e| format!("{}: {e}", path.display()))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("{}: not a file name", path.display()))?;
        scenario.group = group.to_owned();
        scenario.name = format!("{group}/{stem}");
        scenario.path = path.to_owned();
        scenario
            .check()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(scenario)
    }

    /// Every scenario under `root` (`root/<group>/<name>.yaml`), sorted by name.
    pub fn load_all(root: &Path) -> Result<Vec<Scenario>, String> {
        let mut scenarios = Vec::new();
        let mut errors = Vec::new();
        let groups =
            std::fs::read_dir(root).map_err(|e| format!("cannot read {}: {e}", root.display()))?;
        for group in groups.flatten() {
            if !group.path().is_dir() {
                continue;
            }
            let group_name = group.file_name().to_string_lossy().into_owned();
            let files = std::fs::read_dir(group.path())
                .map_err(|e| format!("cannot read {}: {e}", group.path().display()))?;
            for file in files.flatten() {
                let path = file.path();
                if path.extension().is_some_and(|e| e == "yaml") {
                    match Scenario::load(&path, &group_name) {
                        Ok(s) => scenarios.push(s),
                        Err(e) => errors.push(e),
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors.join("\n"));
        }
        scenarios.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(scenarios)
    }

    /// A scenario must check something, and its frames must be encodable.
    fn check(&self) -> Result<(), String> {
        self.config.session()?;
        let checks = self.steps.iter().any(|s| {
            matches!(
                s.kind,
                StepKind::Expect(_)
                    | StepKind::ExpectData(_)
                    | StepKind::ExpectSilence(_)
                    | StepKind::ExpectEof(_)
                    | StepKind::ExpectApp(_)
                    | StepKind::CutSweep(_)
            )
        });
        if !checks {
            return Err("a scenario must expect something, not only record".into());
        }
        // A misspelt end would quietly skip the scenario or a step.
        let known: Vec<&str> = crate::end::all_ends()
            .iter()
            .filter(|end| end.side() == self.role)
            .map(|end| end.name())
            .collect();
        let named = self
            .ends
            .iter()
            .chain(self.steps.iter().filter_map(|step| step.ends.as_ref()));
        for name in named.flatten() {
            if !known.contains(&name.as_str()) {
                return Err(format!(
                    "unknown end {name:?} for a {:?} scenario; one of {known:?}",
                    self.role
                ));
            }
        }
        for step in &self.steps {
            let notes: Vec<FrameNote> = match &step.kind {
                StepKind::Send(spec) => spec.frames().to_vec(),
                StepKind::SendRepeated(spec) => spec.frames.clone(),
                StepKind::CutSweep(spec) => spec.frames.clone(),
                _ => continue,
            };
            for note in notes {
                note.to_wire().map_err(|e| format!("{note:?}: {e}"))?;
            }
        }
        if let Handler::Refuse { status } = &self.handler {
            rst_status(status)?;
        }
        Ok(())
    }

    /// True when the scenario applies to the end `name` playing `side`.
    pub fn applies_to(&self, name: &str, side: Side) -> bool {
        self.role == side
            && self
                .ends
                .as_ref()
                .is_none_or(|ends| ends.iter().any(|e| e == name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(name: &str, text: &str) -> Result<Scenario, String> {
        let dir = std::env::temp_dir().join(format!("scenario-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let path = dir.join(format!("{name}.yaml"));
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        let loaded = Scenario::load(&path, "test");
        let _ = std::fs::remove_file(&path);
        loaded
    }

    const PING: &str = "
steps:
  - send: [{type: PING, id: 1}]
  - expect: [{type: PING, id: 1}]
";

    #[test]
    fn end_names_are_checked_against_the_scenario_s_role() {
        let good = format!("description: d\nrole: server\nends: [raw-server, http-server]\n{PING}");
        assert!(load_text("good", &good).is_ok());
        for (file, bad) in [
            ("misspelt", "ends: [raw-sever]"),
            ("wrong-role", "ends: [raw-client]"),
        ] {
            let text = format!("description: d\nrole: server\n{bad}\n{PING}");
            let error = load_text(file, &text).expect_err(file);
            assert!(error.contains("unknown end"), "{file}: {error}");
        }
        let step = "description: d\nrole: server\nsteps:\n  - send: [{type: PING, id: 1}]\n    ends: [htp-server]\n  - expect: [{type: PING, id: 1}]\n";
        let error = load_text("step", step).expect_err("a step's end");
        assert!(error.contains("\"htp-server\""), "{error}");
    }
}
