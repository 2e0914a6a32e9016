//! Control frames that are skipped by length: CREDENTIAL and unknown types.

/// A control frame the decoder skipped without interpreting it: CREDENTIAL
/// (type 10, never widely deployed) or a type SPDY/3.1 does not define.
/// Reported so a session can count them against its work limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ignored {
    /// The raw 16-bit type field.
    pub frame_type: u16,
    /// The flags byte.
    pub flags: u8,
    /// The payload length that was skipped. The encoder writes this many zero
    /// bytes, which is enough to exercise a peer's skipping logic.
    pub length: u32,
}
