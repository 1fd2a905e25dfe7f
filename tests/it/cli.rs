//! The `raftsim` binary, run as a user runs it.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn raftsim() -> Command {
    let mut cmd = Command::cargo_bin("raftsim").expect("binary builds");
    cmd.env("NO_COLOR", "1");
    cmd
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn run_writes_a_complete_report() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report");
    let assert = raftsim()
        .args(["run", "scenarios/partition.yaml", "--trials", "200", "--out"])
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("election"), "table printed: {stdout}");
    assert!(stdout.contains("converged 200 of 200 trials"), "{stdout}");

    for f in [
        "summary.json",
        "run.json",
        "trials.csv",
        "election_ms.svg",
        "election_ms.png",
    ] {
        assert!(out.join(f).is_file(), "{f} written");
    }
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["scenario"], "partition");
    assert_eq!(summary["trials"], 200);
    assert_eq!(
        summary["converged"].as_u64().unwrap() + summary["not_converged"].as_u64().unwrap(),
        200
    );
    for metric in ["first_leader_ms", "election_ms", "convergence_ms"] {
        for stat in ["min", "mean", "p50", "p90", "p99", "p999", "max"] {
            assert!(summary[metric][stat].is_f64(), "{metric}.{stat}");
        }
    }
    let p50 = summary["election_ms"]["p50"].as_f64().unwrap();
    let p99 = summary["election_ms"]["p99"].as_f64().unwrap();
    assert!(summary["election_ms"]["min"].as_f64().unwrap() <= p50 && p50 <= p99);
    assert!(summary["rounds"]["mean"].as_f64().unwrap() >= 1.0);
    assert!(summary["messages"]["request_vote"].as_f64().unwrap() > 0.0);
    let counts: u64 = summary["histogram"]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(counts, summary["election_ms"]["count"].as_u64().unwrap());
    assert_eq!(
        summary["histogram"]["edges_ms"].as_array().unwrap().len(),
        summary["histogram"]["counts"].as_array().unwrap().len() + 1
    );

    let csv = std::fs::read_to_string(out.join("trials.csv")).unwrap();
    assert_eq!(csv.lines().count(), 201, "header plus one row per trial");
    assert!(csv.starts_with("trial,trial_seed,outcome,first_leader_ms,election_ms"));

    let png = std::fs::read(out.join("election_ms.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let svg = std::fs::read_to_string(out.join("election_ms.svg")).unwrap();
    assert!(
        svg.contains("election time after leader loss (ms)"),
        "x axis labelled with unit"
    );
    assert!(svg.contains(">\ntrials\n</text>"), "y axis labelled");
    assert!(svg.contains("partition: election time"), "titled");

    let run = read_json(&out.join("run.json"));
    assert!(run["events_per_second"].as_f64().unwrap() > 0.0);
    // Nothing but the report folder is left behind (no staging folders).
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("report")]);
}

