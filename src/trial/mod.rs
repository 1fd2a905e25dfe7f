//! One trial: a simulated Raft cluster, a fault schedule, and the observer that measures elections and checks
//! safety while the trial runs.
//!
//! A trial is a loop over the engine's events. Each part owns its own state and is told what happened by the
//! loop; parts never call one another:
//!
//! | part | owns |
//! |---|---|
//! | [`cluster`] | the engine and its processes (nodes behind [`RaftHost`]), storage across crashes, each node's latest status, message counts |
//! | [`faults`] | the fault schedule and the random fault generators; reports what it did as [`Fact`]s |
//! | [`observer`] | measurement windows (first leader, failovers, recoveries), spurious elections, disruptions |
//! | [`safety`] | the safety checker |
//! | [`liveness`] | liveness budgets after the last fault |
//! | [`workload`] | the client: commands, leader hints, commit latencies |
//! | [`tracer`] | the event trace, when one is recorded |
//!
//! Facts flow one way: a fault acts on the cluster, the cluster says what changed (the leader was among the
//! crashed nodes, a cut left it without a majority), and the loop hands that to the observer, the safety checker
//! and the trace.

pub mod cluster;
pub mod faults;
pub mod liveness;
pub mod observer;
pub mod safety;
pub mod tracer;
pub mod workload;

pub use crate::host::{RaftHost, RaftNote, RaftProcess};

use crate::invariants::{Invariant, Violation};
use crate::raftrs::RaftRsProcess;
use crate::scenario::{Implementation, Scenario};
use crate::trace::TraceLine;
use cluster::Cluster;
use faults::Faults;
use liveness::Liveness;
use observer::Observer;
use raft_model::{Command, Entry, LogIndex, MessageCounts, MessageKind, NotLeader, Role, Term};
use safety::Safety;
use sim_core::rng;
use sim_core::{Halt, NodeId, RunLimits, SimTime};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use tracer::Tracer;
use workload::Client;

/// Events the driver schedules for itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriverEvent {
    /// Fire fault `i` of the schedule.
    Fault(usize),
    /// The client submits its next command.
    ClientTick,
    /// A flapping link goes down (or comes back).
    Flap {
        /// The fault.
        fault: usize,
        /// Index of its resolved links.
        flap: usize,
        /// Which outage this is (1-based).
        outage: u32,
        /// Whether the links are down now (so this event restores them).
        down: bool,
    },
    /// Churn crashes (or restarts) a node.
    Churn {
        /// The node.
        node: NodeId,
        /// Crash (else restart).
        crash: bool,
    },
    /// Churn ends: every crashed node restarts.
    ChurnStop,
    /// A liveness budget runs out: check for a single leader (or, with `applied`, for applied entries).
    LivenessCheck {
        /// Which check.
        applied: bool,
    },
    /// The random-partition generator splits the network (or heals it).
    RandomPartition {
        /// Split (else heal).
        split: bool,
    },
    /// The random-partition generator ends: everything heals.
    RandomPartitionsStop,
    /// Fire fault `i` if `leader` still leads in `term` (for `leader_stable_for`).
    StableCheck {
        /// Fault index.
        fault: usize,
        /// The leader that must still lead.
        leader: NodeId,
        /// In this term.
        term: Term,
    },
}

/// How a trial ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every fault fired and the cluster converged after each.
    Converged,
    /// The time limit came first.
    NotConverged,
    /// A safety invariant broke.
    Violation {
        /// The invariant.
        invariant: Invariant,
        /// What happened.
        detail: String,
    },
    /// The trial hit a resource limit (`limits:` in the scenario) and was stopped.
    Aborted {
        /// The limit's field name.
        limit: &'static str,
        /// What happened.
        detail: String,
    },
}

impl Outcome {
    /// The name used in `trials.csv`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Converged => "converged",
            Outcome::NotConverged => "not_converged",
            Outcome::Violation { .. } => "violation",
            Outcome::Aborted { .. } => "aborted",
        }
    }
}

