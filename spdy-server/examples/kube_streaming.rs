//! A minimal fake Kubernetes API server that real `kubectl` can `exec`,
//! `attach` and `port-forward` against, over SPDY/3.1.
//!
//! ```sh
//! cargo run -p spdy-server --example kube_streaming -- --listen 127.0.0.1:8001
//! cat > /tmp/kubeconfig <<EOF
//! apiVersion: v1
//! kind: Config
//! clusters: [{name: fake, cluster: {server: "http://127.0.0.1:8001"}}]
//! users: [{name: nobody, user: {}}]
//! contexts: [{name: fake, context: {cluster: fake, user: nobody, namespace: default}}]
//! current-context: fake
//! EOF
//! export KUBECONFIG=/tmp/kubeconfig
//! kubectl exec demo -- sh -c 'echo out; echo err >&2; exit 3'   # exit code 3
//! kubectl exec -it demo -- sh                                    # a terminal
//! kubectl port-forward pod/demo 9000:8080                        # to 127.0.0.1:8080
//! ```
//!
//! It answers API discovery (`/version`, `/api`, `/apis`, `/api/v1` with
//! pods and their `exec`, `attach` and `portforward` subresources) and says
//! every pod exists and is Running. `exec` runs the command on this machine
//! with stdin, stdout, stderr — or a terminal, resized as kubectl asks —
//! relayed, and reports the exit code; `attach` starts `sh` as if it were
//! the container's main process; `port-forward` connects to 127.0.0.1 on
//! the requested port. kubectl's WebSocket attempt at exec is refused so it
//! falls back to SPDY/3.1; port-forward's SPDY-in-WebSocket tunnel is
//! served. There is no authentication: listen on 127.0.0.1 only.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value, json};
use spdy_server::core::driver::{RecvStream, SendStream, StreamIo};
use spdy_server::kube::portforward::relay_tcp;
use spdy_server::kube::{
    ExecIo, ExitStatus, PodTarget, StreamingConfig, StreamingRuntime, StreamingServer,
};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Runs commands on this machine, as if it were the pod's container.
pub struct LocalRuntime;

/// How a process that ended by signal N is reported, as shells do.
fn exit_status(status: std::process::ExitStatus) -> ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitStatus::Exited(code),
        (None, Some(signal)) => ExitStatus::Exited(128 + signal),
        (None, None) => ExitStatus::Failed("the process ended without an exit status".into()),
    }
}

/// Copies `from` to the stream, then ends the stream (FIN).
fn pump_out<R: AsyncRead + Unpin + Send + 'static>(
    mut from: R,
    mut to: SendStream,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        // A terminal reports EIO once the child is gone: that is its end.
        let _ = tokio::io::copy(&mut from, &mut to).await;
        let _ = to.shutdown().await;
    })
}

/// Copies the client's stdin into the process, closing it at the end.
fn pump_in<W: AsyncWrite + Unpin + Send + 'static>(
    mut from: RecvStream,
    mut to: W,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let _ = tokio::io::copy(&mut from, &mut to).await;
        let _ = to.shutdown().await;
    })
}

