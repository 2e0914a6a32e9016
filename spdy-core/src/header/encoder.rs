//! The deflate side of one direction of a session.

use bytes::BytesMut;
use zlib_rs::{Deflate, DeflateConfig, DeflateFlush, Method, Strategy};

use super::dictionary::{DICTIONARY, DICTIONARY_ID};
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

/// How the header blocks we send are compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderCompression {
    /// Stored (uncompressed) deflate blocks in a valid zlib stream, as
    /// node-spdy sends them: no zlib context at all (about 150 KB less per
    /// session, since zlib-rs's deflate holds a fixed 128 KiB hash table),
    /// and nothing for a CRIME-style attack to measure, at the cost of
    /// sending header blocks at their full size.
    Stored,
    /// zlib deflate at this level (1 fastest to 9 smallest; 0 is
    /// [`Stored`](HeaderCompression::Stored) through zlib) with a 2 KiB
    /// window and memLevel 4.
    Deflate {
        /// The zlib level.
        level: u32,
    },
}

impl Default for HeaderCompression {
    /// [`Stored`](HeaderCompression::Stored); see the measurements in
    /// `SessionConfig::header_compression`.
    fn default() -> Self {
        HeaderCompression::Stored
    }
}

enum Mode {
    Deflate(Box<Deflate>),
    /// Writing stored blocks; `started` once the zlib header is out.
    Stored {
        started: bool,
    },
}

/// Compresses the header blocks of one direction of a session, all through
/// one zlib stream primed with the SPDY/3 dictionary. Every block ends with
/// a sync flush so the peer can decode it at once.
pub struct HeaderEncoder {
    mode: Mode,
    scratch: Vec<u8>,
}

impl Default for HeaderEncoder {
    fn default() -> Self {
        HeaderEncoder::new()
    }
}

/// The largest stored deflate block.
const MAX_STORED_BLOCK: usize = 0xffff;

impl HeaderEncoder {
    /// A compressor with zlib deflate at level 1.
    pub fn new() -> Self {
        HeaderEncoder::with_level(LEVEL)
    }

    /// A compressor for `compression`.
    pub fn with_compression(compression: HeaderCompression) -> Self {
        match compression {
            HeaderCompression::Stored => HeaderEncoder {
                mode: Mode::Stored { started: false },
                scratch: Vec::new(),
            },
            HeaderCompression::Deflate { level } => HeaderEncoder::with_level(level),
        }
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
            mode: Mode::Deflate(Box::new(deflate)),
            scratch: Vec::new(),
        }
    }

    /// Compresses `block` onto the end of `dst`, ending with a sync flush.
    pub fn encode(&mut self, block: &HeaderBlock, dst: &mut BytesMut) -> Result<(), HeaderError> {
        let mut raw = std::mem::take(&mut self.scratch);
        raw.clear();
        block.write_uncompressed(&mut raw);
        let result = match &mut self.mode {
            Mode::Deflate(deflate) => compress(deflate, &raw, dst),
            Mode::Stored { started } => {
                store(started, &raw, dst);
                Ok(())
            }
        };
        self.scratch = raw;
        result
    }
}

/// Writes `input` as stored deflate blocks, the zlib header with the
/// dictionary id first, then the empty stored block of a sync flush: the
/// bytes zlib itself writes at level 0.
fn store(started: &mut bool, input: &[u8], dst: &mut BytesMut) {
    if !*started {
        *started = true;
        // CMF 0x78 (deflate, 32 KiB window), FLG 0x20 (FDICT, level 0,
        // check bits 0: 0x7820 is a multiple of 31), then the DICTID.
        dst.extend_from_slice(&[0x78, 0x20]);
        dst.extend_from_slice(&DICTIONARY_ID.to_be_bytes());
    }
    for chunk in input.chunks(MAX_STORED_BLOCK) {
        put_stored_block(dst, chunk);
    }
    put_stored_block(dst, &[]);
}

/// One non-final stored block: the 3 header bits padded to a byte, LEN and
/// its complement (little-endian), the bytes.
fn put_stored_block(dst: &mut BytesMut, data: &[u8]) {
    let len = data.len() as u16;
    dst.extend_from_slice(&[0x00]);
    dst.extend_from_slice(&len.to_le_bytes());
    dst.extend_from_slice(&(!len).to_le_bytes());
    dst.extend_from_slice(data);
}

/// Compresses `input` through the shared context, ending with a sync flush.
fn compress(
    deflate: &mut Deflate,
    mut input: &[u8],
    dst: &mut BytesMut,
) -> Result<(), HeaderError> {
    loop {
        let room = input.len() + input.len() / 8 + 64;
        let start = dst.len();
        dst.resize(start + room, 0);
        let in_before = deflate.total_in();
        let out_before = deflate.total_out();
        let status = deflate.compress(input, &mut dst[start..], DeflateFlush::SyncFlush);
        let consumed = (deflate.total_in() - in_before) as usize;
        let produced = (deflate.total_out() - out_before) as usize;
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
