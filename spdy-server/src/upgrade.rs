//! HTTP/1.1 Upgrade to SPDY/3.1, server side: the handshake Kubernetes
//! (kubectl, the API server, the kubelet) and Docker use to turn one HTTP/1.1
//! request into a SPDY/3.1 session on the same connection.
//!
//! The client sends `Connection: Upgrade`, `Upgrade: SPDY/3.1` and the
//! application protocols it speaks in `X-Stream-Protocol-Version` (one header
//! per value, in order of preference). [`SpdyUpgrade::accept`] picks the
//! first protocol of the client's that the server supports, answers
//! `101 Switching Protocols` naming it, and once hyper hands over the
//! connection runs a SPDY/3.1 session on it as the server. A request that
//! cannot be upgraded gets an error response with a body that says why:
//! 400 when the upgrade headers or the protocol offer are missing, 403
//! (with `X-Accepted-Stream-Protocol-Versions`) when no protocol is common.
//!
//! The hyper connection must be served with upgrades enabled
//! (`http1::Builder::serve_connection(io, service).with_upgrades()`).
//!
//! # Raw bidirectional streams
//!
//! The session on an upgraded connection carries streams as Go spdystream
//! offers them, with no HTTP meaning: a stream has whatever headers its
//! opener gives it (`streamtype: stdout`, `port: 8080`, ...), data flows
//! both ways, and either end may open streams:
//!
//! - open: [`SessionHandle::open_stream`] (we are the server, so our
//!   streams have even ids; the peer must accept server-opened streams, as
//!   spdystream does); accept: [`SessionHandle::accept`], then
//!   `IncomingStream::reply` (or `refuse`);
//! - half-close: `SendStream::finish` (FIN); the other direction goes on;
//! - reset: `SendStream::reset` (RST_STREAM) — a dropped unfinished
//!   `SendStream` resets too, so finish write-only streams explicitly;
//! - ping: [`SessionHandle::ping`];
//! - shutdown: [`SessionHandle::close`], or drop every handle.
//!
//! The session runs without flow control ([`upgraded_session_config`]):
//! spdystream never sends WINDOW_UPDATE, so a window would stall after
//! 64 KiB. TCP back-pressure and the driver's receive buffer bound (see
//! `DriverConfig::max_buffered_recv`) still bound memory.
//!
//! ```no_run
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http_body_util::Full;
//! use hyper::body::Incoming;
//! use spdy_server::upgrade::SpdyUpgrade;
//!
//! async fn handle(mut request: hyper::Request<Incoming>) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
//!     let upgrade = SpdyUpgrade::new(["v1.example.com"]);
//!     match upgrade.accept(&mut request) {
//!         Ok((response, pending)) => {
//!             tokio::spawn(async move {
//!                 let Ok(upgraded) = pending.session().await else { return };
//!                 // Raw bidirectional streams: echo each one.
//!                 while let Some(incoming) = upgraded.session.accept().await {
//!                     let Ok((mut send, mut recv)) = incoming.reply(Default::default(), false) else { continue };
//!                     tokio::spawn(async move {
//!                         while let Some(Ok(chunk)) = recv.data().await {
//!                             if send.send_data(chunk).await.is_err() { return; }
//!                         }
//!                         let _ = send.finish().await;
//!                     });
//!                 }
//!             });
//!             Ok(response)
//!         }
//!         Err(rejection) => Ok(rejection.into_response()),
//!     }
//! }
//! ```

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_TYPE, HeaderMap, HeaderValue, UPGRADE};
use http::{Response, StatusCode};
use http_body_util::Full;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use spdy_core::driver::{DriverConfig, SessionHandle, connect};
use spdy_core::session::{CloseReason, Role, SessionConfig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;

/// The `Upgrade` token of SPDY/3.1.
pub const SPDY_31: &str = "SPDY/3.1";
/// The header that carries the application protocols offered (request) and
/// chosen (101 response).
pub const PROTOCOL_VERSION_HEADER: &str = "x-stream-protocol-version";
/// The header that lists the protocols a server accepts, sent when none of
/// the client's was acceptable.
pub const ACCEPTED_PROTOCOL_VERSIONS_HEADER: &str = "x-accepted-stream-protocol-versions";

/// The session settings for an upgraded connection (the client role's, the
/// same for both ends): Go spdystream compatible.
pub use spdy_client::upgrade::upgraded_session_config;

/// Why a request was not upgraded; [`into_response`](UpgradeRejection::into_response)
/// gives the answer to send.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UpgradeRejection {
    /// `Connection: Upgrade` and `Upgrade: SPDY/3.1` are not both present.
    #[error("unable to upgrade: the request lacks Connection: Upgrade and Upgrade: SPDY/3.1")]
    NotAnUpgrade,
    /// The client offered no application protocol.
    #[error("unable to upgrade: {PROTOCOL_VERSION_HEADER} is required")]
    NoProtocolOffered,
    /// None of the client's protocols is supported.
    #[error(
        "unable to upgrade: unable to negotiate protocol: client supports {offered:?}, server accepts {supported:?}"
    )]
    NoCommonProtocol {
        /// What the client offered.
        offered: Vec<String>,
        /// What the server supports.
        supported: Vec<String>,
    },
}

