//! Replays a scenario against an end under tokio's paused clock and checks
//! every expectation; the transcript it returns is what the snapshot holds.
//!
//! Each run gets its own single-threaded runtime whose clock only moves
//! when every task waits, so timeouts of seconds or minutes cost no real
//! time and runs are deterministic. A run that does not finish in
//! [`REAL_TIME_LIMIT`] of real time (a busy loop) is reported as failed.

use std::time::Duration;

use serde_norway::Value;
use spdy_core::session::PROTOCOL_INITIAL_WINDOW;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::duration::Dur;
use crate::end::{End, Setup};
use crate::pattern::{brief, frame_pattern, matches};
use crate::peer::{Incoming, NextError, Peer};
use crate::record::{Recorder, What, render};
use crate::scenario::{
    CutSweepSpec, DEFAULT_PIPE_BUFFER, DEFAULT_WITHIN, ExpectDataSpec, Scenario, StepKind,
};

/// Real time a run may take before it is declared stuck.
pub const REAL_TIME_LIMIT: Duration = Duration::from_secs(60);
/// Virtual time given to the end after the last step, so what it was doing settles.
const SETTLE: Duration = Duration::from_millis(100);

/// The result of one scenario against one end.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// `group/name`.
    pub scenario: String,
    /// The end's name.
    pub end: &'static str,
    /// Expectations that failed (empty when the run passed).
    pub failures: Vec<String>,
    /// The transcript as YAML, for the snapshot.
    pub transcript: String,
}

impl Outcome {
    /// True when every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs `scenario` against `end`.
pub fn run(scenario: &Scenario, end: &'static dyn End) -> Outcome {
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = scenario.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("{}@{}", scenario.name, end.name()))
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build();
            let outcome = match runtime {
                Ok(runtime) => runtime.block_on(run_async(&owned, end)),
                Err(e) => failed(&owned, end, format!("cannot build a runtime: {e}")),
            };
            let _ = tx.send(outcome);
        });
    if let Err(e) = spawned {
        return failed(scenario, end, format!("cannot start a thread: {e}"));
    }
    match rx.recv_timeout(REAL_TIME_LIMIT) {
        Ok(outcome) => outcome,
        Err(_) => failed(
            scenario,
            end,
            format!("did not finish within {REAL_TIME_LIMIT:?} of real time: something busy-loops"),
        ),
    }
}

fn failed(scenario: &Scenario, end: &'static dyn End, why: String) -> Outcome {
    Outcome {
        scenario: scenario.name.clone(),
        end: end.name(),
        failures: vec![why],
        transcript: String::new(),
    }
}

/// What the runner knows while it replays.
struct Replay {
    end: &'static dyn End,
    setup: Setup,
    pipe: usize,
    peer: Peer,
    recorder: Recorder,
    ignore: Vec<Value>,
    app_cursor: usize,
}

