//! SYN_STREAM (type 1): open a stream.

use bytes::{BufMut, BytesMut};

use super::{FLAG_FIN, FLAG_UNIDIRECTIONAL, HeaderBlock, Priority, StreamId};

/// Bytes before the header block: stream id, associated id, priority, slot.
pub(crate) const SYN_STREAM_FIXED_LEN: u32 = 10;

/// SYN_STREAM: opens `stream_id` with a header block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SynStream {
    /// The new stream (odd from clients, even from servers).
    pub stream_id: StreamId,
    /// For server push: the client stream this one is associated with; 0 if none.
    pub associated_to: StreamId,
    /// 0 (highest) to 7 (lowest).
    pub priority: Priority,
    /// The credential slot; 0 when unused.
    pub slot: u8,
    /// FIN: the sender sends nothing more on this stream.
    pub fin: bool,
    /// UNIDIRECTIONAL: the receiver may not send on this stream.
    pub unidirectional: bool,
    /// The header block, in clear.
    pub headers: HeaderBlock,
}

impl SynStream {
    /// A SYN_STREAM opening `stream_id` with `headers`, priority 3, no flags.
    pub fn new(stream_id: StreamId, headers: HeaderBlock) -> Self {
        SynStream {
            stream_id,
            headers,
            ..SynStream::default()
        }
    }

    pub(crate) fn flags(&self) -> u8 {
        (if self.fin { FLAG_FIN } else { 0 })
            | (if self.unidirectional {
                FLAG_UNIDIRECTIONAL
            } else {
                0
            })
    }

    /// Parses the fixed part; `fixed` is the first 10 payload bytes.
    pub(crate) fn decode_fixed(flags: u8, fixed: &[u8; 10]) -> SynStream {
        SynStream {
            stream_id: StreamId::new(u32::from_be_bytes([fixed[0], fixed[1], fixed[2], fixed[3]])),
            associated_to: StreamId::new(u32::from_be_bytes([
                fixed[4], fixed[5], fixed[6], fixed[7],
            ])),
            priority: Priority::new(fixed[8] >> 5),
            slot: fixed[9],
            fin: flags & FLAG_FIN != 0,
            unidirectional: flags & FLAG_UNIDIRECTIONAL != 0,
            headers: HeaderBlock::new(),
        }
    }

    pub(crate) fn encode_fixed(&self, dst: &mut BytesMut) {
        dst.put_u32(self.stream_id.get());
        dst.put_u32(self.associated_to.get());
        dst.put_u8(self.priority.get() << 5);
        dst.put_u8(self.slot);
    }
}
