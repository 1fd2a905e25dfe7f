//! The files of a sweep: `sweep.json`, `sweep.csv`, its charts and page, and the terminal table.

use super::chart::{Line, LineChart};
use super::dir::ReportDir;
use super::dist::{cdf_chart, lead_metric, not_converged_note};
use super::figure::{Figure, write_figures_and_page};
use super::html;
use super::run::point_summary;
use crate::metric::Metric;
use crate::stats::{Aggregate, Quantile, Stat, interval_short};
use crate::study::Study;
use serde_json::{Value, json};
use std::fmt::Write as _;

/// Writes `sweep.json`, `sweep.csv`, the charts and the page into `dir`, adding their names to `files`.
pub fn write(
    study: &Study,
    aggs: &[Aggregate],
    partial: bool,
    dir: &ReportDir,
    files: &mut Vec<String>,
) -> anyhow::Result<()> {
    let metric = lead_metric(study, aggs);
    dir.write(
        "sweep.json",
        (serde_json::to_string_pretty(&sweep_json(study, aggs, metric, partial))? + "\n").as_bytes(),
    )?;
    dir.write("sweep.csv", sweep_csv(study, aggs).as_bytes())?;
    files.push("sweep.json".to_string());
    files.push("sweep.csv".to_string());
    let mut figures = Vec::new();
    let cdf = cdf_chart(study, aggs, metric);
    if cdf.lines.iter().any(|l| !l.points.is_empty()) {
        let caption = format!("CDF of {}, one line per point", metric.words());
        figures.push(Figure::lines(dir, "cdf", caption, &cdf)?);
        let caption = "p50, p99 and max against the swept value, with the 95 % intervals of p50 and p99 shaded \
                       (up to the value where the interval's top is open: too few samples, or censored); a \
                       triangle marks a censored value (at least the mark)"
            .to_string();
        figures.push(Figure::lines(
            dir,
            "percentiles",
            caption,
            &percentile_chart(study, aggs, metric),
        )?);
        let caption =
            "failover p99 against spurious elections per hour: pick a point on the lower-left frontier".to_string();
        figures.push(Figure::lines(
            dir,
            "tradeoff",
            caption,
            &tradeoff_chart(study, aggs, metric),
        )?);
    }
    let page = html::sweep_page(study, aggs, &figures, metric);
    write_figures_and_page(dir, &figures, &page, files)
}

/// Version tag of `sweep.json`'s layout: each point's summary is a `summary.json` of the same version (v4: rounds
/// and split votes counted until convergence, elections and availability added).
pub const SWEEP_SCHEMA: &str = "raftsim.sweep.v4";

