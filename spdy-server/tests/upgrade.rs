//! HTTP/1.1 Upgrade to SPDY/3.1 between our client and our server over
//! TCP on 127.0.0.1, then raw bidirectional streams as spdystream offers
//! them: arbitrary headers, data both ways, half-close, reset, ping, streams
//! opened from either end, megabytes each way, without flow control.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use spdy_client::upgrade::{UpgradeError, UpgradeRequest};
use spdy_core::driver::{Error, IncomingStream};
use spdy_core::frame::RstStatus;
use spdy_core::header::HeaderBlock;
use spdy_core::session::OpenStream;
use spdy_server::upgrade::SpdyUpgrade;
use tokio::net::TcpListener;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

/// What the test server does with each stream, by its `action` header.
async fn serve_stream(incoming: IncomingStream) {
    let action = incoming
        .headers()
        .get_str("action")
        .unwrap_or("")
        .to_owned();
    if action == "refuse" {
        incoming.refuse(RstStatus::RefusedStream);
        return;
    }
    let mut reply = HeaderBlock::new();
    reply.push("seen-action", action.clone());
    let Ok((mut send, mut recv)) = incoming.reply(reply, false) else {
        return;
    };
    match action.as_str() {
        // Reads everything, answers with the length and SHA-256.
        "hash" => {
            let mut hasher = Sha256::new();
            let mut n = 0usize;
            while let Some(Ok(chunk)) = recv.data().await {
                n += chunk.len();
                hasher.update(&chunk);
            }
            let answer = format!("{n} {:x}", hasher.finalize());
            let _ = send.send_last(answer.into()).await;
        }
        // Sends N bytes of a pattern, then FIN; ignores what comes in.
        "source" => {
            let n: usize = recv_header_number(&mut recv).await;
            let _ = send.send_last(pattern(n)).await;
        }
        // Resets the stream once the first byte arrives.
        "reset" => {
            let _ = recv.data().await;
            send.reset(RstStatus::InternalError);
        }
        // Echo until FIN, then FIN.
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

/// The size for "source" arrives as the stream's first data.
async fn recv_header_number(recv: &mut spdy_core::driver::RecvStream) -> usize {
    let body = recv.collect(64).await.unwrap_or_default();
    std::str::from_utf8(&body)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn pattern(n: usize) -> Bytes {
    (0..n)
        .map(|i| (i * 7 % 251) as u8)
        .collect::<Vec<_>>()
        .into()
}

/// A hyper server that upgrades `/spdy` for protocol "raw.v1" and serves
/// streams with `serve_stream`; the server also opens one stream towards
/// the client (headers `from: server`) and expects it echoed.
async fn start_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let service = service_fn(|mut request: hyper::Request<Incoming>| async move {
                    let upgrade = SpdyUpgrade::new(["raw.v0", "raw.v1"]);
                    let response = match upgrade.accept(&mut request) {
                        Ok((response, pending)) => {
                            tokio::spawn(async move {
                                let upgraded = pending.session().await.expect("upgrade");
                                let session = upgraded.session.clone();
                                tokio::spawn(async move {
                                    let mut headers = HeaderBlock::new();
                                    headers.push("from", "server");
                                    if let Ok((mut send, mut recv)) =
                                        session.open_stream(OpenStream::new(headers)).await
                                    {
                                        let _ = send.send_last("server says hi".into()).await;
                                        let _ = recv.headers().await;
                                        let _ = recv.collect(1024).await;
                                    }
                                });
                                while let Some(incoming) = upgraded.session.accept().await {
                                    tokio::spawn(serve_stream(incoming));
                                }
                            });
                            response
                        }
                        Err(rejection) => rejection.into_response(),
                    };
                    Ok::<_, Infallible>(response)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    addr
}

fn request(addr: std::net::SocketAddr) -> UpgradeRequest {
    UpgradeRequest::new(format!("http://{addr}/spdy").parse().expect("uri"))
}

fn headers(pairs: &[(&str, &str)]) -> HeaderBlock {
    let mut block = HeaderBlock::new();
    for (name, value) in pairs {
        block.push(name.to_string(), value.to_string());
    }
    block
}

#[tokio::test]
async fn upgrade_negotiates_the_clients_preferred_protocol_and_streams_flow_both_ways() {
    timeout(LIMIT, async {
        let addr = start_server().await;
        let upgraded = request(addr)
            .protocols(["raw.v2", "raw.v1", "raw.v0"])
            .send_tcp()
            .await
            .expect("upgrade");
        assert_eq!(upgraded.protocol.as_deref(), Some("raw.v1"));
        let session = upgraded.session.clone();

        // The server opens a stream towards us (even id, no associated stream).
        let incoming = session.accept().await.expect("server stream");
        assert!(incoming.id().is_server_initiated());
        assert_eq!(incoming.headers().get_str("from"), Some("server"));
        let (mut send, mut recv) = incoming.reply(HeaderBlock::new(), false).expect("reply");
        let said = recv.collect(1024).await.expect("server data");
        assert_eq!(said, "server says hi");
        send.send_last(said).await.expect("echo back");

        // Echo with arbitrary headers, answered in the SYN_REPLY.
        let (mut send, mut recv) = session
            .open_stream(OpenStream::new(headers(&[
                ("action", "echo"),
                ("x-anything", "ä-value"),
            ])))
            .await
            .expect("open");
        let reply = recv.headers().await.expect("reply").expect("headers");
        assert_eq!(reply.get_str("seen-action"), Some("echo"));
        send.send_data("one ".into()).await.expect("send");
        send.send_last("two".into()).await.expect("send");
        assert_eq!(recv.collect(1024).await.expect("echo"), "one two");

        // Ping both ways works on the upgraded connection.
        session.ping(Duration::from_secs(5)).await.expect("ping");
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn megabytes_flow_both_ways_without_flow_control() {
    timeout(LIMIT, async {
        let addr = start_server().await;
        let upgraded = request(addr)
            .protocols(["raw.v1"])
            .send_tcp()
            .await
            .expect("upgrade");
        let session = upgraded.session.clone();
        // The server's stream towards us: answer it so it does not linger.
        let s = session.clone();
        tokio::spawn(async move {
            if let Some(incoming) = s.accept().await
                && let Ok((mut send, mut recv)) = incoming.reply(HeaderBlock::new(), false)
            {
                let body = recv.collect(1024).await.unwrap_or_default();
                let _ = send.send_last(body).await;
            }
        });

        // Upload 8 MiB: the server hashes it. Our windows say 1 MiB, but
        // with no flow control nothing waits for WINDOW_UPDATE.
        let upload = pattern(8 * 1024 * 1024);
        let (mut send, mut recv) = session
            .open_stream(OpenStream::new(headers(&[("action", "hash")])))
            .await
            .expect("open");
        let sender = tokio::spawn(async move {
            for chunk in upload.chunks(100_000) {
                send.send_data(Bytes::copy_from_slice(chunk))
                    .await
                    .expect("send");
            }
            send.finish().await.expect("fin");
        });
        recv.headers().await.expect("reply");
        let answer = recv.collect(1024).await.expect("hash");
        sender.await.expect("sender");
        let expected = format!(
            "{} {:x}",
            8 * 1024 * 1024,
            Sha256::digest(pattern(8 * 1024 * 1024))
        );
        assert_eq!(answer, expected.as_bytes());

        // Download 8 MiB.
        let (mut send, mut recv) = session
            .open_stream(OpenStream::new(headers(&[("action", "source")])))
            .await
            .expect("open");
        send.send_last(format!("{}", 8 * 1024 * 1024).into())
            .await
            .expect("size");
        recv.headers().await.expect("reply");
        let mut hasher = Sha256::new();
        let mut n = 0;
        while let Some(chunk) = recv.data().await {
            let chunk = chunk.expect("data");
            n += chunk.len();
            hasher.update(&chunk);
        }
        assert_eq!(n, 8 * 1024 * 1024);
        assert_eq!(hasher.finalize(), Sha256::digest(pattern(8 * 1024 * 1024)));
        assert_eq!(
            upgraded.session.close_reason(),
            None,
            "session still running"
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn half_close_reset_and_refusal_are_seen_by_the_other_end() {
    timeout(LIMIT, async {
        let addr = start_server().await;
        let upgraded = request(addr)
            .protocols(["raw.v1"])
            .send_tcp()
            .await
            .expect("upgrade");
        let session = upgraded.session.clone();

        // Half-close: we FIN first, the server keeps sending (echo of what was sent).
        let (mut send, mut recv) = session
            .open_stream(OpenStream::new(headers(&[("action", "echo")])))
            .await
            .expect("open");
        send.send_last("half".into()).await.expect("fin");
        recv.headers().await.expect("reply");
        assert_eq!(recv.collect(64).await.expect("after our FIN"), "half");

        // The server resets the stream: our reads fail with the status.
        let (mut send, mut recv) = session
            .open_stream(OpenStream::new(headers(&[("action", "reset")])))
            .await
            .expect("open");
        send.send_data("x".into()).await.expect("send");
        recv.headers().await.expect("reply");
        let error = loop {
            match recv.data().await {
                Some(Ok(_)) => continue,
                Some(Err(error)) => break error,
                None => panic!("stream ended without the reset"),
            }
        };
        assert!(
            matches!(
                error,
                Error::Reset {
                    status: RstStatus::InternalError,
                    ..
                }
            ),
            "{error:?}"
        );

        // The server refuses a stream.
        let (_send, mut recv) = session
            .open_stream(OpenStream::new(headers(&[("action", "refuse")])))
            .await
            .expect("open");
        let error = recv.headers().await.expect_err("refused");
        assert!(error.is_retryable(), "{error:?}");

        // We reset our own stream: the session goes on.
        let (mut send, _recv) = session
            .open_stream(OpenStream::new(headers(&[("action", "echo")])))
            .await
            .expect("open");
        send.reset(RstStatus::Cancel);
        session
            .ping(Duration::from_secs(5))
            .await
            .expect("still alive");
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn a_refused_upgrade_reports_the_status_and_body() {
    timeout(LIMIT, async {
        let addr = start_server().await;
        let error = request(addr)
            .protocols(["other.v9"])
            .send_tcp()
            .await
            .expect_err("no common protocol");
        match error {
            UpgradeError::Refused { status, headers, body } => {
                assert_eq!(status, 403);
                assert!(body.contains("unable to negotiate protocol"), "{body}");
                assert_eq!(headers["x-accepted-stream-protocol-versions"], "raw.v0");
            }
            other => panic!("{other:?}"),
        }
        let error = request(addr).send_tcp().await.expect_err("no protocol offered");
        assert!(
            matches!(&error, UpgradeError::Refused { status, body, .. } if *status == 400 && body.contains("x-stream-protocol-version is required")),
            "{error:?}"
        );
    })
    .await
    .expect("test timed out");
}
