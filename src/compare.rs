//! `raftsim compare`: two runs side by side, per metric the difference of p50, p99 and mean with a 95 % bootstrap
//! interval and a two-sample rank test, and one plain sentence per headline difference.
//!
//! The two sides are read as tables of trials (the rows of `trials.csv`). When both ran the same trial seeds (two
//! `--set` variants of one scenario, or two reports of one scenario and seed), the bootstrap resamples trials in
//! pairs, so the interval reflects the difference the parameters make rather than the luck of the draw.
//! A trial that did not converge has no value for a metric it should have measured: it is censored, counted as
//! longer than every measured value (at +infinity), never dropped.

use crate::report::trials::{trials_csv_header, trials_csv_row};
use crate::trial::TrialResult;
use anyhow::{Context, bail};
use serde::Serialize;
use std::path::Path;

/// Bootstrap resamples per interval.
const RESAMPLES: usize = 2000;
/// The bootstrap's own stream: fixed, so the same two inputs always give the same intervals.
const BOOTSTRAP_SEED: u64 = 0x636f_6d70_6172_6531;

/// Time metrics compared on p50, p99 and mean (trials.csv columns).
const TIME_METRICS: [&str; 5] = [
    "first_leader_ms",
    "election_ms",
    "convergence_ms",
    "recovery_ms",
    "failover_commit_ms",
];
/// Count columns compared on their mean.
const COUNT_METRICS: [&str; 3] = ["rounds", "split_votes", "spurious_elections"];

/// One side of a comparison: a name and its trials.
#[derive(Clone, Debug)]
pub struct Side {
    /// What the side is (a folder, or the `--set` overrides).
    pub name: String,
    /// The seed the side's trial seeds were drawn from (a report's `summary.json` seed, or the scenario's), when
    /// known.
    pub seed: Option<u64>,
    seeds: Vec<u64>,
    outcomes: Vec<String>,
    columns: Vec<(String, Vec<Option<f64>>)>,
}

impl Side {
    /// Reads a report folder's `trials.csv`.
    pub fn from_report(dir: &Path) -> anyhow::Result<Side> {
        if !dir.is_dir() {
            bail!(
                "{}: not a report folder (give two report folders, or a scenario file and --b)",
                dir.display()
            );
        }
        let path = dir.join("trials.csv");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {}: compare needs each run's trials.csv (re-run with --trials-csv if it was left out)",
                path.display()
            )
        })?;
        let mut side =
            Side::from_csv(dir.display().to_string(), &text).with_context(|| format!("in {}", path.display()))?;
        side.seed = std::fs::read_to_string(dir.join("summary.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["seed"].as_u64());
        Ok(side)
    }

    /// A side from trial results (run in this process).
    pub fn from_results(name: String, results: &[TrialResult]) -> Side {
        let mut text = trials_csv_header();
        for r in results {
            text.push_str(&trials_csv_row(r));
        }
        Side::from_csv(name, &text).expect("trials.csv rows written by raftsim parse")
    }

    fn from_csv(name: String, text: &str) -> anyhow::Result<Side> {
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().context("trials.csv is empty")?.split(',').collect();
        if header.first() == Some(&"point") {
            bail!(
                "this is a sweep's trials.csv; compare takes two run reports (run the two points with `raftsim run --set ...`)"
            );
        }
        let col = |name: &str| header.iter().position(|h| *h == name);
        let (Some(seed_col), Some(outcome_col)) = (col("trial_seed"), col("outcome")) else {
            bail!("no trial_seed or outcome column: not a raftsim trials.csv");
        };
        let wanted: Vec<(String, usize)> = TIME_METRICS
            .iter()
            .chain(&COUNT_METRICS)
            .filter_map(|m| col(m).map(|c| (m.to_string(), c)))
            .collect();
        let mut side = Side {
            name,
            seed: None,
            seeds: Vec::new(),
            outcomes: Vec::new(),
            columns: wanted.iter().map(|(m, _)| (m.clone(), Vec::new())).collect(),
        };
        for (n, line) in lines.enumerate() {
            let cells: Vec<&str> = line.split(',').collect();
            if cells.len() != header.len() {
                bail!(
                    "line {}: {} fields, the header has {}",
                    n + 2,
                    cells.len(),
                    header.len()
                );
            }
            side.seeds.push(
                cells[seed_col]
                    .parse()
                    .with_context(|| format!("line {}: trial_seed", n + 2))?,
            );
            side.outcomes.push(cells[outcome_col].to_string());
            for (k, (m, c)) in wanted.iter().enumerate() {
                let cell = cells[*c];
                let v = if cell.is_empty() {
                    None
                } else {
                    Some(cell.parse::<f64>().with_context(|| format!("line {}: {m}", n + 2))?)
                };
                side.columns[k].1.push(v);
            }
        }
        if side.seeds.is_empty() {
            bail!("no trials");
        }
        Ok(side)
    }

    fn column(&self, metric: &str) -> Option<&Vec<Option<f64>>> {
        self.columns.iter().find(|(m, _)| m == metric).map(|(_, v)| v)
    }

    fn trials(&self) -> usize {
        self.seeds.len()
    }
}

