//! The per-stream receive timeout, frame by frame with a virtual clock: a
//! stream the peer could send on but does not is reset with CANCEL; a
//! stream we hold back (used-up window, credit not yet sent) is not.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use spdy_core::frame::*;
use spdy_core::session::*;

mod support;

use support::*;

const TIMEOUT: Duration = Duration::from_secs(60);

fn config() -> SessionConfig {
    SessionConfig {
        stream_receive_timeout: Some(TIMEOUT),
        idle_timeout: None,
        ..SessionConfig::default()
    }
}

/// The RST_STREAM frames among `frames`.
fn resets(frames: &[Frame]) -> Vec<(u32, RstStatus)> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::RstStream(r) => Some((r.stream_id.get(), r.status)),
            _ => None,
        })
        .collect()
}

/// The streams the session reset for the receive timeout, by the events.
fn timed_out(events: &[Event]) -> Vec<u32> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Reset {
                stream_id,
                status: RstStatus::Cancel,
                origin: ResetOrigin::ReceiveTimeout,
            } => Some(stream_id.get()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_request_body_that_never_comes_is_cancelled_after_the_timeout() {
    let mut h = Harness::new(Role::Server, config());
    let start = h.now;
    h.send(&[syn(1, false)]);
    assert!(matches!(&h.events()[..], [Event::StreamOpened { .. }]));
    // Checked at whole seconds: the deadline is at most one second late.
    let deadline = h.session.poll_timeout().unwrap();
    assert!(deadline >= start + TIMEOUT && deadline <= start + TIMEOUT + secs(1));

    h.run_until(start, secs(59));
    assert!(h.sent().is_empty());
    assert!(h.events().is_empty());
    assert!(h.session.is_open(id(1)));

    h.run_until(start, secs(61));
    assert_eq!(resets(&h.sent()), [(1, RstStatus::Cancel)]);
    assert_eq!(timed_out(&h.events()), [1]);
    assert!(!h.session.is_open(id(1)));
    assert_eq!(h.session.stats().receive_timers, 0);

    // Late DATA for it is ignored like any frame for a stream we reset.
    h.send(&[data(1, b"late", true)]);
    assert!(h.sent().is_empty());
    assert!(h.events().is_empty());
    assert!(!h.session.is_closed());
}

#[test]
fn every_frame_from_the_peer_on_the_stream_restarts_its_clock() {
    let mut h = Harness::new(Role::Server, config());
    let start = h.now;
    h.send(&[syn(1, false)]);
    h.session.reply(id(1), resp(), false).unwrap();
    h.sent();
    h.events();

    h.run_until(start, secs(50));
    h.send(&[data(1, b"a", false)]);
    h.run_until(start, secs(100));
    // Our response is being read: the peer's WINDOW_UPDATE counts as life.
    h.send(&[wu(1, 4096)]);
    h.run_until(start, secs(150));
    h.send(&[Frame::Headers(Headers {
        stream_id: id(1),
        fin: false,
        headers: resp(),
    })]);
    h.run_until(start, secs(209));
    assert!(resets(&h.sent()).is_empty());
    assert!(timed_out(&h.events()).is_empty());

    h.run_until(start, secs(211));
    assert_eq!(resets(&h.sent()), [(1, RstStatus::Cancel)]);
    assert_eq!(timed_out(&h.events()), [1]);
}

#[test]
fn a_stream_we_send_on_is_not_idle_until_we_stop() {
    // A long response to a client that never half-closed its request: the
    // stream is busy, so it is not cut; once our FIN is out and the peer
    // stays silent, the full timeout runs.
    let mut h = Harness::new(Role::Server, config());
    let start = h.now;
    h.send(&[syn(1, false)]);
    h.session.reply(id(1), resp(), false).unwrap();
    h.sent();
    for second in (10..=300).step_by(10) {
        h.run_until(start, secs(second));
        h.session
            .send_data(id(1), bytes::Bytes::from_static(b"tick"), second == 300)
            .unwrap();
        assert!(resets(&h.sent()).is_empty(), "reset at {second} s");
    }
    assert!(timed_out(&h.events()).is_empty());
    assert!(h.session.is_open(id(1)));

    h.run_until(start, secs(359));
    assert!(resets(&h.sent()).is_empty());
    h.run_until(start, secs(362));
    assert_eq!(resets(&h.sent()), [(1, RstStatus::Cancel)]);
    assert_eq!(timed_out(&h.events()), [1]);
}

#[test]
fn a_stream_whose_window_we_hold_is_not_timed_out_and_gets_a_full_timeout_after_credit() {
    let mut h = Harness::new(
        Role::Server,
        SessionConfig {
            stream_window: 1024,
            ..config()
        },
    );
    let start = h.now;
    h.send(&[syn(1, false), data(1, &[7; 1024], false)]);
    h.events();
    // The application does not read: the peer has no window left.
    h.run_until(start, secs(600));
    assert!(resets(&h.sent()).is_empty());
    assert!(h.session.is_open(id(1)));

    // The application reads; the WINDOW_UPDATE is queued but not yet sent
    // (the socket is busy): still ours to hold.
    h.session.release_capacity(id(1), 1024);
    h.run_until(start, secs(700));
    assert!(h.session.is_open(id(1)));
    // It goes out at 700 s: the peer has a full timeout from then on.
    let sent = h.sent();
    assert!(sent.contains(&wu(1, 1024)), "{sent:?}");
    h.run_until(start, secs(759));
    assert!(h.session.is_open(id(1)));
    h.run_until(start, secs(761));
    assert_eq!(resets(&h.sent()), [(1, RstStatus::Cancel)]);
    assert_eq!(timed_out(&h.events()), [1]);
}

#[test]
fn streams_held_back_by_the_session_window_wait_for_its_credit() {
    let mut h = Harness::new(
        Role::Server,
        SessionConfig {
            session_window: PROTOCOL_INITIAL_WINDOW,
            ..config()
        },
    );
    let start = h.now;
    // Stream 1 uses up the whole session window; stream 3 could send on its
    // own window but the session window stops it.
    h.send(&[
        syn(1, false),
        syn(3, false),
        data(1, &vec![1; PROTOCOL_INITIAL_WINDOW as usize], false),
    ]);
    h.events();
    h.run_until(start, secs(330));
    assert!(resets(&h.sent()).is_empty());
    assert_eq!(h.session.open_streams(), 2);

    // Reading stream 1 gives session credit back (the stream's own credit
    // waits for half of its 1 MiB window): both streams get a full timeout
    // from when it is sent.
    h.session
        .release_capacity(id(1), PROTOCOL_INITIAL_WINDOW as usize);
    let sent = h.sent();
    assert!(sent.contains(&wu(0, PROTOCOL_INITIAL_WINDOW)), "{sent:?}");
    h.run_until(start, secs(389));
    assert_eq!(h.session.open_streams(), 2);
    h.run_until(start, secs(391));
    assert_eq!(
        resets(&h.sent()),
        [(1, RstStatus::Cancel), (3, RstStatus::Cancel)]
    );
    assert_eq!(timed_out(&h.events()), [1, 3]);
}

#[test]
fn session_credit_for_another_busy_stream_does_not_keep_an_idle_one_alive() {
    let mut h = Harness::new(Role::Server, config());
    let start = h.now;
    h.send(&[syn(1, false), syn(3, false)]);
    h.events();
    // Stream 1 streams a large body that the application reads as it comes:
    // session WINDOW_UPDATEs go out, the session window never runs dry.
    let chunk = vec![0; 256 * 1024];
    for second in (5..=65).step_by(5) {
        h.run_until(start, secs(second));
        h.send(&[data(1, &chunk, false)]);
        h.session.release_capacity(id(1), chunk.len());
        h.sent();
    }
    let events = h.events();
    assert_eq!(timed_out(&events), [3]);
    assert!(h.session.is_open(id(1)));
    assert!(!h.session.is_open(id(3)));
}

#[test]
fn a_finished_request_body_stops_the_clock() {
    let mut h = Harness::new(Role::Server, config());
    let start = h.now;
    h.send(&[syn(1, true), syn(3, false), data(3, b"body", true)]);
    h.events();
    assert_eq!(h.session.open_streams(), 2);
    // Both wait for our reply, for as long as the application takes.
    h.run_until(start, secs(3600));
    assert!(h.sent().is_empty());
    assert_eq!(h.session.open_streams(), 2);
    assert_eq!(h.session.stats().receive_timers, 0);
    assert_eq!(h.session.poll_timeout(), None);
}

#[test]
fn a_reply_that_never_comes_is_cancelled_and_a_reply_restarts_the_clock() {
    let mut h = Harness::new(Role::Client, config());
    let start = h.now;
    let one = h
        .session
        .open_stream(OpenStream::new(req("/slow")).fin(true))
        .unwrap();
    let three = h
        .session
        .open_stream(OpenStream::new(req("/replied")).fin(true))
        .unwrap();
    // The SYN_STREAMs go out at 5 s (the socket was busy): that is when
    // the peer could start answering.
    h.run_until(start, secs(5));
    assert_eq!(h.sent().len(), 2);
    h.run_until(start, secs(30));
    h.send(&[Frame::SynReply(SynReply {
        stream_id: three,
        fin: false,
        headers: resp(),
    })]);
    h.run_until(start, secs(64));
    assert!(h.session.is_open(one));
    h.run_until(start, secs(66));
    assert_eq!(resets(&h.sent()), [(one.get(), RstStatus::Cancel)]);
    assert_eq!(timed_out(&h.events()), [one.get()]);
    h.run_until(start, secs(91));
    assert_eq!(resets(&h.sent()), [(three.get(), RstStatus::Cancel)]);
}

#[test]
fn our_reply_restarts_the_clock_of_a_peer_that_waits_for_it() {
    let mut h = Harness::new(Role::Server, config());
    let start = h.now;
    h.send(&[syn(1, false)]);
    h.run_until(start, secs(50));
    // The application answers late; a peer may wait for the reply before
    // it sends its body (spdystream's CreateStream does).
    h.session.reply(id(1), resp(), false).unwrap();
    h.sent();
    h.run_until(start, secs(109));
    assert!(h.session.is_open(id(1)));
    h.run_until(start, secs(111));
    assert_eq!(resets(&h.sent()), [(1, RstStatus::Cancel)]);
}

#[test]
fn no_timeout_configured_means_no_timer_at_all() {
    let mut h = Harness::new(
        Role::Server,
        SessionConfig {
            stream_receive_timeout: None,
            ..config()
        },
    );
    h.send(&[syn(1, false)]);
    assert_eq!(h.session.poll_timeout(), None);
    assert_eq!(h.session.stats().receive_timers, 0);
    h.advance(secs(24 * 3600));
    assert!(h.session.is_open(id(1)));
    // The spdystream configuration has none: kubectl's stdin idles for hours.
    assert_eq!(
        SessionConfig::spdystream_compatible().stream_receive_timeout,
        None
    );
    assert_eq!(
        SessionConfig::default().stream_receive_timeout,
        Some(DEFAULT_STREAM_RECEIVE_TIMEOUT)
    );
}

#[test]
fn thousands_of_streams_cost_one_wake_up_a_second_and_one_entry_each() {
    let streams = 2_000u32;
    let mut h = Harness::new(
        Role::Server,
        SessionConfig {
            max_concurrent_streams: streams,
            ..config()
        },
    );
    let start = h.now;
    // Streams open at every millisecond of two seconds; even ones send a
    // byte every 7 s, odd ones stay silent.
    for n in 0..streams {
        h.now = start + Duration::from_millis(u64::from(n));
        h.send(&[syn(2 * n + 1, false)]);
    }
    h.events();
    h.sent();
    assert_eq!(h.session.stats().receive_timers, streams as usize);

    let mut wake_ups = 0;
    let mut next_tick = secs(7);
    let end = start + secs(75);
    while let Some(deadline) = h.session.poll_timeout() {
        let tick_at = start + next_tick;
        if deadline.min(tick_at) > end {
            break;
        }
        if tick_at <= deadline {
            h.now = tick_at;
            let frames: Vec<Frame> = (0..streams)
                .step_by(2)
                .map(|n| data(2 * n + 1, b"x", false))
                .collect();
            h.send(&frames);
            next_tick += secs(7);
            continue;
        }
        // Deadlines fall on whole seconds after the start.
        assert_eq!(deadline.duration_since(start).subsec_nanos(), 0);
        h.now = deadline;
        h.session.handle_timeout(h.now);
        wake_ups += 1;
        assert!(h.session.stats().receive_timers <= h.session.open_streams());
    }
    // 75 s with a timer for every stream, and one wake-up for each second
    // in which first deadlines fell (streams opened at 0 s, in (0, 1] s and
    // in (1, 2) s); the busy streams' entries moved past the end of the run.
    assert_eq!(wake_ups, 3);
    let events = h.events();
    let cancelled = timed_out(&events);
    assert_eq!(cancelled.len(), streams as usize / 2);
    assert!(cancelled.iter().all(|&n| (n - 1) / 2 % 2 == 1));
    assert_eq!(h.session.open_streams(), streams as usize / 2);
    assert_eq!(h.session.stats().receive_timers, streams as usize / 2);
}

#[test]
fn a_stream_opened_after_a_long_quiet_spell_counts_from_its_syn_stream() {
    // Nothing carried the time into the session for an hour (no timer was
    // due); the stream's clock must not start in the past.
    let mut h = Harness::new(Role::Client, config());
    let start = h.now;
    h.now = start + secs(3600);
    let one = h
        .session
        .open_stream(OpenStream::new(req("/")).fin(true))
        .unwrap();
    // A driver looks at the timers before it writes.
    if let Some(deadline) = h.session.poll_timeout() {
        assert!(deadline > h.now, "a deadline already passed: {deadline:?}");
    }
    h.session.handle_timeout(h.now);
    assert!(h.session.is_open(one));
    assert_eq!(h.sent().len(), 1, "the SYN_STREAM");
    h.run_until(start, secs(3659));
    assert!(h.session.is_open(one));
    h.run_until(start, secs(3661));
    assert_eq!(resets(&h.sent()), [(one.get(), RstStatus::Cancel)]);
}
