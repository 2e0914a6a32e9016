//! Session configuration: every limit with a default safe for a server on
//! the open internet.

use std::time::Duration;

use crate::frame::{DEFAULT_MAX_CONTROL_FRAME_LEN, DEFAULT_MAX_DATA_FRAME_LEN, StreamId};
use crate::header::{DEFAULT_MAX_HEADER_BLOCK_SIZE, HeaderCompression};

/// Which end of the connection a session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Opens odd stream ids; sends odd ping ids.
    Client,
    /// Opens even stream ids; sends even ping ids.
    Server,
}

impl Role {
    /// The other end.
    pub fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }
}

/// How flow control is applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FlowControl {
    /// SPDY/3.1 flow control at both levels, in both directions (default).
    #[default]
    Strict,
    /// Interoperate with peers that do no flow control at all: Go
    /// spdystream, and so kubectl and the kubelet, never send WINDOW_UPDATE
    /// and ignore the windows they are given. We do not wait for credit that
    /// will never come (TCP back-pressure limits what we send) and accept
    /// their data beyond the window we advertised. We still send
    /// WINDOW_UPDATEs, so a peer that does flow control is not starved.
    Disabled,
}

/// A cap on how often a peer may make us do work that carries no data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Events allowed in one `period`.
    pub max: u32,
    /// The window the events are counted over.
    pub period: Duration,
}

impl RateLimit {
    /// `max` events per `period`.
    pub const fn new(max: u32, period: Duration) -> Self {
        RateLimit { max, period }
    }
}

/// Caps on the work a peer can make us do without sending data. Passing any
/// of them ends the session with GOAWAY PROTOCOL_ERROR.
///
/// Measured with `cargo bench -p spdy-core --bench session_work` (time per
/// frame in a server session): a PING costs about 50 ns, an 8-entry
/// SETTINGS 160 ns, the largest SETTINGS the control-frame limit admits
/// 70 µs, a SYN_STREAM + RST_STREAM pair 540 ns (inflation included), an
/// empty DATA 60 ns, a 1-byte WINDOW_UPDATE 40 ns. At the default limits a
/// flooding peer can take at most about 7 ms of session CPU per 10 s (the
/// SETTINGS worst case); the limits are set well above what honest peers
/// send (a browser cancels a few streams a second, keepalives ping every
/// few seconds), so they only ever stop floods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FloodLimits {
    /// PINGs received. Default 1,000 per 10 s.
    pub pings: RateLimit,
    /// SETTINGS frames received. Default 100 per 10 s.
    pub settings: RateLimit,
    /// Streams reset by the peer, or by us because of the peer's error,
    /// before they completed: the rapid-reset attack. Default 1,000 per 10 s.
    pub resets: RateLimit,
    /// DATA frames without payload or FIN, HEADERS with an empty block, and
    /// skipped control frames. Default 1,000 per 10 s.
    pub empty_frames: RateLimit,
    /// WINDOW_UPDATE frames that credit fewer than 1,024 bytes (window
    /// dribble). Default 10,000 per 10 s.
    pub small_window_updates: RateLimit,
}

impl Default for FloodLimits {
    fn default() -> Self {
        let per_10s = |max| RateLimit::new(max, Duration::from_secs(10));
        FloodLimits {
            pings: per_10s(1_000),
            settings: per_10s(100),
            resets: per_10s(1_000),
            empty_frames: per_10s(1_000),
            small_window_updates: per_10s(10_000),
        }
    }
}

