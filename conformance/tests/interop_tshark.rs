//! An independent check of our frames: our client talks to our server over
//! TCP on 127.0.0.1, the exchange is captured (live with `tshark -i lo`, or
//! written as a pcap from the bytes the client saw where capturing is not
//! allowed), and Wireshark's SPDY dissector decodes it. Any malformed frame
//! or expert error fails the test, and the dissector must have seen every
//! kind of frame the exchange used, header blocks decompressed.
//!
//! Skipped (with a message) when tshark is not installed, unless `CI` is
//! set: CI installs it, so there it is a failure.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use bytes::Bytes;
use conformance::tshark::{self, Capture, Direction, Recording, Tee};
use spdy_core::driver::{DriverConfig, SessionHandle, connect};
use spdy_core::frame::{GoAwayStatus, Priority, SettingId, Settings};
use spdy_core::header::HeaderBlock;
use spdy_core::session::{OpenStream, Role, SessionConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

/// Bodies of every shape: empty, tiny, one frame, many frames, more than
/// a default window.
const BODY_SIZES: [usize; 8] = [0, 1, 100, 16_384, 16_385, 50_000, 200_000, 70_000];

fn body(seed: usize, len: usize) -> Bytes {
    (0..len)
        .map(|i| (i.wrapping_mul(31).wrapping_add(seed * 7) % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

fn request(path: &str) -> HeaderBlock {
    let mut headers = HeaderBlock::new();
    headers.push(":method", "POST");
    headers.push(":path", path.to_owned());
    headers.push(":version", "HTTP/1.1");
    headers.push(":host", "127.0.0.1");
    headers.push(":scheme", "http");
    headers.push("x-multi", "first\0second");
    headers.push("user-agent", "conformance-tshark/".repeat(20));
    headers
}

fn ok() -> HeaderBlock {
    let mut headers = HeaderBlock::new();
    headers.push(":status", "200");
    headers.push(":version", "HTTP/1.1");
    headers.push("set-cookie", "a=1\0b=2");
    headers
}

/// Echoes every stream; on `/push`, pushes a resource first.
async fn serve(server: SessionHandle) {
    while let Some(incoming) = server.accept().await {
        let server = server.clone();
        tokio::spawn(async move {
            let push = incoming.headers().get_str(":path") == Some("/push");
            let id = incoming.id();
            let (mut send, mut recv) = incoming.reply(ok(), false).unwrap();
            if push {
                let mut promise = HeaderBlock::new();
                promise.push(":scheme", "http");
                promise.push(":host", "127.0.0.1");
                promise.push(":path", "/pushed.css");
                let (mut pushed, _) = server
                    .open_stream(OpenStream::new(promise).pushed_for(id))
                    .await
                    .unwrap();
                pushed.send_headers(ok(), false).unwrap();
                pushed
                    .send_last(Bytes::from_static(b"body{}"))
                    .await
                    .unwrap();
            }
            while let Some(chunk) = recv.data().await {
                send.send_data(chunk.unwrap()).await.unwrap();
            }
            send.finish().await.unwrap();
        });
    }
}

async fn client_exchange(client: SessionHandle) {
    client.ping(LIMIT).await.unwrap();
    client
        .send_settings(Settings::new([(SettingId::InitialWindowSize, 262_144)]))
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, len) in BODY_SIZES.iter().copied().cycle().take(20).enumerate() {
        let client = client.clone();
        tasks.spawn(async move {
            let open = OpenStream::new(request(&format!("/echo/{i}")))
                .priority(Priority::new((i % 8) as u8));
            let (mut send, mut recv) = client.open_stream(open).await.unwrap();
            let sent = body(i, len);
            let expected = sent.clone();
            let writer = tokio::spawn(async move { send.send_last(sent).await });
            let reply = recv.headers().await.unwrap().unwrap();
            assert_eq!(reply.get_str(":status"), Some("200"));
            assert_eq!(recv.collect(1 << 20).await.unwrap(), expected, "stream {i}");
            writer.await.unwrap().unwrap();
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap();
    }
    // A push: the pushed stream arrives with the response.
    let mut get = request("/push");
    get.remove(":method");
    get.push(":method", "GET");
    let (_send, mut recv) = client
        .open_stream(OpenStream::new(get).fin(true))
        .await
        .unwrap();
    let pushed = client.accept().await.unwrap();
    assert!(pushed.associated_to().is_some());
    let mut pushed = pushed.into_recv();
    assert_eq!(
        pushed.headers().await.unwrap().unwrap().get_str(":status"),
        Some("200")
    );
    assert_eq!(pushed.collect(1024).await.unwrap(), "body{}");
    recv.headers().await.unwrap();
    recv.collect(1024).await.unwrap();
    client.goaway(GoAwayStatus::Ok);
    client.closed().await;
}

/// Runs the exchange over TCP; returns the client's port.
fn run_exchange(listener: std::net::TcpListener, recording: Recording) -> u16 {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let listener = TcpListener::from_std(listener).unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            socket.set_nodelay(true).unwrap();
            let (server, connection) = connect(
                socket,
                Role::Server,
                SessionConfig::default(),
                DriverConfig::default(),
            );
            let connection = tokio::spawn(connection);
            tokio::spawn(serve(server));
            connection.await.unwrap()
        });
        let socket = TcpStream::connect(address).await.unwrap();
        socket.set_nodelay(true).unwrap();
        let port = socket.local_addr().unwrap().port();
        let (client, connection) = connect(
            Tee::new(socket, recording),
            Role::Client,
            SessionConfig::default(),
            DriverConfig::default(),
        );
        let connection = tokio::spawn(connection);
        timeout(LIMIT, client_exchange(client)).await.unwrap();
        timeout(LIMIT, connection).await.unwrap().unwrap();
        timeout(LIMIT, server).await.unwrap().unwrap();
        port
    })
}

#[test]
fn wireshark_decodes_our_client_and_server_without_a_malformed_frame() {
    if !tshark::available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "tshark is not installed, and CI installs it"
        );
        eprintln!("skipped: tshark is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("spdy-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let live_path = dir.join("live.pcapng");
    let capture = Capture::start(port, &live_path, Duration::from_secs(15));
    let recording = Recording::default();
    let client_port = run_exchange(listener, recording.clone());

    // The bytes as the client saw them, as a pcap: checked every time, so
    // the check runs where live capture is not allowed too.
    let recorded_path = dir.join("recorded.pcap");
    let recorded = recording.lock().unwrap().clone();
    tshark::write_pcap(&recorded_path, client_port, port, &recorded).unwrap();
    let mut paths = vec![recorded_path];
    match capture {
        Ok(capture) => {
            eprintln!("live capture on lo, port {port}");
            // Both ends closed the connection: wait until the capture has
            // caught up with both FINs, then stop it.
            let caught_up = capture.wait_for_fins(2, Duration::from_secs(15));
            let path = capture.stop(Duration::from_secs(15)).unwrap();
            caught_up.unwrap();
            paths.push(path);
        }
        Err(why) => {
            assert!(
                std::env::var_os("SPDY_REQUIRE_LIVE_CAPTURE").is_none(),
                "live capture failed: {why}"
            );
            eprintln!("live capture not possible here ({why}); checking the recorded bytes only");
        }
    }
    for (index, path) in paths.iter().enumerate() {
        // The first is the recorded pcap, which is always complete.
        check_capture(path, port, &recording, index > 0);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn check_capture(path: &std::path::Path, port: u16, recording: &Recording, live: bool) {
    let dissection = tshark::dissect(path, port).unwrap();
    eprintln!(
        "{} packets; frames: {:?}; header names: {:?}",
        dissection.packets, dissection.frames, dissection.header_names
    );
    if live && dissection.lost_segments > 0 {
        // Only a live capture can miss packets (the machine was too busy
        // for the capture buffer): what it holds cannot be dissected
        // whole. The recorded pcap of the same bytes is checked in full.
        eprintln!(
            "{}: the capture missed {} segments; its frames are not checked",
            path.display(),
            dissection.lost_segments
        );
        return;
    }
    assert!(
        dissection.problems.is_empty(),
        "the dissector found problems in {}:\n{}",
        path.display(),
        dissection.problems.join("\n")
    );
    let sent_bytes: usize = recording
        .lock()
        .unwrap()
        .iter()
        .filter(|(d, _)| *d == Direction::Sent)
        .map(|(_, b)| b.len())
        .sum();
    assert!(sent_bytes > 500_000, "the client sent {sent_bytes} bytes");
    for (frame, at_least) in [
        ("SYN_STREAM", 22),
        ("SYN_REPLY", 21),
        ("HEADERS", 1),
        ("SETTINGS", 3),
        ("PING", 2),
        ("WINDOW_UPDATE", 2),
        ("GOAWAY", 1),
        ("DATA", 40),
    ] {
        assert!(
            dissection.count(frame) >= at_least,
            "the dissector saw {} {frame} frames, expected at least {at_least}: {:?}",
            dissection.count(frame),
            dissection.frames
        );
    }
    for name in [":method", ":path", ":status", "x-multi", "set-cookie"] {
        assert!(
            dissection.header_names.iter().any(|n| n == name),
            "header {name} not decoded: {:?}",
            dissection.header_names
        );
    }
}

/// The check itself can fail: a capture holding a malformed frame (a
/// SETTINGS whose count disagrees with its length) and a header block that
/// is not zlib are reported.
#[test]
fn the_dissector_reports_malformed_frames() {
    if !tshark::available() {
        assert!(std::env::var_os("CI").is_none(), "tshark is not installed");
        eprintln!("skipped: tshark is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("spdy-tshark-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in [
        (
            "settings",
            vec![
                0x80, 3, 0, 4, 0, 0, 0, 12, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 100,
            ],
        ),
        (
            "header-block",
            vec![
                0x80, 3, 0, 1, 1, 0, 0, 18, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0, 0xff, 0xff, 0xff,
                0xff, 0xff, 0xff, 0xff, 0xff,
            ],
        ),
    ] {
        let path = dir.join(format!("{name}.pcap"));
        tshark::write_pcap(&path, 50_000, 6121, &[(Direction::Sent, bytes)]).unwrap();
        let dissection = tshark::dissect(&path, 6121).unwrap();
        assert!(
            !dissection.problems.is_empty(),
            "{name}: no problem reported; frames {:?}",
            dissection.frames
        );
        eprintln!("{name}: {:?}", dissection.problems);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
