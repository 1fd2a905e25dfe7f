//! `raftsim sweep`, `--shard` and `raftsim merge`, run as a user runs them.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn raftsim() -> Command {
    Command::cargo_bin("raftsim").expect("binary builds")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A small grid: 2 cluster sizes x 2 heartbeats, 60 trials each.
fn small_sweep(cmd: &mut Command) -> &mut Command {
    cmd.args([
        "sweep",
        "scenarios/sweeps/cluster-size.yaml",
        "--trials",
        "60",
        "--axis",
        "cluster.nodes=3,5",
    ])
    .args(["--axis", "raft.heartbeat=30ms,50ms"])
}

/// Checks the page's structure: a document with a title, tables, inline charts, and links only to files that
/// exist in the folder (no network fetches).
fn check_html(dir: &Path, expected_charts: &[&str]) {
    let html = String::from_utf8(read(&dir.join("report.html"))).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "doctype");
    assert!(html.contains("<title>") && html.contains("</html>"));
    assert!(html.contains("<table>"), "statistics table");
    assert_eq!(
        html.matches("<svg").count(),
        expected_charts.len(),
        "every chart inline"
    );
    for chart in expected_charts {
        assert!(html.contains(&format!("id=\"{chart}\"")), "{chart} figure");
    }
    assert!(
        !html.contains("http://")
            || html.matches("http://").count() == html.matches("xmlns=\"http://www.w3.org").count()
    );
    assert!(!html.contains("https://"), "no external fetches");
    assert!(!html.contains("<script"), "no scripts");
    for part in html.split("href=\"").skip(1) {
        let target = &part[..part.find('"').unwrap()];
        if target == "trials.csv" && !dir.join(target).exists() {
            continue;
        }
        if let Some(id) = target.strip_prefix('#') {
            assert!(
                html.contains(&format!("id=\"{id}\"")),
                "report.html links to {target}, which must exist"
            );
            continue;
        }
        assert!(
            dir.join(target).is_file(),
            "report.html links to {target}, which must exist"
        );
    }
    // Parse it as a browser does (html5ever, Servo's implementation of the WHATWG parsing algorithm): any parse
    // error — a stray end tag, a bad attribute, misnested markup — fails the test.
    let doc = scraper::Html::parse_document(&html);
    assert!(doc.errors.is_empty(), "HTML parse errors: {:?}", doc.errors);
    let select = |css: &str| scraper::Selector::parse(css).unwrap();
    assert!(
        doc.select(&select("head > title")).next().is_some(),
        "a title in the head"
    );
    assert!(doc.select(&select("body h1")).next().is_some(), "a heading");
    assert!(
        doc.select(&select("table th")).next().is_some(),
        "a statistics table with headers"
    );
    for chart in expected_charts {
        let figure = select(&format!("figure[id=\"{chart}\"]"));
        let figure = doc
            .select(&figure)
            .next()
            .unwrap_or_else(|| panic!("no figure {chart}"));
        let svg = figure.select(&select("svg")).next();
        assert!(svg.is_some(), "{chart}: the chart is inline SVG inside its figure");
        let text: String = svg.unwrap().text().collect();
        assert!(
            !text.trim().is_empty(),
            "{chart}: the chart has text (title, axis labels)"
        );
    }
}

#[test]
fn sweep_writes_every_file_and_a_report_page() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sweep");
    let assert = small_sweep(&mut raftsim()).arg("--out").arg(&out).assert().success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("4 points"), "{stdout}");
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.contains("report.html"), "prints the page's path: {stderr}");
    for f in [
        "sweep.json",
        "sweep.csv",
        "run.json",
        "trials.csv",
        "report.html",
        "cdf.svg",
        "cdf.png",
        "percentiles.svg",
        "percentiles.png",
        "tradeoff.svg",
        "tradeoff.png",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let sweep: Value = serde_json::from_slice(&read(&out.join("sweep.json"))).unwrap();
    let points = sweep["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    assert_eq!(points[1]["values"]["cluster.nodes"], "3");
    assert_eq!(points[1]["values"]["raft.heartbeat"], "50ms");
    assert_eq!(points[3]["config"]["cluster"]["nodes"], 5);
    for p in points {
        assert_eq!(p["summary"]["trials"], 60);
        assert!(p["summary"]["election_ms"]["p99"].as_f64().unwrap() > 0.0);
        let slowest = &p["summary"]["exemplars"]["election_ms"]["slowest"][0];
        assert_eq!(
            slowest["value_ms"], p["summary"]["election_ms"]["max"],
            "the slowest exemplar is the maximum"
        );
    }
    let csv = String::from_utf8(read(&out.join("sweep.csv"))).unwrap();
    assert_eq!(csv.lines().count(), 5);
    assert!(csv.starts_with("point,cluster.nodes,raft.heartbeat,trials,"));
    let svg = String::from_utf8(read(&out.join("cdf.svg"))).unwrap();
    assert!(
        svg.contains("cluster.nodes=5, raft.heartbeat=30ms"),
        "legend names each point"
    );
    assert!(svg.contains("cumulative fraction of trials"));
    let svg = String::from_utf8(read(&out.join("percentiles.svg"))).unwrap();
    assert!(
        svg.contains("p99") && svg.contains("cluster.nodes"),
        "percentile chart labels its lines and axis"
    );
    check_html(&out, &["cdf", "percentiles", "tradeoff"]);
}

#[test]
fn run_report_page_links_what_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    raftsim()
        .args(["run", "scenarios/leader-crash.yaml", "--trials", "100", "--out"])
        .arg(&out)
        .assert()
        .success();
    check_html(&out, &["election_ms", "election_ms_cdf"]);
    let html = String::from_utf8(read(&out.join("report.html"))).unwrap();
    assert!(
        html.contains("raftsim run scenarios/leader-crash.yaml --trials 100 --trial "),
        "replay commands"
    );
}

