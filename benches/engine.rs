//! Engine throughput, one thread: `cargo bench --bench engine`.
//!
//! - `queue/binary_heap`: the floor. A bare loop over std's `BinaryHeap` (pop one, push one at a random later
//!   time, 64 pending, no model logic), as many operations as a leader-crash trial has events.
//! - `queue/event_queue`: the same loop on the engine's own queue (at 64 pending, the most its sorted form holds).
//!   `queue/event_queue_12`: that loop at 12 pending, a small cluster's. `queue/binary_heap_8192` and
//!   `queue/event_queue_8192`: a 1,001-node cluster's queue, 8,192 pending, each due 2-8 ms after the last popped.
//! - `queue/priority_queue`: the same loop on the `priority-queue` crate, the alternative the engine rejected.
//! - `engine/steady_state`: the engine alone, a process with no Raft in it but a 5-node cluster's steady-state
//!   traffic (a leader's broadcast every 50 ms, every follower replying and resetting a 150-300 ms timer), one
//!   simulated second per iteration: what the engine costs per event before any node logic.
//! - `raft/<scenario>/checker_on|off`: whole trials of a shipped scenario with real Raft nodes, counted in
//!   simulated events (throughput in elements/s = events/s) and, separately, in trials.
//! - Then a table: the floor against the command users run (`raftsim run <scenario> --threads 1`: the whole
//!   driver, batching and aggregation included), measured back to back in this process, with their ratio.
//!   `RAFTSIM_BENCH_TABLE_ONLY=1 cargo bench --bench engine` prints only the table.
//! - Then raftsim's raft-rs path (`raft.implementation: raft-rs`) against a plain harness around the same library
//!   on the same work (`benches/support/plain_raft_rs.rs`), in trials per second, one thread.

#[path = "support/plain_raft_rs.rs"]
mod plain_raft_rs;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use priority_queue::PriorityQueue;
use raftsim::scenario::{self, Scenario};
use raftsim::trial::run_trial;
use sim_core::{Ctx, EventQueue, Latency, LinkModel, Network, NodeId, Process, SimTime, Simulation};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::Duration;

const PENDING: u64 = 64;
const OPS: u64 = 100_000;

/// A cheap deterministic sequence of delays (an LCG), so the loop measures the queue, not a random generator:
/// 1 us to 50 ms.
fn delays() -> impl FnMut() -> u64 {
    delays_in(1, 50_000)
}

/// [`delays`] from `lo` to `hi` microseconds.
fn delays_in(lo: u64, hi: u64) -> impl FnMut() -> u64 {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    move || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        lo + (x >> 44) % (hi - lo + 1)
    }
}

/// The floor: std's `BinaryHeap` of (time, seq, payload), pop one and push one, no model logic at all.
fn bare_loop() -> usize {
    heap_loop(PENDING, delays())
}

/// The bare loop with `pending` entries and delays from `next`.
fn heap_loop(pending: u64, mut next: impl FnMut() -> u64) -> usize {
    let mut q: BinaryHeap<Reverse<(u64, u64, u64)>> = BinaryHeap::with_capacity(256);
    let mut seq = 0u64;
    for i in 0..pending {
        q.push(Reverse((next(), seq, i)));
        seq += 1;
    }
    for i in 0..OPS {
        let Reverse((t, _, e)) = q.pop().expect("non-empty");
        black_box(e);
        q.push(Reverse((t + next(), seq, i)));
        seq += 1;
    }
    q.len()
}

/// The bare loop on the engine's own queue, `pending` entries, delays from `next`.
fn event_queue_loop(pending: u64, mut next: impl FnMut() -> u64) -> usize {
    let mut q: EventQueue<u64> = EventQueue::new();
    for i in 0..pending {
        q.push(SimTime::from_micros(next()), i);
    }
    for i in 0..OPS {
        let (t, e) = q.pop().expect("non-empty");
        black_box(e);
        q.push(t + Duration::from_micros(next()), i);
    }
    q.len()
}

/// A 1,001-node cluster's queue: thousands of messages in flight, each due 2-8 ms after it was sent.
const LARGE_PENDING: u64 = 8_192;

fn queues(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue");
    g.throughput(Throughput::Elements(OPS));
    g.bench_function("binary_heap", |b| b.iter(|| black_box(bare_loop())));
    g.bench_function("event_queue", |b| {
        b.iter(|| black_box(event_queue_loop(PENDING, delays())))
    });
    g.bench_function("event_queue_12", |b| {
        b.iter(|| black_box(event_queue_loop(12, delays())))
    });
    g.bench_function("binary_heap_8192", |b| {
        b.iter(|| black_box(heap_loop(LARGE_PENDING, delays_in(2_000, 8_000))))
    });
    g.bench_function("event_queue_8192", |b| {
        b.iter(|| black_box(event_queue_loop(LARGE_PENDING, delays_in(2_000, 8_000))))
    });
    g.bench_function("priority_queue", |b| {
        b.iter(|| {
            let mut next = delays();
            // Keyed by a unique id; priority (time, seq) reversed so the earliest pops first.
            let mut q: PriorityQueue<u64, Reverse<(u64, u64)>> = PriorityQueue::with_capacity(256);
            let mut seq = 0u64;
            for i in 0..PENDING {
                q.push(i, Reverse((next(), seq)));
                seq += 1;
            }
            for i in 0..OPS {
                let (e, Reverse((t, _))) = q.pop().expect("non-empty");
                black_box(e);
                q.push(PENDING + i, Reverse((t + next(), seq)));
                seq += 1;
            }
            black_box(q.len())
        })
    });
    g.finish();
}

