//! WINDOW_UPDATE (type 9): flow-control credit for a stream or the session.

use bytes::{BufMut, BytesMut};

use super::{FrameError, StreamId};

/// Length of a WINDOW_UPDATE payload.
pub(crate) const WINDOW_UPDATE_LEN: u32 = 8;
/// The largest valid delta, and the largest a window may grow to (2^31 - 1).
pub const MAX_WINDOW_DELTA: u32 = 0x7fff_ffff;

/// WINDOW_UPDATE: the sender may send `delta` more bytes on the stream (or,
/// for stream 0, on the whole session; new in SPDY/3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowUpdate {
    /// The stream credited; 0 credits the session.
    pub stream_id: StreamId,
    /// The credit, 1 to 2^31 - 1.
    pub delta: u32,
}

impl WindowUpdate {
    pub(crate) fn decode(payload: &[u8; 8]) -> Result<WindowUpdate, FrameError> {
        let stream_id = StreamId::new(u32::from_be_bytes([
            payload[0], payload[1], payload[2], payload[3],
        ]));
        let delta = u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]);
        if delta == 0 || delta > MAX_WINDOW_DELTA {
            return Err(FrameError::InvalidWindowDelta { stream_id, delta });
        }
        Ok(WindowUpdate { stream_id, delta })
    }

    pub(crate) fn encode_payload(&self, dst: &mut BytesMut) {
        dst.put_u32(self.stream_id.get());
        dst.put_u32(self.delta);
    }
}
