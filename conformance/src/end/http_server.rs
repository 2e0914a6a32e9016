//! The HTTP server (`spdy_server`) as an end: the scenario's built-in
//! handlers written as `spdy_server::Handler`s, served on the in-memory
//! connection with SPDY only (no HTTP/1.1 sniffing, so it speaks first).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use spdy_server::{
    Body, ConnectionInfo, Handler, ResponseWriter, Server, ServerConfig, StreamInfo,
};
use tokio::io::DuplexStream;

use super::events::{AppEvent, BodyCounter, ErrorNote, header_value_note};
use super::{End, Running, Setup};
use crate::notation::{HeaderValueNote, HeadersNote};
use crate::record::Recorder;
use crate::scenario::{Action, Handler as Builtin, Side};

/// `spdy_server::Server` (SPDY/3.1 only) with the built-in handlers.
pub struct HttpServer;

struct Builtins {
    handler: Builtin,
    recorder: Recorder,
    /// The id the next push gets: the server's streams are numbered 2, 4,
    /// 6, ... in the order they open, and only pushes open them here (the
    /// writer does not say which id a push got).
    next_push_id: std::sync::atomic::AtomicU32,
}

struct HttpServerRunning {
    server: Server<Builtins>,
}

/// The request as the handler sees it, in the pseudo-header notation of
/// the raw ends, so one pattern fits both.
fn request_note(request: &Request<Body>) -> HeadersNote {
    let mut pairs = vec![
        (
            ":method".to_owned(),
            HeaderValueNote::Text(request.method().as_str().to_owned()),
        ),
        (
            ":path".to_owned(),
            HeaderValueNote::Text(
                request
                    .uri()
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .to_owned(),
            ),
        ),
        (
            ":version".to_owned(),
            HeaderValueNote::Text(format!("{:?}", request.version())),
        ),
    ];
    if let Some(authority) = request.uri().authority() {
        pairs.push((
            ":host".to_owned(),
            HeaderValueNote::Text(authority.as_str().to_owned()),
        ));
    }
    if let Some(scheme) = request.uri().scheme_str() {
        pairs.push((
            ":scheme".to_owned(),
            HeaderValueNote::Text(scheme.to_owned()),
        ));
    }
    for name in request.headers().keys() {
        let value = header_value_note(request.headers(), name);
        pairs.push((name.as_str().to_owned(), value));
    }
    HeadersNote(pairs)
}

/// Reads a request body to its end (a chunk per `delay`), reporting it.
async fn read_body(body: &mut Body, id: u32, recorder: &Recorder, delay: Option<Duration>) -> bool {
    let mut counter = BodyCounter::default();
    loop {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    counter.add(&data);
                    if let Some(delay) = delay {
                        tokio::time::sleep(delay).await;
                    }
                }
            }
            Some(Err(error)) => {
                recorder.app(AppEvent::ReadError {
                    stream_id: id,
                    after_bytes: counter.len(),
                    error: ErrorNote::from_boxed(error.as_ref()),
                });
                return false;
            }
            None => break,
        }
    }
    recorder.app(counter.event(id));
    true
}

fn write_error(id: u32, error: &spdy_server::WriteError) -> AppEvent {
    AppEvent::SendError {
        stream_id: id,
        error: match error {
            spdy_server::WriteError::Stream(driver) => driver.into(),
            other => ErrorNote::Http {
                detail: other.to_string(),
            },
        },
    }
}

