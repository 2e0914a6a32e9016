//! The client's error type.

use spdy_core::driver;
use spdy_core::frame::StreamId;
use spdy_core::header::HttpMapError;

use crate::BoxError;

/// Why a request, a connection or a ping failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The stream or the session failed: reset by the peer, refused after
    /// GOAWAY, the connection lost, ... See [`Error::is_retryable`].
    #[error(transparent)]
    Session(#[from] driver::Error),
    /// The request was never sent: the session had ended, or was going
    /// away (GOAWAY), or ran out of stream ids. Safe to send again on a
    /// new session.
    #[error("request not sent: {0}")]
    NotSent(driver::Error),
    /// The peer's reply does not make a valid HTTP response.
    #[error("stream {stream_id}: invalid response: {source}")]
    InvalidResponse {
        /// The stream.
        stream_id: StreamId,
        /// What is wrong with it.
        source: HttpMapError,
    },
    /// The stream ended before the peer replied.
    #[error("stream {0} ended without a reply")]
    NoReply(StreamId),
    /// The request cannot be sent as it is.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The request's header block is larger than the session's
    /// `max_header_block_size`. SPDY cannot tell a peer's limit, and a peer
    /// with the same limit ends the whole session (GOAWAY) on a larger
    /// block, failing every request on it; so the request is not sent.
    #[error("request headers of {size} bytes exceed the {limit}-byte header block limit")]
    HeadersTooLarge {
        /// The uncompressed header block's size.
        size: usize,
        /// The session's `max_header_block_size`.
        limit: usize,
    },
    /// Reading the request body failed; the stream was reset.
    #[error("the request body failed: {0}")]
    RequestBody(BoxError),
    /// The peer did not answer in time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// Connecting failed (TCP or the TLS handshake).
    #[error("connecting failed: {0}")]
    Connect(#[source] std::io::Error),
    /// The TLS server did not choose `spdy/3.1` by ALPN.
    #[error("the server did not agree to spdy/3.1 by ALPN (it chose {0})")]
    Alpn(String),
}

impl Error {
    /// True when the peer is known not to have processed the request (it
    /// refused the stream with REFUSED_STREAM, or its GOAWAY showed the
    /// stream was never processed): sending it again on a new session is safe.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Session(error) => error.is_retryable(),
            Error::NotSent(error) => !matches!(
                error,
                driver::Error::Refused(spdy_core::session::SendError::Invalid(_))
            ),
            _ => false,
        }
    }
}
