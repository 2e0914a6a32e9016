//! The session fuzz targets: arbitrary frame sequences (encoded with a real
//! compression context), raw byte chunks, application commands and clock
//! advances fed to a [`Session`], with invariants checked after every step.
//!
//! The invariants:
//! - nothing panics, whatever the peer sends or the application asks;
//! - everything the session transmits decodes cleanly with a fresh peer
//!   decoder (so both compression contexts stay in step), starts with
//!   SETTINGS, opens streams with growing ids of its own parity, never opens
//!   one after its GOAWAY, never sends DATA larger than `max_send_frame`,
//!   and nothing at all once the session is finished;
//! - events are consistent: a stream is opened once, receives nothing after
//!   its FIN, ends at most once (reset or closed), is never mentioned after
//!   it ended, and `Closed` is the very last event;
//! - the session's open streams are exactly those the events and commands
//!   say are open;
//! - every queue stays within its bound (control frames, reset memory,
//!   pings, scheduler, per-stream and session send queues, peer streams),
//!   and the session's count of queued send bytes matches its streams';
//! - after `handle_timeout(now)` the next deadline is in the future.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Unstructured};
use bytes::{Bytes, BytesMut};
use spdy_core::frame::{
    Data, DecoderConfig, Frame, FrameDecoder, FrameEncoder, GoAway, GoAwayStatus, HeaderBlock,
    Headers, Ignored, MAX_FRAME_LEN, MAX_WINDOW_DELTA, Ping, Priority, RstStatus, RstStream,
    SettingEntry, SettingFlags, SettingId, Settings, StreamId, SynReply, SynStream, WindowUpdate,
};
use spdy_core::header::HeaderCompression;
use spdy_core::session::{
    Event, FloodLimits, FlowControl, OpenStream, RateLimit, Role, Session, SessionConfig,
};

/// Most steps one input runs.
const MAX_STEPS: usize = 400;
/// Most of our PINGs waiting at once (the session's own bound).
const MAX_OUTSTANDING_PINGS: usize = 16;

/// A header block the peer or the application uses.
#[derive(Arbitrary, Debug)]
enum Block {
    Request,
    Response,
    PushRequest,
    Empty,
    Any(HeaderBlock),
}

impl Block {
    fn build(self) -> HeaderBlock {
        let mut b = HeaderBlock::new();
        match self {
            Block::Request => {
                b.push(":method", "GET");
                b.push(":path", "/");
                b.push(":version", "HTTP/1.1");
                b.push(":host", "localhost");
                b.push(":scheme", "https");
            }
            Block::Response => {
                b.push(":status", "200");
                b.push(":version", "HTTP/1.1");
            }
            Block::PushRequest => {
                b.push(":scheme", "https");
                b.push(":host", "localhost");
                b.push(":path", "/pushed");
            }
            Block::Empty => {}
            Block::Any(block) => return block,
        }
        b
    }
}

/// A frame from the peer. Stream ids are small so they meet open streams.
#[derive(Arbitrary, Debug)]
enum PeerFrame {
    SynStream {
        id: u8,
        associated: u8,
        priority: u8,
        fin: bool,
        unidirectional: bool,
        headers: Block,
    },
    SynReply {
        id: u8,
        fin: bool,
        headers: Block,
    },
    Headers {
        id: u8,
        fin: bool,
        headers: Block,
    },
    Data {
        id: u8,
        len: u16,
        fin: bool,
    },
    Rst {
        id: u8,
        status: u8,
    },
    Settings {
        clear: bool,
        entries: Vec<(u8, u32, u8)>,
    },
    Ping(u32),
    /// Echoes the last PING the session sent, if any.
    EchoPing,
    GoAway {
        last_good: u8,
        status: u8,
    },
    WindowUpdate {
        id: u8,
        delta: u32,
    },
    Ignored {
        frame_type: u16,
        flags: u8,
        length: u8,
    },
    /// Any valid frame, with any ids.
    Any(Frame),
}

