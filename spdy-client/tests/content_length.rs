//! A response body must be as long as its content-length says: shorter
//! (FIN early) or longer fails the read and resets the stream with
//! PROTOCOL_ERROR. Answers whose content-length describes no body (to
//! HEAD; 204, 304) end cleanly without one.

#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use spdy_client::{Body, Client, ClientConfig, RecvBody};
use spdy_core::driver::{self, DriverConfig, RecvStream, SendStream, SessionHandle, connect};
use spdy_core::frame::RstStatus;
use spdy_core::header::HeaderBlock;
use spdy_core::session::{OpenStream, ResetOrigin, Role, SessionConfig};

const LIMIT: Duration = Duration::from_secs(10);

async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(LIMIT, future)
        .await
        .expect("the test took too long")
}

/// A reply head: `status` and, if given, a content-length.
fn reply(status: &str, length: Option<&str>) -> HeaderBlock {
    let mut block = HeaderBlock::new();
    block.push(":status", status.to_owned());
    block.push(":version", "HTTP/1.1");
    if let Some(length) = length {
        block.push("content-length", length.to_owned());
    }
    block
}

/// A client whose peer is a raw SPDY server running `serve` on the session.
fn client_against<F, Fut>(
    config: ClientConfig,
    serve: F,
) -> (Client, tokio::task::JoinHandle<Fut::Output>)
where
    F: FnOnce(SessionHandle) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (server, connection) = connect(
        theirs,
        Role::Server,
        SessionConfig::default(),
        DriverConfig::default(),
    );
    tokio::spawn(connection);
    let peer = tokio::spawn(serve(server));
    (Client::new(ours, config), peer)
}

/// Accepts one stream and replies with `head` (no FIN).
async fn accept_and_reply(server: &SessionHandle, head: HeaderBlock) -> (SendStream, RecvStream) {
    let incoming = server.accept().await.unwrap();
    incoming.reply(head, false).unwrap()
}

/// A request body that never ends: the client's half of the stream stays
/// open, so the server sees the client's reset on it.
fn endless_body() -> Body {
    struct Never;
    impl futures_core::Stream for Never {
        type Item = Result<Bytes, std::io::Error>;
        fn poll_next(
            self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Pending
        }
    }
    Body::from_stream(Never)
}

fn post() -> http::Request<Body> {
    http::Request::post("http://example.test/")
        .body(endless_body())
        .unwrap()
}

/// Reads the body to its end: the bytes, or the first error.
async fn read_all(body: &mut RecvBody) -> Result<Bytes, driver::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = body.data().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out.into())
}

/// A body error about the length: (stream, declared, received).
fn length_error(error: &driver::Error) -> (u32, u64, u64) {
    match error {
        driver::Error::ContentLength {
            stream_id,
            declared,
            received,
        } => (stream_id.get(), *declared, *received),
        other => panic!("not a length error: {other:?}"),
    }
}

