//! Randomized soaks aimed at the classes of Raft bug that a run of ordinary scenarios does not reach: each
//! fixture in `tests/fixtures/` builds the histories one class needs, often, and the checker (with the
//! scenario's liveness budget) watches every trial. Trial counts are sized so that a node with a bug of the
//! class fails the test with high probability; the README's testing section lists which fixture catches what.
//! The long mode runs ten times as many trials: `cargo test --release --test it safety_net -- --ignored`.

use raftsim::scenario::{self, Scenario};
use raftsim::trial::{Outcome, run_trial};

fn load(path: &str) -> Scenario {
    scenario::load(std::path::Path::new(path), &[]).expect("fixture loads")
}

/// Runs the first `trials` trials of the fixture at `path`; fails at the first that is not clean, naming the
/// command that replays it.
fn soak(path: &str, trials: u64) {
    let s = load(path);
    for i in 0..trials {
        let r = run_trial(&s, i);
        if let Outcome::Violation { .. } | Outcome::Aborted { .. } = &r.outcome {
            panic!(
                "{path} trial {i}: {:?}\n  replay: raftsim run {path} --trial {i}",
                r.outcome
            );
        }
    }
}

/// Votes and terms that must survive a crash: colliding candidates on three nodes, churn, leaders crashed at
/// once, slow disks whose writes a crash loses, late messages (a candidate or voter that does not persist, or
/// persists only after it sends).
#[test]
fn votes_and_terms_survive_crashes() {
    soak("tests/fixtures/vote-persistence.yaml", 300);
}

/// Replies that arrive after their term: five nodes, split-heal partitions, churn and load, half the vote and
/// AppendEntries replies late (counting a stale vote, acting on a stale AppendEntries reply).
#[test]
fn replies_from_earlier_terms_change_nothing() {
    soak("tests/fixtures/stale-messages.yaml", 150);
}

/// The paper's Figure 8: isolate-heal partitions under load on three nodes (a leader committing an earlier
/// term's entry by counting replicas; and, through the liveness budget, replication that stops).
#[test]
fn no_entry_of_an_earlier_term_is_committed_by_counting() {
    soak("tests/fixtures/figure8.yaml", 60);
}

/// Ten times the trials of each soak.
mod long {
    use super::soak;

    #[test]
    #[ignore = "long mode: cargo test --release --test it safety_net -- --ignored"]
    fn votes_and_terms_survive_crashes() {
        soak("tests/fixtures/vote-persistence.yaml", 3000);
    }

    #[test]
    #[ignore = "long mode: cargo test --release --test it safety_net -- --ignored"]
    fn replies_from_earlier_terms_change_nothing() {
        soak("tests/fixtures/stale-messages.yaml", 1500);
    }

    #[test]
    #[ignore = "long mode: cargo test --release --test it safety_net -- --ignored"]
    fn no_entry_of_an_earlier_term_is_committed_by_counting() {
        soak("tests/fixtures/figure8.yaml", 600);
    }
}
