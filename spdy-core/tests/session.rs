//! Deterministic state-machine tests: a scripted peer speaks frames to a
//! `Session`, frame by frame, with no sockets and a virtual clock.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use spdy_core::frame::*;
use spdy_core::header::HeaderBlock;
use spdy_core::session::*;

/// The scripted end: its own compression contexts, like a real peer.
struct Peer {
    encoder: FrameEncoder,
    decoder: FrameDecoder,
}

/// A session under test with its scripted peer and a virtual clock.
struct Harness {
    session: Session,
    peer: Peer,
    now: Instant,
}

impl Harness {
    fn new(role: Role, config: SessionConfig) -> Self {
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

    fn server() -> Self {
        Harness::new(Role::Server, SessionConfig::default())
    }

    fn client() -> Self {
        Harness::new(Role::Client, SessionConfig::default())
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.session.handle_timeout(self.now);
    }

    /// The peer sends frames.
    fn send(&mut self, frames: &[Frame]) {
        let mut wire = BytesMut::new();
        for frame in frames {
            self.peer.encoder.encode(frame, &mut wire).unwrap();
        }
        self.session.receive(&mut wire, self.now);
    }

    /// The peer sends raw bytes.
    fn send_raw(&mut self, bytes: &[u8]) {
        let mut wire = BytesMut::from(bytes);
        self.session.receive(&mut wire, self.now);
    }

    /// Everything the session sends now, decoded by the peer.
    fn sent(&mut self) -> Vec<Frame> {
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

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.session.poll_event()).collect()
    }
}

fn req(path: &str) -> HeaderBlock {
    let mut b = HeaderBlock::new();
    b.push(":method", "GET");
    b.push(":path", path.to_owned());
    b.push(":version", "HTTP/1.1");
    b.push(":host", "localhost");
    b.push(":scheme", "http");
    b
}

fn resp() -> HeaderBlock {
    let mut b = HeaderBlock::new();
    b.push(":status", "200");
    b.push(":version", "HTTP/1.1");
    b
}

fn id(n: u32) -> StreamId {
    StreamId::new(n)
}

fn syn(n: u32, fin: bool) -> Frame {
    Frame::SynStream(SynStream {
        fin,
        ..SynStream::new(id(n), req("/"))
    })
}

fn data(n: u32, bytes: &[u8], fin: bool) -> Frame {
    Frame::Data(Data::new(id(n), Bytes::copy_from_slice(bytes)).with_fin(fin))
}

fn rst(n: u32, status: RstStatus) -> Frame {
    Frame::RstStream(RstStream::new(id(n), status))
}

fn wu(n: u32, delta: u32) -> Frame {
    Frame::WindowUpdate(WindowUpdate {
        stream_id: id(n),
        delta,
    })
}

fn goaway_status(frames: &[Frame]) -> Option<GoAwayStatus> {
    frames.iter().find_map(|f| match f {
        Frame::GoAway(g) => Some(g.status),
        _ => None,
    })
}

fn closed_reason(events: &[Event]) -> Option<&CloseReason> {
    events.iter().find_map(|e| match e {
        Event::Closed(r) => Some(r),
        _ => None,
    })
}

// ----- start of session -----

#[test]
fn settings_and_session_window_are_the_first_frames() {
    let mut session = Session::new(Role::Server, SessionConfig::default(), Instant::now());
    let mut wire = BytesMut::new();
    while let Some(t) = session.poll_transmit(Instant::now()) {
        t.write_to(&mut wire);
    }
    let mut decoder = FrameDecoder::new();
    let first = decoder.decode(&mut wire).unwrap().unwrap();
    let Frame::Settings(settings) = first else {
        panic!("first frame {first:?}")
    };
    assert_eq!(settings.get(SettingId::MaxConcurrentStreams), Some(100));
    assert_eq!(
        settings.get(SettingId::InitialWindowSize),
        Some(DEFAULT_STREAM_WINDOW)
    );
    assert_eq!(
        decoder.decode(&mut wire).unwrap(),
        Some(wu(0, DEFAULT_SESSION_WINDOW - 65_536))
    );
}

// ----- stream lifecycle -----

