//! Many trials of one scenario, run in parallel and aggregated deterministically.

use crate::scenario::Scenario;
use crate::stats::Aggregate;
use crate::trial::{Outcome, TrialResult, run_trial_until};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How to run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Show a progress bar (only drawn when stderr is a terminal).
    pub progress: bool,
}

/// What a run produced, besides the per-trial rows handed to the sink.
#[derive(Debug)]
pub struct RunOutput {
    /// Aggregated statistics, one per point (one in all for a plain run).
    pub aggregates: Vec<Aggregate>,
    /// Wall-clock time of the simulation (not deterministic; never written to `summary.json`).
    pub wall: Duration,
    /// Threads used.
    pub threads: usize,
    /// Whether the run was interrupted before every trial ran.
    pub interrupted: bool,
}

impl RunOutput {
    /// Events simulated, over every point.
    pub fn events(&self) -> u64 {
        self.aggregates.iter().map(|a| a.events).sum()
    }

    /// Trials run, over every point.
    pub fn trials(&self) -> u64 {
        self.aggregates.iter().map(|a| a.trials).sum()
    }
}

/// The trials of several scenarios ("points") laid end to end: global trial `g` is trial `g - start(p)` of the
/// point `p` whose range holds `g`. Sweeps and shards slice this index space.
#[derive(Clone, Debug)]
pub struct Layout {
    starts: Vec<u64>,
}

impl Layout {
    /// The layout of `points`.
    pub fn new(points: &[Scenario]) -> Self {
        let mut starts = Vec::with_capacity(points.len() + 1);
        let mut total = 0u64;
        starts.push(0);
        for p in points {
            total += p.trials;
            starts.push(total);
        }
        Layout { starts }
    }

    /// Number of trials over every point.
    pub fn total(&self) -> u64 {
        *self.starts.last().expect("non-empty")
    }

    /// (point, trial index within the point) of global trial `g`.
    pub fn locate(&self, g: u64) -> (usize, u64) {
        let p = self.starts.partition_point(|&s| s <= g) - 1;
        (p, g - self.starts[p])
    }

    /// Shard `k` of `n` (0-based): a contiguous slice of the global trials, the same whatever else runs.
    pub fn shard(&self, k: u64, n: u64) -> Range<u64> {
        let total = self.total() as u128;
        let lo = (total * k as u128 / n as u128) as u64;
        let hi = (total * (k as u128 + 1) / n as u128) as u64;
        lo..hi
    }
}

/// Trials per parallel batch: big enough to keep cores busy, small enough to bound memory and to update the
/// progress bar often. With a sink, results are aggregated on the main thread batch by batch in trial order.
const BATCH: u64 = 8192;

/// Most trials one worker runs as one piece of a batch. Left to itself, rayon split a batch into a few pieces a
/// thread, each run whole: at the end of every batch one core ran out its last piece of up to 2,048 trials while
/// the other had nothing left to take, about 2-4 % of a million-trial leader-crash run's wall time. Pieces of 64
/// trials leave at most 64 trials' work at the tail, and cost rayon a hundred or so splits a batch.
const PIECE: usize = 64;

/// The most aggregates (shelves times points) kept for the workers: each holds six histograms of about 230 KB
/// (see [`run_points`]).
const MAX_WORKER_AGGREGATES: usize = 16;

/// Aggregates (one per point) that some of the worker threads add their trials to, alone on its cache lines:
/// the workers' locks side by side in one line would move it between cores at every trial.
#[repr(align(128))]
struct Shelf(Mutex<Vec<Aggregate>>);

/// How many shelves the workers aggregate on: one each while that stays within [`MAX_WORKER_AGGREGATES`],
/// fewer shared between them beyond (a trial's addition is a few hundred nanoseconds against its run's
/// microseconds, so a shared shelf is seldom waited for); none for a sweep with more points than that, which is
/// aggregated on the main thread.
fn shelves_for(threads: usize, points: usize) -> usize {
    threads.min(MAX_WORKER_AGGREGATES / points.max(1))
}

