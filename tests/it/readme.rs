//! The README and the binary agree: the example output at the top is what `raftsim run` prints, the documented
//! trials.csv columns are the ones written, and the part-file names are the ones used.

use assert_cmd::Command;

fn readme() -> String {
    std::fs::read_to_string("README.md").unwrap()
}

/// The first fenced block after `marker`, without the fences.
fn block_after(text: &str, marker: &str) -> String {
    let start = text.find(marker).unwrap_or_else(|| panic!("README has {marker:?}")) + marker.len();
    let end = start + text[start..].find("```").expect("the block ends");
    text[start..end].to_string()
}

#[test]
fn the_example_at_the_top_is_what_the_run_prints() {
    let shown = block_after(&readme(), "$ raftsim run scenarios/partition.yaml\n");
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("raftsim")
        .unwrap()
        .args(["run", "scenarios/partition.yaml", "--no-progress", "--out"])
        .arg(tmp.path().join("partition"))
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    // Results go to stdout, and the README shows them exactly; timing and paths (stderr) vary by machine.
    let shown_results: Vec<&str> = shown
        .lines()
        .filter(|l| !l.starts_with("ran ") && !l.starts_with("report: ") && !l.starts_with("open "))
        .collect();
    assert_eq!(
        shown_results,
        stdout.lines().collect::<Vec<_>>(),
        "README.md's example differs from `raftsim run scenarios/partition.yaml`; paste the new output"
    );
    let files = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("report: "))
            .and_then(|l| l.split_once(" ("))
            .map(|(_, f)| f.to_string())
    };
    assert_eq!(files(&shown), files(&stderr), "the report's file list");
}

#[test]
fn the_documented_trials_csv_columns_are_the_ones_written() {
    let text = readme();
    let start =
        text.find("`trials.csv` has one row per trial: `").unwrap() + "`trials.csv` has one row per trial: `".len();
    let end = start + text[start..].find('`').unwrap();
    let documented: Vec<String> = text[start..end].split(',').map(|c| c.trim().to_string()).collect();
    let written = raftsim::report::trials::trials_csv_header();
    let written: Vec<String> = written.trim_end().split(',').map(str::to_string).collect();
    assert_eq!(documented, written);
}

#[test]
fn the_documented_part_file_name_is_the_one_used() {
    let name = raftsim::report::part::part_name(0, 3);
    assert!(
        readme().contains(&format!("`{name}`")),
        "README names part files as {name}"
    );
}
