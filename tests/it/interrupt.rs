//! Signals during a run: Ctrl-C (SIGINT) and SIGTERM stop a run within seconds and leave a valid report marked
//! partial (for a sweep, with trials in every point and its charts); a second Ctrl-C stops at once and leaves no
//! staging folder; an interrupted `--shard` writes no part file, and `merge` refuses a part marked partial.
//! The only timing asserted is a generous bound (10 s from the signal to the exit), so a slow shared machine
//! passes too.
#![cfg(unix)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// From the signal to the process's exit, at most.
const PROMPT: Duration = Duration::from_secs(10);

fn spawn(args: &[&str], out: &Path) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin!("raftsim"))
        .args(args)
        .args(["--no-progress", "--out"])
        .arg(out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args(["-s", name, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -s {name}");
}

/// Lets the run get going, sends `name`, and waits for the exit, which must come within [`PROMPT`].
fn interrupt(child: Child, name: &str, settle: Duration) -> Output {
    std::thread::sleep(settle);
    signal(&child, name);
    // The test measures how fast the process stops: wall time is the point.
    #[allow(clippy::disallowed_methods)]
    let sent = Instant::now();
    let output = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    assert!(took < PROMPT, "exited {took:?} after {name}");
    eprintln!("{name}: exited {took:.2?} after the signal");
    output
}

fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not complete JSON: {e}", path.display()))
}

/// Only `expected` is left in `dir`: no staging folder, no old report.
fn only(dir: &Path, expected: &[&str]) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, expected, "what is left in {}", dir.display());
}

fn partial_run(name: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let requested = 100_000u64;
    let child = spawn(
        &["run", "scenarios/churn.yaml", "--trials", &requested.to_string()],
        &out,
    );
    let output = interrupt(child, name, Duration::from_secs(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "exit status; stderr:\n{stderr}");
    assert!(
        stderr.contains("interrupted: stopping the trials in progress") && stderr.contains("Ctrl-C again"),
        "the signal is acknowledged: {stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("PARTIAL RESULT: interrupted after "), "{stdout}");

    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["partial"], true);
    assert_eq!(summary["trials_requested"], requested);
    let done = summary["trials"].as_u64().unwrap();
    assert!(done > 0 && done < requested, "{done} trials completed");
    assert_eq!(
        summary["converged"].as_u64().unwrap() + summary["not_converged"].as_u64().unwrap(),
        done,
        "every trial counted finished; a stopped one is discarded"
    );
    let rows = std::fs::read_to_string(out.join("trials.csv")).unwrap().lines().count() as u64;
    assert_eq!(rows, done + 1, "one row per counted trial, and the header");
    assert_eq!(json(&out.join("run.json"))["interrupted"], true);
    for file in ["report.html", "election_ms.svg", "election_ms.png"] {
        assert!(out.join(file).is_file(), "{file}");
    }
    only(tmp.path(), &["r"]);
}

#[test]
fn sigint_on_churn_leaves_a_valid_partial_report() {
    partial_run("INT");
}

#[test]
fn sigterm_on_churn_leaves_a_valid_partial_report() {
    partial_run("TERM");
}

fn partial_sweep(name: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("s");
    let child = spawn(&["sweep", "scenarios/sweeps/paper-randomness.yaml"], &out);
    let output = interrupt(child, name, Duration::from_secs(4));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "exit status; stderr:\n{stderr}");
    assert!(stderr.contains("per point: "), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("PARTIAL RESULT: "));

    let sweep = json(&out.join("sweep.json"));
    assert_eq!(sweep["partial"], true);
    let points = sweep["points"].as_array().unwrap();
    assert_eq!(points.len(), 6, "every point is in the report");
    for p in points {
        let trials = p["summary"]["trials"].as_u64().unwrap();
        assert!(
            trials > 0 && trials < 10_000,
            "point {} has {trials} trials: the points run side by side",
            p["label"]
        );
        assert_eq!(p["summary"]["partial"], true);
    }
    for file in [
        "sweep.csv",
        "trials.csv",
        "report.html",
        "cdf.svg",
        "cdf.png",
        "percentiles.svg",
        "percentiles.png",
        "tradeoff.svg",
        "tradeoff.png",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    // trials.csv holds each point's completed trials, the points in order.
    let csv = std::fs::read_to_string(out.join("trials.csv")).unwrap();
    let mut seen: Vec<u64> = Vec::new();
    for line in csv.lines().skip(1) {
        let point: u64 = line.split(',').next().unwrap().parse().unwrap();
        if seen.last() != Some(&point) {
            assert!(!seen.contains(&point), "point {point} in one block");
            seen.push(point);
        }
    }
    assert_eq!(seen, [0, 1, 2, 3, 4, 5]);
    let total: u64 = points.iter().map(|p| p["summary"]["trials"].as_u64().unwrap()).sum();
    assert_eq!(csv.lines().count() as u64, total + 1);
    only(tmp.path(), &["s"]);
}

#[test]
fn sigint_on_a_sweep_keeps_every_point_and_its_charts() {
    partial_sweep("INT");
}

#[test]
fn sigterm_on_a_sweep_keeps_every_point_and_its_charts() {
    partial_sweep("TERM");
}

#[test]
fn a_second_ctrl_c_stops_at_once_and_leaves_no_staging_folder() {
    for gap in [Duration::from_millis(30), Duration::from_millis(700)] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("s");
        let child = spawn(&["sweep", "scenarios/sweeps/paper-randomness.yaml"], &out);
        std::thread::sleep(Duration::from_secs(2));
        signal(&child, "INT");
        std::thread::sleep(gap);
        let output = interrupt(child, "INT", Duration::ZERO);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(130), "stderr:\n{stderr}");
        // Either the second signal came while the report was being written, and it was removed, or the report
        // was already complete (a slow machine may take longer than the gap to send it).
        if stderr.contains("stopped at once") {
            only(tmp.path(), &[]);
        } else {
            only(tmp.path(), &["s"]);
            assert_eq!(json(&out.join("sweep.json"))["partial"], true);
        }
    }
}

