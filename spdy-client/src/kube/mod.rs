//! Kubernetes streaming, client role: `exec`, `attach` and `port-forward`
//! as kubectl does them, over SPDY/3.1, against an API server, a kubelet or
//! a CRI streaming server.
//!
//! - [`exec`]: [`ExecRequest`] → [`RemoteCommand`] (stdin, stdout, stderr,
//!   terminal resize, and the exit status from the error stream).
//! - [`portforward`]: [`PortForwarder`] → one [`PortForwardStream`] per
//!   forwarded connection, or [`PortForwarder::forward`] for a local
//!   listener.
//!
//! The sessions run without flow control, as Go spdystream servers expect
//! (see [`upgraded_session_config`](crate::upgrade::upgraded_session_config)).
//!
//! ```no_run
//! use spdy_client::kube::{ExecOutcome, ExecRequest, PortForwarder};
//! use tokio::io::AsyncReadExt;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let api = "http://127.0.0.1:8001/api/v1/namespaces/default/pods/demo";
//!
//! // kubectl exec demo -- sh -c 'echo hi; exit 3'
//! let mut command = ExecRequest::command(["sh", "-c", "echo hi; exit 3"])
//!     .start_tcp(&format!("{api}/exec"))
//!     .await?;
//! let mut stdout = command.stdout.take().expect("asked for stdout");
//! let mut out = Vec::new();
//! stdout.read_to_end(&mut out).await?;
//! assert_eq!(command.status().await?, ExecOutcome::Exited(3));
//!
//! // kubectl port-forward pod/demo 8080:80
//! let forwarder = PortForwarder::connect_tcp(&format!("{api}/portforward")).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! forwarder.forward(listener, 80).await?;
//! # Ok(()) }
//! ```

pub mod exec;
pub mod names;
pub mod portforward;

pub use exec::{ExecError, ExecOptions, ExecOutcome, ExecRequest, RemoteCommand, TerminalSize};
pub use names::{RemoteCommandProtocol, StreamType};
pub use portforward::{ForwardError, PortForwardStream, PortForwarder};

/// Reads and drops what the peer sends on a stream whose receiving half we
/// do not need, keeping the half alive: dropping both halves of a stream
/// the peer has not finished resets it, losing data we queued.
pub(crate) fn discard_incoming(mut recv: spdy_core::driver::RecvStream) {
    tokio::spawn(async move { while let Some(Ok(_)) = recv.data().await {} });
}
