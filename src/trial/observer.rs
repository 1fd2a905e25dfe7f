//! The observer part of a trial: measurement windows (cluster start, each failover, each recovery) and the
//! counts of spurious elections and disruptions. It reads the cluster and the facts the loop hands it; it never
//! acts on the cluster.

use super::cluster::Cluster;
use super::{Samples, TrialResult};
use crate::host::RaftHost;
use crate::metric::Metric;
use raft_model::{Entry, Role, Status, Term};
use sim_core::{NodeId, SimTime};

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
            campaign_terms: Vec::new(),
            elected: None,
            converged: None,
            first_commit: None,
            resumed: false,
            transfer: false,
        }
    }
}

/// Measurements of one trial in progress.
pub struct Observer {
    windows: Vec<Window>,
    spurious_elections: u32,
    disruptions: u32,
}

impl Observer {
    /// An observer whose start window opens at time zero, with `base_term` the highest term any node starts in.
    pub fn new(base_term: Term) -> Self {
        Observer {
            windows: vec![Window::new(WindowKind::Start, SimTime::ZERO, base_term)],
            spurious_elections: 0,
            disruptions: 0,
        }
    }

    /// A fault removed the leader of `term` at `now`: a failover window opens.
    pub fn leader_removed(&mut self, now: SimTime, term: Term) {
        self.windows.push(Window::new(WindowKind::Failover, now, term));
    }

    /// The leader of `term` began handing over leadership at `now`: a failover window opens that only an election
    /// closes.
    pub fn transfer_started(&mut self, now: SimTime, term: Term) {
        let mut w = Window::new(WindowKind::Failover, now, term);
        w.transfer = true;
        self.windows.push(w);
    }

    /// Something that may bring nodes back together happened at `now`: a recovery window opens.
    pub fn recovery(&mut self, now: SimTime) {
        self.windows.push(Window::new(WindowKind::Recovery, now, Term(0)));
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
                for w in &mut self.windows {
                    if w.kind != WindowKind::Recovery && w.elected.is_none() && st.term > w.base_term {
                        w.elected = Some((t, st.term));
                        if !w.campaign_terms.contains(&st.term) {
                            w.campaign_terms.push(st.term);
                        }
                    }
                }
            }
            Role::Candidate => {
                // A transfer's successor campaigns under a healthy leader by design.
                let planned = self.windows.iter().any(|w| w.transfer && w.elected.is_none());
                if !planned && c.healthy_leader_reaches(node) {
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
    }

    /// Whether the leader of `term` handed over leadership: its replacement was planned, not a disruption.
    fn handed_over(&self, term: Term) -> bool {
        self.windows.iter().any(|w| w.transfer && w.base_term == term)
    }

    /// Some node applied `entry` at `t`. A leader's empty entry is not a client's write, so it does not end a
    /// client's outage.
    pub fn on_applied(&mut self, t: SimTime, entry: Entry) {
        if entry.command == raft_model::NOOP_COMMAND {
            return;
        }
        for w in &mut self.windows {
            // The first commit of a new leader's entry; or, when the old leader resumed, of anything after that.
            let counts = entry.term > w.base_term || w.resumed;
            if w.kind == WindowKind::Failover && w.first_commit.is_none() && counts {
                w.first_commit = Some(t);
            }
        }
    }

    /// Closes the windows that the cluster's state now settles.
    pub fn check_windows<P: RaftHost, X>(&mut self, c: &Cluster<P, X>) {
        if self.windows.iter().all(|w| w.converged.is_some()) {
            return;
        }
        let Some(term) = c.agreed() else { return };
        let now = c.now();
        // A leader that lost its majority and got it back before anyone was elected (a short cut, a flap)
        // resumes: the window closes without an election to measure.
        let resumed = c
            .current_leader()
            .is_some_and(|(leader, t)| t == term && c.reaches_majority_of_all(leader));
        for w in &mut self.windows {
            if resumed && w.kind == WindowKind::Failover && !w.transfer && w.elected.is_none() && w.base_term == term {
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

    /// Every window has closed (and, with a client workload, every failover saw a new entry commit).
    pub fn settled(&self, workload: bool) -> bool {
        self.windows
            .iter()
            .all(|w| w.converged.is_some() && (!workload || w.kind != WindowKind::Failover || w.first_commit.is_some()))
    }

    /// Writes what was measured into `r`, and the windows still open (`workload`: whether a client was running,
    /// so failovers were waiting for a new commit).
    pub fn finish(&self, r: &mut TrialResult, workload: bool) {
        r.spurious_elections = self.spurious_elections;
        r.disruptions = self.disruptions;
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
            && let Some((_, term)) = w.elected
        {
            // Distinct terms campaigned in, up to and including the winner's.
            r.rounds = w.campaign_terms.iter().filter(|&&t| t <= term).count().max(1) as u32;
            r.split_votes = r.rounds - 1;
        }
    }
}
