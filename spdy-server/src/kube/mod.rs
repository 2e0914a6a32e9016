//! Kubernetes streaming, server role: `kubectl exec`, `attach`, `cp` and
//! `port-forward` as the API server, the kubelet and CRI streaming servers
//! serve them, over SPDY/3.1.
//!
//! - [`StreamingServer`] answers the HTTP requests (the SPDY/3.1 upgrade
//!   with protocol negotiation, kubectl's WebSocket attempts) and runs the
//!   sessions; a [`StreamingRuntime`] — a CRI shim, a container runtime, a
//!   test double — does the work: run a command on the streams, relay a
//!   port.
//! - Below it, usable alone: [`remotecommand`] (the channels of exec and
//!   attach, the final status), [`portforward`] (pairing data and error
//!   streams, relaying to TCP), [`status`] (`metav1.Status` as kubectl reads
//!   it), [`resize`] (terminal sizes), [`websocket`] (SPDY tunnelled in
//!   WebSocket), [`names`] (the protocol vocabulary).
//!
//! The sessions run without flow control, as Go spdystream (kubectl, the
//! kubelet) expects: see [`upgraded_session_config`](crate::upgrade::upgraded_session_config).
//!
//! Serving exec by running the command on the local machine:
//!
//! ```no_run
//! use spdy_server::core::driver::StreamIo;
//! use spdy_server::kube::{ExecIo, ExitStatus, PodTarget, StreamingRuntime, StreamingServer};
//! use spdy_server::kube::portforward::relay_tcp;
//! use tokio::io::AsyncWriteExt;
//!
//! struct Local;
//!
//! impl StreamingRuntime for Local {
//!     async fn exec(&self, _pod: PodTarget, command: Vec<String>, io: ExecIo) -> ExitStatus {
//!         let Some((program, args)) = command.split_first() else {
//!             return ExitStatus::Failed("no command".into());
//!         };
//!         let output = match tokio::process::Command::new(program).args(args).output().await {
//!             Ok(output) => output,
//!             Err(error) => return ExitStatus::Failed(error.to_string()),
//!         };
//!         if let Some(mut stdout) = io.stdout {
//!             let _ = stdout.write_all(&output.stdout).await;
//!             let _ = stdout.shutdown().await;
//!         }
//!         if let Some(mut stderr) = io.stderr {
//!             let _ = stderr.write_all(&output.stderr).await;
//!             let _ = stderr.shutdown().await;
//!         }
//!         ExitStatus::Exited(output.status.code().unwrap_or(1))
//!     }
//!
//!     async fn port_forward(&self, _pod: PodTarget, port: u16, data: StreamIo) -> Result<(), String> {
//!         relay_tcp(data, ([127, 0, 0, 1], port).into()).await.map_err(|e| e.to_string())
//!     }
//! }
//!
//! // In a hyper service (served `.with_upgrades()`):
//! # fn route(server: &StreamingServer<Local>, mut request: hyper::Request<hyper::body::Incoming>) {
//! if let Some(response) = server.handle(&mut request) {
//!     // send `response`: 101 Switching Protocols, or an error that says why
//! }
//! # }
//! # let _ = StreamingServer::new(Local);
//! ```

pub mod names;
pub mod portforward;
pub mod remotecommand;
pub mod resize;
mod server;
pub mod status;
pub mod websocket;

pub use names::{RemoteCommandProtocol, StreamType};
pub use remotecommand::{ExecIo, ExecOptions};
pub use resize::{ResizeEvents, TerminalSize};
pub use server::{
    PodTarget, StreamingConfig, StreamingRuntime, StreamingServer, Subresource, parse_pod_path,
};
pub use status::ExitStatus;

/// Reads and drops what the peer sends on a stream we only write to.
///
/// Keeping the receiving half alive matters: when both halves of a stream
/// are dropped before the peer has finished its side, the driver resets the
/// stream with CANCEL at once, and data and FIN we queued but the connection
/// task has not yet written are lost. kubectl never finishes its side of the
/// stdout, stderr and error streams, so those halves are drained until the
/// peer ends the stream or the session ends.
pub(crate) fn discard_incoming(mut recv: spdy_core::driver::RecvStream) {
    tokio::spawn(async move { while let Some(Ok(_)) = recv.data().await {} });
}