/// Measurements of one kind within a trial; inline (no heap allocation) for up to four, because results are
/// made on worker threads and dropped on the aggregating thread, and cross-thread frees fragment the allocator.
pub type Samples = smallvec::SmallVec<[u64; 4]>;

/// What one trial measured. Times are microseconds of virtual time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrialResult {
    /// Trial index within the run.
    pub index: u64,
    /// The trial's seed.
    pub seed: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// From the start to the first leader.
    pub first_leader_us: Option<u64>,
    /// For each fault that removed the leader: from the fault to a new leader.
    pub election_us: Samples,
    /// For each fault that removed the leader: from the fault to every reachable live node following one leader.
    pub convergence_us: Samples,
    /// For each heal or restart: from it to every reachable live node following one leader.
    pub recovery_us: Samples,
    /// Distinct terms campaigned in from the first failover (or, without failover, the cluster's start) until
    /// the cluster converged after it.
    pub rounds: u32,
    /// Of those, rounds that elected no leader.
    pub split_votes: u32,
    /// Messages sent, by kind.
    pub messages: MessageCounts,
    /// Elections started while a healthy leader (live, reaching a majority, reachable) existed.
    pub spurious_elections: u32,
    /// Elections started (a node became candidate in a new term), and those of them started while a healthy
    /// leader was reachable from the candidate.
    pub elections: (u32, u32),
    /// Times a leader that could still reach a majority lost its leadership (deposed by a higher term).
    pub disruptions: u32,
    /// Time with a leader followed by a majority, and the time it is a fraction of (from the first such moment
    /// to the end of the trial), microseconds; `None` if no leader was ever followed by a majority.
    pub leader_availability: Option<(u64, u64)>,
    /// With a client workload: ticks whose command committed within `workload.commit_bound` of the tick, and
    /// ticks counted (every tick, less the accepted commands still in flight whose bound outlasts the trial).
    pub write_availability: Option<(u64, u64)>,
    /// With a client workload: for each command that committed, from submission to its first application.
    pub commit_us: Vec<u64>,
    /// With a client workload: commands submitted (accepted by a leader) and commands refused (not leader).
    pub commands: (u64, u64),
    /// With a client workload, for each fault that removed the leader: from the fault to the first commit of an
    /// entry created after it (by a later leader).
    pub failover_commit_us: Samples,
    /// Virtual time at which the trial stopped.
    pub end_us: u64,
    /// Engine events processed.
    pub events: u64,
    /// Measurements this trial started but had not finished when it stopped (a first leader not yet elected,
    /// a failover with no new leader or not converged, a recovery not converged, under a workload a failover
    /// with no new commit): the metric, and how long its window had been open (microseconds).
    pub unmeasured: Vec<(crate::metric::Metric, u64)>,
}

impl TrialResult {
    /// About how many bytes the result holds on the heap (its sample lists), so a caller holding many results
    /// at once can bound them.
    pub fn heap_bytes(&self) -> usize {
        let spilled = |s: &Samples| if s.spilled() { s.capacity() * 8 } else { 0 };
        self.commit_us.capacity() * 8
            + spilled(&self.election_us)
            + spilled(&self.convergence_us)
            + spilled(&self.recovery_us)
            + spilled(&self.failover_commit_us)
            + self.unmeasured.capacity() * std::mem::size_of::<(crate::metric::Metric, u64)>()
    }
}

