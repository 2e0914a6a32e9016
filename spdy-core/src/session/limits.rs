//! Counting the peer's work-without-data against [`RateLimit`]s.

use std::time::Instant;

use super::RateLimit;

/// Counts events in fixed windows of a limit's period.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RateCounter {
    window_start: Option<Instant>,
    count: u32,
}

impl RateCounter {
    /// Records one event; false when the limit is passed.
    pub(crate) fn record(&mut self, now: Instant, limit: RateLimit) -> bool {
        match self.window_start {
            Some(start) if now.saturating_duration_since(start) < limit.period => {}
            _ => {
                self.window_start = Some(now);
                self.count = 0;
            }
        }
        self.count = self.count.saturating_add(1);
        self.count <= limit.max
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn limit_applies_per_period() {
        let limit = RateLimit::new(3, Duration::from_secs(1));
        let start = Instant::now();
        let mut counter = RateCounter::default();
        assert!((0..3).all(|_| counter.record(start, limit)));
        assert!(!counter.record(start, limit));
        assert!(counter.record(start + Duration::from_secs(1), limit));
    }
}
