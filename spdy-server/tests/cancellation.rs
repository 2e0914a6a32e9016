//! A handler still running when its connection ends, or (on SPDY) when
//! its client resets its stream, is cancelled (its future dropped), on
//! SPDY/3.1 and on the HTTP/1.1 fallback: nothing it
//! does can reach the client any more, and a handler that waits for an
//! event (a long poll) must not outlive the connection, holding its task
//! and the session's state, until that event comes.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Mutex;

use common::{start, within};
use http::Request;
use spdy_client::Body;
use spdy_core::driver::{DriverConfig, RecvStream, SendStream, SessionHandle, connect};
use spdy_core::header::HeaderBlock;
use spdy_core::session::{CloseReason, OpenStream, Role, SessionConfig};
use spdy_server::{Handler, ResponseWriter, ServerConfig};
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;

/// Sends on its channel when dropped.
struct DropSignal(Option<oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// Says it started, then waits for an event that never comes; says when
/// its future is dropped.
struct LongPoll {
    started: Mutex<Option<oneshot::Sender<()>>>,
    dropped: Mutex<Option<oneshot::Sender<()>>>,
}

impl LongPoll {
    fn new() -> (Self, oneshot::Receiver<()>, oneshot::Receiver<()>) {
        let (started_tx, started_rx) = oneshot::channel();
        let (dropped_tx, dropped_rx) = oneshot::channel();
        let handler = LongPoll {
            started: Mutex::new(Some(started_tx)),
            dropped: Mutex::new(Some(dropped_tx)),
        };
        (handler, started_rx, dropped_rx)
    }
}

impl Handler for LongPoll {
    async fn serve(&self, _request: Request<Body>, _response: &mut ResponseWriter) {
        let _signal = DropSignal(self.dropped.lock().unwrap().take());
        if let Some(tx) = self.started.lock().unwrap().take() {
            let _ = tx.send(());
        }
        std::future::pending::<()>().await;
    }
}

/// A raw SPDY client of the server at `addr` with one `GET /poll` open:
/// the session, its connection task and the stream's halves.
async fn poll_over_spdy(
    addr: std::net::SocketAddr,
) -> (
    SessionHandle,
    tokio::task::JoinHandle<CloseReason>,
    SendStream,
    RecvStream,
) {
    let socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (client, connection) = connect(
        socket,
        Role::Client,
        SessionConfig::default(),
        DriverConfig::default(),
    );
    let connection = tokio::spawn(connection);
    let mut block = HeaderBlock::new();
    for (name, value) in [
        (":method", "GET"),
        (":path", "/poll"),
        (":version", "HTTP/1.1"),
        (":host", "test.local"),
        (":scheme", "http"),
    ] {
        block.push(name, value);
    }
    let (send, recv) = within(client.open_stream(OpenStream::new(block).fin(true)))
        .await
        .unwrap();
    (client, connection, send, recv)
}

#[tokio::test]
async fn a_spdy_handler_is_cancelled_when_its_connection_drops() {
    let (handler, started, dropped) = LongPoll::new();
    let (_server, addr, _task) = start(handler, ServerConfig::default()).await;
    let (_client, connection, _send, _recv) = poll_over_spdy(addr).await;
    within(started).await.unwrap();
    // The client vanishes: its connection task and socket are gone.
    connection.abort();
    within(dropped).await.unwrap();
}

#[tokio::test]
async fn an_http1_handler_is_cancelled_when_its_connection_drops() {
    let (handler, started, dropped) = LongPoll::new();
    let (_server, addr, _task) = start(handler, ServerConfig::default()).await;
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(b"GET /poll HTTP/1.1\r\nhost: test.local\r\n\r\n")
        .await
        .unwrap();
    within(started).await.unwrap();
    drop(socket);
    within(dropped).await.unwrap();
}

#[tokio::test]
async fn a_spdy_handler_is_cancelled_when_its_client_resets_the_stream() {
    let (handler, started, dropped) = LongPoll::new();
    let (_server, addr, _task) = start(handler, ServerConfig::default()).await;
    let (client, _connection, _send, mut recv) = poll_over_spdy(addr).await;
    within(started).await.unwrap();
    // The client gives up on this request only: the session stays.
    recv.reset(spdy_core::frame::RstStatus::Cancel);
    within(dropped).await.unwrap();
    within(client.ping(std::time::Duration::from_secs(5)))
        .await
        .unwrap();
}