/// One compared statistic.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// trials.csv column.
    pub metric: String,
    /// `p50`, `p99` or `mean`.
    pub stat: String,
    /// A's value (`None`: censored, beyond what was measured).
    pub a: Option<f64>,
    /// B's value.
    pub b: Option<f64>,
    /// B - A.
    pub diff: Option<f64>,
    /// 95 % bootstrap interval of B - A; `None` bounds are open (censored resamples).
    pub ci: [Option<f64>; 2],
    /// Two-sided p-value of the Mann-Whitney U test of the whole distributions (time metrics and counts alike).
    pub p_value: Option<f64>,
    /// The difference in words.
    pub sentence: String,
}

/// What `compare` found.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// Schema name.
    pub schema: &'static str,
    /// Side A.
    pub a: String,
    /// Side B.
    pub b: String,
    /// Trials on each side.
    pub trials: [usize; 2],
    /// The seed of each side, when known (`null` for a report folder without `summary.json`, such as a sweep's).
    pub seeds: [Option<u64>; 2],
    /// Whether both sides ran the same trial seeds (the bootstrap then pairs trials).
    pub paired: bool,
    /// Every compared statistic.
    pub rows: Vec<Row>,
}

/// A value with censored samples at +infinity: the statistic of `v` (sorted ascending).
fn stat(sorted: &[f64], which: &str) -> f64 {
    match which {
        "mean" => sorted.iter().sum::<f64>() / sorted.len() as f64,
        "p50" => rank(sorted, 0.5),
        _ => rank(sorted, 0.99),
    }
}

