//! The scenario catalogue: every shipped scenario runs end to end, `raftsim list` shows each, and the fault
//! scenarios show the behaviour their header comments promise.

use assert_cmd::Command;
use raftsim::invariants::Invariant;
use raftsim::scenario::{self, Scenario};
use raftsim::trial::{Outcome, TrialResult, run_trial};

fn load(path: &str, sets: &[&str]) -> Scenario {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    scenario::load(std::path::Path::new(path), &sets).expect("scenario loads")
}

fn trials(s: &Scenario, n: u64) -> Vec<TrialResult> {
    (0..n).map(|i| run_trial(s, i)).collect()
}

fn catalogue() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_catalogue_scenario_runs_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let files = catalogue();
    assert!(files.len() >= 17, "the catalogue has {} scenarios", files.len());
    for path in files {
        let out = tmp.path().join(path.file_stem().unwrap());
        Command::cargo_bin("raftsim")
            .unwrap()
            .args(["run", path.to_str().unwrap(), "--trials", "4", "--no-progress", "--out"])
            .arg(&out)
            .assert()
            .success();
        for file in ["summary.json", "run.json", "report.html"] {
            assert!(out.join(file).is_file(), "{}: {file} missing", path.display());
        }
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["violations"], 0, "{}", path.display());
    }
}

#[test]
fn list_shows_every_scenario_with_its_description() {
    let out = Command::cargo_bin("raftsim").unwrap().arg("list").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for path in catalogue() {
        let name = path.file_stem().unwrap().to_str().unwrap();
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{text}"));
        assert!(line.trim().len() > name.len() + 10, "{name} has no description: {line}");
    }
    assert!(text.contains("paper-randomness"), "sweeps are listed too");
}

#[test]
fn partial_partition_makes_leadership_flap_unless_pre_vote() {
    let plain: u32 = trials(&load("scenarios/partial-partition.yaml", &[]), 30)
        .iter()
        .map(|r| r.disruptions)
        .sum();
    // Ten seconds of a cut link: the two ends keep taking leadership from each other.
    assert!(plain >= 30 * 10, "only {plain} healthy leaders deposed in 30 trials");
    let pre_vote = load("scenarios/partial-partition.yaml", &["raft.pre_vote=true"]);
    for r in trials(&pre_vote, 30) {
        assert_eq!(r.disruptions, 0, "trial {}: pre-vote still deposed a leader", r.index);
        assert_eq!(r.outcome, Outcome::Converged);
    }
}

#[test]
fn one_way_cut_stalls_commits_until_check_quorum_steps_the_leader_down() {
    for r in trials(&load("scenarios/one-way-cut.yaml", &[]), 10) {
        // The leader keeps its title and commits nothing until the cut heals 20 s later.
        assert!(r.election_us.is_empty(), "trial {}: nobody should be elected", r.index);
        assert!(
            r.failover_commit_us.iter().all(|&t| t >= 20_000_000),
            "trial {}: {:?}",
            r.index,
            r.failover_commit_us
        );
    }
    for r in trials(&load("scenarios/one-way-cut.yaml", &["raft.check_quorum=true"]), 10) {
        assert_eq!(
            r.election_us.len(),
            1,
            "trial {}: check-quorum leads to one new election",
            r.index
        );
        assert!(
            r.failover_commit_us.iter().all(|&t| t < 2_000_000),
            "trial {}: {:?}",
            r.index,
            r.failover_commit_us
        );
    }
}

#[test]
fn flapping_link_fails_over_and_recovers_on_every_outage() {
    for r in trials(&load("scenarios/flapping-link.yaml", &[]), 20) {
        assert_eq!(r.outcome, Outcome::Converged);
        // Ten outages, each restored: ten recoveries.
        assert_eq!(r.recovery_us.len(), 10, "trial {}", r.index);
        // The first outage always takes the leader out; later ones only when the flapping node leads again.
        assert!(!r.election_us.is_empty(), "trial {}", r.index);
    }
}

#[test]
fn clock_skew_causes_elections_nobody_needed() {
    let skewed: u32 = trials(&load("scenarios/clock-skew.yaml", &[]), 300)
        .iter()
        .map(|r| r.spurious_elections)
        .sum();
    let exact: u32 = trials(&load("scenarios/clock-skew.yaml", &["cluster.hosts=[]"]), 300)
        .iter()
        .map(|r| r.spurious_elections)
        .sum();
    // With exact clocks a follower only starts an election under a healthy leader right after a failover (a
    // candidate that timed out just before the winner's first heartbeat); with skew, whenever the slow node
    // leads, the fast one can time out between two of its heartbeats.
    assert!(
        skewed > 3 * (exact + 1),
        "skewed {skewed} against exact {exact} spurious elections"
    );
}

