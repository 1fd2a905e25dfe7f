//! `raftsim tune`: which heartbeat interval and election timeout to use for a measured network and a library.
//!
//! The candidates are a grid of heartbeat intervals (from the round trip up) times election timeouts (3 or 5 to 20
//! heartbeats), with and without the library's pre-vote guard. They race (successive halving): every round each
//! surviving candidate runs more leader-crash trials on the same trial seeds, and a candidate is dropped once the
//! lower end of its objective's 95 % interval is above the upper end of the leader's, or once its spurious
//! elections, estimated from separate long stable runs, are shown over the budget. Only the current leader (and at
//! the end the runners-up) get stable runs, so simulated hours are spent where they decide something.

pub mod samples;

use crate::duration::Dur;
use crate::error::{InputError, Source};
use crate::experiment::run_slices;
use crate::metric::Metric;
use crate::scenario::{self, Scenario};
use crate::stats::{Aggregate, DistSummary, Quantile, poisson_interval};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The library whose behaviour and timer model the candidates use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Library {
    /// The Raft paper: continuous timers, election timeout uniform in [T, 2T], pre-vote as in the thesis.
    Paper,
    /// etcd: the tick is the heartbeat interval, election after [k, 2k-1] ticks; check-quorum always (as etcd's
    /// server runs it), pre-vote tried on and off.
    Etcd,
    /// raft-rs: heartbeat every 2 ticks, election after [e, 2e) ticks; pre-vote with check-quorum.
    #[value(name = "raft-rs")]
    #[serde(rename = "raft-rs")]
    RaftRs,
}

impl Library {
    /// The name used in `raft.profile`.
    pub fn name(self) -> &'static str {
        match self {
            Library::Paper => "paper",
            Library::Etcd => "etcd",
            Library::RaftRs => "raft-rs",
        }
    }
}

/// The fault whose recovery is timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// The leader crashes once it has led for a while: failover is crash to convergence.
    LeaderCrash,
    /// Random crash-restart of any node for a minute: every failover's election time.
    Churn,
}

/// The statistic of failover time to minimise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// The median.
    P50,
    /// The 99th percentile.
    P99,
    /// The 99.9th percentile.
    P999,
}

impl Objective {
    /// The quantile.
    pub fn q(self) -> f64 {
        match self {
            Objective::P50 => 0.5,
            Objective::P99 => 0.99,
            Objective::P999 => 0.999,
        }
    }

    /// `p99`.
    pub fn name(self) -> &'static str {
        match self {
            Objective::P50 => "p50",
            Objective::P99 => "p99",
            Objective::P999 => "p999",
        }
    }

    /// Trials in the first round: enough for the interval of the quantile to have both ends.
    pub fn first_round(self) -> u64 {
        match self {
            Objective::P50 => 100,
            Objective::P99 => 400,
            Objective::P999 => 4000,
        }
    }
}

/// Everything the search needs, checked.
#[derive(Clone, Debug)]
pub struct TuneInput {
    /// Cluster size.
    pub nodes: u64,
    /// One-way network delays, microseconds, sorted.
    pub one_way_us: Vec<u64>,
    /// Where the delays came from, for the report.
    pub network_source: String,
    /// Message loss probability.
    pub loss: f64,
    /// Durable write latencies, microseconds, sorted.
    pub fsync_us: Option<Vec<u64>>,
    /// The library.
    pub library: Library,
    /// The fault.
    pub fault: Fault,
    /// The objective.
    pub objective: Objective,
    /// Budget: spurious elections per node per day.
    pub max_spurious_per_node_day: f64,
    /// Budget: heartbeat messages the leader sends per second.
    pub max_heartbeat_msgs_per_sec: Option<f64>,
    /// Seed.
    pub seed: u64,
    /// Most leader-crash trials any candidate gets.
    pub budget_trials: u64,
    /// Simulated node-days of stable running that decide a candidate's spurious rate.
    pub stable_node_days: f64,
    /// Most events a candidate's stable runs may take (a candidate that would need more is not checked).
    pub stable_events: u64,
    /// A coarser grid: every other heartbeat interval, three election multiples.
    pub quick: bool,
}

/// One setting of the timers.
#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    /// Heartbeat interval, microseconds.
    pub heartbeat_us: u64,
    /// Minimum election timeout in heartbeat intervals.
    pub election_heartbeats: u32,
    /// Pre-vote (paper), or pre-vote with check-quorum (etcd, raft-rs).
    pub pre_vote: bool,
}

