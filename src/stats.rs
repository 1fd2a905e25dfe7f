//! Streaming statistics: integer-valued, mergeable, order-independent, so results do not depend on threads.

use crate::metric::Metric;
use crate::trial::{Outcome, TrialResult};
use hdrhistogram::Histogram;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// Largest value a distribution records exactly enough (one day, in microseconds); larger values are clamped.
const HIGHEST_US: u64 = 86_400_000_000;

/// Trials remembered per exemplar bucket as examples of that value.
const EXEMPLARS_PER_BUCKET: usize = 3;

/// The exemplar bucket of a value: the value with all but its 7 leading bits cleared, so buckets are at most
/// 1/64 (1.6 %) of their value wide and there are at most 64 per doubling: a few hundred for any run, however
/// many trials it has.
#[inline]
fn exemplar_key(us: u64) -> u64 {
    let shift = (64 - us.leading_zeros()).saturating_sub(7);
    (us >> shift) << shift
}
/// Slowest trials remembered.
const SLOWEST: usize = 5;

/// A distribution of durations in microseconds: an HDR histogram (3 significant digits, so percentiles are within
/// 0.1 %) plus exact count, sum, min and max, and exemplars: for every exemplar bucket (1.6 % wide) the first few
/// trials that landed in it, and the slowest trials overall. Memory is bounded, whatever the number of trials.
#[derive(Clone, Debug)]
pub struct Dist {
    hist: Histogram<u64>,
    count: u64,
    sum_us: u128,
    min_us: u64,
    max_us: u64,
    /// Exemplar bucket (see `exemplar_key`) -> the smallest trial indices recorded in it.
    exemplars: BTreeMap<u64, Vec<(u64, u64)>>,
    /// (value, trial), largest value first, then smallest trial.
    slowest: Vec<(u64, u64)>,
}

impl Default for Dist {
    fn default() -> Self {
        Dist {
            hist: Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("valid histogram bounds"),
            count: 0,
            sum_us: 0,
            min_us: u64::MAX,
            max_us: 0,
            exemplars: BTreeMap::new(),
            slowest: Vec::new(),
        }
    }
}

/// The serialized form of a [`Dist`] (used by shard files), exact: merging shards equals one run.
#[derive(Serialize, Deserialize)]
struct DistData {
    count: u64,
    sum_us: u128,
    min_us: u64,
    max_us: u64,
    /// (bucket value, count) for every non-empty bucket.
    buckets: Vec<(u64, u64)>,
    exemplars: Vec<(u64, Vec<(u64, u64)>)>,
    slowest: Vec<(u64, u64)>,
}

impl Serialize for Dist {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        DistData {
            count: self.count,
            sum_us: self.sum_us,
            min_us: self.min_us,
            max_us: self.max_us,
            buckets: self
                .hist
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
            exemplars: self.exemplars.iter().map(|(k, v)| (*k, v.clone())).collect(),
            slowest: self.slowest.clone(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Dist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let data = DistData::deserialize(d)?;
        let mut dist = Dist::default();
        for (value, count) in data.buckets {
            dist.hist
                .record_n(value.min(HIGHEST_US), count)
                .map_err(serde::de::Error::custom)?;
        }
        dist.count = data.count;
        dist.sum_us = data.sum_us;
        dist.min_us = data.min_us;
        dist.max_us = data.max_us;
        dist.exemplars = data.exemplars.into_iter().collect();
        dist.slowest = data.slowest;
        Ok(dist)
    }
}

/// Trials that landed near a value, for linking a statistic to runs that can be replayed.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Exemplar {
    /// Trial index (within its point).
    pub trial: u64,
    /// What the trial measured, in microseconds (exact).
    pub value_us: u64,
}

/// The summary of a [`Dist`], in milliseconds.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DistSummary {
    /// Number of samples.
    pub count: u64,
    /// Smallest sample (exact).
    pub min: Option<f64>,
    /// Mean (exact).
    pub mean: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// 99.9th percentile.
    pub p999: Option<f64>,
    /// Largest sample (exact).
    pub max: Option<f64>,
}