#[test]
fn request_without_body_then_reply_closes_the_stream() {
    let mut h = Harness::server();
    h.send(&[syn(1, true)]);
    let events = h.events();
    assert!(matches!(
        &events[..],
        [Event::StreamOpened { stream_id, fin: true, .. }] if *stream_id == id(1)
    ));
    h.session.reply(id(1), resp(), false).unwrap();
    h.session
        .send_data(id(1), Bytes::from_static(b"hello"), true)
        .unwrap();
    let sent = h.sent();
    assert!(matches!(&sent[0], Frame::SynReply(r) if r.stream_id == id(1) && !r.fin));
    assert_eq!(sent[1], data(1, b"hello", true));
    assert_eq!(h.events(), vec![Event::StreamClosed { stream_id: id(1) }]);
    assert_eq!(h.session.open_streams(), 0);
}

#[test]
fn request_body_is_delivered_in_order() {
    let mut h = Harness::server();
    h.send(&[syn(1, false), data(1, b"ab", false), data(1, b"cd", true)]);
    let events = h.events();
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[1],
        Event::Data {
            stream_id: id(1),
            data: Bytes::from_static(b"ab"),
            fin: false
        }
    );
    assert_eq!(
        events[2],
        Event::Data {
            stream_id: id(1),
            data: Bytes::from_static(b"cd"),
            fin: true
        }
    );
}

#[test]
fn same_stream_id_twice_is_a_stream_error() {
    let mut h = Harness::server();
    h.send(&[syn(1, false), syn(1, false)]);
    assert_eq!(h.sent(), vec![rst(1, RstStatus::ProtocolError)]);
    let events = h.events();
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Reset { stream_id, status: RstStatus::ProtocolError, origin: ResetOrigin::Local } if *stream_id == id(1)
    )));
}

#[test]
fn stream_id_going_backwards_is_a_session_error() {
    let mut h = Harness::server();
    h.send(&[syn(5, true), syn(3, true)]);
    let sent = h.sent();
    assert_eq!(
        sent.last(),
        Some(&Frame::GoAway(GoAway {
            last_good_stream_id: id(5),
            status: GoAwayStatus::ProtocolError
        }))
    );
    assert!(matches!(
        closed_reason(&h.events()),
        Some(CloseReason::ProtocolError { .. })
    ));
    assert!(h.session.is_finished());
}

#[test]
fn even_stream_id_from_a_client_is_a_session_error() {
    let mut h = Harness::server();
    h.send(&[syn(2, true)]);
    assert_eq!(goaway_status(&h.sent()), Some(GoAwayStatus::ProtocolError));
}

#[test]
fn client_stream_with_unidirectional_or_associated_id_is_refused() {
    let mut h = Harness::server();
    let mut uni = SynStream::new(id(1), req("/"));
    uni.unidirectional = true;
    let mut assoc = SynStream::new(id(3), req("/"));
    assoc.associated_to = id(1);
    h.send(&[Frame::SynStream(uni), Frame::SynStream(assoc)]);
    assert_eq!(
        h.sent(),
        vec![
            rst(1, RstStatus::ProtocolError),
            rst(3, RstStatus::ProtocolError)
        ]
    );
}

#[test]
fn data_for_a_never_opened_stream_is_invalid_stream_once() {
    let mut h = Harness::server();
    h.send(&[data(7, b"x", false), data(7, b"y", false)]);
    assert_eq!(h.sent(), vec![rst(7, RstStatus::InvalidStream)]);
}

#[test]
fn data_after_the_peers_fin_is_stream_already_closed() {
    let mut h = Harness::server();
    h.send(&[syn(1, true), data(1, b"late", false)]);
    assert_eq!(h.sent(), vec![rst(1, RstStatus::StreamAlreadyClosed)]);
}

#[test]
fn headers_after_fin_is_stream_already_closed() {
    let mut h = Harness::server();
    h.send(&[
        syn(1, true),
        Frame::Headers(Headers::new(id(1), {
            let mut b = HeaderBlock::new();
            b.push("x-late", "1");
            b
        })),
    ]);
    assert_eq!(h.sent(), vec![rst(1, RstStatus::StreamAlreadyClosed)]);
}