/// What a fault or the client did, as the loop hands it on to the observer, the safety checker and the trace.
#[derive(Clone, Debug)]
pub enum Fact {
    /// A crash aimed at `node`; `before` is its term and role if it was up.
    Crash {
        /// The node.
        node: NodeId,
        /// Its term and role just before.
        before: Option<(Term, Role)>,
    },
    /// The leader of `term` was removed (crashed, or cut from a majority): a failover starts.
    LeaderRemoved {
        /// The removed leader's term.
        term: Term,
    },
    /// `node` restarted from storage holding `term` and `log_len` entries.
    Restarted {
        /// The node.
        node: NodeId,
        /// Its persisted term.
        term: Term,
        /// Its persisted log length.
        log_len: usize,
    },
    /// Something that may bring nodes back together happened (restarts, restored links, a heal).
    Recovery,
    /// The network was split into `groups` (`random`: by the random-partition generator).
    Partitioned {
        /// The groups.
        groups: Vec<Vec<NodeId>>,
        /// Drawn by the random-partition generator.
        random: bool,
    },
    /// Directed `links` were cut (or restored).
    Links {
        /// The links.
        links: Vec<(NodeId, NodeId)>,
        /// Cut, else restored.
        cut: bool,
    },
    /// Every link was restored.
    Healed,
    /// `from`, the leader, began handing leadership to `to`.
    Transfer {
        /// The leader.
        from: NodeId,
        /// Its chosen successor.
        to: NodeId,
    },
    /// The leader of `term` began handing over leadership: the time until a new leader is measured.
    TransferStarted {
        /// The handing-over leader's term.
        term: Term,
    },
    /// The client submitted `command` to `node` (`None`: the node was down).
    Client {
        /// The node.
        node: NodeId,
        /// The command.
        command: Command,
        /// What the node answered.
        result: Option<Result<(LogIndex, Term), NotLeader>>,
    },
}

/// Facts gathered while the loop handles one event. Facts only the trace needs are built only when tracing.
pub struct Facts {
    list: Vec<Fact>,
    tracing: bool,
}

impl Facts {
    /// Records a fact.
    #[inline]
    pub fn push(&mut self, fact: Fact) {
        self.list.push(fact);
    }

    /// Records a fact only the trace needs, if tracing.
    #[inline]
    pub fn trace(&mut self, fact: impl FnOnce() -> Fact) {
        if self.tracing {
            self.list.push(fact());
        }
    }
}

/// Runs trial `index` of `s`.
pub fn run_trial(s: &Scenario, index: u64) -> TrialResult {
    let seed = rng::trial_seed(s.seed, index);
    run(s, index, seed, false, None)
        .expect("a trial without a stop flag runs to its end")
        .0
}

/// How many events a trial processes between two looks at its stop flag: a few milliseconds of work, so a
/// stopped run ends quickly whatever the scenario, at no measurable cost.
pub const STOP_CHECK_EVENTS: u32 = 4096;

/// Runs trial `index` of `s` unless `stop` is set first: the trial looks at the flag when it starts and every
/// [`STOP_CHECK_EVENTS`] events, and `None` means it was stopped (its partial result is discarded). The flag
/// decides only whether the trial goes on: a trial that finishes is exactly [`run_trial`]'s.
pub fn run_trial_until(s: &Scenario, index: u64, stop: &AtomicBool) -> Option<TrialResult> {
    let seed = rng::trial_seed(s.seed, index);
    run(s, index, seed, false, Some(stop)).map(|(r, _)| r)
}

/// Runs trial `index` of `s` (or, with `seed`, a trial with that seed) recording its event trace. Tracing does not
/// change what the trial does: the result equals [`run_trial`]'s.
pub fn trace_trial(s: &Scenario, index: u64, seed: Option<u64>) -> (TrialResult, Vec<TraceLine>) {
    let seed = seed.unwrap_or_else(|| rng::trial_seed(s.seed, index));
    run(s, index, seed, true, None).expect("a trial without a stop flag runs to its end")
}

