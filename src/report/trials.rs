//! `trials.csv`: one row per trial, in trial order (a sweep adds the point's index in front).

use super::dir::{OutputError, ReportDir};
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

/// Rows held in memory before they are appended to the points' files.
const BUFFERED_BYTES: usize = 8 << 20;

/// `trials.csv` written while the trials run. A single scenario's rows go straight into the file. A sweep's
/// points run side by side, so each point's rows go to a hidden file of its own in the staging folder (through a
/// bounded buffer), joined in point order by [`TrialsCsv::finish`]: the file is the same as if the points had run
/// one after another.
pub struct TrialsCsv<'d> {
    dir: &'d ReportDir,
    kind: Kind,
    sink: CsvSink,
}

enum CsvSink {
    /// One point: the file itself.
    File(super::dir::ReportFile),
    /// Several points: rows not yet appended to each point's file, and their total size.
    Points(Vec<String>, usize),
}

impl<'d> TrialsCsv<'d> {
    /// Starts `trials.csv` of a study of `points` points in `dir`.
    pub fn create(dir: &'d ReportDir, kind: Kind, points: usize) -> Result<Self, OutputError> {
        let sink = if kind == Kind::Run {
            let mut f = dir.create_file("trials.csv")?;
            f.write(csv_header(kind).as_bytes())?;
            CsvSink::File(f)
        } else {
            // Found unwritable now rather than after the first rows.
            dir.write("trials.csv", b"")?;
            CsvSink::Points(vec![String::new(); points], 0)
        };
        Ok(TrialsCsv { dir, kind, sink })
    }

    fn part_name(point: usize) -> String {
        format!(".trials-{point:05}.csv")
    }

    /// Adds the row of trial `r` of point `point`.
    pub fn row(&mut self, point: usize, r: &TrialResult) -> Result<(), OutputError> {
        let row = csv_row(self.kind, point, r);
        match &mut self.sink {
            CsvSink::File(f) => f.write(row.as_bytes()),
            CsvSink::Points(rows, size) => {
                *size += row.len();
                rows[point].push_str(&row);
                if *size > BUFFERED_BYTES {
                    Self::spill(self.dir, rows)?;
                    *size = 0;
                }
                Ok(())
            }
        }
    }

    fn spill(dir: &ReportDir, rows: &mut [String]) -> Result<(), OutputError> {
        for (p, text) in rows.iter_mut().enumerate() {
            if !text.is_empty() {
                dir.append(&Self::part_name(p), text.as_bytes())?;
                text.clear();
            }
        }
        Ok(())
    }

    /// Writes the file completely.
    pub fn finish(self) -> Result<(), OutputError> {
        match self.sink {
            CsvSink::File(f) => f.finish(),
            CsvSink::Points(mut rows, _) => {
                Self::spill(self.dir, &mut rows)?;
                let parts: Vec<String> = (0..rows.len()).map(Self::part_name).collect();
                self.dir.concat("trials.csv", csv_header(self.kind).as_bytes(), &parts)
            }
        }
    }
}

/// `trials.csv` rows kept in memory (a shard's part file carries them), each point's in trial order and the
/// points in order, whatever order the points ran in.
pub struct CsvRows {
    kind: Kind,
    rows: Vec<String>,
}

impl CsvRows {
    /// Rows of a study of `points` points.
    pub fn new(kind: Kind, points: usize) -> Self {
        CsvRows {
            kind,
            rows: vec![String::new(); points],
        }
    }

    /// Adds the row of trial `r` of point `point`.
    pub fn row(&mut self, point: usize, r: &TrialResult) {
        self.rows[point].push_str(&csv_row(self.kind, point, r));
    }

    /// Every row, without the header.
    pub fn into_text(self) -> String {
        self.rows.concat()
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
