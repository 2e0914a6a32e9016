//! SPDY/3.1 for Rust: the protocol core.
//!
//! - [`frame`]: every SPDY/3.1 frame, an incremental zero-copy decoder and an
//!   encoder, with the limits a server on the open internet needs.
//! - [`header`]: name/value header blocks, their zlib compression with the
//!   SPDY/3 dictionary, and the mapping to and from `http` types.
//!
//! The sans-IO session engine (streams, flow control, settings, ping,
//! goaway, priorities) and its tokio driver are built on these two layers.
//!
//! ```
//! use bytes::BytesMut;
//! use spdy_core::frame::{Frame, FrameDecoder, FrameEncoder, StreamId, SynStream};
//! use spdy_core::header::HeaderBlock;
//!
//! let mut headers = HeaderBlock::new();
//! headers.push(":method", "GET");
//! headers.push(":path", "/");
//! let frame = Frame::SynStream(SynStream::new(StreamId::new(1), headers));
//!
//! let mut wire = BytesMut::new();
//! FrameEncoder::new().encode(&frame, &mut wire).unwrap();
//! let decoded = FrameDecoder::new().decode(&mut wire).unwrap();
//! assert_eq!(decoded, Some(frame));
//! ```

#[cfg(feature = "tokio")]
pub mod driver;
pub mod frame;
pub mod header;
#[cfg(feature = "notation")]
pub mod notation;
pub mod session;
