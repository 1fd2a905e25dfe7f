//! The observer part of a trial: measurement windows (cluster start, each failover, each recovery), the counts
//! of elections (spurious or not) and disruptions, and the time the cluster had a working leader. It reads the
//! cluster and the facts the loop hands it; it never acts on the cluster.
//!
//! Definitions (README, "What is measured"):
//!
//! - **Rounds** of a window (the first failover, or the start window when nothing fails over): the distinct
//!   terms above the window's base term that some node campaigned in (became candidate or leader in) from the
//!   window's start until it converged (every live node the leader can reach follows it in its term), or until
//!   the trial stopped if it never converged. A first leader deposed at once and every election after it count.
//! - **Split votes**: of those rounds, the terms in which no node became leader.
//! - **Elections**: every time a node becomes candidate in a new term. `with_reachable_leader`: a live leader
//!   that reaches a majority of live nodes could exchange messages with the candidate then (spurious elections
//!   are these, except a leadership transfer's planned campaign); `without_reachable_leader`: the others.
//! - **Leader availability**: the fraction of the trial, from the first moment a leader was followed by a
//!   majority until the trial stopped, during which the live leader of the highest term was followed by a
//!   majority of the whole cluster: more than `n / 2` live nodes (itself included) that can exchange messages
//!   with it, are in its term and name it as their leader. Integrated exactly in virtual microseconds between
//!   status changes and faults.

use super::cluster::Cluster;
use super::{Samples, TrialResult};
use crate::host::RaftHost;
use crate::metric::Metric;
use raft_model::{Entry, Role, Status, Term};
use sim_core::{NodeId, SimTime};

/// Entries kept sorted by term, entries of one term in the order they were added: the observer's indices, flat
/// so that a worker reuses them from trial to trial without allocating.
type ByTerm<T> = Vec<(Term, T)>;

/// Adds `(term, value)` after every entry of a term up to `term`.
fn add<T>(list: &mut ByTerm<T>, term: Term, value: T) {
    let at = list.partition_point(|&(t, _)| t <= term);
    list.insert(at, (term, value));
}

