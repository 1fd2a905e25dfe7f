//! The report folder: written in a hidden temporary folder, moved into place only when complete.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Files raftsim writes into a report folder (charts are any `.svg` or `.png`).
const REPORT_FILES: [&str; 11] = [
    "summary.json",
    "tune.json",
    "scenario.yaml",
    "run.json",
    "trials.csv",
    "report.html",
    "sweep.json",
    "sweep.csv",
    "trace.txt",
    "trace.jsonl",
    "diagram.svg",
];

/// Whether `--force` may replace what is at `target`: nothing, an empty folder, or a folder that holds a raftsim
/// report (a run, sweep or merge report with its `run.json`, a tune report with its `tune.json`, or a replay's trace) and nothing else. Anything
/// else (a regular file, a folder with files raftsim did not write, the current folder or one of its parents,
/// the home folder) is refused with the reason, so `--force` never deletes a user's own data.
pub fn check_replaceable(target: &Path) -> Result<(), String> {
    let meta = match std::fs::symlink_metadata(target) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot inspect it: {e}")),
    };
    if !meta.is_dir() {
        return Err("it is not a folder (a file or a link is never replaced)".into());
    }
    if let Ok(here) = std::env::current_dir()
        && let Ok(full) = target.canonicalize()
    {
        if here.starts_with(&full) {
            return Err("it is the current folder or one of its parents".into());
        }
        if std::env::var_os("HOME").is_some_and(|h| Path::new(&h) == full) {
            return Err("it is the home folder".into());
        }
    }
    let entries: Vec<std::fs::DirEntry> = std::fs::read_dir(target)
        .and_then(|d| d.collect())
        .map_err(|e| format!("cannot list it: {e}"))?;
    if entries.is_empty() {
        return Ok(());
    }
    let mut foreign = Vec::new();
    let mut marker = false;
    for e in &entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let is_file = e.file_type().is_ok_and(|t| t.is_file());
        let known = REPORT_FILES.contains(&name.as_str()) || name.ends_with(".svg") || name.ends_with(".png");
        if !is_file || !known {
            foreign.push(name);
            continue;
        }
        marker |= match name.as_str() {
            "run.json" | "tune.json" => std::fs::read_to_string(e.path())
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .is_some_and(|v| v.get("raftsim_version").is_some()),
            "trace.jsonl" => true,
            _ => false,
        };
    }
    if !foreign.is_empty() {
        foreign.sort();
        let shown: Vec<String> = foreign.iter().take(5).map(|f| format!("`{f}`")).collect();
        let more = if foreign.len() > 5 {
            format!(" and {} more", foreign.len() - 5)
        } else {
            String::new()
        };
        return Err(format!(
            "it holds {}{more}, which raftsim did not write",
            shown.join(", ")
        ));
    }
    if !marker {
        return Err("it holds no raftsim report (no run.json, tune.json or trace.jsonl of raftsim's)".into());
    }
    Ok(())
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
