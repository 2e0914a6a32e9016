//! Interop with the real node-spdy (npm `spdy@4`, pinned in
//! conformance/peers/node): node-spdy's client fetching from our server and
//! our client fetching from node-spdy's server, over plain SPDY/3.1 on
//! 127.0.0.1. Bodies are checked byte for byte (SHA-256 of large ones),
//! hundreds of streams run at once, and shutdown is exercised both ways.
//!
//! node is required (CI installs it); the pinned node-spdy is installed
//! with `npm ci` on first use. Without node these tests fail and say so.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use sha2::{Digest, Sha256};
use spdy_client::{Body, Client, ClientConfig};
use spdy_server::{Handler, ResponseWriter, Server, ServerConfig};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

const LIMIT: Duration = Duration::from_secs(60);

fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers/node")
}

/// Fails with a clear message unless node is installed; installs the pinned
/// node-spdy from the npm registry (`npm ci`, as .ci/run does) when a fresh
/// clone has none yet.
fn require_node() {
    static INSTALLED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let node = std::process::Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is not installed: the node-spdy interop tests need it \
         (CI installs it; locally: apt-get install nodejs npm)"
    );
    let installed = INSTALLED.get_or_init(|| {
        if peers_dir().join("node_modules/spdy/package.json").exists() {
            return Ok(());
        }
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(peers_dir())
            .status()
            .map_err(|e| format!("cannot run npm: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`npm ci` failed with {status}"))
        }
    });
    if let Err(why) = installed {
        panic!(
            "node-spdy is not installed in {} and could not be: {why}",
            peers_dir().display()
        );
    }
}

