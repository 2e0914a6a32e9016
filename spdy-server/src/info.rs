//! What a handler can learn about the connection and stream a request came
//! on: request extensions.

use std::net::SocketAddr;

use spdy_core::frame::{Priority, StreamId};

/// The protocol a request arrived over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// SPDY/3.1.
    Spdy31,
    /// HTTP/1.1 (the TLS fallback, or plain HTTP/1.1 on a sniffing listener).
    Http11,
}

/// The connection a request arrived on; in every request's extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The peer's address, when the transport has one.
    pub peer_addr: Option<SocketAddr>,
    /// The protocol.
    pub protocol: Protocol,
    /// True over TLS.
    pub tls: bool,
}

impl ConnectionInfo {
    /// A SPDY/3.1 connection from `peer_addr`.
    pub fn spdy(peer_addr: Option<SocketAddr>, tls: bool) -> Self {
        ConnectionInfo {
            peer_addr,
            protocol: Protocol::Spdy31,
            tls,
        }
    }
}

/// The SPDY stream a request arrived on; in the extensions of requests
/// that came over SPDY.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamInfo {
    /// The stream id.
    pub stream_id: StreamId,
    /// The priority the client gave the stream.
    pub priority: Priority,
}
