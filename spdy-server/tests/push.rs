//! Server push: a handler pushes associated resources; our client accepts
//! them (or refuses them); over HTTP/1.1 push says it is unavailable.

#![allow(clippy::unwrap_used)]

mod common;

use bytes::Bytes;
use common::{start, within};
use http::{Request, StatusCode};
use spdy_client::{Body, Client, ClientConfig, response_stream_id};
use spdy_server::{Handler, ResponseWriter, ServerConfig, WriteError};
use tokio::sync::mpsc;

/// GET /page pushes /style.css and /app.js, then answers; reports how each
/// push went.
struct Page(mpsc::Sender<Result<(), String>>);

impl Handler for Page {
    async fn serve(&self, _request: Request<Body>, response: &mut ResponseWriter) {
        for (path, body) in [("/style.css", "body{}"), ("/app.js", "run()")] {
            let outcome = async {
                let mut pushed = response.push(path).await?;
                pushed
                    .headers_mut()
                    .insert("content-type", "text/plain".parse().unwrap());
                pushed.write(body).await?;
                pushed.finish().await
            }
            .await;
            let _ = self
                .0
                .send(outcome.map_err(|e: WriteError| e.to_string()))
                .await;
        }
        let _ = response
            .write(Bytes::from_static(b"<html>page</html>"))
            .await;
    }
}

fn page() -> Request<Body> {
    Request::get("http://push.local/page")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn pushed_resources_reach_a_client_that_accepts_them() {
    let (tx, mut outcomes) = mpsc::channel(8);
    let (_server, addr, _task) = start(Page(tx), ServerConfig::default()).await;
    let client = Client::connect(addr, ClientConfig::default().accept_pushes(8))
        .await
        .unwrap();
    within(async {
        let mut response = client.send(page()).await.unwrap();
        let parent = response_stream_id(&response).unwrap();
        assert_eq!(
            response.body_mut().bytes(1024).await.unwrap(),
            "<html>page</html>"
        );
        assert_eq!(outcomes.recv().await.unwrap(), Ok(()));
        assert_eq!(outcomes.recv().await.unwrap(), Ok(()));
        let mut seen = Vec::new();
        for _ in 0..2 {
            let mut push = client.next_push().await.unwrap();
            assert_eq!(push.associated_to, parent);
            assert_eq!(push.response.status(), StatusCode::OK);
            assert_eq!(push.response.headers()["content-type"], "text/plain");
            assert_eq!(push.request.uri().host(), Some("push.local"));
            let body = push.response.body_mut().bytes(1024).await.unwrap();
            seen.push((push.request.uri().path().to_owned(), body));
        }
        seen.sort();
        assert_eq!(
            seen,
            vec![
                ("/app.js".to_owned(), Bytes::from("run()")),
                ("/style.css".to_owned(), Bytes::from("body{}")),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_client_that_refuses_pushes_still_gets_its_page() {
    let (tx, mut outcomes) = mpsc::channel(8);
    let (_server, addr, _task) = start(Page(tx), ServerConfig::default()).await;
    // Push off (the default): pushed streams are reset with REFUSED_STREAM.
    let client = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    within(async {
        let mut response = client.send(page()).await.unwrap();
        assert_eq!(
            response.body_mut().bytes(1024).await.unwrap(),
            "<html>page</html>"
        );
        // Each push either failed on the reset or was written before it came.
        for _ in 0..2 {
            outcomes.recv().await.unwrap().ok();
        }
        assert!(client.next_push().await.is_none());
        client
            .ping(std::time::Duration::from_secs(5))
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn push_over_http1_is_reported_unavailable() {
    let (tx, mut outcomes) = mpsc::channel(8);
    let (_server, addr, _task) = start(Page(tx), ServerConfig::default()).await;
    within(async {
        let mut sender = common::http1(addr).await;
        let request = Request::get("/page")
            .header("host", "push.local")
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        use http_body_util::BodyExt;
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "<html>page</html>");
        let outcome = outcomes.recv().await.unwrap();
        assert!(outcome.unwrap_err().contains("not available over http/1.1"));
    })
    .await;
}

/// Answers, pushes /stall with three bytes of its body, then waits for
/// ever with the push open.
struct StalledPush;

impl Handler for StalledPush {
    async fn serve(&self, _request: Request<Body>, response: &mut ResponseWriter) {
        if response.flush().await.is_err() {
            return;
        }
        let Ok(mut pushed) = response.push("/stall").await else {
            return;
        };
        if pushed.write("abc").await.is_err() {
            return;
        }
        std::future::pending::<()>().await;
    }
}

#[tokio::test]
async fn a_pushed_body_that_stops_arriving_fails_after_the_idle_timeout() {
    let (_server, addr, _task) = start(StalledPush, ServerConfig::default()).await;
    let config = ClientConfig {
        body_idle_timeout: Some(std::time::Duration::from_millis(200)),
        ..ClientConfig::default().accept_pushes(8)
    };
    let client = Client::connect(addr, config).await.unwrap();
    within(async {
        let _response = client.send(page()).await.unwrap();
        let mut push = client.next_push().await.unwrap();
        let outcome = push.response.body_mut().bytes(1024).await;
        assert!(outcome.is_err(), "{outcome:?}");
    })
    .await;
}