/// Without per-trial rows each worker thread aggregates the trials it ran, and the aggregates are merged at the
/// end; with them the main thread aggregates every result in trial order. Both give the same summary, on one
/// thread or several, for a scenario whose trials record many samples each (commit latencies under churn).
#[test]
fn worker_aggregation_gives_the_summary_in_order_aggregation_gives() {
    let tmp = tempfile::tempdir().unwrap();
    let mut summaries = Vec::new();
    for (threads, rows) in [
        ("1", "--trials-csv"),
        ("2", "--no-trials-csv"),
        ("1", "--no-trials-csv"),
        ("2", "--trials-csv"),
    ] {
        let out = tmp.path().join(format!("{threads}{rows}"));
        raftsim()
            .args([
                "run",
                "scenarios/churn.yaml",
                "--trials",
                "40",
                "--threads",
                threads,
                rows,
                "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        summaries.push(std::fs::read_to_string(out.join("summary.json")).unwrap());
    }
    assert!(
        summaries[0].contains("\"commit_ms\""),
        "the commit latencies are summarised"
    );
    for (k, s) in summaries.iter().enumerate().skip(1) {
        assert!(
            *s == summaries[0],
            "run {k} differs from the in-order, one-thread summary"
        );
    }
}

#[test]
fn summary_is_identical_across_runs_and_thread_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let mut summaries = Vec::new();
    for (name, threads) in [("a", "1"), ("b", "2"), ("c", "2")] {
        let out = tmp.path().join(name);
        raftsim()
            .args([
                "run",
                "scenarios/partition.yaml",
                "--trials",
                "300",
                "--seed",
                "7",
                "--threads",
                threads,
                "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        summaries.push((
            std::fs::read(out.join("summary.json")).unwrap(),
            std::fs::read(out.join("trials.csv")).unwrap(),
        ));
    }
    assert!(
        summaries[0] == summaries[1],
        "--threads 1 and --threads 2 agree byte for byte"
    );
    assert!(summaries[1] == summaries[2], "two runs agree byte for byte");

    let other = tmp.path().join("d");
    raftsim()
        .args([
            "run",
            "scenarios/partition.yaml",
            "--trials",
            "300",
            "--seed",
            "8",
            "--out",
        ])
        .arg(&other)
        .assert()
        .success();
    assert_ne!(
        std::fs::read(other.join("summary.json")).unwrap(),
        summaries[0].0,
        "the seed matters"
    );
}

#[test]
fn json_flag_prints_the_summary_on_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let assert = raftsim()
        .args(["run", "scenarios/cold-start.yaml", "--trials", "50", "--json", "--out"])
        .arg(&out)
        .assert()
        .success();
    let printed: Value = serde_json::from_slice(&assert.get_output().stdout).expect("stdout is JSON");
    assert_eq!(printed, read_json(&out.join("summary.json")));
    assert_eq!(printed["election_ms"]["count"], 0, "cold start has no failover");
    assert_eq!(printed["first_leader_ms"]["count"], 50);
}

#[test]
fn set_overrides_any_field() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    raftsim()
        .args(["run", "scenarios/cold-start.yaml", "--trials", "20", "--json"])
        .args([
            "--set",
            "raft.heartbeat=20ms",
            "--set",
            "raft.election_timeout.max=400ms",
            "--set",
            "cluster.nodes=3",
        ])
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let s = read_json(&out.join("summary.json"));
    assert_eq!(s["config"]["raft"]["heartbeat"], "20ms");
    assert_eq!(s["config"]["raft"]["election_timeout"]["max"], "400ms");
    assert_eq!(s["config"]["cluster"]["nodes"], 3);
}

#[test]
fn single_trial_matches_the_full_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    raftsim()
        .args(["run", "scenarios/leader-crash.yaml", "--trials", "40", "--out"])
        .arg(&out)
        .assert()
        .success();
    let csv = std::fs::read_to_string(out.join("trials.csv")).unwrap();
    let row: Vec<&str> = csv.lines().nth(1 + 17).unwrap().split(',').collect();
    let assert = raftsim()
        .args([
            "run",
            "scenarios/leader-crash.yaml",
            "--trials",
            "40",
            "--trial",
            "17",
            "--json",
        ])
        .assert()
        .success();
    let one: Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    assert_eq!(one["trial"], 17);
    assert_eq!(one["trial_seed"].as_u64().unwrap().to_string(), row[1]);
    let election = one["election_ms"][0].as_f64().unwrap();
    assert_eq!(format!("{election:.3}"), row[4]);
    assert_eq!(one["events"].as_u64().unwrap().to_string(), *row.last().unwrap());
}

fn assert_bad_input(file: &str, expected: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let assert = raftsim()
        .args(["run", file, "--out"])
        .arg(&out)
        .assert()
        .failure()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    for e in expected {
        assert!(stderr.contains(e), "stderr for {file} should contain {e:?}:\n{stderr}");
    }
    assert!(!out.exists(), "no report written for bad input");
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "nothing half-written"
    );
}

#[test]
fn unknown_field_is_refused_with_its_position() {
    assert_bad_input(
        "tests/bad/unknown-field.yaml",
        &["unknown-field.yaml:4:3", "unknown field `nodez`", "nodes"],
    );
}

#[test]
fn wrong_type_is_refused_with_its_position() {
    assert_bad_input("tests/bad/wrong-type.yaml", &["wrong-type.yaml:3:10", "five"]);
}

