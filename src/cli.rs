//! The `raftsim` command line.

use crate::error::InputError;
use crate::experiment::{self, RunOptions};
use crate::report::{self, ReportDir};
use crate::scenario::{self, Scenario};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Deterministic discrete-event simulator for Raft leader elections.
///
/// raftsim runs many seeded trials of a simulated Raft cluster under a scenario (cluster size, timeouts,
/// network, faults) and reports how long the cluster goes without a leader.
#[derive(Debug, Parser)]
#[command(name = "raftsim", version, propagate_version = true, max_term_width = 110)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every trial of a scenario; print a summary and write a report folder.
    ///
    /// Exit status: 0 when the run finished, 1 when a safety invariant was violated, 2 on bad input.
    Run(RunArgs),
    /// Check a scenario file (and any --set overrides) without running it; print it with defaults filled in.
    Validate(ValidateArgs),
}

#[derive(Debug, Args)]
struct ScenarioArgs {
    /// Scenario file (YAML). See scenarios/ for examples.
    scenario: PathBuf,
    /// Override a scenario field, e.g. --set raft.heartbeat=50ms or --set faults.0.at=2s (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Override the scenario's number of trials.
    #[arg(long)]
    trials: Option<u64>,
}

impl ScenarioArgs {
    /// `--seed` and `--trials` are shorthands for `--set seed=...` and `--set trials=...`.
    fn overrides(&self) -> Vec<String> {
        let mut all = self.set.clone();
        if let Some(seed) = self.seed {
            all.push(format!("seed={seed}"));
        }
        if let Some(trials) = self.trials {
            all.push(format!("trials={trials}"));
        }
        all
    }

    fn load(&self) -> Result<Scenario, InputError> {
        scenario::load(&self.scenario, &self.overrides())
    }

    /// The command that re-runs trial `index` alone.
    fn replay_command(&self, index: u64) -> String {
        let mut cmd = format!("raftsim run {}", shell_quote(&self.scenario.display().to_string()));
        if let Some(seed) = self.seed {
            cmd.push_str(&format!(" --seed {seed}"));
        }
        for s in &self.set {
            cmd.push_str(&format!(" --set {}", shell_quote(s)));
        }
        cmd.push_str(&format!(" --trial {index}"));
        cmd
    }
}

fn shell_quote(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Worker threads; 0 uses every core.
    #[arg(long, short = 'j', default_value_t = 0)]
    threads: usize,
    /// Report folder [default: reports/<scenario name>]. An existing report there is replaced.
    #[arg(long, short = 'o', value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print summary.json on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Never show a progress bar (it is only shown when stderr is a terminal anyway).
    #[arg(long)]
    no_progress: bool,
    /// Run only trial N (as the full run would), print what it measured, and write no report.
    #[arg(long, value_name = "N")]
    trial: Option<u64>,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
}