/// The sample of rank `max(1, ceil(q n))`, the definition every raftsim percentile uses.
fn rank(sorted: &[f64], q: f64) -> f64 {
    let k = ((q * sorted.len() as f64).ceil() as usize).max(1);
    sorted[k - 1]
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Each trial's value of `metric`: censored trials at +infinity, `None` for a trial that converged without this
/// measurement (it did not apply to that trial). `None` in all when the side has no such column.
fn per_trial(side: &Side, metric: &str) -> Option<Vec<Option<f64>>> {
    let col = side.column(metric)?;
    Some(
        col.iter()
            .zip(&side.outcomes)
            .map(|(v, outcome)| match v {
                Some(x) => Some(*x),
                None if outcome == "converged" => None,
                None => Some(f64::INFINITY),
            })
            .collect(),
    )
}

/// Two-sided p-value of the Mann-Whitney U test (normal approximation with the tie correction).
fn mann_whitney(a: &[f64], b: &[f64]) -> Option<f64> {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, true))
        .chain(b.iter().map(|&x| (x, false)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    let (mut rank_a, mut ties) = (0.0, 0.0);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        rank_a += all[i..=j].iter().filter(|x| x.1).count() as f64 * avg;
        i = j + 1;
    }
    let u = rank_a - n1 * (n1 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let nn = n1 + n2;
    let var = n1 * n2 / 12.0 * ((nn + 1.0) - ties / (nn * (nn - 1.0)));
    if var <= 0.0 {
        return Some(1.0); // every value tied: no evidence of a difference
    }
    let z = ((u - mean).abs() - 0.5).max(0.0) / var.sqrt();
    Some(libm::erfc(z / std::f64::consts::SQRT_2).min(1.0))
}

/// Compares `a` and `b`.
pub fn compare(a: &Side, b: &Side) -> Comparison {
    let paired = a.seeds == b.seeds;
    let mut rng = sim_core::rng::stream(BOOTSTRAP_SEED, 0);
    // One set of resampled trial indices for every statistic, so rows are consistent with each other.
    let draw = |rng: &mut sim_core::rng::Pcg64, n: usize| -> Vec<usize> {
        (0..n)
            .map(|_| sim_core::rng::uniform_inclusive(rng, 0, n as u64 - 1) as usize)
            .collect()
    };
    let resamples: Vec<(Vec<usize>, Vec<usize>)> = (0..RESAMPLES)
        .map(|_| {
            let ia = draw(&mut rng, a.trials());
            let ib = if paired { ia.clone() } else { draw(&mut rng, b.trials()) };
            (ia, ib)
        })
        .collect();
    let mut rows = Vec::new();
    for metric in TIME_METRICS.iter().chain(&COUNT_METRICS) {
        let measured = |s: &Side| s.column(metric).is_some_and(|c| c.iter().any(Option::is_some));
        let applies = measured(a) || measured(b);
        let (Some(ta), Some(tb)) = (per_trial(a, metric), per_trial(b, metric)) else {
            continue;
        };
        if !applies {
            continue;
        }
        let va_all: Vec<f64> = ta.iter().flatten().copied().collect();
        let vb_all: Vec<f64> = tb.iter().flatten().copied().collect();
        if va_all.is_empty() || vb_all.is_empty() {
            continue;
        }
        let p_value = mann_whitney(&va_all, &vb_all);
        let stats: &[&str] = if TIME_METRICS.contains(metric) {
            &["p50", "p99", "mean"]
        } else {
            &["mean"]
        };
        for &which in stats {
            let mut sa = va_all.clone();
            let mut sb = vb_all.clone();
            sa.sort_by(f64::total_cmp);
            sb.sort_by(f64::total_cmp);
            let (xa, xb) = (stat(&sa, which), stat(&sb, which));
            let mut diffs: Vec<f64> = resamples
                .iter()
                .filter_map(|(ia, ib)| {
                    let mut ra: Vec<f64> = ia.iter().filter_map(|&i| ta[i]).collect();
                    let mut rb: Vec<f64> = ib.iter().filter_map(|&i| tb[i]).collect();
                    if ra.is_empty() || rb.is_empty() {
                        return None;
                    }
                    ra.sort_by(f64::total_cmp);
                    rb.sort_by(f64::total_cmp);
                    let d = stat(&rb, which) - stat(&ra, which);
                    // inf - inf: both beyond the limit, the difference unknown.
                    Some(if d.is_nan() { f64::INFINITY } else { d })
                })
                .collect();
            diffs.sort_by(f64::total_cmp);
            let ci = if diffs.is_empty() {
                [None, None]
            } else {
                let at = |q: f64| diffs[((q * diffs.len() as f64) as usize).min(diffs.len() - 1)];
                [finite(at(0.025)), finite(at(0.975))]
            };
            let diff = match (finite(xa), finite(xb)) {
                (Some(x), Some(y)) => Some(y - x),
                _ => None,
            };
            let sentence = sentence(metric, which, finite(xa), finite(xb), diff, ci);
            rows.push(Row {
                metric: metric.to_string(),
                stat: which.to_string(),
                a: finite(xa),
                b: finite(xb),
                diff,
                ci,
                p_value,
                sentence,
            });
        }
    }
    Comparison {
        schema: "raftsim.compare.v1",
        a: a.name.clone(),
        b: b.name.clone(),
        trials: [a.trials(), b.trials()],
        seeds: [a.seed, b.seed],
        paired,
        rows,
    }
}

fn p_text(p: f64) -> String {
    if p < 0.001 { "<0.001".into() } else { format!("{p:.3}") }
}

fn unit(metric: &str) -> &'static str {
    if metric.ends_with("_ms") { " ms" } else { "" }
}

fn words(metric: &str) -> String {
    metric.trim_end_matches("_ms").replace('_', " ")
}