#[test]
fn duration_without_unit_is_refused() {
    assert_bad_input(
        "tests/bad/bad-duration.yaml",
        &["bad-duration.yaml:3:14", "`50` has no unit", "50ms"],
    );
}

#[test]
fn semantic_errors_name_the_field_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("minmax.yaml");
    std::fs::write(&file, "raft:\n  election_timeout: { min: 300ms, max: 150ms }\n").unwrap();
    let assert = raftsim().arg("validate").arg(&file).assert().failure().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("minmax.yaml:2:28: `raft.election_timeout.min`: min (300ms) is greater than max (150ms)"),
        "{stderr}"
    );
}

#[test]
fn bad_override_names_the_argument() {
    let assert = raftsim()
        .args(["validate", "scenarios/cold-start.yaml", "--set", "raft.heartbeet=50ms"])
        .assert()
        .failure()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("--set `raft.heartbeet=50ms`: unknown field `heartbeet`"),
        "{stderr}"
    );
}

/// A value given on the command line that the scenario refuses is blamed on the flag, not on the line of the
/// file it overrode (`trials: 10000`, `nodes: 5`), for `run`, `validate` and `sweep` alike.
#[test]
fn flag_errors_name_the_flag() {
    let cases: [(&[&str], &str); 7] = [
        (
            &["run", "scenarios/partition.yaml", "--trials", "0"],
            "error: --trials 0: 0 trials is out of range; allowed 1 to 1000000000\n",
        ),
        (
            &["validate", "scenarios/partition.yaml", "--set", "cluster.nodes=0"],
            "error: --set `cluster.nodes=0`: 0 nodes is out of range; allowed 1 to 1001\n",
        ),
        (
            &[
                "run",
                "scenarios/partition.yaml",
                "--set",
                "raft.election_timeout={min: 0ms, max: 10ms}",
            ],
            "error: --set `raft.election_timeout={min: 0ms, max: 10ms}`: `raft.election_timeout.min`: must be \
             greater than zero\n",
        ),
        (
            &[
                "run",
                "scenarios/partition.yaml",
                "--set",
                "raft.election_timeout.max=100ms",
            ],
            "error: scenarios/partition.yaml:18:28: `raft.election_timeout.min`: min (150ms) is greater than max \
             (100ms) (with --set `raft.election_timeout.max=100ms`)\n",
        ),
        (
            &["sweep", "scenarios/sweeps/cluster-size.yaml", "--trials", "0"],
            "error: --trials 0: 0 trials is out of range; allowed 1 to 1000000000 (point cluster.nodes=3)\n",
        ),
        (
            &[
                "sweep",
                "scenarios/sweeps/heartbeat-loss.yaml",
                "--set",
                "cluster.nodes=0",
            ],
            "error: --set `cluster.nodes=0`: 0 nodes is out of range; allowed 1 to 1001 (point raft.heartbeat=10ms, \
             timeout=100-200ms)\n",
        ),
        (
            &[
                "sweep",
                "scenarios/sweeps/cluster-size.yaml",
                "--axis",
                "cluster.nodes=0,3",
            ],
            "error: --axis `cluster.nodes=0,3`: 0 nodes is out of range; allowed 1 to 1001 (point \
             cluster.nodes=0)\n",
        ),
    ];
    for (args, want) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let mut cmd = raftsim();
        cmd.args(args);
        if args[0] != "validate" {
            cmd.arg("--no-progress").arg("--out").arg(tmp.path().join("r"));
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), want, "{args:?}");
        assert!(!tmp.path().join("r").exists());
    }
}

#[test]
fn missing_file_is_a_clear_error() {
    let assert = raftsim()
        .args(["run", "no/such/scenario.yaml"])
        .assert()
        .failure()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("cannot read scenario `no/such/scenario.yaml`"),
        "{stderr}"
    );
}