/// One step of an input.
#[derive(Arbitrary, Debug)]
enum Step {
    Peer(PeerFrame),
    /// Raw bytes after the frames so far (usually breaking the framing).
    Raw(Vec<u8>),
    /// Hands up to this many pending bytes to `receive`.
    Deliver(u16),
    DeliverAll,
    /// Takes up to this many transmits.
    Transmit(u8),
    TransmitAll,
    /// Moves the clock by this many 10 ms.
    Advance(u16),
    AdvanceSeconds(u8),
    Open {
        priority: u8,
        fin: bool,
        unidirectional: bool,
        push_for: Option<u8>,
        headers: Block,
    },
    Reply {
        stream: u8,
        fin: bool,
    },
    SendData {
        stream: u8,
        len: u16,
        fin: bool,
    },
    SendHeaders {
        stream: u8,
        fin: bool,
    },
    Reset {
        stream: u8,
        status: u8,
    },
    Release {
        stream: u8,
        n: u32,
    },
    ResetWhenSent {
        stream: u8,
        status: u8,
    },
    Ping,
    GoAway(u8),
    Close,
    SendSettings {
        window: Option<u32>,
        max_streams: Option<u8>,
    },
    SetPriority {
        stream: u8,
        priority: u8,
    },
    NotifySent(u8),
    NotifyWritable(u8),
    ConnectionLost,
}

/// The configuration an input starts with: small limits, so the fuzzer
/// reaches them.
#[derive(Arbitrary, Debug)]
struct Setup {
    strict: bool,
    peer_bidirectional: bool,
    accept_push: bool,
    keepalive: bool,
    stream_window: u8,
    session_window: u8,
    max_send_frame: u8,
    max_send_buffer: u8,
    deflate: bool,
}

fn pick<T: Copy>(choices: &[T], n: u8) -> T {
    choices[usize::from(n) % choices.len()]
}

impl Setup {
    fn config(&self) -> SessionConfig {
        let flood = RateLimit::new(40, Duration::from_secs(10));
        SessionConfig {
            stream_window: pick(&[1, 100, 1024, 65_535, 65_536, 1 << 20], self.stream_window),
            session_window: pick(&[1, 65_536, 100_000, 1 << 24], self.session_window),
            max_concurrent_streams: 6,
            assumed_peer_max_concurrent_streams: 8,
            flow_control: if self.strict {
                FlowControl::Strict
            } else {
                FlowControl::Disabled
            },
            accept_peer_bidirectional_streams: self.peer_bidirectional,
            accept_push: self.accept_push,
            max_send_frame: pick(&[0, 1, 100, 4096, 16_384], self.max_send_frame),
            max_send_buffer: pick(&[0, 1, 1000, 65_536], self.max_send_buffer),
            // Derived from fields the corpus already has, so its inputs
            // keep their meaning.
            max_session_send_buffer: pick(
                &[1, 2_000, 100_000],
                self.max_send_buffer ^ self.session_window,
            ),
            stream_send_timeout: Some(Duration::from_secs(30)),
            max_header_block_size: 4096,
            max_control_frame_len: 4096,
            max_data_frame_len: 4096,
            max_queued_control_frames: 32,
            reset_stream_memory: Duration::from_secs(10),
            max_remembered_resets: 16,
            keepalive_interval: self.keepalive.then_some(Duration::from_secs(30)),
            ping_timeout: Duration::from_secs(5),
            idle_timeout: Some(Duration::from_secs(120)),
            stream_receive_timeout: Some(Duration::from_secs(20)),
            flood_limits: FloodLimits {
                pings: flood,
                settings: flood,
                resets: flood,
                empty_frames: flood,
                small_window_updates: flood,
            },
            initial_stream_id: None,
            header_compression: if self.deflate {
                HeaderCompression::Deflate { level: 1 }
            } else {
                HeaderCompression::Stored
            },
        }
    }
}

/// What the events and commands say about the session.
#[derive(Default)]
struct Model {
    open: HashSet<StreamId>,
    /// Open streams on which the peer can send nothing more.
    recv_done: HashSet<StreamId>,
    /// Streams that ended (reset or closed); ids are never reused.
    ended: HashSet<StreamId>,
    /// Open streams the peer started.
    peer_open: HashSet<StreamId>,
    closed: bool,
    /// The highest MAX_CONCURRENT_STREAMS we ever announced.
    max_peer_streams: u32,
}