/// Runs one trial on the node implementation the scenario names; `None` if `stop` was set before it ended.
///
/// Each worker thread keeps the parts of its last trial ([`Parts`]) and builds the next one in them, so that its
/// trials after its first allocate nothing. A trial built in reused parts is exactly the trial built from
/// scratch (tests/it/reuse.rs runs every catalogue scenario both ways).
fn run(
    s: &Scenario,
    index: u64,
    seed: u64,
    traced: bool,
    stop: Option<&AtomicBool>,
) -> Option<(TrialResult, Vec<TraceLine>)> {
    if stop.is_some_and(|f| f.load(Ordering::Relaxed)) {
        return None;
    }
    thread_local! {
        static MODEL: RefCell<Option<Parts<RaftProcess>>> = const { RefCell::new(None) };
        static RAFT_RS: RefCell<Option<Parts<RaftRsProcess>>> = const { RefCell::new(None) };
    }
    fn reusing<P: RaftHost>(
        key: &'static std::thread::LocalKey<RefCell<Option<Parts<P>>>>,
        s: &Scenario,
        index: u64,
        seed: u64,
        traced: bool,
        stop: Option<&AtomicBool>,
    ) -> Option<(TrialResult, Vec<TraceLine>)> {
        // Taken out for the trial: a trial that panics drops them, and the next one starts afresh.
        let parts = key.with(|cell| cell.borrow_mut().take());
        let mut trial = Trial::build(s, index, seed, traced, parts);
        let out = trial.run(stop);
        let parts = trial.into_parts();
        key.with(|cell| *cell.borrow_mut() = Some(parts));
        out
    }
    match s.implementation {
        Implementation::Model => reusing(&MODEL, s, index, seed, traced, stop),
        Implementation::RaftRs => reusing(&RAFT_RS, s, index, seed, traced, stop),
    }
}

/// The parts of a trial that outlive it: the cluster (the engine, its queue and processes), the fault schedule,
/// the observer and the safety checker, with every buffer they hold. A worker keeps them from one trial to the
/// next.
pub struct Parts<P: RaftHost> {
    cluster: Cluster<P, DriverEvent>,
    faults: Faults,
    observer: Observer,
    safety: Safety,
    facts: Vec<Fact>,
    notes: Vec<(SimTime, NodeId, RaftNote)>,
    /// What the cluster's network was built from (cluster size, default link, overrides): a trial of a
    /// scenario with the same network reuses it, healed, instead of building it again.
    network_of: (usize, sim_core::LinkModel, Vec<crate::scenario::LinkOverride>),
}

impl<P: RaftHost> Parts<P> {
    fn new(s: &Scenario, seed: u64, traced: bool) -> Self {
        let storage = s.initial.iter().map(|p| P::storage_from(p, s.nodes)).collect();
        Parts {
            cluster: Cluster::new(s.network(), &s.hosts, seed, s.raft.clone(), storage, traced),
            faults: Faults::new(seed),
            observer: Observer::new(base_term(s)),
            safety: Safety::new(s.invariants),
            facts: Vec::new(),
            notes: Vec::new(),
            network_of: (s.nodes, s.link.clone(), s.links.clone()),
        }
    }

    /// What [`new`](Self::new) builds, in these parts' buffers.
    fn reset(&mut self, s: &Scenario, seed: u64, traced: bool) {
        let (nodes, link, links) = &self.network_of;
        let network = if *nodes == s.nodes && *link == s.link && *links == s.links {
            None
        } else {
            self.network_of = (s.nodes, s.link.clone(), s.links.clone());
            Some(s.network())
        };
        self.cluster.reset(network, &s.hosts, seed, &s.raft, &s.initial, traced);
        self.faults.reset(seed);
        self.observer.reset(base_term(s));
        self.safety.reset(s.invariants);
        self.facts.clear();
        self.notes.clear();
    }
}

/// The highest term any node starts in.
fn base_term(s: &Scenario) -> Term {
    s.initial.iter().map(|p| p.current_term).max().unwrap_or_default()
}

/// One trial in progress: the parts, and the loop that passes facts between them.
struct Trial<'s, P: RaftHost> {
    s: &'s Scenario,
    index: u64,
    seed: u64,
    cluster: Cluster<P, DriverEvent>,
    faults: Faults,
    observer: Observer,
    safety: Safety,
    liveness: Option<Liveness>,
    client: Option<Client>,
    tracer: Option<Tracer>,
    facts: Facts,
    violation: Option<Violation>,
    /// A resource limit stopped the trial: (limit, what happened).
    aborted: Option<(&'static str, String)>,
    /// Notes taken from the engine, reused from event to event.
    notes: Vec<(SimTime, NodeId, RaftNote)>,
    network_of: (usize, sim_core::LinkModel, Vec<crate::scenario::LinkOverride>),
}

