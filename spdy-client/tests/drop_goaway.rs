//! Dropping the last clone of a client ends its session gracefully: the
//! peer reads GOAWAY OK and then the end of the connection, not a cut.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use bytes::BytesMut;
use spdy_client::{Client, ClientConfig};
use spdy_core::frame::{Frame, FrameDecoder, GoAwayStatus};
use tokio::io::AsyncReadExt;

#[tokio::test]
async fn dropping_the_client_says_goaway_then_closes() {
    let (ours, mut peer) = tokio::io::duplex(64 * 1024);
    let client = Client::new(ours, ClientConfig::default());
    drop(client);
    let frames = tokio::time::timeout(Duration::from_secs(10), async move {
        let mut decoder = FrameDecoder::new();
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        loop {
            while let Some(frame) = decoder.decode(&mut buf).unwrap() {
                frames.push(frame);
            }
            if peer.read_buf(&mut buf).await.unwrap() == 0 {
                return frames;
            }
        }
    })
    .await
    .expect("the connection ends");
    assert!(
        matches!(
            frames.last(),
            Some(Frame::GoAway(goaway)) if goaway.status == GoAwayStatus::Ok
        ),
        "the last frame is GOAWAY OK: {frames:?}"
    );
}
