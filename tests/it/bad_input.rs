//! The malformed-scenario catalogue: every file in tests/bad/ is refused with exit code 2, nothing written, and
//! exactly the message snapshotted in tests/snapshots/ (file, line and column, field path, what is allowed).
//! `raftsim validate` gives the same message. After changing a message on purpose, review and accept the new
//! snapshots with `cargo insta review` (or `INSTA_UPDATE=always cargo test --test it bad_input`).

use assert_cmd::Command;

#[test]
fn malformed_scenarios_are_refused_with_their_exact_message() {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir("tests/bad")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 25, "the catalogue has {} cases", files.len());
    for path in files {
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("report");
        let run = Command::cargo_bin("raftsim")
            .unwrap()
            .arg("run")
            .arg(&path)
            .arg("--no-progress")
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(2), "{name}: exit status");
        assert!(run.stdout.is_empty(), "{name}: nothing on stdout");
        assert!(!out.exists(), "{name}: no report folder");
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "{name}: nothing half-written"
        );
        let stderr = String::from_utf8(run.stderr).unwrap();
        insta::assert_snapshot!(name.clone(), stderr);

        let validate = Command::cargo_bin("raftsim")
            .unwrap()
            .arg("validate")
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(validate.status.code(), Some(2), "{name}: validate exit status");
        assert_eq!(
            String::from_utf8(validate.stderr).unwrap(),
            stderr,
            "{name}: validate says the same"
        );
    }
}