/// Default receive window we advertise for each stream: 1 MiB.
///
/// Measured with `cargo bench -p spdy-core --bench throughput` (one stream,
/// 16 MiB over 127.0.0.1 TCP through the driver, as a ratio of a raw TCP
/// copy in the same run; medians over eight runs on a shared 2-core
/// machine): 64 KiB reaches 0.51, 256 KiB 0.79, 1 MiB 0.82, 4 MiB 0.68,
/// 16 MiB 0.67. 1 MiB is the best measured; it also covers the
/// bandwidth-delay product of a 100 Mbit/s link with 80 ms of round trip,
/// and bounds what one slow reader can make us buffer to 1 MiB.
pub const DEFAULT_STREAM_WINDOW: u32 = 1024 * 1024;
/// Default receive window for the whole session: 4 MiB.
///
/// Measured with four streams at once (same benchmark): session windows of
/// 1, 4 and 16 MiB reach 0.80, 0.66 and 0.65 of raw TCP on loopback, and
/// 1.03, 1.04 and 1.06 (medians of twelve runs) once the driver stopped
/// holding its lock across socket calls, so a larger session window does
/// not buy speed; it buys independence. At four
/// stream windows, three streams whose readers stall cannot stop the
/// others, while a peer can make a session buffer at most 4 MiB (16 MiB
/// before this measurement).
pub const DEFAULT_SESSION_WINDOW: u32 = 4 * 1024 * 1024;
/// Streams a Go spdystream peer (kubectl, the kubelet, Docker) may have
/// open at once in [`SessionConfig::spdystream_compatible`]: 1,000.
///
/// spdystream ignores our SETTINGS, so the draft's 100 would refuse
/// bursts its users consider fine: `kubectl port-forward` opens two streams
/// (error and data) for every forwarded connection, so 100 would cap it at
/// 50 connections at once. Still a bound: without flow control the driver's
/// `max_buffered_recv` bounds the unread bytes of all streams together, and
/// what each open stream costs besides is a few hundred bytes of state.
pub const SPDYSTREAM_MAX_CONCURRENT_STREAMS: u32 = 1_000;
/// [`SessionConfig::idle_timeout`] of
/// [`SessionConfig::spdystream_compatible`]: 4 hours, the kubelet's default
/// stream idle timeout. A `kubectl port-forward` session has no stream
/// between forwarded connections and its client sends no keepalive, so the
/// general five minutes would end a forwarding that merely waits for its
/// next connection.
pub const SPDYSTREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(4 * 60 * 60);
/// Default [`SessionConfig::max_session_send_buffer`]: 8 MiB, sixteen
/// streams' worth of the default `max_send_buffer`, twice the default
/// session window. One stream reaches the speed of a raw TCP copy with
/// 512 KiB queued (see `max_send_buffer`), so the cap only bites when more
/// than sixteen streams have their buffers full at once: streams the peer
/// holds back, or more writers than the link can carry anyway.
pub const DEFAULT_SESSION_SEND_BUFFER: usize = 8 * 1024 * 1024;
/// Default [`SessionConfig::stream_send_timeout`]: 60 s.
pub const DEFAULT_STREAM_SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// Default [`SessionConfig::stream_receive_timeout`]: 60 s.
pub const DEFAULT_STREAM_RECEIVE_TIMEOUT: Duration = Duration::from_secs(60);
/// The window both levels start with before any SETTINGS or WINDOW_UPDATE.
pub const PROTOCOL_INITIAL_WINDOW: u32 = 65_536;

