//! HEADERS (type 8): more headers for an open stream.

use bytes::{BufMut, BytesMut};

use super::{FLAG_FIN, HeaderBlock, StreamId};

/// Bytes before the header block: the stream id.
pub(crate) const HEADERS_FIXED_LEN: u32 = 4;

/// HEADERS: further headers for a stream, e.g. trailers or the :status of a pushed stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    /// The stream the headers belong to.
    pub stream_id: StreamId,
    /// FIN: the sender sends nothing more on this stream.
    pub fin: bool,
    /// The header block, in clear.
    pub headers: HeaderBlock,
}

impl Headers {
    /// A HEADERS frame for `stream_id` with `headers`, without FIN.
    pub fn new(stream_id: StreamId, headers: HeaderBlock) -> Self {
        Headers {
            stream_id,
            fin: false,
            headers,
        }
    }

    pub(crate) fn flags(&self) -> u8 {
        if self.fin { FLAG_FIN } else { 0 }
    }

    pub(crate) fn decode_fixed(flags: u8, fixed: &[u8; 4]) -> Headers {
        Headers {
            stream_id: StreamId::new(u32::from_be_bytes(*fixed)),
            fin: flags & FLAG_FIN != 0,
            headers: HeaderBlock::new(),
        }
    }

    pub(crate) fn encode_fixed(&self, dst: &mut BytesMut) {
        dst.put_u32(self.stream_id.get());
    }
}
