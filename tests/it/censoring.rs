//! Trials that did not converge are censored, never dropped: percentiles that land among them read as bounds,
//! CDFs plateau at the measured share, and a point that measured nothing still shows in legends and tables.

use assert_cmd::Command;
use raftsim::metric::Metric;
use raftsim::report::dist::cdf_chart;
use raftsim::scenario;
use raftsim::stats::Aggregate;
use raftsim::study::Study;
use raftsim::trial::run_trial;
use serde_json::Value;
use std::path::Path;

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// With election timeouts 150-151 ms most trials split votes until the time limit: the median convergence time
/// is beyond what was measured, and the report must say so rather than give the median of the converged trials.
#[test]
fn a_median_among_the_unconverged_trials_is_reported_as_censored() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let assert = Command::cargo_bin("raftsim")
        .unwrap()
        .args([
            "run",
            "tests/fixtures/slow-broadcast.yaml",
            "--no-progress",
            "--trials",
            "40",
        ])
        .args(["--set", "raft.election_timeout.max=151ms", "--out"])
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let summary = read_json(&out.join("summary.json"));
    let converged = summary["converged"].as_u64().unwrap();
    let not_converged = summary["not_converged"].as_u64().unwrap();
    assert!(
        not_converged > converged,
        "most trials do not converge: {converged} converged"
    );
    let conv = &summary["convergence_ms"];
    let (count, censored) = (conv["count"].as_u64().unwrap(), conv["censored"].as_u64().unwrap());
    assert_eq!(count, converged, "one failover per trial");
    assert!(censored > count, "{censored} censored of {}", count + censored);
    for stat in ["p50", "p90", "p99", "max", "mean"] {
        let bound = conv[stat]["censored_above_ms"].as_f64();
        assert!(bound.is_some_and(|b| b > 0.0), "{stat} is censored: {}", conv[stat]);
    }
    assert!(conv["min"].is_f64(), "the fastest trial was measured");
    assert!(
        conv["p50_ci"][1]["censored_above_ms"].is_f64(),
        "the interval's top is censored too"
    );
    let row = stdout
        .lines()
        .find(|l| l.starts_with("convergence"))
        .expect("a convergence row");
    assert!(row.contains(" >"), "the terminal shows the censored median: {row}");
    assert!(stdout.contains("95% CI: p50 "), "{stdout}");

    // The CDF plateaus at the converged share of all trials.
    let s = scenario::load(
        Path::new("tests/fixtures/slow-broadcast.yaml"),
        &["raft.election_timeout.max=151ms".to_string(), "trials=40".to_string()],
    )
    .unwrap();
    let mut agg = Aggregate::default();
    for i in 0..40 {
        agg.add(&run_trial(&s, i));
    }
    assert_eq!(agg.converged, converged, "the same trials");
    let chart = cdf_chart(
        &Study::run(&s, String::new()),
        std::slice::from_ref(&agg),
        Metric::Convergence,
    );
    let line = &chart.lines[0];
    let top = line.points.iter().map(|p| p.1).fold(0.0, f64::max);
    assert_eq!(
        top,
        converged as f64 / 40.0,
        "the line ends at the converged fraction, not at 1"
    );
    assert!(line.label.contains("% not converged in 60s"), "{}", line.label);
}

/// With no randomness at all (150-150 ms) no trial ever elects a leader: the point has no convergence sample,
/// yet it is in the sweep's table and in the CDF chart's legend, drawn as a flat line.
#[test]
fn a_point_with_no_converged_trial_is_in_the_legend_and_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let assert = Command::cargo_bin("raftsim")
        .unwrap()
        .args([
            "sweep",
            "tests/fixtures/slow-broadcast-randomness.yaml",
            "--no-progress",
            "--trials",
            "6",
        ])
        .args(["--axis", "raft.election_timeout.max=150ms,300ms", "--out"])
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let label = stdout
        .lines()
        .find(|l| l.contains("150ms") && !l.contains("300ms"))
        .unwrap_or_else(|| panic!("a row for the 150-150 point:\n{stdout}"));
    assert!(label.contains("100.0%"), "its not-converged share: {label}");
    assert!(stdout.contains("no sample of convergence_ms"), "{stdout}");
    let sweep = read_json(&out.join("sweep.json"));
    let first = &sweep["points"][0]["summary"];
    assert_eq!(first["not_converged"], 6);
    assert!(
        first["first_leader_ms"]["p50"]["censored_above_ms"].is_f64(),
        "no first leader in 60 s"
    );
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "a header and both points");
    let cdf = svg_text(&std::fs::read_to_string(out.join("cdf.svg")).unwrap());
    assert!(
        cdf.contains("150ms (no sample; 100.0% not converged in 60s)"),
        "the empty point is in the legend: {cdf}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("no sample; 100.0% not converged in 60s"),
        "and in the page's table"
    );
    for chart in ["cdf.png", "percentiles.png", "tradeoff.png"] {
        assert!(out.join(chart).is_file(), "{chart}");
    }
}

/// The text of an SVG document's `<text>` elements, joined by spaces (a long legend entry wraps over several).
fn svg_text(svg: &str) -> String {
    let mut words = Vec::new();
    for chunk in svg.split("<text").skip(1) {
        if let Some(start) = chunk.find('>')
            && let Some(end) = chunk.find("</text>")
            && start < end
        {
            words.push(chunk[start + 1..end].trim().to_string());
        }
    }
    words.join(" ")
}