#[test]
fn headers_mid_stream_are_delivered() {
    let mut h = Harness::server();
    let mut trailer = HeaderBlock::new();
    trailer.push("x-checksum", "abc");
    h.send(&[
        syn(1, false),
        Frame::Headers(Headers {
            stream_id: id(1),
            fin: true,
            headers: trailer.clone(),
        }),
    ]);
    let events = h.events();
    assert_eq!(
        events[1],
        Event::Headers {
            stream_id: id(1),
            headers: trailer,
            fin: true
        }
    );
}

#[test]
fn rst_stream_from_the_peer_ends_the_stream_and_is_never_answered() {
    let mut h = Harness::server();
    h.send(&[syn(1, false)]);
    h.events();
    h.session.reply(id(1), resp(), false).unwrap();
    h.session
        .send_data(id(1), Bytes::from(vec![1u8; 10_000]), false)
        .unwrap();
    h.send(&[rst(1, RstStatus::Cancel), rst(99, RstStatus::Cancel)]);
    assert_eq!(
        h.events(),
        vec![Event::Reset {
            stream_id: id(1),
            status: RstStatus::Cancel,
            origin: ResetOrigin::Peer
        }]
    );
    // Only the SYN_REPLY (queued before) goes out; no data, no RST answer.
    let sent = h.sent();
    assert!(
        sent.iter().all(|f| matches!(f, Frame::SynReply(_))),
        "{sent:?}"
    );
    assert!(matches!(
        h.session.send_data(id(1), Bytes::from_static(b"x"), false),
        Err(SendError::UnknownStream(_))
    ));
}

#[test]
fn frames_in_flight_for_a_stream_we_reset_are_ignored() {
    let mut h = Harness::server();
    h.send(&[syn(1, false)]);
    h.session.reset(id(1), RstStatus::Cancel, h.now);
    assert_eq!(h.sent(), vec![rst(1, RstStatus::Cancel)]);
    h.send(&[data(1, b"in flight", false), data(1, b"more", true)]);
    assert_eq!(h.sent(), vec![], "no answer to frames in flight");
    // Later, the id is forgotten and answered again.
    h.now += Duration::from_secs(11);
    h.send(&[data(1, b"much later", false)]);
    assert_eq!(h.sent(), vec![rst(1, RstStatus::InvalidStream)]);
}

#[test]
fn client_syn_reply_twice_is_stream_in_use() {
    let mut h = Harness::client();
    let sid = h
        .session
        .open_stream(OpenStream::new(req("/")).fin(true))
        .unwrap();
    h.sent();
    h.send(&[
        Frame::SynReply(SynReply::new(sid, resp())),
        Frame::SynReply(SynReply::new(sid, resp())),
    ]);
    assert_eq!(h.sent(), vec![rst(1, RstStatus::StreamInUse)]);
}

#[test]
fn client_syn_reply_for_a_stream_never_opened_is_invalid_stream() {
    let mut h = Harness::client();
    h.send(&[Frame::SynReply(SynReply::new(id(9), resp()))]);
    assert_eq!(h.sent(), vec![rst(9, RstStatus::InvalidStream)]);
}

#[test]
fn client_data_before_syn_reply_is_a_protocol_error() {
    let mut h = Harness::client();
    let sid = h
        .session
        .open_stream(OpenStream::new(req("/")).fin(true))
        .unwrap();
    h.sent();
    h.send(&[data(sid.get(), b"x", false)]);
    assert_eq!(h.sent(), vec![rst(1, RstStatus::ProtocolError)]);
}

#[test]
fn both_halves_closing_removes_the_stream() {
    let mut h = Harness::client();
    let sid = h.session.open_stream(OpenStream::new(req("/"))).unwrap();
    h.session
        .send_data(sid, Bytes::from_static(b"body"), true)
        .unwrap();
    h.sent();
    h.send(&[
        Frame::SynReply(SynReply::new(sid, resp())),
        data(1, b"ok", true),
    ]);
    let events = h.events();
    assert_eq!(events.last(), Some(&Event::StreamClosed { stream_id: sid }));
    assert_eq!(h.session.open_streams(), 0);
}

// ----- push and server-opened streams -----