impl UpgradeRejection {
    /// The HTTP status for the rejection: 403 when no protocol is common,
    /// 400 otherwise (as the Kubernetes API server answers).
    pub fn status(&self) -> StatusCode {
        match self {
            UpgradeRejection::NoCommonProtocol { .. } => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The error response: the status, a plain-text body saying why, and
    /// for [`NoCommonProtocol`](UpgradeRejection::NoCommonProtocol) the
    /// accepted protocols in `X-Accepted-Stream-Protocol-Versions`.
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from(format!("{self}\n"))));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if let UpgradeRejection::NoCommonProtocol { supported, .. } = &self {
            for protocol in supported {
                if let Ok(value) = HeaderValue::from_str(protocol) {
                    headers.append(ACCEPTED_PROTOCOL_VERSIONS_HEADER, value);
                }
            }
        }
        response
    }
}

/// The upgrade could not be completed after the 101 was sent.
#[derive(Debug, thiserror::Error)]
#[error("the HTTP upgrade did not complete: {0}")]
pub struct UpgradeError(#[from] pub hyper::Error);

/// True when `headers` ask for an upgrade to `protocol` (`Connection`
/// naming `Upgrade` and `Upgrade` naming `protocol`, both case-insensitive
/// and in comma-separated lists).
pub fn is_upgrade_to(headers: &HeaderMap, protocol: &str) -> bool {
    let lists = |name| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>()
    };
    lists(CONNECTION)
        .iter()
        .any(|t| t.eq_ignore_ascii_case("upgrade"))
        && lists(UPGRADE)
            .iter()
            .any(|t| t.eq_ignore_ascii_case(protocol))
}

