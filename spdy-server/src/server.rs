//! [`Server`]: listeners, connections (plain SPDY, TLS with ALPN, the
//! HTTP/1.1 fallback) and graceful shutdown.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use spdy_core::driver;
use spdy_core::session::{CloseReason, Role};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::http1::serve_http1;
use crate::prefixed::Prefixed;
use crate::spdy::serve_session;
use crate::tls::{ALPN_SPDY31, with_alpn};
use crate::{ConnectionInfo, Handler, Protocol, ServerConfig};

/// A source of connections: a TCP listener, or anything else that yields
/// byte streams.
pub trait Listener: Send + 'static {
    /// The connections it yields.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// The next connection and, when known, the peer's address.
    fn accept(&mut self)
    -> impl Future<Output = io::Result<(Self::Io, Option<SocketAddr>)>> + Send;
}

impl Listener for TcpListener {
    type Io = TcpStream;

    async fn accept(&mut self) -> io::Result<(TcpStream, Option<SocketAddr>)> {
        let (socket, peer) = TcpListener::accept(self).await?;
        let _ = socket.set_nodelay(true);
        Ok((socket, Some(peer)))
    }
}

/// Serves a handler over SPDY/3.1 on plain connections, over TLS with ALPN
/// (`spdy/3.1`, or `http/1.1` through hyper), on listeners the caller gives,
/// with graceful shutdown. Cheap to clone.
///
/// ```no_run
/// use spdy_server::{handler_fn, Body, Server, ServerConfig};
/// # async fn run() -> std::io::Result<()> {
/// let server = Server::new(
///     handler_fn(|_request| async { http::Response::new(Body::from("hello\n")) }),
///     ServerConfig::default(),
/// );
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
/// let stopper = server.clone();
/// tokio::spawn(async move {
///     let _ = tokio::signal::ctrl_c().await;
///     stopper.shutdown(std::time::Duration::from_secs(10)).await;
/// });
/// server.serve(listener).await
/// # }
/// ```
pub struct Server<H> {
    inner: Arc<Inner<H>>,
}

impl<H> Clone for Server<H> {
    fn clone(&self) -> Self {
        Server {
            inner: self.inner.clone(),
        }
    }
}

impl<H> std::fmt::Debug for Server<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("tls", &self.inner.tls.is_some())
            .field("connections", &self.inner.tracker.len())
            .finish_non_exhaustive()
    }
}

struct Inner<H> {
    handler: Arc<H>,
    config: ServerConfig,
    tls: Option<tokio_rustls::TlsAcceptor>,
    /// Fired by `shutdown`: stop accepting, GOAWAY every session.
    graceful: CancellationToken,
    /// Fired when the grace period is over: close what is left.
    force: CancellationToken,
    tracker: TaskTracker,
    /// One permit per connection `serve` may hold at once.
    connection_slots: Arc<Semaphore>,
}

impl<H: Handler> Server<H> {
    /// A server of `handler` with `config`.
    pub fn new(handler: impl Into<Arc<H>>, config: ServerConfig) -> Self {
        let config_max_connections = config.max_connections.clamp(1, Semaphore::MAX_PERMITS);
        let tls = config
            .tls
            .as_ref()
            .map(|tls| tokio_rustls::TlsAcceptor::from(with_alpn(tls, config.spdy_only)));
        Server {
            inner: Arc::new(Inner {
                handler: handler.into(),
                config,
                tls,
                graceful: CancellationToken::new(),
                force: CancellationToken::new(),
                tracker: TaskTracker::new(),
                connection_slots: Arc::new(Semaphore::new(config_max_connections)),
            }),
        }
    }

