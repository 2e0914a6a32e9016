//! The driver reads tokio's clock, so a paused test clock drives the
//! session's timers: an idle timeout of five minutes passes in an instant of
//! real time instead of spinning the connection task.

#![allow(clippy::unwrap_used)]

use std::sync::mpsc;
use std::time::Duration;

use bytes::BytesMut;
use spdy_core::driver::{DriverConfig, connect};
use spdy_core::frame::{Frame, FrameEncoder, Ping};
use spdy_core::session::{CloseReason, RateLimit, Role, SessionConfig};
use tokio::io::AsyncWriteExt;

#[test]
fn session_timers_follow_a_paused_tokio_clock() {
    let (done_tx, done_rx) = mpsc::channel();
    // The runtime runs on its own thread so a driver that spins (and so
    // never lets the paused clock advance) fails the test instead of hanging it.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let reason = runtime.block_on(async {
            let (a, b) = tokio::io::duplex(64 * 1024);
            let config = SessionConfig {
                idle_timeout: Some(Duration::from_secs(300)),
                ..SessionConfig::default()
            };
            let (client, connection) =
                connect(a, Role::Client, config.clone(), DriverConfig::default());
            tokio::spawn(connection);
            let (_server, connection) = connect(
                b,
                Role::Server,
                SessionConfig {
                    idle_timeout: None,
                    ..config
                },
                DriverConfig::default(),
            );
            tokio::spawn(connection);
            let started = tokio::time::Instant::now();
            let reason = tokio::time::timeout(Duration::from_secs(400), client.closed())
                .await
                .expect("the idle timeout closes the session");
            (reason, started.elapsed())
        });
        let _ = done_tx.send(reason);
    });
    let (reason, elapsed) = done_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the session ends in virtual time, not by spinning");
    assert_eq!(reason, CloseReason::IdleTimeout);
    assert!(
        elapsed >= Duration::from_secs(300) && elapsed < Duration::from_secs(301),
        "closed after {elapsed:?} of virtual time"
    );
}

/// Runs `test` on a current-thread runtime with a paused clock, failing
/// (instead of hanging) if it does not finish in 20 s of real time.
fn in_virtual_time<T: Send + 'static>(
    test: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let _ = done_tx.send(runtime.block_on(test));
    });
    done_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("finished in virtual time")
}

#[test]
fn a_peer_that_pings_without_reading_is_dropped_at_once() {
    let (reason, elapsed) = in_virtual_time(async {
        // The peer's side: PINGs it never reads the answers to.
        let (peer, ours) = tokio::io::duplex(16 * 1024);
        let (_unread, mut peer_write) = tokio::io::split(peer);
        let config = SessionConfig {
            flood_limits: spdy_core::session::FloodLimits {
                pings: RateLimit::new(1_000_000, Duration::from_secs(10)),
                ..Default::default()
            },
            ..SessionConfig::default()
        };
        let driver = DriverConfig {
            write_timeout: Duration::from_secs(30),
            ..DriverConfig::default()
        };
        let (_server, connection) = connect(ours, Role::Server, config, driver);
        let connection = tokio::spawn(connection);
        let started = tokio::time::Instant::now();
        tokio::spawn(async move {
            let mut encoder = FrameEncoder::new();
            for id in 0..40_000u32 {
                let mut wire = BytesMut::new();
                encoder
                    .encode(&Frame::Ping(Ping { id: 2 * id + 1 }), &mut wire)
                    .unwrap();
                if peer_write.write_all(&wire).await.is_err() {
                    return;
                }
            }
        });
        let reason = tokio::time::timeout(Duration::from_secs(60), connection)
            .await
            .expect("the connection ends")
            .unwrap();
        (reason, started.elapsed())
    });
    assert_eq!(reason, CloseReason::PeerNotReading);
    // The answers it would not read are dropped, not flushed for the whole
    // write timeout.
    assert!(elapsed < Duration::from_secs(1), "ended after {elapsed:?}");
}