/// A number for people: whole numbers without decimals, others with one (three below 1).
fn num(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{x:.0}")
    } else if x.abs() < 1.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.1}")
    }
}

/// The difference in one sentence.
fn sentence(
    metric: &str,
    which: &str,
    a: Option<f64>,
    b: Option<f64>,
    diff: Option<f64>,
    ci: [Option<f64>; 2],
) -> String {
    let u = unit(metric);
    let what = format!("{} {which}", words(metric));
    let (Some(a), Some(b), Some(d)) = (a, b, diff) else {
        let show = |x: Option<f64>| {
            x.map_or("beyond the time limit (censored)".to_string(), |v| {
                format!("{}{u}", num(v))
            })
        };
        return format!("{what}: A {}, B {}; the difference is not measured", show(a), show(b));
    };
    let bound = |x: Option<f64>| x.map_or("open".to_string(), num);
    let interval = format!("95 % CI {} to {}{u}", bound(ci[0]), bound(ci[1]));
    if d == 0.0 && ci == [Some(0.0), Some(0.0)] {
        return format!("{what}: no difference (A and B both {}{u})", num(a));
    }
    let excludes_zero = match ci {
        [Some(lo), _] if lo > 0.0 => true,
        [_, Some(hi)] if hi < 0.0 => true,
        _ => false,
    };
    if !excludes_zero {
        return format!("{what}: no difference shown (B - A = {}{u}, {interval})", num(d));
    }
    let (dir, mag, lo, hi) = if d < 0.0 {
        ("lower", -d, ci[1].map(|x| -x), ci[0].map(|x| -x))
    } else {
        ("higher", d, ci[0], ci[1])
    };
    let faster = if u.is_empty() {
        dir.to_string()
    } else if d < 0.0 {
        "faster".into()
    } else {
        "slower".into()
    };
    format!(
        "B's {what} is {}{u} {faster} than A's ({} vs {}{u}; 95 % CI {} to {}{u} {dir})",
        num(mag),
        num(b),
        num(a),
        bound(lo),
        bound(hi)
    )
}

impl Comparison {
    /// The terminal table and sentences.
    pub fn text(&self) -> String {
        let seed = |s: Option<u64>| s.map_or(String::new(), |s| format!(", seed {s}"));
        let mut out = format!(
            "compare: A = {} ({} trials{}), B = {} ({} trials{}){}\n\n",
            self.a,
            self.trials[0],
            seed(self.seeds[0]),
            self.b,
            self.trials[1],
            seed(self.seeds[1]),
            if self.paired {
                "; the same trial seeds, compared in pairs"
            } else {
                ""
            }
        );
        out.push_str(&format!(
            "{:<20} {:<5} {:>12} {:>12} {:>12} {:>26} {:>9}\n",
            "metric", "stat", "A", "B", "B - A", "95% CI of B - A", "p (MWU)"
        ));
        let cell = |x: Option<f64>| x.map_or(">limit".to_string(), num);
        for r in &self.rows {
            let ci = format!(
                "{} .. {}",
                r.ci[0].map_or("open".into(), num),
                r.ci[1].map_or("open".into(), num)
            );
            let p = r.p_value.map_or("-".into(), p_text);
            out.push_str(&format!(
                "{:<20} {:<5} {:>12} {:>12} {:>12} {:>26} {:>9}\n",
                r.metric,
                r.stat,
                cell(r.a),
                cell(r.b),
                r.diff.map_or("-".into(), num),
                ci,
                p
            ));
        }
        out.push('\n');
        for r in self
            .rows
            .iter()
            .filter(|r| r.stat != "mean" || !r.metric.ends_with("_ms"))
        {
            out.push_str(&format!("  {}\n", r.sentence));
        }
        out
    }