/// How many entries (a prefix) have a term below `term`.
fn below<T>(list: &ByTerm<T>, term: Term) -> usize {
    list.partition_point(|&(t, _)| t < term)
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

/// A measurement window, open or closed.
#[derive(Clone, Debug)]
struct Window {
    kind: WindowKind,
    start: SimTime,
    /// Term of the leader the fault removed (or the highest term at start).
    base_term: Term,
    /// Whether rounds are counted over this window (the start window, and the first failover): its terms are
    /// in [`Observer::rounds_terms`].
    counts_rounds: bool,
    elected: Option<(SimTime, Term)>,
    converged: Option<SimTime>,
    /// First commit of an entry from a term after `base_term`.
    first_commit: Option<SimTime>,
    /// The removed leader got its majority back before any election.
    resumed: bool,
    /// Opened by a leadership transfer: the old leader keeps its majority throughout, so the window closes only
    /// when a new leader is elected.
    transfer: bool,
}

impl Window {
    fn new(kind: WindowKind, start: SimTime, base_term: Term) -> Self {
        Window {
            kind,
            start,
            base_term,
            counts_rounds: false,
            elected: None,
            converged: None,
            first_commit: None,
            resumed: false,
            transfer: false,
        }
    }
}

/// Measurements of one trial in progress.
///
/// Every window is kept (in the order opened, which is the order its samples are reported in), but only open
/// ones are looked at as the trial runs, and those through indices keyed by base term: an event touches only
/// the windows it changes (a window costs nothing once closed, and nothing while open either until its state
/// changes), so a trial's cost stays linear in its events however many faults it has. Windows changed are
/// counted in [`work`](Self::work), which the trial holds to its event limit with its events.
pub struct Observer {
    windows: Vec<Window>,
    /// Start and failover windows with no leader elected yet, by base term: a leader of a higher term elects
    /// every one below it at once.
    unelected: ByTerm<usize>,
    /// Of those, the transfer windows (an election under them is planned, not spurious).
    unelected_transfers: usize,
    /// Windows with a leader elected that have not converged, by base term: agreement in a higher term
    /// converges every one below it at once.
    elected: ByTerm<usize>,
    /// Recovery windows that have not converged (they all converge at the next agreement).
    open_recoveries: Vec<usize>,
    /// The windows rounds are counted over, while they are open (at most two).
    rounds_open: Vec<usize>,
    /// Failover windows with no first commit yet, by base term (an entry of a higher term is their first
    /// commit), and those whose old leader resumed (any entry is).
    awaiting_commit: ByTerm<usize>,
    awaiting_any_commit: Vec<usize>,
    /// Distinct terms campaigned in, and whether each elected a leader, for the start window (`[0]`) and the
    /// first failover window (`[1]`), until each converged.
    rounds_terms: [ByTerm<bool>; 2],
    /// Whether a failover window has opened.
    failover_opened: bool,
    /// Terms whose leader began handing over leadership.
    handed_over: Vec<Term>,
    /// Windows looked at so far.
    work: u64,
    spurious_elections: u32,
    /// Elections started, and those of them with a healthy leader reachable from the candidate.
    elections: (u32, u32),
    disruptions: u32,
    availability: Availability,
}

/// The time the cluster had a leader followed by a majority, kept up to date in O(1) per status change (a full
/// count only when the leader changes, and after faults, which change who is live and who reaches whom).
#[derive(Clone, Copy, Debug, Default)]
struct Availability {
    /// The live leader of the highest term.
    leader: Option<(NodeId, Term)>,
    /// Live nodes that can exchange messages with `leader`, are in its term and follow it (itself included).
    followers: usize,
    /// Whether `followers` is a majority of the whole cluster.
    up: bool,
    /// When the cluster first had a leader followed by a majority.
    first_up: Option<SimTime>,
    /// Until when `up_us` is integrated.
    last: SimTime,
    /// Time with a leader followed by a majority, microseconds.
    up_us: u64,
    /// Nodes looked at in full recounts.
    work: u64,
}

impl Availability {
    /// Integrates up to `t`.
    fn advance(&mut self, t: SimTime) {
        if t > self.last {
            if self.up {
                self.up_us += (t - self.last).as_micros() as u64;
            }
            self.last = t;
        }
    }

    /// Whether `node`, in status `st`, follows `leader`.
    fn follows<P: RaftHost, X>(c: &Cluster<P, X>, leader: (NodeId, Term), node: NodeId, st: Option<Status>) -> bool {
        st.is_some_and(|st| {
            st.term == leader.1
                && st.leader == Some(raft_model::NodeId(leader.0.index() as u32))
                && c.sim.network().connected(node, leader.0)
        })
    }

    /// Counts the leader's followers afresh (O(n)).
    fn recount<P: RaftHost, X>(&mut self, c: &Cluster<P, X>) {
        self.work += c.len() as u64;
        self.advance(c.now());
        self.leader = c.current_leader();
        self.followers = match self.leader {
            Some(l) => c.nodes().filter(|&j| Self::follows(c, l, j, c.status(j))).count(),
            None => 0,
        };
        self.update(c);
    }

    /// `node` reported `st` at `t`, replacing `before` (the cluster has recorded it).
    fn on_status<P: RaftHost, X>(
        &mut self,
        c: &Cluster<P, X>,
        t: SimTime,
        node: NodeId,
        before: Option<Status>,
        st: Status,
    ) {
        self.advance(t);
        match self.leader {
            // A new leader of a higher term, or the leader itself changed: count afresh.
            _ if st.role == Role::Leader && self.leader.is_none_or(|(_, term)| st.term > term) => self.recount(c),
            Some((l, _)) if l == node => self.recount(c),
            Some(l) => {
                self.followers -= usize::from(Self::follows(c, l, node, before));
                self.followers += usize::from(Self::follows(c, l, node, Some(st)));
                self.update(c);
            }
            None => {}
        }
    }

    fn update<P: RaftHost, X>(&mut self, c: &Cluster<P, X>) {
        self.up = self.leader.is_some() && self.followers > c.len() / 2;
        if self.up && self.first_up.is_none() {
            self.first_up = Some(self.last);
        }
    }
}

impl Observer {
    /// An observer whose start window opens at time zero, with `base_term` the highest term any node starts in.
    pub fn new(base_term: Term) -> Self {
        let mut o = Observer {
            windows: Vec::new(),
            unelected: Vec::new(),
            unelected_transfers: 0,
            elected: Vec::new(),
            open_recoveries: Vec::new(),
            rounds_open: Vec::new(),
            awaiting_commit: Vec::new(),
            awaiting_any_commit: Vec::new(),
            rounds_terms: [Vec::new(), Vec::new()],
            failover_opened: false,
            handed_over: Vec::new(),
            work: 0,
            spurious_elections: 0,
            elections: (0, 0),
            disruptions: 0,
            availability: Availability::default(),
        };
        o.reset(base_term);
        o
    }

    /// What [`new`](Self::new) builds, reusing this observer's buffers.
    pub fn reset(&mut self, base_term: Term) {
        let mut start = Window::new(WindowKind::Start, SimTime::ZERO, base_term);
        start.counts_rounds = true;
        self.windows.clear();
        self.windows.push(start);
        self.unelected.clear();
        self.unelected.push((base_term, 0));
        self.unelected_transfers = 0;
        self.elected.clear();
        self.open_recoveries.clear();
        self.rounds_open.clear();
        self.rounds_open.push(0);
        self.awaiting_commit.clear();
        self.awaiting_any_commit.clear();
        self.rounds_terms.iter_mut().for_each(Vec::clear);
        self.failover_opened = false;
        self.handed_over.clear();
        self.work = 0;
        self.spurious_elections = 0;
        self.elections = (0, 0);
        self.disruptions = 0;
        self.availability = Availability::default();
    }

    /// Windows looked at so far: the observer's share of a trial's work, held to `limits.max_events`.
    pub fn work(&self) -> u64 {
        self.work + self.availability.work
    }

    /// Opens `w`.
    fn open(&mut self, mut w: Window) {
        let i = self.windows.len();
        self.work += 1;
        match w.kind {
            WindowKind::Recovery => self.open_recoveries.push(i),
            WindowKind::Failover => {
                // Rounds are counted over the first failover.
                w.counts_rounds = !self.failover_opened;
                self.failover_opened = true;
                if w.counts_rounds {
                    self.rounds_open.push(i);
                }
                self.unelected_transfers += usize::from(w.transfer);
                add(&mut self.unelected, w.base_term, i);
                // Window indices grow, so this keeps each term's windows in index order.
                add(&mut self.awaiting_commit, w.base_term, i);
            }
            WindowKind::Start => unreachable!("the start window opens with the observer"),
        }
        self.windows.push(w);
    }

    /// Window `i` converged at `now`.
    fn converge(&mut self, i: usize, now: SimTime) {
        self.work += 1;
        self.windows[i].converged = Some(now);
        if self.windows[i].counts_rounds {
            self.rounds_open.retain(|&r| r != i);
        }
    }

    /// A fault removed the leader of `term` at `now`: a failover window opens.
    pub fn leader_removed(&mut self, now: SimTime, term: Term) {
        self.open(Window::new(WindowKind::Failover, now, term));
    }

    /// The leader of `term` began handing over leadership at `now`: a failover window opens that only an election
    /// closes.
    pub fn transfer_started(&mut self, now: SimTime, term: Term) {
        let mut w = Window::new(WindowKind::Failover, now, term);
        w.transfer = true;
        if let Err(at) = self.handed_over.binary_search(&term) {
            self.handed_over.insert(at, term);
        }
        self.open(w);
    }

    /// Something that may bring nodes back together happened at `now`: a recovery window opens.
    pub fn recovery(&mut self, now: SimTime) {
        self.open(Window::new(WindowKind::Recovery, now, Term(0)));
    }

    /// A fault may have changed who is live and who reaches whom: the leader's followers are counted afresh.
    pub fn faulted<P: RaftHost, X>(&mut self, c: &Cluster<P, X>) {
        self.availability.recount(c);
    }

    /// `node` reported `st` at `t` (the cluster has recorded it already); it replaced `before`.
    pub fn on_status<P: RaftHost, X>(
        &mut self,
        c: &Cluster<P, X>,
        t: SimTime,
        node: NodeId,
        before: Option<Status>,
        st: Status,
    ) {
        self.availability.on_status(c, t, node, before, st);
        // A stale leader (one that a newer leader already replaced, as after a partition heals) stepping down
        // is not a disruption.
        let newest = |b: &Status| {
            !c.statuses()
                .iter()
                .flatten()
                .any(|o| o.role == Role::Leader && o.term > b.term)
        };
        if before.is_some_and(|b| b.role == Role::Leader && newest(&b) && !self.handed_over(b.term))
            && st.role != Role::Leader
            && c.reaches_majority(node)
        {
            // A leader that could still reach a majority lost its leadership: something deposed it.
            self.disruptions += 1;
        }
        match st.role {
            Role::Leader => {
                // Elected while an older leader could still reach a majority: that leader is being replaced for
                // no reason (it steps down later, as a stale leader, so it is counted here instead).
                let replaced = c.nodes().filter(|&j| j != node).any(|j| {
                    c.status(j)
                        .is_some_and(|o| o.role == Role::Leader && o.term < st.term && !self.handed_over(o.term))
                        && c.reaches_majority(j)
                });
                if replaced {
                    self.disruptions += 1;
                }
                // Every open window below this term has its first leader now.
                let k = below(&self.unelected, st.term);
                self.work += k as u64;
                for j in 0..k {
                    let (base, i) = self.unelected[j];
                    let w = &mut self.windows[i];
                    w.elected = Some((t, st.term));
                    self.unelected_transfers -= usize::from(w.transfer);
                    add(&mut self.elected, base, i);
                }
                self.unelected.drain(..k);
                for &i in &self.rounds_open {
                    let w = &self.windows[i];
                    if st.term > w.base_term {
                        let terms = &mut self.rounds_terms[usize::from(w.kind == WindowKind::Failover)];
                        match terms.binary_search_by_key(&st.term, |&(t, _)| t) {
                            Ok(at) => terms[at].1 = true,
                            Err(at) => terms.insert(at, (st.term, true)),
                        }
                    }
                }
            }
            Role::Candidate => {
                // A transfer's successor campaigns under a healthy leader by design.
                let planned = self.unelected_transfers > 0;
                let reachable = c.healthy_leader_reaches(node);
                if !planned && reachable {
                    self.spurious_elections += 1;
                }
                if before.is_none_or(|b| b.role != Role::Candidate || b.term != st.term) {
                    self.elections.0 += 1;
                    self.elections.1 += u32::from(reachable);
                }
                for &i in &self.rounds_open {
                    let w = &self.windows[i];
                    if st.term > w.base_term {
                        let terms = &mut self.rounds_terms[usize::from(w.kind == WindowKind::Failover)];
                        if let Err(at) = terms.binary_search_by_key(&st.term, |&(t, _)| t) {
                            terms.insert(at, (st.term, false));
                        }
                    }
                }
            }
            Role::Follower | Role::PreCandidate => {}
        }
    }

    /// Whether the leader of `term` handed over leadership: its replacement was planned, not a disruption.
    fn handed_over(&self, term: Term) -> bool {
        self.handed_over.binary_search(&term).is_ok()
    }

    /// Some node applied `entry` at `t`. A leader's empty entry is not a client's write, so it does not end a
    /// client's outage.
    #[inline(always)] // once per node per committed entry: nearly always nothing awaits a commit
    pub fn on_applied(&mut self, t: SimTime, entry: Entry) {
        if entry.command == raft_model::NOOP_COMMAND || !self.awaits_commit() {
            return;
        }
        self.first_commit(t, entry);
    }

    /// Whether some window waits for a commit ([`on_applied`](Self::on_applied) does nothing otherwise).
    #[inline(always)]
    pub fn awaits_commit(&self) -> bool {
        !self.awaiting_commit.is_empty() || !self.awaiting_any_commit.is_empty()
    }

    #[inline(never)]
    fn first_commit(&mut self, t: SimTime, entry: Entry) {
        // The first commit of a new leader's entry; or, when the old leader resumed, of anything after that.
        let k = below(&self.awaiting_commit, entry.term);
        for (_, i) in self.awaiting_commit.drain(..k) {
            self.work += 1;
            self.windows[i].first_commit = Some(t);
        }
        for i in self.awaiting_any_commit.drain(..) {
            self.work += 1;
            self.windows[i].first_commit = Some(t);
        }
    }

    /// Closes the windows that the cluster's state now settles.
    pub fn check_windows<P: RaftHost, X>(&mut self, c: &Cluster<P, X>) {
        if self.unelected.is_empty() && self.elected.is_empty() && self.open_recoveries.is_empty() {
            return;
        }
        let Some(term) = c.agreed() else { return };
        let now = c.now();
        // A leader that lost its majority and got it back before anyone was elected (a short cut, a flap)
        // resumes: the window closes without an election to measure.
        let resumed = c
            .current_leader()
            .is_some_and(|(leader, t)| t == term && c.reaches_majority_of_all(leader));
        // Every recovery window converges now.
        for i in std::mem::take(&mut self.open_recoveries) {
            self.converge(i, now);
        }
        // Every window with a leader elected converges once the cluster agrees in a term above its base.
        let k = below(&self.elected, term);
        for j in 0..k {
            let i = self.elected[j].1;
            self.converge(i, now);
        }
        self.elected.drain(..k);
        if resumed {
            // Failovers (not the start window, not a transfer) whose leader came back without an election.
            let mut j = below(&self.unelected, term);
            while let Some(&(base, i)) = self.unelected.get(j)
                && base == term
            {
                let w = &self.windows[i];
                if w.kind != WindowKind::Failover || w.transfer {
                    j += 1;
                    continue;
                }
                self.unelected.remove(j);
                self.converge(i, now);
                self.windows[i].resumed = true;
                if let Ok(at) = self.awaiting_commit.binary_search(&(term, i)) {
                    self.awaiting_commit.remove(at);
                    self.awaiting_any_commit.push(i);
                }
            }
        }
    }

    /// Every window has closed (and, with a client workload, every failover saw a new entry commit).
    pub fn settled(&self, workload: bool) -> bool {
        self.unelected.is_empty()
            && self.elected.is_empty()
            && self.open_recoveries.is_empty()
            && (!workload || (self.awaiting_commit.is_empty() && self.awaiting_any_commit.is_empty()))
    }

    /// Writes what was measured into `r`, and the windows still open (`workload`: whether a client was running,
    /// so failovers were waiting for a new commit).
    pub fn finish(&self, r: &mut TrialResult, workload: bool) {
        r.spurious_elections = self.spurious_elections;
        r.elections = self.elections;
        r.disruptions = self.disruptions;
        let mut a = self.availability;
        a.advance(SimTime::from_micros(r.end_us));
        r.leader_availability = a.first_up.map(|first| (a.up_us, r.end_us - first.as_micros()));
        r.election_us = Samples::new();
        r.convergence_us = Samples::new();
        r.recovery_us = Samples::new();
        r.failover_commit_us = Samples::new();
        r.unmeasured = Vec::new();
        let since = |w: &Window, t: SimTime| (t - w.start).as_micros() as u64;
        let end = r.end_us;
        for w in &self.windows {
            let open = |m: Metric, done: bool| (!done).then(|| (m, end.saturating_sub(w.start.as_micros())));
            match w.kind {
                WindowKind::Start => {
                    r.first_leader_us = w.elected.map(|(t, _)| since(w, t));
                    r.unmeasured.extend(open(Metric::FirstLeader, w.elected.is_some()));
                }
                // Nobody was elected: only the client's outage is measured.
                WindowKind::Failover if w.resumed => r.failover_commit_us.extend(w.first_commit.map(|t| since(w, t))),
                WindowKind::Failover => {
                    r.election_us.extend(w.elected.map(|(t, _)| since(w, t)));
                    r.convergence_us.extend(w.converged.map(|t| since(w, t)));
                    r.failover_commit_us.extend(w.first_commit.map(|t| since(w, t)));
                    r.unmeasured.extend(open(Metric::Election, w.elected.is_some()));
                    r.unmeasured.extend(open(Metric::Convergence, w.converged.is_some()));
                }
                WindowKind::Recovery => {
                    r.recovery_us.extend(w.converged.map(|t| since(w, t)));
                    r.unmeasured.extend(open(Metric::Recovery, w.converged.is_some()));
                }
            }
            if workload && w.kind == WindowKind::Failover {
                r.unmeasured
                    .extend(open(Metric::FailoverCommit, w.first_commit.is_some()));
            }
        }
        // Rounds are counted for the first failover, or for the first election when nothing failed over.
        let rounds_window = self
            .windows
            .iter()
            .find(|w| w.kind == WindowKind::Failover)
            .or_else(|| self.windows.iter().find(|w| w.kind == WindowKind::Start));
        if let Some(w) = rounds_window
            && w.elected.is_some()
        {
            debug_assert!(w.counts_rounds);
            let terms = &self.rounds_terms[usize::from(w.kind == WindowKind::Failover)];
            // Distinct terms campaigned in until the window converged; those that elected nobody.
            r.rounds = terms.len().max(1) as u32;
            r.split_votes = terms.iter().filter(|&&(_, won)| !won).count() as u32;
        }
    }
}
