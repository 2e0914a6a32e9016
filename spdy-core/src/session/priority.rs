//! The transmit scheduler's ready queues: eight priority levels, round-robin
//! inside a level.

use std::collections::VecDeque;

use crate::frame::{Priority, StreamId};

/// Streams with something to send, by priority.
#[derive(Debug, Default)]
pub(crate) struct ReadyQueues {
    levels: [VecDeque<StreamId>; Priority::LEVELS],
}

impl ReadyQueues {
    /// Queues `id` at the back of its level.
    pub(crate) fn push(&mut self, id: StreamId, priority: Priority) {
        self.levels[usize::from(priority.get())].push_back(id);
    }

    /// Takes the first stream of the most urgent non-empty level.
    pub(crate) fn pop(&mut self) -> Option<StreamId> {
        self.levels.iter_mut().find_map(VecDeque::pop_front)
    }

    /// Removes `id` from the level it waits in.
    pub(crate) fn remove(&mut self, id: StreamId, priority: Priority) {
        let level = &mut self.levels[usize::from(priority.get())];
        if let Some(index) = level.iter().position(|&queued| queued == id) {
            level.remove(index);
        } else {
            // The priority changed while it waited: look everywhere.
            for level in &mut self.levels {
                level.retain(|&queued| queued != id);
            }
        }
    }

    /// Streams waiting, all levels together.
    pub(crate) fn len(&self) -> usize {
        self.levels.iter().map(VecDeque::len).sum()
    }

    /// Empties every level.
    pub(crate) fn clear(&mut self) {
        self.levels.iter_mut().for_each(VecDeque::clear);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_urgent_first_then_round_robin() {
        let mut q = ReadyQueues::default();
        q.push(StreamId::new(1), Priority::new(7));
        q.push(StreamId::new(3), Priority::new(0));
        q.push(StreamId::new(5), Priority::new(0));
        assert_eq!(q.pop(), Some(StreamId::new(3)));
        q.push(StreamId::new(3), Priority::new(0));
        assert_eq!(q.pop(), Some(StreamId::new(5)));
        assert_eq!(q.pop(), Some(StreamId::new(3)));
        assert_eq!(q.pop(), Some(StreamId::new(1)));
        assert_eq!(q.pop(), None);
    }
}
