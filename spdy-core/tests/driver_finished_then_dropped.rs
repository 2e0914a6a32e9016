//! A stream whose sending half was finished and whose handles were then
//! dropped, while the peer is still sending: what was queued, FIN included,
//! must reach the peer before the stream is reset. (Found with Go
//! spdystream and kubectl: a server that writes its answer and stops
//! reading lost the last half-megabyte of it, or all of a short answer.)

use std::time::Duration;

use bytes::Bytes;
use spdy_core::driver::{DriverConfig, connect};
use spdy_core::header::HeaderBlock;
use spdy_core::session::{OpenStream, Role, SessionConfig};

#[tokio::test]
async fn queued_data_and_fin_go_out_before_the_reset() {
    let (client_io, server_io) = tokio::io::duplex(16 * 1024);
    let (client, connection) = connect(
        client_io,
        Role::Client,
        SessionConfig::default(),
        DriverConfig::default(),
    );
    tokio::spawn(connection);
    let (server, connection) = connect(
        server_io,
        Role::Server,
        SessionConfig::default(),
        DriverConfig::default(),
    );
    tokio::spawn(connection);

    let body: Bytes = (0..2 * 1024 * 1024u32)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<_>>()
        .into();
    let answer = body.clone();
    tokio::spawn(async move {
        let incoming = server.accept().await.expect("a stream");
        let (mut send, recv) = incoming.reply(HeaderBlock::new(), false).expect("reply");
        // Answer in full, then stop reading while the client still sends:
        // both halves are dropped before the client's FIN.
        send.send_last(answer).await.expect("queued");
        drop(recv);
        drop(send);
    });

    // The client never finishes its side. `send_last` returns once the last
    // piece is queued, so up to a send buffer's worth is still queued when
    // the server's handles go.
    let (mut send, mut recv) = client
        .open_stream(OpenStream::new(HeaderBlock::new()))
        .await
        .expect("open");
    send.send_data("still talking".into()).await.expect("send");
    recv.headers().await.expect("reply");
    let mut got = Vec::new();
    let outcome = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match recv.data().await {
                Some(Ok(chunk)) => got.extend_from_slice(&chunk),
                Some(Err(error)) => return Err(error),
                None => return Ok(()),
            }
        }
    })
    .await
    .expect("the stream did not end");
    assert_eq!(
        got.len(),
        body.len(),
        "bytes lost before the reset: {outcome:?}"
    );
    assert_eq!(got, body);
    assert!(
        outcome.is_ok(),
        "the FIN came before the reset: {outcome:?}"
    );
}
