//! Serving a handler on SPDY/3.1 sessions: one task per stream, each
//! response written through a [`SpdyTransport`].

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{Request, Response};
use spdy_client::{RecvBody, hop_by_hop};
use spdy_core::driver::{IncomingStream, Responder, SendStream, SessionHandle};
use spdy_core::frame::{RstStatus, StreamId};
use spdy_core::header::{HeaderBlock, block_to_request, response_to_block};
use spdy_core::session::OpenStream;
use tokio_util::sync::CancellationToken;

use crate::access_log::AccessLog;
use crate::transport::{BoxFuture, Transport};
use crate::{Body, ConnectionInfo, Handler, ResponseWriter, StreamInfo, WriteError};

/// Where a SPDY response stands.
enum State {
    /// Not answered yet: the SYN_REPLY is still to come.
    Pending(Responder),
    /// Answered (or a pushed stream): body bytes go here.
    Sending(SendStream),
    /// A pushed stream whose response headers (HEADERS) are still to come.
    Pushed(SendStream),
    Done,
}

/// A response on a SPDY stream: SYN_REPLY (or HEADERS for a push), DATA
/// under flow control, FIN or RST_STREAM.
pub struct SpdyTransport {
    session: SessionHandle,
    id: StreamId,
    state: State,
}

impl SpdyTransport {
    /// The transport answering the stream `responder` stands for.
    pub fn new(session: SessionHandle, responder: Responder) -> Self {
        SpdyTransport {
            session,
            id: responder.id(),
            state: State::Pending(responder),
        }
    }

    fn sending(&mut self) -> Result<&mut SendStream, WriteError> {
        match &mut self.state {
            State::Sending(send) => Ok(send),
            _ => Err(WriteError::Finished),
        }
    }
}

/// The SPDY header block of a response head, hop-by-hop headers dropped.
fn head_block(mut head: Response<()>) -> HeaderBlock {
    hop_by_hop::strip(head.headers_mut());
    response_to_block(&head)
}

impl Transport for SpdyTransport {
    fn send_head(&mut self, head: Response<()>, end: bool) -> Result<(), WriteError> {
        let block = head_block(head);
        match std::mem::replace(&mut self.state, State::Done) {
            State::Pending(responder) => {
                let send = responder.reply(block, end)?;
                if !end {
                    self.state = State::Sending(send);
                }
                Ok(())
            }
            State::Pushed(mut send) => {
                send.send_headers(block, end)?;
                if !end {
                    self.state = State::Sending(send);
                }
                Ok(())
            }
            other => {
                self.state = other;
                Err(WriteError::Finished)
            }
        }
    }

    fn send_data(&mut self, data: Bytes) -> BoxFuture<'_, Result<(), WriteError>> {
        Box::pin(async move { Ok(self.sending()?.send_data(data).await?) })
    }

    fn send_last(&mut self, data: Bytes) -> BoxFuture<'_, Result<(), WriteError>> {
        Box::pin(async move {
            let result = self.sending()?.send_last(data).await;
            self.state = State::Done;
            Ok(result?)
        })
    }

    fn finish(&mut self) -> Result<(), WriteError> {
        let State::Sending(mut send) = std::mem::replace(&mut self.state, State::Done) else {
            return Err(WriteError::Finished);
        };
        // FIN with no data never waits for window: one poll completes it.
        let mut finish = std::pin::pin!(send.finish());
        let waker = std::task::Waker::noop();
        match finish
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker))
        {
            std::task::Poll::Ready(result) => result.map_err(WriteError::from),
            std::task::Poll::Pending => Err(WriteError::Finished),
        }
    }

    fn abort(&mut self) {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Pending(responder) => responder.refuse(RstStatus::InternalError),
            State::Sending(mut send) | State::Pushed(mut send) => {
                send.reset(RstStatus::InternalError)
            }
            State::Done => {}
        }
    }

    fn push(
        &mut self,
        request: Request<()>,
    ) -> BoxFuture<'_, Result<Box<dyn Transport>, WriteError>> {
        Box::pin(async move {
            let uri = request.uri();
            let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
                return Err(WriteError::InvalidPush(format!("{uri} is not absolute")));
            };
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            let mut block = HeaderBlock::new();
            block.push(":scheme", Bytes::copy_from_slice(scheme.as_bytes()));
            block.push(
                ":host",
                Bytes::copy_from_slice(authority.as_str().as_bytes()),
            );
            block.push(":path", Bytes::copy_from_slice(path.as_bytes()));
            let open = OpenStream::new(block).pushed_for(self.id);
            let (send, _recv) = self.session.open_stream(open).await?;
            tracing::debug!(parent = %self.id, stream = %send.id(), %uri, "push");
            Ok(Box::new(SpdyTransport {
                session: self.session.clone(),
                id: send.id(),
                state: State::Pushed(send),
            }) as Box<dyn Transport>)
        })
    }

    fn protocol(&self) -> &'static str {
        "spdy/3.1"
    }
}

