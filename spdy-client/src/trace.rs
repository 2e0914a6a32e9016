//! Frame tracing: an IO wrapper that decodes the frames going each way and
//! hands them to a callback, and a printer for the YAML frame notation
//! (`cargo xtask frames decode`, the conformance scenarios), used by
//! `spdycat -v`.
//!
//! The printer writes every string JSON-quoted, which YAML reads as the
//! same text, so its output parses with `conformance::notation::parse_notes`.

use std::fmt::Write as _;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use sha2::{Digest, Sha256};
use spdy_core::frame::{Frame, FrameDecoder, GoAwayStatus, RstStatus, SettingId};
use spdy_core::header::HeaderBlock;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Which way a frame went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From us to the peer.
    Sent,
    /// From the peer to us.
    Received,
}

/// Called with each frame as it passes.
pub type FrameCallback = Box<dyn FnMut(Direction, &Frame) + Send>;

/// One direction's decoder; it stops at the first undecodable byte.
struct Side {
    buf: BytesMut,
    decoder: FrameDecoder,
    broken: bool,
}

impl Side {
    fn new() -> Self {
        Side {
            buf: BytesMut::new(),
            decoder: FrameDecoder::new(),
            broken: false,
        }
    }

    fn feed(&mut self, bytes: &[u8], direction: Direction, callback: &mut FrameCallback) {
        if self.broken {
            return;
        }
        self.buf.extend_from_slice(bytes);
        loop {
            match self.decoder.decode(&mut self.buf) {
                Ok(Some(frame)) => callback(direction, &frame),
                Ok(None) => break,
                Err(error) => {
                    tracing::debug!(?direction, %error, "trace: undecodable bytes; tracing stops");
                    self.broken = true;
                    self.buf = BytesMut::new();
                    break;
                }
            }
        }
    }
}

/// `io`, with every frame read or written decoded and passed to a callback.
pub struct TraceIo<IO> {
    io: IO,
    sent: Side,
    received: Side,
    callback: FrameCallback,
}