impl Candidate {
    /// Minimum election timeout, microseconds.
    pub fn election_min_us(&self) -> u64 {
        self.heartbeat_us * self.election_heartbeats as u64
    }

    /// `hb 10ms, election 100ms, pre-vote`.
    pub fn label(&self) -> String {
        format!(
            "hb {}, election {}{}",
            dur(self.heartbeat_us),
            dur(self.election_min_us()),
            if self.pre_vote { ", pre-vote" } else { "" }
        )
    }

    /// The `raft:` section of a scenario for this candidate under `library`.
    fn raft_yaml(&self, library: Library) -> String {
        let h = self.heartbeat_us;
        let k = self.election_heartbeats;
        // etcd's server always runs with check-quorum; raft-rs leaves both off unless asked.
        let guard = match (library, self.pre_vote) {
            (Library::Etcd, false) => ", check_quorum: true".into(),
            (_, false) => String::new(),
            (Library::Paper, true) => ", pre_vote: true".into(),
            (_, true) => ", pre_vote: true, check_quorum: true".into(),
        };
        match library {
            Library::Paper => format!(
                "{{ election_timeout: {{ min: {}, max: {} }}, heartbeat: {}{guard} }}",
                dur(h * k as u64),
                dur(2 * h * k as u64),
                dur(h)
            ),
            Library::Etcd => format!(
                "{{ profile: etcd, tick: {}, election_ticks: {{ min: {k}, max: {} }}, heartbeat_ticks: 1{guard} }}",
                dur(h),
                2 * k - 1
            ),
            Library::RaftRs => format!(
                "{{ profile: raft-rs, tick: {}, election_ticks: {{ min: {}, max: {} }}, heartbeat_ticks: 2{guard} }}",
                dur(h / 2),
                2 * k,
                4 * k - 1
            ),
        }
    }
}

/// Microseconds as a duration a scenario reads (`150ms`, `410us`).
fn dur(us: u64) -> String {
    Dur(std::time::Duration::from_micros(us)).to_string()
}

/// Milliseconds, for tables.
fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Heartbeat intervals tried: a 1-2-5 series from the round-trip median up (etcd's guidance: a heartbeat around
/// the round trip), whole milliseconds for etcd (its flags are in ms), eight values.
pub fn heartbeat_grid(rtt_p50_us: u64, library: Library) -> Vec<u64> {
    let mut out = Vec::new();
    let mut decade = 100u64;
    while out.len() < 8 && decade <= 100_000_000 {
        for m in [1, 2, 5] {
            let h = decade * m;
            let ok = h >= rtt_p50_us && (library != Library::Etcd || (h >= 1000 && h.is_multiple_of(1000)));
            if ok && out.len() < 8 {
                out.push(h);
            }
        }
        decade *= 10;
    }
    out
}

/// Minimum election timeouts tried, in heartbeat intervals, for the paper: from its own example (50 ms heartbeats,
/// 150-300 ms timeouts) up.
pub const ELECTION_HEARTBEATS: [u32; 6] = [3, 5, 7, 10, 15, 20];

/// The same for the tick libraries: etcd-io/raft's `Config` documents "We suggest ElectionTick =
/// 10 * HeartbeatTick to avoid unnecessary leader switching" (raft-rs's `Config` repeats it), so the search stays
/// within half to twice that.
pub const TICK_ELECTION_HEARTBEATS: [u32; 5] = [5, 7, 10, 15, 20];

/// The election multiples tried for `library`.
pub fn election_grid(library: Library) -> &'static [u32] {
    match library {
        Library::Paper => &ELECTION_HEARTBEATS,
        Library::Etcd | Library::RaftRs => &TICK_ELECTION_HEARTBEATS,
    }
}

/// The spurious-election estimate of one candidate.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Spurious {
    /// Stable-run trials.
    pub trials: u64,
    /// Simulated node-days behind the estimate.
    pub node_days: f64,
    /// Spurious elections seen.
    pub count: u64,
    /// Per node-day.
    pub rate: f64,
    /// 95 % interval per node-day (upper bound 3/T when none were seen).
    pub rate_ci: [f64; 2],
    /// Stable-run events simulated.
    pub events: u64,
}

impl Spurious {
    fn from(agg: &Aggregate, nodes: u64) -> Spurious {
        let node_days = agg.virtual_us as f64 * nodes as f64 / 86_400e6;
        let k = agg.spurious_elections;
        let (lo, hi) = poisson_interval(k);
        let per = |x: f64| if node_days > 0.0 { x / node_days } else { f64::INFINITY };
        Spurious {
            trials: agg.trials,
            node_days,
            count: k,
            rate: per(k as f64),
            rate_ci: [per(lo), per(hi)],
            events: agg.events,
        }
    }
}

