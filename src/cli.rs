//! The `raftsim` command line.

use crate::error::{Flag, InputError};
use crate::experiment::{self, Layout, RunOptions, RunOutput};
use crate::interrupt;
use crate::report::part::{self, Part};
use crate::report::replay::{self, Window};
use crate::report::trials::{CsvRows, TrialsCsv};
use crate::report::{self, Provenance, ReportDir, trials};
use crate::scenario::{self, Scenario};
use crate::stats::Aggregate;
use crate::study::{Kind, Study, shell_quote};
use crate::sweep;
use crate::tune;
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Deterministic discrete-event simulator for Raft leader elections.
///
/// raftsim runs many seeded trials of a simulated Raft cluster under a scenario (cluster size, timeouts,
/// network, faults) and reports how long the cluster goes without a leader. Same scenario and seed, same
/// numbers, on any machine and any number of threads.
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
    /// The scenario is a YAML file, or the name of a built-in one (`raftsim list`) when no such file exists. The
    /// report goes to reports/<name>/, or to reports/<name>@<variant>/ when --set, --seed or --trials change
    /// the scenario (the variant is a hash of the resolved scenario), so two variants never share a folder.
    ///
    /// Exit status: 0 the run finished (whether or not every trial converged); 1 a safety invariant was
    /// violated or a liveness budget missed (the trials are listed with the command that replays each), or
    /// --check-determinism found a trial that ran differently twice; 2 bad input (the scenario, a flag), a
    /// report folder that holds a report already or cannot be written (checked before any trial runs), or a
    /// trial over a resource limit (nothing is written); 130 interrupted by Ctrl-C, SIGTERM or SIGHUP (a
    /// partial report is written and marked so; a second signal stops at once, without one). With --trial N:
    /// 0, 1 when that trial violated an invariant, 2 on bad input or when it went over a resource limit.
    #[command(mut_arg("json", |a| a.help("Print summary.json on stdout instead of the table (with --trial: the \
        trial's metrics as JSON)")))]
    Run(RunArgs),
    /// Run a parameter sweep: every combination of the sweep's axes, each point a full run.
    ///
    /// The sweep is a YAML file or the name of a built-in one (`raftsim list`). Its report goes to
    /// reports/<name>/, or reports/<name>@<variant>/ with --axis, --set, --seed or --trials.
    ///
    /// Exit status: 0 every point finished; 1 a safety invariant was violated or a liveness budget missed in
    /// some point (listed with replay commands), or --check-determinism found a trial that ran differently
    /// twice; 2 bad input, a report folder that holds a report already or cannot be written (checked before any
    /// trial runs), or a trial over a resource limit; 130 interrupted by Ctrl-C, SIGTERM or SIGHUP (a partial
    /// report is written, with trials in every point; a second signal stops at once). With --point K --trial N:
    /// 0, 1 when that trial violated an invariant, 2 on bad input or when it went over a resource limit.
    #[command(mut_arg("json", |a| a.help("Print sweep.json on stdout instead of the table (with --dry-run: the \
        points; with --point and --trial: the trial's metrics)")))]
    Sweep(SweepArgs),
    /// Combine the part files written by `--shard` runs into the report a single run would have written.
    ///
    /// Exit status: 0 merged; 1 the merged trials include a safety violation or a missed liveness budget; 2
    /// bad input (no part files, parts of different runs, a missing, repeated or partial shard) or a report
    /// folder that holds a report already or cannot be written; 130 a second Ctrl-C while the report is being
    /// written (the first lets it finish; the second removes the unfinished folder).
    Merge(MergeArgs),
    /// Check a scenario file (and any --set overrides) without running it, warn about a configuration that
    /// breaks Raft's timing assumptions, and print it with defaults filled in.
    ///
    /// Exit status: 0 valid (warnings, if any, on stderr); 2 bad input, or any warning with --deny-warnings.
    Validate(ValidateArgs),
    /// List the built-in scenarios and sweeps, a folder of them, or (--reports) the report folders written.
    ///
    /// Exit status: 0 listed; 2 bad input: a folder that cannot be listed.
    List(ListArgs),
    /// Re-run one trial alone and write its event trace (trace.txt, trace.jsonl) and a space-time diagram
    /// (diagram.svg). Its metrics equal the ones the full run recorded for that trial.
    ///
    /// Exit status: 0 the trial ran (converged or not); 1 it violated a safety invariant or missed a liveness
    /// budget; 2 bad input, a trace folder that exists already or cannot be written, or a trial over a resource
    /// limit; 130 a second Ctrl-C while the trace is being written (the first lets it finish).
    Replay(ReplayArgs),
    /// Compare two runs: per metric, B - A at p50, p99 and mean with a 95 % bootstrap interval and a rank test.
    ///
    /// Give two report folders (each with its trials.csv), or one scenario (a file or a built-in name) and the
    /// overrides that make B (`--b raft.pre_vote=true`): both sides then run the same trial seeds and are
    /// compared trial by trial.
    ///
    /// Exit status: 0 compared (whatever the difference); 2 bad input (a folder without trials.csv, an export
    /// file that exists already). Ctrl-C stops it at once and nothing is written (the shell reports 130).
    Compare(crate::compare::CompareArgs),
    /// Which heartbeat interval and election timeout to use: race candidate timers on a measured network and a
    /// library's behaviour, and print the fastest failover within a spurious-election budget, in the library's
    /// own terms. Writes a report folder (tune.json, frontier chart, report.html).
    ///
    /// Exit status: 0 a recommendation was found; 1 no candidate met the budgets (the report says what each
    /// missed); 2 bad input or a report folder that holds a report already or cannot be written. Ctrl-C stops
    /// it at once and nothing is written (the shell reports 130).
    Tune(TuneArgs),
}

