//! Streams we reset recently: frames the peer sent before it saw our
//! RST_STREAM are ignored instead of being answered one by one.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use crate::frame::StreamId;

/// A bounded, expiring set of recently reset stream ids.
#[derive(Debug)]
pub(crate) struct ResetMemory {
    order: VecDeque<(StreamId, Instant)>,
    ids: HashSet<StreamId>,
    capacity: usize,
    ttl: Duration,
}

impl ResetMemory {
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        ResetMemory {
            order: VecDeque::new(),
            ids: HashSet::new(),
            capacity,
            ttl,
        }
    }

    pub(crate) fn remember(&mut self, id: StreamId, now: Instant) {
        self.expire(now);
        if self.capacity == 0 || !self.ids.insert(id) {
            return;
        }
        if self.order.len() == self.capacity
            && let Some((old, _)) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
        self.order.push_back((id, now));
    }

    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    pub(crate) fn contains(&mut self, id: StreamId, now: Instant) -> bool {
        self.expire(now);
        self.ids.contains(&id)
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&(id, at)) = self.order.front() {
            if now.saturating_duration_since(at) < self.ttl {
                break;
            }
            self.order.pop_front();
            self.ids.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_expiring() {
        let now = Instant::now();
        let mut memory = ResetMemory::new(2, Duration::from_secs(5));
        for id in [1, 3, 5] {
            memory.remember(StreamId::new(id), now);
        }
        assert!(
            !memory.contains(StreamId::new(1), now),
            "evicted by capacity"
        );
        assert!(memory.contains(StreamId::new(3), now));
        assert!(!memory.contains(StreamId::new(5), now + Duration::from_secs(5)));
    }
}
