//! The scripted peer and virtual clock shared by the frame-by-frame
//! session tests.

#![allow(dead_code, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use spdy_core::frame::*;
use spdy_core::header::HeaderBlock;
use spdy_core::session::*;

/// The scripted end: its own compression contexts, like a real peer.
pub struct Peer {
    pub encoder: FrameEncoder,
    pub decoder: FrameDecoder,
}

/// A session under test with its scripted peer and a virtual clock.
pub struct Harness {
    pub session: Session,
    pub peer: Peer,
    pub now: Instant,
}

impl Harness {
    pub fn new(role: Role, config: SessionConfig) -> Self {
        let now = Instant::now();
        let mut h = Harness {
            session: Session::new(role, config, now),
            peer: Peer {
                encoder: FrameEncoder::new(),
                decoder: FrameDecoder::new(),
            },
            now,
        };
        // Consume our SETTINGS / WINDOW_UPDATE preamble.
        let preamble = h.sent();
        assert!(
            matches!(preamble.first(), Some(Frame::Settings(_))),
            "{preamble:?}"
        );
        h
    }

    pub fn server() -> Self {
        Harness::new(Role::Server, SessionConfig::default())
    }

    pub fn client() -> Self {
        Harness::new(Role::Client, SessionConfig::default())
    }

    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.session.handle_timeout(self.now);
    }

    /// The peer sends frames.
    pub fn send(&mut self, frames: &[Frame]) {
        let mut wire = BytesMut::new();
        for frame in frames {
            self.peer.encoder.encode(frame, &mut wire).unwrap();
        }
        self.session.receive(&mut wire, self.now);
    }

    /// The peer sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let mut wire = BytesMut::from(bytes);
        self.session.receive(&mut wire, self.now);
    }

    /// Everything the session sends now, decoded by the peer.
    pub fn sent(&mut self) -> Vec<Frame> {
        let mut wire = BytesMut::new();
        while let Some(t) = self.session.poll_transmit(self.now) {
            t.write_to(&mut wire);
        }
        let mut frames = Vec::new();
        while let Some(f) = self.peer.decoder.decode(&mut wire).unwrap() {
            frames.push(f);
        }
        assert!(wire.is_empty());
        frames
    }

    pub fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.session.poll_event()).collect()
    }

    /// Moves the clock to `at` after `start`, firing every due timer on
    /// the way, as a driver does.
    pub fn run_until(&mut self, start: Instant, at: Duration) {
        let target = start + at;
        while let Some(deadline) = self.session.poll_timeout() {
            if deadline > target {
                break;
            }
            self.now = self.now.max(deadline);
            self.session.handle_timeout(self.now);
        }
        self.now = self.now.max(target);
        self.session.handle_timeout(self.now);
    }
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn req(path: &str) -> HeaderBlock {
    let mut b = HeaderBlock::new();
    b.push(":method", "GET");
    b.push(":path", path.to_owned());
    b.push(":version", "HTTP/1.1");
    b.push(":host", "localhost");
    b.push(":scheme", "http");
    b
}

pub fn resp() -> HeaderBlock {
    let mut b = HeaderBlock::new();
    b.push(":status", "200");
    b.push(":version", "HTTP/1.1");
    b
}

pub fn id(n: u32) -> StreamId {
    StreamId::new(n)
}

pub fn syn(n: u32, fin: bool) -> Frame {
    Frame::SynStream(SynStream {
        fin,
        ..SynStream::new(id(n), req("/"))
    })
}

pub fn data(n: u32, bytes: &[u8], fin: bool) -> Frame {
    Frame::Data(Data::new(id(n), Bytes::copy_from_slice(bytes)).with_fin(fin))
}

pub fn rst(n: u32, status: RstStatus) -> Frame {
    Frame::RstStream(RstStream::new(id(n), status))
}

pub fn wu(n: u32, delta: u32) -> Frame {
    Frame::WindowUpdate(WindowUpdate {
        stream_id: id(n),
        delta,
    })
}

pub fn goaway_status(frames: &[Frame]) -> Option<GoAwayStatus> {
    frames.iter().find_map(|f| match f {
        Frame::GoAway(g) => Some(g.status),
        _ => None,
    })
}

pub fn closed_reason(events: &[Event]) -> Option<&CloseReason> {
    events.iter().find_map(|e| match e {
        Event::Closed(r) => Some(r),
        _ => None,
    })
}
