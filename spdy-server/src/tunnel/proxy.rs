//! The proxy half: origin sessions in, HTTP/1.1 requests forwarded.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use spdy_client::{Body, Client, ClientConfig};
use spdy_core::driver;
use spdy_core::frame::RstStatus;
use spdy_core::session::{CloseReason, Role};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::ServerConfig;
use crate::write_stall::WriteStall;

/// Forwards `request` over `client`'s session and returns the response,
/// its body streaming from the stream. Failures become 502 (or 503 when
/// the origin refused the stream without processing it); headers too large
/// for the session's header block limit, 431, without being sent: the
/// origin would end the whole session on them.
pub async fn forward(client: &Client, request: Request<Body>) -> Response<Body> {
    match client.send(request).await {
        Ok(response) => response.map(Body::from),
        Err(error @ spdy_client::Error::HeadersTooLarge { .. }) => {
            tracing::debug!(%error, "not forwarded");
            error_response(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "the request headers are too large\n",
            )
        }
        Err(error) => {
            tracing::debug!(%error, "forwarding failed");
            let status = if error.is_retryable() {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::BAD_GATEWAY
            };
            error_response(status, "the origin did not answer\n")
        }
    }
}

fn error_response(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
}

/// The public side of the reverse tunnel. It holds the latest origin
/// session; HTTP/1.1 requests go to it (503 while none is connected).
/// Cheap to clone.
#[derive(Clone)]
pub struct TunnelProxy {
    config: ServerConfig,
    origin: Arc<Mutex<Option<Client>>>,
    connected: watch::Sender<bool>,
}

impl std::fmt::Debug for TunnelProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunnelProxy")
            .field("has_origin", &self.has_origin())
            .finish_non_exhaustive()
    }
}

impl TunnelProxy {
    /// A proxy; `config` sets the origin sessions' limits and the HTTP/1.1
    /// header timeout.
    pub fn new(config: ServerConfig) -> Self {
        TunnelProxy {
            config,
            origin: Arc::new(Mutex::new(None)),
            connected: watch::channel(false).0,
        }
    }

    fn current(&self) -> Option<Client> {
        self.origin
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .filter(Client::is_open)
    }

    /// True while an origin session is up.
    pub fn has_origin(&self) -> bool {
        self.current().is_some()
    }

    /// Waits until an origin session is up.
    pub async fn wait_for_origin(&self) {
        let mut rx = self.connected.subscribe();
        let _ = rx.wait_for(|up| *up).await;
    }

    /// Runs an origin's session on `io` (a connection the origin dialled),
    /// making it the one requests go to, until it ends.
    pub async fn serve_origin<IO>(&self, io: IO) -> CloseReason
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let session_config = super::tunnel_session_config(&self.config.session);
        let (session, connection) = driver::connect(
            io,
            Role::Server,
            session_config.clone(),
            self.config.driver.clone(),
        );
        let client = Client::from_session(
            session.clone(),
            ClientConfig {
                session: session_config,
                driver: self.config.driver.clone(),
                ..ClientConfig::default()
            },
        );
        *self.origin.lock().unwrap_or_else(|p| p.into_inner()) = Some(client);
        self.connected.send_replace(true);
        tracing::info!("tunnel origin connected");
        // The origin serves; it has nothing to ask of us.
        let refuser = {
            let session = session.clone();
            tokio::spawn(async move {
                while let Some(incoming) = session.accept().await {
                    incoming.refuse(RstStatus::RefusedStream);
                }
            })
        };
        drop(session);
        let reason = connection.await;
        refuser.abort();
        tracing::info!(%reason, "tunnel origin disconnected");
        let mut origin = self.origin.lock().unwrap_or_else(|p| p.into_inner());
        if origin.as_ref().is_some_and(|c| !c.is_open()) {
            *origin = None;
            self.connected.send_replace(false);
        }
        reason
    }

    /// Serves one HTTP/1.1 connection, forwarding each request to the
    /// origin. A client that takes no response bytes for the
    /// configuration's `driver.write_timeout` is let go (its stream reset).
    pub async fn serve_http1<IO>(&self, io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let proxy = self.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let proxy = proxy.clone();
            async move {
                let response = match proxy.current() {
                    Some(client) => forward(&client, request.map(Body::new)).await,
                    None => {
                        error_response(StatusCode::SERVICE_UNAVAILABLE, "no origin is connected\n")
                    }
                };
                Ok::<_, Infallible>(response)
            }
        });
        let result = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(self.config.http1_header_timeout)
            .serve_connection(
                TokioIo::new(WriteStall::new(io, self.config.driver.write_timeout)),
                service,
            )
            .await;
        if let Err(error) = result {
            tracing::debug!(%error, "HTTP/1.1 client connection ended with an error");
        }
    }

    /// Accepts origins on `origins` and HTTP/1.1 clients on `public`, each
    /// connection on its own task. Failed accepts (out of descriptors, a
    /// connection reset early) are logged and survived.
    pub async fn run(&self, origins: TcpListener, public: TcpListener) {
        // Both listeners share the config's `max_connections`: at the limit
        // new connections wait in the backlog.
        let slots = Arc::new(Semaphore::new(
            self.config.max_connections.clamp(1, Semaphore::MAX_PERMITS),
        ));
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let (accepted, origin) = tokio::select! {
                accepted = origins.accept() => (accepted, true),
                accepted = public.accept() => (accepted, false),
            };
            let socket = match accepted {
                Ok((socket, _)) => socket,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    // Give connections a moment to close before trying again.
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = socket.set_nodelay(true);
            let proxy = self.clone();
            if origin {
                tokio::spawn(async move {
                    proxy.serve_origin(socket).await;
                    drop(slot);
                });
            } else {
                tokio::spawn(async move {
                    proxy.serve_http1(socket).await;
                    drop(slot);
                });
            }
        }
    }
}