/// The session under test, its scripted peer and the checks.
struct Run {
    role: Role,
    config: SessionConfig,
    session: Session,
    now: Instant,
    /// Encoded by the peer, not yet handed to the session.
    wire: BytesMut,
    /// Handed to the session, not yet consumed (a partial frame).
    inbox: BytesMut,
    peer_encoder: FrameEncoder,
    /// Decodes what the session sends, as the peer would.
    peer_decoder: FrameDecoder,
    outbox: BytesMut,
    model: Model,
    /// Every stream id the run has seen, for commands to pick from.
    known: Vec<StreamId>,
    last_ping_sent: Option<u32>,
    sent_frames: u64,
    last_syn_stream: Option<StreamId>,
    goaway_sent: bool,
    /// Control frames commands may have queued since the last full transmit.
    commands_since_drain: usize,
    /// Bytes received since the last full transmit (they may earn WINDOW_UPDATEs).
    received_since_drain: usize,
    /// What the application queued and what went out, per stream.
    sending: HashMap<StreamId, Sending>,
}

/// One stream's sending half as the application and the wire saw it.
#[derive(Default)]
struct Sending {
    /// Payload bytes `send_data` accepted.
    accepted: u64,
    /// The application queued FIN.
    fin_queued: bool,
    /// Payload bytes sent in DATA frames.
    sent: u64,
    /// A frame with FIN went out.
    fin_sent: bool,
}

impl Run {
    fn new(role: Role, setup: &Setup) -> Self {
        let config = setup.config();
        let now = Instant::now();
        let session = Session::new(role, config.clone(), now);
        let max_peer_streams = config.max_concurrent_streams;
        Run {
            role,
            session,
            now,
            wire: BytesMut::new(),
            inbox: BytesMut::new(),
            peer_encoder: FrameEncoder::new(),
            peer_decoder: FrameDecoder::with_config(DecoderConfig {
                max_control_frame_len: MAX_FRAME_LEN,
                max_data_frame_len: MAX_FRAME_LEN,
                max_header_block_size: 1 << 20,
                validate_headers: false,
            }),
            outbox: BytesMut::new(),
            model: Model {
                max_peer_streams,
                ..Model::default()
            },
            known: Vec::new(),
            last_ping_sent: None,
            sent_frames: 0,
            last_syn_stream: None,
            goaway_sent: false,
            commands_since_drain: 2,
            received_since_drain: 0,
            sending: HashMap::new(),
            config,
        }
    }

    fn stream(&self, n: u8) -> StreamId {
        if self.known.is_empty() {
            StreamId::new(u32::from(n))
        } else {
            self.known[usize::from(n) % self.known.len()]
        }
    }

    fn learn(&mut self, id: StreamId) {
        if !self.known.contains(&id) && self.known.len() < 64 {
            self.known.push(id);
        }
    }