/// How a candidate fared.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The recommendation.
    Chosen,
    /// Still in the race at the end, behind the chosen one.
    RunnerUp,
    /// Dropped, with the reason and its figures.
    Rejected {
        /// Round in which it was dropped (0 = before any trial).
        round: u32,
        /// `over_budget`, `slower`, `unchecked`, `heartbeat_budget`.
        why: &'static str,
        /// The figures.
        detail: String,
    },
}

/// A candidate's result.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// The settings.
    pub candidate: Candidate,
    /// Its label.
    pub label: String,
    /// Leader-crash (or churn) trials run.
    pub trials: u64,
    /// Failover time summary (convergence for a leader crash, election for churn).
    pub failover: Option<DistSummary>,
    /// The objective's value and 95 % interval, milliseconds (`null` ends unknown; censored values as their bound).
    pub objective_ms: Option<f64>,
    /// The interval.
    pub objective_ci_ms: [Option<f64>; 2],
    /// Spurious elections, when stable runs were made.
    pub spurious: Option<Spurious>,
    /// Heartbeat messages the leader sends per second.
    pub heartbeat_msgs_per_sec: f64,
    /// The verdict.
    pub status: Status,
}

/// Everything `tune` found.
#[derive(Clone, Debug)]
pub struct TuneResult {
    /// The inputs.
    pub input: TuneInput,
    /// Every candidate, in grid order.
    pub outcomes: Vec<Outcome>,
    /// Index of the chosen candidate, if any met the budget.
    pub chosen: Option<usize>,
    /// Runners-up, best first.
    pub runners_up: Vec<usize>,
    /// Rounds raced.
    pub rounds: u32,
    /// Trials run in all (failover and stable).
    pub total_trials: u64,
    /// Events simulated in all.
    pub total_events: u64,
}

/// The objective's order keys of an aggregate: (point, lower, upper) in microseconds; censored values rank as
/// infinite where they are upper ends or points.
fn objective_keys(agg: &Aggregate, metric: Metric, q: f64) -> (f64, f64, f64) {
    let d = agg.dist(metric);
    let point = match d.quantile(q) {
        Some(Quantile::At(v)) => v as f64,
        _ => f64::INFINITY,
    };
    let (lo, hi) = match d.interval(q) {
        Some([lo, hi]) => (
            match lo {
                Some(Quantile::At(v)) | Some(Quantile::Above(v)) => v as f64,
                None => 0.0,
            },
            match hi {
                Some(Quantile::At(v)) => v as f64,
                _ => f64::INFINITY,
            },
        ),
        None => (0.0, f64::INFINITY),
    };
    (point, lo, hi)
}

/// The empirical distribution as YAML.
fn empirical_yaml(s: &[u64]) -> String {
    let pts: Vec<String> = samples::empirical_points(s)
        .iter()
        .map(|(k, v)| format!("{k}: {}", dur(*v)))
        .collect();
    format!("{{ empirical: {{ {} }} }}", pts.join(", "))
}

/// Stable-run trial length: long enough to be worth a trial, short enough to spread over cores.
fn stable_trial_us(input: &TuneInput) -> u64 {
    let cluster_us = input.stable_node_days * 86_400e6 / input.nodes as f64;
    ((cluster_us / 16.0) as u64).clamp(10_000_000, 3_600_000_000)
}

/// Estimated events for `cluster_us` of stable running with heartbeat `h`: each follower gets a heartbeat and
/// replies, plus a little.
fn stable_events_estimate(input: &TuneInput, h_us: u64, cluster_us: f64) -> f64 {
    cluster_us / h_us as f64 * (input.nodes.saturating_sub(1) as f64) * 2.2
}

/// Builds a scenario from YAML text made here; a failure is a bug in that text, reported as input error naming it.
fn scenario_from(yaml: String, name: &str) -> Result<Scenario, InputError> {
    let source = Source {
        name: format!("(tune {name})"),
        text: yaml,
    };
    scenario::load_str(&source, &[], Some("tune".into()))
}

fn common_yaml(input: &TuneInput, c: &Candidate, seed: u64, trials: u64, time_limit_us: u64) -> String {
    let mut y = String::new();
    let _ = writeln!(
        y,
        "name: tune\nseed: {seed}\ntrials: {trials}\ntime_limit: {}",
        dur(time_limit_us)
    );
    let _ = writeln!(y, "invariants: false");
    let _ = write!(y, "cluster: {{ nodes: {}", input.nodes);
    if let Some(f) = &input.fsync_us {
        let _ = write!(y, ", persist_latency: {}", empirical_yaml(f));
    }
    let _ = writeln!(y, " }}");
    let _ = writeln!(y, "raft: {}", c.raft_yaml(input.library));
    let _ = writeln!(
        y,
        "network: {{ latency: {}, loss: {} }}",
        empirical_yaml(&input.one_way_us),
        input.loss
    );
    y
}

