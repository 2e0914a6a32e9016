//! Stream handles: the sending half, the receiving half, both as one duplex,
//! and a stream the peer opened.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::Error;
use super::shared::{Incoming, SharedRef};
use crate::frame::{Priority, RstStatus, StreamId};
use crate::header::HeaderBlock;
use crate::session::SendError;

/// The sending half of a stream. Writes wait for room in the session's
/// bounded per-stream queue, which drains as flow control allows.
///
/// Call [`finish`](SendStream::finish) (or `shutdown` through `AsyncWrite`)
/// to end the stream cleanly; dropping an unfinished `SendStream` resets the
/// stream with CANCEL, so a truncated body never looks complete.
pub struct SendStream {
    shared: SharedRef,
    id: StreamId,
    finished: bool,
}

impl std::fmt::Debug for SendStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendStream")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SendStream {
    pub(crate) fn new(shared: SharedRef, id: StreamId, finished: bool) -> Self {
        SendStream {
            shared,
            id,
            finished,
        }
    }

    /// The stream id.
    pub fn id(&self) -> StreamId {
        self.id
    }

    /// Queues `data`, waiting while the stream's queue is full.
    pub async fn send_data(&mut self, mut data: Bytes) -> Result<(), Error> {
        while !data.is_empty() {
            poll_fn(|cx| self.poll_send(cx, &mut data, false)).await?;
        }
        Ok(())
    }

    /// Queues `data` with FIN: the last bytes of the stream.
    pub async fn send_last(&mut self, mut data: Bytes) -> Result<(), Error> {
        loop {
            poll_fn(|cx| self.poll_send(cx, &mut data, true)).await?;
            if self.finished {
                return Ok(());
            }
        }
    }

    /// Ends the stream (FIN) after what is queued.
    pub async fn finish(&mut self) -> Result<(), Error> {
        self.send_last(Bytes::new()).await
    }

    /// Queues a HEADERS frame after the data already queued (e.g. trailers).
    pub fn send_headers(&mut self, headers: HeaderBlock, fin: bool) -> Result<(), Error> {
        let mut state = self.shared.lock();
        if let Some(error) = state.stream_error(self.id) {
            return Err(error);
        }
        state.session.send_headers(self.id, headers, fin)?;
        state.wake_driver();
        self.finished |= fin;
        Ok(())
    }

    /// Waits until every byte queued on the stream has been handed to the
    /// connection (what `flush` does). Flow control decides when that is:
    /// a peer that grants no window keeps it waiting.
    pub async fn sent(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_sent(cx)).await
    }

    fn poll_sent(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let mut state = self.shared.lock();
        if let Some(error) = state.stream_error(self.id) {
            return Poll::Ready(Err(error));
        }
        match state.session.queued_bytes(self.id) {
            Some(n) if n > 0 => {
                if let Some(slot) = state.slots.get_mut(&self.id) {
                    slot.send_waker = Some(cx.waker().clone());
                }
                state.session.notify_when_sent(self.id);
                state.wake_driver();
                Poll::Pending
            }
            // Nothing queued, or the stream is done with.
            _ => Poll::Ready(Ok(())),
        }
    }

    /// Changes the priority our scheduler gives this stream's data from now
    /// on (0 is the most urgent). SPDY/3.1 cannot tell the peer; it is local.
    pub fn set_priority(&self, priority: Priority) {
        let mut state = self.shared.lock();
        state.session.set_priority(self.id, priority);
    }

    /// The stream's priority, while it is open.
    pub fn priority(&self) -> Option<Priority> {
        self.shared.lock().session.priority(self.id)
    }

    /// Resets the stream with `status`; queued data is dropped.
    pub fn reset(&mut self, status: RstStatus) {
        let mut state = self.shared.lock();
        state.session.reset(self.id, status, super::now());
        if let Some(slot) = state.slots.get_mut(&self.id) {
            slot.reset = Some((status, crate::session::ResetOrigin::Local));
        }
        state.wake_driver();
        self.finished = true;
    }

    /// Takes as much of `data` as the stream's queue accepts now; with
    /// `fin`, FIN goes with the last piece.
    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        data: &mut Bytes,
        fin: bool,
    ) -> Poll<Result<usize, Error>> {
        let mut state = self.shared.lock();
        if let Some(error) = state.stream_error(self.id) {
            return Poll::Ready(Err(error));
        }
        if self.finished {
            return Poll::Ready(Err(Error::Refused(SendError::SendClosed(self.id))));
        }
        let capacity = state.session.send_capacity(self.id);
        if capacity == 0 && !data.is_empty() {
            if let Some(slot) = state.slots.get_mut(&self.id) {
                slot.send_waker = Some(cx.waker().clone());
            }
            state.session.notify_when_writable(self.id);
            return Poll::Pending;
        }
        let n = data.len().min(capacity);
        let piece = data.split_to(n);
        let last = fin && data.is_empty();
        state.session.send_data(self.id, piece, last)?;
        self.finished |= last;
        state.wake_driver();
        Poll::Ready(Ok(n))
    }
}

