//! The names on the wire: protocols, stream types and stream headers, for
//! both roles (`spdy_server::kube::names` re-exports this module).

/// Remote command protocol v5 (on SPDY the same as v4; over WebSocket it
/// adds a close signal, which this crate does not speak).
pub const REMOTE_COMMAND_V5: &str = "v5.channel.k8s.io";
/// Remote command protocol v4: the error stream carries a JSON
/// `metav1.Status`, with the exit code of a failed command.
pub const REMOTE_COMMAND_V4: &str = "v4.channel.k8s.io";
/// Remote command protocol v3: adds the resize stream.
pub const REMOTE_COMMAND_V3: &str = "v3.channel.k8s.io";
/// Remote command protocol v2: the error stream carries plain text.
pub const REMOTE_COMMAND_V2: &str = "v2.channel.k8s.io";
/// Remote command protocol v1, the original.
pub const REMOTE_COMMAND_V1: &str = "channel.k8s.io";
/// Every remote command protocol, newest first: what kubectl offers.
pub const REMOTE_COMMAND_PROTOCOLS: [&str; 5] = [
    REMOTE_COMMAND_V5,
    REMOTE_COMMAND_V4,
    REMOTE_COMMAND_V3,
    REMOTE_COMMAND_V2,
    REMOTE_COMMAND_V1,
];
/// The port-forward protocol.
pub const PORT_FORWARD_V1: &str = "portforward.k8s.io";
/// The prefix kubectl puts before a protocol to ask for SPDY tunnelled in
/// WebSocket binary messages (`SPDY/3.1+portforward.k8s.io`).
pub const WEBSOCKET_SPDY_TUNNEL_PREFIX: &str = "SPDY/3.1+";

/// The stream header naming a stream's role (`streamType` in Go; header
/// names travel in lower case).
pub const STREAM_TYPE_HEADER: &str = "streamtype";
/// The port-forward stream header naming the remote port.
pub const PORT_HEADER: &str = "port";
/// The port-forward stream header pairing a data and an error stream.
pub const REQUEST_ID_HEADER: &str = "requestid";

/// A stream's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamType {
    /// Errors (remote command: the final status; port-forward: failures).
    Error,
    /// The command's standard input.
    Stdin,
    /// The command's standard output.
    Stdout,
    /// The command's standard error.
    Stderr,
    /// Terminal size changes (JSON objects).
    Resize,
    /// Port-forward: the forwarded bytes.
    Data,
}

impl StreamType {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamType::Error => "error",
            StreamType::Stdin => "stdin",
            StreamType::Stdout => "stdout",
            StreamType::Stderr => "stderr",
            StreamType::Resize => "resize",
            StreamType::Data => "data",
        }
    }

    /// Parses a header value.
    pub fn parse(value: &str) -> Option<StreamType> {
        Some(match value {
            "error" => StreamType::Error,
            "stdin" => StreamType::Stdin,
            "stdout" => StreamType::Stdout,
            "stderr" => StreamType::Stderr,
            "resize" => StreamType::Resize,
            "data" => StreamType::Data,
            _ => return None,
        })
    }
}

/// A remote command protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RemoteCommandProtocol {
    /// `channel.k8s.io`
    V1,
    /// `v2.channel.k8s.io`
    V2,
    /// `v3.channel.k8s.io`
    V3,
    /// `v4.channel.k8s.io`
    V4,
    /// `v5.channel.k8s.io`
    V5,
}

impl RemoteCommandProtocol {
    /// Parses a protocol name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            REMOTE_COMMAND_V1 => RemoteCommandProtocol::V1,
            REMOTE_COMMAND_V2 => RemoteCommandProtocol::V2,
            REMOTE_COMMAND_V3 => RemoteCommandProtocol::V3,
            REMOTE_COMMAND_V4 => RemoteCommandProtocol::V4,
            REMOTE_COMMAND_V5 => RemoteCommandProtocol::V5,
            _ => return None,
        })
    }

    /// The protocol name.
    pub fn name(self) -> &'static str {
        match self {
            RemoteCommandProtocol::V1 => REMOTE_COMMAND_V1,
            RemoteCommandProtocol::V2 => REMOTE_COMMAND_V2,
            RemoteCommandProtocol::V3 => REMOTE_COMMAND_V3,
            RemoteCommandProtocol::V4 => REMOTE_COMMAND_V4,
            RemoteCommandProtocol::V5 => REMOTE_COMMAND_V5,
        }
    }

    /// The client opens a resize stream for a terminal (v3 and later).
    pub fn supports_resize(self) -> bool {
        self >= RemoteCommandProtocol::V3
    }

    /// The error stream carries a JSON `metav1.Status` (v4 and later)
    /// rather than plain text.
    pub fn status_is_json(self) -> bool {
        self >= RemoteCommandProtocol::V4
    }
}
