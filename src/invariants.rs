//! Raft's safety properties (the paper's Figure 3), checked while a trial runs.
//!
//! The trial driver shows the checker what nodes report: status changes (with the new leader's log), applied
//! entries, restarts, and the logs of all live nodes at each election and at the end of the trial.
//!
//! - **ElectionSafety**: at most one leader is elected in a given term (section 5.2).
//! - **LogMatching**: if two logs hold an entry with the same index and term, the logs are identical in every
//!   entry up to that index (section 5.3).
//! - **LeaderCompleteness**: an entry committed in some term is in the log of every leader of a later term
//!   (section 5.4). A committed entry is one some node has applied; it was committed in the term the first
//!   node to apply it was in, or earlier, so it is required of every leader of a term above that one. (A
//!   leader of an older term can still be elected late, by votes that were long on the way, without entries
//!   committed since: Raft allows that, and it can commit nothing.)
//! - **StateMachineSafety**: no two nodes apply different entries at the same index (section 5.4.3).
//! - **ApplyOrder**: each node applies indices 1, 2, 3, ... with no gap and no repeat (from 1 again after a
//!   restart, whose state machine is volatile).

use raft_model::{Entry, LogIndex, NodeId, Role, Status, Term};
use sim_core::SimTime;

/// A property a trial must keep: Raft's safety properties, named as in the paper, and the checks raftsim adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Invariant {
    /// At most one leader per term (section 5.2).
    ElectionSafety,
    /// Logs that agree on an entry agree on everything before it (section 5.3).
    LogMatching,
    /// Every committed entry is in every later leader's log (section 5.4).
    LeaderCompleteness,
    /// No two nodes apply different entries at one index (section 5.4.3).
    StateMachineSafety,
    /// Each node applies indices 1, 2, 3, ... with no gap or repeat.
    ApplyOrder,
    /// A liveness budget (`liveness:` in the scenario) ran out.
    Liveness,
    /// An assertion inside the node or the simulator failed (a panic).
    Assertion,
}

impl Invariant {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Invariant::ElectionSafety => "ElectionSafety",
            Invariant::LogMatching => "LogMatching",
            Invariant::LeaderCompleteness => "LeaderCompleteness",
            Invariant::StateMachineSafety => "StateMachineSafety",
            Invariant::ApplyOrder => "ApplyOrder",
            Invariant::Liveness => "Liveness",
            Invariant::Assertion => "Assertion",
        }
    }
}

impl serde::Serialize for Invariant {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl std::fmt::Display for Invariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// A broken safety property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The property.
    pub invariant: Invariant,
    /// What happened, with nodes, terms and the virtual time.
    pub detail: String,
}

/// Checks safety properties over the history of one trial.
#[derive(Clone, Debug, Default)]
pub struct Checker {
    /// ElectionSafety: the leader of each term seen so far.
    leaders_by_term: Vec<(Term, NodeId)>,
    /// Committed entries by index (`committed[0]` has index 1), as first applied anywhere.
    committed: Vec<Entry>,
    /// For each committed entry, the term of the node that first applied it: it was committed in that term or
    /// an earlier one.
    committed_by: Vec<Term>,
    /// Last index each node applied since it (re)started.
    last_applied: Vec<LogIndex>,
}

impl Checker {
    /// A checker that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets everything seen, keeping the buffers.
    pub fn clear(&mut self) {
        self.leaders_by_term.clear();
        self.committed.clear();
        self.committed_by.clear();
        self.last_applied.clear();
    }

