//! Our client against our server over TCP on 127.0.0.1: bodies both ways,
//! many concurrent requests, ping, graceful close, failures that surface on
//! every pending request, retryable refusals, a client that vanishes.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{LIMIT, payload, sha256, start, within};
use http::{Request, Response, StatusCode};
use spdy_client::{Body, Client, ClientConfig};
use spdy_core::driver::{DriverConfig, connect};
use spdy_core::frame::RstStatus;
use spdy_core::session::{Role, SessionConfig};
use spdy_server::{Handler, ResponseWriter, ServerConfig, StreamInfo, WriteError, handler_fn};
use tokio::sync::{Notify, mpsc};

/// GET /bytes/N: N pseudo-random bytes (seed N) in 64 KiB writes;
/// POST /echo: the body back, streamed chunk by chunk; /headers: request
/// headers as text; anything else 404.
struct TestHandler;

impl Handler for TestHandler {
    async fn serve(&self, request: Request<Body>, response: &mut ResponseWriter) {
        let path = request.uri().path().to_owned();
        if let Some(n) = path.strip_prefix("/bytes/") {
            let n: usize = n.parse().unwrap();
            let body = payload(n as u32, n);
            response
                .headers_mut()
                .insert("content-length", n.to_string().parse().unwrap());
            for chunk in body.chunks(64 * 1024) {
                if response.write(Bytes::copy_from_slice(chunk)).await.is_err() {
                    return;
                }
            }
        } else if path == "/echo" {
            let mut body = request.into_body();
            response
                .headers_mut()
                .insert("content-type", "application/octet-stream".parse().unwrap());
            use http_body_util::BodyExt;
            while let Some(frame) = body.frame().await {
                let Ok(frame) = frame else { return };
                if let Ok(data) = frame.into_data()
                    && response.write(data).await.is_err()
                {
                    return;
                }
            }
        } else if path == "/headers" {
            let mut text = format!(
                "{} {} {:?}\n",
                request.method(),
                request.uri(),
                request.version()
            );
            for (name, value) in request.headers() {
                text.push_str(&format!("{name}: {}\n", value.to_str().unwrap()));
            }
            if let Some(info) = request.extensions().get::<StreamInfo>() {
                text.push_str(&format!("stream: {}\n", info.stream_id));
            }
            let _ = response.write(text).await;
        } else {
            response.set_status(StatusCode::NOT_FOUND);
        }
    }
}

async fn get(client: &Client, path: &str) -> Response<spdy_client::RecvBody> {
    let request = Request::get(format!("http://test.local{path}"))
        .body(Body::empty())
        .unwrap();
    client.send(request).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_post_and_headers_over_tcp() {
    let (_server, addr, _task) = start(TestHandler, ServerConfig::default()).await;
    let client = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    within(async {
        // A 5 MB response, several windows' worth.
        let mut response = get(&client, "/bytes/5000000").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-length"], "5000000");
        let body = response.body_mut().bytes(8_000_000).await.unwrap();
        assert_eq!(sha256(&body), sha256(&payload(5_000_000, 5_000_000)));

        // A 3 MB request body streamed in pieces, echoed back.
        let sent = payload(7, 3_000_000);
        let chunks: Vec<Result<Bytes, std::io::Error>> = sent
            .chunks(100_000)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let stream = tokio_stream_from(chunks);
        let request = Request::post("http://test.local/echo")
            .body(Body::from_stream(stream))
            .unwrap();
        let mut response = client.send(request).await.unwrap();
        let echoed = response.body_mut().bytes(8_000_000).await.unwrap();
        assert_eq!(sha256(&echoed), sha256(&sent));

        // Pseudo headers arrive as method, URI and Host; hop-by-hop headers do not.
        let request = Request::get("http://test.local/headers?q=1")
            .header("x-custom", "a")
            .header("x-custom", "b")
            .header("connection", "keep-alive, x-secret")
            .header("x-secret", "no")
            .header("te", "trailers")
            .body(Body::empty())
            .unwrap();
        let mut response = client.send(request).await.unwrap();
        let text = response.body_mut().bytes(4096).await.unwrap();
        let text = std::str::from_utf8(&text).unwrap();
        assert!(
            text.starts_with("GET http://test.local/headers?q=1 HTTP/1.1\n"),
            "{text}"
        );
        assert!(text.contains("host: test.local\n"), "{text}");
        assert!(text.contains("x-custom: a\nx-custom: b\n"), "{text}");
        assert!(
            !text.contains("x-secret") && !text.contains("connection") && !text.contains("te:"),
            "{text}"
        );
        assert!(text.contains("stream: 5\n"), "{text}");

        let response = get(&client, "/missing").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()["content-length"], "0");
    })
    .await;
}

