//! What a scenario run records: every frame each way in the notation, the
//! application's events at the end under test, the peer's other steps, all
//! stamped with the (virtual) time since the start; and the final state.

use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use serde_norway::Value;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::notation::FrameNote;
use crate::pattern::brief;

/// One line of a transcript.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Entry {
    /// Milliseconds of (virtual) time since the run started.
    pub at_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub what: What,
}

/// What happened at one moment.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum What {
    /// A frame the scripted peer sent.
    Peer(FrameNote),
    /// The same frames sent `count` times (ids stepping).
    PeerRepeated {
        /// Rounds sent.
        count: u32,
        /// The frames of the first round.
        frames: Vec<FrameNote>,
    },
    /// A frame the end under test sent.
    End(FrameNote),
    /// Bytes from the end that do not decode as a valid frame.
    EndUndecodable(String),
    /// A run of frames of one type in one direction, collapsed.
    Run(Run),
    /// An event of the application at the end under test.
    App(Value),
    /// A step of the peer other than sending (waits, reading, closing).
    Step(String),
    /// An action of the application at the end under test.
    Act(Value),
}

/// Consecutive frames of one type in one direction, or application
/// events of one kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Run {
    /// `peer`, `end` or `app`.
    #[serde(skip)]
    pub from: &'static str,
    /// How many entries.
    pub count: usize,
    /// DATA payload bytes in the run (DATA runs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_bytes: Option<u64>,
    /// The first entry.
    pub first: Value,
    /// The last entry.
    pub last: Value,
}

/// The transcript as YAML: one line per entry, `- <ms>ms <who>: <flow YAML>`,
/// so a behaviour change is a diff of whole lines; then the final state.
pub fn render(entries: &[Entry], final_state: &[(&str, Value)]) -> String {
    let mut out = String::from("transcript:\n");
    for entry in compact(entries) {
        let (who, value) = entry.what.parts();
        out.push_str(&format!("- {}ms {who}: {}\n", entry.at_ms, brief(&value)));
    }
    out.push_str("final:\n");
    for (key, value) in final_state {
        out.push_str(&format!("  {key}: {}\n", brief(value)));
    }
    out
}

impl What {
    /// Who acted, and what, as a value.
    fn parts(&self) -> (&'static str, Value) {
        let value = |v: &dyn erased::ToValue| v.to_value();
        match self {
            What::Peer(note) => ("peer", value(note)),
            What::PeerRepeated { count, frames } => (
                "peer_repeated",
                mapping([
                    ("count", Value::Number((*count).into())),
                    ("frames", value(frames)),
                ]),
            ),
            What::End(note) => ("end", value(note)),
            What::EndUndecodable(why) => ("end_undecodable", Value::String(why.clone())),
            What::Run(run) => (
                if run.from == "peer" {
                    "peer_run"
                } else {
                    "end_run"
                },
                value(run),
            ),
            What::App(event) => ("app", event.clone()),
            What::Step(step) => ("step", Value::String(step.clone())),
            What::Act(action) => ("act", action.clone()),
        }
    }
}

fn mapping<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Mapping(
        pairs
            .into_iter()
            .map(|(k, v)| (Value::String(k.into()), v))
            .collect(),
    )
}

mod erased {
    use serde::Serialize;
    use serde_norway::Value;

    pub(super) trait ToValue {
        fn to_value(&self) -> Value;
    }

    impl<T: Serialize> ToValue for T {
        fn to_value(&self) -> Value {
            serde_norway::to_value(self)
                .unwrap_or_else(|e| Value::String(format!("unprintable: {e}")))
        }
    }
}

/// Runs shorter than this stay frame by frame.
const MIN_RUN: usize = 5;

/// Collapses long runs of same-type frames from one side, and of
/// application events of one kind.
pub fn compact(entries: &[Entry]) -> Vec<Entry> {
    let mut out = Vec::with_capacity(entries.len());
    let mut i = 0;
    while i < entries.len() {
        let key = run_key(&entries[i].what);
        let mut j = i + 1;
        if key.is_some() {
            while j < entries.len() && run_key(&entries[j].what) == key {
                j += 1;
            }
        }
        match key {
            Some((from, _)) if j - i >= MIN_RUN => {
                let data_bytes = entries[i..j]
                    .iter()
                    .map(|e| match &e.what {
                        What::Peer(n @ FrameNote::Data { .. })
                        | What::End(n @ FrameNote::Data { .. }) => Some(data_len(n)),
                        _ => None,
                    })
                    .sum::<Option<u64>>();
                out.push(Entry {
                    at_ms: entries[i].at_ms,
                    what: What::Run(Run {
                        from,
                        count: j - i,
                        data_bytes,
                        first: entries[i].what.parts().1,
                        last: entries[j - 1].what.parts().1,
                    }),
                });
            }
            _ => out.extend_from_slice(&entries[i..j]),
        }
        i = j;
    }
    out
}

