//! Report files: functions from results to bytes, and an atomic writer for the report folder.

use crate::metric::Metric;
use crate::scenario::Scenario;
use crate::stats::{Aggregate, Dist};
use crate::trial::{TrialResult, message_names};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Version tag of `summary.json`'s layout.
pub const SUMMARY_SCHEMA: &str = "raftsim.summary.v1";

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

/// Histogram bins: at most `target` equal bins of a "nice" width (1, 2 or 5 times a power of ten microseconds)
/// from the bin holding the smallest sample to past the largest. Returns edges in microseconds.
pub fn bin_edges_us(dist: &Dist, target: u64) -> Vec<u64> {
    let (Some(min), Some(max)) = (dist.quantile_us(0.0), dist.max_us()) else {
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

/// `summary.json`: simulated results only, so it is byte-identical for the same scenario and seed.
pub fn summary_json(s: &Scenario, agg: &Aggregate, partial: bool) -> Value {
    let per_trial = |x: u64| {
        if agg.trials == 0 {
            0.0
        } else {
            x as f64 / agg.trials as f64
        }
    };
    let mut messages = serde_json::Map::new();
    for (k, name) in message_names().iter().enumerate() {
        messages.insert(name.to_string(), json!(per_trial(agg.messages[k])));
    }
    messages.insert("total".into(), json!(per_trial(agg.messages.iter().sum())));
    let mut summary = json!({
        "schema": SUMMARY_SCHEMA,
        "scenario": s.name,
        "seed": s.seed,
        "trials": agg.trials,
        "trials_requested": s.trials,
        "partial": partial,
        "converged": agg.converged,
        "not_converged": agg.not_converged,
        "violations": agg.violations,
    });
    let fields = summary.as_object_mut().expect("an object");
    for m in Metric::ALL {
        fields.insert(m.name().into(), json!(agg.dist(m).summary()));
    }
    let Value::Object(rest) = json!({
        "commands": { "submitted": agg.commands.0, "refused_not_leader": agg.commands.1 },
        "rounds": {
            "mean": if agg.rounds_count == 0 { Value::Null } else { json!(agg.rounds_sum as f64 / agg.rounds_count as f64) },
            "max": agg.rounds_max,
        },
        "split_votes": { "total": agg.split_votes, "mean": per_trial(agg.split_votes) },
        "spurious_elections": { "total": agg.spurious_elections, "per_hour": agg.spurious_per_hour() },
        "disruptions": { "total": agg.disruptions, "mean": per_trial(agg.disruptions) },
        "messages": messages,
        "histogram": histogram_json(agg),
        "violation_list": agg.violation_list,
        "not_converged_trials": agg.not_converged_list,
        "config": serde_json::to_value(&s.raw).expect("scenario serializes"),
    }) else {
        unreachable!("json! of a map is an object")
    };
    fields.extend(rest);
    summary
}

/// The metrics of `trials.csv`, in column order.
const TRIAL_METRICS: [Metric; 5] = [
    Metric::FirstLeader,
    Metric::Election,
    Metric::Convergence,
    Metric::Recovery,
    Metric::FailoverCommit,
];

/// The first value of `metric` a trial recorded.
fn first_sample(r: &TrialResult, metric: Metric) -> Option<u64> {
    match metric {
        Metric::FirstLeader => r.first_leader_us,
        Metric::Election => r.election_us.first().copied(),
        Metric::Convergence => r.convergence_us.first().copied(),
        Metric::Recovery => r.recovery_us.first().copied(),
        Metric::Commit => r.commit_us.first().copied(),
        Metric::FailoverCommit => r.failover_commit_us.first().copied(),
    }
}

/// The header of `trials.csv`.
pub fn trials_csv_header() -> String {
    let mut h = String::from("trial,trial_seed,outcome");
    for m in TRIAL_METRICS {
        h.push(',');
        h.push_str(m.name());
    }
    h.push_str(",commands,rounds,split_votes");
    for name in message_names() {
        h.push(',');
        h.push_str(name);
    }
    h.push_str(",spurious_elections,end_ms,events\n");
    h
}

/// One row of `trials.csv`. Trials with several failovers show the first of each measurement.
pub fn trials_csv_row(r: &TrialResult) -> String {
    let mut row = format!("{},{},{}", r.index, r.seed, r.outcome.name());
    for m in TRIAL_METRICS {
        row.push(',');
        row.push_str(&first_sample(r, m).map(fmt_ms).unwrap_or_default());
    }
    let _ = write!(row, ",{},{},{}", r.commands.0, r.rounds, r.split_votes);
    for m in r.messages {
        let _ = write!(row, ",{m}");
    }
    let _ = writeln!(row, ",{},{},{}", r.spurious_elections, fmt_ms(r.end_us), r.events);
    row
}

/// Microseconds as milliseconds with three decimals.
pub fn fmt_ms(us: u64) -> String {
    format!("{}.{:03}", us / 1000, us % 1000)
}

/// A report folder being written. Files go to a hidden temporary folder beside the target, which replaces the
/// target only when [`ReportDir::commit`] is called; a crash mid-write leaves the old report (or none), never a
/// half-written one.
pub struct ReportDir {
    target: PathBuf,
    tmp: tempfile::TempDir,
}

impl ReportDir {
    /// Starts writing the report that will live at `target`.
    pub fn create(target: &Path) -> io::Result<ReportDir> {
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)?;
        let stem = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "report".into());
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{stem}.tmp-"))
            .tempdir_in(&parent)?;
        Ok(ReportDir {
            target: target.to_path_buf(),
            tmp,
        })
    }

    /// Path of a file inside the (temporary) folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Writes a whole file.
    pub fn write(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let mut f = std::fs::File::create(self.path(name))?;
        f.write_all(bytes)?;
        f.sync_all()
    }

    /// Moves the finished folder into place, replacing an older report there.
    pub fn commit(self) -> io::Result<PathBuf> {
        let ReportDir { target, tmp } = self;
        let staged = tmp.keep();
        if target.exists() {
            let parent = staged.parent().unwrap_or(Path::new("."));
            let old = tempfile::Builder::new()
                .prefix(".old-report-")
                .tempdir_in(parent)?
                .keep();
            std::fs::remove_dir(&old)?;
            std::fs::rename(&target, &old)?;
            std::fs::rename(&staged, &target)?;
            std::fs::remove_dir_all(&old)?;
        } else {
            std::fs::rename(&staged, &target)?;
        }
        Ok(target)
    }
}