impl DistSummary {
    /// Every statistic after the count, in table order: min, mean, p50, p90, p99, p99.9, max.
    pub fn values(&self) -> [Option<f64>; 7] {
        [self.min, self.mean, self.p50, self.p90, self.p99, self.p999, self.max]
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl Dist {
    /// Records one sample, measured by trial `trial`.
    #[inline]
    pub fn record(&mut self, us: u64, trial: u64) {
        let clamped = us.min(HIGHEST_US);
        self.hist.saturating_record(clamped);
        self.count += 1;
        self.sum_us += us as u128;
        self.min_us = self.min_us.min(us);
        self.max_us = self.max_us.max(us);
        let bucket = self.exemplars.entry(exemplar_key(us)).or_default();
        if bucket.len() < EXEMPLARS_PER_BUCKET {
            bucket.push((trial, us));
            bucket.sort_unstable();
        } else if trial < bucket[EXEMPLARS_PER_BUCKET - 1].0 {
            bucket[EXEMPLARS_PER_BUCKET - 1] = (trial, us);
            bucket.sort_unstable();
        }
        let beats_kept = |&(v, t): &(u64, u64)| us > v || (us == v && trial < t);
        if self.slowest.len() < SLOWEST || self.slowest.last().is_some_and(beats_kept) {
            self.slowest.push((us, trial));
            Self::trim_slowest(&mut self.slowest);
        }
    }

    fn trim_slowest(list: &mut Vec<(u64, u64)>) {
        list.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        list.dedup();
        list.truncate(SLOWEST);
    }

    /// Adds every sample of `other`. The result does not depend on the order of merges.
    pub fn merge(&mut self, other: &Dist) {
        self.hist.add(&other.hist).expect("histograms with equal bounds merge");
        self.count += other.count;
        self.sum_us += other.sum_us;
        self.min_us = self.min_us.min(other.min_us);
        self.max_us = self.max_us.max(other.max_us);
        for (bucket, trials) in &other.exemplars {
            let mine = self.exemplars.entry(*bucket).or_default();
            mine.extend(trials);
            mine.sort_unstable();
            mine.dedup();
            mine.truncate(EXEMPLARS_PER_BUCKET);
        }
        self.slowest.extend(&other.slowest);
        Self::trim_slowest(&mut self.slowest);
    }

    /// Trials whose value was within 1.6 % of `value_us` (in its exemplar bucket), with their exact values.
    pub fn exemplars_at(&self, value_us: u64) -> Vec<Exemplar> {
        let key = exemplar_key(value_us);
        let list = self.exemplars.get(&key).map(Vec::as_slice).unwrap_or_default();
        list.iter()
            .map(|&(trial, value_us)| Exemplar { trial, value_us })
            .collect()
    }

    /// Up to `n` trials with values in `[lo_us, hi_us)`, the slowest buckets first.
    pub fn exemplars_in(&self, lo_us: u64, hi_us: u64, n: usize) -> Vec<Exemplar> {
        self.exemplars
            .range(exemplar_key(lo_us)..hi_us)
            .rev()
            .flat_map(|(_, list)| list.iter())
            .filter(|&&(_, v)| (lo_us..hi_us).contains(&v))
            .take(n)
            .map(|&(trial, value_us)| Exemplar { trial, value_us })
            .collect()
    }

    /// The slowest trials, slowest first (exact values).
    pub fn slowest(&self) -> Vec<Exemplar> {
        self.slowest
            .iter()
            .map(|&(value_us, trial)| Exemplar { trial, value_us })
            .collect()
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Largest sample, in microseconds.
    pub fn max_us(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max_us)
    }

    /// The value at quantile `q` in `[0, 1]`, in microseconds (within 0.1 %; exact at 0 and 1).
    pub fn quantile_us(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        if q >= 1.0 {
            return Some(self.max_us);
        }
        if q <= 0.0 {
            return Some(self.min_us);
        }
        Some(self.hist.value_at_quantile(q).clamp(self.min_us, self.max_us))
    }

    /// Count of samples in each of `edges.len() - 1` bins `[edges[i], edges[i+1])`, the last bin closed.
    pub fn bin_counts(&self, edges_us: &[u64]) -> Vec<u64> {
        let mut counts = vec![0; edges_us.len().saturating_sub(1)];
        if counts.is_empty() {
            return counts;
        }
        for v in self.hist.iter_recorded() {
            let value = self
                .hist
                .median_equivalent(v.value_iterated_to())
                .clamp(self.min_us, self.max_us);
            let bin = edges_us
                .partition_point(|&e| e <= value)
                .saturating_sub(1)
                .min(counts.len() - 1);
            counts[bin] += v.count_at_value();
        }
        counts
    }

    /// Points `(value_us, cumulative fraction)` of the empirical CDF, one per distinct recorded value.
    pub fn cdf_points(&self) -> Vec<(u64, f64)> {
        let mut out = Vec::new();
        let mut seen = 0u64;
        for v in self.hist.iter_recorded() {
            seen += v.count_at_value();
            let value = self
                .hist
                .median_equivalent(v.value_iterated_to())
                .clamp(self.min_us, self.max_us);
            out.push((value, seen as f64 / self.count as f64));
        }
        out
    }

    /// Summary statistics in milliseconds.
    pub fn summary(&self) -> DistSummary {
        let q = |x: f64| self.quantile_us(x).map(ms);
        DistSummary {
            count: self.count,
            min: q(0.0),
            mean: (self.count > 0).then(|| self.sum_us as f64 / self.count as f64 / 1000.0),
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max: q(1.0),
        }
    }
}

/// A violation found in one trial, kept for the report.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ViolationRecord {
    /// Trial index.
    pub trial: u64,
    /// Trial seed.
    pub trial_seed: u64,
    /// Invariant name.
    pub invariant: String,
    /// What happened.
    pub detail: String,
}

/// How many violations a report lists in full.
pub const MAX_LISTED_VIOLATIONS: usize = 20;

/// Everything aggregated over a run's trials.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Aggregate {
    /// Trials aggregated.
    pub trials: u64,
    /// Trials that converged.
    pub converged: u64,
    /// Trials stopped by the time limit.
    pub not_converged: u64,
    /// Trials that broke an invariant.
    pub violations: u64,
    /// The first violations, by trial index.
    pub violation_list: Vec<ViolationRecord>,
    /// The first trials that did not converge, by index.
    pub not_converged_list: Vec<u64>,
    /// Time to first leader.
    pub first_leader: Dist,
    /// Failover election time.
    pub election: Dist,
    /// Failover convergence time.
    pub convergence: Dist,
    /// Recovery time after heals and restarts.
    pub recovery: Dist,
    /// Commit latency of client commands.
    pub commit: Dist,
    /// From a fault that removed the leader to the first commit of a new entry.
    pub failover_commit: Dist,
    /// Client commands accepted by a leader, and refused.
    pub commands: (u64, u64),
    /// Sum and maximum of rounds, over trials that elected a leader.
    pub rounds_sum: u64,
    /// Largest rounds.
    pub rounds_max: u32,
    /// Trials contributing to rounds.
    pub rounds_count: u64,
    /// Total split votes.
    pub split_votes: u64,
    /// Messages by kind, summed.
    pub messages: [u64; 4],
    /// Engine events, summed.
    pub events: u64,
    /// Virtual time simulated, summed (microseconds).
    pub virtual_us: u128,
    /// Spurious elections, summed.
    pub spurious_elections: u64,
    /// Healthy leaders deposed, summed.
    pub disruptions: u64,
}

