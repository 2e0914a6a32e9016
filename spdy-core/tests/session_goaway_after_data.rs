//! A graceful GOAWAY in a session without flow control waits for the data
//! queued before it (spdystream peers stop reading at GOAWAY); error
//! GOAWAYs, and every GOAWAY of strict sessions, go out at once. Frame by
//! frame with a scripted peer.

#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use spdy_core::frame::*;
use spdy_core::session::*;

mod support;

use support::*;

fn no_flow_control() -> SessionConfig {
    SessionConfig::spdystream_compatible()
}

/// A server session whose peer opened stream 1, which we answered and on
/// which we queued `body` with FIN (nothing sent yet).
fn with_queued_response(config: SessionConfig, body: usize) -> Harness {
    let mut h = Harness::new(Role::Server, config);
    h.send(&[syn(1, false)]);
    h.events();
    h.session.reply(id(1), resp(), false).unwrap();
    h.session
        .send_data(id(1), Bytes::from(vec![b'o'; body]), true)
        .unwrap();
    h
}

fn kinds(frames: &[Frame]) -> Vec<String> {
    frames
        .iter()
        .map(|f| match f {
            Frame::Data(d) => format!(
                "DATA {} {}{}",
                d.stream_id,
                d.payload.len(),
                if d.fin { " fin" } else { "" }
            ),
            Frame::GoAway(g) => format!("GOAWAY {} {:?}", g.last_good_stream_id, g.status),
            Frame::RstStream(r) => format!("RST_STREAM {} {:?}", r.stream_id, r.status),
            other => format!(
                "{} {}",
                other.frame_type().name(),
                other.stream_id().map_or(0, StreamId::get)
            ),
        })
        .collect()
}

#[test]
fn without_flow_control_a_graceful_goaway_follows_the_queued_output() {
    let mut h = with_queued_response(no_flow_control(), 40_000);
    h.session.goaway(GoAwayStatus::Ok);
    assert_eq!(
        kinds(&h.sent()),
        [
            "SYN_REPLY 1",
            "DATA 1 16384",
            "DATA 1 16384",
            "DATA 1 7232 fin",
            "GOAWAY 1 Ok",
        ]
    );
    // The peer's half is still open: the session drains, then closes.
    assert!(!h.session.is_closed());
    h.send(&[data(1, b"", true)]);
    assert!(h.session.is_closed());
    assert_eq!(h.session.close_reason(), Some(&CloseReason::Graceful));
}

#[test]
fn strict_sessions_send_goaway_ahead_of_queued_data_as_before() {
    let mut h = with_queued_response(SessionConfig::default(), 40_000);
    h.session.goaway(GoAwayStatus::Ok);
    let sent = kinds(&h.sent());
    assert_eq!(sent[..2], ["SYN_REPLY 1", "GOAWAY 1 Ok"]);
    assert_eq!(sent.last().unwrap(), "DATA 1 7232 fin");
}

#[test]
fn error_goaways_are_never_held() {
    let mut h = with_queued_response(no_flow_control(), 40_000);
    h.session.goaway(GoAwayStatus::InternalError);
    let sent = kinds(&h.sent());
    assert_eq!(sent[..2], ["SYN_REPLY 1", "GOAWAY 1 InternalError"]);

    // A held graceful GOAWAY gives way to a later error GOAWAY at once.
    let mut h = with_queued_response(no_flow_control(), 40_000);
    h.session.goaway(GoAwayStatus::Ok);
    h.session.goaway(GoAwayStatus::InternalError);
    let sent = kinds(&h.sent());
    assert_eq!(sent[..2], ["SYN_REPLY 1", "GOAWAY 1 InternalError"]);
    assert_eq!(sent.iter().filter(|f| f.starts_with("GOAWAY")).count(), 1);
}

#[test]
fn a_session_error_while_the_goaway_is_held_sends_its_own_at_once() {
    let mut h = with_queued_response(no_flow_control(), 40_000);
    h.session.goaway(GoAwayStatus::Ok);
    // Stream 0 is never valid for SYN_STREAM: a session error.
    h.send_raw(&[
        0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0x60, 0x00,
    ]);
    let sent = kinds(&h.sent());
    assert_eq!(
        sent,
        ["SYN_REPLY 1", "GOAWAY 1 ProtocolError"],
        "queued data is dropped"
    );
    assert!(h.session.is_finished());
    assert!(matches!(
        h.session.close_reason(),
        Some(CloseReason::ProtocolError { .. })
    ));
}

#[test]
fn close_while_the_goaway_is_held_ends_the_session_at_once() {
    let mut h = with_queued_response(no_flow_control(), 40_000);
    h.session.goaway(GoAwayStatus::Ok);
    h.session.close();
    let sent = kinds(&h.sent());
    assert_eq!(sent, ["SYN_REPLY 1", "GOAWAY 1 Ok"]);
    assert!(h.session.is_finished());
}