async fn run_async(scenario: &Scenario, end: &'static dyn End) -> Outcome {
    let recorder = Recorder::new();
    let mut failures = Vec::new();
    let setup = match scenario.config.session() {
        Ok(session) => Setup {
            session,
            driver: scenario.config.driver(),
            handler: scenario.handler.clone(),
        },
        Err(e) => return failed(scenario, end, e),
    };
    let pipe = scenario.config.pipe_buffer.unwrap_or(DEFAULT_PIPE_BUFFER);
    let (peer_io, end_io) = tokio::io::duplex(pipe);
    let mut running = match end.start(end_io, &setup, recorder.clone()) {
        Ok(running) => running,
        Err(e) => return failed(scenario, end, format!("the end did not start: {e}")),
    };
    let mut replay = Replay {
        end,
        setup: setup.clone(),
        pipe,
        peer: Peer::new(peer_io, recorder.clone()),
        recorder: recorder.clone(),
        ignore: scenario.ignore.iter().map(frame_pattern).collect(),
        app_cursor: 0,
    };

    if scenario.preface {
        let mut preface = vec![frame_pattern(&Value::String("SETTINGS".into()))];
        if setup.session.session_window > PROTOCOL_INITIAL_WINDOW {
            let delta = setup.session.session_window - PROTOCOL_INITIAL_WINDOW;
            preface.push(yaml_value(&format!(
                "{{type: WINDOW_UPDATE, stream_id: 0, delta: {delta}}}"
            )));
        }
        if let Err(e) = replay
            .expect_frames(&preface, DEFAULT_WITHIN, &[], Some(0))
            .await
        {
            failures.push(format!("preface: {e}"));
        }
    }

    for (index, step) in scenario.steps.iter().enumerate() {
        if !failures.is_empty() {
            break;
        }
        if step
            .ends
            .as_ref()
            .is_some_and(|ends| !ends.iter().any(|e| e == end.name()))
        {
            continue;
        }
        let result = match &step.kind {
            StepKind::Act(action) => {
                recorder.record(What::Act(
                    serde_norway::with::singleton_map_recursive::serialize(
                        action,
                        serde_norway::value::Serializer,
                    )
                    .unwrap_or(Value::Null),
                ));
                running.act(action)
            }
            kind => replay.step(kind).await,
        };
        if let Err(e) = result {
            failures.push(format!(
                "step {} ({}): {e}",
                index + 1,
                step_name(&step.kind)
            ));
        }
    }

    tokio::time::sleep(SETTLE).await;
    let connection = replay.connection_state().await;
    let session = recorder
        .app_events(0)
        .into_iter()
        .rev()
        .find(|e| e.get("event").and_then(Value::as_str) == Some("session_closed"))
        .and_then(|e| e.get("reason").cloned())
        .unwrap_or_else(|| Value::String("open".into()));
    drop(running);
    let transcript = render(
        &recorder.entries(),
        &[
            ("session", session),
            ("connection", Value::String(connection)),
        ],
    );
    Outcome {
        scenario: scenario.name.clone(),
        end: end.name(),
        failures,
        transcript,
    }
}

fn yaml_value(text: &str) -> Value {
    serde_norway::from_str(text).unwrap_or(Value::Null)
}

fn step_name(kind: &StepKind) -> &'static str {
    match kind {
        StepKind::Send(_) => "send",
        StepKind::SendRepeated(_) => "send_repeated",
        StepKind::Expect(_) => "expect",
        StepKind::ExpectData(_) => "expect_data",
        StepKind::ExpectSilence(_) => "expect_silence",
        StepKind::ExpectEof(_) => "expect_eof",
        StepKind::ExpectApp(_) => "expect_app",
        StepKind::Discard(_) => "discard",
        StepKind::Wait(_) => "wait",
        StepKind::StopReading => "stop_reading",
        StepKind::ResumeReading => "resume_reading",
        StepKind::HalfClose => "half_close",
        StepKind::Disconnect => "disconnect",
        StepKind::Act(_) => "act",
        StepKind::CutSweep(_) => "cut_sweep",
    }
}

fn describe(incoming: &Incoming) -> String {
    match incoming {
        Incoming::Frame { value, .. } => brief(value),
        Incoming::Undecodable(why) => format!("undecodable bytes ({why})"),
        Incoming::Closed(why) => why.clone(),
    }
}

fn describe_all(patterns: &[Value]) -> String {
    patterns.iter().map(brief).collect::<Vec<_>>().join(", ")
}

