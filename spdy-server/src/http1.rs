//! The HTTP/1.1 fallback: hyper serves the connection, and the same
//! [`Handler`] answers through an [`Http1Transport`].

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use spdy_client::hop_by_hop;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Sleep;
use tokio_util::sync::CancellationToken;

use crate::access_log::AccessLog;
use crate::transport::{BoxFuture, Transport};
use crate::write_stall::WriteStall;
use crate::{Body, BoxError, ConnectionInfo, Handler, ResponseWriter, ServerConfig, WriteError};

/// Chunks in flight between a handler and hyper: a slow client holds the
/// handler back after this many.
const CHANNEL_CHUNKS: usize = 4;

type Chunk = Result<Bytes, std::io::Error>;

/// A response going out through hyper: the head through a oneshot, the
/// body through a small bounded channel.
pub struct Http1Transport {
    head: Option<oneshot::Sender<(Response<()>, bool)>>,
    data: Option<mpsc::Sender<Chunk>>,
    /// Set by `abort`: the body ends in an error, not in a clean end. A
    /// flag rather than an error in the channel, which may be full.
    aborted: Arc<AtomicBool>,
}

impl Transport for Http1Transport {
    fn send_head(&mut self, head: Response<()>, end: bool) -> Result<(), WriteError> {
        let tx = self.head.take().ok_or(WriteError::Finished)?;
        if end {
            self.data = None;
        }
        tx.send((head, end)).map_err(|_| WriteError::Disconnected)
    }

    fn send_data(&mut self, data: Bytes) -> BoxFuture<'_, Result<(), WriteError>> {
        Box::pin(async move {
            let tx = self.data.as_ref().ok_or(WriteError::Finished)?;
            tx.send(Ok(data))
                .await
                .map_err(|_| WriteError::Disconnected)
        })
    }

    fn finish(&mut self) -> Result<(), WriteError> {
        // Closing the channel ends the body.
        self.data = None;
        Ok(())
    }

    fn abort(&mut self) {
        if let Some(tx) = self.head.take() {
            let mut head = Response::new(());
            *head.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            let _ = tx.send((head, true));
        }
        if self.data.take().is_some() {
            // The body reader sees the channel close with the flag set and
            // fails the body, which makes hyper cut the connection (chunks
            // already queued go first). Sending an error down the channel
            // instead would be lost whenever the channel is full, the usual
            // state with a client slower than the handler, and the closed
            // channel would then end a chunked body cleanly: a truncated
            // response taken for a complete one.
            self.aborted.store(true, Ordering::Release);
        }
    }

    fn push(
        &mut self,
        _request: Request<()>,
    ) -> BoxFuture<'_, Result<Box<dyn Transport>, WriteError>> {
        Box::pin(async { Err(WriteError::PushUnsupported("http/1.1")) })
    }

    fn protocol(&self) -> &'static str {
        "http/1.1"
    }
}