impl LocalRuntime {
    async fn run(&self, command: Vec<String>, io: ExecIo) -> ExitStatus {
        let Some((program, args)) = command.split_first() else {
            io.close().await;
            return ExitStatus::Failed("no command".into());
        };
        if io.tty {
            return self.run_in_terminal(program, args, io).await;
        }
        let mut child = match tokio::process::Command::new(program)
            .args(args)
            .stdin(if io.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(if io.stdout.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(if io.stderr.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .kill_on_drop(true)
            .spawn()
        {
            Ok(child) => child,
            Err(error) => {
                io.close().await;
                return ExitStatus::Failed(format!("cannot run {program:?}: {error}"));
            }
        };
        let stdin = match (io.stdin, child.stdin.take()) {
            (Some(from), Some(to)) => Some(pump_in(from, to)),
            _ => None,
        };
        let mut outputs = Vec::new();
        if let (Some(to), Some(from)) = (io.stdout, child.stdout.take()) {
            outputs.push(pump_out(from, to));
        }
        if let (Some(to), Some(from)) = (io.stderr, child.stderr.take()) {
            outputs.push(pump_out(from, to));
        }
        let status = child.wait().await;
        for output in outputs {
            let _ = output.await;
        }
        if let Some(stdin) = stdin {
            stdin.abort();
        }
        match status {
            Ok(status) => exit_status(status),
            Err(error) => ExitStatus::Failed(error.to_string()),
        }
    }

    async fn run_in_terminal(&self, program: &str, args: &[String], io: ExecIo) -> ExitStatus {
        let (pty, pts) = match pty_process::open() {
            Ok(pair) => pair,
            Err(error) => {
                io.close().await;
                return ExitStatus::Failed(format!("cannot open a terminal: {error}"));
            }
        };
        // kubectl sends the terminal's size as soon as the streams are up:
        // apply it before the command starts, so it sees the right size.
        let mut sizes = io.resize;
        if let Some(sizes) = &mut sizes
            && let Ok(Some(size)) = tokio::time::timeout(Duration::from_secs(1), sizes.next()).await
        {
            let _ = pty.resize(pty_process::Size::new(size.height, size.width));
        }
        let mut child = match pty_process::Command::new(program)
            .args(args)
            .kill_on_drop(true)
            .spawn(pts)
        {
            Ok(child) => child,
            Err(error) => {
                if let Some(mut stdout) = io.stdout {
                    let _ = stdout.finish().await;
                }
                return ExitStatus::Failed(format!("cannot run {program:?}: {error}"));
            }
        };
        let (reader, writer) = pty.into_split();
        let writer = std::sync::Arc::new(tokio::sync::Mutex::new(writer));
        let resize = sizes.map(|mut sizes| {
            let writer = writer.clone();
            tokio::spawn(async move {
                while let Some(size) = sizes.next().await {
                    let _ = writer
                        .lock()
                        .await
                        .resize(pty_process::Size::new(size.height, size.width));
                }
            })
        });
        let stdin = io.stdin.map(|mut from| {
            let writer = writer.clone();
            tokio::spawn(async move {
                while let Some(Ok(chunk)) = from.data().await {
                    if writer.lock().await.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
            })
        });
        let output = io.stdout.map(|to| pump_out(reader, to));
        let status = child.wait().await;
        if let Some(output) = output {
            let _ = tokio::time::timeout(Duration::from_secs(5), output).await;
        }
        for task in [stdin, resize].into_iter().flatten() {
            task.abort();
        }
        match status {
            Ok(status) => exit_status(status),
            Err(error) => ExitStatus::Failed(error.to_string()),
        }
    }
}

impl StreamingRuntime for LocalRuntime {
    async fn exec(&self, _target: PodTarget, command: Vec<String>, io: ExecIo) -> ExitStatus {
        self.run(command, io).await
    }

    async fn attach(&self, _target: PodTarget, io: ExecIo) -> ExitStatus {
        self.run(vec!["sh".into()], io).await
    }

    async fn port_forward(
        &self,
        _target: PodTarget,
        port: u16,
        data: StreamIo,
    ) -> Result<(), String> {
        relay_tcp(data, SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .map_err(|e| e.to_string())
    }
}

fn json_response(status: StatusCode, value: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

fn not_found(path: &str) -> Response<Full<Bytes>> {
    json_response(
        StatusCode::NOT_FOUND,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": format!("the server could not find the requested resource ({path})"),
               "reason": "NotFound", "code": 404}),
    )
}

fn resource(name: &str, kind: &str, verbs: &[&str]) -> Value {
    json!({"name": name, "singularName": "", "namespaced": true, "kind": kind, "verbs": verbs})
}

/// A Running pod with one container, whatever its name.
fn pod(namespace: &str, name: &str) -> Value {
    json!({
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": namespace,
                     "uid": "00000000-0000-0000-0000-000000000001",
                     "creationTimestamp": "2024-01-01T00:00:00Z"},
        "spec": {"containers": [{"name": "main", "image": "local", "stdin": true}]},
        "status": {"phase": "Running",
                   "conditions": [{"type": "Ready", "status": "True"}],
                   "containerStatuses": [{"name": "main", "ready": true, "restartCount": 0,
                                          "image": "local", "imageID": "",
                                          "state": {"running": {"startedAt": "2024-01-01T00:00:00Z"}}}]}
    })
}

/// Answers one request: discovery, pods, or a streaming subresource.
pub fn route(
    server: &StreamingServer<LocalRuntime>,
    mut request: Request<Incoming>,
    local: SocketAddr,
) -> Response<Full<Bytes>> {
    if let Some(response) = server.handle(&mut request) {
        return response;
    }
    let path = request.uri().path().trim_end_matches('/').to_owned();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    match segments.as_slice() {
        ["version"] => json_response(
            StatusCode::OK,
            json!({"major": "1", "minor": "32", "gitVersion": "v1.32.0-spdy-fake",
                   "gitCommit": "", "gitTreeState": "clean", "buildDate": "2024-01-01T00:00:00Z",
                   "goVersion": "", "compiler": "rust", "platform": "linux/amd64"}),
        ),
        ["api"] => json_response(
            StatusCode::OK,
            json!({"kind": "APIVersions", "versions": ["v1"],
                   "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": local.to_string()}]}),
        ),
        ["apis"] => json_response(
            StatusCode::OK,
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []}),
        ),
        ["api", "v1"] => json_response(
            StatusCode::OK,
            json!({"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                resource("pods", "Pod", &["get", "list"]),
                resource("pods/exec", "PodExecOptions", &["create", "get"]),
                resource("pods/attach", "PodAttachOptions", &["create", "get"]),
                resource("pods/portforward", "PodPortForwardOptions", &["create", "get"]),
            ]}),
        ),
        ["api", "v1", "namespaces", namespace, "pods"] => json_response(
            StatusCode::OK,
            json!({"kind": "PodList", "apiVersion": "v1", "metadata": {},
                   "items": [pod(namespace, "demo")]}),
        ),
        ["api", "v1", "namespaces", namespace, "pods", name] => {
            json_response(StatusCode::OK, pod(namespace, name))
        }
        _ => not_found(&path),
    }
}

