//! [`Transport`]: where a [`ResponseWriter`](crate::ResponseWriter) sends a
//! response. SPDY streams and the HTTP/1.1 fallback implement it; so can
//! other carriers.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::{Request, Response};

use crate::WriteError;

/// A boxed future, for the object-safe [`Transport`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a response is written to. Calls come in order: `send_head` once,
/// then `send_data` any number of times, then `finish` (or `abort`).
pub trait Transport: Send + 'static {
    /// Sends the status and headers; with `end`, no body follows.
    fn send_head(&mut self, head: Response<()>, end: bool) -> Result<(), WriteError>;

    /// Sends body bytes, waiting while the peer cannot take more (flow
    /// control, a slow client).
    fn send_data(&mut self, data: Bytes) -> BoxFuture<'_, Result<(), WriteError>>;

    /// Ends the body cleanly.
    fn finish(&mut self) -> Result<(), WriteError>;

    /// Sends the last body bytes and ends the body (SPDY: FIN on the last
    /// DATA frame instead of an empty one).
    fn send_last(&mut self, data: Bytes) -> BoxFuture<'_, Result<(), WriteError>> {
        Box::pin(async move {
            self.send_data(data).await?;
            self.finish()
        })
    }

    /// Ends the response abnormally: the client must not take a truncated
    /// body for a complete one (SPDY: RST_STREAM; HTTP/1.1: the connection
    /// is cut).
    fn abort(&mut self);

    /// Pushes a response for `request` (its URI is absolute), returning the
    /// transport to write it to.
    fn push(
        &mut self,
        request: Request<()>,
    ) -> BoxFuture<'_, Result<Box<dyn Transport>, WriteError>>;

    /// A short name of the protocol, for logs and errors.
    fn protocol(&self) -> &'static str;
}
