//! The cluster part of a trial: the engine and its Raft processes, what crashed nodes persisted, each live node's
//! latest status, message counts across incarnations, and the questions every other part asks about it (who
//! leads, who reaches whom).
//!
//! The lab-style [`harness`](crate::harness) drives the same part by hand.

use crate::host::{RaftHost, RaftNote};
use raft_model::{Config, Entry, LogIndex, MessageCounts, Role, Status, Term};
use sim_core::{Host, Network, NodeId, SimTime, Simulation};

/// A simulated Raft cluster, with driver events of type `X`.
pub struct Cluster<P: RaftHost, X> {
    /// The engine.
    pub sim: Simulation<P, X>,
    n: usize,
    config: Config,
    /// Latest status of each live node; `None` while crashed.
    status: Vec<Option<Status>>,
    /// The live nodes whose latest status is leader, in node order: few at any time, so that the current leader
    /// is found without reading every node's status (a 1,001-node election reports a thousand statuses).
    leaders: Vec<NodeId>,
    /// When each node last became leader.
    leader_since: Vec<SimTime>,
    /// Storage of crashed nodes.
    stable: Vec<P::Storage>,
    /// Messages sent by earlier incarnations of each node.
    sent_before: Vec<MessageCounts>,
    /// The driver's work on the cluster beyond the engine's events: links cut and restored, nodes crashed and
    /// restarted, counted so that a trial is held to its event limit however its faults are shaped.
    work: u64,
}

impl<P: RaftHost, X> Cluster<P, X> {
    /// `storage.len()` nodes with `config` on `network`, on machines `hosts` (ideal where absent), every random
    /// choice drawn from `seed`, each booted from its `storage`.
    pub fn new(
        network: Network,
        hosts: &[Host],
        seed: u64,
        config: Config,
        storage: Vec<P::Storage>,
        traced: bool,
    ) -> Self {
        let n = storage.len();
        let mut sim = Simulation::new(network, seed);
        if traced {
            sim.enable_trace();
        }
        for (i, host) in hosts.iter().enumerate() {
            if *host != Host::default() {
                sim.set_host(NodeId::new(i), host.clone());
            }
        }
        for (i, s) in storage.into_iter().enumerate() {
            sim.start(NodeId::new(i), P::boot(NodeId::new(i), n, &config, s));
        }
        Cluster {
            sim,
            n,
            config,
            status: vec![None; n],
            leaders: Vec::new(),
            leader_since: vec![SimTime::ZERO; n],
            stable: vec![P::Storage::default(); n],
            sent_before: vec![MessageCounts::default(); n],
            work: 0,
        }
    }

    /// Makes this cluster what [`new`](Self::new) builds, booting each node from `initial` (the persisted state
    /// of each, converted with [`RaftHost::storage_from`]), over `network` (or, with `None`, the same network
    /// with every link restored). The engine, the processes and every buffer are reused, so that a worker's
    /// trials after its first allocate nothing.
    pub fn reset(
        &mut self,
        network: Option<Network>,
        hosts: &[Host],
        seed: u64,
        config: &Config,
        initial: &[raft_model::Persistent],
        traced: bool,
    ) {
        // Each process stays in its node's slot, down, and boots again in place.
        self.sim.reset_keeping(network, seed);
        let n = initial.len();
        assert_eq!(n, self.sim.len(), "one starting state per node of the network");
        self.n = n;
        self.config.clone_from(config);
        if traced {
            self.sim.enable_trace();
        }
        for (i, host) in hosts.iter().enumerate() {
            if *host != Host::default() {
                self.sim.set_host(NodeId::new(i), host.clone());
            }
        }
        self.stable.resize_with(n, Default::default);
        for (i, persisted) in initial.iter().enumerate() {
            let id = NodeId::new(i);
            P::storage_from_into(persisted, n, &mut self.stable[i]);
            let stable = &mut self.stable[i];
            if !self.sim.restart_kept(id, |p| p.reboot(id, n, config, stable)) {
                self.sim.start(id, P::boot(id, n, config, stable.clone()));
            }
        }
        self.status.clear();
        self.status.resize(n, None);
        self.leaders.clear();
        self.leader_since.clear();
        self.leader_since.resize(n, SimTime::ZERO);
        self.sent_before.clear();
        self.sent_before.resize(n, MessageCounts::default());
        self.work = 0;
    }

    /// The driver's work on the cluster so far (see the field), in units comparable to events.
    pub fn work(&self) -> u64 {
        self.work
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the cluster has no nodes.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Virtual time now.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.sim.now()
    }

    /// The process of `node`, if it is up.
    #[inline]
    pub fn process(&self, node: NodeId) -> Option<&P> {
        self.sim.process(node)
    }

    /// The entries of the run `node` reported as `RaftNote::AppliedRun(first, len)`, taken (once, in order).
    #[inline]
    pub fn take_applied_run(&mut self, node: NodeId, first: LogIndex, len: usize) -> &[Entry] {
        self.sim
            .process_mut(node)
            .expect("a node that reported a run of applied entries keeps its process until it restarts")
            .take_applied_run(first, len)
    }

