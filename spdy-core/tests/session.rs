//! Deterministic state-machine tests: a scripted peer speaks frames to a
//! `Session`, frame by frame, with no sockets and a virtual clock.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use spdy_core::frame::*;
use spdy_core::header::HeaderBlock;
use spdy_core::session::*;

mod support;

use support::*;

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
fn a_push_without_the_unidirectional_flag_is_still_a_one_way_push() {
    // node-spdy 4 pushes without FLAG_UNIDIRECTIONAL; associated-to says
    // what the stream is.
    let mut h = Harness::client();
    let open = h
        .session
        .open_stream(OpenStream::new(req("/")).fin(true))
        .unwrap();
    h.sent();
    let mut push = SynStream::new(id(2), req("/pushed.js"));
    push.associated_to = open;
    h.send(&[Frame::SynStream(push)]);
    assert!(h.sent().is_empty(), "no reset for a push without the flag");
    assert!(matches!(
        &h.events()[..],
        [Event::StreamOpened { stream_id, associated_to, unidirectional: true, .. }]
            if *stream_id == id(2) && *associated_to == open
    ));
    assert!(
        h.session
            .send_data(id(2), Bytes::from_static(b"x"), false)
            .is_err()
    );
}

#[test]
fn a_push_whose_syn_stream_carries_its_status_may_send_data_at_once() {
    // node-spdy 4 puts :status in the pushed SYN_STREAM instead of a HEADERS
    // frame after it; DATA may then follow directly.
    let mut h = Harness::client();
    let open = h
        .session
        .open_stream(OpenStream::new(req("/")).fin(true))
        .unwrap();
    h.sent();
    let mut headers = req("/pushed.css");
    headers.push(":status", "200");
    let mut push = SynStream::new(id(2), headers);
    push.associated_to = open;
    push.unidirectional = true;
    h.send(&[Frame::SynStream(push), data(2, b"body", true)]);
    assert!(h.sent().is_empty(), "the push's DATA is accepted");
    let events = h.events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Data { stream_id, fin: true, .. } if *stream_id == id(2))),
        "{events:?}"
    );

    // Without a status anywhere, DATA first is still a protocol error.
    let mut bare = SynStream::new(id(4), req("/bare.css"));
    bare.associated_to = open;
    bare.unidirectional = true;
    h.send(&[Frame::SynStream(bare), data(4, b"x", true)]);
    assert_eq!(h.sent(), vec![rst(4, RstStatus::ProtocolError)]);
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
            max_send_buffer: 64 * 1024,
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
    // Unknown ids are ignored (the draft says so), not stored: a peer
    // could otherwise fill a map with 16 million of them.
    assert_eq!(h.session.peer_settings().get(SettingId::Unknown(77)), None);
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
fn streams_not_yet_sent_when_the_peer_goes_away_are_never_opened() {
    let mut h = Harness::client();
    let a = h
        .session
        .open_stream(OpenStream::new(req("/a")).fin(true))
        .unwrap();
    h.sent();
    // Queued, not yet written, when the GOAWAY arrives.
    let b = h
        .session
        .open_stream(OpenStream::new(req("/b")).fin(true))
        .unwrap();
    h.send(&[Frame::GoAway(GoAway {
        last_good_stream_id: a,
        status: GoAwayStatus::Ok,
    })]);
    assert!(h.events().iter().any(|e| matches!(
        e,
        Event::Reset { stream_id, origin: ResetOrigin::GoAway, .. } if *stream_id == b
    )));
    let sent = h.sent();
    assert!(
        !sent.iter().any(|f| matches!(f, Frame::SynStream(_))),
        "{sent:?}"
    );
    // Stream a still gets its reply.
    h.send(&[Frame::SynReply(SynReply {
        fin: true,
        ..SynReply::new(a, resp())
    })]);
    assert!(h.events().iter().any(|e| matches!(e, Event::Reply { .. })));
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

// ----- review of issue 3: each rule frame by frame -----

/// A raw control frame with any version, type and payload.
fn raw_control(version: u16, frame_type: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&(0x8000 | version).to_be_bytes());
    out.extend_from_slice(&frame_type.to_be_bytes());
    out.push(flags);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(payload);
    out
}

