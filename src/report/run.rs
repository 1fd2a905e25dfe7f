//! The files of a single-scenario run: `summary.json`, its charts and page, and the terminal table.

use super::dir::ReportDir;
use super::dist::{HISTOGRAM_BINS, bin_edges_us, cdf_chart, exemplars_json, headline, histogram_json, lead_metric};
use super::figure::{Figure, write_figures_and_page};
use super::{chart::HistogramChart, html};
use crate::metric::Metric;
use crate::scenario::{Scenario, describe_timers};
use crate::stats::{Aggregate, MeanFraction, Stat, interval_short};
use crate::study::{Study, StudyPoint};
use crate::trial::message_names;
use serde_json::{Value, json};
use std::fmt::Write as _;

/// Version tag of `summary.json`'s layout.
/// v2: adds `seed_derivation` (draws from one named stream per consumer, [`sim_core::rng::DERIVATION`]).
/// v3: statistics may be censored (`{"censored_above_ms": x}` instead of a number); adds `censored` and the
/// `p50_ci`..`p999_ci` intervals.
/// v4: `rounds` and `split_votes` count every term campaigned in from the fault until the cluster converged (not
/// only until the first leader); adds `elections` and `availability`.
pub const SUMMARY_SCHEMA: &str = "raftsim.summary.v4";

/// Writes `summary.json`, the charts and the page of the study's one point into `dir`, adding their names to
/// `files`.
pub fn write(
    study: &Study,
    agg: &Aggregate,
    partial: bool,
    dir: &ReportDir,
    files: &mut Vec<String>,
) -> anyhow::Result<()> {
    let metric = lead_metric(study, std::slice::from_ref(agg));
    let summary = point_summary(&study.points[0], agg, partial);
    dir.write(
        "summary.json",
        (serde_json::to_string_pretty(&summary)? + "\n").as_bytes(),
    )?;
    files.push("summary.json".to_string());
    let mut figures = Vec::new();
    let d = agg.dist(metric);
    if d.count() > 0 {
        let edges = bin_edges_us(d, HISTOGRAM_BINS);
        let sm = d.summary();
        let censored = match sm.max {
            Some(max) if d.censored() > 0 => format!("; {} more not measured, {}", d.censored(), max.short()),
            _ => String::new(),
        };
        let hist = HistogramChart {
            title: format!(
                "{}: {} ({} sample{}{censored})",
                study.name,
                metric.words(),
                d.count(),
                if d.count() == 1 { "" } else { "s" }
            ),
            x_label: format!("{} (ms)", metric.words()),
            edges_ms: edges.iter().map(|&e| e as f64 / 1000.0).collect(),
            counts: d.bin_counts(&edges),
            markers: [("p50", sm.p50), ("p99", sm.p99)]
                .into_iter()
                .filter_map(|(l, v)| match v {
                    Some(Stat::Ms(v)) => Some((l.to_string(), v)),
                    _ => None,
                })
                .collect(),
        };
        let caption = format!("Histogram of {}", metric.words());
        figures.push(Figure::histogram(dir, metric.name(), caption, &hist)?);
        let caption = format!("CDF of {}", metric.words());
        let cdf = cdf_chart(study, std::slice::from_ref(agg), metric);
        figures.push(Figure::lines(dir, &format!("{metric}_cdf"), caption, &cdf)?);
    }
    let page = html::run_page(study, agg, &summary, &figures);
    write_figures_and_page(dir, &figures, &page, files)
}

/// `summary.json`: simulated results only, so it is byte-identical for the same scenario and seed.
pub fn summary_json(s: &Scenario, agg: &Aggregate, partial: bool) -> Value {
    let per_trial = |x: u64| agg.per_trial(x);
    let mut messages = serde_json::Map::new();
    for (k, name) in message_names().iter().enumerate() {
        messages.insert(name.to_string(), json!(per_trial(agg.messages[k])));
    }
    messages.insert("total".into(), json!(per_trial(agg.messages.iter().sum())));
    let mut summary = json!({
        "schema": SUMMARY_SCHEMA,
        "scenario": s.name,
        "seed": s.seed,
        "seed_derivation": sim_core::rng::DERIVATION,
        "trials": agg.trials,
        "trials_requested": s.trials,
        "partial": partial,
        "converged": agg.converged,
        "not_converged": agg.not_converged,
        "violations": agg.violations,
        "warnings": crate::lint::lint(s),
    });
    let fields = summary.as_object_mut().expect("an object");
    for m in Metric::ALL {
        fields.insert(m.name().into(), json!(agg.dist(m).summary()));
    }
    let Value::Object(rest) = json!({
        "commands": { "submitted": agg.commands.0, "refused_not_leader": agg.commands.1 },
        "rounds": {
            "mean": agg.rounds_mean(),
            "max": agg.rounds_max,
        },
        "split_votes": { "total": agg.split_votes, "mean": per_trial(agg.split_votes) },
        "spurious_elections": { "total": agg.spurious_elections, "per_hour": agg.spurious_per_hour() },
        "elections": elections_json(agg),
        "availability": {
            "leader": fraction_json(&agg.leader_availability),
            "write": fraction_json(&agg.write_availability),
        },
        "disruptions": { "total": agg.disruptions, "mean": per_trial(agg.disruptions) },
        "messages": messages,
        "histogram": histogram_json(agg),
        "violation_list": agg.violation_list,
        "not_converged_trials": agg.not_converged_list,
        "config": serde_json::to_value(&s.raw).expect("scenario serializes"),
    }) else {
        unreachable!("json! of a map is an object")
    };
    fields.extend(rest);
    summary
}