    /// Observes `node` reporting `status` at `time`; `log` is its log at that moment.
    pub fn on_status(&mut self, time: SimTime, node: NodeId, status: Status, log: &[Entry]) -> Result<(), Violation> {
        if status.role != Role::Leader {
            return Ok(());
        }
        let found = self.leaders_by_term.binary_search_by_key(&status.term, |&(t, _)| t);
        match found.map(|i| self.leaders_by_term[i].1) {
            Ok(other) if other != node => {
                return Err(Violation {
                    invariant: Invariant::ElectionSafety,
                    detail: format!(
                        "{other} and {node} were both elected leader in term {} (at {time})",
                        status.term.0
                    ),
                });
            }
            Ok(_) => {}
            Err(i) => self.leaders_by_term.insert(i, (status.term, node)),
        }
        for (k, (committed, by)) in self.committed.iter().zip(&self.committed_by).enumerate() {
            // Committed in term `by` or earlier: every leader of a later term holds it.
            if *by < status.term && log.get(k) != Some(committed) {
                return Err(Violation {
                    invariant: Invariant::LeaderCompleteness,
                    detail: format!(
                        "{node} became leader of term {} at {time} without committed entry {} (term {}, command {}); \
                         its log has {}",
                        status.term.0,
                        k + 1,
                        committed.term.0,
                        committed.command,
                        match log.get(k) {
                            Some(e) => format!("term {} command {} there", e.term.0, e.command),
                            None => format!("only {} entries", log.len()),
                        }
                    ),
                });
            }
        }
        Ok(())
    }

    /// Observes `node`, in term `term`, applying `entry` at `index`.
    #[inline(always)] // once per node per committed entry
    pub fn on_apply(
        &mut self,
        time: SimTime,
        node: NodeId,
        term: Term,
        index: LogIndex,
        entry: Entry,
    ) -> Result<(), Violation> {
        self.apply_run(time, node, term).apply(index, entry)
    }

    /// Entries `node`, in term `term`, applies in a row at `time`: [`ApplyRun::apply`] checks each as
    /// [`on_apply`](Self::on_apply) does, keeping the node's last applied index in a local while the run lasts.
    #[inline]
    pub fn apply_run(&mut self, time: SimTime, node: NodeId, term: Term) -> ApplyRun<'_> {
        let at = *self.last_applied_mut(node);
        ApplyRun {
            checker: self,
            time,
            node,
            term,
            at,
        }
    }

    #[inline(always)]
    fn last_applied_mut(&mut self, node: NodeId) -> &mut LogIndex {
        if self.last_applied.len() <= node.index() {
            self.last_applied.resize(node.index() + 1, LogIndex(0));
        }
        &mut self.last_applied[node.index()]
    }

    /// `node` restarted: its state machine starts empty and applies from index 1 again.
    pub fn on_restart(&mut self, node: NodeId) {
        if let Some(last) = self.last_applied.get_mut(node.index()) {
            *last = LogIndex(0);
        }
    }

    /// The leader elected in `term`, if any was seen.
    pub fn leader_of(&self, term: Term) -> Option<NodeId> {
        let i = self.leaders_by_term.binary_search_by_key(&term, |&(t, _)| t).ok()?;
        Some(self.leaders_by_term[i].1)
    }

    /// Entries known committed.
    pub fn committed(&self) -> &[Entry] {
        &self.committed
    }
}

/// A run of entries one node applies in a row ([`Checker::apply_run`]); the node's last applied index is
/// written back when the run is dropped.
pub struct ApplyRun<'a> {
    checker: &'a mut Checker,
    time: SimTime,
    node: NodeId,
    term: Term,
    at: LogIndex,
}