#[test]
fn sweep_results_do_not_depend_on_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for threads in ["1", "2"] {
        let out = tmp.path().join(threads);
        small_sweep(&mut raftsim())
            .args(["--threads", threads, "--out"])
            .arg(&out)
            .assert()
            .success();
        outputs.push((
            read(&out.join("sweep.json")),
            read(&out.join("sweep.csv")),
            read(&out.join("trials.csv")),
        ));
    }
    assert!(
        outputs[0] == outputs[1],
        "--threads 1 and --threads 2 give identical sweep.json, sweep.csv, trials.csv"
    );
    // Without per-trial rows the workers aggregate the points (see `experiment::run_points`): the same tables.
    for threads in ["1", "2"] {
        let out = tmp.path().join(format!("{threads}-no-rows"));
        small_sweep(&mut raftsim())
            .args(["--threads", threads, "--no-trials-csv", "--out"])
            .arg(&out)
            .assert()
            .success();
        assert!(
            (read(&out.join("sweep.json")), read(&out.join("sweep.csv")))
                == (outputs[0].0.clone(), outputs[0].1.clone()),
            "--threads {threads} without trials.csv gives the same sweep.json and sweep.csv"
        );
    }
}

#[test]
fn sharded_sweep_merges_into_the_unsharded_report() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    small_sweep(&mut raftsim()).arg("--out").arg(&whole).assert().success();
    let parts = tmp.path().join("parts");
    for k in 0..3 {
        small_sweep(&mut raftsim())
            .args(["--shard", &format!("{k}/3"), "--out"])
            .arg(&parts)
            .assert()
            .success();
    }
    assert_eq!(std::fs::read_dir(&parts).unwrap().count(), 3, "one part file per shard");
    let merged = tmp.path().join("merged");
    raftsim()
        .arg("merge")
        .arg(&parts)
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    for f in [
        "sweep.json",
        "sweep.csv",
        "trials.csv",
        "report.html",
        "cdf.svg",
        "percentiles.svg",
        "tradeoff.svg",
        "cdf.png",
        "percentiles.png",
        "tradeoff.png",
    ] {
        assert!(
            read(&whole.join(f)) == read(&merged.join(f)),
            "{f} differs between sharded and unsharded runs"
        );
    }
}

#[test]
fn sharded_run_merges_into_the_unsharded_report() {
    let tmp = tempfile::tempdir().unwrap();
    let args = ["run", "scenarios/partition.yaml", "--trials", "150"];
    let whole = tmp.path().join("whole");
    raftsim().args(args).arg("--out").arg(&whole).assert().success();
    let parts = tmp.path().join("parts");
    for k in [1, 0] {
        raftsim()
            .args(args)
            .args(["--shard", &format!("{k}/2"), "--out"])
            .arg(&parts)
            .assert()
            .success();
    }
    let merged = tmp.path().join("merged");
    raftsim()
        .arg("merge")
        .arg(parts.join("part-00000-of-00002.json"))
        .arg(parts.join("part-00001-of-00002.json"))
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    for f in [
        "summary.json",
        "trials.csv",
        "report.html",
        "election_ms.svg",
        "election_ms_cdf.svg",
        "election_ms.png",
    ] {
        assert!(
            read(&whole.join(f)) == read(&merged.join(f)),
            "{f} differs between sharded and unsharded runs"
        );
    }
}