/// A process with a Raft cluster's steady-state traffic and no Raft in it: node 0 broadcasts every 50 ms; the
/// others answer each message and reset a 150-300 ms timer, as followers do on every heartbeat.
struct SteadyState {
    n: usize,
}

impl Process for SteadyState {
    type Msg = [u64; 8];
    type Note = ();
    const TIMERS: usize = 2;
    fn on_start(&mut self, ctx: &mut Ctx<'_, Self::Msg, ()>) {
        if ctx.me().index() == 0 {
            ctx.set_timer(1, Duration::from_millis(50));
        } else {
            let after = 150_000 + ctx.random_u64() % 150_001;
            ctx.set_timer(0, Duration::from_micros(after));
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, Self::Msg, ()>, from: NodeId, msg: Self::Msg) {
        if ctx.me().index() != 0 {
            let after = 150_000 + ctx.random_u64() % 150_001;
            ctx.set_timer(0, Duration::from_micros(after));
            ctx.send(from, msg);
        }
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self::Msg, ()>, timer: usize) {
        if timer == 1 {
            for i in 1..self.n {
                ctx.send(NodeId::new(i), [i as u64; 8]);
            }
            ctx.set_timer(1, Duration::from_millis(50));
        }
    }
}

/// One simulated second of [`SteadyState`] on 5 nodes, in `sim` (reset first); the events it took.
fn steady_state_second(sim: &mut Simulation<SteadyState, ()>, seed: u64) -> u64 {
    let n = 5;
    let latency = Latency::Uniform {
        min: Duration::from_millis(2),
        max: Duration::from_millis(8),
    };
    sim.reset(Some(Network::new(n, LinkModel::with_latency(latency))), seed, |_, _| {});
    for i in 0..n {
        sim.start(NodeId::new(i), SteadyState { n });
    }
    sim.run_until(SimTime::from_micros(1_000_000));
    sim.stats().events
}

fn engine(c: &mut Criterion) {
    let mut sim: Simulation<SteadyState, ()> = Simulation::new(Network::new(5, LinkModel::default()), 0);
    let events = steady_state_second(&mut sim, 1);
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(events));
    let mut seed = 0;
    g.bench_function("steady_state", |b| {
        b.iter(|| {
            seed += 1;
            black_box(steady_state_second(&mut sim, seed))
        })
    });
    g.finish();
}

fn load(path: &str, sets: &[&str]) -> Scenario {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    scenario::load(std::path::Path::new(path), &sets).expect("scenario loads")
}

