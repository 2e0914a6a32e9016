//! Content-Length is held to on both transports: a request body of another
//! length fails the handler's read; a handler writing more or fewer bytes
//! than its Content-Length gets an error and the response is aborted, never
//! ended cleanly; HEAD and 304 keep the length of a body they do not carry.
//! The access line of an aborted response says it is incomplete.

#![allow(clippy::unwrap_used)]

mod common;

use std::fmt::Write as _;

use bytes::Bytes;
use common::{start, within};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use spdy_client::{Client, ClientConfig};
use spdy_core::driver;
use spdy_core::frame::RstStatus;
use spdy_core::session::ResetOrigin;
use spdy_server::{Body, Handler, ResponseWriter, ServerConfig};
use tokio::sync::mpsc;
use tracing_subscriber::layer::SubscriberExt as _;

/// Reports what it saw, one message per request, and answers by path:
/// - `/read`: reads the request body and reports it (or the error);
/// - `/short`: declares 10 bytes, writes 5, finishes;
/// - `/long`: declares 5 bytes, writes 11;
/// - `/exact`: declares 5 bytes, writes them, finishes;
/// - `/not-modified`: 304 with the length a GET would get, no body;
/// - `/abort`: writes a chunk (no length), then aborts.
struct Probe(mpsc::UnboundedSender<Result<String, String>>);

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
async fn probe() -> (
    std::net::SocketAddr,
    mpsc::UnboundedReceiver<Result<String, String>>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (server, addr, _task) = start(Probe(tx), ServerConfig::default()).await;
    // The server lives as long as the test's runtime.
    std::mem::forget(server);
    (addr, rx)
}

async fn spdy_client(addr: std::net::SocketAddr) -> Client {
    within(Client::connect(addr, ClientConfig::default()))
        .await
        .unwrap()
}

