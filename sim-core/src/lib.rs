//! A deterministic discrete-event simulation engine.
//!
//! `sim-core` owns virtual time, an event queue ordered by (time, insertion sequence), seeded random streams, a
//! network model (latency, loss, directed cuts) and process crashes and restarts. It drives any type implementing
//! [`Process`] and knows nothing about what the processes compute.
//!
//! A run is a pure function of the seed, the processes and the calls made on the [`Simulation`]: no wall clock,
//! no threads, no hash-map iteration.
//!
//! ```
//! use sim_core::{Ctx, LinkModel, Latency, Network, NodeId, Process, SimTime, Simulation};
//! use std::time::Duration;
//!
//! /// Sends a ping to its neighbour every 10 ms, and counts pings received.
//! struct Pinger { received: u32 }
//!
//! impl Process for Pinger {
//!     type Msg = &'static str;
//!     type Note = u32;
//!     const TIMERS: usize = 1;
//!     fn on_start(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Note>) {
//!         ctx.set_timer(0, Duration::from_millis(10));
//!     }
//!     fn on_message(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Note>, _from: NodeId, _msg: Self::Msg) {
//!         self.received += 1;
//!         ctx.note(self.received);
//!     }
//!     fn on_timer(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Note>, _timer: usize) {
//!         let peer = NodeId::new(1 - ctx.me().index());
//!         ctx.send(peer, "ping");
//!         ctx.set_timer(0, Duration::from_millis(10));
//!     }
//! }
//!
//! let net = Network::new(2, LinkModel::with_latency(Latency::Constant(Duration::from_millis(3))));
//! let mut sim: Simulation<Pinger, ()> = Simulation::new(net, 42);
//! sim.start(NodeId::new(0), Pinger { received: 0 });
//! sim.start(NodeId::new(1), Pinger { received: 0 });
//! sim.run_until(SimTime::from_micros(100_000));
//! // Pings leave at 10, 20, ..., 100 ms and take 3 ms: nine arrive by 100 ms at each node.
//! assert_eq!(sim.process(NodeId::new(1)).unwrap().received, 9);
//! ```

#![warn(missing_docs)]

mod latency;
mod network;
mod queue;
pub mod rng;
mod time;
mod wheel;

pub use latency::{Empirical, InvalidLatency, Latency};
pub use network::{Classes, LinkModel, LinkRule, LongDelay, Network, Verdict};
pub use queue::{Entry, EventQueue, HORIZON_MICROS, MAX_RANK, MAX_TAG};

pub use rng::Pcg64;
pub use time::{SimTime, micros};

use std::fmt;
use std::time::Duration;

/// A process's identity: an index in `0..n`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(u32);

impl NodeId {
    /// The node with index `i`.
    #[inline]
    pub const fn new(i: usize) -> Self {
        NodeId(i as u32)
    }
    /// Its index in `0..n`.
    #[inline]
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// A simulated process. Each callback handles one input; outputs go through the [`Ctx`].
pub trait Process {
    /// What the process sends to its peers.
    type Msg: Clone;
    /// What the process reports to whoever drives the simulation (role changes, for example).
    type Note;
    /// How many independent timers the process uses; they are numbered `0..TIMERS`.
    const TIMERS: usize;

    /// Called when the process starts or restarts after a crash.
    fn on_start(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Note>);
    /// Called when a message from `from` arrives.
    fn on_message(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Note>, from: NodeId, msg: Self::Msg);
    /// Called when timer `timer` fires.
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Note>, timer: usize);

    /// Whether timer `timer` is a tick: it fires before every other event due in the same microsecond (a
    /// message, a fault, another timer), whenever either was scheduled, and ticks of several nodes due together
    /// fire in node order. Nothing else a process sees then depends on when its tick was armed, so a process
    /// whose ticks are mostly idle may arm its timer only for the next tick that does something and apply the
    /// idle ones when its next input comes: the run is the one a timer armed every tick gives. By default no
    /// timer is a tick.
    #[inline]
    fn is_tick(_timer: usize) -> bool {
        false
    }

    /// The class of `msg` (`0..64`), which network rules limited to some classes match ([`LinkRule`]). The
    /// engine gives classes no meaning; by default every message is in class 0.
    #[inline]
    fn class(_msg: &Self::Msg) -> u8 {
        0
    }
}

/// What a process may do while it handles an input.
pub struct Ctx<'a, M, N> {
    now: SimTime,
    me: NodeId,
    /// What every callback shares: the network, the mail slab and the callback's outputs.
    io: &'a mut Io<M, N>,
    timers: &'a mut [TimerSlot],
    rng: &'a mut Pcg64,
    /// This process's network draws.
    net_rng: &'a mut Pcg64,
    /// The node's host model, when it is not ideal.
    host: Option<&'a mut HostState>,
    /// Messages sent now leave at this time: once every durable write this process has asked for, in this
    /// callback or an earlier one, has completed.
    hold: SimTime,
    /// Notes of this process are still waiting for writes: a later one must queue behind them.
    notes_waiting: bool,
    /// The incarnation of this process (its crash count), which held messages carry.
    incarnation: u32,
}

