//! Graceful shutdown: GOAWAY, transfers in flight finish, new requests are
//! refused (retryably), the deadline closes what is left.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{LIMIT, payload, sha256, start, within};
use http::Request;
use spdy_client::{Body, Client, ClientConfig};
use spdy_server::{Handler, ResponseWriter, ServerConfig};
use tokio::sync::mpsc;

/// GET /big: 8 MB; GET /forever: never finishes. Reports each start.
struct Slow(mpsc::Sender<String>);

impl Handler for Slow {
    async fn serve(&self, request: Request<Body>, response: &mut ResponseWriter) {
        let path = request.uri().path().to_owned();
        let _ = self.0.send(path.clone()).await;
        if path == "/big" {
            let body = payload(1, 8_000_000);
            for chunk in body.chunks(32 * 1024) {
                if response.write(Bytes::copy_from_slice(chunk)).await.is_err() {
                    return;
                }
            }
        } else {
            let _ = response.flush().await;
            std::future::pending::<()>().await;
        }
    }
}

fn get(path: &str) -> Request<Body> {
    Request::get(format!("http://test.local{path}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_in_flight_finish_and_new_requests_are_refused() {
    let (tx, mut started) = mpsc::channel(8);
    let (server, addr, serving) = start(Slow(tx), ServerConfig::default()).await;
    let client = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    within(async {
        let mut response = client.send(get("/big")).await.unwrap();
        assert_eq!(started.recv().await.unwrap(), "/big");
        // Read a little, then shut the server down mid-transfer.
        response.body_mut().data().await.unwrap().unwrap();
        let shutdown = {
            let server = server.clone();
            tokio::spawn(async move { server.shutdown(LIMIT).await })
        };
        // The client learns of the GOAWAY: new requests fail, retryably.
        loop {
            match client.send(get("/big")).await {
                Err(error) => {
                    assert!(error.is_retryable(), "{error}");
                    break;
                }
                // Sent before the GOAWAY arrived: it is served in full.
                Ok(mut extra) => {
                    extra.body_mut().bytes(10_000_000).await.unwrap();
                }
            }
        }
        // The transfer in flight completes, byte for byte.
        let mut received = Vec::new();
        while let Some(chunk) = response.body_mut().data().await {
            received.extend_from_slice(&chunk.unwrap());
        }
        // The first chunk was read above; compare the tail.
        let expected = payload(1, 8_000_000);
        assert_eq!(
            sha256(&received),
            sha256(&expected[expected.len() - received.len()..])
        );
        shutdown.await.unwrap();
        serving.await.unwrap().unwrap();
        assert_eq!(server.connections(), 0);
        // The listener is closed.
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn the_deadline_closes_what_is_left() {
    let (tx, mut started) = mpsc::channel(8);
    let (server, addr, serving) = start(Slow(tx), ServerConfig::default()).await;
    let client = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    within(async {
        let mut response = client.send(get("/forever")).await.unwrap();
        started.recv().await.unwrap();
        let begun = Instant::now();
        server.shutdown(Duration::from_millis(300)).await;
        assert!(begun.elapsed() < Duration::from_secs(5));
        serving.await.unwrap().unwrap();
        // The unfinished response fails: it does not look complete.
        let outcome = response.body_mut().data().await;
        assert!(matches!(outcome, Some(Err(_))), "{outcome:?}");
        client.closed().await;
    })
    .await;
}
