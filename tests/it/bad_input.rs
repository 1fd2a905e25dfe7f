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

fn validate(yaml: &str) -> (Option<i32>, String) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("s.yaml");
    std::fs::write(&path, yaml).unwrap();
    let out = assert_cmd::Command::cargo_bin("raftsim")
        .unwrap()
        .arg("validate")
        .arg(&path)
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn cluster_without_nodes_takes_the_default_five() {
    let (code, err) = validate("name: a\ncluster: { persist_latency: { constant: 1ms } }\n");
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn a_fault_jitter_that_can_pass_the_time_limit_is_refused() {
    let (code, err) =
        validate("name: a\ntime_limit: 1s\nfaults:\n  - at: 500ms\n    jitter: 600ms\n    crash: leader\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("`faults.0.jitter`") && err.contains("time_limit"), "{err}");
    let (code, _) = validate("name: a\ntime_limit: 1s\nfaults:\n  - at: 500ms\n    jitter: 400ms\n    crash: leader\n");
    assert_eq!(code, Some(0), "a jitter that ends before the limit is fine");
}

#[test]
fn a_long_description_is_refused_not_copied_into_reports() {
    let (code, err) = validate(&format!("name: a\ndescription: {}\n", "x".repeat(5000)));
    assert_eq!(code, Some(2));
    assert!(err.contains("`description`: 5000 characters; at most 1000"), "{err}");
}

#[test]
fn control_characters_from_the_input_are_escaped_in_errors() {
    let (code, err) = validate("name: \"a\\x1b[2Jb\"\n");
    assert_eq!(code, Some(2));
    assert!(!err.contains('\u{1b}'), "an escape reached the terminal: {err:?}");
    assert!(err.contains("a\\u{1b}[2Jb"), "{err}");
}

#[test]
fn custom_tags_are_refused_in_files_and_in_set_values() {
    // A tag the reader does not know would be dropped without a word: the value would mean something else.
    let (code, err) = validate("name: a\nseed: !custom 7\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("s.yaml:2:") && err.contains("unsupported tag `!custom`"),
        "{err}"
    );
    assert!(err.contains("remove the tag"), "the message gives the fix: {err}");
    // Standard tags on the right kind of value are plain YAML.
    let (code, err) = validate("name: a\nseed: !!int 7\n");
    assert_eq!(code, Some(0), "{err}");
    let out = assert_cmd::Command::cargo_bin("raftsim")
        .unwrap()
        .args(["validate", "scenarios/leader-crash.yaml", "--set", "seed=!custom 7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--set `seed=!custom 7`") && err.contains("unsupported tag"),
        "{err}"
    );
}

#[test]
fn a_file_past_the_yaml_readers_limits_gets_a_sentence_not_a_debug_dump() {
    // 60,000 uses of one anchor: far more values than any scenario, in a file well under the size cap.
    let mut yaml = String::from("name: a\nfaults:\n  - &f { at: 1ms, crash: 0 }\n");
    yaml.push_str(&"  - *f\n".repeat(60_000));
    let (code, err) = validate(&yaml);
    assert_eq!(code, Some(2));
    assert!(err.contains("more than 250000 YAML values"), "{err}");
    assert!(err.contains("write the values out"), "the message gives the fix: {err}");
    assert!(!err.contains("Nodes {") && !err.contains("budget breached"), "{err}");
}
