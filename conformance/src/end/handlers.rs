//! The pieces both raw ends share: the built-in server handlers, response
//! readers, stream writers and the session-wide actions.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use spdy_core::driver::{Connection, IncomingStream, RecvStream, SendStream, SessionHandle};
use spdy_core::frame::RstStatus;
use spdy_core::header::HeaderBlock;
use spdy_core::session::OpenStream;
use tokio::io::DuplexStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::DEFAULT_ACTION_TIMEOUT;
use super::events::{AppEvent, BodyCounter, ErrorNote, headers_note, rst_name};
use crate::record::Recorder;
use crate::scenario::{Action, Handler, goaway_status, rst_status, settings_frame};

/// Keeps stream handles alive until the run ends (handlers that never
/// finish must not reset their streams by dropping them).
#[derive(Clone, Default)]
pub(crate) struct Holder(Arc<Mutex<Vec<Box<dyn Any + Send>>>>);

impl Holder {
    pub(crate) fn keep(&self, thing: impl Any + Send) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(thing));
    }
}

/// The reply of the built-in handlers.
pub(crate) fn ok_headers() -> HeaderBlock {
    let mut headers = HeaderBlock::new();
    headers.push(":status", "200");
    headers.push(":version", "HTTP/1.1");
    headers
}

/// Runs the connection task and reports how the session ended.
pub(crate) fn watch_connection(connection: Connection<DuplexStream>, recorder: Recorder) {
    tokio::spawn(async move {
        let reason = connection.await;
        recorder.app(AppEvent::SessionClosed {
            reason: (&reason).into(),
        });
    });
}

/// The event for a stream the peer opened.
pub(crate) fn opened_event(incoming: &IncomingStream) -> AppEvent {
    AppEvent::StreamOpened {
        stream_id: incoming.id().get(),
        headers: headers_note(incoming.headers()),
        fin: incoming.is_fin(),
        priority: incoming.priority().get(),
        associated_to: incoming.associated_to().map_or(0, |id| id.get()),
        unidirectional: incoming.is_unidirectional(),
    }
}

/// Reads a body to its end (one chunk per `delay` when given) and reports
/// it; false when reading failed.
pub(crate) async fn read_body(
    recv: &mut RecvStream,
    recorder: &Recorder,
    delay: Option<Duration>,
) -> bool {
    let id = recv.id().get();
    let mut body = BodyCounter::default();
    loop {
        match recv.data().await {
            Some(Ok(chunk)) => {
                body.add(&chunk);
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
            }
            Some(Err(error)) => {
                recorder.app(AppEvent::ReadError {
                    stream_id: id,
                    after_bytes: body.len(),
                    error: (&error).into(),
                });
                return false;
            }
            None => break,
        }
    }
    recorder.app(body.event(id));
    true
}

/// Reads a response: its first header block, its body, then any trailing
/// header blocks.
pub(crate) async fn read_response(
    mut recv: RecvStream,
    recorder: Recorder,
    delay: Option<Duration>,
) {
    let id = recv.id().get();
    match recv.headers().await {
        Ok(Some(headers)) => recorder.app(AppEvent::Reply {
            stream_id: id,
            headers: headers_note(&headers),
        }),
        Ok(None) => {}
        Err(error) => {
            recorder.app(AppEvent::ReadError {
                stream_id: id,
                after_bytes: 0,
                error: (&error).into(),
            });
            return;
        }
    }
    if !read_body(&mut recv, &recorder, delay).await {
        return;
    }
    while let Ok(Some(headers)) = recv.headers().await {
        recorder.app(AppEvent::Headers {
            stream_id: id,
            headers: headers_note(&headers),
        });
    }
}

