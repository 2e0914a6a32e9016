//! What one idle session costs in memory: both zlib contexts after a first
//! exchange, the session's state and, through the driver, its buffers.
//!
//! Run with `cargo bench -p spdy-core --bench session_memory`. Read the
//! allocation profiler's columns: what a benchmark keeps is its `alloc`
//! bytes minus its `dealloc` bytes (the value it returns is dropped only
//! after the measurement).

#![allow(clippy::unwrap_used)]

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use divan::{AllocProfiler, Bencher, black_box};
use spdy_core::driver::{DriverConfig, SessionHandle, connect};
use spdy_core::header::{HeaderBlock, HeaderCompression};
use spdy_core::session::{Event, OpenStream, Role, Session, SessionConfig};
use tokio::io::DuplexStream;
use tokio::runtime::Runtime;

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

fn main() {
    divan::main();
}

fn request() -> HeaderBlock {
    [
        (":method", "GET"),
        (":path", "/media/video.mp4"),
        (":version", "HTTP/1.1"),
        (":host", "media.example.org"),
        (":scheme", "https"),
        (
            "user-agent",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Safari/605.1.15",
        ),
        ("accept", "*/*"),
        ("accept-encoding", "identity"),
    ]
    .into_iter()
    .collect()
}

/// The server's bytes for one request: its SETTINGS, a reply and a small body.
fn server_bytes() -> Bytes {
    let now = Instant::now();
    let mut client = Session::new(Role::Client, SessionConfig::default(), now);
    let mut server = Session::new(Role::Server, SessionConfig::default(), now);
    client
        .open_stream(OpenStream::new(request()).fin(true))
        .unwrap();
    let mut wire = BytesMut::new();
    while let Some(t) = client.poll_transmit(now) {
        t.write_to(&mut wire);
    }
    server.receive(&mut wire, now);
    while let Some(event) = server.poll_event() {
        if let Event::StreamOpened { stream_id, .. } = event {
            let mut reply = HeaderBlock::new();
            reply.push(":status", "200");
            reply.push(":version", "HTTP/1.1");
            server.reply(stream_id, reply, false).unwrap();
            server
                .send_data(stream_id, Bytes::from_static(b"hello"), true)
                .unwrap();
        }
    }
    let mut out = BytesMut::new();
    while let Some(t) = server.poll_transmit(now) {
        t.write_to(&mut out);
    }
    out.freeze()
}

/// One client session, sans-IO, after one request and its answer: the
/// inflate context and (with deflate) the deflate context have been used,
/// the stream is closed and the session is idle. Kept = alloc - dealloc.
/// By header compression: stored (the default) and zlib level 1.
#[divan::bench(args = ["stored", "deflate"])]
fn idle_session_after_one_exchange(bencher: Bencher<'_, '_>, compression: &str) {
    let answer = server_bytes();
    let config = SessionConfig {
        header_compression: match compression {
            "stored" => HeaderCompression::Stored,
            _ => HeaderCompression::Deflate { level: 1 },
        },
        ..SessionConfig::default()
    };
    bencher.bench_local(|| {
        let now = Instant::now();
        let mut session = Session::new(Role::Client, config.clone(), now);
        session
            .open_stream(OpenStream::new(request()).fin(true))
            .unwrap();
        let mut sink = BytesMut::new();
        while let Some(t) = session.poll_transmit(now) {
            t.write_to(&mut sink);
        }
        let mut wire = BytesMut::from(&answer[..]);
        session.receive(&mut wire, now);
        while let Some(event) = session.poll_event() {
            black_box(event);
        }
        while let Some(t) = session.poll_transmit(now) {
            t.write_to(&mut sink);
        }
        assert_eq!(session.open_streams(), 0);
        session
    });
}

/// A fresh session that has sent nothing and received nothing (zlib
/// allocates part of its state on first use).
#[divan::bench]
fn fresh_session() -> Session {
    Session::new(Role::Server, SessionConfig::default(), Instant::now())
}

/// One client connection through the driver after one exchange, idle: the
/// session, the handle's shared state, the read buffer and write queue,
/// and the connection task. The duplex pipe and its peer end are counted
/// too, so this is an upper bound.
#[divan::bench]
fn idle_driver_connection_after_one_exchange(bencher: Bencher<'_, '_>) {
    let answer = server_bytes();
    let rt: Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    bencher.bench_local(|| -> (SessionHandle, DuplexStream) {
        rt.block_on(async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (a, mut peer) = tokio::io::duplex(16 * 1024);
            let (client, connection) = connect(
                a,
                Role::Client,
                SessionConfig::default(),
                DriverConfig::default(),
            );
            tokio::spawn(connection);
            let (_send, mut recv) = client
                .open_stream(OpenStream::new(request()).fin(true))
                .await
                .unwrap();
            let mut buf = [0u8; 4096];
            let _ = peer.read(&mut buf).await.unwrap();
            peer.write_all(&answer).await.unwrap();
            recv.headers().await.unwrap();
            black_box(recv.collect(1024).await.unwrap());
            drop(recv);
            // Let the connection task settle.
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
            (client, peer)
        })
    });
}
