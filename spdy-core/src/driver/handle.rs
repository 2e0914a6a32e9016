//! The session handle: open and accept streams, ping, settings, shutdown.

use std::future::poll_fn;
use std::task::Poll;
use std::time::Duration;

use tokio::sync::oneshot;

use super::Error;
use super::shared::SharedRef;
use super::stream::{IncomingStream, RecvStream, SendStream};
use crate::frame::{GoAwayStatus, RstStatus, Settings, StreamId};
use crate::session::{CloseReason, OpenStream, PeerSettings, ResetOrigin, SendError, SessionStats};

/// A cloneable handle on a running session. When the last clone is
/// dropped and no stream is open, the session says GOAWAY and ends.
pub struct SessionHandle {
    shared: SharedRef,
}

impl Clone for SessionHandle {
    fn clone(&self) -> Self {
        SessionHandle::new(self.shared.clone())
    }
}

impl Drop for SessionHandle {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.handles -= 1;
        if state.handles == 0 {
            state.wake_driver();
        }
    }
}

impl std::fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionHandle").finish_non_exhaustive()
    }
}

impl SessionHandle {
    pub(crate) fn new(shared: SharedRef) -> Self {
        shared.lock().handles += 1;
        SessionHandle { shared }
    }

    /// Opens a stream. Waits while the peer's MAX_CONCURRENT_STREAMS is
    /// reached; fails if the session ends or the peer sent GOAWAY. For a
    /// stream opened with FIN (or unidirectional) the matching half of the
    /// pair is already finished.
    pub async fn open_stream(&self, open: OpenStream) -> Result<(SendStream, RecvStream), Error> {
        let fin = open.fin;
        let unidirectional = open.unidirectional || open.associated_to.is_some();
        let id = poll_fn(|cx| {
            let mut state = self.shared.lock();
            if let Some(error) = state.closed_error() {
                return Poll::Ready(Err(error));
            }
            match state.session.open_stream(open.clone()) {
                Ok(id) => {
                    state.slots.insert(
                        id,
                        super::shared::Slot {
                            recv_alive: !unidirectional,
                            send_alive: !fin,
                            send_finished: fin,
                            fin: unidirectional,
                            ..Default::default()
                        },
                    );
                    state.wake_driver();
                    Poll::Ready(Ok(id))
                }
                Err(SendError::StreamLimit { .. }) => {
                    super::shared::register(&mut state.open_waiters, cx.waker());
                    Poll::Pending
                }
                Err(error) => Poll::Ready(Err(Error::from(error))),
            }
        })
        .await?;
        Ok((
            SendStream::new(self.shared.clone(), id, fin),
            RecvStream::new(self.shared.clone(), id, unidirectional),
        ))
    }

    /// The next stream the peer opens; `None` once the session has ended
    /// or either side sent GOAWAY and no opened stream is left.
    pub async fn accept(&self) -> Option<IncomingStream> {
        poll_fn(|cx| {
            let mut state = self.shared.lock();
            if let Some(incoming) = state.incoming.pop_front() {
                return Poll::Ready(Some(IncomingStream::new(self.shared.clone(), incoming)));
            }
            if state.closed.is_some() {
                return Poll::Ready(None);
            }
            super::shared::register(&mut state.accept_waiters, cx.waker());
            Poll::Pending
        })
        .await
    }

