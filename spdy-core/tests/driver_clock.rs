//! The driver reads tokio's clock, so a paused test clock drives the
//! session's timers: an idle timeout of five minutes passes in an instant of
//! real time instead of spinning the connection task.

#![allow(clippy::unwrap_used)]

use std::sync::mpsc;
use std::time::Duration;

use spdy_core::driver::{DriverConfig, connect};
use spdy_core::session::{CloseReason, Role, SessionConfig};

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