impl Replay {
    async fn step(&mut self, kind: &StepKind) -> Result<(), String> {
        match kind {
            StepKind::Send(spec) => {
                let deadline = Instant::now() + DEFAULT_WITHIN.0;
                self.peer
                    .send(spec.frames(), spec.chunk(), deadline, true)
                    .await
            }
            StepKind::SendRepeated(spec) => {
                self.recorder.record(What::PeerRepeated {
                    count: spec.count,
                    frames: spec.frames.clone(),
                });
                let deadline = Instant::now() + DEFAULT_WITHIN.0;
                for round in 0..spec.count {
                    let sent = self
                        .peer
                        .send(&spec.round(round), None, deadline, false)
                        .await;
                    if let Err(e) = sent {
                        if spec.stop_on_close {
                            self.recorder.record(What::Step(format!(
                                "repeat stopped at round {round}: {e}"
                            )));
                            return Ok(());
                        }
                        return Err(format!("round {round}: {e}"));
                    }
                    // Let the end keep up, as a real connection's reads would.
                    if round % 16 == 15 {
                        tokio::task::yield_now().await;
                    }
                }
                Ok(())
            }
            StepKind::Expect(spec) => {
                let (frames, within, skip, max_skipped) = spec.parts();
                self.expect_frames(frames, within, skip, max_skipped).await
            }
            StepKind::ExpectData(spec) => self.expect_data(spec).await,
            StepKind::ExpectSilence(duration) => self.expect_silence(*duration).await,
            StepKind::ExpectEof(spec) => {
                let within = spec.within.unwrap_or(DEFAULT_WITHIN);
                let skip: Vec<Value> = spec.skip.iter().map(frame_pattern).collect();
                let deadline = Instant::now() + within.0;
                loop {
                    match self.peer.next(deadline).await {
                        Err(NextError::TimedOut) => {
                            return Err(format!(
                                "the end did not close the connection within {within}"
                            ));
                        }
                        Ok(Incoming::Closed(_)) => return Ok(()),
                        Ok(incoming) if self.skippable(&incoming, &skip) => {}
                        Ok(other) => {
                            return Err(format!(
                                "expected the end to close the connection, got {}",
                                describe(&other)
                            ));
                        }
                    }
                }
            }
            StepKind::ExpectApp(spec) => {
                let (events, within) = spec.parts();
                self.expect_app(events, within).await
            }
            StepKind::Discard(patterns) => {
                let patterns: Vec<Value> = patterns.iter().map(frame_pattern).collect();
                let mut discarded = 0usize;
                while self
                    .peer
                    .take_ready(|incoming| match incoming {
                        Incoming::Frame { value, .. } => {
                            patterns.iter().any(|p| matches(p, Some(value)))
                        }
                        _ => false,
                    })
                    .is_some()
                {
                    discarded += 1;
                }
                self.recorder.record(What::Step(format!(
                    "discarded {discarded} frames read so far"
                )));
                Ok(())
            }
            StepKind::Wait(duration) => {
                self.recorder.record(What::Step(format!("wait {duration}")));
                tokio::time::sleep(duration.0).await;
                Ok(())
            }
            StepKind::StopReading => {
                self.recorder.record(What::Step("stop_reading".into()));
                self.peer.set_reading(false);
                Ok(())
            }
            StepKind::ResumeReading => {
                self.recorder.record(What::Step("resume_reading".into()));
                self.peer.set_reading(true);
                Ok(())
            }
            StepKind::HalfClose => {
                self.recorder.record(What::Step("half_close".into()));
                self.peer.half_close().await
            }
            StepKind::Disconnect => {
                self.recorder.record(What::Step("disconnect".into()));
                self.peer.disconnect().await;
                Ok(())
            }
            StepKind::CutSweep(spec) => self.cut_sweep(spec).await,
            StepKind::Act(_) => unreachable!("actions go to the end"),
        }
    }

    fn skippable(&self, incoming: &Incoming, skip: &[Value]) -> bool {
        let Incoming::Frame { value, .. } = incoming else {
            return false;
        };
        self.ignore
            .iter()
            .chain(skip)
            .any(|pattern| matches(pattern, Some(value)))
    }

