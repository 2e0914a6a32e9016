//! Raw bidirectional streams against Go spdystream (the library behind
//! Docker's and Kubernetes' SPDY streams), in both roles, over TCP on
//! 127.0.0.1, with the session settings of the Kubernetes paths (no flow
//! control: spdystream does none).
//!
//! The Go peer (`conformance/peers/go/spdystream-peer`) is built in GOPATH
//! mode against the Debian package `golang-github-docker-spdystream-dev`.
//! Without Go or the package, each test says that it skipped and why.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use spdy_core::driver::{DriverConfig, Error, IncomingStream, RecvStream, SessionHandle, connect};
use spdy_core::frame::{GoAwayStatus, RstStatus};
use spdy_core::header::HeaderBlock;
use spdy_core::session::{CloseReason, OpenStream, Role, SessionConfig};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(60);
const SPDYSTREAM_SOURCE: &str = "/usr/share/gocode/src/github.com/moby/spdystream";

/// The session settings of the Kubernetes paths: spdystream compatible
/// (no flow control, streams from either end, a stream limit the peer,
/// which ignores SETTINGS, does not hit).
fn config() -> SessionConfig {
    SessionConfig::spdystream_compatible()
}

/// Builds the Go peer once; `Err` says why it cannot be built.
fn peer_binary() -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            if !Path::new(SPDYSTREAM_SOURCE).is_dir() {
                return Err(format!(
                    "Go spdystream is not installed ({SPDYSTREAM_SOURCE} is missing; \
                     apt-get install golang-github-docker-spdystream-dev)"
                ));
            }
            let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-peers");
            std::fs::create_dir_all(tmp.join("gopath")).map_err(|e| e.to_string())?;
            let out = tmp.join("spdystream-peer");
            let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/go/spdystream-peer");
            let gopath = format!("{}:/usr/share/gocode", tmp.join("gopath").display());
            let result = std::process::Command::new("go")
                .args(["build", "-o"])
                .arg(&out)
                .arg(".")
                .current_dir(&source)
                .env("GO111MODULE", "off")
                .env("GOPATH", gopath)
                .env("GOCACHE", tmp.join("gocache"))
                .env("GOFLAGS", "")
                .output();
            match result {
                Err(e) => Err(format!(
                    "the Go toolchain is not installed (apt-get install golang-go): {e}"
                )),
                Ok(output) if !output.status.success() => Err(format!(
                    "building the Go peer failed:\n{}",
                    String::from_utf8_lossy(&output.stderr)
                )),
                Ok(_) => Ok(out),
            }
        })
        .clone()
}

