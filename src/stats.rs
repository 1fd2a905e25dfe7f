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
/// The position of a value's exemplar bucket among all buckets, in the order of their keys: the values below 128
/// are buckets of their own, then 64 buckets for each doubling.
#[inline]
fn exemplar_index(us: u64) -> usize {
    let shift = (64 - us.leading_zeros()).saturating_sub(7);
    if shift == 0 {
        us as usize
    } else {
        128 + (shift as usize - 1) * 64 + ((us >> shift) as usize - 64)
    }
}

/// [`Dist`]'s `full_until` for a bucket not known to be full.
const NOT_FULL: (u64, u32) = (u64::MAX, u32::MAX);

/// An exemplar sample kept: (trial, its place among the samples that trial recorded in the distribution, value).
type Kept = (u64, u32, u64);

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
    /// Exemplar bucket (see `exemplar_key`) -> the first samples recorded in it, by trial and then by place
    /// within the trial: (trial, place, value), sorted. Keyed so, the samples kept are those a run adding its
    /// trials in order keeps, whatever order they are added or merged in.
    exemplars: BTreeMap<u64, Vec<Kept>>,
    /// A cache of `exemplars` for `record`, by bucket index (`exemplar_index`): where a bucket is full, the
    /// (trial, place) of the last sample it keeps, so that a later sample (the usual case: trials are added in
    /// order) is turned away without looking the bucket up. [`NOT_FULL`] where not full or not known to be;
    /// empty after a merge or a read.
    full_until: Vec<(u64, u32)>,
    /// (value, trial), largest value first, then smallest trial.
    slowest: Vec<(u64, u64)>,
    /// Samples that should have been measured but were not by the end of a trial that did not converge.
    censored: u64,
    /// How long each censored sample had been waiting when its trial stopped (it is longer than that), created
    /// with the first one.
    censored_hist: Option<Box<Histogram<u64>>>,
    /// Sum of those waits.
    censored_sum_us: u128,
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("valid histogram bounds")
}

impl Default for Dist {
    fn default() -> Self {
        Dist {
            hist: new_histogram(),
            count: 0,
            sum_us: 0,
            min_us: u64::MAX,
            max_us: 0,
            exemplars: BTreeMap::new(),
            full_until: Vec::new(),
            slowest: Vec::new(),
            censored: 0,
            censored_hist: None,
            censored_sum_us: 0,
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
    /// (bucket, [(trial, place in the trial, value)]).
    exemplars: Vec<(u64, Vec<Kept>)>,
    slowest: Vec<(u64, u64)>,
    /// (bucket value, count) of the censored samples' waits.
    #[serde(default)]
    censored_buckets: Vec<(u64, u64)>,
    #[serde(default)]
    censored_sum_us: u128,
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
            censored_buckets: self
                .censored_hist
                .iter()
                .flat_map(|h| h.iter_recorded())
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
            censored_sum_us: self.censored_sum_us,
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
        for (value, count) in data.censored_buckets {
            dist.censor_n(value, count);
        }
        dist.censored_sum_us = data.censored_sum_us;
        Ok(dist)
    }
}

/// Inserts the item for trial `trial` (made only if it is kept) into `list`, sorted by trial (unique), keeping
/// the [`MAX_LISTED_VIOLATIONS`] smallest.
fn keep_first<T>(list: &mut Vec<T>, trial: u64, trial_of: impl Fn(&T) -> u64, make: impl FnOnce() -> T) {
    if list.len() >= MAX_LISTED_VIOLATIONS && list.last().is_some_and(|last| trial_of(last) < trial) {
        return;
    }
    let at = list.partition_point(|x| trial_of(x) < trial);
    list.insert(at, make());
    list.truncate(MAX_LISTED_VIOLATIONS);
}

/// A bucket's kept samples as shown: by trial, then by value.
fn shown(samples: &[Kept]) -> Vec<Exemplar> {
    let mut list: Vec<Exemplar> = samples
        .iter()
        .map(|&(trial, _, value_us)| Exemplar { trial, value_us })
        .collect();
    list.sort_unstable_by_key(|e| (e.trial, e.value_us));
    list
}

/// Trials that landed near a value, for linking a statistic to runs that can be replayed.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Exemplar {
    /// Trial index (within its point).
    pub trial: u64,
    /// What the trial measured, in microseconds (exact).
    pub value_us: u64,
}

/// A value of a distribution (microseconds) with censored samples (see [`Dist::quantile`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantile {
    /// A measured value.
    At(u64),
    /// Censored: at least this (a censored sample's wait, or a measured value some censored sample may
    /// exceed), the true value unknown.
    Above(u64),
}

/// A statistic in milliseconds: a number, or a censored value known only to exceed a bound. Serialized as a
/// number, or as `{"censored_above_ms": bound}`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stat {
    /// The value.
    Ms(f64),
    /// More than this.
    AboveMs(f64),
}

impl Stat {
    fn of(q: Quantile) -> Stat {
        match q {
            Quantile::At(us) => Stat::Ms(ms(us)),
            Quantile::Above(us) => Stat::AboveMs(ms(us)),
        }
    }

    /// The value or bound, in milliseconds (for drawing).
    pub fn ms(self) -> f64 {
        match self {
            Stat::Ms(x) | Stat::AboveMs(x) => x,
        }
    }

    /// Whether it is censored (a bound, not a value).
    pub fn is_censored(self) -> bool {
        matches!(self, Stat::AboveMs(_))
    }