fn id_and(n: u32, rest: &[u8]) -> Vec<u8> {
    let mut out = n.to_be_bytes().to_vec();
    out.extend_from_slice(rest);
    out
}

fn reset_event(events: &[Event], n: u32) -> Option<(RstStatus, ResetOrigin)> {
    events.iter().find_map(|e| match e {
        Event::Reset {
            stream_id,
            status,
            origin,
        } if *stream_id == id(n) => Some((*status, *origin)),
        _ => None,
    })
}

#[test]
fn unsupported_version_on_frames_that_name_a_stream_resets_that_stream() {
    let mut h = Harness::server();
    h.send(&[syn(1, false), syn(3, false), syn(5, false)]);
    h.events();
    // SYN_STREAM v2 for a new id: refused, the id is used up.
    h.send_raw(&raw_control(2, 1, 0, &id_and(7, &[0; 6])));
    assert_eq!(h.sent(), vec![rst(7, RstStatus::UnsupportedVersion)]);
    // SYN_REPLY, HEADERS and WINDOW_UPDATE v2 for open streams.
    h.send_raw(&raw_control(2, 2, 0, &id_and(1, &[0; 4])));
    h.send_raw(&raw_control(2, 8, 0, &id_and(3, &[0; 4])));
    h.send_raw(&raw_control(2, 9, 0, &id_and(5, &[0, 0, 1, 0])));
    assert_eq!(
        h.sent(),
        vec![
            rst(1, RstStatus::UnsupportedVersion),
            rst(3, RstStatus::UnsupportedVersion),
            rst(5, RstStatus::UnsupportedVersion)
        ]
    );
    let events = h.events();
    for n in [1, 3, 5] {
        assert_eq!(
            reset_event(&events, n),
            Some((RstStatus::UnsupportedVersion, ResetOrigin::Local))
        );
    }
    // A v2 frame for a stream we just reset is in flight: ignored.
    h.send_raw(&raw_control(2, 8, 0, &id_and(3, &[0; 4])));
    // RST_STREAM v2 is never answered with a reset.
    h.send_raw(&raw_control(2, 3, 0, &id_and(9, &[0, 0, 0, 5])));
    assert!(h.sent().is_empty());
    // The session goes on: the next stream id is above 7.
    h.send(&[syn(9, true)]);
    assert!(
        matches!(&h.events()[..], [Event::StreamOpened { stream_id, .. }] if *stream_id == id(9))
    );
    assert!(!h.session.is_closed());
}

#[test]
fn unsupported_version_on_session_frames_is_a_session_error() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("SETTINGS", raw_control(2, 4, 0, &[0, 0, 0, 0])),
        ("NOOP", raw_control(2, 5, 0, &[])),
        ("PING", raw_control(2, 6, 0, &[0, 0, 0, 1])),
        ("GOAWAY", raw_control(2, 7, 0, &[0; 8])),
        (
            "WINDOW_UPDATE for the session",
            raw_control(2, 9, 0, &[0, 0, 0, 0, 0, 0, 1, 0]),
        ),
        ("CREDENTIAL", raw_control(2, 10, 0, &[0; 4])),
        ("unknown type", raw_control(2, 0xff, 0, &[1, 2, 3])),
        ("version 4 PING", raw_control(4, 6, 0, &[0, 0, 0, 1])),
    ];
    for (name, bytes) in cases {
        let mut h = Harness::server();
        h.send_raw(&bytes);
        assert_eq!(
            goaway_status(&h.sent()),
            Some(GoAwayStatus::ProtocolError),
            "{name}"
        );
        assert!(
            matches!(
                closed_reason(&h.events()),
                Some(CloseReason::ProtocolError { .. })
            ),
            "{name}"
        );
    }
    // A v2 SYN_STREAM whose id could not be a new stream is a session error too.
    let mut h = Harness::server();
    h.send(&[syn(5, true)]);
    h.send_raw(&raw_control(2, 1, 0, &id_and(3, &[0; 6])));
    assert_eq!(goaway_status(&h.sent()), Some(GoAwayStatus::ProtocolError));
}

