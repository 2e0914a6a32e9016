//! A handler that reports what it saw and answers by path, and the
//! requests that drive it over SPDY and HTTP/1.1: shared by the
//! content-length and access-log tests.

#![allow(dead_code)]

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use spdy_client::{Client, ClientConfig};
use spdy_core::driver;
use spdy_core::frame::RstStatus;
use spdy_core::session::ResetOrigin;
use spdy_server::{Body, Handler, ResponseWriter, ServerConfig};
use tokio::sync::mpsc;

use super::common::{start, within};

/// Reports what it saw, one message per request, and answers by path:
/// - `/read`: reads the request body and reports it (or the error);
/// - `/short`: declares 10 bytes, writes 5, finishes;
/// - `/long`: declares 5 bytes, writes 11;
/// - `/exact`: declares 5 bytes, writes them, finishes;
/// - `/not-modified`: 304 with the length a GET would get, no body;
/// - `/abort`: writes a chunk (no length), then aborts.
pub struct Probe(mpsc::UnboundedSender<Result<String, String>>);

impl Handler for Probe {
    async fn serve(&self, request: Request<Body>, response: &mut ResponseWriter) {
        let path = request.uri().path().to_owned();
        let report = |result: Result<(), spdy_server::WriteError>| {
            let _ = self
                .0
                .send(result.map(|()| String::new()).map_err(|e| e.to_string()));
        };
        match path.as_str() {
            "/read" => {
                let body = request.into_body().to_bytes(1 << 20).await;
                let failed = body.is_err();
                let _ = self.0.send(
                    body.map(|b| String::from_utf8_lossy(&b).into_owned())
                        .map_err(|e| e.to_string()),
                );
                if !failed {
                    let _ = response.write_last("read").await;
                }
            }
            "/short" => {
                response.headers_mut().insert("content-length", 10.into());
                let written = response.write("hello").await;
                assert!(written.is_ok(), "{written:?}");
                report(response.finish().await);
            }
            "/long" => {
                response.headers_mut().insert("content-length", 5.into());
                report(response.write("hello world").await);
            }
            "/exact" => {
                response.headers_mut().insert("content-length", 5.into());
                let written = response.write("hello").await;
                report(written.and(response.finish().await));
            }
            "/not-modified" => {
                response.set_status(StatusCode::NOT_MODIFIED);
                response.headers_mut().insert("content-length", 10.into());
                report(response.finish().await);
            }
            "/abort" => {
                let written = response.write("partial").await;
                response.abort();
                report(written);
            }
            _ => response.set_status(StatusCode::NOT_FOUND),
        }
    }
}

/// A server running [`Probe`], and the handler's reports.
pub async fn probe() -> (
    std::net::SocketAddr,
    mpsc::UnboundedReceiver<Result<String, String>>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (server, addr, _task) = start(Probe(tx), ServerConfig::default()).await;
    // The server lives as long as the test's runtime.
    std::mem::forget(server);
    (addr, rx)
}

pub async fn spdy_client(addr: std::net::SocketAddr) -> Client {
    within(Client::connect(addr, ClientConfig::default()))
        .await
        .unwrap()
}

/// Sends a SPDY request: `method` on `path`, with `content_length` and `body`.
pub async fn spdy_request(
    client: &Client,
    method: Method,
    path: &str,
    content_length: Option<u64>,
    body: &'static str,
) -> Result<(http::response::Parts, Bytes), driver::Error> {
    let mut request = Request::builder()
        .method(method)
        .uri(format!("http://localhost{path}"));
    if let Some(length) = content_length {
        request = request.header("content-length", length);
    }
    let request = request.body(spdy_client::Body::from(body)).unwrap();
    let response = match within(client.send(request)).await {
        Ok(response) => response,
        Err(spdy_client::Error::Session(error)) => return Err(error),
        Err(other) => panic!("{other}"),
    };
    let (parts, mut body) = response.into_parts();
    let mut out = Vec::new();
    while let Some(chunk) = within(body.data()).await {
        out.extend_from_slice(&chunk?);
    }
    Ok((parts, out.into()))
}

/// An HTTP/1.1 exchange: the head and the body, or the error that ended
/// it (before the head when the server cut the connection at once).
pub async fn http1_request(
    addr: std::net::SocketAddr,
    method: Method,
    path: &str,
) -> Result<(http::response::Parts, Bytes), hyper::Error> {
    let mut sender = super::common::http1(addr).await;
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let response = within(sender.send_request(request)).await?;
    let (parts, body) = response.into_parts();
    let body = within(body.collect()).await?.to_bytes();
    Ok((parts, body))
}

/// The server aborted the stream: RST_STREAM INTERNAL_ERROR.
pub fn assert_aborted_by_server<T: std::fmt::Debug>(outcome: &Result<T, driver::Error>) {
    assert!(
        matches!(
            outcome,
            Err(driver::Error::Reset {
                status: RstStatus::InternalError,
                origin: ResetOrigin::Peer,
                ..
            })
        ),
        "{outcome:?}"
    );
}

/// The server reset the stream for a broken request: PROTOCOL_ERROR.
pub fn assert_refused_as_malformed<T: std::fmt::Debug>(outcome: &Result<T, driver::Error>) {
    assert!(
        matches!(
            outcome,
            Err(driver::Error::Reset {
                status: RstStatus::ProtocolError,
                origin: ResetOrigin::Peer,
                ..
            })
        ),
        "{outcome:?}"
    );
}