impl ApplyRun<'_> {
    /// What the node replays if it applies what was committed, in order: the index it applies next, and the
    /// entries committed from there on. Entries that match are accepted with [`replayed`](Self::replayed).
    #[inline(always)]
    pub fn expected(&self) -> (LogIndex, &[Entry]) {
        let next = self.at.0 + 1;
        (
            LogIndex(next),
            self.checker.committed.get(self.at.0 as usize..).unwrap_or_default(),
        )
    }

    /// The node applied the next `n` entries of [`expected`](Self::expected), as they were committed: each is what
    /// [`apply`](Self::apply) accepts.
    #[inline(always)]
    pub fn replayed(&mut self, n: usize) {
        debug_assert!(n <= self.expected().1.len());
        self.at.0 += n as u64;
    }

    /// The node applied `entry` at `index`: it must be the index after the last it applied (ApplyOrder) and, where
    /// some node applied an entry there before, that entry (StateMachineSafety).
    #[inline(always)]
    pub fn apply(&mut self, index: LogIndex, entry: Entry) -> Result<(), Violation> {
        let c = &mut *self.checker;
        // A replayed entry, the same as the one first applied there: the usual case of a run, checked first.
        if index.0 == self.at.0 + 1 && c.committed.get((index.0 - 1) as usize) == Some(&entry) {
            self.at = index;
            return Ok(());
        }
        self.check(index, entry)
    }

    /// The rules for one applied entry (after [`apply`](Self::apply)'s shortcut for a replay).
    #[inline(always)]
    fn check(&mut self, index: LogIndex, entry: Entry) -> Result<(), Violation> {
        let (node, time, last) = (self.node, self.time, &mut self.at);
        if index.0 != last.0 + 1 {
            return Err(Violation {
                invariant: Invariant::ApplyOrder,
                detail: format!("{node} applied index {} after index {} (at {time})", index.0, last.0),
            });
        }
        *last = index;
        let k = (index.0 - 1) as usize;
        let c = &mut *self.checker;
        match c.committed.get(k) {
            Some(e) if *e != entry => Err(Violation {
                invariant: Invariant::StateMachineSafety,
                detail: format!(
                    "{node} applied term {} command {} at index {}, where term {} command {} was applied before \
                     (at {time})",
                    entry.term.0, entry.command, index.0, e.term.0, e.command
                ),
            }),
            Some(_) => Ok(()),
            None => {
                debug_assert_eq!(k, c.committed.len(), "apply order checked above");
                c.committed.push(entry);
                c.committed_by.push(self.term);
                Ok(())
            }
        }
    }
}

impl Drop for ApplyRun<'_> {
    fn drop(&mut self) {
        self.checker.last_applied[self.node.index()] = self.at;
    }
}

/// LogMatching over every pair of `logs`: the first pair, in order, that holds an entry of the same index and term
/// in both but differs before it.
///
/// Each log is first compared once with a reference log (the longest): two logs agree wherever both agree with
/// it, so a pair compares only what lies past the shorter of their two agreements. The verdict and the report are
/// those of comparing every pair from index 1 (tested against that). In a healthy cluster the logs share one
/// history and differ only in short tails, so a pair compares little or nothing, and the check costs about the
/// logs' length plus a few steps a pair, instead of the pairs times the length: at every election of a 101-node
/// cluster under a client, the pairwise comparison was a quarter of the trial's work. (Logs that diverge early
/// from the reference, which only a broken node makes, fall back towards the pairwise cost.)
pub fn check_log_matching(time: SimTime, logs: &[(NodeId, &[Entry])]) -> Result<(), Violation> {
    // Each log's agreement with the reference, worked out when a pair first needs it (never while every pair's
    // shared prefix is short). Inline for up to 8 nodes, so a small cluster's check allocates nothing.
    let mut agreed: Option<smallvec::SmallVec<[usize; 8]>> = None;
    for (i, (a, la)) in logs.iter().enumerate() {
        for (off, (b, lb)) in logs[i + 1..].iter().enumerate() {
            // The highest index where both logs hold an entry of the same term...
            let common = la.len().min(lb.len());
            let Some(top) = (0..common).rev().find(|&k| la[k].term == lb[k].term) else {
                continue;
            };
            // ...must have identical prefixes up to it; below `equal`, both equal the reference. (A short prefix
            // is compared whole: cheaper than finding the agreements.)
            let equal = if top < SHORT_PREFIX {
                0
            } else {
                agreement(&mut agreed, logs, i, i + 1 + off)
            };
            if top < equal || la[equal..=top] == lb[equal..=top] {
                continue;
            }
            if let Some(k) = (equal..=top).find(|&k| la[k] != lb[k]) {
                return Err(log_matching_broken(time, (*a, la), (*b, lb), top, k));
            }
        }
    }
    Ok(())
}

