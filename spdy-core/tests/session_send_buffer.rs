//! The session-wide cap on queued send bytes, frame by frame: streams
//! together hold at most `max_session_send_buffer` unsent bytes plus one
//! frame's worth each, writers waiting for room are woken when half of it
//! is free (or their own frame has left), and what the session reports
//! stays exact.

#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use spdy_core::frame::*;
use spdy_core::session::*;

mod support;

use support::*;

const STREAM_BUFFER: u32 = 512 * 1024;
const SESSION_BUFFER: usize = 1024 * 1024;
/// `max_send_frame`: what every stream may queue whatever the session holds.
const FRAME: usize = 16 * 1024;

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

/// Streams 1, 3 and 5 fill the session buffer; stream 5 waits for room.
fn full_session() -> Harness {
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
    fill(&mut h, 3, STREAM_BUFFER as usize - FRAME);
    assert_eq!(h.session.send_capacity(id(5)), FRAME);
    fill(&mut h, 5, FRAME);
    // The session buffer is full.
    assert_eq!(h.session.stats().queued_send_bytes, SESSION_BUFFER);
    assert_eq!(h.session.send_capacity(id(5)), 0);
    assert_eq!(
        h.session.send_data(id(5), Bytes::from_static(b"x"), false),
        Err(SendError::BufferFull(id(5)))
    );
    // A stream with nothing queued may still queue one frame's worth, so
    // streams the peer holds back cannot starve it.
    open(&mut h, 7);
    assert_eq!(h.session.send_capacity(id(7)), FRAME);
    h.session.notify_when_writable(id(5));
    assert!(writable(&h.events()).is_empty(), "no room yet");
    h
}

#[test]
fn a_reset_that_frees_half_the_session_buffer_wakes_the_writers() {
    let mut h = full_session();
    h.send(&[rst(1, RstStatus::Cancel)]);
    assert_eq!(writable(&h.events()), vec![5]);
    assert_eq!(h.session.stats().queued_send_bytes, SESSION_BUFFER / 2);
    assert_eq!(
        h.session.send_capacity(id(5)),
        STREAM_BUFFER as usize - FRAME
    );
}

#[test]
fn sending_that_frees_half_the_session_buffer_wakes_the_writers() {
    let mut h = full_session();
    // Credit for stream 1 (and the session): a little goes out, not yet
    // enough to wake anyone.
    h.send(&[wu(0, 1 << 24), wu(1, 64 * 1024)]);
    h.sent();
    assert!(writable(&h.events()).is_empty());
    // The rest of stream 1 goes out: half the session buffer is free.
    h.send(&[wu(1, STREAM_BUFFER)]);
    h.sent();
    assert_eq!(writable(&h.events()), vec![5]);
    assert_eq!(h.session.stats().queued_send_bytes, SESSION_BUFFER / 2);
}

#[test]
fn a_writer_waiting_for_session_room_goes_on_when_its_own_frame_leaves() {
    let mut h = full_session();
    // Only stream 5 gets credit: its frame leaves, the session stays full
    // of the others' data, and stream 5 may queue its next frame.
    h.send(&[wu(0, 1 << 24), wu(5, FRAME as u32)]);
    h.sent();
    assert_eq!(writable(&h.events()), vec![5]);
    assert_eq!(h.session.send_capacity(id(5)), FRAME);
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