impl Drop for SendStream {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if !self.finished
            && state.closed.is_none()
            && let Some(slot) = state.slots.get(&self.id)
            && slot.reset.is_none()
            && !slot.closed
        {
            state
                .session
                .reset(self.id, RstStatus::Cancel, super::now());
        }
        if let Some(slot) = state.slots.get_mut(&self.id) {
            slot.send_alive = false;
            slot.send_finished = self.finished;
        }
        state.release_slot(self.id, super::now());
    }
}

impl AsyncWrite for SendStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let mut state = this.shared.lock();
        if let Some(error) = state.stream_error(this.id) {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, error)));
        }
        if this.finished {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "stream finished",
            )));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let capacity = state.session.send_capacity(this.id);
        if capacity == 0 {
            if let Some(slot) = state.slots.get_mut(&this.id) {
                slot.send_waker = Some(cx.waker().clone());
            }
            state.session.notify_when_writable(this.id);
            return Poll::Pending;
        }
        let n = capacity.min(buf.len());
        match state
            .session
            .send_data(this.id, Bytes::copy_from_slice(&buf[..n]), false)
        {
            Ok(()) => {
                state.wake_driver();
                Poll::Ready(Ok(n))
            }
            Err(error) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                Error::from(error),
            ))),
        }
    }

    /// Waits until every byte written so far has left the stream's queue
    /// for the connection (flow control permitting).
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_sent(cx) {
            Poll::Ready(Err(error)) => {
                Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, error)))
            }
            Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(Ok(()));
        }
        let mut empty = Bytes::new();
        match this.poll_send(cx, &mut empty, true) {
            Poll::Ready(Ok(_)) => Poll::Ready(Ok(())),
            Poll::Ready(Err(error)) => {
                Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, error)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The receiving half of a stream: a [`Stream`](futures_core::Stream) of
/// `Bytes` and an `AsyncRead`. Receive credit goes back to the peer as the
/// application takes the bytes, so a slow reader holds the peer back.
///
/// Dropping it discards what arrives later (still crediting the peer); if
/// the sending half is gone too, the stream is reset with CANCEL.
pub struct RecvStream {
    shared: SharedRef,
    id: StreamId,
    /// Bytes handed to `poll_read` callers piecemeal.
    partial: Bytes,
}

impl std::fmt::Debug for RecvStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvStream")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl RecvStream {
    pub(crate) fn new(shared: SharedRef, id: StreamId, _finished: bool) -> Self {
        RecvStream {
            shared,
            id,
            partial: Bytes::new(),
        }
    }

    /// The stream id.
    pub fn id(&self) -> StreamId {
        self.id
    }

    /// Resets the stream with `status` from the receiving side: what the
    /// peer sent is unacceptable (an invalid reply, a body over a limit).
    /// Unread data is dropped and both halves fail from now on; the sending
    /// half, wherever it is, sends nothing more.
    pub fn reset(&mut self, status: RstStatus) {
        self.partial = Bytes::new();
        let mut guard = self.shared.lock();
        let state = &mut *guard;
        state.session.reset(self.id, status, super::now());
        if let Some(slot) = state.slots.get_mut(&self.id) {
            slot.reset = Some((status, crate::session::ResetOrigin::Local));
            slot.wake_all();
        }
        // The unread bytes still hold session window: give it back.
        state.discard_unread(self.id);
        state.wake_driver();
    }

    /// The next header block (the peer's SYN_REPLY, or a HEADERS frame),
    /// waiting for one; `None` when the stream ended without more.
    pub async fn headers(&mut self) -> Result<Option<HeaderBlock>, Error> {
        poll_fn(|cx| {
            let mut state = self.shared.lock();
            let error = state.stream_error(self.id);
            if let Some(headers) = state.take_headers(self.id) {
                return Poll::Ready(Ok(Some(headers)));
            }
            let Some(slot) = state.slots.get_mut(&self.id) else {
                return Poll::Ready(error.map_or(Ok(None), Err));
            };
            if slot.fin || slot.closed {
                return Poll::Ready(Ok(None));
            }
            if let Some(error) = error {
                return Poll::Ready(Err(error));
            }
            slot.recv_waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// The next chunk of payload; `None` at the end of the stream.
    pub async fn data(&mut self) -> Option<Result<Bytes, Error>> {
        poll_fn(|cx| self.poll_data(cx)).await
    }

    /// Reads the rest of the stream into memory, refusing more than `limit` bytes.
    pub async fn collect(&mut self, limit: usize) -> Result<Bytes, Error> {
        let mut out = bytes::BytesMut::new();
        while let Some(chunk) = self.data().await {
            let chunk = chunk?;
            if out.len() + chunk.len() > limit {
                return Err(Error::Refused(SendError::Invalid(format!(
                    "stream {} body exceeds {limit} bytes",
                    self.id
                ))));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }

    /// Polls for the next chunk of payload.
    pub fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Error>>> {
        if !self.partial.is_empty() {
            return Poll::Ready(Some(Ok(std::mem::take(&mut self.partial))));
        }
        let mut state = self.shared.lock();
        let error = state.stream_error(self.id);
        let Some(slot) = state.slots.get_mut(&self.id) else {
            return Poll::Ready(error.map(Err));
        };
        if let Some(chunk) = slot.data.pop_front() {
            let n = chunk.len();
            state.consumed(self.id, n);
            return Poll::Ready(Some(Ok(chunk)));
        }
        if slot.fin {
            return Poll::Ready(None);
        }
        if let Some(error) = error {
            return Poll::Ready(Some(Err(error)));
        }
        if slot.closed {
            return Poll::Ready(None);
        }
        slot.recv_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl futures_core::Stream for RecvStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_data(cx)
    }
}

impl AsyncRead for RecvStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.partial.is_empty() {
            match this.poll_data(cx) {
                Poll::Ready(Some(Ok(chunk))) => this.partial = chunk,
                Poll::Ready(Some(Err(error))) => {
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::ConnectionReset, error)));
                }
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = this.partial.len().min(buf.remaining());
        buf.put_slice(&this.partial[..n]);
        this.partial.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl Drop for RecvStream {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if let Some(slot) = state.slots.get_mut(&self.id) {
            slot.recv_alive = false;
        }
        state.release_slot(self.id, super::now());
    }
}

/// A stream the peer opened, from [`SessionHandle::accept`](super::SessionHandle::accept).
pub struct IncomingStream {
    shared: SharedRef,
    incoming: Option<Incoming>,
}

impl std::fmt::Debug for IncomingStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncomingStream")
            .field("incoming", &self.incoming)
            .finish_non_exhaustive()
    }
}

impl IncomingStream {
    pub(crate) fn new(shared: SharedRef, incoming: Incoming) -> Self {
        IncomingStream {
            shared,
            incoming: Some(incoming),
        }
    }

    fn info(&self) -> &Incoming {
        self.incoming.as_ref().expect("present until consumed")
    }

    /// The stream id.
    pub fn id(&self) -> StreamId {
        self.info().stream_id
    }

    /// The SYN_STREAM headers.
    pub fn headers(&self) -> &HeaderBlock {
        &self.info().headers
    }

    /// The stream's priority.
    pub fn priority(&self) -> Priority {
        self.info().priority
    }

    /// For a pushed stream, the stream it belongs to.
    pub fn associated_to(&self) -> Option<StreamId> {
        let id = self.info().associated_to;
        (!id.is_zero()).then_some(id)
    }

    /// The peer sends nothing more (no body).
    pub fn is_fin(&self) -> bool {
        self.info().fin
    }

    /// We may not send on the stream (server push).
    pub fn is_unidirectional(&self) -> bool {
        self.info().unidirectional
    }

    /// Answers with SYN_REPLY and returns the stream's halves. With `fin`
    /// the sending half is already finished.
    pub fn reply(
        mut self,
        headers: HeaderBlock,
        fin: bool,
    ) -> Result<(SendStream, RecvStream), Error> {
        let Some(info) = self.incoming.take() else {
            unreachable!("consumed only here")
        };
        let id = info.stream_id;
        {
            let mut state = self.shared.lock();
            if let Some(error) = state.stream_error(id) {
                drop(state);
                self.incoming = Some(info);
                return Err(error);
            }
            state.session.reply(id, headers, fin)?;
            if fin && let Some(slot) = state.slots.get_mut(&id) {
                slot.send_finished = true;
            }
            state.wake_driver();
        }
        Ok((
            SendStream::new(self.shared.clone(), id, fin),
            RecvStream::new(self.shared.clone(), id, info.fin),
        ))
    }

    /// Splits the stream into a [`Responder`] that answers later and the
    /// receiving half, readable now: a server reads the request body before
    /// it knows its reply.
    pub fn into_parts(mut self) -> (Responder, RecvStream) {
        let Some(info) = self.incoming.take() else {
            unreachable!("consumed only here")
        };
        let id = info.stream_id;
        (
            Responder {
                shared: self.shared.clone(),
                id,
                done: false,
            },
            RecvStream::new(self.shared.clone(), id, info.fin),
        )
    }

    /// The receiving half of a stream we may not answer (a pushed stream).
    pub fn into_recv(mut self) -> RecvStream {
        let Some(info) = self.incoming.take() else {
            unreachable!("consumed only here")
        };
        RecvStream::new(self.shared.clone(), info.stream_id, info.fin)
    }

    /// Refuses the stream with `status` (REFUSED_STREAM says it is safe to retry).
    pub fn refuse(mut self, status: RstStatus) {
        if let Some(info) = self.incoming.take() {
            self.shared
                .lock()
                .refuse_incoming(info.stream_id, status, super::now());
        }
    }
}

impl Drop for IncomingStream {
    fn drop(&mut self) {
        if let Some(info) = self.incoming.take() {
            // Neither answered nor refused.
            self.shared
                .lock()
                .refuse_incoming(info.stream_id, RstStatus::Cancel, super::now());
        }
    }
}

/// The answering side of a stream the peer opened, split from its
/// receiving half by [`IncomingStream::into_parts`].
///
/// Dropping it without replying resets the stream with CANCEL.
pub struct Responder {
    shared: SharedRef,
    id: StreamId,
    /// Replied or refused: the sending half is accounted for.
    done: bool,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Responder {
    /// The stream id.
    pub fn id(&self) -> StreamId {
        self.id
    }

    /// Answers with SYN_REPLY and returns the sending half. With `fin` the
    /// sending half is already finished.
    pub fn reply(mut self, headers: HeaderBlock, fin: bool) -> Result<SendStream, Error> {
        {
            let mut state = self.shared.lock();
            if let Some(error) = state.stream_error(self.id) {
                return Err(error);
            }
            state.session.reply(self.id, headers, fin)?;
            if fin && let Some(slot) = state.slots.get_mut(&self.id) {
                slot.send_finished = true;
            }
            state.wake_driver();
        }
        self.done = true;
        Ok(SendStream::new(self.shared.clone(), self.id, fin))
    }

    /// Resets the stream with `status` instead of replying.
    pub fn refuse(mut self, status: RstStatus) {
        self.abandon(status);
    }

    fn abandon(&mut self, status: RstStatus) {
        self.done = true;
        let mut state = self.shared.lock();
        let now = super::now();
        if state.closed.is_none()
            && let Some(slot) = state.slots.get_mut(&self.id)
            && slot.reset.is_none()
            && !slot.closed
        {
            slot.reset = Some((status, crate::session::ResetOrigin::Local));
            slot.wake_all();
            state.session.reset(self.id, status, now);
        }
        if let Some(slot) = state.slots.get_mut(&self.id) {
            slot.send_alive = false;
        }
        state.release_slot(self.id, now);
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if !self.done {
            self.abandon(RstStatus::Cancel);
        }
    }
}

/// Both halves of a stream as one `AsyncRead + AsyncWrite`.
#[derive(Debug)]
pub struct StreamIo {
    /// The sending half.
    pub send: SendStream,
    /// The receiving half.
    pub recv: RecvStream,
}

impl StreamIo {
    /// Joins the halves of one stream.
    pub fn new(send: SendStream, recv: RecvStream) -> Self {
        StreamIo { send, recv }
    }
}

impl AsyncRead for StreamIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().recv).poll_read(cx, buf)
    }
}

impl AsyncWrite for StreamIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().send).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().send).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().send).poll_shutdown(cx)
    }
}
