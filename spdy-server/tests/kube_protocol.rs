//! The streaming server's protocol edges, driven by raw streams from our
//! upgrade client (a peer that can misbehave, unlike kubectl): unknown and
//! repeated stream types, streams that never come, port-forward headers,
//! unpaired streams, and the WebSocket tunnel without kubectl.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_sink::Sink;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use spdy_client::upgrade::{UpgradeRequest, UpgradedSession};
use spdy_core::driver::{DriverConfig, Error, RecvStream, SessionHandle, StreamIo, connect};
use spdy_core::frame::RstStatus;
use spdy_core::header::HeaderBlock;
use spdy_core::session::{OpenStream, Role};
use spdy_server::kube::portforward::relay_tcp;
use spdy_server::kube::websocket::WebSocketBytes;
use spdy_server::kube::{
    ExecIo, ExitStatus, PodTarget, StreamingConfig, StreamingRuntime, StreamingServer,
};
use spdy_server::upgrade::upgraded_session_config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const LIMIT: Duration = Duration::from_secs(20);

/// Counts what it was asked to do; exec echoes its command on stdout.
#[derive(Clone, Default)]
struct Recorder {
    execs: Arc<AtomicUsize>,
}

impl StreamingRuntime for Recorder {
    async fn exec(&self, target: PodTarget, command: Vec<String>, io: ExecIo) -> ExitStatus {
        self.execs.fetch_add(1, Ordering::SeqCst);
        if let Some(mut stdout) = io.stdout {
            let line = format!(
                "{}/{} {:?}\n",
                target.pod,
                target.container.unwrap_or_default(),
                command
            );
            let _ = stdout.write_all(line.as_bytes()).await;
            let _ = stdout.shutdown().await;
        }
        ExitStatus::Exited(0)
    }

    async fn port_forward(
        &self,
        _target: PodTarget,
        port: u16,
        data: StreamIo,
    ) -> Result<(), String> {
        relay_tcp(data, ([127, 0, 0, 1], port).into())
            .await
            .map_err(|e| e.to_string())
    }
}

