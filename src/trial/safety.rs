//! The safety part of a trial: feeds what nodes report to the [`Checker`] and checks LogMatching over the live
//! nodes at each election and at the end.

use super::cluster::Cluster;
use crate::host::{RaftHost, rid};
use crate::invariants::{Checker, Violation, check_log_matching};
use raft_model::{Entry, LogIndex, Role, Status, Term};
use sim_core::{NodeId, SimTime};

/// Raft's safety properties, checked while a trial runs (when `enabled`).
pub struct Safety {
    checker: Checker,
    enabled: bool,
}

impl Safety {
    /// A checker that has seen nothing; `enabled: false` checks nothing.
    pub fn new(enabled: bool) -> Self {
        Safety {
            checker: Checker::new(),
            enabled,
        }
    }

    /// A checker that has seen nothing, reusing this one's buffers.
    pub fn reset(&mut self, enabled: bool) {
        self.checker.clear();
        self.enabled = enabled;
    }

    /// `node` reported `st` at `t`.
    pub fn on_status<P: RaftHost, X>(
        &mut self,
        c: &Cluster<P, X>,
        t: SimTime,
        node: NodeId,
        st: Status,
    ) -> Result<(), Violation> {
        if !self.enabled || st.role != Role::Leader {
            return Ok(());
        }
        let log = c.process(node).map_or(&[][..], |p| p.log());
        self.checker.on_status(t, rid(node), st, log)?;
        self.check_logs(c, t)
    }

    /// `node` applied `entry` at `index`, at `t`.
    pub fn on_applied<P: RaftHost, X>(
        &mut self,
        c: &Cluster<P, X>,
        t: SimTime,
        node: NodeId,
        index: LogIndex,
        entry: Entry,
    ) -> Result<(), Violation> {
        if !self.enabled {
            return Ok(());
        }
        let term = c.status(node).map_or(Term(0), |st| st.term);
        self.checker.on_apply(t, rid(node), term, index, entry)
    }

    /// `node` restarted: its state machine starts empty.
    pub fn on_restart(&mut self, node: NodeId) {
        self.checker.on_restart(rid(node));
    }

    /// LogMatching over every pair of live nodes.
    pub fn check_logs<P: RaftHost, X>(&self, c: &Cluster<P, X>, t: SimTime) -> Result<(), Violation> {
        if !self.enabled {
            return Ok(());
        }
        check_log_matching(t, &c.logs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::RaftProcess;
    use crate::invariants::Invariant;
    use raft_model::Persistent;

    /// The wiring from what nodes report to the checker: a correct node never gives it a violation to find, so
    /// an unsafe history is fed in by hand.
    #[test]
    fn two_leaders_reported_in_one_term_are_a_violation_when_checking_is_on() {
        let s = crate::scenario::load(std::path::Path::new("scenarios/leader-crash.yaml"), &[]).unwrap();
        let trial = super::super::Trial::<RaftProcess>::new(&s, 0, 1, false);
        let leader = |term| Status {
            role: Role::Leader,
            term: Term(term),
            leader: None,
        };
        let t = SimTime::from_micros(10);
        let mut on = Safety::new(true);
        on.on_status(&trial.cluster, t, NodeId::new(0), leader(3)).unwrap();
        let v = on.on_status(&trial.cluster, t, NodeId::new(1), leader(3)).unwrap_err();
        assert_eq!(v.invariant, Invariant::ElectionSafety);
        let mut off = Safety::new(false);
        off.on_status(&trial.cluster, t, NodeId::new(0), leader(3)).unwrap();
        off.on_status(&trial.cluster, t, NodeId::new(1), leader(3)).unwrap();
    }

    /// LogMatching over the live nodes' logs, on starting logs no run reaches (a scenario refuses them; the
    /// trial is built here past that check).
    #[test]
    fn logs_that_break_log_matching_are_a_violation_when_checking_is_on() {
        let mut s = crate::scenario::load(std::path::Path::new("scenarios/leader-crash.yaml"), &[]).unwrap();
        let e = |term, command| Entry {
            term: Term(term),
            command,
        };
        let log = |entries: Vec<Entry>| Persistent {
            current_term: Term(2),
            voted_for: None,
            log: entries,
        };
        // Both hold a term-2 entry at index 2, with different entries at index 1.
        s.initial = vec![log(vec![e(1, 1), e(2, 5)]), log(vec![e(1, 9), e(2, 5)])];
        s.initial.resize(s.nodes, log(Vec::new()));
        let trial = super::super::Trial::<RaftProcess>::new(&s, 0, 1, false);
        let t = SimTime::from_micros(10);
        let v = Safety::new(true).check_logs(&trial.cluster, t).unwrap_err();
        assert_eq!(v.invariant, Invariant::LogMatching);
        Safety::new(false).check_logs(&trial.cluster, t).unwrap();
    }
}
