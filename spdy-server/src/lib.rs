//! SPDY/3.1 server (work in progress).
//!
//! This crate will hold the server: one handler model for SPDY and the
//! HTTP/1.1 fallback, TLS with ALPN, server push, static files with Range,
//! the reverse tunnel, HTTP Upgrade and Kubernetes streaming, and the
//! `spdyd` tool. Today it re-exports the protocol core it builds on.
//!
//! ```
//! use spdy_server::core::frame::StreamId;
//! assert!(StreamId::new(2).is_server_initiated());
//! ```

pub use spdy_core as core;

pub mod kube;
pub mod upgrade;
