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

/// The report-folder example: each documented command writes to the folder its comment names (or is refused as
/// it says), and `raftsim list --reports` then prints what the README shows.
#[test]
fn the_report_folder_example_is_what_the_commands_do() {
    let text = readme();
    let section = &text[text.find("### Report folders").expect("a Report folders section")..];
    let commands = block_after(section, "```sh\n");
    let tmp = tempfile::tempdir().unwrap();
    for line in commands.lines() {
        let (cmd, comment) = line.split_once('#').expect("each command says where it goes");
        let args: Vec<&str> = cmd.split_whitespace().skip(1).collect();
        let out = Command::cargo_bin("raftsim")
            .unwrap()
            .current_dir(tmp.path())
            .args(&args)
            .arg("--no-progress")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let comment = comment.trim();
        if let Some(folder) = comment.strip_prefix("-> ") {
            assert!(out.status.success(), "{line}: {stderr}");
            assert!(stderr.contains(&format!("report: {folder} ")), "{line}: {stderr}");
        } else {
            assert!(comment.starts_with("refused"), "{line}");
            assert_eq!(out.status.code(), Some(2), "{line}");
            assert!(stderr.contains("this same variant"), "{line}: {stderr}");
        }
    }
    std::fs::create_dir(tmp.path().join("reports/notes")).unwrap();
    std::fs::write(tmp.path().join("reports/notes/todo.txt"), "mine").unwrap();
    let shown = block_after(section, "$ raftsim list --reports\n");
    let out = Command::cargo_bin("raftsim")
        .unwrap()
        .current_dir(tmp.path())
        .args(["list", "--reports"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        shown,
        String::from_utf8(out.stdout).unwrap(),
        "README.md's `raftsim list --reports` example differs from the binary's; paste the new output"
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("reports/notes/todo.txt")).unwrap(),
        "mine"
    );
}

/// The exit-code table lists, for each command, the codes its `--help` lists.
#[test]
fn the_documented_exit_codes_are_the_ones_each_help_gives() {
    let text = readme();
    let start = text.find("| command | 0 | 1 | 2 | 130 |").expect("the exit-code table");
    let table: Vec<&str> = text[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    let mut seen = Vec::new();
    for row in table {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        let documented: Vec<&str> = ["0", "1", "2", "130"]
            .into_iter()
            .zip(&cells[1..])
            .filter(|(_, c)| **c != "-" && !c.starts_with('('))
            .map(|(code, _)| code)
            .collect();
        if cells[0].contains("--trial") {
            continue;
        }
        for sub in cells[0].split(", ") {
            let sub = sub.trim_matches('`');
            let help = Command::cargo_bin("raftsim")
                .unwrap()
                .args([sub, "--help"])
                .output()
                .unwrap();
            let help = String::from_utf8(help.stdout)
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let exit = &help[help
                .find("Exit status:")
                .unwrap_or_else(|| panic!("{sub} --help has exit codes"))..];
            for code in ["1", "130"] {
                assert_eq!(
                    documented.contains(&code),
                    exit.contains(&format!("; {code} ")) || exit.contains(&format!(": {code} ")),
                    "{sub}: exit {code} in README {documented:?} vs --help: {exit}"
                );
            }
            seen.push(sub.to_string());
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        ["compare", "list", "merge", "replay", "run", "sweep", "tune", "validate"]
    );
}
