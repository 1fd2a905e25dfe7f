//! The event queue: small keys ordered by (time, rank, insertion sequence), with the events themselves in a slab
//! beside them.
//!
//! Ties at the same virtual time pop in the order they were pushed, so a run is a pure function of its inputs.
//! Events pushed with a rank ([`EventQueue::push_first`]) come first at their time, in rank order: a tick
//! pushed that way fires before anything else due in its microsecond whenever it was scheduled, so a process may
//! leave idle ticks unscheduled and apply them later without changing what happens.
//!
//! Timers are kept out of any key-update path by the per-slot deadline re-check in [`crate::Simulation`], so the
//! queue needs only push and pop: no indexed priority queue with `change_priority` (the `priority-queue` crate
//! measured about half as fast; see `benches/engine.rs` and the README's design notes). The keys are held in one
//! of two forms by their number ([`Keys`]): a small cluster's dozen keys in a vector sorted latest first, a large
//! cluster's thousands in a timing wheel of one-microsecond buckets, with a binary heap for the keys due past its
//! window ([`crate::wheel`]).
//!
//! The queue holds 16-byte keys, not events: a message event is several times larger, and every sift of a heap of
//! whole events moved them. A key is (time, sequence, slot) packed into one `u128`, so that comparing two is one
//! integer comparison. An event is written once into its slab slot and read once when it pops; freed slots are
//! reused, so a queue that has reached its working size allocates nothing more. An entry that is only a small
//! number (a [tag](EventQueue::push_tag): the engine's timers and messages in flight, nearly all of a Raft run's
//! queue traffic) is carried in the key's slot field itself and never touches the slab.

use crate::SimTime;
use crate::wheel::Wheel;
use std::cmp::Ordering;

/// Time in the high 52 bits, then the rank (12 bits: `rank` for an event pushed first, [`UNRANKED`] for every
/// other), then the insertion sequence (32 bits), then the slot the event waits in, or a tag with [`TAG_BIT`] set
/// (32 bits). The sequence is unique among queued entries, so the slot never decides an order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key(pub(crate) u128);

/// The rank of an event pushed with [`EventQueue::push`]: after every ranked one at its time.
pub(crate) const UNRANKED: u16 = 0xfff;

/// The highest rank [`EventQueue::push_first`] takes.
pub const MAX_RANK: u16 = UNRANKED - 1;

/// Marks a key's low 32 bits as a tag rather than a slab slot.
const TAG_BIT: u32 = 1 << 31;

/// The highest tag [`EventQueue::push_tag`] takes.
pub const MAX_TAG: u32 = TAG_BIT - 1;

/// What a popped entry holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Entry<E> {
    /// An event pushed with [`EventQueue::push`] or [`EventQueue::push_first`].
    Event(E),
    /// A tag pushed with [`EventQueue::push_tag`] or [`EventQueue::push_tag_first`].
    Tag(u32),
}

/// The queue's horizon, 2^52 - 1 us (about 142 years): an event scheduled later (a heavy-tailed delay draw, a
/// saturated time) waits at the horizon instead.
pub const HORIZON_MICROS: u64 = (1 << 52) - 1;

impl Key {
    #[inline]
    pub(crate) fn new(time: u64, rank: u16, seq: u32, slot: u32) -> Key {
        Key((u128::from(time) << 76) | (u128::from(rank) << 64) | (u128::from(seq) << 32) | u128::from(slot))
    }
    #[inline]
    pub(crate) fn time(self) -> u64 {
        (self.0 >> 76) as u64
    }
    /// The time and rank: the key's order but for its sequence number.
    #[inline]
    fn time_and_rank(self) -> u64 {
        (self.0 >> 64) as u64
    }
    #[inline]
    fn seq(self) -> u32 {
        (self.0 >> 32) as u32
    }
    #[inline]
    fn rank(self) -> u16 {
        (self.0 >> 64) as u16 & UNRANKED
    }
    #[inline]
    fn slot(self) -> u32 {
        self.0 as u32
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    /// Reversed, so that the max-heap pops the earliest (time, seq) first.
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.cmp(&self.0)
    }
}