impl Handler for Builtins {
    async fn serve(&self, mut request: Request<Body>, response: &mut ResponseWriter) {
        let info = request.extensions().get::<StreamInfo>().copied();
        let id = info.map_or(0, |i| i.stream_id.get());
        let recorder = &self.recorder;
        recorder.app(AppEvent::StreamOpened {
            stream_id: id,
            headers: request_note(&request),
            fin: http_body::Body::is_end_stream(request.body()),
            priority: info.map_or(0, |i| i.priority.get()),
            associated_to: 0,
            unidirectional: false,
        });
        let body = request.body_mut();
        match &self.handler {
            Builtin::NoReply => std::future::pending::<()>().await,
            Builtin::NeverReads => {
                if let Err(error) = response.flush().await {
                    recorder.app(write_error(id, &error));
                    return;
                }
                std::future::pending::<()>().await;
            }
            Builtin::Refuse { .. } => {
                // The HTTP layer has no refusal: the closest is an aborted response.
                response.abort();
            }
            Builtin::Echo => {
                if let Err(error) = response.flush().await {
                    recorder.app(write_error(id, &error));
                    return;
                }
                let mut counter = BodyCounter::default();
                loop {
                    match body.frame().await {
                        Some(Ok(frame)) => {
                            let Ok(data) = frame.into_data() else {
                                continue;
                            };
                            counter.add(&data);
                            if let Err(error) = response.write(data).await {
                                recorder.app(write_error(id, &error));
                                return;
                            }
                        }
                        Some(Err(error)) => {
                            recorder.app(AppEvent::ReadError {
                                stream_id: id,
                                after_bytes: counter.len(),
                                error: ErrorNote::from_boxed(error.as_ref()),
                            });
                            return;
                        }
                        None => break,
                    }
                }
                recorder.app(counter.event(id));
            }
            Builtin::Fixed(fixed) => {
                let bytes = Bytes::from(fixed.bytes());
                if let Ok(extra) = fixed.headers.to_block() {
                    for pair in extra.pairs() {
                        if let (Ok(name), Ok(value)) = (
                            http::HeaderName::from_bytes(&pair.name),
                            http::HeaderValue::from_bytes(&pair.value),
                        ) {
                            response.headers_mut().append(name, value);
                        }
                    }
                }
                let len = bytes.len() as u64;
                let sending = async {
                    if len == 0 {
                        return;
                    }
                    match response.write(bytes).await {
                        Ok(()) => recorder.app(AppEvent::Sent {
                            stream_id: id,
                            bytes: len,
                            fin: true,
                        }),
                        Err(error) => recorder.app(write_error(id, &error)),
                    }
                };
                tokio::join!(sending, read_body(body, id, recorder, None));
            }
            Builtin::SlowReader { delay } => {
                if let Err(error) = response.flush().await {
                    recorder.app(write_error(id, &error));
                    return;
                }
                read_body(body, id, recorder, Some(delay.0)).await;
            }
            Builtin::Push(spec) => {
                if let Err(error) = response.flush().await {
                    recorder.app(write_error(id, &error));
                    return;
                }
                match response.push(&spec.path).await {
                    Ok(mut pushed) => {
                        let push_id = self
                            .next_push_id
                            .fetch_add(2, std::sync::atomic::Ordering::Relaxed);
                        recorder.app(AppEvent::Pushed {
                            stream_id: push_id,
                            associated_to: id,
                        });
                        pushed.set_status(StatusCode::OK);
                        let result = match pushed.write(Bytes::from(spec.body_bytes())).await {
                            Ok(()) => pushed.finish().await,
                            Err(error) => Err(error),
                        };
                        if let Err(error) = result {
                            recorder.app(write_error(push_id, &error));
                        }
                    }
                    Err(error) => recorder.app(AppEvent::PushFailed {
                        associated_to: id,
                        error: match &error {
                            spdy_server::WriteError::Stream(driver) => driver.into(),
                            other => ErrorNote::Http {
                                detail: other.to_string(),
                            },
                        },
                    }),
                }
                if read_body(body, id, recorder, None).await
                    && let Err(error) = response.write(Bytes::from(spec.response.clone())).await
                {
                    recorder.app(write_error(id, &error));
                }
            }
        }
    }
}

impl End for HttpServer {
    fn name(&self) -> &'static str {
        "http-server"
    }

    fn side(&self) -> Side {
        Side::Server
    }

    fn start(
        &self,
        io: DuplexStream,
        setup: &Setup,
        recorder: Recorder,
    ) -> Result<Box<dyn Running>, String> {
        let config = ServerConfig {
            session: setup.session.clone(),
            driver: setup.driver.clone(),
            spdy_only: true,
            ..ServerConfig::default()
        };
        let server = Server::new(
            Arc::new(Builtins {
                handler: setup.handler.clone(),
                recorder: recorder.clone(),
                next_push_id: std::sync::atomic::AtomicU32::new(2),
            }),
            config,
        );
        let serving = server.clone();
        tokio::spawn(async move {
            let reason = serving
                .serve_spdy(io, ConnectionInfo::spdy(None, false))
                .await;
            recorder.app(AppEvent::SessionClosed {
                reason: (&reason).into(),
            });
        });
        Ok(Box::new(HttpServerRunning { server }))
    }
}

impl Running for HttpServerRunning {
    fn act(&mut self, action: &Action) -> Result<(), String> {
        match action {
            Action::Goaway { .. } => {
                let server = self.server.clone();
                tokio::spawn(async move { server.shutdown(Duration::from_secs(3600)).await });
                Ok(())
            }
            other => Err(format!("the HTTP server has no way to {other:?}")),
        }
    }
}