impl<'s, P: RaftHost> Trial<'s, P> {
    #[cfg(test)]
    fn new(s: &'s Scenario, index: u64, seed: u64, traced: bool) -> Self {
        Self::build(s, index, seed, traced, None)
    }

    /// Trial `index` of `s` with `seed`, built in `parts` (from an earlier trial) or from scratch.
    fn build(s: &'s Scenario, index: u64, seed: u64, traced: bool, parts: Option<Parts<P>>) -> Self {
        let parts = match parts {
            Some(mut parts) => {
                parts.reset(s, seed, traced);
                parts
            }
            None => Parts::new(s, seed, traced),
        };
        let mut t = Trial {
            s,
            index,
            seed,
            cluster: parts.cluster,
            faults: parts.faults,
            observer: parts.observer,
            safety: parts.safety,
            liveness: s.liveness.map(|(leader, applied)| Liveness::new(leader, applied)),
            client: None,
            tracer: traced.then(Tracer::default),
            facts: Facts {
                list: parts.facts,
                tracing: traced,
            },
            violation: None,
            aborted: None,
            notes: parts.notes,
            network_of: parts.network_of,
        };
        t.observe();
        t.faults.start(s, &mut t.cluster);
        t.client = s.workload.as_ref().map(|w| Client::start(w, &mut t.cluster));
        t
    }

    /// The parts, for the next trial.
    fn into_parts(self) -> Parts<P> {
        Parts {
            cluster: self.cluster,
            faults: self.faults,
            observer: self.observer,
            safety: self.safety,
            facts: self.facts.list,
            notes: self.notes,
            network_of: self.network_of,
        }
    }

    fn run(&mut self, stop: Option<&AtomicBool>) -> Option<(TrialResult, Vec<TraceLine>)> {
        let limit = SimTime::ZERO + self.s.time_limit;
        let limits = self.s.limits;
        let mut done = false;
        // The engine steps on its own until a driver event comes due or a node reports something: only those
        // change what the parts below watch. Entry by entry while tracing (the trace is drained after each), and
        // for the first entry of a trial with a liveness budget (its clock may start then).
        let mut first = self.liveness.is_some();
        let traced = self.tracer.is_some();
        // The stop flag is looked at every STOP_CHECK_EVENTS entries, however the runs between are cut.
        let mut next_stop_check = STOP_CHECK_EVENTS as u64;
        self.drain_trace();
        loop {
            let pops = self.cluster.sim.stats().queue_pops;
            let bounds = RunLimits {
                until: limit,
                // The driver's own work counts toward the limit too (see `work`); it changes only between runs.
                max_events: limits
                    .max_events
                    .saturating_sub(self.cluster.work() + self.observer.work()),
                max_queued: usize::try_from(limits.max_pending_events).unwrap_or(usize::MAX),
                max_pops: if traced || first {
                    1
                } else if stop.is_some() {
                    next_stop_check.saturating_sub(pops).max(1) as u32
                } else {
                    u32::MAX
                },
            };
            let halt = self.cluster.sim.run(&bounds);
            self.drain_trace();
            // Whether the trial can have settled: only driver events and what nodes report change that.
            let mut changed = self.liveness.is_some();
            // Whether what the windows and the liveness budget look at (statuses, faults, cuts) may have
            // changed: not when nodes reported only applied entries.
            let mut moved = std::mem::take(&mut first);
            match halt {
                Halt::Until => break,
                Halt::Events | Halt::Queued => {
                    self.aborted = Some(self.limit_hit(limits));
                    break;
                }
                Halt::Pops | Halt::Notes => {}
                Halt::External(ev) => {
                    changed = true;
                    moved = true;
                    let fault = !matches!(ev, DriverEvent::ClientTick | DriverEvent::LivenessCheck { .. });
                    self.on_driver_event(ev);
                    self.apply_facts();
                    if fault {
                        self.observer.faulted(&self.cluster);
                    }
                    if self.cluster.sim.has_notes() {
                        self.observe();
                    }
                    self.observer.check_windows(&self.cluster);
                    self.drain_trace();
                }
            }
            if let Some(stop) = stop
                && self.cluster.sim.stats().queue_pops >= next_stop_check
            {
                if stop.load(Ordering::Relaxed) {
                    return None;
                }
                next_stop_check = self.cluster.sim.stats().queue_pops + STOP_CHECK_EVENTS as u64;
            }
            if self.cluster.sim.has_notes() {
                changed = true;
                if self.observe() {
                    moved = true;
                    self.observer.check_windows(&self.cluster);
                }
            }
            if moved && let Some(l) = &mut self.liveness {
                l.watch(&mut self.cluster, self.faults.quiet(self.s));
            }
            if self.violation.is_some() {
                break;
            }
            if changed && self.settled() {
                done = true;
                break;
            }
        }
        if self.violation.is_none()
            && let Err(v) = self.safety.check_logs(&self.cluster, self.cluster.now())
        {
            self.violation = Some(v);
        }
        let trace = self.tracer.take().map(Tracer::into_lines).unwrap_or_default();
        Some((self.finish(done), trace))
    }

