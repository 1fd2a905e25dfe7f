//! Report folders: each variant of a run has its own default folder, re-running one is refused saying so, and
//! `raftsim list --reports` shows what the folders hold without touching any. Every run here happens in a
//! temporary folder, with the scenario given by its built-in name.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn raftsim(cwd: &Path) -> Command {
    let mut cmd = Command::cargo_bin("raftsim").unwrap();
    cmd.current_dir(cwd).env("NO_COLOR", "1");
    cmd
}

fn run(cwd: &Path, args: &[&str]) -> std::process::Output {
    raftsim(cwd)
        .args(["run", "cold-start", "--no-progress"])
        .args(args)
        .output()
        .unwrap()
}

fn report_line(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .find(|l| l.starts_with("report: "))
        .unwrap_or_else(|| panic!("no report line in {}", String::from_utf8_lossy(stderr)))
        .to_string()
}

fn folders(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn variants_never_collide_and_the_same_variant_is_refused_saying_so() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    // A plain run keeps reports/<name>/.
    let plain = run(cwd, &[]);
    assert!(plain.status.success(), "{}", String::from_utf8_lossy(&plain.stderr));
    assert!(report_line(&plain.stderr).starts_with("report: reports/cold-start/ "));
    // Two different variants, neither needs --force.
    let a = run(cwd, &["--trials", "7"]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let b = run(cwd, &["--trials", "7", "--set", "raft.pre_vote=true"]);
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let (la, lb) = (report_line(&a.stderr), report_line(&b.stderr));
    assert!(la.starts_with("report: reports/cold-start@"), "{la}");
    assert_ne!(la, lb);
    let names = folders(&cwd.join("reports"));
    assert_eq!(names.len(), 3, "{names:?}");
    for n in names.iter().filter(|n| n.contains('@')) {
        let (_, hash) = n.split_once('@').unwrap();
        assert!(hash.len() == 8 && hash.chars().all(|c| c.is_ascii_hexdigit()), "{n}");
        let run_json: Value =
            serde_json::from_str(&std::fs::read_to_string(cwd.join("reports").join(n).join("run.json")).unwrap())
                .unwrap();
        assert_eq!(run_json["variant"], hash, "{n}");
    }
    // The same variant again, spelt another way, is refused (exit 2) and says why and what to do.
    let again = run(cwd, &["--set", "trials=7"]);
    assert_eq!(again.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("same variant of cold-start"), "{stderr}");
    assert!(stderr.contains("--force") && stderr.contains("--out"), "{stderr}");
    assert_eq!(folders(&cwd.join("reports")).len(), 3, "nothing new written");
}

#[test]
fn the_variant_is_a_deterministic_hash_of_the_resolved_scenario() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let la = report_line(&run(a.path(), &["--trials", "5", "--seed", "9"]).stderr);
    let lb = report_line(&run(b.path(), &["--set", "seed=9", "--set", "trials=5"]).stderr);
    assert_eq!(la, lb, "the same variant, however spelt, in another folder and process");
}

#[test]
fn a_plain_run_whose_folder_holds_another_variant_goes_to_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::write(cwd.join("tiny.yaml"), "name: tiny\ntrials: 3\ncluster: { nodes: 3 }\n").unwrap();
    let first = raftsim(cwd)
        .args(["run", "tiny.yaml", "--no-progress"])
        .output()
        .unwrap();
    assert!(first.status.success());
    let before = std::fs::read(cwd.join("reports/tiny/summary.json")).unwrap();
    std::fs::write(cwd.join("tiny.yaml"), "name: tiny\ntrials: 3\ncluster: { nodes: 5 }\n").unwrap();
    let edited = raftsim(cwd)
        .args(["run", "tiny.yaml", "--no-progress"])
        .output()
        .unwrap();
    assert!(edited.status.success(), "{}", String::from_utf8_lossy(&edited.stderr));
    let stderr = String::from_utf8_lossy(&edited.stderr);
    assert!(stderr.contains("holds another variant of tiny ("), "{stderr}");
    assert!(report_line(&edited.stderr).starts_with("report: reports/tiny@"));
    assert_eq!(
        std::fs::read(cwd.join("reports/tiny/summary.json")).unwrap(),
        before,
        "untouched"
    );
}

#[test]
fn a_folder_of_the_users_in_the_way_is_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir_all(cwd.join("reports/cold-start")).unwrap();
    std::fs::write(cwd.join("reports/cold-start/notes.txt"), "mine").unwrap();
    let out = run(cwd, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("holds files raftsim did not write"), "{stderr}");
    assert!(report_line(&out.stderr).starts_with("report: reports/cold-start@"));
    assert_eq!(folders(&cwd.join("reports/cold-start")), ["notes.txt"]);
    // --force does not make it replaceable either.
    let forced = run(cwd, &["--force"]);
    assert_eq!(forced.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(cwd.join("reports/cold-start/notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn sweep_variants_get_their_own_folders_too() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    for extra in [
        &["--trials", "2"][..],
        &["--trials", "2", "--set", "raft.pre_vote=true"],
    ] {
        let out = raftsim(cwd)
            .args(["sweep", "cluster-size", "--no-progress", "--axis", "cluster.nodes=3,5"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(report_line(&out.stderr).starts_with("report: reports/cluster-size@"));
    }
    assert_eq!(folders(&cwd.join("reports")).len(), 2);
}

#[test]
fn list_reports_shows_each_folder_and_touches_none() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    assert!(run(cwd, &["--trials", "4", "--seed", "3"]).status.success());
    assert!(
        raftsim(cwd)
            .args([
                "sweep",
                "cluster-size",
                "--no-progress",
                "--trials",
                "2",
                "--axis",
                "cluster.nodes=3,5"
            ])
            .output()
            .unwrap()
            .status
            .success()
    );
    std::fs::create_dir_all(cwd.join("reports/notes")).unwrap();
    std::fs::write(cwd.join("reports/notes/mine.txt"), "keep").unwrap();
    let text = raftsim(cwd).args(["list", "--reports"]).output().unwrap();
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    let line = |start: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("{start} not listed:\n{text}"))
            .to_string()
    };
    let run_line = line("cold-start@");
    for word in [" run ", "cold-start", " 3 ", " 4 ", "--seed 3 --trials 4"] {
        assert!(run_line.contains(word), "{word:?} in {run_line}");
    }
    let sweep_line = line("cluster-size@");
    assert!(
        sweep_line.contains(" sweep ") && sweep_line.contains("(2 points)"),
        "{sweep_line}"
    );
    assert!(line("notes/").contains("not a raftsim report"));
    assert_eq!(
        std::fs::read_to_string(cwd.join("reports/notes/mine.txt")).unwrap(),
        "keep"
    );

    let json = raftsim(cwd).args(["list", "--reports", "--json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    let reports = v["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 3);
    let r = reports.iter().find(|r| r["kind"] == "run").unwrap();
    assert_eq!((r["seed"].as_u64(), r["trials"].as_u64()), (Some(3), Some(4)));
    assert_eq!(r["overrides"], serde_json::json!(["--seed 3", "--trials 4"]));
    // Another folder, given by path; a missing one is bad input naming it.
    let missing = raftsim(cwd).args(["list", "--reports", "nowhere"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nowhere"));
}
