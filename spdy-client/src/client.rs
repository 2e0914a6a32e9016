//! [`Client`]: HTTP requests over one SPDY/3.1 session.

use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use http_body::Body as _;
use http_body_util::BodyExt;
use spdy_core::driver::{self, SendStream, SessionHandle};
use spdy_core::frame::{GoAwayStatus, Priority, RstStatus, StreamId};
use spdy_core::header::{block_to_response, request_to_block};
use spdy_core::session::{CloseReason, OpenStream, Role};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

use crate::push::{PushedResponse, accept_loop};
use crate::{Body, ClientConfig, Error, RecvBody, hop_by_hop};

/// The SPDY priority of a request (0 highest, 7 lowest; default 3): put it
/// in the request's extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestPriority(pub Priority);

/// A client on one SPDY/3.1 session. Cheap to clone; every clone sends on
/// the same session, so many requests run concurrently as streams. When the
/// last clone is dropped the session says GOAWAY once its streams finish.
///
/// ```
/// use spdy_client::{Body, Client, ClientConfig};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // A SPDY server on the other end of an in-memory pipe (spdy-server does this for real).
/// let (ours, theirs) = tokio::io::duplex(64 * 1024);
/// let (server, connection) = spdy_client::core::driver::connect(
///     theirs,
///     spdy_client::core::session::Role::Server,
///     Default::default(),
///     Default::default(),
/// );
/// tokio::spawn(connection);
/// tokio::spawn(async move {
///     let incoming = server.accept().await.unwrap();
///     let mut reply = spdy_client::core::header::HeaderBlock::new();
///     reply.push(":status", "200 OK");
///     reply.push(":version", "HTTP/1.1");
///     let (mut send, _recv) = incoming.reply(reply, false).unwrap();
///     send.send_last("hello".into()).await.unwrap();
/// });
///
/// let client = Client::new(ours, ClientConfig::default());
/// let request = http::Request::get("http://example.test/").body(Body::empty()).unwrap();
/// let mut response = client.send(request).await.unwrap();
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.body_mut().bytes(1024).await.unwrap(), "hello");
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    session: SessionHandle,
    config: ClientConfig,
    scheme: &'static str,
    pushes: Option<Mutex<mpsc::Receiver<PushedResponse>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Client {
    /// Starts a client session over `io` (plain SPDY/3.1, prior knowledge).
    /// The connection runs on a spawned task; call inside a tokio runtime.
    pub fn new<IO>(io: IO, config: ClientConfig) -> Client
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        Client::start(io, config, "http")
    }

    /// Like [`Client::new`] over a TLS connection: requests without a scheme
    /// say `:scheme: https`.
    pub fn new_tls<IO>(io: IO, config: ClientConfig) -> Client
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        Client::start(io, config, "https")
    }

    fn start<IO>(io: IO, mut config: ClientConfig, scheme: &'static str) -> Client
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        config.session.accept_push = config.max_pending_pushes > 0;
        let (session, connection) = driver::connect(
            io,
            Role::Client,
            config.session.clone(),
            config.driver.clone(),
        );
        // Not aborted with the client: once the last handle is gone the
        // connection task says GOAWAY, lets open streams finish, and ends.
        tokio::spawn(async move {
            let reason = connection.await;
            tracing::debug!(%reason, "client session ended");
        });
        let (tx, rx) = match config.max_pending_pushes {
            0 => (None, None),
            n => {
                let (tx, rx) = mpsc::channel(n);
                (Some(tx), Some(Mutex::new(rx)))
            }
        };
        let acceptor = tokio::spawn(accept_loop(
            session.clone(),
            tx,
            config.response_timeout,
            config.body_idle_timeout,
        ));
        Client {
            inner: Arc::new(Inner {
                session,
                config,
                scheme,
                pushes: rx,
                tasks: vec![acceptor],
            }),
        }
    }

    /// A client sending requests on a session someone else runs and accepts
    /// on, whatever its role: the reverse-tunnel proxy sends requests on the
    /// session its origin dialled in.
    pub fn from_session(session: SessionHandle, config: ClientConfig) -> Client {
        Client {
            inner: Arc::new(Inner {
                session,
                config,
                scheme: "http",
                pushes: None,
                tasks: Vec::new(),
            }),
        }
    }

    /// The underlying session.
    pub fn session(&self) -> &SessionHandle {
        &self.inner.session
    }

    /// Sends a request and waits for the response head; the response body
    /// streams as it arrives. The request body streams concurrently, under
    /// flow control. A request whose header block exceeds the session's
    /// `max_header_block_size` is refused ([`Error::HeadersTooLarge`]).
    pub async fn send(&self, request: Request<Body>) -> Result<Response<RecvBody>, Error> {
        let (mut parts, body) = request.into_parts();
        hop_by_hop::strip(&mut parts.headers);
        let priority = parts
            .extensions
            .get::<RequestPriority>()
            .map_or(Priority::new(3), |p| p.0);
        if parts.uri.authority().is_none() && !parts.headers.contains_key(http::header::HOST) {
            let authority = self.inner.config.authority.as_deref().ok_or_else(|| {
                Error::InvalidRequest(format!(
                    "{} has no authority and the request no Host header",
                    parts.uri
                ))
            })?;
            let value = http::HeaderValue::from_str(authority)
                .map_err(|_| Error::InvalidRequest(format!("invalid authority {authority:?}")))?;
            parts.headers.insert(http::header::HOST, value);
        }
        let head = Request::from_parts(parts, ());
        let method = head.method().clone();
        let block = request_to_block(&head, self.inner.scheme);
        let (size, limit) = (
            block.encoded_len(),
            self.inner.config.session.max_header_block_size,
        );
        if size > limit {
            return Err(Error::HeadersTooLarge { size, limit });
        }
        let end = body.is_end_stream();
        let open = OpenStream::new(block).fin(end).priority(priority);
        let (send, mut recv) = self
            .inner
            .session
            .open_stream(open)
            .await
            .map_err(Error::NotSent)?;
        let id = recv.id();
        let pump = (!end).then(|| tokio::spawn(pump_body(body, send)));
        let abort = AbortOnDrop(pump);
        let head = tokio::time::timeout(self.inner.config.response_timeout, recv.headers())
            .await
            .map_err(|_| Error::Timeout("the response headers"))??
            .ok_or(Error::NoReply(id))?;
        let response = match block_to_response(&head) {
            Ok(response) => response,
            Err(source) => {
                // Not an HTTP response: a protocol error on the stream.
                recv.reset(RstStatus::ProtocolError);
                return Err(Error::InvalidResponse {
                    stream_id: id,
                    source,
                });
            }
        };
        // The request body keeps streaming after the response head.
        abort.disarm();
        let length = crate::body_length::response_body_length(&method, &response);
        let idle = self.inner.config.body_idle_timeout;
        let mut response =
            response.map(|()| RecvBody::new(recv, length, false).with_idle_timeout(idle));
        response.extensions_mut().insert(id);
        Ok(response)
    }

    /// Sends a PING and waits up to `timeout` for its answer: the round trip.
    pub async fn ping(&self, timeout: Duration) -> Result<Duration, Error> {
        Ok(self.inner.session.ping(timeout).await?)
    }

    /// The next response the server pushed; `None` when push is off
    /// ([`ClientConfig::max_pending_pushes`] is 0) or the session ended.
    pub async fn next_push(&self) -> Option<PushedResponse> {
        let pushes = self.inner.pushes.as_ref()?;
        let mut pushes = pushes.lock().await;
        tokio::select! {
            push = pushes.recv() => push,
            _ = self.inner.session.closed() => pushes.try_recv().ok(),
        }
    }

    /// Graceful close: GOAWAY, then the open streams finish, then the
    /// session ends; gives up and closes at once after `deadline`.
    pub async fn close(&self, deadline: Duration) -> CloseReason {
        self.inner.session.goaway(GoAwayStatus::Ok);
        match tokio::time::timeout(deadline, self.inner.session.closed()).await {
            Ok(reason) => reason,
            Err(_) => {
                self.inner.session.close();
                self.inner.session.closed().await
            }
        }
    }

    /// Waits until the session has ended and returns why.
    pub async fn closed(&self) -> CloseReason {
        self.inner.session.closed().await
    }

    /// True while new requests can be sent (no GOAWAY, session up).
    pub fn is_open(&self) -> bool {
        self.inner.session.close_reason().is_none()
    }
}

/// Aborts the body pump unless disarmed (the request failed before a reply).
struct AbortOnDrop(Option<JoinHandle<()>>);

impl AbortOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// Streams a request body onto its stream; a failing body resets the stream.
async fn pump_body(mut body: Body, mut send: SendStream) {
    loop {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data()
                    && !data.is_empty()
                    && let Err(error) = send.send_data(data).await
                {
                    tracing::debug!(stream = %send.id(), %error, "request body not sent");
                    return;
                }
            }
            Some(Err(error)) => {
                tracing::debug!(stream = %send.id(), %error, "request body failed; resetting");
                send.reset(RstStatus::InternalError);
                return;
            }
            None => {
                if let Err(error) = send.finish().await {
                    tracing::debug!(stream = %send.id(), %error, "request body not finished");
                }
                return;
            }
        }
    }
}

/// The stream id a response arrived on (in the response's extensions).
pub fn response_stream_id<B>(response: &Response<B>) -> Option<StreamId> {
    response.extensions().get::<StreamId>().copied()
}
