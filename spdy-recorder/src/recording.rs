//! [`Recorder`] and what it records.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Request, StatusCode};
use spdy_client::{Client, ClientConfig, response_stream_id};
use spdy_core::frame::{Frame, FrameDecoder, StreamId};
use spdy_core::notation::{FrameNote, RenderOptions, print_notes};
use spdy_server::{Body, Handler, ServerConfig, serve_connection};

use crate::tap::Tap;

/// Runs handlers against in-memory requests.
#[derive(Clone, Debug)]
pub struct Recorder {
    server: ServerConfig,
    body_limit: usize,
    timeout: Duration,
    render: RenderOptions,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

/// A response the handler pushed.
#[derive(Clone, Debug)]
pub struct RecordedPush {
    /// The pushed stream.
    pub stream_id: StreamId,
    /// The path pushed (`:path`).
    pub path: String,
    /// The pushed status.
    pub status: StatusCode,
    /// The pushed headers.
    pub headers: HeaderMap,
    /// The pushed body.
    pub body: Bytes,
}

/// What a handler answered, and the frames it became.
#[derive(Clone, Debug)]
pub struct Recording {
    /// The status, or 502 when the stream was reset or no reply came (see `error`).
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The whole body (up to the recorder's limit).
    pub body: Bytes,
    /// Pushed responses, in the order they arrived.
    pub pushes: Vec<RecordedPush>,
    /// Why the response did not complete (a reset, a body over the limit,
    /// a handler that never answered), if it did not.
    pub error: Option<String>,
    /// The request's stream.
    pub stream_id: StreamId,
    /// Every frame the server sent, session frames (SETTINGS,
    /// WINDOW_UPDATE, GOAWAY) included.
    pub all_frames: Vec<Frame>,
    render: RenderOptions,
}

impl Recorder {
    /// A recorder with the default server settings, a 64 MiB body limit
    /// and a 30 s bound on the whole run.
    pub fn new() -> Self {
        Recorder {
            server: ServerConfig::default(),
            body_limit: 64 * 1024 * 1024,
            timeout: Duration::from_secs(30),
            render: RenderOptions::default(),
        }
    }

    /// Serves with `config`'s session settings (e.g. a smaller
    /// `max_send_frame` changes how DATA is cut into frames).
    pub fn server_config(mut self, config: ServerConfig) -> Self {
        self.server = config;
        self
    }

    /// Bodies (response and pushes) larger than this are an error.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Bounds the whole run; a handler still going then is recorded as an error.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// DATA payloads longer than this print as length and SHA-256 (default 256).
    pub fn max_inline_data(mut self, bytes: usize) -> Self {
        self.render.max_inline_data = bytes;
        self
    }

    /// Runs `handler` on `request` and records the outcome. A request URI
    /// without an authority is sent with `:host: localhost`.
    pub async fn run<H: Handler>(&self, handler: H, request: Request<Body>) -> Recording {
        let (client_io, server_io) = tokio::io::duplex(256 * 1024);
        let server = tokio::spawn(serve_connection(server_io, handler, self.server.clone()));
        let seen = Arc::new(Mutex::new(BytesMut::new()));
        let client = Client::new(
            Tap::new(client_io, seen.clone()),
            ClientConfig::default()
                .accept_pushes(1024)
                .authority("localhost"),
        );
        let mut recording = Recording {
            status: StatusCode::BAD_GATEWAY,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            pushes: Vec::new(),
            error: None,
            stream_id: StreamId::new(1),
            all_frames: Vec::new(),
            render: self.render,
        };
        let pushes = {
            let client = client.clone();
            let limit = self.body_limit;
            tokio::spawn(async move { collect_pushes(client, limit).await })
        };
        let exchange = async {
            let mut response = client.send(request).await.map_err(|e| e.to_string())?;
            if let Some(id) = response_stream_id(&response) {
                recording.stream_id = id;
            }
            recording.status = response.status();
            recording.headers = response.headers().clone();
            recording.body = response
                .body_mut()
                .bytes(self.body_limit)
                .await
                .map_err(|e| format!("response body: {e}"))?;
            Ok::<(), String>(())
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => recording.error = Some(error),
            Err(_) => recording.error = Some("the handler did not finish in time".into()),
        }
        // GOAWAY: pushes in flight finish, then the session ends.
        client.close(self.timeout).await;
        drop(client);
        if let Ok(Ok(pushes)) = tokio::time::timeout(self.timeout, pushes).await {
            recording.pushes = pushes;
        }
        server.abort();
        let mut wire = std::mem::take(&mut *seen.lock().unwrap_or_else(|p| p.into_inner()));
        let mut decoder = FrameDecoder::new();
        while let Ok(Some(frame)) = decoder.decode(&mut wire) {
            recording.all_frames.push(frame);
        }
        recording
    }
}

async fn collect_pushes(client: Client, limit: usize) -> Vec<RecordedPush> {
    let mut pushes = Vec::new();
    while let Some(mut push) = client.next_push().await {
        let stream_id =
            response_stream_id(&push.response).unwrap_or_else(|| push.response.body().stream_id());
        let body = push
            .response
            .body_mut()
            .bytes(limit)
            .await
            .unwrap_or_default();
        pushes.push(RecordedPush {
            stream_id,
            path: push.request.uri().path().to_owned(),
            status: push.response.status(),
            headers: push.response.headers().clone(),
            body,
        });
    }
    pushes.sort_by_key(|p| p.stream_id);
    pushes
}

impl Recording {
    /// The frames of the response: those on the request's stream and on
    /// the streams pushed for it (SYN_REPLY, DATA, HEADERS, push
    /// SYN_STREAMs, RST_STREAM), in the order they were sent.
    pub fn frames(&self) -> Vec<&Frame> {
        let pushed: Vec<StreamId> = self
            .all_frames
            .iter()
            .filter_map(|f| match f {
                Frame::SynStream(s) if s.associated_to == self.stream_id => Some(s.stream_id),
                _ => None,
            })
            .collect();
        self.all_frames
            .iter()
            .filter(|f| {
                f.stream_id()
                    .is_some_and(|id| id == self.stream_id || pushed.contains(&id))
            })
            .collect()
    }

    /// [`frames`](Recording::frames) in the YAML frame notation.
    pub fn frame_notes(&self) -> Vec<FrameNote> {
        self.frames()
            .into_iter()
            .map(|f| FrameNote::from_frame(f, &self.render))
            .collect()
    }

    /// [`frames`](Recording::frames) printed as YAML, ready for a snapshot.
    pub fn frames_yaml(&self) -> String {
        print_notes(&self.frame_notes())
    }
}
