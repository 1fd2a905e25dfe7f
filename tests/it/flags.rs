//! One set of flags: every subcommand's `--help` is its own and lists its exit codes, `--json` is there wherever
//! a subcommand prints results, the seed shows in each output, and `sweep` has `run`'s `--check-determinism` and
//! single-trial mode.

use assert_cmd::Command;
use serde_json::Value;

fn raftsim() -> Command {
    let mut cmd = Command::cargo_bin("raftsim").unwrap();
    cmd.env("NO_COLOR", "1");
    cmd
}

/// `--help` text with its line breaks and indentation folded into single spaces.
fn help_of(sub: &str) -> String {
    stdout_of(&[sub, "--help"])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn stdout_of(args: &[&str]) -> String {
    let out = raftsim().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json_of(args: &[&str]) -> Value {
    let text = stdout_of(args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {text}"))
}

const SUBCOMMANDS: [&str; 8] = ["run", "sweep", "merge", "validate", "list", "replay", "compare", "tune"];

#[test]
fn each_help_is_its_own_and_lists_its_exit_codes() {
    for sub in SUBCOMMANDS {
        let help = help_of(sub);
        assert!(help.contains(&format!("Usage: raftsim {sub}")), "{sub}: {help}");
        assert!(
            help.contains("Exit status: 0"),
            "{sub} --help lists its exit codes:\n{help}"
        );
        assert!(help.contains("; 2 bad input"), "{sub}: exit 2 (bad input): {help}");
        assert!(help.contains("--json"), "{sub} has --json");
    }
    for sub in ["run", "sweep"] {
        let help = help_of(sub);
        for code in ["1 a safety invariant", "130 interrupted"] {
            assert!(help.contains(code), "{sub}: {code}");
        }
        assert!(
            help.contains("--check-determinism") && help.contains("--trial"),
            "{sub}"
        );
    }
    let merge = help_of("merge");
    assert!(
        !merge.contains("With --shard") && !merge.contains("--trials-csv"),
        "{merge}"
    );
    assert!(help_of("tune").contains("1 no candidate met the budgets"));
}

#[test]
fn json_everywhere_with_the_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let run = json_of(&[
        "run",
        "cold-start",
        "--trials",
        "6",
        "--seed",
        "5",
        "--no-progress",
        "--json",
        "-o",
        &dir("a"),
    ]);
    assert_eq!(run["seed"], 5);
    let one = json_of(&["run", "cold-start", "--seed", "5", "--trial", "2", "--json"]);
    assert_eq!((one["seed"].as_u64(), one["trial"].as_u64()), (Some(5), Some(2)));
    let text = stdout_of(&["run", "cold-start", "--seed", "5", "--trial", "2"]);
    assert!(text.starts_with("trial 2 of cold-start (seed 5, trial seed "), "{text}");
    let replay = json_of(&[
        "replay",
        "cold-start",
        "--seed",
        "5",
        "--trial",
        "2",
        "--json",
        "-o",
        &dir("r"),
    ]);
    assert_eq!(replay["seed"], 5);
    assert_eq!(replay["trial_seed"], one["trial_seed"]);
    let validate = json_of(&["validate", "cold-start", "--seed", "5", "--json"]);
    assert_eq!(
        (validate["valid"].as_bool(), validate["seed"].as_u64()),
        (Some(true), Some(5))
    );
    assert_eq!(validate["config"]["seed"], 5);
    let list = json_of(&["list", "--json"]);
    assert!(list["scenarios"].as_array().unwrap().iter().all(|s| s["seed"].is_u64()));
    let sweep = json_of(&[
        "sweep",
        "cluster-size",
        "--trials",
        "3",
        "--axis",
        "cluster.nodes=3,5",
        "--no-progress",
        "--json",
        "-o",
        &dir("s"),
    ]);
    assert_eq!(sweep["points"][1]["summary"]["seed"], 1);
    let dry = json_of(&["sweep", "cluster-size", "--dry-run", "--json", "--seed", "4"]);
    assert!(dry["points"].as_array().unwrap().iter().all(|p| p["seed"] == 4));
    let compare = json_of(&[
        "compare",
        "cold-start",
        "--trials",
        "20",
        "--b",
        "raft.pre_vote=true",
        "--json",
        "--no-progress",
    ]);
    assert_eq!(compare["seeds"], serde_json::json!([1, 1]));
    let parts = dir("parts");
    for k in ["0/2", "1/2"] {
        raftsim()
            .args([
                "run",
                "cold-start",
                "--trials",
                "6",
                "--seed",
                "5",
                "--no-progress",
                "--shard",
                k,
                "-o",
                &parts,
            ])
            .assert()
            .success();
    }
    let merged = json_of(&["merge", &parts, "--json", "-o", &dir("m")]);
    assert_eq!(merged["seed"], 5);
    assert_eq!(merged["trials"], run["trials"]);
    let reports = json_of(&["list", "--reports", tmp.path().to_str().unwrap(), "--json"]);
    assert!(reports["reports"].as_array().unwrap().len() >= 4);
}

#[test]
fn sweep_runs_one_trial_of_one_point_as_the_full_sweep_did() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("s");
    raftsim()
        .args([
            "sweep",
            "cluster-size",
            "--trials",
            "4",
            "--axis",
            "cluster.nodes=3,5,7",
            "--no-progress",
            "--trials-csv",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let csv = std::fs::read_to_string(out.join("trials.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = csv
        .lines()
        .find(|l| l.starts_with("2,3,"))
        .unwrap()
        .split(',')
        .collect();
    let col = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    let one = raftsim()
        .args([
            "sweep",
            "cluster-size",
            "--trials",
            "4",
            "--axis",
            "cluster.nodes=3,5,7",
            "--point",
            "2",
            "--trial",
            "3",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(one.status.success());
    let v: Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(v["trial_seed"].as_u64().unwrap().to_string(), col("trial_seed"));
    assert_eq!(v["outcome"], col("outcome"));
    assert_eq!(v["events"].as_u64().unwrap().to_string(), col("events"));
    let stderr = String::from_utf8_lossy(&one.stderr);
    assert!(
        stderr.contains("point 2: cluster.nodes=7") && stderr.contains("--trial 3"),
        "{stderr}"
    );
    // Out of range, or --trial without --point: bad input, exit 2.
    for args in [&["--point", "3", "--trial", "0"][..], &["--trial", "0"]] {
        let out = raftsim()
            .args(["sweep", "cluster-size", "--axis", "cluster.nodes=3,5,7"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn sweep_checks_determinism_across_its_points() {
    let tmp = tempfile::tempdir().unwrap();
    let out = raftsim()
        .args([
            "sweep",
            "cluster-size",
            "--trials",
            "3",
            "--axis",
            "cluster.nodes=3,5",
            "--no-progress",
            "--check-determinism",
            "--out",
        ])
        .arg(tmp.path().join("s"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("determinism check: 6 trials over 2 of 2 points traced twice"),
        "{stderr}"
    );
}
