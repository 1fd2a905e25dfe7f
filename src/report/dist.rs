//! How a distribution is shown: which one leads, its histogram bins, its exemplar trials and its CDF.

use super::chart::{Line, LineChart};
use crate::metric::Metric;
use crate::stats::{Aggregate, Dist, Exemplar, Quantile};
use crate::study::{Kind, Study, StudyPoint};
use serde_json::{Value, json};

/// The distribution a report is about: failover election time if any point measured a failover, else time to
/// first leader.
pub fn headline(aggs: &[Aggregate]) -> Metric {
    if aggs.iter().any(|a| a.election.count() > 0) {
        Metric::Election
    } else {
        Metric::FirstLeader
    }
}

/// Bins of the histograms reports draw.
pub const HISTOGRAM_BINS: u64 = 60;

/// The metric a study's charts and tables lead with: its own, else the [`headline`].
pub fn lead_metric(study: &Study, aggs: &[Aggregate]) -> Metric {
    study.metric.unwrap_or_else(|| headline(aggs))
}

/// Histogram bins: at most `target` equal bins of a "nice" width (1, 2 or 5 times a power of ten microseconds)
/// from the bin holding the smallest sample to past the largest. Returns edges in microseconds.
pub fn bin_edges_us(dist: &Dist, target: u64) -> Vec<u64> {
    let (Some(min), Some(max)) = (dist.measured_quantile_us(0.0), dist.max_us()) else {
        return Vec::new();
    };
    let raw = ((max - min) / target.max(1)).max(1);
    let mut width = 1u64;
    'outer: loop {
        for m in [1, 2, 5] {
            if width * m >= raw {
                width *= m;
                break 'outer;
            }
        }
        width *= 10;
    }
    let first = min / width;
    let last = max / width + 1;
    (first..=last).map(|i| i * width).collect()
}

/// The histogram of the headline distribution, as JSON.
pub fn histogram_json(agg: &Aggregate) -> Value {
    let metric = headline(std::slice::from_ref(agg));
    let dist = agg.dist(metric);
    let edges = bin_edges_us(dist, HISTOGRAM_BINS);
    let counts = dist.bin_counts(&edges);
    json!({
        "metric": metric,
        "edges_ms": edges.iter().map(|&e| e as f64 / 1000.0).collect::<Vec<_>>(),
        "counts": counts,
    })
}

/// Exemplars of one distribution: trials behind each percentile, the slowest trials, and (for the headline
/// histogram) a few trials per bin.
pub fn exemplars_json(point: &StudyPoint, d: &Dist, edges_us: &[u64]) -> Value {
    let seed = point.scenario().seed;
    let ex = |list: Vec<Exemplar>| -> Value {
        list.iter()
            .map(|e| {
                json!({
                    "trial": e.trial,
                    "trial_seed": sim_core::rng::trial_seed(seed, e.trial),
                    "value_ms": e.value_us as f64 / 1000.0,
                })
            })
            .collect()
    };
    let mut percentiles = serde_json::Map::new();
    for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999)] {
        if let Some(Quantile::At(v)) = d.quantile(q) {
            percentiles.insert(name.into(), ex(d.exemplars_at(v)));
        }
    }
    let bins: Vec<Value> = edges_us.windows(2).map(|w| ex(d.exemplars_in(w[0], w[1], 3))).collect();
    json!({ "percentiles": percentiles, "slowest": ex(d.slowest()), "histogram_bins": bins })
}

/// What a legend or table says of a point's trials that did not converge: `""`, or
/// ` (59.2% not converged in 60s)`; ` (no sample, ...)` when the metric measured nothing.
pub fn not_converged_note(a: &Aggregate, metric: Metric, limit: std::time::Duration) -> String {
    let none = a.dist(metric).count() == 0;
    match (a.not_converged, none) {
        (0, false) => String::new(),
        (0, true) => " (no sample)".to_string(),
        (nc, none) => format!(
            " ({}{:.1}% not converged in {})",
            if none { "no sample; " } else { "" },
            nc as f64 * 100.0 / a.trials.max(1) as f64,
            crate::duration::Dur(limit)
        ),
    }
}

/// One CDF line per point, as fractions of all the point's trials (of all its samples, if trials measured
/// several): a line with trials that did not converge plateaus at the measured share, drawn on to the right
/// edge; a point that measured nothing is a flat line at 0. Legends give each point's not-converged share.
pub fn cdf_chart(study: &Study, aggs: &[Aggregate], metric: Metric) -> LineChart {
    let mut lines: Vec<Line> = study
        .points
        .iter()
        .zip(aggs)
        .map(|(p, a)| {
            let d = a.dist(metric);
            let pts = d.cdf_points(a.trials);
            // A step function: each value holds its cumulative fraction until the next.
            let mut points = Vec::with_capacity(pts.len() * 2 + 1);
            let mut prev = 0.0;
            for (us, frac) in pts {
                let x = (us as f64 / 1000.0).max(1e-3);
                points.push((x, prev));
                points.push((x, frac));
                prev = frac;
            }
            let name = if study.kind == Kind::Run {
                "all trials".to_string()
            } else {
                p.label.clone()
            };
            Line {
                label: name + &not_converged_note(a, metric, p.scenario().time_limit),
                points,
                ..Line::default()
            }
        })
        .collect();
    let xs = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let (x_min, x_max) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    if x_min.is_finite() {
        for l in &mut lines {
            match l.points.last().copied() {
                // Nothing measured: flat at 0 across the chart, so the point is not silently absent.
                None => l.points = vec![(x_min, 0.0), (x_max, 0.0)],
                // Short of 1: the plateau carries on to the right edge.
                Some((x, y)) if y < 1.0 && x < x_max => l.points.push((x_max, y)),
                Some(_) => {}
            }
        }
    }
    LineChart {
        title: format!("{}: {} (CDF)", study.name, metric.words()),
        x_label: format!("{} (ms, log scale)", metric.words()),
        y_label: "cumulative fraction of trials (of samples, if several per trial)".into(),
        x_log: true,
        y_log: false,
        scatter: false,
        unit_y: true,
        x_zero_at: None,
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_edges_are_nice_and_cover_the_maximum() {
        let mut d = Dist::default();
        for v in [150_000u64, 180_000, 299_999] {
            d.record(v, v, 0);
        }
        let edges = bin_edges_us(&d, 40);
        let width = edges[1] - edges[0];
        assert_eq!(width, 5_000, "(300 - 150) ms / 40 rounds up to 5 ms");
        assert_eq!(edges[0], 150_000);
        assert!(*edges.last().unwrap() > 299_999);
        assert_eq!(d.bin_counts(&edges).iter().sum::<u64>(), 3);
    }
}
