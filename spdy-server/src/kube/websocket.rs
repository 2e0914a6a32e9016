//! SPDY/3.1 tunnelled in WebSocket binary messages: what kubectl 1.31+
//! tries first for port-forward, with the subprotocol
//! `SPDY/3.1+portforward.k8s.io`.
//!
//! The SPDY bytes are carried in binary messages cut anywhere;
//! [`WebSocketBytes`] turns the message stream back into a byte stream, so
//! the ordinary session runs on top, unchanged.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use futures_core::Stream;
use futures_sink::Sink;
use http::header::{CONNECTION, HeaderMap, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY};
use http::header::{SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, UPGRADE};
use http::{Response, StatusCode};
use http_body_util::Full;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use spdy_core::driver::DriverConfig;
use spdy_core::session::SessionConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use super::names::WEBSOCKET_SPDY_TUNNEL_PREFIX;
use crate::upgrade::{UpgradeError, UpgradedSession, is_upgrade_to, upgraded_session_config};

/// Largest WebSocket message accepted: far above what a SPDY peer writes
/// at once, and a bound on what one message can make us buffer.
const MAX_MESSAGE: usize = 4 * 1024 * 1024;

/// True when the request asks for a WebSocket (`Connection: Upgrade`,
/// `Upgrade: websocket`).
pub fn is_websocket_request(headers: &HeaderMap) -> bool {
    is_upgrade_to(headers, "websocket")
}

/// The subprotocols offered in `Sec-WebSocket-Protocol`, in order.
pub fn offered_subprotocols(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Why a WebSocket tunnel was not accepted; answered with 400.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TunnelRejection {
    /// Not a WebSocket handshake (or not version 13, or no key).
    #[error("unable to upgrade: not a WebSocket version 13 handshake")]
    NotWebSocket,
    /// No `SPDY/3.1+<protocol>` subprotocol for a supported protocol.
    #[error(
        "unable to upgrade: no supported subprotocol among {offered:?} (this server tunnels {supported:?})"
    )]
    NoSubprotocol {
        /// What the client offered.
        offered: Vec<String>,
        /// What the server would accept.
        supported: Vec<String>,
    },
}

impl TunnelRejection {
    /// A 400 response whose body says why.
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from(format!("{self}\n"))));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }
}

/// Accepts WebSocket handshakes whose subprotocol is
/// `SPDY/3.1+<protocol>` for one of the given protocols, and runs a SPDY
/// session (as the server) inside the WebSocket.
#[derive(Clone, Debug)]
pub struct WebSocketTunnel {
    protocols: Vec<String>,
    session: SessionConfig,
    driver: DriverConfig,
}

impl WebSocketTunnel {
    /// Tunnels for these protocols (e.g. `portforward.k8s.io`), with the
    /// spdystream-compatible session settings of [`upgraded_session_config`].
    pub fn new<I, S>(protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        WebSocketTunnel {
            protocols: protocols.into_iter().map(Into::into).collect(),
            session: upgraded_session_config(),
            driver: DriverConfig::default(),
        }
    }

    /// Replaces the session settings.
    pub fn session_config(mut self, config: SessionConfig) -> Self {
        self.session = config;
        self
    }

    /// Replaces the connection task's settings.
    pub fn driver_config(mut self, config: DriverConfig) -> Self {
        self.driver = config;
        self
    }

    /// Picks the subprotocol: the client's first `SPDY/3.1+<p>` with `p`
    /// supported. Returns the full subprotocol and `p`.
    pub fn negotiate(&self, headers: &HeaderMap) -> Result<(String, String), TunnelRejection> {
        let version_13 = headers
            .get(SEC_WEBSOCKET_VERSION)
            .is_some_and(|v| v.as_bytes() == b"13");
        if !is_websocket_request(headers) || !version_13 || headers.get(SEC_WEBSOCKET_KEY).is_none()
        {
            return Err(TunnelRejection::NotWebSocket);
        }
        let offered = offered_subprotocols(headers);
        offered
            .iter()
            .find_map(|sub| {
                let inner = sub.strip_prefix(WEBSOCKET_SPDY_TUNNEL_PREFIX)?;
                self.protocols
                    .iter()
                    .any(|p| p == inner)
                    .then(|| (sub.clone(), inner.to_owned()))
            })
            .ok_or_else(|| TunnelRejection::NoSubprotocol {
                offered,
                supported: self
                    .protocols
                    .iter()
                    .map(|p| format!("{WEBSOCKET_SPDY_TUNNEL_PREFIX}{p}"))
                    .collect(),
            })
    }

    /// Negotiates and returns the `101` response and the pending tunnel.
    pub fn accept<B>(
        &self,
        request: &mut http::Request<B>,
    ) -> Result<(Response<Full<Bytes>>, PendingTunnel), TunnelRejection> {
        let (subprotocol, protocol) = self.negotiate(request.headers())?;
        let key = request
            .headers()
            .get(SEC_WEBSOCKET_KEY)
            .map(|k| derive_accept_key(k.as_bytes()))
            .ok_or(TunnelRejection::NotWebSocket)?;
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(value) = HeaderValue::from_str(&key) {
            headers.insert(SEC_WEBSOCKET_ACCEPT, value);
        }
        if let Ok(value) = HeaderValue::from_str(&subprotocol) {
            headers.insert(SEC_WEBSOCKET_PROTOCOL, value);
        }
        Ok((
            response,
            PendingTunnel {
                on_upgrade: hyper::upgrade::on(request),
                protocol,
                session: self.session.clone(),
                driver: self.driver.clone(),
            },
        ))
    }
}

