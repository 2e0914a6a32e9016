//! Streams the application refuses, or drops without accepting, give back
//! what their unread DATA held: the session receive window (so a strict
//! peer is not starved) and the driver's receive buffer budget (so the
//! connection task keeps reading the socket).
//!
//! A scripted client opens streams carrying DATA (no FIN) to a server-side
//! driver; after each stream's DATA it sends a PING and waits for the
//! answer, so the DATA is known to sit in the stream's buffer before the
//! application refuses or drops the stream. Every wait is bounded; the clock
//! is paused, so a wait that can never end fails at once.

#![allow(clippy::unwrap_used)]

mod virtual_time;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use spdy_core::driver::{DriverConfig, SessionHandle, connect};
use spdy_core::frame::{
    Data, Frame, FrameDecoder, FrameEncoder, Ping, RstStatus, StreamId, SynStream,
};
use spdy_core::header::HeaderBlock;
use spdy_core::session::{
    DEFAULT_SESSION_WINDOW, FlowControl, PROTOCOL_INITIAL_WINDOW, Role, SessionConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};
use tokio::time::timeout;
use virtual_time::in_virtual_time;

/// Bound on every wait, in the paused (virtual) clock.
const LIMIT: Duration = Duration::from_secs(30);

/// What the application does with each stream the peer opens.
#[derive(Clone, Copy, Debug)]
enum Unaccepted {
    /// `IncomingStream::refuse(REFUSED_STREAM)`.
    Refused,
    /// The `IncomingStream` is dropped without an answer.
    Dropped,
}

impl Unaccepted {
    fn expected_status(self) -> RstStatus {
        match self {
            Unaccepted::Refused => RstStatus::RefusedStream,
            Unaccepted::Dropped => RstStatus::Cancel,
        }
    }
}

/// A client written frame by frame, which keeps to the session window
/// the server grants when `strict`.
struct ScriptedClient {
    read: ReadHalf<DuplexStream>,
    write: WriteHalf<DuplexStream>,
    encoder: FrameEncoder,
    decoder: FrameDecoder,
    inbox: BytesMut,
    /// What the client may still send on the session.
    session_window: u64,
    /// Session credit the server gave after its opening WINDOW_UPDATE.
    credited: u64,
    opening_credit_seen: bool,
    next_ping: u32,
    next_stream: u32,
}

impl ScriptedClient {
    fn new(io: DuplexStream) -> Self {
        let (read, write) = tokio::io::split(io);
        ScriptedClient {
            read,
            write,
            encoder: FrameEncoder::new(),
            decoder: FrameDecoder::new(),
            inbox: BytesMut::new(),
            session_window: u64::from(PROTOCOL_INITIAL_WINDOW),
            credited: 0,
            opening_credit_seen: false,
            next_ping: 1,
            next_stream: 1,
        }
    }

    async fn send(&mut self, frames: &[Frame]) {
        let mut wire = BytesMut::new();
        for frame in frames {
            self.encoder.encode(frame, &mut wire).unwrap();
        }
        timeout(LIMIT, self.write.write_all(&wire))
            .await
            .expect("the server stopped reading the socket")
            .unwrap();
    }

    /// The server's next frame, with session credit accounted.
    async fn next_frame(&mut self, waiting_for: &str) -> Frame {
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.inbox).unwrap() {
                if let Frame::WindowUpdate(update) = &frame
                    && update.stream_id.is_zero()
                {
                    self.session_window += u64::from(update.delta);
                    if self.opening_credit_seen {
                        self.credited += u64::from(update.delta);
                    }
                    self.opening_credit_seen = true;
                }
                return frame;
            }
            let n = timeout(LIMIT, self.read.read_buf(&mut self.inbox))
                .await
                .unwrap_or_else(|_| panic!("no answer from the server: {waiting_for}"))
                .unwrap();
            assert!(n > 0, "the server closed the connection: {waiting_for}");
        }
    }

    /// Reads until the server's opening session WINDOW_UPDATE has arrived.
    async fn handshake(&mut self) {
        while !self.opening_credit_seen {
            self.next_frame("the opening SETTINGS and WINDOW_UPDATE")
                .await;
        }
    }

    /// Sends a PING and reads until its answer: everything sent before it
    /// has been received and handed to the application's side.
    async fn sync(&mut self) {
        let id = self.next_ping;
        self.next_ping += 2;
        self.send(&[Frame::Ping(Ping { id })]).await;
        loop {
            if let Frame::Ping(ping) = self.next_frame("a PING answer").await
                && ping.id == id
            {
                return;
            }
        }
    }

    /// Waits until `len` bytes may be sent on the session.
    async fn credit_for(&mut self, len: usize) {
        while self.session_window < len as u64 {
            self.next_frame("session credit for the discarded DATA")
                .await;
        }
    }

    /// Opens a stream and sends `len` bytes on it (FIN with the DATA when `fin`).
    async fn open_with_data(&mut self, len: usize, fin: bool) -> StreamId {
        let id = StreamId::new(self.next_stream);
        self.next_stream += 2;
        let mut headers = HeaderBlock::new();
        headers.push(":path", format!("/{id}"));
        self.session_window = self.session_window.saturating_sub(len as u64);
        self.send(&[
            Frame::SynStream(SynStream::new(id, headers)),
            Frame::Data(Data::new(id, Bytes::from(vec![7u8; len])).with_fin(fin)),
        ])
        .await;
        id
    }

    /// Reads until the server resets `id`.
    async fn reset_of(&mut self, id: StreamId) -> RstStatus {
        loop {
            if let Frame::RstStream(rst) = self.next_frame("the stream's RST_STREAM").await
                && rst.stream_id == id
            {
                return rst.status;
            }
        }
    }
}

