//! Reports: functions from results to bytes, and the report folder they are written into.
//!
//! One file per job, each using only the ones listed before it:
//! [`dir`] (the atomic folder), [`chart`] (drawing), [`figure`] (a chart as SVG and PNG files), [`trials`]
//! (`trials.csv`), [`dist`] (how a distribution is shown), [`html`] (the pages), [`run`] (a run's files),
//! [`sweep`] (a sweep's files), [`part`] (shard part files and their merge), [`replay`] (one trial's files), [`tune`] (a tune report);
//! this module writes a whole study's folder, `run.json` included.

pub mod chart;
pub mod dir;
pub mod dist;
pub mod figure;
pub mod html;
pub mod part;
pub mod replay;
pub mod run;
pub mod sweep;
pub mod trials;
pub mod tune;

pub use dir::ReportDir;

use crate::experiment::RunOutput;
use crate::stats::Aggregate;
use crate::study::{Kind, Study};
use serde_json::{Value, json};
use std::path::PathBuf;

/// Where the results of a report came from, as `run.json` records it.
pub enum Provenance<'a> {
    /// This process ran the trials.
    Ran(&'a RunOutput),
    /// `raftsim merge` combined these part files (or folders of them).
    Merged(&'a [PathBuf]),
}

/// Writes the files of a finished (or merged) study into `dir`: `run.json`, then the study's own files.
/// `trials_csv` says whether the caller wrote `trials.csv` there. Returns the file names, `run.json` first and
/// the report page last.
pub fn write_report(
    study: &Study,
    aggs: &[Aggregate],
    partial: bool,
    trials_csv: bool,
    provenance: Provenance<'_>,
    dir: &ReportDir,
) -> anyhow::Result<Vec<String>> {
    let mut files = vec!["run.json".to_string()];
    match study.kind {
        Kind::Run => run::write(study, &aggs[0], partial, dir, &mut files)?,
        Kind::Sweep => sweep::write(study, aggs, partial, dir, &mut files)?,
    }
    if trials_csv {
        files.insert(files.len() - 1, "trials.csv".to_string());
    }
    let run = run_json(study, aggs, &provenance);
    dir.write("run.json", (serde_json::to_string_pretty(&run)? + "\n").as_bytes())?;
    Ok(files)
}

/// The variant (see [`Study::variant`]) of the raftsim report in `dir`, from its `run.json`; `None` when there is
/// none, or it was written before reports recorded their variant.
pub fn variant_in(dir: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("run.json")).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v.get("raftsim_version")?;
    v.get("variant")?.as_str().map(str::to_string)
}

/// `run.json`: how the results came about (version, and the speed of a run or the parts of a merge). Unlike
/// the other files it differs between runs of the same scenario.
fn run_json(study: &Study, aggs: &[Aggregate], provenance: &Provenance<'_>) -> Value {
    match provenance {
        Provenance::Ran(out) => json!({
            "name": study.name,
            "kind": study.kind,
            "raftsim_version": env!("CARGO_PKG_VERSION"),
            "variant": study.variant(),
            "overrides": study.overrides,
            "points": study.points.len(),
            "threads": out.threads,
            "trials": out.trials(),
            "interrupted": out.interrupted,
            "wall_seconds": out.wall.as_secs_f64(),
            "events": out.events(),
            "events_per_second": out.events() as f64 / out.wall.as_secs_f64().max(1e-9),
            "trials_per_second": out.trials() as f64 / out.wall.as_secs_f64().max(1e-9),
            "virtual_seconds": out.aggregates.iter().map(|a| a.virtual_us).sum::<u128>() as f64 / 1e6,
        }),
        Provenance::Merged(parts) => json!({
            "name": study.name,
            "kind": study.kind,
            "raftsim_version": env!("CARGO_PKG_VERSION"),
            "variant": study.variant(),
            "overrides": study.overrides,
            "merged_parts": parts.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "trials": aggs.iter().map(|a| a.trials).sum::<u64>(),
            "events": aggs.iter().map(|a| a.events).sum::<u64>(),
        }),
    }
}
