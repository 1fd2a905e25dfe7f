//! Inputs that once broke the simulator, kept in tests/regress/ and run as they were found.

use raftsim::scenario;
use raftsim::trial::{Outcome, run_trial};

#[test]
fn duplicated_replies_do_not_multiply_replication_streams() {
    let s =
        scenario::load(std::path::Path::new("tests/regress/duplicate-reply-storm.yaml"), &[]).expect("scenario loads");
    for i in 0..3 {
        let r = run_trial(&s, i);
        assert!(
            !matches!(r.outcome, Outcome::Violation { .. } | Outcome::Aborted { .. }),
            "trial {i}: {:?}",
            r.outcome
        );
        // 20 s with 4 followers: about 2,200 heartbeats and 16,000 entries to send. Each entry goes out once per
        // follower (pipelined) and heartbeats carry retransmissions, so requests stay near that; before the fix
        // this trial queued over 2,000,000 messages within 4 s.
        let appends = r.messages[raft_model::MessageKind::AppendEntries];
        assert!(appends < 40_000, "trial {i}: {appends} AppendEntries in 20 s");
    }
}