    /// Hands a driver event to the part that owns it.
    fn on_driver_event(&mut self, ev: DriverEvent) {
        match ev {
            DriverEvent::ClientTick => {
                let w = self.s.workload.as_ref().expect("scheduled by the client");
                let client = self.client.as_mut().expect("scheduled by the client");
                client.tick(w, &mut self.cluster, &mut self.facts);
            }
            DriverEvent::LivenessCheck { applied } => {
                let liveness = self.liveness.as_mut().expect("scheduled with a budget");
                let result = liveness.check(&self.cluster, applied);
                if self.violation.is_none()
                    && let Err(v) = result
                {
                    self.violation = Some(v);
                }
            }
            ev => self.faults.on_event(ev, self.s, &mut self.cluster, &mut self.facts),
        }
    }

    /// Passes the facts of the last event to the observer, the safety checker and the trace.
    fn apply_facts(&mut self) {
        let now = self.cluster.now();
        for fact in self.facts.list.drain(..) {
            match &fact {
                Fact::LeaderRemoved { term } => self.observer.leader_removed(now, *term),
                Fact::Recovery => self.observer.recovery(now),
                Fact::TransferStarted { term } => self.observer.transfer_started(now, *term),
                Fact::Restarted { node, .. } => self.safety.on_restart(*node),
                _ => {}
            }
            if let Some(tracer) = &mut self.tracer {
                tracer.on_fact(&self.cluster, &fact);
            }
        }
    }

    /// Hands what nodes reported to the cluster's bookkeeping, the trace, the safety checker, the observer, the
    /// client and the fault schedule, in that order. Whether any was a status (not only applied entries).
    fn observe(&mut self) -> bool {
        let mut statuses = false;
        let mut notes = std::mem::take(&mut self.notes);
        self.cluster.take_notes_into(&mut notes);
        let mut i = 0;
        while i < notes.len() {
            let (t, node, note) = notes[i];
            let result = match note {
                RaftNote::Status(st) => {
                    i += 1;
                    statuses = true;
                    self.observe_status(t, node, st)
                }
                RaftNote::Applied(index, entry)
                    if self.tracer.is_some() || !notes.get(i + 1).is_some_and(|n| applied_by(n, t, node)) =>
                {
                    i += 1;
                    let term = self.cluster.term_of(node);
                    self.observe_applied(t, node, term, index, entry)
                }
                RaftNote::Applied(..) => {
                    let (len, checked) = self.observe_applied_run(t, node, &notes[i..]);
                    i += len;
                    checked
                }
                RaftNote::AppliedRun(first, len) => {
                    i += 1;
                    self.observe_applied_entries(t, node, first, len as usize)
                }
            };
            if let Err(v) = result {
                self.violation = Some(v);
                break;
            }
        }
        notes.clear();
        self.notes = notes;
        statuses
    }

