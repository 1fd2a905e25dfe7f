//! Raft's safety properties, checked while a trial runs.
//!
//! The checker sees what nodes report (status changes now; applied entries and logs as the model grows) and
//! says which property broke, with names from the Raft paper (Figure 3).

use raft_model::{NodeId, Role, Status, Term};
use sim_core::SimTime;
use std::collections::BTreeMap;

/// A broken safety property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The property, as named in the Raft paper: `ElectionSafety`, ...
    pub invariant: &'static str,
    /// What happened, with nodes, terms and the virtual time.
    pub detail: String,
}

/// Checks safety properties over the history of one trial.
#[derive(Clone, Debug, Default)]
pub struct Checker {
    /// ElectionSafety: the leader of each term seen so far.
    leaders_by_term: BTreeMap<Term, NodeId>,
}

impl Checker {
    /// A checker that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Observes `node` reporting `status` at `time`.
    ///
    /// Election Safety (section 5.2): at most one leader can be elected in a given term.
    pub fn on_status(&mut self, time: SimTime, node: NodeId, status: Status) -> Result<(), Violation> {
        if status.role != Role::Leader {
            return Ok(());
        }
        match self.leaders_by_term.get(&status.term) {
            Some(&other) if other != node => Err(Violation {
                invariant: "ElectionSafety",
                detail: format!(
                    "{other} and {node} were both elected leader in term {} (at {time})",
                    status.term.0
                ),
            }),
            Some(_) => Ok(()),
            None => {
                self.leaders_by_term.insert(status.term, node);
                Ok(())
            }
        }
    }

    /// The leader elected in `term`, if any was seen.
    pub fn leader_of(&self, term: Term) -> Option<NodeId> {
        self.leaders_by_term.get(&term).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(role: Role, term: u64) -> Status {
        Status {
            role,
            term: Term(term),
            leader: None,
        }
    }

    #[test]
    fn election_safety_fires_on_two_leaders_in_one_term() {
        let mut c = Checker::new();
        let t = SimTime::from_micros(1000);
        assert!(c.on_status(t, NodeId(0), st(Role::Candidate, 1)).is_ok());
        assert!(c.on_status(t, NodeId(0), st(Role::Leader, 1)).is_ok());
        let v = c.on_status(t, NodeId(2), st(Role::Leader, 1)).unwrap_err();
        assert_eq!(v.invariant, "ElectionSafety");
        assert!(v.detail.contains("n0 and n2"), "{}", v.detail);
    }

    #[test]
    fn election_safety_allows_one_leader_per_term_and_repeats() {
        let mut c = Checker::new();
        let t = SimTime::ZERO;
        for (node, term) in [(0, 1), (1, 2), (0, 3), (0, 3)] {
            c.on_status(t, NodeId(node), st(Role::Leader, term)).unwrap();
        }
        assert_eq!(c.leader_of(Term(2)), Some(NodeId(1)));
        // Followers and candidates in a term with a leader are fine.
        c.on_status(t, NodeId(2), st(Role::Follower, 3)).unwrap();
    }
}
