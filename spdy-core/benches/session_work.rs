//! What each kind of work-without-data costs a server session: the figures
//! behind the default flood limits (`FloodLimits`). Each benchmark feeds a
//! fresh server session a burst of one kind of frame, just under its limit,
//! and reports the time per frame; limit x cost is the CPU a peer can take
//! per 10 s window before the session ends.
//!
//! Run with `cargo bench -p spdy-core --bench session_work`.

#![allow(clippy::unwrap_used)]

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use spdy_core::frame::{
    Data, Frame, FrameEncoder, Ping, RstStatus, RstStream, SettingId, Settings, StreamId,
    SynStream, WindowUpdate,
};
use spdy_core::header::HeaderBlock;
use spdy_core::session::{Role, Session, SessionConfig};

fn main() {
    divan::main();
}

/// Frames per burst: under every default limit.
const BURST: usize = 500;

fn request() -> HeaderBlock {
    [
        (":method", "GET"),
        (":path", "/"),
        (":version", "HTTP/1.1"),
        (":host", "example.org"),
        (":scheme", "https"),
    ]
    .into_iter()
    .collect()
}

fn encode(frames: &[Frame]) -> Bytes {
    let mut encoder = FrameEncoder::new();
    let mut wire = BytesMut::new();
    for frame in frames {
        encoder.encode(frame, &mut wire).unwrap();
    }
    wire.freeze()
}

/// Feeds `wire` to a fresh server session and drains what it answers.
fn feed(bencher: Bencher<'_, '_>, wire: Bytes) {
    bencher
        .counter(ItemsCount::new(BURST))
        .with_inputs(|| {
            let now = Instant::now();
            let mut session = Session::new(Role::Server, SessionConfig::default(), now);
            while session.poll_transmit(now).is_some() {}
            (session, BytesMut::from(&wire[..]))
        })
        .bench_local_values(|(mut session, mut buf)| {
            let now = Instant::now();
            session.receive(&mut buf, now);
            while let Some(event) = session.poll_event() {
                black_box(event);
            }
            while let Some(t) = session.poll_transmit(now) {
                black_box(t);
            }
            assert!(!session.is_closed());
            session
        });
}

/// PINGs to echo (limit 1,000 per 10 s).
#[divan::bench]
fn ping(bencher: Bencher<'_, '_>) {
    let frames: Vec<Frame> = (0..BURST as u32)
        .map(|i| Frame::Ping(Ping { id: 2 * i + 1 }))
        .collect();
    feed(bencher, encode(&frames));
}

/// SETTINGS frames of 8 entries (limit 100 per 10 s; the burst is 50).
#[divan::bench]
fn settings_8_entries(bencher: Bencher<'_, '_>) {
    let frame = Frame::Settings(Settings::new((0..8).map(|i| {
        (
            if i % 2 == 0 {
                SettingId::InitialWindowSize
            } else {
                SettingId::MaxConcurrentStreams
            },
            65_536 + i,
        )
    })));
    let frames: Vec<Frame> = std::iter::repeat_n(frame, 50).collect();
    bencher_for_settings(bencher, encode(&frames));
}

fn bencher_for_settings(bencher: Bencher<'_, '_>, wire: Bytes) {
    bencher
        .counter(ItemsCount::new(50usize))
        .with_inputs(|| {
            let now = Instant::now();
            let session = Session::new(Role::Server, SessionConfig::default(), now);
            (session, BytesMut::from(&wire[..]))
        })
        .bench_local_values(|(mut session, mut buf)| {
            session.receive(&mut buf, Instant::now());
            while let Some(event) = session.poll_event() {
                black_box(event);
            }
            assert!(!session.is_closed());
            session
        });
}

/// A SETTINGS frame as large as the control-frame limit allows (9,215
/// entries, all duplicates): the worst single SETTINGS frame.
#[divan::bench]
fn settings_largest_frame(bencher: Bencher<'_, '_>) {
    let entries = (SessionConfig::default().max_control_frame_len as usize - 4) / 8;
    let frame = Frame::Settings(Settings::new(
        (0..entries).map(|_| (SettingId::RoundTripTime, 1)),
    ));
    let wire = encode(&[frame]);
    bencher
        .with_inputs(|| {
            let session = Session::new(Role::Server, SessionConfig::default(), Instant::now());
            (session, BytesMut::from(&wire[..]))
        })
        .bench_local_values(|(mut session, mut buf)| {
            session.receive(&mut buf, Instant::now());
            assert!(!session.is_closed());
            session
        });
}

/// SYN_STREAM then RST_STREAM: the rapid-reset attack (limit 1,000 resets
/// per 10 s). Per stream, header block inflation included.
#[divan::bench]
fn open_and_reset(bencher: Bencher<'_, '_>) {
    let mut frames = Vec::new();
    for i in 0..BURST as u32 {
        frames.push(Frame::SynStream(SynStream::new(
            StreamId::new(2 * i + 1),
            request(),
        )));
        frames.push(Frame::RstStream(RstStream::new(
            StreamId::new(2 * i + 1),
            RstStatus::Cancel,
        )));
    }
    feed(bencher, encode(&frames));
}

/// Empty DATA frames on an open stream (limit 1,000 per 10 s).
#[divan::bench]
fn empty_data(bencher: Bencher<'_, '_>) {
    let mut frames = vec![Frame::SynStream(SynStream::new(
        StreamId::new(1),
        request(),
    ))];
    frames.extend((0..BURST - 1).map(|_| Frame::Data(Data::new(StreamId::new(1), Bytes::new()))));
    feed(bencher, encode(&frames));
}

/// One-byte WINDOW_UPDATEs for the session (limit 10,000 per 10 s).
#[divan::bench]
fn small_window_update(bencher: Bencher<'_, '_>) {
    let frames: Vec<Frame> = (0..BURST)
        .map(|_| {
            Frame::WindowUpdate(WindowUpdate {
                stream_id: StreamId::ZERO,
                delta: 1,
            })
        })
        .collect();
    feed(bencher, encode(&frames));
}
