//! HTTP/1.1 Upgrade to SPDY/3.1, client side: the handshake kubectl uses
//! for `exec`, `attach`, `cp` and `port-forward`, and Docker for its
//! hijacked streams.
//!
//! [`UpgradeRequest::send`] writes the request (`POST` by default, with
//! `Connection: Upgrade`, `Upgrade: SPDY/3.1` and one
//! `X-Stream-Protocol-Version` header per protocol offered) on any
//! connection — plain TCP ([`UpgradeRequest::send_tcp`]), TLS
//! ([`UpgradeRequest::send_tls`]), anything `AsyncRead + AsyncWrite` — checks
//! the `101 Switching Protocols` answer and the protocol the server chose,
//! then runs a SPDY/3.1 session on the same connection as the client.
//!
//! ```no_run
//! use spdy_client::upgrade::UpgradeRequest;
//! use spdy_core::header::HeaderBlock;
//! use spdy_core::session::OpenStream;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let upgraded = UpgradeRequest::new("http://127.0.0.1:8080/tunnel".parse()?)
//!     .protocols(["v1.example.com"])
//!     .send_tcp()
//!     .await?;
//! assert_eq!(upgraded.protocol.as_deref(), Some("v1.example.com"));
//! let mut headers = HeaderBlock::new();
//! headers.push("streamtype", "data");
//! let (mut send, mut recv) = upgraded.session.open_stream(OpenStream::new(headers)).await?;
//! send.send_last("hello".into()).await?;
//! recv.headers().await?; // the peer's SYN_REPLY
//! let echoed = recv.collect(1024).await?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, HOST, HeaderName, HeaderValue, UPGRADE};
use http::{HeaderMap, Method, StatusCode, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use spdy_core::driver::{DriverConfig, SessionHandle, connect};
use spdy_core::session::{CloseReason, Role, SessionConfig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// The `Upgrade` token of SPDY/3.1.
pub const SPDY_31: &str = "SPDY/3.1";
/// The header that carries the application protocols offered (request) and
/// chosen (101 response).
pub const PROTOCOL_VERSION_HEADER: &str = "x-stream-protocol-version";

/// The largest error body read from a server that refused the upgrade.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The session settings for an upgraded connection:
/// [`SessionConfig::spdystream_compatible`] (no flow control, streams opened
/// by either end, no per-stream receive timeout, a high stream limit that
/// spdystream peers, which ignore SETTINGS, do not hit in practice).
pub fn upgraded_session_config() -> SessionConfig {
    SessionConfig::spdystream_compatible()
}

/// Why an upgrade failed.
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    /// The connection could not be made.
    #[error("connecting to {addr} failed: {source}")]
    Connect {
        /// Where we tried to connect.
        addr: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The request is not valid (a URI without host, a bad header).
    #[error("invalid upgrade request: {0}")]
    InvalidRequest(String),
    /// HTTP/1.1 failed (the connection dropped, a malformed response).
    #[error("HTTP/1.1 failed during the upgrade: {0}")]
    Http(#[from] hyper::Error),
    /// The server answered without switching protocols.
    #[error("unable to upgrade connection: the server answered {status}: {body}")]
    Refused {
        /// The status the server answered.
        status: StatusCode,
        /// The response headers.
        headers: Box<HeaderMap>,
        /// The response body (up to 64 KiB), as text.
        body: String,
    },
    /// The 101 named another upgrade than SPDY/3.1.
    #[error("the server switched to {0:?}, not SPDY/3.1")]
    WrongUpgrade(String),
    /// The server chose a protocol we did not offer.
    #[error("the server chose protocol {chosen:?}, which was not offered ({offered:?})")]
    UnexpectedProtocol {
        /// What the server chose.
        chosen: String,
        /// What we offered.
        offered: Vec<String>,
    },
    /// The server did not answer in time.
    #[error("the server did not answer the upgrade within {0:?}")]
    Timeout(Duration),
}

/// An HTTP/1.1 request that upgrades its connection to SPDY/3.1.
#[derive(Clone, Debug)]
pub struct UpgradeRequest {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    protocols: Vec<String>,
    session: SessionConfig,
    driver: DriverConfig,
    timeout: Duration,
}

impl UpgradeRequest {
    /// A `POST` to `uri` (scheme and authority give the `Host` header and
    /// [`send_tcp`](UpgradeRequest::send_tcp)'s address; the path and query
    /// are sent). The session runs with [`upgraded_session_config`]; the
    /// server has 30 s to answer.
    pub fn new(uri: Uri) -> Self {
        UpgradeRequest {
            method: Method::POST,
            uri,
            headers: HeaderMap::new(),
            protocols: Vec::new(),
            session: upgraded_session_config(),
            driver: DriverConfig::default(),
            timeout: Duration::from_secs(30),
        }
    }

    /// Uses another method (kubectl uses `POST`; Docker `POST`; some
    /// servers want `GET`).
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Adds a request header (e.g. `Authorization`).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// The application protocols to offer, most preferred first. With none,
    /// no `X-Stream-Protocol-Version` is sent and any answer is accepted.
    pub fn protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
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

    /// How long the server may take to answer (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The URI.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// Connects over plain TCP to the URI's host and port (80 by default)
    /// and sends the request.
    pub async fn send_tcp(self) -> Result<UpgradedSession, UpgradeError> {
        let authority = self
            .uri
            .authority()
            .ok_or_else(|| UpgradeError::InvalidRequest(format!("{} has no host", self.uri)))?;
        let addr = format!(
            "{}:{}",
            authority.host(),
            authority.port_u16().unwrap_or(80)
        );
        let tcp = tokio::time::timeout(self.timeout, TcpStream::connect(&addr))
            .await
            .map_err(|_| UpgradeError::Timeout(self.timeout))?
            .map_err(|source| UpgradeError::Connect {
                addr: addr.clone(),
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        self.send(tcp).await
    }

    /// Connects over TLS to the URI's host and port (443 by default) with
    /// `config` (e.g. [`tls_config_with_roots`](crate::tls::tls_config_with_roots)
    /// for a cluster's CA) and sends the request. ALPN offers `http/1.1`
    /// only, whatever `config` says: the upgrade is an HTTP/1.1 exchange.
    pub async fn send_tls(
        self,
        config: std::sync::Arc<rustls::ClientConfig>,
    ) -> Result<UpgradedSession, UpgradeError> {
        let authority = self
            .uri
            .authority()
            .ok_or_else(|| UpgradeError::InvalidRequest(format!("{} has no host", self.uri)))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let addr = format!(
            "{}:{}",
            authority.host(),
            authority.port_u16().unwrap_or(443)
        );
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| UpgradeError::InvalidRequest(format!("{host}: {e}")))?;
        let mut config = (*config).clone();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let timeout = self.timeout;
        let tls = tokio::time::timeout(timeout, async {
            let tcp = TcpStream::connect(&addr)
                .await
                .map_err(|source| UpgradeError::Connect {
                    addr: addr.clone(),
                    source,
                })?;
            let _ = tcp.set_nodelay(true);
            tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
                .connect(name, tcp)
                .await
                .map_err(|source| UpgradeError::Connect {
                    addr: addr.clone(),
                    source,
                })
        })
        .await
        .map_err(|_| UpgradeError::Timeout(timeout))??;
        self.send(tls).await
    }

    /// Sends the request on `io` (TCP, TLS, ...), checks the answer and
    /// starts the session; the connection task is spawned.
    pub async fn send<IO>(self, io: IO) -> Result<UpgradedSession, UpgradeError>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let timeout = self.timeout;
        tokio::time::timeout(timeout, self.send_inner(io))
            .await
            .map_err(|_| UpgradeError::Timeout(timeout))?
    }

    fn build(&self) -> Result<http::Request<Empty<Bytes>>, UpgradeError> {
        let path = self
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let mut request = http::Request::builder()
            .method(self.method.clone())
            .uri(path)
            .body(Empty::<Bytes>::new())
            .map_err(|e| UpgradeError::InvalidRequest(e.to_string()))?;
        let headers = request.headers_mut();
        if let Some(authority) = self.uri.authority() {
            let host = HeaderValue::from_str(authority.as_str())
                .map_err(|e| UpgradeError::InvalidRequest(e.to_string()))?;
            headers.insert(HOST, host);
        }
        for (name, value) in &self.headers {
            headers.append(name, value.clone());
        }
        if self.method == Method::POST || self.method == Method::PUT {
            headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(UPGRADE, HeaderValue::from_static(SPDY_31));
        for protocol in &self.protocols {
            let value = HeaderValue::from_str(protocol)
                .map_err(|e| UpgradeError::InvalidRequest(format!("protocol {protocol:?}: {e}")))?;
            headers.append(PROTOCOL_VERSION_HEADER, value);
        }
        Ok(request)
    }

    async fn send_inner<IO>(self, io: IO) -> Result<UpgradedSession, UpgradeError>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let request = self.build()?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(io)).await?;
        let connection = tokio::spawn(connection.with_upgrades());
        let response = sender.send_request(request).await?;
        let status = response.status();
        if status != StatusCode::SWITCHING_PROTOCOLS {
            let headers = Box::new(response.headers().clone());
            let body = read_error_body(response.into_body()).await;
            connection.abort();
            return Err(UpgradeError::Refused {
                status,
                headers,
                body,
            });
        }
        let upgrade = response
            .headers()
            .get(UPGRADE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if !upgrade
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case(SPDY_31))
        {
            connection.abort();
            return Err(UpgradeError::WrongUpgrade(upgrade));
        }
        let chosen = response
            .headers()
            .get(PROTOCOL_VERSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        if let Some(chosen) = &chosen
            && !self.protocols.is_empty()
            && !self.protocols.contains(chosen)
        {
            connection.abort();
            return Err(UpgradeError::UnexpectedProtocol {
                chosen: chosen.clone(),
                offered: self.protocols,
            });
        }
        let upgraded = hyper::upgrade::on(response).await?;
        let (session, task) = connect(
            TokioIo::new(upgraded),
            Role::Client,
            self.session,
            self.driver,
        );
        Ok(UpgradedSession {
            session,
            protocol: chosen,
            task: tokio::spawn(task),
        })
    }
}

async fn read_error_body(mut body: hyper::body::Incoming) -> String {
    let mut out = Vec::new();
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data() {
            let room = MAX_ERROR_BODY - out.len();
            out.extend_from_slice(&data[..data.len().min(room)]);
            if out.len() == MAX_ERROR_BODY {
                break;
            }
        }
    }
    String::from_utf8_lossy(&out).trim().to_owned()
}

/// A SPDY/3.1 session running on an upgraded connection.
#[derive(Debug)]
pub struct UpgradedSession {
    /// The session: open streams, accept the server's, ping, close.
    pub session: SessionHandle,
    /// The protocol the server chose, if it named one.
    pub protocol: Option<String>,
    task: JoinHandle<CloseReason>,
}

impl UpgradedSession {
    /// Waits until the connection task has ended and returns why.
    pub async fn finished(self) -> CloseReason {
        let UpgradedSession { session, task, .. } = self;
        drop(session);
        match task.await {
            Ok(reason) => reason,
            Err(error) => {
                CloseReason::ConnectionLost(format!("the connection task failed: {error}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_what_kubectl_sends() {
        let request = UpgradeRequest::new(
            "http://127.0.0.1:6443/api/v1/namespaces/default/pods/demo/exec?command=ls&stdout=true"
                .parse()
                .unwrap(),
        )
        .protocols(["v5.channel.k8s.io", "v4.channel.k8s.io"])
        .build()
        .unwrap();
        assert_eq!(request.method(), Method::POST);
        assert_eq!(
            request.uri(),
            "/api/v1/namespaces/default/pods/demo/exec?command=ls&stdout=true"
        );
        let h = request.headers();
        assert_eq!(h[HOST], "127.0.0.1:6443");
        assert_eq!(h[CONTENT_LENGTH], "0");
        assert_eq!(h[CONNECTION], "Upgrade");
        assert_eq!(h[UPGRADE], "SPDY/3.1");
        let offered: Vec<_> = h.get_all(PROTOCOL_VERSION_HEADER).iter().collect();
        assert_eq!(offered, ["v5.channel.k8s.io", "v4.channel.k8s.io"]);
    }
}