impl<M: Clone, N> Ctx<'_, M, N> {
    /// The current virtual time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The id of the process being called.
    #[inline]
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// Sends `msg` to `to` through the network model.
    ///
    /// The network decides the message's fate now, drawing from this process's network stream in send order,
    /// and the message is written once into the engine's mail slab; its queue entry is made when the callback
    /// returns, after the timers it armed, so that entries are ordered as if routed then.
    #[inline(always)]
    pub fn send(&mut self, to: NodeId, msg: M) {
        let held = (self.hold > self.now).then_some(Held {
            incarnation: self.incarnation,
            leaves: self.hold,
        });
        self.io.post(self.now, self.me, to, msg, self.hold, held, self.net_rng);
    }

    /// A durable write (an fsync): on a host with a persist latency, messages sent after this call, in this
    /// callback or a later one, leave only once the write completes (as behind a blocking fsync), and so do
    /// notes reported with [`note_after_writes`](Self::note_after_writes). One write is on the disk at a time;
    /// writes asked for while it runs are committed together by the next one (group commit, as write-ahead logs
    /// do). Free on an ideal host.
    ///
    /// Returns when the write is durable (now on an ideal host). Completion times never decrease, so at any
    /// moment the durable writes are a prefix of those asked for. If the process crashes before that time, the
    /// write is lost (the driver, which knows what was written, keeps only the writes durable by the crash) and
    /// so are the messages waiting for it: they never leave.
    #[inline]
    pub fn sync(&mut self) -> SimTime {
        if let Some(host) = self.host.as_deref_mut()
            && let Some(latency) = &host.model.persist
        {
            // A batch that was waiting has started once the write before it finished.
            if let Some(next) = host.disk_batch
                && self.now >= host.disk_free
            {
                host.disk_free = next;
                host.disk_batch = None;
            }
            let done = if self.now >= host.disk_free {
                // The disk is idle: this write starts now.
                host.disk_free = self.now + latency.sample(&mut host.disk_rng);
                host.disk_free
            } else if let Some(next) = host.disk_batch {
                // Join the batch that starts when the current write ends.
                next
            } else {
                let next = host.disk_free + latency.sample(&mut host.disk_rng);
                host.disk_batch = Some(next);
                next
            };
            self.hold = self.hold.max(done);
        }
        self.hold
    }

    /// Arms timer `timer` to fire `after` from now, replacing any earlier setting.
    ///
    /// On a host with clock error, `after` is measured by the host's clock; on a host with
    /// [`Host::timer_jitter`], one jitter draw is then added (always `>= 0`: a timer fires late, never early).
    /// The jitter is drawn here, when the timer is armed, once per call, so the deadline
    /// [`timer_deadline`](Self::timer_deadline) reports is the one the timer fires at.
    ///
    /// This is the hottest path of a Raft simulation (every heartbeat resets every follower's election timer),
    /// so moving a deadline later does not touch the event queue: the queued entry pops at the old time, sees
    /// the new deadline and re-queues itself once. A jittered deadline goes through the same two paths (later:
    /// the slot is overwritten; earlier: a new entry is queued), so jitter never fires a timer at a stale time.
    #[inline(always)]
    pub fn set_timer(&mut self, timer: usize, after: Duration) {
        let after = match self.host.as_deref_mut() {
            Some(h) => h.timer_duration(after, self.now),
            None => after,
        };
        self.set_timer_at(timer, self.now + after);
    }

    /// [`set_timer`](Self::set_timer) for `us` microseconds: the same deadline as `Duration::from_micros(us)`
    /// gives, without converting through [`Duration`] on an ideal host.
    #[inline(always)]
    pub fn set_timer_micros(&mut self, timer: usize, us: u64) {
        if self.host.is_some() {
            self.set_timer(timer, Duration::from_micros(us));
        } else {
            self.set_timer_at(timer, SimTime::from_micros(self.now.as_micros().saturating_add(us)));
        }
    }

    /// Arms timer `timer` to fire at virtual time `at` (not earlier than now), replacing any earlier setting.
    /// Neither clock error nor jitter applies: `at` is a deadline the process computed, for example from
    /// [`timer_period`](Self::timer_period).
    #[inline(always)]
    pub fn set_timer_at(&mut self, timer: usize, at: SimTime) {
        debug_assert!(at >= self.now, "a timer armed in the past");
        let at = at.max(self.now);
        let slot = &mut self.timers[timer];
        slot.deadline = at;
        if slot.armed > at {
            slot.armed = at;
            self.io.timers.push((timer, at));
        }
    }

    /// How long after it is armed a timer set for `after` fires, when that is the same whenever it is armed:
    /// on an ideal host, `after`; on a host whose clock runs at a fixed rate other than real time, `after` at
    /// that rate. `None` on a host with clock drift or timer jitter, where each arming differs.
    pub fn timer_period(&self, after: Duration) -> Option<Duration> {
        match self.host.as_deref() {
            None => Some(after),
            Some(h) if h.model.timer_jitter.is_some() || h.model.clock_drift_per_hour != 0.0 => None,
            Some(h) if h.model.has_clock_error() => Some(h.model.real_duration(after, self.now)),
            Some(_) => Some(after),
        }
    }

    /// Disarms timer `timer`.
    #[inline]
    pub fn cancel_timer(&mut self, timer: usize) {
        self.timers[timer].deadline = SimTime::MAX;
    }

    /// The deadline of timer `timer`, if armed.
    pub fn timer_deadline(&self, timer: usize) -> Option<SimTime> {
        let d = self.timers[timer].deadline;
        (d != SimTime::MAX).then_some(d)
    }

    /// This process's own random stream.
    #[inline]
    pub fn rng(&mut self) -> &mut Pcg64 {
        self.rng
    }

    /// A uniformly random 64-bit value from this process's own stream.
    #[inline]
    pub fn random_u64(&mut self) -> u64 {
        use rand::Rng;
        self.rng.next_u64()
    }

    /// Reports `note` to the driver; it is stamped with the time and this process's id.
    #[inline]
    pub fn note(&mut self, note: N) {
        self.io.notes.push((self.now, self.me, note));
    }

    /// Reports `note` once every durable write this process has asked for so far has completed, as a message
    /// sent now would leave: at once on an ideal host or with no write in progress. If the process crashes
    /// first, the note is never reported. For outputs that a process with a blocking fsync would produce only
    /// after its write (a state machine applying what was just made durable).
    #[inline]
    pub fn note_after_writes(&mut self, note: N) {
        if self.notes_wait() {
            // Behind the writes, and behind any earlier note still waiting (even one due now), in order.
            self.io.held_notes.push((self.hold, note));
            self.notes_waiting = true;
        } else {
            self.io.notes.push((self.now, self.me, note));
        }
    }

    /// Whether a note reported now with [`note_after_writes`](Self::note_after_writes) waits (behind a write
    /// still in progress, or behind an earlier note still waiting) rather than going out at once. A waiting note
    /// is a queue entry of its own, handed to the driver when it comes due.
    #[inline]
    pub fn notes_wait(&self) -> bool {
        self.hold > self.now || self.notes_waiting
    }

    /// [`note_after_writes`](Self::note_after_writes) for each of `notes`, in order.
    #[inline]
    pub fn notes_after_writes(&mut self, notes: impl ExactSizeIterator<Item = N>) {
        if notes.len() == 0 {
            return;
        }
        if self.notes_wait() {
            let hold = self.hold;
            self.io.held_notes.extend(notes.map(|note| (hold, note)));
            self.notes_waiting = true;
        } else {
            let (now, me) = (self.now, self.me);
            self.io.notes.extend(notes.map(|note| (now, me, note)));
        }
    }
}