#[test]
fn server_push_round_trip() {
    let mut server = Harness::server();
    server.send(&[syn(1, true)]);
    server.session.reply(id(1), resp(), false).unwrap();
    let mut push_headers = HeaderBlock::new();
    push_headers.push(":scheme", "https");
    push_headers.push(":host", "localhost");
    push_headers.push(":path", "/style.css");
    let pushed = server
        .session
        .open_stream(OpenStream::new(push_headers).pushed_for(id(1)))
        .unwrap();
    assert_eq!(pushed, id(2));
    server.session.send_headers(pushed, resp(), false).unwrap();
    server
        .session
        .send_data(pushed, Bytes::from_static(b"body{}"), true)
        .unwrap();
    let sent = server.sent();
    let Frame::SynStream(syn) = &sent[1] else {
        panic!("{sent:?}")
    };
    assert!(syn.unidirectional);
    assert_eq!(syn.associated_to, id(1));
    assert!(matches!(&sent[2], Frame::Headers(h) if h.stream_id == id(2)));
    assert_eq!(sent[3], data(2, b"body{}", true));

    // The client accepts it.
    let mut client = Harness::client();
    let sid = client
        .session
        .open_stream(OpenStream::new(req("/")).fin(true))
        .unwrap();
    client.sent();
    client.send(&sent[..]);
    let events = client.events();
    assert!(events.iter().any(|e| matches!(
        e,
        Event::StreamOpened { stream_id, associated_to, unidirectional: true, .. }
            if *stream_id == id(2) && *associated_to == sid
    )));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Data { stream_id, fin: true, .. } if *stream_id == id(2)))
    );
}

#[test]
fn client_refuses_push_when_configured() {
    let mut h = Harness::new(
        Role::Client,
        SessionConfig {
            accept_push: false,
            ..SessionConfig::default()
        },
    );
    h.session
        .open_stream(OpenStream::new(req("/")).fin(true))
        .unwrap();
    h.sent();
    let mut push = SynStream::new(id(2), req("/x"));
    push.associated_to = id(1);
    push.unidirectional = true;
    h.send(&[Frame::SynStream(push)]);
    assert_eq!(h.sent(), vec![rst(2, RstStatus::RefusedStream)]);
}

#[test]
fn push_for_a_closed_stream_is_invalid_stream() {
    let mut h = Harness::client();
    let mut push = SynStream::new(id(2), req("/x"));
    push.associated_to = id(1);
    push.unidirectional = true;
    h.send(&[Frame::SynStream(push)]);
    assert_eq!(h.sent(), vec![rst(2, RstStatus::InvalidStream)]);
}

#[test]
fn server_bidirectional_stream_needs_the_compat_option() {
    let mut strict = Harness::client();
    strict.send(&[Frame::SynStream(SynStream::new(id(2), HeaderBlock::new()))]);
    assert_eq!(strict.sent(), vec![rst(2, RstStatus::InvalidStream)]);

    let mut compat = Harness::new(Role::Client, SessionConfig::spdystream_compatible());
    compat.send(&[Frame::SynStream(SynStream::new(id(2), HeaderBlock::new()))]);
    assert!(matches!(
        &compat.events()[..],
        [Event::StreamOpened {
            unidirectional: false,
            ..
        }]
    ));
    compat
        .session
        .reply(id(2), HeaderBlock::new(), false)
        .unwrap();
    compat
        .session
        .send_data(id(2), Bytes::from_static(b"up"), true)
        .unwrap();
    let sent = compat.sent();
    assert!(matches!(&sent[0], Frame::SynReply(_)));
    assert_eq!(sent[1], data(2, b"up", true));
}

// ----- flow control -----

