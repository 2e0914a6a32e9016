//! SPDY/3.1 conformance harness.
//!
//! Today: [`notation`], the YAML frame notation shared by the frame dump tool
//! (`cargo xtask frames`) and the scenarios. To come: YAML-scripted frame
//! scenarios replayed against both our client and our server, insta
//! snapshots of their transcripts, and interop runs against real peers
//! (node-spdy, Go spdystream, kubectl), whose peer programs live in `peers/`.
//!
//! ```
//! use conformance::notation::{parse_notes, FrameNote};
//!
//! let notes = parse_notes("- {type: PING, id: 1}").unwrap();
//! assert_eq!(notes, vec![FrameNote::Ping { id: 1 }]);
//! ```

pub mod notation;