#[test]
fn oversized_data_is_refused_from_its_head_and_skipped_as_it_arrives() {
    let mut h = Harness::new(
        Role::Server,
        SessionConfig {
            max_data_frame_len: 1024,
            session_window: 65_536,
            ..SessionConfig::default()
        },
    );
    h.send(&[syn(1, false)]);
    h.events();
    // Only the head and a little payload have arrived: the answer is already out.
    let mut frame = vec![0, 0, 0, 1, 0, 0, 0x9c, 0x40]; // DATA stream 1, 40,000 bytes
    frame.extend_from_slice(&[7; 100]);
    h.send_raw(&frame);
    // The session window the peer spent is given back at once.
    assert_eq!(
        h.sent(),
        vec![wu(0, 40_000), rst(1, RstStatus::FrameTooLarge)]
    );
    assert_eq!(
        reset_event(&h.events(), 1),
        Some((RstStatus::FrameTooLarge, ResetOrigin::Local))
    );
    // The rest is skipped as it arrives and the next frame is processed.
    let mut rest = vec![7; 39_900];
    rest.extend_from_slice(&{
        let mut wire = BytesMut::new();
        h.peer.encoder.encode(&syn(3, true), &mut wire).unwrap();
        wire
    });
    h.send_raw(&rest);
    assert!(h.sent().is_empty());
    assert!(
        matches!(&h.events()[..], [Event::StreamOpened { stream_id, .. }] if *stream_id == id(3))
    );
}

#[test]
fn oversized_control_frames_end_the_session_without_being_buffered() {
    let config = SessionConfig {
        max_control_frame_len: 1000,
        ..SessionConfig::default()
    };
    // A SYN_STREAM: its header block cannot be inflated, so the context is lost.
    let mut h = Harness::new(Role::Server, config.clone());
    let mut head = raw_control(3, 1, 0, &[]);
    head[5..8].copy_from_slice(&[0, 0x13, 0x88]); // 5,000 bytes declared
    head.extend_from_slice(&1u32.to_be_bytes()); // ... of which only the id arrived
    h.send_raw(&head);
    let sent = h.sent();
    assert_eq!(sent[0], rst(1, RstStatus::FrameTooLarge));
    assert_eq!(goaway_status(&sent), Some(GoAwayStatus::ProtocolError));
    assert!(h.session.is_finished());
    // A SETTINGS frame: no stream to reset.
    let mut h = Harness::new(Role::Server, config);
    let mut head = raw_control(3, 4, 0, &[]);
    head[5..8].copy_from_slice(&[0, 0x13, 0x8c]); // 4 + 8 x 624 bytes declared
    h.send_raw(&head);
    let sent = h.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(goaway_status(&sent), Some(GoAwayStatus::ProtocolError));
}

#[test]
fn resets_of_unknown_streams_count_against_the_reset_limit() {
    let mut h = Harness::server();
    let frames: Vec<Frame> = (0..1_001)
        .map(|i| rst(2 * i + 1, RstStatus::Cancel))
        .collect();
    h.send(&frames);
    assert_eq!(
        closed_reason(&h.events()),
        Some(&CloseReason::Flood {
            limit: "stream resets"
        })
    );
    // None of them was answered.
    assert!(h.sent().iter().all(|f| !matches!(f, Frame::RstStream(_))));
}

/// A client with stream 1 open and replied, and the server's push on stream 2.
fn client_with_push() -> Harness {
    let mut h = Harness::client();
    h.session
        .open_stream(OpenStream::new(req("/")).fin(true))
        .unwrap();
    h.sent();
    let mut push = SynStream::new(id(2), {
        let mut b = HeaderBlock::new();
        b.push(":scheme", "https");
        b.push(":host", "localhost");
        b.push(":path", "/pushed.css");
        b
    });
    push.associated_to = id(1);
    push.unidirectional = true;
    h.send(&[Frame::SynStream(push)]);
    h.events();
    h
}

