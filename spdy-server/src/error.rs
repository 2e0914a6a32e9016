//! Why writing a response failed.

use spdy_core::driver;

/// Why a [`ResponseWriter`](crate::ResponseWriter) operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The SPDY stream or session failed: the client reset the stream, went
    /// away, or the session ended. Stop writing.
    #[error(transparent)]
    Stream(#[from] driver::Error),
    /// The HTTP/1.1 client is gone. Stop writing.
    #[error("the client closed the connection")]
    Disconnected,
    /// The response was already finished.
    #[error("the response is already finished")]
    Finished,
    /// Server push needs SPDY; this request came over HTTP/1.1.
    #[error("server push is not available over {0}")]
    PushUnsupported(&'static str),
    /// The push could not be made (e.g. the URI is not a path on this host).
    #[error("cannot push: {0}")]
    InvalidPush(String),
    /// The body would not have the length the response's `Content-Length`
    /// declares: a write went past it, or the response ended short of it.
    /// The response was aborted, so the client sees an error, not a body
    /// of another length.
    #[error("the response's content-length declared {declared} bytes; it would have had {length}")]
    ContentLength {
        /// What `Content-Length` said.
        declared: u64,
        /// The length the body would have had.
        length: u64,
    },
}
