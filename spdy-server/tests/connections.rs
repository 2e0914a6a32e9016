//! How many connections a server holds: `max_connections` makes new
//! clients wait in the backlog instead of exhausting the server, and
//! hundreds of idle connections neither block new clients nor stay
//! (catalogue case 93).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{start, within};
use spdy_client::{Body, Client, ClientConfig};
use spdy_server::{ServerConfig, handler_fn};

fn hello() -> impl spdy_server::Handler {
    handler_fn(|_request: http::Request<Body>| async move { http::Response::new(Body::from("hi")) })
}

async fn fetch(client: &Client) -> Result<bytes::Bytes, String> {
    let request = http::Request::get("/").body(Body::empty()).unwrap();
    let mut response = client.send(request).await.map_err(|e| e.to_string())?;
    response
        .body_mut()
        .bytes(1024)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn at_the_limit_a_new_client_waits_for_a_connection_to_end() {
    let config = ServerConfig {
        max_connections: 2,
        ..ServerConfig::default()
    };
    let (server, addr, _task) = start(hello(), config).await;
    let first = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    let second = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    assert_eq!(within(fetch(&first)).await.unwrap(), "hi");
    assert_eq!(within(fetch(&second)).await.unwrap(), "hi");

    // The third connects (the kernel's backlog completes the handshake)
    // but is not served while two connections are open.
    let third = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    let waiting = tokio::spawn(async move { fetch(&third).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "served beyond max_connections");
    assert_eq!(server.connections(), 2);

    // One ends: the third is accepted and served.
    first.close(Duration::from_secs(5)).await;
    drop(first);
    assert_eq!(within(waiting).await.unwrap().unwrap(), "hi");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_idle_connections_neither_block_new_clients_nor_stay() {
    let config = ServerConfig {
        handshake_timeout: Duration::from_secs(1),
        ..ServerConfig::default()
    };
    let (server, addr, _task) = start(hello(), config).await;
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let client = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    assert_eq!(within(fetch(&client)).await.unwrap(), "hi");

    // Connections that never said a byte are dropped after the handshake
    // timeout; the served client's stays.
    within(async {
        while server.connections() > 1 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert_eq!(within(fetch(&client)).await.unwrap(), "hi");
}