impl Aggregate {
    /// The distribution of `metric`.
    pub fn dist(&self, metric: Metric) -> &Dist {
        match metric {
            Metric::FirstLeader => &self.first_leader,
            Metric::Election => &self.election,
            Metric::Convergence => &self.convergence,
            Metric::Recovery => &self.recovery,
            Metric::Commit => &self.commit,
            Metric::FailoverCommit => &self.failover_commit,
        }
    }

    /// Adds one trial. Call in trial-index order for deterministic violation lists.
    pub fn add(&mut self, r: &TrialResult) {
        self.trials += 1;
        match &r.outcome {
            Outcome::Converged => self.converged += 1,
            Outcome::NotConverged => {
                self.not_converged += 1;
                if self.not_converged_list.len() < MAX_LISTED_VIOLATIONS {
                    self.not_converged_list.push(r.index);
                }
            }
            Outcome::Aborted { .. } => unreachable!("a trial stopped by a limit ends the run before aggregation"),
            Outcome::Violation { invariant, detail } => {
                self.violations += 1;
                if self.violation_list.len() < MAX_LISTED_VIOLATIONS {
                    self.violation_list.push(ViolationRecord {
                        trial: r.index,
                        trial_seed: r.seed,
                        invariant: invariant.to_string(),
                        detail: detail.clone(),
                    });
                }
            }
        }
        if let Some(us) = r.first_leader_us {
            self.first_leader.record(us, r.index);
        }
        for &us in &r.election_us {
            self.election.record(us, r.index);
        }
        for &us in &r.convergence_us {
            self.convergence.record(us, r.index);
        }
        for &us in &r.recovery_us {
            self.recovery.record(us, r.index);
        }
        for &us in &r.commit_us {
            self.commit.record(us, r.index);
        }
        for &us in &r.failover_commit_us {
            self.failover_commit.record(us, r.index);
        }
        self.commands.0 += r.commands.0;
        self.commands.1 += r.commands.1;
        if r.rounds > 0 {
            self.rounds_sum += r.rounds as u64;
            self.rounds_max = self.rounds_max.max(r.rounds);
            self.rounds_count += 1;
        }
        self.split_votes += r.split_votes as u64;
        for k in 0..4 {
            self.messages[k] += r.messages[raft_model::MessageKind::ALL[k]];
        }
        self.events += r.events;
        self.virtual_us += r.end_us as u128;
        self.spurious_elections += r.spurious_elections as u64;
        self.disruptions += r.disruptions as u64;
    }

