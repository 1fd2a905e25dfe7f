//! Streaming statistics: integer-valued, mergeable, order-independent, so results do not depend on threads.

use crate::trial::{Outcome, TrialResult};
use hdrhistogram::Histogram;
use serde::Serialize;

/// Largest value a distribution records exactly enough (one day, in microseconds); larger values are clamped.
const HIGHEST_US: u64 = 86_400_000_000;

/// A distribution of durations in microseconds: an HDR histogram (3 significant digits, so percentiles are within
/// 0.1 %) plus exact count, sum, min and max.
#[derive(Clone, Debug)]
pub struct Dist {
    hist: Histogram<u64>,
    count: u64,
    sum_us: u128,
    min_us: u64,
    max_us: u64,
}

impl Default for Dist {
    fn default() -> Self {
        Dist {
            hist: Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("valid histogram bounds"),
            count: 0,
            sum_us: 0,
            min_us: u64::MAX,
            max_us: 0,
        }
    }
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

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl Dist {
    /// Records one sample.
    #[inline]
    pub fn record(&mut self, us: u64) {
        self.hist.saturating_record(us.min(HIGHEST_US));
        self.count += 1;
        self.sum_us += us as u128;
        self.min_us = self.min_us.min(us);
        self.max_us = self.max_us.max(us);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Dist) {
        self.hist.add(&other.hist).expect("histograms with equal bounds merge");
        self.count += other.count;
        self.sum_us += other.sum_us;
        self.min_us = self.min_us.min(other.min_us);
        self.max_us = self.max_us.max(other.max_us);
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
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
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
#[derive(Clone, Debug, Default)]
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
}

impl Aggregate {
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
            self.first_leader.record(us);
        }
        for &us in &r.election_us {
            self.election.record(us);
        }
        for &us in &r.convergence_us {
            self.convergence.record(us);
        }
        for &us in &r.recovery_us {
            self.recovery.record(us);
        }
        if r.rounds > 0 {
            self.rounds_sum += r.rounds as u64;
            self.rounds_max = self.rounds_max.max(r.rounds);
            self.rounds_count += 1;
        }
        self.split_votes += r.split_votes as u64;
        for k in 0..4 {
            self.messages[k] += r.messages[k];
        }
        self.events += r.events;
        self.virtual_us += r.end_us as u128;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_a_tenth_of_a_percent() {
        let mut d = Dist::default();
        for us in 1..=100_000u64 {
            d.record(us * 10);
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
            all.record(x);
            if v % 3 == 0 { a.record(x) } else { b.record(x) }
        }
        let mut ab = b.clone();
        ab.merge(&a);
        assert_eq!(ab.summary(), all.summary());
        assert_eq!(ab.cdf_points(), all.cdf_points());
    }

    #[test]
    fn bins_count_every_sample_once() {
        let mut d = Dist::default();
        for v in [0u64, 5, 10, 15, 20, 99, 100] {
            d.record(v);
        }
        let counts = d.bin_counts(&[0, 10, 20, 100]);
        assert_eq!(counts, vec![2, 2, 3]);
        assert_eq!(counts.iter().sum::<u64>(), d.count());
    }

    #[test]
    fn empty_distribution_has_no_statistics() {
        let s = Dist::default().summary();
        assert_eq!(s.count, 0);
        assert_eq!(s.p50, None);
    }
}