/// Serves one stream with a built-in handler.
pub(crate) async fn serve(
    incoming: IncomingStream,
    handler: Handler,
    session: Option<SessionHandle>,
    recorder: Recorder,
    holder: Holder,
) {
    let id = incoming.id().get();
    let send_error = |error: &spdy_core::driver::Error| AppEvent::SendError {
        stream_id: id,
        error: error.into(),
    };
    match handler {
        Handler::NoReply => holder.keep(incoming),
        Handler::Refuse { status } => {
            let status = rst_status(&status).unwrap_or(RstStatus::RefusedStream);
            incoming.refuse(status);
            recorder.app(AppEvent::Refused {
                stream_id: id,
                status: rst_name(status),
            });
        }
        Handler::NeverReads => match incoming.reply(ok_headers(), false) {
            Ok(halves) => holder.keep(halves),
            Err(error) => recorder.app(send_error(&error)),
        },
        Handler::Echo => {
            let (mut send, mut recv) = match incoming.reply(ok_headers(), false) {
                Ok(halves) => halves,
                Err(error) => return recorder.app(send_error(&error)),
            };
            let mut body = BodyCounter::default();
            loop {
                match recv.data().await {
                    Some(Ok(chunk)) => {
                        body.add(&chunk);
                        if let Err(error) = send.send_data(chunk).await {
                            recorder.app(send_error(&error));
                            return holder.keep((send, recv));
                        }
                    }
                    Some(Err(error)) => {
                        recorder.app(AppEvent::ReadError {
                            stream_id: id,
                            after_bytes: body.len(),
                            error: (&error).into(),
                        });
                        return holder.keep((send, recv));
                    }
                    None => break,
                }
            }
            recorder.app(body.event(id));
            if let Err(error) = send.finish().await {
                recorder.app(send_error(&error));
            }
            holder.keep((send, recv));
        }
        Handler::Fixed(fixed) => {
            let bytes = fixed.bytes();
            let mut reply = ok_headers();
            if let Ok(extra) = fixed.headers.to_block() {
                for pair in extra.pairs() {
                    reply.push(pair.name.clone(), pair.value.clone());
                }
            }
            let (mut send, mut recv) = match incoming.reply(reply, bytes.is_empty()) {
                Ok(halves) => halves,
                Err(error) => return recorder.app(send_error(&error)),
            };
            let len = bytes.len() as u64;
            let sending = async {
                if len > 0 {
                    match send.send_last(Bytes::from(bytes)).await {
                        Ok(()) => recorder.app(AppEvent::Sent {
                            stream_id: id,
                            bytes: len,
                            fin: true,
                        }),
                        Err(error) => recorder.app(send_error(&error)),
                    }
                }
            };
            tokio::join!(sending, read_body(&mut recv, &recorder, None));
            holder.keep((send, recv));
        }
        Handler::SlowReader { delay } => {
            let (mut send, mut recv) = match incoming.reply(ok_headers(), false) {
                Ok(halves) => halves,
                Err(error) => return recorder.app(send_error(&error)),
            };
            if read_body(&mut recv, &recorder, Some(delay.0)).await
                && let Err(error) = send.finish().await
            {
                recorder.app(send_error(&error));
            }
            holder.keep((send, recv));
        }
        Handler::Push(spec) => {
            let request = incoming.headers().clone();
            let (mut send, mut recv) = match incoming.reply(ok_headers(), false) {
                Ok(halves) => halves,
                Err(error) => return recorder.app(send_error(&error)),
            };
            let mut push_headers = HeaderBlock::new();
            let from_request = |name: &str, default: &'static str| {
                request
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| Bytes::from_static(default.as_bytes()))
            };
            push_headers.push(":scheme", from_request(":scheme", "https"));
            push_headers.push(":host", from_request(":host", "example.com"));
            push_headers.push(":path", spec.path.clone());
            let pushed = match &session {
                Some(session) => {
                    session
                        .open_stream(OpenStream::new(push_headers).pushed_for(incoming_id(id)))
                        .await
                }
                None => Err(spdy_core::driver::Error::Timeout),
            };
            match pushed {
                Ok((mut push_send, push_recv)) => {
                    let push_id = push_send.id().get();
                    recorder.app(AppEvent::Pushed {
                        stream_id: push_id,
                        associated_to: id,
                    });
                    let result = match push_send.send_headers(ok_headers(), false) {
                        Ok(()) => push_send.send_last(Bytes::from(spec.body_bytes())).await,
                        Err(error) => Err(error),
                    };
                    if let Err(error) = result {
                        recorder.app(AppEvent::SendError {
                            stream_id: push_id,
                            error: (&error).into(),
                        });
                    }
                    holder.keep((push_send, push_recv));
                }
                Err(error) => recorder.app(AppEvent::PushFailed {
                    associated_to: id,
                    error: (&error).into(),
                }),
            }
            if read_body(&mut recv, &recorder, None).await
                && let Err(error) = send.send_last(Bytes::from(spec.response.clone())).await
            {
                recorder.app(send_error(&error));
            }
            holder.keep((send, recv));
        }
    }
}

fn incoming_id(id: u32) -> spdy_core::frame::StreamId {
    spdy_core::frame::StreamId::new(id)
}

/// A command for the task that owns a stream's sending half.
pub(crate) enum Command {
    /// Queue bytes, with FIN when true.
    Send(Bytes, bool),
    /// FIN.
    Finish,
    /// RST_STREAM.
    Reset(RstStatus),
}

