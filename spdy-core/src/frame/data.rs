//! DATA frames: stream payload, flow-controlled.

use bytes::{BufMut, Bytes, BytesMut};

use super::{FLAG_FIN, FrameHead, HEAD_LEN, StreamId};

/// DATA: a run of payload bytes for one stream.
///
/// Decoded payloads are slices of the decoder's read buffer, never copies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Data {
    /// The stream (never 0).
    pub stream_id: StreamId,
    /// The sender's last frame on the stream.
    pub fin: bool,
    /// The payload.
    pub payload: Bytes,
}

impl Data {
    /// A DATA frame for `stream_id` carrying `payload`.
    pub fn new(stream_id: StreamId, payload: impl Into<Bytes>) -> Self {
        Data {
            stream_id,
            fin: false,
            payload: payload.into(),
        }
    }

    /// The same frame with FIN set to `fin`.
    pub fn with_fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }

    /// The 8-byte head for a DATA frame of `length` payload bytes, so a
    /// caller can write head and payload with one vectored write.
    ///
    /// `length` must not exceed [`MAX_FRAME_LEN`](super::MAX_FRAME_LEN); the
    /// encoder checks that for whole frames.
    pub fn head(stream_id: StreamId, fin: bool, length: u32) -> [u8; HEAD_LEN] {
        FrameHead::Data {
            stream_id,
            flags: if fin { FLAG_FIN } else { 0 },
            length,
        }
        .to_bytes()
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) {
        // The encoder has checked the length against the 24-bit limit.
        let length = self.payload.len() as u32;
        dst.reserve(HEAD_LEN + self.payload.len());
        dst.put_slice(&Data::head(self.stream_id, self.fin, length));
        dst.put_slice(&self.payload);
    }
}