    /// Adds another aggregate of the same point (a shard). Equal to having added its trials here, provided
    /// shards are merged in trial order (only the lists of first violations depend on order).
    pub fn merge(&mut self, o: &Aggregate) {
        self.trials += o.trials;
        self.converged += o.converged;
        self.not_converged += o.not_converged;
        self.violations += o.violations;
        self.violation_list.extend(o.violation_list.iter().cloned());
        self.violation_list.sort_by_key(|v| v.trial);
        self.violation_list.truncate(MAX_LISTED_VIOLATIONS);
        self.not_converged_list.extend(&o.not_converged_list);
        self.not_converged_list.sort_unstable();
        self.not_converged_list.truncate(MAX_LISTED_VIOLATIONS);
        self.first_leader.merge(&o.first_leader);
        self.election.merge(&o.election);
        self.convergence.merge(&o.convergence);
        self.recovery.merge(&o.recovery);
        self.commit.merge(&o.commit);
        self.failover_commit.merge(&o.failover_commit);
        self.commands.0 += o.commands.0;
        self.commands.1 += o.commands.1;
        self.rounds_sum += o.rounds_sum;
        self.rounds_max = self.rounds_max.max(o.rounds_max);
        self.rounds_count += o.rounds_count;
        self.split_votes += o.split_votes;
        for k in 0..4 {
            self.messages[k] += o.messages[k];
        }
        self.events += o.events;
        self.virtual_us += o.virtual_us;
        self.spurious_elections += o.spurious_elections;
        self.disruptions += o.disruptions;
    }

    /// `x` per trial (0 with no trials).
    pub fn per_trial(&self, x: u64) -> f64 {
        if self.trials == 0 {
            0.0
        } else {
            x as f64 / self.trials as f64
        }
    }

    /// Mean election rounds per election, if any election was counted.
    pub fn rounds_mean(&self) -> Option<f64> {
        (self.rounds_count > 0).then(|| self.rounds_sum as f64 / self.rounds_count as f64)
    }

    /// Spurious elections per hour of simulated time.
    pub fn spurious_per_hour(&self) -> f64 {
        if self.virtual_us == 0 {
            0.0
        } else {
            self.spurious_elections as f64 * 3.6e9 / self.virtual_us as f64
        }
    }
}

/// The two-sample Kolmogorov-Smirnov statistic: the largest distance between the empirical CDFs of `a` and `b`.
/// 0 for identical samples, 1 for samples that do not overlap. Ties are handled exactly (both CDFs step past a
/// shared value together).
pub fn ks_statistic(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return if a.len() == b.len() { 0.0 } else { 1.0 };
    }
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_unstable();
    b.sort_unstable();
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0usize, 0usize, 0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] == x {
            i += 1;
        }
        while j < b.len() && b[j] == x {
            j += 1;
        }
        d = d.max((i as f64 / n - j as f64 / m).abs());
    }
    d
}

