//! The tokio driver over `tokio::io::duplex` and over TCP on 127.0.0.1:
//! many concurrent streams, large transfers under flow control, back-pressure,
//! and connections cut at any moment. Every wait has a timeout.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use spdy_core::driver::{DriverConfig, Error, SessionHandle, connect};
use spdy_core::frame::{GoAwayStatus, RstStatus};
use spdy_core::header::HeaderBlock;
use spdy_core::session::{CloseReason, OpenStream, ResetOrigin, Role, Session, SessionConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::task::JoinHandle;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

fn start<IO: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    io: IO,
    role: Role,
    config: SessionConfig,
    driver: DriverConfig,
) -> (SessionHandle, JoinHandle<CloseReason>) {
    let (handle, connection) = connect(io, role, config, driver);
    (handle, tokio::spawn(connection))
}

/// A client and a server session over an in-memory connection of
/// `buffer` bytes each way, both driven with the default driver settings.
fn sessions_over_duplex(
    buffer: usize,
    client: SessionConfig,
    server: SessionConfig,
) -> (
    SessionHandle,
    JoinHandle<CloseReason>,
    SessionHandle,
    JoinHandle<CloseReason>,
) {
    let (a, b) = tokio::io::duplex(buffer);
    let (client, client_task) = start(a, Role::Client, client, DriverConfig::default());
    let (server, server_task) = start(b, Role::Server, server, DriverConfig::default());
    (client, client_task, server, server_task)
}

/// Answers every stream by echoing its body back.
fn echo_server(server: SessionHandle) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(incoming) = server.accept().await {
            tokio::spawn(async move {
                let mut reply = HeaderBlock::new();
                reply.push(":status", "200");
                let Ok((mut send, mut recv)) = incoming.reply(reply, false) else {
                    return;
                };
                while let Some(Ok(chunk)) = recv.data().await {
                    if send.send_data(chunk).await.is_err() {
                        return;
                    }
                }
                let _ = send.finish().await;
            });
        }
    })
}

