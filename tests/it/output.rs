//! Where a report goes: checked before any trial runs, every failed write naming its file, and nothing left
//! behind when a write fails (no staging folder, no half report). A full disk is simulated with the report
//! folder's byte budget (`ReportDir::with_space`), and, where this machine lets a test mount a small tmpfs in a
//! private namespace (`unshare`), met for real; without one those tests say why and pass.

use assert_cmd::Command;
use raftsim::experiment::{self, RunOptions};
use raftsim::report::trials::TrialsCsv;
use raftsim::report::{self, Provenance, ReportDir};
use raftsim::study::Study;
use std::path::Path;
use std::sync::atomic::AtomicBool;

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Writes the whole report of a few cold-start trials into `target`, with `space` bytes of disk if given.
fn write_report(target: &Path, space: Option<u64>) -> anyhow::Result<(std::path::PathBuf, Vec<String>)> {
    let s = raftsim::scenario::load(Path::new("scenarios/cold-start.yaml"), &["trials=4".into()]).unwrap();
    let study = Study::run(&s, "raftsim run scenarios/cold-start.yaml".into());
    let scenarios = study.scenarios();
    let dir = ReportDir::create(target)?;
    let dir = match space {
        Some(bytes) => dir.with_space(bytes),
        None => dir,
    };
    dir.fill(|dir| {
        let mut csv = TrialsCsv::create(dir, study.kind, 1)?;
        let opts = RunOptions {
            threads: 1,
            progress: false,
        };
        let rows = |p: usize, r: &raftsim::trial::TrialResult| Ok(csv.row(p, r)?);
        let out = experiment::run_points(&scenarios, 0..4, &opts, &AtomicBool::new(false), Some(rows))?;
        csv.finish()?;
        report::write_report(&study, &out.aggregates, false, true, Provenance::Ran(&out), dir)
    })
}

#[test]
fn a_full_disk_names_the_file_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("complete");
    let (_, files) = write_report(&full, None).unwrap();
    let size: u64 = files
        .iter()
        .map(|f| std::fs::metadata(full.join(f)).unwrap().len())
        .sum();
    let mut failed_on = Vec::new();
    // The disk fills up at the start, in the middle and near the end of the report.
    // (run.json, written last, holds wall-clock figures whose length varies by a few bytes.)
    for space in [0, size / 20, size / 3, size / 2, size * 9 / 10, size - 150] {
        let target = tmp.path().join(format!("r{space}"));
        let err = write_report(&target, Some(space)).expect_err("the disk is full");
        let msg = format!("{err:#}");
        let (first, rest) = msg.split_once('\n').expect("two lines");
        let prefix = format!("cannot write {}/", target.display());
        assert!(first.starts_with(&prefix), "names the file: {msg}");
        assert!(first.ends_with(": No space left on device (os error 28)"), "{msg}");
        assert!(
            rest.starts_with("  nothing was written: the unfinished report (") && rest.ends_with(") was removed"),
            "says what became of the staging folder: {msg}"
        );
        failed_on.push(first[prefix.len()..].split(':').next().unwrap().to_string());
        assert!(!target.exists());
    }
    assert!(
        failed_on.iter().collect::<std::collections::BTreeSet<_>>().len() >= 3,
        "the failures hit several files: {failed_on:?}"
    );
    let mut left = names(tmp.path());
    left.retain(|n| n != "complete");
    assert!(left.is_empty(), "no staging folder is left: {left:?}");
}

#[test]
fn a_failed_write_keeps_the_old_report() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("r");
    write_report(&target, None).unwrap();
    let before = std::fs::read(target.join("summary.json")).unwrap();
    assert!(write_report(&target, Some(10_000)).is_err());
    assert_eq!(std::fs::read(target.join("summary.json")).unwrap(), before);
    assert_eq!(names(tmp.path()), ["r"]);
}

fn raftsim() -> String {
    assert_cmd::cargo::cargo_bin!("raftsim").display().to_string()
}