#[test]
fn data_on_a_pushed_stream_before_its_status_is_a_protocol_error() {
    let mut h = client_with_push();
    h.send(&[data(2, b"too early", false)]);
    assert_eq!(h.sent(), vec![rst(2, RstStatus::ProtocolError)]);
    assert_eq!(
        reset_event(&h.events(), 2),
        Some((RstStatus::ProtocolError, ResetOrigin::Local))
    );

    // HEADERS without :status do not count.
    let mut h = client_with_push();
    let mut other = HeaderBlock::new();
    other.push("x-early", "1");
    h.send(&[
        Frame::Headers(Headers::new(id(2), other)),
        data(2, b"x", false),
    ]);
    assert_eq!(h.sent(), vec![rst(2, RstStatus::ProtocolError)]);

    // HEADERS with :status, then DATA: delivered.
    let mut h = client_with_push();
    h.send(&[
        Frame::Headers(Headers::new(id(2), resp())),
        data(2, b"body", true),
    ]);
    assert!(h.sent().is_empty());
    let events = h.events();
    assert!(
        matches!(
            &events[..],
            [
                Event::Headers { .. },
                Event::Data { fin: true, .. },
                Event::StreamClosed { .. }
            ]
        ),
        "{events:?}"
    );
}

#[test]
fn syn_stream_after_our_goaway_is_ignored_with_what_follows_it() {
    let mut h = Harness::server();
    h.send(&[syn(1, false)]);
    h.events();
    h.session.goaway(GoAwayStatus::Ok);
    h.sent();
    h.send(&[
        syn(3, false),
        data(3, b"body", false),
        data(1, b"still", false),
    ]);
    assert!(
        h.sent().is_empty(),
        "no RST for the ignored stream or its data"
    );
    let events = h.events();
    assert_eq!(
        events,
        vec![Event::Data {
            stream_id: id(1),
            data: Bytes::from_static(b"still"),
            fin: false
        }]
    );
    // Streams opened after our GOAWAY count as refusals: a peer cannot
    // make us decompress header blocks forever.
    let frames: Vec<Frame> = (0..1_001).map(|i| syn(5 + 2 * i, false)).collect();
    h.send(&frames);
    assert!(matches!(
        closed_reason(&h.events()),
        Some(CloseReason::Flood { .. })
    ));
}

#[test]
fn stream_ids_run_out_with_goaway_and_a_clear_error() {
    for (role, first, last) in [
        (Role::Client, 0x7fff_fffd, 0x7fff_ffff),
        (Role::Server, 0x7fff_fffc, 0x7fff_fffe),
    ] {
        let mut h = Harness::new(
            role,
            SessionConfig {
                initial_stream_id: Some(StreamId::new(first)),
                assumed_peer_max_concurrent_streams: 10,
                ..SessionConfig::spdystream_compatible()
            },
        );
        let a = h.session.open_stream(OpenStream::new(req("/a"))).unwrap();
        assert_eq!(a, id(first));
        let b = h.session.open_stream(OpenStream::new(req("/b"))).unwrap();
        assert_eq!(b, id(last));
        assert_eq!(
            h.session.open_stream(OpenStream::new(req("/c"))),
            Err(SendError::StreamIdsExhausted)
        );
        let sent = h.sent();
        assert!(
            matches!(&sent[..], [Frame::SynStream(_), Frame::SynStream(_), Frame::GoAway(g)] if g.status == GoAwayStatus::Ok)
        );
        // The open streams still finish, then the session ends gracefully.
        for s in [a, b] {
            h.session.reset(s, RstStatus::Cancel, h.now);
        }
        assert_eq!(closed_reason(&h.events()), Some(&CloseReason::Graceful));
    }
}

#[test]
fn session_window_overflow_is_exact() {
    let mut h = Harness::server();
    h.send(&[wu(0, MAX_WINDOW_DELTA - 65_536)]);
    assert!(h.sent().is_empty());
    assert_eq!(h.session.send_window(), i64::from(MAX_WINDOW_DELTA));
    h.send(&[wu(0, 1)]);
    assert_eq!(goaway_status(&h.sent()), Some(GoAwayStatus::ProtocolError));
    assert!(matches!(
        closed_reason(&h.events()),
        Some(CloseReason::ProtocolError { .. })
    ));
}

