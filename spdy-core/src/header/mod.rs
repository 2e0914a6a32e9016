//! SPDY/3 header blocks: the name/value block, its zlib compression with
//! the SPDY/3 dictionary, and the mapping to and from `http` types.
//!
//! A session has one [`HeaderEncoder`] for what it sends and one
//! [`HeaderDecoder`] for what it receives; every block of a direction goes
//! through the same context, in order.
//!
//! ```
//! use bytes::BytesMut;
//! use spdy_core::header::{HeaderBlock, HeaderDecoder, HeaderEncoder, DEFAULT_MAX_HEADER_BLOCK_SIZE};
//!
//! let mut encoder = HeaderEncoder::new();
//! let mut decoder = HeaderDecoder::new(DEFAULT_MAX_HEADER_BLOCK_SIZE);
//! let block: HeaderBlock = [(":status", "200"), ("set-cookie", "a=1\0b=2")].into_iter().collect();
//!
//! let mut wire = BytesMut::new();
//! encoder.encode(&block, &mut wire).unwrap();
//! assert_eq!(decoder.decode(&wire).unwrap(), block);
//! ```

mod block;
mod decoder;
mod dictionary;
mod encoder;
mod http_map;

pub use block::{HeaderBlock, HeaderPair};
pub use decoder::{DEFAULT_MAX_HEADER_BLOCK_SIZE, HeaderDecoder};
pub use dictionary::{DICTIONARY, DICTIONARY_ID};
pub use encoder::{HeaderCompression, HeaderEncoder};
pub use http_map::{
    HOP_BY_HOP_HEADERS, HttpMapError, block_to_header_map, block_to_request, block_to_response,
    header_map_into_block, request_to_block, response_to_block,
};

/// Why a header block could not be read or written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// zlib could not inflate the block: the shared context is lost, a
    /// session error.
    #[error("header block decompression failed: {0}")]
    Decompress(String),
    /// Inflating passed the configured bound; the context is lost.
    #[error("header block inflates past the limit of {limit} bytes")]
    TooLarge {
        /// The configured bound in bytes.
        limit: usize,
    },
    /// The block inflated fine but breaks the name/value rules: a stream
    /// error, and the context is still in step.
    #[error("malformed header block: {0}")]
    Malformed(String),
    /// zlib could not compress the block (a bug, not a peer's fault).
    #[error("header block compression failed: {0}")]
    Compress(String),
}

#[cfg(test)]
mod tests;