/// The failover scenario of a candidate (trial seeds shared by every candidate).
pub fn failover_scenario(input: &TuneInput, c: &Candidate) -> Result<Scenario, InputError> {
    scenario_from(failover_yaml(input, c), "failover")
}

/// The failover scenario's YAML: what `raftsim run` needs to check a recommendation.
pub fn failover_yaml(input: &TuneInput, c: &Candidate) -> String {
    let emax = 2 * c.election_min_us();
    let settle = (2 * emax + 2 * samples::quantile(&input.one_way_us, 1.0)).max(500_000);
    let mut y = common_yaml(
        input,
        c,
        input.seed,
        input.budget_trials,
        (60 * emax + 60_000_000).min(3_600_000_000 * 24),
    );
    match input.fault {
        Fault::LeaderCrash => {
            let _ = writeln!(
                y,
                "faults:\n  - leader_stable_for: {}\n    jitter: {}\n    crash: leader",
                dur(settle),
                dur(c.heartbeat_us)
            );
        }
        Fault::Churn => {
            let mtbf = (10 * emax).max(3_000_000);
            let _ = writeln!(
                y,
                "churn: {{ mtbf: {}, mttr: {}, start: {}, stop: {} }}",
                dur(mtbf),
                dur(mtbf / 3),
                dur(settle),
                dur(settle + 6 * mtbf)
            );
        }
    }
    y
}

/// The stable scenario of a candidate: no fault for a long stretch (a heal at its end keeps the trial running).
pub fn stable_scenario(input: &TuneInput, c: &Candidate) -> Result<Scenario, InputError> {
    let len = stable_trial_us(input);
    let mut y = common_yaml(
        input,
        c,
        input.seed ^ 0x5eed_57ab_1e00_0000,
        1_000_000,
        len + 120_000_000,
    );
    let _ = writeln!(y, "faults:\n  - at: {}\n    heal: all", dur(len));
    scenario_from(y, "stable")
}