/// The type of an absent sink: `run_points(.., None::<NoSink>)` aggregates on the workers.
pub type NoSink = fn(usize, &TrialResult) -> anyhow::Result<()>;

/// Fewest trials per batch, however large their results.
const MIN_BATCH: u64 = 256;

/// Bytes of per-trial sample lists a batch may hold: a scenario whose trials each record thousands of commit
/// latencies (a client writing under churn) runs smaller batches, so memory stays flat instead of holding
/// 8,192 trials' lists at once. Batch sizes change only when results are aggregated, never a result.
const BATCH_BYTES: usize = 16 << 20;

/// The next batch size after a batch of `trials` results holding `bytes` on the heap.
fn next_batch(trials: usize, bytes: usize) -> u64 {
    if trials == 0 {
        return BATCH;
    }
    let per_trial = (bytes / trials).max(1);
    ((BATCH_BYTES / per_trial) as u64).clamp(MIN_BATCH, BATCH)
}

/// Runs one trial, turning a panic inside the model into a reported violation instead of a dead run.
pub fn run_trial_guarded(s: &Scenario, index: u64) -> TrialResult {
    run_trial_guarded_until(s, index, &AtomicBool::new(false)).expect("never stopped")
}

/// [`run_trial_guarded`], unless `stop` is set before the trial ends (then `None`: see
/// [`crate::trial::run_trial_until`]).
pub fn run_trial_guarded_until(s: &Scenario, index: u64, stop: &AtomicBool) -> Option<TrialResult> {
    match catch_unwind(AssertUnwindSafe(|| run_trial_until(s, index, stop))) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".to_string());
            Some(TrialResult {
                index,
                seed: sim_core::rng::trial_seed(s.seed, index),
                outcome: Outcome::Violation {
                    invariant: crate::invariants::Invariant::Assertion,
                    detail: msg,
                },
                first_leader_us: None,
                election_us: Default::default(),
                convergence_us: Default::default(),
                recovery_us: Default::default(),
                rounds: 0,
                split_votes: 0,
                messages: Default::default(),
                spurious_elections: 0,
                elections: (0, 0),
                disruptions: 0,
                leader_availability: None,
                write_availability: None,
                commit_us: Vec::new(),
                commands: (0, 0),
                failover_commit_us: Default::default(),
                end_us: 0,
                events: 0,
                unmeasured: Vec::new(),
            })
        }
    }
}

/// A trial hit one of its scenario's resource limits; the run stops there.
#[derive(Debug)]
pub struct LimitHit {
    /// The point (index into the run's scenarios).
    pub point: usize,
    /// Trial index within the point.
    pub trial: u64,
    /// The trial's seed.
    pub seed: u64,
    /// The limit's field name.
    pub limit: &'static str,
    /// What happened, and what to do about it.
    pub detail: String,
}

impl std::fmt::Display for LimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "trial {} (seed {}) stopped at {}: {}",
            self.trial, self.seed, self.limit, self.detail
        )
    }
}

impl std::error::Error for LimitHit {}

impl LimitHit {
    /// The limit trial result `r` of point `point` hit, if it was stopped by one.
    fn of(point: usize, r: &TrialResult) -> Option<LimitHit> {
        match &r.outcome {
            Outcome::Aborted { limit, detail } => Some(LimitHit {
                point,
                trial: r.index,
                seed: r.seed,
                limit,
                detail: detail.clone(),
            }),
            _ => None,
        }
    }
}

/// The trials of `range` (see [`Layout`]) in the order they run: round after round, each round taking the next
/// trials of every point that has some left, interleaved trial by trial (point 0's trial, point 1's, ..., then
/// each point's next). So every point advances at the same pace, and a run stopped early has trials of every
/// point, whichever part of a round each worker thread had reached.
struct Schedule {
    /// Per point: the next trial to schedule and the end of its slice of the range.
    next: Vec<(u64, u64)>,
}

