//! Our Kubernetes client (spdy-client) against our streaming server (the
//! `kube_streaming` example's fake API server, over TCP on 127.0.0.1):
//! exec in every protocol version, stdin and stdout by the megabyte, a
//! terminal with resize, failures, and port-forward with many connections.

#[path = "../examples/kube_streaming.rs"]
#[allow(dead_code, missing_docs)]
mod kube_streaming;

use std::net::SocketAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};
use spdy_client::kube::{
    ExecError, ExecOutcome, ExecRequest, ForwardError, PortForwarder, RemoteCommandProtocol,
    TerminalSize,
};
use spdy_client::upgrade::UpgradeError;
use spdy_core::driver::RecvStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

async fn start() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(kube_streaming::serve(listener));
    format!("http://{addr}/api/v1/namespaces/default/pods/demo")
}

async fn read_all(stream: Option<RecvStream>) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(mut stream) = stream {
        stream.read_to_end(&mut out).await.expect("read");
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_reports_the_exit_code_in_every_protocol_version() {
    timeout(LIMIT, async {
        let pod = start().await;
        let script = ["sh", "-c", "echo out; echo err >&2; exit 3"];
        for protocol in ["v5.channel.k8s.io", "v4.channel.k8s.io"] {
            let mut command = ExecRequest::command(script)
                .protocols([protocol])
                .start_tcp(&format!("{pod}/exec"))
                .await
                .expect("exec");
            assert_eq!(command.protocol.name(), protocol);
            let (stdout, stderr) = tokio::join!(
                read_all(command.stdout.take()),
                read_all(command.stderr.take())
            );
            assert_eq!(stdout, b"out\n");
            assert_eq!(stderr, b"err\n");
            assert_eq!(
                command.status().await.expect("status"),
                ExecOutcome::Exited(3)
            );
        }
        // Before v4 the error stream carries text and no exit code.
        for protocol in ["v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"] {
            let mut command = ExecRequest::command(script)
                .protocols([protocol])
                .start_tcp(&format!("{pod}/exec"))
                .await
                .expect("exec");
            let (stdout, _) = tokio::join!(
                read_all(command.stdout.take()),
                read_all(command.stderr.take())
            );
            assert_eq!(stdout, b"out\n", "{protocol}");
            match command.status().await.expect("status") {
                ExecOutcome::Failed(message) => {
                    assert!(message.contains("exit status 3"), "{message}")
                }
                other => panic!("{protocol}: {other:?}"),
            }
        }
        // The client's preference among what the server supports: v5.
        let command = ExecRequest::command(["true"])
            .start_tcp(&format!("{pod}/exec"))
            .await
            .expect("exec");
        assert_eq!(command.protocol, RemoteCommandProtocol::V5);
        let (_, _, status) = {
            let mut command = command;
            let out = read_all(command.stdout.take()).await;
            let err = read_all(command.stderr.take()).await;
            (out, err, command.status().await)
        };
        assert_eq!(status.expect("status"), ExecOutcome::Success);
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_carries_megabytes_through_stdin_and_stdout() {
    timeout(LIMIT, async {
        let pod = start().await;
        let mut command = ExecRequest::command(["cat"])
            .stdin(true)
            .start_tcp(&format!("{pod}/exec"))
            .await
            .expect("exec");
        let input: Vec<u8> = (0..8 * 1024 * 1024u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut stdin = command.stdin.take().expect("stdin");
        let writer = tokio::spawn({
            let input = input.clone();
            async move {
                for chunk in input.chunks(256 * 1024) {
                    stdin.write_all(chunk).await.expect("stdin");
                }
                stdin.finish().await.expect("close stdin");
            }
        });
        let (stdout, stderr) = tokio::join!(
            read_all(command.stdout.take()),
            read_all(command.stderr.take())
        );
        writer.await.expect("writer");
        assert!(stderr.is_empty());
        assert_eq!(stdout.len(), input.len());
        assert_eq!(Sha256::digest(&stdout), Sha256::digest(&input));
        assert_eq!(
            command.status().await.expect("status"),
            ExecOutcome::Success
        );
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_takes_the_size_sent_on_the_resize_stream() {
    timeout(LIMIT, async {
        let pod = start().await;
        let mut command = ExecRequest::command(["sh", "-c", "stty size; exit 5"])
            .tty(true)
            .start_tcp(&format!("{pod}/exec"))
            .await
            .expect("exec");
        assert!(command.stderr.is_none());
        command
            .resize(TerminalSize {
                width: 111,
                height: 33,
            })
            .await
            .expect("resize");
        let out = read_all(command.stdout.take()).await;
        let out = String::from_utf8_lossy(&out);
        assert!(out.contains("33 111"), "{out:?}");
        assert_eq!(
            command.status().await.expect("status"),
            ExecOutcome::Exited(5)
        );
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_reported_clearly() {
    timeout(LIMIT, async {
        let pod = start().await;
        // A command that cannot run: an internal error with the reason.
        let mut command = ExecRequest::command(["/nonexistent/program"])
            .start_tcp(&format!("{pod}/exec"))
            .await
            .expect("exec");
        let _ = read_all(command.stdout.take()).await;
        let _ = read_all(command.stderr.take()).await;
        match command.status().await.expect("status") {
            ExecOutcome::Failed(message) => {
                assert!(message.starts_with("Internal error occurred: cannot run"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        // No channel at all: the server refuses the upgrade with 400.
        let error = ExecRequest::command(["true"])
            .stdout(false)
            .stderr(false)
            .start_tcp(&format!("{pod}/exec"))
            .await
            .expect_err("refused");
        match error {
            ExecError::Upgrade(UpgradeError::Refused { status, body, .. }) => {
                assert_eq!(status, 400);
                assert!(body.contains("at least 1 of stdin, stdout, stderr"), "{body}");
            }
            other => panic!("{other:?}"),
        }
        // A protocol the server does not speak: 403.
        let error = ExecRequest::command(["true"])
            .protocols(["v9.channel.k8s.io"])
            .start_tcp(&format!("{pod}/exec"))
            .await
            .expect_err("refused");
        assert!(
            matches!(&error, ExecError::Upgrade(UpgradeError::Refused { status, .. }) if *status == 403),
            "{error:?}"
        );
    })
    .await
    .expect("timed out");
}

/// An echo server on 127.0.0.1: echoes each connection until EOF.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = tcp.into_split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown().await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_forward_relays_many_connections_at_once() {
    timeout(LIMIT, async {
        let pod = start().await;
        let echo = echo_server().await;
        let forwarder = std::sync::Arc::new(
            PortForwarder::connect_tcp(&format!("{pod}/portforward"))
                .await
                .expect("port-forward"),
        );
        // 100 forwarded connections at once on one session, each with its
        // own payload, through the AsyncRead + AsyncWrite stream.
        let mut tasks = Vec::new();
        for i in 0..100usize {
            let forwarder = forwarder.clone();
            tasks.push(tokio::spawn(async move {
                let mut stream = forwarder.open(echo.port()).await.expect("open");
                let payload: Vec<u8> = (0..(1000 + i * 997)).map(|j| (i + j) as u8).collect();
                let (mut r, mut w) = tokio::io::split(&mut stream);
                let write = async {
                    w.write_all(&payload).await.expect("write");
                    w.shutdown().await.expect("fin");
                };
                let mut back = Vec::new();
                let read = r.read_to_end(&mut back);
                let (_, read) = tokio::join!(write, read);
                read.expect("read");
                assert_eq!(back, payload, "connection {i}");
                let (_, mut error) = stream.into_parts();
                spdy_client::kube::PortForwardStream::remote_error(&mut error, echo.port())
                    .await
                    .expect("no remote error");
            }));
        }
        for task in tasks {
            task.await.expect("connection");
        }

        // A local listener, like `kubectl port-forward LOCAL:REMOTE`.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let local = listener.local_addr().expect("addr");
        let f = forwarder.clone();
        let forwarding = tokio::spawn(async move { f.forward(listener, echo.port()).await });
        let mut clients = Vec::new();
        for i in 0..10usize {
            clients.push(tokio::spawn(async move {
                let mut tcp = TcpStream::connect(local).await.expect("connect");
                let payload = vec![i as u8; 300_000];
                tcp.write_all(&payload).await.expect("write");
                tcp.shutdown().await.expect("half-close");
                let mut back = Vec::new();
                tcp.read_to_end(&mut back).await.expect("read");
                assert_eq!(back, payload);
            }));
        }
        for client in clients {
            client.await.expect("client");
        }
        forwarding.abort();

        // A port nobody listens on: the server says so on the error stream.
        let closed = {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            listener.local_addr().expect("addr").port()
        };
        let stream = forwarder.open(closed).await.expect("open");
        let (data, mut error) = stream.into_parts();
        let result = spdy_client::kube::PortForwardStream::remote_error(&mut error, closed).await;
        drop(data);
        match result {
            Err(ForwardError::Remote { message, .. }) => {
                assert!(
                    message.contains(&format!("error forwarding port {closed}")),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }

        // The same through relay, as `forward` does: the server resets the
        // data stream before it writes why, and the user gets the why.
        let stream = forwarder.open(closed).await.expect("open");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let local = listener.local_addr().expect("addr");
        let _client = TcpStream::connect(local).await.expect("connect");
        let (accepted, _) = listener.accept().await.expect("accept");
        match stream.relay(accepted).await {
            Err(ForwardError::Remote { message, .. }) => {
                assert!(
                    message.contains(&format!("error forwarding port {closed}")),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
    })
    .await
    .expect("timed out");
}

/// The example's API server behind TLS (a self-signed certificate for
/// `localhost`, ALPN `http/1.1`, as API servers offer for the upgrade).
async fn start_tls() -> (String, std::sync::Arc<rustls::ClientConfig>) {
    use hyper_util::rt::TokioIo;
    let cert = spdy_server::tls::self_signed(&["localhost"]).expect("certificate");
    let mut server_config = (*cert.config).clone();
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(server_config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let local = listener.local_addr().expect("addr");
    let server = spdy_server::kube::StreamingServer::new(kube_streaming::LocalRuntime);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let server = server.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |request| {
                    let response = kube_streaming::route(&server, request, local);
                    async move { Ok::<_, std::convert::Infallible>(response) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    let client_config =
        spdy_client::tls::tls_config_with_roots([cert.certificate.clone()]).expect("roots");
    (
        format!(
            "https://localhost:{}/api/v1/namespaces/default/pods/demo",
            local.port()
        ),
        client_config,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_and_port_forward_over_tls() {
    timeout(LIMIT, async {
        let (pod, tls) = start_tls().await;
        let mut command = ExecRequest::command(["sh", "-c", "echo over tls; exit 2"])
            .start_tls(&format!("{pod}/exec"), tls.clone())
            .await
            .expect("exec over TLS");
        let (stdout, _) = tokio::join!(
            read_all(command.stdout.take()),
            read_all(command.stderr.take())
        );
        assert_eq!(stdout, b"over tls\n");
        assert_eq!(
            command.status().await.expect("status"),
            ExecOutcome::Exited(2)
        );

        let echo = echo_server().await;
        let forwarder = PortForwarder::connect_tls(&format!("{pod}/portforward"), tls)
            .await
            .expect("port-forward over TLS");
        let mut stream = forwarder.open(echo.port()).await.expect("open");
        stream.write_all(b"through tls").await.expect("write");
        stream.shutdown().await.expect("fin");
        let mut back = Vec::new();
        stream.read_to_end(&mut back).await.expect("read");
        assert_eq!(back, b"through tls");
    })
    .await
    .expect("timed out");
}
