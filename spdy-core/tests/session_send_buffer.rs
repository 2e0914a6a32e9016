//! The session-wide cap on queued send bytes, frame by frame: streams
//! together hold at most `max_session_send_buffer` unsent bytes, writers
//! waiting for room are woken when half of it is free, and what the
//! session reports stays exact.

#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use spdy_core::frame::*;
use spdy_core::session::*;

mod support;

use support::*;

const STREAM_BUFFER: u32 = 512 * 1024;
const SESSION_BUFFER: usize = 1024 * 1024;

/// A server whose peer grants no stream credit: nothing it queues leaves.
fn stalled_server() -> Harness {
    let mut h = Harness::new(
        Role::Server,
        SessionConfig {
            max_send_buffer: STREAM_BUFFER,
            max_session_send_buffer: SESSION_BUFFER,
            ..SessionConfig::default()
        },
    );
    h.send(&[Frame::Settings(Settings::new([(
        SettingId::InitialWindowSize,
        0,
    )]))]);
    h
}

fn open(h: &mut Harness, stream: u32) {
    h.send(&[syn(stream, true)]);
    h.session.reply(id(stream), resp(), false).unwrap();
}

fn fill(h: &mut Harness, stream: u32, len: usize) {
    h.session
        .send_data(id(stream), Bytes::from(vec![1u8; len]), false)
        .unwrap();
}

fn writable(events: &[Event]) -> Vec<u32> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Writable { stream_id } => Some(stream_id.get()),
            _ => None,
        })
        .collect()
}

#[test]
fn streams_together_hold_at_most_the_session_buffer() {
    let mut h = stalled_server();
    for stream in [1, 3, 5] {
        open(&mut h, stream);
    }
    h.sent();
    assert_eq!(h.session.send_capacity(id(1)), STREAM_BUFFER as usize);
    fill(&mut h, 1, STREAM_BUFFER as usize);
    assert_eq!(
        h.session.send_capacity(id(3)),
        SESSION_BUFFER - STREAM_BUFFER as usize
    );
    fill(&mut h, 3, STREAM_BUFFER as usize);
    // Stream 5 has its own buffer free, the session has none.
    assert_eq!(h.session.send_capacity(id(5)), 0);
    assert_eq!(
        h.session.send_data(id(5), Bytes::from_static(b"x"), false),
        Err(SendError::BufferFull(id(5)))
    );
    assert_eq!(h.session.stats().queued_send_bytes, SESSION_BUFFER);
    h.session.notify_when_writable(id(5));
    assert!(writable(&h.events()).is_empty(), "no room yet");
    // The peer cancels stream 1: half the session buffer is free again.
    h.send(&[rst(1, RstStatus::Cancel)]);
    assert_eq!(writable(&h.events()), vec![5]);
    assert_eq!(h.session.stats().queued_send_bytes, STREAM_BUFFER as usize);
    assert_eq!(h.session.send_capacity(id(5)), STREAM_BUFFER as usize);
    fill(&mut h, 5, 1000);
}

#[test]
fn writers_wake_when_sending_frees_half_the_session_buffer() {
    let mut h = stalled_server();
    for stream in [1, 3, 5] {
        open(&mut h, stream);
    }
    h.sent();
    fill(&mut h, 1, STREAM_BUFFER as usize);
    fill(&mut h, 3, STREAM_BUFFER as usize);
    h.session.notify_when_writable(id(5));
    h.events();
    // Credit for stream 1 (and the session): a little goes out, not yet
    // enough to wake anyone.
    h.send(&[wu(0, 1 << 24), wu(1, 64 * 1024)]);
    h.sent();
    assert!(writable(&h.events()).is_empty());
    // The rest of stream 1 goes out: half the session buffer is free.
    h.send(&[wu(1, STREAM_BUFFER)]);
    h.sent();
    assert!(writable(&h.events()).contains(&5));
    assert_eq!(h.session.stats().queued_send_bytes, STREAM_BUFFER as usize);
}

#[test]
fn the_default_cap_is_sixteen_stream_buffers() {
    let config = SessionConfig::default();
    assert_eq!(config.max_session_send_buffer, DEFAULT_SESSION_SEND_BUFFER);
    assert_eq!(
        config.max_session_send_buffer,
        16 * config.max_send_buffer as usize
    );
}