#[test]
fn clear_settings_drops_persisted_values_only_and_servers_persist_nothing() {
    let mut h = Harness::client();
    let mut settings = Settings::new([
        (SettingId::RoundTripTime, 42),
        (SettingId::DownloadBandwidth, 9),
    ]);
    settings.entries[0].flags.persist_value = true;
    h.send(&[Frame::Settings(settings)]);
    h.send(&[Frame::Settings(Settings {
        clear_settings: true,
        entries: vec![SettingEntry {
            id: SettingId::UploadBandwidth,
            value: 5,
            flags: SettingFlags {
                persist_value: true,
                persisted: false,
            },
        }],
    })]);
    let peer = h.session.peer_settings();
    assert_eq!(peer.persisted.get(&3), None, "cleared");
    assert_eq!(
        peer.persisted.get(&1),
        Some(&5),
        "persisted after the clear"
    );
    assert_eq!(peer.get(SettingId::RoundTripTime), Some(42), "values stay");
    assert_eq!(peer.frames_received, 2);

    let mut server = Harness::server();
    let mut settings = Settings::new([(SettingId::RoundTripTime, 42)]);
    settings.entries[0].flags.persist_value = true;
    server.send(&[Frame::Settings(settings)]);
    assert!(server.session.peer_settings().persisted.is_empty());
}

#[test]
fn duplicate_setting_ids_keep_the_first_value_everywhere() {
    let mut h = Harness::server();
    h.send(&[syn(1, true)]);
    h.session.reply(id(1), resp(), false).unwrap();
    h.send(&[Frame::Settings(Settings::new([
        (SettingId::InitialWindowSize, 1_000),
        (SettingId::MaxConcurrentStreams, 1),
        (SettingId::InitialWindowSize, 500_000),
        (SettingId::MaxConcurrentStreams, 50),
    ]))]);
    assert_eq!(h.session.stream_send_window(id(1)), Some(1_000));
    let peer = h.session.peer_settings();
    assert_eq!(peer.initial_window_size, Some(1_000));
    assert_eq!(peer.max_concurrent_streams, Some(1));
    assert_eq!(peer.get(SettingId::InitialWindowSize), Some(1_000));
}

#[test]
fn a_reset_drops_everything_queued_on_the_stream() {
    let mut h = Harness::server();
    h.send(&[syn(1, true)]);
    h.session.reply(id(1), resp(), false).unwrap();
    h.sent();
    // More than the window: some stays queued, then trailers behind it.
    h.session
        .send_data(id(1), Bytes::from(vec![1u8; 60 * 1024]), false)
        .unwrap();
    h.sent();
    h.session
        .send_data(id(1), Bytes::from(vec![1u8; 16 * 1024]), false)
        .unwrap();
    h.session.send_headers(id(1), resp(), true).unwrap();
    let sent = h.sent();
    assert!(sent.iter().all(|f| matches!(f, Frame::Data(_))));
    assert!(h.session.stats().queued_send_bytes > 0);
    h.events();
    h.session.reset(id(1), RstStatus::Cancel, h.now);
    let stats = h.session.stats();
    assert_eq!(stats.queued_send_bytes, 0);
    assert_eq!(stats.queued_send_items, 0);
    assert_eq!(stats.ready_streams, 0);
    // Credit arriving later sends nothing but the RST.
    h.send(&[wu(1, 100_000), wu(0, 100_000)]);
    assert_eq!(h.sent(), vec![rst(1, RstStatus::Cancel)]);
    assert!(h.events().is_empty(), "a local reset makes no event");
}

#[test]
fn the_idle_timeout_counts_from_the_end_of_the_last_stream() {
    let mut h = Harness::new(
        Role::Server,
        SessionConfig {
            idle_timeout: Some(Duration::from_secs(60)),
            flow_control: FlowControl::Disabled,
            ..SessionConfig::default()
        },
    );
    h.send(&[syn(1, true)]);
    h.session.reply(id(1), resp(), false).unwrap();
    // A ten-minute download during which the peer says nothing.
    for _ in 0..10 {
        h.advance(Duration::from_secs(60));
        h.session
            .send_data(id(1), Bytes::from_static(b"chunk"), false)
            .unwrap();
        h.sent();
        assert!(!h.session.is_closed());
    }
    h.session.send_data(id(1), Bytes::new(), true).unwrap();
    h.sent();
    assert_eq!(h.session.open_streams(), 0);
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(60))
    );
    h.advance(Duration::from_secs(59));
    assert!(!h.session.is_closed());
    h.advance(Duration::from_secs(1));
    assert_eq!(closed_reason(&h.events()), Some(&CloseReason::IdleTimeout));
}

