//! The report folder: written in a hidden staging folder beside the target, moved into place only when complete.
//! Every file goes through [`ReportDir`], so a failed write names the file and what was being done, and the
//! staging folder is removed (or, when a finished report cannot be moved into place, named).

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// A file-system operation for a report that failed: what was being done, on which path, and why.
#[derive(Debug)]
pub struct OutputError {
    /// What was being done, as a verb phrase: `write`, `create the folder`.
    pub doing: String,
    /// The path, as the user will know it (the report's own path, not the staging folder's).
    pub path: PathBuf,
    /// The system's reason.
    pub source: io::Error,
}

impl OutputError {
    /// The error of doing `doing` on `path`.
    pub fn new(doing: impl Into<String>, path: impl Into<PathBuf>, source: io::Error) -> Self {
        OutputError {
            doing: doing.into(),
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot {} {}: {}", self.doing, self.path.display(), self.source)
    }
}

// No `source()`: the message already ends with the system's reason, and error chains would repeat it.
impl std::error::Error for OutputError {}

/// Creates a new, empty folder in `parent` named `<prefix><pid>-<n>` for the first free `n`, with the system's
/// own error when that is impossible (read-only, no permission, full).
pub fn fresh_dir(parent: &Path, prefix: &str) -> io::Result<PathBuf> {
    let pid = std::process::id();
    for n in 0u32.. {
        let path = parent.join(format!("{prefix}{pid}-{n}"));
        match std::fs::create_dir(&path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 10_000 => continue,
            other => return other.map(|()| path),
        }
    }
    unreachable!("the loop returns")
}

/// Creates a new, empty file in `dir` named `<prefix><pid>-<n>` for the first free `n`.
pub fn fresh_file(dir: &Path, prefix: &str) -> io::Result<(PathBuf, std::fs::File)> {
    let pid = std::process::id();
    for n in 0u32.. {
        let path = dir.join(format!("{prefix}{pid}-{n}"));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 10_000 => continue,
            other => return other.map(|f| (path, f)),
        }
    }
    unreachable!("the loop returns")
}

/// The error a full disk gives.
fn disk_full() -> io::Error {
    #[cfg(unix)]
    {
        // ENOSPC on every Unix raftsim builds for.
        io::Error::from_raw_os_error(28)
    }
    #[cfg(not(unix))]
    {
        io::Error::from(io::ErrorKind::StorageFull)
    }
}

/// The folder a report folder at `target` is staged in: its parent (created if missing), or `.`.
fn parent_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Refuses a target that can never be replaced by a finished folder: the current folder or one of its parents
/// (`--out .`), a mount point, a file. Checked before anything runs, so such a run does not end with a complete
/// report stranded in its staging folder.
fn check_target(target: &Path) -> Result<(), String> {
    let meta = match std::fs::symlink_metadata(target) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot inspect it: {e}")),
    };
    if !meta.is_dir() {
        return if meta.file_type().is_symlink() {
            Err("it is a symbolic link; name the folder itself, or a new one".into())
        } else {
            Err("it is a file, not a folder".into())
        };
    }
    let full = target.canonicalize().map_err(|e| format!("cannot resolve it: {e}"))?;
    if let Ok(here) = std::env::current_dir()
        && here.starts_with(&full)
    {
        return Err(
            "it is the current folder or one of its parents, and a report folder is replaced as a whole when \
             complete; name a new folder inside it, such as ./report"
                .into(),
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let up = std::fs::metadata(full.join("..")).map_err(|e| format!("cannot inspect its parent: {e}"))?;
        if full.parent().is_none() || up.dev() != meta.dev() {
            return Err(format!(
                "it is a mount point, which a finished report folder cannot replace; name a folder inside it, \
                 such as {}",
                target.join("report").display()
            ));
        }
    }
    Ok(())
}

/// A report folder being written. Files go to a hidden staging folder beside the target, which replaces the
/// target only when [`ReportDir::commit`] is called; a failure, or a crash mid-write, leaves the old report (or
/// none), never a half-written one. The staging folder is created first, before anything is simulated, so an
/// unwritable place is found at once.
pub struct ReportDir {
    target: PathBuf,
    /// The staging folder; `None` once committed or abandoned.
    staging: Option<PathBuf>,
    /// Bytes that may still be written before writes fail as on a full disk (tests only); `None`: no limit.
    space: Option<Arc<AtomicU64>>,
}