/// `sweep.json`: the axes, and each point's summary and scenario.
pub fn sweep_json(study: &Study, aggs: &[Aggregate], metric: Metric, partial: bool) -> Value {
    let points: Vec<Value> = study
        .points
        .iter()
        .zip(aggs)
        .enumerate()
        .map(|(i, (p, a))| {
            let mut v = point_summary(p, a, partial);
            let obj = v.as_object_mut().expect("object");
            obj.remove("config");
            obj.remove("schema");
            // Listed once, for every point, at the top.
            obj.shift_remove("warnings");
            let values: serde_json::Map<String, Value> = study
                .axes
                .iter()
                .zip(&p.values)
                .map(|(axis, val)| (axis.name.clone(), Value::String(val.label.clone())))
                .collect();
            json!({ "point": i, "label": p.label, "values": values, "summary": v, "config": p.raw })
        })
        .collect();
    json!({
        "schema": SWEEP_SCHEMA,
        "sweep": study.name,
        "seed_derivation": sim_core::rng::DERIVATION,
        "description": study.description,
        "partial": partial,
        "warnings": sweep_warnings(study),
        "axes": study.axes.iter().map(|a| json!({
            "name": a.name,
            "values": a.values.iter().map(|v| v.label.clone()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "headline_metric": metric,
        "points": points,
    })
}

/// Every point's configuration warnings, each with its point's index and label.
fn sweep_warnings(study: &Study) -> Vec<Value> {
    study
        .points
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            crate::lint::lint(p.scenario())
                .into_iter()
                .map(move |w| json!({ "point": i, "label": p.label, "field": w.field, "message": w.message }))
        })
        .collect()
}

/// The x coordinate of each point: the first axis with numeric values, else the point index.
fn x_of(study: &Study) -> (String, Vec<f64>) {
    if let Some(k) = study
        .axes
        .iter()
        .position(|a| a.values.iter().all(|v| v.numeric.is_some()))
    {
        let name = &study.axes[k].name;
        let unit = if study.axes[k].values.iter().any(|v| {
            v.sets
                .first()
                .is_some_and(|(_, val)| val.as_str().is_some_and(|s| crate::duration::parse_duration(s).is_ok()))
        }) {
            " (ms)"
        } else {
            ""
        };
        (
            format!("{name}{unit}"),
            study
                .points
                .iter()
                .map(|p| p.values[k].numeric.unwrap_or(0.0))
                .collect(),
        )
    } else {
        ("point".into(), (0..study.points.len()).map(|i| i as f64).collect())
    }
}

/// p50, p99 and max of the headline metric against the swept value. With several axes, one set of lines per
/// combination of the other axes.
fn percentile_chart(study: &Study, aggs: &[Aggregate], metric: Metric) -> LineChart {
    let (x_label, xs) = x_of(study);
    let k = study
        .axes
        .iter()
        .position(|a| a.values.iter().all(|v| v.numeric.is_some()));
    // Group points by the values of every other axis.
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, p) in study.points.iter().enumerate() {
        let key: String = p
            .values
            .iter()
            .enumerate()
            .filter(|(j, _)| Some(*j) != k)
            .map(|(j, v)| format!("{}={}", crate::sweep::short(&study.axes[j].name), v.label))
            .collect::<Vec<_>>()
            .join(", ");
        match groups.iter_mut().find(|(g, _)| *g == key) {
            Some((_, members)) => members.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    let ms = |q: Quantile| match q {
        Quantile::At(us) | Quantile::Above(us) => us as f64 / 1000.0,
    };
    let mut lines = Vec::new();
    for (key, members) in &groups {
        for (name, q) in [("p50", 0.5), ("p99", 0.99), ("max", 1.0)] {
            let mut line = Line::default();
            let mut members = members.clone();
            members.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
            for &i in &members {
                let d = aggs[i].dist(metric);
                match d.quantile(q) {
                    Some(Quantile::At(us)) => line.points.push((xs[i], us as f64 / 1000.0)),
                    Some(above) => line.censored.push((xs[i], ms(above))),
                    None => {}
                }
                if q < 1.0
                    && let (Some(value), Some([lo, hi])) = (d.quantile(q), d.interval(q))
                {
                    // A top that too few samples bound, or that is censored, is open: the band stops at the
                    // value (the caption says so) rather than filling the chart.
                    let hi = match hi {
                        Some(Quantile::At(us)) => us as f64 / 1000.0,
                        _ => ms(value),
                    };
                    line.band.push((xs[i], lo.map_or(0.0, ms), hi));
                }
            }
            line.label = match (key.is_empty(), q < 1.0) {
                (true, true) => format!("{name} (shaded: 95% interval)"),
                (true, false) => name.to_string(),
                (false, _) => format!("{name} ({key})"),
            };
            lines.push(line);
        }
    }
    // Points that measured nothing have no value to draw: the legend names them.
    for (p, a) in study.points.iter().zip(aggs) {
        if a.dist(metric).quantile(0.5).is_none() {
            lines.push(Line {
                label: format!(
                    "not drawn: {}{}",
                    p.label,
                    not_converged_note(a, metric, p.scenario().time_limit)
                ),
                ..Line::default()
            });
        }
    }
    LineChart {
        title: format!("{}: {} percentiles", study.name, metric.words()),
        x_label,
        y_label: format!("{} (ms, log scale)", metric.words()),
        x_log: false,
        y_log: true,
        scatter: false,
        unit_y: false,
        x_zero_at: None,
        lines,
    }
}

/// Failover p99 against spurious elections per hour, one dot per point, and the frontier through the points that
/// no other point beats on both.
fn tradeoff_chart(study: &Study, aggs: &[Aggregate], metric: Metric) -> LineChart {
    // On the log axis, "none seen" sits one decade below the smallest rate seen, at a tick labelled 0.
    let least = aggs
        .iter()
        .map(Aggregate::spurious_per_hour)
        .filter(|r| *r > 0.0)
        .fold(f64::INFINITY, f64::min);
    let zero_at = if least.is_finite() {
        10f64.powf(least.log10().floor() - 1.0)
    } else {
        0.1
    };
    let mut measured: Vec<(f64, f64)> = Vec::new();
    let mut lines: Vec<Line> = study
        .points
        .iter()
        .zip(aggs)
        .map(|(p, a)| {
            let Some(p99) = a.dist(metric).summary().p99 else {
                // Nothing measured: named in the legend, not silently left out.
                return Line {
                    label: format!(
                        "not drawn: {}{}",
                        p.label,
                        not_converged_note(a, metric, p.scenario().time_limit)
                    ),
                    ..Line::default()
                };
            };
            let rate = a.spurious_per_hour();
            let dot = (if rate > 0.0 { rate } else { zero_at }, p99.ms());
            match p99 {
                Stat::Ms(_) => {
                    measured.push(dot);
                    Line {
                        label: p.label.clone(),
                        points: vec![dot],
                        ..Line::default()
                    }
                }
                Stat::AboveMs(_) => Line {
                    label: format!("{} (p99 {})", p.label, p99.short()),
                    censored: vec![dot],
                    ..Line::default()
                },
            }
        })
        .collect();
    measured.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut frontier: Vec<(f64, f64)> = Vec::new();
    for p in measured {
        if frontier.last().is_none_or(|last| p.1 < last.1) {
            frontier.push(p);
        }
    }
    if frontier.len() > 1 {
        lines.push(Line {
            label: "frontier: no other point is both faster and more stable".into(),
            points: frontier,
            joined: true,
            ..Line::default()
        });
    }
    LineChart {
        title: format!("{}: speed against stability", study.name),
        x_label: "spurious elections per hour of simulated time (log scale; 0: none seen)".into(),
        y_label: format!("p99 {} (ms)", metric.words()),
        x_log: true,
        y_log: false,
        scatter: true,
        unit_y: false,
        x_zero_at: Some(zero_at),
        lines,
    }
}

/// `sweep.csv`: one row per point with every axis value and the summary statistics.
pub fn sweep_csv(study: &Study, aggs: &[Aggregate]) -> String {
    let mut out = String::from("point");
    for a in &study.axes {
        let _ = write!(out, ",{}", csv_field(&a.name));
    }
    out.push_str(",trials,converged,not_converged,violations");
    for m in Metric::LEADER_TIMES {
        for s in ["count", "censored", "min", "mean", "p50", "p90", "p99", "p999", "max"] {
            let _ = write!(out, ",{m}_{s}");
        }
        for s in ["p50", "p90", "p99", "p999"] {
            let _ = write!(out, ",{m}_{s}_ci_low,{m}_{s}_ci_high");
        }
    }
    out.push_str(",rounds_mean,rounds_max,split_votes_mean,spurious_elections_per_hour,messages_mean");
    out.push_str(",elections_per_hour,elections_without_reachable_leader_per_hour,leader_availability_mean");
    out.push_str(",write_availability_mean\n");
    for (i, (p, a)) in study.points.iter().zip(aggs).enumerate() {
        let _ = write!(out, "{i}");
        for v in &p.values {
            let _ = write!(out, ",{}", csv_field(&v.label));
        }
        let _ = write!(
            out,
            ",{},{},{},{}",
            a.trials, a.converged, a.not_converged, a.violations
        );
        for m in Metric::LEADER_TIMES {
            let s = a.dist(m).summary();
            let _ = write!(out, ",{},{}", s.count, s.censored);
            let cell = |v: Option<Stat>| v.map(Stat::csv).unwrap_or_default();
            for v in s.values() {
                let _ = write!(out, ",{}", cell(v));
            }
            for ci in s.intervals() {
                let [lo, hi] = ci.unwrap_or([None, None]);
                let _ = write!(out, ",{},{}", cell(lo), cell(hi));
            }
        }
        let per = |x: u64| a.per_trial(x);
        let rounds = a.rounds_mean().map(|r| r.to_string()).unwrap_or_default();
        let mean = |f: &crate::stats::MeanFraction| f.mean().map(|m| m.to_string()).unwrap_or_default();
        let _ = writeln!(
            out,
            ",{rounds},{},{},{},{},{},{},{},{}",
            a.rounds_max,
            per(a.split_votes),
            a.spurious_per_hour(),
            per(a.messages.iter().sum()),
            a.per_hour(a.elections),
            a.per_hour(a.elections - a.elections_with_leader),
            mean(&a.leader_availability),
            mean(&a.write_availability)
        );
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The headline numbers of each point, for the terminal.
pub fn sweep_table(study: &Study, aggs: &[Aggregate], partial: bool) -> String {
    let metric = lead_metric(study, aggs);
    let mut out = String::new();
    if partial {
        let done: u64 = aggs.iter().map(|a| a.trials).sum();
        let requested: u64 = study.points.iter().map(|p| p.scenario().trials).sum();
        let _ = writeln!(
            out,
            "PARTIAL RESULT: interrupted after {done} of {requested} trials; each point's figures are of its trials \
             that finished (column `trials`)\n"
        );
    }
    let _ = writeln!(
        out,
        "sweep {}: {} points, {} (ms), seed {}",
        study.name,
        study.points.len(),
        metric.words(),
        study.points.first().map_or(0, |p| p.scenario().seed)
    );
    let _ = writeln!(out);
    let width = study.points.iter().map(|p| p.label.len()).max().unwrap_or(5).max(5);
    let _ = writeln!(
        out,
        "{:<width$} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>11}",
        "point", "trials", "p50", "p90", "p99", "p99.9", "max", "not conv.", "spurious/h"
    );
    for (p, a) in study.points.iter().zip(aggs) {
        let s = a.dist(metric).summary();
        let f = |v: Option<Stat>| v.map_or("-".to_string(), Stat::short);
        let _ = writeln!(
            out,
            "{:<width$} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9.1}% {:>11.2}",
            p.label,
            a.trials,
            f(s.p50),
            f(s.p90),
            f(s.p99),
            f(s.p999),
            f(s.max),
            a.not_converged as f64 * 100.0 / a.trials.max(1) as f64,
            a.spurious_per_hour()
        );
        if s.p50.is_some() {
            let _ = writeln!(
                out,
                "{:<width$}   95% CI: p50 {}, p99 {}",
                "",
                interval_short(s.p50_ci),
                interval_short(s.p99_ci)
            );
        } else {
            let _ = writeln!(out, "{:<width$}   no sample of {metric}", "");
        }
    }
    let nc: u64 = aggs.iter().map(|a| a.not_converged).sum();
    let v: u64 = aggs.iter().map(|a| a.violations).sum();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{nc} trials did not converge within their time limit; {v} violations"
    );
    out
}