#[test]
fn unanswered_pings_expire_without_a_keepalive() {
    let mut h = Harness::new(
        Role::Client,
        SessionConfig {
            ping_timeout: Duration::from_secs(5),
            idle_timeout: None,
            ..SessionConfig::default()
        },
    );
    for _ in 0..16 {
        h.session.ping(h.now).unwrap();
    }
    assert!(matches!(h.session.ping(h.now), Err(SendError::Invalid(_))));
    assert_eq!(h.session.stats().outstanding_pings, 16);
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(5))
    );
    h.advance(Duration::from_secs(5));
    assert!(!h.session.is_closed(), "only the keepalive ends a session");
    assert_eq!(h.session.stats().outstanding_pings, 0);
    h.session.ping(h.now).unwrap();
}

#[test]
fn an_answered_keepalive_keeps_the_session() {
    let mut h = Harness::new(
        Role::Server,
        SessionConfig {
            keepalive_interval: Some(Duration::from_secs(30)),
            ping_timeout: Duration::from_secs(5),
            idle_timeout: None,
            ..SessionConfig::default()
        },
    );
    for _ in 0..3 {
        h.advance(Duration::from_secs(30));
        let sent = h.sent();
        let [Frame::Ping(ping)] = &sent[..] else {
            panic!("{sent:?}")
        };
        assert_eq!(ping.id % 2, 0, "servers use even ids");
        h.now += Duration::from_secs(1);
        h.send(&[Frame::Ping(*ping)]);
        assert!(
            matches!(&h.events()[..], [Event::PingAnswered { rtt, .. }] if *rtt == Duration::from_secs(1))
        );
        assert_eq!(
            h.session.poll_timeout(),
            Some(h.now + Duration::from_secs(30))
        );
    }
    assert!(!h.session.is_closed());
}

#[test]
fn pings_either_way_do_not_keep_an_idle_session() {
    // Our keepalive answered, and the peer's own PINGs, say the peer is
    // alive, not that the session is in use: the idle timeout still ends
    // it, while a frame of any other kind restarts it.
    let mut h = Harness::new(
        Role::Server,
        SessionConfig {
            keepalive_interval: Some(Duration::from_secs(10)),
            ping_timeout: Duration::from_secs(5),
            idle_timeout: Some(Duration::from_secs(60)),
            ..SessionConfig::default()
        },
    );
    let start = h.now;
    h.advance(Duration::from_secs(5));
    h.send(&[Frame::Settings(Settings::new([(
        SettingId::MaxConcurrentStreams,
        10,
    )]))]);
    let activity = h.now;
    let mut peer_ping = 1;
    while h.now + Duration::from_secs(10) < activity + Duration::from_secs(60) {
        h.advance(Duration::from_secs(10));
        for frame in h.sent() {
            if let Frame::Ping(ping) = frame {
                h.send(&[Frame::Ping(ping)]);
            }
        }
        h.send(&[Frame::Ping(Ping { id: peer_ping })]);
        peer_ping += 2;
        assert!(
            !h.session.is_closed(),
            "closed early at {:?}",
            h.now - start
        );
        h.events();
    }
    h.now = activity + Duration::from_secs(60);
    h.session.handle_timeout(h.now);
    assert_eq!(closed_reason(&h.events()), Some(&CloseReason::IdleTimeout));
}

#[test]
fn timeouts_too_long_to_represent_never_fire_and_never_panic() {
    let mut h = Harness::new(
        Role::Server,
        SessionConfig {
            idle_timeout: Some(Duration::MAX),
            keepalive_interval: Some(Duration::MAX),
            ping_timeout: Duration::MAX,
            stream_receive_timeout: Some(Duration::MAX),
            stream_send_timeout: Some(Duration::MAX),
            ..SessionConfig::default()
        },
    );
    h.send(&[syn(1, true), syn(3, false)]);
    h.session.reply(id(1), resp(), false).unwrap();
    h.session
        .send_data(id(1), Bytes::from(vec![0u8; 100_000]), true)
        .unwrap();
    h.sent();
    h.session.ping(h.now).unwrap();
    h.advance(Duration::from_secs(365 * 24 * 3600));
    assert!(!h.session.is_closed());
    assert!(h.session.is_open(id(1)) && h.session.is_open(id(3)));
}

