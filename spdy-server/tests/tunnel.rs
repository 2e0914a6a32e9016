//! The reverse tunnel end to end: HTTP/1.1 client -> proxy -> SPDY session
//! (dialled by the origin) -> origin handler, with a 100 MB streamed
//! response in bounded memory and a client that disconnects mid-transfer.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;

use bytes::Bytes;
use common::{LIMIT, within};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use spdy_server::tunnel::{TunnelProxy, serve_tunnel};
use spdy_server::{Body, Handler, ResponseWriter, ServerConfig};
use tokio::sync::mpsc;

const HUNDRED_MB: usize = 100 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// Chunk `i` of the big body: generated, never stored whole.
fn chunk(i: usize) -> Bytes {
    let mut data = vec![0u8; CHUNK];
    for (j, b) in data.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31).wrapping_add(j as u8);
    }
    Bytes::from(data)
}

/// /hello; POST /echo; /big: 100 MB; /endless: writes until the write
/// fails, then reports the error.
struct Origin(mpsc::Sender<String>);

impl Handler for Origin {
    async fn serve(&self, request: Request<Body>, response: &mut ResponseWriter) {
        match request.uri().path() {
            "/hello" => {
                let _ = response.write_last("hello through the tunnel").await;
            }
            "/echo" => {
                let body = request.into_body().to_bytes(1 << 20).await.unwrap();
                let _ = response.write_last(body).await;
            }
            "/big" => {
                response
                    .headers_mut()
                    .insert("content-length", HUNDRED_MB.to_string().parse().unwrap());
                for i in 0..HUNDRED_MB / CHUNK {
                    if response.write(chunk(i)).await.is_err() {
                        return;
                    }
                }
            }
            "/endless" => {
                let mut i = 0;
                loop {
                    if let Err(error) = response.write(chunk(i)).await {
                        let _ = self.0.send(error.to_string()).await;
                        return;
                    }
                    i += 1;
                }
            }
            _ => response.set_status(StatusCode::NOT_FOUND),
        }
    }
}

/// Proxy and origin up; returns the proxy's public address.
async fn tunnel(reports: mpsc::Sender<String>) -> (SocketAddr, TunnelProxy) {
    tunnel_with(reports, ServerConfig::default()).await
}

/// Proxy (with `config`) and origin up; returns the proxy's public address.
async fn tunnel_with(
    reports: mpsc::Sender<String>,
    config: ServerConfig,
) -> (SocketAddr, TunnelProxy) {
    let origins = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (origin_addr, public_addr) = (origins.local_addr().unwrap(), public.local_addr().unwrap());
    let proxy = TunnelProxy::new(config);
    {
        let proxy = proxy.clone();
        tokio::spawn(async move { proxy.run(origins, public).await });
    }
    // The origin dials out.
    let socket = tokio::net::TcpStream::connect(origin_addr).await.unwrap();
    tokio::spawn(serve_tunnel(
        socket,
        Origin(reports),
        ServerConfig::default(),
    ));
    within(proxy.wait_for_origin()).await;
    (public_addr, proxy)
}

type Sender = hyper::client::conn::http1::SendRequest<http_body_util::Full<Bytes>>;

async fn http1(addr: SocketAddr) -> (Sender, tokio::task::JoinHandle<()>) {
    let socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(socket))
            .await
            .unwrap();
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    (sender, task)
}

fn request(method: &str, path: &str, body: &'static str) -> Request<http_body_util::Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", "home.example")
        .body(http_body_util::Full::new(Bytes::from(body)))
        .unwrap()
}

