//! The deflate side of one direction of a session.

use bytes::BytesMut;
use zlib_rs::{Deflate, DeflateConfig, DeflateFlush, Method, Strategy};

use super::dictionary::DICTIONARY;
use super::{HeaderBlock, HeaderError};

/// Compression parameters of our deflate contexts.
///
/// Header blocks are a few hundred bytes, so a 2 KiB window (11 bits, still
/// larger than the 1,423-byte dictionary it must hold) and memLevel 4 lose
/// almost nothing in ratio while keeping an idle context small; see the
/// measured figures in `cargo bench -p spdy-core --bench header`.
const WINDOW_BITS: i32 = 11;
const MEM_LEVEL: i32 = 4;
/// zlib level 1: the fastest; header blocks are short and repetitive, so the
/// dictionary and the shared window do most of the work.
const LEVEL: u32 = 1;

/// Compresses the header blocks of one direction of a session, all through
/// one zlib context primed with the SPDY/3 dictionary. Every block ends with
/// a sync flush so the peer can decode it at once.
pub struct HeaderEncoder {
    deflate: Deflate,
    scratch: Vec<u8>,
}

impl Default for HeaderEncoder {
    fn default() -> Self {
        HeaderEncoder::new()
    }
}

impl HeaderEncoder {
    /// A compressor with the project's default parameters.
    pub fn new() -> Self {
        HeaderEncoder::with_level(LEVEL)
    }

    /// A compressor at zlib level `level` (0 stores without compressing, as
    /// node-spdy does; 9 compresses hardest).
    pub fn with_level(level: u32) -> Self {
        let mut deflate = Deflate::new_with_config(DeflateConfig {
            level: level.min(9) as i32,
            method: Method::Deflated,
            window_bits: WINDOW_BITS,
            mem_level: MEM_LEVEL,
            strategy: Strategy::Default,
        });
        // Setting a dictionary on a fresh context cannot fail.
        let _ = deflate.set_dictionary(DICTIONARY);
        HeaderEncoder {
            deflate,
            scratch: Vec::new(),
        }
    }

    /// Compresses `block` onto the end of `dst`, ending with a sync flush.
    pub fn encode(&mut self, block: &HeaderBlock, dst: &mut BytesMut) -> Result<(), HeaderError> {
        let mut raw = std::mem::take(&mut self.scratch);
        raw.clear();
        block.write_uncompressed(&mut raw);
        let result = self.compress(&raw, dst);
        self.scratch = raw;
        result
    }

    fn compress(&mut self, mut input: &[u8], dst: &mut BytesMut) -> Result<(), HeaderError> {
        loop {
            let room = input.len() + input.len() / 8 + 64;
            let start = dst.len();
            dst.resize(start + room, 0);
            let in_before = self.deflate.total_in();
            let out_before = self.deflate.total_out();
            let status = self
                .deflate
                .compress(input, &mut dst[start..], DeflateFlush::SyncFlush);
            let consumed = (self.deflate.total_in() - in_before) as usize;
            let produced = (self.deflate.total_out() - out_before) as usize;
            dst.truncate(start + produced);
            input = &input[consumed..];
            if let Err(error) = status {
                return Err(HeaderError::Compress(error.as_str().to_owned()));
            }
            // Done once all input is in and the flush did not fill the room.
            if input.is_empty() && produced < room {
                return Ok(());
            }
        }
    }
}