#[derive(Debug, Args)]
struct TuneArgs {
    /// Cluster size.
    #[arg(long, default_value_t = 5)]
    nodes: u64,
    /// Measured round trips: one duration per line (0.41ms, 410us) or ping output (time=0.412 ms); `#` comments.
    #[arg(long, value_name = "FILE", required_unless_present = "rtt", conflicts_with = "rtt")]
    rtt_samples: Option<PathBuf>,
    /// Round trip as P50[,P99] (e.g. 0.4ms,1.5ms) instead of a samples file.
    #[arg(long, value_name = "P50[,P99]")]
    rtt: Option<String>,
    /// The samples are one-way delays already (not halved).
    #[arg(long)]
    one_way: bool,
    /// Probability a message is lost.
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Measured durable-write (fsync) latencies, same format as --rtt-samples.
    #[arg(long, value_name = "FILE")]
    fsync_samples: Option<PathBuf>,
    /// The library whose behaviour and timers to tune.
    #[arg(long, value_enum, default_value = "paper")]
    library: tune::Library,
    /// The fault whose recovery is timed.
    #[arg(long, value_enum, default_value = "leader-crash")]
    fault: tune::Fault,
    /// The failover statistic to minimise.
    #[arg(long, value_enum, default_value = "p99")]
    objective: tune::Objective,
    /// Budget: spurious elections (a healthy leader existed) per node per day.
    #[arg(long, default_value_t = 1.0, value_name = "X")]
    max_spurious_per_node_day: f64,
    /// Budget: heartbeat messages the leader sends per second.
    #[arg(long, value_name = "X")]
    max_heartbeat_msgs_per_sec: Option<f64>,
    /// Seed: same inputs and seed, same recommendation, whatever --threads.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Most failover trials a candidate gets [default: 8 times the first round: 800 for p50, 3200 for p99,
    /// 32000 for p999]. Small values make a quick, rougher search.
    #[arg(long, value_name = "N")]
    budget_trials: Option<u64>,
    /// Simulated node-days of stable running that decide a finalist's spurious rate [default: 3.5 / budget, so
    /// that none seen shows the rate within budget].
    #[arg(long, value_name = "D")]
    stable_node_days: Option<f64>,
    /// Most simulated events the stable runs of one candidate may take; shorter heartbeats that would need more
    /// are not recommended.
    #[arg(long, default_value_t = 100_000_000, value_name = "N")]
    stable_events: u64,
    /// A quick, coarser search: every other heartbeat interval, three election multiples, and 400 trials per
    /// candidate unless --budget-trials says otherwise (for tests and a first look).
    #[arg(long)]
    quick: bool,
    /// Worker threads; 0 uses every core. Results do not depend on it.
    #[arg(long, short = 'j', default_value_t = 0)]
    threads: usize,
    /// Never show a progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Report folder [default: reports/tune-<library>-<nodes>n-<network>].
    #[arg(long, short = 'o', value_name = "DIR")]
    out: Option<PathBuf>,
    /// Replace a report already in the folder.
    #[arg(long)]
    force: bool,
    /// Print tune.json on stdout instead of the summary.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ReplayArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// The trial to replay (its index in the run, as in trials.csv and the report's exemplars).
    #[arg(
        long,
        value_name = "N",
        required_unless_present = "trial_seed",
        conflicts_with = "trial_seed"
    )]
    trial: Option<u64>,
    /// Replay the trial with this trial seed instead (the `trial_seed` column of trials.csv).
    #[arg(long, value_name = "S")]
    trial_seed: Option<u64>,
    /// Folder for the trace (default reports/<scenario>-trial-<N>/).
    #[arg(short, long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print the trial's metrics as JSON.
    #[arg(long)]
    json: bool,
    /// Replace a trace already in the folder.
    #[arg(long)]
    force: bool,
    /// Diagram: start at this virtual time (default: the start).
    #[arg(long, value_name = "TIME", value_parser = parse_duration_arg)]
    from: Option<std::time::Duration>,
    /// Diagram: end at this virtual time (default: the end of the trial).
    #[arg(long, value_name = "TIME", value_parser = parse_duration_arg)]
    until: Option<std::time::Duration>,
}

fn parse_duration_arg(s: &str) -> Result<std::time::Duration, String> {
    crate::duration::parse_duration(s).map(|d| d.0)
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Folder of scenarios to list (and its sweeps/ folder) [default: the built-in catalogue]; with --reports,
    /// the folder of reports [default: reports].
    dir: Option<PathBuf>,
    /// List the report folders instead: for each, its scenario or sweep, kind (run, sweep, partial, tune,
    /// replay, parts), seed, trials and the overrides it was run with, read from the report's own JSON.
    /// A folder that is not a raftsim report is marked so; nothing is touched.
    #[arg(long)]
    reports: bool,
    /// Print the listing as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ScenarioArgs {
    /// Scenario: a YAML file, or the name of a built-in one when no such file exists (`raftsim list` shows them).
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

    /// The overrides as the command line wrote them (`--set raft.heartbeat=20ms`, `--seed 7`), for `run.json`.
    fn written(&self) -> Vec<String> {
        let mut all: Vec<String> = self.set.iter().map(|s| format!("--set {s}")).collect();
        all.extend(self.seed.map(|s| format!("--seed {s}")));
        all.extend(self.trials.map(|t| format!("--trials {t}")));
        all
    }

    /// The flags that set scenario fields, so an error in such a field names the flag, not the file's line.
    fn flags(&self) -> Vec<Flag> {
        let mut flags = set_flags(&self.set);
        if let Some(seed) = self.seed {
            flags.push(Flag {
                path: "seed".into(),
                shown: format!("--seed {seed}"),
            });
        }
        if let Some(trials) = self.trials {
            flags.push(Flag {
                path: "trials".into(),
                shown: format!("--trials {trials}"),
            });
        }
        flags
    }

    fn load(&self) -> Result<Scenario, InputError> {
        scenario::load(&self.scenario, &self.overrides()).map_err(|e| e.blame_flags(&self.flags()))
    }

    /// Prints the configuration warnings about `s` on stderr, each where its field is written (or the flag
    /// that set it); an error if there are any and `--deny-warnings` is given.
    fn warn(&self, s: &Scenario, lint: &LintArgs) -> Result<(), InputError> {
        let warnings = crate::lint::lint(s);
        let source = crate::catalogue::read(crate::catalogue::Kind::Scenario, &self.scenario)
            .ok()
            .map(|(source, _)| source);
        for w in &warnings {
            eprintln!("warning: {}", w.render(source.as_ref(), &self.flags()));
        }
        deny(warnings.len(), lint)
    }

    /// The command that re-runs one trial of this scenario, less the final ` --trial N`.
    fn replay_prefix(&self) -> String {
        let mut cmd = format!("raftsim run {}", shell_quote(&self.scenario.display().to_string()));
        if let Some(seed) = self.seed {
            cmd.push_str(&format!(" --seed {seed}"));
        }
        if let Some(trials) = self.trials {
            cmd.push_str(&format!(" --trials {trials}"));
        }
        for s in &self.set {
            cmd.push_str(&format!(" --set {}", shell_quote(s)));
        }
        cmd
    }
}

