//! `report.html`: one self-contained page per report folder (charts inline as SVG, no scripts, no fetches).

use super::dist::{HISTOGRAM_BINS, bin_edges_us, headline, not_converged_note};
use super::figure::Figure;
use crate::metric::Metric;
use crate::scenario::describe_timers;
use crate::stats::{Aggregate, Dist, Exemplar, Interval, Quantile, Stat, interval_short};
use crate::study::{Study, StudyPoint};
use serde_json::Value;
use std::fmt::Write as _;

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1040px;margin:2em auto;\
padding:0 1em;color:#222}h1{margin-bottom:.2em}.lead{color:#555;margin-top:0}table{border-collapse:collapse;\
margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th:first-child,\
td:first-child{text-align:left}thead{background:#f3f3f3}figure{margin:1.5em 0}figure svg{width:100%;height:auto;\
border:1px solid #eee}figcaption{color:#555;font-size:14px}code,pre{font-family:ui-monospace,monospace;font-size:13px}\
td code{overflow-wrap:anywhere}pre{background:#f7f7f7;padding:1em;overflow:auto}.num{font-size:28px;font-weight:600}.cards{display:flex;gap:1em;\
flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:150px}.card div{color:#555;\
font-size:13px}.bad{color:#b00}";

pub(super) fn head(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(title)
    );
}

/// Strips the XML prolog so an SVG document can sit inside HTML.
fn inline_svg(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

pub(super) fn figure_tags(out: &mut String, figures: &[Figure]) {
    for Figure { stem, caption, svg } in figures {
        let _ = write!(
            out,
            "<figure id=\"{s}\">\n{}\n<figcaption>{} — <a href=\"{s}.svg\">{s}.svg</a>, <a href=\"{s}.png\">{s}.png</a>\
             </figcaption>\n</figure>\n",
            inline_svg(svg),
            esc(caption),
            s = esc(stem)
        );
    }
}

/// A statistic in a cell: `165.1`, `>58.9s` when censored, `–` when there is none.
fn cell(v: Option<Stat>) -> String {
    v.map_or("–".to_string(), |x| esc(&x.short()))
}

/// A percentile in a cell with its 95 % interval below it.
fn cell_ci(v: Option<Stat>, ci: Option<Interval>) -> String {
    match ci {
        Some(ci) => format!("{}<br><small>{}</small>", cell(v), esc(&interval_short(Some(ci)))),
        None => cell(v),
    }
}

const CENSORING_NOTE: &str = "<p><small>Below each percentile, its distribution-free 95 % interval (from the \
histogram, 3 significant digits; ? where there are too few samples to bound a side). <i>censored</i>: measurements a \
trial that did not converge never made, each longer than it had waited when the trial stopped; a statistic reading \
&gt;X is at least X, and the censored samples may make it longer.</small></p>\n";

fn stats_table(out: &mut String, rows: &[(&str, &Dist)]) {
    out.push_str(
        "<table>\n<thead><tr><th>metric (ms)</th><th>count</th><th>censored</th><th>min</th><th>mean</th><th>p50</th>\
         <th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr></thead>\n<tbody>\n",
    );
    for (name, d) in rows {
        let s = d.summary();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            esc(name),
            s.count,
            s.censored,
            cell(s.min),
            cell(s.mean)
        );
        for (v, ci) in [s.p50, s.p90, s.p99, s.p999].into_iter().zip(s.intervals()) {
            let _ = write!(out, "<td>{}</td>", cell_ci(v, ci));
        }
        let _ = write!(out, "<td>{}</td>", cell(s.max));
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out.push_str(CENSORING_NOTE);
}

fn exemplar_rows(out: &mut String, point: &StudyPoint, d: &Dist, metric: Metric) {
    let seed = point.scenario().seed;
    let mut rows: Vec<(String, Exemplar)> = Vec::new();
    for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)] {
        if let Some(Quantile::At(v)) = d.quantile(q) {
            for e in d.exemplars_at(v).into_iter().take(2) {
                rows.push((format!("{metric} {name}"), e));
            }
        }
    }
    for (k, e) in d.slowest().into_iter().enumerate() {
        rows.push((
            if k == 0 {
                format!("{metric} max")
            } else {
                format!("{metric} slowest #{}", k + 1)
            },
            e,
        ));
    }
    for (what, e) in rows {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            esc(&what),
            e.value_us as f64 / 1000.0,
            e.trial,
            sim_core::rng::trial_seed(seed, e.trial),
            esc(&point.replay_command(e.trial))
        );
    }
}