    /// For tables in milliseconds: `165.1`, or a bound in whole tenths of seconds rounded down, `>58.9s`.
    pub fn short(self) -> String {
        match self {
            Stat::Ms(x) => format!("{x:.1}"),
            Stat::AboveMs(x) => above(x),
        }
    }

    /// For CSV: the exact value, or `>` and the exact bound.
    pub fn csv(self) -> String {
        match self {
            Stat::Ms(x) => format!("{x}"),
            Stat::AboveMs(x) => format!(">{x}"),
        }
    }
}

/// `>58.9s` for a bound of 58,923.4 ms (rounded down, so the statement stays true), `>150.2` below a second.
pub fn above(bound_ms: f64) -> String {
    if bound_ms >= 1000.0 {
        format!(">{:.1}s", (bound_ms / 100.0).floor() / 10.0)
    } else {
        format!(">{:.1}", (bound_ms * 10.0).floor() / 10.0)
    }
}

impl Serialize for Stat {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Stat::Ms(x) => s.serialize_f64(x),
            Stat::AboveMs(x) => {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("censored_above_ms", &x)?;
                m.end()
            }
        }
    }
}

/// A 95 % confidence interval of a percentile, `[low, high]`; a side is `None` when there are too few samples
/// to bound it (serialized as `null`).
pub type Interval = [Option<Stat>; 2];

/// The summary of a [`Dist`], in milliseconds, over measured and censored samples: a statistic the censored
/// samples could change is [`Stat::AboveMs`] (see [`Dist::quantile`]).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DistSummary {
    /// Number of measured samples.
    pub count: u64,
    /// Samples that should have been measured but were not by the end of a trial that did not converge.
    pub censored: u64,
    /// Smallest sample (exact).
    pub min: Option<Stat>,
    /// Mean (exact); with censored samples a lower bound, counting each at the censoring bound.
    pub mean: Option<Stat>,
    /// Median.
    pub p50: Option<Stat>,
    /// Its 95 % interval.
    pub p50_ci: Option<Interval>,
    /// 90th percentile.
    pub p90: Option<Stat>,
    /// Its 95 % interval.
    pub p90_ci: Option<Interval>,
    /// 99th percentile.
    pub p99: Option<Stat>,
    /// Its 95 % interval.
    pub p99_ci: Option<Interval>,
    /// 99.9th percentile.
    pub p999: Option<Stat>,
    /// Its 95 % interval.
    pub p999_ci: Option<Interval>,
    /// Largest sample (exact).
    pub max: Option<Stat>,
}

impl DistSummary {
    /// Every statistic after the counts, in table order: min, mean, p50, p90, p99, p99.9, max.
    pub fn values(&self) -> [Option<Stat>; 7] {
        [self.min, self.mean, self.p50, self.p90, self.p99, self.p999, self.max]
    }

    /// The intervals of p50, p90, p99 and p99.9, in table order.
    pub fn intervals(&self) -> [Option<Interval>; 4] {
        [self.p50_ci, self.p90_ci, self.p99_ci, self.p999_ci]
    }
}

/// An interval for a table: `165.1–168.2`, `?` for a side with too few samples, `>58.9s` for a censored side.
pub fn interval_short(ci: Option<Interval>) -> String {
    let side = |s: Option<Stat>| s.map_or("?".to_string(), Stat::short);
    match ci {
        Some([lo, hi]) => format!("{}–{}", side(lo), side(hi)),
        None => "-".to_string(),
    }
}

/// Confidence level of every interval reported.
pub const CONFIDENCE: f64 = 0.95;

/// `ln(k!)`: summed exactly below 64, by Stirling's series above (error below 1e-16 relative).
fn ln_factorial(k: u64) -> f64 {
    if k < 64 {
        (2..=k).map(|i| (i as f64).ln()).sum()
    } else {
        let x = k as f64;
        x * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI * x).ln() + 1.0 / (12.0 * x) - 1.0 / (360.0 * x.powi(3))
            + 1.0 / (1260.0 * x.powi(5))
    }
}

/// The ranks (1-based order statistics) `(l, u)` of a distribution-free interval for quantile `q` of `n`
/// samples: with `X ~ Binomial(n, q)`, `l` is the largest rank with `P(X < l) <= a` and `u` the smallest with
/// `P(X >= u) <= a`, `a = (1 - confidence) / 2`, so `P(l <= X <= u - 1) >= confidence` and the true quantile lies
/// in `[x(l), x(u)]` at least that often. `l = 0` means no lower bound, `u = n + 1` no upper bound.
///
/// The binomial probabilities are exact (log-space, `ln C(n, k)` from [`ln_factorial`]), summed over every `k`
/// within 12 standard deviations (+ 12) of `n q`: the mass outside is below 1e-30, whatever `n`.
pub fn order_statistic_ranks(n: u64, q: f64, confidence: f64) -> (u64, u64) {
    let a = (1.0 - confidence) / 2.0;
    if n == 0 || q <= 0.0 || q >= 1.0 {
        return (0, n + 1);
    }
    let nf = n as f64;
    let spread = 12.0 * (nf * q * (1.0 - q)).sqrt() + 12.0;
    let lo = (nf * q - spread).floor().max(0.0) as u64;
    let hi = ((nf * q + spread).ceil() as u64).min(n);
    let (lq, lp) = (q.ln(), (1.0 - q).ln());
    let ln_n = ln_factorial(n);
    let pmf: Vec<f64> = (lo..=hi)
        .map(|k| (ln_n - ln_factorial(k) - ln_factorial(n - k) + k as f64 * lq + (n - k) as f64 * lp).exp())
        .collect();
    let total: f64 = pmf.iter().sum();
    // l: walk up while P(X < l + 1) = P(X <= l) stays within a.
    let mut l = lo;
    let mut below = 0.0;
    for (i, p) in pmf.iter().enumerate() {
        if (below + p) / total > a {
            break;
        }
        below += p;
        l = lo + i as u64 + 1;
    }
    // u: walk down while P(X >= u - 1) stays within a.
    let mut u = hi + 1;
    let mut above = 0.0;
    for (i, p) in pmf.iter().enumerate().rev() {
        if (above + p) / total > a {
            break;
        }
        above += p;
        u = lo + i as u64;
    }
    (l, u.max(1))
}