macro_rules! peer_or_skip {
    ($test:expr) => {
        match peer_binary() {
            Ok(path) => path,
            Err(why) if why.starts_with("building") => panic!("{why}"),
            Err(why) => {
                // .ci/run installs Go and spdystream: a CI run without them
                // must fail, not pass without having talked to the peer.
                assert!(
                    std::env::var_os("CI").is_none(),
                    "{}: {why} (CI installs it)",
                    $test
                );
                eprintln!("SKIPPED {}: {why}", $test);
                return;
            }
        }
    };
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

fn headers(pairs: &[(&str, &str)]) -> HeaderBlock {
    let mut block = HeaderBlock::new();
    for (name, value) in pairs {
        block.push(name.to_string(), value.to_string());
    }
    block
}

/// Opens a stream and waits for the peer's SYN_REPLY.
async fn open(
    session: &SessionHandle,
    pairs: &[(&str, &str)],
) -> (spdy_core::driver::SendStream, RecvStream) {
    let (send, mut recv) = session
        .open_stream(OpenStream::new(headers(pairs)))
        .await
        .expect("open");
    recv.headers().await.expect("reply").expect("reply headers");
    (send, recv)
}

/// Sends `data` (then FIN) while reading the answer to its end.
async fn exchange(session: &SessionHandle, pairs: &[(&str, &str)], data: Vec<u8>) -> Vec<u8> {
    let (mut send, mut recv) = open(session, pairs).await;
    let writer = tokio::spawn(async move {
        for chunk in data.chunks(64 * 1024) {
            send.send_data(Bytes::copy_from_slice(chunk))
                .await
                .expect("send");
        }
        send.finish().await.expect("fin");
    });
    let mut back = Vec::new();
    while let Some(chunk) = recv.data().await {
        back.extend_from_slice(&chunk.expect("data"));
    }
    writer.await.expect("writer");
    back
}

/// Echoes a stream the peer opened.
async fn echo(incoming: IncomingStream) {
    let Ok((mut send, mut recv)) = incoming.reply(HeaderBlock::new(), false) else {
        return;
    };
    while let Some(Ok(chunk)) = recv.data().await {
        if send.send_data(chunk).await.is_err() {
            return;
        }
    }
    let _ = send.finish().await;
}

async fn wait_exit(mut child: Child, what: &str) -> String {
    let mut stdout = String::new();
    if let Some(mut pipe) = child.stdout.take() {
        use tokio::io::AsyncReadExt;
        let _ = timeout(LIMIT, pipe.read_to_string(&mut stdout)).await;
    }
    let status = timeout(LIMIT, child.wait())
        .await
        .unwrap_or_else(|_| panic!("{what} did not exit"))
        .expect("wait");
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use tokio::io::AsyncReadExt;
        let _ = pipe.read_to_string(&mut stderr).await;
    }
    assert!(
        status.success(),
        "{what} failed ({status}): {stderr}\n{stdout}"
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_against_a_spdystream_server() {
    let peer = peer_or_skip!("our_client_against_a_spdystream_server");
    timeout(LIMIT, async {
        let mut child = Command::new(&peer)
            .arg("server")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the Go peer");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let line = lines
            .next_line()
            .await
            .expect("stdout")
            .expect("LISTEN line");
        let addr = line
            .strip_prefix("LISTEN ")
            .expect("LISTEN addr")
            .to_owned();
        child.stdout = None;

        let tcp = TcpStream::connect(&addr).await.expect("connect");
        let (session, connection) = connect(tcp, Role::Client, config(), DriverConfig::default());
        let connection = tokio::spawn(connection);

        // Streams the Go server opens towards us (no associated stream).
        let acceptor = session.clone();
        let accepting = tokio::spawn(async move {
            let mut n = 0;
            while let Some(incoming) = acceptor.accept().await {
                assert!(incoming.id().is_server_initiated());
                assert_eq!(incoming.headers().get_str("from"), Some("go"));
                n += 1;
                tokio::spawn(echo(incoming));
            }
            n
        });

        // 300 echo streams at once, each with its own payload.
        let mut tasks = Vec::new();
        for i in 0..300usize {
            let session = session.clone();
            tasks.push(tokio::spawn(async move {
                let payload = vec![i as u8; 1 + (i * 389) % 20_000];
                let index = i.to_string();
                let back = exchange(
                    &session,
                    &[("action", "echo"), ("index", &index)],
                    payload.clone(),
                )
                .await;
                assert_eq!(back, payload, "echo stream {i}");
            }));
        }
        for task in tasks {
            task.await.expect("echo stream");
        }

        // 8 MiB up and down, checked by hash.
        let big = 8 * 1024 * 1024;
        let upload = pattern(big);
        let answer = exchange(&session, &[("action", "hash")], upload.clone()).await;
        assert_eq!(
            String::from_utf8_lossy(&answer),
            format!("{big} {:x}", Sha256::digest(&upload))
        );
        let size = big.to_string();
        let download = exchange(
            &session,
            &[("action", "source"), ("size", &size)],
            Vec::new(),
        )
        .await;
        assert_eq!(download.len(), big);
        assert_eq!(Sha256::digest(&download), Sha256::digest(&upload));

        // Ping both ways.
        session
            .ping(Duration::from_secs(10))
            .await
            .expect("our ping");
        assert_eq!(
            exchange(&session, &[("action", "ping")], Vec::new()).await,
            b"pong"
        );

        // The Go server opens 100 streams towards us at once.
        let answer = exchange(
            &session,
            &[("action", "open-back"), ("count", "100")],
            Vec::new(),
        )
        .await;
        assert_eq!(String::from_utf8_lossy(&answer), "ok 100");

        // The Go server resets a stream, and refuses one.
        let (mut send, mut recv) = open(&session, &[("action", "reset")]).await;
        send.send_data("x".into()).await.expect("send");
        let error = loop {
            match recv.data().await {
                Some(Ok(_)) => continue,
                Some(Err(error)) => break error,
                None => panic!("the reset stream ended cleanly"),
            }
        };
        assert!(
            matches!(
                error,
                Error::Reset {
                    status: RstStatus::Cancel,
                    ..
                }
            ),
            "{error:?}"
        );
        let (_send, mut recv) = session
            .open_stream(OpenStream::new(headers(&[("action", "refuse")])))
            .await
            .expect("open");
        let error = recv.headers().await.expect_err("refused");
        assert!(error.is_retryable(), "{error:?}");
        // We reset one of ours; the session goes on.
        let (mut send, _recv) = open(&session, &[("action", "echo")]).await;
        send.reset(RstStatus::Cancel);
        session
            .ping(Duration::from_secs(10))
            .await
            .expect("alive after resets");

        // Shutdown: our GOAWAY ends the Go server's session; it exits.
        session.goaway(GoAwayStatus::Ok);
        drop(session);
        let reason = connection.await.expect("connection task");
        assert!(
            matches!(
                reason,
                CloseReason::Graceful | CloseReason::ConnectionLost(_)
            ),
            "{reason:?}"
        );
        assert_eq!(accepting.await.expect("acceptor"), 100);
        let out = wait_exit(child, "the Go spdystream server").await;
        let _ = out;
    })
    .await
    .expect("test timed out");
}

/// What our server does with a stream the Go client opens.
async fn serve(session: SessionHandle, incoming: IncomingStream) {
    let action = incoming
        .headers()
        .get_str("action")
        .unwrap_or("")
        .to_owned();
    if action == "refuse" {
        incoming.refuse(RstStatus::RefusedStream);
        return;
    }
    let size: usize = incoming
        .headers()
        .get_str("size")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let Ok((mut send, mut recv)) = incoming.reply(headers(&[("seen-action", &action)]), false)
    else {
        return;
    };
    match action.as_str() {
        "hash" => {
            let mut hasher = Sha256::new();
            let mut n = 0;
            while let Some(Ok(chunk)) = recv.data().await {
                n += chunk.len();
                hasher.update(&chunk);
            }
            let _ = send
                .send_last(format!("{n} {:x}", hasher.finalize()).into())
                .await;
        }
        "source" => {
            for chunk in pattern(size).chunks(64 * 1024) {
                if let Err(error) = send.send_data(Bytes::copy_from_slice(chunk)).await {
                    panic!("our server could not send the download: {error}");
                }
            }
            send.finish()
                .await
                .expect("our server could not finish the download");
        }
        "reset" => {
            let _ = recv.data().await;
            send.reset(RstStatus::Cancel);
        }
        "goaway-after" => {
            // All of the output queued (the last 512 KiB of it still in the
            // session when send_last returns), then a graceful GOAWAY at once.
            send.send_last(pattern(size).into())
                .await
                .expect("our server could not queue the download");
            session.goaway(GoAwayStatus::Ok);
            while let Some(Ok(_)) = recv.data().await {}
        }
        "ping" => {
            let answer = match session.ping(Duration::from_secs(10)).await {
                Ok(_) => "pong".to_owned(),
                Err(e) => format!("ping failed: {e}"),
            };
            let _ = send.send_last(answer.into()).await;
        }
        "open-back" => {
            let count: usize = 100;
            let mut tasks = Vec::new();
            for i in 0..count {
                let session = session.clone();
                tasks.push(tokio::spawn(async move {
                    let message = format!("hello {i} from rust").into_bytes();
                    let index = i.to_string();
                    exchange(
                        &session,
                        &[("from", "rust"), ("index", &index)],
                        message.clone(),
                    )
                    .await
                        == message
                }));
            }
            let mut ok = 0;
            for task in tasks {
                if task.await.unwrap_or(false) {
                    ok += 1;
                }
            }
            let answer = if ok == count {
                format!("ok {count}")
            } else {
                format!("fail {ok}/{count}")
            };
            let _ = send.send_last(answer.into()).await;
        }
        _ => {
            while let Some(Ok(chunk)) = recv.data().await {
                if send.send_data(chunk).await.is_err() {
                    return;
                }
            }
            let _ = send.finish().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spdystream_client_against_our_server() {
    let peer = peer_or_skip!("a_spdystream_client_against_our_server");
    timeout(LIMIT, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let big = 8 * 1024 * 1024;
        let child = Command::new(&peer)
            .args(["client", &addr.to_string(), "300", &big.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the Go peer");

        let (tcp, _) = listener.accept().await.expect("accept");
        let (session, connection) = connect(tcp, Role::Server, config(), DriverConfig::default());
        let connection = tokio::spawn(connection);
        let acceptor = session.clone();
        let serving = tokio::spawn(async move {
            let mut n = 0usize;
            while let Some(incoming) = acceptor.accept().await {
                n += 1;
                tokio::spawn(serve(acceptor.clone(), incoming));
            }
            n
        });

        let watcher = session.clone();
        let out = tokio::spawn(async move { wait_exit(child, "the Go spdystream client").await });
        // The client's GOAWAY and close end our session.
        let reason = timeout(Duration::from_secs(40), connection)
            .await
            .expect("our session did not end after the client closed")
            .expect("connection task");
        drop(watcher);
        let out = match out.await {
            Ok(out) => out,
            Err(panic) => panic!("{panic:?}; our session ended with {reason:?}"),
        };
        assert_eq!(out.trim_end(), "OK");
        assert!(
            matches!(
                reason,
                CloseReason::Graceful | CloseReason::ConnectionLost(_)
            ),
            "{reason:?}"
        );
        drop(session);
        // 300 echo + hash + source + ping + open-back + refuse + reset.
        assert_eq!(serving.await.expect("server"), 306);
    })
    .await
    .expect("test timed out");
}

/// Our graceful GOAWAY after output still queued: the Go client, which stops
/// reading at GOAWAY, must still get every byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_graceful_goaway_does_not_cut_off_a_spdystream_client() {
    let peer = peer_or_skip!("our_graceful_goaway_does_not_cut_off_a_spdystream_client");
    timeout(LIMIT, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let size = 4 * 1024 * 1024;
        let child = Command::new(&peer)
            .args(["client-goaway", &addr.to_string(), &size.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the Go peer");
        let (tcp, _) = listener.accept().await.expect("accept");
        let (session, connection) = connect(tcp, Role::Server, config(), DriverConfig::default());
        let connection = tokio::spawn(connection);
        let incoming = session.accept().await.expect("the Go client's stream");
        tokio::spawn(serve(session.clone(), incoming));
        drop(session);
        let out = wait_exit(child, "the Go spdystream client").await;
        assert_eq!(out.trim_end(), "OK");
        let reason = connection.await.expect("connection task");
        assert!(
            matches!(
                reason,
                CloseReason::Graceful | CloseReason::ConnectionLost(_)
            ),
            "{reason:?}"
        );
    })
    .await
    .expect("test timed out");
}