#[test]
fn without_window_updates_we_send_64k_then_wait() {
    let mut h = Harness::server();
    h.send(&[syn(1, true)]);
    h.session.reply(id(1), resp(), false).unwrap();
    let body = Bytes::from(vec![0u8; 200_000]);
    let mut offset = 0;
    let mut sent_bytes = 0;
    for _ in 0..100 {
        while offset < body.len() && h.session.send_capacity(id(1)) > 0 {
            let n = (body.len() - offset).min(h.session.send_capacity(id(1)));
            h.session
                .send_data(id(1), body.slice(offset..offset + n), false)
                .unwrap();
            offset += n;
        }
        let frames = h.sent();
        if frames.iter().all(|f| !matches!(f, Frame::Data(_))) {
            break;
        }
        sent_bytes += frames
            .iter()
            .map(|f| match f {
                Frame::Data(d) => d.payload.len(),
                _ => 0,
            })
            .sum::<usize>();
    }
    assert_eq!(sent_bytes, 65_536);
    // A stream-only update is still held by the session window (3.1).
    h.send(&[wu(1, 10_000)]);
    assert!(h.sent().iter().all(|f| !matches!(f, Frame::Data(_))));
    // A session update releases exactly what both windows allow.
    h.send(&[wu(0, 50_000)]);
    let more: usize = h
        .sent()
        .iter()
        .map(|f| match f {
            Frame::Data(d) => d.payload.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(more, 10_000);
}

#[test]
fn initial_window_change_moves_open_streams_even_negative() {
    let mut h = Harness::server();
    h.send(&[syn(1, true)]);
    h.session.reply(id(1), resp(), false).unwrap();
    h.session
        .send_data(id(1), Bytes::from(vec![0u8; 60_000]), false)
        .unwrap();
    h.sent();
    assert_eq!(h.session.stream_send_window(id(1)), Some(5_536));
    h.send(&[Frame::Settings(Settings::new([(
        SettingId::InitialWindowSize,
        16_384,
    )]))]);
    assert_eq!(h.session.stream_send_window(id(1)), Some(5_536 - 49_152));
    h.session
        .send_data(id(1), Bytes::from(vec![0u8; 1000]), false)
        .unwrap();
    assert!(h.sent().is_empty(), "negative window blocks sending");
    h.send(&[wu(1, 43_616), wu(0, 100_000)]);
    assert!(h.sent().is_empty(), "window exactly 0 still blocks");
    h.send(&[wu(1, 500)]);
    assert_eq!(h.sent(), vec![data(1, &[0u8; 500], false)]);
}

#[test]
fn window_update_overflow() {
    let mut h = Harness::server();
    h.send(&[syn(1, false), wu(1, MAX_WINDOW_DELTA)]);
    assert_eq!(h.sent(), vec![rst(1, RstStatus::FlowControlError)]);
    h.send(&[wu(0, MAX_WINDOW_DELTA)]);
    assert_eq!(goaway_status(&h.sent()), Some(GoAwayStatus::ProtocolError));
}

#[test]
fn window_update_for_a_closed_stream_is_ignored() {
    let mut h = Harness::server();
    h.send(&[wu(41, 100)]);
    assert!(h.sent().is_empty());
    assert!(h.events().is_empty());
}

#[test]
fn peer_data_beyond_the_stream_window_is_flow_control_error() {
    let mut h = Harness::new(
        Role::Server,
        SessionConfig {
            stream_window: 1000,
            ..SessionConfig::default()
        },
    );
    h.send(&[
        syn(1, false),
        data(1, &[0; 600], false),
        data(1, &[0; 600], false),
    ]);
    assert_eq!(h.sent(), vec![rst(1, RstStatus::FlowControlError)]);
}

#[test]
fn peer_data_beyond_the_session_window_is_a_session_error() {
    let mut h = Harness::new(
        Role::Server,
        SessionConfig {
            session_window: 65_536,
            ..SessionConfig::default()
        },
    );
    h.send(&[syn(1, false), syn(3, false)]);
    h.send(&[data(1, &[0; 40_000], false), data(3, &[0; 40_000], false)]);
    assert_eq!(goaway_status(&h.sent()), Some(GoAwayStatus::ProtocolError));
}

#[test]
fn receive_credit_follows_consumption() {
    let mut h = Harness::new(
        Role::Server,
        SessionConfig {
            stream_window: 10_000,
            session_window: 65_536,
            ..SessionConfig::default()
        },
    );
    h.send(&[syn(1, false), data(1, &[0; 4_000], false)]);
    h.session.release_capacity(id(1), 4_000);
    assert!(h.sent().is_empty(), "under half a window owed");
    h.send(&[data(1, &[0; 2_000], false)]);
    h.session.release_capacity(id(1), 2_000);
    assert_eq!(h.sent(), vec![wu(1, 6_000)]);
    // Releasing more than was received credits nothing more.
    h.session.release_capacity(id(1), 50_000);
    assert!(h.sent().iter().all(|f| *f != wu(1, 50_000)));
}

#[test]
fn no_flow_control_mode_ignores_windows_both_ways() {
    let mut h = Harness::new(
        Role::Server,
        SessionConfig {
            stream_window: 1000,
            session_window: 65_536,
            ..SessionConfig::spdystream_compatible()
        },
    );
    h.send(&[syn(1, false), data(1, &[1; 100_000], false)]);
    assert!(h.sent().is_empty(), "data beyond the window accepted");
    h.session.reply(id(1), resp(), false).unwrap();
    h.session
        .send_data(id(1), Bytes::from(vec![2u8; 60_000]), false)
        .unwrap();
    h.session
        .send_data(id(1), Bytes::from(vec![2u8; 60_000]), false)
        .unwrap();
    assert_eq!(
        h.session.send_data(id(1), Bytes::from(vec![2u8; 1]), false),
        Err(SendError::BufferFull(id(1))),
        "the send buffer is bounded even without flow control"
    );
    let sent: usize = h
        .sent()
        .iter()
        .map(|f| match f {
            Frame::Data(d) => d.payload.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(sent, 120_000, "no window holds the data back");
    assert!(h.events().contains(&Event::Writable { stream_id: id(1) }));
    for _ in 0..3 {
        h.session
            .send_data(id(1), Bytes::from(vec![2u8; 60_000]), false)
            .unwrap();
        h.sent();
    }
}

// ----- settings -----

#[test]
fn settings_are_recorded_with_persist_flags_and_cleared() {
    let mut h = Harness::client();
    let mut settings = Settings::new([(SettingId::RoundTripTime, 42), (SettingId::Unknown(77), 1)]);
    settings.entries[0].flags.persist_value = true;
    h.send(&[Frame::Settings(settings)]);
    assert_eq!(
        h.session.peer_settings().get(SettingId::RoundTripTime),
        Some(42)
    );
    assert_eq!(h.session.peer_settings().persisted.get(&3), Some(&42));
    assert_eq!(
        h.session.peer_settings().get(SettingId::Unknown(77)),
        Some(1)
    );
    h.send(&[Frame::Settings(Settings {
        clear_settings: true,
        entries: vec![],
    })]);
    assert!(h.session.peer_settings().persisted.is_empty());
}

#[test]
fn peer_max_concurrent_streams_limits_our_opens() {
    let mut h = Harness::client();
    h.send(&[Frame::Settings(Settings::new([(
        SettingId::MaxConcurrentStreams,
        1,
    )]))]);
    h.events();
    let first = h.session.open_stream(OpenStream::new(req("/a"))).unwrap();
    assert_eq!(
        h.session.open_stream(OpenStream::new(req("/b"))),
        Err(SendError::StreamLimit { limit: 1 })
    );
    h.send(&[rst(first.get(), RstStatus::Cancel)]);
    assert!(h.events().contains(&Event::CanOpenStream));
    h.session.open_stream(OpenStream::new(req("/b"))).unwrap();
}

#[test]
fn streams_over_our_limit_are_refused() {
    let mut h = Harness::new(
        Role::Server,
        SessionConfig {
            max_concurrent_streams: 2,
            ..SessionConfig::default()
        },
    );
    h.send(&[syn(1, false), syn(3, false), syn(5, false)]);
    assert_eq!(h.sent(), vec![rst(5, RstStatus::RefusedStream)]);
    assert_eq!(h.session.open_streams(), 2);
}

// ----- ping -----

#[test]
fn peer_ping_is_echoed_ahead_of_data() {
    let mut h = Harness::server();
    h.send(&[syn(1, true)]);
    h.session.reply(id(1), resp(), false).unwrap();
    h.session
        .send_data(id(1), Bytes::from(vec![0u8; 40_000]), true)
        .unwrap();
    h.send(&[Frame::Ping(Ping { id: 7 })]);
    let sent = h.sent();
    assert!(matches!(sent[0], Frame::SynReply(_)));
    assert_eq!(sent[1], Frame::Ping(Ping { id: 7 }));
    assert!(matches!(sent[2], Frame::Data(_)));
}

#[test]
fn our_ping_is_answered_with_its_rtt_and_unknown_echoes_are_ignored() {
    let mut h = Harness::client();
    let ping = h.session.ping(h.now).unwrap();
    assert_eq!(ping % 2, 1, "clients use odd ids");
    assert_eq!(h.sent(), vec![Frame::Ping(Ping { id: ping })]);
    h.now += Duration::from_millis(30);
    h.send(&[
        Frame::Ping(Ping { id: ping }),
        Frame::Ping(Ping { id: 1001 }),
    ]);
    assert_eq!(
        h.events(),
        vec![Event::PingAnswered {
            id: ping,
            rtt: Duration::from_millis(30)
        }]
    );
    assert!(h.sent().is_empty(), "a ping of our parity is never echoed");
}

#[test]
fn keepalive_pings_and_closes_when_unanswered() {
    let mut h = Harness::new(
        Role::Client,
        SessionConfig {
            keepalive_interval: Some(Duration::from_secs(30)),
            ping_timeout: Duration::from_secs(5),
            ..SessionConfig::default()
        },
    );
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(30))
    );
    h.advance(Duration::from_secs(30));
    assert!(matches!(&h.sent()[..], [Frame::Ping(_)]));
    h.advance(Duration::from_secs(5));
    assert_eq!(closed_reason(&h.events()), Some(&CloseReason::PingTimeout));
}

// ----- goaway -----

#[test]
fn peer_goaway_fails_our_streams_above_last_good_as_retryable() {
    let mut h = Harness::client();
    let a = h
        .session
        .open_stream(OpenStream::new(req("/a")).fin(true))
        .unwrap();
    let b = h
        .session
        .open_stream(OpenStream::new(req("/b")).fin(true))
        .unwrap();
    h.sent();
    h.send(&[Frame::GoAway(GoAway {
        last_good_stream_id: a,
        status: GoAwayStatus::Ok,
    })]);
    let events = h.events();
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Reset { stream_id, status, origin } if *stream_id == b && origin.is_retryable(*status)
    )));
    assert_eq!(
        h.session.open_stream(OpenStream::new(req("/c"))),
        Err(SendError::GoingAway)
    );
    // Stream a finishes, then the session closes gracefully.
    h.send(&[Frame::SynReply(SynReply {
        fin: true,
        ..SynReply::new(a, resp())
    })]);
    assert_eq!(closed_reason(&h.events()), Some(&CloseReason::Graceful));
}

