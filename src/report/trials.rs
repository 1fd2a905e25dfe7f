//! `trials.csv`: one row per trial, in trial order (a sweep adds the point's index in front).

use super::dir::{OutputError, ReportDir};
use crate::metric::Metric;
use crate::study::Kind;
use crate::trial::{TrialResult, message_names};

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
    let mut row = String::with_capacity(128);
    push_trials_csv_row(&mut row, r);
    row
}

/// Appends [`trials_csv_row`] to `out`. A report of a million trials writes a million rows on the thread that
/// gathers results, so this formats numbers straight into the buffer (`itoa`), with nothing allocated per field.
pub fn push_trials_csv_row(out: &mut String, r: &TrialResult) {
    let mut num = itoa::Buffer::new();
    let mut int = |out: &mut String, n: u64| out.push_str(num.format(n));
    int(out, r.index);
    out.push(',');
    int(out, r.seed);
    out.push(',');
    out.push_str(r.outcome.name());
    for m in TRIAL_METRICS {
        out.push(',');
        if let Some(us) = first_sample(r, m) {
            push_ms(out, us);
        }
    }
    for n in [r.commands.0, u64::from(r.rounds), u64::from(r.split_votes)]
        .into_iter()
        .chain(r.messages)
    {
        out.push(',');
        int(out, n);
    }
    out.push(',');
    int(out, u64::from(r.spurious_elections));
    out.push(',');
    push_ms(out, r.end_us);
    out.push(',');
    int(out, r.events);
    out.push('\n');
}

/// The header of `trials.csv` for a study (sweeps add a `point` column).
pub fn csv_header(kind: Kind) -> String {
    match kind {
        Kind::Run => trials_csv_header(),
        Kind::Sweep => format!("point,{}", trials_csv_header()),
    }
}

/// Appends one `trials.csv` row to `out`.
pub fn push_csv_row(out: &mut String, kind: Kind, point: usize, r: &TrialResult) {
    if kind == Kind::Sweep {
        out.push_str(itoa::Buffer::new().format(point));
        out.push(',');
    }
    push_trials_csv_row(out, r);
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
    /// One point: the file itself, and the buffer each row is formatted in.
    File(super::dir::ReportFile, String),
    /// Several points: rows not yet appended to each point's file, and their total size.
    Points(Vec<String>, usize),
}

impl<'d> TrialsCsv<'d> {
    /// Starts `trials.csv` of a study of `points` points in `dir`.
    pub fn create(dir: &'d ReportDir, kind: Kind, points: usize) -> Result<Self, OutputError> {
        let sink = if kind == Kind::Run {
            let mut f = dir.create_file("trials.csv")?;
            f.write(csv_header(kind).as_bytes())?;
            CsvSink::File(f, String::with_capacity(256))
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
        match &mut self.sink {
            CsvSink::File(f, row) => {
                row.clear();
                push_csv_row(row, self.kind, point, r);
                f.write(row.as_bytes())
            }
            CsvSink::Points(rows, size) => {
                let before = rows[point].len();
                push_csv_row(&mut rows[point], self.kind, point, r);
                *size += rows[point].len() - before;
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
            CsvSink::File(f, _) => f.finish(),
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
        push_csv_row(&mut self.rows[point], self.kind, point, r);
    }

    /// Every row, without the header.
    pub fn into_text(self) -> String {
        self.rows.concat()
    }
}

/// Appends microseconds as milliseconds with three decimals.
fn push_ms(out: &mut String, us: u64) {
    out.push_str(itoa::Buffer::new().format(us / 1000));
    let frac = us % 1000;
    out.push('.');
    for digit in [frac / 100, frac / 10 % 10, frac % 10] {
        out.push(char::from(b'0' + digit as u8));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt_ms(us: u64) -> String {
        let mut s = String::new();
        push_ms(&mut s, us);
        s
    }

    #[test]
    fn milliseconds_keep_microseconds() {
        assert_eq!(fmt_ms(150_123), "150.123");
        assert_eq!(fmt_ms(7), "0.007");
        assert_eq!(fmt_ms(1_000), "1.000");
        assert_eq!(fmt_ms(u64::MAX), "18446744073709551.615");
    }
}
