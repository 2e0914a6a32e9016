//! What the application at an end reports.

use serde::Serialize;
use sha2::{Digest, Sha256};
use spdy_core::driver::Error;
use spdy_core::frame::{GoAwayStatus, RstStatus};
use spdy_core::header::HeaderBlock;
use spdy_core::session::{CloseReason, ResetOrigin};

use crate::notation::{HeadersNote, to_hex};

/// An event at the application side of the end under test.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AppEvent {
    /// The peer opened a stream (a request, a push, a peer stream).
    StreamOpened {
        /// Stream id.
        stream_id: u32,
        /// Its headers.
        headers: HeadersNote,
        /// FIN on the SYN_STREAM.
        #[serde(skip_serializing_if = "is_false")]
        fin: bool,
        /// Its priority.
        priority: u8,
        /// Associated-to (push).
        #[serde(skip_serializing_if = "is_zero")]
        associated_to: u32,
        /// UNIDIRECTIONAL.
        #[serde(skip_serializing_if = "is_false")]
        unidirectional: bool,
    },
    /// The client opened a stream.
    Opened {
        /// Stream id.
        stream_id: u32,
    },
    /// Opening a stream failed.
    OpenFailed {
        /// Why.
        error: ErrorNote,
    },
    /// The first header block on a stream we opened (the SYN_REPLY), or on a pushed stream.
    Reply {
        /// Stream id.
        stream_id: u32,
        /// The headers.
        headers: HeadersNote,
    },
    /// A further header block (HEADERS).
    Headers {
        /// Stream id.
        stream_id: u32,
        /// The headers.
        headers: HeadersNote,
    },
    /// A stream's whole body was read.
    Body {
        /// Stream id.
        stream_id: u32,
        /// Bytes.
        len: u64,
        /// The body when short and printable.
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<String>,
        /// SHA-256 of a longer body.
        #[serde(skip_serializing_if = "Option::is_none")]
        sha256: Option<String>,
    },
    /// Reading a stream failed.
    ReadError {
        /// Stream id.
        stream_id: u32,
        /// Body bytes read before.
        after_bytes: u64,
        /// Why.
        error: ErrorNote,
    },
    /// All of a body was handed to the session (and FIN queued when asked).
    Sent {
        /// Stream id.
        stream_id: u32,
        /// Bytes.
        bytes: u64,
        /// FIN queued.
        #[serde(skip_serializing_if = "is_false")]
        fin: bool,
    },
    /// Sending (or replying) on a stream failed.
    SendError {
        /// Stream id.
        stream_id: u32,
        /// Why.
        error: ErrorNote,
    },
    /// The application reset a stream.
    ResetSent {
        /// Stream id.
        stream_id: u32,
        /// Status.
        status: String,
    },
    /// The server refused a stream.
    Refused {
        /// Stream id.
        stream_id: u32,
        /// Status.
        status: String,
    },
    /// The server pushed a stream.
    Pushed {
        /// The pushed stream.
        stream_id: u32,
        /// The stream it belongs to.
        associated_to: u32,
    },
    /// Pushing failed.
    PushFailed {
        /// The stream it was for.
        associated_to: u32,
        /// Why.
        error: ErrorNote,
    },
    /// Our PING was answered.
    PingAnswered {
        /// Round trip in (virtual) milliseconds.
        rtt_ms: u64,
    },
    /// Our PING failed.
    PingFailed {
        /// Why.
        error: ErrorNote,
    },
    /// An action the session refused.
    ActionFailed {
        /// The action.
        action: String,
        /// Why.
        error: ErrorNote,
    },
    /// What the peer's SETTINGS said, as the session applied them.
    PeerSettings {
        /// MAX_CONCURRENT_STREAMS, if sent.
        #[serde(skip_serializing_if = "Option::is_none")]
        max_concurrent_streams: Option<u32>,
        /// INITIAL_WINDOW_SIZE, if sent.
        #[serde(skip_serializing_if = "Option::is_none")]
        initial_window_size: Option<u32>,
        /// Every value by id number.
        values: std::collections::BTreeMap<u32, u32>,
        /// Values to persist by id number.
        persisted: std::collections::BTreeMap<u32, u32>,
    },
    /// The connection task ended.
    SessionClosed {
        /// Why.
        reason: ReasonNote,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A driver error, for events.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ErrorNote {
    /// The stream was reset.
    Reset {
        /// Status name.
        status: String,
        /// `peer`, `local`, `go_away` or `session_closed`.
        origin: String,
        /// Safe to retry.
        #[serde(skip_serializing_if = "is_false")]
        retryable: bool,
    },
    /// The session ended.
    SessionClosed {
        /// Why.
        reason: ReasonNote,
    },
    /// The session refused the command.
    Refused {
        /// What it said.
        detail: String,
        /// Safe to retry.
        #[serde(skip_serializing_if = "is_false")]
        retryable: bool,
    },
    /// No answer in time.
    Timeout,
    /// An error of the HTTP layer with no protocol code (an invalid
    /// response, a request that could not be sent, ...).
    Http {
        /// What it said.
        detail: String,
    },
}

impl ErrorNote {
    /// The note for a boxed error from a body: a driver error when it is
    /// one, else its text.
    pub fn from_boxed(error: &(dyn std::error::Error + Send + Sync + 'static)) -> ErrorNote {
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = current {
            if let Some(driver) = e.downcast_ref::<Error>() {
                return driver.into();
            }
            current = e.source();
        }
        ErrorNote::Http {
            detail: error.to_string(),
        }
    }
}

impl From<&Error> for ErrorNote {
    fn from(error: &Error) -> Self {
        match error {
            Error::Reset { status, origin, .. } => ErrorNote::Reset {
                status: rst_name(*status),
                origin: match origin {
                    ResetOrigin::Peer => "peer",
                    ResetOrigin::Local => "local",
                    ResetOrigin::GoAway => "go_away",
                    ResetOrigin::SessionClosed => "session_closed",
                    ResetOrigin::ReceiveTimeout => "receive_timeout",
                    ResetOrigin::SendTimeout => "send_timeout",
                }
                .into(),
                retryable: error.is_retryable(),
            },
            Error::SessionClosed(reason) => ErrorNote::SessionClosed {
                reason: reason.into(),
            },
            Error::Refused(refused) => ErrorNote::Refused {
                detail: refused.to_string(),
                retryable: error.is_retryable(),
            },
            Error::Timeout => ErrorNote::Timeout,
            Error::ContentLength { .. } => ErrorNote::Http {
                detail: error.to_string(),
            },
        }
    }
}

/// Why a session ended, for events.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReasonNote {
    /// Graceful.
    Graceful,
    /// The peer broke the protocol; we sent GOAWAY `status`.
    ProtocolError {
        /// Our GOAWAY status.
        status: String,
        /// What happened.
        detail: String,
    },
    /// The peer's GOAWAY had an error status.
    PeerError {
        /// Its status.
        status: String,
    },
    /// A flood limit.
    Flood {
        /// Which.
        limit: String,
    },
    /// PING unanswered.
    PingTimeout,
    /// Idle.
    IdleTimeout,
    /// The peer stopped reading.
    PeerNotReading,
    /// The connection ended.
    ConnectionLost {
        /// How.
        detail: String,
    },
}

impl From<&CloseReason> for ReasonNote {
    fn from(reason: &CloseReason) -> Self {
        match reason {
            CloseReason::Graceful => ReasonNote::Graceful,
            CloseReason::ProtocolError { status, detail } => ReasonNote::ProtocolError {
                status: goaway_name(*status),
                detail: detail.clone(),
            },
            CloseReason::PeerError { status } => ReasonNote::PeerError {
                status: goaway_name(*status),
            },
            CloseReason::Flood { limit } => ReasonNote::Flood {
                limit: (*limit).into(),
            },
            CloseReason::PingTimeout => ReasonNote::PingTimeout,
            CloseReason::IdleTimeout => ReasonNote::IdleTimeout,
            CloseReason::PeerNotReading => ReasonNote::PeerNotReading,
            CloseReason::ConnectionLost(detail) => ReasonNote::ConnectionLost {
                detail: detail.clone(),
            },
        }
    }
}

/// An RST_STREAM status's name (its number when it has none).
pub fn rst_name(status: RstStatus) -> String {
    match status {
        RstStatus::Unknown(code) => code.to_string(),
        known => known.name().into(),
    }
}

/// A GOAWAY status's name (its number when it has none).
pub fn goaway_name(status: GoAwayStatus) -> String {
    match status {
        GoAwayStatus::Unknown(code) => code.to_string(),
        known => known.name().into(),
    }
}

/// A body as an event: short printable bodies in full, others by hash.
pub fn body_summary(stream_id: u32, body: &[u8]) -> AppEvent {
    let mut counter = BodyCounter::default();
    counter.add(body);
    counter.event(stream_id)
}

/// Bodies longer than this are reported by length and hash.
const MAX_SHOWN_BODY: usize = 256;

/// Counts a body as it is read, keeping only its hash (and its bytes while short).
#[derive(Default)]
pub struct BodyCounter {
    len: u64,
    hasher: Sha256,
    start: Vec<u8>,
}

impl BodyCounter {
    /// Adds a chunk.
    pub fn add(&mut self, chunk: &[u8]) {
        self.len += chunk.len() as u64;
        self.hasher.update(chunk);
        if self.start.len() <= MAX_SHOWN_BODY {
            self.start.extend_from_slice(chunk);
        }
    }

    /// Bytes so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True before the first byte.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `body` event.
    pub fn event(self, stream_id: u32) -> AppEvent {
        let printable = std::str::from_utf8(&self.start).ok().filter(|t| {
            t.len() <= MAX_SHOWN_BODY && t.chars().all(|c| !c.is_control() || c == '\n')
        });
        let data = printable.map(str::to_owned);
        AppEvent::Body {
            stream_id,
            len: self.len,
            sha256: data
                .is_none()
                .then(|| to_hex(&self.hasher.finalize(), false)),
            data,
        }
    }
}

/// Headers as a note.
pub fn headers_note(block: &HeaderBlock) -> HeadersNote {
    HeadersNote::from_block(block)
}

/// The values of one header of an `http::HeaderMap` in the notation: text,
/// a list of texts for several values, or hex for bytes that are not UTF-8.
pub fn header_value_note(
    headers: &http::HeaderMap,
    name: &http::HeaderName,
) -> crate::notation::HeaderValueNote {
    use crate::notation::{HeaderValueNote, to_hex};
    let raw: Vec<&[u8]> = headers.get_all(name).iter().map(|v| v.as_bytes()).collect();
    let texts: Option<Vec<String>> = raw
        .iter()
        .map(|v| std::str::from_utf8(v).ok().map(str::to_owned))
        .collect();
    match (texts, raw.as_slice()) {
        (Some(mut texts), _) if texts.len() == 1 => HeaderValueNote::Text(texts.remove(0)),
        (Some(texts), _) => HeaderValueNote::List(texts),
        (None, values) => HeaderValueNote::Hex {
            hex: to_hex(&values.join(&0u8), false),
        },
    }
}
