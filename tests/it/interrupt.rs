//! Ctrl-C during a long run: the run stops cleanly and leaves a valid report marked as partial.
#![cfg(unix)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigint_leaves_a_valid_partial_report() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let requested = 500_000_000u64;
    let child = Command::new(assert_cmd::cargo::cargo_bin!("raftsim"))
        .args(["run", "scenarios/leader-crash.yaml", "--no-progress", "--trials"])
        .arg(requested.to_string())
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let it get going (a few batches of trials), then interrupt it as a terminal's Ctrl-C would.
    std::thread::sleep(Duration::from_millis(2500));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The test measures how fast the process stops: wall time is the point.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let output = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(60), "stopped promptly");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(130),
        "exit status after Ctrl-C; stderr:\n{stderr}"
    );

    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
        .expect("summary.json is complete JSON");
    assert_eq!(summary["partial"], true);
    assert_eq!(summary["trials_requested"], requested);
    let done = summary["trials"].as_u64().unwrap();
    assert!(done > 0 && done < requested, "{done} trials completed");
    assert_eq!(
        summary["converged"].as_u64().unwrap() + summary["not_converged"].as_u64().unwrap(),
        done
    );
    assert!(out.join("report.html").is_file() && out.join("run.json").is_file());
    // Nothing half-written is left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        vec![std::ffi::OsString::from("r")],
        "only the report folder: {leftovers:?}"
    );
}
