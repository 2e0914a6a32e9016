//! A long poll under the default configurations, in virtual time: the
//! server answers after 90 s of silence on the stream and the client gets
//! the answer, because the client's default session has no per-stream
//! receive timeout (its own 60 s reply timeout is raised here, as a long-poll
//! client does); the server's default receive timeout does not apply to a
//! stream whose request is complete.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use spdy_client::{Body, Client, ClientConfig};
use spdy_server::{ServerConfig, handler_fn, serve_connection};

#[tokio::test(start_paused = true)]
async fn a_reply_after_ninety_silent_seconds_arrives() {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let handler = handler_fn(|_request: http::Request<Body>| async move {
        tokio::time::sleep(Duration::from_secs(90)).await;
        http::Response::new(Body::from("news"))
    });
    tokio::spawn(serve_connection(
        server_io,
        handler,
        ServerConfig::default(),
    ));
    let config = ClientConfig {
        response_timeout: Duration::from_secs(300),
        ..ClientConfig::default()
    };
    let client = Client::new(client_io, config);
    let request = http::Request::get("http://example.test/poll")
        .body(Body::empty())
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut response = client.send(request).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(90));
    assert_eq!(response.body_mut().bytes(1024).await.unwrap(), "news");
}
