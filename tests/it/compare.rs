//! `raftsim compare`: differences with intervals, and no difference between identical runs.

use assert_cmd::Command;

fn raftsim() -> Command {
    Command::cargo_bin("raftsim").unwrap()
}

#[test]
fn pre_vote_makes_rejoining_faster_with_an_interval() {
    let out = raftsim()
        .args([
            "compare",
            "scenarios/rejoin-disruption.yaml",
            "--b",
            "raft.pre_vote=true",
        ])
        .args(["--trials", "300", "--no-progress", "--json"])
        .assert()
        .success();
    let c: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(c["paired"], true, "both sides ran the same trial seeds");
    let rows = c["rows"].as_array().unwrap();
    let recovery = rows
        .iter()
        .find(|r| r["metric"] == "recovery_ms" && r["stat"] == "p50")
        .expect("a recovery p50 row");
    let (lo, hi) = (recovery["ci"][0].as_f64().unwrap(), recovery["ci"][1].as_f64().unwrap());
    let diff = recovery["diff"].as_f64().unwrap();
    assert!(
        lo <= diff && diff <= hi && hi < 0.0,
        "pre-vote recovers faster: {recovery}"
    );
    assert!(recovery["sentence"].as_str().unwrap().contains("faster"), "{recovery}");
    assert!(recovery["p_value"].as_f64().unwrap() < 0.001);
}

#[test]
fn two_identical_runs_show_no_difference_and_export() {
    let tmp = tempfile::tempdir().unwrap();
    for side in ["a", "b"] {
        raftsim()
            .args([
                "run",
                "scenarios/leader-crash.yaml",
                "--trials",
                "200",
                "--no-progress",
                "--out",
            ])
            .arg(tmp.path().join(side))
            .assert()
            .success();
    }
    let md = tmp.path().join("cmp.md");
    let csv = tmp.path().join("cmp.csv");
    let out = raftsim()
        .arg("compare")
        .arg(tmp.path().join("a"))
        .arg(tmp.path().join("b"))
        .arg("--export-markdown")
        .arg(&md)
        .arg("--export-csv")
        .arg(&csv)
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let sentences: Vec<&str> = text.lines().filter(|l| l.starts_with("  ")).collect();
    assert!(!sentences.is_empty(), "{text}");
    for s in sentences {
        assert!(s.contains("no difference"), "{s}");
    }
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("| election_ms | p99 |"), "{md}");
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert!(csv.starts_with("metric,stat,a,b,diff,ci_low,ci_high,p_value\n"));
    assert!(csv.contains("election_ms,p50,"), "{csv}");

    // An existing export file is never overwritten.
    raftsim()
        .arg("compare")
        .arg(tmp.path().join("a"))
        .arg(tmp.path().join("b"))
        .arg("--export-csv")
        .arg(tmp.path().join("cmp.csv"))
        .assert()
        .code(2);
}

#[test]
fn one_folder_alone_is_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let out = raftsim().arg("compare").arg(tmp.path()).assert().code(2);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.contains("two report folders"), "{err}");
}