/// The response body hyper sends: chunks from the handler's channel.
pub struct ChannelBody {
    rx: Option<mpsc::Receiver<Chunk>>,
    /// Shared with the transport: the handler aborted the response.
    aborted: Arc<AtomicBool>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let Some(rx) = self.rx.as_mut() else {
            return Poll::Ready(None);
        };
        match rx.poll_recv(cx) {
            Poll::Ready(Some(chunk)) => Poll::Ready(Some(chunk.map(Frame::data))),
            Poll::Ready(None) => {
                self.rx = None;
                if self.aborted.load(Ordering::Acquire) {
                    return Poll::Ready(Some(Err(std::io::Error::other("response aborted"))));
                }
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.rx.is_none()
    }
}

/// A request body whose read fails when the client sends nothing for
/// `timeout` while the handler waits (a handler that pauses is not timed):
/// hyper times the request head only.
struct IdleTimeoutBody {
    inner: Incoming,
    timeout: Option<Duration>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl http_body::Body for IdleTimeoutBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.timer = None;
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let Some(timeout) = this.timeout else {
                    return Poll::Pending;
                };
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.timer = None;
                tracing::debug!(?timeout, "the client sent no request body bytes in time");
                Poll::Ready(Some(Err(format!(
                    "the client sent nothing of the request body for {timeout:?}"
                )
                .into())))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Gives an HTTP/1.1 request the shape the same request has over SPDY, so
/// a handler sees one model: hop-by-hop headers (and those `Connection`
/// names) dropped, and the URI in absolute form (`http://host/path`, from
/// the `Host` header; `https` over TLS), as SPDY's `:scheme` and `:host`
/// make it. A request without a usable `Host` keeps its origin-form URI.
fn as_over_spdy<B>(request: Request<B>, tls: bool) -> Request<B> {
    let (mut parts, body) = request.into_parts();
    hop_by_hop::strip(&mut parts.headers);
    if parts.uri.authority().is_none()
        && let Some(host) = parts.headers.get(http::header::HOST)
        && let Ok(authority) = http::uri::Authority::try_from(host.as_bytes())
    {
        let mut uri = parts.uri.clone().into_parts();
        uri.scheme = Some(if tls {
            http::uri::Scheme::HTTPS
        } else {
            http::uri::Scheme::HTTP
        });
        uri.authority = Some(authority);
        if uri.path_and_query.is_none() {
            uri.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
        }
        match http::Uri::from_parts(uri) {
            Ok(absolute) => parts.uri = absolute,
            Err(error) => tracing::debug!(%error, "keeping the request's origin-form URI"),
        }
    }
    Request::from_parts(parts, body)
}

/// Runs the handler for one HTTP/1.1 request and returns hyper's response
/// once the handler sends its head.
async fn answer<H: Handler>(
    handler: Arc<H>,
    request: Request<Incoming>,
    info: ConnectionInfo,
    body_idle_timeout: Option<Duration>,
    gone: CancellationToken,
) -> Response<ChannelBody> {
    let started = Instant::now();
    let (head_tx, head_rx) = oneshot::channel();
    let (data_tx, data_rx) = mpsc::channel(CHANNEL_CHUNKS);
    let request = as_over_spdy(request, info.tls);
    let mut request = request.map(|inner| {
        Body::new(IdleTimeoutBody {
            inner,
            timeout: body_idle_timeout,
            timer: None,
        })
    });
    let log = AccessLog::new(&request, &info, None);
    request.extensions_mut().insert(info);
    let aborted = Arc::new(AtomicBool::new(false));
    let transport = Http1Transport {
        head: Some(head_tx),
        data: Some(data_tx),
        aborted: aborted.clone(),
    };
    tokio::spawn(async move {
        let mut writer = ResponseWriter::new(Box::new(transport), &request);
        // Biased: a handler waiting on its request or response is polled
        // first and sees the connection's end as an error, as before; only
        // one still waiting for something else is cancelled.
        tokio::select! {
            biased;
            () = handler.serve(request, &mut writer) => {}
            () = gone.cancelled() => {
                tracing::debug!("the connection ended; cancelling the handler");
            }
        }
        let outcome = writer.finish().await;
        log.finish(&writer, outcome.err(), started);
    });
    match head_rx.await {
        Ok((head, end)) => head.map(|()| ChannelBody {
            rx: (!end).then_some(data_rx),
            aborted,
        }),
        Err(_) => {
            let mut response = Response::new(ChannelBody { rx: None, aborted });
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response
        }
    }
}

/// Serves HTTP/1.1 on `io` with `handler` (keep-alive, pipelining as hyper
/// does), with `config`'s timeouts: the client has `http1_header_timeout`
/// to send a request's head; a body read fails when the client sends
/// nothing for `body_idle_timeout`; the connection ends when a write makes
/// no progress for `driver.write_timeout` (a client that stopped reading).
/// When `shutdown` fires, the connection finishes its current request and
/// closes. A handler still running when the connection has ended (or when
/// this future is dropped) is cancelled.
pub async fn serve_http1<IO, H>(
    io: IO,
    handler: Arc<H>,
    info: ConnectionInfo,
    config: &ServerConfig,
    shutdown: CancellationToken,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Handler,
{
    // Cancelled when this function returns or its future is dropped.
    let gone = CancellationToken::new();
    let _cancel_handlers = gone.clone().drop_guard();
    let body_idle_timeout = config.body_idle_timeout;
    let service = hyper::service::service_fn(move |request| {
        let handler = handler.clone();
        let info = info.clone();
        let gone = gone.clone();
        async move { Ok::<_, Infallible>(answer(handler, request, info, body_idle_timeout, gone).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(config.http1_header_timeout)
        .serve_connection(
            TokioIo::new(WriteStall::new(io, config.driver.write_timeout)),
            service,
        );
    let mut connection = std::pin::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "HTTP/1.1 connection ended with an error");
    }
}
