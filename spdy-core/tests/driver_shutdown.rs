//! The connection task never waits on the socket without a bound: a flush
//! or a shutdown that makes no progress (a TLS layer holding records, or
//! its close_notify, for a peer that stopped reading) is given up after
//! `DriverConfig::write_timeout`, like a stalled write, and the task ends.
//!
//! The socket is a duplex wrapped so that, on demand, its writes vanish
//! into a buffer nobody drains, or stay pending, and its flush and shutdown
//! never complete (and never wake the task). The clock is paused: a task
//! with no timer armed would leave the test waiting for its own timeout,
//! which then fails it at once.

#![allow(clippy::unwrap_used)]

mod virtual_time;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use spdy_core::driver::{DriverConfig, SessionHandle, connect};
use spdy_core::header::HeaderBlock;
use spdy_core::session::{CloseReason, OpenStream, Role, SessionConfig};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::time::{Instant, timeout};
use virtual_time::in_virtual_time;

/// Bound on every wait, in the paused (virtual) clock.
const LIMIT: Duration = Duration::from_secs(60);
/// The write timeout of the connections under test.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// How the wrapped socket treats writes.
const PASS: u8 = 0;
/// Writes are taken into a buffer that never drains (up to 64 KiB, as a
/// TLS layer takes records while its socket is full); flush never completes.
const SWALLOW: u8 = 1;
/// Writes and flush never complete.
const BLOCK: u8 = 2;

/// A socket whose write side can be made to stop on demand. A stopped
/// operation returns `Pending` without ever waking the task: only the
/// task's own timer can get it going again.
struct Stuck {
    io: DuplexStream,
    writes: Arc<AtomicU8>,
    /// `poll_shutdown` never completes.
    hold_shutdown: Arc<AtomicBool>,
    swallowed: usize,
}

/// The switches of a [`Stuck`] socket.
#[derive(Clone, Default)]
struct Switches {
    writes: Arc<AtomicU8>,
    hold_shutdown: Arc<AtomicBool>,
}

impl Switches {
    fn wrap(&self, io: DuplexStream) -> Stuck {
        Stuck {
            io,
            writes: self.writes.clone(),
            hold_shutdown: self.hold_shutdown.clone(),
            swallowed: 0,
        }
    }

    fn writes(&self, mode: u8) {
        self.writes.store(mode, Ordering::SeqCst);
    }

    fn hold_shutdown(&self) {
        self.hold_shutdown.store(true, Ordering::SeqCst);
    }
}

