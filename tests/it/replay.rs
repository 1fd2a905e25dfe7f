//! Replay: one trial re-run alone reproduces exactly what the full run recorded, and its trace explains it.

use assert_cmd::Command;
use raftsim::scenario::{self, Scenario};
use raftsim::trace::TraceEvent;
use raftsim::trial::{run_trial, trace_trial};

fn load(path: &str, sets: &[&str]) -> Scenario {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    scenario::load(std::path::Path::new(path), &sets).expect("scenario loads")
}

#[test]
fn replaying_a_trial_reproduces_its_metrics_exactly() {
    let s = load("scenarios/partition.yaml", &[]);
    for i in 0..300 {
        let (traced, lines) = trace_trial(&s, i, None);
        assert_eq!(traced, run_trial(&s, i), "trial {i}");
        assert!(!lines.is_empty());
    }
    // Under load, churn and a lossy, duplicating network too.
    let churn = load("scenarios/churn.yaml", &[]);
    for i in 0..5 {
        assert_eq!(trace_trial(&churn, i, None).0, run_trial(&churn, i), "churn trial {i}");
    }
}

#[test]
fn a_split_vote_shows_in_the_trace() {
    let s = load("scenarios/partition.yaml", &[]);
    let index = (0..500)
        .find(|&i| run_trial(&s, i).split_votes > 0)
        .expect("some trial splits the vote");
    let (r, lines) = trace_trial(&s, index, None);
    // The failover's first round: two or more candidates in one term, and no leader in it.
    let failover_start = lines
        .iter()
        .find(|l| l.event == TraceEvent::Partition)
        .expect("partition traced")
        .t_us;
    let mut candidates = std::collections::BTreeMap::<u64, Vec<usize>>::new();
    let mut leaders = std::collections::BTreeSet::new();
    for l in lines
        .iter()
        .filter(|l| l.event == TraceEvent::Role && l.t_us > failover_start)
    {
        match l.role {
            Some("candidate") => candidates.entry(l.term.unwrap()).or_default().push(l.node.unwrap()),
            Some("leader") => {
                leaders.insert(l.term.unwrap());
            }
            _ => {}
        }
    }
    let split = candidates
        .iter()
        .find(|(term, who)| who.len() >= 2 && !leaders.contains(term))
        .unwrap_or_else(|| {
            panic!(
                "trial {index} ({} split votes): no split term in {candidates:?}",
                r.split_votes
            )
        });
    assert!(leaders.iter().any(|t| t > split.0), "a later term elects a leader");
}

#[test]
fn replay_command_writes_trace_and_diagram_and_matches_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("t");
    let replay = Command::cargo_bin("raftsim")
        .unwrap()
        .args(["replay", "scenarios/partition.yaml", "--trial", "48", "--json", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(replay.status.success(), "{}", String::from_utf8_lossy(&replay.stderr));
    let run = Command::cargo_bin("raftsim")
        .unwrap()
        .args(["run", "scenarios/partition.yaml", "--trial", "48", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        replay.stdout, run.stdout,
        "replay prints exactly what the full run measured"
    );
    let text = std::fs::read_to_string(out.join("trace.txt")).unwrap();
    assert!(text.contains("partition") && text.contains("candidate -> leader"));
    let jsonl = std::fs::read_to_string(out.join("trace.jsonl")).unwrap();
    for line in jsonl.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["t_ms"].is_number() && v["event"].is_string(), "{line}");
    }
    assert_eq!(
        jsonl.lines().count() + 2,
        text.lines().count(),
        "same events in both forms (text has 2 header lines)"
    );
    let svg = std::fs::read_to_string(out.join("diagram.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for n in 0..5 {
        assert!(svg.contains(&format!(">n{n}</text>")), "lane n{n}");
    }

    // The same trial by its seed.
    let seed = serde_json::from_slice::<serde_json::Value>(&run.stdout).unwrap()["trial_seed"]
        .as_u64()
        .unwrap();
    let by_seed = Command::cargo_bin("raftsim")
        .unwrap()
        .args([
            "replay",
            "scenarios/partition.yaml",
            "--json",
            "--trial-seed",
            &seed.to_string(),
            "--out",
        ])
        .arg(tmp.path().join("s"))
        .output()
        .unwrap();
    let a: serde_json::Value = serde_json::from_slice(&by_seed.stdout).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(a["election_ms"], b["election_ms"]);
    assert_eq!(a["events"], b["events"]);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("s/trace.jsonl")).unwrap(),
        jsonl
    );
}

#[test]
fn replay_refuses_a_trial_outside_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    Command::cargo_bin("raftsim")
        .unwrap()
        .args(["replay", "scenarios/partition.yaml", "--trial", "10000", "--out"])
        .arg(tmp.path().join("x"))
        .assert()
        .code(2);
    assert!(!tmp.path().join("x").exists());
}

#[test]
fn check_determinism_traces_a_sample_twice_and_finds_them_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("raftsim")
        .unwrap()
        .args([
            "run",
            "scenarios/churn.yaml",
            "--trials",
            "40",
            "--check-determinism",
            "--no-progress",
            "--out",
        ])
        .arg(tmp.path().join("r"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("determinism check: 32 trials traced twice (two threads), identical"),
        "{stderr}"
    );
}
