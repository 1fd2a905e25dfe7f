//! A recording [`Env`] for tests and examples.

use crate::{Entry, Env, LogIndex, Message, NodeId, PersistUpdate, Persistent, Status, Timer};
use std::time::Duration;

/// Records every output of a node, and stores persisted state as durable storage would.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    state: u64,
    /// What [`Env::now`] returns; tests move it forward by hand.
    pub now: Duration,
    /// Messages sent, in order.
    pub sent: Vec<(NodeId, Message)>,
    /// Current timer settings (`None` when disarmed), indexed by [`Timer`] slot.
    pub timers: [Option<Duration>; Timer::COUNT],
    /// What storage holds.
    pub storage: Persistent,
    /// Number of persist calls.
    pub persists: usize,
    /// Entries applied, in order.
    pub applied: Vec<(LogIndex, Entry)>,
    /// Status changes reported.
    pub statuses: Vec<Status>,
}

impl Recorder {
    /// A recorder whose random stream starts from `seed`.
    pub fn new(seed: u64) -> Self {
        Recorder {
            state: seed,
            ..Default::default()
        }
    }

    /// Removes and returns the messages sent so far.
    pub fn take_sent(&mut self) -> Vec<(NodeId, Message)> {
        std::mem::take(&mut self.sent)
    }
}

impl Env for Recorder {
    fn random_u64(&mut self) -> u64 {
        // SplitMix64: good enough for tests, and needs no dependency.
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn now(&self) -> Duration {
        self.now
    }
    fn send(&mut self, to: NodeId, msg: Message) {
        self.sent.push((to, msg));
    }
    fn set_timer(&mut self, timer: Timer, after: Duration) {
        self.timers[timer as usize] = Some(after);
    }
    fn cancel_timer(&mut self, timer: Timer) {
        self.timers[timer as usize] = None;
    }
    fn persist(&mut self, update: PersistUpdate<'_>) {
        self.persists += 1;
        self.storage.apply(&update);
    }
    fn apply(&mut self, index: LogIndex, entry: &Entry) {
        self.applied.push((index, *entry));
    }
    fn status_changed(&mut self, status: Status) {
        self.statuses.push(status);
    }
}