    /// A Markdown table.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "A: `{}` ({} trials); B: `{}` ({} trials){}\n\n",
            self.a,
            self.trials[0],
            self.b,
            self.trials[1],
            if self.paired { "; same trial seeds, paired" } else { "" }
        );
        out.push_str(
            "| metric | stat | A | B | B - A | 95 % CI | p (Mann-Whitney) |\n|---|---|---:|---:|---:|---|---:|\n",
        );
        let cell = |x: Option<f64>| x.map_or(">limit".to_string(), num);
        for r in &self.rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} to {} | {} |\n",
                r.metric,
                r.stat,
                cell(r.a),
                cell(r.b),
                r.diff.map_or("-".into(), num),
                r.ci[0].map_or("open".into(), num),
                r.ci[1].map_or("open".into(), num),
                r.p_value.map_or("-".into(), p_text)
            ));
        }
        out
    }

    /// CSV, one row per statistic.
    pub fn csv(&self) -> String {
        let mut out = String::from("metric,stat,a,b,diff,ci_low,ci_high,p_value\n");
        let c = |x: Option<f64>| x.map(|v| format!("{v}")).unwrap_or_default();
        for r in &self.rows {
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{}\n",
                r.metric,
                r.stat,
                c(r.a),
                c(r.b),
                c(r.diff),
                c(r.ci[0]),
                c(r.ci[1]),
                c(r.p_value)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(name: &str, seeds: &[u64], election: &[Option<f64>]) -> Side {
        let outcomes = election
            .iter()
            .map(|v| if v.is_some() { "converged" } else { "not_converged" }.to_string())
            .collect();
        Side {
            name: name.into(),
            seed: None,
            seeds: seeds.to_vec(),
            outcomes,
            columns: vec![("election_ms".into(), election.to_vec())],
        }
    }

    #[test]
    fn identical_sides_show_no_difference() {
        let seeds: Vec<u64> = (0..200).collect();
        let v: Vec<Option<f64>> = (0..200).map(|i| Some(100.0 + (i * 37 % 101) as f64)).collect();
        let c = compare(&side("a", &seeds, &v), &side("b", &seeds, &v));
        assert!(c.paired);
        for r in &c.rows {
            assert_eq!(r.diff, Some(0.0), "{r:?}");
            assert_eq!(r.ci, [Some(0.0), Some(0.0)], "{r:?}");
            assert!(r.sentence.contains("no difference"), "{}", r.sentence);
            assert!(r.p_value.unwrap() > 0.9);
        }
    }

    #[test]
    fn a_shift_is_found_with_an_interval_around_it() {
        let seeds: Vec<u64> = (0..400).collect();
        let a: Vec<Option<f64>> = (0..400).map(|i| Some(100.0 + (i * 37 % 101) as f64)).collect();
        let b: Vec<Option<f64>> = a.iter().map(|v| v.map(|x| x - 40.0)).collect();
        let c = compare(&side("a", &seeds, &a), &side("b", &seeds, &b));
        let p50 = c.rows.iter().find(|r| r.stat == "p50").unwrap();
        assert_eq!(p50.diff, Some(-40.0));
        let [lo, hi] = p50.ci;
        assert!(
            lo.unwrap() <= -40.0 && hi.unwrap() >= -40.0 && hi.unwrap() < 0.0,
            "{p50:?}"
        );
        assert!(
            p50.sentence.starts_with("B's election p50 is 40 ms faster"),
            "{}",
            p50.sentence
        );
        assert!(p50.p_value.unwrap() < 1e-6);
    }

    #[test]
    fn censored_trials_count_as_slower_not_dropped() {
        let seeds: Vec<u64> = (0..100).collect();
        let a: Vec<Option<f64>> = (0..100).map(|i| Some(100.0 + i as f64)).collect();
        // B: the same, but its slowest 60 trials never converged.
        let b: Vec<Option<f64>> = (0..100).map(|i| (i < 40).then_some(100.0 + i as f64)).collect();
        let c = compare(&side("a", &seeds, &a), &side("b", &seeds, &b));
        let p50 = c.rows.iter().find(|r| r.stat == "p50").unwrap();
        assert_eq!(
            p50.b, None,
            "B's median is beyond the limit, not the median of its 40 converged trials"
        );
        assert!(p50.sentence.contains("censored"), "{}", p50.sentence);
        let mean = c.rows.iter().find(|r| r.stat == "mean").unwrap();
        assert_eq!(mean.b, None);
    }
}

/// `raftsim compare` arguments.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Report folder A, or a scenario: a file or a built-in name (then B is that scenario with the `--b`
    /// overrides).
    pub a: std::path::PathBuf,
    /// Report folder B (with a report folder as A).
    pub b: Option<std::path::PathBuf>,
    /// With a scenario file: an override for both sides (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// With a scenario file: an override that makes side B (repeatable), e.g. --b raft.pre_vote=true.
    #[arg(long = "b", value_name = "PATH=VALUE")]
    pub b_set: Vec<String>,
    /// With a scenario file: the seed of both sides.
    #[arg(long)]
    pub seed: Option<u64>,
    /// With a scenario file: trials on each side.
    #[arg(long)]
    pub trials: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(short = 'j', long, default_value_t = 0)]
    pub threads: usize,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Print the comparison as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write the table as Markdown to this file.
    #[arg(long, value_name = "FILE")]
    pub export_markdown: Option<std::path::PathBuf>,
    /// Also write the table as CSV to this file.
    #[arg(long, value_name = "FILE")]
    pub export_csv: Option<std::path::PathBuf>,
}

