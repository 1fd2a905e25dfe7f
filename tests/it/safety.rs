//! Trials under client load: entries commit, every node applies the same commands in order, and the checker
//! (which runs inside every trial) finds nothing.

use raftsim::scenario::{self, Scenario};
use raftsim::trace::TraceEvent;
use raftsim::trial::{Outcome, run_trial};

fn load(path: &str, sets: &[&str]) -> Scenario {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    scenario::load(std::path::Path::new(path), &sets).expect("scenario loads")
}

#[test]
fn commands_commit_and_a_new_leader_commits_after_a_crash() {
    let s = load("scenarios/leader-crash-load.yaml", &[]);
    for i in 0..100 {
        let r = run_trial(&s, i);
        assert_eq!(r.outcome, Outcome::Converged, "trial {i}");
        assert!(r.commit_us.len() > 50, "trial {i}: {} commits", r.commit_us.len());
        // Commit needs at least a round trip to a majority: two one-way delays of at least 2 ms.
        assert!(r.commit_us.iter().all(|&us| us >= 4_000), "trial {i}");
        assert_eq!(
            r.failover_commit_us.len(),
            1,
            "trial {i}: a new entry committed after the crash"
        );
        assert!(
            r.failover_commit_us[0] >= r.election_us[0],
            "trial {i}: no commit before a new leader"
        );
        assert!(r.commands.0 > 0);
    }
}

#[test]
fn lossy_network_with_crashes_and_restarts_keeps_every_invariant() {
    // Loss, reordering (latency spread), leader crashes and restarts, under load: the checker must stay silent.
    let s = load(
        "scenarios/leader-crash-load.yaml",
        &[
            "network.loss=0.05",
            "network.latency.uniform.max=30ms",
            "time_limit=120s",
            "faults=[{leader_stable_for: 500ms, crash: leader}, {after: 300ms, crash: follower}, \
             {after: 1s, restart: crashed}, {leader_stable_for: 500ms, crash: leader}, {after: 2s, restart: all}]",
        ],
    );
    let mut checked = 0;
    for i in 0..200 {
        let r = run_trial(&s, i);
        assert!(
            !matches!(r.outcome, Outcome::Violation { .. }),
            "trial {i}: {:?}",
            r.outcome
        );
        checked += r.commit_us.len();
    }
    assert!(checked > 10_000, "enough commits were checked: {checked}");
}

#[test]
fn the_checker_does_not_change_what_is_measured() {
    let on = load("scenarios/leader-crash-load.yaml", &[]);
    let off = load("scenarios/leader-crash-load.yaml", &["invariants=false"]);
    for i in 0..50 {
        assert_eq!(run_trial(&on, i), run_trial(&off, i), "trial {i}");
    }
}

/// A traced trial hands the driver each applied entry on its own; an untraced one hands a restarted node's
/// replay of its log as one run. The results must be the same, on the model node and on raft-rs.
#[test]
fn a_replayed_log_is_observed_as_entry_by_entry() {
    for s in [
        load("scenarios/churn.yaml", &["time_limit=20s", "churn.stop=12s"]),
        load(
            "scenarios/churn.yaml",
            &["time_limit=20s", "churn.stop=12s", "raft.implementation=raft-rs"],
        ),
    ] {
        // Entries a node applied at one time after another (the untraced trial takes them as a run).
        let mut in_runs = 0;
        for i in 0..3 {
            let (traced, lines) = raftsim::trial::trace_trial(&s, i, None);
            assert_eq!(run_trial(&s, i), traced, "trial {i}");
            let applied: Vec<_> = lines
                .iter()
                .filter(|l| l.event == TraceEvent::Apply)
                .map(|l| (l.t_us, l.node))
                .collect();
            in_runs += applied.windows(2).filter(|w| w[0] == w[1]).count();
        }
        assert!(
            in_runs > 100,
            "restarted nodes replayed their logs: {in_runs} entries in runs"
        );
    }
}
