//! One trial: a simulated Raft cluster, a fault schedule, and the observer that measures elections and checks
//! safety while the trial runs.

use crate::invariants::{Checker, Violation};
use crate::scenario::{Action, PartitionMode, Scenario, Selector, Trigger};
use crate::trace::{self, TraceLine};
use raft_model::{
    Entry, Env, Input, LogIndex, Message, MessageKind, Node, PersistUpdate, Persistent, Role, Status, Term,
};
use sim_core::rng::{self, Pcg64, streams};
use sim_core::{Ctx, NodeId, Process, SimTime, Simulation, Stepped};
use std::collections::BTreeMap;
use std::time::Duration;

/// Converts an engine node id to a Raft node id.
#[inline]
fn rid(id: NodeId) -> raft_model::NodeId {
    raft_model::NodeId(id.index() as u32)
}

/// Converts a Raft node id to an engine node id.
#[inline]
fn sid(id: raft_model::NodeId) -> NodeId {
    NodeId::new(id.index())
}

/// A Raft node as an engine process: the node, what it has persisted, and message counters.
pub struct RaftProcess {
    node: Node,
    storage: Persistent,
    messages: [u64; 4],
}

impl RaftProcess {
    /// A process for `node`, whose durable storage starts as `storage`.
    pub fn new(node: Node, storage: Persistent) -> Self {
        RaftProcess {
            node,
            storage,
            messages: [0; 4],
        }
    }

    /// The Raft node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// What has been persisted so far (what survives a crash).
    pub fn storage(&self) -> &Persistent {
        &self.storage
    }

    /// Messages this process has sent, by [`MessageKind`] (in `MessageKind::ALL` order).
    pub fn messages(&self) -> [u64; 4] {
        self.messages
    }
}

/// What a Raft process reports to the trial driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaftNote {
    /// Role, term or known leader changed.
    Status(Status),
    /// A committed entry was applied to the node's state machine.
    Applied(LogIndex, Entry),
}

/// Adapts the engine's context to the node's [`Env`].
struct Glue<'a, 'c> {
    ctx: &'a mut Ctx<'c, Message, RaftNote>,
    storage: &'a mut Persistent,
    messages: &'a mut [u64; 4],
}

impl Env for Glue<'_, '_> {
    #[inline]
    fn random_u64(&mut self) -> u64 {
        self.ctx.random_u64()
    }
    #[inline]
    fn now(&self) -> Duration {
        self.ctx.now().since_start()
    }
    #[inline]
    fn send(&mut self, to: raft_model::NodeId, msg: Message) {
        self.messages[msg.kind() as usize] += 1;
        self.ctx.send(sid(to), msg);
    }
    #[inline]
    fn set_timer(&mut self, timer: raft_model::Timer, after: Duration) {
        self.ctx.set_timer(timer as usize, after);
    }
    #[inline]
    fn cancel_timer(&mut self, timer: raft_model::Timer) {
        self.ctx.cancel_timer(timer as usize);
    }
    fn persist(&mut self, update: PersistUpdate<'_>) {
        self.storage.apply(&update);
        self.ctx.sync();
    }
    fn apply(&mut self, index: LogIndex, entry: &Entry) {
        self.ctx.note(RaftNote::Applied(index, *entry));
    }
    fn status_changed(&mut self, status: Status) {
        self.ctx.note(RaftNote::Status(status));
    }
}

impl RaftProcess {
    /// `Start(command)` on this node, now.
    pub fn start(
        &mut self,
        ctx: &mut Ctx<'_, Message, RaftNote>,
        command: raft_model::Command,
    ) -> Result<(LogIndex, Term), raft_model::NotLeader> {
        let mut env = Glue {
            ctx,
            storage: &mut self.storage,
            messages: &mut self.messages,
        };
        self.node.start(&mut env, command)
    }
}

impl Process for RaftProcess {
    type Msg = Message;
    type Note = RaftNote;
    const TIMERS: usize = raft_model::Timer::COUNT;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Message, RaftNote>) {
        let mut env = Glue {
            ctx,
            storage: &mut self.storage,
            messages: &mut self.messages,
        };
        self.node.step(&mut env, Input::Boot);
        // Report the starting status too, so the observer knows every live node's term.
        let status = self.node.status();
        env.ctx.note(RaftNote::Status(status));
    }

    #[inline]
    fn on_message(&mut self, ctx: &mut Ctx<'_, Message, RaftNote>, from: NodeId, msg: Message) {
        let mut env = Glue {
            ctx,
            storage: &mut self.storage,
            messages: &mut self.messages,
        };
        self.node.step(&mut env, Input::Message { from: rid(from), msg });
    }

    #[inline]
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Message, RaftNote>, timer: usize) {
        let mut env = Glue {
            ctx,
            storage: &mut self.storage,
            messages: &mut self.messages,
        };
        self.node
            .step(&mut env, Input::Timeout(raft_model::Timer::from_slot(timer)));
    }
}

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
        /// The invariant's name, as in the Raft paper (`ElectionSafety`, ...).
        invariant: &'static str,
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
    /// Terms campaigned in until the first failover's winner (or the first leader's, without failover).
    pub rounds: u32,
    /// Of those, rounds that ended without a winner.
    pub split_votes: u32,
    /// Messages sent, by [`MessageKind`].
    pub messages: [u64; 4],
    /// Elections started while a healthy leader (live, reaching a majority, reachable) existed.
    pub spurious_elections: u32,
    /// Times a leader that could still reach a majority lost its leadership (deposed by a higher term).
    pub disruptions: u32,
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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WindowKind {
    /// Cluster start until the first leader.
    Start,
    /// A fault removed the leader.
    Failover,
    /// A heal or restart: until everyone follows one leader again.
    Recovery,
}