/// How a node's machine differs from an ideal one. The default is ideal: an exact clock, instant message
/// handling and instant durable writes.
#[derive(Clone, Debug, PartialEq)]
pub struct Host {
    /// How fast the node's clock runs: 1.01 means 1 % fast, so a timer set for 100 ms fires after 99.0 ms.
    pub clock_rate: f64,
    /// How much `clock_rate` changes per hour of virtual time (a drifting oscillator).
    pub clock_drift_per_hour: f64,
    /// Time to handle each incoming message; messages queue and are handled one at a time (a slow CPU).
    pub processing: Option<Latency>,
    /// Time of each durable write ([`Ctx::sync`]): one write at a time, and writes asked for while one runs are
    /// committed together by the next (a slow disk, with group commit).
    pub persist: Option<Latency>,
    /// A random error added to every timer when it is armed ([`Ctx::set_timer`]): OS scheduling and clock
    /// noise. Drawn from the node's own [`streams::TIMER_JITTER`](rng::streams::TIMER_JITTER) stream; never
    /// negative, so timers fire late, never early.
    pub timer_jitter: Option<Latency>,
}

impl Default for Host {
    fn default() -> Self {
        Host {
            clock_rate: 1.0,
            clock_drift_per_hour: 0.0,
            processing: None,
            persist: None,
            timer_jitter: None,
        }
    }
}

impl Host {
    /// Whether timers run at a rate other than real time.
    #[inline]
    pub fn has_clock_error(&self) -> bool {
        self.clock_rate != 1.0 || self.clock_drift_per_hour != 0.0
    }

    /// The clock rate at virtual time `t`.
    pub fn rate_at(&self, t: SimTime) -> f64 {
        self.clock_rate + self.clock_drift_per_hour * t.since_start().as_secs_f64() / 3600.0
    }

    /// How much real (virtual) time passes while this host's clock measures `local`, starting at `now` (the
    /// rate is taken as constant over one timer).
    pub fn real_duration(&self, local: Duration, now: SimTime) -> Duration {
        let rate = self.rate_at(now).max(1e-6);
        Duration::from_micros((micros(local) as f64 / rate).round() as u64)
    }
}

/// A host model and its queues.
#[derive(Clone, Debug)]
struct HostState {
    model: Host,
    /// Persist latency draws.
    disk_rng: Pcg64,
    /// Message handling time draws.
    cpu_rng: Pcg64,
    /// Timer jitter draws.
    jitter_rng: Pcg64,
    /// When the CPU is next free to handle a message.
    cpu_free: SimTime,
    /// When the write in progress completes.
    disk_free: SimTime,
    /// When the batch of writes waiting for the disk completes (it starts at `disk_free`).
    disk_batch: Option<SimTime>,
}

impl HostState {
    /// When every write asked for so far has completed (in the past once the disk is idle).
    #[inline]
    fn writes_done(&self) -> SimTime {
        self.disk_batch.unwrap_or(self.disk_free)
    }

    /// How long a timer armed for `after` at `now` runs on this host: by its clock, plus one jitter draw.
    #[inline(never)]
    fn timer_duration(&mut self, after: Duration, now: SimTime) -> Duration {
        let mut after = if self.model.has_clock_error() {
            self.model.real_duration(after, now)
        } else {
            after
        };
        if let Some(jitter) = &self.model.timer_jitter {
            after += jitter.sample(&mut self.jitter_rng);
        }
        after
    }
}

/// What the engine shares with every callback: the network that routes what it sends, the slab its messages wait
/// in, the outputs it produced (queued when it returns), the notes for the driver, the counters and the trace.
struct Io<M, N> {
    network: Network,
    /// The message class function of the process type ([`Process::class`]), asked only when rules exist.
    class: fn(&M) -> u8,
    /// Messages in flight, each written once when sent and taken once when it arrives; a queue entry names its
    /// slot, and `heads` holds who sent it to whom. Freed slots are reused. (Kept apart, the two are written
    /// with plain moves; a whole mail was assembled on the stack and copied in by a call to `memcpy`.)
    mail: Vec<Option<M>>,
    heads: Vec<Head>,
    free_mail: Vec<u32>,
    /// The queue entries of the messages this callback sent (a duplicate's copy before its original), made when
    /// it returns, after its timers and held notes.
    sends: Vec<(SimTime, u32)>,
    /// Timers this callback armed earlier than their queued entry: (timer, deadline).
    timers: Vec<(usize, SimTime)>,
    /// Notes waiting for durable writes ([`Ctx::note_after_writes`]), and when they are reported.
    held_notes: Vec<(SimTime, N)>,
    /// Notes for the driver.
    notes: Vec<(SimTime, NodeId, N)>,
    stats: Stats,
    /// The trace, when recording.
    trace: Option<Vec<(SimTime, Trace<M>)>>,
}

/// Who sent a message in flight to whom.
#[derive(Clone, Copy, Debug, Default)]
struct Head {
    from: NodeId,
    to: NodeId,
    /// For a message that waited for a durable write: the sender's incarnation and when it left. It never left if
    /// that incarnation crashed first.
    held: Option<Held>,
}

/// Puts `msg` into an empty mail slot. Assigned over the slot as it might hold a message, the compiler copied
/// each message to the stack and back around dropping the old one; a free slot is always empty (its message
/// left it when delivered or lost), so there is nothing to drop, and nothing is looked at.
#[inline(always)]
fn post<M>(slot: &mut Option<M>, msg: M) {
    let old = slot.replace(msg);
    debug_assert!(old.is_none(), "a free mail slot holds a message");
    std::mem::forget(old);
}