    fn peer_frame(&mut self, frame: PeerFrame) {
        let small = |n: u8| StreamId::new(u32::from(n));
        let frame = match frame {
            PeerFrame::SynStream {
                id,
                associated,
                priority,
                fin,
                unidirectional,
                headers,
            } => Frame::SynStream(SynStream {
                stream_id: small(id.max(1)),
                associated_to: small(associated),
                priority: Priority::new(priority),
                slot: 0,
                fin,
                unidirectional,
                headers: headers.build(),
            }),
            PeerFrame::SynReply { id, fin, headers } => Frame::SynReply(SynReply {
                stream_id: small(id.max(1)),
                fin,
                headers: headers.build(),
            }),
            PeerFrame::Headers { id, fin, headers } => Frame::Headers(Headers {
                stream_id: small(id.max(1)),
                fin,
                headers: headers.build(),
            }),
            PeerFrame::Data { id, len, fin } => Frame::Data(Data {
                stream_id: small(id.max(1)),
                fin,
                payload: Bytes::from(vec![0x5a; usize::from(len) % 6000]),
            }),
            PeerFrame::Rst { id, status } => Frame::RstStream(RstStream {
                stream_id: small(id),
                status: RstStatus::from_code(u32::from(status.max(1))),
            }),
            PeerFrame::Settings { clear, entries } => Frame::Settings(Settings {
                clear_settings: clear,
                entries: entries
                    .into_iter()
                    .take(8)
                    .map(|(id, value, flags)| SettingEntry {
                        id: SettingId::from_code(u32::from(id % 10)),
                        value,
                        flags: SettingFlags::from_bits(flags),
                    })
                    .collect(),
            }),
            PeerFrame::Ping(id) => Frame::Ping(Ping { id }),
            PeerFrame::EchoPing => match self.last_ping_sent {
                Some(id) => Frame::Ping(Ping { id }),
                None => return,
            },
            PeerFrame::GoAway { last_good, status } => Frame::GoAway(GoAway {
                last_good_stream_id: small(last_good),
                status: GoAwayStatus::from_code(u32::from(status % 4)),
            }),
            PeerFrame::WindowUpdate { id, delta } => Frame::WindowUpdate(WindowUpdate {
                stream_id: small(id),
                delta: delta.clamp(1, MAX_WINDOW_DELTA),
            }),
            PeerFrame::Ignored {
                frame_type,
                flags,
                length,
            } => Frame::Ignored(Ignored {
                frame_type: if (1..=9).contains(&frame_type) {
                    10
                } else {
                    frame_type
                },
                flags,
                length: u32::from(length),
            }),
            PeerFrame::Any(frame) => frame,
        };
        if let Some(id) = frame.stream_id() {
            self.learn(id);
        }
        // Valid frames always encode; a failure here is a codec bug.
        self.peer_encoder
            .encode(&frame, &mut self.wire)
            .expect("a valid frame encodes");
    }

    fn deliver(&mut self, n: usize) {
        let n = n.min(self.wire.len());
        let chunk = self.wire.split_to(n);
        self.inbox.extend_from_slice(&chunk);
        self.received_since_drain += n;
        self.session.receive(&mut self.inbox, self.now);
    }

    fn transmit(&mut self, max: usize) {
        let mut drained = true;
        for _ in 0..max {
            match self.session.poll_transmit(self.now) {
                Some(transmit) => {
                    transmit.write_to(&mut self.outbox);
                    drained = false;
                }
                None => {
                    drained = true;
                    break;
                }
            }
            self.decode_sent();
        }
        self.decode_sent();
        if drained {
            self.commands_since_drain = 0;
            self.received_since_drain = 0;
        }
        if self.session.is_finished() {
            assert!(
                self.session.poll_transmit(self.now).is_none(),
                "a finished session sends nothing more"
            );
        }
    }