impl ReportDir {
    /// Starts writing the report that will live at `target`: checks that it can be replaced, creates its
    /// parent folder if missing, and creates the staging folder there.
    pub fn create(target: &Path) -> anyhow::Result<ReportDir> {
        check_target(target).map_err(|why| anyhow::anyhow!("cannot write a report to {}: {why}", target.display()))?;
        let parent = parent_of(target);
        std::fs::create_dir_all(&parent).map_err(|e| OutputError::new("create the folder", &parent, e))?;
        let stem = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "report".into());
        let staging = fresh_dir(&parent, &format!(".{stem}.tmp-"))
            .map_err(|e| OutputError::new("create a folder in", &parent, e))?;
        crate::interrupt::register(&staging);
        Ok(ReportDir {
            target: target.to_path_buf(),
            staging: Some(staging),
            space: None,
        })
    }

    /// Lets only `bytes` more bytes be written; after that every write fails as on a full disk ("No space left
    /// on device"). For tests of what a failed write leaves behind.
    pub fn with_space(mut self, bytes: u64) -> ReportDir {
        self.space = Some(Arc::new(AtomicU64::new(bytes)));
        self
    }

    /// The folder the report will live in.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The staging folder the files are written to until [`commit`](Self::commit).
    pub fn staging(&self) -> &Path {
        self.staging
            .as_deref()
            .expect("a report being written has its staging folder")
    }

    /// The path of file `name` as the user will know it, for messages.
    fn shown(&self, name: &str) -> PathBuf {
        self.target.join(name)
    }

    /// Writes all of `bytes` to `f`, or as much as the space left allows and then fails as a full disk would.
    fn put(space: &Option<Arc<AtomicU64>>, f: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
        if let Some(space) = space {
            let left = space.load(Ordering::SeqCst);
            let n = (bytes.len() as u64).min(left);
            space.fetch_sub(n, Ordering::SeqCst);
            f.write_all(&bytes[..n as usize])?;
            if n < bytes.len() as u64 {
                return Err(disk_full());
            }
            return Ok(());
        }
        f.write_all(bytes)
    }

    /// Writes a whole file.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), OutputError> {
        let fail = |e| OutputError::new("write", self.shown(name), e);
        let mut f = std::fs::File::create(self.staging().join(name)).map_err(fail)?;
        Self::put(&self.space, &mut f, bytes).map_err(fail)?;
        f.sync_all().map_err(fail)
    }

    /// Appends to a file (creating it), for files written a piece at a time.
    pub fn append(&self, name: &str, bytes: &[u8]) -> Result<(), OutputError> {
        let fail = |e| OutputError::new("write", self.shown(name), e);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.staging().join(name))
            .map_err(fail)?;
        Self::put(&self.space, &mut f, bytes).map_err(fail)
    }

    /// Writes file `name` as `head` followed by the files `parts` (which were written with
    /// [`append`](Self::append); a missing one counts as empty), then removes the parts.
    pub fn concat(&self, name: &str, head: &[u8], parts: &[String]) -> Result<(), OutputError> {
        let fail = |e| OutputError::new("write", self.shown(name), e);
        let mut f = io::BufWriter::new(std::fs::File::create(self.staging().join(name)).map_err(fail)?);
        Self::put(&self.space, &mut f, head).map_err(fail)?;
        let mut buf = vec![0u8; 1 << 16];
        for part in parts {
            let path = self.staging().join(part);
            let mut src = match std::fs::File::open(&path) {
                Ok(src) => src,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(OutputError::new("read", self.shown(part), e)),
            };
            loop {
                let n = src
                    .read(&mut buf)
                    .map_err(|e| OutputError::new("read", self.shown(part), e))?;
                if n == 0 {
                    break;
                }
                Self::put(&self.space, &mut f, &buf[..n]).map_err(fail)?;
            }
            std::fs::remove_file(&path).map_err(|e| OutputError::new("remove", self.shown(part), e))?;
        }
        let f = f.into_inner().map_err(|e| fail(e.into_error()))?;
        f.sync_all().map_err(fail)
    }

    /// Opens file `name` for writing a piece at a time (buffered; see [`ReportFile`]).
    pub fn create_file(&self, name: &str) -> Result<ReportFile, OutputError> {
        let shown = self.shown(name);
        let f = std::fs::File::create(self.staging().join(name)).map_err(|e| OutputError::new("write", &shown, e))?;
        Ok(ReportFile {
            w: io::BufWriter::new(f),
            shown,
            space: self.space.clone(),
        })
    }

    /// Runs `fill` to write the report's files, then moves the folder into place. If `fill` fails, the staging
    /// folder is removed and, when the failure was the file system's, the error says so.
    pub fn fill<T>(self, fill: impl FnOnce(&ReportDir) -> anyhow::Result<T>) -> anyhow::Result<(PathBuf, T)> {
        match fill(&self) {
            Ok(v) => Ok((self.commit()?, v)),
            Err(e) => Err(self.abandon(e)),
        }
    }

    /// Removes the staging folder after `e`, and says so in the error when `e` is a file-system error (other
    /// errors already say that nothing was written).
    pub fn abandon(mut self, e: anyhow::Error) -> anyhow::Error {
        let Some(staging) = self.staging.take() else { return e };
        crate::interrupt::unregister(&staging);
        let output = e.downcast_ref::<OutputError>().is_some();
        match std::fs::remove_dir_all(&staging) {
            Ok(()) if output => anyhow::anyhow!(
                "{e:#}\n  nothing was written: the unfinished report ({}) was removed",
                staging.display()
            ),
            Ok(()) => e,
            Err(r) => anyhow::anyhow!(
                "{e:#}\n  the unfinished report {} could not be removed ({r}); delete it by hand",
                staging.display()
            ),
        }
    }

    /// Moves the finished folder into place, replacing an older report there. If that fails, the old report is
    /// put back and the error names where the finished report was left.
    pub fn commit(mut self) -> anyhow::Result<PathBuf> {
        let staged = self.staging.take().expect("committed once");
        let target = self.target.clone();
        crate::interrupt::while_moving(&staged, || move_into_place(&staged, &target))?;
        Ok(target)
    }
}