    async fn expect_frames(
        &mut self,
        items: &[Value],
        within: Dur,
        skip: &[Value],
        max_skipped: Option<usize>,
    ) -> Result<(), String> {
        let skip: Vec<Value> = skip.iter().map(frame_pattern).collect();
        let deadline = Instant::now() + within.0;
        let mut skipped = 0usize;
        for item in items {
            let mut wanted: Vec<Wanted> = match (item.get("any_order"), item.get("repeat")) {
                (Some(Value::Sequence(group)), _) => {
                    group.iter().map(Wanted::parse).collect::<Result<_, _>>()?
                }
                (_, Some(count)) => {
                    let count = count.as_u64().ok_or("repeat takes a count")?;
                    let frame = Wanted::parse(item.get("frame").ok_or("repeat needs a frame")?)?;
                    vec![frame; count as usize]
                }
                _ => vec![Wanted::parse(item)?],
            };
            let repeated = item.get("repeat").is_some();
            let describe_wanted = |wanted: &[Wanted]| {
                let open: Vec<String> = wanted.iter().map(Wanted::describe).collect();
                if repeated {
                    format!(
                        "{} more of {}",
                        open.len(),
                        open.first().cloned().unwrap_or_default()
                    )
                } else {
                    open.join(", ")
                }
            };
            while !wanted.is_empty() {
                let incoming = match self.peer.next(deadline).await {
                    Ok(incoming) => incoming,
                    Err(NextError::TimedOut) => {
                        return Err(format!(
                            "nothing matching {} within {within}",
                            describe_wanted(&wanted)
                        ));
                    }
                };
                if let Incoming::Frame { value, .. } = &incoming {
                    let taken = wanted
                        .iter()
                        .position(|w| matches!(w, Wanted::Frame(p) if matches(p, Some(value))))
                        .or_else(|| wanted.iter_mut().position(|w| w.feed(value)));
                    if let Some(at) = taken {
                        if wanted[at].is_done() {
                            wanted.remove(at);
                        }
                        continue;
                    }
                }
                if self.skippable(&incoming, &skip) {
                    skipped += 1;
                    if max_skipped.is_some_and(|max| skipped > max) {
                        return Err(format!(
                            "more than {} frames came before {}; the last was {}",
                            max_skipped.unwrap_or(0),
                            describe_wanted(&wanted[..1]),
                            describe(&incoming)
                        ));
                    }
                    continue;
                }
                return Err(format!(
                    "expected {}, got {}",
                    describe_wanted(&wanted),
                    describe(&incoming)
                ));
            }
        }
        Ok(())
    }

    async fn expect_data(&mut self, spec: &ExpectDataSpec) -> Result<(), String> {
        let within = spec.within.unwrap_or(DEFAULT_WITHIN);
        let skip: Vec<Value> = spec.skip.iter().map(frame_pattern).collect();
        let deadline = Instant::now() + within.0;
        let mut total = 0u64;
        let mut fin = false;
        loop {
            if total == spec.bytes && (spec.fin != Some(true) || fin) {
                break;
            }
            let incoming = match self.peer.next(deadline).await {
                Ok(incoming) => incoming,
                Err(NextError::TimedOut) => {
                    return Err(format!(
                        "{total} of {} DATA bytes on stream {} within {within}{}",
                        spec.bytes,
                        spec.stream_id,
                        if total == spec.bytes { " (no FIN)" } else { "" }
                    ));
                }
            };
            if let Incoming::Frame {
                note: crate::notation::FrameNote::Data { stream_id, .. },
                value,
            } = &incoming
                && *stream_id == spec.stream_id
            {
                if fin {
                    return Err(format!("DATA after FIN on stream {stream_id}"));
                }
                total += value.get("data_len").and_then(Value::as_u64).unwrap_or(0);
                fin = value.get("fin").and_then(Value::as_bool).unwrap_or(false);
                if total > spec.bytes {
                    return Err(format!(
                        "{total} DATA bytes on stream {stream_id}, more than the {} expected",
                        spec.bytes
                    ));
                }
                continue;
            }
            if self.skippable(&incoming, &skip) {
                continue;
            }
            return Err(format!(
                "expected DATA on stream {} ({total} of {} bytes so far), got {}",
                spec.stream_id,
                spec.bytes,
                describe(&incoming)
            ));
        }
        if spec.fin == Some(false) && fin {
            return Err(format!("stream {} ended with FIN", spec.stream_id));
        }
        Ok(())
    }

