//! raft-rs nodes skip idle ticks: a node's tick timer is armed only for the next tick that can do something,
//! and the ticks before it are applied when the node's next input comes. The run must be the one a timer armed
//! every tick gives, in every catalogue scenario (crashes, partitions, leadership transfers, a workload, slow
//! disks, clock error): only the engine's event count may differ.

use raftsim::raftrs::set_skip_idle_ticks;
use raftsim::scenario::{self, Scenario};
use raftsim::trial::{TrialResult, run_trial};

fn on_raft_rs(path: &str) -> Scenario {
    let sets = vec!["raft.implementation=raft-rs".to_string()];
    scenario::load(std::path::Path::new(path), &sets).expect("scenario loads")
}

/// Trials `0..trials` of `s`, on a thread of their own, ticking every tick or skipping idle ones.
fn trials(s: &Scenario, trials: u64, skip: bool) -> Vec<TrialResult> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                set_skip_idle_ticks(skip);
                (0..trials).map(|i| run_trial(s, i)).collect()
            })
            .join()
            .expect("the trials run")
    })
}

#[test]
fn skipping_idle_ticks_changes_nothing_but_the_event_count() {
    let mut files: Vec<_> = std::fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let (mut ticked, mut skipped) = (0, 0);
    for path in &files {
        let s = on_raft_rs(path.to_str().unwrap());
        let n = if s.nodes > 9 { 1 } else { 4 };
        let every = trials(&s, n, false);
        let skipping = trials(&s, n, true);
        for (mut a, mut b) in every.into_iter().zip(skipping) {
            ticked += a.events;
            skipped += b.events;
            a.events = 0;
            b.events = 0;
            assert_eq!(b, a, "{} trial {}", s.name, a.index);
        }
    }
    assert!(
        skipped * 2 < ticked,
        "skipping idle ticks processed {skipped} events against {ticked} ticking every tick"
    );
}