impl<M: Clone, N> Io<M, N> {
    fn new(network: Network, class: fn(&M) -> u8) -> Self {
        Io {
            network,
            class,
            mail: Vec::new(),
            heads: Vec::new(),
            free_mail: Vec::new(),
            sends: Vec::new(),
            timers: Vec::new(),
            held_notes: Vec::new(),
            notes: Vec::new(),
            stats: Stats::default(),
            trace: None,
        }
    }

    /// Empties everything but the network, keeping the allocations.
    fn clear(&mut self) {
        self.mail.clear();
        self.heads.clear();
        self.free_mail.clear();
        self.sends.clear();
        self.timers.clear();
        self.held_notes.clear();
        self.notes.clear();
        self.stats = Stats::default();
        self.trace = None;
    }

    /// Routes `msg`, sent by `from` to `to` at `now` and leaving at `leaves`, drawing from `rng`: a delivered
    /// message (and the network's copy of it, if it makes one) goes into the slab, and its queue entry into
    /// `sends`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn post(
        &mut self,
        now: SimTime,
        from: NodeId,
        to: NodeId,
        msg: M,
        leaves: SimTime,
        held: Option<Held>,
        rng: &mut Pcg64,
    ) {
        self.stats.sent += 1;
        // Only rules look at classes: skip asking the process when there are none.
        let class = if self.network.has_rules() {
            (self.class)(&msg)
        } else {
            0
        };
        let Some((delay, copy)) = self.network.route_with_copy(from, to, class, rng) else {
            self.stats.dropped += 1;
            if let Some(t) = &mut self.trace {
                let record = Trace::Send {
                    from,
                    to,
                    msg,
                    arrives: None,
                    copy: None,
                };
                t.push((now, record));
            }
            return;
        };
        let arrives = leaves.after_micros(delay);
        let copy_at = copy.map(|again| leaves.after_micros(again));
        if let Some(at) = copy_at {
            self.stats.duplicated += 1;
            let slot = self.free_slot();
            self.heads[slot as usize] = Head { from, to, held };
            post(&mut self.mail[slot as usize], msg.clone());
            self.sends.push((at, slot));
        }
        if let Some(t) = &mut self.trace {
            let record = Trace::Send {
                from,
                to,
                msg: msg.clone(),
                arrives: Some(arrives),
                copy: copy_at,
            };
            t.push((now, record));
        }
        let slot = self.free_slot();
        self.heads[slot as usize] = Head { from, to, held };
        post(&mut self.mail[slot as usize], msg);
        self.sends.push((arrives, slot));
    }

    /// A free slot for a message: one freed earlier (emptied when its message left it), or a new one at the end.
    #[inline(always)]
    fn free_slot(&mut self) -> u32 {
        match self.free_mail.pop() {
            Some(slot) => slot,
            None => {
                let slot = self.mail.len() as u32;
                assert!(slot < TIMER_TAG, "fewer than 2^30 messages in flight");
                self.mail.push(None);
                self.heads.push(Head::default());
                slot
            }
        }
    }

    /// Takes the message in `slot`, freeing it.
    #[inline]
    fn take(&mut self, slot: u32) -> M {
        // Freed first, so that the message is read out of its slot last, straight into where the caller puts it.
        self.free_mail.push(slot);
        self.mail[slot as usize]
            .take()
            .expect("a queued slot holds its message")
    }
}

/// A queue tag with this bit names a timer slot (`node * TIMERS + timer`); without it, a mail slot.
const TIMER_TAG: u32 = 1 << 30;

#[derive(Clone, Copy, Debug)]
struct TimerSlot {
    /// When the timer should fire; `MAX` when disarmed.
    deadline: SimTime,
    /// The time of the queue entry that will next check this slot; `MAX` when none is trusted.
    armed: SimTime,
}

impl TimerSlot {
    const IDLE: TimerSlot = TimerSlot {
        deadline: SimTime::MAX,
        armed: SimTime::MAX,
    };
}

/// Timer slots are queued as tags: `n` processes' slots must fit.
fn assert_timer_slots<P: Process>(n: usize) {
    assert!(
        n.saturating_mul(P::TIMERS) <= TIMER_TAG as usize,
        "{n} processes of {} timers each are more timer slots than the queue's tags number",
        P::TIMERS
    );
}

/// Queues timer `timer` of `node` at `at`, as a tag naming its slot: first in its microsecond, in node order, if it
/// is a tick.
#[inline(always)]
fn push_timer<P: Process, N, X>(queue: &mut EventQueue<Event<N, X>>, at: SimTime, node: NodeId, timer: usize) {
    let tag = TIMER_TAG | (node.index() * P::TIMERS + timer) as u32;
    if P::is_tick(timer) {
        queue.push_tag_first(at, node.index() as u16, tag);
    } else {
        queue.push_tag(at, tag);
    }
}

/// An event in the queue's slab. Messages in flight and timers are queued as tags instead (see [`TIMER_TAG`]).
enum Event<N, X> {
    /// A message (in mail slot `slot`) that waited in a slow host's queue, handed to the incarnation it arrived at.
    Handle {
        slot: u32,
        incarnation: u32,
    },
    /// A note that waited for its process's durable writes, reported unless that incarnation crashed.
    Note {
        node: NodeId,
        incarnation: u32,
        note: N,
    },
    External(X),
}

/// A message that waited for its sender's durable write ([`Ctx::sync`]).
#[derive(Clone, Copy, Debug)]
struct Held {
    incarnation: u32,
    leaves: SimTime,
}

/// What one call to [`Simulation::step`] did.
#[derive(Debug, PartialEq)]
pub enum Stepped<X> {
    /// A message was delivered, a timer fired, or a stale entry was skipped.
    Internal,
    /// An event scheduled with [`Simulation::schedule`] came due; the driver handles it.
    External(X),
}

/// Bounds on one call of [`Simulation::run`].
#[derive(Clone, Copy, Debug)]
pub struct RunLimits {
    /// Step no entry later than this.
    pub until: SimTime,
    /// Step nothing more once [`Stats::events`] has reached this.
    pub max_events: u64,
    /// Step nothing more while more than this many entries are queued.
    pub max_queued: usize,
    /// Pop at most this many entries.
    pub max_pops: u32,
}

