//! SPDY/3.1 conformance harness.
//!
//! - [`notation`]: the YAML frame notation shared by the frame dump tool
//!   (`cargo xtask frames`) and the scenarios.
//! - [`scenario`]: the scenario model, one YAML file per scenario under
//!   `conformance/scenarios/<group>/`: a scripted peer speaks raw frames
//!   (its own codec, its own compression contexts) to our implementation in
//!   the server or client role, and the scenario says what must come back.
//! - [`runner`]: replays a scenario against an [`end`] under tokio's paused
//!   clock, checks every expectation and records a transcript;
//!   [`snapshot`] compares it with the committed insta snapshot.
//! - [`end`]: the implementations under test, one [`end::End`] each.
//! - [`tshark`]: checks a loopback capture with Wireshark's SPDY dissector.
//!
//! `cargo test -p conformance --test scenarios` replays every scenario
//! against every end it applies to; `cargo xtask conformance` adds the
//! interop suites and prints the table.
//!
//! ```
//! use conformance::notation::{parse_notes, FrameNote};
//!
//! let notes = parse_notes("- {type: PING, id: 1}").unwrap();
//! assert_eq!(notes, vec![FrameNote::Ping { id: 1 }]);
//! ```

pub mod duration;
pub mod end;
/// The YAML frame notation, kept in spdy-core (feature `notation`) so the
/// tools and the recorder share it without depending on this crate.
pub use spdy_core::notation;
pub mod pattern;
pub mod peer;
pub mod record;
pub mod runner;
pub mod scenario;
pub mod snapshot;
pub mod tshark;