#[test]
fn churn_and_random_partitions_replay_from_the_trial_seed_and_stay_safe() {
    // Churn holds its trials to a liveness budget, so a replication that stops for some follower fails it.
    let churn = load("scenarios/churn.yaml", &[]);
    assert!(
        churn.liveness.is_some_and(|(_, applied)| applied.is_some()),
        "churn.yaml has leader_within and applied_within"
    );
    for path in ["scenarios/churn.yaml", "scenarios/random-partitions.yaml"] {
        let s = load(path, &[]);
        let first = trials(&s, 6);
        assert_eq!(first, trials(&s, 6), "{path}: same seed, same trials");
        for r in &first {
            assert_eq!(r.outcome, Outcome::Converged, "{path} trial {}", r.index);
            assert!(!r.election_us.is_empty(), "{path} trial {}: no failover", r.index);
        }
        // Churn averages about 6.7 failovers per trial (400 trials), but one trial may spare its leader for long.
        let failovers: usize = first.iter().map(|r| r.election_us.len()).sum();
        assert!(
            failovers >= 2 * first.len(),
            "{path}: only {failovers} failovers in 6 trials"
        );
        let other = load(path, &["seed=2"]);
        assert_ne!(
            first[0].election_us,
            run_trial(&other, 0).election_us,
            "{path}: another seed, another schedule"
        );
    }
}

#[test]
fn slow_disks_slow_elections_down() {
    let slow = trials(&load("scenarios/slow-node.yaml", &[]), 200);
    let fast = trials(
        &load(
            "scenarios/slow-node.yaml",
            &["cluster.hosts=[]", "cluster.persist_latency={constant: 0ms}"],
        ),
        200,
    );
    let mean = |rs: &[TrialResult]| rs.iter().flat_map(|r| r.election_us.iter()).sum::<u64>() as f64 / rs.len() as f64;
    // Every vote waits for an fsync (median 2 ms, long tail) on the candidate and on each voter.
    assert!(
        mean(&slow) > mean(&fast) + 2_000.0,
        "slow {} us, fast {} us",
        mean(&slow),
        mean(&fast)
    );
}

#[test]
fn handing_over_leadership_before_a_stop_saves_almost_all_the_leaderless_time() {
    // The same rolling restart, with and without each stopping leader handing over first: the time from the
    // fault to a new leader, summed per trial.
    let leaderless = |path: &str| {
        let rs = trials(&load(path, &[]), 60);
        assert!(
            rs.iter().all(|r| r.outcome == Outcome::Converged && r.disruptions == 0),
            "{path}"
        );
        rs.iter().flat_map(|r| r.election_us.iter()).sum::<u64>() as f64 / rs.len() as f64 / 1000.0
    };
    let plain = leaderless("scenarios/rolling-restart.yaml");
    let handed_over = leaderless("scenarios/rolling-restart-transfer.yaml");
    // About 300 ms against about 11 ms per trial at 5,000 trials.
    assert!(plain > 150.0, "plain rolling restart: {plain:.1} ms per trial");
    assert!(
        handed_over < 30.0,
        "with leadership transfer: {handed_over:.1} ms per trial"
    );
}

#[test]
fn every_catalogue_scenario_stays_safe_at_even_cluster_sizes() {
    // A majority of an even cluster is one more than half: 2 of 2, 3 of 4, 4 of 6. Odd sizes cannot tell that
    // from half rounded up, so every scenario that does not name particular nodes runs at 2, 4 and 6 too.
    let mut covered = Vec::new();
    for path in catalogue() {
        let path = path.to_str().unwrap().to_string();
        for n in [2, 4, 6] {
            let load = |sets: &[String]| scenario::load(std::path::Path::new(&path), sets);
            let nodes = format!("cluster.nodes={n}");
            // Churn keeps a minority down at most, which two nodes do not have: let it take one.
            let Ok(s) = load(std::slice::from_ref(&nodes)).or_else(|_| load(&[nodes, "churn.max_down=1".into()]))
            else {
                continue; // names a node that a smaller cluster lacks
            };
            let trials = if s.nodes <= 4 { 12 } else { 6 };
            for i in 0..trials {
                let r = run_trial(&s, i);
                // Liveness budgets are sized for the file's own cluster (two nodes lose their majority with
                // one crash); safety holds at every size.
                let unsafe_ = match &r.outcome {
                    Outcome::Violation { invariant, .. } => *invariant != Invariant::Liveness,
                    Outcome::Aborted { .. } => true,
                    _ => false,
                };
                assert!(!unsafe_, "{path} with {n} nodes, trial {i}: {:?}", r.outcome);
            }
            covered.push((path.clone(), n));
        }
    }
    for must in [
        "churn",
        "leader-crash",
        "leader-crash-load",
        "partition",
        "random-partitions",
    ] {
        for n in [2, 4, 6] {
            assert!(
                covered
                    .iter()
                    .any(|(p, m)| p.ends_with(&format!("/{must}.yaml")) && *m == n),
                "{must} at {n} nodes was not run"
            );
        }
    }
}

