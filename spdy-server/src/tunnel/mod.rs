//! The reverse tunnel: a server behind NAT dials out to a public proxy and
//! then *serves* the requests that arrive over that session; the proxy
//! takes plain HTTP/1.1 requests from the internet, forwards each into the
//! session as a stream, and writes the response back, streaming both ways
//! under flow control (memory stays bounded whatever the body size; a
//! client that disconnects resets its stream at once).
//!
//! - [`serve_tunnel`] (the origin, at home): runs a handler on a session it
//!   dialled, accepting the streams the proxy opens.
//! - [`TunnelProxy`] (the public side): accepts origin sessions and HTTP/1.1
//!   clients; [`forward`] is the per-request step on its own.
//!
//! Both halves run their session without the idle timeout and with a PING
//! every [`TUNNEL_KEEPALIVE`] (see [`tunnel_session_config`]): a tunnel
//! idles between requests and must not be torn down for it, while a NAT
//! that silently forgets the mapping must be noticed so the origin dials
//! again.
//!
//! The origin listener has no authentication of its own: whoever connects
//! to it becomes the origin that public requests go to (the last one to
//! connect wins). Keep it on a private address, behind a firewall, or
//! behind TLS with client certificates (accept the TLS connection
//! yourself and hand the stream to [`TunnelProxy::serve_origin`]).
//!
//! ```no_run
//! use spdy_server::tunnel::{serve_tunnel, TunnelProxy};
//! use spdy_server::{static_files::StaticFiles, ServerConfig};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // The proxy, on a public host:
//! let proxy = TunnelProxy::new(ServerConfig::default());
//! // The origin listener: not on a public address (see above).
//! let origins = tokio::net::TcpListener::bind("10.0.0.1:9443").await?;
//! let public = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! tokio::spawn(async move { proxy.run(origins, public).await });
//!
//! // The origin, at home, behind NAT:
//! let socket = tokio::net::TcpStream::connect("proxy.example:9443").await?;
//! serve_tunnel(socket, StaticFiles::new("/srv/media")?, ServerConfig::default()).await;
//! # Ok(()) }
//! ```

mod origin;
mod proxy;

use std::time::Duration;

use spdy_core::session::SessionConfig;

pub use origin::serve_tunnel;
pub use proxy::{TunnelProxy, forward};

/// How often both halves of a tunnel PING each other: 30 s, well inside
/// the shortest common NAT mapping lifetimes for idle TCP (a few minutes),
/// so the mapping stays and a dead tunnel is noticed within
/// `ping_timeout` (20 s by default) after the next PING.
pub const TUNNEL_KEEPALIVE: Duration = Duration::from_secs(30);

/// The session settings a tunnel runs with: `base` without the idle
/// timeout and with a keepalive PING every [`TUNNEL_KEEPALIVE`].
pub fn tunnel_session_config(base: &SessionConfig) -> SessionConfig {
    SessionConfig {
        idle_timeout: None,
        keepalive_interval: Some(TUNNEL_KEEPALIVE),
        ..base.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tunnels_ping_instead_of_idling_out() {
        let base = SessionConfig::default();
        assert!(base.idle_timeout.is_some() && base.keepalive_interval.is_none());
        let tunnel = tunnel_session_config(&base);
        assert_eq!(tunnel.idle_timeout, None);
        assert_eq!(tunnel.keepalive_interval, Some(TUNNEL_KEEPALIVE));
        assert_eq!(tunnel.max_concurrent_streams, base.max_concurrent_streams);
    }
}
