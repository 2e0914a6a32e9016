//! The inflate side of one direction of a session.

use bytes::Bytes;
use flate2::{Decompress, FlushDecompress};

use super::dictionary::{DICTIONARY, DICTIONARY_ID};
use super::{HeaderBlock, HeaderError};

/// Default bound on one inflated header block: 64 KiB.
pub const DEFAULT_MAX_HEADER_BLOCK_SIZE: usize = 64 * 1024;

/// Output is produced in steps of at most this many bytes, so a block that
/// inflates past the bound is stopped with little more than the bound held.
const INFLATE_STEP: usize = 16 * 1024;

/// Inflates the header blocks of one direction of a session, all through
/// one zlib context primed with the SPDY/3 dictionary.
///
/// The direction's first block must open a zlib stream that asks for the
/// SPDY/3 dictionary (FDICT set, DICTID [`DICTIONARY_ID`]): a stream
/// without a dictionary, or naming another one, is refused with
/// [`HeaderError::Decompress`], which the session answers with GOAWAY
/// PROTOCOL_ERROR (catalogue case 16). Every SPDY/3 peer we know of
/// (node-spdy, Go spdystream, Chromium, spdylay) sends the dictionary id.
///
/// Memory: about 40 KiB once the first block has been read (zlib's 32 KiB
/// window, which must be the full 15 bits to accept any peer, plus the
/// inflate state); see `cargo bench -p spdy-core --bench header` for the
/// measured figure. The bound on one block is enforced while inflating: a
/// compression bomb fails as soon as it passes the bound.
pub struct HeaderDecoder {
    inflate: Decompress,
    max_block_size: usize,
    scratch: Vec<u8>,
    /// Set after a zlib failure: the shared context is unusable.
    broken: bool,
}

impl HeaderDecoder {
    /// A decoder whose inflated blocks may not exceed `max_block_size` bytes.
    pub fn new(max_block_size: usize) -> Self {
        HeaderDecoder {
            inflate: Decompress::new(true),
            max_block_size,
            scratch: Vec::new(),
            broken: false,
        }
    }

    /// The bound on one inflated block.
    pub fn max_block_size(&self) -> usize {
        self.max_block_size
    }

    /// Bytes of scratch space kept between blocks.
    #[cfg(test)]
    pub(crate) fn retained_capacity(&self) -> usize {
        self.scratch.capacity()
    }

    /// Inflates one block with the shared context and checks the
    /// name/value rules.
    pub fn decode(&mut self, compressed: &[u8]) -> Result<HeaderBlock, HeaderError> {
        let block = self.decode_raw(compressed)?;
        block.validate()?;
        Ok(block)
    }

    /// Inflates one block and parses its structure, without the name/value
    /// rules (for tools that show blocks as they were sent).
    pub fn decode_raw(&mut self, compressed: &[u8]) -> Result<HeaderBlock, HeaderError> {
        if self.broken {
            return Err(HeaderError::Decompress(
                "the compression context was lost by an earlier error".into(),
            ));
        }
        if compressed.is_empty() {
            return Ok(HeaderBlock::new());
        }
        match self.inflate_block(compressed) {
            Ok(raw) => HeaderBlock::parse_uncompressed(raw),
            Err(error) => {
                self.broken = true;
                self.scratch = Vec::new();
                Err(error)
            }
        }
    }

    fn inflate_block(&mut self, compressed: &[u8]) -> Result<Bytes, HeaderError> {
        if self.inflate.total_in() == 0 {
            check_stream_header(compressed)?;
        }
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        let mut input = compressed;
        loop {
            if out.len() > self.max_block_size {
                return Err(HeaderError::TooLarge {
                    limit: self.max_block_size,
                });
            }
            // Room for the bound plus one byte, so passing it is seen.
            let room = (self.max_block_size + 1 - out.len()).min(INFLATE_STEP);
            out.reserve(room);
            let spare_before = out.capacity() - out.len();
            let in_before = self.inflate.total_in();
            let out_before = out.len();
            let status = self
                .inflate
                .decompress_vec(input, &mut out, FlushDecompress::Sync);
            let consumed = (self.inflate.total_in() - in_before) as usize;
            input = &input[consumed..];
            match status {
                Ok(_) => {}
                Err(error) => match error.needs_dictionary() {
                    Some(DICTIONARY_ID) => {
                        self.inflate.set_dictionary(DICTIONARY).map_err(|e| {
                            HeaderError::Decompress(format!("cannot set the dictionary: {e}"))
                        })?;
                        continue;
                    }
                    Some(other) => {
                        return Err(HeaderError::Decompress(format!(
                            "the block asks for dictionary {other:#010x}, not the SPDY/3 one"
                        )));
                    }
                    None => return Err(HeaderError::Decompress(error.to_string())),
                },
            }
            let produced = out.len() - out_before;
            let output_full = produced == spare_before;
            if input.is_empty() && !output_full {
                break;
            }
            if consumed == 0 && produced == 0 {
                return Err(HeaderError::Decompress(
                    "the block does not end with a complete sync flush".into(),
                ));
            }
        }
        if out.len() > self.max_block_size {
            return Err(HeaderError::TooLarge {
                limit: self.max_block_size,
            });
        }
        let raw = Bytes::copy_from_slice(&out);
        self.scratch = out;
        Ok(raw)
    }
}

/// Checks the two-byte zlib header (RFC 1950) that opens the direction's
/// first block: deflate, and FDICT set, so the stream asks for a preset
/// dictionary (which one is checked when zlib asks for it).
fn check_stream_header(compressed: &[u8]) -> Result<(), HeaderError> {
    const FDICT: u8 = 0x20;
    let [cmf, flg, ..] = *compressed else {
        return Err(HeaderError::Decompress(
            "the first block is too short to hold a zlib header".into(),
        ));
    };
    if flg & FDICT == 0 && cmf & 0x0f == 8 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0 {
        return Err(HeaderError::Decompress(
            "the zlib stream does not ask for the SPDY/3 dictionary (FDICT not set)".into(),
        ));
    }
    Ok(())
}