impl<IO> TraceIo<IO> {
    /// Traces the frames on `io`.
    pub fn new(io: IO, callback: FrameCallback) -> Self {
        TraceIo {
            io,
            sent: Side::new(),
            received: Side::new(),
            callback,
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for TraceIo<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            this.received.feed(
                &buf.filled()[before..],
                Direction::Received,
                &mut this.callback,
            );
        }
        result
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for TraceIo<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result {
            this.sent
                .feed(&buf[..n], Direction::Sent, &mut this.callback);
        }
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(mut n)) = result {
            for slice in bufs {
                if n == 0 {
                    break;
                }
                let take = n.min(slice.len());
                this.sent
                    .feed(&slice[..take], Direction::Sent, &mut this.callback);
                n -= take;
            }
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// A JSON-quoted string (YAML reads it as the same text).
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' || c == '\u{feff}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Text without control characters other than tab, CR and LF.
fn printable(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .then_some(text)
}

fn headers(out: &mut String, block: &HeaderBlock) {
    if block.is_empty() {
        out.push_str("  headers: {}\n");
        return;
    }
    out.push_str("  headers:\n");
    for pair in block.pairs() {
        let name = String::from_utf8_lossy(&pair.name);
        let value = match std::str::from_utf8(&pair.value) {
            Ok(text) if text.contains('\0') => {
                let parts: Vec<String> = text.split('\0').map(quoted).collect();
                format!("[{}]", parts.join(", "))
            }
            Ok(text) => quoted(text),
            Err(_) => format!("{{hex: {}}}", quoted(&hex(&pair.value))),
        };
        let _ = writeln!(out, "    {}: {value}", quoted(&name));
    }
}

fn flag(out: &mut String, name: &str, on: bool) {
    if on {
        let _ = writeln!(out, "  {name}: true");
    }
}

fn rst_name(status: RstStatus) -> String {
    match status {
        RstStatus::Unknown(code) => code.to_string(),
        known => known.name().to_owned(),
    }
}

fn goaway_name(status: GoAwayStatus) -> String {
    match status {
        GoAwayStatus::Unknown(code) => code.to_string(),
        known => known.name().to_owned(),
    }
}

/// One frame as an item of a YAML list in the frame notation; DATA longer
/// than `max_inline` bytes is summarised by length and SHA-256.
pub fn frame_yaml(frame: &Frame, max_inline: usize) -> String {
    let mut out = String::new();
    match frame {
        Frame::Data(f) => {
            let _ = writeln!(out, "- type: DATA\n  stream_id: {}", f.stream_id.get());
            flag(&mut out, "fin", f.fin);
            let payload = &f.payload;
            if payload.len() > max_inline {
                let _ = writeln!(
                    out,
                    "  data_len: {}\n  data_sha256: {}",
                    payload.len(),
                    hex(&Sha256::digest(payload))
                );
            } else if let Some(text) = printable(payload) {
                let _ = writeln!(out, "  data: {}", quoted(text));
            } else {
                let _ = writeln!(out, "  data_hex: {}", quoted(&hex(payload)));
            }
        }
        Frame::SynStream(f) => {
            let _ = writeln!(
                out,
                "- type: SYN_STREAM\n  stream_id: {}",
                f.stream_id.get()
            );
            if !f.associated_to.is_zero() {
                let _ = writeln!(out, "  associated_to: {}", f.associated_to.get());
            }
            let _ = writeln!(out, "  priority: {}", f.priority.get());
            if f.slot != 0 {
                let _ = writeln!(out, "  slot: {}", f.slot);
            }
            flag(&mut out, "fin", f.fin);
            flag(&mut out, "unidirectional", f.unidirectional);
            headers(&mut out, &f.headers);
        }
        Frame::SynReply(f) => {
            let _ = writeln!(out, "- type: SYN_REPLY\n  stream_id: {}", f.stream_id.get());
            flag(&mut out, "fin", f.fin);
            headers(&mut out, &f.headers);
        }
        Frame::Headers(f) => {
            let _ = writeln!(out, "- type: HEADERS\n  stream_id: {}", f.stream_id.get());
            flag(&mut out, "fin", f.fin);
            headers(&mut out, &f.headers);
        }
        Frame::RstStream(f) => {
            let _ = writeln!(
                out,
                "- type: RST_STREAM\n  stream_id: {}\n  status: {}",
                f.stream_id.get(),
                rst_name(f.status)
            );
        }
        Frame::Settings(f) => {
            out.push_str("- type: SETTINGS\n");
            flag(&mut out, "clear_settings", f.clear_settings);
            if f.entries.is_empty() {
                out.push_str("  entries: []\n");
            } else {
                out.push_str("  entries:\n");
            }
            for e in &f.entries {
                let id = match e.id {
                    SettingId::Unknown(code) => code.to_string(),
                    known => known.name().to_owned(),
                };
                let _ = write!(out, "    - {{id: {id}, value: {}", e.value);
                if e.flags.persist_value {
                    out.push_str(", persist_value: true");
                }
                if e.flags.persisted {
                    out.push_str(", persisted: true");
                }
                out.push_str("}\n");
            }
        }
        Frame::Ping(f) => {
            let _ = writeln!(out, "- type: PING\n  id: {}", f.id);
        }
        Frame::GoAway(f) => {
            let _ = writeln!(
                out,
                "- type: GOAWAY\n  last_good_stream_id: {}\n  status: {}",
                f.last_good_stream_id.get(),
                goaway_name(f.status)
            );
        }
        Frame::WindowUpdate(f) => {
            let _ = writeln!(
                out,
                "- type: WINDOW_UPDATE\n  stream_id: {}\n  delta: {}",
                f.stream_id.get(),
                f.delta
            );
        }
        Frame::Ignored(f) => {
            let _ = writeln!(out, "- type: SKIPPED\n  frame_type: {}", f.frame_type);
            if f.flags != 0 {
                let _ = writeln!(out, "  flags: {}", f.flags);
            }
            let _ = writeln!(out, "  length: {}", f.length);
        }
    }
    out
}