/// The critical value of the two-sample KS statistic at significance `alpha` (asymptotic:
/// `sqrt(-ln(alpha / 2) / 2) * sqrt((n + m) / (n m))`): samples from one distribution exceed it with probability
/// about `alpha`.
pub fn ks_critical(n: usize, m: usize, alpha: f64) -> f64 {
    let (n, m) = (n as f64, m as f64);
    (-(alpha / 2.0).ln() / 2.0).sqrt() * ((n + m) / (n * m)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_a_tenth_of_a_percent() {
        let mut d = Dist::default();
        for us in 1..=100_000u64 {
            d.record(us * 10, us);
        }
        for (q, exact) in [
            (0.5, 500_000.0),
            (0.9, 900_000.0),
            (0.99, 990_000.0),
            (0.999, 999_000.0),
        ] {
            let got = d.quantile_us(q).unwrap() as f64;
            assert!((got - exact).abs() / exact < 0.001, "q{q}: {got} vs {exact}");
        }
        let s = d.summary();
        assert_eq!(s.min, Some(0.01));
        assert_eq!(s.max, Some(1000.0));
        assert_eq!(s.mean, Some(500.005));
    }

    #[test]
    fn merging_equals_recording_everything_in_one() {
        let mut all = Dist::default();
        let mut a = Dist::default();
        let mut b = Dist::default();
        for v in 0..5000u64 {
            let x = v * v % 7919 + 3;
            all.record(x, v);
            if v % 3 == 0 { a.record(x, v) } else { b.record(x, v) }
        }
        let mut ab = b.clone();
        ab.merge(&a);
        assert_eq!(ab.summary(), all.summary());
        assert_eq!(ab.cdf_points(), all.cdf_points());
        assert_eq!(ab.slowest(), all.slowest());
        assert_eq!(ab.exemplars, all.exemplars);
        let json = serde_json::to_string(&ab).unwrap();
        let back: Dist = serde_json::from_str(&json).unwrap();
        assert_eq!(back.summary(), all.summary());
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            json,
            "serialization round-trips exactly"
        );
    }

    #[test]
    fn bins_count_every_sample_once() {
        let mut d = Dist::default();
        for (i, v) in [0u64, 5, 10, 15, 20, 99, 100].into_iter().enumerate() {
            d.record(v, i as u64);
        }
        let counts = d.bin_counts(&[0, 10, 20, 100]);
        assert_eq!(counts, vec![2, 2, 3]);
        assert_eq!(counts.iter().sum::<u64>(), d.count());
    }

    #[test]
    fn exemplars_point_at_the_trials_that_landed_there() {
        let mut d = Dist::default();
        for trial in 0..1000u64 {
            d.record(100_000 + (trial % 10) * 1000, trial);
        }
        d.record(900_000, 5000);
        assert_eq!(
            d.slowest()[0],
            Exemplar {
                trial: 5000,
                value_us: 900_000
            }
        );
        let at = d.exemplars_at(103_000);
        assert_eq!(
            at.iter().map(|e| e.trial).collect::<Vec<_>>(),
            [3, 13, 23],
            "the first trials to land there"
        );
        let top = d.exemplars_in(100_000, 110_000, 2);
        assert_eq!(
            top.iter().map(|e| e.trial).collect::<Vec<_>>(),
            [9, 19],
            "slowest bucket of the bin first"
        );
    }

    #[test]
    fn empty_distribution_has_no_statistics() {
        let s = Dist::default().summary();
        assert_eq!(s.count, 0);
        assert_eq!(s.p50, None);
    }

    #[test]
    fn ks_statistic_measures_the_distance_between_empirical_cdfs() {
        assert_eq!(ks_statistic(&[1, 2, 3], &[3, 2, 1]), 0.0);
        assert_eq!(ks_statistic(&[1, 2], &[3, 4]), 1.0);
        // CDFs after 1: 1/2 vs 0; after 2: 1 vs 1/2; after 3: 1 vs 1.
        assert_eq!(ks_statistic(&[1, 2], &[2, 3]), 0.5);
        // Ties step together: identical multisets are at distance 0 whatever their order.
        assert_eq!(ks_statistic(&[5, 5, 7], &[7, 5, 5]), 0.0);
        // c(0.001) = 1.949 for equal samples of 1000: 1.949 * sqrt(2/1000).
        assert!((ks_critical(1000, 1000, 0.001) - 0.08717).abs() < 1e-4);
    }
}