/// An open measurement.
#[derive(Clone, Debug)]
struct Window {
    kind: WindowKind,
    start: SimTime,
    /// Term of the leader the fault removed (or the highest term at start).
    base_term: Term,
    /// Distinct terms campaigned in since the window opened.
    campaign_terms: Vec<Term>,
    elected: Option<(SimTime, Term)>,
    converged: Option<SimTime>,
    /// First commit of an entry from a term after `base_term`.
    first_commit: Option<SimTime>,
    /// The removed leader got its majority back before any election.
    resumed: bool,
}

impl Window {
    fn new(kind: WindowKind, start: SimTime, base_term: Term) -> Self {
        Window {
            kind,
            start,
            base_term,
            campaign_terms: Vec::new(),
            elected: None,
            converged: None,
            first_commit: None,
            resumed: false,
        }
    }
}

/// Runs trial `index` of `s`.
pub fn run_trial(s: &Scenario, index: u64) -> TrialResult {
    let seed = rng::trial_seed(s.seed, index);
    Driver::new(s, index, seed).run()
}

/// Runs trial `index` of `s` (or, with `seed`, a trial with that seed) recording its event trace. Tracing does not
/// change what the trial does: the result equals [`run_trial`]'s.
pub fn trace_trial(s: &Scenario, index: u64, seed: Option<u64>) -> (TrialResult, Vec<TraceLine>) {
    let seed = seed.unwrap_or_else(|| rng::trial_seed(s.seed, index));
    Driver::new_traced(s, index, seed, true).run_traced()
}

