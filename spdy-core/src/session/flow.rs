//! Flow-control windows. SPDY/3.1 windows may go negative (after SETTINGS
//! lowers the initial window) and may never exceed 2^31 - 1.

use crate::frame::MAX_WINDOW_DELTA;

/// A flow-control window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window(i64);

/// A window grew past 2^31 - 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WindowOverflow;

impl Window {
    pub(crate) fn new(size: u32) -> Self {
        Window(i64::from(size))
    }

    /// Bytes that may be sent now (0 when negative).
    pub(crate) fn available(self) -> u64 {
        self.0.max(0) as u64
    }

    pub(crate) fn get(self) -> i64 {
        self.0
    }

    /// Adds credit (a WINDOW_UPDATE delta, or a SETTINGS change that may be
    /// negative); fails past 2^31 - 1.
    pub(crate) fn adjust(&mut self, delta: i64) -> Result<(), WindowOverflow> {
        let next = self.0 + delta;
        if next > i64::from(MAX_WINDOW_DELTA) {
            return Err(WindowOverflow);
        }
        self.0 = next;
        Ok(())
    }

    /// Spends `n` bytes.
    pub(crate) fn consume(&mut self, n: u32) {
        self.0 -= i64::from(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_goes_negative_and_refuses_overflow() {
        let mut w = Window::new(65_536);
        w.consume(65_536);
        assert_eq!(w.available(), 0);
        w.adjust(-1000).unwrap();
        assert_eq!(w.get(), -1000);
        assert_eq!(w.available(), 0);
        w.adjust(2000).unwrap();
        assert_eq!(w.available(), 1000);
        let mut full = Window::new(MAX_WINDOW_DELTA);
        assert_eq!(full.adjust(1), Err(WindowOverflow));
        assert_eq!(full.get(), i64::from(MAX_WINDOW_DELTA));
    }
}