#[test]
fn an_interrupted_shard_writes_no_part_file() {
    let tmp = tempfile::tempdir().unwrap();
    let parts = tmp.path().join("parts");
    let child = spawn(
        &["sweep", "scenarios/sweeps/paper-randomness.yaml", "--shard", "0/2"],
        &parts,
    );
    let output = interrupt(child, "TERM", Duration::from_secs(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "stderr:\n{stderr}");
    assert!(stderr.contains("no part file written (run the shard again"), "{stderr}");
    only(&parts, &[]);
}

#[test]
fn merge_refuses_a_part_marked_partial() {
    let tmp = tempfile::tempdir().unwrap();
    let parts = tmp.path().join("parts");
    for k in 0..2 {
        let status = Command::new(assert_cmd::cargo::cargo_bin!("raftsim"))
            .args(["run", "scenarios/cold-start.yaml", "--trials", "6", "--no-progress"])
            .args(["--shard", &format!("{k}/2"), "--out"])
            .arg(&parts)
            .output()
            .unwrap();
        assert!(status.status.success());
    }
    // An older raftsim wrote the part of an interrupted shard, marked partial.
    let path = parts.join("part-00001-of-00002.json");
    let mut part = json(&path);
    part["partial"] = true.into();
    std::fs::write(&path, serde_json::to_string(&part).unwrap()).unwrap();
    let out = tmp.path().join("merged");
    let merged = Command::new(assert_cmd::cargo::cargo_bin!("raftsim"))
        .arg("merge")
        .arg(&parts)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(merged.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&merged.stderr);
    assert!(
        stderr
            .contains("part-00001-of-00002.json: a partial part: shard 1 of 2 was interrupted after 3 of its 3 trials")
            && stderr.contains("Run that shard again (--shard 1/2)"),
        "{stderr}"
    );
    assert!(!out.exists());
}

/// The flag only decides whether a trial goes on: set, the trial stops (and is discarded); unset, the trial is
/// exactly the one `run_trial` runs.
#[test]
fn the_stop_flag_stops_a_trial_without_changing_one_that_finishes() {
    use std::sync::atomic::AtomicBool;
    let s = raftsim::scenario::load(Path::new("scenarios/churn.yaml"), &[]).unwrap();
    let go = AtomicBool::new(false);
    let halt = AtomicBool::new(true);
    for i in 0..3 {
        assert_eq!(
            raftsim::trial::run_trial_until(&s, i, &go),
            Some(raftsim::trial::run_trial(&s, i))
        );
        assert_eq!(raftsim::trial::run_trial_until(&s, i, &halt), None);
    }
}
