//! Our outstanding PINGs and the keepalive.

use std::collections::VecDeque;
use std::time::Instant;

use super::Role;

/// Most PINGs of ours that can wait for an answer at once.
pub(crate) const MAX_OUTSTANDING_PINGS: usize = 16;

/// PINGs we sent and when.
#[derive(Debug)]
pub(crate) struct PingTracker {
    next_id: u32,
    outstanding: VecDeque<(u32, Instant)>,
}

impl PingTracker {
    pub(crate) fn new(role: Role) -> Self {
        PingTracker {
            next_id: match role {
                Role::Client => 1,
                Role::Server => 2,
            },
            outstanding: VecDeque::new(),
        }
    }

    /// A fresh id of our parity, recorded as sent at `now`; `None` when too
    /// many are waiting.
    pub(crate) fn start(&mut self, now: Instant) -> Option<u32> {
        if self.outstanding.len() >= MAX_OUTSTANDING_PINGS {
            return None;
        }
        let id = self.next_id;
        // Wraps within the same parity.
        self.next_id = self.next_id.wrapping_add(2);
        self.outstanding.push_back((id, now));
        Some(id)
    }

    /// Matches an echo; returns when the ping was sent.
    pub(crate) fn answer(&mut self, id: u32) -> Option<Instant> {
        let index = self.outstanding.iter().position(|(i, _)| *i == id)?;
        self.outstanding.remove(index).map(|(_, at)| at)
    }

    /// Forgets the pings sent at or before `cutoff`.
    pub(crate) fn expire(&mut self, cutoff: Instant) {
        while self
            .outstanding
            .front()
            .is_some_and(|(_, sent)| *sent <= cutoff)
        {
            self.outstanding.pop_front();
        }
    }

    /// How many of our pings wait for an answer.
    pub(crate) fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// When the oldest unanswered ping was sent.
    pub(crate) fn oldest(&self) -> Option<Instant> {
        self.outstanding.front().map(|(_, at)| *at)
    }

    pub(crate) fn is_ours(role: Role, id: u32) -> bool {
        match role {
            Role::Client => id % 2 == 1,
            Role::Server => id.is_multiple_of(2),
        }
    }
}