    /// `node` reported `st` at `t`.
    #[inline(never)]
    fn observe_status(&mut self, t: SimTime, node: NodeId, st: raft_model::Status) -> Result<(), Violation> {
        let before = self.cluster.record_status(t, node, st);
        if let Some(tracer) = &mut self.tracer {
            tracer.on_status(t, node, before, st);
        }
        let checked = self.safety.on_status(&self.cluster, t, node, st);
        if checked.is_ok() {
            self.observer.on_status(&self.cluster, t, node, before, st);
            if st.role == Role::Leader {
                self.faults.on_leader_elected(self.s, &mut self.cluster);
            }
        }
        checked
    }

    /// The entries `node` applied at `t` in a row from the first of `notes` on (a restarted node replays its whole
    /// log in one step), each handed to the checker, the client and the observer as [`observe`](Self::observe)
    /// hands one: how many there were (up to and including one that breaks an invariant), and the violation.
    /// The three keep no state in common and nothing else in the cluster changes between the entries, so the
    /// checker goes through the run first (with the node's state at hand), then the client and the observer.
    #[inline(never)]
    fn observe_applied_run(
        &mut self,
        t: SimTime,
        node: NodeId,
        notes: &[(SimTime, NodeId, RaftNote)],
    ) -> (usize, Result<(), Violation>) {
        let (len, checked) = self.safety.on_applied_run(&self.cluster, t, node, notes);
        let entries = notes[..len].iter().map(|&(_, _, note)| match note {
            RaftNote::Applied(_, entry) => entry,
            _ => unreachable!("a run holds applied entries"),
        });
        if let Some(client) = &mut self.client {
            entries.clone().for_each(|entry| client.on_applied(t, entry));
        }
        if self.observer.awaits_commit() {
            entries.for_each(|entry| self.observer.on_applied(t, entry));
        }
        (len, checked)
    }

    /// One entry `node` (in term `term`) applied at `t`, handed to the trace, the safety checker, the client and
    /// the observer. Inlined: out of line, the one-entry path (a follower applying what its leader just
    /// committed, the most common note under a client) took a call and the checker's another.
    #[inline(always)]
    fn observe_applied(
        &mut self,
        t: SimTime,
        node: NodeId,
        term: Term,
        index: LogIndex,
        entry: Entry,
    ) -> Result<(), Violation> {
        if let Some(tracer) = &mut self.tracer {
            tracer.on_applied(t, node, index, entry);
        }
        let checked = self.safety.on_applied_with_term(term, t, node, index, entry);
        if let Some(client) = &mut self.client {
            client.on_applied(t, entry);
        }
        self.observer.on_applied(t, entry);
        checked
    }

    /// The run of `len` entries `node` applied at `t` from index `first` on ([`RaftNote::AppliedRun`]), taken
    /// from its process and handed on as [`observe`](Self::observe) hands on the same entries one by one.
    #[inline(never)]
    fn observe_applied_entries(
        &mut self,
        t: SimTime,
        node: NodeId,
        first: LogIndex,
        len: usize,
    ) -> Result<(), Violation> {
        let term = self.cluster.term_of(node);
        let entries = self.cluster.take_applied_run(node, first, len);
        if self.tracer.is_some() {
            // Entry by entry, as a traced trial handles applied entries: the trace stops at a violation.
            for (index, entry) in (first.0..).zip(entries.to_vec()) {
                self.observe_applied(t, node, term, LogIndex(index), entry)?;
            }
            return Ok(());
        }
        let (len, checked) = self.safety.on_applied_entries(term, t, node, first, entries);
        let entries = &entries[..len];
        if let Some(client) = &mut self.client {
            entries.iter().for_each(|&entry| client.on_applied(t, entry));
        }
        if self.observer.awaits_commit() {
            entries.iter().for_each(|&entry| self.observer.on_applied(t, entry));
        }
        checked
    }

