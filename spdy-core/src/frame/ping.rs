//! PING (type 6): liveness and round-trip measurement.

use bytes::{BufMut, BytesMut};

/// Length of a PING payload.
pub(crate) const PING_LEN: u32 = 4;

/// PING: the receiver echoes a ping whose id has the other side's parity
/// (clients use odd ids, servers even ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ping {
    /// The ping id.
    pub id: u32,
}

impl Ping {
    pub(crate) fn decode(payload: &[u8; 4]) -> Ping {
        Ping {
            id: u32::from_be_bytes(*payload),
        }
    }

    pub(crate) fn encode_payload(&self, dst: &mut BytesMut) {
        dst.put_u32(self.id);
    }
}