/// Runs the search. `progress` draws a bar on stderr.
pub fn run(input: TuneInput, threads: usize, progress: bool) -> anyhow::Result<TuneResult> {
    let metric = match input.fault {
        Fault::LeaderCrash => Metric::Convergence,
        Fault::Churn => Metric::Election,
    };
    let q = input.objective.q();
    let budget = input.max_spurious_per_node_day;
    let rtt_p50 = 2 * samples::quantile(&input.one_way_us, 0.5);
    let mut cands = Vec::new();
    let grid = election_grid(input.library);
    let (hbs, ks): (Vec<u64>, Vec<u32>) = if input.quick {
        (
            heartbeat_grid(rtt_p50, input.library).into_iter().step_by(2).collect(),
            vec![grid[0], 10, 20],
        )
    } else {
        (heartbeat_grid(rtt_p50, input.library), grid.to_vec())
    };
    for &h in &hbs {
        for &k in &ks {
            for pre_vote in [false, true] {
                cands.push(Candidate {
                    heartbeat_us: h,
                    election_heartbeats: k,
                    pre_vote,
                });
            }
        }
    }
    let n = cands.len();
    let mut failover = Vec::with_capacity(n);
    let mut stable = Vec::with_capacity(n);
    for c in &cands {
        failover.push(failover_scenario(&input, c)?);
        stable.push(stable_scenario(&input, c)?);
    }
    let mut fo_agg = vec![Aggregate::default(); n];
    let mut st_agg = vec![Aggregate::default(); n];
    let mut status: Vec<Option<Status>> = vec![None; n];
    let hb_rate: Vec<f64> = cands
        .iter()
        .map(|c| (input.nodes.saturating_sub(1)) as f64 * 1e6 / c.heartbeat_us as f64)
        .collect();
    let final_cluster_us = input.stable_node_days * 86_400e6 / input.nodes as f64;
    let stable_len = stable_trial_us(&input);
    for i in 0..n {
        if let Some(max) = input.max_heartbeat_msgs_per_sec
            && hb_rate[i] > max
        {
            status[i] = Some(Status::Rejected {
                round: 0,
                why: "heartbeat_budget",
                detail: format!(
                    "{:.0} heartbeat messages per second, over the budget of {max}",
                    hb_rate[i]
                ),
            });
            continue;
        }
        let est = stable_events_estimate(&input, cands[i].heartbeat_us, final_cluster_us);
        if est > input.stable_events as f64 {
            status[i] = Some(Status::Rejected {
                round: 0,
                why: "unchecked",
                detail: format!(
                    "showing {} simulated node-days stable would take about {:.0} M events, over --stable-events \
                     {:.0} M",
                    input.stable_node_days,
                    est / 1e6,
                    input.stable_events as f64 / 1e6
                ),
            });
        }
    }

    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("raftsim-worker-{i}"))
        .build()
        .expect("thread pool");
    let bar = if progress {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} trials, {msg}")
            .expect("valid template"),
    );

    let first = input.objective.first_round().min(input.budget_trials);
    let mut schedule = vec![first];
    while *schedule.last().expect("non-empty") < input.budget_trials {
        let next = (schedule.last().expect("non-empty") * 2).min(input.budget_trials);
        schedule.push(next);
    }
    let rounds = schedule.len() as u32;
    let mut total_trials = 0u64;
    let mut total_events = 0u64;

    // Brings candidate `i`'s stable runs up to `cluster_us` of simulated time.
    let stable_to = |i: usize, cluster_us: f64, st_agg: &mut [Aggregate]| -> anyhow::Result<(u64, u64)> {
        let want = (cluster_us / stable_len as f64).ceil().max(1.0) as u64;
        let have = st_agg[i].trials;
        if want <= have {
            return Ok((0, 0));
        }
        bar.inc_length(want - have);
        let aggs = run_slices(&stable, &[(i, have..want)], &pool, &bar)?;
        st_agg[i].merge(&aggs[0]);
        Ok((want - have, aggs[0].events))
    };
    let verdict = |i: usize, st_agg: &[Aggregate]| -> (Spurious, Option<bool>) {
        let s = Spurious::from(&st_agg[i], input.nodes);
        let v = if s.rate_ci[1] <= budget {
            Some(true)
        } else if s.rate_ci[0] > budget {
            Some(false)
        } else {
            None
        };
        (s, v)
    };
    let over_detail = |s: &Spurious| {
        format!(
            "{} spurious elections in {:.2} simulated node-days: {:.2} per node-day (95% CI {:.2}-{:.2}), over the \
             budget of {budget}",
            s.count, s.node_days, s.rate, s.rate_ci[0], s.rate_ci[1]
        )
    };

    let mut last_n = 0u64;
    for (r, &target) in schedule.iter().enumerate() {
        let round = r as u32 + 1;
        let last_round = r + 1 == schedule.len();
        let alive: Vec<usize> = (0..n).filter(|&i| status[i].is_none()).collect();
        bar.set_message(format!("round {round}/{rounds}: {} candidates", alive.len()));
        let slices: Vec<(usize, std::ops::Range<u64>)> = alive.iter().map(|&i| (i, last_n..target)).collect();
        bar.inc_length(slices.len() as u64 * (target - last_n));
        let aggs = run_slices(&failover, &slices, &pool, &bar)?;
        for (&i, a) in alive.iter().zip(&aggs) {
            total_trials += a.trials;
            total_events += a.events;
            fo_agg[i].merge(a);
        }
        last_n = target;
        // The round's stable depth: the final depth halved for every round still to come.
        let depth = final_cluster_us / 2f64.powi((schedule.len() - 1 - r) as i32);
        // The leader: the fastest candidate not shown over the budget, checked at this round's depth.
        let leader = loop {
            let best = (0..n).filter(|&i| status[i].is_none()).min_by(|&a, &b| {
                let (pa, pb) = (
                    objective_keys(&fo_agg[a], metric, q).0,
                    objective_keys(&fo_agg[b], metric, q).0,
                );
                pa.total_cmp(&pb).then(a.cmp(&b))
            });
            let Some(best) = best else { break None };
            let (t, e) = stable_to(best, depth, &mut st_agg)?;
            total_trials += t;
            total_events += e;
            match verdict(best, &st_agg) {
                (s, Some(false)) => {
                    status[best] = Some(Status::Rejected {
                        round,
                        why: "over_budget",
                        detail: over_detail(&s),
                    });
                }
                (s, None) if last_round => {
                    status[best] = Some(Status::Rejected {
                        round,
                        why: "over_budget",
                        detail: format!(
                            "not shown within the budget: {} spurious elections in {:.2} simulated node-days, upper \
                             95% bound {:.2} per node-day against {budget}",
                            s.count, s.node_days, s.rate_ci[1]
                        ),
                    });
                }
                _ => break Some(best),
            }
        };
        let Some(leader) = leader else { break };
        let (_, _, leader_hi) = objective_keys(&fo_agg[leader], metric, q);
        for i in 0..n {
            if status[i].is_some() || i == leader {
                continue;
            }
            let (_, lo, _) = objective_keys(&fo_agg[i], metric, q);
            if lo > leader_hi {
                status[i] = Some(Status::Rejected {
                    round,
                    why: "slower",
                    detail: format!(
                        "{} failover at least {:.1} ms (95% lower bound, {} trials) against at most {:.1} ms for {}",
                        input.objective.name(),
                        lo / 1000.0,
                        fo_agg[i].trials,
                        leader_hi / 1000.0,
                        cands[leader].label()
                    ),
                });
            }
        }
        if (0..n).filter(|&i| status[i].is_none()).count() <= 1 {
            break;
        }
    }

    // The chosen one: the fastest survivor shown within the budget at full depth. The runners-up: the next
    // fastest of the survivors and of those dropped as slower, checked at full depth too so their figures compare.
    let by_point = |list: &mut Vec<usize>, fo_agg: &[Aggregate]| {
        list.sort_by(|&a, &b| {
            let (pa, pb) = (
                objective_keys(&fo_agg[a], metric, q).0,
                objective_keys(&fo_agg[b], metric, q).0,
            );
            pa.total_cmp(&pb).then(a.cmp(&b))
        })
    };
    let mut alive: Vec<usize> = (0..n).filter(|&i| status[i].is_none()).collect();
    by_point(&mut alive, &fo_agg);
    let mut chosen = None;
    for &i in &alive {
        let (t, e) = stable_to(i, final_cluster_us, &mut st_agg)?;
        total_trials += t;
        total_events += e;
        match verdict(i, &st_agg) {
            (_, Some(true)) => {
                chosen = Some(i);
                status[i] = Some(Status::Chosen);
                break;
            }
            (s, _) => {
                status[i] = Some(Status::Rejected {
                    round: rounds,
                    why: "over_budget",
                    detail: over_detail(&s),
                });
            }
        }
    }
    // The chosen one's figures are the promise: give it the whole trial budget.
    if let Some(c) = chosen
        && fo_agg[c].trials < input.budget_trials
    {
        let have = fo_agg[c].trials;
        bar.inc_length(input.budget_trials - have);
        let aggs = run_slices(&failover, &[(c, have..input.budget_trials)], &pool, &bar)?;
        total_trials += aggs[0].trials;
        total_events += aggs[0].events;
        fo_agg[c].merge(&aggs[0]);
    }
    let mut others: Vec<usize> = (0..n)
        .filter(|&i| {
            Some(i) != chosen
                && fo_agg[i].trials > 0
                && matches!(&status[i], None | Some(Status::Rejected { why: "slower", .. }))
        })
        .collect();
    by_point(&mut others, &fo_agg);
    let mut runners_up = Vec::new();
    for &i in &others {
        if runners_up.len() >= 3 || chosen.is_none() {
            break;
        }
        let (t, e) = stable_to(i, final_cluster_us, &mut st_agg)?;
        total_trials += t;
        total_events += e;
        match verdict(i, &st_agg) {
            (_, Some(true)) => runners_up.push(i),
            (s, _) => {
                status[i] = Some(Status::Rejected {
                    round: rounds,
                    why: "over_budget",
                    detail: over_detail(&s),
                });
            }
        }
    }
    for &i in &runners_up {
        status[i] = Some(Status::RunnerUp);
    }
    bar.finish_and_clear();
    let final_round = rounds;
    let outcomes = cands
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let a = &fo_agg[i];
            let (point, lo, hi) = objective_keys(a, metric, q);
            let fin = |x: f64| x.is_finite().then_some(x / 1000.0);
            Outcome {
                label: c.label(),
                candidate: c,
                trials: a.trials,
                failover: (a.trials > 0).then(|| a.dist(metric).summary()),
                objective_ms: if a.trials > 0 { fin(point) } else { None },
                objective_ci_ms: if a.trials > 0 {
                    [Some(lo / 1000.0), fin(hi)]
                } else {
                    [None, None]
                },
                spurious: (st_agg[i].trials > 0).then(|| Spurious::from(&st_agg[i], input.nodes)),
                heartbeat_msgs_per_sec: hb_rate[i],
                status: status[i].clone().unwrap_or(Status::Rejected {
                    round: final_round,
                    why: "slower",
                    detail: "behind the runners-up when the race ended".into(),
                }),
            }
        })
        .collect();
    Ok(TuneResult {
        input,
        outcomes,
        chosen,
        runners_up,
        rounds,
        total_trials,
        total_events,
    })
}