/// The catalogue built into the binary is the files on disk, name for name and byte for byte, so the two cannot
/// drift apart.
#[test]
fn the_built_in_catalogue_is_the_files_on_disk() {
    use raftsim::catalogue;
    for (entries, dir) in [
        (catalogue::scenarios(), "scenarios"),
        (catalogue::sweeps(), "scenarios/sweeps"),
    ] {
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml"))
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let built_in: Vec<String> = entries.iter().map(|e| e.file.to_string()).collect();
        assert_eq!(built_in, on_disk, "{dir}");
        for e in &entries {
            let text = std::fs::read_to_string(e.repo_path()).unwrap();
            assert_eq!(e.text, text, "{} differs from the built-in copy", e.repo_path());
        }
    }
}

/// Outside the repository (a folder with no scenarios/), a built-in runs, sweeps, validates and replays by
/// name, and lists in two sections.
#[test]
fn built_ins_work_by_name_anywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let cmd = |args: &[&str]| {
        Command::cargo_bin("raftsim")
            .unwrap()
            .current_dir(tmp.path())
            .args(args)
            .output()
            .unwrap()
    };
    let ok = |args: &[&str]| {
        let out = cmd(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let table = ok(&["run", "leader-crash", "--trials", "5", "--no-progress"]);
    assert!(table.contains("scenario leader-crash:"), "{table}");
    assert!(tmp.path().join("reports/leader-crash@").parent().unwrap().is_dir());
    // A sweep's base scenario, named by a path relative to the sweep, resolves inside the catalogue.
    let sweep = ok(&["sweep", "paper-randomness", "--dry-run"]);
    assert!(sweep.contains("6 points"), "{sweep}");
    ok(&[
        "sweep",
        "paper-randomness",
        "--trials",
        "2",
        "--no-progress",
        "--axis",
        "raft.election_timeout.max=300ms",
    ]);
    ok(&["validate", "partition"]);
    ok(&["replay", "partition", "--trial", "1", "--until", "1s"]);
    ok(&["run", "leader-crash.yaml", "--trial", "0"]);

    let list = ok(&["list"]);
    let scenarios_at = list.find("built-in scenarios").expect("a scenarios section");
    let sweeps_at = list.find("built-in sweeps").expect("a sweeps section");
    assert!(scenarios_at < sweeps_at);
    let (scen, sweeps) = list.split_at(sweeps_at);
    assert!(
        scen.contains("\n  leader-crash ") && !scen.contains("paper-randomness"),
        "{list}"
    );
    assert!(
        sweeps.contains("\n  paper-randomness ") && !sweeps.contains("does not load"),
        "{list}"
    );
    let json: serde_json::Value = serde_json::from_str(&ok(&["list", "--json"])).unwrap();
    assert_eq!(
        json["sweeps"].as_array().unwrap().len(),
        raftsim::catalogue::sweeps().len()
    );
    assert_eq!(json["scenarios"][0]["seed"], 1);

    // A file path wins over a built-in name.
    std::fs::write(tmp.path().join("leader-crash"), "name: mine\ntrials: 2\n").unwrap();
    assert!(ok(&["run", "leader-crash", "--no-progress", "--out", "mine"]).contains("scenario mine:"));
}

#[test]
fn errors_in_a_built_in_name_it_with_line_and_column() {
    let out = Command::cargo_bin("raftsim")
        .unwrap()
        .args(["run", "leader-crash", "--set", "raft.election_timeout.max=100ms"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("leader-crash (built in):") && stderr.contains("`raft.election_timeout.min`"),
        "{stderr}"
    );
    let line_col = stderr.split("(built in):").nth(1).unwrap();
    assert!(
        line_col.split(':').take(2).all(|n| n.parse::<u32>().is_ok()),
        "{stderr}"
    );
    for (args, says) in [
        (&["run", "paper-randomness"][..], "raftsim sweep paper-randomness"),
        (&["sweep", "leader-crash"], "raftsim run leader-crash"),
        (
            &["run", "scenarios/sweeps/cluster-size.yaml"],
            "raftsim sweep scenarios/sweeps/cluster-size.yaml",
        ),
        (
            &["sweep", "scenarios/partition.yaml"],
            "raftsim run scenarios/partition.yaml",
        ),
        (&["run", "no-such-name"], "no built-in scenario has that name"),
    ] {
        let out = Command::cargo_bin("raftsim").unwrap().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