/// The protocols offered in `X-Stream-Protocol-Version`, in the client's
/// order (repeated headers, and comma-separated values, are both read).
pub fn offered_protocols(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(PROTOCOL_VERSION_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Accepts HTTP/1.1 upgrades to SPDY/3.1 for a set of application
/// protocols. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SpdyUpgrade {
    protocols: Vec<String>,
    session: SessionConfig,
    driver: DriverConfig,
}

impl SpdyUpgrade {
    /// Accepts upgrades for `protocols`, in the server's terms; the client's
    /// order of preference decides among them. With no protocols, no
    /// `X-Stream-Protocol-Version` is required or answered.
    ///
    /// The session runs with [`upgraded_session_config`]: the peers of this
    /// handshake are Go spdystream programs that do no flow control.
    pub fn new<I, S>(protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        SpdyUpgrade {
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

    /// The protocols this server accepts.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// Checks the upgrade headers and picks the protocol: `Ok(None)` when
    /// the server names no protocols.
    pub fn negotiate(&self, headers: &HeaderMap) -> Result<Option<String>, UpgradeRejection> {
        if !is_upgrade_to(headers, SPDY_31) {
            return Err(UpgradeRejection::NotAnUpgrade);
        }
        if self.protocols.is_empty() {
            return Ok(None);
        }
        let offered = offered_protocols(headers);
        if offered.is_empty() {
            return Err(UpgradeRejection::NoProtocolOffered);
        }
        match offered.iter().find(|p| self.protocols.contains(p)) {
            Some(chosen) => Ok(Some(chosen.clone())),
            None => Err(UpgradeRejection::NoCommonProtocol {
                offered,
                supported: self.protocols.clone(),
            }),
        }
    }

    /// Negotiates, and on success returns the `101 Switching Protocols`
    /// response to send and the pending session, which starts once hyper
    /// has sent the response and handed over the connection.
    pub fn accept<B>(
        &self,
        request: &mut http::Request<B>,
    ) -> Result<(Response<Full<Bytes>>, PendingUpgrade), UpgradeRejection> {
        let protocol = self.negotiate(request.headers())?;
        let on_upgrade = hyper::upgrade::on(request);
        Ok((
            switching_protocols(SPDY_31, protocol.as_deref()),
            PendingUpgrade {
                on_upgrade,
                protocol,
                session: self.session.clone(),
                driver: self.driver.clone(),
            },
        ))
    }
}

/// A `101 Switching Protocols` response to `upgrade`, naming `protocol` in
/// `X-Stream-Protocol-Version` when there is one.
pub fn switching_protocols(upgrade: &'static str, protocol: Option<&str>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static(upgrade));
    if let Some(value) = protocol.and_then(|p| HeaderValue::from_str(p).ok()) {
        headers.insert(PROTOCOL_VERSION_HEADER, value);
    }
    response
}

/// An accepted upgrade waiting for hyper to hand over the connection.
#[must_use = "the session starts only when `session()` is awaited"]
pub struct PendingUpgrade {
    on_upgrade: OnUpgrade,
    protocol: Option<String>,
    session: SessionConfig,
    driver: DriverConfig,
}

impl std::fmt::Debug for PendingUpgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingUpgrade")
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl PendingUpgrade {
    /// The protocol chosen.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Waits for the upgraded connection and starts the SPDY/3.1 session
    /// on it (we are the server; the connection task is spawned).
    pub async fn session(self) -> Result<UpgradedSession, UpgradeError> {
        let upgraded = self.on_upgrade.await?;
        Ok(UpgradedSession::start(
            TokioIo::new(upgraded),
            self.protocol,
            self.session,
            self.driver,
        ))
    }
}

/// A SPDY/3.1 session running on an upgraded connection.
#[derive(Debug)]
pub struct UpgradedSession {
    /// The session: accept the peer's streams, open our own, ping, close.
    pub session: SessionHandle,
    /// The application protocol chosen in the handshake.
    pub protocol: Option<String>,
    task: JoinHandle<CloseReason>,
}

impl UpgradedSession {
    /// Runs a server-side session over any connection (an upgraded one, a
    /// WebSocket tunnel); the connection task is spawned.
    pub fn start<IO>(
        io: IO,
        protocol: Option<String>,
        session: SessionConfig,
        driver: DriverConfig,
    ) -> Self
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (handle, connection) = connect(io, Role::Server, session, driver);
        UpgradedSession {
            session: handle,
            protocol,
            task: tokio::spawn(connection),
        }
    }

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

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    const KUBECTL: &[(&str, &str)] = &[
        ("Connection", "Upgrade"),
        ("Upgrade", "SPDY/3.1"),
        ("X-Stream-Protocol-Version", "v5.channel.k8s.io"),
        ("X-Stream-Protocol-Version", "v4.channel.k8s.io"),
        ("X-Stream-Protocol-Version", "v3.channel.k8s.io"),
        ("X-Stream-Protocol-Version", "v2.channel.k8s.io"),
        ("X-Stream-Protocol-Version", "channel.k8s.io"),
    ];

    #[test]
    fn the_clients_preference_wins_among_supported_protocols() {
        let upgrade = SpdyUpgrade::new(["channel.k8s.io", "v4.channel.k8s.io"]);
        assert_eq!(
            upgrade.negotiate(&headers(KUBECTL)),
            Ok(Some("v4.channel.k8s.io".to_owned()))
        );
    }

    #[test]
    fn comma_separated_offers_and_header_case_are_accepted() {
        let upgrade = SpdyUpgrade::new(["b"]);
        let h = headers(&[
            ("connection", "keep-alive, upgrade"),
            ("upgrade", "spdy/3.1"),
            ("x-stream-protocol-version", "a, b"),
        ]);
        assert_eq!(upgrade.negotiate(&h), Ok(Some("b".to_owned())));
    }

    #[test]
    fn rejections_say_why_with_the_status_kubernetes_uses() {
        let upgrade = SpdyUpgrade::new(["portforward.k8s.io"]);
        let not_upgrade = upgrade.negotiate(&headers(&[("Upgrade", "websocket")]));
        assert_eq!(not_upgrade, Err(UpgradeRejection::NotAnUpgrade));
        let none = upgrade.negotiate(&headers(&[
            ("Connection", "Upgrade"),
            ("Upgrade", "SPDY/3.1"),
        ]));
        assert_eq!(none, Err(UpgradeRejection::NoProtocolOffered));
        assert_eq!(none.unwrap_err().status(), StatusCode::BAD_REQUEST);

        let rejection = upgrade.negotiate(&headers(KUBECTL)).unwrap_err();
        assert_eq!(rejection.status(), StatusCode::FORBIDDEN);
        let response = rejection.into_response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let accepted: Vec<_> = response
            .headers()
            .get_all(ACCEPTED_PROTOCOL_VERSIONS_HEADER)
            .iter()
            .collect();
        assert_eq!(accepted, ["portforward.k8s.io"]);
    }

    #[test]
    fn no_protocols_means_no_negotiation() {
        let upgrade = SpdyUpgrade::new(Vec::<String>::new());
        let h = headers(&[("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1")]);
        assert_eq!(upgrade.negotiate(&h), Ok(None));
        let response = switching_protocols(SPDY_31, None);
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert!(response.headers().get(PROTOCOL_VERSION_HEADER).is_none());
    }
}
