//! Part files: the partial result of one `--shard K/N` run, and their merge into the result a single run
//! would have had.

use super::dir::{OutputError, fresh_file};
use super::trials;
use crate::error::InputError;
use crate::experiment::Layout;
use crate::stats::Aggregate;
use crate::study::Study;
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Version tag of part files.
/// v2: parts drawn with seed derivation 2; a v1 part (other draws) cannot be merged with them.
/// v3: rounds and split votes counted until convergence; adds elections and availability to the aggregates.
/// v4: exemplars carry each sample's place within its trial, so that merged parts keep the samples one run does.
pub const PART_SCHEMA: &str = "raftsim.part.v4";

/// The partial result of one shard.
#[derive(Serialize, Deserialize)]
pub struct Part {
    /// [`PART_SCHEMA`].
    pub schema: String,
    /// Fingerprint of `study`.
    pub fingerprint: String,
    /// This shard, 0-based.
    pub shard: u64,
    /// Number of shards.
    pub shards: u64,
    /// Global trial range this shard ran.
    pub range: (u64, u64),
    /// What ran.
    pub study: Study,
    /// Aggregates per point, over this shard's trials.
    pub aggregates: Vec<Aggregate>,
    /// This shard's `trials.csv` rows (no header), when per-trial rows were asked for.
    pub trials_csv: Option<String>,
    /// Whether the shard was interrupted.
    pub partial: bool,
}

impl Part {
    /// The part of `study` that shard `shard` of `shards` ran: the trials in `range`.
    pub fn new(
        study: Study,
        (shard, shards): (u64, u64),
        range: std::ops::Range<u64>,
        aggregates: Vec<Aggregate>,
        trials_csv: Option<String>,
        partial: bool,
    ) -> Part {
        Part {
            schema: PART_SCHEMA.to_string(),
            fingerprint: study.fingerprint(),
            shard,
            shards,
            range: (range.start, range.end),
            study,
            aggregates,
            trials_csv,
            partial,
        }
    }
}

/// `k/N` from the command line, or `auto` from the job array variables of common schedulers.
pub fn parse_shard(arg: &str) -> Result<(u64, u64), InputError> {
    let usage = "expected K/N with 0 <= K < N (for example 3/10), or auto";
    let text = if arg == "auto" {
        let index = [
            "SLURM_ARRAY_TASK_ID",
            "JOB_COMPLETION_INDEX",
            "AWS_BATCH_JOB_ARRAY_INDEX",
            "PBS_ARRAY_INDEX",
        ]
        .iter()
        .find_map(|v| std::env::var(v).ok())
        .ok_or_else(|| {
            InputError::new(
                "--shard auto: none of SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX, \
                     PBS_ARRAY_INDEX is set"
                    .to_string(),
            )
        })?;
        let count = ["SLURM_ARRAY_TASK_COUNT", "RAFTSIM_SHARDS"]
            .iter()
            .find_map(|v| std::env::var(v).ok())
            .ok_or_else(|| {
                InputError::new(
                    "--shard auto: set RAFTSIM_SHARDS to the number of shards (Slurm sets SLURM_ARRAY_TASK_COUNT)",
                )
            })?;
        format!("{index}/{count}")
    } else {
        arg.to_string()
    };
    let (k, n) = text
        .split_once('/')
        .ok_or_else(|| InputError::new(format!("--shard `{text}`: {usage}")))?;
    let k: u64 = k
        .trim()
        .parse()
        .map_err(|_| InputError::new(format!("--shard `{text}`: {usage}")))?;
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|_| InputError::new(format!("--shard `{text}`: {usage}")))?;
    if n == 0 || k >= n {
        return Err(InputError::new(format!("--shard `{text}`: {usage}")));
    }
    Ok((k, n))
}

/// The file name of shard `k` of `n`.
pub fn part_name(k: u64, n: u64) -> String {
    format!("part-{k:05}-of-{n:05}.json")
}

/// Creates the folder for part files if missing and checks that a file can be created there, before a shard
/// runs its trials.
pub fn prepare_dir(dir: &Path) -> Result<(), OutputError> {
    std::fs::create_dir_all(dir).map_err(|e| OutputError::new("create the folder", dir, e))?;
    let (probe, _) = fresh_file(dir, ".part-probe-").map_err(|e| OutputError::new("create a file in", dir, e))?;
    std::fs::remove_file(&probe).map_err(|e| OutputError::new("remove", &probe, e))
}

