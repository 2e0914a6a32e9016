//! The connection task holds the shared lock only to exchange queues with
//! the session, never across a socket call: a handle is not held up by a
//! write that takes long (a TLS stream encrypts inside `poll_write`).

#![allow(clippy::unwrap_used)]

use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::Duration;

use spdy_core::driver::{DriverConfig, connect};
use spdy_core::session::{Role, SessionConfig};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

/// A connection whose first write blocks its thread until the test lets it
/// go, as a write that encrypts or copies a lot would.
struct SlowFirstWrite {
    io: DuplexStream,
    gate: Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>,
}

impl AsyncRead for SlowFirstWrite {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for SlowFirstWrite {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if let Some((entered, release)) = self.gate.take() {
            entered.send(()).unwrap();
            // Bounded: a driver that never lets the handle in still ends.
            let _ = release.recv_timeout(Duration::from_secs(10));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[test]
fn a_handle_is_not_held_up_by_a_write_in_progress() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let (ours, _peer) = tokio::io::duplex(64 * 1024);
    let io = SlowFirstWrite {
        io: ours,
        gate: Some((entered_tx, release_rx)),
    };
    let _guard = runtime.enter();
    let (handle, connection) = connect(
        io,
        Role::Client,
        SessionConfig::default(),
        DriverConfig::default(),
    );
    let probe = handle.clone();
    runtime.spawn(connection);
    // The connection task is inside its first write (our SETTINGS).
    entered_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the connection task writes its SETTINGS");

    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let stats = probe.stats();
        let _ = done_tx.send(stats);
    });
    let answered = done_rx.recv_timeout(Duration::from_secs(5));
    let _ = release_tx.send(());
    let stats = answered.expect("a handle call waited for the write to finish");
    assert_eq!(stats.streams, 0);
    drop(handle);
    runtime.shutdown_timeout(Duration::from_secs(1));
}
