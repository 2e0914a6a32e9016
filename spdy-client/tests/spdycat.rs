//! The spdycat binary against a small SPDY server built on the driver:
//! bodies to stdout and to a file, -n/-c with the requests/s line, POST
//! data and headers, -v frames, and one-line failures with exit status 1.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::process::Output;
use std::time::Duration;

use bytes::Bytes;
use spdy_core::driver::{DriverConfig, connect};
use spdy_core::header::HeaderBlock;
use spdy_core::session::{Role, SessionConfig};

const BIG: usize = 3_000_000;

fn big() -> Bytes {
    (0..BIG)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// /hello: "hello"; /big: 3 MB; /echo: the body back, with the request's
/// x-test header as x-seen; /missing: 404. HEAD gets the head only.
async fn server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let (session, connection) = connect(
                socket,
                Role::Server,
                SessionConfig::default(),
                DriverConfig::default(),
            );
            tokio::spawn(connection);
            tokio::spawn(async move {
                while let Some(incoming) = session.accept().await {
                    tokio::spawn(async move {
                        let path = incoming.headers().get_str(":path").unwrap().to_owned();
                        let seen = incoming.headers().get("x-test").cloned();
                        let head = incoming.headers().get_str(":method") == Some("HEAD");
                        let (responder, mut recv) = incoming.into_parts();
                        let body = recv.collect(1 << 20).await.unwrap_or_default();
                        let mut reply = HeaderBlock::new();
                        reply.push(":version", "HTTP/1.1");
                        let (status, data) = match path.as_str() {
                            "/hello" => ("200 OK", Bytes::from("hello")),
                            "/big" => ("200 OK", big()),
                            "/echo" => ("200 OK", body),
                            _ => ("404 Not Found", Bytes::new()),
                        };
                        reply.push(":status", status);
                        reply.push("content-length", data.len().to_string());
                        if let Some(seen) = seen {
                            reply.push("x-seen", seen);
                        }
                        let mut send = responder.reply(reply, false).unwrap();
                        let _ = send.send_last(if head { Bytes::new() } else { data }).await;
                    });
                }
            });
        }
    });
    addr
}

async fn spdycat(args: Vec<String>) -> Output {
    let run = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_spdycat"))
            .args(&args)
            .output()
            .unwrap()
    });
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("spdycat took too long")
        .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetches_to_stdout_and_to_a_file() {
    let addr = server().await;
    let out = spdycat(args(&[
        &format!("http://{addr}/hello"),
        &format!("http://{addr}/hello"),
    ]))
    .await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"hellohello");

    let file = std::env::temp_dir().join(format!("spdycat-test-{}", std::process::id()));
    let out = spdycat(args(&[
        "-o",
        file.to_str().unwrap(),
        &format!("http://{addr}/big"),
    ]))
    .await;
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty());
    // No terminal: no progress bar on stderr.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&file).unwrap(), big());
    let _ = std::fs::remove_file(&file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeats_with_concurrency_and_reports_requests_per_second() {
    let addr = server().await;
    let out = spdycat(args(&[
        "-n",
        "200",
        "-c",
        "20",
        &format!("http://{addr}/hello"),
    ]))
    .await;
    assert!(out.status.success(), "{out:?}");
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(
        line.starts_with("200 requests, 20 concurrent, 0 failed: "),
        "{line}"
    );
    assert!(line.contains(" requests/s, 1000 bytes received"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_data_with_headers_and_prints_frames() {
    let addr = server().await;
    let out = spdycat(args(&[
        "-d",
        "payload",
        "-H",
        "x-test: yes",
        "-v",
        &format!("http://{addr}/echo"),
    ]))
    .await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"payload");
    let frames = String::from_utf8(out.stderr).unwrap();
    assert!(
        frames.contains("# sent\n- type: SYN_STREAM\n  stream_id: 1\n"),
        "{frames}"
    );
    assert!(frames.contains("    :method: POST\n"), "{frames}");
    assert!(frames.contains("    x-test: yes\n"), "{frames}");
    assert!(
        frames.contains("# sent\n- type: DATA\n  stream_id: 1\n  data: payload\n"),
        "{frames}"
    );
    assert!(
        frames.contains("# received\n- type: SYN_REPLY\n"),
        "{frames}"
    );
    assert!(frames.contains("    x-seen: yes\n"), "{frames}");

    // -H Host names the :host (as with curl); the URL says where to connect.
    let out = spdycat(args(&[
        "-H",
        "Host: media.example:8443",
        "-v",
        &format!("http://{addr}/hello"),
    ]))
    .await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"hello");
    let frames = String::from_utf8(out.stderr).unwrap();
    assert!(
        frames.contains("    :host: media.example:8443\n"),
        "{frames}"
    );
    assert!(!frames.contains("    host:"), "{frames}");

    let file = std::env::temp_dir().join(format!("spdycat-data-{}", std::process::id()));
    std::fs::write(&file, vec![b'z'; 200_000]).unwrap();
    let out = spdycat(args(&[
        "--data-file",
        file.to_str().unwrap(),
        &format!("http://{addr}/echo"),
    ]))
    .await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, vec![b'z'; 200_000]);
    let _ = std::fs::remove_file(&file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_print_one_line_and_exit_1() {
    let addr = server().await;
    let cases = [
        vec![format!("http://{addr}/missing")],
        vec!["http://127.0.0.1:1/".to_owned()],
        vec!["ftp://example.test/".to_owned()],
        vec![
            "-H".to_owned(),
            "no colon".to_owned(),
            format!("http://{addr}/hello"),
        ],
        vec![
            "-n".to_owned(),
            "5".to_owned(),
            format!("http://{addr}/missing"),
        ],
    ];
    for case in cases {
        let out = spdycat(case.clone()).await;
        assert_eq!(out.status.code(), Some(1), "{case:?}: {out:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.starts_with("spdycat: "), "{case:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{case:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_succeeds_with_the_content_length_of_a_get() {
    let addr = server().await;
    let out = spdycat(args(&["-X", "HEAD", &format!("http://{addr}/big")])).await;
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty());
}
