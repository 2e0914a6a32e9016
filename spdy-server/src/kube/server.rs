//! The streaming server: answers exec, attach and port-forward requests and
//! hands the streams to a [`StreamingRuntime`] — the part a CRI shim or a
//! container runtime writes.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use spdy_core::driver::{DriverConfig, SessionHandle, StreamIo};
use spdy_core::frame::RstStatus;
use spdy_core::session::SessionConfig;
use tokio_util::sync::CancellationToken;

use super::names::{PORT_FORWARD_V1, REMOTE_COMMAND_PROTOCOLS, RemoteCommandProtocol};
use super::portforward::PortForwardStreams;
use super::remotecommand::{ExecIo, RemoteCommandRequest, accept_streams};
use super::status::ExitStatus;
use super::websocket::{WebSocketTunnel, is_websocket_request};
use crate::upgrade::{PendingUpgrade, SpdyUpgrade, UpgradedSession, upgraded_session_config};

/// The pod (and container) a request is for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodTarget {
    /// The namespace.
    pub namespace: String,
    /// The pod's name.
    pub pod: String,
    /// The container, when the request names one.
    pub container: Option<String>,
}

/// The streaming subresources of a pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subresource {
    /// `exec`
    Exec,
    /// `attach`
    Attach,
    /// `portforward`
    PortForward,
}

/// Parses an API server path, `/api/v1/namespaces/{ns}/pods/{name}/{exec|attach|portforward}`.
pub fn parse_pod_path(path: &str) -> Option<(PodTarget, Subresource)> {
    let rest = path.strip_prefix("/api/v1/namespaces/")?;
    let mut parts = rest.split('/');
    let namespace = parts.next().filter(|s| !s.is_empty())?;
    if parts.next()? != "pods" {
        return None;
    }
    let pod = parts.next().filter(|s| !s.is_empty())?;
    let subresource = match parts.next()? {
        "exec" => Subresource::Exec,
        "attach" => Subresource::Attach,
        "portforward" => Subresource::PortForward,
        _ => return None,
    };
    if parts.next().is_some_and(|p| !p.is_empty()) {
        return None;
    }
    Some((
        PodTarget {
            namespace: namespace.to_owned(),
            pod: pod.to_owned(),
            container: None,
        },
        subresource,
    ))
}

