//! TLS with ALPN: SPDY/3.1 for our client, the same handler through hyper
//! for an HTTP/1.1 client, and the spdy-only mode. Certificates from rcgen.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::{start, within};
use http::{Request, Response};
use http_body_util::BodyExt;
use rustls::pki_types::ServerName;
use spdy_client::{Body, Client, ClientConfig, Error};
use spdy_server::{ConnectionInfo, ServerConfig, handler_fn, tls};

/// Answers with the protocol and TLS state the request came over.
fn describe() -> impl spdy_server::Handler {
    handler_fn(|request: Request<Body>| async move {
        let info = request
            .extensions()
            .get::<ConnectionInfo>()
            .unwrap()
            .clone();
        let text = format!("{:?} tls={}", info.protocol, info.tls);
        Response::new(Body::from(text))
    })
}

fn client_tls(cert: &tls::SelfSigned, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.certificate.clone()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// An HTTP/1.1 request over TLS offering `alpn`; the body, or the error.
async fn http1_over_tls(
    addr: std::net::SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> Result<String, String> {
    let socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(config);
    let name = ServerName::try_from("localhost").unwrap();
    let stream = connector
        .connect(name, socket)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let request = Request::get("/")
        .header("host", "localhost")
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Ok(String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn alpn_chooses_spdy_or_the_http1_fallback() {
    let cert = tls::self_signed(&["localhost"]).unwrap();
    let config = ServerConfig::default().with_tls(cert.config.clone());
    let (_server, addr, _task) = start(describe(), config).await;
    within(async {
        // Our client: ALPN spdy/3.1.
        let client = Client::connect_tls(
            addr,
            "localhost",
            spdy_client::tls::tls_config_with_roots([cert.certificate.clone()]).unwrap(),
            ClientConfig::default(),
        )
        .await
        .unwrap();
        let request = Request::get("/").body(Body::empty()).unwrap();
        let mut response = client.send(request).await.unwrap();
        assert_eq!(
            response.body_mut().bytes(100).await.unwrap(),
            "Spdy31 tls=true"
        );

        // An HTTP/1.1 client gets the same handler through hyper.
        let body = http1_over_tls(addr, client_tls(&cert, &[b"http/1.1"]))
            .await
            .unwrap();
        assert_eq!(body, "Http11 tls=true");
        // So does a client that names no protocol at all.
        let body = http1_over_tls(addr, client_tls(&cert, &[])).await.unwrap();
        assert_eq!(body, "Http11 tls=true");

        // A certificate the client does not trust fails the connection.
        let other = tls::self_signed(&["localhost"]).unwrap();
        let error = Client::connect_tls(
            addr,
            "localhost",
            spdy_client::tls::tls_config_with_roots([other.certificate.clone()]).unwrap(),
            ClientConfig::default(),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, Error::Connect(_)), "{error}");
        // Unless verification is skipped (spdycat --insecure).
        let client = Client::connect_tls(
            addr,
            "localhost",
            spdy_client::tls::insecure_tls_config(),
            ClientConfig::default(),
        )
        .await
        .unwrap();
        let request = Request::get("/").body(Body::empty()).unwrap();
        assert_eq!(client.send(request).await.unwrap().status(), 200);
    })
    .await;
}

#[tokio::test]
async fn spdy_only_refuses_http1() {
    let cert = tls::self_signed(&["localhost"]).unwrap();
    let config = ServerConfig::default()
        .with_tls(cert.config.clone())
        .spdy_only(true);
    let (_server, addr, _task) = start(describe(), config).await;
    within(async {
        let client = Client::connect_tls(
            addr,
            "localhost",
            spdy_client::tls::tls_config_with_roots([cert.certificate.clone()]).unwrap(),
            ClientConfig::default(),
        )
        .await
        .unwrap();
        let request = Request::get("/").body(Body::empty()).unwrap();
        let mut response = client.send(request).await.unwrap();
        assert_eq!(
            response.body_mut().bytes(100).await.unwrap(),
            "Spdy31 tls=true"
        );

        // Offering only http/1.1: no protocol in common, the handshake fails.
        let error = http1_over_tls(addr, client_tls(&cert, &[b"http/1.1"]))
            .await
            .unwrap_err();
        assert!(error.to_lowercase().contains("protocol"), "{error}");

        // A client that names no protocol is spoken SPDY to: HTTP/1.1 fails.
        assert!(http1_over_tls(addr, client_tls(&cert, &[])).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn a_server_that_does_not_choose_spdy_is_refused_by_the_client() {
    // A TLS server offering only http/1.1.
    let cert = tls::self_signed(&["localhost"]).unwrap();
    let mut server_config = (*cert.config).clone();
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let _stream = acceptor.accept(socket).await;
        std::future::pending::<()>().await;
    });
    // The client offers spdy/3.1 and http/1.1; the server picks http/1.1.
    let mut tls = (*client_tls(&cert, &[b"http/1.1"])).clone();
    tls.alpn_protocols.push(b"spdy/3.1".to_vec());
    let error = within(Client::connect_tls(
        addr,
        "localhost",
        Arc::new(tls),
        ClientConfig::default(),
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(&error, Error::Alpn(p) if p == "http/1.1"),
        "{error}"
    );
}