async fn accept(server: &SessionHandle) -> spdy_core::driver::IncomingStream {
    timeout(LIMIT, server.accept())
        .await
        .expect("the stream reaches the application")
        .expect("the session is open")
}

/// `streams` streams of `len` bytes each are opened and refused or dropped
/// with their DATA unread; then one more is read to the end. Returns the
/// session credit the server gave back (after its opening WINDOW_UPDATE).
async fn discard_then_read_one(
    config: SessionConfig,
    driver: DriverConfig,
    what: Unaccepted,
    streams: usize,
    len: usize,
) -> u64 {
    let strict = config.flow_control == FlowControl::Strict;
    let (ours, theirs) = tokio::io::duplex(256 * 1024);
    let (server, connection) = connect(ours, Role::Server, config, driver);
    let connection = tokio::spawn(connection);
    let mut client = ScriptedClient::new(theirs);
    client.handshake().await;

    for _ in 0..streams {
        if strict {
            client.credit_for(len).await;
        }
        let id = client.open_with_data(len, false).await;
        client.sync().await;
        let incoming = accept(&server).await;
        assert_eq!(incoming.id(), id);
        match what {
            Unaccepted::Refused => incoming.refuse(RstStatus::RefusedStream),
            Unaccepted::Dropped => drop(incoming),
        }
        assert_eq!(client.reset_of(id).await, what.expected_status());
    }

    // One more stream, read by the application: its DATA still gets in.
    if strict {
        client.credit_for(len).await;
    }
    let id = client.open_with_data(len, true).await;
    let incoming = accept(&server).await;
    assert_eq!(incoming.id(), id);
    let (_responder, mut recv) = incoming.into_parts();
    let body = timeout(LIMIT, recv.collect(len))
        .await
        .expect("the last stream's DATA is read: the driver still reads the socket")
        .unwrap();
    assert_eq!(body.len(), len);
    // And the server still answers.
    client.sync().await;
    assert!(!connection.is_finished());
    connection.abort();
    client.credited
}

/// Under strict flow control, more than a whole session window of DATA on
/// refused (or dropped) streams: the server credits it all back, so the
/// peer can go on sending.
fn strict_peer_is_credited(what: Unaccepted) {
    in_virtual_time(async move {
        let window = DEFAULT_SESSION_WINDOW as usize;
        let len = 512 * 1024;
        let streams = window / len + 4;
        let credited = discard_then_read_one(
            SessionConfig::default(),
            DriverConfig::default(),
            what,
            streams,
            len,
        )
        .await;
        let discarded = (streams * len) as u64;
        // Credit goes out once half a window is owed.
        assert!(
            credited + (window / 2) as u64 >= discarded,
            "{what:?}: {discarded} bytes discarded, {credited} credited"
        );
    });
}

/// Without flow control the driver's receive budget is the only bound:
/// DATA on refused (or dropped) streams must not use it up, or the driver
/// stops reading the socket for good.
fn receive_budget_is_given_back(what: Unaccepted) {
    in_virtual_time(async move {
        let budget = 64 * 1024;
        let len = 16 * 1024;
        let streams = 4 * budget / len;
        let config = SessionConfig {
            flow_control: FlowControl::Disabled,
            ..SessionConfig::default()
        };
        let driver = DriverConfig {
            max_buffered_recv: budget,
            ..DriverConfig::default()
        };
        discard_then_read_one(config, driver, what, streams, len).await;
    });
}

#[test]
fn refused_streams_give_back_the_session_window_of_their_unread_data() {
    strict_peer_is_credited(Unaccepted::Refused);
}

#[test]
fn dropped_incoming_streams_give_back_the_session_window_of_their_unread_data() {
    strict_peer_is_credited(Unaccepted::Dropped);
}

#[test]
fn refused_streams_give_back_the_receive_buffer_budget() {
    receive_budget_is_given_back(Unaccepted::Refused);
}

#[test]
fn dropped_incoming_streams_give_back_the_receive_buffer_budget() {
    receive_budget_is_given_back(Unaccepted::Dropped);
}
