//! Published numbers do not move by accident: every catalogue scenario and sweep, run with a few trials, must
//! reproduce the summary and per-trial rows stored in `tests/golden/` byte for byte.
//!
//! A change that is meant to move them (a model fix, a new random stream) rewrites the files with
//! `RAFTSIM_BLESS=1 cargo test --test it golden` and says in its commit what moved and why; the diff of
//! `tests/golden/` is then part of the review.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// Trials per scenario: enough to exercise every fault path, few enough for a debug build.
fn trials_for(name: &str) -> u32 {
    match name {
        "random-partitions" => 10,
        "churn" | "heartbeat-loss" => 20,
        _ => 40,
    }
}

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// Compares (or, blessing, rewrites) `files` of the report in `out` against `tests/golden/<name>/`.
fn check(name: &str, out: &Path, files: &[&str], mismatches: &mut Vec<String>) {
    let golden = Path::new("tests/golden").join(name);
    let bless = std::env::var_os("RAFTSIM_BLESS").is_some();
    for file in files {
        let got = std::fs::read_to_string(out.join(file)).unwrap_or_else(|e| panic!("{name}/{file}: {e}"));
        let path = golden.join(file);
        if bless {
            std::fs::create_dir_all(&golden).unwrap();
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(want) if want == got => {}
            Ok(want) => {
                let line = want
                    .lines()
                    .zip(got.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| want.lines().count().min(got.lines().count()));
                mismatches.push(format!(
                    "{}: differs from line {}\n  golden: {}\n  now:    {}",
                    path.display(),
                    line + 1,
                    want.lines().nth(line).unwrap_or("<end>"),
                    got.lines().nth(line).unwrap_or("<end>")
                ));
            }
            Err(e) => mismatches.push(format!("{}: {e} (bless with RAFTSIM_BLESS=1)", path.display())),
        }
    }
}

fn run(sub: &str, path: &Path, out: &Path) {
    let name = path.file_stem().unwrap().to_str().unwrap();
    Command::cargo_bin("raftsim")
        .unwrap()
        .args([sub, path.to_str().unwrap(), "--no-progress", "--trials-csv", "--out"])
        .arg(out)
        .args(["--trials", &trials_for(name).to_string()])
        .assert()
        .success();
}

#[test]
fn catalogue_scenarios_reproduce_their_golden_summaries() {
    let tmp = tempfile::tempdir().unwrap();
    let mut mismatches = Vec::new();
    let files = yaml_files("scenarios");
    assert!(files.len() >= 17);
    for path in files {
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let out = tmp.path().join(&name);
        run("run", &path, &out);
        check(&name, &out, &["summary.json", "trials.csv"], &mut mismatches);
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn catalogue_sweeps_reproduce_their_golden_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let mut mismatches = Vec::new();
    let files = yaml_files("scenarios/sweeps");
    assert!(files.len() >= 4);
    for path in files {
        let name = format!("sweep-{}", path.file_stem().unwrap().to_str().unwrap());
        let out = tmp.path().join(&name);
        run("sweep", &path, &out);
        check(&name, &out, &["sweep.json", "sweep.csv", "trials.csv"], &mut mismatches);
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