fn payload(seed: u32, len: usize) -> Bytes {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

async fn echo_once(client: &SessionHandle, body: Bytes) -> Result<Bytes, Error> {
    let (mut send, mut recv) = client
        .open_stream(OpenStream::new(HeaderBlock::new()))
        .await?;
    let sender = tokio::spawn(async move { send.send_last(body).await });
    let headers = recv.headers().await?.expect("a reply");
    assert!(headers.get(":status").is_some());
    let echoed = recv.collect(64 * 1024 * 1024).await?;
    sender.await.unwrap()?;
    Ok(echoed)
}

async fn many_streams(client: SessionHandle, count: u32, max_len: usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        let client = client.clone();
        tasks.spawn(async move {
            let body = payload(i, (i as usize * 7919) % max_len + 1);
            let echoed = echo_once(&client, body.clone()).await.unwrap();
            assert_eq!(echoed, body, "stream {i}");
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap();
    }
}

#[tokio::test]
async fn many_concurrent_streams_over_duplex() {
    let (client, _c, server, _s) = sessions_over_duplex(
        64 * 1024,
        SessionConfig::default(),
        SessionConfig::default(),
    );
    echo_server(server);
    timeout(LIMIT, many_streams(client, 300, 40_000))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_streams_and_a_large_transfer_over_tcp() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        socket.set_nodelay(true).unwrap();
        let (server, connection) = connect(
            socket,
            Role::Server,
            SessionConfig::default(),
            DriverConfig::default(),
        );
        tokio::spawn(connection);
        echo_server(server).await.unwrap();
    });
    let socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.set_nodelay(true).unwrap();
    let (client, _c) = start(
        socket,
        Role::Client,
        SessionConfig::default(),
        DriverConfig::default(),
    );
    timeout(LIMIT, async {
        let big = payload(99, 8 * 1024 * 1024);
        let large = {
            let client = client.clone();
            let big = big.clone();
            tokio::spawn(async move { echo_once(&client, big).await.unwrap() })
        };
        many_streams(client.clone(), 200, 20_000).await;
        assert_eq!(large.await.unwrap(), big);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn small_windows_still_carry_megabytes() {
    let small = SessionConfig {
        stream_window: 16 * 1024,
        session_window: 65_536,
        ..SessionConfig::default()
    };
    let (client, _c, server, _s) = sessions_over_duplex(8 * 1024, small.clone(), small);
    echo_server(server);
    let body = payload(5, 3 * 1024 * 1024);
    let echoed = timeout(LIMIT, echo_once(&client, body.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(echoed, body);
}

#[tokio::test]
async fn without_flow_control_both_ways() {
    let config = SessionConfig::spdystream_compatible();
    let (client, _c, server, _s) = sessions_over_duplex(64 * 1024, config.clone(), config);
    echo_server(server);
    let body = payload(6, 5 * 1024 * 1024);
    let echoed = timeout(LIMIT, echo_once(&client, body.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(echoed, body);
}

#[tokio::test]
async fn slow_reader_holds_the_sender_back() {
    let config = SessionConfig {
        stream_window: 64 * 1024,
        ..SessionConfig::default()
    };
    let (client, _c, server, _s) = sessions_over_duplex(64 * 1024, config.clone(), config);
    let body = payload(7, 4 * 1024 * 1024);
    let server_task = {
        let body = body.clone();
        tokio::spawn(async move {
            let incoming = server.accept().await.unwrap();
            let (mut send, _recv) = incoming.reply(HeaderBlock::new(), false).unwrap();
            // The client does not read yet: this cannot all be queued.
            let early = timeout(Duration::from_millis(300), send.send_data(body.clone())).await;
            assert!(
                early.is_err(),
                "4 MiB went out to a reader that reads nothing"
            );
            send.send_data(body).await.unwrap();
            send.finish().await.unwrap();
        })
    };
    let (_send, mut recv) = client
        .open_stream(OpenStream::new(HeaderBlock::new()).fin(true))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    recv.headers().await.unwrap();
    let got = timeout(LIMIT, recv.collect(16 * 1024 * 1024))
        .await
        .unwrap()
        .unwrap();
    // The early attempt sent a prefix before timing out, then the whole body again.
    assert!(got.len() > body.len() && got.ends_with(&body));
    server_task.await.unwrap();
}

#[tokio::test]
async fn writers_held_by_the_session_send_buffer_all_finish() {
    // Eight writers, each with more than the session's whole send buffer
    // to write, to a reader that takes their streams one at a time in
    // reverse order: the writers the session cap holds back must be woken
    // as room frees, or this never ends.
    let client_config = SessionConfig {
        max_send_buffer: 64 * 1024,
        max_session_send_buffer: 128 * 1024,
        ..SessionConfig::default()
    };
    // The protocol's initial window: below it, data the client sends before
    // our SETTINGS reaches it would exceed the window (see `stream_window`).
    let server_config = SessionConfig {
        stream_window: 64 * 1024,
        ..SessionConfig::default()
    };
    let (client, _c, server, _s) = sessions_over_duplex(16 * 1024, client_config, server_config);
    let bodies: Vec<Bytes> = (0..8).map(|i| payload(100 + i, 300 * 1024)).collect();
    let mut writers = tokio::task::JoinSet::new();
    for (i, body) in bodies.iter().cloned().enumerate() {
        let client = client.clone();
        writers.spawn(async move {
            let mut headers = HeaderBlock::new();
            headers.push("n", i.to_string());
            let (mut send, _recv) = client.open_stream(OpenStream::new(headers)).await.unwrap();
            send.write_all(&body).await.unwrap();
            send.shutdown().await.unwrap();
        });
    }
    let mut incoming = Vec::new();
    for _ in 0..8 {
        incoming.push(timeout(LIMIT, server.accept()).await.unwrap().unwrap());
    }
    incoming.sort_by_key(|s| s.headers().get_str("n").unwrap().parse::<usize>().unwrap());
    let mut readers = Vec::new();
    let mut replies = Vec::new();
    for stream in incoming {
        // Kept: a reply's send half dropped unfinished resets the stream.
        let (send, recv) = stream.reply(HeaderBlock::new(), false).unwrap();
        replies.push(send);
        readers.push(recv);
    }
    for (i, mut recv) in readers.into_iter().enumerate().rev() {
        let got = timeout(LIMIT, recv.collect(1 << 20))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, bodies[i], "stream {i}");
    }
    timeout(LIMIT, async {
        while let Some(done) = writers.join_next().await {
            done.unwrap();
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn dropping_the_peer_fails_every_pending_call() {
    let (client, client_task, server, server_task) = sessions_over_duplex(
        64 * 1024,
        SessionConfig::default(),
        SessionConfig::default(),
    );
    let (_send, mut recv) = client
        .open_stream(OpenStream::new(HeaderBlock::new()))
        .await
        .unwrap();
    let accepted = timeout(LIMIT, server.accept()).await.unwrap().unwrap();
    let pending_read = tokio::spawn(async move { recv.data().await });
    let pending_accept = {
        let client = client.clone();
        tokio::spawn(async move { client.accept().await })
    };
    // Kill the server side: its task and its end of the pipe.
    server_task.abort();
    drop(accepted);
    drop(server);
    let read = timeout(LIMIT, pending_read).await.unwrap().unwrap();
    assert!(
        matches!(
            read,
            Some(Err(Error::SessionClosed(CloseReason::ConnectionLost(_))))
        ),
        "{read:?}"
    );
    assert!(
        timeout(LIMIT, pending_accept)
            .await
            .unwrap()
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        client
            .open_stream(OpenStream::new(HeaderBlock::new()))
            .await,
        Err(Error::SessionClosed(_))
    ));
    assert!(matches!(
        client.ping(Duration::from_secs(1)).await,
        Err(Error::SessionClosed(_))
    ));
    let reason = timeout(LIMIT, client_task).await.unwrap().unwrap();
    assert!(matches!(reason, CloseReason::ConnectionLost(_)));
}

/// What a server says, as bytes, to a client that opens one stream: the
/// server's SETTINGS, a reply, a body in two frames, FIN.
fn scripted_server_bytes() -> Vec<u8> {
    let now = std::time::Instant::now();
    let mut client = Session::new(Role::Client, SessionConfig::default(), now);
    let mut server = Session::new(Role::Server, SessionConfig::default(), now);
    let mut headers = HeaderBlock::new();
    headers.push(":path", "/");
    client
        .open_stream(OpenStream::new(headers).fin(true))
        .unwrap();
    let mut wire = BytesMut::new();
    while let Some(t) = client.poll_transmit(now) {
        t.write_to(&mut wire);
    }
    server.receive(&mut wire, now);
    let id = std::iter::from_fn(|| server.poll_event())
        .find_map(|e| match e {
            spdy_core::session::Event::StreamOpened { stream_id, .. } => Some(stream_id),
            _ => None,
        })
        .unwrap();
    let mut reply = HeaderBlock::new();
    reply.push(":status", "200");
    server.reply(id, reply, false).unwrap();
    server
        .send_data(id, Bytes::from_static(b"hello, "), false)
        .unwrap();
    server
        .send_data(id, Bytes::from_static(b"world"), true)
        .unwrap();
    let mut out = BytesMut::new();
    while let Some(t) = server.poll_transmit(now) {
        t.write_to(&mut out);
    }
    out.to_vec()
}

#[tokio::test]
async fn connection_cut_at_every_byte_offset() {
    let script = scripted_server_bytes();
    for cut in 0..=script.len() {
        let (a, mut b) = tokio::io::duplex(64 * 1024);
        let (client, task) = start(
            a,
            Role::Client,
            SessionConfig::default(),
            DriverConfig::default(),
        );
        let prefix = script[..cut].to_vec();
        let peer = tokio::spawn(async move {
            // Wait for the client's request, answer with a prefix, hang up.
            let mut buf = vec![0u8; 4096];
            let _ = b.read(&mut buf).await;
            b.write_all(&prefix).await.unwrap();
            b.shutdown().await.unwrap();
            drop(b);
        });
        let outcome = timeout(LIMIT, async {
            let mut headers = HeaderBlock::new();
            headers.push(":path", "/");
            let (_send, mut recv) = client
                .open_stream(OpenStream::new(headers).fin(true))
                .await?;
            recv.headers().await?;
            recv.collect(1024).await
        })
        .await
        .unwrap_or_else(|_| panic!("hung with the connection cut at byte {cut}"));
        if cut == script.len() {
            assert_eq!(outcome.unwrap(), "hello, world", "complete script");
        } else {
            assert!(
                matches!(outcome, Err(Error::SessionClosed(_))),
                "cut at {cut}: {outcome:?}"
            );
        }
        peer.await.unwrap();
        drop(client);
        timeout(LIMIT, task)
            .await
            .unwrap_or_else(|_| panic!("connection task survived a cut at byte {cut}"))
            .unwrap();
    }
}

#[tokio::test]
async fn dropping_both_halves_resets_the_stream() {
    let (client, _c, server, _s) = sessions_over_duplex(
        64 * 1024,
        SessionConfig::default(),
        SessionConfig::default(),
    );
    let (send, recv) = client
        .open_stream(OpenStream::new(HeaderBlock::new()))
        .await
        .unwrap();
    let incoming = timeout(LIMIT, server.accept()).await.unwrap().unwrap();
    let (_server_send, mut server_recv) = incoming.reply(HeaderBlock::new(), false).unwrap();
    drop(send);
    drop(recv);
    let result = timeout(LIMIT, server_recv.data()).await.unwrap();
    assert!(
        matches!(
            result,
            Some(Err(Error::Reset {
                status: RstStatus::Cancel,
                origin: ResetOrigin::Peer,
                ..
            }))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_peer_that_stops_reading_is_timed_out() {
    let (a, _b_never_read) = tokio::io::duplex(4 * 1024);
    let driver = DriverConfig {
        write_timeout: Duration::from_millis(200),
        ..DriverConfig::default()
    };
    let (client, task) = start(
        a,
        Role::Client,
        SessionConfig::spdystream_compatible(),
        driver,
    );
    let (mut send, _recv) = client
        .open_stream(OpenStream::new(HeaderBlock::new()))
        .await
        .unwrap();
    let result = timeout(LIMIT, send.send_data(payload(1, 4 * 1024 * 1024)))
        .await
        .unwrap();
    assert!(matches!(result, Err(Error::SessionClosed(_))), "{result:?}");
    let reason = timeout(LIMIT, task).await.unwrap().unwrap();
    assert!(
        matches!(reason, CloseReason::ConnectionLost(ref why) if why.contains("stopped reading")),
        "{reason:?}"
    );
}

#[tokio::test]
async fn ping_measures_and_times_out() {
    let (client, _c, _server, _s) = sessions_over_duplex(
        64 * 1024,
        SessionConfig::default(),
        SessionConfig::default(),
    );
    let rtt = timeout(LIMIT, client.ping(Duration::from_secs(5)))
        .await
        .unwrap()
        .unwrap();
    assert!(rtt < Duration::from_secs(5));

    // A peer that reads but never answers.
    let (a, mut b) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let mut sink = vec![0u8; 4096];
        while b.read(&mut sink).await.unwrap_or(0) > 0 {}
    });
    let (silent, _t) = start(
        a,
        Role::Client,
        SessionConfig::default(),
        DriverConfig::default(),
    );
    assert_eq!(
        silent.ping(Duration::from_millis(100)).await,
        Err(Error::Timeout)
    );
}

#[tokio::test]
async fn graceful_goaway_lets_open_streams_finish() {
    let (client, client_task, server, server_task) = sessions_over_duplex(
        64 * 1024,
        SessionConfig::default(),
        SessionConfig::default(),
    );
    let (mut send, mut recv) = client
        .open_stream(OpenStream::new(HeaderBlock::new()))
        .await
        .unwrap();
    let incoming = timeout(LIMIT, server.accept()).await.unwrap().unwrap();
    server.goaway(GoAwayStatus::Ok);
    let (mut server_send, mut server_recv) = incoming.reply(HeaderBlock::new(), false).unwrap();
    send.send_last(Bytes::from_static(b"request"))
        .await
        .unwrap();
    assert_eq!(
        timeout(LIMIT, server_recv.collect(100))
            .await
            .unwrap()
            .unwrap(),
        "request"
    );
    // The reply followed the GOAWAY, so the client has seen it: no new
    // streams, and the refusal says a retry elsewhere is safe.
    timeout(LIMIT, recv.headers()).await.unwrap().unwrap();
    let refused = client
        .open_stream(OpenStream::new(HeaderBlock::new()))
        .await;
    assert!(
        matches!(refused, Err(ref e) if e.is_retryable()),
        "{refused:?}"
    );
    // The stream opened before the GOAWAY still finishes.
    server_send
        .send_last(Bytes::from_static(b"response"))
        .await
        .unwrap();
    assert_eq!(
        timeout(LIMIT, recv.collect(100)).await.unwrap().unwrap(),
        "response"
    );
    assert_eq!(
        timeout(LIMIT, server_task).await.unwrap().unwrap(),
        CloseReason::Graceful
    );
    assert_eq!(
        timeout(LIMIT, client_task).await.unwrap().unwrap(),
        CloseReason::Graceful
    );
}

#[tokio::test]
async fn dropping_every_handle_ends_the_session() {
    let (client, client_task, server, _s) = sessions_over_duplex(
        64 * 1024,
        SessionConfig::default(),
        SessionConfig::default(),
    );
    drop(client);
    assert_eq!(
        timeout(LIMIT, client_task).await.unwrap().unwrap(),
        CloseReason::Graceful
    );
    assert!(timeout(LIMIT, server.accept()).await.unwrap().is_none());
}

/// Both ends open streams towards each other at once (the client accepts
/// the server's bidirectional streams, as spdystream and reverse tunnels
/// need), at every priority, some of them cancelled half-way; every other
/// echo comes back intact and no stream is left behind on either side.
async fn both_ends_at_once<IO: AsyncRead + AsyncWrite + Unpin + Send + 'static>(a: IO, b: IO) {
    let client_config = SessionConfig {
        accept_peer_bidirectional_streams: true,
        ..SessionConfig::default()
    };
    let (client, _c) = start(a, Role::Client, client_config, DriverConfig::default());
    let (server, _s) = start(
        b,
        Role::Server,
        SessionConfig::default(),
        DriverConfig::default(),
    );
    echo_server(server.clone());
    echo_server(client.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..120u32 {
        let opener = if i % 2 == 0 {
            client.clone()
        } else {
            server.clone()
        };
        tasks.spawn(async move {
            let body = payload(i, (i as usize * 7919) % 60_000 + 1);
            let open = OpenStream::new(HeaderBlock::new())
                .priority(spdy_core::frame::Priority::new((i % 8) as u8));
            let (mut send, mut recv) = opener.open_stream(open).await.unwrap();
            if i % 10 == 3 {
                // Cancelled half-way: the echo side sees a reset, we stop.
                send.send_data(body.slice(..body.len() / 2)).await.unwrap();
                send.reset(RstStatus::Cancel);
                return;
            }
            let sender =
                tokio::spawn(async move { send.send_last(body.clone()).await.map(|_| body) });
            recv.headers().await.unwrap();
            let echoed = recv.collect(1024 * 1024).await.unwrap();
            let body = sender.await.unwrap().unwrap();
            assert_eq!(echoed, body, "stream {i}");
        });
    }
    timeout(LIMIT, async {
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        while client.stats().streams > 0 || server.stats().streams > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("every stream finished on both ends");
}

#[tokio::test]
async fn both_ends_open_streams_at_once_over_duplex() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    both_ends_at_once(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_ends_open_streams_at_once_over_tcp() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (accepted, connected) =
        tokio::join!(listener.accept(), tokio::net::TcpStream::connect(addr));
    let (server_socket, _) = accepted.unwrap();
    let client_socket = connected.unwrap();
    client_socket.set_nodelay(true).unwrap();
    server_socket.set_nodelay(true).unwrap();
    both_ends_at_once(client_socket, server_socket).await;
}

#[tokio::test]
async fn stream_reset_says_who_reset_a_stream_and_none_for_a_clean_end() {
    let (client, _c, server, _s) = sessions_over_duplex(
        64 * 1024,
        SessionConfig::default(),
        SessionConfig::default(),
    );
    echo_server(server);
    // A clean exchange: None once both halves are done.
    let (mut send, mut recv) = client
        .open_stream(OpenStream::new(HeaderBlock::new()))
        .await
        .unwrap();
    let id = send.id();
    send.send_last(Bytes::from_static(b"hi")).await.unwrap();
    recv.headers().await.unwrap();
    assert_eq!(recv.collect(1024).await.unwrap(), "hi");
    assert_eq!(timeout(LIMIT, client.stream_reset(id)).await.unwrap(), None);
    // A stream the peer resets (a server that drops it unanswered): its
    // status and origin.
    let (client, _c, server, _s) = sessions_over_duplex(
        64 * 1024,
        SessionConfig::default(),
        SessionConfig::default(),
    );
    let (mut send, _recv) = client
        .open_stream(OpenStream::new(HeaderBlock::new()))
        .await
        .unwrap();
    let id = send.id();
    let incoming = timeout(LIMIT, server.accept()).await.unwrap();
    drop(incoming);
    let _ = send.send_data(Bytes::from_static(b"x")).await;
    assert_eq!(
        timeout(LIMIT, client.stream_reset(id)).await.unwrap(),
        Some((RstStatus::Cancel, ResetOrigin::Peer))
    );
}