impl Schedule {
    fn new(layout: &Layout, points: usize, range: &Range<u64>) -> Self {
        let next = (0..points)
            .map(|p| {
                let (start, end) = (layout.starts[p], layout.starts[p + 1]);
                let lo = range.start.clamp(start, end) - start;
                let hi = range.end.clamp(start, end) - start;
                (lo, hi)
            })
            .collect();
        Schedule { next }
    }

    /// Whether every trial has been scheduled.
    fn done(&self) -> bool {
        self.next.iter().all(|(lo, hi)| lo >= hi)
    }

    /// The next round, at most about `size` trials, as (point, trial) pairs; empty when every trial is scheduled.
    fn round(&mut self, size: u64) -> Vec<(usize, u64)> {
        let active = self.next.iter().filter(|(lo, hi)| lo < hi).count() as u64;
        if self.done() {
            return Vec::new();
        }
        let share = (size / active).max(1);
        let mut out = Vec::with_capacity((share * active) as usize);
        for k in 0..share {
            for (p, &(lo, hi)) in self.next.iter().enumerate() {
                if lo + k < hi {
                    out.push((p, lo + k));
                }
            }
        }
        for (lo, hi) in &mut self.next {
            *lo = (*lo + share).min(*hi);
        }
        out
    }
}

/// Runs global trials `range` of `points` (see [`Layout`]), aggregating per point, and with a `sink`, calling
/// `sink(point, result)` for each result, each point's results in trial order (the points' rounds interleave;
/// see [`Schedule`]). A trial that hits a resource limit stops the run with a [`LimitHit`] error (the first in
/// the order trials are scheduled). When `stop` is set, the trials running stop within
/// [`crate::trial::STOP_CHECK_EVENTS`] events and are discarded, and the run returns what had finished, marked
/// `interrupted`.
///
/// Without a sink, each worker thread adds the trials it ran to aggregates of its own (or shared with a few
/// others on many cores: [`shelves_for`]), merged when the run ends: no result crosses to another core, and the
/// workers never wait for a serial aggregation between rounds, which on many cores would bound the whole run.
/// The aggregates are the same either way, since adding trials and merging aggregates gives the same result in
/// any order and any grouping ([`Aggregate::add`]).
pub fn run_points(
    points: &[Scenario],
    range: Range<u64>,
    opts: &RunOptions,
    stop: &AtomicBool,
    mut sink: Option<impl FnMut(usize, &TrialResult) -> anyhow::Result<()>>,
) -> anyhow::Result<RunOutput> {
    let layout = Layout::new(points);
    assert!(range.end <= layout.total(), "trial range past the end");
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
    let bar = if opts.progress {
        ProgressBar::new(range.end - range.start)
    } else {
        ProgressBar::hidden()
    };
    let template = if points.len() > 1 {
        "{spinner} [{elapsed_precise}] {bar:36} {pos}/{len} trials, {msg} ({rate}, eta {eta})"
    } else {
        "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} trials ({rate}, eta {eta})"
    };
    // Whole trials per second: indicatif's own {per_sec} prints four decimals.
    let style = ProgressStyle::with_template(template)
        .expect("valid template")
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} trials/s", state.per_sec());
            },
        );
    bar.set_style(style);
    if points.len() > 1 {
        bar.set_message(format!("{} points side by side", points.len()));
    }
    // Wall time for the throughput figures in run.json and the terminal; no trial ever sees it.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let mut aggregates = vec![Aggregate::default(); points.len()];
    let mut interrupted = false;
    let mut schedule = Schedule::new(&layout, points.len(), &range);
    // Start small: the first batch tells how large this scenario's results are.
    let mut batch = MIN_BATCH;
    // One buffer for every batch's results, allocated here and reused: a buffer allocated on a worker thread
    // for each batch and freed here after it came back made the allocator's per-thread arenas keep a batch's
    // worth more as runs went on (peak memory grew 15-40 % from 10^4 or 10^5 trials to ten times that).
    let mut results: Vec<Option<TrialResult>> = Vec::new();
    // The shelves the workers aggregate on; none when the main thread aggregates every result in order.
    let shelves: Vec<Shelf> = if sink.is_none() {
        (0..shelves_for(threads, points.len()))
            .map(|_| Shelf(Mutex::new(vec![Aggregate::default(); points.len()])))
            .collect()
    } else {
        Vec::new()
    };
    // Silence the default panic message for guarded trials; the violation report carries it.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = (|| -> anyhow::Result<()> {
        loop {
            if stop.load(Ordering::Relaxed) {
                interrupted = !schedule.done();
                break;
            }
            let round = schedule.round(batch);
            if round.is_empty() {
                break;
            }
            if !shelves.is_empty() {
                interrupted = run_round_on_workers(&pool, points, &round, stop, &shelves)?;
                // No results are held between rounds: every round after the first is full size.
                batch = BATCH;
                bar.inc(round.len() as u64);
                if interrupted {
                    break;
                }
                continue;
            }
            pool.install(|| {
                round
                    .par_iter()
                    .with_max_len(PIECE)
                    .map(|&(p, i)| run_trial_guarded_until(&points[p], i, stop))
                    .collect_into_vec(&mut results)
            });
            batch = next_batch(
                results.len(),
                results.iter().flatten().map(TrialResult::heap_bytes).sum(),
            );
            for (&(p, _), r) in round.iter().zip(&results) {
                let Some(r) = r else {
                    interrupted = true;
                    continue;
                };
                if let Some(hit) = LimitHit::of(p, r) {
                    return Err(hit.into());
                }
                aggregates[p].add(r);
                if let Some(sink) = sink.as_mut() {
                    sink(p, r)?;
                }
            }
            bar.inc(round.len() as u64);
            if interrupted {
                break;
            }
        }
        Ok(())
    })();
    std::panic::set_hook(hook);
    result?;
    for shelf in shelves {
        for (total, part) in aggregates
            .iter_mut()
            .zip(shelf.0.into_inner().expect("no worker panicked holding it"))
        {
            total.merge(&part);
        }
    }
    bar.finish_and_clear();
    Ok(RunOutput {
        aggregates,
        wall: started.elapsed(),
        threads,
        interrupted,
    })
}

