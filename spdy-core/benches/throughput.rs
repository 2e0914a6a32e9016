//! Single-stream throughput through the tokio driver over 127.0.0.1 TCP,
//! against a raw TCP copy of the same bytes measured in the same run: the
//! figures behind the defaults of `SessionConfig` and `DriverConfig`.
//!
//! Each iteration sends 16 MiB on one new stream from client to server; the
//! server reads every byte (giving credit back as it goes) and answers with
//! FIN. The raw baseline writes the same 16 MiB on a kept-open connection
//! and waits for a one-byte acknowledgement.
//!
//! Run with `cargo bench -p spdy-core --bench throughput` (or
//! `cargo xtask bench`). Compare the `bytes/s` column of each row with
//! `raw_tcp_baseline`.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use divan::counter::BytesCount;
use divan::{Bencher, black_box};
use spdy_core::driver::{DriverConfig, SessionHandle, connect};
use spdy_core::header::HeaderBlock;
use spdy_core::session::{OpenStream, Role, SessionConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

fn main() {
    divan::main();
}

/// Bytes per iteration.
const TRANSFER: usize = 16 * 1024 * 1024;
const KIB: u32 = 1024;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn payload() -> Bytes {
    Bytes::from((0..TRANSFER).map(|i| (i % 251) as u8).collect::<Vec<u8>>())
}

/// What one benchmark row varies.
#[derive(Clone)]
struct Setup {
    /// The receiver's advertised stream window.
    stream_window: u32,
    /// The receiver's session window.
    session_window: u32,
    /// The sender's largest DATA frame.
    max_send_frame: u32,
    /// The sender's per-stream queue beyond the window.
    max_send_buffer: u32,
    /// Both drivers' read size.
    read_chunk: usize,
    /// The receiving driver's bound on bytes not yet taken by the application.
    max_buffered_recv: usize,
    /// Go spdystream's mode on both ends: no flow control.
    no_flow_control: bool,
    /// Streams sending at once, each `TRANSFER / streams` bytes.
    streams: usize,
}

impl Default for Setup {
    /// The shipped defaults.
    fn default() -> Self {
        let session = SessionConfig::default();
        Setup {
            stream_window: session.stream_window,
            session_window: session.session_window,
            max_send_frame: session.max_send_frame,
            max_send_buffer: session.max_send_buffer,
            read_chunk: DriverConfig::default().read_chunk,
            max_buffered_recv: DriverConfig::default().max_buffered_recv,
            no_flow_control: false,
            streams: 1,
        }
    }
}

/// A client connected to a server over 127.0.0.1; the server drains every
/// stream and answers with FIN.
fn spdy_link(rt: &Runtime, setup: &Setup) -> SessionHandle {
    let setup = setup.clone();
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let driver = DriverConfig {
            read_chunk: setup.read_chunk,
            ..DriverConfig::default()
        };
        let base = if setup.no_flow_control {
            SessionConfig::spdystream_compatible()
        } else {
            SessionConfig::default()
        };
        let server_config = SessionConfig {
            stream_window: setup.stream_window,
            session_window: setup.session_window,
            ..base.clone()
        };
        let server_driver = DriverConfig {
            max_buffered_recv: setup.max_buffered_recv,
            ..driver.clone()
        };
        let per_stream = TRANSFER / setup.streams;
        tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            socket.set_nodelay(true).unwrap();
            let (server, connection) = connect(socket, Role::Server, server_config, server_driver);
            tokio::spawn(connection);
            while let Some(incoming) = server.accept().await {
                tokio::spawn(async move {
                    let (mut send, mut recv) = incoming.reply(HeaderBlock::new(), false).unwrap();
                    let mut n = 0;
                    while let Some(chunk) = recv.data().await {
                        n += chunk.unwrap().len();
                    }
                    assert_eq!(n, per_stream);
                    send.finish().await.unwrap();
                });
            }
        });
        let socket = TcpStream::connect(addr).await.unwrap();
        socket.set_nodelay(true).unwrap();
        let client_config = SessionConfig {
            max_send_frame: setup.max_send_frame,
            max_send_buffer: setup.max_send_buffer,
            ..base
        };
        let (client, connection) = connect(socket, Role::Client, client_config, driver);
        tokio::spawn(connection);
        client
    })
}