/// Why [`Simulation::run`] returned.
#[derive(Debug, PartialEq)]
pub enum Halt<X> {
    /// An event scheduled with [`Simulation::schedule`] came due; the driver handles it.
    External(X),
    /// A process reported notes ([`Simulation::take_notes`]).
    Notes,
    /// No entry is queued at or before [`RunLimits::until`].
    Until,
    /// [`Stats::events`] reached [`RunLimits::max_events`].
    Events,
    /// More than [`RunLimits::max_queued`] entries are queued.
    Queued,
    /// [`RunLimits::max_pops`] entries were popped.
    Pops,
}

/// One thing the engine did, recorded when tracing is on ([`Simulation::enable_trace`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Trace<M> {
    /// `msg` from `from` was handed to `to`.
    Deliver {
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// The message.
        msg: M,
    },
    /// A timer of `node` fired.
    Timer {
        /// The node.
        node: NodeId,
        /// Which timer.
        timer: usize,
    },
    /// `from` sent `msg` to `to`; it will arrive at `arrives`, or never (`None`: lost or cut).
    Send {
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// The message.
        msg: M,
        /// Arrival time.
        arrives: Option<SimTime>,
        /// The network also made a second copy, arriving then.
        copy: Option<SimTime>,
    },
    /// `msg` was to leave `from` once a durable write completed, but `from` crashed first: it never left.
    Unsent {
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// The message.
        msg: M,
    },
    /// `msg` reached `to` while it was down.
    Lost {
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// The message.
        msg: M,
    },
}

/// Counters kept by the engine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events dispatched: messages delivered, timers fired, external events.
    pub events: u64,
    /// Entries popped from the queue, including stale timer entries skipped or re-queued.
    pub queue_pops: u64,
    /// Messages handed to the network.
    pub sent: u64,
    /// Messages dropped by loss or a cut.
    pub dropped: u64,
    /// Messages that arrived at a crashed process.
    pub lost_to_crash: u64,
    /// Messages that waited for a durable write of a process that crashed before the write completed: they never
    /// left (counted when they would have arrived).
    pub unsent: u64,
    /// Extra copies the network made of messages.
    pub duplicated: u64,
}

/// A simulation of `n` processes of type `P`, with driver events of type `X`.
pub struct Simulation<P: Process, X> {
    now: SimTime,
    queue: EventQueue<Event<P::Note, X>>,
    /// Each node's process and the state that goes with it.
    nodes: Vec<NodeState<P>>,
    timers: Vec<TimerSlot>,
    io: Io<P::Msg, P::Note>,
    seed: u64,
    /// Host models; empty while every host is ideal.
    hosts: Vec<Option<HostState>>,
    /// When each incarnation of each node crashed (`crashed_at[node][k]` ended incarnation `k`), for messages
    /// that were waiting for a durable write.
    crashed_at: Vec<Vec<SimTime>>,
}

/// A node's slot: its process (while running), its random streams and its incarnation.
struct NodeState<P> {
    /// The process, running when `up`; a crashed one may stay here, down, to be restarted in place
    /// ([`Simulation::crash_keeping`], [`Simulation::restart_kept`]).
    process: Option<P>,
    /// Whether `process` is running (never without a process).
    up: bool,
    /// The process's own draws.
    rng: Pcg64,
    /// Network draws for what it sends.
    net_rng: Pcg64,
    /// Crash count, so that queued work of a crashed incarnation is dropped.
    incarnation: u32,
    /// Notes of the current incarnation queued behind its writes and not yet reported.
    notes_queued: u32,
}

impl<P> NodeState<P> {
    /// A slot with no running process, for a run seeded with `seed` (a process kept here stays, down).
    fn reseed(&mut self, seed: u64, i: usize) {
        self.up = false;
        self.rng = rng::named(seed, rng::streams::NODE, i as u64);
        self.net_rng = rng::named(seed, rng::streams::NETWORK, i as u64);
        self.incarnation = 0;
        self.notes_queued = 0;
    }

    fn new(seed: u64, i: usize) -> Self {
        NodeState {
            process: None,
            up: false,
            rng: rng::named(seed, rng::streams::NODE, i as u64),
            net_rng: rng::named(seed, rng::streams::NETWORK, i as u64),
            incarnation: 0,
            notes_queued: 0,
        }
    }
}

impl<P: Process, X> Simulation<P, X> {
    /// A simulation over `network` (which fixes the number of processes), with every random stream derived
    /// from `seed`. No process runs until [`start`](Self::start) is called for it.
    pub fn new(network: Network, seed: u64) -> Self {
        let n = network.len();
        assert_timer_slots::<P>(n);
        Simulation {
            now: SimTime::ZERO,
            queue: EventQueue::new(),
            nodes: (0..n).map(|i| NodeState::new(seed, i)).collect(),
            timers: vec![TimerSlot::IDLE; n * P::TIMERS],
            io: Io::new(network, P::class),
            seed,
            hosts: Vec::new(),
            crashed_at: vec![Vec::new(); n],
        }
    }

    /// Empties the simulation for a new run seeded with `seed`, over `network` (or, with `None`, over the same
    /// network with every link restored), handing each process it holds (running or kept down) to `recycle` so
    /// that its buffers can be reused. Afterwards the simulation is what [`new`](Self::new) builds, but the queue,
    /// the timers and every other buffer keep their allocations: a driver that runs many short simulations one
    /// after another allocates nothing once they have reached their working size.
    pub fn reset(&mut self, network: Option<Network>, seed: u64, mut recycle: impl FnMut(NodeId, P)) {
        for (i, node) in self.nodes.iter_mut().enumerate() {
            if let Some(p) = node.process.take() {
                recycle(NodeId::new(i), p);
            }
        }
        self.reset_keeping(network, seed);
    }

