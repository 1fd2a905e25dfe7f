//! The fault part of a trial: the scenario's fault schedule (crashes, restarts, partitions, cuts, flapping
//! links, each at a time, after the last fault, or once a leader has been stable for a while) and the random
//! fault generators (churn, random partitions).
//!
//! It acts on the [`Cluster`] and reports what it did as [`Fact`]s; it never looks at measurements.

use super::cluster::Cluster;
use super::{DriverEvent, Fact, Facts};
use crate::host::RaftHost;
use crate::scenario::{Action, PartitionMode, Scenario, Selector, Trigger};
use sim_core::rng::{self, Pcg64, streams};
use sim_core::{NodeId, SimTime};
use std::time::Duration;

/// The fault schedule and generators of one trial.
pub struct Faults {
    /// Jitter of scheduled faults.
    jitter_rng: Pcg64,
    /// Selectors that choose at random.
    select_rng: Pcg64,
    /// The churn generator.
    churn_rng: Pcg64,
    /// The random-partition generator.
    partition_rng: Pcg64,
    /// The next scheduled fault to fire.
    next_fault: usize,
    /// The next fault waits for a leader to exist before it is armed.
    waiting_for_leader: bool,
    /// Links of each flap fault fired so far.
    flaps: Vec<Vec<(NodeId, NodeId)>>,
    /// Flap faults still cycling.
    active_flaps: usize,
    /// Random fault generators that have not reached their stop time.
    generators_active: usize,
}

