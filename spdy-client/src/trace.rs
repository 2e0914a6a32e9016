//! Frame tracing: an IO wrapper that decodes the frames going each way and
//! hands them to a callback, and [`frame_yaml`], which prints a frame in the
//! YAML frame notation (`cargo xtask frames decode`, the conformance
//! scenarios), used by `spdycat -v`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use spdy_core::frame::{Frame, FrameDecoder};
use spdy_core::notation::{FrameNote, RenderOptions, print_notes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Which way a frame went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From us to the peer.
    Sent,
    /// From the peer to us.
    Received,
}

/// Called with each frame as it passes.
pub type FrameCallback = Box<dyn FnMut(Direction, &Frame) + Send>;

/// One direction's decoder; it stops at the first undecodable byte.
struct Side {
    buf: BytesMut,
    decoder: FrameDecoder,
    broken: bool,
}

impl Side {
    fn new() -> Self {
        Side {
            buf: BytesMut::new(),
            decoder: FrameDecoder::new(),
            broken: false,
        }
    }

    fn feed(&mut self, bytes: &[u8], direction: Direction, callback: &mut FrameCallback) {
        if self.broken {
            return;
        }
        self.buf.extend_from_slice(bytes);
        loop {
            match self.decoder.decode(&mut self.buf) {
                Ok(Some(frame)) => callback(direction, &frame),
                Ok(None) => break,
                Err(error) => {
                    tracing::debug!(?direction, %error, "trace: undecodable bytes; tracing stops");
                    self.broken = true;
                    self.buf = BytesMut::new();
                    break;
                }
            }
        }
    }
}

/// `io`, with every frame read or written decoded and passed to a callback.
pub struct TraceIo<IO> {
    io: IO,
    sent: Side,
    received: Side,
    callback: FrameCallback,
}

impl<IO> TraceIo<IO> {
    /// Traces the frames on `io`.
    pub fn new(io: IO, callback: FrameCallback) -> Self {
        TraceIo {
            io,
            sent: Side::new(),
            received: Side::new(),
            callback,
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for TraceIo<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            this.received.feed(
                &buf.filled()[before..],
                Direction::Received,
                &mut this.callback,
            );
        }
        result
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for TraceIo<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result {
            this.sent
                .feed(&buf[..n], Direction::Sent, &mut this.callback);
        }
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(mut n)) = result {
            for slice in bufs {
                if n == 0 {
                    break;
                }
                let take = n.min(slice.len());
                this.sent
                    .feed(&slice[..take], Direction::Sent, &mut this.callback);
                n -= take;
            }
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// One frame as an item of a YAML list in the frame notation
/// (`spdy_core::notation`, as `cargo xtask frames decode` prints it); DATA
/// longer than `max_inline` bytes is summarised by length and SHA-256.
pub fn frame_yaml(frame: &Frame, max_inline: usize) -> String {
    let options = RenderOptions {
        max_inline_data: max_inline,
    };
    print_notes(&[FrameNote::from_frame(frame, &options)])
}
