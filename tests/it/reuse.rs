//! A worker builds each trial in the parts its last trial left (the engine, the processes, the observer's and
//! the checker's buffers). A trial built that way must be the trial built from scratch, whatever ran before it
//! on the worker: another scenario, another cluster size, another network, another node implementation.

use raftsim::scenario::{self, Scenario};
use raftsim::trial::{TrialResult, run_trial, trace_trial};

fn load(path: &str, sets: &[&str]) -> Scenario {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    scenario::load(std::path::Path::new(path), &sets).expect("scenario loads")
}

/// Every catalogue scenario, and two on raft-rs, in a fixed order.
fn mix() -> Vec<Scenario> {
    let mut files: Vec<_> = std::fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut mix: Vec<Scenario> = files.iter().map(|p| load(p.to_str().unwrap(), &[])).collect();
    mix.push(load("scenarios/leader-crash.yaml", &["raft.implementation=raft-rs"]));
    mix.push(load("scenarios/churn.yaml", &["raft.implementation=raft-rs"]));
    mix
}

/// Trial `i` of `s` on a thread of its own, which has run nothing before: built from scratch.
fn fresh(s: &Scenario, i: u64) -> TrialResult {
    std::thread::scope(|scope| scope.spawn(|| run_trial(s, i)).join().expect("the trial runs"))
}

#[test]
fn a_trial_built_in_reused_parts_is_the_trial_built_from_scratch() {
    let mix = mix();
    const TRIALS: u64 = 3;
    let expected: Vec<Vec<TrialResult>> = mix.iter().map(|s| (0..TRIALS).map(|i| fresh(s, i)).collect()).collect();
    // One thread runs them all, interleaved, so that each trial is built in what another scenario left: first
    // in catalogue order, then in reverse.
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                for i in 0..TRIALS {
                    let order: Vec<usize> = if i % 2 == 0 {
                        (0..mix.len()).collect()
                    } else {
                        (0..mix.len()).rev().collect()
                    };
                    for k in order {
                        let s = &mix[k];
                        assert_eq!(run_trial(s, i), expected[k][i as usize], "{} trial {i}", s.name);
                    }
                }
            })
            .join()
            .expect("every reused trial matches");
    });
}

#[test]
fn a_traced_trial_in_reused_parts_records_what_a_fresh_one_records() {
    let crash = load("scenarios/leader-crash.yaml", &[]);
    let partition = load("scenarios/partition.yaml", &[]);
    let fresh = std::thread::scope(|scope| scope.spawn(|| trace_trial(&crash, 5, None)).join().unwrap());
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                run_trial(&partition, 2);
                run_trial(&crash, 4);
                assert_eq!(trace_trial(&crash, 5, None), fresh);
                // And an untraced trial after a traced one is untraced again.
                assert_eq!(run_trial(&crash, 5), fresh.0);
            })
            .join()
            .unwrap();
    });
}
