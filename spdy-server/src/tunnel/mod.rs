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
//! ```no_run
//! use spdy_server::tunnel::{serve_tunnel, TunnelProxy};
//! use spdy_server::{static_files::StaticFiles, ServerConfig};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // The proxy, on a public host:
//! let proxy = TunnelProxy::new(ServerConfig::default());
//! let origins = tokio::net::TcpListener::bind("0.0.0.0:9443").await?;
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

pub use origin::serve_tunnel;
pub use proxy::{TunnelProxy, forward};