/// Every non-empty bin of the histogram with up to three of its trials, slowest first.
fn bin_table(out: &mut String, point: &StudyPoint, d: &Dist, metric: Metric) {
    let edges = bin_edges_us(d, HISTOGRAM_BINS);
    let counts = d.bin_counts(&edges);
    let _ = writeln!(
        out,
        "<h3 id=\"bins\">Histogram bins of {metric}</h3>\n<table>\n<thead><tr><th>bin (ms)</th><th>trials</th>\
         <th>examples (slowest first): replay</th></tr></thead>\n<tbody>"
    );
    for (i, &count) in counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let examples: Vec<String> = d
            .exemplars_in(edges[i], edges[i + 1], 3)
            .iter()
            .map(|e| format!("<code>{}</code>", esc(&point.replay_command(e.trial))))
            .collect();
        let _ = writeln!(
            out,
            "<tr><td>{:.1}–{:.1}</td><td>{count}</td><td>{}</td></tr>",
            edges[i] as f64 / 1000.0,
            edges[i + 1] as f64 / 1000.0,
            examples.join("<br>")
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

fn exemplar_table_start(out: &mut String) {
    out.push_str(
        "<table>\n<thead><tr><th>statistic</th><th>value (ms)</th><th>trial</th><th>trial seed</th>\
         <th>replay it</th></tr></thead>\n<tbody>\n",
    );
}

/// The page of a single-scenario run.
pub fn run_page(study: &Study, agg: &Aggregate, summary: &Value, figures: &[Figure]) -> String {
    let point = &study.points[0];
    let s = point.scenario();
    let mut out = String::new();
    head(&mut out, &format!("raftsim: {}", study.name));
    let _ = writeln!(out, "<h1>{}</h1>", esc(&study.name));
    if let Some(d) = &point.raw.description {
        let _ = writeln!(out, "<p class=\"lead\">{}</p>", esc(d));
    }
    let _ = writeln!(
        out,
        "<p>{} nodes, {}, {} trials, seed {}{}.</p>",
        s.nodes,
        esc(&describe_timers(&s.raft)),
        agg.trials,
        s.seed,
        if summary["partial"].as_bool() == Some(true) {
            format!(
                " — <b class=\"bad\">partial: interrupted after {} of {} trials</b>",
                agg.trials, s.trials
            )
        } else {
            String::new()
        }
    );
    let metric = headline(std::slice::from_ref(agg));
    let d = agg.dist(metric);
    let sm = d.summary();
    let f = |v: Option<Stat>| match v {
        Some(Stat::Ms(x)) => format!("{x:.1} ms"),
        v => cell(v),
    };
    let _ = writeln!(
        out,
        "<div class=\"cards\"><div class=\"card\"><div>{metric} p50</div><span class=\"num\">{}</span></div>\
         <div class=\"card\"><div>{metric} p99</div><span class=\"num\">{}</span></div>\
         <div class=\"card\"><div>{metric} max</div><span class=\"num\">{}</span></div>\
         <div class=\"card\"><div>converged</div><span class=\"num\">{} / {}</span></div>\
         <div class=\"card\"><div>violations</div><span class=\"num{}\">{}</span></div></div>",
        f(sm.p50),
        f(sm.p99),
        f(sm.max),
        agg.converged,
        agg.trials,
        if agg.violations > 0 { " bad" } else { "" },
        agg.violations
    );
    out.push_str("<h2>Statistics</h2>\n");
    stats_table(&mut out, &Metric::LEADER_TIMES.map(|m| (m.name(), agg.dist(m))));
    let rounds = agg.rounds_mean().unwrap_or(0.0);
    let _ = writeln!(
        out,
        "<p>Election rounds (terms campaigned in from the fault until the cluster converged): mean {rounds:.2}, \
         max {}. Split votes: {}. Spurious elections: {:.2} per hour. Trials that did not converge within {}: \
         {}.</p>",
        agg.rounds_max,
        agg.split_votes,
        agg.spurious_per_hour(),
        crate::duration::Dur(s.time_limit),
        agg.not_converged
    );
    let without = agg.elections - agg.elections_with_leader;
    let _ = writeln!(
        out,
        "<h2>Elections and availability</h2>\n<table><thead><tr><th></th><th>in all</th><th>per trial</th>\
         <th>per hour</th></tr></thead><tbody>\n\
         <tr><td>elections started</td><td>{}</td><td>{:.2}</td><td>{:.2}</td></tr>\n\
         <tr><td>with a healthy leader reachable</td><td>{}</td><td>{:.2}</td><td>{:.2}</td></tr>\n\
         <tr><td>without one</td><td>{}</td><td>{:.2}</td><td>{:.2}</td></tr>\n</tbody></table>",
        agg.elections,
        agg.per_trial(agg.elections),
        agg.per_hour(agg.elections),
        agg.elections_with_leader,
        agg.per_trial(agg.elections_with_leader),
        agg.per_hour(agg.elections_with_leader),
        without,
        agg.per_trial(without),
        agg.per_hour(without)
    );
    let _ = write!(
        out,
        "<p>Availability, mean over trials with its 95 % interval: a leader followed by a majority {} of the \
         time (from the first such moment to the trial's end, {} trials)",
        esc(&super::run::fraction_short(&agg.leader_availability)),
        agg.leader_availability.count
    );
    if let Some(w) = &s.workload
        && agg.write_availability.count > 0
    {
        let _ = write!(
            out,
            "; client writes committed within {} of the tick: {} of ticks",
            crate::duration::Dur(w.commit_bound),
            esc(&super::run::fraction_short(&agg.write_availability))
        );
    }
    out.push_str(".</p>\n");
    if !agg.violation_list.is_empty() {
        out.push_str(
            "<h2 class=\"bad\">Safety violations</h2>\n<table><thead><tr><th>trial</th><th>invariant</th>\
                      <th>what happened</th><th>replay it</th></tr></thead><tbody>\n",
        );
        for v in &agg.violation_list {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                v.trial,
                esc(&v.invariant),
                esc(&v.detail),
                esc(&point.replay_command(v.trial))
            );
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("<h2>Charts</h2>\n");
    figure_tags(&mut out, figures);
    if d.count() > 0 {
        out.push_str(
            "<h2>Exemplars</h2>\n<p>Trials behind each statistic; each command re-runs that trial alone.</p>\n",
        );
        exemplar_table_start(&mut out);
        exemplar_rows(&mut out, point, d, metric);
        out.push_str("</tbody>\n</table>\n");
        bin_table(&mut out, point, d, metric);
    }
    scenario_and_files(&mut out, point, true);
    out.push_str("</body>\n</html>\n");
    out
}

fn scenario_and_files(out: &mut String, point: &StudyPoint, run: bool) {
    let yaml = serde_saphyr::to_string(&point.raw).unwrap_or_default();
    let _ = writeln!(out, "<h2>Scenario as run</h2>\n<pre>{}</pre>", esc(&yaml));
    let files = if run {
        "<a href=\"summary.json\">summary.json</a>, <a href=\"run.json\">run.json</a>"
    } else {
        "<a href=\"sweep.json\">sweep.json</a>, <a href=\"sweep.csv\">sweep.csv</a>, <a href=\"run.json\">run.json</a>"
    };
    let _ = writeln!(
        out,
        "<p>Files: {files}, and <code>trials.csv</code> when per-trial rows were written.</p>"
    );
}

/// The page of a sweep.
pub fn sweep_page(study: &Study, aggs: &[Aggregate], figures: &[Figure], metric: Metric) -> String {
    let mut out = String::new();
    head(&mut out, &format!("raftsim sweep: {}", study.name));
    let _ = writeln!(out, "<h1>{}</h1>", esc(&study.name));
    if let Some(d) = &study.description {
        let _ = writeln!(out, "<p class=\"lead\">{}</p>", esc(d));
    }
    let axes: Vec<String> = study
        .axes
        .iter()
        .map(|a| {
            format!(
                "<code>{}</code> ∈ {{{}}}",
                esc(&a.name),
                esc(&a.values.iter().map(|v| v.label.clone()).collect::<Vec<_>>().join(", "))
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "<p>{} points: {}. Headline metric: <b>{metric}</b>.</p>",
        study.points.len(),
        axes.join(" × ")
    );
    out.push_str(
        "<h2>Points</h2>\n<table>\n<thead><tr><th>point</th><th>trials</th><th>p50</th><th>p90</th><th>p99</th>\
         <th>p99.9</th><th>max</th><th>censored</th><th>not converged</th><th>spurious / h</th>\
         <th>elections / h</th><th>leader available</th><th>slowest trial</th></tr></thead>\n<tbody>\n",
    );
    for (i, (p, a)) in study.points.iter().zip(aggs).enumerate() {
        let d = a.dist(metric);
        let s = d.summary();
        // The command that replays it is under Exemplars: in this many-column table it would be squeezed into a
        // column a dozen characters wide.
        let slowest = d
            .slowest()
            .first()
            .map(|e| format!("<a href=\"#exemplars-{i}\">trial {}</a>", e.trial))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{:.2}</td><td>{:.2}</td><td>{}</td><td>{}</td></tr>",
            esc(&p.label),
            a.trials,
            cell_ci(s.p50, s.p50_ci),
            cell_ci(s.p90, s.p90_ci),
            cell_ci(s.p99, s.p99_ci),
            cell_ci(s.p999, s.p999_ci),
            cell(s.max),
            s.censored,
            esc(&format!(
                "{}{}",
                a.not_converged,
                not_converged_note(a, metric, p.scenario().time_limit)
            )),
            a.spurious_per_hour(),
            a.per_hour(a.elections),
            a.leader_availability
                .mean()
                .map_or("-".to_string(), |m| format!("{m:.4}")),
            slowest
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out.push_str(CENSORING_NOTE);
    out.push_str("<h2>Charts</h2>\n");
    figure_tags(&mut out, figures);
    out.push_str(
        "<h2>Exemplars</h2>\n<p>Trials behind each point's percentiles; each command re-runs that trial alone.</p>\n",
    );
    exemplar_table_start(&mut out);
    for (i, (p, a)) in study.points.iter().zip(aggs).enumerate() {
        let d = a.dist(metric);
        if d.count() > 0 {
            let _ = writeln!(
                out,
                "<tr id=\"exemplars-{i}\"><th colspan=\"5\">{}</th></tr>",
                esc(&p.label)
            );
            exemplar_rows(&mut out, p, d, metric);
        }
    }
    out.push_str("</tbody>\n</table>\n");
    if let Some(first) = study.points.first() {
        scenario_and_files(&mut out, first, false);
    }
    out.push_str("</body>\n</html>\n");
    out
}