/// Runs one round's trials, each worker thread adding the trials it ran to its own shelf of aggregates (see
/// [`run_points`]). Whether a trial was stopped (the run is interrupted); the first trial of the round, in
/// schedule order, that hit a resource limit is an error.
fn run_round_on_workers(
    pool: &rayon::ThreadPool,
    points: &[Scenario],
    round: &[(usize, u64)],
    stop: &AtomicBool,
    shelves: &[Shelf],
) -> Result<bool, LimitHit> {
    let stopped = AtomicBool::new(false);
    let first_hit: Mutex<Option<(usize, LimitHit)>> = Mutex::new(None);
    pool.install(|| {
        round
            .par_iter()
            .with_max_len(PIECE)
            .enumerate()
            .for_each(|(k, &(p, i))| {
                let Some(r) = run_trial_guarded_until(&points[p], i, stop) else {
                    stopped.store(true, Ordering::Relaxed);
                    return;
                };
                if let Some(hit) = LimitHit::of(p, &r) {
                    let mut first = first_hit.lock().expect("not poisoned");
                    if first.as_ref().is_none_or(|(j, _)| k < *j) {
                        *first = Some((k, hit));
                    }
                    return;
                }
                let worker = rayon::current_thread_index().expect("a trial runs on the pool");
                shelves[worker % shelves.len()].0.lock().expect("not poisoned")[p].add(&r);
            });
    });
    match first_hit.into_inner().expect("not poisoned") {
        Some((_, hit)) => Err(hit),
        None => Ok(stopped.into_inner()),
    }
}

