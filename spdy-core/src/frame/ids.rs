//! Stream ids and priorities.

use std::fmt;

/// A 31-bit stream id. Odd ids are opened by clients, even ids by servers; 0
/// names the session itself (WINDOW_UPDATE, GOAWAY).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(u32);

impl StreamId {
    /// Stream id 0: the session, or "no stream".
    pub const ZERO: StreamId = StreamId(0);
    /// The largest id a stream can have (2^31 - 1).
    pub const MAX: StreamId = StreamId(0x7fff_ffff);

    /// An id from its value; the reserved top bit is cleared.
    pub const fn new(id: u32) -> Self {
        StreamId(id & 0x7fff_ffff)
    }

    /// The id as a number.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// True for id 0.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// True for odd ids, which clients open.
    pub const fn is_client_initiated(self) -> bool {
        self.0 % 2 == 1
    }

    /// True for even non-zero ids, which servers open.
    pub const fn is_server_initiated(self) -> bool {
        self.0 != 0 && self.0.is_multiple_of(2)
    }

    /// The next id of the same parity, or `None` once 2^31 - 1 is passed.
    pub const fn next(self) -> Option<StreamId> {
        match self.0.checked_add(2) {
            Some(next) if next <= StreamId::MAX.0 => Some(StreamId(next)),
            _ => None,
        }
    }
}

impl From<u32> for StreamId {
    fn from(id: u32) -> Self {
        StreamId::new(id)
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A SYN_STREAM priority: 0 is the highest, 7 the lowest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(u8);

impl Priority {
    /// Priority 0, the most urgent.
    pub const HIGHEST: Priority = Priority(0);
    /// Priority 7, the least urgent.
    pub const LOWEST: Priority = Priority(7);
    /// The number of levels.
    pub const LEVELS: usize = 8;

    /// A priority from 0 to 7; larger values are clamped to 7.
    pub const fn new(level: u8) -> Self {
        if level > 7 {
            Priority(7)
        } else {
            Priority(level)
        }
    }

    /// The level, 0 (highest) to 7 (lowest).
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl Default for Priority {
    /// Priority 3, the middle level browsers use for ordinary requests.
    fn default() -> Self {
        Priority(3)
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_id_parity_and_reserved_bit() {
        assert!(StreamId::new(1).is_client_initiated());
        assert!(StreamId::new(2).is_server_initiated());
        assert!(!StreamId::ZERO.is_server_initiated());
        assert_eq!(StreamId::new(0x8000_0005).get(), 5);
        assert_eq!(StreamId::new(3).next(), Some(StreamId::new(5)));
        assert_eq!(StreamId::MAX.next(), None);
        assert_eq!(StreamId::new(0x7fff_fffd).next(), Some(StreamId::MAX));
    }

    #[test]
    fn priority_clamps() {
        assert_eq!(Priority::new(9), Priority::LOWEST);
        assert_eq!(Priority::new(0), Priority::HIGHEST);
        assert_eq!(Priority::default().get(), 3);
    }
}