#[test]
fn echoes_of_pings_we_never_sent_count_as_a_flood() {
    let mut h = Harness::client();
    let echoes: Vec<Frame> = (0..1_001)
        .map(|i| Frame::Ping(Ping { id: 2 * i + 1 }))
        .collect();
    h.send(&echoes);
    assert!(matches!(
        closed_reason(&h.events()),
        Some(CloseReason::Flood { .. })
    ));
}

#[test]
fn an_empty_send_without_fin_sends_nothing() {
    let mut h = Harness::server();
    h.send(&[syn(1, true)]);
    h.session.reply(id(1), resp(), false).unwrap();
    h.sent();
    h.session.send_data(id(1), Bytes::new(), false).unwrap();
    assert!(h.sent().is_empty());
    h.session.send_data(id(1), Bytes::new(), true).unwrap();
    assert_eq!(h.sent(), vec![data(1, b"", true)]);
}

#[test]
fn set_priority_reorders_what_is_queued() {
    let mut h = Harness::server();
    h.send(&[syn(1, true), syn(3, true), wu(0, 1_000_000)]);
    for n in [1, 3] {
        h.session.reply(id(n), resp(), false).unwrap();
    }
    h.sent();
    assert_eq!(h.session.priority(id(3)), Some(Priority::default()));
    h.session.set_priority(id(3), Priority::HIGHEST);
    h.session.set_priority(id(1), Priority::LOWEST);
    for n in [1, 3] {
        h.session
            .send_data(id(n), Bytes::from(vec![0u8; 40_000]), true)
            .unwrap();
    }
    // Both were scheduled at their old level; once they take their new
    // level, stream 3 goes first.
    let order: Vec<u32> = h
        .sent()
        .iter()
        .filter_map(|f| match f {
            Frame::Data(d) => Some(d.stream_id.get()),
            _ => None,
        })
        .collect();
    let last_3 = order.iter().rposition(|&s| s == 3).unwrap();
    let first_1_after = order.iter().skip(1).position(|&s| s == 1).map(|p| p + 1);
    assert!(first_1_after.is_some_and(|p| p > 0), "{order:?}");
    assert!(order[1..last_3].iter().all(|&s| s == 3), "{order:?}");
}

#[test]
fn notify_when_sent_fires_once_the_queue_is_empty() {
    let mut h = Harness::server();
    h.send(&[syn(1, true)]);
    h.events();
    h.session.reply(id(1), resp(), false).unwrap();
    h.session.notify_when_sent(id(1));
    assert_eq!(h.events(), vec![Event::Writable { stream_id: id(1) }]);
    h.session
        .send_data(id(1), Bytes::from(vec![0u8; 20_000]), false)
        .unwrap();
    h.session.notify_when_sent(id(1));
    assert!(h.events().is_empty());
    h.sent();
    assert_eq!(h.events(), vec![Event::Writable { stream_id: id(1) }]);
}

#[test]
fn lowering_our_window_still_accepts_data_already_in_flight() {
    let mut h = Harness::new(
        Role::Server,
        SessionConfig {
            stream_window: 100_000,
            ..SessionConfig::default()
        },
    );
    h.send(&[syn(1, false)]);
    h.session
        .send_settings(Settings::new([(SettingId::InitialWindowSize, 10_000)]))
        .unwrap();
    h.sent();
    // Sent by the peer before it saw our SETTINGS: within the old window.
    h.send(&[data(1, &[0; 50_000], false)]);
    assert!(h.sent().is_empty());
    // A new stream gets the new window.
    h.send(&[syn(3, false), data(3, &[0; 10_001], false)]);
    assert_eq!(h.sent(), vec![rst(3, RstStatus::FlowControlError)]);
}

