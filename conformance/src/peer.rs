//! The scripted peer: speaks raw frames to the end under test with its own
//! encoder and decoder (so its own compression contexts), reads in the
//! background so the end is never held back unless the scenario says
//! `stop_reading`, and records every frame each way.

use bytes::BytesMut;
use serde_norway::Value;
use spdy_core::frame::{DecoderConfig, Frame, FrameDecoder, FrameEncoder, MAX_FRAME_LEN};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::notation::{FrameNote, RenderOptions};
use crate::record::{Recorder, What, data_len};

/// Something the peer read from the end.
#[derive(Clone, Debug)]
pub enum Incoming {
    /// A frame, as a note and as a value for matching.
    Frame {
        /// The note.
        note: FrameNote,
        /// The note as a YAML value with `data_len` added for DATA.
        value: Value,
    },
    /// Bytes that do not decode as a valid frame.
    Undecodable(String),
    /// The end closed the connection (or reading failed).
    Closed(String),
}

/// Why the peer could not get the next frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NextError {
    /// Nothing came before the deadline.
    TimedOut,
}

/// The scripted peer.
pub struct Peer {
    write: Option<WriteHalf<DuplexStream>>,
    encoder: FrameEncoder,
    incoming: mpsc::UnboundedReceiver<Incoming>,
    reading: watch::Sender<bool>,
    reader: Option<JoinHandle<()>>,
    recorder: Recorder,
    closed: Option<String>,
    /// Read but looked at and left by `take_ready`.
    pending: Option<Incoming>,
}

impl Peer {
    /// Starts the peer on its end of the connection.
    pub fn new(io: DuplexStream, recorder: Recorder) -> Peer {
        let (read, write) = tokio::io::split(io);
        let (tx, incoming) = mpsc::unbounded_channel();
        let (reading, reading_rx) = watch::channel(true);
        let reader = tokio::spawn(read_loop(read, reading_rx, tx, recorder.clone()));
        Peer {
            write: Some(write),
            encoder: FrameEncoder::new(),
            incoming,
            reading,
            reader: Some(reader),
            recorder,
            closed: None,
            pending: None,
        }
    }

    /// Encodes and writes notes, in writes of at most `chunk` bytes when
    /// given (yielding between them, so the end sees each piece alone).
    /// Recorded first, so the transcript shows what was sent even when the
    /// write fails.
    pub async fn send(
        &mut self,
        notes: &[FrameNote],
        chunk: Option<usize>,
        deadline: Instant,
        record: bool,
    ) -> Result<(), String> {
        let mut bytes = BytesMut::new();
        for note in notes {
            note.encode(&mut self.encoder, &mut bytes)
                .map_err(|e| format!("cannot encode {note:?}: {e}"))?;
            if record {
                self.recorder.record(What::Peer(note.clone()));
            }
        }
        let write = self
            .write
            .as_mut()
            .ok_or("the peer has closed its side already")?;
        let chunk = chunk.unwrap_or(bytes.len().max(1));
        for piece in bytes.chunks(chunk) {
            match tokio::time::timeout_at(deadline, write.write_all(piece)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(format!("the peer's write failed: {e}")),
                Err(_) => {
                    return Err("the peer's write did not complete: the end stopped reading".into());
                }
            }
            if chunk < bytes.len() {
                tokio::task::yield_now().await;
            }
        }
        Ok(())
    }

    /// The next thing read from the end, waiting until `deadline`.
    pub async fn next(&mut self, deadline: Instant) -> Result<Incoming, NextError> {
        if let Some(why) = &self.closed {
            return Ok(Incoming::Closed(why.clone()));
        }
        if let Some(incoming) = self.pending.take() {
            if let Incoming::Closed(why) = &incoming {
                self.closed = Some(why.clone());
            }
            return Ok(incoming);
        }
        match tokio::time::timeout_at(deadline, self.incoming.recv()).await {
            Ok(Some(incoming)) => {
                if let Incoming::Closed(why) = &incoming {
                    self.closed = Some(why.clone());
                }
                Ok(incoming)
            }
            Ok(None) => {
                let why = "the peer stopped reading for good".to_owned();
                self.closed = Some(why.clone());
                Ok(Incoming::Closed(why))
            }
            Err(_) => Err(NextError::TimedOut),
        }
    }