    /// The handler.
    pub fn handler(&self) -> &Arc<H> {
        &self.inner.handler
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// Connections being served.
    pub fn connections(&self) -> usize {
        self.inner.tracker.len()
    }

    /// Accepts connections from `listener` and serves each on its own task,
    /// until [`shutdown`](Server::shutdown); then waits for the connections
    /// to drain. Errors of a single accept (too many open files, a
    /// connection reset before accept) are logged and survived.
    pub async fn serve<L: Listener>(&self, mut listener: L) -> io::Result<()> {
        loop {
            // At `max_connections`, wait for one to end before accepting.
            let slot = tokio::select! {
                slot = self.inner.connection_slots.clone().acquire_owned() => slot,
                _ = self.inner.graceful.cancelled() => break,
            };
            let Ok(slot) = slot else { break };
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = self.inner.graceful.cancelled() => break,
            };
            match accepted {
                Ok((io, peer)) => {
                    let server = self.clone();
                    self.inner.tracker.spawn(async move {
                        server.serve_connection(io, peer).await;
                        drop(slot);
                    });
                }
                Err(error) if is_fatal(&error) => return Err(error),
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    // Out of descriptors: give connections a moment to close.
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                        _ = self.inner.graceful.cancelled() => break,
                    }
                }
            }
        }
        drop(listener);
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
        Ok(())
    }

    /// Serves one connection as configured: TLS with ALPN, or plain SPDY
    /// (sniffing for HTTP/1.1 unless `spdy_only`). Returns when it ends.
    pub async fn serve_connection<IO>(&self, io: IO, peer: Option<SocketAddr>)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let config = &self.inner.config;
        let Some(acceptor) = &self.inner.tls else {
            return self.serve_plain(io, peer).await;
        };
        let stream = match tokio::time::timeout(config.handshake_timeout, acceptor.accept(io)).await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                tracing::debug!(?peer, %error, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(?peer, "TLS handshake timed out");
                return;
            }
        };
        let alpn = stream.get_ref().1.alpn_protocol();
        let spdy = alpn == Some(ALPN_SPDY31) || (alpn.is_none() && config.spdy_only);
        if spdy {
            self.serve_spdy(stream, ConnectionInfo::spdy(peer, true))
                .await;
        } else {
            let info = ConnectionInfo {
                peer_addr: peer,
                protocol: Protocol::Http11,
                tls: true,
            };
            self.serve_http1(stream, info).await;
        }
    }

    async fn serve_plain<IO>(&self, mut io: IO, peer: Option<SocketAddr>)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        if self.inner.config.spdy_only {
            self.serve_spdy(io, ConnectionInfo::spdy(peer, false)).await;
            return;
        }
        // A SPDY control frame starts with the control bit; an HTTP/1.1
        // request with a method name.
        let mut first = BytesMut::with_capacity(1);
        match tokio::time::timeout(self.inner.config.handshake_timeout, io.read_buf(&mut first))
            .await
        {
            Ok(Ok(1..)) => {}
            _ => return,
        }
        let io = Prefixed::new(first.clone().freeze(), io);
        if first[0] & 0x80 != 0 {
            self.serve_spdy(io, ConnectionInfo::spdy(peer, false)).await;
        } else {
            let info = ConnectionInfo {
                peer_addr: peer,
                protocol: Protocol::Http11,
                tls: false,
            };
            self.serve_http1(io, info).await;
        }
    }

    /// Serves SPDY/3.1 on `io` (no TLS, no sniffing); returns why the
    /// session ended.
    pub async fn serve_spdy<IO>(&self, io: IO, info: ConnectionInfo) -> CloseReason
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        run_spdy(
            io,
            Role::Server,
            self.inner.handler.clone(),
            &self.inner.config,
            info,
            self.inner.graceful.clone(),
            self.inner.force.clone(),
        )
        .await
    }

    async fn serve_http1<IO>(&self, io: IO, info: ConnectionInfo)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let connection = serve_http1(
            io,
            self.inner.handler.clone(),
            info,
            &self.inner.config,
            self.inner.graceful.clone(),
        );
        tokio::select! {
            _ = connection => {}
            _ = self.inner.force.cancelled() => {}
        }
    }

    /// Graceful shutdown: listeners stop accepting, every session says
    /// GOAWAY (streams already accepted finish, new ones are refused),
    /// HTTP/1.1 connections close after their current request. After
    /// `grace`, what is left is closed. Returns when every connection is gone.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.graceful.cancel();
        self.inner.tracker.close();
        if tokio::time::timeout(grace, self.inner.tracker.wait())
            .await
            .is_err()
        {
            tracing::info!(
                connections = self.inner.tracker.len(),
                "grace period over; closing the remaining connections"
            );
            self.inner.force.cancel();
            // Closing is immediate; the bound only guards against a stuck IO.
            let _ = tokio::time::timeout(Duration::from_secs(5), self.inner.tracker.wait()).await;
        }
    }

    /// True once [`shutdown`](Server::shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.graceful.is_cancelled()
    }
}

/// Accept errors that end the accept loop (others concern one connection
/// or are temporary).
fn is_fatal(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported | io::ErrorKind::NotConnected
    )
}

/// Runs a session of `role` on `io` serving `handler` until it ends:
/// GOAWAY when `graceful` fires, an immediate close when `force` does.
pub(crate) async fn run_spdy<IO, H>(
    io: IO,
    role: Role,
    handler: Arc<H>,
    config: &ServerConfig,
    info: ConnectionInfo,
    graceful: CancellationToken,
    force: CancellationToken,
) -> CloseReason
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Handler,
{
    let (io, reclaim) = crate::linger::Reclaimable::new(io);
    let (session, connection) =
        driver::connect(io, role, config.session.clone(), config.driver.clone());
    let mut connection = std::pin::pin!(connection);
    let accept = serve_session(
        session.clone(),
        handler,
        info,
        graceful,
        config.body_idle_timeout,
    );
    let mut accept = std::pin::pin!(accept);
    let mut accepting = true;
    let mut forced = false;
    loop {
        tokio::select! {
            reason = connection.as_mut() => {
                tracing::debug!(%reason, "session ended");
                // Let the peer read the end of what we sent before closing,
                // on the side: the session is over for everyone else.
                let force = force.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = reclaim.linger() => {}
                        _ = force.cancelled() => {}
                    }
                });
                return reason;
            }
            _ = accept.as_mut(), if accepting => accepting = false,
            _ = force.cancelled(), if !forced => {
                forced = true;
                session.close();
            }
        }
    }
}

/// Serves `handler` over SPDY/3.1 on `io` with `config`'s session and
/// driver settings (no TLS, no sniffing), until the session ends; returns
/// why it ended. What the conformance harness and tests drive.
pub async fn serve_connection<IO, H>(io: IO, handler: H, config: ServerConfig) -> CloseReason
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Handler,
{
    run_spdy(
        io,
        Role::Server,
        Arc::new(handler),
        &config,
        ConnectionInfo::spdy(None, false),
        CancellationToken::new(),
        CancellationToken::new(),
    )
    .await
}
