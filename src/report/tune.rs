//! A tune report: `tune.json`, the frontier chart (failover against spurious elections, the chosen point marked)
//! and `report.html`.

use super::chart::{Line, LineChart};
use super::dir::ReportDir;
use super::figure::{Figure, write_figures_and_page};
use super::html::{esc, figure_tags, head};
use crate::tune::{Status, TuneResult, settings_text, text, tune_json};
use std::fmt::Write as _;

/// The frontier: each candidate with a stable-run estimate as a dot at (spurious per node-day, objective), in
/// groups; candidates with none seen are drawn at their upper 95 % bound (3/T), which is what was shown.
pub fn frontier_chart(r: &TuneResult) -> LineChart {
    let mut groups: [(String, Vec<(f64, f64)>); 4] = [
        ("chosen".into(), Vec::new()),
        ("runners-up".into(), Vec::new()),
        ("rejected: over budget".into(), Vec::new()),
        ("rejected: slower".into(), Vec::new()),
    ];
    for o in &r.outcomes {
        let (Some(s), Some(y)) = (&o.spurious, o.objective_ms) else {
            continue;
        };
        let x = if s.count == 0 { s.rate_ci[1] } else { s.rate };
        let g = match &o.status {
            Status::Chosen => 0,
            Status::RunnerUp => 1,
            Status::Rejected { why: "over_budget", .. } => 2,
            Status::Rejected { .. } => 3,
        };
        groups[g].1.push((x.max(1e-3), y));
    }
    if let Some(c) = r.chosen {
        groups[0].0 = format!("chosen: {}", r.outcomes[c].label);
    }
    let lines = groups
        .into_iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|(label, mut points)| {
            points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
            Line {
                label,
                points,
                ..Line::default()
            }
        })
        .collect();
    LineChart {
        title: format!(
            "tune: {} failover against spurious elections (budget {} per node-day)",
            r.input.objective.name(),
            r.input.max_spurious_per_node_day
        ),
        x_label: "spurious elections per node-day (log scale; none seen: drawn at the upper 95% bound 3/T)".into(),
        y_label: format!("{} failover (ms)", r.input.objective.name()),
        x_log: true,
        y_log: false,
        scatter: true,
        unit_y: false,
        x_zero_at: None,
        lines,
    }
}

/// Writes `tune.json`, `frontier.svg/png` and `report.html` into `dir`; returns the file names.
pub fn write(r: &TuneResult, dir: &ReportDir) -> anyhow::Result<Vec<String>> {
    let json = serde_json::to_string_pretty(&tune_json(r))? + "\n";
    dir.write("tune.json", json.as_bytes())?;
    let mut files = vec!["tune.json".to_string()];
    if let Some(c) = r.chosen {
        let yaml = format!(
            "# The recommended settings in raftsim's leader-crash scenario as `raftsim tune` ran it; check it with\n\
             # raftsim run <this file> --trials 100000\n{}",
            crate::tune::failover_yaml(&r.input, &r.outcomes[c].candidate)
        );
        dir.write("scenario.yaml", yaml.as_bytes())?;
        files.push("scenario.yaml".to_string());
    }
    let fig = Figure::lines(
        dir,
        "frontier",
        "Each candidate that had stable runs: its failover objective against its spurious-election rate".into(),
        &frontier_chart(r),
    )?;
    let figures = vec![fig];
    write_figures_and_page(dir, &figures, &page(r, &figures), &mut files)?;
    Ok(files)
}

fn page(r: &TuneResult, figures: &[Figure]) -> String {
    let mut out = String::new();
    head(&mut out, "raftsim tune");
    let _ = writeln!(out, "<h1>raftsim tune</h1>\n<pre>{}</pre>", esc(&text(r)));
    if let Some(c) = r.chosen {
        let _ = writeln!(
            out,
            "<h2>Settings to paste</h2>\n<pre>{}</pre>",
            esc(&settings_text(r.input.library, &r.outcomes[c].candidate))
        );
    }
    figure_tags(&mut out, figures);
    let _ = writeln!(
        out,
        "<h2>Every candidate</h2>\n<table><thead><tr><th>settings</th><th>trials</th><th>{}</th><th>95% CI</th>\
         <th>spurious / node-day</th><th>node-days</th><th>verdict</th></tr></thead><tbody>",
        r.input.objective.name()
    );
    for o in &r.outcomes {
        let f = |x: Option<f64>| x.map_or("?".to_string(), |v| format!("{v:.1}"));
        let (sp, days) = o.spurious.as_ref().map_or(("-".into(), "-".into()), |s| {
            (
                format!("{:.2} ({:.2}-{:.2})", s.rate, s.rate_ci[0], s.rate_ci[1]),
                format!("{:.2}", s.node_days),
            )
        });
        let verdict = match &o.status {
            Status::Chosen => "chosen".to_string(),
            Status::RunnerUp => "runner-up".to_string(),
            Status::Rejected { round, detail, .. } => format!("round {round}: {detail}"),
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}–{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&o.label),
            o.trials,
            f(o.objective_ms),
            f(o.objective_ci_ms[0]),
            f(o.objective_ci_ms[1]),
            sp,
            days,
            esc(&verdict)
        );
    }
    out.push_str("</tbody></table>\n<p>tune.json holds every figure; <a href=\"tune.json\">tune.json</a>.</p>\n</body>\n</html>\n");
    out
}