/// Elections started, with and without a healthy leader reachable from the candidate: each in all, per trial
/// and per hour of simulated time.
pub fn elections_json(agg: &Aggregate) -> Value {
    let count = |x: u64| json!({ "total": x, "mean": agg.per_trial(x), "per_hour": agg.per_hour(x) });
    json!({
        "total": count(agg.elections),
        "with_reachable_leader": count(agg.elections_with_leader),
        "without_reachable_leader": count(agg.elections - agg.elections_with_leader),
    })
}

/// A mean fraction per trial as `{ "mean", "ci", "trials" }`; `null` when no trial measured it.
pub fn fraction_json(f: &MeanFraction) -> Value {
    match f.mean() {
        Some(mean) => json!({ "mean": mean, "ci": f.interval(), "trials": f.count }),
        None => Value::Null,
    }
}

/// A mean fraction per trial for tables: `0.9987 (95% CI 0.9981–0.9992)`, `-` when nothing was measured.
pub fn fraction_short(f: &MeanFraction) -> String {
    match (f.mean(), f.interval()) {
        (Some(mean), Some([lo, hi])) => format!("{mean:.4} (95% CI {lo:.4}–{hi:.4})"),
        (Some(mean), None) => format!("{mean:.4}"),
        _ => "-".to_string(),
    }
}

/// Everything `summary.json` says about one point.
pub fn point_summary(point: &StudyPoint, agg: &Aggregate, partial: bool) -> Value {
    let s = point.scenario();
    let mut v = summary_json(s, agg, partial);
    let metric = headline(std::slice::from_ref(agg));
    let edges = bin_edges_us(agg.dist(metric), HISTOGRAM_BINS);
    let mut ex = serde_json::Map::new();
    for m in Metric::LEADER_TIMES {
        let dm = agg.dist(m);
        if dm.count() > 0 {
            ex.insert(
                m.name().into(),
                exemplars_json(point, dm, if m == metric { &edges } else { &[] }),
            );
        }
    }
    v["exemplars"] = Value::Object(ex);
    v
}

/// The terminal summary table; `partial` when the run was interrupted, which its first line then says.
pub fn summary_table(s: &Scenario, agg: &Aggregate, partial: bool) -> String {
    let mut out = String::new();
    if partial {
        let _ = writeln!(
            out,
            "PARTIAL RESULT: interrupted after {} of {} trials; the figures below are of the trials that finished\n",
            agg.trials, s.trials
        );
    }
    let _ = writeln!(
        out,
        "scenario {}: {} nodes, {}, {} trials, seed {}",
        s.name,
        s.nodes,
        describe_timers(&s.raft),
        agg.trials,
        s.seed
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<14} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "(ms)", "count", "censored", "min", "mean", "p50", "p90", "p99", "p99.9", "max"
    );
    for m in Metric::ALL {
        let d = agg.dist(m);
        if m.is_commit() && d.count() == 0 && d.censored() == 0 {
            continue;
        }
        let sm = d.summary();
        let _ = write!(out, "{:<14} {:>9} {:>9}", m.label(), sm.count, sm.censored);
        for v in sm.values() {
            let _ = write!(out, " {:>9}", v.map_or("-".to_string(), Stat::short));
        }
        out.push('\n');
        if sm.p50.is_some() {
            let _ = writeln!(
                out,
                "{:<14} 95% CI: p50 {}, p99 {}",
                "",
                interval_short(sm.p50_ci),
                interval_short(sm.p99_ci)
            );
        }
    }
    if Metric::ALL.iter().any(|&m| agg.dist(m).censored() > 0) {
        let _ = writeln!(
            out,
            "(censored: not measured by the end of a trial that did not converge, each longer than it had waited; \
         >X: at least X, a value the censored samples may exceed)"
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "converged {} of {} trials; {} did not converge within {}; {} violations",
        agg.converged,
        agg.trials,
        agg.not_converged,
        crate::duration::Dur(s.time_limit),
        agg.violations
    );
    let _ = writeln!(
        out,
        "election rounds: mean {:.2}, max {}; split votes: {} in all ({:.3} per trial)",
        agg.rounds_mean().unwrap_or(0.0),
        agg.rounds_max,
        agg.split_votes,
        agg.per_trial(agg.split_votes)
    );
    let _ = writeln!(
        out,
        "spurious elections (a healthy leader existed): {} in all, {:.2} per hour of simulated time; \
         healthy leaders deposed: {}",
        agg.spurious_elections,
        agg.spurious_per_hour(),
        agg.disruptions
    );
    let without = agg.elections - agg.elections_with_leader;
    let _ = writeln!(
        out,
        "elections started: {} in all ({:.2} per trial, {:.2} per hour); with a reachable healthy leader {} \
         ({:.2} per hour), without {} ({:.2} per hour)",
        agg.elections,
        agg.per_trial(agg.elections),
        agg.per_hour(agg.elections),
        agg.elections_with_leader,
        agg.per_hour(agg.elections_with_leader),
        without,
        agg.per_hour(without)
    );
    let _ = write!(
        out,
        "availability (mean per trial): leader followed by a majority {}",
        fraction_short(&agg.leader_availability)
    );
    if let Some(w) = &s.workload
        && agg.write_availability.count > 0
    {
        let _ = write!(
            out,
            "; writes committed within {} {}",
            crate::duration::Dur(w.commit_bound),
            fraction_short(&agg.write_availability)
        );
    }
    out.push('\n');
    let per = |x: u64| agg.per_trial(x);
    let names = message_names();
    let _ = writeln!(
        out,
        "messages per trial: {} {:.1}, {} {:.1}, {} {:.1}, {} {:.1}",
        names[0],
        per(agg.messages[0]),
        names[1],
        per(agg.messages[1]),
        names[2],
        per(agg.messages[2]),
        names[3],
        per(agg.messages[3])
    );
    out
}