/// The `--set` arguments as [`Flag`]s (an argument that does not parse is refused when it is applied).
fn set_flags(set: &[String]) -> Vec<Flag> {
    set.iter()
        .filter_map(|arg| {
            crate::overrides::parse(arg).ok().map(|o| Flag {
                path: o.path,
                shown: format!("--set `{arg}`"),
            })
        })
        .collect()
}

/// Options shared by `run` and `sweep`.
#[derive(Debug, Args)]
struct OutputArgs {
    /// Report folder [default: reports/<name>/ as written, reports/<name>@<variant>/ with overrides; see
    /// `raftsim list --reports`]. With --shard: the folder for part files [default: the same name with -parts].
    #[arg(long, short = 'o', value_name = "DIR")]
    out: Option<PathBuf>,
    /// Replace a report already in the folder (without it, a run refuses to start). The old report is
    /// replaced only once the new one is complete.
    #[arg(long)]
    force: bool,
    /// Print the summary (summary.json, or sweep.json for a sweep) on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Write trials.csv, one row per trial [default: only when the run has at most 100000 trials in all].
    #[arg(long, overrides_with = "no_trials_csv")]
    trials_csv: bool,
    /// Never write trials.csv.
    #[arg(long)]
    no_trials_csv: bool,
}

/// The configuration checks, shared by `run`, `sweep` and `validate`.
#[derive(Debug, Args)]
struct LintArgs {
    /// Treat warnings about the configuration (printed on stderr; see the README's list) as errors: exit 2
    /// before anything runs. For scripts and CI.
    #[arg(long)]
    deny_warnings: bool,
}

/// Options shared by `run` and `sweep`.
#[derive(Debug, Args)]
struct ExecArgs {
    /// Worker threads; 0 uses every core. Results do not depend on it.
    #[arg(long, short = 'j', default_value_t = 0)]
    threads: usize,
    /// Never show a progress bar (it is only shown when stderr is a terminal anyway).
    #[arg(long)]
    no_progress: bool,
    /// Run only slice K of N (0-based) of the trials and write a part file; combine parts with `raftsim merge`.
    /// `auto` reads the array index of Slurm, Kubernetes Indexed Jobs, AWS Batch or PBS.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    #[command(flatten)]
    lint: LintArgs,
    #[command(flatten)]
    exec: ExecArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// Run only trial N (as the full run would), print what it measured, and write no report.
    #[arg(long, value_name = "N")]
    trial: Option<u64>,
    /// Before the run, trace a sample of trials twice, once on another thread, and compare the traces' hashes;
    /// stop with the first differing event if they disagree.
    #[arg(long)]
    check_determinism: bool,
}

#[derive(Debug, Args)]
struct SweepArgs {
    /// Sweep: a YAML file, or the name of a built-in one when no such file exists (`raftsim list` shows them).
    sweep: PathBuf,
    /// Add or replace an axis: --axis cluster.nodes=3,5,7 (repeatable).
    #[arg(long = "axis", value_name = "PATH=V1,V2,..")]
    axis: Vec<String>,
    /// Override a field of the base scenario for every point (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Trials per point (overrides the sweep and the scenario).
    #[arg(long)]
    trials: Option<u64>,
    /// The base scenario's seed (every point runs the same trial seeds from it).
    #[arg(long)]
    seed: Option<u64>,
    /// List the points and exit without running (as JSON with --json).
    #[arg(long)]
    dry_run: bool,
    /// With --trial: the point (its index, as --dry-run lists them) whose trial to run.
    #[arg(long, value_name = "K", requires = "trial")]
    point: Option<usize>,
    /// Run only trial N of point K (as the full sweep would), print what it measured (as JSON with --json), and
    /// write no report.
    #[arg(long, value_name = "N", requires = "point")]
    trial: Option<u64>,
    /// Before the sweep, trace a sample of trials across the points twice, once on another thread, and compare
    /// the traces' hashes; stop with the first differing event if they disagree (exit 1).
    #[arg(long)]
    check_determinism: bool,
    #[command(flatten)]
    lint: LintArgs,
    #[command(flatten)]
    exec: ExecArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct MergeArgs {
    /// Part files, or folders holding them.
    #[arg(required = true)]
    parts: Vec<PathBuf>,
    /// Report folder [default: the one the run would have written: reports/<name>/, or
    /// reports/<name>@<variant>/ when the shards ran with overrides].
    #[arg(long, short = 'o', value_name = "DIR")]
    out: Option<PathBuf>,
    /// Replace a report already in the folder (only a raftsim report; it is replaced once the new one is
    /// complete).
    #[arg(long)]
    force: bool,
    /// Print summary.json (sweep.json for a sweep) on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Do not write trials.csv, even when the parts carry its rows (they do when the shards wrote them).
    #[arg(long)]
    no_trials_csv: bool,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    #[command(flatten)]
    lint: LintArgs,
    /// Print the outcome as JSON (scenario, seed, trials, overrides, variant, default report folder, warnings,
    /// and the scenario with every default filled in) instead of the YAML.
    #[arg(long)]
    json: bool,
}

/// Entry point: parse arguments, run, map the outcome to an exit code.
pub fn main() -> ExitCode {
    // Like other Unix filters, stop quietly when the reader of our output goes away (`raftsim ... | head`)
    // instead of panicking on a broken pipe: Rust ignores SIGPIPE unless told otherwise.
    sigpipe::reset();
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
        Command::Sweep(args) => run_sweep(args),
        Command::Merge(args) => merge(args),
        Command::Validate(args) => validate(&args),
        Command::List(args) => list(&args),
        Command::Replay(args) => replay(args),
        Command::Compare(args) => crate::compare::cli(args),
        Command::Tune(args) => run_tune(args),
    }
}

