//! SPDY/3.1 server.
//!
//! - One handler model: a [`Handler`] gets an `http::Request<Body>` (the
//!   body streams) and writes its response through a [`ResponseWriter`]
//!   (status, headers, writes with back-pressure, flush, push), close to Go's
//!   `http.Handler`; [`handler_fn`] adapts `async fn(Request) -> Response`
//!   closures. The same handler runs on SPDY/3.1, on the HTTP/1.1 fallback
//!   (hyper) and under spdy-recorder.
//! - [`Server`]: plain SPDY/3.1 (prior knowledge; HTTP/1.1 is sniffed and
//!   served too unless `spdy_only`), TLS with ALPN `spdy/3.1` and `http/1.1`
//!   ([`ServerConfig::tls`]; rustls has no NPN, ALPN replaces it), listeners
//!   the caller gives ([`Listener`]), graceful shutdown (GOAWAY, drain,
//!   deadline). [`serve_connection`] serves one connection on any IO.
//! - Pseudo headers map both ways (`:method`, `:path`, `:version`, `:host`,
//!   `:scheme`; `:status`, `:version`); hop-by-hop headers are dropped.
//! - Logging through `tracing`, with one access line per request (target
//!   `spdy_server::access`).
//!
//! ```
//! use spdy_server::{handler_fn, serve_connection, Body, ServerConfig};
//! use spdy_client::{Client, ClientConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let (client_io, server_io) = tokio::io::duplex(64 * 1024);
//! let handler = handler_fn(|request: http::Request<Body>| async move {
//!     http::Response::new(Body::from(format!("you asked for {}", request.uri().path())))
//! });
//! tokio::spawn(serve_connection(server_io, handler, ServerConfig::default()));
//!
//! let client = Client::new(client_io, ClientConfig::default());
//! let request = http::Request::get("http://example.test/a").body(Body::empty()).unwrap();
//! let mut response = client.send(request).await.unwrap();
//! assert_eq!(response.body_mut().bytes(1024).await.unwrap(), "you asked for /a");
//! # }
//! ```

mod access_log;
mod config;
mod error;
mod handler;
pub mod http1;
mod info;
pub mod kube;
mod linger;
mod prefixed;
mod server;
pub mod spdy;
pub mod static_files;
pub mod tls;
pub mod transport;
pub mod tunnel;
pub mod upgrade;
mod write_stall;
mod writer;

pub use config::ServerConfig;
pub use error::WriteError;
pub use handler::{FnHandler, Handler, handler_fn};
pub use info::{ConnectionInfo, Protocol, StreamInfo};
pub use server::{Listener, Server, serve_connection};
pub use spdy_client::{Body, BoxError, RecvBody};
pub use writer::ResponseWriter;

pub use spdy_core as core;
