//! The fault schedule: triggers, jitter and selectors do what a scenario says.

use raftsim::scenario::{self, Scenario};
use raftsim::trial::{Outcome, run_trial};

fn load(path: &str, sets: &[&str]) -> Scenario {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    scenario::load(std::path::Path::new(path), &sets).expect("scenario loads")
}

#[test]
fn jitter_delays_a_fault_by_a_uniform_random_amount() {
    // A heal when nothing is cut settles at once, so the trial ends exactly when the fault fires.
    let s = load(
        "scenarios/cold-start.yaml",
        &["faults=[{at: 2s, jitter: 500ms, heal: all}]"],
    );
    let ends: Vec<u64> = (0..400).map(|i| run_trial(&s, i).end_us).collect();
    assert!(
        ends.iter().all(|&t| (2_000_000..=2_500_000).contains(&t)),
        "every fault within [at, at + jitter]"
    );
    let mean = ends.iter().sum::<u64>() as f64 / ends.len() as f64;
    // Uniform on [2.0, 2.5] s: mean 2.25 s, standard error 144 ms / sqrt(400) = 7 ms; allow 25 ms.
    assert!((mean - 2_250_000.0).abs() < 25_000.0, "mean {mean}");
    let without = load("scenarios/cold-start.yaml", &["faults=[{at: 2s, heal: all}]"]);
    assert!(
        (0..20).all(|i| run_trial(&without, i).end_us == 2_000_000),
        "no jitter, no delay"
    );
}

#[test]
fn leader_stable_for_waits_for_a_leader_and_crash_leader_removes_it() {
    let s = load("scenarios/leader-crash.yaml", &["faults.0.jitter=0ms", "trials=200"]);
    for i in 0..200 {
        let r = run_trial(&s, i);
        assert_eq!(r.outcome, Outcome::Converged);
        assert_eq!(r.election_us.len(), 1, "exactly one failover measured");
        // The survivors hear the old leader until the crash, so no new leader comes sooner than the minimum
        // election timeout less a heartbeat interval.
        assert!(r.election_us[0] >= 100_000, "trial {i}: {}", r.election_us[0]);
        assert!(r.convergence_us[0] >= r.election_us[0]);
    }
}

#[test]
fn isolating_a_follower_is_not_a_failover_but_isolating_the_leader_is() {
    let follower = load(
        "scenarios/partition.yaml",
        &["faults.0.partition=[[follower], [others]]", "trials=50"],
    );
    let leader = load("scenarios/partition.yaml", &["trials=50"]);
    for i in 0..50 {
        let f = run_trial(&follower, i);
        assert!(
            f.election_us.is_empty(),
            "a follower's isolation leaves the leader with a majority"
        );
        assert_eq!(f.recovery_us.len(), 1, "the heal is measured");
        let l = run_trial(&leader, i);
        assert_eq!(l.election_us.len(), 1);
        assert_eq!(l.recovery_us.len(), 1);
    }
}

#[test]
fn restart_brings_back_crashed_nodes_with_their_term() {
    let s = load(
        "scenarios/leader-crash.yaml",
        &[
            "faults=[{leader_stable_for: 1s, crash: leader}, {after: 2s, restart: crashed}]",
            "trials=100",
        ],
    );
    for i in 0..100 {
        let r = run_trial(&s, i);
        assert_eq!(r.outcome, Outcome::Converged, "trial {i}");
        assert_eq!(r.recovery_us.len(), 1, "the restart is measured");
    }
}