/// `raftsim validate`: the scenario, checked and with its defaults filled in.
fn validate(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let s = args.scenario.load()?;
    args.scenario.warn(&s, &args.lint)?;
    let shown = match crate::catalogue::builtin(crate::catalogue::Kind::Scenario, &args.scenario.scenario) {
        Some(e) => e.display(),
        None => args.scenario.scenario.display().to_string(),
    };
    if args.json {
        let mut study = Study::run(&s, String::new());
        study.overrides = args.scenario.written();
        let warnings: Vec<serde_json::Value> = crate::lint::lint(&s)
            .iter()
            .map(|w| serde_json::json!({ "field": w.field, "message": w.message }))
            .collect();
        let v = serde_json::json!({
            "valid": true,
            "source": shown,
            "scenario": s.name,
            "seed": s.seed,
            "trials": s.trials,
            "overrides": study.overrides,
            "variant": study.variant(),
            "default_report_folder": Path::new("reports").join(study.default_folder_name()),
            "warnings": warnings,
            "config": s.raw,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let yaml = serde_saphyr::to_string(&s.raw).context("rendering the scenario")?;
        println!("# {shown} is valid; with every default filled in:\n{yaml}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `raftsim list`: the built-in catalogue, a folder of scenarios, or (`--reports`) the report folders.
fn list(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let (value, text) = if args.reports {
        let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("reports"));
        let v = crate::list::reports_json(&dir)?;
        let t = crate::list::reports_text(&v);
        (v, t)
    } else {
        let v = crate::list::catalogue_json(args.dir.as_deref())?;
        let t = crate::list::catalogue_text(&v, args.dir.as_deref());
        (v, t)
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}

fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let s = args.scenario.load()?;
    args.scenario.warn(&s, &args.lint)?;
    if let Some(index) = args.trial {
        return run_one(&s, index, args.output.json);
    }
    if args.check_determinism && !check_determinism(&[(s.name.as_str(), &s)]) {
        return Ok(ExitCode::from(1));
    }
    let mut study = Study::run(&s, args.scenario.replay_prefix());
    study.overrides = args.scenario.written();
    execute(study, &args.exec, &args.output)
}

fn run_sweep(args: SweepArgs) -> anyhow::Result<ExitCode> {
    let mut set = args.set.clone();
    if let Some(seed) = args.seed {
        set.push(format!("seed={seed}"));
    }
    let sw = sweep::load(&args.sweep, &args.axis, &set, args.trials)?;
    let mut study = Study::sweep(&sw);
    study.overrides = args.axis.iter().map(|a| format!("--axis {a}")).collect();
    study.overrides.extend(args.set.iter().map(|s| format!("--set {s}")));
    study.overrides.extend(args.seed.map(|s| format!("--seed {s}")));
    study.overrides.extend(args.trials.map(|t| format!("--trials {t}")));
    warn_sweep(&args, &study)?;
    if args.dry_run {
        dry_run(&study, args.output.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let (Some(k), Some(index)) = (args.point, args.trial) {
        let Some(point) = study.points.get(k) else {
            return Err(InputError::new(format!(
                "--point {k}: the sweep has {} points (0 to {}; --dry-run lists them)",
                study.points.len(),
                study.points.len() - 1
            ))
            .into());
        };
        eprintln!("point {k}: {} (alone: {})", point.label, point.replay_command(index));
        return run_one(point.scenario(), index, args.output.json);
    }
    if args.check_determinism {
        let points: Vec<(&str, &Scenario)> = study.points.iter().map(|p| (p.label.as_str(), p.scenario())).collect();
        if !check_determinism(&points) {
            return Ok(ExitCode::from(1));
        }
    }
    execute(study, &args.exec, &args.output)
}

/// `sweep --dry-run`: the points, each with its trials and seed.
fn dry_run(study: &Study, json: bool) -> anyhow::Result<()> {
    let total: u64 = study.points.iter().map(|p| p.scenario().trials).sum();
    if json {
        let points: Vec<serde_json::Value> = study
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                serde_json::json!({
                    "point": i,
                    "label": p.label,
                    "seed": p.scenario().seed,
                    "trials": p.scenario().trials,
                })
            })
            .collect();
        let v = serde_json::json!({
            "sweep": study.name,
            "variant": study.variant(),
            "points": points,
            "trials": total,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let seeds: Vec<u64> = study.points.iter().map(|p| p.scenario().seed).collect();
    let seed = if seeds.iter().all(|&x| x == seeds[0]) {
        format!("seed {}", seeds[0])
    } else {
        "seeds differ by point".to_string()
    };
    println!(
        "sweep {}: {} points, {total} trials in all, {seed}",
        study.name,
        study.points.len()
    );
    for (i, p) in study.points.iter().enumerate() {
        println!(
            "  {i:>4}  {}  ({} trials, seed {})",
            p.label,
            p.scenario().trials,
            p.scenario().seed
        );
    }
    Ok(())
}

/// The error `--deny-warnings` makes of `count` warnings.
fn deny(count: usize, lint: &LintArgs) -> Result<(), InputError> {
    if count > 0 && lint.deny_warnings {
        return Err(InputError::new(format!(
            "{count} warning{} above, and --deny-warnings makes warnings errors; nothing was run",
            if count == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// Prints the configuration warnings of a sweep's points: a warning every point has once, the others with
/// their point.
fn warn_sweep(args: &SweepArgs, study: &Study) -> Result<(), InputError> {
    let per_point: Vec<Vec<crate::lint::Warning>> =
        study.points.iter().map(|p| crate::lint::lint(p.scenario())).collect();
    let mut count = 0;
    let file = match crate::catalogue::builtin(crate::catalogue::Kind::Sweep, &args.sweep) {
        Some(e) => e.display(),
        None => args.sweep.display().to_string(),
    };
    let everywhere: Vec<&crate::lint::Warning> = per_point[0]
        .iter()
        .filter(|w| per_point.len() > 1 && per_point.iter().all(|ws| ws.contains(w)))
        .collect();
    for w in &everywhere {
        eprintln!("warning: {file}: every point: {}", w.render(None, &[]));
        count += 1;
    }
    for (p, ws) in study.points.iter().zip(&per_point) {
        for w in ws.iter().filter(|w| !everywhere.contains(w)) {
            eprintln!("warning: {file}: point {}: {}", p.label, w.render(None, &[]));
            count += 1;
        }
    }
    deny(count, &args.lint)
}

/// Whether to write `trials.csv`.
fn trials_csv_wanted(output: &OutputArgs, total: u64) -> bool {
    if output.no_trials_csv {
        false
    } else {
        output.trials_csv || total <= trials::TRIALS_CSV_DEFAULT_LIMIT
    }
}

/// The most worker threads `--threads` may ask for: trials are CPU-bound, so more threads than a few per core only
/// cost memory (each holds a batch of trials).
fn max_threads() -> usize {
    4 * std::thread::available_parallelism().map_or(1, |n| n.get()).max(16)
}

fn execute(study: Study, exec: &ExecArgs, output: &OutputArgs) -> anyhow::Result<ExitCode> {
    if exec.threads > max_threads() {
        return Err(InputError::new(format!(
            "--threads {}: at most {} on this machine ({} cores); 0 uses every core",
            exec.threads,
            max_threads(),
            std::thread::available_parallelism().map_or(1, |n| n.get())
        ))
        .into());
    }
    let scenarios = study.scenarios();
    let layout = Layout::new(&scenarios);
    let total = layout.total();
    let csv_on = trials_csv_wanted(output, total);
    let opts = RunOptions {
        threads: exec.threads,
        progress: !exec.no_progress && std::io::stderr().is_terminal(),
    };
    if let Some(spec) = &exec.shard {
        return execute_shard(study, spec, &scenarios, &layout, &opts, output, csv_on);
    }

    let out_dir = out_folder(&study, output.out.as_deref(), output.force)?;
    // Before the staging folder exists, so that no signal can leave it behind.
    interrupt::install();
    // The staging folder first: an unwritable place is found before any trial runs.
    let dir = ReportDir::create(&out_dir)?;
    let stop = interrupt::stop_flag();
    let (written, (out, files)) = dir.fill(|dir| {
        let mut csv = csv_on
            .then(|| TrialsCsv::create(dir, study.kind, scenarios.len()))
            .transpose()?;
        // Per-trial rows need every result in order; without them, the workers aggregate.
        let sink = csv
            .as_mut()
            .map(|csv| move |p: usize, r: &crate::trial::TrialResult| -> anyhow::Result<()> { Ok(csv.row(p, r)?) });
        let out =
            experiment::run_points(&scenarios, 0..total, &opts, stop, sink).map_err(|e| explain_limit(&study, e))?;
        if !out.interrupted {
            interrupt::set_phase(interrupt::Phase::Writing);
        }
        if let Some(csv) = csv {
            csv.finish()?;
        }
        let files = report::write_report(
            &study,
            &out.aggregates,
            out.interrupted,
            csv_on,
            Provenance::Ran(&out),
            dir,
        )?;
        Ok((out, files))
    })?;
    print_results(&study, &out.aggregates, out.interrupted, output.json, &written)?;
    report_speed(&out);
    eprintln!("report: {}/ ({})", written.display(), files.join(", "));
    if !csv_on && !output.no_trials_csv {
        eprintln!("(trials.csv not written for {total} trials; ask for it with --trials-csv)");
    }
    eprintln!("open {}", written.join("report.html").display());
    if out.interrupted {
        eprintln!(
            "interrupted: the report is partial ({} of {total} trials{}) and marked so in its JSON",
            out.trials(),
            per_point(&study, &out.aggregates)
        );
    }
    print_violations(&study, &out.aggregates);
    Ok(exit_code(&study, &out.aggregates, out.interrupted))
}

/// `; per point: 120, 118, 131` for a sweep, nothing for a single scenario.
fn per_point(study: &Study, aggs: &[Aggregate]) -> String {
    if study.kind == Kind::Sweep {
        let counts: Vec<String> = aggs.iter().map(|a| a.trials.to_string()).collect();
        format!("; per point: {}", counts.join(", "))
    } else {
        String::new()
    }
}

/// `--shard K/N`: runs one slice of the trials and writes its part file. An interrupted shard writes no part
/// file (its slice must be run again), so `merge` never sees a partial one.
fn execute_shard(
    study: Study,
    spec: &str,
    scenarios: &[Scenario],
    layout: &Layout,
    opts: &RunOptions,
    output: &OutputArgs,
    csv_on: bool,
) -> anyhow::Result<ExitCode> {
    let total = layout.total();
    let (k, n) = part::parse_shard(spec)?;
    let range = layout.shard(k, n);
    let dir = output
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(format!("{}-parts", study.default_folder_name())));
    // Found unwritable before any trial runs, not after the whole slice.
    part::prepare_dir(&dir)?;
    interrupt::set_phase(interrupt::Phase::SimulatingShard);
    interrupt::install();
    let mut rows = csv_on.then(|| CsvRows::new(study.kind, scenarios.len()));
    let sink = rows.as_mut().map(|rows| {
        move |p: usize, r: &crate::trial::TrialResult| -> anyhow::Result<()> {
            rows.row(p, r);
            Ok(())
        }
    });
    let out = experiment::run_points(scenarios, range.clone(), opts, interrupt::stop_flag(), sink)
        .map_err(|e| explain_limit(&study, e))?;
    report_speed(&out);
    if out.interrupted {
        eprintln!(
            "interrupted: shard {k}/{n} stopped after {} of its {} trials; no part file written (run the shard \
             again to produce it)",
            out.trials(),
            range.end - range.start
        );
        return Ok(ExitCode::from(130));
    }
    interrupt::set_phase(interrupt::Phase::Writing);
    let part = Part::new(
        study,
        (k, n),
        range.clone(),
        out.aggregates.clone(),
        rows.map(CsvRows::into_text),
        false,
    );
    let path = part::write_part(&dir, &part)?;
    eprintln!(
        "shard {k}/{n}: trials {}..{} of {total}; part written to {} (combine with: raftsim merge {})",
        range.start,
        range.end,
        path.display(),
        shell_quote(&dir.display().to_string())
    );
    Ok(exit_code(&part.study, &out.aggregates, false))
}

/// Names the point, and how to replay the trial, when a trial hit a resource limit. No report is written.
fn explain_limit(study: &Study, e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<experiment::LimitHit>() {
        Ok(hit) => {
            let point = &study.points[hit.point];
            anyhow::anyhow!(
                "{}: {hit}\n  no report written; the trial alone: {}",
                point.label,
                point.replay_command(hit.trial)
            )
        }
        Err(e) => e,
    }
}

fn print_results(study: &Study, aggs: &[Aggregate], partial: bool, json: bool, dir: &Path) -> anyhow::Result<()> {
    match (study.kind, json) {
        (Kind::Run, false) => print!(
            "{}",
            report::run::summary_table(study.points[0].scenario(), &aggs[0], partial)
        ),
        (Kind::Sweep, false) => print!("{}", report::sweep::sweep_table(study, aggs, partial)),
        (_, true) => {
            let path = dir.join(if study.kind == Kind::Run {
                "summary.json"
            } else {
                "sweep.json"
            });
            let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
            print!("{text}");
        }
    }
    Ok(())
}

fn report_speed(out: &RunOutput) {
    let secs = out.wall.as_secs_f64();
    eprintln!(
        "ran {} trial{} in {:.2} s on {} thread{}: {} events, {:.2} M events/s, {:.0} trials/s",
        out.trials(),
        if out.trials() == 1 { "" } else { "s" },
        secs,
        out.threads,
        if out.threads == 1 { "" } else { "s" },
        out.events(),
        out.events() as f64 / secs.max(1e-9) / 1e6,
        out.trials() as f64 / secs.max(1e-9)
    );
}

fn print_violations(study: &Study, aggs: &[Aggregate]) {
    let total: u64 = aggs.iter().map(|a| a.violations).sum();
    if total == 0 {
        return;
    }
    eprintln!("VIOLATIONS in {total} trials (a safety invariant broken or a liveness budget missed); the first ones:");
    for (p, a) in study.points.iter().zip(aggs) {
        for v in &a.violation_list {
            eprintln!(
                "  {}: trial {} (seed {}): {}: {}",
                p.label, v.trial, v.trial_seed, v.invariant, v.detail
            );
            eprintln!("    replay: {}", p.replay_command(v.trial));
        }
    }
}

fn exit_code(_study: &Study, aggs: &[Aggregate], interrupted: bool) -> ExitCode {
    if aggs.iter().any(|a| a.violations > 0) {
        ExitCode::from(1)
    } else if interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    }
}

fn merge(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let (study, aggs, csv) = part::merge_parts(&args.parts)?;
    let out_dir = out_folder(&study, args.out.as_deref(), args.force)?;
    // Nothing to simulate: a signal lets the write finish, a second one removes the staging folder.
    interrupt::set_phase(interrupt::Phase::Writing);
    interrupt::install();
    let dir = ReportDir::create(&out_dir)?;
    let csv_on = csv.is_some() && !args.no_trials_csv;
    let (written, files) = dir.fill(|dir| {
        if let (true, Some(text)) = (csv_on, &csv) {
            dir.write("trials.csv", text.as_bytes())?;
        }
        report::write_report(&study, &aggs, false, csv_on, Provenance::Merged(&args.parts), dir)
    })?;
    print_results(&study, &aggs, false, args.json, &written)?;
    eprintln!("report: {}/ ({})", written.display(), files.join(", "));
    eprintln!("open {}", written.join("report.html").display());
    print_violations(&study, &aggs);
    Ok(exit_code(&study, &aggs, false))
}

/// The trials `--check-determinism` traces: up to 32 in all, spread over the points (one each from 32 points
/// spread over a larger sweep) and over each point's trials. `(point, trial)` pairs.
fn determinism_sample(trials: &[u64]) -> Vec<(usize, u64)> {
    const SAMPLE: usize = 32;
    let n = trials.len();
    if n > SAMPLE {
        return (0..SAMPLE)
            .map(|k| {
                let p = k * n / SAMPLE;
                (p, k as u64 * trials[p] / SAMPLE as u64)
            })
            .collect();
    }
    let per = (SAMPLE / n.max(1)) as u64;
    trials
        .iter()
        .enumerate()
        .flat_map(|(p, &t)| {
            let m = t.min(per);
            (0..m).map(move |k| (p, k * t / m))
        })
        .collect()
}

/// Traces a sample of trials (see [`determinism_sample`]) twice, the second time on a fresh thread, and compares
/// them. Prints the outcome; `false` when two runs of a trial differ.
fn check_determinism(points: &[(&str, &Scenario)]) -> bool {
    let trials: Vec<u64> = points.iter().map(|(_, s)| s.trials).collect();
    let sample = determinism_sample(&trials);
    let mut hashes = Vec::new();
    for &(p, index) in &sample {
        let (label, s) = points[p];
        let (_, here) = crate::trial::trace_trial(s, index, None);
        let there = std::thread::scope(|scope| {
            scope
                .spawn(|| crate::trial::trace_trial(s, index, None).1)
                .join()
                .expect("trace thread")
        });
        let (a, b) = (crate::trace::hash(&here), crate::trace::hash(&there));
        if a != b {
            let i = here
                .iter()
                .zip(&there)
                .position(|(x, y)| x != y)
                .unwrap_or(here.len().min(there.len()));
            let show = |v: &[crate::trace::TraceLine]| v.get(i).map_or("(trace ended)".to_string(), |l| l.text());
            let which = if points.len() > 1 {
                format!("point {p} ({label}), ")
            } else {
                String::new()
            };
            eprintln!(
                "determinism check failed: {which}trial {index} differs between two runs at event {i}:\n  first:  {}\n  second: {}",
                show(&here),
                show(&there)
            );
            return false;
        }
        hashes.push(a);
    }
    let combined = hashes.iter().fold(0u64, |h, x| h.rotate_left(5) ^ x);
    let over = if points.len() > 1 {
        let touched: std::collections::BTreeSet<usize> = sample.iter().map(|&(p, _)| p).collect();
        format!(" over {} of {} points", touched.len(), points.len())
    } else {
        String::new()
    };
    eprintln!(
        "determinism check: {} trials{over} traced twice (two threads), identical; trace hash {combined:016x}",
        sample.len()
    );
    true
}

/// The variant recorded in the `tune.json` in `dir`.
fn tune_variant_in(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("tune.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("variant")?.as_str().map(str::to_string)
}

/// A tune's default report folder: `base`, or `base@<variant>` when `base` holds a search with other inputs (or
/// files of the user's), as [`out_folder`] does for runs. The same inputs again are refused, saying so.
fn tune_folder(base: &Path, variant: &str, force: bool) -> Result<PathBuf, InputError> {
    let same = |dir: &Path| tune_variant_in(dir).as_deref() == Some(variant);
    let refuse = |dir: &Path| {
        InputError::new(format!(
            "{} already holds a report of this same search (variant {variant}: the same inputs and seed); pass \
             --force to replace it (the new one replaces it only once complete), or choose another folder with --out",
            dir.display()
        ))
    };
    if force || !occupied(base)? {
        check_out(base, force, None)?;
        return Ok(base.to_path_buf());
    }
    if same(base) {
        return Err(refuse(base));
    }
    let own = PathBuf::from(format!("{}@{variant}", base.display()));
    if occupied(&own)? {
        if same(&own) {
            return Err(refuse(&own));
        }
        check_out(&own, false, None)?;
    }
    eprintln!(
        "note: {}/ holds another search (other inputs) or files raftsim did not write; this one (variant \
         {variant}) goes to {}/",
        base.display(),
        own.display()
    );
    Ok(own)
}

/// Whether `dir` is a folder with something in it.
fn occupied(dir: &Path) -> Result<bool, InputError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if dir.is_dir() => Err(InputError::new(format!("cannot list {}: {e}", dir.display()))),
        // Nothing there; or a file, which creating the report refuses with the reason.
        Err(_) => Ok(false),
    }
}

/// The report folder of `study`: `--out`, or by default `reports/<name>/` for the scenario or sweep as written
/// and `reports/<name>@<variant>/` for one with overrides. A default folder that holds another variant of the
/// same name (the file was edited since, or it was run with other overrides) is left alone and the study goes
/// to its own `reports/<name>@<variant>/`, so a different variant is never refused. Checked as [`check_out`].
fn out_folder(study: &Study, out: Option<&Path>, force: bool) -> Result<PathBuf, InputError> {
    if let Some(dir) = out {
        check_out(dir, force, Some(study))?;
        return Ok(dir.to_path_buf());
    }
    let reports = Path::new("reports");
    let first = reports.join(study.default_folder_name());
    let ours = study.variant();
    if !force
        && study.overrides.is_empty()
        && occupied(&first)?
        && report::variant_in(&first).as_deref() != Some(ours.as_str())
    {
        let own = reports.join(study.variant_folder_name());
        if !occupied(&own)? || report::variant_in(&own).as_deref() == Some(ours.as_str()) {
            check_out(&own, false, Some(study))?;
            let what = match (
                crate::report::dir::check_replaceable(&first),
                report::variant_in(&first),
            ) {
                (Err(_), _) => "files raftsim did not write (left alone)".to_string(),
                (Ok(()), Some(v)) => format!("another variant of {} ({v})", study.name),
                (Ok(()), None) => "a report of an older raftsim, which did not record its variant".to_string(),
            };
            eprintln!(
                "note: {}/ holds {what}; this one (variant {ours}) goes to {}/",
                first.display(),
                own.display()
            );
            return Ok(own);
        }
    }
    check_out(&first, force, Some(study))?;
    Ok(first)
}

/// Refuses to write into a folder that already holds something, unless `force`; and even with `force`, refuses
/// to replace anything but a raftsim report (see [`crate::report::dir::check_replaceable`]). With the `study`
/// to be written, the refusal says whether the folder holds that same variant.
fn check_out(dir: &Path, force: bool, study: Option<&Study>) -> Result<(), InputError> {
    if occupied(dir)? && !force {
        let ours = study.map(Study::variant);
        let theirs = report::variant_in(dir);
        let what = match (study, &ours, &theirs) {
            (Some(st), Some(a), Some(b)) if a == b => format!(
                "already holds a report of this same variant of {} (variant {a}: the same resolved scenario, seed \
                 and trials)",
                st.name
            ),
            (Some(_), Some(a), Some(b)) => format!("already holds a report of another variant ({b}; this is {a})"),
            _ => "already holds a report".to_string(),
        };
        return Err(InputError::new(format!(
            "{} {what}; pass --force to replace it (the new one replaces it only once complete), or choose \
             another folder with --out",
            dir.display()
        )));
    }
    if force && let Err(why) = crate::report::dir::check_replaceable(dir) {
        return Err(InputError::new(format!(
            "--out {}: --force replaces only a raftsim report, and {why}; nothing was touched. Choose another \
             folder with --out",
            dir.display()
        )));
    }
    Ok(())
}

fn check_trial_index(s: &Scenario, index: u64) -> Result<(), InputError> {
    if index >= s.trials {
        return Err(InputError::new(format!(
            "--trial {index}: the scenario has {} trials (0 to {})",
            s.trials,
            s.trials - 1
        )));
    }
    Ok(())
}

fn replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let s = args.scenario.load()?;
    if let Some(i) = args.trial {
        check_trial_index(&s, i)?;
    }
    let index = args.trial.unwrap_or(0);
    let (r, lines) = crate::trial::trace_trial(&s, index, args.trial_seed);
    let label = match args.trial_seed {
        Some(seed) => format!("seed-{seed}"),
        None => format!("trial-{index}"),
    };
    let out = args.out.clone().unwrap_or_else(|| {
        let mut study = Study::run(&s, String::new());
        study.overrides = args.scenario.written();
        PathBuf::from("reports").join(format!("{}-{label}", study.default_folder_name()))
    });
    check_out(&out, args.force, None)?;
    let window = Window {
        from_us: args.from.map(|d| d.as_micros() as u64),
        until_us: args.until.map(|d| d.as_micros() as u64),
    };
    interrupt::set_phase(interrupt::Phase::Writing);
    interrupt::install();
    let (written, ()) =
        ReportDir::create(&out)?.fill(|dir| replay::write_trace(dir, &s, &label, &r, &lines, window))?;
    let code = print_trial(&s, &r, args.json)?;
    eprintln!(
        "trace: {}/ (trace.txt, trace.jsonl, diagram.svg, diagram.png; {} events)",
        written.display(),
        lines.len()
    );
    Ok(code)
}

fn run_one(s: &Scenario, index: u64, json: bool) -> anyhow::Result<ExitCode> {
    check_trial_index(s, index)?;
    let r = experiment::run_trial_guarded(s, index);
    print_trial(s, &r, json)
}

fn print_trial(s: &Scenario, r: &crate::trial::TrialResult, json: bool) -> anyhow::Result<ExitCode> {
    let value = replay::trial_json(s, r);
    if json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!(
            "trial {} of {} (seed {}, trial seed {}): {}",
            r.index,
            s.name,
            s.seed,
            r.seed,
            r.outcome.name()
        );
        for (k, v) in value.as_object().expect("object") {
            if !matches!(k.as_str(), "scenario" | "seed" | "trial" | "trial_seed" | "outcome") && !v.is_null() {
                println!("  {k}: {v}");
            }
        }
    }
    Ok(match r.outcome {
        crate::trial::Outcome::Violation { .. } => ExitCode::from(1),
        crate::trial::Outcome::Aborted { .. } => ExitCode::from(2),
        _ => ExitCode::SUCCESS,
    })
}

/// The network of `--rtt P50[,P99]` as samples: a piecewise-linear quantile function through min = 0.8 p50, p50,
/// p90 = p50 + 0.4 (p99 - p50), p99, p999 = p99 + 0.5 (p99 - p50) and max = p99 + (p99 - p50), read at 1,000
/// evenly spaced quantiles.
fn rtt_samples_from_flag(text: &str) -> Result<Vec<u64>, InputError> {
    let bad = |m: String| {
        InputError::new(format!(
            "--rtt {text}: {m}; write it like --rtt 0.4ms or --rtt 0.4ms,1.5ms"
        ))
    };
    let mut parts = text.split(',');
    let p50 = tune::samples::parse_value(parts.next().unwrap_or("")).map_err(bad)?;
    let p99 = match parts.next() {
        Some(p) => tune::samples::parse_value(p).map_err(bad)?,
        None => p50,
    };
    if parts.next().is_some() {
        return Err(bad("at most two values (p50 and p99)".into()));
    }
    if p99 < p50 {
        return Err(bad(format!("p99 ({p99}us) is below p50 ({p50}us)")));
    }
    let spread = (p99 - p50) as f64;
    let p = p50 as f64;
    let knots = [
        (0.0, if p99 == p50 { p } else { 0.8 * p }),
        (0.5, p),
        (0.9, p + 0.4 * spread),
        (0.99, p99 as f64),
        (0.999, p99 as f64 + 0.5 * spread),
        (1.0, p99 as f64 + spread),
    ];
    Ok((0..1000)
        .map(|i| {
            let u = (i as f64 + 0.5) / 1000.0;
            let j = knots.partition_point(|k| k.0 <= u).clamp(1, knots.len() - 1);
            let (q0, v0) = knots[j - 1];
            let (q1, v1) = knots[j];
            ((v0 + (v1 - v0) * (u - q0) / (q1 - q0)).round() as u64).max(1)
        })
        .collect())
}

fn run_tune(a: TuneArgs) -> anyhow::Result<ExitCode> {
    if a.nodes == 0 || a.nodes > 1001 {
        return Err(InputError::new(format!("--nodes {}: allowed 1 to 1001", a.nodes)).into());
    }
    if !(0.0..1.0).contains(&a.loss) {
        return Err(InputError::new(format!(
            "--loss {}: a probability from 0 up to (not including) 1, like 0.01",
            a.loss
        ))
        .into());
    }
    if !(a.max_spurious_per_node_day > 0.0 && a.max_spurious_per_node_day.is_finite()) {
        return Err(InputError::new(format!(
            "--max-spurious-per-node-day {}: must be a positive number, like 1 or 0.1",
            a.max_spurious_per_node_day
        ))
        .into());
    }
    if let Some(h) = a.max_heartbeat_msgs_per_sec
        && !(h > 0.0 && h.is_finite())
    {
        return Err(InputError::new(format!(
            "--max-heartbeat-msgs-per-sec {h}: must be a positive number, like 1000"
        ))
        .into());
    }
    if a.threads > max_threads() {
        return Err(InputError::new(format!("--threads {}: at most {}", a.threads, max_threads())).into());
    }
    let objective_first = a.objective.first_round();
    let budget_trials = a
        .budget_trials
        .unwrap_or(if a.quick { objective_first } else { 8 * objective_first });
    if !(1..=1_000_000).contains(&budget_trials) {
        return Err(InputError::new(format!("--budget-trials {budget_trials}: allowed 1 to 1000000")).into());
    }
    let stable_node_days = a.stable_node_days.unwrap_or(3.5 / a.max_spurious_per_node_day);
    if !(stable_node_days > 0.0 && stable_node_days <= 1e6) {
        return Err(InputError::new(format!(
            "--stable-node-days {stable_node_days}: must be above 0 and at most 1000000"
        ))
        .into());
    }
    let (mut samples, source, stem) = match (&a.rtt_samples, &a.rtt) {
        (Some(path), _) => {
            let s = tune::samples::read(path, "--rtt-samples")?;
            let stem = path
                .file_stem()
                .map_or("rtt".into(), |s| s.to_string_lossy().into_owned());
            (s, format!("{} samples from {}", "round-trip", path.display()), stem)
        }
        (None, Some(text)) => (
            rtt_samples_from_flag(text)?,
            format!("round trip {text}"),
            format!("rtt-{text}"),
        ),
        (None, None) => unreachable!("clap requires one of them"),
    };
    let source = if a.one_way {
        source.replace("round-trip", "one-way").replace("round trip", "one-way")
    } else {
        for s in &mut samples {
            *s = (*s / 2).max(1);
        }
        source
    };
    samples.sort_unstable();
    let fsync_us = match &a.fsync_samples {
        Some(p) => Some(tune::samples::read(p, "--fsync-samples")?),
        None => None,
    };
    let input = tune::TuneInput {
        nodes: a.nodes,
        one_way_us: samples,
        network_source: source,
        loss: a.loss,
        fsync_us,
        library: a.library,
        fault: a.fault,
        objective: a.objective,
        max_spurious_per_node_day: a.max_spurious_per_node_day,
        max_heartbeat_msgs_per_sec: a.max_heartbeat_msgs_per_sec,
        seed: a.seed,
        budget_trials,
        stable_node_days,
        stable_events: a.stable_events,
        quick: a.quick,
    };
    let safe: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let variant = tune::variant(&input);
    let out_dir = match &a.out {
        Some(dir) => {
            check_out(dir, a.force, None)?;
            dir.clone()
        }
        None => {
            let base = Path::new("reports").join(format!("tune-{}-{}n-{safe}", a.library.name(), a.nodes));
            tune_folder(&base, &variant, a.force)?
        }
    };
    let progress = !a.no_progress && std::io::stderr().is_terminal();
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let result = tune::run(input, a.threads, progress)?;
    let wall = started.elapsed();
    let dir =
        ReportDir::create(&out_dir).with_context(|| format!("cannot create a report in {}", out_dir.display()))?;
    let files = report::tune::write(&result, &dir)?;
    let written = dir
        .commit()
        .with_context(|| format!("moving the report into {}", out_dir.display()))?;
    if a.json {
        print!("{}", std::fs::read_to_string(written.join("tune.json"))?);
    } else {
        print!("{}", tune::text(&result));
    }
    eprintln!(
        "ran {} trials ({:.0} M events) in {:.1} s",
        result.total_trials,
        result.total_events as f64 / 1e6,
        wall.as_secs_f64()
    );
    eprintln!("report: {}/ ({})", written.display(), files.join(", "));
    Ok(if result.chosen.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
