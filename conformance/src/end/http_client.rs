//! The HTTP client (`spdy_client::Client`) as an end: `open` actions become
//! `Client::send` requests whose bodies stream from later `send` actions;
//! responses and pushes are read and reported like the raw client's.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use spdy_client::{Body, Client, ClientConfig, RecvBody, RequestPriority, response_stream_id};
use spdy_core::frame::Priority;
use tokio::io::DuplexStream;
use tokio::sync::{mpsc, oneshot};

use super::events::{AppEvent, BodyCounter, ErrorNote, header_value_note};
use super::handlers::Common;
use super::{End, Running, Setup};
use crate::notation::{HeaderValueNote, HeadersNote};
use crate::record::Recorder;
use crate::scenario::{Action, OpenSpec, ReadMode, Side};

/// `spdy_client::Client` driven by the scenario's actions.
pub struct HttpClient;

/// A request body fed by `send` actions (or given whole); reports `sent`
/// once the client has taken its last byte.
struct ChannelBody {
    chunks: mpsc::UnboundedReceiver<Bytes>,
    stream_id: u32,
    taken: u64,
    recorder: Recorder,
}

impl futures_core::Stream for ChannelBody {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match this.chunks.poll_recv(cx) {
            Poll::Ready(Some(chunk)) => {
                this.taken += chunk.len() as u64;
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) => {
                this.recorder.app(AppEvent::Sent {
                    stream_id: this.stream_id,
                    bytes: this.taken,
                    fin: true,
                });
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// What the client keeps of a request it sent.
#[derive(Default)]
struct Opened {
    /// The body's feed while it is open.
    body: Option<mpsc::UnboundedSender<Bytes>>,
    /// The response while nobody reads it (`read: never`).
    unread: Option<Response<RecvBody>>,
}

type Streams = Arc<Mutex<HashMap<u32, Opened>>>;

struct HttpClientRunning {
    client: Option<Client>,
    /// Drops the close watcher's session handle.
    release: Option<oneshot::Sender<()>>,
    common: Common,
    streams: Streams,
    /// Client stream ids in the order requests are opened.
    next_id: u32,
}

/// A response head in the pseudo-header notation of the raw ends.
fn response_note<B>(response: &Response<B>) -> HeadersNote {
    let mut pairs = vec![
        (
            ":status".to_owned(),
            HeaderValueNote::Text(response.status().as_u16().to_string()),
        ),
        (
            ":version".to_owned(),
            HeaderValueNote::Text(format!("{:?}", response.version())),
        ),
    ];
    for name in response.headers().keys() {
        let value = header_value_note(response.headers(), name);
        pairs.push((name.as_str().to_owned(), value));
    }
    HeadersNote(pairs)
}

fn client_error(error: &spdy_client::Error) -> ErrorNote {
    match error {
        spdy_client::Error::Session(driver) => driver.into(),
        spdy_client::Error::NotSent(driver) => driver.into(),
        spdy_client::Error::Timeout(_) => ErrorNote::Timeout,
        other => ErrorNote::Http {
            detail: other.to_string(),
        },
    }
}

/// Reads a response: its head, then its body (a chunk per `delay`).
async fn read_response(
    mut response: Response<RecvBody>,
    id: u32,
    recorder: Recorder,
    delay: Option<Duration>,
) {
    let id = response_stream_id(&response).map_or(id, |s| s.get());
    recorder.app(AppEvent::Reply {
        stream_id: id,
        headers: response_note(&response),
    });
    let mut counter = BodyCounter::default();
    loop {
        match response.body_mut().data().await {
            Some(Ok(chunk)) => {
                counter.add(&chunk);
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
            }
            Some(Err(error)) => {
                return recorder.app(AppEvent::ReadError {
                    stream_id: id,
                    after_bytes: counter.len(),
                    error: (&error).into(),
                });
            }
            None => break,
        }
    }
    recorder.app(counter.event(id));
}

impl End for HttpClient {
    fn name(&self) -> &'static str {
        "http-client"
    }

    fn side(&self) -> Side {
        Side::Client
    }

    fn start(
        &self,
        io: DuplexStream,
        setup: &Setup,
        recorder: Recorder,
    ) -> Result<Box<dyn Running>, String> {
        let config = ClientConfig {
            session: setup.session.clone(),
            driver: setup.driver.clone(),
            max_pending_pushes: if setup.session.accept_push { 16 } else { 0 },
            ..ClientConfig::default()
        };
        let client = Client::new(io, config);
        let session = client.session().clone();
        // Watching for the end needs a session handle, which would keep the
        // session alive after `drop_handle`: that action releases it.
        let (release, released) = oneshot::channel::<()>();
        {
            let session = session.clone();
            let recorder = recorder.clone();
            tokio::spawn(async move {
                tokio::select! {
                    reason = session.closed() => recorder.app(AppEvent::SessionClosed {
                        reason: (&reason).into(),
                    }),
                    _ = released => {}
                }
            });
        }
        let pushes = {
            let client = client.clone();
            let recorder = recorder.clone();
            tokio::spawn(async move {
                while let Some(pushed) = client.next_push().await {
                    let id = pushed.response.body().stream_id().get();
                    let mut headers = vec![(
                        ":path".to_owned(),
                        HeaderValueNote::Text(pushed.request.uri().path().to_owned()),
                    )];
                    if let Some(host) = pushed.request.uri().authority() {
                        headers.push((":host".to_owned(), HeaderValueNote::Text(host.to_string())));
                    }
                    recorder.app(AppEvent::StreamOpened {
                        stream_id: id,
                        headers: HeadersNote(headers),
                        fin: false,
                        priority: 0,
                        associated_to: pushed.associated_to.get(),
                        unidirectional: true,
                    });
                    tokio::spawn(read_response(pushed.response, id, recorder.clone(), None));
                }
            })
        };
        Ok(Box::new(HttpClientRunning {
            client: Some(client),
            release: Some(release),
            common: Common {
                session: Some(session),
                recorder,
                handle_tasks: vec![pushes],
            },
            streams: Streams::default(),
            next_id: 1,
        }))
    }
}

impl HttpClientRunning {
    fn open(&mut self, spec: &OpenSpec) -> Result<(), String> {
        let client = self.client.clone().ok_or("the client was dropped")?;
        let block = spec.headers.to_block().map_err(|e| e.to_string())?;
        let mut builder = Request::builder()
            .method(block.get_str(":method").unwrap_or("GET"))
            .uri(format!(
                "http://{}{}",
                block.get_str(":host").unwrap_or("example.test"),
                block.get_str(":path").unwrap_or("/")
            ));
        for pair in block.pairs() {
            if pair.name.starts_with(b":") {
                continue;
            }
            builder = builder.header(pair.name.as_ref(), pair.value.as_ref());
        }
        let id = self.next_id;
        self.next_id += 2;
        let body = spec.body();
        let mut opened = Opened::default();
        let request_body = if spec.fin {
            Body::empty()
        } else {
            let (feed, chunks) = mpsc::unbounded_channel();
            if !body.is_empty() {
                let _ = feed.send(Bytes::from(body));
            }
            if !spec.finish {
                opened.body = Some(feed);
            }
            Body::from_stream(ChannelBody {
                chunks,
                stream_id: id,
                taken: 0,
                recorder: self.common.recorder.clone(),
            })
        };
        let mut request = builder
            .body(request_body)
            .map_err(|e| format!("not a request: {e}"))?;
        if let Some(priority) = spec.priority {
            request
                .extensions_mut()
                .insert(RequestPriority(Priority::new(priority.min(7))));
        }
        self.streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, opened);
        let recorder = self.common.recorder.clone();
        let streams = self.streams.clone();
        let read = spec.read.clone();
        tokio::spawn(async move {
            match client.send(request).await {
                Ok(response) => match read {
                    ReadMode::Never => {
                        if let Some(opened) = streams
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_mut(&id)
                        {
                            opened.unread = Some(response);
                        }
                    }
                    ReadMode::Auto => read_response(response, id, recorder, None).await,
                    ReadMode::Slow { delay } => {
                        read_response(response, id, recorder, Some(delay.0)).await
                    }
                },
                Err(error @ spdy_client::Error::NotSent(_)) => recorder.app(AppEvent::OpenFailed {
                    error: client_error(&error),
                }),
                Err(error) => recorder.app(AppEvent::ReadError {
                    stream_id: id,
                    after_bytes: 0,
                    error: client_error(&error),
                }),
            }
        });
        Ok(())
    }