fn raft(c: &mut Criterion) {
    for (name, trials) in [("leader-crash", 200u64), ("leader-crash-load", 20)] {
        let path = format!("scenarios/{name}.yaml");
        for checker in ["on", "off"] {
            let s = load(
                &path,
                &[if checker == "on" {
                    "invariants=true"
                } else {
                    "invariants=false"
                }],
            );
            let events: u64 = (0..trials).map(|i| run_trial(&s, i).events).sum();
            let mut g = c.benchmark_group(format!("raft/{name}"));
            g.sample_size(20);
            g.throughput(Throughput::Elements(events));
            g.bench_function(BenchmarkId::new("events", format!("checker_{checker}")), |b| {
                b.iter(|| (0..trials).map(|i| black_box(run_trial(&s, i)).events).sum::<u64>())
            });
            g.throughput(Throughput::Elements(trials));
            g.bench_function(BenchmarkId::new("trials", format!("checker_{checker}")), |b| {
                b.iter(|| (0..trials).map(|i| black_box(run_trial(&s, i)).events).sum::<u64>())
            });
            g.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    targets = queues, engine, raft
}

/// Events per second of the bare queue loop, the best of five runs of about half a second.
#[allow(clippy::disallowed_methods)] // wall-clock timing is what a benchmark measures
fn floor_events_per_second() -> f64 {
    let mut best: f64 = 0.0;
    for _ in 0..5 {
        let start = std::time::Instant::now();
        let mut ops = 0u64;
        while start.elapsed() < Duration::from_millis(500) {
            black_box(bare_loop());
            ops += OPS;
        }
        best = best.max(ops as f64 / start.elapsed().as_secs_f64());
    }
    best
}

/// Events per second of `raftsim run <scenario> --threads 1` (the experiment runner users' runs go through), the
/// best of three runs.
fn command_events_per_second(s: &Scenario) -> (f64, f64) {
    let opts = raftsim::experiment::RunOptions {
        threads: 1,
        progress: false,
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut best = (0.0f64, 0.0f64);
    for _ in 0..3 {
        // No per-trial rows, as `raftsim run` past 100,000 trials or with --no-trials-csv.
        let no_rows = None::<raftsim::experiment::NoSink>;
        let out = raftsim::experiment::run_points(std::slice::from_ref(s), 0..s.trials, &opts, &stop, no_rows)
            .expect("the run completes");
        let secs = out.wall.as_secs_f64();
        if out.events() as f64 / secs > best.0 {
            best = (out.events() as f64 / secs, out.trials() as f64 / secs);
        }
    }
    best
}

/// Events per second of the engine alone ([`SteadyState`]), the best of three runs of about half a second.
#[allow(clippy::disallowed_methods)] // wall-clock timing is what a benchmark measures
fn engine_events_per_second() -> f64 {
    let mut sim: Simulation<SteadyState, ()> = Simulation::new(Network::new(5, LinkModel::default()), 0);
    let mut best: f64 = 0.0;
    let mut seed = 0;
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let mut events = 0;
        while start.elapsed() < Duration::from_millis(500) {
            seed += 1;
            events += steady_state_second(&mut sim, seed);
        }
        best = best.max(events as f64 / start.elapsed().as_secs_f64());
    }
    best
}

fn ratio_table() {
    println!();
    println!("floor (bare event loop) against the command users run, one thread, measured back to back:");
    println!(
        "{:<20} {:>8} {:>14} {:>14} {:>12} {:>7} {:>6}",
        "scenario", "trials", "floor Mev/s", "raftsim Mev/s", "trials/s", "ratio", "goal"
    );
    for (name, trials, goal) in [
        ("leader-crash", 50_000u64, 0.5),
        ("leader-crash-load", 2_000, 1.0 / 3.0),
        ("churn", 100, 1.0 / 3.0),
    ] {
        let s = load(&format!("scenarios/{name}.yaml"), &[&format!("trials={trials}")]);
        let floor = floor_events_per_second();
        let (events, per_trial) = command_events_per_second(&s);
        let ratio = events / floor;
        println!(
            "{name:<20} {trials:>8} {:>14.1} {:>14.1} {:>12.0} {:>7.3} {:>6.3} {}",
            floor / 1e6,
            events / 1e6,
            per_trial,
            ratio,
            goal,
            if ratio >= goal { "met" } else { "below" }
        );
    }
    // For reading the rows above: what the engine costs per event with no Raft node and no trial driver.
    let floor = floor_events_per_second();
    let engine = engine_events_per_second();
    println!(
        "{:<20} {:>8} {floor_m:>14.1} {engine_m:>14.1} {:>12} {:>7.3}",
        "engine alone",
        "-",
        "-",
        engine / floor,
        floor_m = floor / 1e6,
        engine_m = engine / 1e6,
    );
}

/// Trials per second of `raftsim run leader-crash --set raft.implementation=raft-rs --threads 1` against the plain
/// harness, each the best of three.
#[allow(clippy::disallowed_methods)] // wall-clock timing is what a benchmark measures
fn raft_rs_table() {
    const TRIALS: u64 = 1_000;
    let s = load(
        "scenarios/leader-crash.yaml",
        &["raft.implementation=raft-rs", &format!("trials={TRIALS}")],
    );
    let (events, raftsim) = command_events_per_second(&s);
    let mut plain: f64 = 0.0;
    let mut plain_events: f64 = 0.0;
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let ev: u64 = (0..TRIALS).map(|i| black_box(plain_raft_rs::trial(i))).sum();
        let secs = start.elapsed().as_secs_f64();
        if TRIALS as f64 / secs > plain {
            plain = TRIALS as f64 / secs;
            plain_events = ev as f64 / secs;
        }
    }
    println!();
    println!("raft-rs as the node: raftsim's raft-rs path against a plain harness around raft-rs, one thread:");
    println!(
        "{:<34} {:>8} {:>12} {:>12} {:>7} {:>6}",
        "leader-crash on raft-rs", "trials", "trials/s", "M events/s", "ratio", "goal"
    );
    println!(
        "{:<34} {TRIALS:>8} {plain:>12.0} {:>12.2}",
        "plain harness",
        plain_events / 1e6
    );
    let ratio = raftsim / plain;
    println!(
        "{:<34} {TRIALS:>8} {raftsim:>12.0} {:>12.2} {ratio:>7.2} {:>6.1} {}",
        "raftsim --threads 1",
        events / 1e6,
        2.0,
        if ratio >= 2.0 { "met" } else { "below" }
    );
}

fn main() {
    if std::env::var_os("RAFTSIM_BENCH_TABLE_ONLY").is_none() {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
    ratio_table();
    raft_rs_table();
}