/// The 95 % interval of a Poisson mean from `k` events seen: for `k = 0` the one-sided upper bound
/// `-ln(0.05) = 2.996` (the "rule of three"), lower 0; otherwise the exact (Garwood) two-sided interval, the means
/// `mu` at which `P(X >= k) = 2.5 %` and `P(X <= k) = 2.5 %`, found by bisection on the Poisson CDF. Divide by the
/// exposure (time observed) for a rate.
pub fn poisson_interval(k: u64) -> (f64, f64) {
    let a = (1.0 - CONFIDENCE) / 2.0;
    if k == 0 {
        return (0.0, -(1.0 - CONFIDENCE).ln());
    }
    // P(X <= k; mu), summed in log space.
    let cdf = |k: u64, mu: f64| -> f64 {
        let ln_mu = mu.ln();
        (0..=k)
            .map(|i| (-mu + i as f64 * ln_mu - ln_factorial(i)).exp())
            .sum::<f64>()
            .min(1.0)
    };
    // The CDF falls as mu grows: find the mu where it crosses `target`.
    let solve = |k: u64, target: f64| -> f64 {
        let (mut lo, mut hi) = (0.0f64, k as f64 * 3.0 + 20.0);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if cdf(k, mid) > target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    };
    (solve(k - 1, 1.0 - a), solve(k, a))
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl Dist {
    /// Records one sample, measured by trial `trial`, the `place`-th (from 0) this trial records here.
    #[inline]
    pub fn record(&mut self, us: u64, trial: u64, place: u32) {
        let clamped = us.min(HIGHEST_US);
        self.hist.saturating_record(clamped);
        self.count += 1;
        self.sum_us += us as u128;
        self.min_us = self.min_us.min(us);
        self.max_us = self.max_us.max(us);
        // (trial, place) is one sample's alone, so it orders samples as (trial, place, value) does.
        let index = exemplar_index(us);
        if self.full_until.get(index).is_none_or(|&last| (trial, place) < last) {
            let bucket = self.exemplars.entry(exemplar_key(us)).or_default();
            let sample = (trial, place, us);
            if (bucket.len() < EXEMPLARS_PER_BUCKET || sample < bucket[EXEMPLARS_PER_BUCKET - 1])
                && let Err(at) = bucket.binary_search(&sample)
            {
                bucket.insert(at, sample);
                bucket.truncate(EXEMPLARS_PER_BUCKET);
            }
            if let Some(&(t, p, _)) = bucket.get(EXEMPLARS_PER_BUCKET - 1) {
                if self.full_until.len() <= index {
                    self.full_until.resize(index + 1, NOT_FULL);
                }
                self.full_until[index] = (t, p);
            }
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
        // Buckets change below: the cache is rebuilt by later records.
        self.full_until.clear();
        for (bucket, samples) in &other.exemplars {
            let mine = self.exemplars.entry(*bucket).or_default();
            mine.extend(samples);
            mine.sort_unstable();
            mine.dedup();
            mine.truncate(EXEMPLARS_PER_BUCKET);
        }
        self.slowest.extend(&other.slowest);
        Self::trim_slowest(&mut self.slowest);
        if let Some(h) = &other.censored_hist {
            self.censored_hist
                .get_or_insert_with(|| Box::new(new_histogram()))
                .add(h.as_ref())
                .expect("histograms with equal bounds merge");
        }
        self.censored += other.censored;
        self.censored_sum_us += other.censored_sum_us;
    }

    /// Trials whose value was within 1.6 % of `value_us` (in its exemplar bucket), with their exact values.
    pub fn exemplars_at(&self, value_us: u64) -> Vec<Exemplar> {
        let key = exemplar_key(value_us);
        let list = self.exemplars.get(&key).map(Vec::as_slice).unwrap_or_default();
        shown(list)
    }

    /// Up to `n` trials with values in `[lo_us, hi_us)`, the slowest buckets first.
    pub fn exemplars_in(&self, lo_us: u64, hi_us: u64, n: usize) -> Vec<Exemplar> {
        self.exemplars
            .range(exemplar_key(lo_us)..hi_us)
            .rev()
            .flat_map(|(_, list)| shown(list))
            .filter(|e| (lo_us..hi_us).contains(&e.value_us))
            .take(n)
            .collect()
    }

    /// The slowest trials, slowest first (exact values).
    pub fn slowest(&self) -> Vec<Exemplar> {
        self.slowest
            .iter()
            .map(|&(value_us, trial)| Exemplar { trial, value_us })
            .collect()
    }

    /// Counts one sample that should have been measured but was not: its window had been open `waited_us` when
    /// its trial stopped without converging.
    pub fn censor(&mut self, waited_us: u64) {
        self.censor_n(waited_us, 1);
        self.censored_sum_us += waited_us as u128;
    }

    fn censor_n(&mut self, waited_us: u64, n: u64) {
        self.censored_hist
            .get_or_insert_with(|| Box::new(new_histogram()))
            .saturating_record_n(waited_us.clamp(1, HIGHEST_US), n);
        self.censored += n;
    }

    /// Number of measured samples.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Number of censored samples.
    pub fn censored(&self) -> u64 {
        self.censored
    }

    /// Largest sample, in microseconds.
    pub fn max_us(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max_us)
    }

    /// The value at quantile `q` in `[0, 1]` of the measured samples only, in microseconds (within 0.1 %; exact
    /// at 0 and 1). Reports use [`Dist::quantile`], which counts the censored samples too.
    pub fn measured_quantile_us(&self, q: f64) -> Option<u64> {
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

    /// The `rank`-th smallest (1-based) of all samples.
    ///
    /// Censored samples are placed at their waits, which they exceed, so the `rank`-th of that ordering is a lower
    /// bound of the true one, and the `rank`-th measured sample (censored ones counted as beyond every measured
    /// one) an upper bound. When they agree (no censored sample comes before it) the value is that measured
    /// sample: from the histogram (3 significant digits, the top of its bucket, as `value_at_quantile` gives),
    /// exact for the smallest and largest. Otherwise it is [`Quantile::Above`] the lower bound (the bottom of its
    /// bucket, so the statement stays true).
    fn at_rank(&self, rank: u64) -> Quantile {
        let Some(cens) = self.censored_hist.as_deref().filter(|_| self.censored > 0) else {
            return Quantile::At(self.measured_at_rank(rank));
        };
        let mut measured = self.hist.iter_recorded().peekable();
        let mut censored = cens.iter_recorded().peekable();
        let (mut seen, mut censored_seen) = (0u64, 0u64);
        loop {
            let m = measured.peek().map(|v| v.value_iterated_to());
            let c = censored.peek().map(|v| v.value_iterated_to());
            // A censored sample in the same bucket as a measured one comes first: the lower bound stays low.
            let take_censored = match (m, c) {
                (Some(m), Some(c)) => c <= m,
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (None, None) => return Quantile::Above(self.max_us),
            };
            if take_censored {
                let v = censored.next().expect("peeked");
                seen += v.count_at_value();
                censored_seen += v.count_at_value();
                if seen >= rank {
                    return Quantile::Above(cens.lowest_equivalent(v.value_iterated_to()));
                }
            } else {
                let v = measured.next().expect("peeked");
                seen += v.count_at_value();
                if seen >= rank {
                    if censored_seen == 0 {
                        return Quantile::At(self.measured_at_rank(rank));
                    }
                    let low = self.hist.lowest_equivalent(v.value_iterated_to());
                    return Quantile::Above(low.clamp(self.min_us, self.max_us));
                }
            }
        }
    }

    /// The `rank`-th smallest (1-based) measured sample (`rank` within `1..=count`).
    fn measured_at_rank(&self, rank: u64) -> u64 {
        if rank <= 1 {
            return self.min_us;
        }
        if rank >= self.count {
            return self.max_us;
        }
        let mut seen = 0;
        for v in self.hist.iter_recorded() {
            seen += v.count_at_value();
            if seen >= rank {
                return v.value_iterated_to().clamp(self.min_us, self.max_us);
            }
        }
        self.max_us
    }

    /// Every sample: measured and censored.
    fn total(&self) -> u64 {
        self.count + self.censored
    }

    /// The value at quantile `q` in `[0, 1]` over every sample, measured and censored: the sample of rank
    /// `max(1, ceil(q n))` (see `at_rank`), a value where the censored samples cannot change it, else censored
    /// above a bound. Without censored samples, equal to [`Dist::measured_quantile_us`].
    pub fn quantile(&self, q: f64) -> Option<Quantile> {
        let n = self.total();
        if n == 0 {
            return None;
        }
        if self.censored == 0 {
            return self.measured_quantile_us(q).map(Quantile::At);
        }
        let rank = if q >= 1.0 {
            n
        } else {
            ((q * n as f64).ceil() as u64).clamp(1, n)
        };
        Some(self.at_rank(rank))
    }

    /// The 95 % interval of quantile `q` (see [`order_statistic_ranks`]): the samples at ranks `l` and `u`, a
    /// side `None` where the rank does not exist.
    pub fn interval(&self, q: f64) -> Option<[Option<Quantile>; 2]> {
        let n = self.total();
        if n == 0 {
            return None;
        }
        let (l, u) = order_statistic_ranks(n, q, CONFIDENCE);
        Some([(l >= 1).then(|| self.at_rank(l)), (u <= n).then(|| self.at_rank(u))])
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

    /// Points `(value_us, cumulative fraction)` of the empirical CDF, one per distinct recorded value, as
    /// fractions of `of` samples (at least the measured and censored ones): the last point is the measured share.
    pub fn cdf_points(&self, of: u64) -> Vec<(u64, f64)> {
        let of = of.max(self.total()).max(1);
        let mut out = Vec::new();
        let mut seen = 0u64;
        for v in self.hist.iter_recorded() {
            seen += v.count_at_value();
            let value = self
                .hist
                .median_equivalent(v.value_iterated_to())
                .clamp(self.min_us, self.max_us);
            out.push((value, seen as f64 / of as f64));
        }
        out
    }

    /// Summary statistics in milliseconds.
    pub fn summary(&self) -> DistSummary {
        let q = |x: f64| self.quantile(x).map(Stat::of);
        let ci = |x: f64| self.interval(x).map(|[lo, hi]| [lo.map(Stat::of), hi.map(Stat::of)]);
        let mean = (self.total() > 0).then(|| {
            if self.censored == 0 {
                Stat::Ms(self.sum_us as f64 / self.count as f64 / 1000.0)
            } else {
                // Each censored sample is longer than its wait, so the mean is more than this.
                let sum = self.sum_us + self.censored_sum_us;
                Stat::AboveMs(sum as f64 / self.total() as f64 / 1000.0)
            }
        });
        DistSummary {
            count: self.count,
            censored: self.censored,
            min: q(0.0),
            mean,
            p50: q(0.5),
            p50_ci: ci(0.5),
            p90: q(0.9),
            p90_ci: ci(0.9),
            p99: q(0.99),
            p99_ci: ci(0.99),
            p999: q(0.999),
            p999_ci: ci(0.999),
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
    /// Elections started, summed.
    pub elections: u64,
    /// Of those, elections started while a healthy leader was reachable from the candidate.
    pub elections_with_leader: u64,
    /// Per trial: the fraction of its time with a leader followed by a majority.
    pub leader_availability: MeanFraction,
    /// Per trial, with a workload: the fraction of client ticks whose command committed within the bound.
    pub write_availability: MeanFraction,
}

/// The mean of one fraction per trial, with a 95 % interval. Kept as exact sums of fixed-point fractions (units
/// of 1e-9), so that adding trials and merging shards give the same result in any grouping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeanFraction {
    /// Trials measured.
    pub count: u64,
    /// Sum of the fractions, in units of 1e-9.
    pub sum: u128,
    /// Sum of the squared fractions, in units of 1e-18.
    pub sum_sq: u128,
}

impl MeanFraction {
    const UNIT: u128 = 1_000_000_000;

    /// Adds one trial's fraction `part / whole` (nothing when `whole` is 0).
    pub fn add(&mut self, part: u64, whole: u64) {
        if whole == 0 {
            return;
        }
        let q = (part.min(whole) as u128 * Self::UNIT) / whole as u128;
        self.count += 1;
        self.sum += q;
        self.sum_sq += q * q;
    }

    /// Adds another shard's trials.
    pub fn merge(&mut self, o: &MeanFraction) {
        self.count += o.count;
        self.sum += o.sum;
        self.sum_sq += o.sum_sq;
    }

    /// The mean fraction, if any trial was measured.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / Self::UNIT as f64 / self.count as f64)
    }

    /// A 95 % interval of the mean (normal approximation: mean ± 1.96 standard errors, clipped to [0, 1]), with
    /// at least two trials.
    pub fn interval(&self) -> Option<[f64; 2]> {
        if self.count < 2 {
            return None;
        }
        let n = self.count as f64;
        let unit = Self::UNIT as f64;
        let mean = self.sum as f64 / unit / n;
        let var = ((self.sum_sq as f64 / (unit * unit) - n * mean * mean) / (n - 1.0)).max(0.0);
        let half = 1.96 * (var / n).sqrt();
        Some([(mean - half).max(0.0), (mean + half).min(1.0)])
    }
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

    fn dist_mut(&mut self, metric: Metric) -> &mut Dist {
        match metric {
            Metric::FirstLeader => &mut self.first_leader,
            Metric::Election => &mut self.election,
            Metric::Convergence => &mut self.convergence,
            Metric::Recovery => &mut self.recovery,
            Metric::Commit => &mut self.commit,
            Metric::FailoverCommit => &mut self.failover_commit,
        }
    }

    /// Adds one trial. Trials may come in any order, and go to any number of aggregates merged later: the
    /// result is the same (lists keep the first trials by index; exemplars, see [`Dist`]). The measurements a trial
    /// that did not converge left unfinished are censored (each longer than it had waited); those of a trial
    /// stopped early by a violation are not counted at all.
    pub fn add(&mut self, r: &TrialResult) {
        self.trials += 1;
        match &r.outcome {
            Outcome::Converged => self.converged += 1,
            Outcome::NotConverged => {
                self.not_converged += 1;
                keep_first(&mut self.not_converged_list, r.index, |&t| t, || r.index);
            }
            Outcome::Aborted { .. } => unreachable!("a trial stopped by a limit ends the run before aggregation"),
            Outcome::Violation { invariant, detail } => {
                self.violations += 1;
                keep_first(
                    &mut self.violation_list,
                    r.index,
                    |v| v.trial,
                    || ViolationRecord {
                        trial: r.index,
                        trial_seed: r.seed,
                        invariant: invariant.to_string(),
                        detail: detail.clone(),
                    },
                );
            }
        }
        if r.outcome == Outcome::NotConverged {
            for &(metric, waited_us) in &r.unmeasured {
                self.dist_mut(metric).censor(waited_us);
            }
        }
        if let Some(us) = r.first_leader_us {
            self.first_leader.record(us, r.index, 0);
        }
        let record = |d: &mut Dist, samples: &[u64]| {
            for (place, &us) in samples.iter().enumerate() {
                d.record(us, r.index, u32::try_from(place).unwrap_or(u32::MAX));
            }
        };
        record(&mut self.election, &r.election_us);
        record(&mut self.convergence, &r.convergence_us);
        record(&mut self.recovery, &r.recovery_us);
        record(&mut self.commit, &r.commit_us);
        record(&mut self.failover_commit, &r.failover_commit_us);
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
        self.elections += r.elections.0 as u64;
        self.elections_with_leader += r.elections.1 as u64;
        if let Some((up, whole)) = r.leader_availability {
            self.leader_availability.add(up, whole);
        }
        if let Some((ok, whole)) = r.write_availability {
            self.write_availability.add(ok, whole);
        }
    }

    /// Adds another aggregate of the same point (a shard, or one worker's trials). Equal to having added its
    /// trials here, whatever order aggregates are merged in.
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
        self.elections += o.elections;
        self.elections_with_leader += o.elections_with_leader;
        self.leader_availability.merge(&o.leader_availability);
        self.write_availability.merge(&o.write_availability);
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
        self.per_hour(self.spurious_elections)
    }

    /// `x` per hour of simulated time (0 with none simulated).
    pub fn per_hour(&self, x: u64) -> f64 {
        if self.virtual_us == 0 {
            0.0
        } else {
            x as f64 * 3.6e9 / self.virtual_us as f64
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
            d.record(us * 10, us, 0);
        }
        for (q, exact) in [
            (0.5, 500_000.0),
            (0.9, 900_000.0),
            (0.99, 990_000.0),
            (0.999, 999_000.0),
        ] {
            let got = d.measured_quantile_us(q).unwrap() as f64;
            assert!((got - exact).abs() / exact < 0.001, "q{q}: {got} vs {exact}");
        }
        let s = d.summary();
        assert_eq!(s.min, Some(Stat::Ms(0.01)));
        assert_eq!(s.max, Some(Stat::Ms(1000.0)));
        assert_eq!(s.mean, Some(Stat::Ms(500.005)));
    }

    #[test]
    fn merging_equals_recording_everything_in_one() {
        let mut all = Dist::default();
        let mut a = Dist::default();
        let mut b = Dist::default();
        for v in 0..5000u64 {
            let x = v * v % 7919 + 3;
            all.record(x, v, 0);
            if v % 3 == 0 {
                a.record(x, v, 0)
            } else {
                b.record(x, v, 0)
            }
        }
        a.censor(9_000);
        b.censor(8_000);
        all.censor(9_000);
        all.censor(8_000);
        let mut ab = b.clone();
        ab.merge(&a);
        assert_eq!(ab.summary(), all.summary());
        assert_eq!(ab.summary().censored, 2);
        assert_eq!(ab.cdf_points(0), all.cdf_points(0));
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

    /// Trials recording several samples each (some equal, many in one exemplar bucket): adding them in any
    /// order, or merging parts of them in any order, keeps what adding them trial by trial keeps, which is the
    /// first samples of each bucket in trial order and, within a trial, in the order it recorded them.
    #[test]
    fn any_order_of_adds_and_merges_keeps_what_trial_order_keeps() {
        use rand::seq::SliceRandom;
        let samples: Vec<(u64, u32, u64)> = (0..400u64)
            .flat_map(|trial| {
                let bucket = 100_000 * (1 + trial % 3);
                (0..2 + trial % 3).map(move |place| {
                    (
                        trial,
                        place as u32,
                        bucket + ([3, 1, 3, 0][place as usize] + trial % 2) * 10,
                    )
                })
            })
            .collect();
        let mut in_order = Dist::default();
        for &(trial, place, us) in &samples {
            in_order.record(us, trial, place);
        }
        // What a run adding trials in order shows: a bucket's first three samples, by trial then by value.
        let mut firsts: BTreeMap<u64, Vec<Exemplar>> = BTreeMap::new();
        for &(trial, _, us) in &samples {
            let list = firsts.entry(exemplar_key(us)).or_default();
            if list.len() < EXEMPLARS_PER_BUCKET {
                list.push(Exemplar { trial, value_us: us });
            }
        }
        for (&bucket, list) in &mut firsts {
            list.sort_unstable_by_key(|e| (e.trial, e.value_us));
            assert_eq!(&in_order.exemplars_at(bucket), list);
        }
        assert!(
            samples.windows(2).any(|w| w[0].0 == w[1].0 && w[0].2 > w[1].2),
            "some trial records a larger value before a smaller one"
        );
        assert!(
            samples
                .iter()
                .map(|&(t, _, us)| (t, us))
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                < samples.len(),
            "some trial records a value twice"
        );
        let json = serde_json::to_string(&in_order).unwrap();
        let mut rng = sim_core::rng::stream(7, 0);
        for _ in 0..20 {
            let mut shuffled = samples.clone();
            shuffled.shuffle(&mut rng);
            let mut parts = vec![Dist::default(); 3];
            for (i, &(trial, place, us)) in shuffled.iter().enumerate() {
                parts[i % 3].record(us, trial, place);
            }
            let mut merged = Dist::default();
            for part in parts.iter().rev() {
                merged.merge(part);
            }
            assert_eq!(serde_json::to_string(&merged).unwrap(), json);
        }
    }

    /// Whole trials, some failing, with several samples each: added in any order to any number of aggregates
    /// merged in any order, they give the aggregate that adding them in trial order gives, lists included.
    #[test]
    fn aggregates_do_not_depend_on_the_order_trials_come_in() {
        use crate::trial::{Outcome, TrialResult};
        use rand::seq::SliceRandom;
        let result = |index: u64| TrialResult {
            index,
            seed: index * 31,
            outcome: match index % 5 {
                0 => Outcome::Violation {
                    invariant: crate::invariants::Invariant::ElectionSafety,
                    detail: format!("trial {index}"),
                },
                1 | 2 => Outcome::NotConverged,
                _ => Outcome::Converged,
            },
            first_leader_us: Some(150_000 + index % 7 * 10),
            election_us: (0..index % 4).map(|k| 200_000 + (index + k) % 3 * 10).collect(),
            convergence_us: Default::default(),
            recovery_us: Default::default(),
            rounds: (index % 3) as u32,
            split_votes: (index % 2) as u32,
            messages: Default::default(),
            spurious_elections: 0,
            elections: (1, 0),
            disruptions: 0,
            leader_availability: Some((index, 100)),
            write_availability: None,
            commit_us: (0..index % 6).map(|k| 5_000 + k % 2 * 10).collect(),
            commands: (index % 6, 0),
            failover_commit_us: Default::default(),
            end_us: 1_000_000,
            events: 100 + index,
            unmeasured: vec![(Metric::Election, 60_000 + index)],
        };
        let results: Vec<TrialResult> = (0..200).map(result).collect();
        let mut in_order = Aggregate::default();
        for r in &results {
            in_order.add(r);
        }
        assert_eq!(in_order.violation_list.len(), MAX_LISTED_VIOLATIONS);
        assert_eq!(in_order.not_converged_list.len(), MAX_LISTED_VIOLATIONS);
        let json = serde_json::to_string(&in_order).unwrap();
        let mut rng = sim_core::rng::stream(11, 0);
        for parts in [1, 2, 5] {
            let mut shuffled = results.clone();
            shuffled.shuffle(&mut rng);
            let mut aggs = vec![Aggregate::default(); parts];
            for (i, r) in shuffled.iter().enumerate() {
                aggs[i % parts].add(r);
            }
            let mut merged = Aggregate::default();
            for a in aggs.iter().rev() {
                merged.merge(a);
            }
            assert_eq!(serde_json::to_string(&merged).unwrap(), json, "{parts} parts");
        }
    }

    #[test]
    fn bins_count_every_sample_once() {
        let mut d = Dist::default();
        for (i, v) in [0u64, 5, 10, 15, 20, 99, 100].into_iter().enumerate() {
            d.record(v, i as u64, 0);
        }
        let counts = d.bin_counts(&[0, 10, 20, 100]);
        assert_eq!(counts, vec![2, 2, 3]);
        assert_eq!(counts.iter().sum::<u64>(), d.count());
    }

    #[test]
    fn exemplars_point_at_the_trials_that_landed_there() {
        let mut d = Dist::default();
        for trial in 0..1000u64 {
            d.record(100_000 + (trial % 10) * 1000, trial, 0);
        }
        d.record(900_000, 5000, 0);
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
    fn ranks_read_the_histogram_as_value_at_quantile_does() {
        let mut d = Dist::default();
        for v in 0..3000u64 {
            d.record(v * v % 104_729 + 17, v, 0);
        }
        for k in 0..=1000 {
            let q = k as f64 / 1000.0;
            let rank = ((q * 3000.0).ceil() as u64).max(1);
            assert_eq!(
                d.at_rank(rank),
                Quantile::At(d.measured_quantile_us(q).unwrap()),
                "q {q}"
            );
            assert_eq!(d.quantile(q), Some(Quantile::At(d.measured_quantile_us(q).unwrap())));
        }
    }

    #[test]
    fn censored_samples_count_as_beyond_every_measured_one() {
        // 14 measured, 23 that never finished: the median is among the censored, not the median of the 14.
        let mut d = Dist::default();
        for t in 0..14u64 {
            d.record(1_000 + t * 100, t, 0);
        }
        for t in 0..23u64 {
            d.censor(59_000_000 - t * 1000);
        }
        let s = d.summary();
        assert_eq!((s.count, s.censored), (14, 23));
        // Rank 19 of 37: the 5th shortest wait, 58.982 s, read from the bottom of its histogram bucket.
        let Some(Stat::AboveMs(p50)) = s.p50 else {
            panic!("{:?}", s.p50)
        };
        assert!((58_940.0..=58_982.0).contains(&p50), "{p50}");
        assert!(matches!(s.max, Some(Stat::AboveMs(m)) if (58_960.0..=59_000.0).contains(&m)));
        assert_eq!(s.min, Some(Stat::Ms(1.0)));
        assert!(matches!(
            s.p50_ci.unwrap()[0],
            Some(Stat::Ms(_)) | Some(Stat::AboveMs(_))
        ));
        assert!(s.p50_ci.unwrap()[1].is_some_and(Stat::is_censored));
        assert!(matches!(s.mean, Some(Stat::AboveMs(m)) if m > 36_000.0));
        // p10 (rank 4 of 37) is still measured.
        assert_eq!(d.quantile(0.1), Some(Quantile::At(1_300)));
        assert_eq!(
            serde_json::to_value(s).unwrap()["p50"],
            serde_json::json!({ "censored_above_ms": p50 })
        );
        assert_eq!(Stat::AboveMs(58_978.0).short(), ">58.9s");
        // The CDF is a fraction of all 40 trials: it ends at 14/40.
        assert_eq!(d.cdf_points(40).last().unwrap().1, 14.0 / 40.0);
        assert_eq!(d.cdf_points(0).last().unwrap().1, 14.0 / 37.0);
    }

    #[test]
    fn a_short_censored_wait_censors_only_what_it_could_change() {
        // A fault late in a trial left a window open only 4 s: the measured values below 4 s stand, those above
        // might be overtaken by it, so they read as lower bounds; the long waits stay long.
        let mut d = Dist::default();
        for t in 0..10u64 {
            d.record((t + 1) * 1_000_000, t, 0);
        }
        d.censor(4_500_000);
        for _ in 0..10 {
            d.censor(58_000_000);
        }
        let Some(Quantile::At(p10)) = d.quantile(0.1) else {
            panic!("rank 3: no censored wait before it")
        };
        assert!((3_000_000..=3_003_000).contains(&p10), "{p10}");
        let Some(Quantile::Above(p25)) = d.quantile(0.25) else {
            panic!()
        };
        assert!(
            (4_990_000..=5_000_000).contains(&p25),
            "rank 6: the 5th measured, after the 4.5 s wait"
        );
        let Some(Quantile::Above(p75)) = d.quantile(0.75) else {
            panic!()
        };
        assert!((57_900_000..=58_000_000).contains(&p75), "rank 16: a 58 s wait");
    }

    #[test]
    fn order_statistic_ranks_match_the_exact_binomial() {
        // Computed with exact integer binomial coefficients.
        assert_eq!(order_statistic_ranks(100, 0.5, 0.95), (40, 61));
        assert_eq!(order_statistic_ranks(1000, 0.5, 0.95), (469, 532));
        assert_eq!(order_statistic_ranks(1000, 0.99, 0.95), (983, 997));
        assert_eq!(
            order_statistic_ranks(40, 0.99, 0.95),
            (38, 41),
            "no upper bound with 40 samples"
        );
        assert_eq!(order_statistic_ranks(40, 0.5, 0.95), (14, 27));
        assert_eq!(order_statistic_ranks(3, 0.5, 0.95), (0, 4), "too few for either side");
        // Large n: the normal approximation's ranks, n q -+ 1.96 sqrt(n q (1 - q)), within one.
        let (l, u) = order_statistic_ranks(10_000_000, 0.99, 0.95);
        let half = 1.96 * (1e7f64 * 0.99 * 0.01).sqrt();
        assert!((l as f64 - (9_900_000.0 - half)).abs() < 2.0, "{l}");
        assert!((u as f64 - (9_900_000.0 + half + 1.0)).abs() < 2.0, "{u}");
    }

    /// The 95 % intervals of p50 and p99 contain the true quantile in about 95 % of repetitions (the intervals
    /// are conservative: at least 95 % for exact ranks; the histogram's 3 digits hardly move that).
    #[test]
    fn intervals_cover_the_true_quantile_95_percent_of_the_time() {
        const REPS: u64 = 1000;
        const N: u64 = 1000;
        let mut rng = sim_core::rng::named(7, "coverage", 0);
        // (distribution, q, its true quantile in microseconds)
        let uniform = |u: f64| 100_000.0 + u * 200_000.0;
        let exponential = |u: f64| -(1.0 - u).ln() * 150_000.0;
        let cases = [
            ("uniform", 0.5, 200_000.0),
            ("uniform", 0.99, 298_000.0),
            ("exponential", 0.5, 150_000.0 * 2f64.ln()),
            ("exponential", 0.99, 150_000.0 * 100f64.ln()),
        ];
        let mut covered = [0u64; 4];
        for _ in 0..REPS {
            let mut ds: [Dist; 2] = Default::default();
            for t in 0..N {
                let u = sim_core::rng::unit_f64(&mut rng);
                ds[0].record(uniform(u).round() as u64, t, 0);
                ds[1].record(exponential(u).round() as u64, t, 0);
            }
            for (k, &(name, q, truth)) in cases.iter().enumerate() {
                let d = &ds[usize::from(name == "exponential")];
                let Some([Some(Quantile::At(lo)), Some(Quantile::At(hi))]) = d.interval(q) else {
                    panic!("{name} q{q}: 1000 samples bound both sides");
                };
                if lo as f64 <= truth && truth <= hi as f64 {
                    covered[k] += 1;
                }
            }
        }
        for (k, &(name, q, _)) in cases.iter().enumerate() {
            let rate = covered[k] as f64 / REPS as f64;
            eprintln!("{name} p{}: covered {rate:.3}", q * 100.0);
            assert!((0.92..=0.98).contains(&rate), "{name} q{q}: coverage {rate}");
        }
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

    #[test]
    fn poisson_interval_matches_tables() {
        // Garwood's exact 95 % limits (e.g. Ulm 1990, Table 1): k=1: 0.0253-5.572; k=10: 4.795-18.39.
        let (l, u) = poisson_interval(0);
        assert!(l == 0.0 && (u - 2.9957).abs() < 1e-4, "{u}");
        let (l, u) = poisson_interval(1);
        assert!((l - 0.0253).abs() < 1e-3 && (u - 5.572).abs() < 1e-3, "{l} {u}");
        let (l, u) = poisson_interval(10);
        assert!((l - 4.795).abs() < 1e-3 && (u - 18.39).abs() < 1e-2, "{l} {u}");
    }
}
