//! `IncomingStream::into_parts`: a server reads the request body before it
//! replies, and a responder dropped without replying resets the stream.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use bytes::Bytes;
use spdy_core::driver::{DriverConfig, Error, SessionHandle, connect};
use spdy_core::frame::RstStatus;
use spdy_core::header::HeaderBlock;
use spdy_core::session::{OpenStream, ResetOrigin, Role, SessionConfig};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

fn pair() -> (SessionHandle, SessionHandle) {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let (client, c) = connect(
        a,
        Role::Client,
        SessionConfig::default(),
        DriverConfig::default(),
    );
    tokio::spawn(c);
    let (server, s) = connect(
        b,
        Role::Server,
        SessionConfig::default(),
        DriverConfig::default(),
    );
    tokio::spawn(s);
    (client, server)
}

#[tokio::test]
async fn the_body_is_read_before_the_reply() {
    let (client, server) = pair();
    let server_task = tokio::spawn(async move {
        let incoming = server.accept().await.unwrap();
        let (responder, mut recv) = incoming.into_parts();
        // 3 MiB: more than one window, so credit must flow before any reply.
        let body = recv.collect(8 * 1024 * 1024).await.unwrap();
        let mut reply = HeaderBlock::new();
        reply.push(":status", "200");
        let mut send = responder.reply(reply, false).unwrap();
        send.send_last(Bytes::from(body.len().to_string()))
            .await
            .unwrap();
    });
    timeout(LIMIT, async {
        let (mut send, mut recv) = client
            .open_stream(OpenStream::new(HeaderBlock::new()))
            .await
            .unwrap();
        send.send_last(Bytes::from(vec![7u8; 3 * 1024 * 1024]))
            .await
            .unwrap();
        let headers = recv.headers().await.unwrap().unwrap();
        assert_eq!(headers.get_str(":status"), Some("200"));
        assert_eq!(recv.collect(64).await.unwrap(), "3145728");
        server_task.await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_dropped_responder_resets_the_stream() {
    let (client, server) = pair();
    let server_task = tokio::spawn(async move {
        let incoming = server.accept().await.unwrap();
        let (responder, mut recv) = incoming.into_parts();
        drop(responder);
        // Our own half learns the stream is gone.
        match recv.data().await {
            Some(Err(Error::Reset { status, .. })) => assert_eq!(status, RstStatus::Cancel),
            other => panic!("expected a reset, got {other:?}"),
        }
        server
    });
    timeout(LIMIT, async {
        let (_send, mut recv) = client
            .open_stream(OpenStream::new(HeaderBlock::new()))
            .await
            .unwrap();
        match recv.headers().await {
            Err(Error::Reset { status, origin, .. }) => {
                assert_eq!(status, RstStatus::Cancel);
                assert_eq!(origin, ResetOrigin::Peer);
            }
            other => panic!("expected a reset, got {other:?}"),
        }
        let server = server_task.await.unwrap();
        assert!(!server.is_open(spdy_core::frame::StreamId::new(1)));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn refuse_sends_the_given_status() {
    let (client, server) = pair();
    tokio::spawn(async move {
        let incoming = server.accept().await.unwrap();
        let (responder, _recv) = incoming.into_parts();
        responder.refuse(RstStatus::RefusedStream);
        std::future::pending::<()>().await;
    });
    let (_send, mut recv) = client
        .open_stream(OpenStream::new(HeaderBlock::new()))
        .await
        .unwrap();
    let error = timeout(LIMIT, recv.headers()).await.unwrap().unwrap_err();
    assert!(error.is_retryable(), "{error}");
}