#[test]
fn reset_when_sent_lets_the_queued_body_and_fin_out_first() {
    let mut h = Harness::server();
    h.send(&[syn(1, false), wu(0, 1_000_000), wu(1, 1_000_000)]);
    h.events();
    h.session.reply(id(1), resp(), false).unwrap();
    h.session
        .send_data(id(1), Bytes::from(vec![3u8; 40_000]), true)
        .unwrap();
    h.session.reset_when_sent(id(1), RstStatus::Cancel);
    assert!(h.session.is_open(id(1)), "not before the FIN is out");
    let sent = h.sent();
    let payload: usize = sent
        .iter()
        .map(|f| match f {
            Frame::Data(d) => d.payload.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(payload, 40_000);
    let fin_at = sent
        .iter()
        .position(|f| matches!(f, Frame::Data(d) if d.fin))
        .unwrap();
    assert_eq!(sent.last(), Some(&rst(1, RstStatus::Cancel)));
    assert_eq!(fin_at, sent.len() - 2, "RST right after the FIN");
    assert_eq!(
        h.events(),
        vec![Event::Reset {
            stream_id: id(1),
            status: RstStatus::Cancel,
            origin: ResetOrigin::Local
        }]
    );
    // Without a FIN queued it resets at once.
    h.send(&[syn(3, false)]);
    h.session.reply(id(3), resp(), false).unwrap();
    h.session.reset_when_sent(id(3), RstStatus::Cancel);
    assert!(!h.session.is_open(id(3)));
    // If the peer finishes first, the stream simply closes.
    h.send(&[syn(5, false)]);
    h.session.reply(id(5), resp(), false).unwrap();
    h.session
        .send_data(id(5), Bytes::from_static(b"x"), true)
        .unwrap();
    h.session.reset_when_sent(id(5), RstStatus::Cancel);
    h.send(&[data(5, b"", true)]);
    h.events();
    let sent = h.sent();
    assert!(!sent.contains(&rst(5, RstStatus::Cancel)), "{sent:?}");
    assert!(
        h.events()
            .contains(&Event::StreamClosed { stream_id: id(5) })
    );
}

#[test]
fn a_deferred_reset_that_drains_the_session_comes_before_closed() {
    let mut h = Harness::server();
    h.send(&[syn(1, false)]);
    h.events();
    h.session.reply(id(1), resp(), false).unwrap();
    h.session
        .send_data(id(1), Bytes::from_static(b"last words"), true)
        .unwrap();
    h.session.goaway(GoAwayStatus::Ok);
    h.session.reset_when_sent(id(1), RstStatus::Cancel);
    h.sent();
    assert_eq!(
        h.events(),
        vec![
            Event::Reset {
                stream_id: id(1),
                status: RstStatus::Cancel,
                origin: ResetOrigin::Local
            },
            Event::Closed(CloseReason::Graceful)
        ]
    );
}

// ----- spdystream peers -----

#[test]
fn spdystream_sessions_idle_for_the_kubelet_s_four_hours_not_five_minutes() {
    // A kubectl port-forward session has no stream between forwarded
    // connections and kubectl sends no PING: it must outlive the general
    // five-minute idle timeout, and still end at the kubelet's 4 hours.
    let mut h = Harness::new(Role::Client, SessionConfig::spdystream_compatible());
    assert_eq!(SPDYSTREAM_IDLE_TIMEOUT, Duration::from_secs(4 * 60 * 60));
    h.advance(Duration::from_secs(60 * 60));
    assert!(
        !h.session.is_closed(),
        "closed after an hour without streams"
    );
    h.advance(SPDYSTREAM_IDLE_TIMEOUT - Duration::from_secs(60 * 60));
    assert_eq!(closed_reason(&h.events()), Some(&CloseReason::IdleTimeout));
}

#[test]
fn spdystream_config_accepts_a_port_forward_burst_beyond_the_draft_s_100() {
    // kubectl port-forward opens an error and a data stream per forwarded
    // connection and ignores our SETTINGS: 500 connections at once are
    // 1,000 streams, all accepted; the next one is refused.
    let mut h = Harness::new(Role::Server, SessionConfig::spdystream_compatible());
    let limit = SPDYSTREAM_MAX_CONCURRENT_STREAMS;
    assert_eq!(limit, 1_000);
    let frames: Vec<Frame> = (0..limit).map(|n| syn(2 * n + 1, false)).collect();
    h.send(&frames);
    let opened = h
        .events()
        .iter()
        .filter(|e| matches!(e, Event::StreamOpened { .. }))
        .count();
    assert_eq!(opened, limit as usize);
    assert!(h.sent().is_empty(), "nothing refused");
    h.send(&[syn(2 * limit + 1, false)]);
    assert_eq!(h.sent(), vec![rst(2 * limit + 1, RstStatus::RefusedStream)]);
    // The strict default keeps the draft's recommended 100.
    assert_eq!(SessionConfig::default().max_concurrent_streams, 100);
}