/// How a configuration draws its timeouts, in words: `election timeout 150ms..300ms, heartbeat 50ms`, or
/// `100ms ticks, election after 10..19 ticks, heartbeat every 1 tick`, plus the options that are on.
pub fn describe_timers(c: &raft_model::Config) -> String {
    use crate::duration::Dur;
    let mut out = match c.ticks {
        Some(t) => format!(
            "{} ticks, election after {}..{} ticks, heartbeat every {} tick{}",
            Dur(t.tick),
            t.election_min,
            t.election_max,
            t.heartbeat,
            if t.heartbeat == 1 { "" } else { "s" }
        ),
        None => format!(
            "election timeout {}..{}, heartbeat {}",
            Dur(c.election_timeout_min),
            Dur(c.election_timeout_max),
            Dur(c.heartbeat_interval)
        ),
    };
    for (on, name) in [
        (c.pre_vote, "pre-vote"),
        (c.check_quorum, "check-quorum"),
        (c.leader_stickiness, "leader stickiness"),
    ] {
        if on {
            out.push_str(", ");
            out.push_str(name);
        }
    }
    if c.candidate_timeout.is_some() {
        out.push_str(", candidate timeout");
    }
    if c.backoff_max_exponent.is_some() {
        out.push_str(", backoff");
    }
    out
}

/// The terminal summary table.
pub fn summary_table(s: &Scenario, agg: &Aggregate) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "scenario {}: {} nodes, {}, {} trials, seed {}",
        s.name,
        s.nodes,
        describe_timers(&s.raft),
        agg.trials,
        s.seed
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<14} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "(ms)", "count", "min", "mean", "p50", "p90", "p99", "p99.9", "max"
    );
    for m in Metric::ALL {
        let d = agg.dist(m);
        if m.is_commit() && d.count() == 0 {
            continue;
        }
        let sm = d.summary();
        let f = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.1}"));
        let _ = writeln!(
            out,
            "{:<14} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            m.label(),
            sm.count,
            f(sm.min),
            f(sm.mean),
            f(sm.p50),
            f(sm.p90),
            f(sm.p99),
            f(sm.p999),
            f(sm.max)
        );
    }
    let _ = writeln!(out);
    let rounds_mean = if agg.rounds_count == 0 {
        0.0
    } else {
        agg.rounds_sum as f64 / agg.rounds_count as f64
    };
    let _ = writeln!(
        out,
        "converged {} of {} trials; {} did not converge within {}; {} violations",
        agg.converged,
        agg.trials,
        agg.not_converged,
        crate::duration::Dur(s.time_limit),
        agg.violations
    );
    let _ = writeln!(
        out,
        "election rounds: mean {:.2}, max {}; split votes: {} in all ({:.3} per trial)",
        rounds_mean,
        agg.rounds_max,
        agg.split_votes,
        if agg.trials == 0 {
            0.0
        } else {
            agg.split_votes as f64 / agg.trials as f64
        }
    );
    let _ = writeln!(
        out,
        "spurious elections (a healthy leader existed): {} in all, {:.2} per hour of simulated time; \
         healthy leaders deposed: {}",
        agg.spurious_elections,
        agg.spurious_per_hour(),
        agg.disruptions
    );
    let per = |x: u64| {
        if agg.trials == 0 {
            0.0
        } else {
            x as f64 / agg.trials as f64
        }
    };
    let names = message_names();
    let _ = writeln!(
        out,
        "messages per trial: {} {:.1}, {} {:.1}, {} {:.1}, {} {:.1}",
        names[0],
        per(agg.messages[0]),
        names[1],
        per(agg.messages[1]),
        names[2],
        per(agg.messages[2]),
        names[3],
        per(agg.messages[3])
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_edges_are_nice_and_cover_the_maximum() {
        let mut d = Dist::default();
        for v in [150_000u64, 180_000, 299_999] {
            d.record(v, v);
        }
        let edges = bin_edges_us(&d, 40);
        let width = edges[1] - edges[0];
        assert_eq!(width, 5_000, "(300 - 150) ms / 40 rounds up to 5 ms");
        assert_eq!(edges[0], 150_000);
        assert!(*edges.last().unwrap() > 299_999);
        assert_eq!(d.bin_counts(&edges).iter().sum::<u64>(), 3);
    }

    #[test]
    fn milliseconds_keep_microseconds() {
        assert_eq!(fmt_ms(150_123), "150.123");
        assert_eq!(fmt_ms(7), "0.007");
    }
}