    /// [`reset`](Self::reset), but each process stays in its node's slot, down, for
    /// [`restart_kept`](Self::restart_kept) to boot again in place (a process is several hundred bytes: moving
    /// each out and back in every run was a measurable share of a short run). Processes of nodes beyond the new
    /// network's size are dropped.
    pub fn reset_keeping(&mut self, network: Option<Network>, seed: u64) {
        match network {
            Some(network) => self.io.network = network,
            None => self.io.network.heal_all(),
        }
        let n = self.io.network.len();
        assert_timer_slots::<P>(n);
        self.now = SimTime::ZERO;
        self.queue.clear();
        // In place: a slot is several hundred bytes with its process inline, and rebuilding each copied it.
        self.nodes.truncate(n);
        for (i, node) in self.nodes.iter_mut().enumerate() {
            node.reseed(seed, i);
        }
        let have = self.nodes.len();
        self.nodes.extend((have..n).map(|i| NodeState::new(seed, i)));
        self.timers.clear();
        self.timers.resize(n * P::TIMERS, TimerSlot::IDLE);
        self.seed = seed;
        self.io.clear();
        self.hosts.clear();
        self.crashed_at.iter_mut().for_each(Vec::clear);
        self.crashed_at.resize_with(n, Vec::new);
    }

    /// Starts recording a [`Trace`] of every delivery, timer and send (messages are cloned into it). Off by
    /// default: when off, recording costs one branch per event.
    pub fn enable_trace(&mut self) {
        self.io.trace.get_or_insert_with(Vec::new);
    }

