//! The report folder: written in a hidden temporary folder, moved into place only when complete.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

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