    #[inline(always)]
    fn drain_trace(&mut self) {
        if let Some(tracer) = &mut self.tracer {
            tracer.drain_engine(&mut self.cluster);
        }
    }

    /// Every fault has fired and the cluster has settled after each (and, under a client workload, committed a
    /// new entry after each failover).
    fn settled(&self) -> bool {
        self.faults.quiet(self.s)
            && !self.liveness.as_ref().is_some_and(Liveness::pending)
            && self.observer.settled(self.client.is_some())
    }

    /// What the trial has processed, held to `limits.max_events`: the engine's events (messages, timers, fault
    /// and client events) plus the driver's work that is not an event of its own (links cut and restored, nodes
    /// crashed and restarted, measurement windows looked at), so that no shape of fault schedule can make a
    /// trial run longer than its limit allows.
    fn work(&self) -> u64 {
        self.cluster.sim.stats().events + self.cluster.work() + self.observer.work()
    }

    /// Says which limit a trial hit, when, and what to do about it.
    fn limit_hit(&self, limits: crate::scenario::Limits) -> (&'static str, String) {
        let sim = &self.cluster.sim;
        let at = format!("{:.3} s", (sim.now() - SimTime::ZERO).as_secs_f64());
        if self.work() >= limits.max_events {
            (
                "limits.max_events",
                format!(
                    "{} events by {at} of virtual time (messages, timers and faults, and the work each fault and \
                     measurement costs), the most one trial may process. Shorten time_limit, slow the timers, the \
                     workload or the faults, or raise limits.max_events",
                    limits.max_events
                ),
            )
        } else {
            (
                "limits.max_pending_events",
                format!(
                    "{} events queued at once at {at} of virtual time (over the limit of {}): messages are sent \
                     faster than the network delivers them. Lower the load (fewer nodes, a longer heartbeat or \
                     workload interval, shorter latencies) or raise limits.max_pending_events",
                    sim.queued(),
                    limits.max_pending_events
                ),
            )
        }
    }

    fn finish(&mut self, done: bool) -> TrialResult {
        let outcome = match (self.violation.take(), self.aborted.take()) {
            (Some(v), _) => Outcome::Violation {
                invariant: v.invariant,
                detail: v.detail,
            },
            (None, Some((limit, detail))) => Outcome::Aborted { limit, detail },
            (None, None) if done => Outcome::Converged,
            (None, None) => Outcome::NotConverged,
        };
        let workload = self.client.is_some();
        let end = self.cluster.now();
        let (submitted, refused, commit_us, write_availability) = match self.client.take() {
            Some(c) => {
                let writes = c.write_availability(end);
                (c.submitted, c.refused, c.commit_us, Some(writes))
            }
            None => (0, 0, Vec::new(), None),
        };
        let mut r = TrialResult {
            index: self.index,
            seed: self.seed,
            outcome,
            first_leader_us: None,
            election_us: Samples::new(),
            convergence_us: Samples::new(),
            recovery_us: Samples::new(),
            rounds: 0,
            split_votes: 0,
            messages: self.cluster.messages(),
            spurious_elections: 0,
            elections: (0, 0),
            disruptions: 0,
            leader_availability: None,
            write_availability,
            commit_us,
            commands: (submitted, refused),
            failover_commit_us: Samples::new(),
            end_us: self.cluster.now().as_micros(),
            events: self.cluster.sim.stats().events,
            unmeasured: Vec::new(),
        };
        self.observer.finish(&mut r, workload);
        r
    }
}

/// Message counts by kind, as (name, count) pairs in report order.
pub fn message_names() -> [&'static str; 4] {
    MessageKind::ALL.map(|k| k.name())
}

/// Whether `note` is an entry `node` applied at `t`.
#[inline(always)]
fn applied_by(&(at, by, note): &(SimTime, NodeId, RaftNote), t: SimTime, node: NodeId) -> bool {
    at == t && by == node && matches!(note, RaftNote::Applied(..))
}