/// What a container runtime plugs in: running commands, attaching, and
/// reaching a pod's ports. The server does the protocol; the runtime only
/// moves bytes.
///
/// Every method gets streams it owns: finish (`shutdown` / `finish`) the
/// sending ones when the output ends; dropping one unfinished resets it.
pub trait StreamingRuntime: Send + Sync + 'static {
    /// Runs `command` in the target container with the given streams and
    /// returns how it ended.
    ///
    /// The future is dropped if the client's session ends first (the
    /// client went away): release the process on drop, as
    /// `tokio::process::Command::kill_on_drop` does. The same holds for
    /// [`attach`](Self::attach) and [`port_forward`](Self::port_forward).
    fn exec(
        &self,
        target: PodTarget,
        command: Vec<String>,
        io: ExecIo,
    ) -> impl Future<Output = ExitStatus> + Send;

    /// Attaches the streams to the target container's main process. By
    /// default attach is not supported.
    fn attach(&self, target: PodTarget, io: ExecIo) -> impl Future<Output = ExitStatus> + Send {
        async move {
            io.close().await;
            ExitStatus::Failed(format!(
                "attach to {}/{} is not supported by this runtime",
                target.namespace, target.pod
            ))
        }
    }

    /// Relays one forwarded connection to `port` of the target pod: bytes
    /// from `data` go to the port and back until either side ends (see
    /// [`relay_tcp`](super::portforward::relay_tcp)). An error is shown to
    /// the client.
    fn port_forward(
        &self,
        target: PodTarget,
        port: u16,
        data: StreamIo,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// Settings of a [`StreamingServer`].
#[derive(Clone, Debug)]
pub struct StreamingConfig {
    /// How long the client has to open every stream of a command, or the
    /// second stream of a port-forward pair. Default 30 s, as the kubelet.
    pub stream_creation_timeout: Duration,
    /// After the status of a command is written, how long the client has to
    /// close the session before the server does. Default 10 s.
    pub finish_timeout: Duration,
    /// Serve port-forward's `SPDY/3.1+portforward.k8s.io` WebSocket tunnel
    /// (kubectl 1.31+ tries it first). Default true; when false the attempt
    /// is refused with 400 and kubectl falls back to SPDY.
    pub port_forward_over_websocket: bool,
    /// Session settings; default [`upgraded_session_config`] (spdystream
    /// compatible: no flow control).
    pub session: SessionConfig,
    /// Connection task settings.
    pub driver: DriverConfig,
}

impl Default for StreamingConfig {
    fn default() -> Self {
        StreamingConfig {
            stream_creation_timeout: Duration::from_secs(30),
            finish_timeout: Duration::from_secs(10),
            port_forward_over_websocket: true,
            session: upgraded_session_config(),
            driver: DriverConfig::default(),
        }
    }
}

/// Serves Kubernetes exec, attach and port-forward over SPDY/3.1 for a
/// [`StreamingRuntime`]. Each method answers the HTTP request at once (101,
/// or an error) and runs the session in a spawned task.
pub struct StreamingServer<R> {
    runtime: Arc<R>,
    config: StreamingConfig,
}

impl<R> Clone for StreamingServer<R> {
    fn clone(&self) -> Self {
        StreamingServer {
            runtime: self.runtime.clone(),
            config: self.config.clone(),
        }
    }
}

impl<R> std::fmt::Debug for StreamingServer<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingServer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn plain(status: StatusCode, message: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message + "\n")));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl<R: StreamingRuntime> StreamingServer<R> {
    /// A server for `runtime` with the default settings.
    pub fn new(runtime: R) -> Self {
        Self::with_config(runtime, StreamingConfig::default())
    }

    /// A server for `runtime` with `config`.
    pub fn with_config(runtime: R, config: StreamingConfig) -> Self {
        StreamingServer {
            runtime: Arc::new(runtime),
            config,
        }
    }

    /// The runtime.
    pub fn runtime(&self) -> &Arc<R> {
        &self.runtime
    }

    /// Routes an API-server style path ([`parse_pod_path`]) to exec, attach
    /// or port-forward; `None` when the path is none of them.
    pub fn handle<B>(&self, request: &mut http::Request<B>) -> Option<Response<Full<Bytes>>> {
        let (target, subresource) = parse_pod_path(request.uri().path())?;
        Some(match subresource {
            Subresource::Exec => self.exec(request, target),
            Subresource::Attach => self.attach(request, target),
            Subresource::PortForward => self.port_forward(request, target),
        })
    }

    /// Serves `kubectl exec`: the query names the command and channels.
    pub fn exec<B>(
        &self,
        request: &mut http::Request<B>,
        target: PodTarget,
    ) -> Response<Full<Bytes>> {
        self.remote_command(request, target, Subresource::Exec)
    }

    /// Serves `kubectl attach`.
    pub fn attach<B>(
        &self,
        request: &mut http::Request<B>,
        target: PodTarget,
    ) -> Response<Full<Bytes>> {
        self.remote_command(request, target, Subresource::Attach)
    }

