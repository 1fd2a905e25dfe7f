//! Reachable starting states only: `cluster.initial_logs` must be logs a run of Raft can leave, terms stay far
//! below the end of their range, and every node starts in a term consistent with the logs, so a correct node
//! can never be made to look unsafe by where it started.

use raftsim::scenario::{self, Scenario};
use raftsim::trial::{Outcome, run_trial};

fn try_load(path: &str, sets: &[&str]) -> Result<Scenario, String> {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    scenario::load(std::path::Path::new(path), &sets).map_err(|e| e.to_string())
}

fn with_logs(logs: &str) -> Result<Scenario, String> {
    try_load(
        "scenarios/leader-crash-load.yaml",
        &["cluster.nodes=3", &format!("cluster.initial_logs={logs}")],
    )
}

#[test]
fn logs_no_run_of_raft_leaves_are_refused_with_the_pair_that_contradicts() {
    for (logs, says) in [
        // Same index and term, different entries before it (the paper's Log Matching).
        (
            "[[1, 2, 2], [1, 1, 2]]",
            "differ at index 2 (term 2 on n0, term 1 on n1)",
        ),
        // Term 2 at index 1 on n0 means its leader had term 2 at index 1; n1's term-2 entry at index 2 says
        // otherwise.
        (
            "[[2], [1, 2]]",
            "n0 and n1 both hold entries of term 2 but differ at index 1",
        ),
        // The same, with the later entry starting a gap.
        (
            "[[1, 1, 3], [1, 1, 1, 1, 3]]",
            "differ at index 3 (term 3 on n0, term 1 on n1)",
        ),
    ] {
        let e = with_logs(logs).expect_err(logs);
        assert!(e.contains("`cluster.initial_logs.1`"), "{logs}: {e}");
        assert!(e.contains(says), "{logs}: {e}");
        assert!(e.contains("Log Matching"), "{logs}: {e}");
    }
    for logs in [
        "[[1, 2], [1, 3], [1]]",
        "[[1, 1, 2], [1, 1, 2, 2], [1]]",
        "[[1, 1], [1, 1], [1]]",
        "[[3, 3], [1, 2], []]",
    ] {
        with_logs(logs).unwrap_or_else(|e| panic!("{logs} is reachable: {e}"));
    }
}

#[test]
fn starting_terms_are_capped_far_below_the_end_of_their_range() {
    with_logs("[[4294967296]]").expect("2^32 is allowed");
    let e = with_logs("[[1, 4294967297]]").expect_err("above 2^32");
    assert!(e.contains("`cluster.initial_logs.0`"), "{e}");
    assert!(e.contains("above the highest starting term allowed, 4294967296"), "{e}");
}

#[test]
fn every_node_starts_in_the_highest_term_of_any_log() {
    let s = with_logs("[[1, 2], [1], []]").unwrap();
    for (i, p) in s.initial.iter().enumerate() {
        assert_eq!(p.current_term.0, 2, "n{i}");
        assert_eq!(p.voted_for, None, "n{i}");
    }
    assert_eq!(s.initial[0].log.len(), 2);
    assert_eq!(s.initial[2].log.len(), 0);
}

#[test]
fn a_correct_node_stays_safe_from_a_start_where_one_node_is_ahead() {
    // n0 holds an entry of term 2 that the others never received. If they started in term 1 (the term of
    // their own last entry), one of them could win term 2 and write another entry at index 2: a Log Matching
    // violation made by the start, not by the node. Starting everyone in term 2 makes the state reachable.
    let s = with_logs("[[1, 2], [1], [1]]").unwrap();
    for i in 0..200 {
        let r = run_trial(&s, i);
        assert!(
            !matches!(r.outcome, Outcome::Violation { .. }),
            "trial {i}: {:?}",
            r.outcome
        );
    }
}