/// A stream of ready items, without pulling in a stream crate.
fn tokio_stream_from<T: Send + 'static + Unpin>(
    items: Vec<T>,
) -> impl futures_core::Stream<Item = T> + Send + 'static {
    struct Items<T>(std::vec::IntoIter<T>);
    impl<T: Unpin> futures_core::Stream for Items<T> {
        type Item = T;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<T>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    Items(items.into_iter())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_requests_on_one_session() {
    let (_server, addr, _task) = start(TestHandler, ServerConfig::default()).await;
    let client = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    within(async {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..300u32 {
            let client = client.clone();
            tasks.spawn(async move {
                let len = (i as usize * 7919) % 50_000 + 1;
                if i % 2 == 0 {
                    let mut response = get(&client, &format!("/bytes/{len}")).await;
                    let body = response.body_mut().bytes(100_000).await.unwrap();
                    assert_eq!(body, payload(len as u32, len));
                } else {
                    let sent = payload(i, len);
                    let request = Request::post("http://test.local/echo")
                        .body(Body::from(sent.clone()))
                        .unwrap();
                    let mut response = client.send(request).await.unwrap();
                    assert_eq!(response.body_mut().bytes(100_000).await.unwrap(), sent);
                }
            });
        }
        while let Some(result) = tasks.join_next().await {
            result.unwrap();
        }
    })
    .await;
    // All on one session: stream ids went up to 599.
    assert!(client.session().close_reason().is_none());
}

#[tokio::test]
async fn ping_and_graceful_close() {
    let (_server, addr, _task) = start(TestHandler, ServerConfig::default()).await;
    let client = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    within(async {
        let rtt = client.ping(Duration::from_secs(5)).await.unwrap();
        assert!(rtt < Duration::from_secs(5));
        // A response in flight finishes across the close.
        let mut response = get(&client, "/bytes/2000000").await;
        let closing = {
            let client = client.clone();
            tokio::spawn(async move { client.close(LIMIT).await })
        };
        let body = response.body_mut().bytes(4_000_000).await.unwrap();
        assert_eq!(body.len(), 2_000_000);
        let reason = closing.await.unwrap();
        assert_eq!(reason, spdy_core::session::CloseReason::Graceful);
        // Nothing new after the close.
        let request = Request::get("http://test.local/")
            .body(Body::empty())
            .unwrap();
        assert!(client.send(request).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn ping_times_out_when_the_peer_is_silent() {
    // A peer that accepts the connection and never answers anything.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _silent = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        std::future::pending::<()>().await;
        drop(socket);
    });
    let client = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    let error = within(client.ping(Duration::from_millis(200)))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("timed out"), "{error}");
}

#[tokio::test]
async fn a_lost_session_fails_every_pending_request() {
    // Handlers that never answer, until the server side is cut.
    let entered = Arc::new(Notify::new());
    let (io_client, io_server) = tokio::io::duplex(64 * 1024);
    let (server, connection) = connect(
        io_server,
        Role::Server,
        SessionConfig::default(),
        DriverConfig::default(),
    );
    let server_task = tokio::spawn(connection);
    let accepted = {
        let entered = entered.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            for _ in 0..10 {
                held.push(server.accept().await.unwrap());
                entered.notify_one();
            }
            held
        })
    };
    let client = Client::new(io_client, ClientConfig::default());
    let mut pending = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let client = client.clone();
        pending.spawn(async move {
            let request = Request::get("http://test.local/")
                .body(Body::empty())
                .unwrap();
            client.send(request).await
        });
    }
    within(async {
        let held = accepted.await.unwrap();
        assert_eq!(held.len(), 10);
        // The connection dies.
        server_task.abort();
        let mut failures = 0;
        while let Some(result) = pending.join_next().await {
            let error = result.unwrap().unwrap_err();
            assert!(!error.is_retryable(), "{error}");
            failures += 1;
        }
        assert_eq!(failures, 10);
    })
    .await;
}

