//! Our session engine as a client of raw streams: the scenario's actions
//! open streams, send, reset; responses and pushes are read and reported.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use spdy_core::driver::{RecvStream, connect};
use spdy_core::frame::Priority;
use spdy_core::session::{OpenStream, Role};
use tokio::io::DuplexStream;
use tokio::sync::mpsc;

use super::events::AppEvent;
use super::handlers::{
    Command, Common, Holder, opened_event, read_response, serve, stream_writer, watch_connection,
};
use super::{End, Running, Setup};
use crate::record::Recorder;
use crate::scenario::{Action, Handler, OpenSpec, ReadMode, Side, rst_status};

/// `spdy_core::driver` in the client role, driven by the scenario's actions.
pub struct RawClient;

/// What the client keeps of a stream it opened.
struct Opened {
    commands: mpsc::UnboundedSender<Command>,
    /// The receiving half while nobody reads it (`read: never`).
    unread: Option<RecvStream>,
}

type Streams = Arc<Mutex<HashMap<u32, Opened>>>;

struct RawClientRunning {
    common: Common,
    streams: Streams,
    _holder: Holder,
}

impl End for RawClient {
    fn name(&self) -> &'static str {
        "raw-client"
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
        let (session, connection) = connect(
            io,
            Role::Client,
            setup.session.clone(),
            setup.driver.clone(),
        );
        watch_connection(connection, recorder.clone());
        let holder = Holder::default();
        // Streams the server opens: pushes are read, bidirectional ones
        // (compatibility mode) are echoed.
        let accept = {
            let session = session.clone();
            let recorder = recorder.clone();
            let holder = holder.clone();
            tokio::spawn(async move {
                while let Some(incoming) = session.accept().await {
                    recorder.app(opened_event(&incoming));
                    if incoming.is_unidirectional() {
                        let recv = incoming.into_recv();
                        tokio::spawn(read_response(recv, recorder.clone(), None));
                    } else {
                        tokio::spawn(serve(
                            incoming,
                            Handler::Echo,
                            None,
                            recorder.clone(),
                            holder.clone(),
                        ));
                    }
                }
            })
        };
        Ok(Box::new(RawClientRunning {
            common: Common {
                session: Some(session),
                recorder,
                handle_tasks: vec![accept],
            },
            streams: Streams::default(),
            _holder: holder,
        }))
    }
}

impl RawClientRunning {
    fn open(&mut self, spec: &OpenSpec) -> Result<(), String> {
        let session = self
            .common
            .session
            .clone()
            .ok_or("the session handle was dropped")?;
        let priority = spec.priority.unwrap_or(Priority::default().get());
        if priority > 7 {
            return Err(format!("priority {priority} is not in 0..=7"));
        }
        let open = OpenStream {
            headers: spec.headers.to_block().map_err(|e| e.to_string())?,
            priority: Priority::new(priority),
            fin: spec.fin,
            unidirectional: spec.unidirectional,
            associated_to: None,
        };
        let body = Bytes::from(spec.body());
        if spec.fin && !body.is_empty() {
            return Err("a stream opened with fin cannot carry a body".into());
        }
        let recorder = self.common.recorder.clone();
        let streams = self.streams.clone();
        let finish = spec.finish && !spec.fin;
        let read = spec.read.clone();
        tokio::spawn(async move {
            let (send, recv) = match session.open_stream(open).await {
                Ok(halves) => halves,
                Err(error) => {
                    return recorder.app(AppEvent::OpenFailed {
                        error: (&error).into(),
                    });
                }
            };
            let id = send.id().get();
            recorder.app(AppEvent::Opened { stream_id: id });
            let (commands, receiver) = mpsc::unbounded_channel();
            if !body.is_empty() || finish {
                let _ = commands.send(Command::Send(body, finish));
            }
            let unread = match read {
                ReadMode::Never => Some(recv),
                ReadMode::Auto => {
                    tokio::spawn(read_response(recv, recorder.clone(), None));
                    None
                }
                ReadMode::Slow { delay } => {
                    tokio::spawn(read_response(recv, recorder.clone(), Some(delay.0)));
                    None
                }
            };
            streams
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, Opened { commands, unread });
            stream_writer(send, receiver, recorder).await;
        });
        Ok(())
    }

    fn command(&mut self, stream_id: u32, command: Command) -> Result<(), String> {
        let streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        let opened = streams
            .get(&stream_id)
            .ok_or_else(|| format!("the client has not opened stream {stream_id} (yet)"))?;
        opened
            .commands
            .send(command)
            .map_err(|_| format!("stream {stream_id}'s writer has ended"))
    }
}

impl Running for RawClientRunning {
    fn act(&mut self, action: &Action) -> Result<(), String> {
        if let Some(result) = self.common.act(action) {
            return result;
        }
        match action {
            Action::Open(spec) => self.open(spec),
            Action::Send(spec) => self.command(
                spec.stream_id,
                Command::Send(Bytes::from(spec.bytes()), spec.fin),
            ),
            Action::Finish { stream_id } => self.command(*stream_id, Command::Finish),
            Action::Reset { stream_id, status } => {
                let status = rst_status(status)?;
                self.command(*stream_id, Command::Reset(status))
            }
            Action::Read { stream_id } => {
                let recv = self
                    .streams
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_mut(stream_id)
                    .and_then(|o| o.unread.take())
                    .ok_or_else(|| format!("stream {stream_id} is not waiting to be read"))?;
                tokio::spawn(read_response(recv, self.common.recorder.clone(), None));
                Ok(())
            }
            other => Err(format!("the client cannot {other:?}")),
        }
    }
}
