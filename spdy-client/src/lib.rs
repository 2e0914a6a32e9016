//! SPDY/3.1 HTTP client.
//!
//! - [`Client`]: one SPDY/3.1 session over TCP ([`Client::connect`], prior
//!   knowledge), TLS ([`Client::connect_tls`], ALPN `spdy/3.1`; rustls has
//!   no NPN, ALPN replaces it) or any `AsyncRead + AsyncWrite`
//!   ([`Client::new`]). [`Client::send`] takes an `http::Request<Body>` and
//!   returns an `http::Response<RecvBody>`; bodies stream both ways under
//!   flow control, many requests run at once as streams, and a session
//!   failure fails every pending request. [`Error::is_retryable`] says when
//!   the server never processed a request (REFUSED_STREAM, or above its
//!   GOAWAY's last-good id).
//! - [`Body`] and [`RecvBody`]: the bodies, both [`http_body::Body`]s.
//! - Server push: [`ClientConfig::max_pending_pushes`] and [`Client::next_push`].
//! - The `spdycat` tool (`src/bin/spdycat.rs`).
//!
//! Logging goes through `tracing`; configure a subscriber to see it.
//!
//! ```no_run
//! use spdy_client::{Body, Client, ClientConfig};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::connect("127.0.0.1:8443", ClientConfig::default()).await?;
//! let request = http::Request::get("http://127.0.0.1:8443/index.html").body(Body::empty())?;
//! let mut response = client.send(request).await?;
//! while let Some(chunk) = response.body_mut().data().await {
//!     let _bytes = chunk?;
//! }
//! # Ok(()) }
//! ```

mod body;
pub mod body_length;
mod client;
mod config;
mod connect;
mod error;
pub mod hop_by_hop;
mod priority;
mod push;
mod recv_body;
pub mod tls;
pub mod trace;

pub use body::{Body, BoxError};
pub use client::{Client, RequestPriority, response_stream_id};
pub use config::ClientConfig;
pub use connect::{tcp_connect, tls_connect};
pub use error::Error;
pub use priority::priority_for;
pub use push::PushedResponse;
pub use recv_body::RecvBody;

pub use spdy_core as core;

pub mod kube;
pub mod upgrade;