/// The recommended settings in the library's own terms, ready to paste, and the equivalents for others.
pub fn settings_text(library: Library, c: &Candidate) -> String {
    let h = c.heartbeat_us;
    let e = c.election_min_us();
    let k = c.election_heartbeats;
    let mut s = String::new();
    match library {
        Library::Etcd => {
            let _ = writeln!(
                s,
                "etcd:       --heartbeat-interval={} --election-timeout={}{}",
                h / 1000,
                e / 1000,
                if c.pre_vote {
                    " --pre-vote=true"
                } else {
                    " --pre-vote=false"
                }
            );
            let _ = writeln!(
                s,
                "            (etcd-io/raft: Config {{ HeartbeatTick: 1, ElectionTick: {k}, PreVote: {}, CheckQuorum: true }}, \
                 Tick() every {})",
                c.pre_vote,
                dur(h)
            );
        }
        Library::RaftRs => {
            let _ = writeln!(
                s,
                "raft-rs:    Config {{ heartbeat_tick: 2, election_tick: {}, min_election_tick: {}, max_election_tick: {}, \
                 pre_vote: {}, check_quorum: {}, ..Default::default() }}",
                2 * k,
                2 * k,
                4 * k,
                c.pre_vote,
                c.pre_vote
            );
            let _ = writeln!(s, "            with RawNode::tick() every {}", dur(h / 2));
        }
        Library::Paper => {
            let _ = writeln!(
                s,
                "paper:      election timeout uniform in [{}, {}], heartbeat every {}{}",
                dur(e),
                dur(2 * e),
                dur(h),
                if c.pre_vote { ", pre-vote" } else { "" }
            );
        }
    }
    let _ = writeln!(
        s,
        "hashicorp/raft (approximate: its follower timer is not modelled): HeartbeatTimeout: {}, ElectionTimeout: {}, \
         LeaderLeaseTimeout: {}",
        dur(e),
        dur(e),
        dur(e / 2)
    );
    if library != Library::Paper {
        let _ = writeln!(
            s,
            "paper terms: election timeout [{}, {}], heartbeat {}",
            dur(e),
            dur(2 * e),
            dur(h)
        );
    }
    s
}

