//! SPDY/3.1 HTTP client (work in progress).
//!
//! This crate will hold the client: connecting over TCP, over TLS with ALPN
//! `spdy/3.1`, or over any `AsyncRead + AsyncWrite`; sending `http::Request`s
//! with streaming bodies over one session; ping, graceful close and server
//! push; and the `spdycat` tool. Today it re-exports the protocol core it
//! builds on.
//!
//! ```
//! use spdy_client::core::frame::StreamId;
//! assert!(StreamId::new(1).is_client_initiated());
//! ```

pub use spdy_core as core;

pub mod kube;
pub mod upgrade;
