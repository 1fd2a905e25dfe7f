//! A study is what one command runs: a single scenario (`raftsim run`) or the points of a sweep
//! (`raftsim sweep`). This module writes its report folder, and the partial results of shards and their merge.

use crate::chart::{self, HistogramChart, Line, LineChart};
use crate::error::InputError;
use crate::experiment::Layout;
use crate::html;
use crate::metric::Metric;
use crate::report::{self, ReportDir};
use crate::scenario::{self, RawScenario, Scenario};
use crate::stats::{Aggregate, Dist};
use crate::sweep::{Axis, AxisValue};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Whether a study is one scenario or a sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `raftsim run`.
    Run,
    /// `raftsim sweep`.
    Sweep,
}

/// One point of a study: a scenario and how a user re-runs its trials.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StudyPoint {
    /// `axis=value, ...` (the scenario name for a plain run).
    pub label: String,
    /// Axis values (empty for a plain run).
    pub values: Vec<AxisValue>,
    /// The scenario exactly as run.
    pub raw: RawScenario,
    /// The command that re-runs this point's trial N when ` --trial N` is appended.
    pub replay: String,
    /// The scenario, resolved from `raw`.
    #[serde(skip)]
    pub scenario: Option<Scenario>,
}

impl StudyPoint {
    /// The resolved scenario.
    pub fn scenario(&self) -> &Scenario {
        self.scenario.as_ref().expect("resolved when loaded")
    }

    /// The command that replays trial `trial` of this point.
    pub fn replay_command(&self, trial: u64) -> String {
        format!("{} --trial {trial}", self.replay)
    }
}

/// What ran.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Study {
    /// Run or sweep.
    pub kind: Kind,
    /// Report name.
    pub name: String,
    /// One line saying what it asks.
    pub description: Option<String>,
    /// Sweep axes (empty for a run).
    pub axes: Vec<Axis>,
    /// The metric charts and tables lead with (default: chosen from what was measured).
    #[serde(default)]
    pub metric: Option<Metric>,
    /// Points, in order.
    pub points: Vec<StudyPoint>,
}

impl Study {
    /// Resolves every point's scenario from its raw form (after loading a part file).
    pub fn resolve(&mut self) -> Result<(), InputError> {
        for p in &mut self.points {
            let name = p.raw.name.clone().or_else(|| Some(self.name.clone()));
            p.scenario = Some(scenario::resolve(p.raw.clone(), name, None)?);
        }
        Ok(())
    }

    /// The scenarios, in order.
    pub fn scenarios(&self) -> Vec<Scenario> {
        self.points.iter().map(|p| p.scenario().clone()).collect()
    }

    /// A fingerprint of the definition, so that a merge refuses parts of different studies.
    pub fn fingerprint(&self) -> String {
        let text = serde_json::to_string(self).expect("a study serializes");
        // FNV-1a, 64 bits: stable across platforms and releases, unlike std's hasher.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

/// Whether `trials.csv` is written when the user did not say: yes up to this many trials in all.
pub const TRIALS_CSV_DEFAULT_LIMIT: u64 = 100_000;

/// The header of `trials.csv` for a study (sweeps add a `point` column).
pub fn csv_header(kind: Kind) -> String {
    match kind {
        Kind::Run => report::trials_csv_header(),
        Kind::Sweep => format!("point,{}", report::trials_csv_header()),
    }
}

/// One `trials.csv` row.
pub fn csv_row(kind: Kind, point: usize, r: &crate::trial::TrialResult) -> String {
    match kind {
        Kind::Run => report::trials_csv_row(r),
        Kind::Sweep => format!("{point},{}", report::trials_csv_row(r)),
    }
}

impl Study {
    /// The metric charts and tables lead with: the study's own, else [`report::headline`].
    pub fn lead_metric(&self, aggs: &[Aggregate]) -> Metric {
        self.metric.unwrap_or_else(|| report::headline(aggs))
    }
}

/// Exemplars of one distribution: trials behind each percentile, the slowest trials, and (for the headline
/// histogram) a few trials per bin.
pub fn exemplars_json(point: &StudyPoint, d: &Dist, edges_us: &[u64]) -> Value {
    let seed = point.scenario().seed;
    let ex = |list: Vec<crate::stats::Exemplar>| -> Value {
        list.iter()
            .map(|e| {
                json!({
                    "trial": e.trial,
                    "trial_seed": sim_core::rng::trial_seed(seed, e.trial),
                    "value_ms": e.value_us as f64 / 1000.0,
                })
            })
            .collect()
    };
    let mut percentiles = serde_json::Map::new();
    for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999)] {
        if let Some(v) = d.quantile_us(q) {
            percentiles.insert(name.into(), ex(d.exemplars_at(v)));
        }
    }
    let bins: Vec<Value> = edges_us.windows(2).map(|w| ex(d.exemplars_in(w[0], w[1], 3))).collect();
    json!({ "percentiles": percentiles, "slowest": ex(d.slowest()), "histogram_bins": bins })
}