#[test]
fn while_held_nothing_new_is_opened_and_the_peer_s_new_streams_are_refused() {
    let mut h = with_queued_response(no_flow_control(), 40_000);
    h.session.goaway(GoAwayStatus::Ok);
    assert_eq!(
        h.session.open_stream(OpenStream::new(req("/"))),
        Err(SendError::GoingAway)
    );
    // The peer cannot know yet: its new stream is refused (retryable),
    // not ignored, and never counted as processed.
    h.send(&[syn(3, false)]);
    assert!(h.events().is_empty());
    let sent = kinds(&h.sent());
    assert_eq!(sent[..2], ["SYN_REPLY 1", "RST_STREAM 3 RefusedStream"]);
    assert_eq!(sent.last().unwrap(), "GOAWAY 1 Ok");
    // Once the GOAWAY is out, new streams are ignored as the draft says.
    h.send(&[syn(5, false)]);
    assert!(h.sent().is_empty());
    assert!(h.events().is_empty());
}

#[test]
fn data_queued_after_the_goaway_does_not_hold_it() {
    let mut h = with_queued_response(no_flow_control(), 100);
    h.send(&[syn(3, false)]);
    h.events();
    h.session.reply(id(3), resp(), false).unwrap();
    h.session.goaway(GoAwayStatus::Ok);
    // Stream 3 had nothing queued; what it queues now may follow the GOAWAY,
    // and a stream that keeps streaming cannot hold it for ever.
    h.session
        .send_data(id(3), Bytes::from(vec![b't'; 100_000]), false)
        .unwrap();
    let sent = kinds(&h.sent());
    let goaway = sent.iter().position(|f| f == "GOAWAY 3 Ok").unwrap();
    let last_of_1 = sent.iter().position(|f| f == "DATA 1 100 fin").unwrap();
    assert!(last_of_1 < goaway, "{sent:?}");
    assert!(sent[goaway + 1..].iter().any(|f| f.starts_with("DATA 3")));
}

#[test]
fn a_stream_reset_while_the_goaway_waits_for_it_releases_it() {
    let mut h = with_queued_response(no_flow_control(), 100_000);
    h.send(&[syn(3, false)]);
    h.events();
    h.session.reply(id(3), resp(), false).unwrap();
    h.session
        .send_data(id(3), Bytes::from_static(b"three"), true)
        .unwrap();
    h.session.goaway(GoAwayStatus::Ok);
    let now = h.now;
    h.session.reset(id(1), RstStatus::Cancel, now);
    let sent = kinds(&h.sent());
    let goaway = sent.iter().position(|f| f == "GOAWAY 3 Ok").unwrap();
    let three = sent.iter().position(|f| f == "DATA 3 5 fin").unwrap();
    assert!(three < goaway, "{sent:?}");
    assert!(!sent.iter().any(|f| f.starts_with("DATA 1")), "{sent:?}");
}

#[test]
fn trailing_headers_and_bare_fins_queued_before_the_goaway_go_first() {
    let mut h = Harness::new(Role::Server, no_flow_control());
    h.send(&[syn(1, false)]);
    h.events();
    h.session.reply(id(1), resp(), false).unwrap();
    h.session
        .send_data(id(1), Bytes::from_static(b"body"), false)
        .unwrap();
    h.session.send_headers(id(1), resp(), true).unwrap();
    h.session.goaway(GoAwayStatus::Ok);
    assert_eq!(
        kinds(&h.sent()),
        ["SYN_REPLY 1", "DATA 1 4", "HEADERS 1", "GOAWAY 1 Ok"]
    );

    let mut h = Harness::new(Role::Server, no_flow_control());
    h.send(&[syn(1, false)]);
    h.events();
    h.session.reply(id(1), resp(), false).unwrap();
    h.session.send_data(id(1), Bytes::new(), true).unwrap();
    h.session.goaway(GoAwayStatus::Ok);
    assert_eq!(
        kinds(&h.sent()),
        ["SYN_REPLY 1", "DATA 1 0 fin", "GOAWAY 1 Ok"]
    );
}

#[test]
fn with_nothing_queued_the_goaway_goes_at_once() {
    let mut h = Harness::new(Role::Server, no_flow_control());
    h.send(&[syn(1, false)]);
    h.events();
    h.session.reply(id(1), resp(), false).unwrap();
    h.sent();
    h.session.goaway(GoAwayStatus::Ok);
    assert_eq!(kinds(&h.sent()), ["GOAWAY 1 Ok"]);
}