/// An accepted WebSocket tunnel waiting for hyper to hand over the connection.
#[must_use = "the session starts only when `session()` is awaited"]
pub struct PendingTunnel {
    on_upgrade: OnUpgrade,
    protocol: String,
    session: SessionConfig,
    driver: DriverConfig,
}

impl std::fmt::Debug for PendingTunnel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingTunnel")
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl PendingTunnel {
    /// The tunnelled protocol (without the `SPDY/3.1+` prefix).
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// Waits for the connection and starts the SPDY session inside the
    /// WebSocket (we are the server; the connection task is spawned).
    pub async fn session(self) -> Result<UpgradedSession, UpgradeError> {
        let upgraded = self.on_upgrade.await?;
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        Ok(UpgradedSession::start(
            WebSocketBytes::new(ws),
            Some(self.protocol),
            self.session,
            self.driver,
        ))
    }
}

/// A byte stream over a WebSocket: each write is one binary message; reads
/// return the payloads of binary messages in order. Pings are answered by
/// the WebSocket layer; a close message or the end of the connection is
/// the end of the stream; a text message is an error.
pub struct WebSocketBytes<S> {
    ws: WebSocketStream<S>,
    pending: Bytes,
    read_done: bool,
}

impl<S> std::fmt::Debug for WebSocketBytes<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketBytes")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

/// Largest message written at once.
const MAX_WRITE: usize = 64 * 1024;

impl<S> WebSocketBytes<S> {
    /// Wraps an established WebSocket.
    pub fn new(ws: WebSocketStream<S>) -> Self {
        WebSocketBytes {
            ws,
            pending: Bytes::new(),
            read_done: false,
        }
    }
}

fn to_io(error: tokio_tungstenite::tungstenite::Error) -> io::Error {
    match error {
        tokio_tungstenite::tungstenite::Error::Io(error) => error,
        other => io::Error::other(other),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WebSocketBytes<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while this.pending.is_empty() {
            if this.read_done {
                return Poll::Ready(Ok(()));
            }
            match ready!(Pin::new(&mut this.ws).poll_next(cx)) {
                Some(Ok(Message::Binary(data))) => this.pending = data,
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Text(_))) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a text message in a SPDY tunnel (binary messages only)",
                    )));
                }
                Some(Ok(Message::Close(_))) | None => this.read_done = true,
                Some(Err(error)) => return Poll::Ready(Err(to_io(error))),
            }
        }
        let n = this.pending.len().min(buf.remaining());
        buf.put_slice(&this.pending[..n]);
        this.pending.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WebSocketBytes<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        ready!(Pin::new(&mut this.ws).poll_ready(cx)).map_err(to_io)?;
        let n = buf.len().min(MAX_WRITE);
        Pin::new(&mut this.ws)
            .start_send(Message::Binary(Bytes::copy_from_slice(&buf[..n])))
            .map_err(to_io)?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().ws)
            .poll_flush(cx)
            .map_err(to_io)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match ready!(Pin::new(&mut self.get_mut().ws).poll_close(cx)) {
            Ok(()) => Poll::Ready(Ok(())),
            // Already closed by the peer: nothing left to say.
            Err(
                tokio_tungstenite::tungstenite::Error::ConnectionClosed
                | tokio_tungstenite::tungstenite::Error::AlreadyClosed,
            ) => Poll::Ready(Ok(())),
            Err(error) => Poll::Ready(Err(to_io(error))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubectl_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        h.insert(UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        h.insert(
            SEC_WEBSOCKET_KEY,
            HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="),
        );
        h.insert(
            SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("SPDY/3.1+portforward.k8s.io"),
        );
        h
    }

    #[test]
    fn the_tunnel_subprotocol_is_chosen() {
        let tunnel = WebSocketTunnel::new(["portforward.k8s.io"]);
        assert_eq!(
            tunnel.negotiate(&kubectl_headers()),
            Ok((
                "SPDY/3.1+portforward.k8s.io".to_owned(),
                "portforward.k8s.io".to_owned()
            ))
        );
    }

    #[test]
    fn other_subprotocols_are_refused() {
        let tunnel = WebSocketTunnel::new(["portforward.k8s.io"]);
        let mut h = kubectl_headers();
        h.insert(
            SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("v5.channel.k8s.io"),
        );
        let rejection = tunnel.negotiate(&h).unwrap_err();
        assert!(matches!(rejection, TunnelRejection::NoSubprotocol { .. }));
        assert_eq!(rejection.into_response().status(), StatusCode::BAD_REQUEST);
        h.remove(SEC_WEBSOCKET_KEY);
        assert_eq!(tunnel.negotiate(&h), Err(TunnelRejection::NotWebSocket));
    }
}