#[test]
fn every_subcommand_has_help() {
    for sub in [&["--help"][..], &["run", "--help"], &["validate", "--help"]] {
        let assert = raftsim().args(sub).assert().success();
        let out = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
        assert!(out.contains("Usage: raftsim"), "{sub:?}: {out}");
    }
    let run_help = raftsim().args(["run", "--help"]).assert().success();
    let text = String::from_utf8_lossy(&run_help.get_output().stdout).to_string();
    for flag in ["--seed", "--trials", "--threads", "--out", "--set", "--json", "--trial"] {
        assert!(text.contains(flag), "run --help mentions {flag}");
    }
}

#[test]
fn shipped_scenarios_validate() {
    for entry in std::fs::read_dir("scenarios").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            raftsim().arg("validate").arg(&path).assert().success();
        }
    }
}

#[test]
fn an_existing_report_is_replaced_only_with_force() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let run = |extra: &[&str]| {
        Command::cargo_bin("raftsim")
            .unwrap()
            .args([
                "run",
                "scenarios/cold-start.yaml",
                "--trials",
                "20",
                "--no-progress",
                "--out",
            ])
            .arg(&out)
            .args(extra)
            .output()
            .unwrap()
    };
    assert!(run(&[]).status.success());
    let before = std::fs::read(out.join("summary.json")).unwrap();
    let again = run(&["--seed", "2"]);
    assert_eq!(again.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("already holds a report of another variant") && stderr.contains("; pass --force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(out.join("summary.json")).unwrap(), before, "untouched");
    assert!(run(&["--seed", "2", "--force"]).status.success());
    assert_ne!(std::fs::read(out.join("summary.json")).unwrap(), before, "replaced");
}

/// `--force` replaces a raftsim report and nothing else: a folder of the user's, a report folder the user added a
/// file to, a regular file and the current folder are refused with exit code 2, every byte left as it was.
#[test]
fn force_never_deletes_what_raftsim_did_not_write() {
    let tmp = tempfile::tempdir().unwrap();
    let run_into = |out: &Path, cwd: &Path| {
        Command::cargo_bin("raftsim")
            .unwrap()
            .current_dir(cwd)
            .arg("run")
            .arg(std::env::current_dir().unwrap().join("scenarios/cold-start.yaml"))
            .args(["--trials", "5", "--no-progress", "--force", "--out"])
            .arg(out)
            .output()
            .unwrap()
    };
    let here = std::env::current_dir().unwrap();
    let refused = |out: &Path, cwd: &Path, why: &str| {
        let o = run_into(out, cwd);
        let stderr = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{}: {stderr}", out.display());
        assert!(
            stderr.contains("--force replaces only a raftsim report") && stderr.contains(why),
            "{stderr}"
        );
    };

    // A folder of the user's own files.
    let mine = tmp.path().join("mine");
    std::fs::create_dir_all(mine.join("sub")).unwrap();
    std::fs::write(mine.join("notes.txt"), "mine").unwrap();
    std::fs::write(mine.join("sub/data.csv"), "1,2").unwrap();
    refused(&mine, &here, "`notes.txt`, `sub`");
    assert_eq!(std::fs::read_to_string(mine.join("notes.txt")).unwrap(), "mine");
    assert_eq!(std::fs::read_to_string(mine.join("sub/data.csv")).unwrap(), "1,2");

    // A regular file.
    let file = tmp.path().join("file.txt");
    std::fs::write(&file, "keep").unwrap();
    refused(&file, &here, "not a folder");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep");

    // The current folder.
    let cwd = tmp.path().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::write(cwd.join("x.txt"), "x").unwrap();
    refused(Path::new("."), &cwd, "current folder");
    assert!(cwd.join("x.txt").is_file());

    // A real report is replaced; once the user adds a file to it, it is theirs too.
    let report = tmp.path().join("report");
    assert!(run_into(&report, &here).status.success());
    assert!(
        run_into(&report, &here).status.success(),
        "a report is replaced with --force"
    );
    std::fs::write(report.join("my-analysis.txt"), "notes").unwrap();
    refused(&report, &here, "`my-analysis.txt`");
    assert!(report.join("summary.json").is_file() && report.join("my-analysis.txt").is_file());
}

/// Input is read with bounds: a device, a FIFO (which would block for ever) and a file over the size cap are
/// refused at once, and so is a thread count no machine needs.
#[test]
fn unbounded_inputs_are_refused_before_anything_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("big.yaml");
    std::fs::write(&big, format!("# {}\nname: big\n", "x".repeat(2 << 20))).unwrap();
    let fifo = tmp.path().join("fifo.yaml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    let mut cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["run".into(), "/dev/zero".into()], "not a regular file"),
        (
            vec!["run".into(), big.display().to_string()],
            "more than the 1048576 a scenario may have",
        ),
        (vec!["sweep".into(), "/dev/zero".into()], "cannot read sweep"),
        (
            vec![
                "run".into(),
                "scenarios/cold-start.yaml".into(),
                "--threads".into(),
                "100000".into(),
            ],
            "--threads 100000: at most",
        ),
    ];
    if made.is_ok_and(|s| s.success()) {
        cases.push((vec!["run".into(), fifo.display().to_string()], "not a regular file"));
    }
    for (args, expect) in cases {
        let out = Command::cargo_bin("raftsim")
            .unwrap()
            .args(&args)
            .args(["--out"])
            .arg(tmp.path().join("out"))
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
        assert!(!tmp.path().join("out").exists(), "{args:?}: nothing written");
    }
}