#[test]
fn graceful_shutdown_finishes_open_streams_and_ignores_new_ones() {
    let mut h = Harness::server();
    h.send(&[syn(1, true)]);
    h.session.goaway(GoAwayStatus::Ok);
    assert_eq!(
        h.sent(),
        vec![Frame::GoAway(GoAway {
            last_good_stream_id: id(1),
            status: GoAwayStatus::Ok
        })]
    );
    h.send(&[syn(3, true)]);
    assert!(
        h.sent().is_empty(),
        "SYN_STREAM after our GOAWAY is ignored"
    );
    h.session.reply(id(1), resp(), true).unwrap();
    assert!(matches!(&h.sent()[..], [Frame::SynReply(_)]));
    assert_eq!(closed_reason(&h.events()), Some(&CloseReason::Graceful));
    assert!(h.session.is_finished());
}

#[test]
fn connection_loss_is_reported() {
    let mut h = Harness::client();
    h.session.open_stream(OpenStream::new(req("/"))).unwrap();
    h.session.connection_lost("eof");
    assert!(matches!(
        closed_reason(&h.events()),
        Some(CloseReason::ConnectionLost(_))
    ));
    assert!(matches!(
        h.session.send_data(id(1), Bytes::new(), true),
        Err(SendError::SessionClosed(_))
    ));
}

