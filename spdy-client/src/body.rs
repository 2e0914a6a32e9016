//! [`Body`]: the body of a request we send (or of a response a handler
//! gives), streaming or in memory.

use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;

use crate::RecvBody;

/// The error type of boxed bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A body: empty, a single buffer, a received SPDY stream, or any
/// [`http_body::Body`] of `Bytes` (streamed, never buffered whole).
///
/// ```
/// use spdy_client::Body;
/// use http_body::Body as _;
///
/// assert!(Body::empty().is_end_stream());
/// assert_eq!(Body::from("hello").size_hint().exact(), Some(5));
/// fn send_and_sync<T: Send + Sync>() {}
/// send_and_sync::<Body>();
/// ```
pub struct Body {
    kind: Kind,
}

enum Kind {
    Empty,
    Full(Option<Bytes>),
    Recv(RecvBody),
    /// In a mutex only so `Body` is `Sync` (a handler may hold `&Request`
    /// across an await); polling takes `&mut` and never locks.
    Boxed(Mutex<UnsyncBoxBody<Bytes, BoxError>>),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Empty => "empty",
            Kind::Full(_) => "full",
            Kind::Recv(_) => "spdy stream",
            Kind::Boxed(_) => "boxed",
        };
        f.debug_struct("Body").field("kind", &kind).finish()
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl Body {
    /// No body.
    pub fn empty() -> Self {
        Body { kind: Kind::Empty }
    }

    /// A body of one buffer.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Body::empty();
        }
        Body {
            kind: Kind::Full(Some(bytes)),
        }
    }

    /// Wraps any body whose chunks are `Bytes`.
    pub fn new<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Body {
            kind: Kind::Boxed(Mutex::new(body.map_err(Into::into).boxed_unsync())),
        }
    }

    /// A body from a stream of chunks.
    pub fn from_stream<S, E>(stream: S) -> Self
    where
        S: futures_core::Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        Body::new(ChunkStream(Box::pin(stream)))
    }

    /// Reads the whole body into memory, refusing more than `limit` bytes.
    pub async fn to_bytes(mut self, limit: usize) -> Result<Bytes, BoxError> {
        if let Kind::Full(bytes) = &mut self.kind {
            let bytes = bytes.take().unwrap_or_default();
            if bytes.len() > limit {
                return Err(too_large(limit));
            }
            return Ok(bytes);
        }
        let mut out = bytes::BytesMut::new();
        while let Some(frame) = self.frame().await {
            if let Ok(data) = frame?.into_data() {
                if out.len() + data.len() > limit {
                    return Err(too_large(limit));
                }
                out.extend_from_slice(&data);
            }
        }
        Ok(out.freeze())
    }
}

fn too_large(limit: usize) -> BoxError {
    format!("the body exceeds {limit} bytes").into()
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Body::full(bytes)
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Body::full(bytes)
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body::full(text)
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Body::full(text)
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Self {
        Body::full(bytes)
    }
}

impl From<()> for Body {
    fn from(_: ()) -> Self {
        Body::empty()
    }
}

impl From<RecvBody> for Body {
    fn from(body: RecvBody) -> Self {
        Body {
            kind: Kind::Recv(body),
        }
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().kind {
            Kind::Empty => Poll::Ready(None),
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Recv(body) => Pin::new(body)
                .poll_frame(cx)
                .map(|f| f.map(|f| f.map_err(Into::into))),
            Kind::Boxed(body) => {
                let body = body.get_mut().unwrap_or_else(|p| p.into_inner());
                Pin::new(body).poll_frame(cx)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Recv(body) => body.is_end_stream(),
            Kind::Boxed(body) => body
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Empty => SizeHint::with_exact(0),
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Recv(body) => body.size_hint(),
            Kind::Boxed(body) => body.lock().unwrap_or_else(|p| p.into_inner()).size_hint(),
        }
    }
}

/// A stream of chunks as a body (pinned in a box, so no unsafe projection).
struct ChunkStream<S>(Pin<Box<S>>);

impl<S, E> http_body::Body for ChunkStream<S>
where
    S: futures_core::Stream<Item = Result<Bytes, E>>,
{
    type Data = Bytes;
    type Error = E;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, E>>> {
        self.0
            .as_mut()
            .poll_next(cx)
            .map(|item| item.map(|r| r.map(Frame::data)))
    }
}