/// Sends a SPDY request: `method` on `path`, with `content_length` and `body`.
async fn spdy_request(
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
async fn http1_request(
    addr: std::net::SocketAddr,
    method: Method,
    path: &str,
) -> Result<(http::response::Parts, Bytes), hyper::Error> {
    let socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(socket))
            .await
            .unwrap();
    tokio::spawn(connection);
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
fn assert_aborted_by_server<T: std::fmt::Debug>(outcome: &Result<T, driver::Error>) {
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
fn assert_refused_as_malformed<T: std::fmt::Debug>(outcome: &Result<T, driver::Error>) {
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

#[tokio::test]
async fn a_spdy_request_body_short_of_its_content_length_fails_the_handlers_read() {
    let (addr, mut reports) = probe().await;
    let client = spdy_client(addr).await;
    let outcome = spdy_request(&client, Method::POST, "/read", Some(10), "hello").await;
    let error = within(reports.recv()).await.unwrap().unwrap_err();
    assert!(
        error.contains("5 body bytes arrived where its content-length declared 10"),
        "{error}"
    );
    assert_refused_as_malformed(&outcome);
}

#[tokio::test]
async fn a_spdy_request_body_past_its_content_length_fails_the_handlers_read() {
    let (addr, mut reports) = probe().await;
    let client = spdy_client(addr).await;
    let outcome = spdy_request(&client, Method::POST, "/read", Some(3), "hello").await;
    let error = within(reports.recv()).await.unwrap().unwrap_err();
    assert!(
        error.contains("5 body bytes arrived where its content-length declared 3"),
        "{error}"
    );
    assert_refused_as_malformed(&outcome);
}

#[tokio::test]
async fn a_spdy_request_with_fin_and_a_content_length_fails_the_handlers_read() {
    let (addr, mut reports) = probe().await;
    let client = spdy_client(addr).await;
    // An empty body: the SYN_STREAM carries FIN.
    let outcome = spdy_request(&client, Method::POST, "/read", Some(5), "").await;
    let error = within(reports.recv()).await.unwrap().unwrap_err();
    assert!(
        error.contains("0 body bytes arrived where its content-length declared 5"),
        "{error}"
    );
    assert_refused_as_malformed(&outcome);
}

#[tokio::test]
async fn a_spdy_request_body_of_its_content_length_reaches_the_handler() {
    let (addr, mut reports) = probe().await;
    let client = spdy_client(addr).await;
    let (_, body) = spdy_request(&client, Method::POST, "/read", Some(5), "hello")
        .await
        .unwrap();
    assert_eq!(body, "read");
    assert_eq!(within(reports.recv()).await.unwrap().unwrap(), "hello");
    let (_, body) = spdy_request(&client, Method::GET, "/read", Some(0), "")
        .await
        .unwrap();
    assert_eq!(body, "read");
    assert_eq!(within(reports.recv()).await.unwrap().unwrap(), "");
}

#[tokio::test]
async fn a_spdy_response_short_of_its_content_length_is_aborted() {
    let (addr, mut reports) = probe().await;
    let client = spdy_client(addr).await;
    let outcome = spdy_request(&client, Method::GET, "/short", None, "").await;
    let error = within(reports.recv()).await.unwrap().unwrap_err();
    assert!(
        error.contains("declared 10 bytes; it would have had 5"),
        "{error}"
    );
    // The server reset the stream; no FIN came after the 5 bytes.
    assert_aborted_by_server(&outcome);
}

#[tokio::test]
async fn a_spdy_response_past_its_content_length_is_refused_and_aborted() {
    let (addr, mut reports) = probe().await;
    let client = spdy_client(addr).await;
    let outcome = spdy_request(&client, Method::GET, "/long", None, "").await;
    let error = within(reports.recv()).await.unwrap().unwrap_err();
    assert!(
        error.contains("declared 5 bytes; it would have had 11"),
        "{error}"
    );
    assert_aborted_by_server(&outcome);
}

#[tokio::test]
async fn an_http1_response_short_of_its_content_length_is_cut() {
    let (addr, mut reports) = probe().await;
    let outcome = http1_request(addr, Method::GET, "/short").await;
    assert!(outcome.is_err(), "{outcome:?}");
    let error = within(reports.recv()).await.unwrap().unwrap_err();
    assert!(
        error.contains("declared 10 bytes; it would have had 5"),
        "{error}"
    );
}

#[tokio::test]
async fn an_http1_response_past_its_content_length_is_refused_and_cut() {
    let (addr, mut reports) = probe().await;
    // Not the first 5 bytes ended cleanly (hyper truncates a body at its
    // content-length): the exchange fails.
    let outcome = http1_request(addr, Method::GET, "/long").await;
    assert!(outcome.is_err(), "{outcome:?}");
    let error = within(reports.recv()).await.unwrap().unwrap_err();
    assert!(
        error.contains("declared 5 bytes; it would have had 11"),
        "{error}"
    );
}

#[tokio::test]
async fn responses_of_their_content_length_end_cleanly_on_both_transports() {
    let (addr, mut reports) = probe().await;
    let client = spdy_client(addr).await;
    let (parts, body) = spdy_request(&client, Method::GET, "/exact", None, "")
        .await
        .unwrap();
    assert_eq!(parts.headers["content-length"], "5");
    assert_eq!(body, "hello");
    within(reports.recv()).await.unwrap().unwrap();
    let (parts, body) = http1_request(addr, Method::GET, "/exact").await.unwrap();
    assert_eq!(parts.headers["content-length"], "5");
    assert_eq!(body, "hello");
    within(reports.recv()).await.unwrap().unwrap();
}

#[tokio::test]
async fn head_and_304_keep_the_length_of_a_body_they_do_not_carry() {
    let (addr, mut reports) = probe().await;
    let client = spdy_client(addr).await;
    for (method, path, length) in [
        (Method::HEAD, "/exact", "5"),
        (Method::HEAD, "/short", "10"),
        (Method::GET, "/not-modified", "10"),
    ] {
        let (parts, body) = spdy_request(&client, method.clone(), path, None, "")
            .await
            .unwrap();
        assert_eq!(parts.headers["content-length"], length, "{method} {path}");
        assert_eq!(body, "", "{method} {path}");
        within(reports.recv()).await.unwrap().unwrap();
        let (parts, body) = http1_request(addr, method.clone(), path).await.unwrap();
        // hyper leaves the length out of a 304.
        if parts.status != StatusCode::NOT_MODIFIED {
            assert_eq!(parts.headers["content-length"], length, "{method} {path}");
        }
        assert_eq!(body, "", "{method} {path}");
        within(reports.recv()).await.unwrap().unwrap();
    }
}

/// Sends the message and fields of every access line down a channel.
struct AccessLines(mpsc::UnboundedSender<String>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for AccessLines {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != "spdy_server::access" {
            return;
        }
        let mut line = Line::default();
        event.record(&mut line);
        let _ = self.0.send(format!("{}{}", line.message, line.fields));
    }
}

#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl tracing::field::Visit for Line {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

#[tokio::test]
async fn the_access_line_of_an_aborted_response_says_incomplete() {
    let (tx, mut lines) = mpsc::unbounded_channel();
    // A current-thread runtime: the server's tasks log on this thread.
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(AccessLines(tx)));
    let (addr, mut reports) = probe().await;
    let client = spdy_client(addr).await;

    let outcome = spdy_request(&client, Method::GET, "/abort", None, "").await;
    assert_aborted_by_server(&outcome);
    within(reports.recv()).await.unwrap().unwrap();
    let line = within(lines.recv()).await.unwrap();
    assert!(line.starts_with("GET /abort 200 (incomplete)"), "{line}");
    assert!(line.contains("spdy/3.1"), "{line}");
    assert!(line.contains("aborted"), "{line}");

    let outcome = http1_request(addr, Method::GET, "/abort").await;
    assert!(outcome.is_err(), "{outcome:?}");
    within(reports.recv()).await.unwrap().unwrap();
    let line = within(lines.recv()).await.unwrap();
    assert!(line.starts_with("GET /abort 200 (incomplete)"), "{line}");
    assert!(line.contains("http/1.1"), "{line}");

    let _ = spdy_request(&client, Method::GET, "/short", None, "").await;
    within(reports.recv()).await.unwrap().unwrap_err();
    let line = within(lines.recv()).await.unwrap();
    assert!(line.starts_with("GET /short 200 (incomplete)"), "{line}");
    assert!(
        line.contains("declared 10 bytes; it would have had 5"),
        "{line}"
    );

    spdy_request(&client, Method::GET, "/exact", None, "")
        .await
        .unwrap();
    within(reports.recv()).await.unwrap().unwrap();
    let line = within(lines.recv()).await.unwrap();
    assert!(line.starts_with("GET /exact 200"), "{line}");
    assert!(!line.contains("incomplete"), "{line}");
}