    /// Takes what was recorded since the last call.
    pub fn take_trace(&mut self) -> Vec<(SimTime, Trace<P::Msg>)> {
        self.io.trace.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Gives `node` a non-ideal host (see [`Host`]). An ideal `host` removes any earlier model.
    pub fn set_host(&mut self, node: NodeId, host: Host) {
        if self.hosts.is_empty() {
            self.hosts.resize(self.nodes.len(), None);
        }
        let i = node.index() as u64;
        self.hosts[node.index()] = (host != Host::default()).then(|| HostState {
            model: host,
            disk_rng: rng::named(self.seed, rng::streams::DISK, i),
            cpu_rng: rng::named(self.seed, rng::streams::CPU, i),
            jitter_rng: rng::named(self.seed, rng::streams::TIMER_JITTER, i),
            cpu_free: self.now,
            disk_free: self.now,
            disk_batch: None,
        });
    }

    /// Number of process slots.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no process slots.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Entries in the event queue, counting timer entries that will turn out stale.
    #[inline]
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// The current virtual time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Engine counters.
    #[inline]
    pub fn stats(&self) -> Stats {
        self.io.stats
    }

    /// The network, to inspect.
    pub fn network(&self) -> &Network {
        &self.io.network
    }

    /// The network, to cut or heal links.
    pub fn network_mut(&mut self) -> &mut Network {
        &mut self.io.network
    }

    /// The process at `node`, unless it is crashed (or never started).
    #[inline]
    pub fn process(&self, node: NodeId) -> Option<&P> {
        let state = &self.nodes[node.index()];
        state.process.as_ref().filter(|_| state.up)
    }

    /// The process in `node`'s slot, running or kept down after [`crash_keeping`](Self::crash_keeping).
    #[inline]
    pub fn process_mut(&mut self, node: NodeId) -> Option<&mut P> {
        self.nodes[node.index()].process.as_mut()
    }

    /// Whether `node` is running.
    #[inline]
    pub fn is_up(&self, node: NodeId) -> bool {
        self.nodes[node.index()].up
    }

    /// Starts (or restarts) `process` at `node` and calls its [`Process::on_start`] now.
    ///
    /// Panics if a process is already running there.
    pub fn start(&mut self, node: NodeId, process: P) {
        let state = &mut self.nodes[node.index()];
        assert!(!state.up, "{node} is already running");
        state.process = Some(process);
        state.up = true;
        self.dispatch(node, |p, ctx| p.on_start(ctx));
    }

    /// Restarts the process kept down at `node` ([`crash_keeping`](Self::crash_keeping),
    /// [`reset_keeping`](Self::reset_keeping)) in place: `reboot` makes it what a fresh start needs, then its
    /// [`Process::on_start`] is called now, as [`start`](Self::start) would. Returns `false`, doing nothing, when
    /// no process is kept there (start one instead).
    ///
    /// Panics if a process is already running there.
    pub fn restart_kept(&mut self, node: NodeId, reboot: impl FnOnce(&mut P)) -> bool {
        let state = &mut self.nodes[node.index()];
        assert!(!state.up, "{node} is already running");
        let Some(p) = state.process.as_mut() else {
            return false;
        };
        reboot(p);
        state.up = true;
        self.dispatch(node, |p, ctx| p.on_start(ctx));
        true
    }

    /// Crashes `node`: its process is removed (and returned, so the driver can keep what it had made durable by
    /// now, [`Ctx::sync`]), its timers are disarmed, messages that reach it while it is down are lost, and
    /// messages it sent that were still waiting for a durable write never leave.
    pub fn crash(&mut self, node: NodeId) -> Option<P> {
        if self.take_down(node) {
            self.nodes[node.index()].process.take()
        } else {
            None
        }
    }

    /// [`crash`](Self::crash), but the process stays in its slot, down, for
    /// [`restart_kept`](Self::restart_kept): returned to look at (what it made durable by now), not moved out.
    /// `None` if `node` was already down.
    pub fn crash_keeping(&mut self, node: NodeId) -> Option<&mut P> {
        if self.take_down(node) {
            self.nodes[node.index()].process.as_mut()
        } else {
            None
        }
    }

    /// A crash's bookkeeping: timers disarmed, a new incarnation, the host's queued work dropped. Whether `node`
    /// was up.
    fn take_down(&mut self, node: NodeId) -> bool {
        let base = node.index() * P::TIMERS;
        for slot in &mut self.timers[base..base + P::TIMERS] {
            slot.deadline = SimTime::MAX;
        }
        let state = &mut self.nodes[node.index()];
        let was_up = state.up;
        if was_up {
            self.crashed_at[node.index()].push(self.now);
            state.incarnation += 1;
            state.notes_queued = 0;
            state.up = false;
        }
        if let Some(Some(h)) = self.hosts.get_mut(node.index()) {
            // Queued work and writes in progress die with the process.
            h.cpu_free = self.now;
            h.disk_free = self.now;
            h.disk_batch = None;
        }
        was_up
    }

    /// Calls `f` on the running process at `node` now, as if an input had arrived: what it sends, the timers it
    /// sets and the notes it emits are handled like those of any callback. Returns `None` if `node` is down.
    #[inline]
    pub fn call<R>(&mut self, node: NodeId, f: impl FnOnce(&mut P, &mut Ctx<'_, P::Msg, P::Note>) -> R) -> Option<R> {
        if !self.nodes[node.index()].up {
            return None;
        }
        let mut result = None;
        self.dispatch(node, |p, ctx| result = Some(f(p, ctx)));
        result
    }

    /// Schedules a driver event at `at`, which [`step`](Self::step) hands back when it comes due.
    ///
    /// Panics if `at` is in the past.
    pub fn schedule(&mut self, at: SimTime, event: X) {
        assert!(at >= self.now, "scheduling in the past: {at} < {}", self.now);
        self.queue.push(at, Event::External(event));
    }

    /// The time of the next queued entry.
    #[inline]
    pub fn next_time(&self) -> Option<SimTime> {
        self.queue.peek_time()
    }

    /// Drains the notes processes have emitted since the last call.
    pub fn take_notes(&mut self) -> std::vec::Drain<'_, (SimTime, NodeId, P::Note)> {
        self.io.notes.drain(..)
    }

    /// Appends the notes processes have emitted since the last call to `out`, as [`take_notes`](Self::take_notes)
    /// does. When `out` is empty the two buffers are swapped rather than the notes copied, so a driver that
    /// takes every note into an emptied buffer of its own moves none of them, and both keep their allocations.
    #[inline]
    pub fn take_notes_into(&mut self, out: &mut Vec<(SimTime, NodeId, P::Note)>) {
        if out.is_empty() {
            std::mem::swap(out, &mut self.io.notes);
        } else {
            out.append(&mut self.io.notes);
        }
    }

    /// Whether notes are waiting.
    #[inline]
    pub fn has_notes(&self) -> bool {
        !self.io.notes.is_empty()
    }

    /// Pops and handles the earliest entry. `None` when the queue is empty.
    #[inline]
    pub fn step(&mut self) -> Option<Stepped<X>> {
        let (time, entry) = self.queue.pop()?;
        Some(self.handle(time, entry))
    }

    /// Steps entries until the driver has something to look at or a bound is reached, and says which: a driver
    /// event came due, a process reported notes, or one of `limits` stopped it (each is checked before an entry
    /// is popped, in the order of [`RunLimits`]' fields). What happens is exactly what calling
    /// [`step`](Self::step) entry by entry and stopping at the same point does; only the driver's per-entry
    /// bookkeeping is gone, for the many entries (heartbeats, replies, stale timers) that change nothing it
    /// watches.
    #[inline]
    pub fn run(&mut self, limits: &RunLimits) -> Halt<X> {
        let mut pops = limits.max_pops;
        loop {
            // The limits first (cheap counters), so that the queue is looked at once: pop if due.
            if self.io.stats.events >= limits.max_events || self.queue.len() > limits.max_queued || pops == 0 {
                return self.halt_at_limit(limits, pops);
            }
            pops -= 1;
            let Some((time, entry)) = self.queue.pop_until(limits.until) else {
                return Halt::Until;
            };
            if let Stepped::External(x) = self.handle(time, entry) {
                return Halt::External(x);
            }
            if !self.io.notes.is_empty() {
                return Halt::Notes;
            }
        }
    }

    /// Which halt [`run`](Self::run) reports when a limit stops it: the first of [`RunLimits`]' fields that
    /// does, nothing due by `until` coming before them all.
    #[cold]
    fn halt_at_limit(&self, limits: &RunLimits, pops: u32) -> Halt<X> {
        if self.queue.peek_time().is_none_or(|t| t > limits.until) {
            Halt::Until
        } else if self.io.stats.events >= limits.max_events {
            Halt::Events
        } else if self.queue.len() > limits.max_queued {
            Halt::Queued
        } else {
            debug_assert_eq!(pops, 0);
            Halt::Pops
        }
    }

    /// Handles a popped entry.
    #[inline(always)]
    fn handle(&mut self, time: SimTime, entry: Entry<Event<P::Note, X>>) -> Stepped<X> {
        debug_assert!(time >= self.now, "event in the past");
        self.now = time;
        self.io.stats.queue_pops += 1;
        match entry {
            Entry::Tag(tag) if tag & TIMER_TAG != 0 => self.timer_due(time, (tag & !TIMER_TAG) as usize),
            Entry::Tag(slot) => self.arrive(time, slot),
            Entry::Event(Event::Handle { slot, incarnation }) => {
                let Head { from, to, .. } = self.io.heads[slot as usize];
                let state = &self.nodes[to.index()];
                if state.incarnation == incarnation && state.up {
                    self.handle_message(time, from, to, slot);
                } else {
                    let msg = self.io.take(slot);
                    self.lose_message(time, from, to, msg);
                }
            }
            Entry::Event(Event::Note {
                node,
                incarnation,
                note,
            }) => {
                let state = &mut self.nodes[node.index()];
                if state.incarnation == incarnation && state.up {
                    state.notes_queued -= 1;
                    self.io.notes.push((time, node, note));
                }
            }
            Entry::Event(Event::External(x)) => {
                self.io.stats.events += 1;
                return Stepped::External(x);
            }
        }
        Stepped::Internal
    }

    /// The message in mail slot `slot` arrives at `time`.
    #[inline(always)]
    fn arrive(&mut self, time: SimTime, slot: u32) {
        let Head { from, to, held } = self.io.heads[slot as usize];
        if let Some(h) = held
            && self.never_left(from, h)
        {
            self.io.stats.unsent += 1;
            let msg = self.io.take(slot);
            if let Some(t) = &mut self.io.trace {
                t.push((time, Trace::Unsent { from, to, msg }));
            }
        } else if !self.nodes[to.index()].up {
            let msg = self.io.take(slot);
            self.lose_message(time, from, to, msg);
        } else if let Some(Some(h)) = self.hosts.get_mut(to.index())
            && let Some(processing) = &h.model.processing
        {
            // A slow host: the message waits for the CPU, then takes its handling time.
            let ready = h.cpu_free.max(time) + processing.sample(&mut h.cpu_rng);
            h.cpu_free = ready;
            let incarnation = self.nodes[to.index()].incarnation;
            self.queue.push(ready, Event::Handle { slot, incarnation });
        } else {
            self.handle_message(time, from, to, slot);
        }
    }

    /// A queue entry for timer slot `slot` (node `slot / TIMERS`) came due at `time`: fire it, or skip it as
    /// superseded, or re-queue it at a deadline that moved later.
    #[inline(always)]
    fn timer_due(&mut self, time: SimTime, slot: usize) {
        let node = NodeId::new(slot / P::TIMERS);
        let timer = slot % P::TIMERS;
        let entry = &mut self.timers[slot];
        if entry.armed != time {
            // Superseded by an earlier entry for the same slot.
            return;
        }
        entry.armed = SimTime::MAX;
        if entry.deadline == time {
            entry.deadline = SimTime::MAX;
            self.io.stats.events += 1;
            if let Some(t) = &mut self.io.trace {
                t.push((time, Trace::Timer { node, timer }));
            }
            self.dispatch(node, |p, ctx| p.on_timer(ctx, timer));
        } else if entry.deadline != SimTime::MAX {
            // The deadline moved later since this entry was queued: check again then.
            debug_assert!(entry.deadline > time);
            entry.armed = entry.deadline;
            let at = entry.deadline;
            push_timer::<P, _, _>(&mut self.queue, at, node, timer);
        }
    }

    /// Moves the clock forward to `t` without handling anything, as when an observer waits. Panics if an
    /// entry earlier than `t` is still queued: those must be stepped first.
    pub fn advance_to(&mut self, t: SimTime) {
        assert!(
            self.next_time().is_none_or(|next| next >= t),
            "entries before {t} are still queued"
        );
        self.now = self.now.max(t);
    }

    /// Steps until the next entry is later than `limit` (or none is left), ignoring external events.
    /// Returns the external events that came due, in order.
    pub fn run_until(&mut self, limit: SimTime) -> Vec<(SimTime, X)> {
        let mut externals = Vec::new();
        while self.next_time().is_some_and(|t| t <= limit) {
            if let Some(Stepped::External(x)) = self.step() {
                externals.push((self.now, x));
            }
        }
        externals
    }

    /// Hands the message in mail slot `slot` to its (running) receiver. The message leaves its slot only inside
    /// the callback, straight into the process's hands: taken out here and carried in through the callback, a
    /// message was copied twice more on every delivery.
    #[inline(always)]
    fn handle_message(&mut self, time: SimTime, from: NodeId, to: NodeId, slot: u32) {
        self.io.stats.events += 1;
        if let Some(t) = &mut self.io.trace {
            let msg = self.io.mail[slot as usize]
                .clone()
                .expect("a queued slot holds its message");
            t.push((time, Trace::Deliver { from, to, msg }));
        }
        // Callers deliver only to a running node, and a running node has a process: `dispatch` calls back.
        debug_assert!(self.nodes[to.index()].up && self.nodes[to.index()].process.is_some());
        self.dispatch(to, |p, ctx| {
            let msg = ctx.io.take(slot);
            p.on_message(ctx, from, msg);
        });
    }

    /// Whether the sender's incarnation that sent a held message crashed before the message was to leave.
    #[inline]
    fn never_left(&self, from: NodeId, h: Held) -> bool {
        self.crashed_at[from.index()]
            .get(h.incarnation as usize)
            .is_some_and(|&crashed| crashed < h.leaves)
    }

    /// A message reached a node that is down.
    #[inline]
    fn lose_message(&mut self, time: SimTime, from: NodeId, to: NodeId, msg: P::Msg) {
        self.io.stats.lost_to_crash += 1;
        if let Some(t) = &mut self.io.trace {
            t.push((time, Trace::Lost { from, to, msg }));
        }
    }

    /// Always inlined into its callers (each passes its own callback): left to the compiler, it was kept out of
    /// line in some builds of the same source, adding a call and the context's set-up to every event.
    #[inline(always)]
    fn dispatch(&mut self, node: NodeId, f: impl FnOnce(&mut P, &mut Ctx<'_, P::Msg, P::Note>)) {
        let i = node.index();
        let state = &mut self.nodes[i];
        if !state.up {
            return;
        }
        let Some(process) = state.process.as_mut() else {
            return;
        };
        let host = self.hosts.get_mut(i).and_then(Option::as_mut);
        // A process's outputs never overtake its durable writes: what it sends while an earlier write is still
        // on the disk waits for that write, as it would behind a blocking fsync.
        let hold = host.as_ref().map_or(self.now, |h| h.writes_done().max(self.now));
        let incarnation = state.incarnation;
        let mut ctx = Ctx {
            now: self.now,
            me: node,
            io: &mut self.io,
            timers: &mut self.timers[i * P::TIMERS..(i + 1) * P::TIMERS],
            rng: &mut state.rng,
            net_rng: &mut state.net_rng,
            host,
            hold,
            notes_waiting: state.notes_queued > 0,
            incarnation,
        };
        f(process, &mut ctx);
        // The callback's queue entries, in a fixed order: the timers it armed, the notes it held back, then what
        // it sent. Most callbacks arm a timer or send a message, few do more: skip what is empty.
        let io = &mut self.io;
        if !io.timers.is_empty() {
            for &(timer, at) in &io.timers {
                push_timer::<P, _, _>(&mut self.queue, at, node, timer);
            }
            io.timers.clear();
        }
        if !io.held_notes.is_empty() {
            for (at, note) in io.held_notes.drain(..) {
                self.nodes[i].notes_queued += 1;
                self.queue.push(
                    at,
                    Event::Note {
                        node,
                        incarnation,
                        note,
                    },
                );
            }
        }
        for &(at, slot) in &io.sends {
            self.queue.push_tag(at, slot);
        }
        io.sends.clear();
    }
}