    /// Every node id.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + use<P, X> {
        (0..self.n).map(NodeId::new)
    }

    /// Records a status `node` reported at `t`; returns the one it replaces.
    pub fn record_status(&mut self, t: SimTime, node: NodeId, st: Status) -> Option<Status> {
        let at = self.leaders.binary_search(&node);
        if st.role == Role::Leader {
            self.leader_since[node.index()] = t;
            if let Err(at) = at {
                self.leaders.insert(at, node);
            }
        } else if let Ok(at) = at {
            self.leaders.remove(at);
        }
        self.status[node.index()].replace(st)
    }

    /// The latest status of `node`, if it is up.
    #[inline]
    pub fn status(&self, node: NodeId) -> Option<Status> {
        self.status[node.index()]
    }

    /// The term `node` last reported (0 while down, or before it reported any).
    #[inline]
    pub fn term_of(&self, node: NodeId) -> Term {
        self.status(node).map_or(Term(0), |st| st.term)
    }

    /// Latest statuses, by node (`None` while down).
    pub fn statuses(&self) -> &[Option<Status>] {
        &self.status
    }

    /// Whether `node` is up (has reported a status since it started).
    #[inline]
    pub fn is_live(&self, node: NodeId) -> bool {
        self.status[node.index()].is_some()
    }

    /// Live nodes now.
    pub fn live_count(&self) -> usize {
        self.status.iter().filter(|s| s.is_some()).count()
    }

    /// When `node` last became leader.
    pub fn leader_since(&self, node: NodeId) -> SimTime {
        self.leader_since[node.index()]
    }

    /// Crashes the live nodes among `nodes`, keeping what each had made durable (a write still within its
    /// persist latency is lost). Returns the leader (and its term) if it was among them.
    pub fn crash(&mut self, nodes: &[NodeId]) -> Option<(NodeId, Term)> {
        let leader = self.current_leader();
        let now = self.sim.now();
        self.work += nodes.len() as u64;
        for &node in nodes {
            // The process stays in the engine's slot, down, to be rebooted in place by a restart.
            if let Some(p) = self.sim.crash_keeping(node) {
                self.sent_before[node.index()].add(&p.messages());
                p.crash_into(now, &mut self.stable[node.index()]);
                self.status[node.index()] = None;
                if let Ok(at) = self.leaders.binary_search(&node) {
                    self.leaders.remove(at);
                }
            }
        }
        leader.filter(|(l, _)| nodes.contains(l))
    }

    /// Restarts `node` from what it persisted, if it is down. Returns the term and log length it restarted with.
    pub fn restart(&mut self, node: NodeId) -> Option<(Term, usize)> {
        if self.sim.is_up(node) {
            return None;
        }
        self.work += 1;
        let storage = &mut self.stable[node.index()];
        let summary = P::storage_summary(storage);
        let (n, config) = (self.n, &self.config);
        if !self.sim.restart_kept(node, |p| p.reboot(node, n, config, storage)) {
            self.sim.start(node, P::boot(node, n, config, storage.clone()));
        }
        Some(summary)
    }

    /// Cuts (or restores) the directed links `links`. Returns the leader (and its term) if a cut left it without
    /// a majority of the whole cluster.
    pub fn set_cuts(&mut self, links: &[(NodeId, NodeId)], cut: bool) -> Option<(NodeId, Term)> {
        let leader = self.current_leader();
        self.work += (links.len() + self.n) as u64;
        for &(x, y) in links {
            self.sim.network_mut().set_cut(x, y, cut);
        }
        if cut { self.lost_majority(leader) } else { None }
    }

    /// Splits the network into `groups`. Returns the leader (and its term) if it lost its majority.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) -> Option<(NodeId, Term)> {
        let leader = self.current_leader();
        self.work += (self.n * self.n) as u64;
        self.sim.network_mut().partition(groups);
        self.lost_majority(leader)
    }

    /// Restores every link.
    pub fn heal_all(&mut self) {
        self.work += (self.n * self.n) as u64;
        self.sim.network_mut().heal_all();
    }

    fn lost_majority(&self, leader: Option<(NodeId, Term)>) -> Option<(NodeId, Term)> {
        leader.filter(|&(l, _)| !self.reaches_majority_of_all(l))
    }

    /// Messages sent so far by every incarnation of every node.
    pub fn messages(&self) -> MessageCounts {
        let mut total = MessageCounts::default();
        for node in self.nodes() {
            total.add(&self.messages_of(node));
        }
        total
    }

    /// Messages sent so far by every incarnation of `node`.
    pub fn messages_of(&self, node: NodeId) -> MessageCounts {
        let mut total = self.sent_before[node.index()];
        if let Some(p) = self.sim.process(node) {
            total.add(&p.messages());
        }
        total
    }

    /// The live node leading in the highest term, with that term.
    pub fn current_leader(&self) -> Option<(NodeId, Term)> {
        let mut best: Option<(NodeId, Term)> = None;
        for &node in &self.leaders {
            let st = self.status[node.index()].expect("a leader is live");
            debug_assert_eq!(st.role, Role::Leader);
            // The first in node order among those of the highest term, as a scan of every node finds.
            if best.is_none_or(|(_, t)| st.term > t) {
                best = Some((node, st.term));
            }
        }
        best
    }

    /// Whether `node` can exchange messages with a majority of live nodes (itself included).
    pub fn reaches_majority(&self, node: NodeId) -> bool {
        let net = self.sim.network();
        let reach = (0..self.n)
            .filter(|&j| self.status[j].is_some() && net.connected(node, NodeId::new(j)))
            .count();
        reach > self.n / 2
    }

    /// Whether `node` can exchange messages with a majority of the whole cluster (itself included).
    pub fn reaches_majority_of_all(&self, node: NodeId) -> bool {
        let net = self.sim.network();
        let reach = (0..self.n).filter(|&j| net.connected(node, NodeId::new(j))).count();
        reach > self.n / 2
    }

    /// Whether a live leader that can reach a majority, and can exchange messages with `node`, exists: an election
    /// `node` starts then is spurious (caused by delay or loss, not by a fault).
    pub fn healthy_leader_reaches(&self, node: NodeId) -> bool {
        let Some((leader, _)) = self.current_leader() else {
            return false;
        };
        leader != node && self.sim.network().connected(leader, node) && self.reaches_majority(leader)
    }

    /// Whether every live node that can exchange messages with the current leader follows it in its term.
    pub fn agreed(&self) -> Option<Term> {
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

    /// The live node, outside `excluded`, with the longest log (the lowest id among equals): the successor a
    /// leader hands over to when it stops (etcd and hashicorp/raft pick the most caught-up one too).
    pub fn most_up_to_date(&self, excluded: &[NodeId]) -> Option<NodeId> {
        self.nodes()
            .filter(|x| !excluded.contains(x))
            .filter_map(|x| self.process(x).map(|p| (p.log().len(), x)))
            .max_by_key(|&(len, x)| (len, std::cmp::Reverse(x)))
            .map(|(_, x)| x)
    }

    /// The logs of every live node.
    pub fn logs(&self) -> smallvec::SmallVec<[(raft_model::NodeId, &[raft_model::Entry]); 8]> {
        (0..self.n)
            .filter_map(|i| {
                self.sim
                    .process(NodeId::new(i))
                    .map(|p| (raft_model::NodeId(i as u32), p.log()))
            })
            .collect()
    }

    /// Drains the notes processes left, in order, each run of applied entries ([`RaftNote::AppliedRun`]) as an
    /// [`RaftNote::Applied`] note for each of its entries.
    pub fn take_notes(&mut self) -> Vec<(SimTime, NodeId, RaftNote)> {
        let mut notes = Vec::new();
        self.take_notes_into(&mut notes);
        let mut out = Vec::with_capacity(notes.len());
        for (t, node, note) in notes {
            match note {
                RaftNote::AppliedRun(first, len) => {
                    let entries = self.take_applied_run(node, first, len as usize);
                    out.extend(
                        (first.0..)
                            .zip(entries)
                            .map(|(i, &entry)| (t, node, RaftNote::Applied(LogIndex(i), entry))),
                    );
                }
                note => out.push((t, node, note)),
            }
        }
        out
    }

    /// Moves the notes processes left, in order, to the end of `out` (a buffer reused from event to event).
    pub fn take_notes_into(&mut self, out: &mut Vec<(SimTime, NodeId, RaftNote)>) {
        self.sim.take_notes_into(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::RaftProcess;

    /// The leader found through the kept set of leaders is the one a scan of every node's status finds: the
    /// first in node order among the leaders of the highest term, through status changes and crashes.
    #[test]
    fn current_leader_is_the_scan_of_every_status() {
        let s = crate::scenario::load(
            std::path::Path::new("scenarios/leader-crash.yaml"),
            &["cluster.nodes=7".into()],
        )
        .unwrap();
        let mut trial = super::super::Trial::<RaftProcess>::new(&s, 0, 1, false);
        let c = &mut trial.cluster;
        let scan = |c: &Cluster<RaftProcess, crate::trial::DriverEvent>| {
            let mut best: Option<(NodeId, Term)> = None;
            for (i, st) in c.statuses().iter().enumerate() {
                if let Some(st) = st
                    && st.role == Role::Leader
                    && best.is_none_or(|(_, t)| st.term > t)
                {
                    best = Some((NodeId::new(i), st.term));
                }
            }
            best
        };
        let mut x: u64 = 7;
        let mut leaders_seen = 0;
        for step in 0..2_000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let node = NodeId::new((x >> 33) as usize % 7);
            if (x >> 20).is_multiple_of(10) {
                c.crash(&[node]);
            } else {
                let role = [Role::Follower, Role::Candidate, Role::Leader][(x >> 40) as usize % 3];
                let st = Status {
                    role,
                    term: Term((x >> 50) % 4),
                    leader: None,
                };
                c.record_status(SimTime::ZERO, node, st);
            }
            leaders_seen += usize::from(c.current_leader().is_some());
            assert_eq!(c.current_leader(), scan(c), "step {step}");
        }
        assert!(leaders_seen > 500, "the walk had leaders to find");
    }
}