    fn feed(&mut self, stream_id: u32, data: Option<Bytes>, fin: bool) -> Result<(), String> {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        let opened = streams
            .get_mut(&stream_id)
            .ok_or_else(|| format!("the client has not opened stream {stream_id}"))?;
        let feed = opened
            .body
            .as_ref()
            .ok_or_else(|| format!("stream {stream_id}'s body is not open"))?;
        if let Some(data) = data {
            feed.send(data)
                .map_err(|_| format!("stream {stream_id}'s body is gone"))?;
        }
        if fin {
            opened.body = None;
        }
        Ok(())
    }
}

impl Running for HttpClientRunning {
    fn act(&mut self, action: &Action) -> Result<(), String> {
        if let Action::DropHandle = action {
            self.client = None;
            self.release = None;
        }
        if let Some(result) = self.common.act(action) {
            return result;
        }
        match action {
            Action::Open(spec) => self.open(spec),
            Action::Send(spec) => {
                self.feed(spec.stream_id, Some(Bytes::from(spec.bytes())), spec.fin)
            }
            Action::Finish { stream_id } => self.feed(*stream_id, None, true),
            Action::Read { stream_id } => {
                let response = self
                    .streams
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_mut(stream_id)
                    .and_then(|o| o.unread.take())
                    .ok_or_else(|| format!("stream {stream_id} is not waiting to be read"))?;
                tokio::spawn(read_response(
                    response,
                    *stream_id,
                    self.common.recorder.clone(),
                    None,
                ));
                Ok(())
            }
            other => Err(format!("the HTTP client has no way to {other:?}")),
        }
    }
}
