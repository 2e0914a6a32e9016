//! The recorder on handlers of every shape, with the frames snapshotted.

#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use spdy_recorder::Recorder;
use spdy_server::{Body, Handler, ResponseWriter, handler_fn};

fn get(path: &str) -> Request<Body> {
    Request::get(format!("http://example.test{path}"))
        .body(Body::empty())
        .unwrap()
}

/// /big: 40,000 bytes in one write; /stream: three writes, then return;
/// /fail: a write, then an abort; /page: a push, then the page.
struct Shapes;

impl Handler for Shapes {
    async fn serve(&self, request: Request<Body>, response: &mut ResponseWriter) {
        match request.uri().path() {
            "/big" => {
                let _ = response.write_last(Bytes::from(vec![b'a'; 40_000])).await;
            }
            "/stream" => {
                for part in ["one ", "two ", "three"] {
                    let _ = response.write(part).await;
                }
            }
            "/fail" => {
                let _ = response.write("partial").await;
                response.abort();
            }
            "/page" => {
                let mut pushed = response.push("/style.css").await.unwrap();
                pushed.write_last("body{}").await.unwrap();
                let _ = response.write_last("<html/>").await;
            }
            _ => response.set_status(StatusCode::NOT_FOUND),
        }
    }
}

#[tokio::test]
async fn data_is_cut_into_frames_and_large_payloads_are_summarised() {
    let recording = Recorder::new().run(Shapes, get("/big")).await;
    assert_eq!(recording.status, StatusCode::OK);
    assert_eq!(recording.body.len(), 40_000);
    assert!(recording.error.is_none());
    insta::assert_snapshot!(recording.frames_yaml());
}

#[tokio::test]
async fn writes_then_return_end_with_an_empty_fin() {
    let recording = Recorder::new().run(Shapes, get("/stream")).await;
    assert_eq!(recording.body, "one two three");
    insta::assert_snapshot!(recording.frames_yaml());
}

#[tokio::test]
async fn head_and_not_found_have_no_body() {
    let head = Request::head("http://example.test/big")
        .body(Body::empty())
        .unwrap();
    let recording = Recorder::new().run(Shapes, head).await;
    assert!(recording.body.is_empty());
    insta::assert_snapshot!("head", recording.frames_yaml());
    let recording = Recorder::new().run(Shapes, get("/nothing")).await;
    assert_eq!(recording.status, StatusCode::NOT_FOUND);
    insta::assert_snapshot!("not_found", recording.frames_yaml());
}

#[tokio::test]
async fn an_aborted_response_is_a_reset() {
    let recording = Recorder::new().run(Shapes, get("/fail")).await;
    assert!(
        recording.error.as_deref().unwrap().contains("reset"),
        "{:?}",
        recording.error
    );
    insta::assert_snapshot!(recording.frames_yaml());
}

#[tokio::test]
async fn pushes_are_recorded() {
    let recording = Recorder::new().run(Shapes, get("/page")).await;
    assert_eq!(recording.body, "<html/>");
    assert_eq!(recording.pushes.len(), 1);
    let push = &recording.pushes[0];
    assert_eq!(push.path, "/style.css");
    assert_eq!(push.status, StatusCode::OK);
    assert_eq!(push.body, "body{}");
    // The push's frames belong to the recording: SYN_STREAM, HEADERS, DATA.
    let yaml = recording.frames_yaml();
    assert!(
        yaml.contains("type: SYN_STREAM\n  stream_id: 2\n  associated_to: 1"),
        "{yaml}"
    );
    assert!(yaml.contains("type: HEADERS\n  stream_id: 2"), "{yaml}");
}

#[tokio::test]
async fn closures_and_request_bodies() {
    let echo = handler_fn(|request: Request<Body>| async move {
        let body = request.into_body().to_bytes(1 << 20).await.unwrap();
        Response::builder()
            .header("x-echo", "yes")
            .body(Body::from(body))
            .unwrap()
    });
    let request = Request::post("http://example.test/echo")
        .body(Body::from("ping"))
        .unwrap();
    let recording = Recorder::new().run(echo, request).await;
    assert_eq!(recording.body, "ping");
    assert_eq!(recording.headers["x-echo"], "yes");
    insta::assert_snapshot!(recording.frames_yaml());
}
