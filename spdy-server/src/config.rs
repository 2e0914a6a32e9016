//! [`ServerConfig`]: the server's settings.

use std::sync::Arc;
use std::time::Duration;

use spdy_core::driver::DriverConfig;
use spdy_core::session::SessionConfig;

/// Settings of a [`Server`](crate::Server), with defaults for a server on
/// the open internet.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The SPDY session's settings (windows, limits, timeouts).
    pub session: SessionConfig,
    /// The connection task's settings. Its `write_timeout` also bounds
    /// how long an HTTP/1.1 connection's writes may make no progress.
    pub driver: DriverConfig,
    /// TLS: when set, connections start with a TLS handshake whose ALPN
    /// offers `spdy/3.1` and (unless `spdy_only`) `http/1.1`. rustls has no
    /// NPN; ALPN replaces it. The configuration's own ALPN list is replaced.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Speak SPDY/3.1 only: over TLS offer only `spdy/3.1` (and serve SPDY
    /// when the client names no protocol); over plain TCP, do not sniff for
    /// HTTP/1.1. Default false.
    pub spdy_only: bool,
    /// How long a TLS handshake (or, on plain TCP, the first byte) may take.
    /// Default 10 s.
    pub handshake_timeout: Duration,
    /// How long an HTTP/1.1 client may take to send a request's headers.
    /// Default 30 s.
    pub http1_header_timeout: Duration,
    /// How long reading a request body may wait for the client's next
    /// bytes before it fails (on SPDY the stream is reset; on HTTP/1.1 the
    /// connection is not reused). A handler that pauses is not timed.
    /// Default 60 s; `None` waits for ever.
    pub body_idle_timeout: Option<Duration>,
    /// Connections [`Server::serve`](crate::Server::serve) serves at once.
    /// At the limit it stops accepting: new clients wait in the kernel's
    /// backlog until a connection ends, instead of the server running out
    /// of file descriptors or memory (each SPDY connection may hold up to
    /// its streams' send buffers). Default 4,096; raise the process's
    /// descriptor limit (`ulimit -n`, often 1,024) to match.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            session: SessionConfig::default(),
            driver: DriverConfig::default(),
            tls: None,
            spdy_only: false,
            handshake_timeout: Duration::from_secs(10),
            http1_header_timeout: Duration::from_secs(30),
            body_idle_timeout: Some(Duration::from_secs(60)),
            max_connections: 4096,
        }
    }
}

impl ServerConfig {
    /// Serves TLS with `tls` (ALPN `spdy/3.1`, `http/1.1`).
    pub fn with_tls(mut self, tls: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// SPDY/3.1 only; see [`ServerConfig::spdy_only`].
    pub fn spdy_only(mut self, spdy_only: bool) -> Self {
        self.spdy_only = spdy_only;
        self
    }
}