/// The queued keys. While there are few (a small cluster's timers and messages in flight), a vector sorted
/// latest first: the earliest pops off its end, and a new key, usually a message due soon, goes in near the end
/// after a short scan. Past [`SMALL`] keys, a timing wheel ([`Wheel`]), whose pushes and pops cost about the same
/// however many keys it holds, where a binary heap's pops walk more levels the more it holds, each a likely cache
/// miss; below half that again, sorted. The order keys pop in is theirs alone (they are unique), so which form
/// holds them never changes a run.
struct Keys {
    sorted: Vec<Key>,
    /// Whether the wheel holds the keys (`sorted` is then empty).
    large: bool,
    /// Kept, with its allocations, while the keys are sorted; boxed, so that the engine's loop keeps the small
    /// form's fields at hand.
    wheel: Box<Wheel>,
}

/// The most keys held sorted: a small cluster's queue that passes 32 now and then (a client's commands in
/// flight) stays sorted, where the wheel's calls cost more.
const SMALL: usize = 64;

impl Keys {
    fn new() -> Self {
        Keys {
            sorted: Vec::with_capacity(256),
            large: false,
            wheel: Box::new(Wheel::new()),
        }
    }

    #[inline(always)]
    fn push(&mut self, key: Key) {
        if self.large {
            self.wheel.push(key);
        } else if self.sorted.len() < SMALL {
            // One step of insertion sort from the end: the keys due before this one move up by one as they are
            // passed (usually a few), with no call to move memory. The hole walks down from the new last place
            // through slices whose bounds the compiler knows, so the loop carries no bounds check. A key is pushed
            // with the highest sequence number queued (numbers are handed out in push order, and renumbering keeps
            // the order), so it goes after every key of its time and rank: only those halves are compared, one
            // 64-bit comparison a step instead of a 128-bit one.
            debug_assert!(self.sorted.iter().all(|k| k.seq() < key.seq()));
            let v = &mut self.sorted;
            v.push(key);
            let n = v.len();
            let (rest, last) = v.split_at_mut(n - 1);
            let mut hole = &mut last[0];
            let due = key.time_and_rank();
            for before in rest.iter_mut().rev() {
                if before.time_and_rank() > due {
                    break;
                }
                *hole = *before;
                hole = before;
            }
            *hole = key;
        } else {
            self.make_wheel();
            self.wheel.push(key);
        }
    }

    #[inline(always)]
    fn pop(&mut self) -> Option<Key> {
        self.pop_if(|_| true)
    }

    /// Pops the earliest key if `due` holds for it.
    #[inline(always)]
    fn pop_if(&mut self, due: impl FnOnce(Key) -> bool) -> Option<Key> {
        if !self.large {
            return self.sorted.pop_if(|k| due(*k));
        }
        let key = self.wheel.pop_if(due)?;
        if self.wheel.len() < SMALL / 2 {
            self.make_sorted();
        }
        Some(key)
    }

    #[inline(always)]
    fn peek(&self) -> Option<Key> {
        if self.large {
            self.wheel.peek()
        } else {
            self.sorted.last().copied()
        }
    }

    #[inline]
    fn len(&self) -> usize {
        if self.large {
            self.wheel.len()
        } else {
            self.sorted.len()
        }
    }

    /// Every key, in no order, leaving this empty (and sorted).
    fn take_all(&mut self) -> Vec<Key> {
        let mut keys = std::mem::take(&mut self.sorted);
        if self.large {
            self.wheel.drain_into(&mut keys);
            self.large = false;
        }
        keys
    }

    /// Holds `keys` (in any order) in the form their number calls for.
    fn set(&mut self, mut keys: Vec<Key>) {
        debug_assert!(!self.large && self.sorted.is_empty());
        if keys.len() <= SMALL {
            keys.sort_unstable_by_key(|k| std::cmp::Reverse(k.0));
        } else {
            self.wheel.fill(&mut keys);
            self.large = true;
        }
        self.sorted = keys;
    }

    #[cold]
    fn make_wheel(&mut self) {
        self.wheel.fill(&mut self.sorted);
        self.large = true;
    }