/// Serves one stream the peer opened: maps its SYN_STREAM to a request (a
/// block that is not a valid request is reset with PROTOCOL_ERROR), runs
/// the handler, finishes the response, and logs one access line.
pub(crate) async fn serve_stream<H: Handler>(
    handler: Arc<H>,
    session: SessionHandle,
    incoming: IncomingStream,
    info: ConnectionInfo,
    body_idle_timeout: Option<std::time::Duration>,
    gone: CancellationToken,
) {
    let started = Instant::now();
    let id = incoming.id();
    let priority = incoming.priority();
    let request = match block_to_request(incoming.headers()) {
        Ok(request) => request,
        Err(error) => {
            tracing::debug!(stream = %id, %error, "not a valid request; resetting");
            incoming.refuse(RstStatus::ProtocolError);
            return;
        }
    };
    let fin = incoming.is_fin();
    let (responder, recv) = incoming.into_parts();
    // A request's content-length always describes its body: a body of
    // another length fails the handler's read and resets the stream.
    let length = spdy_client::body_length::content_length(request.headers());
    let body = if fin && length.is_none_or(|len| len == 0) {
        drop(recv);
        Body::empty()
    } else {
        Body::from(RecvBody::new(recv, length, fin).with_idle_timeout(body_idle_timeout))
    };
    let mut request = request.map(|()| body);
    let log = AccessLog::new(&request, &info, Some(id));
    request.extensions_mut().insert(info);
    request.extensions_mut().insert(StreamInfo {
        stream_id: id,
        priority,
    });
    let reset = session.clone();
    let transport = SpdyTransport::new(session, responder);
    let mut writer = ResponseWriter::new(Box::new(transport), &request);
    // Biased: a handler waiting on its stream is polled first, so it sees
    // the session's end or the stream's reset as an error from its read or
    // write, as before; only one still waiting for something else (a long
    // poll) is cancelled.
    tokio::select! {
        biased;
        () = handler.serve(request, &mut writer) => {}
        () = gone.cancelled() => {
            tracing::debug!(stream = %id, "the session ended; cancelling the handler");
        }
        Some((status, origin)) = reset.stream_reset(id) => {
            tracing::debug!(stream = %id, %status, ?origin, "the stream was reset; cancelling the handler");
        }
    }
    let outcome = writer.finish().await;
    log.finish(&writer, outcome.err(), started);
}

/// Accepts the streams of a running session and serves each on its own
/// task, until the session ends. When `shutdown` fires, the session says
/// GOAWAY: streams already accepted finish, new ones are refused. Request
/// bodies fail when the client sends nothing for `body_idle_timeout`.
///
/// Handlers still running when the session has ended (or when this future
/// is dropped) are cancelled: their responses can no longer reach the
/// client, and a handler waiting for an event must not outlive its
/// connection.
pub async fn serve_session<H: Handler>(
    session: SessionHandle,
    handler: Arc<H>,
    info: ConnectionInfo,
    shutdown: CancellationToken,
    body_idle_timeout: Option<std::time::Duration>,
) {
    // Cancelled when this function returns or its future is dropped.
    let gone = CancellationToken::new();
    let _cancel_handlers = gone.clone().drop_guard();
    let mut draining = false;
    loop {
        let incoming = tokio::select! {
            incoming = session.accept() => incoming,
            _ = shutdown.cancelled(), if !draining => {
                draining = true;
                tracing::debug!("shutting down: GOAWAY");
                session.goaway(spdy_core::frame::GoAwayStatus::Ok);
                continue;
            }
        };
        let Some(incoming) = incoming else { break };
        if incoming.associated_to().is_some() || incoming.is_unidirectional() {
            // A client cannot push; a unidirectional stream is no request.
            incoming.refuse(RstStatus::ProtocolError);
            continue;
        }
        tokio::spawn(serve_stream(
            handler.clone(),
            session.clone(),
            incoming,
            info.clone(),
            body_idle_timeout,
            gone.clone(),
        ));
    }
    // No new streams (GOAWAY, or the end): the accepted ones finish while
    // the session lasts.
    session.closed().await;
}