/// Runs trials `range` of each `(point, range)` slice, in parallel on `pool`, and aggregates each slice in trial
/// order (the result does not depend on the number of threads). Used by searches that give some points more
/// trials than others, round after round, and draw their own progress bar.
pub fn run_slices(
    points: &[Scenario],
    slices: &[(usize, Range<u64>)],
    pool: &rayon::ThreadPool,
    bar: &ProgressBar,
) -> anyhow::Result<Vec<Aggregate>> {
    let jobs: Vec<(usize, u64)> = slices
        .iter()
        .enumerate()
        .flat_map(|(s, (_, r))| r.clone().map(move |i| (s, i)))
        .collect();
    let mut aggregates = vec![Aggregate::default(); slices.len()];
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = (|| -> anyhow::Result<()> {
        // One results buffer for every chunk, as in `run_points`.
        let mut results: Vec<(usize, TrialResult)> = Vec::new();
        for chunk in jobs.chunks(BATCH as usize) {
            pool.install(|| {
                chunk
                    .par_iter()
                    .with_max_len(PIECE)
                    .map(|&(s, i)| {
                        let r = run_trial_guarded(&points[slices[s].0], i);
                        bar.inc(1);
                        (s, r)
                    })
                    .collect_into_vec(&mut results)
            });
            for (s, r) in &results {
                if let Some(hit) = LimitHit::of(slices[*s].0, r) {
                    return Err(hit.into());
                }
                aggregates[*s].add(r);
            }
        }
        Ok(())
    })();
    std::panic::set_hook(hook);
    result?;
    Ok(aggregates)
}

#[cfg(test)]
mod tests {
    #[test]
    fn workers_get_a_shelf_each_within_the_memory_bound_and_share_beyond() {
        assert_eq!(shelves_for(1, 1), 1);
        assert_eq!(shelves_for(2, 1), 2);
        assert_eq!(shelves_for(2, 4), 2);
        assert_eq!(shelves_for(64, 1), MAX_WORKER_AGGREGATES, "64 workers share 16 shelves");
        assert_eq!(shelves_for(64, 3), 5);
        assert_eq!(
            shelves_for(2, MAX_WORKER_AGGREGATES + 1),
            0,
            "a large sweep aggregates on the main thread"
        );
    }

    #[test]
    fn batches_shrink_when_results_are_large_and_stay_full_when_small() {
        use super::{BATCH, BATCH_BYTES, MIN_BATCH, next_batch};
        // leader-crash: a few samples per trial, held inline.
        assert_eq!(next_batch(256, 0), BATCH);
        // churn under a client: about 16 KiB of commit latencies per trial.
        assert_eq!(next_batch(1000, 1000 * 16_384), (BATCH_BYTES / 16_384) as u64);
        // Never below the floor, and an empty batch says nothing.
        assert_eq!(next_batch(10, 10 << 30), MIN_BATCH);
        assert_eq!(next_batch(0, 0), BATCH);
    }

    use super::*;

    fn layout(trials: &[u64]) -> Layout {
        let mut starts = vec![0];
        for t in trials {
            starts.push(starts.last().unwrap() + t);
        }
        Layout { starts }
    }

    /// Every trial of the range once, each point's in order, every round taking from every point left.
    #[test]
    fn rounds_interleave_the_points_and_cover_the_range_once() {
        let l = layout(&[10, 3, 7]);
        for range in [0..20, 4..17, 10..13, 0..0] {
            let mut s = Schedule::new(&l, 3, &range);
            let mut seen = Vec::new();
            let mut first = true;
            loop {
                let round = s.round(6);
                if round.is_empty() {
                    break;
                }
                if first && range.start == 0 {
                    assert_eq!(
                        &round[..3],
                        [(0, 0), (1, 0), (2, 0)],
                        "trial by trial across the points"
                    );
                }
                first = false;
                seen.extend(round);
            }
            let mut want: Vec<(usize, u64)> = range.clone().map(|g| l.locate(g)).collect();
            let mut got = seen.clone();
            got.sort();
            want.sort();
            assert_eq!(got, want, "range {range:?}");
            for p in 0..3 {
                let order: Vec<u64> = seen.iter().filter(|x| x.0 == p).map(|x| x.1).collect();
                assert!(order.windows(2).all(|w| w[0] < w[1]), "point {p} in trial order");
            }
            assert!(s.done());
        }
    }
}