/// Configuration of a [`Session`](super::Session).
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Receive window advertised per stream (SETTINGS INITIAL_WINDOW_SIZE).
    /// Default [`DEFAULT_STREAM_WINDOW`]. Below the protocol's 64 KiB it
    /// races with the peer: SPDY has no SETTINGS acknowledgement, so a peer
    /// may send up to 64 KiB on a stream it opens before our SETTINGS
    /// reaches it, and that stream is reset with FLOW_CONTROL_ERROR (the
    /// window is enforced as advertised). Keep it at 64 KiB or more unless
    /// the peer waits for our SETTINGS.
    pub stream_window: u32,
    /// Receive window for the whole session, raised from 64 KiB by a
    /// WINDOW_UPDATE at start. Default [`DEFAULT_SESSION_WINDOW`].
    pub session_window: u32,
    /// Streams the peer may have open at once (our MAX_CONCURRENT_STREAMS);
    /// more are refused with REFUSED_STREAM. Default 100.
    pub max_concurrent_streams: u32,
    /// How many streams we open at once before the peer's SETTINGS names its
    /// own MAX_CONCURRENT_STREAMS. Default 100, the smallest limit the draft
    /// recommends, so a burst of requests at session start is not refused.
    pub assumed_peer_max_concurrent_streams: u32,
    /// Flow control mode. Default [`FlowControl::Strict`].
    pub flow_control: FlowControl,
    /// Client only: accept streams the server opens without an associated
    /// stream as ordinary bidirectional streams, as the Amahi reverse tunnel
    /// and Docker/Kubernetes spdystream do. Default false: such streams are
    /// refused with INVALID_STREAM, as the draft says.
    pub accept_peer_bidirectional_streams: bool,
    /// Client only: accept server push. Default true; when false pushed
    /// streams are refused with REFUSED_STREAM.
    pub accept_push: bool,
    /// Largest DATA frame we send. Default 16 KiB: the scheduler's slice, so
    /// one large stream cannot hold the link for long. Measured: 4 KiB frames
    /// reach 0.55 of raw TCP, 16 KiB 0.95, 64 KiB 0.73, 256 KiB 0.97 (the
    /// last three within the benchmark's noise), so the smallest slice that
    /// costs nothing wins: priorities and PING answers wait at most one
    /// 16 KiB frame.
    pub max_send_frame: u32,
    /// Bytes the application may queue on one stream beyond its send window
    /// before `send_data` refuses more (writers wake again once half of it
    /// has drained). Default 512 KiB. Measured on one stream: 16 KiB reaches
    /// 0.42 of raw TCP, 64 KiB 0.53, 256 KiB 0.86, 512 KiB 0.98, 1 MiB 0.99;
    /// the writer's wake-ups, not the network, are the cost of a small
    /// buffer. `send_data` with `Bytes` queues the caller's buffer without
    /// copying; `AsyncWrite` copies into it.
    pub max_send_buffer: u32,
    /// Bytes the application may queue on all streams of the session
    /// together beyond what has been sent, before `send_data` refuses more
    /// on any stream (writers wake again once half of it has drained).
    /// Each stream may still queue one frame's worth (`max_send_frame`),
    /// so streams the peer holds back never starve the others: the bound
    /// is this plus one frame per stream.
    /// Default [`DEFAULT_SESSION_SEND_BUFFER`]. Bounds what one peer can
    /// make a server hold: without it, a peer that opens 100 streams and
    /// grants no credit pins 100 × `max_send_buffer` (50 MiB), and
    /// without flow control (spdystream peers, 1,000 streams) a slow
    /// reader could pin 500 MiB.
    pub max_session_send_buffer: usize,
    /// Largest inflated header block. Default 64 KiB.
    pub max_header_block_size: usize,
    /// Largest control frame payload accepted. Default 72 KiB.
    pub max_control_frame_len: u32,
    /// Largest DATA frame accepted. Default 1 MiB.
    pub max_data_frame_len: u32,
    /// Control frames that may wait for the socket (ping replies, resets,
    /// window updates). A peer that keeps asking without reading fills it:
    /// the session then ends. Default 1,024.
    pub max_queued_control_frames: usize,
    /// How long frames for a stream we reset are ignored instead of being
    /// answered. Default 10 s.
    pub reset_stream_memory: Duration,
    /// How many reset streams are remembered at most. Default 1,024.
    pub max_remembered_resets: usize,
    /// Send a PING after this long without hearing from the peer; `None`
    /// (default) sends none: a server does not know its peers' tolerance,
    /// so turning it on is the application's call (spdystream and
    /// node-spdy answer PINGs).
    pub keepalive_interval: Option<Duration>,
    /// With the keepalive on, end the session when a PING we sent is not
    /// answered in this time; without it, forget the PING (so `ping()`
    /// does not refuse for ever). Default 20 s: well above any real round
    /// trip plus the 256 KiB the driver may have queued ahead of the PING.
    pub ping_timeout: Duration,
    /// End the session (GOAWAY OK) after this long with no open stream and
    /// no frame but PINGs received since the last stream ended (PINGs say
    /// the peer is alive, not that the session is in use: a keepalive
    /// either way does not hold an idle session, as in Go's HTTP/2
    /// server). Default 5 minutes;
    /// `None` never. An idle session still holds its 65 KB (see
    /// `header_compression`), so idle peers are let go.
    pub idle_timeout: Option<Duration>,
    /// Reset a stream (RST_STREAM CANCEL; the application sees a reset
    /// with [`ResetOrigin::ReceiveTimeout`](super::ResetOrigin::ReceiveTimeout))
    /// when its receiving half is open, the peer could send on it (it has
    /// stream and session window: we are not the ones holding it back) and
    /// nothing arrived on it for this long: a request body that never
    /// ends, a reply that never comes (catalogue case 95). The clock
    /// restarts with every frame the peer sends on the stream (DATA,
    /// HEADERS, SYN_REPLY, WINDOW_UPDATE), with what we send that the
    /// peer may wait for (our SYN_STREAM or SYN_REPLY, and credit that
    /// reopens a used-up window), and with every DATA or HEADERS frame we
    /// send on the stream: a stream that is busy in either direction is
    /// not idle, so a long response to a client that never half-closed its
    /// request is not cut.
    /// Checked at a granularity of one second. Default 60 s, as nginx's
    /// `client_body_timeout` and `proxy_read_timeout`: a stream slot held
    /// by a silent peer is freed within about a minute. Clients that wait
    /// longer for a reply (long polling) or raw streams that idle (the
    /// Kubernetes stdin stream idles for hours) need a longer value or
    /// `None`, which [`spdystream_compatible`](SessionConfig::spdystream_compatible)
    /// uses.
    pub stream_receive_timeout: Option<Duration>,
    /// Reset a stream (RST_STREAM CANCEL; the application sees a reset
    /// with [`ResetOrigin::SendTimeout`](super::ResetOrigin::SendTimeout))
    /// when it has DATA queued that the peer's windows (the stream's or the
    /// session's) have kept from going out for this long. Any credit that
    /// lets the stream send again restarts the clock, and so does DATA the
    /// peer sends on the stream (a request body held back while its
    /// response streams in is not stalled). Checked at a
    /// granularity of one second. Default 60 s, as nginx's `send_timeout`
    /// (our own HTTP/1.1 side gives up a client that takes nothing for the
    /// driver's 30 s write timeout). Without it a peer that stops granting
    /// credit holds each stream's send buffer (`max_send_buffer`) for as
    /// long as it keeps the connection: the socket is idle, so the write
    /// timeout never fires. Media players that pause by withholding credit
    /// reconnect with a Range request, as they do when an HTTP/1.1 server
    /// times them out. `None` waits for ever. Sessions without flow
    /// control never wait for credit, so it never fires there.
    pub stream_send_timeout: Option<Duration>,
    /// Caps on work without data.
    pub flood_limits: FloodLimits,
    /// The id of the first stream this end opens, instead of 1 (client) or
    /// 2 (server); rounded up to the role's parity. For tests of what
    /// happens near the end of the id space, and for resuming a numbering.
    /// Default `None`.
    pub initial_stream_id: Option<StreamId>,
    /// How the header blocks we send are compressed. Default
    /// [`HeaderCompression::Stored`]. Measured with `cargo bench -p
    /// spdy-core --bench session_memory`: an idle client session after one
    /// exchange keeps 65 KB with stored blocks and 215 KB with deflate
    /// (zlib-rs keeps a fixed 128 KiB hash table per deflate context), and
    /// a fresh session 48 KB. The price is size on the wire: a typical
    /// 8-header request SYN_STREAM is 300 bytes stored, 32 bytes through a
    /// warm deflate context. Compressing headers that carry cookies or
    /// tokens is also what the CRIME attack measures; stored blocks leak
    /// nothing. Peers inflate either the same way.
    pub header_compression: HeaderCompression,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            stream_window: DEFAULT_STREAM_WINDOW,
            session_window: DEFAULT_SESSION_WINDOW,
            max_concurrent_streams: 100,
            assumed_peer_max_concurrent_streams: 100,
            flow_control: FlowControl::Strict,
            accept_peer_bidirectional_streams: false,
            accept_push: true,
            max_send_frame: 16 * 1024,
            max_send_buffer: 512 * 1024,
            max_session_send_buffer: DEFAULT_SESSION_SEND_BUFFER,
            max_header_block_size: DEFAULT_MAX_HEADER_BLOCK_SIZE,
            max_control_frame_len: DEFAULT_MAX_CONTROL_FRAME_LEN,
            max_data_frame_len: DEFAULT_MAX_DATA_FRAME_LEN,
            max_queued_control_frames: 1024,
            reset_stream_memory: Duration::from_secs(10),
            max_remembered_resets: 1024,
            keepalive_interval: None,
            ping_timeout: Duration::from_secs(20),
            idle_timeout: Some(Duration::from_secs(300)),
            stream_receive_timeout: Some(DEFAULT_STREAM_RECEIVE_TIMEOUT),
            stream_send_timeout: Some(DEFAULT_STREAM_SEND_TIMEOUT),
            flood_limits: FloodLimits::default(),
            initial_stream_id: None,
            header_compression: HeaderCompression::default(),
        }
    }
}

impl SessionConfig {
    /// The settings for Go spdystream peers (Docker, kubectl, the kubelet):
    /// no flow control, bidirectional streams opened by either end, no
    /// assumed stream limit (spdystream sends no SETTINGS and has none), our
    /// own limit raised to [`SPDYSTREAM_MAX_CONCURRENT_STREAMS`] (the peer
    /// ignores the one we announce), and no stream receive timeout (a
    /// `kubectl exec` stdin stream or a `kubectl port-forward` connection
    /// may idle for hours), and an idle timeout of
    /// [`SPDYSTREAM_IDLE_TIMEOUT`] instead of five minutes.
    pub fn spdystream_compatible() -> Self {
        SessionConfig {
            max_concurrent_streams: SPDYSTREAM_MAX_CONCURRENT_STREAMS,
            flow_control: FlowControl::Disabled,
            accept_peer_bidirectional_streams: true,
            assumed_peer_max_concurrent_streams: u32::MAX,
            stream_receive_timeout: None,
            idle_timeout: Some(SPDYSTREAM_IDLE_TIMEOUT),
            ..SessionConfig::default()
        }
    }
}