/// The LogMatching violation of logs `a` and `b`: both hold an entry of the same term at `top` (0-based) and differ
/// at `k`, below it.
fn log_matching_broken(
    time: SimTime,
    (a, la): (NodeId, &[Entry]),
    (b, lb): (NodeId, &[Entry]),
    top: usize,
    k: usize,
) -> Violation {
    Violation {
        invariant: Invariant::LogMatching,
        detail: format!(
            "{a} and {b} both hold an entry of term {} at index {}, but differ at index {} \
             ({a}: term {} command {}, {b}: term {} command {}) (at {time})",
            la[top].term.0,
            top + 1,
            k + 1,
            la[k].term.0,
            la[k].command,
            lb[k].term.0,
            lb[k].command
        ),
    }
}

/// How far logs `i` and `j` both agree with the reference log (the longest), the agreements of all `logs` worked
/// out on the first call. Out of line: the pair loop around it stays small for the usual short logs.
#[inline(never)]
fn agreement(
    agreed: &mut Option<smallvec::SmallVec<[usize; 8]>>,
    logs: &[(NodeId, &[Entry])],
    i: usize,
    j: usize,
) -> usize {
    let agreed = agreed.get_or_insert_with(|| {
        let reference = logs.iter().map(|&(_, l)| l).max_by_key(|l| l.len()).unwrap_or_default();
        logs.iter().map(|(_, l)| common_prefix(l, reference)).collect()
    });
    agreed[i].min(agreed[j])
}

/// Prefixes of fewer entries than this are compared pair by pair in [`check_log_matching`].
const SHORT_PREFIX: usize = 32;

