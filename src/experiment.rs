//! Many trials of one scenario, run in parallel and aggregated deterministically.

use crate::scenario::Scenario;
use crate::stats::Aggregate;
use crate::trial::{Outcome, TrialResult, run_trial};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Show a progress bar (only drawn when stderr is a terminal).
    pub progress: bool,
    /// Run only these trial indices (default: `0..trials`).
    pub trial_range: std::ops::Range<u64>,
}

/// What a run produced, besides the per-trial rows handed to the sink.
#[derive(Debug)]
pub struct RunOutput {
    /// Aggregated statistics.
    pub aggregate: Aggregate,
    /// Wall-clock time of the simulation (not deterministic; never written to `summary.json`).
    pub wall: Duration,
    /// Threads used.
    pub threads: usize,
    /// Whether the run was interrupted before every trial ran.
    pub interrupted: bool,
}

/// Trials per parallel batch: big enough to keep cores busy, small enough to bound memory and to update the
/// progress bar often. Results are aggregated batch by batch in trial order.
const BATCH: u64 = 8192;

/// Runs one trial, turning a panic inside the model into a reported violation instead of a dead run.
pub fn run_trial_guarded(s: &Scenario, index: u64) -> TrialResult {
    match catch_unwind(AssertUnwindSafe(|| run_trial(s, index))) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".to_string());
            TrialResult {
                index,
                seed: sim_core::rng::trial_seed(s.seed, index),
                outcome: Outcome::Violation {
                    invariant: "Assertion",
                    detail: msg,
                },
                first_leader_us: None,
                election_us: Vec::new(),
                convergence_us: Vec::new(),
                recovery_us: Vec::new(),
                rounds: 0,
                split_votes: 0,
                messages: [0; 4],
                end_us: 0,
                events: 0,
            }
        }
    }
}

/// Runs the trials of `s`, calling `sink` for each result in trial order.
pub fn run(
    s: &Scenario,
    opts: &RunOptions,
    stop: &AtomicBool,
    mut sink: impl FnMut(&TrialResult) -> std::io::Result<()>,
) -> std::io::Result<RunOutput> {
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("raftsim-worker-{i}"))
        .build()
        .expect("thread pool");
    let total = opts.trial_range.end - opts.trial_range.start;
    let bar = if opts.progress {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} trials ({per_sec}, eta {eta})",
        )
        .expect("valid template"),
    );
    let started = Instant::now();
    let mut aggregate = Aggregate::default();
    let mut interrupted = false;
    let mut lo = opts.trial_range.start;
    // Silence the default panic message for guarded trials; the violation report carries it.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = (|| -> std::io::Result<()> {
        while lo < opts.trial_range.end {
            if stop.load(Ordering::Relaxed) {
                interrupted = true;
                break;
            }
            let hi = (lo + BATCH).min(opts.trial_range.end);
            let results: Vec<TrialResult> =
                pool.install(|| (lo..hi).into_par_iter().map(|i| run_trial_guarded(s, i)).collect());
            for r in &results {
                aggregate.add(r);
                sink(r)?;
            }
            bar.inc(hi - lo);
            lo = hi;
        }
        Ok(())
    })();
    std::panic::set_hook(hook);
    result?;
    bar.finish_and_clear();
    Ok(RunOutput {
        aggregate,
        wall: started.elapsed(),
        threads,
        interrupted,
    })
}
