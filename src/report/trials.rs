//! `trials.csv`: one row per trial, in trial order (a sweep adds the point's index in front).

use crate::metric::Metric;
use crate::study::Kind;
use crate::trial::{TrialResult, message_names};
use std::fmt::Write as _;

/// Whether `trials.csv` is written when the user did not say: yes up to this many trials in all.
pub const TRIALS_CSV_DEFAULT_LIMIT: u64 = 100_000;

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

/// The header of `trials.csv` for a study (sweeps add a `point` column).
pub fn csv_header(kind: Kind) -> String {
    match kind {
        Kind::Run => trials_csv_header(),
        Kind::Sweep => format!("point,{}", trials_csv_header()),
    }
}

/// One `trials.csv` row.
pub fn csv_row(kind: Kind, point: usize, r: &TrialResult) -> String {
    match kind {
        Kind::Run => trials_csv_row(r),
        Kind::Sweep => format!("{point},{}", trials_csv_row(r)),
    }
}

/// Microseconds as milliseconds with three decimals.
pub fn fmt_ms(us: u64) -> String {
    format!("{}.{:03}", us / 1000, us % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_keep_microseconds() {
        assert_eq!(fmt_ms(150_123), "150.123");
        assert_eq!(fmt_ms(7), "0.007");
    }
}