/// Runs `script` with `sh` in a private user and mount namespace, where it may mount a tmpfs on `$1` (the
/// folder `dir`); `$2` is the raftsim binary. `None`, with the reason printed, where this machine allows no
/// such namespace or mount (the script exits 99 when its mount fails).
fn in_namespace(dir: &Path, script: &str) -> Option<std::process::Output> {
    let out = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", script, "sh"])
        .arg(dir)
        .arg(raftsim())
        .output();
    match out {
        Err(e) => {
            eprintln!("skipped: cannot run unshare ({e})");
            None
        }
        Ok(o) if o.status.code() == Some(99) || (!o.status.success() && o.stdout.is_empty()) => {
            eprintln!(
                "skipped: no private mount namespace here ({})",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            None
        }
        Ok(o) => Some(o),
    }
}

/// Splits the script's output: raftsim's stderr, its exit status and what was left in the folder.
fn parse(o: &std::process::Output) -> (String, i32, Vec<String>) {
    let stdout = String::from_utf8_lossy(&o.stdout);
    let mut code = -1;
    let mut left = Vec::new();
    for line in stdout.lines() {
        if let Some(c) = line.strip_prefix("exit=") {
            code = c.parse().unwrap();
        } else if let Some(n) = line.strip_prefix("left=") {
            left.push(n.to_string());
        }
    }
    (String::from_utf8_lossy(&o.stderr).into_owned(), code, left)
}

#[test]
fn a_full_file_system_fails_the_run_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    // 64 KiB holds the folder, the summary and the first chart, not the rest.
    let script = r#"mount -t tmpfs -o size=64k tmpfs "$1" || exit 99
"$2" run scenarios/cold-start.yaml --trials 5 --no-progress --out "$1/r" >/dev/null
echo "exit=$?"
for f in "$1"/* "$1"/.[!.]*; do [ -e "$f" ] && echo "left=${f##*/}"; done
exit 0"#;
    let Some(o) = in_namespace(tmp.path(), script) else {
        return;
    };
    let (stderr, code, left) = parse(&o);
    assert_eq!(code, 2, "exit status; stderr:\n{stderr}");
    let want = format!("error: cannot write {}/r/", tmp.path().display());
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default();
    assert!(
        error.starts_with(&want) && stderr.contains(": No space left on device (os error 28)\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("nothing was written: the unfinished report ("),
        "{stderr}"
    );
    assert!(left.is_empty(), "nothing is left on the full disk: {left:?}");
}

/// What a read-only folder gives: refused before any trial runs, the folder named, nothing created.
fn check_read_only_refusal(stderr: &str, code: i32, folder: &Path) {
    assert_eq!(code, 2, "exit status; stderr:\n{stderr}");
    let want = format!("error: cannot create a folder in {}: ", folder.display());
    // Configuration warnings (churn.yaml has one, on purpose) may come first; the error is the first error line.
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default();
    assert!(error.starts_with(&want), "{stderr}");
    assert!(!stderr.contains("ran "), "no trial ran: {stderr}");
}

#[test]
fn a_read_only_folder_is_refused_before_any_trial_runs() {
    // Without privileges, a folder without write permission; root ignores permissions, so a read-only mount.
    let tmp = tempfile::tempdir().unwrap();
    let ro = tmp.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        let writable = tempfile::tempfile_in(&ro).is_ok();
        if !writable {
            // A hundred million trials: were they run before the check, the test would not finish.
            let out = Command::cargo_bin("raftsim")
                .unwrap()
                .args([
                    "run",
                    "scenarios/leader-crash.yaml",
                    "--trials",
                    "100000000",
                    "--no-progress",
                    "--out",
                ])
                .arg(ro.join("r"))
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            check_read_only_refusal(&stderr, out.status.code().unwrap(), &ro);
            assert!(names(&ro).is_empty());
        }
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
        if !writable {
            return;
        }
    }
    let script = r#"mount -t tmpfs -o ro tmpfs "$1" || exit 99
"$2" run scenarios/leader-crash.yaml --trials 100000000 --no-progress --out "$1/r" >/dev/null
echo "exit=$?"
"$2" sweep scenarios/sweeps/cluster-size.yaml --shard 0/2 --no-progress --out "$1" >/dev/null 2>"$1.shard" || true
for f in "$1"/* "$1"/.[!.]*; do [ -e "$f" ] && echo "left=${f##*/}"; done
exit 0"#;
    let Some(o) = in_namespace(&ro, script) else { return };
    let (stderr, code, left) = parse(&o);
    check_read_only_refusal(&stderr, code, &ro);
    assert!(left.is_empty(), "{left:?}");
    let shard = std::fs::read_to_string(tmp.path().join("ro.shard")).unwrap();
    assert!(
        shard.lines().any(|l| l.starts_with(&format!(
            "error: cannot create a file in {}: Read-only file system",
            ro.display()
        ))),
        "a shard checks its folder before running too: {shard}"
    );
}

#[test]
fn the_current_folder_and_a_mount_point_are_refused_before_any_trial_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let here = tmp.path().join("here");
    std::fs::create_dir(&here).unwrap();
    let out = Command::cargo_bin("raftsim")
        .unwrap()
        .current_dir(&here)
        .arg("run")
        .arg(std::env::current_dir().unwrap().join("scenarios/cold-start.yaml"))
        .args(["--trials", "3", "--no-progress", "--out", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: cannot write a report to .: it is the current folder or one of its parents, and a report folder \
         is replaced as a whole when complete; name a new folder inside it, such as ./report\n"
    );
    assert!(
        names(&here).is_empty() && names(tmp.path()) == ["here"],
        "nothing written, nothing hidden"
    );

    let script = r#"mkdir -p "$1/m" && mount -t tmpfs tmpfs "$1/m" || exit 99
"$2" run scenarios/cold-start.yaml --trials 3 --no-progress --out "$1/m" >/dev/null
echo "exit=$?"
for f in "$1"/* "$1"/.[!.]* "$1"/m/* "$1"/m/.[!.]*; do [ -e "$f" ] && echo "left=${f#$1/}"; done
exit 0"#;
    let Some(o) = in_namespace(tmp.path(), script) else {
        return;
    };
    let (stderr, code, left) = parse(&o);
    assert_eq!(code, 2, "{stderr}");
    let m = tmp.path().join("m");
    assert_eq!(
        stderr,
        format!(
            "error: cannot write a report to {}: it is a mount point, which a finished report folder cannot \
             replace; name a folder inside it, such as {}/report\n",
            m.display(),
            m.display()
        )
    );
    assert_eq!(left, ["here", "m"], "no staging folder beside the mount point");
}