impl AsyncRead for Stuck {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stuck {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.writes.load(Ordering::SeqCst) {
            PASS => Pin::new(&mut self.io).poll_write(cx, buf),
            SWALLOW if self.swallowed < 64 * 1024 => {
                let n = buf.len().min(64 * 1024 - self.swallowed);
                self.swallowed += n;
                Poll::Ready(Ok(n))
            }
            _ => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.writes.load(Ordering::SeqCst) {
            PASS => Pin::new(&mut self.io).poll_flush(cx),
            _ => Poll::Pending,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.hold_shutdown.load(Ordering::SeqCst) {
            return Poll::Pending;
        }
        match self.writes.load(Ordering::SeqCst) {
            PASS => Pin::new(&mut self.io).poll_shutdown(cx),
            _ => Poll::Pending,
        }
    }
}

fn driver_config() -> DriverConfig {
    DriverConfig {
        write_timeout: WRITE_TIMEOUT,
        ..DriverConfig::default()
    }
}

/// No timer of the session's own may end it while a test waits.
fn session_config() -> SessionConfig {
    SessionConfig {
        idle_timeout: None,
        keepalive_interval: None,
        stream_receive_timeout: None,
        ..SessionConfig::default()
    }
}

/// A client session over a duplex wrapped by `switches`, its connection
/// task spawned; the peer's end is returned so it stays open.
fn start(
    switches: &Switches,
) -> (
    SessionHandle,
    tokio::task::JoinHandle<CloseReason>,
    DuplexStream,
) {
    let (ours, peer) = tokio::io::duplex(64 * 1024);
    let (client, connection) = connect(
        switches.wrap(ours),
        Role::Client,
        session_config(),
        driver_config(),
    );
    (client, tokio::spawn(connection), peer)
}

fn assert_stalled(reason: &CloseReason, elapsed: Duration) {
    assert!(
        matches!(reason, CloseReason::ConnectionLost(why) if why.contains("stopped reading")),
        "{reason:?}"
    );
    assert!(
        elapsed >= WRITE_TIMEOUT && elapsed < WRITE_TIMEOUT + Duration::from_secs(1),
        "gave up after {elapsed:?}, not the write timeout"
    );
}

/// The session ends gracefully and its GOAWAY is written, but the shutdown
/// (a TLS close_notify into a full socket) never completes.
#[test]
fn a_shutdown_that_never_completes_is_given_up_after_the_write_timeout() {
    in_virtual_time(async {
        let switches = Switches::default();
        switches.hold_shutdown();
        let (client, connection, _peer) = start(&switches);
        client.close();
        let started = Instant::now();
        let reason = timeout(LIMIT, connection)
            .await
            .expect("the connection task ends despite a shutdown that never completes")
            .unwrap();
        assert_stalled(&reason, started.elapsed());
        // The handles were told how the session itself ended.
        assert_eq!(client.close_reason(), Some(CloseReason::Graceful));
    });
}

/// The session ends; its GOAWAY goes into a TLS layer whose socket the
/// peer no longer empties, so neither flush nor shutdown ever completes.
#[test]
fn a_flush_and_shutdown_that_never_complete_after_the_end_are_given_up() {
    in_virtual_time(async {
        let switches = Switches::default();
        let (client, connection, _peer) = start(&switches);
        // The opening SETTINGS goes out before the socket stops.
        tokio::task::yield_now().await;
        switches.writes(SWALLOW);
        client.close();
        let started = Instant::now();
        let reason = timeout(LIMIT, connection)
            .await
            .expect("the connection task ends despite bytes stuck in the TLS layer")
            .unwrap();
        assert_stalled(&reason, started.elapsed());
    });
}

/// In a live session the peer stops reading while the last bytes sit in a
/// TLS layer: every write was taken, only the flush waits. That stall ends
/// the session like one of a write.
#[test]
fn a_flush_that_never_completes_ends_a_live_session() {
    in_virtual_time(async {
        let switches = Switches::default();
        switches.hold_shutdown();
        let (client, connection, _peer) = start(&switches);
        let (mut send, _recv) = timeout(
            LIMIT,
            client.open_stream(OpenStream::new(HeaderBlock::new())),
        )
        .await
        .unwrap()
        .unwrap();
        switches.writes(SWALLOW);
        let started = Instant::now();
        timeout(LIMIT, send.send_data(Bytes::from_static(b"hello")))
            .await
            .unwrap()
            .unwrap();
        let reason = timeout(LIMIT, client.closed())
            .await
            .expect("a flush that never completes ends the session");
        assert_stalled(&reason, started.elapsed());
        let ended = timeout(LIMIT, connection)
            .await
            .expect("the connection task ends")
            .unwrap();
        assert_eq!(ended, reason);
    });
}

/// The session ends gracefully but its GOAWAY never leaves: the task gives
/// up after the write timeout, and does not call that end graceful.
#[test]
fn a_goaway_that_never_leaves_is_not_reported_as_graceful() {
    in_virtual_time(async {
        let switches = Switches::default();
        let (client, connection, _peer) = start(&switches);
        tokio::task::yield_now().await;
        switches.writes(BLOCK);
        client.close();
        let started = Instant::now();
        let reason = timeout(LIMIT, connection)
            .await
            .expect("the connection task ends")
            .unwrap();
        assert_stalled(&reason, started.elapsed());
    });
}
