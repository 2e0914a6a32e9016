//! Running a driver test on a paused clock, shared by the driver test
//! binaries that need one.

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::mpsc;
use std::time::Duration;

/// Runs `test` on a current-thread runtime with a paused clock, failing
/// (instead of hanging) if it takes more than 30 s of real time: a task
/// that spins never lets the paused clock reach a timeout.
pub fn in_virtual_time(test: impl std::future::Future<Output = ()> + Send + 'static) {
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(test);
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(Duration::from_secs(30)) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the test failed (see above)"),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the test spun for 30 s of real time"),
    }
}
