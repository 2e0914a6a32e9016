//! The HTTP/1.1 fallback under faults: what a client sees when a handler
//! gives up, stalls or is cancelled.

#![allow(clippy::unwrap_used)]

mod common;

use std::future::Future;
use std::sync::Mutex;
use std::task::Poll;

use bytes::Bytes;
use common::{http1, start, within};
use http::Request;
use http_body_util::BodyExt;
use spdy_server::{Body, Handler, ResponseWriter, ServerConfig};
use tokio::sync::oneshot;

/// Streams a body of unknown length (chunked on HTTP/1.1) until a write has
/// to wait for the client, then aborts the response.
struct AbortWhenBlocked {
    aborted: Mutex<Option<oneshot::Sender<u64>>>,
}

impl Handler for AbortWhenBlocked {
    async fn serve(&self, _request: Request<Body>, response: &mut ResponseWriter) {
        let chunk = Bytes::from(vec![b'a'; 64 * 1024]);
        for _ in 0..4096 {
            let blocked = {
                let mut write = std::pin::pin!(response.write(chunk.clone()));
                std::future::poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx).is_pending())).await
            };
            if blocked {
                response.abort();
                break;
            }
        }
        if let Some(tx) = self.aborted.lock().unwrap().take() {
            let _ = tx.send(response.bytes_written());
        }
    }
}

#[tokio::test]
async fn an_aborted_chunked_response_is_not_a_complete_one() {
    let (aborted_tx, aborted_rx) = oneshot::channel();
    let handler = AbortWhenBlocked {
        aborted: Mutex::new(Some(aborted_tx)),
    };
    let (_server, addr, _task) = start(handler, ServerConfig::default()).await;
    let mut sender = http1(addr).await;
    let request = Request::get("/stream")
        .header("host", "localhost")
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let outcome = within(async {
        let response = sender.send_request(request).await?;
        assert!(response.headers().get("content-length").is_none());
        response.into_body().collect().await
    })
    .await;
    let written = within(aborted_rx).await.unwrap();
    assert!(written > 0);
    // The handler gave up with bytes still queued for the client: the
    // exchange must fail, never end in the chunked terminator.
    assert!(
        outcome.is_err(),
        "an aborted response arrived as a complete body of {} bytes",
        outcome.map(|b| b.to_bytes().len()).unwrap_or_default()
    );
}

/// Reads the request body and reports how that ended.
struct ReadBody {
    outcome: Mutex<Option<oneshot::Sender<Result<usize, String>>>>,
}

impl Handler for ReadBody {
    async fn serve(&self, request: Request<Body>, _response: &mut ResponseWriter) {
        let outcome = request
            .into_body()
            .to_bytes(1 << 20)
            .await
            .map(|b| b.len())
            .map_err(|e| e.to_string());
        if let Some(tx) = self.outcome.lock().unwrap().take() {
            let _ = tx.send(outcome);
        }
    }
}

#[tokio::test]
async fn a_request_body_that_stops_arriving_fails_after_the_idle_timeout() {
    use tokio::io::AsyncWriteExt;
    let (tx, rx) = oneshot::channel();
    let handler = ReadBody {
        outcome: Mutex::new(Some(tx)),
    };
    let config = ServerConfig {
        body_idle_timeout: Some(std::time::Duration::from_millis(200)),
        ..ServerConfig::default()
    };
    let (_server, addr, _task) = start(handler, config).await;
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    // Ten bytes promised, three sent, then silence with the connection open.
    socket
        .write_all(b"POST /upload HTTP/1.1\r\nhost: localhost\r\ncontent-length: 10\r\n\r\nabc")
        .await
        .unwrap();
    let outcome = within(rx).await.unwrap();
    assert!(outcome.is_err(), "the body read gave {outcome:?}");
    drop(socket);
}

/// Sends on its channel when dropped.
struct DropSignal(Option<oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// Writes until a write fails; says when it stops (an error, or its
/// future dropped).
struct Flood {
    stopped: Mutex<Option<oneshot::Sender<()>>>,
}

impl Handler for Flood {
    async fn serve(&self, _request: Request<Body>, response: &mut ResponseWriter) {
        let _stopped = DropSignal(self.stopped.lock().unwrap().take());
        let chunk = Bytes::from(vec![b'f'; 64 * 1024]);
        while response.write(chunk.clone()).await.is_ok() {}
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_is_let_go_after_the_write_timeout() {
    use tokio::io::AsyncWriteExt;
    let (tx, rx) = oneshot::channel();
    let handler = Flood {
        stopped: Mutex::new(Some(tx)),
    };
    let mut config = ServerConfig::default();
    config.driver.write_timeout = std::time::Duration::from_millis(300);
    let (_server, addr, _task) = start(handler, config).await;
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(b"GET /flood HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    // The client reads nothing, with its connection open: once the socket
    // buffers are full the server's writes make no progress at all.
    within(rx).await.unwrap();
    drop(socket);
}

/// Answers with what the handler saw: the URI and the header names.
fn what_the_handler_saw() -> impl Handler {
    spdy_server::handler_fn(|request: Request<Body>| async move {
        let mut names: Vec<&str> = request.headers().keys().map(|k| k.as_str()).collect();
        names.sort_unstable();
        http::Response::new(Body::from(format!("{} {names:?}", request.uri())))
    })
}

#[tokio::test]
async fn a_handler_sees_the_same_request_over_http1_and_spdy() {
    let (_server, addr, _task) = start(what_the_handler_saw(), ServerConfig::default()).await;
    let mut sender = http1(addr).await;
    let request = Request::get("/a?b=c")
        .header("host", "media.local:8443")
        .header("accept", "*/*")
        .header("connection", "keep-alive, x-private")
        .header("x-private", "1")
        .header("te", "trailers")
        .header("keep-alive", "timeout=5")
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let over_http1 = within(async {
        let response = sender.send_request(request).await.unwrap();
        response.into_body().collect().await.unwrap().to_bytes()
    })
    .await;

    let client = spdy_client::Client::connect(addr, spdy_client::ClientConfig::default())
        .await
        .unwrap();
    let request = Request::get("http://media.local:8443/a?b=c")
        .header("accept", "*/*")
        .body(spdy_client::Body::empty())
        .unwrap();
    let over_spdy = within(async {
        let mut response = client.send(request).await.unwrap();
        response.body_mut().bytes(1 << 16).await.unwrap()
    })
    .await;
    assert_eq!(
        over_http1,
        Bytes::from_static(b"http://media.local:8443/a?b=c [\"accept\", \"host\"]")
    );
    assert_eq!(over_http1, over_spdy);
}