    async fn expect_silence(&mut self, duration: Dur) -> Result<(), String> {
        let deadline = Instant::now() + duration.0;
        loop {
            match self.peer.next(deadline).await {
                Err(NextError::TimedOut) => return Ok(()),
                Ok(incoming) if self.skippable(&incoming, &[]) => {}
                Ok(other) => {
                    return Err(format!(
                        "expected silence for {duration}, got {}",
                        describe(&other)
                    ));
                }
            }
        }
    }

    async fn expect_app(&mut self, patterns: &[Value], within: Dur) -> Result<(), String> {
        let deadline = Instant::now() + within.0;
        for pattern in patterns {
            let group: Vec<&Value> = match pattern.get("any_order") {
                Some(Value::Sequence(group)) => group.iter().collect(),
                _ => vec![pattern],
            };
            loop {
                let changed = self.recorder.app_changed();
                let events = self.recorder.app_events(self.app_cursor);
                if let Some(last) = match_group(&group, &events) {
                    self.app_cursor += last + 1;
                    break;
                }
                if tokio::time::timeout_at(deadline, changed).await.is_err() {
                    let seen = self.recorder.app_events(self.app_cursor);
                    return Err(format!(
                        "no application events matching {} within {within}; events since the last match: [{}]",
                        brief(pattern),
                        describe_all(&seen)
                    ));
                }
            }
        }
        Ok(())
    }

    async fn cut_sweep(&mut self, spec: &CutSweepSpec) -> Result<(), String> {
        let within = spec.within.unwrap_or(DEFAULT_WITHIN);
        let mut encoder = spdy_core::frame::FrameEncoder::new();
        let mut bytes = bytes::BytesMut::new();
        for note in &spec.frames {
            note.encode(&mut encoder, &mut bytes)
                .map_err(|e| format!("cannot encode {note:?}: {e}"))?;
        }
        let mut endings = std::collections::BTreeMap::new();
        for cut in 0..=bytes.len() {
            let recorder = Recorder::new();
            let (peer_io, end_io) = tokio::io::duplex(self.pipe);
            let running = self
                .end
                .start(end_io, &self.setup, recorder.clone())
                .map_err(|e| format!("cut at {cut}: the end did not start: {e}"))?;
            // Drain what the end writes, so it is never held back.
            let (mut read, mut write) = tokio::io::split(peer_io);
            let drain = tokio::spawn(async move {
                let mut sink = vec![0u8; 16 * 1024];
                while matches!(read.read(&mut sink).await, Ok(n) if n > 0) {}
            });
            let _ = write.write_all(&bytes[..cut]).await;
            // Let the end take in what it got before the connection drops.
            tokio::task::yield_now().await;
            drop(write);
            drain.abort();
            let _ = drain.await;
            let deadline = Instant::now() + within.0;
            loop {
                let changed = recorder.app_changed();
                let closed = recorder
                    .app_events(0)
                    .into_iter()
                    .find(|e| e.get("event").and_then(Value::as_str) == Some("session_closed"));
                if let Some(event) = closed {
                    let kind = event
                        .get("reason")
                        .and_then(|r| r.get("kind"))
                        .and_then(Value::as_str)
                        .unwrap_or("unknown")
                        .to_owned();
                    *endings.entry(kind).or_insert(0usize) += 1;
                    break;
                }
                if tokio::time::timeout_at(deadline, changed).await.is_err() {
                    return Err(format!(
                        "cut at byte {cut} of {}: the session did not end within {within}",
                        bytes.len()
                    ));
                }
            }
            drop(running);
        }
        let endings: Vec<String> = endings
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        self.recorder.record(What::Step(format!(
            "cut_sweep: {} cuts of {} bytes, every session ended: {}",
            bytes.len() + 1,
            bytes.len(),
            endings.join(", ")
        )));
        Ok(())
    }

    /// Reads what is already there; `closed by the end` once EOF was seen.
    async fn connection_state(&mut self) -> String {
        loop {
            if self.peer.saw_close() {
                break;
            }
            match self.peer.next(Instant::now()).await {
                Ok(Incoming::Closed(_)) | Err(_) => break,
                Ok(_) => {}
            }
        }
        match self.peer.closed_reason() {
            Some(why) => why,
            None => "open".into(),
        }
    }
}