    fn remote_command<B>(
        &self,
        request: &mut http::Request<B>,
        mut target: PodTarget,
        kind: Subresource,
    ) -> Response<Full<Bytes>> {
        if is_websocket_request(request.headers()) {
            // The v5 WebSocket protocol is another protocol altogether;
            // refusing it makes kubectl fall back to SPDY/3.1.
            return plain(
                StatusCode::BAD_REQUEST,
                "unable to upgrade: remote command over WebSocket is not supported; use SPDY/3.1"
                    .into(),
            );
        }
        let parsed = match RemoteCommandRequest::from_query(request.uri().query().unwrap_or("")) {
            Ok(parsed) => parsed,
            Err(why) => return plain(StatusCode::BAD_REQUEST, why),
        };
        if kind == Subresource::Exec && parsed.command.is_empty() {
            return plain(
                StatusCode::BAD_REQUEST,
                "you must specify at least one command for the container".into(),
            );
        }
        if target.container.is_none() {
            target.container = parsed.container.clone();
        }
        let upgrade = SpdyUpgrade::new(REMOTE_COMMAND_PROTOCOLS)
            .session_config(self.config.session.clone())
            .driver_config(self.config.driver.clone());
        let (response, pending) = match upgrade.accept(request) {
            Ok(accepted) => accepted,
            Err(rejection) => return rejection.into_response(),
        };
        let server = self.clone();
        tokio::spawn(async move {
            server
                .run_remote_command(pending, target, parsed, kind)
                .await;
        });
        response
    }

    async fn run_remote_command(
        &self,
        pending: PendingUpgrade,
        target: PodTarget,
        request: RemoteCommandRequest,
        kind: Subresource,
    ) {
        let upgraded = match pending.session().await {
            Ok(upgraded) => upgraded,
            Err(error) => {
                tracing::debug!("exec upgrade failed: {error}");
                return;
            }
        };
        let protocol = upgraded
            .protocol
            .as_deref()
            .and_then(RemoteCommandProtocol::parse)
            .unwrap_or(RemoteCommandProtocol::V1);
        let streams = match accept_streams(
            &upgraded.session,
            protocol,
            request.options,
            self.config.stream_creation_timeout,
        )
        .await
        {
            Ok(streams) => streams,
            Err(error) => {
                tracing::debug!(pod = %target.pod, "exec streams: {error}");
                upgraded.session.close();
                return;
            }
        };
        refuse_further_streams(upgraded.session.clone());
        tracing::debug!(pod = %target.pod, protocol = protocol.name(), "remote command streams ready");
        let command = async {
            match kind {
                Subresource::Attach => self.runtime.attach(target.clone(), streams.io).await,
                _ => {
                    self.runtime
                        .exec(target.clone(), request.command, streams.io)
                        .await
                }
            }
        };
        // A command ends with its session: a client that went away (a
        // killed `kubectl exec -it`) must not leave the runtime's future,
        // and the process it holds, waiting for ever. Biased: a command
        // that sees the end as an I/O error and returns still counts.
        let status = tokio::select! {
            biased;
            status = command => status,
            reason = upgraded.session.closed() => {
                tracing::debug!(pod = %target.pod, "the session ended before the command: {reason}; command dropped");
                let _ = upgraded.finished().await;
                return;
            }
        };
        tracing::debug!(?status, "remote command ended");
        streams.status.finish(&status).await;
        finish_session(upgraded, self.config.finish_timeout).await;
    }

    /// Serves `kubectl port-forward`, over SPDY/3.1 or, when enabled, over
    /// the `SPDY/3.1+portforward.k8s.io` WebSocket tunnel.
    pub fn port_forward<B>(
        &self,
        request: &mut http::Request<B>,
        target: PodTarget,
    ) -> Response<Full<Bytes>> {
        let server = self.clone();
        if is_websocket_request(request.headers()) {
            if !self.config.port_forward_over_websocket {
                return plain(
                    StatusCode::BAD_REQUEST,
                    "unable to upgrade: port-forward over WebSocket is disabled; use SPDY/3.1"
                        .into(),
                );
            }
            let tunnel = WebSocketTunnel::new([PORT_FORWARD_V1])
                .session_config(self.config.session.clone())
                .driver_config(self.config.driver.clone());
            return match tunnel.accept(request) {
                Ok((response, pending)) => {
                    tokio::spawn(async move {
                        match pending.session().await {
                            Ok(upgraded) => server.run_port_forward(upgraded, target).await,
                            Err(error) => tracing::debug!("port-forward tunnel failed: {error}"),
                        }
                    });
                    response
                }
                Err(rejection) => rejection.into_response(),
            };
        }
        let upgrade = SpdyUpgrade::new([PORT_FORWARD_V1])
            .session_config(self.config.session.clone())
            .driver_config(self.config.driver.clone());
        match upgrade.accept(request) {
            Ok((response, pending)) => {
                tokio::spawn(async move {
                    match pending.session().await {
                        Ok(upgraded) => server.run_port_forward(upgraded, target).await,
                        Err(error) => tracing::debug!("port-forward upgrade failed: {error}"),
                    }
                });
                response
            }
            Err(rejection) => rejection.into_response(),
        }
    }