/// Byte i of body `seed` is (i * 7 + seed) mod 256, as in interop_common.js.
fn pattern(seed: u8, len: usize) -> Bytes {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(7).wrapping_add(u32::from(seed)) as u8)
        .collect::<Vec<u8>>()
        .into()
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn node(script: &str, args: &[&str]) -> Child {
    Command::new("node")
        .arg(peers_dir().join(script))
        .args(args)
        .current_dir(peers_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("cannot start node")
}

/// The next JSON line the peer printed.
async fn next_line(lines: &mut tokio::io::Lines<BufReader<ChildStdout>>) -> serde_json::Value {
    let line = tokio::time::timeout(LIMIT, lines.next_line())
        .await
        .expect("node said nothing in time")
        .unwrap()
        .expect("node ended early");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

/// GET /hello; GET /bytes/N: pattern(N mod 256, N), N bytes, written in
/// 64 KiB pieces; POST /echo: the body back, streamed.
struct Peer;

impl Handler for Peer {
    async fn serve(&self, request: Request<Body>, response: &mut ResponseWriter) {
        let path = request.uri().path().to_owned();
        if path == "/hello" {
            let _ = response.write_last("hello, node").await;
        } else if let Some(n) = path.strip_prefix("/bytes/") {
            let n: usize = n.parse().unwrap();
            let body = pattern(n as u8, n);
            response
                .headers_mut()
                .insert("content-length", n.to_string().parse().unwrap());
            let mut offset = 0;
            while offset < n {
                let end = (offset + 64 * 1024).min(n);
                if response.write(body.slice(offset..end)).await.is_err() {
                    return;
                }
                offset = end;
            }
        } else if path == "/echo" {
            use http_body_util::BodyExt;
            let mut body = request.into_body();
            while let Some(Ok(frame)) = body.frame().await {
                if let Ok(data) = frame.into_data()
                    && response.write(data).await.is_err()
                {
                    return;
                }
            }
        } else {
            response.set_status(StatusCode::NOT_FOUND);
        }
    }
}

async fn our_server() -> (
    Server<Peer>,
    u16,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // node-spdy ignores the peer's MAX_CONCURRENT_STREAMS (a TODO in
    // spdy-transport) and opens all 300 streams at once; above our limit
    // they would be refused, as the draft says, and node does not retry.
    let mut config = ServerConfig::default().spdy_only(true);
    config.session.max_concurrent_streams = 1000;
    let server = Server::new(Peer, config);
    let task = {
        let server = server.clone();
        tokio::spawn(async move { server.serve(listener).await })
    };
    (server, port, task)
}

fn expect(result: &serde_json::Value, len: usize, body: &[u8]) {
    assert_eq!(result["status"], 200, "{result}");
    assert_eq!(result["len"], len, "{result}");
    assert_eq!(result["sha256"], sha256(body), "{result}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_spdy_client_fetches_from_our_server() {
    require_node();
    let (_server, port, _task) = our_server().await;
    let mut child = node("interop_client.js", &[&port.to_string(), "basic"]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let hello = next_line(&mut lines).await;
    expect(&hello, 11, b"hello, node");
    // 300 concurrent streams on node's one session.
    for _ in 0..300 {
        let result = next_line(&mut lines).await;
        let n: usize = result["id"].as_str().unwrap()["bytes/".len()..]
            .parse()
            .unwrap();
        expect(&result, n, &pattern(n as u8, n));
    }
    let echo = next_line(&mut lines).await;
    expect(&echo, 3_000_000, &pattern(5, 3_000_000));
    let big = next_line(&mut lines).await;
    expect(&big, 20_000_000, &pattern(0, 20_000_000));
    assert_eq!(next_line(&mut lines).await["done"], true);
    let status = tokio::time::timeout(LIMIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_server_drains_node_spdy_on_shutdown() {
    require_node();
    let (server, port, task) = our_server().await;
    let mut child = node("interop_client.js", &[&port.to_string(), "shutdown"]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(next_line(&mut lines).await["started"], true);
    // GOAWAY while 20 MB are in flight: the transfer still completes.
    let shutdown = {
        let server = server.clone();
        tokio::spawn(async move { server.shutdown(Duration::from_secs(30)).await })
    };
    let big = next_line(&mut lines).await;
    expect(&big, 20_000_000, &pattern(0, 20_000_000));
    // Nothing new is accepted after the GOAWAY.
    assert_eq!(next_line(&mut lines).await["after_goaway"], "error");
    tokio::time::timeout(LIMIT, shutdown)
        .await
        .unwrap()
        .unwrap();
    tokio::time::timeout(LIMIT, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let status = tokio::time::timeout(LIMIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

/// A node-spdy server and its port; it exits when its stdin closes.
async fn node_server() -> (Child, u16) {
    let mut child = node("interop_server.js", &[]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = next_line(&mut lines).await["port"].as_u64().unwrap() as u16;
    (child, port)
}

async fn get(client: &Client, path: &str) -> (StatusCode, Bytes) {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let mut response = client.send(request).await.unwrap();
    let body = response.body_mut().bytes(64 << 20).await.unwrap();
    (response.status(), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_fetches_from_node_spdy() {
    require_node();
    let (mut child, port) = node_server().await;
    let client = Client::connect(
        ("127.0.0.1", port),
        ClientConfig::default().accept_pushes(4),
    )
    .await
    .unwrap();
    tokio::time::timeout(LIMIT, async {
        // Headers arrive as sent, pseudo headers mapped.
        let request = Request::get("/headers")
            .header("x-interop", "rust")
            .body(Body::empty())
            .unwrap();
        let mut response = client.send(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let seen: serde_json::Value =
            serde_json::from_slice(&response.body_mut().bytes(1 << 16).await.unwrap()).unwrap();
        assert_eq!(seen["x-interop"], "rust", "{seen}");
        assert_eq!(seen["host"], format!("127.0.0.1:{port}"), "{seen}");

        // 300 requests at once on one session (node's stream limit makes
        // some wait for a slot).
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..300usize {
            let client = client.clone();
            tasks.spawn(async move {
                let n = (i * 7919) % 50_000 + 1;
                let (status, body) = get(&client, &format!("/bytes/{n}")).await;
                assert_eq!(status, StatusCode::OK);
                assert_eq!(body, pattern(n as u8, n), "/bytes/{n}");
            });
        }
        while let Some(result) = tasks.join_next().await {
            result.unwrap();
        }

        // 20 MB down, 3 MB up and back.
        let (_, body) = get(&client, "/bytes/20000000").await;
        assert_eq!(sha256(&body), sha256(&pattern(0, 20_000_000)));
        let sent = pattern(9, 3_000_000);
        let request = Request::post("/echo")
            .body(Body::from(sent.clone()))
            .unwrap();
        let mut response = client.send(request).await.unwrap();
        let echoed = response.body_mut().bytes(8 << 20).await.unwrap();
        assert_eq!(sha256(&echoed), sha256(&sent));

        // node-spdy pushes without FLAG_UNIDIRECTIONAL (the draft has the
        // server set it); associated-to makes it a push all the same, so
        // the pushed resource arrives beside the page.
        let (status, body) = get(&client, "/push").await;
        assert_eq!((status, body), (StatusCode::OK, Bytes::from("page")));
        let mut push = client.next_push().await.expect("node's push");
        assert_eq!(push.request.uri().path(), "/pushed.css");
        assert_eq!(push.response.status(), StatusCode::OK);
        let pushed = push.response.body_mut().bytes(1024).await.unwrap();
        assert_eq!(pushed, "pushed body");
        let (status, _) = get(&client, "/bytes/10").await;
        assert_eq!(status, StatusCode::OK);

        // Graceful close: GOAWAY, and the session ends.
        let reason = client.close(Duration::from_secs(10)).await;
        assert!(
            matches!(
                reason,
                spdy_core::session::CloseReason::Graceful
                    | spdy_core::session::CloseReason::ConnectionLost(_)
            ),
            "{reason}"
        );
    })
    .await
    .unwrap();
    drop(child.stdin.take());
    let status = tokio::time::timeout(LIMIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}
