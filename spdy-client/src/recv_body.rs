//! [`RecvBody`]: a body arriving on a SPDY stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use spdy_core::driver::{self, RecvStream};
use spdy_core::frame::{RstStatus, StreamId};
use tokio::time::Sleep;

/// The body of a response (or, on a server, a request) arriving on a SPDY
/// stream. Receive credit goes back to the peer as chunks are taken, so a
/// slow reader holds the sender back; dropping it before the end resets the
/// stream with CANCEL, freeing the peer's resources at once.
///
/// With a content length, the body must be exactly that long: a body that
/// goes past it, or ends (FIN) short of it, resets the stream with
/// PROTOCOL_ERROR and fails the read with an error naming the stream, the
/// declared length and what arrived, so a truncated body is never taken
/// for a complete one. (The SPDY/3 draft tells clients to ignore a
/// content-length the DATA disagrees with; we follow HTTP/2, RFC 9113
/// §8.1.1, and treat the message as malformed: in practice such a body
/// is a truncated one.)
pub struct RecvBody {
    stream: Option<RecvStream>,
    id: StreamId,
    content_length: Option<u64>,
    received: u64,
    /// How long a read may wait for the peer's next bytes.
    idle_timeout: Option<Duration>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl std::fmt::Debug for RecvBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBody")
            .field("stream_id", &self.id)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl RecvBody {
    /// The body carried by `stream`; `content_length` (from the headers)
    /// is the length the body must have, and the size hint. Pass `None`
    /// when the header describes no body: the answer to a HEAD request, a
    /// 1xx, 204 or 304 response. `ended` when the headers came with FIN.
    pub fn new(stream: RecvStream, content_length: Option<u64>, ended: bool) -> Self {
        let id = stream.id();
        // Headers with FIN but a length above zero: the first read reports
        // the missing body, so the stream is kept until then.
        let short = content_length.is_some_and(|len| len > 0);
        RecvBody {
            stream: (!ended || short).then_some(stream),
            id,
            content_length,
            received: 0,
            idle_timeout: None,
            timer: None,
        }
    }

    /// Fails a read that waits longer than `timeout` for the peer's next
    /// bytes (the stream is then reset with CANCEL). Only waits count: a
    /// reader that pauses is not timed.
    pub fn with_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The stream id.
    pub fn stream_id(&self) -> StreamId {
        self.id
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The next chunk; `None` at the end.
    pub async fn data(&mut self) -> Option<Result<Bytes, driver::Error>> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// Reads the rest into memory, refusing more than `limit` bytes.
    pub async fn bytes(&mut self, limit: usize) -> Result<Bytes, crate::BoxError> {
        let mut out = bytes::BytesMut::new();
        while let Some(chunk) = self.data().await {
            let chunk = chunk?;
            if out.len() + chunk.len() > limit {
                return Err(format!("the body exceeds {limit} bytes").into());
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, driver::Error>>> {
        let Some(stream) = self.stream.as_mut() else {
            return Poll::Ready(None);
        };
        match stream.poll_data(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                self.timer = None;
                let received = self.received + chunk.len() as u64;
                if let Some(declared) = self.content_length
                    && received > declared
                {
                    return Poll::Ready(Some(Err(self.fail_length(declared, received))));
                }
                self.received = received;
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(error))) => {
                self.stream = None;
                Poll::Ready(Some(Err(error)))
            }
            Poll::Ready(None) => {
                if let Some(declared) = self.content_length
                    && self.received < declared
                {
                    return Poll::Ready(Some(Err(self.fail_length(declared, self.received))));
                }
                // Dropping the handle now is harmless: the peer finished.
                self.stream = None;
                Poll::Ready(None)
            }
            Poll::Pending => {
                let Some(timeout) = self.idle_timeout else {
                    return Poll::Pending;
                };
                let timer = self
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                tracing::debug!(stream = %self.id, ?timeout, "the peer sent nothing in time");
                if let Some(mut stream) = self.stream.take() {
                    stream.reset(RstStatus::Cancel);
                }
                self.timer = None;
                Poll::Ready(Some(Err(driver::Error::Timeout)))
            }
        }
    }

    /// The body's length disagrees with its content-length: the peer broke
    /// the message's framing, so the stream is reset with PROTOCOL_ERROR
    /// and the read fails.
    fn fail_length(&mut self, declared: u64, received: u64) -> driver::Error {
        let error = driver::Error::ContentLength {
            stream_id: self.id,
            declared,
            received,
        };
        tracing::debug!(%error, "resetting with PROTOCOL_ERROR");
        if let Some(mut stream) = self.stream.take() {
            stream.reset(RstStatus::ProtocolError);
        }
        self.timer = None;
        error
    }
}

impl futures_core::Stream for RecvBody {
    type Item = Result<Bytes, driver::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

impl http_body::Body for RecvBody {
    type Data = Bytes;
    type Error = driver::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, driver::Error>>> {
        self.get_mut()
            .poll_chunk(cx)
            .map(|c| c.map(|r| r.map(Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        self.stream.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match self.content_length {
            Some(len) if self.stream.is_some() => {
                SizeHint::with_exact(len.saturating_sub(self.received))
            }
            _ if self.stream.is_none() => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}