/// Everything `summary.json` says about one point.
pub fn point_summary(point: &StudyPoint, agg: &Aggregate, partial: bool) -> Value {
    let s = point.scenario();
    let mut v = report::summary_json(s, agg, partial);
    let metric = report::headline(std::slice::from_ref(agg));
    let edges = report::bin_edges_us(agg.dist(metric), report::HISTOGRAM_BINS);
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

/// The files of a finished (or merged) study, written into `dir`. Returns the file names, report page last.
pub fn write_report(
    study: &Study,
    aggs: &[Aggregate],
    partial: bool,
    trials_csv: bool,
    dir: &ReportDir,
) -> anyhow::Result<Vec<String>> {
    let mut files = Vec::new();
    let mut charts: Vec<(String, String, String)> = Vec::new(); // (file stem, caption, svg)
    let metric = study.lead_metric(aggs);
    match study.kind {
        Kind::Run => {
            let point = &study.points[0];
            let agg = &aggs[0];
            let summary = point_summary(point, agg, partial);
            dir.write(
                "summary.json",
                (serde_json::to_string_pretty(&summary)? + "\n").as_bytes(),
            )?;
            files.push("summary.json".to_string());
            let d = agg.dist(metric);
            if d.count() > 0 {
                let edges = report::bin_edges_us(d, report::HISTOGRAM_BINS);
                let sm = d.summary();
                let hist = HistogramChart {
                    title: format!("{}: {} ({} samples)", study.name, metric.words(), d.count()),
                    x_label: format!("{} (ms)", metric.words()),
                    edges_ms: edges.iter().map(|&e| e as f64 / 1000.0).collect(),
                    counts: d.bin_counts(&edges),
                    markers: [("p50", sm.p50), ("p99", sm.p99)]
                        .into_iter()
                        .filter_map(|(l, v)| v.map(|v| (l.to_string(), v)))
                        .collect(),
                };
                let svg = chart::histogram_svg(&hist).map_err(anyhow::Error::msg)?;
                chart::histogram_png(&hist, &dir.path(&format!("{metric}.png"))).map_err(anyhow::Error::msg)?;
                charts.push((
                    metric.name().to_string(),
                    format!("Histogram of {}", metric.words()),
                    svg,
                ));
                let cdf = cdf_chart(study, aggs, metric);
                let svg = chart::lines_svg(&cdf).map_err(anyhow::Error::msg)?;
                chart::lines_png(&cdf, &dir.path(&format!("{metric}_cdf.png"))).map_err(anyhow::Error::msg)?;
                charts.push((format!("{metric}_cdf"), format!("CDF of {}", metric.words()), svg));
            }
            let page = html::run_page(study, agg, &summary, &charts);
            write_charts_and_page(dir, &charts, &page, &mut files)?;
        }
        Kind::Sweep => {
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
                    let values: serde_json::Map<String, Value> = study
                        .axes
                        .iter()
                        .zip(&p.values)
                        .map(|(axis, val)| (axis.name.clone(), Value::String(val.label.clone())))
                        .collect();
                    json!({ "point": i, "label": p.label, "values": values, "summary": v, "config": p.raw })
                })
                .collect();
            let sweep_json = json!({
                "schema": "raftsim.sweep.v1",
                "sweep": study.name,
                "description": study.description,
                "partial": partial,
                "axes": study.axes.iter().map(|a| json!({
                    "name": a.name,
                    "values": a.values.iter().map(|v| v.label.clone()).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "headline_metric": metric,
                "points": points,
            });
            dir.write(
                "sweep.json",
                (serde_json::to_string_pretty(&sweep_json)? + "\n").as_bytes(),
            )?;
            dir.write("sweep.csv", sweep_csv(study, aggs).as_bytes())?;
            files.push("sweep.json".to_string());
            files.push("sweep.csv".to_string());
            let cdf = cdf_chart(study, aggs, metric);
            if cdf.lines.iter().any(|l| !l.points.is_empty()) {
                let svg = chart::lines_svg(&cdf).map_err(anyhow::Error::msg)?;
                chart::lines_png(&cdf, &dir.path("cdf.png")).map_err(anyhow::Error::msg)?;
                charts.push((
                    "cdf".into(),
                    format!("CDF of {}, one line per point", metric.words()),
                    svg,
                ));
                let pct = percentile_chart(study, aggs, metric);
                let svg = chart::lines_svg(&pct).map_err(anyhow::Error::msg)?;
                chart::lines_png(&pct, &dir.path("percentiles.png")).map_err(anyhow::Error::msg)?;
                charts.push((
                    "percentiles".into(),
                    "p50, p99 and max against the swept value".into(),
                    svg,
                ));
                let trade = tradeoff_chart(study, aggs, metric);
                let svg = chart::lines_svg(&trade).map_err(anyhow::Error::msg)?;
                chart::lines_png(&trade, &dir.path("tradeoff.png")).map_err(anyhow::Error::msg)?;
                charts.push((
                    "tradeoff".into(),
                    "failover p99 against spurious elections per hour: pick a point on the lower-left frontier".into(),
                    svg,
                ));
            }
            let page = html::sweep_page(study, aggs, &charts, metric);
            write_charts_and_page(dir, &charts, &page, &mut files)?;
        }
    }
    if trials_csv {
        files.insert(files.len() - 1, "trials.csv".to_string());
    }
    Ok(files)
}

fn write_charts_and_page(
    dir: &ReportDir,
    charts: &[(String, String, String)],
    page: &str,
    files: &mut Vec<String>,
) -> anyhow::Result<()> {
    for (stem, _, svg) in charts {
        dir.write(&format!("{stem}.svg"), svg.as_bytes())?;
        files.push(format!("{stem}.svg"));
        files.push(format!("{stem}.png"));
    }
    dir.write("report.html", page.as_bytes())?;
    files.push("report.html".to_string());
    Ok(())
}

/// One CDF line per point.
fn cdf_chart(study: &Study, aggs: &[Aggregate], metric: Metric) -> LineChart {
    let lines: Vec<Line> = study
        .points
        .iter()
        .zip(aggs)
        .map(|(p, a)| {
            let d = a.dist(metric);
            let pts = d.cdf_points();
            // A step function: each value holds its cumulative fraction until the next.
            let mut points = Vec::with_capacity(pts.len() * 2 + 1);
            let mut prev = 0.0;
            for (us, frac) in pts {
                let x = (us as f64 / 1000.0).max(1e-3);
                points.push((x, prev));
                points.push((x, frac));
                prev = frac;
            }
            Line {
                label: if study.kind == Kind::Run {
                    "all trials".into()
                } else {
                    p.label.clone()
                },
                points,
            }
        })
        .collect();
    LineChart {
        title: format!("{}: {} (CDF)", study.name, metric.words()),
        x_label: format!("{} (ms, log scale)", metric.words()),
        y_label: "cumulative fraction of trials".into(),
        x_log: true,
        scatter: false,
        unit_y: true,
        lines,
    }
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
    let mut lines = Vec::new();
    for (key, members) in &groups {
        for (name, q) in [("p50", 0.5), ("p99", 0.99), ("max", 1.0)] {
            let mut points: Vec<(f64, f64)> = members
                .iter()
                .filter_map(|&i| {
                    aggs[i]
                        .dist(metric)
                        .quantile_us(q)
                        .map(|us| (xs[i], us as f64 / 1000.0))
                })
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            let label = if key.is_empty() {
                name.to_string()
            } else {
                format!("{name} ({key})")
            };
            lines.push(Line { label, points });
        }
    }
    LineChart {
        title: format!("{}: {} percentiles", study.name, metric.words()),
        x_label,
        y_label: format!("{} (ms)", metric.words()),
        x_log: false,
        scatter: false,
        unit_y: false,
        lines,
    }
}

/// Failover p99 against spurious elections per hour, one dot per point.
fn tradeoff_chart(study: &Study, aggs: &[Aggregate], metric: Metric) -> LineChart {
    let lines = study
        .points
        .iter()
        .zip(aggs)
        .filter_map(|(p, a)| {
            let p99 = a.dist(metric).quantile_us(0.99)? as f64 / 1000.0;
            // Log scale: a point with no spurious election is drawn at 0.1 per hour.
            Some(Line {
                label: p.label.clone(),
                points: vec![(a.spurious_per_hour().max(0.1), p99)],
            })
        })
        .collect();
    LineChart {
        title: format!("{}: speed against stability", study.name),
        x_label: "spurious elections per hour of simulated time (log scale; none is drawn at 0.1)".into(),
        y_label: format!("p99 {} (ms)", metric.words()),
        x_log: true,
        scatter: true,
        unit_y: false,
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
        for s in ["count", "min", "mean", "p50", "p90", "p99", "p999", "max"] {
            let _ = write!(out, ",{m}_{s}");
        }
    }
    out.push_str(",rounds_mean,rounds_max,split_votes_mean,spurious_elections_per_hour,messages_mean\n");
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
            let f = |v: Option<f64>| v.map(|x| format!("{x}")).unwrap_or_default();
            let _ = write!(
                out,
                ",{},{},{},{},{},{},{},{}",
                s.count,
                f(s.min),
                f(s.mean),
                f(s.p50),
                f(s.p90),
                f(s.p99),
                f(s.p999),
                f(s.max)
            );
        }
        let per = |x: u64| if a.trials == 0 { 0.0 } else { x as f64 / a.trials as f64 };
        let rounds = if a.rounds_count == 0 {
            String::new()
        } else {
            format!("{}", a.rounds_sum as f64 / a.rounds_count as f64)
        };
        let _ = writeln!(
            out,
            ",{rounds},{},{},{},{}",
            a.rounds_max,
            per(a.split_votes),
            a.spurious_per_hour(),
            per(a.messages.iter().sum())
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

// ---- shards ------------------------------------------------------------------------------------------------------

/// Version tag of part files.
pub const PART_SCHEMA: &str = "raftsim.part.v1";

/// The partial result of one shard.
#[derive(Serialize, Deserialize)]
pub struct Part {
    /// [`PART_SCHEMA`].
    pub schema: String,
    /// Fingerprint of `study`.
    pub fingerprint: String,
    /// This shard, 0-based.
    pub shard: u64,
    /// Number of shards.
    pub shards: u64,
    /// Global trial range this shard ran.
    pub range: (u64, u64),
    /// What ran.
    pub study: Study,
    /// Aggregates per point, over this shard's trials.
    pub aggregates: Vec<Aggregate>,
    /// This shard's `trials.csv` rows (no header), when per-trial rows were asked for.
    pub trials_csv: Option<String>,
    /// Whether the shard was interrupted.
    pub partial: bool,
}

/// `k/N` from the command line, or `auto` from the job array variables of common schedulers.
pub fn parse_shard(arg: &str) -> Result<(u64, u64), InputError> {
    let usage = "expected K/N with 0 <= K < N (for example 3/10), or auto";
    let text = if arg == "auto" {
        let index = [
            "SLURM_ARRAY_TASK_ID",
            "JOB_COMPLETION_INDEX",
            "AWS_BATCH_JOB_ARRAY_INDEX",
            "PBS_ARRAY_INDEX",
        ]
        .iter()
        .find_map(|v| std::env::var(v).ok())
        .ok_or_else(|| {
            InputError::new(
                "--shard auto: none of SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX, \
                     PBS_ARRAY_INDEX is set"
                    .to_string(),
            )
        })?;
        let count = ["SLURM_ARRAY_TASK_COUNT", "RAFTSIM_SHARDS"]
            .iter()
            .find_map(|v| std::env::var(v).ok())
            .ok_or_else(|| {
                InputError::new(
                    "--shard auto: set RAFTSIM_SHARDS to the number of shards (Slurm sets SLURM_ARRAY_TASK_COUNT)",
                )
            })?;
        format!("{index}/{count}")
    } else {
        arg.to_string()
    };
    let (k, n) = text
        .split_once('/')
        .ok_or_else(|| InputError::new(format!("--shard `{text}`: {usage}")))?;
    let k: u64 = k
        .trim()
        .parse()
        .map_err(|_| InputError::new(format!("--shard `{text}`: {usage}")))?;
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|_| InputError::new(format!("--shard `{text}`: {usage}")))?;
    if n == 0 || k >= n {
        return Err(InputError::new(format!("--shard `{text}`: {usage}")));
    }
    Ok((k, n))
}

/// The file name of shard `k` of `n`.
pub fn part_name(k: u64, n: u64) -> String {
    format!("part-{k:05}-of-{n:05}.json")
}

/// Writes `part` atomically (temporary name, then rename) into `dir`.
pub fn write_part(dir: &Path, part: &Part) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(part_name(part.shard, part.shards));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    serde_json::to_writer(std::io::BufWriter::new(tmp.as_file_mut()), part)?;
    tmp.as_file().sync_all()?;
    tmp.persist(&path)?;
    Ok(path)
}

/// Reads and checks part files (or folders of them) and merges them.
pub fn merge_parts(inputs: &[PathBuf]) -> Result<(Study, Vec<Aggregate>, Option<String>, bool), InputError> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(|e| InputError::new(format!("cannot read {}: {e}", input.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("part-")))
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    if files.is_empty() {
        return Err(InputError::new("merge: no part files found"));
    }
    let mut parts: Vec<Part> = Vec::with_capacity(files.len());
    for f in &files {
        let text =
            std::fs::read_to_string(f).map_err(|e| InputError::new(format!("cannot read {}: {e}", f.display())))?;
        let part: Part = serde_json::from_str(&text)
            .map_err(|e| InputError::new(format!("{}: not a raftsim part file: {e}", f.display())))?;
        if part.schema != PART_SCHEMA {
            return Err(InputError::new(format!(
                "{}: part schema `{}`, expected {PART_SCHEMA}",
                f.display(),
                part.schema
            )));
        }
        parts.push(part);
    }
    let first = &parts[0];
    let (fingerprint, n) = (first.fingerprint.clone(), first.shards);
    for (p, f) in parts.iter().zip(&files) {
        if p.fingerprint != fingerprint || p.shards != n {
            return Err(InputError::new(format!(
                "{}: comes from a different study or shard count than {} (every part must come from the same \
                 scenario or sweep, with the same --shard N)",
                f.display(),
                files[0].display()
            )));
        }
    }
    parts.sort_by_key(|p| p.shard);
    for k in 0..n {
        let count = parts.iter().filter(|p| p.shard == k).count();
        if count != 1 {
            let what = if count == 0 {
                "is missing"
            } else {
                "appears more than once"
            };
            return Err(InputError::new(format!("merge: shard {k} of {n} {what}")));
        }
    }
    let mut study = parts[0].study.clone();
    study.resolve()?;
    let layout = Layout::new(&study.scenarios());
    for p in &parts {
        let expect = layout.shard(p.shard, n);
        if (p.range.0, p.range.1) != (expect.start, expect.end) {
            return Err(InputError::new(format!(
                "merge: shard {} covers the wrong trials",
                p.shard
            )));
        }
    }
    let mut aggs = vec![Aggregate::default(); study.points.len()];
    let mut csv = if parts.iter().all(|p| p.trials_csv.is_some()) {
        Some(csv_header(study.kind))
    } else {
        None
    };
    let mut partial = false;
    for p in &parts {
        for (a, b) in aggs.iter_mut().zip(&p.aggregates) {
            a.merge(b);
        }
        if let (Some(c), Some(rows)) = (csv.as_mut(), p.trials_csv.as_ref()) {
            c.push_str(rows);
        }
        partial |= p.partial;
    }
    Ok((study, aggs, csv, partial))
}

/// The headline numbers of each point, for the terminal.
pub fn sweep_table(study: &Study, aggs: &[Aggregate]) -> String {
    let metric = study.lead_metric(aggs);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "sweep {}: {} points, {} (ms)",
        study.name,
        study.points.len(),
        metric.words()
    );
    let _ = writeln!(out);
    let width = study.points.iter().map(|p| p.label.len()).max().unwrap_or(5).max(5);
    let _ = writeln!(
        out,
        "{:<width$} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11}",
        "point", "trials", "p50", "p90", "p99", "p99.9", "max", "spurious/h"
    );
    for (p, a) in study.points.iter().zip(aggs) {
        let s = a.dist(metric).summary();
        let f = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.1}"));
        let _ = writeln!(
            out,
            "{:<width$} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11.2}",
            p.label,
            a.trials,
            f(s.p50),
            f(s.p90),
            f(s.p99),
            f(s.p999),
            f(s.max),
            a.spurious_per_hour()
        );
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