/// How many entries `a` and `b` have in common from the start (compared as slices first: usually all of the
/// shorter).
fn common_prefix(a: &[Entry], b: &[Entry]) -> usize {
    let m = a.len().min(b.len());
    if a[..m] == b[..m] {
        return m;
    }
    a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_name_each_invariant_as_the_paper_does() {
        // Reports, summary.json and replay commands carry these names; each is the variant's own.
        let all = [
            Invariant::ElectionSafety,
            Invariant::LogMatching,
            Invariant::LeaderCompleteness,
            Invariant::StateMachineSafety,
            Invariant::ApplyOrder,
            Invariant::Liveness,
            Invariant::Assertion,
        ];
        for i in all {
            assert_eq!(i.name(), format!("{i:?}"));
            assert_eq!(serde_json::to_string(&i).unwrap(), format!("\"{i:?}\""));
        }
    }

    fn st(role: Role, term: u64) -> Status {
        Status {
            role,
            term: Term(term),
            leader: None,
        }
    }

    fn e(term: u64, command: u64) -> Entry {
        Entry {
            term: Term(term),
            command,
        }
    }

    const T: SimTime = SimTime::ZERO;

    #[test]
    fn election_safety_fires_on_two_leaders_in_one_term() {
        let mut c = Checker::new();
        assert!(c.on_status(T, NodeId(0), st(Role::Candidate, 1), &[]).is_ok());
        assert!(c.on_status(T, NodeId(0), st(Role::Leader, 1), &[]).is_ok());
        let v = c.on_status(T, NodeId(2), st(Role::Leader, 1), &[]).unwrap_err();
        assert_eq!(v.invariant, Invariant::ElectionSafety);
        assert!(v.detail.contains("n0 and n2"), "{}", v.detail);
    }

    #[test]
    fn election_safety_allows_one_leader_per_term_and_repeats() {
        let mut c = Checker::new();
        for (node, term) in [(0, 1), (1, 2), (0, 3), (0, 3)] {
            c.on_status(T, NodeId(node), st(Role::Leader, term), &[]).unwrap();
        }
        assert_eq!(c.leader_of(Term(2)), Some(NodeId(1)));
        c.on_status(T, NodeId(2), st(Role::Follower, 3), &[]).unwrap();
    }

    #[test]
    fn state_machine_safety_fires_when_nodes_apply_different_entries() {
        let mut c = Checker::new();
        c.on_apply(T, NodeId(0), Term(1), LogIndex(1), e(1, 10)).unwrap();
        c.on_apply(T, NodeId(1), Term(1), LogIndex(1), e(1, 10)).unwrap();
        let v = c.on_apply(T, NodeId(2), Term(1), LogIndex(1), e(2, 99)).unwrap_err();
        assert_eq!(v.invariant, Invariant::StateMachineSafety);
    }

    #[test]
    fn apply_order_fires_on_gaps_and_repeats_but_not_after_a_restart() {
        let mut c = Checker::new();
        c.on_apply(T, NodeId(0), Term(1), LogIndex(1), e(1, 1)).unwrap();
        let v = c.on_apply(T, NodeId(0), Term(1), LogIndex(3), e(1, 3)).unwrap_err();
        assert_eq!(v.invariant, Invariant::ApplyOrder);
        let mut c = Checker::new();
        c.on_apply(T, NodeId(0), Term(1), LogIndex(1), e(1, 1)).unwrap();
        assert_eq!(
            c.on_apply(T, NodeId(0), Term(1), LogIndex(1), e(1, 1))
                .unwrap_err()
                .invariant,
            Invariant::ApplyOrder
        );
        c.on_restart(NodeId(0));
        c.on_apply(T, NodeId(0), Term(1), LogIndex(1), e(1, 1)).unwrap();
        c.on_apply(T, NodeId(0), Term(1), LogIndex(2), e(1, 2)).unwrap();
    }

    #[test]
    fn leader_completeness_fires_when_a_leader_lacks_a_committed_entry() {
        let mut c = Checker::new();
        c.on_apply(T, NodeId(0), Term(1), LogIndex(1), e(1, 7)).unwrap();
        c.on_apply(T, NodeId(0), Term(1), LogIndex(2), e(1, 8)).unwrap();
        c.on_status(T, NodeId(1), st(Role::Leader, 2), &[e(1, 7), e(1, 8), e(2, 9)])
            .unwrap();
        let v = c.on_status(T, NodeId(2), st(Role::Leader, 3), &[e(1, 7)]).unwrap_err();
        assert_eq!(v.invariant, Invariant::LeaderCompleteness);
        assert!(v.detail.contains("committed entry 2"), "{}", v.detail);
        let v = c
            .on_status(T, NodeId(3), st(Role::Leader, 4), &[e(1, 7), e(3, 8)])
            .unwrap_err();
        assert_eq!(v.invariant, Invariant::LeaderCompleteness);
    }

    #[test]
    fn leader_completeness_asks_only_leaders_of_later_terms() {
        // Entry 1 was first applied by a node in term 5: committed in term 5 or earlier.
        let mut c = Checker::new();
        c.on_apply(T, NodeId(0), Term(5), LogIndex(1), e(5, 7)).unwrap();
        // A leader of term 4 elected late (its votes were long on the way) need not hold it; one of term 5
        // need not either (it may be the very leader that committed it, after its election); one of term 6
        // must.
        c.on_status(T, NodeId(1), st(Role::Leader, 4), &[]).unwrap();
        c.on_status(T, NodeId(2), st(Role::Leader, 5), &[e(5, 7)]).unwrap();
        let v = c.on_status(T, NodeId(3), st(Role::Leader, 6), &[e(4, 1)]).unwrap_err();
        assert_eq!(v.invariant, Invariant::LeaderCompleteness);
    }

    #[test]
    fn log_matching_fires_when_equal_entries_have_different_prefixes() {
        let good_a = [e(1, 1), e(1, 2), e(2, 3)];
        let good_b = [e(1, 1), e(1, 2), e(3, 4), e(3, 5)];
        check_log_matching(T, &[(NodeId(0), &good_a), (NodeId(1), &good_b), (NodeId(2), &[])]).unwrap();
        // Same term at index 3, different command at index 2.
        let bad = [e(1, 1), e(1, 99), e(2, 3)];
        let v = check_log_matching(T, &[(NodeId(0), &good_a), (NodeId(1), &bad)]).unwrap_err();
        assert_eq!(v.invariant, Invariant::LogMatching);
        assert!(v.detail.contains("differ at index 2"), "{}", v.detail);
        // Same index and term, different command.
        let v = check_log_matching(T, &[(NodeId(0), &[e(1, 1)]), (NodeId(1), &[e(1, 2)])]).unwrap_err();
        assert_eq!(v.invariant, Invariant::LogMatching);
    }

    /// LogMatching as its definition reads: every pair compared from index 1 up to the highest index where both
    /// hold an entry of the same term.
    fn log_matching_pair_by_pair(time: SimTime, logs: &[(NodeId, &[Entry])]) -> Result<(), Violation> {
        for (i, (a, la)) in logs.iter().enumerate() {
            for (b, lb) in &logs[i + 1..] {
                let common = la.len().min(lb.len());
                let Some(top) = (0..common).rev().find(|&k| la[k].term == lb[k].term) else {
                    continue;
                };
                if let Some(k) = (0..=top).find(|&k| la[k] != lb[k]) {
                    return Err(log_matching_broken(time, (*a, la), (*b, lb), top, k));
                }
            }
        }
        Ok(())
    }

    /// The check through a reference log gives what comparing every pair gives, the same violation or none, on
    /// random clusters: logs sharing prefixes of one history, with tails of their own (a deposed leader's
    /// uncommitted entries), some with an entry changed anywhere (a broken node).
    #[test]
    fn log_matching_through_a_reference_log_judges_as_pair_by_pair() {
        use rand::{Rng, RngExt, SeedableRng};
        let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
        let (mut held, mut broken) = (0, 0);
        for round in 0..30_000 {
            let logs: Vec<Vec<Entry>> = if round % 3 == 2 {
                // A third of the clusters are adversarial: logs of random entries from a few terms, in no order,
                // with up to two entries changed each.
                (0..rng.random_range(1..6))
                    .map(|_| {
                        let len = rng.random_range(0..56);
                        let mut log: Vec<Entry> = (0..len)
                            .map(|_| e(rng.random_range(1..4), rng.random_range(0..2)))
                            .collect();
                        for _ in 0..rng.random_range(0..3) {
                            if !log.is_empty() {
                                let k = rng.random_range(0..log.len());
                                log[k] = e(rng.random_range(1..4), rng.random_range(0..2));
                            }
                        }
                        log
                    })
                    .collect()
            } else {
                let mut history = Vec::new();
                let mut term = 1;
                for _ in 0..rng.random_range(0..100) {
                    term += u64::from(rng.random_bool(0.05));
                    history.push(e(term, rng.random_range(0..4)));
                }
                (0..rng.random_range(1..8))
                    .map(|_| {
                        let mut log = history[..rng.random_range(0..=history.len())].to_vec();
                        let mut t = log.last().map_or(1, |x| x.term.0);
                        for _ in 0..rng.random_range(0..4) {
                            t += u64::from(rng.random_bool(0.5));
                            log.push(e(t, rng.random_range(0..4)));
                        }
                        if !log.is_empty() && rng.random_bool(0.1) {
                            let k = rng.random_range(0..log.len());
                            if rng.random_bool(0.5) {
                                log[k].command = rng.next_u64() % 4;
                            } else {
                                log[k].term = Term(rng.random_range(1..=t));
                            }
                        }
                        log
                    })
                    .collect()
            };
            let logs: Vec<(NodeId, &[Entry])> = logs
                .iter()
                .enumerate()
                .map(|(i, l)| (NodeId(i as u32), &l[..]))
                .collect();
            let want = log_matching_pair_by_pair(T, &logs);
            assert_eq!(check_log_matching(T, &logs), want, "{logs:?}");
            if want.is_ok() {
                held += 1;
            } else {
                broken += 1;
            }
        }
        // Both verdicts were exercised, often.
        assert!(held > 1_000 && broken > 1_000, "held {held}, broken {broken}");
    }
}
