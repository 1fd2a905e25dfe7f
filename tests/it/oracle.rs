//! The real library as the oracle: the model under raft-rs's timers and tikv's raft-rs itself
//! (`raft.implementation: raft-rs`) run the same scenarios on the same trial seeds, and their distributions must
//! agree (two-sample Kolmogorov-Smirnov statistic below its 0.1 % critical value).
//!
//! CI runs a few hundred trials per side; the long mode (`cargo test --release --test it oracle -- --ignored`)
//! runs 20,000 and prints each statistic.
//!
//! The model runs `profile: raft-rs` (raft-rs's tick timers, its answers to older-term messages, its lease under
//! check-quorum, the new leader's empty entry, the candidate's step-down on a majority of refusals). Compared:
//! leader failover at three tick lengths and cold start (distributions), and healthy leaders deposed by a partial
//! partition and by a rejoining node under each combination of pre-vote and check-quorum (counts, within 4
//! standard errors).

use raftsim::scenario::{self, Scenario, Source};
use raftsim::stats::{ks_critical, ks_statistic};
use raftsim::trial::{Outcome, TrialResult, run_trial};

fn load(yaml: &str, sets: &[&str]) -> Scenario {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let source = Source {
        name: "oracle.yaml".into(),
        text: yaml.into(),
    };
    scenario::load_str(&source, &sets, None).expect("scenario loads")
}

/// Runs `trials` trials of `path` with `sets`, once on the model and once on raft-rs, and returns the sample
/// `pick` takes from each trial, model first.
fn both(yaml: &str, sets: &[&str], trials: u64, pick: fn(&TrialResult) -> Option<u64>) -> (Vec<u64>, Vec<u64>) {
    let mut out = Vec::new();
    for implementation in ["model", "raft-rs"] {
        let set = format!("raft.implementation={implementation}");
        let mut all: Vec<&str> = sets.to_vec();
        all.push(&set);
        let s = load(yaml, &all);
        let samples: Vec<u64> = (0..trials)
            .map(|i| {
                let r = run_trial(&s, i);
                assert_eq!(r.outcome, Outcome::Converged, "{implementation} trial {i} {sets:?}");
                pick(&r).unwrap_or_else(|| panic!("{implementation} trial {i}: nothing measured"))
            })
            .collect();
        out.push(samples);
    }
    let b = out.pop().unwrap();
    (out.pop().unwrap(), b)
}

/// Asserts the two samples agree; returns the statistic.
fn agree(what: &str, (model, library): (Vec<u64>, Vec<u64>)) -> f64 {
    let d = ks_statistic(&model, &library);
    let critical = ks_critical(model.len(), library.len(), 0.001);
    let median = |v: &[u64]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        v[v.len() / 2] as f64 / 1000.0
    };
    println!(
        "{what}: KS {d:.4} (0.1 % critical {critical:.4}), median model {:.1} ms, raft-rs {:.1} ms, {} trials each",
        median(&model),
        median(&library),
        model.len()
    );
    assert!(
        d < critical,
        "{what}: model and raft-rs disagree, KS {d:.4} >= {critical:.4}"
    );
    d
}

/// Five nodes on raft-rs's defaults (heartbeat 2 ticks, election [20, 40) ticks, 100 ms tick), one-way latency
/// 1-5 ms; the leader crashes once it has led for 1 s (at a random point of a tick).
const LEADER_CRASH: &str = "
name: oracle-leader-crash
seed: 1
time_limit: 60s
cluster: { nodes: 5 }
raft: { profile: raft-rs }
network:
  latency: { uniform: { min: 1ms, max: 5ms } }
faults:
  - leader_stable_for: 1s
    jitter: 100ms
    crash: leader
";
const RAFT_RS: [&str; 0] = [];

fn failover(r: &TrialResult) -> Option<u64> {
    r.election_us.first().copied()
}

fn first_leader(r: &TrialResult) -> Option<u64> {
    r.first_leader_us
}

fn failover_at_tick(tick: &str, trials: u64) {
    let set = format!("raft.tick={tick}");
    let mut sets = RAFT_RS.to_vec();
    sets.push(&set);
    agree(
        &format!("leader crash, {tick} ticks"),
        both(LEADER_CRASH, &sets, trials, failover),
    );
}

#[test]
fn leader_failover_matches_raft_rs_at_100ms_ticks() {
    failover_at_tick("100ms", 400);
}

#[test]
fn leader_failover_matches_raft_rs_at_10ms_ticks() {
    failover_at_tick("10ms", 400);
}

#[test]
fn leader_failover_matches_raft_rs_at_2ms_ticks() {
    failover_at_tick("2ms", 400);
}

#[test]
fn cold_start_matches_raft_rs() {
    agree("cold start", both(LEADER_CRASH, &RAFT_RS, 400, first_leader));
}

/// The leader and one follower lose their link for 10 s; both still reach the other three.
const PARTIAL_PARTITION: &str = "
name: oracle-partial-partition
seed: 1
time_limit: 60s
cluster: { nodes: 5 }
raft: { profile: raft-rs }
network:
  latency: { uniform: { min: 1ms, max: 5ms } }
faults:
  - leader_stable_for: 1s
    jitter: 100ms
    cut: { from: [leader], to: [follower], both_ways: true }
  - after: 10s
    heal: all
";