fn bench_spdy(bencher: Bencher<'_, '_>, setup: Setup) {
    let rt = runtime();
    let client = spdy_link(&rt, &setup);
    let data = payload();
    let per_stream = TRANSFER / setup.streams;
    bencher.counter(BytesCount::new(TRANSFER)).bench_local(|| {
        rt.block_on(async {
            let mut transfers = tokio::task::JoinSet::new();
            for i in 0..setup.streams {
                let client = client.clone();
                let body = data.slice(i * per_stream..(i + 1) * per_stream);
                transfers.spawn(async move {
                    let (mut send, mut recv) = client
                        .open_stream(OpenStream::new(HeaderBlock::new()))
                        .await
                        .unwrap();
                    send.send_last(body).await.unwrap();
                    recv.headers().await.unwrap();
                    black_box(recv.collect(16).await.unwrap());
                });
            }
            while let Some(done) = transfers.join_next().await {
                done.unwrap();
            }
        })
    });
    drop(client);
    rt.shutdown_timeout(Duration::from_secs(1));
}

/// The same bytes over a plain TCP connection on 127.0.0.1: the ceiling.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn raw_tcp_baseline(bencher: Bencher<'_, '_>) {
    let rt = runtime();
    let data = payload();
    let mut client = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            socket.set_nodelay(true).unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let mut n = 0;
                while n < TRANSFER {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => n += k,
                    }
                }
                socket.write_all(b"k").await.unwrap();
            }
        });
        let socket = TcpStream::connect(addr).await.unwrap();
        socket.set_nodelay(true).unwrap();
        socket
    });
    let client_ref = &mut client;
    let data = Arc::new(data);
    bencher.counter(BytesCount::new(TRANSFER)).bench_local(|| {
        rt.block_on(async {
            client_ref.write_all(&data).await.unwrap();
            let mut ack = [0u8; 1];
            client_ref.read_exact(&mut ack).await.unwrap();
        })
    });
    drop(client);
    rt.shutdown_timeout(Duration::from_secs(1));
}

/// The shipped defaults.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn spdy_defaults(bencher: Bencher<'_, '_>) {
    bench_spdy(bencher, Setup::default());
}

/// By the stream window the receiver advertises (KiB).
#[divan::bench(sample_count = 20, sample_size = 1, args = [64, 256, 1024, 4096, 16384])]
fn spdy_by_stream_window_kib(bencher: Bencher<'_, '_>, kib: u32) {
    bench_spdy(
        bencher,
        Setup {
            stream_window: kib * KIB,
            session_window: (kib * KIB).max(Setup::default().session_window),
            ..Setup::default()
        },
    );
}

/// By the largest DATA frame the sender makes (KiB).
#[divan::bench(sample_count = 20, sample_size = 1, args = [4, 16, 64, 256])]
fn spdy_by_max_send_frame_kib(bencher: Bencher<'_, '_>, kib: u32) {
    bench_spdy(
        bencher,
        Setup {
            max_send_frame: kib * KIB,
            ..Setup::default()
        },
    );
}

/// By the sender's per-stream queue beyond the window (KiB).
#[divan::bench(sample_count = 20, sample_size = 1, args = [16, 64, 256, 512, 1024])]
fn spdy_by_max_send_buffer_kib(bencher: Bencher<'_, '_>, kib: u32) {
    bench_spdy(
        bencher,
        Setup {
            max_send_buffer: kib * KIB,
            ..Setup::default()
        },
    );
}

/// By the size of each socket read (KiB).
#[divan::bench(sample_count = 20, sample_size = 1, args = [16, 64, 256])]
fn spdy_by_read_chunk_kib(bencher: Bencher<'_, '_>, kib: usize) {
    bench_spdy(
        bencher,
        Setup {
            read_chunk: kib * 1024,
            ..Setup::default()
        },
    );
}

/// Four streams at once sharing the session window, by the receiver's
/// session window (KiB), streams at the default window.
#[divan::bench(sample_count = 20, sample_size = 1, args = [1024, 4096, 16384])]
fn spdy_four_streams_by_session_window_kib(bencher: Bencher<'_, '_>, kib: u32) {
    bench_spdy(
        bencher,
        Setup {
            session_window: kib * KIB,
            streams: 4,
            ..Setup::default()
        },
    );
}

/// Without flow control (Go spdystream's mode), by the receiving driver's
/// bound on unread bytes (KiB): the only back-pressure left besides TCP.
#[divan::bench(sample_count = 20, sample_size = 1, args = [1024, 4096, 16384])]
fn spdy_no_flow_control_by_max_buffered_recv_kib(bencher: Bencher<'_, '_>, kib: usize) {
    bench_spdy(
        bencher,
        Setup {
            no_flow_control: true,
            max_buffered_recv: kib * 1024,
            ..Setup::default()
        },
    );
}
