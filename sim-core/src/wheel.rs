//! The event queue's form for many keys: a timing wheel of one-microsecond buckets over the next [`SPAN`]
//! microseconds, with a binary heap for the keys due later.
//!
//! A large cluster's queue holds thousands of messages in flight, nearly all due within a few milliseconds. In a
//! binary heap every pop walked a dozen levels, each a likely cache miss and a branch the processor could not
//! predict. Here a key due within the window is appended to its microsecond's bucket and popped from its front:
//! the next bucket holding keys is found in a bitmap of buckets and a bitmap of its words, 64 microseconds and
//! 4.1 ms a step. Keys due later (election timers, mostly) wait in the heap and move into their bucket once the
//! window reaches them, before anything else can be pushed there.
//!
//! The order is exactly the keys' order: a bucket holds one microsecond's keys sorted by (rank, sequence). An
//! unranked key pushed now has a higher sequence than any key queued, so it goes at its bucket's end; a ranked one
//! (a tick) is walked to its place; keys coming from the heap come in key order, before any key can be pushed to
//! their bucket directly.

use crate::queue::Key;
use std::collections::BinaryHeap;

/// Bits of a bucket's index: the window spans 2^16 us (65.5 ms), longer than the message delays of the catalogue's
/// networks and than a heartbeat interval of 50 ms, in 256 KB of bucket ends and an 8 KB bitmap. With a window of
/// 16.4 ms, a wheel of 64 keys due 1-50 ms ahead ran at about half a binary heap's speed, most of its keys waiting
/// in its own heap.
const BITS: u32 = 16;
/// Microseconds in the window.
const SPAN: u64 = 1 << BITS;
const MASK: u64 = SPAN - 1;
/// The end of the free list.
const NIL: u32 = u32::MAX;
/// Words of the bucket bitmap.
const WORDS: usize = (SPAN / 64) as usize;

/// A queued key and the next of its bucket's (a circular list: a bucket names its last key, whose `next` is its
/// first). Two words and an index, not a `u128`, so that a link is 24 bytes rather than 32.
#[derive(Clone, Copy)]
struct Link {
    hi: u64,
    lo: u64,
    next: u32,
}

impl Link {
    #[inline(always)]
    fn key(self) -> Key {
        Key((u128::from(self.hi) << 64) | u128::from(self.lo))
    }
}

/// See the [module](self).
pub(crate) struct Wheel {
    /// Per bucket, its last key's link plus one, or 0 when empty: zeroed memory, which the system maps only as
    /// the buckets are first used. Fixed arrays, indexed by masked numbers: no bounds checks.
    tails: Box<[u32; SPAN as usize]>,
    /// One bit per bucket: whether it holds a key.
    occupied: Box<[u64; WORDS]>,
    /// One bit per word of `occupied`: whether it has a bit set, so that a sparse window is crossed in a few
    /// steps.
    summary: [u64; WORDS / 64],
    links: Vec<Link>,
    /// Unused links, chained through `next`: the one freed last is reused first, while it is still in cache.
    free: u32,
    /// Every key in a bucket is due in `cursor..cursor + SPAN`; every key in `later` at `cursor + SPAN` or after.
    /// The time of the last key popped, so that what the engine pushes (never earlier than now) never falls
    /// before it.
    cursor: u64,
    later: BinaryHeap<Key>,
    len: usize,
    /// The keys being placed again by [`rebase`](Self::rebase), kept with its allocation.
    scratch: Vec<Key>,
}

