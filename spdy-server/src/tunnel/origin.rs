//! The origin half: serve a handler on a session we dialled.

use std::sync::Arc;

use spdy_core::session::{CloseReason, Role};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

use crate::server::run_spdy;
use crate::{ConnectionInfo, Handler, ServerConfig};

/// Serves `handler` on `io`, a connection this end dialled to a tunnel
/// proxy: the session runs in the client role (odd stream ids), and the
/// streams the proxy opens are accepted as requests. Returns why the
/// session ended (dial again to carry on).
pub async fn serve_tunnel<IO, H>(io: IO, handler: H, config: ServerConfig) -> CloseReason
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Handler,
{
    let mut config = config;
    config.session = super::tunnel_session_config(&config.session);
    config.session.accept_peer_bidirectional_streams = true;
    config.session.accept_push = false;
    run_spdy(
        io,
        Role::Client,
        Arc::new(handler),
        &config,
        ConnectionInfo::spdy(None, false),
        CancellationToken::new(),
        CancellationToken::new(),
    )
    .await
}
