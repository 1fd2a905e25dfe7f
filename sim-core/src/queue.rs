//! The event queue: a binary heap ordered by (time, insertion sequence).
//!
//! Ties at the same virtual time pop in the order they were pushed, so a run is a pure function of its inputs.
//! `std::collections::BinaryHeap` was chosen over the `priority-queue` crate after measuring both (see
//! `benches/engine.rs` and the README's design notes): timers are kept out of the heap's key-update path by the
//! per-slot deadline re-check in [`crate::Simulation`], so the heap needs only push and pop, and a plain binary
//! heap does those about twice as fast as an indexed priority queue that supports `change_priority`.

use crate::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

struct Entry<E> {
    time: SimTime,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed, so that the max-heap pops the earliest (time, seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.time.cmp(&self.time).then_with(|| other.seq.cmp(&self.seq))
    }
}

/// A min-queue of events keyed by (time, insertion sequence).
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(256),
            next_seq: 0,
        }
    }

    /// Schedules `event` at `time`. Events at equal times pop in push order.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { time, seq, event });
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.heap.pop().map(|e| (e.time, e.event))
    }

    /// The time of the earliest event, if any.
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| e.time)
    }

    /// Number of queued events (including stale timer entries not yet skipped).
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Drops every event, keeping the allocation (and the sequence counter, so order stays total).
    pub fn clear(&mut self) {
        self.heap.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_order() {
        let mut q = EventQueue::new();
        for (t, e) in [(30, 'c'), (10, 'a'), (20, 'b')] {
            q.push(SimTime::from_micros(t), e);
        }
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ['a', 'b', 'c']);
    }

    #[test]
    fn ties_break_by_insertion_order() {
        let mut q = EventQueue::new();
        for i in 0..1000u32 {
            q.push(SimTime::from_micros(5), i);
        }
        q.push(SimTime::from_micros(4), u32::MAX);
        assert_eq!(q.pop(), Some((SimTime::from_micros(4), u32::MAX)));
        for i in 0..1000u32 {
            assert_eq!(q.pop(), Some((SimTime::from_micros(5), i)));
        }
        assert!(q.pop().is_none());
    }
}
