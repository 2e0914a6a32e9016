//! The spdyd binary: prints its bound address, serves a directory over
//! SPDY (plain and TLS), logs one access line per stream, drains on
//! SIGINT, and fails with one line and status 1.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use common::{TempDir, within};
use http::Request;
use spdy_client::{Body, Client, ClientConfig};

/// A running spdyd and the address it printed.
struct Spdyd {
    child: Child,
    url: String,
}

impl Spdyd {
    async fn start(root: &std::path::Path, extra: &[&str]) -> Spdyd {
        let mut child = Command::new(env!("CARGO_BIN_EXE_spdyd"))
            .args(["--root", root.to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let line = within(tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            line
        }))
        .await
        .unwrap();
        assert!(line.starts_with("spdyd: serving "), "{line}");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .unwrap()
            .trim_end_matches('/')
            .to_owned();
        Spdyd { child, url }
    }

    fn addr(&self) -> String {
        self.url.split("://").nth(1).unwrap().to_owned()
    }

    /// SIGINT, then the exit status and stderr.
    async fn interrupt(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap()
                .success()
        );
        let mut stderr = self.child.stderr.take().unwrap();
        within(tokio::task::spawn_blocking(move || {
            let status = self.child.wait().unwrap();
            let mut text = String::new();
            stderr.read_to_string(&mut text).unwrap();
            (status, text)
        }))
        .await
        .unwrap()
    }
}

impl Drop for Spdyd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn demo() -> TempDir {
    let dir = TempDir::new("spdyd");
    std::fs::write(dir.0.join("hello.txt"), "hello from spdyd\n").unwrap();
    dir
}

async fn get(client: &Client, path: &str) -> (u16, bytes::Bytes) {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let mut response = client.send(request).await.unwrap();
    let body = response.body_mut().bytes(1 << 20).await.unwrap();
    (response.status().as_u16(), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_a_directory_logs_and_drains_on_sigint() {
    let dir = demo();
    let spdyd = Spdyd::start(&dir.0, &[]).await;
    assert!(spdyd.url.starts_with("http://127.0.0.1:"));
    let client = Client::connect(spdyd.addr(), ClientConfig::default())
        .await
        .unwrap();
    within(async {
        assert_eq!(
            get(&client, "/hello.txt").await,
            (200, "hello from spdyd\n".into())
        );
        assert_eq!(get(&client, "/nope").await.0, 404);
    })
    .await;
    let (status, stderr) = spdyd.interrupt().await;
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(
        stderr.contains("spdy_server::access: GET /hello.txt 200"),
        "{stderr}"
    );
    assert!(stderr.contains("GET /nope 404"), "{stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
    // The session saw the GOAWAY.
    within(client.closed()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_tls_with_a_self_signed_certificate() {
    let dir = demo();
    let spdyd = Spdyd::start(&dir.0, &["--tls-self-signed"]).await;
    assert!(spdyd.url.starts_with("https://127.0.0.1:"));
    let client = within(Client::connect_tls(
        spdyd.addr(),
        "localhost",
        spdy_client::tls::insecure_tls_config(),
        ClientConfig::default(),
    ))
    .await
    .unwrap();
    within(async {
        assert_eq!(
            get(&client, "/hello.txt").await,
            (200, "hello from spdyd\n".into())
        );
    })
    .await;
    let (status, _) = spdyd.interrupt().await;
    assert!(status.success());
}

#[test]
fn fails_with_one_line_and_status_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    for args in [
        vec!["--root", "/nonexistent/spdyd-root"],
        vec!["--root", ".", "--listen", &taken],
        vec![
            "--root",
            ".",
            "--tls-cert",
            "/nonexistent.pem",
            "--tls-key",
            "/nonexistent.key",
        ],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_spdyd"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.starts_with("spdyd: "), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
}