/// Eight hex digits naming a search's inputs (FNV-1a of `tune.json`'s `inputs`): the same inputs always give
/// the same variant; a search with other inputs whose default report folder is taken goes to
/// `<folder>@<variant>/`.
pub fn variant(i: &TuneInput) -> String {
    let text = inputs_json(i).to_string();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:08x}", h >> 32)
}

/// `tune.json`.
pub fn tune_json(r: &TuneResult) -> serde_json::Value {
    serde_json::json!({
        "raftsim_version": env!("CARGO_PKG_VERSION"),
        "tune_json_version": 1,
        "variant": variant(&r.input),
        "inputs": inputs_json(&r.input),
        "chosen": r.chosen.map(|c| &r.outcomes[c]),
        "settings": r.chosen.map(|c| settings_text(r.input.library, &r.outcomes[c].candidate)),
        "runners_up": r.runners_up.iter().map(|&c| &r.outcomes[c]).collect::<Vec<_>>(),
        "rounds": r.rounds,
        "total_trials": r.total_trials,
        "total_events": r.total_events,
        "candidates": r.outcomes,
    })
}

/// `tune.json`'s `inputs`: what the search was asked.
fn inputs_json(i: &TuneInput) -> serde_json::Value {
    let pts = |s: &[u64]| -> BTreeMap<String, f64> {
        samples::empirical_points(s)
            .into_iter()
            .map(|(k, v)| (k, ms(v)))
            .collect()
    };
    serde_json::json!({
            "nodes": i.nodes,
            "network": i.network_source,
            "one_way_latency_ms": pts(&i.one_way_us),
            "loss": i.loss,
            "fsync_ms": i.fsync_us.as_deref().map(pts),
            "library": i.library,
            "fault": i.fault,
            "objective": i.objective,
            "max_spurious_per_node_day": i.max_spurious_per_node_day,
            "max_heartbeat_msgs_per_sec": i.max_heartbeat_msgs_per_sec,
            "seed": i.seed,
            "budget_trials": i.budget_trials,
            "stable_node_days": i.stable_node_days,
            "stable_events": i.stable_events,
            "quick": i.quick,
    })
}