// ----- priorities -----

#[test]
fn higher_priority_data_goes_first_and_equal_priorities_take_turns() {
    let mut h = Harness::server();
    for (n, priority) in [(1, 7), (3, 0), (5, 0)] {
        let mut f = SynStream::new(id(n), req("/"));
        f.fin = true;
        f.priority = Priority::new(priority);
        h.send(&[Frame::SynStream(f)]);
    }
    h.send(&[wu(0, 1_000_000)]);
    for n in [1, 3, 5] {
        h.session.reply(id(n), resp(), false).unwrap();
        h.session
            .send_data(id(n), Bytes::from(vec![0u8; 40_000]), true)
            .unwrap();
    }
    let order: Vec<u32> = h
        .sent()
        .iter()
        .filter_map(|f| match f {
            Frame::Data(d) => Some(d.stream_id.get()),
            _ => None,
        })
        .collect();
    let first_low = order.iter().position(|&s| s == 1).unwrap();
    assert!(
        order[..first_low].iter().all(|&s| s == 3 || s == 5),
        "{order:?}"
    );
    assert_eq!(&order[..4], &[3, 5, 3, 5], "round-robin inside a level");
}

// ----- limits -----

#[test]
fn ping_flood_ends_the_session() {
    let mut h = Harness::server();
    let pings: Vec<Frame> = (0..1_001)
        .map(|i| Frame::Ping(Ping { id: 2 * i + 1 }))
        .collect();
    h.send(&pings);
    assert!(matches!(
        closed_reason(&h.events()),
        Some(CloseReason::Flood { .. }) | Some(CloseReason::PeerNotReading)
    ));
}