/// Renames `staged` to `target`, first moving an old `target` aside (and removing it once replaced).
fn move_into_place(staged: &Path, target: &Path) -> anyhow::Result<()> {
    let stranded = |what: String| {
        anyhow::anyhow!(
            "{what}; the finished report is complete in {}: move it where you want it",
            staged.display()
        )
    };
    if std::fs::symlink_metadata(target).is_err() {
        return std::fs::rename(staged, target)
            .map_err(|e| stranded(format!("cannot move the report into {}: {e}", target.display())));
    }
    let parent = parent_of(target);
    let old = fresh_dir(&parent, ".old-report-")
        .map_err(|e| stranded(format!("cannot create a folder in {}: {e}", parent.display())))?;
    std::fs::remove_dir(&old).map_err(|e| stranded(format!("cannot remove {}: {e}", old.display())))?;
    std::fs::rename(target, &old).map_err(|e| {
        stranded(format!(
            "cannot move the old report {} aside to replace it: {e}",
            target.display()
        ))
    })?;
    if let Err(e) = std::fs::rename(staged, target) {
        let back = match std::fs::rename(&old, target) {
            Ok(()) => "the old report is back in place".to_string(),
            Err(b) => format!("the old report is in {} ({b})", old.display()),
        };
        return Err(stranded(format!(
            "cannot move the report into {}: {e}; {back}",
            target.display()
        )));
    }
    if let Err(e) = std::fs::remove_dir_all(&old) {
        eprintln!(
            "warning: the report replaced an older one, which could not be removed from {} ({e}); delete it by hand",
            old.display()
        );
    }
    Ok(())
}

impl Drop for ReportDir {
    fn drop(&mut self) {
        if let Some(staging) = self.staging.take() {
            crate::interrupt::unregister(&staging);
            let _ = std::fs::remove_dir_all(&staging);
        }
    }
}

/// A file of a report written a piece at a time; errors name the file.
pub struct ReportFile {
    w: io::BufWriter<std::fs::File>,
    shown: PathBuf,
    space: Option<Arc<AtomicU64>>,
}

impl ReportFile {
    /// Appends `bytes`.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), OutputError> {
        ReportDir::put(&self.space, &mut self.w, bytes).map_err(|e| OutputError::new("write", &self.shown, e))
    }

    /// Writes what is buffered and makes it durable.
    pub fn finish(self) -> Result<(), OutputError> {
        let shown = self.shown;
        let f = self
            .w
            .into_inner()
            .map_err(|e| OutputError::new("write", &shown, e.into_error()))?;
        f.sync_all().map_err(|e| OutputError::new("write", &shown, e))
    }
}
