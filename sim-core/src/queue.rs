//! The event queue: a binary heap of small keys ordered by (time, insertion sequence), with the events themselves
//! in a slab beside it.
//!
//! Ties at the same virtual time pop in the order they were pushed, so a run is a pure function of its inputs.
//! `std::collections::BinaryHeap` was chosen over the `priority-queue` crate after measuring both (see
//! `benches/engine.rs` and the README's design notes): timers are kept out of the heap's key-update path by the
//! per-slot deadline re-check in [`crate::Simulation`], so the heap needs only push and pop, and a plain binary
//! heap does those about twice as fast as an indexed priority queue that supports `change_priority`.
//!
//! The heap holds 32-byte keys, not events: a message event is several times larger, and every sift of a heap of
//! whole events moved them. An event is written once into its slab slot and read once when it pops; freed slots
//! are reused, so a queue that has reached its working size allocates nothing more.

use crate::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// (time, seq) packed for one comparison, and where the event waits.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key {
    order: u128,
    slot: u32,
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    /// Reversed, so that the max-heap pops the earliest (time, seq) first. `order` is unique, so `slot` never
    /// decides.
    fn cmp(&self, other: &Self) -> Ordering {
        other.order.cmp(&self.order)
    }
}

/// A min-queue of events keyed by (time, insertion sequence).
pub struct EventQueue<E> {
    heap: BinaryHeap<Key>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
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
            slab: Vec::with_capacity(256),
            free: Vec::with_capacity(256),
            next_seq: 0,
        }
    }

    /// Schedules `event` at `time`. Events at equal times pop in push order.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slab[slot as usize] = Some(event);
                slot
            }
            None => {
                let slot = u32::try_from(self.slab.len()).expect("fewer than 2^32 pending events");
                self.slab.push(Some(event));
                slot
            }
        };
        self.heap.push(Key {
            order: (u128::from(time.as_micros()) << 64) | u128::from(seq),
            slot,
        });
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let key = self.heap.pop()?;
        let event = self.slab[key.slot as usize]
            .take()
            .expect("a queued slot holds its event");
        self.free.push(key.slot);
        Some((SimTime::from_micros((key.order >> 64) as u64), event))
    }

    /// The time of the earliest event, if any.
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|k| SimTime::from_micros((k.order >> 64) as u64))
    }

    /// Number of queued events (including stale timer entries not yet skipped).
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Drops every event, keeping the allocations (and the sequence counter, so order stays total).
    pub fn clear(&mut self) {
        self.heap.clear();
        self.slab.clear();
        self.free.clear();
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

    #[test]
    fn interleaved_pushes_and_pops_match_a_reference_and_reuse_slots() {
        let mut q = EventQueue::new();
        let mut reference: Vec<(u64, u64, u64)> = Vec::new(); // (time, seq, payload)
        let mut seq = 0;
        let mut x: u64 = 12345;
        for step in 0..5000u64 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            if reference.is_empty() || (x >> 60) < 9 {
                let t = (x >> 20) % 64;
                q.push(SimTime::from_micros(t), step);
                reference.push((t, seq, step));
                seq += 1;
            } else {
                let i = (0..reference.len())
                    .min_by_key(|&i| (reference[i].0, reference[i].1))
                    .unwrap();
                let (t, _, e) = reference.remove(i);
                assert_eq!(q.pop(), Some((SimTime::from_micros(t), e)), "step {step}");
            }
            assert!(q.slab.len() <= step as usize + 1);
            assert_eq!(
                q.slab.len() - q.free.len(),
                reference.len(),
                "live slots = pending events"
            );
        }
    }
}
