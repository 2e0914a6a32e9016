//! [`ClientConfig`]: the client's settings.

use std::time::Duration;

use spdy_core::driver::DriverConfig;
use spdy_core::session::SessionConfig;

/// Settings of a [`Client`](crate::Client), with defaults for a client on
/// the open internet.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The session's settings (windows, limits, timeouts). The default
    /// turns the session's per-stream receive timeout off: the client's own
    /// `response_timeout` and `body_idle_timeout` say how long a request
    /// may wait, so a long poll is not cut at the session's 60 s.
    pub session: SessionConfig,
    /// The connection task's settings.
    pub driver: DriverConfig,
    /// How long to wait for the peer's SYN_REPLY. Default 60 s.
    pub response_timeout: Duration,
    /// How long reading a response body (pushed ones too) may wait for the
    /// server's next bytes before it fails (a reader that pauses is not
    /// timed). Default 120 s; `None` waits for ever.
    pub body_idle_timeout: Option<Duration>,
    /// How long connecting (TCP and TLS) may take. Default 30 s.
    pub connect_timeout: Duration,
    /// Accept server push: pushed responses wait (up to this many) for
    /// [`Client::next_push`](crate::Client::next_push); more, or any push
    /// when 0, are refused with REFUSED_STREAM. Default 0 (refuse).
    pub max_pending_pushes: usize,
    /// The `:host` sent when a request's URI has no authority and it has no
    /// `Host` header. [`Client::connect`](crate::Client::connect) and
    /// [`Client::connect_tls`](crate::Client::connect_tls) set it from the
    /// address or server name when unset. Default none: such requests fail.
    pub authority: Option<String>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            session: SessionConfig {
                stream_receive_timeout: None,
                ..SessionConfig::default()
            },
            driver: DriverConfig::default(),
            response_timeout: Duration::from_secs(60),
            body_idle_timeout: Some(Duration::from_secs(120)),
            connect_timeout: Duration::from_secs(30),
            max_pending_pushes: 0,
            authority: None,
        }
    }
}

impl ClientConfig {
    /// Sets [`ClientConfig::authority`].
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = Some(authority.into());
        self
    }

    /// Accept up to `n` pending pushed responses (0 refuses push).
    pub fn accept_pushes(mut self, n: usize) -> Self {
        self.max_pending_pushes = n;
        self
    }
}
