//! The per-stream send timeout, frame by frame with a virtual clock: a
//! stream whose queued data the peer's windows hold up is reset with
//! CANCEL after `stream_send_timeout`; credit restarts the clock; a stream
//! with nothing waiting is never reset.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use bytes::Bytes;
use spdy_core::frame::*;
use spdy_core::session::*;

mod support;

use support::*;

const TIMEOUT: Duration = Duration::from_secs(60);

fn config() -> SessionConfig {
    SessionConfig {
        stream_send_timeout: Some(TIMEOUT),
        stream_receive_timeout: None,
        idle_timeout: None,
        ..SessionConfig::default()
    }
}

/// The streams reset with CANCEL among `frames`.
fn cancelled(frames: &[Frame]) -> Vec<u32> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::RstStream(r) if r.status == RstStatus::Cancel => Some(r.stream_id.get()),
            _ => None,
        })
        .collect()
}

/// The streams the session reset for the send timeout, by the events.
fn timed_out(events: &[Event]) -> Vec<u32> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Reset {
                stream_id,
                status: RstStatus::Cancel,
                origin: ResetOrigin::SendTimeout,
            } => Some(stream_id.get()),
            _ => None,
        })
        .collect()
}

fn data_bytes(frames: &[Frame]) -> usize {
    frames
        .iter()
        .map(|f| match f {
            Frame::Data(d) => d.payload.len(),
            _ => 0,
        })
        .sum()
}

/// A GET on `stream` answered with `len` bytes queued behind the reply.
fn respond(h: &mut Harness, stream: u32, len: usize) {
    h.send(&[syn(stream, true)]);
    h.session.reply(id(stream), resp(), false).unwrap();
    h.session
        .send_data(id(stream), Bytes::from(vec![7u8; len]), true)
        .unwrap();
}

#[test]
fn data_held_by_a_used_up_stream_window_is_cancelled_after_the_timeout() {
    let mut h = Harness::new(Role::Server, config());
    let start = h.now;
    respond(&mut h, 1, 100_000);
    assert_eq!(data_bytes(&h.sent()), 65_536, "the initial stream window");
    h.events();
    h.run_until(start, TIMEOUT - secs(1));
    assert!(cancelled(&h.sent()).is_empty(), "reset before the timeout");
    h.run_until(start, TIMEOUT + secs(1));
    assert_eq!(cancelled(&h.sent()), vec![1]);
    assert_eq!(timed_out(&h.events()), vec![1]);
    assert!(!h.session.is_open(id(1)));
    // Nothing more is sent for it, and the session goes on.
    h.run_until(start, TIMEOUT * 3);
    assert!(h.sent().is_empty());
    assert!(!h.session.is_closed());
}

#[test]
fn credit_restarts_the_clock() {
    let mut h = Harness::new(Role::Server, config());
    let start = h.now;
    // The session window is no limit; the stream's 64 KiB is.
    h.send(&[wu(0, 1 << 24)]);
    respond(&mut h, 1, 100_000);
    h.sent();
    h.run_until(start, secs(30));
    h.send(&[wu(1, 1024)]);
    assert_eq!(data_bytes(&h.sent()), 1024);
    h.run_until(start, secs(30) + TIMEOUT - secs(1));
    assert!(
        cancelled(&h.sent()).is_empty(),
        "the credit restarted the clock"
    );
    h.run_until(start, secs(30) + TIMEOUT + secs(1));
    assert_eq!(cancelled(&h.sent()), vec![1]);
}

#[test]
fn a_session_window_never_reopened_holds_every_stream_and_times_them_out() {
    let mut h = Harness::new(Role::Server, config());
    let start = h.now;
    // Stream windows are no limit; the session's 64 KiB is.
    h.send(&[Frame::Settings(Settings::new([(
        SettingId::InitialWindowSize,
        1 << 24,
    )]))]);
    respond(&mut h, 1, 100_000);
    respond(&mut h, 3, 100_000);
    assert_eq!(data_bytes(&h.sent()), 65_536, "the initial session window");
    // Stream credit does not help while the session window is shut.
    h.run_until(start, secs(20));
    h.send(&[wu(1, 4096), wu(3, 4096)]);
    assert_eq!(data_bytes(&h.sent()), 0);
    h.run_until(start, TIMEOUT + secs(1));
    assert_eq!(cancelled(&h.sent()), vec![1, 3]);
}

#[test]
fn a_stream_with_nothing_waiting_is_never_reset() {
    let mut h = Harness::new(Role::Server, config());
    let start = h.now;
    // Exactly the window, without FIN: the stream is open, its window used
    // up, and nothing waits.
    h.send(&[syn(1, true)]);
    h.session.reply(id(1), resp(), false).unwrap();
    h.session
        .send_data(id(1), Bytes::from(vec![7u8; 65_536]), false)
        .unwrap();
    assert_eq!(data_bytes(&h.sent()), 65_536);
    assert_eq!(
        h.session.poll_timeout(),
        None,
        "no timer while nothing waits"
    );
    h.run_until(start, TIMEOUT * 3);
    assert!(cancelled(&h.sent()).is_empty());
    assert!(h.session.is_open(id(1)));
}

#[test]
fn without_flow_control_or_with_none_it_never_fires() {
    for config in [
        SessionConfig {
            stream_send_timeout: None,
            ..config()
        },
        SessionConfig {
            flow_control: FlowControl::Disabled,
            ..config()
        },
    ] {
        let mut h = Harness::new(Role::Server, config);
        let start = h.now;
        respond(&mut h, 1, 100_000);
        h.sent();
        h.run_until(start, TIMEOUT * 3);
        assert!(cancelled(&h.sent()).is_empty());
    }
    assert_eq!(
        SessionConfig::default().stream_send_timeout,
        Some(DEFAULT_STREAM_SEND_TIMEOUT)
    );
}

#[test]
fn a_stream_the_peer_keeps_sending_on_is_not_stalled() {
    // A client whose upload the server does not read (no credit past the
    // first 64 KiB) while the response streams in: the upload waits, the
    // stream is alive. Once the response stops, the clock runs.
    let mut h = Harness::new(Role::Client, config());
    let start = h.now;
    let stream = h
        .session
        .open_stream(OpenStream::new(req("/upload")))
        .unwrap();
    h.session
        .send_data(stream, Bytes::from(vec![1u8; 100_000]), true)
        .unwrap();
    assert_eq!(data_bytes(&h.sent()), 65_536);
    h.send(&[Frame::SynReply(SynReply::new(stream, resp()))]);
    for n in 1..=4u64 {
        h.run_until(start, secs(30 * n));
        h.send(&[Frame::Data(Data::new(stream, Bytes::from_static(b"more")))]);
        assert!(cancelled(&h.sent()).is_empty(), "reset at {} s", 30 * n);
    }
    h.run_until(start, secs(120) + TIMEOUT - secs(1));
    assert!(cancelled(&h.sent()).is_empty());
    h.run_until(start, secs(120) + TIMEOUT + secs(1));
    assert_eq!(cancelled(&h.sent()), vec![stream.get()]);
}