fn ci_text(lo: Option<f64>, hi: Option<f64>) -> String {
    let f = |x: Option<f64>| x.map_or("?".to_string(), |v| format!("{v:.1}"));
    format!("{}-{}", f(lo), f(hi))
}

fn stat_line(s: &DistSummary) -> String {
    let v = |x: Option<crate::stats::Stat>| x.map_or("-".into(), |s| s.short());
    let [c50, _, c99, _] = s.intervals();
    format!(
        "p50 {} ms (95% CI {}), p99 {} ms (95% CI {})",
        v(s.p50),
        crate::stats::interval_short(c50),
        v(s.p99),
        crate::stats::interval_short(c99)
    )
}

fn spurious_line(s: &Spurious) -> String {
    format!(
        "{:.2} per node-day (95% CI {:.2}-{:.2}; {} seen in {:.2} simulated node-days)",
        s.rate, s.rate_ci[0], s.rate_ci[1], s.count, s.node_days
    )
}

/// The terminal summary.
pub fn text(r: &TuneResult) -> String {
    let i = &r.input;
    let mut s = String::new();
    let what = match i.fault {
        Fault::LeaderCrash => "failover (leader crash to convergence)",
        Fault::Churn => "election time under churn",
    };
    let _ = writeln!(
        s,
        "tune: {} nodes, {}, library {}, minimising {} {what}, budget {} spurious elections per node-day, seed {}",
        i.nodes,
        i.network_source,
        i.library.name(),
        i.objective.name(),
        i.max_spurious_per_node_day,
        i.seed
    );
    let _ = writeln!(
        s,
        "searched {} candidates in {} rounds: {} trials, {:.0} M events\n",
        r.outcomes.len(),
        r.rounds,
        r.total_trials,
        r.total_events as f64 / 1e6
    );
    let Some(c) = r.chosen else {
        let _ = writeln!(
            s,
            "no candidate was shown within the budget; raise --max-spurious-per-node-day or --stable-events"
        );
        return s;
    };
    let o = &r.outcomes[c];
    let _ = writeln!(s, "recommended: {}\n", o.label);
    s.push_str(&settings_text(i.library, &o.candidate));
    if let Some(f) = &o.failover {
        let _ = writeln!(s, "\nexpected failover: {} ({} trials)", stat_line(f), o.trials);
    }
    if let Some(sp) = &o.spurious {
        let _ = writeln!(s, "spurious elections: {}", spurious_line(sp));
    }
    let _ = writeln!(
        s,
        "heartbeat messages: {:.0} per second from the leader",
        o.heartbeat_msgs_per_sec
    );
    if !r.runners_up.is_empty() {
        let _ = writeln!(s, "\nrunners-up:");
        for &u in &r.runners_up {
            let o = &r.outcomes[u];
            let _ = writeln!(
                s,
                "  {:<36} {} {:.1} ms (95% CI {}), spurious {}",
                o.label,
                i.objective.name(),
                o.objective_ms.unwrap_or(f64::NAN),
                ci_text(o.objective_ci_ms[0], o.objective_ci_ms[1]),
                o.spurious.as_ref().map_or("-".into(), spurious_line)
            );
        }
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for o in &r.outcomes {
        if let Status::Rejected { why, .. } = &o.status {
            *counts.entry(why).or_default() += 1;
        }
    }
    let _ = writeln!(s, "\nrejected:");
    for (why, n) in &counts {
        let _ = writeln!(s, "  {n:>3} {}", why_words(why));
    }
    let _ = writeln!(s, "  closest rejected, fastest first:");
    let mut rej: Vec<&Outcome> = r
        .outcomes
        .iter()
        .filter(|o| matches!(o.status, Status::Rejected { why, .. } if why != "unchecked" && why != "heartbeat_budget"))
        .collect();
    rej.sort_by(|a, b| {
        a.objective_ms
            .unwrap_or(f64::INFINITY)
            .total_cmp(&b.objective_ms.unwrap_or(f64::INFINITY))
    });
    for o in rej.iter().take(5) {
        if let Status::Rejected { round, detail, .. } = &o.status {
            let _ = writeln!(s, "    {:<36} round {round}: {detail}", o.label);
        }
    }
    s
}

fn why_words(why: &str) -> &'static str {
    match why {
        "over_budget" => "over the spurious-election budget (or not shown within it)",
        "slower" => "slower: their 95% interval could no longer beat the leader's",
        "unchecked" => "too costly to check for spurious elections (heartbeat too short for --stable-events)",
        "heartbeat_budget" => "over the heartbeat-message budget",
        _ => "other",
    }
}