    /// Sends a PING and waits for its answer; returns the round-trip time.
    pub async fn ping(&self, timeout: Duration) -> Result<Duration, Error> {
        let (id, rx) = {
            let mut state = self.shared.lock();
            if let Some(error) = state.closed_error() {
                return Err(error);
            }
            let id = state.session.ping(super::now())?;
            let (tx, rx) = oneshot::channel();
            state.pings.insert(id, tx);
            state.wake_driver();
            (id, rx)
        };
        // Forget the waiter however this ends (answer, timeout, or the
        // caller dropping this future), so nothing piles up.
        struct Forget<'a>(&'a SharedRef, u32);
        impl Drop for Forget<'_> {
            fn drop(&mut self) {
                self.0.lock().pings.remove(&self.1);
            }
        }
        let _forget = Forget(&self.shared, id);
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(rtt)) => Ok(rtt),
            Ok(Err(_)) => Err(self
                .shared
                .lock()
                .closed_error()
                .unwrap_or(Error::SessionClosed(CloseReason::Graceful))),
            Err(_) => Err(Error::Timeout),
        }
    }

    /// Waits until the peer's first SETTINGS frame has been applied and
    /// returns what it said (see [`peer_settings`](Self::peer_settings)
    /// for later changes). Fails if the session ends first.
    pub async fn peer_settings_received(&self) -> Result<PeerSettings, Error> {
        poll_fn(|cx| {
            let mut state = self.shared.lock();
            if state.session.peer_settings().frames_received > 0 {
                return Poll::Ready(Ok(state.session.peer_settings().clone()));
            }
            if let Some(error) = state.closed_error() {
                return Poll::Ready(Err(error));
            }
            super::shared::register(&mut state.settings_waiters, cx.waker());
            Poll::Pending
        })
        .await
    }

    /// How much the session holds now (streams, queues): for monitoring.
    pub fn stats(&self) -> SessionStats {
        self.shared.lock().session.stats()
    }

    /// Starts a graceful shutdown: GOAWAY with `status`, open streams
    /// finish, then the connection closes.
    pub fn goaway(&self, status: GoAwayStatus) {
        let mut state = self.shared.lock();
        state.session.goaway(status);
        state.wake_driver();
    }

    /// Ends the session at once (GOAWAY OK); open streams fail.
    pub fn close(&self) {
        let mut state = self.shared.lock();
        state.session.close();
        state.wake_driver();
    }

    /// Sends SETTINGS; see [`Session::send_settings`](crate::session::Session::send_settings).
    pub fn send_settings(&self, settings: Settings) -> Result<(), Error> {
        let mut state = self.shared.lock();
        state.session.send_settings(settings)?;
        state.wake_driver();
        Ok(())
    }

    /// What the peer said in its SETTINGS.
    pub fn peer_settings(&self) -> PeerSettings {
        self.shared.lock().session.peer_settings().clone()
    }

    /// True while `stream_id` is open in the session.
    pub fn is_open(&self, stream_id: StreamId) -> bool {
        self.shared.lock().session.is_open(stream_id)
    }

    /// Waits until `stream_id` is reset, by the peer or by us (for the
    /// peer's error, a timeout, a handle dropped), and returns the status
    /// and who reset it; `None` once the stream has ended otherwise (both
    /// halves finished, the session ended, or no handle of it is left).
    /// For work tied to a stream that does not read or write it: a server
    /// handler waiting for an event stops when its client cancels.
    pub async fn stream_reset(&self, stream_id: StreamId) -> Option<(RstStatus, ResetOrigin)> {
        poll_fn(|cx| {
            let mut state = self.shared.lock();
            if state.closed.is_some() {
                return Poll::Ready(None);
            }
            match state.slots.get_mut(&stream_id) {
                None => Poll::Ready(None),
                Some(slot) => match slot.reset {
                    Some(reset) => Poll::Ready(Some(reset)),
                    None if slot.closed => Poll::Ready(None),
                    None => {
                        super::shared::register(&mut slot.end_waiters, cx.waker());
                        Poll::Pending
                    }
                },
            }
        })
        .await
    }

    /// Waits until the session has ended and returns why.
    pub async fn closed(&self) -> CloseReason {
        poll_fn(|cx| {
            let mut state = self.shared.lock();
            match &state.closed {
                Some(reason) => Poll::Ready(reason.clone()),
                None => {
                    super::shared::register(&mut state.close_waiters, cx.waker());
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// Why the session ended, if it has.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.shared.lock().closed.clone()
    }
}
