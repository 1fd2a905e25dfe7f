//! Liveness budgets: after the last fault, a single leader (and optionally applied entries) within a bound.

use raftsim::scenario::{self, Scenario};
use raftsim::trial::{Outcome, run_trial};

fn load(path: &str, sets: &[&str]) -> Scenario {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    scenario::load(std::path::Path::new(path), &sets).expect("scenario loads")
}

fn liveness_failures(s: &Scenario, trials: u64) -> Vec<String> {
    (0..trials)
        .filter_map(|i| match run_trial(s, i).outcome {
            Outcome::Violation { invariant, detail } => {
                assert_eq!(
                    invariant,
                    raftsim::invariants::Invariant::Liveness,
                    "trial {i}: {detail}"
                );
                Some(detail)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_cluster_that_recovers_meets_its_budget() {
    let s = load(
        "scenarios/leader-crash-load.yaml",
        &["liveness={leader_within: 2s, applied_within: 3s}"],
    );
    assert!(liveness_failures(&s, 100).is_empty());
}

#[test]
fn losing_the_majority_misses_the_leader_budget() {
    // Three of five crash at once; whenever the leader is among them nobody can be elected.
    let s = load(
        "scenarios/leader-crash.yaml",
        &[
            "faults=[{leader_stable_for: 1s, crash: leader}, {after: 0s, crash: follower}, {after: 0s, crash: follower}]",
            "liveness={leader_within: 2s}",
        ],
    );
    let failures = liveness_failures(&s, 50);
    assert_eq!(failures.len(), 50, "every trial loses its leader and its majority");
    assert!(failures[0].contains("no single leader within 2s"), "{}", failures[0]);
}

#[test]
fn a_node_left_behind_misses_the_applied_budget() {
    // A follower is isolated for good while a client keeps writing; the faults end 500 ms later (the second one
    // crashes the crashed nodes: none), by when the majority has committed entries the follower cannot apply.
    let s = load(
        "scenarios/leader-crash-load.yaml",
        &[
            "faults=[{leader_stable_for: 1s, isolate: follower}, {after: 500ms, crash: crashed}]",
            "liveness={leader_within: 1s, applied_within: 2s}",
        ],
    );
    let failures = liveness_failures(&s, 20);
    assert_eq!(failures.len(), 20);
    assert!(
        failures[0].contains("not every live node has applied"),
        "{}",
        failures[0]
    );
}

#[test]
fn without_a_budget_the_same_trials_only_count_as_not_converged() {
    let s = load(
        "scenarios/leader-crash.yaml",
        &[
            "faults=[{leader_stable_for: 1s, crash: leader}, {after: 0s, crash: follower}, {after: 0s, crash: follower}]",
            "time_limit=5s",
        ],
    );
    for i in 0..20 {
        assert_eq!(run_trial(&s, i).outcome, Outcome::NotConverged, "trial {i}");
    }
}
