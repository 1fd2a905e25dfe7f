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