/// Resident memory of this process, in bytes (Linux).
fn rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_flow_through_the_tunnel() {
    let (tx, _rx) = mpsc::channel(1);
    let (addr, proxy) = tunnel(tx).await;
    assert!(proxy.has_origin());
    within(async {
        let (mut sender, _c) = http1(addr).await;
        sender.ready().await.unwrap();
        let response = sender
            .send_request(request("GET", "/hello", ""))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "hello through the tunnel");
        sender.ready().await.unwrap();
        let response = sender
            .send_request(request("POST", "/echo", "sent up the tunnel"))
            .await
            .unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "sent up the tunnel");
        sender.ready().await.unwrap();
        let response = sender
            .send_request(request("GET", "/none", ""))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mb_response_streams_in_bounded_memory() {
    let (tx, _rx) = mpsc::channel(1);
    let (addr, _proxy) = tunnel(tx).await;
    let before = rss();
    let mut peak = 0u64;
    let (digest, received) = tokio::time::timeout(LIMIT * 3, async {
        let (mut sender, _c) = http1(addr).await;
        sender.ready().await.unwrap();
        let response = sender
            .send_request(request("GET", "/big", ""))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-length"], HUNDRED_MB.to_string());
        let mut body = response.into_body();
        let mut hasher = Sha256::new();
        let mut received = 0usize;
        let mut next_sample = 0usize;
        while let Some(frame) = body.frame().await {
            let data = frame.unwrap().into_data().unwrap();
            hasher.update(&data);
            received += data.len();
            if received >= next_sample {
                peak = peak.max(rss().unwrap_or(0));
                next_sample += 4 * 1024 * 1024;
            }
        }
        (hasher.finalize(), received)
    })
    .await
    .expect("the transfer took too long");
    assert_eq!(received, HUNDRED_MB);
    let mut expected = Sha256::new();
    for i in 0..HUNDRED_MB / CHUNK {
        expected.update(chunk(i));
    }
    assert_eq!(digest, expected.finalize());
    if let Some(before) = before {
        // Buffering the body anywhere would add 100 MB; windows and
        // channels allow a few.
        let growth = peak.saturating_sub(before);
        eprintln!("resident memory: {before} bytes before, {peak} at the peak");
        assert!(
            growth < 48 * 1024 * 1024,
            "resident memory grew by {growth} bytes"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_disconnects_mid_transfer_frees_the_stream() {
    let (tx, mut reports) = mpsc::channel(4);
    let (addr, _proxy) = tunnel(tx).await;
    within(async {
        let (mut sender, connection) = http1(addr).await;
        sender.ready().await.unwrap();
        let response = sender
            .send_request(request("GET", "/endless", ""))
            .await
            .unwrap();
        let mut body = response.into_body();
        // Some megabytes arrive...
        let mut received = 0;
        while received < 4 * 1024 * 1024 {
            received += body
                .frame()
                .await
                .unwrap()
                .unwrap()
                .into_data()
                .unwrap()
                .len();
        }
        // ...then the client vanishes.
        drop(body);
        drop(sender);
        connection.abort();
        // The origin's write fails at once: the stream was reset.
        let error = reports.recv().await.unwrap();
        assert!(
            error.contains("reset") || error.contains("CANCEL"),
            "{error}"
        );
        // The tunnel carries on.
        let (mut sender, _c) = http1(addr).await;
        sender.ready().await.unwrap();
        let response = sender
            .send_request(request("GET", "/hello", ""))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn without_an_origin_the_proxy_answers_503() {
    let origins = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = public.local_addr().unwrap();
    let proxy = TunnelProxy::new(ServerConfig::default());
    tokio::spawn(async move { proxy.run(origins, public).await });
    within(async {
        let (mut sender, _c) = http1(addr).await;
        sender.ready().await.unwrap();
        let response = sender
            .send_request(request("GET", "/hello", ""))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_with_oversized_headers_is_refused_without_killing_the_tunnel() {
    // hyper takes request heads of up to about 400 KiB; the origin's session
    // refuses inflated header blocks over 64 KiB with GOAWAY, which would
    // end every request of every client on the tunnel.
    let (tx, _rx) = mpsc::channel(1);
    let (addr, proxy) = tunnel(tx).await;
    within(async {
        let (mut sender, _c) = http1(addr).await;
        sender.ready().await.unwrap();
        let mut big = request("GET", "/hello", "");
        big.headers_mut()
            .insert("x-big", "b".repeat(80 * 1024).parse().unwrap());
        let response = sender.send_request(big).await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
        let _ = response.into_body().collect().await;
        assert!(proxy.has_origin(), "the tunnel session ended");
        let (mut sender, _c) = http1(addr).await;
        sender.ready().await.unwrap();
        let response = sender
            .send_request(request("GET", "/hello", ""))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_frees_the_stream_after_the_write_timeout() {
    use tokio::io::AsyncWriteExt;
    let (tx, mut reports) = mpsc::channel(4);
    let mut config = ServerConfig::default();
    config.driver.write_timeout = std::time::Duration::from_millis(300);
    let (addr, _proxy) = tunnel_with(tx, config).await;
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(b"GET /endless HTTP/1.1\r\nhost: home.example\r\n\r\n")
        .await
        .unwrap();
    // The client reads nothing with its connection open: the proxy gives
    // up on it, and the origin's write fails (the stream was reset).
    let error = within(reports.recv()).await.unwrap();
    assert!(
        error.contains("reset") || error.contains("CANCEL"),
        "{error}"
    );
    drop(socket);
}

#[tokio::test]
async fn the_proxy_holds_at_most_max_connections() {
    // The origin's session takes one slot and the first HTTP/1.1 client
    // the other; a second client waits until the first hangs up.
    let origins = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (origin_addr, addr) = (origins.local_addr().unwrap(), public.local_addr().unwrap());
    let proxy = TunnelProxy::new(ServerConfig {
        max_connections: 2,
        ..ServerConfig::default()
    });
    {
        let proxy = proxy.clone();
        tokio::spawn(async move { proxy.run(origins, public).await });
    }
    let (tx, _rx) = mpsc::channel(16);
    let socket = tokio::net::TcpStream::connect(origin_addr).await.unwrap();
    tokio::spawn(serve_tunnel(socket, Origin(tx), ServerConfig::default()));
    within(proxy.wait_for_origin()).await;

    let (mut first, first_task) = http1(addr).await;
    within(first.ready()).await.unwrap();
    let response = within(first.send_request(request("GET", "/hello", ""))).await;
    assert_eq!(response.unwrap().status(), StatusCode::OK);

    let waiting = tokio::spawn(async move {
        let (mut second, _task) = http1(addr).await;
        second.ready().await.unwrap();
        second
            .send_request(request("GET", "/hello", ""))
            .await
            .map(|r| r.status())
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "served beyond max_connections");

    drop(first);
    first_task.abort();
    let status = within(waiting).await.unwrap().unwrap();
    assert_eq!(status, StatusCode::OK);
}
