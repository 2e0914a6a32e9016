//! ResponseRecorder (work in progress).
//!
//! This crate will run a SPDY handler against an in-memory request, without
//! a network, and expose the response (status, headers, body, pushes) and the
//! exact SPDY frames it would become, ready for snapshot tests. Today it
//! re-exports the protocol core it builds on.
//!
//! ```
//! use spdy_recorder::core::frame::FrameType;
//! assert_eq!(FrameType::SynReply.name(), "SYN_REPLY");
//! ```

pub use spdy_core as core;