fn run_key(what: &What) -> Option<(&'static str, String)> {
    let (from, note) = match what {
        What::Peer(n) => ("peer", n),
        What::End(n) => ("end", n),
        What::App(event) => {
            let kind = event.get("event").and_then(Value::as_str)?;
            return Some(("app", kind.to_owned()));
        }
        _ => return None,
    };
    let kind = match note {
        FrameNote::Data { stream_id, .. } => format!("DATA {stream_id}"),
        FrameNote::Raw { .. } => return None,
        other => serde_norway::to_value(other)
            .ok()
            .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))?,
    };
    Some((from, kind))
}

/// Payload bytes of a DATA note.
pub fn data_len(note: &FrameNote) -> u64 {
    match note {
        FrameNote::Data {
            data,
            data_hex,
            data_len,
            ..
        } => match (data, data_hex, data_len) {
            (_, _, Some(n)) => u64::from(*n),
            (Some(text), _, _) => text.len() as u64,
            (_, Some(hex), _) => hex.chars().filter(char::is_ascii_hexdigit).count() as u64 / 2,
            _ => 0,
        },
        _ => 0,
    }
}

#[derive(Debug)]
struct Inner {
    start: Instant,
    entries: Vec<Entry>,
    app: Vec<Value>,
}

/// The shared recorder of one run: the peer, the end and the runner write to it.
#[derive(Clone, Debug)]
pub struct Recorder {
    inner: Arc<Mutex<Inner>>,
    app_changed: Arc<Notify>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    /// A recorder whose clock starts now.
    pub fn new() -> Self {
        Recorder {
            inner: Arc::new(Mutex::new(Inner {
                start: Instant::now(),
                entries: Vec::new(),
                app: Vec::new(),
            })),
            app_changed: Arc::new(Notify::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records `what` now.
    pub fn record(&self, what: What) {
        let mut inner = self.lock();
        let at_ms = inner.start.elapsed().as_millis() as u64;
        inner.entries.push(Entry { at_ms, what });
    }

    /// Records an application event.
    pub fn app(&self, event: impl Serialize) {
        let value = serde_norway::to_value(event)
            .unwrap_or_else(|e| Value::String(format!("unprintable event: {e}")));
        {
            let mut inner = self.lock();
            inner.app.push(value.clone());
            let at_ms = inner.start.elapsed().as_millis() as u64;
            inner.entries.push(Entry {
                at_ms,
                what: What::App(value),
            });
        }
        self.app_changed.notify_waiters();
    }

    /// Application events from index `from` on.
    pub fn app_events(&self, from: usize) -> Vec<Value> {
        self.lock().app.get(from..).unwrap_or_default().to_vec()
    }

    /// Waits for the next application event (call after finding none new).
    pub fn app_changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.app_changed.notified()
    }

    /// Everything recorded so far.
    pub fn entries(&self) -> Vec<Entry> {
        self.lock().entries.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ping(id: u32) -> Entry {
        Entry {
            at_ms: 0,
            what: What::End(FrameNote::Ping { id }),
        }
    }

    #[test]
    fn long_runs_collapse() {
        let mut entries: Vec<Entry> = (0..6).map(ping).collect();
        entries.push(Entry {
            at_ms: 1,
            what: What::Step("wait".into()),
        });
        entries.extend((0..2).map(ping));
        let compacted = compact(&entries);
        assert_eq!(compacted.len(), 4);
        let ping_value = |id: u32| serde_norway::to_value(FrameNote::Ping { id }).ok();
        assert!(
            matches!(&compacted[0].what, What::Run(run) if run.count == 6
            && Some(&run.first) == ping_value(0).as_ref()
            && Some(&run.last) == ping_value(5).as_ref())
        );
    }
}