/// Entry point: parse arguments, run, map the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            if let Some(input) = err.downcast_ref::<InputError>() {
                eprintln!("error: {input}");
            } else {
                eprintln!("error: {err:#}");
            }
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run(args),
        Command::Validate(args) => {
            let s = args.scenario.load()?;
            let yaml = serde_saphyr::to_string(&s.raw).context("rendering the scenario")?;
            println!(
                "# {} is valid; with every default filled in:\n{yaml}",
                args.scenario.scenario.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let s = args.scenario.load()?;
    if let Some(index) = args.trial {
        return run_one(&s, index, args.json);
    }
    let out_dir = args.out.clone().unwrap_or_else(|| Path::new("reports").join(&s.name));
    let dir =
        ReportDir::create(&out_dir).with_context(|| format!("cannot create a report in {}", out_dir.display()))?;
    let mut csv = BufWriter::new(std::fs::File::create(dir.path("trials.csv")).context("creating trials.csv")?);
    csv.write_all(report::trials_csv_header().as_bytes())?;

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second Ctrl-C while the partial report is being written falls through to the default action.
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        });
    }
    let opts = RunOptions {
        threads: args.threads,
        progress: !args.no_progress && std::io::stderr().is_terminal(),
        trial_range: 0..s.trials,
    };
    let out = experiment::run(&s, &opts, &stop, |r| {
        csv.write_all(report::trials_csv_row(r).as_bytes())
    })?;
    csv.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    let agg = &out.aggregate;

    let summary = report::summary_json(&s, agg, out.interrupted);
    let summary_text = serde_json::to_string_pretty(&summary)? + "\n";
    dir.write("summary.json", summary_text.as_bytes())?;
    dir.write(
        "run.json",
        (serde_json::to_string_pretty(&report::run_json(&s, &out))? + "\n").as_bytes(),
    )?;
    let charts = write_charts(&s, agg, &dir)?;
    let written = dir
        .commit()
        .with_context(|| format!("moving the report into {}", out_dir.display()))?;

    if args.json {
        print!("{summary_text}");
    } else {
        print!("{}", report::summary_table(&s, agg));
    }
    let secs = out.wall.as_secs_f64();
    eprintln!(
        "ran {} trials in {:.2} s on {} threads: {} events, {:.2} M events/s, {:.0} trials/s",
        agg.trials,
        secs,
        out.threads,
        agg.events,
        agg.events as f64 / secs.max(1e-9) / 1e6,
        agg.trials as f64 / secs.max(1e-9)
    );
    let mut files = vec!["summary.json", "run.json", "trials.csv"];
    files.extend(charts.iter().map(String::as_str));
    eprintln!("report: {}/ ({})", written.display(), files.join(", "));
    if out.interrupted {
        eprintln!(
            "interrupted: the report is partial ({} of {} trials) and marked so in summary.json",
            agg.trials, s.trials
        );
        return Ok(ExitCode::from(130));
    }
    if agg.violations > 0 {
        eprintln!("SAFETY VIOLATIONS in {} trials; the first ones:", agg.violations);
        for v in &agg.violation_list {
            eprintln!(
                "  trial {} (seed {}): {}: {}",
                v.trial, v.trial_seed, v.invariant, v.detail
            );
            eprintln!("    replay: {}", args.scenario.replay_command(v.trial));
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Draws the headline histogram as SVG and PNG; returns the file names.
fn write_charts(s: &Scenario, agg: &crate::stats::Aggregate, dir: &ReportDir) -> anyhow::Result<Vec<String>> {
    let (metric, dist) = report::headline(agg);
    if dist.count() == 0 {
        return Ok(Vec::new());
    }
    let edges = report::bin_edges_us(dist, 60);
    let what = if metric == "election_ms" {
        "election time after leader loss"
    } else {
        "time to first leader"
    };
    let sm = dist.summary();
    let chart = crate::chart::HistogramChart {
        title: format!("{}: {what} ({} samples)", s.name, dist.count()),
        x_label: format!("{} (ms)", what),
        edges_ms: edges.iter().map(|&e| e as f64 / 1000.0).collect(),
        counts: dist.bin_counts(&edges),
        markers: [("p50", sm.p50), ("p99", sm.p99)]
            .into_iter()
            .filter_map(|(l, v)| v.map(|v| (l.to_string(), v)))
            .collect(),
    };
    let svg = crate::chart::histogram_svg(&chart).map_err(|e| anyhow::anyhow!("drawing the SVG chart: {e}"))?;
    let svg_name = format!("{metric}.svg");
    let png_name = format!("{metric}.png");
    dir.write(&svg_name, svg.as_bytes())?;
    crate::chart::histogram_png(&chart, &dir.path(&png_name))
        .map_err(|e| anyhow::anyhow!("drawing the PNG chart: {e}"))?;
    Ok(vec![svg_name, png_name])
}

fn run_one(s: &Scenario, index: u64, json: bool) -> anyhow::Result<ExitCode> {
    if index >= s.trials {
        return Err(InputError::new(format!(
            "--trial {index}: the scenario has {} trials (0 to {})",
            s.trials,
            s.trials - 1
        ))
        .into());
    }
    let r = experiment::run_trial_guarded(s, index);
    let ms = |v: Option<&u64>| v.map(|us| *us as f64 / 1000.0);
    let value = serde_json::json!({
        "scenario": s.name,
        "trial": r.index,
        "trial_seed": r.seed,
        "outcome": r.outcome.name(),
        "violation": match &r.outcome { crate::trial::Outcome::Violation { invariant, detail } => serde_json::json!({"invariant": invariant, "detail": detail}), _ => serde_json::Value::Null },
        "first_leader_ms": ms(r.first_leader_us.as_ref()),
        "election_ms": r.election_us.iter().map(|&u| u as f64 / 1000.0).collect::<Vec<_>>(),
        "convergence_ms": r.convergence_us.iter().map(|&u| u as f64 / 1000.0).collect::<Vec<_>>(),
        "recovery_ms": r.recovery_us.iter().map(|&u| u as f64 / 1000.0).collect::<Vec<_>>(),
        "rounds": r.rounds,
        "split_votes": r.split_votes,
        "messages": crate::trial::message_names().iter().zip(r.messages).map(|(n, c)| (n.to_string(), serde_json::json!(c))).collect::<serde_json::Map<_, _>>(),
        "end_ms": r.end_us as f64 / 1000.0,
        "events": r.events,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!(
            "trial {} of {} (seed {}): {}",
            r.index,
            s.name,
            r.seed,
            r.outcome.name()
        );
        for (k, v) in value.as_object().expect("object") {
            if !matches!(k.as_str(), "scenario" | "trial" | "trial_seed" | "outcome") && !v.is_null() {
                println!("  {k}: {v}");
            }
        }
    }
    Ok(if matches!(r.outcome, crate::trial::Outcome::Violation { .. }) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