/// One thing an `expect` step waits for: a frame matching a pattern, or a
/// stream's body in however many DATA frames the end chooses
/// (`{body: {stream_id, data | bytes, fin}}`).
#[derive(Clone, Debug)]
enum Wanted {
    Frame(Value),
    Body {
        stream_id: u64,
        /// The payload as text, when the pattern gives one.
        text: Option<String>,
        bytes: u64,
        fin: Option<bool>,
        seen_text: String,
        seen_bytes: u64,
        seen_fin: bool,
    },
}

impl Wanted {
    fn parse(item: &Value) -> Result<Wanted, String> {
        let Some(body) = item.get("body") else {
            return Ok(Wanted::Frame(frame_pattern(item)));
        };
        let stream_id = body
            .get("stream_id")
            .and_then(Value::as_u64)
            .ok_or("a body needs a stream_id")?;
        let text = body.get("data").and_then(Value::as_str).map(str::to_owned);
        let bytes = match (&text, body.get("bytes").and_then(Value::as_u64)) {
            (Some(text), _) => text.len() as u64,
            (None, Some(bytes)) => bytes,
            (None, None) => return Err("a body needs data or bytes".into()),
        };
        Ok(Wanted::Body {
            stream_id,
            text,
            bytes,
            fin: body.get("fin").and_then(Value::as_bool),
            seen_text: String::new(),
            seen_bytes: 0,
            seen_fin: false,
        })
    }

    /// Takes a DATA frame of the body it waits for; false when the frame is
    /// not its to take.
    fn feed(&mut self, frame: &Value) -> bool {
        let Wanted::Body {
            stream_id,
            bytes,
            seen_text,
            seen_bytes,
            seen_fin,
            ..
        } = self
        else {
            return false;
        };
        let is_data = frame.get("type").and_then(Value::as_str) == Some("DATA");
        if !is_data
            || frame.get("stream_id").and_then(Value::as_u64) != Some(*stream_id)
            || *seen_fin
        {
            return false;
        }
        let len = frame.get("data_len").and_then(Value::as_u64).unwrap_or(0);
        if *seen_bytes + len > *bytes {
            return false;
        }
        *seen_bytes += len;
        if let Some(text) = frame.get("data").and_then(Value::as_str) {
            seen_text.push_str(text);
        }
        *seen_fin = frame.get("fin").and_then(Value::as_bool).unwrap_or(false);
        true
    }

    fn is_done(&self) -> bool {
        match self {
            Wanted::Frame(_) => true,
            Wanted::Body {
                text,
                bytes,
                fin,
                seen_text,
                seen_bytes,
                seen_fin,
                ..
            } => {
                seen_bytes == bytes
                    && text.as_ref().is_none_or(|t| t == seen_text)
                    && (fin.is_none() || *fin == Some(*seen_fin))
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Wanted::Frame(pattern) => brief(pattern),
            Wanted::Body {
                stream_id,
                bytes,
                fin,
                seen_bytes,
                ..
            } => format!(
                "the body of stream {stream_id} ({seen_bytes} of {bytes} bytes{})",
                if *fin == Some(true) { ", then FIN" } else { "" }
            ),
        }
    }
}

/// Matches each pattern of a group to a distinct event, in any order;
/// returns the index of the last event used.
fn match_group(group: &[&Value], events: &[Value]) -> Option<usize> {
    let mut used = vec![false; events.len()];
    let mut last = 0;
    for pattern in group {
        let at = events
            .iter()
            .enumerate()
            .position(|(i, e)| !used[i] && matches(pattern, Some(e)))?;
        used[at] = true;
        last = last.max(at);
    }
    Some(last)
}

/// Which ends a scenario runs against.
pub fn ends_for(scenario: &Scenario, ends: &[&'static dyn End]) -> Vec<&'static dyn End> {
    ends.iter()
        .copied()
        .filter(|end| scenario.applies_to(end.name(), end.side()))
        .collect()
}