/// A trial that exceeds a resource limit stops the run with exit code 2, names the limit and the trial, says how
/// to run that trial alone, and leaves no report behind.
/// With per-trial rows (the main thread aggregates) and without (the workers do), on two threads: the first
/// trial in schedule order that hit the limit is the one named.
fn assert_limit_stops_the_run(set: &str, field: &str) {
    for rows in ["--trials-csv", "--no-trials-csv"] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("report");
        let assert = raftsim()
            .args([
                "run",
                "scenarios/partition.yaml",
                "--trials",
                "20",
                "--threads",
                "2",
                rows,
                "--set",
                set,
                "--out",
            ])
            .arg(&out)
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert!(stderr.contains(&format!("stopped at {field}")), "{rows}: {stderr}");
        assert!(stderr.contains("trial 0 (seed "), "{rows}: names the trial: {stderr}");
        assert!(
            stderr.contains("--trial 0"),
            "{rows}: says how to run it alone: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{rows}: {stderr}");
        assert!(!out.exists(), "{rows}: no report written");
        assert!(
            std::fs::read_dir(tmp.path()).unwrap().next().is_none(),
            "{rows}: no temporary folder left behind"
        );
    }
}

#[test]
fn a_flooded_event_queue_stops_the_run_with_a_clear_error() {
    // A five-node election puts more than three events in the queue at once.
    assert_limit_stops_the_run("limits.max_pending_events=3", "limits.max_pending_events");
}

#[test]
fn a_trial_over_its_event_budget_stops_the_run_with_a_clear_error() {
    assert_limit_stops_the_run("limits.max_events=100", "limits.max_events");
    // The trial alone reports the same, with exit code 2.
    let assert = raftsim()
        .args([
            "run",
            "scenarios/partition.yaml",
            "--set",
            "limits.max_events=100",
            "--trial",
            "0",
        ])
        .assert()
        .code(2);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(
        stdout.contains("aborted") && stdout.contains("limits.max_events"),
        "{stdout}"
    );
}

#[test]
fn limits_generous_enough_change_nothing() {
    let summary = |extra: &[&str]| {
        let out = raftsim()
            .args(["run", "scenarios/partition.yaml", "--trials", "50", "--json", "--out"])
            .arg(tempfile::tempdir().unwrap().path().join("r"))
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success());
        let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
        // Everything but the echoed configuration, which names the limits.
        v.as_object_mut().unwrap().remove("config").expect("config echoed");
        v
    };
    assert_eq!(
        summary(&[]),
        summary(&[
            "--set",
            "limits.max_events=100000",
            "--set",
            "limits.max_pending_events=1000"
        ])
    );
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::io::Read;
    use std::process::{Command as Std, Stdio};
    let mut child = Std::new(assert_cmd::cargo::cargo_bin("raftsim"))
        .args(["list", "scenarios"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before anything is written
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!status.success() || stderr.is_empty(), "{status:?} {stderr}");
}