/// What the server's request-body read saw: the client's reset.
fn assert_reset_by_client(seen: Option<Result<Bytes, driver::Error>>) {
    assert!(
        matches!(
            seen,
            Some(Err(driver::Error::Reset {
                status: RstStatus::ProtocolError,
                origin: ResetOrigin::Peer,
                ..
            }))
        ),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_body_ending_short_of_its_content_length_fails_and_resets() {
    let (client, peer) = client_against(ClientConfig::default(), |server| async move {
        let (mut send, mut recv) = accept_and_reply(&server, reply("200 OK", Some("10"))).await;
        send.send_last(Bytes::from_static(b"hello")).await.unwrap();
        recv.data().await
    });
    let mut response = within(client.send(post())).await.unwrap();
    assert_eq!(response.status(), 200);
    let error = within(read_all(response.body_mut())).await.unwrap_err();
    assert_eq!(length_error(&error), (1, 10, 5));
    assert!(!error.is_retryable());
    assert_reset_by_client(within(peer).await.unwrap());
}

#[tokio::test]
async fn a_body_going_past_its_content_length_fails_and_resets() {
    let (client, peer) = client_against(ClientConfig::default(), |server| async move {
        let (mut send, mut recv) = accept_and_reply(&server, reply("200 OK", Some("5"))).await;
        send.send_data(Bytes::from_static(b"hello world"))
            .await
            .unwrap();
        recv.data().await
    });
    let mut response = within(client.send(post())).await.unwrap();
    let error = within(read_all(response.body_mut())).await.unwrap_err();
    assert_eq!(length_error(&error), (1, 5, 11));
    assert_reset_by_client(within(peer).await.unwrap());
}

#[tokio::test]
async fn a_reply_with_fin_and_a_content_length_is_a_missing_body() {
    let (client, _peer) = client_against(ClientConfig::default(), |server| async move {
        let incoming = server.accept().await.unwrap();
        let _ = incoming.reply(reply("200 OK", Some("5")), true).unwrap();
        server
    });
    let request = http::Request::get("http://example.test/")
        .body(Body::empty())
        .unwrap();
    let mut response = within(client.send(request)).await.unwrap();
    let error = within(read_all(response.body_mut())).await.unwrap_err();
    assert_eq!(length_error(&error), (1, 5, 0));
}

#[tokio::test]
async fn a_body_of_the_declared_length_ends_cleanly() {
    let (client, _peer) = client_against(ClientConfig::default(), |server| async move {
        let (mut send, _recv) = accept_and_reply(&server, reply("200 OK", Some("5"))).await;
        send.send_data(Bytes::from_static(b"hel")).await.unwrap();
        send.send_last(Bytes::from_static(b"lo")).await.unwrap();
        server
    });
    let request = http::Request::get("http://example.test/")
        .body(Body::empty())
        .unwrap();
    let mut response = within(client.send(request)).await.unwrap();
    assert_eq!(
        within(read_all(response.body_mut())).await.unwrap(),
        "hello"
    );
}

/// Answers with `status`, `content-length: 100` and FIN: no body.
async fn bodiless_answer(
    method: http::Method,
    status: &'static str,
) -> Result<Bytes, driver::Error> {
    let (client, _peer) = client_against(ClientConfig::default(), move |server| async move {
        let incoming = server.accept().await.unwrap();
        let _ = incoming.reply(reply(status, Some("100")), true).unwrap();
        server
    });
    let request = http::Request::builder()
        .method(method)
        .uri("http://example.test/")
        .body(Body::empty())
        .unwrap();
    let mut response = within(client.send(request)).await.unwrap();
    assert_eq!(response.headers()["content-length"], "100");
    within(read_all(response.body_mut())).await
}

#[tokio::test]
async fn the_content_length_of_a_head_answer_describes_no_body() {
    assert_eq!(
        bodiless_answer(http::Method::HEAD, "200 OK").await.unwrap(),
        ""
    );
}

#[tokio::test]
async fn the_content_length_of_a_304_or_204_describes_no_body() {
    assert_eq!(
        bodiless_answer(http::Method::GET, "304 Not Modified")
            .await
            .unwrap(),
        ""
    );
    assert_eq!(
        bodiless_answer(http::Method::GET, "204 No Content")
            .await
            .unwrap(),
        ""
    );
}

#[tokio::test]
async fn a_pushed_body_short_of_its_content_length_fails() {
    let config = ClientConfig::default().accept_pushes(4);
    let (client, _peer) = client_against(config, |server| async move {
        let (mut send, _recv) = accept_and_reply(&server, reply("200 OK", None)).await;
        let mut promise = HeaderBlock::new();
        promise.push(":scheme", "http");
        promise.push(":host", "example.test");
        promise.push(":path", "/pushed");
        let (mut pushed, _) = server
            .open_stream(OpenStream::new(promise).pushed_for(send.id()))
            .await
            .unwrap();
        pushed
            .send_headers(reply("200 OK", Some("10")), false)
            .unwrap();
        pushed.send_last(Bytes::from_static(b"abc")).await.unwrap();
        send.send_last(Bytes::from_static(b"main")).await.unwrap();
        server
    });
    let request = http::Request::get("http://example.test/")
        .body(Body::empty())
        .unwrap();
    let mut response = within(client.send(request)).await.unwrap();
    assert_eq!(within(read_all(response.body_mut())).await.unwrap(), "main");
    let mut pushed = within(client.next_push()).await.unwrap();
    let error = within(read_all(pushed.response.body_mut()))
        .await
        .unwrap_err();
    assert_eq!(length_error(&error), (2, 10, 3));
}
