//! A reply that is not an HTTP response (no :status, no :version) fails
//! the request and resets the stream with PROTOCOL_ERROR, not CANCEL.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use spdy_client::{Body, Client, ClientConfig, Error};
use spdy_core::driver::{DriverConfig, connect};
use spdy_core::frame::RstStatus;
use spdy_core::header::HeaderBlock;
use spdy_core::session::{ResetOrigin, Role, SessionConfig};

async fn reply_with(headers: HeaderBlock, with_body: bool) {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (server, connection) = connect(
        theirs,
        Role::Server,
        SessionConfig::default(),
        DriverConfig::default(),
    );
    tokio::spawn(connection);
    let peer = tokio::spawn(async move {
        let incoming = server.accept().await.unwrap();
        let (mut send, _recv) = incoming.reply(headers, false).unwrap();
        // More than the client's window: the send is still pending when the
        // client resets the stream, and fails with the client's status.
        let sending = async {
            send.send_data(bytes::Bytes::from(vec![0u8; 4 << 20]))
                .await?;
            send.sent().await
        };
        sending.await.unwrap_err()
    });
    let client = Client::new(ours, ClientConfig::default());
    let body = if with_body {
        Body::from_stream(futures_stream_pending())
    } else {
        Body::empty()
    };
    let request = http::Request::post("http://example.test/")
        .body(body)
        .unwrap();
    let error = tokio::time::timeout(Duration::from_secs(10), client.send(request))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(error, Error::InvalidResponse { .. }), "{error}");
    let seen = tokio::time::timeout(Duration::from_secs(10), peer)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(
            seen,
            spdy_core::driver::Error::Reset {
                status: RstStatus::ProtocolError,
                origin: ResetOrigin::Peer,
                ..
            }
        ),
        "{seen:?}"
    );
}

/// A request body that never ends, so the body pump holds the sending half.
fn futures_stream_pending()
-> impl futures_core::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    struct Never;
    impl futures_core::Stream for Never {
        type Item = Result<bytes::Bytes, std::io::Error>;
        fn poll_next(
            self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Pending
        }
    }
    Never
}

#[tokio::test]
async fn a_reply_without_status_is_reset_with_protocol_error() {
    let mut headers = HeaderBlock::new();
    headers.push(":version", "HTTP/1.1");
    reply_with(headers, false).await;
}

#[tokio::test]
async fn a_reply_without_version_is_reset_with_protocol_error_while_the_body_streams() {
    let mut headers = HeaderBlock::new();
    headers.push(":status", "200");
    reply_with(headers, true).await;
}
