//! The tokio driver: one task per connection runs a [`Session`] over any
//! `AsyncRead + AsyncWrite` (TCP, TLS, an upgraded HTTP/1.1 connection,
//! `tokio::io::duplex`), and handles talk to it through shared, briefly
//! locked state.
//!
//! When the connection drops at any moment, every pending call on every
//! handle returns an error that says so; no task or buffer is left behind.
//!
//! ```
//! use spdy_core::driver::{connect, DriverConfig};
//! use spdy_core::header::HeaderBlock;
//! use spdy_core::session::{OpenStream, Role, SessionConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let (client_io, server_io) = tokio::io::duplex(64 * 1024);
//! let (client, connection) = connect(client_io, Role::Client, SessionConfig::default(), DriverConfig::default());
//! tokio::spawn(connection);
//! let (server, connection) = connect(server_io, Role::Server, SessionConfig::default(), DriverConfig::default());
//! tokio::spawn(connection);
//!
//! tokio::spawn(async move {
//!     let incoming = server.accept().await.unwrap();
//!     let (mut send, mut recv) = incoming.reply(HeaderBlock::new(), false).unwrap();
//!     let body = recv.collect(1024).await.unwrap();
//!     send.send_last(body).await.unwrap(); // echo
//! });
//!
//! let (mut send, mut recv) = client.open_stream(OpenStream::new(HeaderBlock::new())).await.unwrap();
//! send.send_last("ping".into()).await.unwrap();
//! recv.headers().await.unwrap();
//! assert_eq!(recv.collect(1024).await.unwrap(), "ping");
//! # }
//! ```

mod connection;
mod error;
mod handle;
mod shared;
mod stream;

pub use connection::{Connection, DriverConfig};
pub use error::Error;
pub use handle::SessionHandle;
pub use stream::{IncomingStream, RecvStream, Responder, SendStream, StreamIo};

use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::session::{Role, Session, SessionConfig};
use shared::SharedRef;

/// Starts a session over `io`: returns the handle and the connection task,
/// which must be spawned (or awaited) for anything to happen.
pub fn connect<IO: AsyncRead + AsyncWrite + Unpin>(
    io: IO,
    role: Role,
    session: SessionConfig,
    driver: DriverConfig,
) -> (SessionHandle, Connection<IO>) {
    let shared = SharedRef::new(Session::new(role, session, now()));
    let handle = SessionHandle::new(shared.clone());
    (handle, Connection::new(io, shared, driver))
}

/// The current time on tokio's clock. The session's timers (idle, keepalive,
/// reset memory, flood windows) and the driver's own sleeps must read the
/// same clock, so a paused test clock (`start_paused`) drives them all and
/// no timer fires in tokio time while its deadline is unreached in std time.
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}