#[test]
fn rapid_reset_ends_the_session() {
    let mut h = Harness::server();
    let mut frames = Vec::new();
    for i in 0..1_001u32 {
        frames.push(syn(2 * i + 1, false));
        frames.push(rst(2 * i + 1, RstStatus::Cancel));
    }
    h.send(&frames);
    assert!(matches!(
        closed_reason(&h.events()),
        Some(CloseReason::Flood {
            limit: "stream resets"
        })
    ));
    assert_eq!(goaway_status(&h.sent()), Some(GoAwayStatus::ProtocolError));
}

#[test]
fn empty_data_flood_ends_the_session() {
    let mut h = Harness::server();
    h.send(&[syn(1, false)]);
    let frames: Vec<Frame> = (0..1_001).map(|_| data(1, b"", false)).collect();
    h.send(&frames);
    assert!(matches!(
        closed_reason(&h.events()),
        Some(CloseReason::Flood { .. })
    ));
}

#[test]
fn settings_flood_ends_the_session() {
    let mut h = Harness::server();
    let frames: Vec<Frame> = (0..101)
        .map(|_| Frame::Settings(Settings::default()))
        .collect();
    h.send(&frames);
    assert!(matches!(
        closed_reason(&h.events()),
        Some(CloseReason::Flood { .. })
    ));
}

#[test]
fn control_queue_is_bounded_when_the_peer_never_reads() {
    let mut h = Harness::new(
        Role::Server,
        SessionConfig {
            max_queued_control_frames: 10,
            ..SessionConfig::default()
        },
    );
    let pings: Vec<Frame> = (0..20)
        .map(|i| Frame::Ping(Ping { id: 2 * i + 1 }))
        .collect();
    h.send(&pings);
    assert_eq!(
        closed_reason(&h.events()),
        Some(&CloseReason::PeerNotReading)
    );
}

#[test]
fn idle_session_times_out() {
    let mut h = Harness::new(
        Role::Server,
        SessionConfig {
            idle_timeout: Some(Duration::from_secs(60)),
            ..SessionConfig::default()
        },
    );
    h.advance(Duration::from_secs(59));
    assert!(!h.session.is_closed());
    h.advance(Duration::from_secs(1));
    assert_eq!(closed_reason(&h.events()), Some(&CloseReason::IdleTimeout));
    assert_eq!(goaway_status(&h.sent()), Some(GoAwayStatus::Ok));
}

#[test]
fn header_decompression_failure_is_a_session_error() {
    let mut h = Harness::server();
    h.send_raw(&[
        0x80, 3, 0, 1, 0, 0, 0, 14, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef,
    ]);
    assert_eq!(goaway_status(&h.sent()), Some(GoAwayStatus::ProtocolError));
}

#[test]
fn malformed_request_headers_reset_only_that_stream() {
    let mut h = Harness::server();
    let mut bad = HeaderBlock::new();
    bad.push("Bad-Name", "x");
    h.send(&[Frame::SynStream(SynStream::new(id(1), bad)), syn(3, true)]);
    assert_eq!(h.sent(), vec![rst(1, RstStatus::ProtocolError)]);
    assert!(
        h.events()
            .iter()
            .any(|e| matches!(e, Event::StreamOpened { stream_id, .. } if *stream_id == id(3)))
    );
}
