//! Lingering close: after a session ends, keep reading (and discarding)
//! for a moment before closing the socket.
//!
//! Closing a TCP socket that still holds unread bytes (the peer's last
//! WINDOW_UPDATEs, a PING) makes the kernel send RST instead of FIN, and a
//! peer that receives RST may throw away response bytes it has not read
//! yet: the end of the last response would be lost. So the server shuts its
//! side down, drains what the peer still sends until it closes too or a
//! short deadline passes, and only then closes.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// How long a closed session's socket is drained at most.
pub(crate) const LINGER: Duration = Duration::from_secs(2);
/// How much is read and discarded at most while lingering.
const LINGER_BYTES: usize = 1024 * 1024;

/// An IO whose owner can take it back after the driver is done with it.
pub(crate) struct Reclaimable<IO>(Arc<Mutex<Option<IO>>>);

impl<IO> Reclaimable<IO> {
    /// Wraps `io`; the second value takes it back later.
    pub(crate) fn new(io: IO) -> (Self, Reclaim<IO>) {
        let slot = Arc::new(Mutex::new(Some(io)));
        (Reclaimable(slot.clone()), Reclaim(slot))
    }

    fn with<R>(&self, f: impl FnOnce(Option<&mut IO>) -> R) -> R {
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(guard.as_mut())
    }
}

/// Takes the IO back from a [`Reclaimable`].
pub(crate) struct Reclaim<IO>(Arc<Mutex<Option<IO>>>);

impl<IO: AsyncRead + Unpin> Reclaim<IO> {
    /// Drains the IO until the peer closes, `LINGER` passes or
    /// `LINGER_BYTES` were read; then drops it.
    pub(crate) async fn linger(self) {
        let io = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(mut io) = io else { return };
        let drain = async {
            let mut scratch = vec![0u8; 16 * 1024];
            let mut total = 0;
            while total < LINGER_BYTES {
                match io.read(&mut scratch).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => total += n,
                }
            }
        };
        let _ = tokio::time::timeout(LINGER, drain).await;
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Reclaimable<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.with(|io| match io {
            Some(io) => Pin::new(io).poll_read(cx, buf),
            None => Poll::Ready(Ok(())),
        })
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the connection was reclaimed")
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Reclaimable<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.with(|io| match io {
            Some(io) => Pin::new(io).poll_write(cx, buf),
            None => Poll::Ready(Err(gone())),
        })
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.with(|io| match io {
            Some(io) => Pin::new(io).poll_write_vectored(cx, bufs),
            None => Poll::Ready(Err(gone())),
        })
    }

    fn is_write_vectored(&self) -> bool {
        self.with(|io| io.is_some_and(|io| io.is_write_vectored()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with(|io| match io {
            Some(io) => Pin::new(io).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        })
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with(|io| match io {
            Some(io) => Pin::new(io).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        })
    }
}