    /// The next thing already read, without waiting, if it satisfies `keep`;
    /// otherwise it stays for the next `next`.
    pub fn take_ready(&mut self, keep: impl Fn(&Incoming) -> bool) -> Option<Incoming> {
        if self.pending.is_none() {
            self.pending = self.incoming.try_recv().ok();
        }
        if self.pending.as_ref().is_some_and(keep) {
            return self.pending.take();
        }
        None
    }

    /// True once the end closed the connection (as far as read so far).
    pub fn saw_close(&self) -> bool {
        self.closed.is_some()
    }

    /// How the connection ended, as far as read so far.
    pub fn closed_reason(&self) -> Option<String> {
        self.closed.clone()
    }

    /// Stops or resumes reading the connection.
    pub fn set_reading(&mut self, on: bool) {
        let _ = self.reading.send(on);
    }

    /// Shuts down the peer's writing half (the end reads EOF).
    pub async fn half_close(&mut self) -> Result<(), String> {
        match self.write.as_mut() {
            Some(write) => write
                .shutdown()
                .await
                .map_err(|e| format!("shutdown failed: {e}")),
            None => Err("the peer has closed its side already".into()),
        }
    }

    /// Drops the connection at once.
    pub async fn disconnect(&mut self) {
        self.write = None;
        if let Some(reader) = self.reader.take() {
            reader.abort();
            let _ = reader.await;
        }
        self.closed
            .get_or_insert_with(|| "the peer disconnected".into());
    }
}

async fn read_loop(
    mut read: ReadHalf<DuplexStream>,
    mut reading: watch::Receiver<bool>,
    tx: mpsc::UnboundedSender<Incoming>,
    recorder: Recorder,
) {
    let mut decoder = FrameDecoder::with_config(DecoderConfig {
        max_control_frame_len: MAX_FRAME_LEN,
        max_data_frame_len: MAX_FRAME_LEN,
        max_header_block_size: 16 * 1024 * 1024,
        validate_headers: true,
    });
    let options = RenderOptions::default();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut stopped = false;
    loop {
        while !*reading.borrow_and_update() {
            if reading.changed().await.is_err() {
                return;
            }
        }
        let read_result = tokio::select! {
            biased;
            changed = reading.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
            result = read.read_buf(&mut buf) => result,
        };
        match read_result {
            Ok(0) => {
                let why = if buf.is_empty() && decoder.is_at_frame_boundary() {
                    "the end closed the connection".to_owned()
                } else {
                    format!(
                        "the end closed the connection inside a frame ({} bytes pending)",
                        buf.len()
                    )
                };
                recorder.record(What::Step(format!("eof: {why}")));
                let _ = tx.send(Incoming::Closed(why));
                return;
            }
            Ok(_) => {}
            Err(e) => {
                let why = format!("reading failed: {e}");
                recorder.record(What::Step(format!("eof: {why}")));
                let _ = tx.send(Incoming::Closed(why));
                return;
            }
        }
        if stopped {
            buf.clear();
            continue;
        }
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    let note = FrameNote::from_frame(&frame, &options);
                    let value = note_value(&note, &frame);
                    recorder.record(What::End(note.clone()));
                    let _ = tx.send(Incoming::Frame { note, value });
                }
                Ok(None) => break,
                Err(error) => {
                    let text = error.to_string();
                    recorder.record(What::EndUndecodable(text.clone()));
                    let _ = tx.send(Incoming::Undecodable(text));
                    if error.scope().is_session_error() {
                        stopped = true;
                        buf.clear();
                        break;
                    }
                }
            }
        }
    }
}

/// The value patterns are matched against: the note, with `data_len` on
/// every DATA frame.
fn note_value(note: &FrameNote, frame: &Frame) -> Value {
    let mut value = serde_norway::to_value(note).unwrap_or(Value::Null);
    if let (Frame::Data(_), Value::Mapping(map)) = (frame, &mut value) {
        map.insert(
            Value::String("data_len".into()),
            Value::Number(data_len(note).into()),
        );
    }
    value
}