/// A follower isolated for 5 s rejoins.
const REJOIN: &str = "
name: oracle-rejoin
seed: 1
time_limit: 60s
cluster: { nodes: 5 }
raft: { profile: raft-rs }
network:
  latency: { uniform: { min: 2ms, max: 8ms } }
faults:
  - leader_stable_for: 1s
    jitter: 100ms
    isolate: follower
  - after: 5s
    jitter: 100ms
    heal: all
";

/// The leader hands leadership to a random follower once it has led for 1 s.
const TRANSFER: &str = "
name: oracle-transfer
seed: 1
time_limit: 60s
cluster: { nodes: 5 }
raft: { profile: raft-rs }
network:
  latency: { uniform: { min: 1ms, max: 5ms } }
faults:
  - leader_stable_for: 1s
    jitter: 100ms
    transfer_leadership: follower
";

#[test]
fn leadership_transfer_takes_as_long_as_in_raft_rs() {
    agree("leadership transfer", both(TRANSFER, &RAFT_RS, 400, failover));
}

/// Asserts the per-trial means of two counts agree within 4 standard errors; returns (model, library) totals.
fn counts_agree(what: &str, (model, library): (Vec<u64>, Vec<u64>)) -> (u64, u64) {
    let stats = |v: &[u64]| {
        let n = v.len() as f64;
        let mean = v.iter().sum::<u64>() as f64 / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        (mean, var / n)
    };
    let ((ma, va), (mb, vb)) = (stats(&model), stats(&library));
    let se = (va + vb).sqrt();
    let (ta, tb) = (model.iter().sum::<u64>(), library.iter().sum::<u64>());
    println!(
        "{what}: model {ta}, raft-rs {tb} in {} trials each (means {ma:.3} / {mb:.3}, difference {:.2} standard errors)",
        model.len(),
        if se > 0.0 { (ma - mb).abs() / se } else { 0.0 }
    );
    assert!(
        (ma - mb).abs() <= 4.0 * se + 1e-9,
        "{what}: model {ta} against raft-rs {tb} ({ma:.3} vs {mb:.3} per trial, standard error {se:.3})"
    );
    (ta, tb)
}

fn disruptions(r: &TrialResult) -> Option<u64> {
    Some(r.disruptions as u64)
}

const OPTIONS: [(&str, [&str; 2]); 4] = [
    ("defaults", ["raft.pre_vote=false", "raft.check_quorum=false"]),
    ("pre_vote", ["raft.pre_vote=true", "raft.check_quorum=false"]),
    ("check_quorum", ["raft.pre_vote=false", "raft.check_quorum=true"]),
    (
        "pre_vote + check_quorum",
        ["raft.pre_vote=true", "raft.check_quorum=true"],
    ),
];

fn partial_partition(trials: u64) {
    for (name, sets) in OPTIONS {
        counts_agree(
            &format!("partial partition, {name}: healthy leaders deposed"),
            both(PARTIAL_PARTITION, &sets, trials, disruptions),
        );
    }
}

fn rejoin(trials: u64) {
    for (name, sets) in [OPTIONS[0], OPTIONS[1]] {
        counts_agree(
            &format!("rejoin after isolation, {name}: healthy leaders deposed"),
            both(REJOIN, &sets, trials, disruptions),
        );
    }
}

#[test]
fn partial_partition_deposes_as_many_leaders_as_raft_rs() {
    partial_partition(150);
}

#[test]
fn a_rejoining_node_deposes_as_many_leaders_as_raft_rs() {
    rejoin(150);
}

#[test]
#[ignore = "long mode: 20,000 trials per side"]
fn long_model_under_the_raft_rs_profile_matches_raft_rs() {
    for tick in ["100ms", "10ms", "2ms"] {
        failover_at_tick(tick, 20_000);
    }
    agree("cold start", both(LEADER_CRASH, &RAFT_RS, 20_000, first_leader));
    agree("leadership transfer", both(TRANSFER, &RAFT_RS, 20_000, failover));
    partial_partition(20_000);
    rejoin(20_000);
}

/// The library path keeps the model's promises: identical results whatever the thread count, and a replayed
/// trial equal to the run's.
#[test]
fn raft_rs_runs_are_identical_across_thread_counts_and_replay_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for (name, threads) in [("a", "1"), ("b", "2"), ("c", "2")] {
        let out = tmp.path().join(name);
        assert_cmd::Command::cargo_bin("raftsim")
            .unwrap()
            .args([
                "run",
                "scenarios/partition.yaml",
                "--set",
                "raft.implementation=raft-rs",
                "--trials",
                "60",
                "--no-progress",
                "--threads",
                threads,
                "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        outputs.push((
            std::fs::read(out.join("summary.json")).unwrap(),
            std::fs::read(out.join("trials.csv")).unwrap(),
        ));
    }
    assert!(
        outputs[0] == outputs[1],
        "--threads 1 and --threads 2 agree byte for byte"
    );
    assert!(outputs[1] == outputs[2], "two runs agree byte for byte");

    for path in ["scenarios/partition.yaml", "scenarios/churn.yaml"] {
        let s = scenario::load(std::path::Path::new(path), &["raft.implementation=raft-rs".to_string()]).unwrap();
        for i in 0..4 {
            let (traced, lines) = raftsim::trial::trace_trial(&s, i, None);
            assert_eq!(traced, run_trial(&s, i), "{path} trial {i}");
            assert!(!lines.is_empty());
        }
    }
}