impl Faults {
    /// The faults of a trial seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Faults {
            jitter_rng: rng::named(seed, streams::FAULT_JITTER, 0),
            select_rng: rng::named(seed, streams::SELECTORS, 0),
            churn_rng: rng::named(seed, streams::CHURN, 0),
            partition_rng: rng::named(seed, streams::RANDOM_PARTITIONS, 0),
            next_fault: 0,
            waiting_for_leader: false,
            flaps: Vec::new(),
            active_flaps: 0,
            generators_active: 0,
        }
    }

    /// The faults of a trial seeded with `seed`, reusing this one's buffers.
    pub fn reset(&mut self, seed: u64) {
        let mut flaps = std::mem::take(&mut self.flaps);
        flaps.clear();
        *self = Faults {
            flaps,
            ..Faults::new(seed)
        };
    }

    /// Arms the first scheduled fault and starts the generators.
    pub fn start<P: RaftHost>(&mut self, s: &Scenario, c: &mut Cluster<P, DriverEvent>) {
        self.arm_next_fault(s, c);
        self.start_generators(s, c);
    }

    /// Every scheduled fault has fired, and every generator and flapping link has stopped.
    pub fn quiet(&self, s: &Scenario) -> bool {
        self.next_fault == s.faults.len() && self.generators_active == 0 && self.active_flaps == 0
    }

    /// A leader was elected: a fault waiting for one is armed now.
    pub fn on_leader_elected<P: RaftHost>(&mut self, s: &Scenario, c: &mut Cluster<P, DriverEvent>) {
        if self.waiting_for_leader {
            self.waiting_for_leader = false;
            self.arm_next_fault(s, c);
        }
    }

    /// Handles a fault event.
    pub fn on_event<P: RaftHost>(
        &mut self,
        ev: DriverEvent,
        s: &Scenario,
        c: &mut Cluster<P, DriverEvent>,
        facts: &mut Facts,
    ) {
        match ev {
            DriverEvent::Fault(i) => {
                debug_assert_eq!(i, self.next_fault);
                self.fire(i, s, c, facts);
            }
            DriverEvent::Flap {
                fault,
                flap,
                outage,
                down,
            } => {
                let Action::Flap { down: d, up, times, .. } = s.faults[fault].action else {
                    unreachable!("flap events come from flap faults")
                };
                let links = std::mem::take(&mut self.flaps[flap]);
                set_cuts(c, &links, !down, facts);
                self.flaps[flap] = links;
                if down && outage < times {
                    let ev = DriverEvent::Flap {
                        fault,
                        flap,
                        outage: outage + 1,
                        down: false,
                    };
                    c.sim.schedule(c.now() + up, ev);
                } else if !down {
                    let ev = DriverEvent::Flap {
                        fault,
                        flap,
                        outage,
                        down: true,
                    };
                    c.sim.schedule(c.now() + d, ev);
                } else {
                    self.active_flaps -= 1;
                }
            }
            DriverEvent::Churn { node, crash } => self.on_churn(node, crash, s, c, facts),
            DriverEvent::ChurnStop => {
                self.generators_active -= 1;
                let crashed: Vec<NodeId> = c.nodes().filter(|&x| !c.sim.is_up(x)).collect();
                if !crashed.is_empty() {
                    restart(c, &crashed, facts);
                }
            }
            DriverEvent::RandomPartition { split } => self.on_random_partition(split, s, c, facts),
            DriverEvent::RandomPartitionsStop => {
                self.generators_active -= 1;
                if c.sim.network().has_cuts() {
                    heal_all(c, facts);
                }
            }
            DriverEvent::StableCheck { fault, leader, term } => {
                if fault != self.next_fault {
                    return; // already fired through another check
                }
                let still = c
                    .status(leader)
                    .is_some_and(|st| st.role == raft_model::Role::Leader && st.term == term);
                if still {
                    self.fire(fault, s, c, facts);
                } else {
                    self.arm_next_fault(s, c);
                }
            }
            DriverEvent::ClientTick | DriverEvent::LivenessCheck { .. } => {
                unreachable!("not a fault event")
            }
        }
    }

    fn arm_next_fault<P: RaftHost>(&mut self, s: &Scenario, c: &mut Cluster<P, DriverEvent>) {
        let Some(fault) = s.faults.get(self.next_fault) else {
            return;
        };
        let now = c.now();
        let i = self.next_fault;
        if let Trigger::LeaderStableFor(_) = fault.trigger
            && c.current_leader().is_none()
        {
            self.waiting_for_leader = true;
            return;
        }
        // Drawn once per arming.
        let jitter = if fault.jitter.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_micros(rng::uniform_inclusive(
                &mut self.jitter_rng,
                0,
                sim_core::micros(fault.jitter),
            ))
        };
        match fault.trigger {
            Trigger::At(at) => c
                .sim
                .schedule((SimTime::ZERO + at).max(now) + jitter, DriverEvent::Fault(i)),
            Trigger::After(d) => c.sim.schedule(now + d + jitter, DriverEvent::Fault(i)),
            Trigger::LeaderStableFor(d) => {
                let (leader, term) = c.current_leader().expect("checked above");
                let at = (c.leader_since(leader) + d).max(now) + jitter;
                c.sim.schedule(at, DriverEvent::StableCheck { fault: i, leader, term });
            }
        }
    }

    fn fire<P: RaftHost>(&mut self, i: usize, s: &Scenario, c: &mut Cluster<P, DriverEvent>, facts: &mut Facts) {
        self.next_fault += 1;
        match &s.faults[i].action {
            Action::Crash(sel) => {
                let nodes = self.select(*sel, &[], c);
                crash(c, &nodes, facts);
            }
            Action::Restart(sel) => {
                let nodes = self.select(*sel, &[], c);
                restart(c, &nodes, facts);
            }
            Action::Partition(groups) => {
                let mut assigned: Vec<NodeId> = Vec::new();
                let mut resolved: Vec<Vec<NodeId>> = Vec::with_capacity(groups.len());
                // Named selectors first, so that `others` means "everyone not named elsewhere".
                for g in groups {
                    let mut members = Vec::new();
                    for &sel in g.iter().filter(|s| **s != Selector::Others) {
                        for node in self.select(sel, &assigned, c) {
                            assigned.push(node);
                            members.push(node);
                        }
                    }
                    resolved.push(members);
                }
                for (g, sels) in groups.iter().enumerate() {
                    if sels.contains(&Selector::Others) {
                        resolved[g].extend(c.nodes().filter(|n| !assigned.contains(n)));
                    }
                }
                partition(c, resolved, false, facts);
            }
            Action::HealAll => heal_all(c, facts),
            Action::TransferLeadership(sel) => {
                if let Some((leader, _)) = c.current_leader()
                    && let Some(&to) = self.select(*sel, &[leader], c).first()
                {
                    transfer(c, leader, to, facts);
                }
            }
            Action::StepDown(sel) => {
                let stopping = self.select(*sel, &[], c);
                if let Some((leader, _)) = c.current_leader()
                    && stopping.contains(&leader)
                    && let Some(to) = c.most_up_to_date(&stopping)
                {
                    transfer(c, leader, to, facts);
                }
            }
            Action::Cut { from, to, both_ways } => {
                let links = self.resolve_links(from, to, *both_ways, c);
                set_cuts(c, &links, true, facts);
            }
            Action::Flap {
                from,
                to,
                both_ways,
                down,
                ..
            } => {
                let links = self.resolve_links(from, to, *both_ways, c);
                set_cuts(c, &links, true, facts);
                self.flaps.push(links);
                self.active_flaps += 1;
                let flap = self.flaps.len() - 1;
                c.sim.schedule(
                    c.now() + *down,
                    DriverEvent::Flap {
                        fault: i,
                        flap,
                        outage: 1,
                        down: true,
                    },
                );
            }
        }
        self.arm_next_fault(s, c);
    }

    /// The directed links from every node `from` selects to every node `to` selects (and back).
    fn resolve_links<P: RaftHost>(
        &mut self,
        from: &[Selector],
        to: &[Selector],
        both_ways: bool,
        c: &Cluster<P, DriverEvent>,
    ) -> Vec<(NodeId, NodeId)> {
        let mut a = Vec::new();
        for &sel in from {
            for x in self.select(sel, &a, c) {
                a.push(x);
            }
        }
        let mut b = Vec::new();
        for &sel in to {
            for x in self.select(sel, &b, c) {
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

    /// Schedules the random fault generators' first events.
    fn start_generators<P: RaftHost>(&mut self, s: &Scenario, c: &mut Cluster<P, DriverEvent>) {
        if let Some(ch) = &s.churn {
            self.generators_active += 1;
            for node in c.nodes() {
                let at = SimTime::ZERO + ch.start + exponential(&mut self.churn_rng, ch.mtbf);
                c.sim.schedule(at, DriverEvent::Churn { node, crash: true });
            }
            c.sim.schedule(SimTime::ZERO + ch.stop, DriverEvent::ChurnStop);
        }
        if let Some(p) = &s.random_partitions {
            self.generators_active += 1;
            let at = SimTime::ZERO + p.start + exponential(&mut self.partition_rng, p.healed);
            c.sim.schedule(at, DriverEvent::RandomPartition { split: true });
            c.sim
                .schedule(SimTime::ZERO + p.stop, DriverEvent::RandomPartitionsStop);
        }
    }

    fn on_churn<P: RaftHost>(
        &mut self,
        node: NodeId,
        crash_it: bool,
        s: &Scenario,
        c: &mut Cluster<P, DriverEvent>,
        facts: &mut Facts,
    ) {
        let Some(ch) = &s.churn else { return };
        if c.now() >= SimTime::ZERO + ch.stop {
            return;
        }
        if crash_it {
            if !c.sim.is_up(node) {
                return; // crashed by the schedule; the schedule restarts it
            }
            if c.len() - c.live_count() >= ch.max_down {
                // Too many down: this node stays up for another period.
                let at = c.now() + exponential(&mut self.churn_rng, ch.mtbf);
                c.sim.schedule(at, DriverEvent::Churn { node, crash: true });
                return;
            }
            crash(c, &[node], facts);
            let at = c.now() + exponential(&mut self.churn_rng, ch.mttr);
            c.sim.schedule(at, DriverEvent::Churn { node, crash: false });
        } else {
            restart(c, &[node], facts);
            let at = c.now() + exponential(&mut self.churn_rng, ch.mtbf);
            c.sim.schedule(at, DriverEvent::Churn { node, crash: true });
        }
    }

    fn on_random_partition<P: RaftHost>(
        &mut self,
        split: bool,
        s: &Scenario,
        c: &mut Cluster<P, DriverEvent>,
        facts: &mut Facts,
    ) {
        let Some(p) = &s.random_partitions else {
            return;
        };
        if c.now() >= SimTime::ZERO + p.stop {
            return;
        }
        let n = c.len();
        if split {
            let mut order: Vec<NodeId> = c.nodes().collect();
            // Fisher-Yates.
            for i in (1..n).rev() {
                let j = rng::uniform_inclusive(&mut self.partition_rng, 0, i as u64) as usize;
                order.swap(i, j);
            }
            let groups: Vec<Vec<NodeId>> = match p.mode {
                PartitionMode::Isolate => vec![vec![order[0]], order[1..].to_vec()],
                PartitionMode::Split => {
                    let k = rng::uniform_inclusive(&mut self.partition_rng, 1, ((n - 1) / 2).max(1) as u64) as usize;
                    vec![order[..k].to_vec(), order[k..].to_vec()]
                }
                PartitionMode::Random => {
                    let mut groups = vec![Vec::new(); 3];
                    for x in order {
                        groups[rng::uniform_inclusive(&mut self.partition_rng, 0, 2) as usize].push(x);
                    }
                    groups
                }
            };
            partition(c, groups, true, facts);
            let at = c.now() + exponential(&mut self.partition_rng, p.stable);
            c.sim.schedule(at, DriverEvent::RandomPartition { split: false });
        } else {
            heal_all(c, facts);
            let at = c.now() + exponential(&mut self.partition_rng, p.healed);
            c.sim.schedule(at, DriverEvent::RandomPartition { split: true });
        }
    }

    /// The nodes a selector names right now, leaving out `taken`.
    fn select<P: RaftHost>(&mut self, sel: Selector, taken: &[NodeId], c: &Cluster<P, DriverEvent>) -> Selection {
        let leader = c.current_leader().map(|(l, _)| l);
        let live = || c.nodes().filter(|&x| c.is_live(x));
        let mut out: Selection = match sel {
            Selector::Leader => leader.into_iter().collect(),
            Selector::Followers => live().filter(|&x| Some(x) != leader).collect(),
            Selector::Follower => {
                let pool: Selection = live().filter(|&x| Some(x) != leader && !taken.contains(&x)).collect();
                if pool.is_empty() {
                    Selection::new()
                } else {
                    let k = rng::uniform_inclusive(&mut self.select_rng, 0, pool.len() as u64 - 1) as usize;
                    smallvec::smallvec![pool[k]]
                }
            }
            Selector::Crashed => c.nodes().filter(|&x| !c.is_live(x)).collect(),
            Selector::All => c.nodes().collect(),
            Selector::Node(i) => smallvec::smallvec![NodeId::new(i as usize)],
            Selector::Others => Selection::new(),
            Selector::Random(k) => {
                let mut pool: Selection = live().filter(|x| !taken.contains(x)).collect();
                let mut out = Selection::new();
                while out.len() < k as usize && !pool.is_empty() {
                    let j = rng::uniform_inclusive(&mut self.select_rng, 0, pool.len() as u64 - 1) as usize;
                    out.push(pool.remove(j));
                }
                out
            }
        };
        out.retain(|x| !taken.contains(x));
        out
    }
}

/// Nodes a selector chose: inline for clusters of up to eight, so that a fault allocates nothing.
type Selection = smallvec::SmallVec<[NodeId; 8]>;

/// An exponential draw with the given mean.
fn exponential(rng: &mut Pcg64, mean: Duration) -> Duration {
    let u = rng::unit_f64(rng);
    Duration::from_micros((-(1.0 - u).ln() * sim_core::micros(mean) as f64).round() as u64)
}

/// Crashes `nodes`; a failover starts if the leader was among them.
fn crash<P: RaftHost>(c: &mut Cluster<P, DriverEvent>, nodes: &[NodeId], facts: &mut Facts) {
    for &node in nodes {
        facts.trace(|| Fact::Crash {
            node,
            before: c.process(node).map(|p| (p.term(), p.role())),
        });
    }
    if let Some((_, term)) = c.crash(nodes) {
        facts.push(Fact::LeaderRemoved { term });
    }
}

/// Restarts the crashed nodes among `nodes` from what they persisted; a recovery starts.
fn restart<P: RaftHost>(c: &mut Cluster<P, DriverEvent>, nodes: &[NodeId], facts: &mut Facts) {
    for &node in nodes {
        if let Some((term, log_len)) = c.restart(node) {
            facts.push(Fact::Restarted { node, term, log_len });
        }
    }
    facts.push(Fact::Recovery);
}

/// Splits the network into `groups`; a failover starts if the leader lost its majority.
fn partition<P: RaftHost>(c: &mut Cluster<P, DriverEvent>, groups: Vec<Vec<NodeId>>, random: bool, facts: &mut Facts) {
    let removed = c.partition(&groups);
    facts.trace(|| Fact::Partitioned { groups, random });
    if let Some((_, term)) = removed {
        facts.push(Fact::LeaderRemoved { term });
    }
}

/// Cuts or restores `links`: a cut may start a failover, a restore starts a recovery.
fn set_cuts<P: RaftHost>(c: &mut Cluster<P, DriverEvent>, links: &[(NodeId, NodeId)], cut: bool, facts: &mut Facts) {
    facts.trace(|| Fact::Links {
        links: links.to_vec(),
        cut,
    });
    if let Some((_, term)) = c.set_cuts(links, cut) {
        facts.push(Fact::LeaderRemoved { term });
    }
    if !cut {
        facts.push(Fact::Recovery);
    }
}

/// `leader` hands leadership to `to`; the time until a new leader is elected is measured like a failover.
fn transfer<P: RaftHost>(c: &mut Cluster<P, DriverEvent>, leader: NodeId, to: NodeId, facts: &mut Facts) {
    let term = c.status(leader).map(|st| st.term).unwrap_or_default();
    if c.sim.call(leader, |p, ctx| p.transfer_leadership(ctx, to)) == Some(true) {
        facts.trace(|| Fact::Transfer { from: leader, to });
        facts.push(Fact::TransferStarted { term });
    }
}

/// Restores every link; a recovery starts.
fn heal_all<P: RaftHost>(c: &mut Cluster<P, DriverEvent>, facts: &mut Facts) {
    facts.trace(|| Fact::Healed);
    c.heal_all();
    facts.push(Fact::Recovery);
}