impl Wheel {
    /// An empty wheel (264 KB, zeroed: memory is taken only as buckets are used).
    pub(crate) fn new() -> Self {
        Wheel {
            tails: vec![0; SPAN as usize]
                .into_boxed_slice()
                .try_into()
                .expect("SPAN buckets"),
            occupied: vec![0; WORDS].into_boxed_slice().try_into().expect("WORDS words"),
            summary: [0; WORDS / 64],
            links: Vec::new(),
            free: NIL,
            cursor: 0,
            later: BinaryHeap::new(),
            len: 0,
            scratch: Vec::new(),
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Holds `keys` (in any order), which must be the first since the wheel was last emptied. The window starts
    /// half its span before the earliest key: the engine's clock may be behind that key, and what it pushes
    /// next, before any key pops, then still falls within the window rather than before it.
    pub(crate) fn fill(&mut self, keys: &mut Vec<Key>) {
        debug_assert_eq!(self.len, 0);
        keys.sort_unstable_by_key(|k| k.0);
        self.cursor = keys.first().map_or(0, |k| k.time().saturating_sub(SPAN / 2));
        for &k in keys.iter() {
            self.push(k);
        }
        keys.clear();
    }

    /// Out of line, as are [`pop_if`](Self::pop_if) and [`peek`](Self::peek): the queue's small form stays
    /// inlined in the engine's loop, and a large cluster's event pays a call.
    #[inline(never)]
    pub(crate) fn push(&mut self, key: Key) {
        let t = key.time();
        if t < self.cursor {
            self.rebase(t);
        }
        self.len += 1;
        if t - self.cursor >= SPAN {
            self.later.push(key);
        } else {
            self.insert(key);
        }
    }

    /// Puts `key` (due within the window) in its bucket, in order.
    #[inline(always)]
    fn insert(&mut self, key: Key) {
        let b = (key.time() & MASK) as usize;
        let k = key.0;
        let link = Link {
            hi: (k >> 64) as u64,
            lo: k as u64,
            next: NIL,
        };
        let n = if self.free == NIL {
            self.links.push(link);
            (self.links.len() - 1) as u32
        } else {
            let n = self.free;
            self.free = self.links[n as usize].next;
            self.links[n as usize] = link;
            n
        };
        let tail = self.tails[b].wrapping_sub(1);
        if tail == NIL {
            self.links[n as usize].next = n;
            self.tails[b] = n + 1;
            let w = b / 64;
            if self.occupied[w] == 0 {
                self.summary[w / 64] |= 1 << (w % 64);
            }
            self.occupied[w] |= 1 << (b % 64);
        } else if key.0 > self.links[tail as usize].key().0 {
            // After every key in the bucket: the usual case.
            self.links[n as usize].next = self.links[tail as usize].next;
            self.links[tail as usize].next = n;
            self.tails[b] = n + 1;
        } else {
            // A ranked key: before the first key in the bucket above it (there is one: the last).
            let mut prev = tail;
            let mut cur = self.links[tail as usize].next;
            while self.links[cur as usize].key().0 < key.0 {
                prev = cur;
                cur = self.links[cur as usize].next;
            }
            self.links[n as usize].next = cur;
            self.links[prev as usize].next = n;
        }
    }

    /// The first bucket holding a key, in time order from the cursor's.
    #[inline(always)]
    fn first_bucket(&self) -> Option<usize> {
        let c = (self.cursor & MASK) as usize;
        let w = c / 64;
        let at_or_after = self.occupied[w] & (u64::MAX << (c % 64));
        if at_or_after != 0 {
            return Some(w * 64 + at_or_after.trailing_zeros() as usize);
        }
        // The words after the cursor's, then from the first up to the cursor's own (whose bits below the cursor
        // are the window's last microseconds).
        let j = self.first_word(w + 1, WORDS).or_else(|| self.first_word(0, w + 1))?;
        let j = j % WORDS;
        Some(j * 64 + self.occupied[j].trailing_zeros() as usize)
    }

    /// The first word of the bitmap in `from..to` with a bit set.
    #[inline(always)]
    fn first_word(&self, from: usize, to: usize) -> Option<usize> {
        let mut s = from;
        while s < to {
            let bits = self.summary[s / 64] & (u64::MAX << (s % 64));
            if bits != 0 {
                let j = s / 64 * 64 + bits.trailing_zeros() as usize;
                return (j < to).then_some(j);
            }
            s = (s / 64 + 1) * 64;
        }
        None
    }

    /// The earliest key.
    #[inline(never)]
    pub(crate) fn peek(&self) -> Option<Key> {
        if self.len == 0 {
            return None;
        }
        match self.first_bucket() {
            Some(b) => Some(self.links[self.ends(b).1 as usize].key()),
            None => self.later.peek().copied(),
        }
    }

    /// Pops the earliest key if `due` holds for it.
    #[inline(never)]
    pub(crate) fn pop_if(&mut self, due: impl FnOnce(Key) -> bool) -> Option<Key> {
        if self.len == 0 {
            return None;
        }
        let Some(b) = self.first_bucket() else {
            // Nothing within the window: it moves to the earliest later key, if that is due.
            let key = *self.later.peek()?;
            if !due(key) {
                return None;
            }
            self.advance(key.time());
            let b = self.first_bucket().expect("the later key is in its bucket now");
            return Some(self.take_first(b));
        };
        let key = self.links[self.ends(b).1 as usize].key();
        if !due(key) {
            return None;
        }
        let popped = self.take_first(b);
        if key.time() != self.cursor {
            self.advance(key.time());
        }
        Some(popped)
    }

    /// The last and first links of bucket `b` (which holds a key): its list is circular, the tail's next is the
    /// head.
    #[inline(always)]
    fn ends(&self, b: usize) -> (u32, u32) {
        let tail = self.tails[b % SPAN as usize] - 1;
        (tail, self.links[tail as usize].next)
    }

    /// Removes the first key of bucket `b` (which holds one).
    #[inline(always)]
    fn take_first(&mut self, b: usize) -> Key {
        let (tail, head) = self.ends(b);
        let b = b % SPAN as usize;
        let key = self.links[head as usize].key();
        if head == tail {
            self.tails[b] = 0;
            let w = b / 64;
            self.occupied[w] &= !(1 << (b % 64));
            if self.occupied[w] == 0 {
                self.summary[w / 64] &= !(1 << (w % 64));
            }
        } else {
            self.links[tail as usize].next = self.links[head as usize].next;
        }
        self.links[head as usize].next = self.free;
        self.free = head;
        self.len -= 1;
        key
    }

    /// Moves the window to start at `t` (not before the cursor, and no key is due before `t`), taking the later
    /// keys it now reaches into their buckets.
    #[inline(always)]
    fn advance(&mut self, t: u64) {
        self.cursor = t;
        while let Some(&k) = self.later.peek()
            && k.time() - t < SPAN
        {
            self.later.pop();
            self.insert(k);
        }
    }

    /// A key due before the cursor (which the engine never pushes; the queue's own users may): every key is
    /// placed again with the window starting there.
    #[cold]
    fn rebase(&mut self, t: u64) {
        let mut keys = std::mem::take(&mut self.scratch);
        self.drain_into(&mut keys);
        keys.sort_unstable_by_key(|k| k.0);
        self.cursor = t;
        for &k in &keys {
            self.push(k);
        }
        keys.clear();
        self.scratch = keys;
    }

    /// Moves every key into `out`, in no order, leaving the wheel empty (its allocations kept).
    pub(crate) fn drain_into(&mut self, out: &mut Vec<Key>) {
        // The words with a bucket in use, from the summary, then their buckets.
        for (s, &summary) in self.summary.iter().enumerate() {
            let mut words = summary;
            while words != 0 {
                let w = (s * 64 + words.trailing_zeros() as usize) % WORDS;
                words &= words - 1;
                let mut bits = self.occupied[w];
                while bits != 0 {
                    let b = (w * 64 + bits.trailing_zeros() as usize) % SPAN as usize;
                    bits &= bits - 1;
                    let tail = self.tails[b] - 1;
                    let mut cur = tail;
                    loop {
                        cur = self.links[cur as usize].next;
                        out.push(self.links[cur as usize].key());
                        if cur == tail {
                            break;
                        }
                    }
                    self.tails[b] = 0;
                }
                self.occupied[w] = 0;
            }
        }
        self.summary = [0; WORDS / 64];
        out.extend(self.later.drain());
        self.links.clear();
        self.free = NIL;
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::UNRANKED;

    fn key(time: u64, seq: u32) -> Key {
        Key::new(time, UNRANKED, seq, seq)
    }

    #[test]
    fn a_later_key_enters_its_bucket_before_one_pushed_there_directly() {
        // Key 1 waits in the heap, due exactly one window past the cursor. The next pop moves the cursor by one
        // microsecond, which brings key 1 within the window: it must be in its bucket before key 3, due at the
        // same time and pushed after, goes there directly.
        let mut w = Wheel::new();
        w.fill(&mut vec![key(10, 0)]);
        w.push(key(10 + SPAN, 1));
        w.push(key(11, 2));
        assert_eq!(w.later.len(), 1);
        assert_eq!(w.pop_if(|_| true).map(|k| k.0), Some(key(10, 0).0));
        assert_eq!(w.pop_if(|_| true).map(|k| k.0), Some(key(11, 2).0));
        assert!(w.later.is_empty(), "the cursor's move took key 1 into its bucket");
        w.push(key(10 + SPAN, 3));
        assert_eq!(w.pop_if(|_| true).map(|k| k.0), Some(key(10 + SPAN, 1).0));
        assert_eq!(w.pop_if(|_| true).map(|k| k.0), Some(key(10 + SPAN, 3).0));
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn the_window_wraps_round_its_buckets_in_time_order() {
        // Keys a little less than a window apart, popped and pushed for many windows: the buckets are reused
        // round and round, and the bitmaps' search crosses the end of the window back to its start.
        let mut w = Wheel::new();
        w.fill(&mut vec![key(0, 0)]);
        let mut expected = std::collections::VecDeque::from([0u64]);
        for seq in 1..=200 {
            let t = *expected.back().unwrap() + SPAN - 3;
            w.push(key(t, seq));
            expected.push_back(t);
            let popped = w.pop_if(|_| true).expect("a key");
            assert_eq!(popped.time(), expected.pop_front().unwrap());
        }
        assert_eq!(w.len(), 1);
    }
}
