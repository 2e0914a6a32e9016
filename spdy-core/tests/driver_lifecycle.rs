//! The driver when things end: every pending call on every handle fails when
//! the connection goes (however it goes), no task or connection buffer
//! outlives the session, dropped handles reset or finish their streams, the
//! stream handles behave as `AsyncRead`/`AsyncWrite` users expect, and the
//! connection cut at every byte of several scripted exchanges, both roles.

#![allow(clippy::unwrap_used)]

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use spdy_core::driver::{DriverConfig, Error, SessionHandle, StreamIo, connect};
use spdy_core::frame::{
    Frame, FrameDecoder, FrameEncoder, GoAwayStatus, Priority, RstStatus, RstStream, SettingId,
    Settings, StreamId,
};
use spdy_core::header::HeaderBlock;
use spdy_core::session::{
    CloseReason, Event, OpenStream, ResetOrigin, Role, Session, SessionConfig,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::task::JoinHandle;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

/// An I/O object that counts how many of its kind are alive, so a test can
/// check the connection task let go of its socket and buffers.
struct Tracked {
    io: DuplexStream,
    live: Arc<AtomicUsize>,
}

impl Tracked {
    fn new(io: DuplexStream, live: &Arc<AtomicUsize>) -> Self {
        live.fetch_add(1, Ordering::SeqCst);
        Tracked {
            io,
            live: live.clone(),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Waits (bounded) until every spawned task has finished.
async fn no_task_survives(context: &str) {
    let deadline = Instant::now() + LIMIT;
    while alive_tasks() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} task(s) survived: {context}",
            alive_tasks()
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn headers(pairs: &[(&str, &str)]) -> HeaderBlock {
    let mut block = HeaderBlock::new();
    for (name, value) in pairs {
        block.push(name.to_string(), value.to_string());
    }
    block
}

/// Frames as a raw peer would write them, with its own compression context.
struct RawPeer {
    encoder: FrameEncoder,
}

impl RawPeer {
    fn new() -> Self {
        RawPeer {
            encoder: FrameEncoder::new(),
        }
    }

    fn bytes(&mut self, frames: &[Frame]) -> Vec<u8> {
        let mut wire = BytesMut::new();
        for frame in frames {
            self.encoder.encode(frame, &mut wire).unwrap();
        }
        wire.to_vec()
    }
}

/// Every kind of pending call, against a peer that grants nothing more and
/// answers nothing, then the connection goes in one of several ways.
#[tokio::test]
async fn every_pending_call_fails_however_the_connection_ends() {
    for ending in ["task dropped", "peer hung up", "peer broke the protocol"] {
        let live = Arc::new(AtomicUsize::new(0));
        let (a, mut peer) = tokio::io::duplex(1024 * 1024);
        let config = SessionConfig {
            max_send_buffer: 1024,
            ..SessionConfig::default()
        };
        let (client, connection) = connect(
            Tracked::new(a, &live),
            Role::Client,
            config,
            DriverConfig::default(),
        );
        let task = tokio::spawn(connection);
        // The peer: two streams at most, and no window for anything.
        let mut raw = RawPeer::new();
        let settings = raw.bytes(&[Frame::Settings(Settings::new([
            (SettingId::MaxConcurrentStreams, 2),
            (SettingId::InitialWindowSize, 0),
        ]))]);
        peer.write_all(&settings).await.unwrap();
        timeout(LIMIT, client.peer_settings_received())
            .await
            .unwrap()
            .unwrap();

        let (mut send_a, mut recv_a) = client
            .open_stream(OpenStream::new(headers(&[(":path", "/a")])))
            .await
            .unwrap();
        let (mut send_b, mut recv_b) = client
            .open_stream(OpenStream::new(headers(&[(":path", "/b")])))
            .await
            .unwrap();
        // Stream b's flush waits for window that never comes.
        send_b.send_data(Bytes::from_static(b"x")).await.unwrap();

        let mut pending: Vec<(&str, JoinHandle<Result<(), String>>)> = Vec::new();
        let describe = |r: Result<(), Error>| r.map_err(|e| e.to_string());
        {
            let client = client.clone();
            pending.push((
                "open_stream over the limit",
                tokio::spawn(async move {
                    match client
                        .open_stream(OpenStream::new(HeaderBlock::new()))
                        .await
                    {
                        Ok(_) => Ok(()),
                        Err(e) => Err(e.to_string()),
                    }
                }),
            ));
        }
        {
            let client = client.clone();
            pending.push((
                "accept",
                tokio::spawn(async move {
                    match client.accept().await {
                        Some(_) => Ok(()),
                        None => Err("no stream".into()),
                    }
                }),
            ));
        }
        {
            let client = client.clone();
            pending.push((
                "ping",
                tokio::spawn(async move { describe(client.ping(LIMIT * 2).await.map(|_| ())) }),
            ));
        }
        pending.push((
            "send_data without window",
            tokio::spawn(async move {
                describe(send_a.send_data(Bytes::from(vec![0u8; 64 * 1024])).await)
            }),
        ));
        pending.push((
            "headers",
            tokio::spawn(async move { describe(recv_a.headers().await.map(|_| ())) }),
        ));
        pending.push((
            "data",
            tokio::spawn(async move {
                match recv_b.data().await {
                    Some(Ok(_)) => Ok(()),
                    Some(Err(e)) => Err(e.to_string()),
                    None => Ok(()),
                }
            }),
        ));
        pending.push((
            "flush",
            tokio::spawn(async move {
                send_b
                    .flush()
                    .await
                    .map_err(|e| format!("{:?}: {e}", e.kind()))
            }),
        ));
        {
            let client = client.clone();
            pending.push((
                "closed",
                tokio::spawn(async move { Err(client.closed().await.to_string()) }),
            ));
        }
        // Let every call reach its wait.
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
        for (name, call) in &pending {
            assert!(!call.is_finished(), "{name} did not wait ({ending})");
        }

        match ending {
            "task dropped" => task.abort(),
            "peer hung up" => drop(peer),
            _ => {
                peer.write_all(&[0x80, 0x03, 0x00, 0x03, 0, 0, 0, 1, 0])
                    .await
                    .unwrap();
            }
        }
        for (name, call) in pending {
            let result = timeout(LIMIT, call)
                .await
                .unwrap_or_else(|_| panic!("{name} hung after: {ending}"))
                .unwrap();
            assert!(result.is_err(), "{name} succeeded after: {ending}");
        }
        let _ = timeout(LIMIT, task).await.unwrap();
        assert!(client.close_reason().is_some());
        drop(client);
        no_task_survives(ending).await;
        assert_eq!(
            live.load(Ordering::SeqCst),
            0,
            "the connection kept its I/O after: {ending}"
        );
    }
}

#[tokio::test]
async fn without_a_session_handle_unaccepted_streams_are_refused_and_the_task_ends() {
    let (a, mut peer) = tokio::io::duplex(64 * 1024);
    let (server, connection) = connect(
        a,
        Role::Server,
        SessionConfig::default(),
        DriverConfig::default(),
    );
    let task = tokio::spawn(connection);
    let mut raw = RawPeer::new();
    let syn = spdy_core::frame::SynStream::new(StreamId::new(1), headers(&[(":path", "/")]));
    peer.write_all(&raw.bytes(&[Frame::SynStream(syn)]))
        .await
        .unwrap();
    // Nobody will accept it.
    tokio::time::sleep(Duration::from_millis(20)).await;
    drop(server);
    let reason = timeout(LIMIT, task).await.unwrap().unwrap();
    assert_eq!(reason, CloseReason::Graceful);
    let mut out = Vec::new();
    peer.read_to_end(&mut out).await.unwrap();
    let mut wire = BytesMut::from(&out[..]);
    let mut decoder = FrameDecoder::new();
    let mut frames = Vec::new();
    while let Some(f) = decoder.decode(&mut wire).unwrap() {
        frames.push(f);
    }
    assert!(
        frames.contains(&Frame::RstStream(RstStream::new(
            StreamId::new(1),
            RstStatus::RefusedStream
        ))),
        "{frames:?}"
    );
    assert!(frames.iter().any(|f| matches!(f, Frame::GoAway(_))));
    no_task_survives("after the last handle").await;
}

fn pair(
    client_config: SessionConfig,
    server_config: SessionConfig,
) -> (SessionHandle, SessionHandle) {
    let (a, b) = tokio::io::duplex(256 * 1024);
    let (client, c) = connect(a, Role::Client, client_config, DriverConfig::default());
    let (server, s) = connect(b, Role::Server, server_config, DriverConfig::default());
    tokio::spawn(c);
    tokio::spawn(s);
    (client, server)
}

#[tokio::test]
async fn stream_io_reads_eof_on_fin_errors_on_reset_and_shutdown_sends_fin() {
    let (client, server) = pair(SessionConfig::default(), SessionConfig::default());
    // Server side: echo through StreamIo with tokio's copy, then shut down.
    let echo = tokio::spawn(async move {
        let incoming = server.accept().await.unwrap();
        let (send, recv) = incoming
            .reply(headers(&[(":status", "200")]), false)
            .unwrap();
        let mut io = StreamIo::new(send, recv);
        let mut body = Vec::new();
        io.read_to_end(&mut body).await.unwrap(); // EOF at the client's FIN
        io.write_all(&body).await.unwrap();
        io.flush().await.unwrap(); // waits until the bytes left the queue
        io.shutdown().await.unwrap(); // FIN
        assert!(io.write_all(b"late").await.is_err(), "write after shutdown");
        io.shutdown().await.unwrap(); // twice is fine
        server
    });
    let (send, recv) = client
        .open_stream(OpenStream::new(headers(&[(":path", "/echo")])))
        .await
        .unwrap();
    let mut io = StreamIo::new(send, recv);
    let body = vec![7u8; 300_000];
    io.write_all(&body).await.unwrap();
    io.shutdown().await.unwrap();
    let headers_seen = io.recv.headers().await.unwrap().unwrap();
    assert_eq!(headers_seen.get_str(":status"), Some("200"));
    let mut echoed = Vec::new();
    timeout(LIMIT, io.read_to_end(&mut echoed))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(echoed, body);
    // At EOF, reads keep saying EOF.
    assert_eq!(io.read(&mut [0u8; 16]).await.unwrap(), 0);
    let server = echo.await.unwrap();

    // A reset reads as an error, not as EOF.
    let resetter = tokio::spawn(async move {
        let incoming = server.accept().await.unwrap();
        let (mut send, _recv) = incoming.reply(HeaderBlock::new(), false).unwrap();
        send.send_data(Bytes::from_static(b"partial"))
            .await
            .unwrap();
        send.sent().await.unwrap();
        send.reset(RstStatus::InternalError);
    });
    let (send, recv) = client
        .open_stream(OpenStream::new(HeaderBlock::new()).fin(true))
        .await
        .unwrap();
    let mut io = StreamIo::new(send, recv);
    let mut got = Vec::new();
    let error = timeout(LIMIT, io.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset);
    assert_eq!(got, b"partial");
    resetter.await.unwrap();
}

#[tokio::test]
async fn priority_can_be_set_and_peer_settings_awaited() {
    let server_config = SessionConfig {
        max_concurrent_streams: 7,
        stream_window: 123_456,
        ..SessionConfig::default()
    };
    let (client, _server) = pair(SessionConfig::default(), server_config);
    let settings = timeout(LIMIT, client.peer_settings_received())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(settings.max_concurrent_streams, Some(7));
    assert_eq!(settings.initial_window_size, Some(123_456));
    assert_eq!(client.peer_settings(), settings);
    let (send, _recv) = client
        .open_stream(OpenStream::new(HeaderBlock::new()).priority(Priority::new(5)))
        .await
        .unwrap();
    assert_eq!(send.priority(), Some(Priority::new(5)));
    send.set_priority(Priority::HIGHEST);
    assert_eq!(send.priority(), Some(Priority::HIGHEST));
    assert_eq!(client.stats().streams, 1);
}

#[tokio::test]
async fn dropping_handles_finishes_or_resets_streams_cleanly() {
    let (client, server) = pair(SessionConfig::default(), SessionConfig::default());
    // A finished SendStream dropped: the stream completes, no reset.
    let (mut send, mut recv) = client
        .open_stream(OpenStream::new(HeaderBlock::new()))
        .await
        .unwrap();
    send.send_last(Bytes::from_static(b"done")).await.unwrap();
    drop(send);
    let incoming = timeout(LIMIT, server.accept()).await.unwrap().unwrap();
    let (mut server_send, mut server_recv) = incoming.reply(HeaderBlock::new(), false).unwrap();
    assert_eq!(
        timeout(LIMIT, server_recv.collect(100))
            .await
            .unwrap()
            .unwrap(),
        "done"
    );
    server_send
        .send_last(Bytes::from_static(b"ok"))
        .await
        .unwrap();
    recv.headers().await.unwrap();
    assert_eq!(
        timeout(LIMIT, recv.collect(100)).await.unwrap().unwrap(),
        "ok"
    );

    // An unfinished SendStream dropped: the peer sees CANCEL, not a short body.
    let (send, _recv) = client
        .open_stream(OpenStream::new(HeaderBlock::new()))
        .await
        .unwrap();
    let incoming = timeout(LIMIT, server.accept()).await.unwrap().unwrap();
    let (_server_send, mut server_recv) = incoming.reply(HeaderBlock::new(), false).unwrap();
    drop(send);
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

    // An IncomingStream dropped unanswered: the opener sees CANCEL.
    let (_send, mut recv) = client
        .open_stream(OpenStream::new(HeaderBlock::new()))
        .await
        .unwrap();
    drop(timeout(LIMIT, server.accept()).await.unwrap().unwrap());
    let result = timeout(LIMIT, recv.headers()).await.unwrap();
    assert!(
        matches!(
            result,
            Err(Error::Reset {
                status: RstStatus::Cancel,
                ..
            })
        ),
        "{result:?}"
    );
    timeout(LIMIT, async {
        while client.stats().streams > 0 || server.stats().streams > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("every stream is gone from both sessions");
}

// ----- the connection cut at every byte of scripted exchanges -----

/// A client and a server session in memory, for making scripts: what one
/// end would write in an exchange.
struct Scripter {
    now: Instant,
    client: Session,
    server: Session,
}

impl Scripter {
    fn new() -> Self {
        let now = Instant::now();
        Scripter {
            now,
            client: Session::new(Role::Client, SessionConfig::default(), now),
            server: Session::new(Role::Server, SessionConfig::default(), now),
        }
    }

    fn flush(from: &mut Session, to: &mut Session, now: Instant, wire: &mut Vec<u8>) -> Vec<Event> {
        let mut out = BytesMut::new();
        while let Some(t) = from.poll_transmit(now) {
            t.write_to(&mut out);
        }
        wire.extend_from_slice(&out);
        to.receive(&mut out, now);
        std::iter::from_fn(|| to.poll_event()).collect()
    }

    /// Client bytes and the events they make at the server.
    fn client_says(&mut self, wire: &mut Vec<u8>) -> Vec<Event> {
        Self::flush(&mut self.client, &mut self.server, self.now, wire)
    }

    /// Server bytes and the events they make at the client.
    fn server_says(&mut self, wire: &mut Vec<u8>) -> Vec<Event> {
        Self::flush(&mut self.server, &mut self.client, self.now, wire)
    }
}

fn opened(events: &[Event]) -> Vec<StreamId> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::StreamOpened { stream_id, .. } => Some(*stream_id),
            _ => None,
        })
        .collect()
}

/// The server's bytes for: a request with a body, answered with a body.
fn script_request_with_body() -> Vec<u8> {
    let mut s = Scripter::new();
    let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
    let id = s
        .client
        .open_stream(OpenStream::new(headers(&[(":path", "/upload")])))
        .unwrap();
    s.client
        .send_data(id, Bytes::from_static(b"request body"), true)
        .unwrap();
    let events = s.client_says(&mut to_server);
    assert_eq!(opened(&events), vec![id]);
    s.server
        .reply(id, headers(&[(":status", "200")]), false)
        .unwrap();
    s.server
        .send_data(id, Bytes::from_static(b"response "), false)
        .unwrap();
    s.server
        .send_data(id, Bytes::from_static(b"body"), true)
        .unwrap();
    s.server_says(&mut to_client);
    to_client
}

/// The server's bytes for: a request answered with a reply, a push of
/// another resource (HEADERS with :status, then its body), and the body.
fn script_push() -> Vec<u8> {
    let mut s = Scripter::new();
    let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
    let id = s
        .client
        .open_stream(OpenStream::new(headers(&[(":path", "/")])).fin(true))
        .unwrap();
    s.client_says(&mut to_server);
    s.server
        .reply(id, headers(&[(":status", "200")]), false)
        .unwrap();
    let pushed = s
        .server
        .open_stream(
            OpenStream::new(headers(&[
                (":scheme", "https"),
                (":host", "h"),
                (":path", "/p"),
            ]))
            .pushed_for(id),
        )
        .unwrap();
    s.server
        .send_headers(pushed, headers(&[(":status", "200")]), false)
        .unwrap();
    s.server
        .send_data(pushed, Bytes::from_static(b"pushed"), true)
        .unwrap();
    s.server
        .send_data(id, Bytes::from_static(b"page"), true)
        .unwrap();
    s.server_says(&mut to_client);
    to_client
}

/// The server's bytes for: two requests, GOAWAY naming the first as the
/// last processed, then the first one's answer.
fn script_goaway() -> Vec<u8> {
    let mut s = Scripter::new();
    let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
    let first = s
        .client
        .open_stream(OpenStream::new(headers(&[(":path", "/1")])).fin(true))
        .unwrap();
    s.client_says(&mut to_server);
    // The server says GOAWAY before it sees the second request.
    s.server.goaway(GoAwayStatus::Ok);
    s.server
        .reply(first, headers(&[(":status", "200")]), false)
        .unwrap();
    s.server
        .send_data(first, Bytes::from_static(b"first"), true)
        .unwrap();
    s.server_says(&mut to_client);
    to_client
}

/// Runs the client side of a script against a peer that answers with the
/// first `cut` bytes of it and hangs up. Returns the outcomes of the
/// client's calls; all must be errors unless the script was complete.
async fn client_against_cut_script(
    script: &str,
    bytes: &[u8],
    cut: usize,
) -> Vec<Result<String, String>> {
    let live = Arc::new(AtomicUsize::new(0));
    let (a, mut b) = tokio::io::duplex(64 * 1024);
    let (client, connection) = connect(
        Tracked::new(a, &live),
        Role::Client,
        SessionConfig::default(),
        DriverConfig::default(),
    );
    let task = tokio::spawn(connection);
    let prefix = bytes[..cut].to_vec();
    let peer = tokio::spawn(async move {
        // Read the request (whatever arrives first), answer with the
        // prefix, hang up. The client's bytes are not checked here.
        let mut buf = vec![0u8; 4096];
        let _ = b.read(&mut buf).await;
        let _ = b.write_all(&prefix).await;
        let _ = b.shutdown().await;
        // Drain until the client closes, so its writes never block.
        while b.read(&mut buf).await.unwrap_or(0) > 0 {}
    });
    let err = |e: Error| e.to_string();
    let outcomes = timeout(LIMIT, async {
        let mut outcomes = Vec::new();
        match script {
            "request with body" => {
                let (mut send, mut recv) = client
                    .open_stream(OpenStream::new(headers(&[(":path", "/upload")])))
                    .await
                    .map_err(err)?;
                send.send_last(Bytes::from_static(b"request body"))
                    .await
                    .map_err(err)?;
                outcomes.push(recv.headers().await.map(|h| format!("{h:?}")).map_err(err));
                outcomes.push(
                    recv.collect(1024)
                        .await
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .map_err(err),
                );
            }
            "push" => {
                let (_send, mut recv) = client
                    .open_stream(OpenStream::new(headers(&[(":path", "/")])).fin(true))
                    .await
                    .map_err(err)?;
                let pushes = {
                    let client = client.clone();
                    tokio::spawn(async move {
                        let Some(push) = client.accept().await else {
                            return Err("no push".to_string());
                        };
                        let mut pushed = push.into_recv();
                        let status = pushed.headers().await.map_err(err)?;
                        let body = pushed.collect(1024).await.map_err(err)?;
                        Ok(format!("{status:?} {body:?}"))
                    })
                };
                outcomes.push(recv.headers().await.map(|h| format!("{h:?}")).map_err(err));
                outcomes.push(
                    recv.collect(1024)
                        .await
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .map_err(err),
                );
                outcomes.push(pushes.await.unwrap());
            }
            _ => {
                let (_s1, mut first) = client
                    .open_stream(OpenStream::new(headers(&[(":path", "/1")])).fin(true))
                    .await
                    .map_err(err)?;
                let second = client
                    .open_stream(OpenStream::new(headers(&[(":path", "/2")])).fin(true))
                    .await;
                outcomes.push(
                    first
                        .collect(1024)
                        .await
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .map_err(err),
                );
                // The second stream never gets an answer: refused (safe to
                // retry) once GOAWAY arrived, or lost with the connection.
                let (_s2, mut second) = second.map_err(err)?;
                outcomes.push(match second.headers().await {
                    Err(e) if e.is_retryable() => Err("refused, retryable".into()),
                    other => other.map(|h| format!("{h:?}")).map_err(err),
                });
            }
        }
        Ok::<_, String>(outcomes)
    })
    .await
    .unwrap_or_else(|_| panic!("{script}: hung with the connection cut at byte {cut}"));
    drop(client);
    timeout(LIMIT, task)
        .await
        .unwrap_or_else(|_| panic!("{script}: the connection task survived a cut at byte {cut}"))
        .unwrap();
    timeout(LIMIT, peer).await.unwrap().unwrap();
    no_task_survives(&format!("{script}, cut at {cut}")).await;
    assert_eq!(
        live.load(Ordering::SeqCst),
        0,
        "{script}: I/O kept after a cut at {cut}"
    );
    match outcomes {
        Ok(outcomes) => outcomes,
        Err(e) => vec![Err(e)],
    }
}

#[tokio::test]
async fn client_calls_fail_cleanly_when_the_connection_is_cut_at_every_byte() {
    for (script, bytes) in [
        ("request with body", script_request_with_body()),
        ("push", script_push()),
        ("goaway", script_goaway()),
    ] {
        for cut in 0..=bytes.len() {
            let outcomes = client_against_cut_script(script, &bytes, cut).await;
            if cut == bytes.len() {
                match script {
                    "request with body" => {
                        assert_eq!(outcomes[1].as_deref(), Ok("response body"))
                    }
                    "push" => {
                        assert_eq!(outcomes[1].as_deref(), Ok("page"));
                        assert!(
                            outcomes[2].as_ref().is_ok_and(|p| p.contains("pushed")),
                            "{outcomes:?}"
                        );
                    }
                    _ => {
                        assert_eq!(outcomes[0].as_deref(), Ok("first"));
                        assert_eq!(outcomes[1], Err("refused, retryable".to_string()));
                    }
                }
            } else {
                // Whatever completed before the cut, the last call of each
                // chain failed: nothing looked complete that was not.
                let complete = match script {
                    "request with body" => outcomes.get(1).is_some_and(|o| o.is_ok()),
                    "push" => {
                        outcomes.get(1).is_some_and(|o| o.is_ok())
                            && outcomes.get(2).is_some_and(|o| o.is_ok())
                    }
                    _ => outcomes.iter().all(|o| o.is_ok()),
                };
                assert!(!complete, "{script}, cut at {cut}: {outcomes:?}");
            }
        }
    }
}

/// The server side: a scripted client sends a request with a body in
/// three DATA frames, cut at every byte; the handler's calls must fail (or
/// never start) and nothing may survive.
#[tokio::test]
async fn server_calls_fail_cleanly_when_the_connection_is_cut_at_every_byte() {
    let mut s = Scripter::new();
    let mut to_server = Vec::new();
    let id = s
        .client
        .open_stream(OpenStream::new(headers(&[(":path", "/upload")])))
        .unwrap();
    for (i, piece) in [&b"one "[..], b"two ", b"three"].iter().enumerate() {
        s.client
            .send_data(id, Bytes::copy_from_slice(piece), i == 2)
            .unwrap();
    }
    s.client_says(&mut to_server);
    for cut in 0..=to_server.len() {
        let live = Arc::new(AtomicUsize::new(0));
        let (a, mut b) = tokio::io::duplex(64 * 1024);
        let (server, connection) = connect(
            Tracked::new(a, &live),
            Role::Server,
            SessionConfig::default(),
            DriverConfig::default(),
        );
        let task = tokio::spawn(connection);
        let prefix = to_server[..cut].to_vec();
        let peer = tokio::spawn(async move {
            let _ = b.write_all(&prefix).await;
            let _ = b.shutdown().await;
            let mut sink = vec![0u8; 4096];
            while b.read(&mut sink).await.unwrap_or(0) > 0 {}
        });
        let handled = timeout(LIMIT, async {
            let incoming = server.accept().await.ok_or("no stream")?;
            let (mut send, mut recv) = incoming
                .reply(headers(&[(":status", "200")]), false)
                .map_err(|e| e.to_string())?;
            let body = recv.collect(1024).await.map_err(|e| e.to_string())?;
            send.send_last(body.clone())
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(body)
        })
        .await
        .unwrap_or_else(|_| panic!("server hung with the connection cut at byte {cut}"));
        if cut == to_server.len() {
            // The whole request arrived; the answer may or may not have
            // made it before the client hung up, but the body is whole.
            if let Ok(body) = &handled {
                assert_eq!(body, "one two three");
            }
        } else {
            assert!(handled.is_err(), "cut at {cut}: {handled:?}");
        }
        drop(server);
        timeout(LIMIT, task)
            .await
            .unwrap_or_else(|_| panic!("the server task survived a cut at byte {cut}"))
            .unwrap();
        peer.await.unwrap();
        no_task_survives(&format!("server, cut at {cut}")).await;
        assert_eq!(
            live.load(Ordering::SeqCst),
            0,
            "I/O kept after a cut at {cut}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn keepalive_keeps_a_live_peer_and_ends_a_silent_one() {
    let keepalive = SessionConfig {
        keepalive_interval: Some(Duration::from_secs(30)),
        ping_timeout: Duration::from_secs(5),
        idle_timeout: None,
        ..SessionConfig::default()
    };
    // A live peer answers every keepalive PING for ten (virtual) minutes.
    let (client, _server) = pair(
        keepalive.clone(),
        SessionConfig {
            idle_timeout: None,
            ..SessionConfig::default()
        },
    );
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(client.close_reason(), None);

    // A silent peer reads everything and answers nothing.
    let (a, mut peer) = tokio::io::duplex(64 * 1024);
    let (silent, connection) = connect(a, Role::Client, keepalive, DriverConfig::default());
    let task = tokio::spawn(connection);
    tokio::spawn(async move {
        let mut sink = vec![0u8; 4096];
        while peer.read(&mut sink).await.unwrap_or(0) > 0 {}
    });
    let started = tokio::time::Instant::now();
    let reason = timeout(Duration::from_secs(120), silent.closed())
        .await
        .expect("the keepalive ends the session");
    assert_eq!(reason, CloseReason::PingTimeout);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(35) && elapsed < Duration::from_secs(36),
        "closed after {elapsed:?}"
    );
    assert_eq!(
        timeout(LIMIT, task).await.unwrap().unwrap(),
        CloseReason::PingTimeout
    );
}

/// A handler that finishes its answer and drops both halves before the
/// peer finished its side: the whole answer still arrives, then the stream
/// is reset so the peer stops sending. (Before, the reset went out at once
/// and threw away what was still queued: a truncated body.)
#[tokio::test]
async fn dropping_a_finished_writer_and_its_reader_still_delivers_every_byte() {
    let (client, server) = pair(SessionConfig::default(), SessionConfig::default());
    let body = Bytes::from(
        (0..3 * 1024 * 1024)
            .map(|i| (i % 253) as u8)
            .collect::<Vec<u8>>(),
    );
    let expected = body.clone();
    let handler = tokio::spawn(async move {
        let incoming = server.accept().await.unwrap();
        let (mut send, recv) = incoming.reply(HeaderBlock::new(), false).unwrap();
        send.send_last(body).await.unwrap();
        drop(send);
        drop(recv);
        server
    });
    // The client never finishes its side.
    let (mut send, mut recv) = client
        .open_stream(OpenStream::new(HeaderBlock::new()))
        .await
        .unwrap();
    send.send_data(Bytes::from_static(b"still talking"))
        .await
        .unwrap();
    recv.headers().await.unwrap();
    let got = timeout(LIMIT, recv.collect(8 * 1024 * 1024))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "the body arrived intact");
    let _server = handler.await.unwrap();
    // Then the server's CANCEL ends our sending half.
    let result = timeout(LIMIT, async {
        loop {
            match send.send_data(Bytes::from_static(b"more")).await {
                Ok(()) => tokio::time::sleep(Duration::from_millis(1)).await,
                Err(e) => break e,
            }
        }
    })
    .await
    .unwrap();
    assert!(
        matches!(
            result,
            Error::Reset {
                status: RstStatus::Cancel,
                origin: ResetOrigin::Peer,
                ..
            }
        ),
        "{result:?}"
    );
}

/// A task that polls its waits again and again (a `select!` loop with a
/// timer) must not grow the session's lists of waiters. Every stored
/// waker is a clone of the task's, so counting the clones alive counts
/// the list.
#[tokio::test]
async fn waits_polled_in_a_loop_do_not_pile_up() {
    use std::future::Future;
    use std::task::{Wake, Waker};

    struct Counted;
    impl Wake for Counted {
        fn wake(self: Arc<Self>) {}
    }

    let (a, mut peer) = tokio::io::duplex(64 * 1024);
    let config = SessionConfig {
        assumed_peer_max_concurrent_streams: 1,
        ..SessionConfig::default()
    };
    let (client, connection) = connect(a, Role::Client, config, DriverConfig::default());
    let task = tokio::spawn(connection);
    let _first = client
        .open_stream(OpenStream::new(HeaderBlock::new()))
        .await
        .unwrap();

    let counted = Arc::new(Counted);
    let waker = Waker::from(counted.clone());
    let mut cx = Context::from_waker(&waker);
    let mut closed = std::pin::pin!(client.closed());
    let mut settings = std::pin::pin!(client.peer_settings_received());
    let mut open = std::pin::pin!(client.open_stream(OpenStream::new(HeaderBlock::new())));
    for _ in 0..1_000 {
        assert!(closed.as_mut().poll(&mut cx).is_pending());
        assert!(settings.as_mut().poll(&mut cx).is_pending());
        assert!(open.as_mut().poll(&mut cx).is_pending());
    }
    // Ours, the one in `waker`, and one per list.
    assert!(
        Arc::strong_count(&counted) <= 5,
        "{} wakers kept",
        Arc::strong_count(&counted)
    );
    // The waits still end when the connection goes.
    drop(peer.shutdown().await);
    drop(peer);
    let reason = timeout(LIMIT, closed).await.unwrap();
    assert!(
        matches!(reason, CloseReason::ConnectionLost(_)),
        "{reason:?}"
    );
    assert!(settings.await.is_err());
    assert!(open.await.is_err());
    timeout(LIMIT, task).await.unwrap().unwrap();
}

/// Several tasks accepting on clones of one handle: every stream reaches
/// one of them, and when the session ends every one of them returns.
#[tokio::test]
async fn several_acceptors_all_return_when_the_session_ends() {
    let (client, server) = pair(SessionConfig::default(), SessionConfig::default());
    let mut acceptors = Vec::new();
    for _ in 0..4 {
        let server = server.clone();
        acceptors.push(tokio::spawn(async move {
            let mut n = 0;
            while let Some(incoming) = server.accept().await {
                drop(incoming.reply(HeaderBlock::new(), true));
                n += 1;
            }
            n
        }));
    }
    // Let all four wait, then open streams one at a time.
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    for _ in 0..20 {
        let (_send, mut recv) = client
            .open_stream(OpenStream::new(HeaderBlock::new()).fin(true))
            .await
            .unwrap();
        timeout(LIMIT, recv.headers()).await.unwrap().unwrap();
    }
    client.close();
    let mut total = 0;
    for acceptor in acceptors {
        total += timeout(LIMIT, acceptor)
            .await
            .expect("an acceptor hung after the session ended")
            .unwrap();
    }
    assert_eq!(total, 20);
}

/// `RecvStream::reset` with unread data: the session window those bytes
/// held is given back, so later streams still flow under a small window.
#[tokio::test]
async fn a_reader_reset_gives_back_the_session_window_of_unread_data() {
    let small = SessionConfig {
        session_window: 65_536,
        stream_window: 65_536,
        ..SessionConfig::default()
    };
    let (client, server) = pair(small.clone(), small);
    let answers = tokio::spawn(async move {
        while let Some(incoming) = server.accept().await {
            tokio::spawn(async move {
                let (mut send, _recv) = incoming.reply(HeaderBlock::new(), false).unwrap();
                let _ = send.send_last(Bytes::from(vec![9u8; 60_000])).await;
            });
        }
    });
    // First stream: 60,000 bytes arrive, nobody reads them, the reader resets.
    let (_send, mut recv) = client
        .open_stream(OpenStream::new(HeaderBlock::new()).fin(true))
        .await
        .unwrap();
    recv.headers().await.unwrap();
    // The stream closes in the session once the whole answer (and its FIN)
    // is buffered for the reader.
    timeout(LIMIT, async {
        while client.stats().streams > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap();
    recv.reset(RstStatus::Cancel);
    // Second stream: needs the session window back.
    let (_send, mut recv) = client
        .open_stream(OpenStream::new(HeaderBlock::new()).fin(true))
        .await
        .unwrap();
    recv.headers().await.unwrap();
    let body = timeout(LIMIT, recv.collect(100_000))
        .await
        .expect("the second answer is not held back by the first one's unread bytes")
        .unwrap();
    assert_eq!(body.len(), 60_000);
    answers.abort();
}