/// Writes `part` atomically (a hidden name, then a rename) into `dir`. A failed write leaves nothing behind.
pub fn write_part(dir: &Path, part: &Part) -> Result<PathBuf, OutputError> {
    prepare_dir(dir)?;
    let path = dir.join(part_name(part.shard, part.shards));
    let fail = |e: std::io::Error| OutputError::new("write", &path, e);
    let (staged, file) = fresh_file(dir, ".part-").map_err(|e| OutputError::new("create a file in", dir, e))?;
    crate::interrupt::register(&staged);
    let written = (|| {
        let mut w = std::io::BufWriter::new(&file);
        serde_json::to_writer(&mut w, part).map_err(std::io::Error::from)?;
        w.flush()?;
        drop(w);
        file.sync_all()
    })();
    let moved = written.and_then(|()| crate::interrupt::while_moving(&staged, || std::fs::rename(&staged, &path)));
    if let Err(e) = moved {
        crate::interrupt::unregister(&staged);
        let _ = std::fs::remove_file(&staged);
        return Err(fail(e));
    }
    Ok(path)
}

/// Reads and checks part files (or folders of them) and merges them. A part marked partial (written by an
/// interrupted shard of an older raftsim; today an interrupted shard writes none) is refused.
pub fn merge_parts(inputs: &[PathBuf]) -> Result<(Study, Vec<Aggregate>, Option<String>), InputError> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(|e| InputError::new(format!("cannot read {}: {e}", input.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("part-")))
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    if files.is_empty() {
        return Err(InputError::new("merge: no part files found"));
    }
    let mut parts: Vec<Part> = Vec::with_capacity(files.len());
    for f in &files {
        let text =
            std::fs::read_to_string(f).map_err(|e| InputError::new(format!("cannot read {}: {e}", f.display())))?;
        let part: Part = serde_json::from_str(&text)
            .map_err(|e| InputError::new(format!("{}: not a raftsim part file: {e}", f.display())))?;
        if part.schema != PART_SCHEMA {
            return Err(InputError::new(format!(
                "{}: part schema `{}`, expected {PART_SCHEMA}",
                f.display(),
                part.schema
            )));
        }
        if part.partial {
            let done: u64 = part.aggregates.iter().map(|a| a.trials).sum();
            return Err(InputError::new(format!(
                "{}: a partial part: shard {} of {} was interrupted after {done} of its {} trials. Run that shard \
                 again (--shard {}/{}) and merge then; a merge of partial parts would not be the report one run \
                 writes",
                f.display(),
                part.shard,
                part.shards,
                part.range.1 - part.range.0,
                part.shard,
                part.shards
            )));
        }
        parts.push(part);
    }
    let first = &parts[0];
    let (fingerprint, n) = (first.fingerprint.clone(), first.shards);
    for (p, f) in parts.iter().zip(&files) {
        if p.fingerprint != fingerprint || p.shards != n {
            return Err(InputError::new(format!(
                "{}: comes from a different study or shard count than {} (every part must come from the same \
                 scenario or sweep, with the same --shard N)",
                f.display(),
                files[0].display()
            )));
        }
    }
    parts.sort_by_key(|p| p.shard);
    for k in 0..n {
        let count = parts.iter().filter(|p| p.shard == k).count();
        if count != 1 {
            let what = if count == 0 {
                "is missing"
            } else {
                "appears more than once"
            };
            return Err(InputError::new(format!("merge: shard {k} of {n} {what}")));
        }
    }
    let mut study = parts[0].study.clone();
    study.resolve()?;
    let layout = Layout::new(&study.scenarios());
    for p in &parts {
        let expect = layout.shard(p.shard, n);
        if (p.range.0, p.range.1) != (expect.start, expect.end) {
            return Err(InputError::new(format!(
                "merge: shard {} covers the wrong trials",
                p.shard
            )));
        }
    }
    let mut aggs = vec![Aggregate::default(); study.points.len()];
    let mut csv = if parts.iter().all(|p| p.trials_csv.is_some()) {
        Some(trials::csv_header(study.kind))
    } else {
        None
    };
    for p in &parts {
        for (a, b) in aggs.iter_mut().zip(&p.aggregates) {
            a.merge(b);
        }
        if let (Some(c), Some(rows)) = (csv.as_mut(), p.trials_csv.as_ref()) {
            c.push_str(rows);
        }
    }
    Ok((study, aggs, csv))
}