    /// Checks every frame the session sent, as the peer decodes it.
    fn decode_sent(&mut self) {
        loop {
            let frame = match self.peer_decoder.decode(&mut self.outbox) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(error) => panic!("the session sent a frame its peer cannot decode: {error}"),
            };
            if self.sent_frames == 0 {
                assert!(
                    matches!(frame, Frame::Settings(_)),
                    "the first frame is SETTINGS, not {frame:?}"
                );
            }
            self.sent_frames += 1;
            match &frame {
                Frame::SynStream(f) => {
                    let ours = match self.role {
                        Role::Client => f.stream_id.is_client_initiated(),
                        Role::Server => f.stream_id.is_server_initiated(),
                    };
                    assert!(ours, "SYN_STREAM {} has the peer's parity", f.stream_id);
                    assert!(
                        self.last_syn_stream.is_none_or(|last| f.stream_id > last),
                        "stream ids must grow"
                    );
                    assert!(!self.goaway_sent, "no SYN_STREAM after our GOAWAY");
                    self.last_syn_stream = Some(f.stream_id);
                    if f.fin {
                        self.sending.entry(f.stream_id).or_default().fin_sent = true;
                    }
                }
                Frame::Data(d) => {
                    let sending = self.sending.entry(d.stream_id).or_default();
                    assert!(!sending.fin_sent, "DATA after FIN on {}", d.stream_id);
                    sending.sent += d.payload.len() as u64;
                    assert!(
                        sending.sent <= sending.accepted,
                        "more sent than queued on {}",
                        d.stream_id
                    );
                    if d.fin {
                        assert!(sending.fin_queued, "FIN nobody asked for");
                        assert_eq!(
                            sending.sent, sending.accepted,
                            "FIN before every queued byte went out on {}",
                            d.stream_id
                        );
                        sending.fin_sent = true;
                    }
                    assert!(
                        d.payload.len() <= self.config.max_send_frame.max(1) as usize,
                        "DATA of {} bytes is over max_send_frame",
                        d.payload.len()
                    );
                    assert!(
                        self.model.open.contains(&d.stream_id)
                            || self.model.ended.contains(&d.stream_id)
                            || self.session.is_open(d.stream_id),
                        "DATA for stream {} that never existed",
                        d.stream_id
                    );
                }
                Frame::Headers(h) => {
                    let sending = self.sending.entry(h.stream_id).or_default();
                    assert!(!sending.fin_sent, "HEADERS after FIN on {}", h.stream_id);
                    if h.fin {
                        assert_eq!(
                            sending.sent, sending.accepted,
                            "HEADERS FIN before the data"
                        );
                        sending.fin_sent = true;
                    }
                }
                Frame::SynReply(r) if r.fin => {
                    self.sending.entry(r.stream_id).or_default().fin_sent = true;
                }
                Frame::GoAway(_) => self.goaway_sent = true,
                Frame::Ping(p) if is_ours(self.role, p.id) => self.last_ping_sent = Some(p.id),
                Frame::RstStream(r) => {
                    assert_ne!(r.status.code(), 0, "RST_STREAM status 0");
                }
                _ => {}
            }
        }
    }

    fn command(&mut self, step: Step) {
        let now = self.now;
        self.commands_since_drain += 1;
        match step {
            Step::Open {
                priority,
                fin,
                unidirectional,
                push_for,
                headers,
            } => {
                let mut open = OpenStream::new(headers.build())
                    .priority(Priority::new(priority))
                    .fin(fin)
                    .unidirectional(unidirectional);
                if let Some(n) = push_for {
                    open = open.pushed_for(self.stream(n));
                }
                if let Ok(id) = self.session.open_stream(open) {
                    assert!(
                        !self.model.open.contains(&id) && !self.model.ended.contains(&id),
                        "stream id {id} reused"
                    );
                    self.model.open.insert(id);
                    if unidirectional || push_for.is_some() {
                        self.model.recv_done.insert(id);
                    }
                    self.learn(id);
                }
            }
            Step::Reply { stream, fin } => {
                let id = self.stream(stream);
                let _ = self.session.reply(id, Block::Response.build(), fin);
            }
            Step::SendData { stream, len, fin } => {
                let id = self.stream(stream);
                let accepted = self
                    .session
                    .send_data(id, Bytes::from(vec![0xa5; usize::from(len)]), fin)
                    .is_ok();
                if accepted {
                    let sending = self.sending.entry(id).or_default();
                    assert!(!sending.fin_queued, "send_data accepted after FIN");
                    sending.accepted += u64::from(len);
                    sending.fin_queued = fin;
                }
            }
            Step::SendHeaders { stream, fin } => {
                let id = self.stream(stream);
                if self
                    .session
                    .send_headers(id, Block::Response.build(), fin)
                    .is_ok()
                {
                    let sending = self.sending.entry(id).or_default();
                    assert!(!sending.fin_queued, "send_headers accepted after FIN");
                    sending.fin_queued = fin;
                }
            }
            Step::Reset { stream, status } => {
                let id = self.stream(stream);
                let was_open = self.session.is_open(id);
                self.session
                    .reset(id, RstStatus::from_code(u32::from(status.max(1))), now);
                assert!(!self.session.is_open(id), "a reset stream is gone");
                if was_open {
                    self.end_stream(id);
                }
            }
            Step::ResetWhenSent { stream, status } => {
                let id = self.stream(stream);
                let was_open = self.session.is_open(id);
                self.session
                    .reset_when_sent(id, RstStatus::from_code(u32::from(status.max(1))));
                if was_open && !self.session.is_open(id) {
                    // Reset at once: no FIN was queued.
                    self.end_stream(id);
                }
            }
            Step::Release { stream, n } => {
                let id = self.stream(stream);
                self.session.release_capacity(id, n as usize);
            }
            Step::Ping => {
                let _ = self.session.ping(now);
            }
            Step::GoAway(status) => self
                .session
                .goaway(GoAwayStatus::from_code(u32::from(status % 3))),
            Step::Close => self.session.close(),
            Step::SendSettings {
                window,
                max_streams,
            } => {
                let mut entries = Vec::new();
                if let Some(window) = window {
                    entries.push((SettingId::InitialWindowSize, window));
                }
                if let Some(max) = max_streams {
                    entries.push((SettingId::MaxConcurrentStreams, u32::from(max % 16)));
                }
                if self.session.send_settings(Settings::new(entries)).is_ok()
                    && let Some(max) = max_streams
                {
                    self.model.max_peer_streams =
                        self.model.max_peer_streams.max(u32::from(max % 16));
                }
            }
            Step::SetPriority { stream, priority } => {
                let id = self.stream(stream);
                self.session.set_priority(id, Priority::new(priority));
            }
            Step::NotifySent(stream) => {
                let id = self.stream(stream);
                self.session.notify_when_sent(id);
            }
            Step::NotifyWritable(stream) => {
                let id = self.stream(stream);
                self.session.notify_when_writable(id);
            }
            Step::ConnectionLost => self.session.connection_lost("fuzz"),
            _ => unreachable!("not a command"),
        }
    }

    fn end_stream(&mut self, id: StreamId) {
        self.model.open.remove(&id);
        self.model.recv_done.remove(&id);
        self.model.peer_open.remove(&id);
        self.model.ended.insert(id);
    }

    /// Takes every event and checks it against the model.
    fn check_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            assert!(!self.model.closed, "event after Closed: {event:?}");
            match event {
                Event::StreamOpened {
                    stream_id,
                    fin,
                    unidirectional,
                    ..
                } => {
                    let peer_parity = match self.role {
                        Role::Client => stream_id.is_server_initiated(),
                        Role::Server => stream_id.is_client_initiated(),
                    };
                    assert!(peer_parity, "peer stream {stream_id} has our parity");
                    assert!(
                        !self.model.open.contains(&stream_id)
                            && !self.model.ended.contains(&stream_id),
                        "stream {stream_id} opened twice"
                    );
                    self.model.open.insert(stream_id);
                    self.model.peer_open.insert(stream_id);
                    if fin {
                        self.model.recv_done.insert(stream_id);
                    }
                    let _ = unidirectional;
                    self.learn(stream_id);
                }
                Event::Reply { stream_id, fin, .. }
                | Event::Headers { stream_id, fin, .. }
                | Event::Data { stream_id, fin, .. } => {
                    assert!(
                        self.model.open.contains(&stream_id),
                        "event for stream {stream_id} that is not open"
                    );
                    assert!(
                        !self.model.recv_done.contains(&stream_id),
                        "event for stream {stream_id} after the peer finished it"
                    );
                    if fin {
                        self.model.recv_done.insert(stream_id);
                    }
                }
                Event::Reset { stream_id, .. } | Event::StreamClosed { stream_id } => {
                    assert!(
                        self.model.open.contains(&stream_id),
                        "stream {stream_id} ended but was not open"
                    );
                    self.end_stream(stream_id);
                }
                Event::Writable { stream_id } => {
                    assert!(
                        self.model.open.contains(&stream_id),
                        "Writable for stream {stream_id} that is not open"
                    );
                }
                Event::Closed(_) => {
                    self.model.closed = true;
                    let open: Vec<StreamId> = self.model.open.iter().copied().collect();
                    for id in open {
                        self.end_stream(id);
                    }
                }
                Event::CanOpenStream
                | Event::PingAnswered { .. }
                | Event::Settings(_)
                | Event::GoAway { .. } => {}
            }
        }
    }

    /// The session agrees with the model and every queue is bounded.
    fn check_state(&self) {
        assert_eq!(
            self.session.is_closed(),
            self.model.closed,
            "closed state disagrees"
        );
        assert_eq!(
            self.session.open_streams(),
            self.model.open.len(),
            "open stream count disagrees"
        );
        for id in &self.model.open {
            assert!(self.session.is_open(*id), "stream {id} should be open");
        }
        assert!(
            self.model.peer_open.len() <= self.model.max_peer_streams as usize,
            "{} peer streams over the limit of {}",
            self.model.peer_open.len(),
            self.model.max_peer_streams
        );
        let stats = self.session.stats();
        assert_eq!(stats.queued_events, 0);
        assert!(stats.remembered_resets <= self.config.max_remembered_resets);
        assert!(stats.outstanding_pings <= MAX_OUTSTANDING_PINGS);
        assert!(
            stats.ready_streams <= stats.streams,
            "{} scheduled entries for {} streams",
            stats.ready_streams,
            stats.streams
        );
        let per_stream = self.config.max_send_buffer as usize + usize::from(u16::MAX);
        assert!(stats.queued_send_bytes <= stats.streams * per_stream);
        let queued: usize = self
            .model
            .open
            .iter()
            .filter_map(|id| self.session.queued_bytes(*id))
            .sum();
        assert_eq!(
            stats.queued_send_bytes, queued,
            "the session's count of queued bytes drifted"
        );
        // The session cap, plus per stream its frame's worth and what one
        // send_data accepted below that may carry past it.
        let frame = self.config.max_send_frame.max(1) as usize;
        let session_bound =
            self.config.max_session_send_buffer + stats.streams * (frame + usize::from(u16::MAX));
        assert!(
            stats.queued_send_bytes <= session_bound,
            "{} bytes queued (bound {session_bound})",
            stats.queued_send_bytes
        );
        let control_bound = self.config.max_queued_control_frames
            + self.commands_since_drain
            + self.received_since_drain / 16_384
            + 4;
        assert!(
            stats.queued_control_frames <= control_bound,
            "{} control frames queued (bound {control_bound})",
            stats.queued_control_frames
        );
    }

    fn step(&mut self, step: Step) {
        match step {
            Step::Peer(frame) => self.peer_frame(frame),
            Step::Raw(mut bytes) => {
                bytes.truncate(64);
                self.wire.extend_from_slice(&bytes);
            }
            Step::Deliver(n) => self.deliver(usize::from(n)),
            Step::DeliverAll => self.deliver(usize::MAX),
            Step::Transmit(n) => self.transmit(usize::from(n % 8) + 1),
            Step::TransmitAll => self.transmit(usize::MAX),
            Step::Advance(n) => self.advance(Duration::from_millis(u64::from(n) * 10)),
            Step::AdvanceSeconds(n) => self.advance(Duration::from_secs(u64::from(n))),
            command => self.command(command),
        }
        self.check_events();
        self.check_state();
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.session.handle_timeout(self.now);
        if let Some(deadline) = self.session.poll_timeout() {
            assert!(
                deadline > self.now,
                "after handle_timeout the next deadline must be in the future"
            );
        }
    }
}

fn is_ours(role: Role, ping: u32) -> bool {
    match role {
        Role::Client => ping % 2 == 1,
        Role::Server => ping.is_multiple_of(2),
    }
}

fn run(role: Role, data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(setup) = Setup::arbitrary(&mut u) else {
        return;
    };
    let mut run = Run::new(role, &setup);
    for _ in 0..MAX_STEPS {
        if u.is_empty() {
            break;
        }
        let Ok(step) = Step::arbitrary(&mut u) else {
            break;
        };
        run.step(step);
    }
    // The end: everything delivered and sent, still consistent.
    run.step(Step::DeliverAll);
    run.step(Step::TransmitAll);
}

/// A server session fed an arbitrary script.
pub fn session_server(data: &[u8]) {
    run(Role::Server, data);
}

/// A client session fed an arbitrary script.
pub fn session_client(data: &[u8]) {
    run(Role::Client, data);
}