/// Serves the fake API server on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener) {
    serve_with(listener, StreamingConfig::default()).await
}

/// Serves the fake API server with `config` (e.g. without port-forward's
/// WebSocket tunnel, so kubectl falls back to SPDY/3.1).
pub async fn serve_with(listener: TcpListener, config: StreamingConfig) {
    let local = listener
        .local_addr()
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)));
    let server = StreamingServer::with_config(LocalRuntime, config);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!("accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let server = server.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                tracing::info!(%peer, method = %request.method(), uri = %request.uri(), "request");
                let response = route(&server, request, local);
                async move { Ok::<_, Infallible>(response) }
            });
            // A client that never finishes its request head is let go.
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(TokioIo::new(tcp), service)
                .with_upgrades()
                .await
            {
                tracing::debug!(%peer, "connection ended: {error}");
            }
        });
    }
}

#[cfg_attr(test, allow(dead_code))]
#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut listen = String::from("127.0.0.1:8001");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => match args.next() {
                Some(addr) => listen = addr,
                None => {
                    eprintln!("--listen needs an address, e.g. 127.0.0.1:8001");
                    std::process::exit(2);
                }
            },
            "-h" | "--help" => {
                println!("usage: kube_streaming [--listen 127.0.0.1:PORT]");
                return;
            }
            other => {
                eprintln!(
                    "unknown argument {other:?}; usage: kube_streaming [--listen 127.0.0.1:PORT]"
                );
                std::process::exit(2);
            }
        }
    }
    let listener = match TcpListener::bind(&listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {listen}: {error}");
            std::process::exit(1);
        }
    };
    match listener.local_addr() {
        Ok(addr) => eprintln!("fake Kubernetes API server on http://{addr}"),
        Err(_) => eprintln!("fake Kubernetes API server on http://{listen}"),
    }
    serve(listener).await;
}