/// Owns a sending half and carries out commands in order; a reset cuts a
/// blocked send short.
pub(crate) async fn stream_writer(
    mut send: SendStream,
    mut commands: mpsc::UnboundedReceiver<Command>,
    recorder: Recorder,
) {
    let id = send.id().get();
    let mut pending: VecDeque<Command> = VecDeque::new();
    let mut channel_open = true;
    loop {
        let command = match pending.pop_front() {
            Some(command) => command,
            None if channel_open => match commands.recv().await {
                Some(command) => command,
                None => {
                    channel_open = false;
                    continue;
                }
            },
            // Nothing more will come: keep the half alive (dropping it
            // would reset the stream) until the run ends.
            None => return std::future::pending().await,
        };
        let (bytes, fin) = match command {
            Command::Reset(status) => {
                send.reset(status);
                recorder.app(AppEvent::ResetSent {
                    stream_id: id,
                    status: rst_name(status),
                });
                continue;
            }
            Command::Finish => (Bytes::new(), true),
            Command::Send(bytes, fin) => (bytes, fin),
        };
        let len = bytes.len() as u64;
        let mut reset = None;
        let result = {
            let sending = async {
                if fin {
                    send.send_last(bytes).await
                } else {
                    send.send_data(bytes).await
                }
            };
            tokio::pin!(sending);
            loop {
                tokio::select! {
                    result = &mut sending => break Some(result),
                    command = commands.recv(), if channel_open => match command {
                        Some(Command::Reset(status)) => {
                            reset = Some(status);
                            break None;
                        }
                        Some(other) => pending.push_back(other),
                        None => channel_open = false,
                    },
                }
            }
        };
        match (result, reset) {
            (Some(Ok(())), _) => recorder.app(AppEvent::Sent {
                stream_id: id,
                bytes: len,
                fin,
            }),
            (Some(Err(error)), _) => recorder.app(AppEvent::SendError {
                stream_id: id,
                error: (&error).into(),
            }),
            (None, Some(status)) => pending.push_front(Command::Reset(status)),
            (None, None) => {}
        }
    }
}

/// The actions every end supports: PING, GOAWAY, close, SETTINGS, dropping the handle.
pub(crate) struct Common {
    pub(crate) session: Option<SessionHandle>,
    pub(crate) recorder: Recorder,
    /// Tasks holding a session handle (the accept loop), stopped by `drop_handle`.
    pub(crate) handle_tasks: Vec<JoinHandle<()>>,
}

impl Common {
    /// Carries out a session-wide action; `None` when the action is not one.
    pub(crate) fn act(&mut self, action: &Action) -> Option<Result<(), String>> {
        let session = match (&self.session, action) {
            (_, Action::DropHandle) => {
                self.session = None;
                for task in self.handle_tasks.drain(..) {
                    task.abort();
                }
                return Some(Ok(()));
            }
            (
                None,
                Action::Ping { .. }
                | Action::Goaway { .. }
                | Action::Close
                | Action::Settings { .. },
            ) => {
                return Some(Err("the session handle was dropped".into()));
            }
            (Some(session), _) => session,
            (None, _) => return None,
        };
        let result = match action {
            Action::Ping { timeout } => {
                let session = session.clone();
                let recorder = self.recorder.clone();
                let timeout = timeout.map_or(DEFAULT_ACTION_TIMEOUT, |t| t.0);
                tokio::spawn(async move {
                    match session.ping(timeout).await {
                        Ok(rtt) => recorder.app(AppEvent::PingAnswered {
                            rtt_ms: rtt.as_millis() as u64,
                        }),
                        Err(error) => recorder.app(AppEvent::PingFailed {
                            error: (&error).into(),
                        }),
                    }
                });
                Ok(())
            }
            Action::Goaway { status } => goaway_status(status).map(|s| session.goaway(s)),
            Action::Close => {
                session.close();
                Ok(())
            }
            Action::PeerSettings => {
                let settings = session.peer_settings();
                self.recorder.app(AppEvent::PeerSettings {
                    max_concurrent_streams: settings.max_concurrent_streams,
                    initial_window_size: settings.initial_window_size,
                    values: settings.values.iter().map(|(k, (v, _))| (*k, *v)).collect(),
                    persisted: settings.persisted.clone(),
                });
                Ok(())
            }
            Action::Settings {
                clear_settings,
                entries,
            } => settings_frame(*clear_settings, entries).map(|frame| {
                if let Err(error) = session.send_settings(frame) {
                    self.recorder.app(AppEvent::ActionFailed {
                        action: "settings".into(),
                        error: ErrorNote::from(&error),
                    });
                }
            }),
            _ => return None,
        };
        Some(result)
    }
}