    #[cold]
    fn make_sorted(&mut self) {
        self.wheel.drain_into(&mut self.sorted);
        self.sorted.sort_unstable_by_key(|k| std::cmp::Reverse(k.0));
        self.large = false;
    }

    fn clear(&mut self) {
        let mut keys = self.take_all();
        keys.clear();
        self.sorted = keys;
    }
}

/// A min-queue of events keyed by (time, insertion sequence).
pub struct EventQueue<E> {
    keys: Keys,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    next_seq: u32,
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
            keys: Keys::new(),
            slab: Vec::with_capacity(256),
            free: Vec::with_capacity(256),
            next_seq: 0,
        }
    }

    /// Schedules `event` at `time` (at most [`HORIZON_MICROS`]). Entries at equal times pop in push order, after
    /// those pushed first ([`push_first`](Self::push_first), [`push_tag_first`](Self::push_tag_first)).
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        let slot = self.store(event);
        self.push_key(time, UNRANKED, slot);
    }

    /// Schedules `event` at `time`, before every entry pushed without a rank at the same time, whenever either
    /// was pushed. Among entries pushed first at one time, lower `rank` pops first, and equal ranks pop in push
    /// order.
    ///
    /// Panics if `rank` is above [`MAX_RANK`].
    #[inline]
    pub fn push_first(&mut self, time: SimTime, rank: u16, event: E) {
        assert!(rank <= MAX_RANK, "rank {rank} is above the queue's {MAX_RANK}");
        let slot = self.store(event);
        self.push_key(time, rank, slot);
    }

    /// Schedules `tag` (at most [`MAX_TAG`]) at `time`, ordered as [`push`](Self::push) orders an event. A tag
    /// is carried in the heap's key itself: pushing and popping it costs no slab slot and moves no event.
    #[inline]
    pub fn push_tag(&mut self, time: SimTime, tag: u32) {
        debug_assert!(tag <= MAX_TAG, "tag {tag} is above the queue's {MAX_TAG}");
        self.push_key(time, UNRANKED, tag | TAG_BIT);
    }

    /// Schedules `tag` at `time` with `rank`, ordered as [`push_first`](Self::push_first) orders an event.
    ///
    /// Panics if `rank` is above [`MAX_RANK`].
    #[inline]
    pub fn push_tag_first(&mut self, time: SimTime, rank: u16, tag: u32) {
        assert!(rank <= MAX_RANK, "rank {rank} is above the queue's {MAX_RANK}");
        debug_assert!(tag <= MAX_TAG, "tag {tag} is above the queue's {MAX_TAG}");
        self.push_key(time, rank, tag | TAG_BIT);
    }

    /// Writes `event` into a free slab slot and returns the slot.
    #[inline]
    fn store(&mut self, event: E) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.slab[slot as usize] = Some(event);
                slot
            }
            None => {
                let slot = u32::try_from(self.slab.len())
                    .ok()
                    .filter(|&s| s < TAG_BIT)
                    .expect("fewer than 2^31 pending events");
                self.slab.push(Some(event));
                slot
            }
        }
    }

    #[inline(always)]
    fn push_key(&mut self, time: SimTime, rank: u16, slot: u32) {
        let time = time.as_micros().min(HORIZON_MICROS);
        if self.next_seq == u32::MAX {
            self.renumber();
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.keys.push(Key::new(time, rank, seq, slot));
    }

    /// Gives the queued events the sequence numbers `0..len` in the order they hold, so that numbering can go
    /// on: once per 2^32 pushes, and never within one short run (a [`clear`](Self::clear) starts again at 0).
    #[cold]
    fn renumber(&mut self) {
        let mut keys = self.keys.take_all();
        keys.sort_unstable_by_key(|k| k.0);
        for (seq, k) in keys.iter_mut().enumerate() {
            *k = Key::new(k.time(), k.rank(), seq as u32, k.slot());
        }
        self.next_seq = keys.len() as u32;
        self.keys.set(keys);
    }

    /// Removes and returns the earliest entry.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<(SimTime, Entry<E>)> {
        let key = self.keys.pop()?;
        Some(self.entry_of(key))
    }

    /// Removes and returns the earliest entry if it is due at or before `until` (`None` otherwise, or when
    /// empty): [`peek_time`](Self::peek_time) then [`pop`](Self::pop) in one look at the keys.
    #[inline(always)]
    pub fn pop_until(&mut self, until: SimTime) -> Option<(SimTime, Entry<E>)> {
        let key = self.keys.pop_if(|k| k.time() <= until.as_micros())?;
        Some(self.entry_of(key))
    }

    /// What a popped key stands for: a tag, or the event in its slab slot (freed).
    #[inline(always)]
    fn entry_of(&mut self, key: Key) -> (SimTime, Entry<E>) {
        let time = SimTime::from_micros(key.time());
        let slot = key.slot();
        if slot & TAG_BIT != 0 {
            return (time, Entry::Tag(slot & MAX_TAG));
        }
        let event = self.slab[slot as usize].take().expect("a queued slot holds its event");
        self.free.push(slot);
        (time, Entry::Event(event))
    }

    /// The time of the earliest event, if any.
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        self.keys.peek().map(|k| SimTime::from_micros(k.time()))
    }

    /// Number of queued events (including stale timer entries not yet skipped).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.len() == 0
    }

    /// Drops every event, keeping the allocations.
    pub fn clear(&mut self) {
        self.keys.clear();
        self.slab.clear();
        self.free.clear();
        self.next_seq = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pops an event, panicking on a tag.
    fn pop_event<E>(q: &mut EventQueue<E>) -> Option<(SimTime, E)> {
        q.pop().map(|(t, e)| match e {
            Entry::Event(e) => (t, e),
            Entry::Tag(tag) => panic!("tag {tag} where an event was expected"),
        })
    }

    #[test]
    fn pops_in_time_order() {
        let mut q = EventQueue::new();
        for (t, e) in [(30, 'c'), (10, 'a'), (20, 'b')] {
            q.push(SimTime::from_micros(t), e);
        }
        let order: Vec<char> = std::iter::from_fn(|| pop_event(&mut q).map(|(_, e)| e)).collect();
        assert_eq!(order, ['a', 'b', 'c']);
    }

    #[test]
    fn ties_break_by_insertion_order() {
        let mut q = EventQueue::new();
        for i in 0..1000u32 {
            q.push(SimTime::from_micros(5), i);
        }
        q.push(SimTime::from_micros(4), u32::MAX);
        assert_eq!(pop_event(&mut q), Some((SimTime::from_micros(4), u32::MAX)));
        for i in 0..1000u32 {
            assert_eq!(pop_event(&mut q), Some((SimTime::from_micros(5), i)));
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
                assert_eq!(pop_event(&mut q), Some((SimTime::from_micros(t), e)), "step {step}");
            }
            assert!(q.slab.len() <= step as usize + 1);
            assert_eq!(
                q.slab.len() - q.free.len(),
                reference.len(),
                "live slots = pending events"
            );
        }
    }

    #[test]
    fn order_survives_renumbering() {
        let mut q = EventQueue::new();
        q.next_seq = u32::MAX - 3;
        // Ties at time 5 straddle the renumbering; an earlier event is pushed after it.
        for i in 0..8u32 {
            q.push(SimTime::from_micros(5 + u64::from(i % 2)), i);
        }
        assert!(q.next_seq < 16, "renumbered from 0");
        q.push(SimTime::from_micros(4), 99);
        let order: Vec<u32> = std::iter::from_fn(|| pop_event(&mut q).map(|(_, e)| e)).collect();
        assert_eq!(order, [99, 0, 2, 4, 6, 1, 3, 5, 7]);
    }

    #[test]
    fn ranked_events_pop_first_at_their_time_in_rank_order() {
        let mut q = EventQueue::new();
        let t = SimTime::from_micros;
        q.push(t(5), "plain a");
        q.push_first(t(6), 0, "later tick");
        q.push_first(t(5), 7, "tick 7");
        q.push(t(5), "plain b");
        q.push_first(t(5), 2, "tick 2, first");
        q.push_first(t(5), 2, "tick 2, second");
        q.push(t(4), "earlier plain");
        let order: Vec<&str> = std::iter::from_fn(|| pop_event(&mut q).map(|(_, e)| e)).collect();
        assert_eq!(
            order,
            [
                "earlier plain",
                "tick 2, first",
                "tick 2, second",
                "tick 7",
                "plain a",
                "plain b",
                "later tick"
            ]
        );
    }

    #[test]
    fn renumbering_keeps_ranks_and_times_past_the_horizon_wait_there() {
        let mut q = EventQueue::new();
        q.next_seq = u32::MAX - 2;
        q.push(SimTime::from_micros(5), 'p');
        q.push_first(SimTime::from_micros(5), MAX_RANK, 'r');
        q.push(SimTime::MAX, 'z');
        q.push(SimTime::from_micros(5), 'q');
        assert!(q.next_seq < 8, "renumbered");
        assert_eq!(pop_event(&mut q), Some((SimTime::from_micros(5), 'r')));
        assert_eq!(pop_event(&mut q), Some((SimTime::from_micros(5), 'p')));
        assert_eq!(pop_event(&mut q), Some((SimTime::from_micros(5), 'q')));
        assert_eq!(pop_event(&mut q), Some((SimTime::from_micros(HORIZON_MICROS), 'z')));
    }

    #[test]
    fn tags_interleave_with_events_in_key_order_and_take_no_slot() {
        let mut q = EventQueue::new();
        let t = SimTime::from_micros;
        q.push(t(5), 'a');
        q.push_tag(t(5), 7);
        q.push_tag_first(t(5), 3, MAX_TAG);
        q.push(t(4), 'b');
        q.push_tag(t(4), 0);
        q.push_first(t(5), 1, 'c');
        assert_eq!(q.slab.len(), 3, "tags use no slab slot");
        let order: Vec<(u64, Entry<char>)> = std::iter::from_fn(|| q.pop().map(|(t, e)| (t.as_micros(), e))).collect();
        assert_eq!(
            order,
            [
                (4, Entry::Event('b')),
                (4, Entry::Tag(0)),
                (5, Entry::Event('c')),
                (5, Entry::Tag(MAX_TAG)),
                (5, Entry::Event('a')),
                (5, Entry::Tag(7)),
            ]
        );
        assert_eq!(q.free.len(), 3, "every event's slot is free again");
    }

    #[test]
    fn order_holds_as_the_queue_grows_past_its_sorted_size_and_shrinks_back() {
        let mut q = EventQueue::new();
        let mut reference: Vec<(u64, u64, u64)> = Vec::new(); // (time, seq, payload)
        let mut seq = 0;
        let mut x: u64 = 99;
        let mut forms = (false, false);
        // Waves up to four times the sorted size and back down to a few, several times over.
        for wave in 0..6u64 {
            let peak = 4 * SMALL as u64 + wave;
            while (reference.len() as u64) < peak {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let t = 1_000 + (x >> 40) % 500;
                q.push(SimTime::from_micros(t), seq);
                reference.push((t, seq, seq));
                seq += 1;
            }
            forms.1 |= q.keys.large;
            while reference.len() > 3 {
                let i = (0..reference.len())
                    .min_by_key(|&i| (reference[i].0, reference[i].1))
                    .unwrap();
                let (t, _, e) = reference.remove(i);
                assert_eq!(pop_event(&mut q), Some((SimTime::from_micros(t), e)), "wave {wave}");
            }
            forms.0 |= !q.keys.large;
        }
        assert_eq!(forms, (true, true), "both forms were used");
        assert_eq!(q.len(), reference.len());
    }

    /// The next draw of a small linear congruential generator, for the tests' own random choices.
    fn lcg(x: u64) -> u64 {
        x.wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407)
    }

    #[test]
    fn keys_pop_in_key_order_in_every_form_within_the_window_past_it_and_before_it() {
        // Waves that grow the queue to thousands of keys (the wheel) and shrink it to a few (sorted): most keys
        // due within a few milliseconds, some far later (the wheel's heap), some at the time last popped, a few
        // before it (placed again); a tenth ranked; the sequence numbers renumbered once on the way.
        let mut q = EventQueue::new();
        let mut reference = std::collections::BTreeSet::new(); // (time, rank, seq, payload)
        let (mut seq, mut x, mut now) = (0u64, 7u64, 0u64);
        let mut pops = [0usize; 2]; // in the sorted form, in the wheel
        for step in 0..300_000u64 {
            if step == 150_000 {
                q.next_seq = u32::MAX - 5;
            }
            x = lcg(x);
            let r = x >> 33;
            let growing = (step / 25_000) % 2 == 0;
            if reference.is_empty() || r % 16 < if growing { 9 } else { 5 } {
                let d = (x >> 8) % 1_000_000;
                let t = match r % 100 {
                    0..=69 => now + d % 8_000,
                    70..=89 => now + d,
                    90..=96 => now,
                    _ => now.saturating_sub(d % 50),
                };
                let rank = if (x >> 4) % 10 == 0 {
                    (x >> 12) as u16 % 3
                } else {
                    UNRANKED
                };
                if rank == UNRANKED {
                    q.push(SimTime::from_micros(t), step);
                } else {
                    q.push_first(SimTime::from_micros(t), rank, step);
                }
                reference.insert((t, rank, seq, step));
                seq += 1;
            } else {
                pops[usize::from(q.keys.large)] += 1;
                let (t, _, _, e) = reference.pop_first().unwrap();
                assert_eq!(pop_event(&mut q), Some((SimTime::from_micros(t), e)), "step {step}");
                now = t;
            }
            assert_eq!(q.len(), reference.len());
        }
        assert!(pops.iter().all(|&n| n > 1_000), "every form held the keys: {pops:?}");
        while let Some((t, _, _, e)) = reference.pop_first() {
            assert_eq!(pop_event(&mut q), Some((SimTime::from_micros(t), e)));
        }
        assert!(q.is_empty() && q.pop().is_none());
    }

    #[test]
    fn a_key_not_due_stays_put_and_one_pushed_before_it_pops_first() {
        // Every key far past the wheel's window: `pop_until` short of them pops nothing and moves nothing, so a
        // key pushed afterwards, earlier than all of them, still pops first.
        let t = SimTime::from_micros;
        let mut q = EventQueue::new();
        for i in 0..2_000u64 {
            q.push(t(1_000_000 + i * 1_000), i);
        }
        assert!(q.keys.large);
        q.push(t(10), 1_000);
        assert_eq!(pop_event(&mut q), Some((t(10), 1_000)));
        assert_eq!(q.pop_until(t(999_999)), None);
        q.push(t(500), 2_000);
        q.push_first(t(500), 0, 3_000);
        assert_eq!(q.peek_time(), Some(t(500)));
        assert_eq!(pop_event(&mut q), Some((t(500), 3_000)));
        assert_eq!(pop_event(&mut q), Some((t(500), 2_000)));
        for i in 0..2_000u64 {
            assert_eq!(pop_event(&mut q), Some((t(1_000_000 + i * 1_000), i)));
        }
        assert!(q.is_empty());
    }

    #[test]
    fn pop_until_pops_what_is_due_in_order_and_leaves_the_rest() {
        let t = SimTime::from_micros;
        // A few keys (the sorted form) and many (the heap), pushed out of order, with ties.
        for n in [5u64, 4 * SMALL as u64] {
            let (mut q, mut reference) = (EventQueue::new(), EventQueue::new());
            for i in 0..n {
                let at = t(100 + (i * 37) % n);
                q.push(at, i);
                reference.push(at, i);
            }
            let cut = t(100 + n / 2);
            assert_eq!(q.pop_until(t(99)), None, "nothing due before the earliest");
            assert_eq!(q.len() as u64, n);
            let mut popped = 0;
            while let Some((time, entry)) = q.pop_until(cut) {
                assert!(time <= cut);
                assert_eq!(Some((time, entry)), reference.pop());
                popped += 1;
            }
            assert!(popped > 0 && popped < n, "some due, some not ({popped} of {n})");
            assert!(q.peek_time().is_some_and(|next| next > cut));
            assert_eq!(q.len(), reference.len());
            while let Some(entry) = q.pop_until(SimTime::MAX) {
                assert_eq!(Some(entry), reference.pop());
            }
            assert!(q.is_empty() && reference.is_empty());
        }
    }
}