    async fn run_port_forward(&self, upgraded: UpgradedSession, target: PodTarget) {
        // Forwardings end with their session: one waiting on a pod that
        // neither answers nor closes (after the client's half-close, say)
        // must not keep its task and pod connection for ever.
        let gone = CancellationToken::new();
        let _cancel_forwardings = gone.clone().drop_guard();
        let mut pairs = PortForwardStreams::new(
            upgraded.session.clone(),
            self.config.stream_creation_timeout,
        );
        while let Some(request) = pairs.next().await {
            let runtime = self.runtime.clone();
            let target = target.clone();
            let gone = gone.clone();
            tokio::spawn(async move {
                let port = request.port;
                let forwarding = runtime.port_forward(target.clone(), port, request.data);
                // Biased: a forwarding that sees the end as an I/O error
                // still reports it.
                let result = tokio::select! {
                    biased;
                    result = forwarding => result,
                    () = gone.cancelled() => {
                        tracing::debug!(pod = %target.pod, port, "the session ended; forwarding stopped");
                        return;
                    }
                };
                if let Err(why) = &result {
                    tracing::debug!(pod = %target.pod, port, "port-forward failed: {why}");
                }
                let result = result.map_err(|why| {
                    format!(
                        "error forwarding port {port} to pod {}/{}: {why}",
                        target.namespace, target.pod
                    )
                });
                request.error.finish(result).await;
            });
        }
        drop(pairs);
        let reason = upgraded.finished().await;
        tracing::debug!(pod = %target.pod, "port-forward session ended: {reason}");
    }
}

/// Refuses every stream the client opens after a command's streams.
fn refuse_further_streams(session: SessionHandle) {
    tokio::spawn(async move {
        while let Some(incoming) = session.accept().await {
            tracing::debug!(stream = %incoming.id(), "refusing a stream after the command's streams");
            incoming.refuse(RstStatus::RefusedStream);
        }
    });
}

/// Lets the client close the session (kubectl does once it has the
/// status), and closes it after `timeout` if the client does not. The
/// client ending the session is the protocol's normal close; by the
/// deadline the output and the status have long been sent.
async fn finish_session(upgraded: UpgradedSession, timeout: Duration) {
    if tokio::time::timeout(timeout, upgraded.session.closed())
        .await
        .is_err()
    {
        tracing::debug!("the client did not close the session in {timeout:?}; closing it");
        upgraded.session.close();
    }
    let _ = upgraded.finished().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_server_paths_name_the_pod_and_subresource() {
        let (target, sub) = parse_pod_path("/api/v1/namespaces/default/pods/demo/exec").unwrap();
        assert_eq!(
            (target.namespace.as_str(), target.pod.as_str(), sub),
            ("default", "demo", Subresource::Exec)
        );
        assert_eq!(
            parse_pod_path("/api/v1/namespaces/x/pods/p/portforward").map(|(_, s)| s),
            Some(Subresource::PortForward)
        );
        assert!(parse_pod_path("/api/v1/namespaces/x/pods/p").is_none());
        assert!(parse_pod_path("/api/v1/namespaces/x/pods/p/log").is_none());
        assert!(parse_pod_path("/api/v1/namespaces//pods/p/exec").is_none());
    }
}