struct Driver<'s> {
    s: &'s Scenario,
    index: u64,
    seed: u64,
    sim: Simulation<RaftProcess, DriverEvent>,
    /// Latest status of each live node; `None` while crashed.
    status: Vec<Option<Status>>,
    /// When each node last became leader.
    leader_since: Vec<SimTime>,
    /// Safety properties, checked on every report.
    checker: Checker,
    /// Storage of crashed nodes.
    stable: Vec<Persistent>,
    fault_rng: Pcg64,
    next_fault: usize,
    waiting_for_leader: bool,
    windows: Vec<Window>,
    messages: [u64; 4],
    violation: Option<(&'static str, String)>,
    /// A resource limit stopped the trial: (limit, what happened).
    aborted: Option<(&'static str, String)>,
    /// Links of each flap fault fired so far.
    flaps: Vec<Vec<(NodeId, NodeId)>>,
    /// Flap faults still cycling.
    active_flaps: usize,
    /// Random fault generators that have not reached their stop time.
    generators_active: usize,
    /// The event trace, when recording.
    trace: Option<Vec<TraceLine>>,
    /// When the last fault fired and every generator stopped.
    quiet_since: Option<SimTime>,
    /// Liveness: a single leader was seen after `quiet_since`.
    leader_seen: bool,
    /// Liveness checks still to come.
    liveness_pending: u32,
    /// Liveness: the highest commit index when the faults ended.
    commit_at_quiet: LogIndex,
    spurious_elections: u32,
    disruptions: u32,
    /// The node the client believes leads.
    client_target: NodeId,
    /// Commands submitted and not yet applied anywhere: command -> submission time.
    in_flight: BTreeMap<u64, SimTime>,
    next_command: u64,
    submitted: u64,
    refused: u64,
    commit_us: Vec<u64>,
}

impl<'s> Driver<'s> {
    fn new(s: &'s Scenario, index: u64, seed: u64) -> Self {
        Self::new_traced(s, index, seed, false)
    }

    fn new_traced(s: &'s Scenario, index: u64, seed: u64, traced: bool) -> Self {
        let n = s.nodes;
        let network = s.network();
        let mut sim = Simulation::new(network, seed);
        if traced {
            sim.enable_trace();
        }
        for (i, host) in s.hosts.iter().enumerate() {
            if *host != sim_core::Host::default() {
                sim.set_host(NodeId::new(i), host.clone());
            }
        }
        for i in 0..n {
            let initial = s.initial[i].clone();
            let node = Node::new(raft_model::NodeId(i as u32), n, s.raft.clone(), Some(initial.clone()));
            sim.start(NodeId::new(i), RaftProcess::new(node, initial));
        }
        let mut d = Driver {
            s,
            index,
            seed,
            sim,
            status: vec![None; n],
            leader_since: vec![SimTime::ZERO; n],
            checker: Checker::new(),
            stable: vec![Persistent::default(); n],
            fault_rng: rng::stream(seed, streams::FAULTS),
            next_fault: 0,
            waiting_for_leader: false,
            windows: vec![Window::new(
                WindowKind::Start,
                SimTime::ZERO,
                s.initial.iter().map(|p| p.current_term).max().unwrap_or_default(),
            )],
            spurious_elections: 0,
            disruptions: 0,
            client_target: NodeId::new(0),
            in_flight: BTreeMap::new(),
            next_command: 1 << 32,
            submitted: 0,
            refused: 0,
            commit_us: Vec::new(),
            messages: [0; 4],
            violation: None,
            aborted: None,
            flaps: Vec::new(),
            active_flaps: 0,
            generators_active: 0,
            trace: traced.then(Vec::new),
            quiet_since: None,
            leader_seen: false,
            liveness_pending: 0,
            commit_at_quiet: LogIndex(0),
        };
        d.observe();
        d.arm_next_fault();
        d.start_generators();
        if let Some(w) = &s.workload {
            d.sim.schedule(SimTime::ZERO + w.start, DriverEvent::ClientTick);
        }
        d
    }

    fn run(self) -> TrialResult {
        self.run_traced().0
    }

    fn run_traced(mut self) -> (TrialResult, Vec<TraceLine>) {
        let limit = SimTime::ZERO + self.s.time_limit;
        let limits = self.s.limits;
        let mut done = false;
        self.drain_trace();
        while let Some(t) = self.sim.next_time() {
            if t > limit {
                break;
            }
            if self.sim.stats().events >= limits.max_events || self.sim.queued() as u64 > limits.max_pending_events {
                self.aborted = Some(self.limit_hit(limits));
                break;
            }
            let stepped = self.sim.step();
            if self.trace.is_some() {
                self.drain_trace();
            }
            if let Some(Stepped::External(ev)) = stepped {
                self.on_driver_event(ev);
                self.check_windows();
                if self.trace.is_some() {
                    self.drain_trace();
                }
            }
            if self.sim.has_notes() {
                self.observe();
                self.check_windows();
            }
            if self.s.liveness.is_some() {
                self.watch_liveness();
            }
            if self.violation.is_some() {
                break;
            }
            if self.settled() {
                done = true;
                break;
            }
        }
        if self.violation.is_none()
            && self.s.invariants
            && let Err(v) = self.check_log_matching(self.sim.now())
        {
            self.violation = Some((v.invariant, v.detail));
        }
        let trace = self.trace.take().unwrap_or_default();
        (self.finish(done), trace)
    }

    /// Says which limit a trial hit, when, and what to do about it.
    fn limit_hit(&self, limits: crate::scenario::Limits) -> (&'static str, String) {
        let at = format!("{:.3} s", (self.sim.now() - SimTime::ZERO).as_secs_f64());
        if self.sim.stats().events >= limits.max_events {
            (
                "limits.max_events",
                format!(
                    "{} events by {at} of virtual time, the most one trial may process. Shorten time_limit, slow \
                     the timers or the workload, or raise limits.max_events",
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
                    self.sim.queued(),
                    limits.max_pending_events
                ),
            )
        }
    }

    /// Starts the liveness clock once the faults are over, and notes when a single leader appears.
    fn watch_liveness(&mut self) {
        let Some((leader_within, applied_within)) = self.s.liveness else {
            return;
        };
        if self.quiet_since.is_none()
            && self.next_fault == self.s.faults.len()
            && self.generators_active == 0
            && self.active_flaps == 0
        {
            let now = self.sim.now();
            self.quiet_since = Some(now);
            self.commit_at_quiet = (0..self.s.nodes)
                .filter_map(|i| self.sim.process(NodeId::new(i)).map(|p| p.node().commit_index()))
                .max()
                .unwrap_or(LogIndex(0));
            self.sim
                .schedule(now + leader_within, DriverEvent::LivenessCheck { applied: false });
            self.liveness_pending += 1;
            if let Some(a) = applied_within {
                self.sim.schedule(now + a, DriverEvent::LivenessCheck { applied: true });
                self.liveness_pending += 1;
            }
        }
        if self.quiet_since.is_some() && !self.leader_seen && self.agreed().is_some() {
            self.leader_seen = true;
        }
    }

    fn liveness_check(&mut self, applied: bool) {
        self.liveness_pending -= 1;
        let (leader_within, applied_within) = self.s.liveness.expect("scheduled with a budget");
        if self.violation.is_some() {
            return;
        }
        if !applied {
            if !self.leader_seen && self.agreed().is_none() {
                self.violation = Some((
                    "Liveness",
                    format!(
                        "no single leader within {} of the last fault",
                        crate::duration::Dur(leader_within)
                    ),
                ));
            }
            return;
        }
        let lagging: Vec<String> = (0..self.s.nodes)
            .filter_map(|i| self.sim.process(NodeId::new(i)).map(|p| (i, p.node().last_applied())))
            .filter(|(_, a)| *a < self.commit_at_quiet)
            .map(|(i, a)| format!("n{i} at {}", a.0))
            .collect();
        if !lagging.is_empty() {
            self.violation = Some((
                "Liveness",
                format!(
                    "{} after the last fault, not every live node has applied index {}: {}",
                    crate::duration::Dur(applied_within.expect("scheduled")),
                    self.commit_at_quiet.0,
                    lagging.join(", ")
                ),
            ));
        }
    }

    /// The term and role of `node` now, if it is up.
    fn state_of(&self, node: usize) -> (Option<u64>, Option<&'static str>) {
        match self.sim.process(NodeId::new(node)) {
            Some(p) => (Some(p.node().term().0), Some(trace::role_name(p.node().role()))),
            None => (None, None),
        }
    }

    /// Converts what the engine recorded into trace lines.
    fn drain_trace(&mut self) {
        if self.trace.is_none() {
            return;
        }
        for (t, record) in self.sim.take_trace() {
            let t_us = t.as_micros();
            let mut line = match record {
                sim_core::Trace::Deliver { from, to, msg } => {
                    let mut l = TraceLine::new(t_us, Some(to.index()), "deliver", trace::describe(&msg));
                    l.peer = Some(from.index());
                    l.kind = Some(trace::kind(&msg));
                    l
                }
                sim_core::Trace::Timer { node, timer } => {
                    TraceLine::new(t_us, Some(node.index()), "timer", trace::timer_name(timer).to_string())
                }
                sim_core::Trace::Send {
                    from,
                    to,
                    msg,
                    arrives,
                    copy,
                } => {
                    let event = if arrives.is_some() { "send" } else { "drop" };
                    let mut detail = trace::describe(&msg);
                    if let Some(c) = copy {
                        detail.push_str(&format!(" (duplicated, copy at {c})"));
                    }
                    let mut l = TraceLine::new(t_us, Some(from.index()), event, detail);
                    l.peer = Some(to.index());
                    l.kind = Some(trace::kind(&msg));
                    l.arrives_us = arrives.map(|a| a.as_micros());
                    l
                }
                sim_core::Trace::Lost { from, to, msg } => {
                    let mut l = TraceLine::new(t_us, Some(to.index()), "lost", trace::describe(&msg));
                    l.peer = Some(from.index());
                    l.kind = Some(trace::kind(&msg));
                    l
                }
            };
            if let Some(n) = line.node {
                (line.term, line.role) = self.state_of(n);
            }
            self.trace.as_mut().expect("checked").push(line);
        }
    }

    /// Records a driver action (a fault, a client command) in the trace.
    fn trace_action(&mut self, event: &'static str, node: Option<NodeId>, detail: impl FnOnce() -> String) {
        if self.trace.is_none() {
            return;
        }
        let mut line = TraceLine::new(self.sim.now().as_micros(), node.map(|n| n.index()), event, detail());
        if let Some(n) = line.node {
            (line.term, line.role) = self.state_of(n);
        }
        self.trace.as_mut().expect("checked").push(line);
    }

    /// Every fault has fired and the cluster has settled after each (and, under a client workload, committed a
    /// new entry after each failover).
    fn settled(&self) -> bool {
        self.next_fault == self.s.faults.len()
            && self.generators_active == 0
            && self.active_flaps == 0
            && self.liveness_pending == 0
            && self.windows.iter().all(|w| {
                w.converged.is_some()
                    && (self.s.workload.is_none() || w.kind != WindowKind::Failover || w.first_commit.is_some())
            })
    }

    fn finish(mut self, done: bool) -> TrialResult {
        for i in 0..self.s.nodes {
            if let Some(p) = self.sim.process(NodeId::new(i)) {
                for k in 0..4 {
                    self.messages[k] += p.messages[k];
                }
            }
        }
        let outcome = match (self.violation.take(), self.aborted.take()) {
            (Some((invariant, detail)), _) => Outcome::Violation { invariant, detail },
            (None, Some((limit, detail))) => Outcome::Aborted { limit, detail },
            (None, None) if done => Outcome::Converged,
            (None, None) => Outcome::NotConverged,
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
            messages: self.messages,
            spurious_elections: self.spurious_elections,
            disruptions: self.disruptions,
            commit_us: std::mem::take(&mut self.commit_us),
            commands: (self.submitted, self.refused),
            failover_commit_us: Samples::new(),
            end_us: self.sim.now().as_micros(),
            events: self.sim.stats().events,
        };
        let since = |w: &Window, t: SimTime| (t - w.start).as_micros() as u64;
        for w in &self.windows {
            match w.kind {
                WindowKind::Start => r.first_leader_us = w.elected.map(|(t, _)| since(w, t)),
                // Nobody was elected: only the client's outage is measured.
                WindowKind::Failover if w.resumed => r.failover_commit_us.extend(w.first_commit.map(|t| since(w, t))),
                WindowKind::Failover => {
                    r.election_us.extend(w.elected.map(|(t, _)| since(w, t)));
                    r.convergence_us.extend(w.converged.map(|t| since(w, t)));
                    r.failover_commit_us.extend(w.first_commit.map(|t| since(w, t)));
                }
                WindowKind::Recovery => r.recovery_us.extend(w.converged.map(|t| since(w, t))),
            }
        }
        // Rounds are counted for the first failover, or for the first election when nothing failed over.
        let rounds_window = self
            .windows
            .iter()
            .find(|w| w.kind == WindowKind::Failover)
            .or_else(|| self.windows.iter().find(|w| w.kind == WindowKind::Start));
        if let Some(w) = rounds_window
            && let Some((_, term)) = w.elected
        {
            // Distinct terms campaigned in, up to and including the winner's.
            r.rounds = w.campaign_terms.iter().filter(|&&t| t <= term).count().max(1) as u32;
            r.split_votes = r.rounds - 1;
        }
        r
    }

    /// The live node leading in the highest term, with that term.
    fn current_leader(&self) -> Option<(NodeId, Term)> {
        let mut best: Option<(NodeId, Term)> = None;
        for (i, st) in self.status.iter().enumerate() {
            if let Some(st) = st
                && st.role == Role::Leader
                && best.is_none_or(|(_, t)| st.term > t)
            {
                best = Some((NodeId::new(i), st.term));
            }
        }
        best
    }

    /// Drains notes: checks safety, updates windows and commit latencies, and arms waiting triggers.
    fn observe(&mut self) {
        let notes: Vec<(SimTime, NodeId, RaftNote)> = self.sim.take_notes().collect();
        for (t, node, note) in notes {
            let result = match note {
                RaftNote::Status(st) => self.on_status(t, node, st),
                RaftNote::Applied(index, entry) => self.on_applied(t, node, index, entry),
            };
            if let Err(v) = result {
                self.violation = Some((v.invariant, v.detail));
                return;
            }
        }
    }

    fn on_status(&mut self, t: SimTime, node: NodeId, st: Status) -> Result<(), Violation> {
        let before = self.status[node.index()].replace(st);
        if let Some(trace) = &mut self.trace {
            let was = before.map_or("down", |b| trace::role_name(b.role));
            let leader = st.leader.map_or_else(|| "none".to_string(), |l| format!("n{}", l.0));
            let mut line = TraceLine::new(
                t.as_micros(),
                Some(node.index()),
                "role",
                format!("{was} -> {} (leader {leader})", trace::role_name(st.role)),
            );
            line.term = Some(st.term.0);
            line.role = Some(trace::role_name(st.role));
            trace.push(line);
        }
        // A stale leader (one that a newer leader already replaced, as after a partition heals) stepping down
        // is not a disruption.
        let newest = |b: &Status| {
            !self
                .status
                .iter()
                .flatten()
                .any(|o| o.role == Role::Leader && o.term > b.term)
        };
        if before.is_some_and(|b| b.role == Role::Leader && newest(&b))
            && st.role != Role::Leader
            && self.reaches_majority(node)
        {
            // A leader that could still reach a majority lost its leadership: something deposed it.
            self.disruptions += 1;
        }
        match st.role {
            Role::Leader => {
                // Elected while an older leader could still reach a majority: that leader is being replaced for
                // no reason (it steps down later, as a stale leader, so it is counted here instead).
                let replaced = (0..self.s.nodes).filter(|&j| j != node.index()).any(|j| {
                    self.status[j].is_some_and(|o| o.role == Role::Leader && o.term < st.term)
                        && self.reaches_majority(NodeId::new(j))
                });
                if replaced {
                    self.disruptions += 1;
                }
                if self.s.invariants {
                    let log = self.sim.process(node).map_or(&[][..], |p| p.node().log());
                    self.checker.on_status(t, rid(node), st, log)?;
                    self.check_log_matching(t)?;
                }
                self.leader_since[node.index()] = t;
                for w in &mut self.windows {
                    if w.kind != WindowKind::Recovery && w.elected.is_none() && st.term > w.base_term {
                        w.elected = Some((t, st.term));
                        if !w.campaign_terms.contains(&st.term) {
                            w.campaign_terms.push(st.term);
                        }
                    }
                }
                if self.waiting_for_leader {
                    self.waiting_for_leader = false;
                    self.arm_next_fault();
                }
            }
            Role::Candidate => {
                if self.healthy_leader_reaches(node) {
                    self.spurious_elections += 1;
                }
                for w in &mut self.windows {
                    if w.elected.is_none() && st.term > w.base_term && !w.campaign_terms.contains(&st.term) {
                        w.campaign_terms.push(st.term);
                    }
                }
            }
            Role::Follower | Role::PreCandidate => {}
        }
        Ok(())
    }

    fn on_applied(&mut self, t: SimTime, node: NodeId, index: LogIndex, entry: Entry) -> Result<(), Violation> {
        if let Some(trace) = &mut self.trace {
            let detail = format!("index {} term {} command {}", index.0, entry.term.0, entry.command);
            trace.push(TraceLine::new(t.as_micros(), Some(node.index()), "apply", detail));
        }
        if self.s.invariants {
            self.checker.on_apply(t, rid(node), index, entry)?;
        }
        if let Some(submitted) = self.in_flight.remove(&entry.command) {
            self.commit_us.push((t - submitted).as_micros() as u64);
        }
        for w in &mut self.windows {
            // The first commit of a new leader's entry; or, when the old leader resumed, of anything after that.
            let counts = entry.term > w.base_term || w.resumed;
            if w.kind == WindowKind::Failover && w.first_commit.is_none() && counts {
                w.first_commit = Some(t);
            }
        }
        Ok(())
    }

    /// LogMatching over every pair of live nodes.
    fn check_log_matching(&self, t: SimTime) -> Result<(), Violation> {
        let logs: Vec<(raft_model::NodeId, &[Entry])> = (0..self.s.nodes)
            .filter_map(|i| {
                self.sim
                    .process(NodeId::new(i))
                    .map(|p| (raft_model::NodeId(i as u32), p.node().log()))
            })
            .collect();
        crate::invariants::check_log_matching(t, &logs)
    }

    /// The client submits one command to the node it believes leads, and learns from a refusal.
    fn client_tick(&mut self) {
        let Some(w) = self.s.workload.clone() else { return };
        let command = self.next_command;
        let target = self.client_target;
        let result = self.sim.call(target, |p, ctx| p.start(ctx, command));
        self.trace_action("client", Some(target), || match &result {
            Some(Ok((index, term))) => format!("start({command}) -> index {} term {}", index.0, term.0),
            Some(Err(_)) => format!("start({command}) refused: not leader"),
            None => format!("start({command}) failed: node down"),
        });
        match result {
            Some(Ok(_)) => {
                self.next_command += 1;
                self.submitted += 1;
                self.in_flight.insert(command, self.sim.now());
            }
            Some(Err(not_leader)) => {
                self.refused += 1;
                self.client_target = match not_leader.leader_hint {
                    Some(hint) if hint != rid(target) => sid(hint),
                    _ => NodeId::new((target.index() + 1) % self.s.nodes),
                };
            }
            None => {
                self.refused += 1;
                self.client_target = NodeId::new((target.index() + 1) % self.s.nodes);
            }
        }
        if self.sim.has_notes() {
            self.observe();
        }
        self.sim.schedule(self.sim.now() + w.interval, DriverEvent::ClientTick);
    }

    /// Whether `node` can exchange messages with a majority of live nodes (itself included).
    fn reaches_majority(&self, node: NodeId) -> bool {
        let net = self.sim.network();
        let reach = (0..self.s.nodes)
            .filter(|&j| self.status[j].is_some() && net.connected(node, NodeId::new(j)))
            .count();
        reach > self.s.nodes / 2
    }

    /// Whether a live leader that can reach a majority, and can exchange messages with `node`, exists: an election
    /// `node` starts then is spurious (caused by delay or loss, not by a fault).
    fn healthy_leader_reaches(&self, node: NodeId) -> bool {
        let Some((leader, _)) = self.current_leader() else {
            return false;
        };
        leader != node && self.sim.network().connected(leader, node) && self.reaches_majority(leader)
    }

    /// Whether every live node that can exchange messages with the current leader follows it in its term.
    fn agreed(&self) -> Option<Term> {
        let (leader, term) = self.current_leader()?;
        let net = self.sim.network();
        for (i, st) in self.status.iter().enumerate() {
            let Some(st) = st else { continue };
            if !net.connected(NodeId::new(i), leader) {
                continue;
            }
            if st.term != term || st.leader != Some(raft_model::NodeId(leader.index() as u32)) {
                return None;
            }
        }
        Some(term)
    }

    fn check_windows(&mut self) {
        if self.windows.iter().all(|w| w.converged.is_some()) {
            return;
        }
        let Some(term) = self.agreed() else { return };
        let now = self.sim.now();
        // A leader that lost its majority and got it back before anyone was elected (a short cut, a flap)
        // resumes: the window closes without an election to measure.
        let resumed = self
            .current_leader()
            .is_some_and(|(leader, t)| t == term && self.reaches_majority_of_all(leader));
        for w in &mut self.windows {
            if resumed && w.kind == WindowKind::Failover && w.elected.is_none() && w.base_term == term {
                w.converged = Some(now);
                w.resumed = true;
                continue;
            }
            if w.converged.is_none() && (w.kind == WindowKind::Recovery || (w.elected.is_some() && term > w.base_term))
            {
                w.converged = Some(now);
            }
        }
    }

    fn arm_next_fault(&mut self) {
        let Some(fault) = self.s.faults.get(self.next_fault) else {
            return;
        };
        let now = self.sim.now();
        let i = self.next_fault;
        if let Trigger::LeaderStableFor(_) = fault.trigger
            && self.current_leader().is_none()
        {
            self.waiting_for_leader = true;
            return;
        }
        // Drawn once per arming, from the trial's fault stream.
        let jitter = if fault.jitter.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_micros(rng::uniform_inclusive(
                &mut self.fault_rng,
                0,
                sim_core::micros(fault.jitter),
            ))
        };
        match fault.trigger {
            Trigger::At(at) => self
                .sim
                .schedule((SimTime::ZERO + at).max(now) + jitter, DriverEvent::Fault(i)),
            Trigger::After(d) => self.sim.schedule(now + d + jitter, DriverEvent::Fault(i)),
            Trigger::LeaderStableFor(d) => {
                let (leader, term) = self.current_leader().expect("checked above");
                let at = (self.leader_since[leader.index()] + d).max(now) + jitter;
                self.sim
                    .schedule(at, DriverEvent::StableCheck { fault: i, leader, term });
            }
        }
    }

    fn on_driver_event(&mut self, ev: DriverEvent) {
        match ev {
            DriverEvent::Fault(i) => {
                debug_assert_eq!(i, self.next_fault);
                self.fire(i);
            }
            DriverEvent::ClientTick => self.client_tick(),
            DriverEvent::Flap {
                fault,
                flap,
                outage,
                down,
            } => {
                let Action::Flap { down: d, up, times, .. } = self.s.faults[fault].action else {
                    unreachable!("flap events come from flap faults")
                };
                let links = std::mem::take(&mut self.flaps[flap]);
                self.set_cuts(&links, !down);
                self.flaps[flap] = links;
                if down && outage < times {
                    let ev = DriverEvent::Flap {
                        fault,
                        flap,
                        outage: outage + 1,
                        down: false,
                    };
                    self.sim.schedule(self.sim.now() + up, ev);
                } else if !down {
                    let ev = DriverEvent::Flap {
                        fault,
                        flap,
                        outage,
                        down: true,
                    };
                    self.sim.schedule(self.sim.now() + d, ev);
                } else {
                    self.active_flaps -= 1;
                }
            }
            DriverEvent::Churn { node, crash } => self.on_churn(node, crash),
            DriverEvent::LivenessCheck { applied } => self.liveness_check(applied),
            DriverEvent::ChurnStop => {
                self.generators_active -= 1;
                let crashed: Vec<NodeId> = (0..self.s.nodes)
                    .map(NodeId::new)
                    .filter(|&x| !self.sim.is_up(x))
                    .collect();
                if !crashed.is_empty() {
                    self.restart_nodes(&crashed);
                }
            }
            DriverEvent::RandomPartition { split } => self.on_random_partition(split),
            DriverEvent::RandomPartitionsStop => {
                self.generators_active -= 1;
                if self.sim.network().has_cuts() {
                    self.heal_all();
                }
            }
            DriverEvent::StableCheck { fault, leader, term } => {
                if fault != self.next_fault {
                    return; // already fired through another check
                }
                let still = self.status[leader.index()].is_some_and(|st| st.role == Role::Leader && st.term == term);
                if still {
                    self.fire(fault);
                } else {
                    self.arm_next_fault();
                }
            }
        }
    }

    fn fire(&mut self, i: usize) {
        self.next_fault += 1;
        let action = self.s.faults[i].action.clone();
        match action {
            Action::Crash(sel) => {
                let nodes = self.select(sel, &[]);
                self.crash_nodes(&nodes);
            }
            Action::Restart(sel) => {
                let nodes = self.select(sel, &[]);
                self.restart_nodes(&nodes);
            }
            Action::Partition(groups) => {
                let leader = self.current_leader();
                let mut assigned: Vec<NodeId> = Vec::new();
                let mut resolved: Vec<Vec<NodeId>> = Vec::with_capacity(groups.len());
                // Named selectors first, so that `others` means "everyone not named elsewhere".
                for g in &groups {
                    let mut members = Vec::new();
                    for &sel in g.iter().filter(|s| **s != Selector::Others) {
                        for node in self.select(sel, &assigned) {
                            assigned.push(node);
                            members.push(node);
                        }
                    }
                    resolved.push(members);
                }
                for (g, sels) in groups.iter().enumerate() {
                    if sels.contains(&Selector::Others) {
                        let rest: Vec<NodeId> = (0..self.s.nodes)
                            .map(NodeId::new)
                            .filter(|n| !assigned.contains(n))
                            .collect();
                        resolved[g].extend(rest);
                    }
                }
                self.sim.network_mut().partition(&resolved);
                self.trace_action("partition", None, || format!("groups {}", groups_text(&resolved)));
                self.after_cut(leader);
            }
            Action::HealAll => self.heal_all(),
            Action::Cut { from, to, both_ways } => {
                let links = self.resolve_links(&from, &to, both_ways);
                self.set_cuts(&links, true);
            }
            Action::Flap {
                from,
                to,
                both_ways,
                down,
                ..
            } => {
                let links = self.resolve_links(&from, &to, both_ways);
                self.set_cuts(&links, true);
                self.flaps.push(links);
                self.active_flaps += 1;
                let flap = self.flaps.len() - 1;
                self.sim.schedule(
                    self.sim.now() + down,
                    DriverEvent::Flap {
                        fault: i,
                        flap,
                        outage: 1,
                        down: true,
                    },
                );
            }
        }
        self.arm_next_fault();
    }

    /// Crashes `nodes`; opens a failover window if the leader was among them.
    fn crash_nodes(&mut self, nodes: &[NodeId]) {
        for &n in nodes {
            self.trace_action("crash", Some(n), || format!("n{} crashes", n.index()));
        }
        let leader = self.current_leader();
        for &node in nodes {
            if let Some(p) = self.sim.crash(node) {
                for k in 0..4 {
                    self.messages[k] += p.messages[k];
                }
                self.stable[node.index()] = p.storage;
                self.status[node.index()] = None;
            }
        }
        if let Some((l, term)) = leader
            && nodes.contains(&l)
        {
            self.windows
                .push(Window::new(WindowKind::Failover, self.sim.now(), term));
        }
    }

    /// Restarts the crashed nodes among `nodes` from what they persisted; opens a recovery window.
    fn restart_nodes(&mut self, nodes: &[NodeId]) {
        for &node in nodes {
            if self.sim.is_up(node) {
                continue;
            }
            let storage = std::mem::take(&mut self.stable[node.index()]);
            self.trace_action("restart", Some(node), || {
                format!(
                    "n{} restarts from term {}, log of {}",
                    node.index(),
                    storage.current_term.0,
                    storage.log.len()
                )
            });
            self.checker.on_restart(rid(node));
            let raft = Node::new(rid(node), self.s.nodes, self.s.raft.clone(), Some(storage.clone()));
            self.sim.start(node, RaftProcess::new(raft, storage));
        }
        self.windows
            .push(Window::new(WindowKind::Recovery, self.sim.now(), Term(0)));
        self.observe();
    }

    /// After links were cut: a failover window if `leader` (the leader before the cut) lost its majority.
    fn after_cut(&mut self, leader: Option<(NodeId, Term)>) {
        if let Some((l, term)) = leader
            && !self.reaches_majority_of_all(l)
        {
            self.windows
                .push(Window::new(WindowKind::Failover, self.sim.now(), term));
        }
    }

    /// Whether `node` can exchange messages with a majority of the whole cluster (itself included).
    fn reaches_majority_of_all(&self, node: NodeId) -> bool {
        let net = self.sim.network();
        let reach = (0..self.s.nodes)
            .filter(|&j| net.connected(node, NodeId::new(j)))
            .count();
        reach > self.s.nodes / 2
    }

    fn heal_all(&mut self) {
        self.trace_action("heal", None, || "every link restored".to_string());
        self.sim.network_mut().heal_all();
        self.windows
            .push(Window::new(WindowKind::Recovery, self.sim.now(), Term(0)));
    }

    /// The directed links from every node `from` selects to every node `to` selects (and back).
    fn resolve_links(&mut self, from: &[Selector], to: &[Selector], both_ways: bool) -> Vec<(NodeId, NodeId)> {
        let mut a = Vec::new();
        for &sel in from {
            for x in self.select(sel, &a) {
                a.push(x);
            }
        }
        let mut b = Vec::new();
        for &sel in to {
            for x in self.select(sel, &b) {
                b.push(x);
            }
        }
        let mut links = Vec::new();
        for &x in &a {
            for &y in &b {
                if x != y {
                    links.push((x, y));
                    if both_ways {
                        links.push((y, x));
                    }
                }
            }
        }
        links
    }

    /// Cuts or restores `links`; a cut may open a failover window, a restore opens a recovery window.
    fn set_cuts(&mut self, links: &[(NodeId, NodeId)], cut: bool) {
        self.trace_action(if cut { "cut" } else { "restore" }, None, || {
            let pairs: Vec<String> = links.iter().map(|(a, b)| format!("{a}->{b}")).collect();
            pairs.join(" ")
        });
        let leader = self.current_leader();
        for &(x, y) in links {
            self.sim.network_mut().set_cut(x, y, cut);
        }
        if cut {
            self.after_cut(leader);
        } else {
            self.windows
                .push(Window::new(WindowKind::Recovery, self.sim.now(), Term(0)));
        }
    }

    /// An exponential draw with the given mean, from the trial's fault stream.
    fn exponential(&mut self, mean: Duration) -> Duration {
        let u = rng::unit_f64(&mut self.fault_rng);
        Duration::from_micros((-(1.0 - u).ln() * sim_core::micros(mean) as f64).round() as u64)
    }

    /// Schedules the random fault generators' first events.
    fn start_generators(&mut self) {
        if let Some(c) = self.s.churn.clone() {
            self.generators_active += 1;
            for i in 0..self.s.nodes {
                let at = SimTime::ZERO + c.start + self.exponential(c.mtbf);
                self.sim.schedule(
                    at,
                    DriverEvent::Churn {
                        node: NodeId::new(i),
                        crash: true,
                    },
                );
            }
            self.sim.schedule(SimTime::ZERO + c.stop, DriverEvent::ChurnStop);
        }
        if let Some(p) = self.s.random_partitions.clone() {
            self.generators_active += 1;
            let at = SimTime::ZERO + p.start + self.exponential(p.healed);
            self.sim.schedule(at, DriverEvent::RandomPartition { split: true });
            self.sim
                .schedule(SimTime::ZERO + p.stop, DriverEvent::RandomPartitionsStop);
        }
    }

    fn on_churn(&mut self, node: NodeId, crash: bool) {
        let Some(c) = self.s.churn.clone() else { return };
        if self.sim.now() >= SimTime::ZERO + c.stop {
            return;
        }
        if crash {
            let down = self.status.iter().filter(|s| s.is_none()).count();
            if !self.sim.is_up(node) {
                return; // crashed by the schedule; the schedule restarts it
            }
            if down >= c.max_down {
                // Too many down: this node stays up for another period.
                let at = self.sim.now() + self.exponential(c.mtbf);
                self.sim.schedule(at, DriverEvent::Churn { node, crash: true });
                return;
            }
            self.crash_nodes(&[node]);
            let at = self.sim.now() + self.exponential(c.mttr);
            self.sim.schedule(at, DriverEvent::Churn { node, crash: false });
        } else {
            self.restart_nodes(&[node]);
            let at = self.sim.now() + self.exponential(c.mtbf);
            self.sim.schedule(at, DriverEvent::Churn { node, crash: true });
        }
    }

    fn on_random_partition(&mut self, split: bool) {
        let Some(p) = self.s.random_partitions.clone() else {
            return;
        };
        if self.sim.now() >= SimTime::ZERO + p.stop {
            return;
        }
        let n = self.s.nodes;
        if split {
            let mut order: Vec<NodeId> = (0..n).map(NodeId::new).collect();
            // Fisher-Yates on the fault stream.
            for i in (1..n).rev() {
                let j = rng::uniform_inclusive(&mut self.fault_rng, 0, i as u64) as usize;
                order.swap(i, j);
            }
            let groups: Vec<Vec<NodeId>> = match p.mode {
                PartitionMode::Isolate => vec![vec![order[0]], order[1..].to_vec()],
                PartitionMode::Split => {
                    let k = rng::uniform_inclusive(&mut self.fault_rng, 1, ((n - 1) / 2).max(1) as u64) as usize;
                    vec![order[..k].to_vec(), order[k..].to_vec()]
                }
                PartitionMode::Random => {
                    let mut groups = vec![Vec::new(); 3];
                    for x in order {
                        groups[rng::uniform_inclusive(&mut self.fault_rng, 0, 2) as usize].push(x);
                    }
                    groups
                }
            };
            let leader = self.current_leader();
            self.sim.network_mut().partition(&groups);
            self.trace_action("partition", None, || format!("random, groups {}", groups_text(&groups)));
            self.after_cut(leader);
            let at = self.sim.now() + self.exponential(p.stable);
            self.sim.schedule(at, DriverEvent::RandomPartition { split: false });
        } else {
            self.heal_all();
            let at = self.sim.now() + self.exponential(p.healed);
            self.sim.schedule(at, DriverEvent::RandomPartition { split: true });
        }
    }

    /// The nodes a selector names right now, leaving out `taken`.
    fn select(&mut self, sel: Selector, taken: &[NodeId]) -> Vec<NodeId> {
        let n = self.s.nodes;
        let leader = self.current_leader().map(|(l, _)| l);
        let live = |d: &Self, i: usize| d.status[i].is_some();
        let mut out: Vec<NodeId> = match sel {
            Selector::Leader => leader.into_iter().collect(),
            Selector::Followers => (0..n)
                .filter(|&i| live(self, i))
                .map(NodeId::new)
                .filter(|&x| Some(x) != leader)
                .collect(),
            Selector::Follower => {
                let pool: Vec<NodeId> = (0..n)
                    .filter(|&i| live(self, i))
                    .map(NodeId::new)
                    .filter(|&x| Some(x) != leader && !taken.contains(&x))
                    .collect();
                if pool.is_empty() {
                    Vec::new()
                } else {
                    let k = rng::uniform_inclusive(&mut self.fault_rng, 0, pool.len() as u64 - 1) as usize;
                    vec![pool[k]]
                }
            }
            Selector::Crashed => (0..n).filter(|&i| !live(self, i)).map(NodeId::new).collect(),
            Selector::All => (0..n).map(NodeId::new).collect(),
            Selector::Node(i) => vec![NodeId::new(i as usize)],
            Selector::Others => Vec::new(),
            Selector::Random(k) => {
                let mut pool: Vec<NodeId> = (0..n)
                    .filter(|&i| live(self, i))
                    .map(NodeId::new)
                    .filter(|x| !taken.contains(x))
                    .collect();
                let mut out = Vec::new();
                while out.len() < k as usize && !pool.is_empty() {
                    let j = rng::uniform_inclusive(&mut self.fault_rng, 0, pool.len() as u64 - 1) as usize;
                    out.push(pool.remove(j));
                }
                out
            }
        };
        out.retain(|x| !taken.contains(x));
        out
    }
}

fn groups_text(groups: &[Vec<NodeId>]) -> String {
    let parts: Vec<String> = groups
        .iter()
        .map(|g| {
            let ids: Vec<String> = g.iter().map(|n| n.to_string()).collect();
            format!("[{}]", ids.join(" "))
        })
        .collect();
    parts.join(" ")
}

/// Message counts by kind, as (name, count) pairs in report order.
pub fn message_names() -> [&'static str; 4] {
    MessageKind::ALL.map(|k| k.name())
}