/// Runs `raftsim compare`.
pub fn cli(args: CompareArgs) -> anyhow::Result<std::process::ExitCode> {
    for f in [&args.export_markdown, &args.export_csv].into_iter().flatten() {
        if f.exists() {
            return Err(crate::error::InputError::new(format!(
                "{}: already exists; compare does not overwrite files (choose another name or remove it)",
                f.display()
            ))
            .into());
        }
    }
    let (a, b) = if args.a.is_dir() {
        let Some(b) = &args.b else {
            bail!("compare needs two report folders (or a scenario file and --b PATH=VALUE)");
        };
        if !args.set.is_empty() || !args.b_set.is_empty() || args.seed.is_some() || args.trials.is_some() {
            bail!("--set, --b, --seed and --trials apply to a scenario file, not to report folders");
        }
        (Side::from_report(&args.a)?, Side::from_report(b)?)
    } else {
        if args.b.is_some() {
            bail!(
                "{} is not a report folder: give two report folders, or one scenario file and --b PATH=VALUE",
                args.a.display()
            );
        }
        if args.b_set.is_empty() {
            bail!("with a scenario file, say what makes side B: --b PATH=VALUE (e.g. --b raft.pre_vote=true)");
        }
        let mut common = args.set.clone();
        if let Some(seed) = args.seed {
            common.push(format!("seed={seed}"));
        }
        if let Some(t) = args.trials {
            common.push(format!("trials={t}"));
        }
        let sa = crate::scenario::load(&args.a, &common)?;
        let mut with_b = common.clone();
        with_b.extend(args.b_set.iter().cloned());
        let sb = crate::scenario::load(&args.a, &with_b)?;
        let points = [sa, sb];
        let total = crate::experiment::Layout::new(&points).total();
        let opts = crate::experiment::RunOptions {
            threads: args.threads,
            progress: !args.no_progress,
        };
        let stop = std::sync::atomic::AtomicBool::new(false);
        let mut results: [Vec<TrialResult>; 2] = [Vec::new(), Vec::new()];
        let mut keep = |p: usize, r: &TrialResult| -> anyhow::Result<()> {
            results[p].push(r.clone());
            Ok(())
        };
        crate::experiment::run_points(&points, 0..total, &opts, &stop, Some(&mut keep))?;
        let name = |sets: &[String]| {
            if sets.is_empty() {
                format!("{} as is", args.a.display())
            } else {
                format!("{} with {}", args.a.display(), sets.join(" "))
            }
        };
        let mut sides = (
            Side::from_results(name(&args.set), &results[0]),
            Side::from_results(name(&[args.set.clone(), args.b_set.clone()].concat()), &results[1]),
        );
        sides.0.seed = Some(points[0].seed);
        sides.1.seed = Some(points[1].seed);
        sides
    };
    let c = compare(&a, &b);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        print!("{}", c.text());
    }
    let write_new = |path: &Path, text: String| -> anyhow::Result<()> {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        f.write_all(text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
    };
    if let Some(p) = &args.export_markdown {
        write_new(p, c.markdown())?;
    }
    if let Some(p) = &args.export_csv {
        write_new(p, c.csv())?;
    }
    Ok(std::process::ExitCode::SUCCESS)
}