async fn start(config: StreamingConfig) -> (String, Recorder) {
    let recorder = Recorder::default();
    let server = StreamingServer::with_config(recorder.clone(), config);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let server = server.clone();
            tokio::spawn(async move {
                let service = service_fn(move |mut request: hyper::Request<Incoming>| {
                    let response = server.handle(&mut request).unwrap_or_else(|| {
                        let mut response =
                            hyper::Response::new(http_body_util::Full::new(Bytes::new()));
                        *response.status_mut() = hyper::StatusCode::NOT_FOUND;
                        response
                    });
                    async move { Ok::<_, Infallible>(response) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    (
        format!("http://{addr}/api/v1/namespaces/ns/pods/p"),
        recorder,
    )
}

fn short() -> StreamingConfig {
    StreamingConfig {
        stream_creation_timeout: Duration::from_millis(300),
        finish_timeout: Duration::from_secs(2),
        ..StreamingConfig::default()
    }
}

async fn upgrade(url: &str, protocols: &[&str]) -> UpgradedSession {
    UpgradeRequest::new(url.parse().expect("uri"))
        .protocols(protocols.iter().copied())
        .send_tcp()
        .await
        .expect("upgrade")
}

fn headers(pairs: &[(&str, &str)]) -> HeaderBlock {
    let mut block = HeaderBlock::new();
    for (name, value) in pairs {
        block.push(name.to_string(), value.to_string());
    }
    block
}

async fn open(
    session: &SessionHandle,
    pairs: &[(&str, &str)],
) -> Result<(spdy_core::driver::SendStream, RecvStream), Error> {
    let (send, mut recv) = session.open_stream(OpenStream::new(headers(pairs))).await?;
    recv.headers().await?;
    Ok((send, recv))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_repeated_and_unrequested_streams_are_refused() {
    timeout(LIMIT, async {
        let (pod, recorder) = start(short()).await;
        let up = upgrade(
            &format!("{pod}/exec?command=ls&command=-l&container=c&stdout=true"),
            &["v4.channel.k8s.io"],
        )
        .await;
        let s = &up.session;
        let (_e, mut error) = open(s, &[("streamtype", "error")])
            .await
            .expect("error stream");
        for bad in ["bogus", "error", "stdin", "resize", "data"] {
            let result = open(s, &[("streamtype", bad)]).await;
            assert!(
                matches!(
                    result,
                    Err(Error::Reset {
                        status: RstStatus::ProtocolError,
                        ..
                    })
                ),
                "{bad}: {result:?}"
            );
        }
        let (_o, mut stdout) = open(s, &[("streamtype", "stdout")])
            .await
            .expect("stdout stream");
        let mut out = String::new();
        stdout.read_to_string(&mut out).await.expect("stdout");
        assert_eq!(out, "p/c [\"ls\", \"-l\"]\n");
        let status = error.collect(4096).await.expect("status");
        assert_eq!(status, r#"{"metadata":{},"status":"Success"}"#);
        assert_eq!(recorder.execs.load(Ordering::SeqCst), 1);
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_opens_its_streams_is_closed_without_running_anything() {
    timeout(LIMIT, async {
        let (pod, recorder) = start(short()).await;
        let up = upgrade(
            &format!("{pod}/exec?command=ls&stdout=true&stderr=true"),
            &["v5.channel.k8s.io"],
        )
        .await;
        let _error = open(&up.session, &[("streamtype", "error")])
            .await
            .expect("error stream");
        // stdout and stderr never come: the server gives up after 300 ms.
        let reason = timeout(Duration::from_secs(5), up.session.closed())
            .await
            .expect("the server did not close the session");
        let _ = reason;
        assert_eq!(recorder.execs.load(Ordering::SeqCst), 0);
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_forward_checks_headers_and_pairs_streams_by_request_id() {
    timeout(LIMIT, async {
        let echo = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let echo_port = echo.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = tcp.into_split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                    let _ = w.shutdown().await;
                });
            }
        });
        let (pod, _) = start(short()).await;
        let up = upgrade(&format!("{pod}/portforward"), &["portforward.k8s.io"]).await;
        let s = &up.session;
        let port = echo_port.to_string();
        for bad in [
            vec![("streamtype", "data")],                            // no port
            vec![("streamtype", "data"), ("port", "0")],             // port 0
            vec![("streamtype", "data"), ("port", "70000")],         // not a port
            vec![("streamtype", "stdout"), ("port", port.as_str())], // wrong type
            vec![("port", port.as_str())],                           // no type
        ] {
            let result = open(s, &bad).await;
            assert!(
                matches!(
                    result,
                    Err(Error::Reset {
                        status: RstStatus::ProtocolError,
                        ..
                    })
                ),
                "{bad:?}: {result:?}"
            );
        }
        // Two pairs opened interleaved, matched by requestID.
        let (mut e1s, mut e1) = open(
            s,
            &[("streamtype", "error"), ("port", &port), ("requestid", "1")],
        )
        .await
        .expect("e1");
        let (mut e2s, mut e2) = open(
            s,
            &[("streamtype", "error"), ("port", &port), ("requestid", "2")],
        )
        .await
        .expect("e2");
        let (mut d2s, mut d2) = open(
            s,
            &[("streamtype", "data"), ("port", &port), ("requestid", "2")],
        )
        .await
        .expect("d2");
        let (mut d1s, mut d1) = open(
            s,
            &[("streamtype", "data"), ("port", &port), ("requestid", "1")],
        )
        .await
        .expect("d1");
        e1s.finish().await.expect("fin");
        e2s.finish().await.expect("fin");
        d1s.send_last("one".into()).await.expect("send");
        d2s.send_last("two".into()).await.expect("send");
        assert_eq!(d1.collect(64).await.expect("d1"), "one");
        assert_eq!(d2.collect(64).await.expect("d2"), "two");
        assert_eq!(e1.collect(64).await.expect("e1"), "");
        assert_eq!(e2.collect(64).await.expect("e2"), "");
        // A second data stream for the same pending request is refused.
        let _d4 = open(
            s,
            &[("streamtype", "data"), ("port", &port), ("requestid", "4")],
        )
        .await
        .expect("d4");
        let again = open(
            s,
            &[("streamtype", "data"), ("port", &port), ("requestid", "4")],
        )
        .await;
        assert!(
            matches!(
                again,
                Err(Error::Reset {
                    status: RstStatus::ProtocolError,
                    ..
                })
            ),
            "{again:?}"
        );
        let (_e3s, mut e3) = open(
            s,
            &[("streamtype", "error"), ("port", &port), ("requestid", "3")],
        )
        .await
        .expect("e3");
        // An error stream whose data stream never comes: after the timeout
        // the server says so on it.
        let message = e3.collect(1024).await.expect("e3");
        assert!(
            String::from_utf8_lossy(&message).contains("timed out waiting for streams"),
            "{message:?}"
        );
        let _ = StreamIo::new(d1s, d1);
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_forward_refuses_request_ids_longer_than_any_client_sends() {
    // Half pairs wait for their partner keyed by requestID; a peer must not
    // make each of them hold a header block's worth (64 KiB) of key.
    timeout(LIMIT, async {
        let (pod, _) = start(short()).await;
        let up = upgrade(&format!("{pod}/portforward"), &["portforward.k8s.io"]).await;
        let long = "7".repeat(4096);
        let result = open(
            &up.session,
            &[
                ("streamtype", "error"),
                ("port", "80"),
                ("requestid", &long),
            ],
        )
        .await;
        assert!(
            matches!(
                result,
                Err(Error::Reset {
                    status: RstStatus::ProtocolError,
                    ..
                })
            ),
            "{result:?}"
        );
        let usual = "18446744073709551615";
        let (_e, _recv) = open(
            &up.session,
            &[
                ("streamtype", "error"),
                ("port", "80"),
                ("requestid", usual),
            ],
        )
        .await
        .expect("a 20-digit requestID");
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_forward_through_the_websocket_tunnel_without_kubectl() {
    timeout(LIMIT, async {
        let echo = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let echo_port = echo.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = tcp.into_split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                    let _ = w.shutdown().await;
                });
            }
        });
        let (pod, _) = start(short()).await;
        let url = format!("{}/portforward", pod.replacen("http://", "ws://", 1));
        let mut request = url.as_str().into_client_request().expect("request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "SPDY/3.1+portforward.k8s.io".parse().expect("value"),
        );
        let authority = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .expect("authority")
            .to_owned();
        let tcp = tokio::net::TcpStream::connect(&authority)
            .await
            .expect("connect");
        let (ws, response) = tokio_tungstenite::client_async(request, tcp)
            .await
            .expect("handshake");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "SPDY/3.1+portforward.k8s.io"
        );
        let (session, connection) = connect(
            WebSocketBytes::new(ws),
            Role::Client,
            upgraded_session_config(),
            DriverConfig::default(),
        );
        tokio::spawn(connection);
        let port = echo_port.to_string();
        let mut tasks = Vec::new();
        for i in 0..20 {
            let session = session.clone();
            let port = port.clone();
            tasks.push(tokio::spawn(async move {
                let id = i.to_string();
                let (mut es, mut e) = open(
                    &session,
                    &[("streamtype", "error"), ("port", &port), ("requestid", &id)],
                )
                .await
                .expect("error");
                es.finish().await.expect("fin");
                let (mut ds, mut d) = open(
                    &session,
                    &[("streamtype", "data"), ("port", &port), ("requestid", &id)],
                )
                .await
                .expect("data");
                let payload: Vec<u8> = (0..200_000).map(|j| (i * 31 + j) as u8).collect();
                let writer = tokio::spawn({
                    let payload = payload.clone();
                    async move {
                        for chunk in payload.chunks(50_000) {
                            ds.send_data(Bytes::copy_from_slice(chunk))
                                .await
                                .expect("send");
                        }
                        ds.finish().await.expect("fin");
                    }
                });
                let back = d.collect(1 << 20).await.expect("data");
                writer.await.expect("writer");
                assert_eq!(back, payload);
                assert_eq!(e.collect(64).await.expect("error"), "");
            }));
        }
        for task in tasks {
            task.await.expect("tunnelled connection");
        }
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_over_websocket_is_refused_so_kubectl_falls_back() {
    timeout(LIMIT, async {
        let (pod, _) = start(short()).await;
        let url = format!(
            "{}/exec?command=ls&stdout=true",
            pod.replacen("http://", "ws://", 1)
        );
        let mut request = url.as_str().into_client_request().expect("request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "v5.channel.k8s.io".parse().expect("value"),
        );
        let authority = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .expect("authority")
            .to_owned();
        let tcp = tokio::net::TcpStream::connect(&authority)
            .await
            .expect("connect");
        match tokio_tungstenite::client_async(request, tcp).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 400);
                let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                    .to_string();
                assert!(body.contains("use SPDY/3.1"), "{body}");
            }
            other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
        }
        // A text message in the tunnel is a protocol error for the session.
        let url = format!("{}/portforward", pod.replacen("http://", "ws://", 1));
        let mut request = url.as_str().into_client_request().expect("request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "SPDY/3.1+portforward.k8s.io".parse().expect("value"),
        );
        let tcp = tokio::net::TcpStream::connect(&authority)
            .await
            .expect("connect");
        let (mut ws, _) = tokio_tungstenite::client_async(request, tcp)
            .await
            .expect("handshake");
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut ws).poll_ready(cx))
            .await
            .expect("ready");
        std::pin::Pin::new(&mut ws)
            .start_send(Message::text("not spdy"))
            .expect("send");
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut ws).poll_flush(cx))
            .await
            .expect("flush");
        // The server ends the connection.
        loop {
            match std::future::poll_fn(|cx| std::pin::Pin::new(&mut ws).poll_next(cx)).await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await
    .expect("timed out");
}

/// Sends on its channel when dropped.
struct DropSignal(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// A runtime whose commands and port-forwards wait on a pod that never
/// answers nor closes (holding their streams); says when one starts and
/// when its future is dropped.
struct StuckPod {
    started: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    dropped: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl StuckPod {
    /// Serves one connection with a stuck pod behind it: the address, and
    /// the signals for a command or forwarding started and dropped.
    async fn serve() -> (
        std::net::SocketAddr,
        tokio::sync::oneshot::Receiver<()>,
        tokio::sync::oneshot::Receiver<()>,
    ) {
        let (started_tx, started) = tokio::sync::oneshot::channel();
        let (dropped_tx, dropped) = tokio::sync::oneshot::channel();
        let runtime = StuckPod {
            started: std::sync::Mutex::new(Some(started_tx)),
            dropped: std::sync::Mutex::new(Some(dropped_tx)),
        };
        let server = StreamingServer::with_config(runtime, short());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.expect("accept");
            let service = service_fn(move |mut request: hyper::Request<Incoming>| {
                let response = server.handle(&mut request).expect("a pod path");
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .with_upgrades()
                .await;
        });
        (addr, started, dropped)
    }

    async fn stuck<T>(&self, _holding: T) -> ! {
        let _dropped = DropSignal(
            self.dropped
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
        if let Some(tx) = self
            .started
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = tx.send(());
        }
        std::future::pending().await
    }
}

impl StreamingRuntime for StuckPod {
    async fn exec(&self, _target: PodTarget, _command: Vec<String>, io: ExecIo) -> ExitStatus {
        self.stuck(io).await
    }

    async fn port_forward(
        &self,
        _target: PodTarget,
        _port: u16,
        data: StreamIo,
    ) -> Result<(), String> {
        self.stuck(data).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_end_with_their_session() {
    // A killed `kubectl exec -it sh`: the client goes away while the
    // command waits on its terminal. The runtime's future (and the process
    // it holds) must be dropped, not left waiting for ever.
    timeout(LIMIT, async {
        let (addr, started, dropped) = StuckPod::serve().await;
        let url = format!(
            "http://{addr}/api/v1/namespaces/ns/pods/p/exec?command=sh&stdin=true&stdout=true"
        );
        let up = upgrade(&url, &["v4.channel.k8s.io"]).await;
        let s = &up.session;
        let _error = open(s, &[("streamtype", "error")]).await.expect("error");
        let _stdin = open(s, &[("streamtype", "stdin")]).await.expect("stdin");
        let _stdout = open(s, &[("streamtype", "stdout")]).await.expect("stdout");
        started.await.expect("the command started");
        up.session.close();
        dropped.await.expect("the command outlived its session");
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_forwards_end_with_their_session() {
    timeout(LIMIT, async {
        let (addr, forwarding, dropped) = StuckPod::serve().await;
        let url = format!("http://{addr}/api/v1/namespaces/ns/pods/p/portforward");
        let up = upgrade(&url, &["portforward.k8s.io"]).await;
        let s = &up.session;
        let (_es, _e) = open(
            s,
            &[("streamtype", "error"), ("port", "80"), ("requestid", "1")],
        )
        .await
        .expect("error stream");
        let (_ds, _d) = open(
            s,
            &[("streamtype", "data"), ("port", "80"), ("requestid", "1")],
        )
        .await
        .expect("data stream");
        forwarding.await.expect("the forwarding started");
        // kubectl goes away: its session ends at once.
        up.session.close();
        dropped.await.expect("the forwarding outlived its session");
    })
    .await
    .expect("timed out");
}
