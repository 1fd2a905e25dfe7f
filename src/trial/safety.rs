//! The safety part of a trial: feeds what nodes report to the [`Checker`] and checks LogMatching over the live
//! nodes at each election and at the end.

use super::cluster::Cluster;
use crate::host::{RaftHost, RaftNote, rid};
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
        self.on_applied_with_term(c.term_of(node), t, node, index, entry)
    }

    /// [`on_applied`](Self::on_applied) for a node whose term is `term`.
    #[inline]
    pub fn on_applied_with_term(
        &mut self,
        term: Term,
        t: SimTime,
        node: NodeId,
        index: LogIndex,
        entry: Entry,
    ) -> Result<(), Violation> {
        if !self.enabled {
            return Ok(());
        }
        self.checker.on_apply(t, rid(node), term, index, entry)
    }

    /// `entries`, which `node` (in term `term`) applied at `t` in a row from index `first` on, each checked as
    /// [`on_applied`](Self::on_applied) checks it: how many there were up to and including the first that breaks
    /// an invariant (all of them if none does), and the violation.
    #[inline]
    pub fn on_applied_entries(
        &mut self,
        term: Term,
        t: SimTime,
        node: NodeId,
        first: LogIndex,
        entries: &[Entry],
    ) -> (usize, Result<(), Violation>) {
        if !self.enabled {
            return (entries.len(), Ok(()));
        }
        self.check_run(
            term,
            t,
            node,
            |next, expected| {
                if first == next {
                    entries.iter().zip(expected).take_while(|(e, x)| e == x).count()
                } else {
                    0
                }
            },
            |len| {
                (first.0 + len as u64..)
                    .zip(&entries[len..])
                    .map(|(i, &entry)| (LogIndex(i), entry))
            },
        )
    }

    /// The entries `node` applied at `t` in a row from the first of `notes` on (a restarted node replays its whole
    /// log in one step), each checked as [`on_applied`](Self::on_applied) checks it: how many there were (up to
    /// and including the first that breaks an invariant), and the violation.
    #[inline]
    pub fn on_applied_run<P: RaftHost, X>(
        &mut self,
        c: &Cluster<P, X>,
        t: SimTime,
        node: NodeId,
        notes: &[(SimTime, NodeId, RaftNote)],
    ) -> (usize, Result<(), Violation>) {
        let is_run = |n: &(SimTime, NodeId, RaftNote)| super::applied_by(n, t, node);
        if !self.enabled {
            return (notes.iter().take_while(|n| is_run(n)).count(), Ok(()));
        }
        self.check_run(
            c.term_of(node),
            t,
            node,
            // A tight loop, no calls.
            |next, expected| {
                (notes.iter().zip(expected).zip(next.0..))
                    .take_while(|&((&note, &e), index)| note == (t, node, RaftNote::Applied(LogIndex(index), e)))
                    .count()
            },
            |len| {
                notes[len..].iter().take_while(move |n| is_run(n)).map(|&(_, _, note)| {
                    let RaftNote::Applied(index, entry) = note else {
                        unreachable!("a run holds applied entries")
                    };
                    (index, entry)
                })
            },
        )
    }

    /// A run's check, both forms: `replayed` counts the run's first entries that are the entries committed
    /// from the node's next index on (given both), the usual run, accepted at once; `rest` gives the entries
    /// after that many, each judged by the one-entry rules. How many entries were judged (up to and including the
    /// first that breaks an invariant), and the violation.
    #[inline(always)]
    fn check_run<I: Iterator<Item = (LogIndex, Entry)>>(
        &mut self,
        term: Term,
        t: SimTime,
        node: NodeId,
        replayed: impl FnOnce(LogIndex, &[Entry]) -> usize,
        rest: impl FnOnce(usize) -> I,
    ) -> (usize, Result<(), Violation>) {
        let mut checker = self.checker.apply_run(t, rid(node), term);
        let (next, expected) = checker.expected();
        let mut len = replayed(next, expected);
        checker.replayed(len);
        for (index, entry) in rest(len) {
            len += 1;
            if let Err(v) = checker.apply(index, entry) {
                return (len, Err(v));
            }
        }
        (len, Ok(()))
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

    /// A run of applied entries is checked as the same entries one by one: the same violation, found at the
    /// same entry, and the checker left in the same state (it goes on to judge the next entry alike).
    #[test]
    fn a_run_of_applied_entries_is_checked_as_entry_by_entry() {
        let s = crate::scenario::load(std::path::Path::new("scenarios/leader-crash.yaml"), &[]).unwrap();
        let trial = super::super::Trial::<RaftProcess>::new(&s, 0, 1, false);
        let c = &trial.cluster;
        let t = SimTime::from_micros(10);
        let e = |term, command| Entry {
            term: Term(term),
            command,
        };
        let applied = |node: usize, from: u64, entries: &[Entry]| -> Vec<(SimTime, NodeId, RaftNote)> {
            let node = NodeId::new(node);
            (from..)
                .zip(entries)
                .map(|(i, &entry)| (t, node, RaftNote::Applied(LogIndex(i), entry)))
                .collect()
        };
        let log = [e(1, 1), e(1, 2), e(2, 3), e(2, 4)];
        let runs = [
            // Node 0 applies 1..=4; node 1 replays them (clean), then a different entry at 3; node 2 skips 2.
            applied(0, 1, &log),
            applied(1, 1, &log),
            applied(1, 1, &[e(1, 1), e(1, 2), e(2, 9), e(2, 4)]),
            applied(2, 1, &[e(1, 1)]),
            applied(2, 3, &[e(2, 3), e(2, 4)]),
            applied(2, 2, &[e(1, 2), e(2, 3)]),
        ];
        let mut one_by_one = Safety::new(true);
        let mut in_runs = Safety::new(true);
        let mut in_slices = Safety::new(true);
        let mut found = Vec::new();
        for (k, run) in runs.iter().enumerate() {
            let node = run[0].1;
            if k == 2 {
                one_by_one.on_restart(node);
                in_runs.on_restart(node);
                in_slices.on_restart(node);
            }
            let mut expected = (run.len(), Ok(()));
            for (j, &(_, _, note)) in run.iter().enumerate() {
                let RaftNote::Applied(index, entry) = note else {
                    unreachable!()
                };
                if let Err(v) = one_by_one.on_applied(c, t, node, index, entry) {
                    expected = (j + 1, Err(v));
                    break;
                }
            }
            let got = in_runs.on_applied_run(c, t, node, run);
            assert_eq!(got, expected, "run {k}");
            // The same run as a process reports it in one note ([`RaftNote::AppliedRun`]): its first index and
            // its entries.
            let RaftNote::Applied(first, _) = run[0].2 else {
                unreachable!()
            };
            let entries: Vec<Entry> = run
                .iter()
                .map(|&(_, _, note)| match note {
                    RaftNote::Applied(_, entry) => entry,
                    _ => unreachable!(),
                })
                .collect();
            let term = c.term_of(node);
            assert_eq!(
                in_slices.on_applied_entries(term, t, node, first, &entries),
                expected,
                "run {k} as one note"
            );
            found.push((got.0, got.1.err().map(|v| v.invariant)));
        }
        // The two violations planted above are found where they are, and the checker goes on after each.
        assert_eq!(
            found,
            [
                (4, None),
                (4, None),
                (3, Some(Invariant::StateMachineSafety)),
                (1, None),
                (1, Some(Invariant::ApplyOrder)),
                (2, None)
            ]
        );
        assert_eq!(
            Safety::new(false).on_applied_run(c, t, NodeId::new(1), &runs[2]),
            (4, Ok(()))
        );
        let entries = [e(1, 1), e(1, 2), e(2, 9), e(2, 4)];
        assert_eq!(
            Safety::new(false).on_applied_entries(Term(0), t, NodeId::new(1), LogIndex(1), &entries),
            (4, Ok(()))
        );
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