#[test]
fn merge_refuses_incomplete_or_mixed_parts() {
    let tmp = tempfile::tempdir().unwrap();
    let parts = tmp.path().join("parts");
    let args = ["run", "scenarios/cold-start.yaml", "--trials", "40"];
    raftsim()
        .args(args)
        .args(["--shard", "0/3", "--out"])
        .arg(&parts)
        .assert()
        .success();
    raftsim()
        .args(args)
        .args(["--shard", "2/3", "--out"])
        .arg(&parts)
        .assert()
        .success();
    let assert = raftsim()
        .arg("merge")
        .arg(&parts)
        .arg("--out")
        .arg(tmp.path().join("m"))
        .assert()
        .failure()
        .code(2);
    assert!(String::from_utf8_lossy(&assert.get_output().stderr).contains("shard 1 of 3 is missing"));
    assert!(!tmp.path().join("m").exists());

    let other = tmp.path().join("other");
    raftsim()
        .args([
            "run",
            "scenarios/cold-start.yaml",
            "--trials",
            "40",
            "--seed",
            "9",
            "--shard",
            "1/3",
            "--out",
        ])
        .arg(&other)
        .assert()
        .success();
    let assert = raftsim()
        .arg("merge")
        .arg(&parts)
        .arg(other.join("part-00001-of-00003.json"))
        .arg("--out")
        .arg(tmp.path().join("m"))
        .assert()
        .failure()
        .code(2);
    assert!(String::from_utf8_lossy(&assert.get_output().stderr).contains("different study"));
}

#[test]
fn dry_run_lists_points_and_bad_axes_are_refused() {
    let assert = small_sweep(&mut raftsim()).arg("--dry-run").assert().success();
    let out = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(out.contains("4 points, 240 trials"), "{out}");
    assert!(out.contains("cluster.nodes=5, raft.heartbeat=50ms"), "{out}");
    let assert = raftsim()
        .args([
            "sweep",
            "scenarios/sweeps/cluster-size.yaml",
            "--axis",
            "raft.heartbeet=10ms",
            "--dry-run",
        ])
        .assert()
        .failure()
        .code(2);
    let err = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(err.contains("unknown field `heartbeet`"), "{err}");
    let assert = raftsim()
        .args([
            "sweep",
            "scenarios/sweeps/cluster-size.yaml",
            "--axis",
            "cluster.nodes=0",
            "--dry-run",
        ])
        .assert()
        .failure()
        .code(2);
    let err = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(err.contains("cluster.nodes") && err.contains("out of range"), "{err}");
}

#[test]
fn shipped_sweeps_expand() {
    for entry in std::fs::read_dir("scenarios/sweeps").unwrap() {
        let path = entry.unwrap().path();
        raftsim().arg("sweep").arg(&path).arg("--dry-run").assert().success();
    }
}

/// `sweep --seed` sets the base scenario's seed, and the table says which seed ran.
#[test]
fn sweep_takes_a_seed_and_shows_it() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |seed: &str, dir: &str| {
        let out = assert_cmd::Command::cargo_bin("raftsim")
            .unwrap()
            .args([
                "sweep",
                "scenarios/sweeps/paper-min-timeout.yaml",
                "--trials",
                "5",
                "--no-progress",
            ])
            .args(["--seed", seed, "--out"])
            .arg(tmp.path().join(dir))
            .assert()
            .success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    let (a, b) = (run("7", "a"), run("8", "b"));
    assert!(a.lines().next().unwrap().ends_with("seed 7"), "{a}");
    assert!(b.lines().next().unwrap().ends_with("seed 8"), "{b}");
    let json = |d: &str| std::fs::read_to_string(tmp.path().join(d).join("sweep.json")).unwrap();
    assert!(
        json("a").contains("\"seed\": 7"),
        "the points' scenarios carry the seed"
    );
    assert_ne!(
        json("a"),
        json("b").replace("\"seed\": 8", "\"seed\": 7"),
        "another seed, other trials"
    );
}

/// README's Slurm example is the job file `scripts/slurm-check.sh` submits to a real Slurm, word for word.
#[test]
fn readme_quotes_the_slurm_job_file() {
    let job = String::from_utf8(read(Path::new("scripts/slurm-job.sh"))).unwrap();
    let readme = String::from_utf8(read(Path::new("README.md"))).unwrap();
    assert!(
        readme.contains(&format!("```sh\n{job}```")),
        "README.md must quote scripts/slurm-job.sh exactly"
    );
    assert!(job.contains("--shard auto"), "the job shards by array index");
}