#[tokio::test]
async fn refused_and_goaway_refused_requests_are_retryable() {
    let (io_client, io_server) = tokio::io::duplex(64 * 1024);
    let (server, connection) = connect(
        io_server,
        Role::Server,
        SessionConfig::default(),
        DriverConfig::default(),
    );
    tokio::spawn(connection);
    let client = Client::new(io_client, ClientConfig::default());
    let refuser = tokio::spawn(async move {
        let incoming = server.accept().await.unwrap();
        incoming.refuse(RstStatus::RefusedStream);
        server
    });
    let request = Request::get("http://test.local/")
        .body(Body::empty())
        .unwrap();
    let error = within(client.send(request)).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");

    // After the server's GOAWAY the session drains and ends; a request
    // sent then never left: retryable too.
    let server = within(refuser).await.unwrap();
    server.goaway(spdy_core::frame::GoAwayStatus::Ok);
    within(client.closed()).await;
    let request = Request::get("http://test.local/")
        .body(Body::empty())
        .unwrap();
    let error = within(client.send(request)).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
}

/// Writes forever; reports how writing ended.
struct Endless(mpsc::Sender<WriteError>);

impl Handler for Endless {
    async fn serve(&self, _request: Request<Body>, response: &mut ResponseWriter) {
        let chunk = Bytes::from(vec![b'x'; 16 * 1024]);
        loop {
            if let Err(error) = response.write(chunk.clone()).await {
                let _ = self.0.send(error).await;
                return;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_vanishes_frees_the_stream_at_once() {
    let (tx, mut rx) = mpsc::channel(4);
    let (_server, addr, _task) = start(Endless(tx), ServerConfig::default()).await;

    // The client drops the response body mid-transfer: the stream is reset.
    let client = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    let mut response = get(&client, "/").await;
    let first = response.body_mut().data().await.unwrap().unwrap();
    assert!(!first.is_empty());
    drop(response);
    let error = within(rx.recv()).await.unwrap();
    assert!(matches!(error, WriteError::Stream(_)), "{error}");
    // The session goes on.
    client.ping(Duration::from_secs(5)).await.unwrap();

    // The client's connection disappears mid-response.
    let client = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    let mut response = get(&client, "/").await;
    response.body_mut().data().await.unwrap().unwrap();
    client.session().close();
    drop(response);
    drop(client);
    let error = within(rx.recv()).await.unwrap();
    assert!(matches!(error, WriteError::Stream(_)), "{error}");
}

#[tokio::test]
async fn handler_fn_and_http1_on_the_same_port() {
    let handler = handler_fn(|request: Request<Body>| async move {
        let body = request.into_body().to_bytes(1 << 20).await.unwrap();
        Response::builder()
            .header("x-len", body.len().to_string())
            .body(Body::from(body))
            .unwrap()
    });
    let (_server, addr, _task) = start(handler, ServerConfig::default()).await;
    within(async {
        // SPDY.
        let client = Client::connect(addr, ClientConfig::default())
            .await
            .unwrap();
        let request = Request::post("http://test.local/")
            .body(Body::from("spdy"))
            .unwrap();
        let mut response = client.send(request).await.unwrap();
        assert_eq!(response.headers()["x-len"], "4");
        assert_eq!(response.body_mut().bytes(64).await.unwrap(), "spdy");

        // HTTP/1.1 on the same plain port, sniffed.
        let mut sender = common::http1(addr).await;
        let request = Request::post("/")
            .header("host", "test.local")
            .body(http_body_util::Full::new(Bytes::from("http/1.1")))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.headers()["x-len"], "8");
        use http_body_util::BodyExt;
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "http/1.1");
    })
    .await;
}

/// Reads the request body and reports how reading ended.
struct BodyReader(mpsc::Sender<String>);

impl Handler for BodyReader {
    async fn serve(&self, request: Request<Body>, _response: &mut ResponseWriter) {
        let outcome = match request.into_body().to_bytes(1 << 20).await {
            Ok(body) => format!("{} bytes", body.len()),
            Err(error) => error.to_string(),
        };
        let _ = self.0.send(outcome).await;
    }
}

#[tokio::test]
async fn stalled_bodies_time_out_on_both_sides() {
    // A client that sends one chunk of its request body, then nothing.
    let (tx, mut outcomes) = mpsc::channel(2);
    let config = ServerConfig {
        body_idle_timeout: Some(Duration::from_millis(200)),
        ..ServerConfig::default()
    };
    let (_server, addr, _task) = start(BodyReader(tx), config).await;
    let client = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    let (chunks_tx, chunks_rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    chunks_tx.send(Ok(Bytes::from("first"))).await.unwrap();
    struct Chunks(mpsc::Receiver<Result<Bytes, std::io::Error>>);
    impl futures_core::Stream for Chunks {
        type Item = Result<Bytes, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            self.0.poll_recv(cx)
        }
    }
    let request = Request::post("http://test.local/")
        .body(Body::from_stream(Chunks(chunks_rx)))
        .unwrap();
    let sending = tokio::spawn(async move { client.send(request).await });
    let outcome = within(outcomes.recv()).await.unwrap();
    assert!(outcome.contains("timed out"), "{outcome}");
    // The stream was reset: the client's request fails.
    assert!(within(sending).await.unwrap().is_err());
    drop(chunks_tx);

    // A server that answers, sends one chunk, then nothing.
    let (io_client, io_server) = tokio::io::duplex(64 * 1024);
    let (server, connection) = connect(
        io_server,
        Role::Server,
        SessionConfig::default(),
        DriverConfig::default(),
    );
    tokio::spawn(connection);
    tokio::spawn(async move {
        let incoming = server.accept().await.unwrap();
        let mut reply = spdy_core::header::HeaderBlock::new();
        reply.push(":status", "200");
        reply.push(":version", "HTTP/1.1");
        let (mut send, _recv) = incoming.reply(reply, false).unwrap();
        send.send_data(Bytes::from("partial")).await.unwrap();
        std::future::pending::<()>().await;
    });
    let config = ClientConfig {
        body_idle_timeout: Some(Duration::from_millis(200)),
        ..ClientConfig::default()
    };
    let client = Client::new(io_client, config.authority("test.local"));
    let mut response = within(client.send(Request::get("/").body(Body::empty()).unwrap()))
        .await
        .unwrap();
    assert_eq!(
        within(response.body_mut().data()).await.unwrap().unwrap(),
        "partial"
    );
    let error = within(response.body_mut().data())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(error, spdy_core::driver::Error::Timeout);
}

#[tokio::test]
async fn bodiless_statuses_carry_no_content_length() {
    // RFC 9110 §8.6: never on 1xx or 204; on 304 only the 200's length.
    let handler = handler_fn(|request: Request<Body>| async move {
        let status = match request.uri().path() {
            "/204" => StatusCode::NO_CONTENT,
            "/304" => StatusCode::NOT_MODIFIED,
            _ => StatusCode::OK,
        };
        let mut response = Response::new(Body::empty());
        *response.status_mut() = status;
        response
    });
    let (_server, addr, _task) = start(handler, ServerConfig::default()).await;
    let client = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    within(async {
        for (path, status, length) in [
            ("/204", StatusCode::NO_CONTENT, None),
            ("/304", StatusCode::NOT_MODIFIED, None),
            ("/200", StatusCode::OK, Some("0")),
        ] {
            let response = get(&client, path).await;
            assert_eq!(response.status(), status);
            assert_eq!(
                response
                    .headers()
                    .get("content-length")
                    .map(|v| v.to_str().unwrap()),
                length,
                "{path}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn oversized_request_headers_are_refused_before_they_end_the_session() {
    let (_server, addr, _task) = start(TestHandler, ServerConfig::default()).await;
    let client = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    within(async {
        let request = Request::get("http://test.local/headers")
            .header("x-big", "b".repeat(80 * 1024))
            .body(Body::empty())
            .unwrap();
        let error = client.send(request).await.unwrap_err();
        assert!(
            matches!(error, spdy_client::Error::HeadersTooLarge { .. }),
            "{error}"
        );
        // The session, and every other request on it, carries on.
        let response = get(&client, "/headers").await;
        assert_eq!(response.status(), StatusCode::OK);
    })
    .await;
}
