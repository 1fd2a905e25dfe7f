//! Ctrl-C (SIGINT), SIGTERM and SIGHUP, as a terminal, Slurm or Kubernetes sends them.
//!
//! The first signal is acknowledged at once and sets a flag. Trials look at it every few thousand events and a
//! trial stopped that way is discarded, so a run reports exactly the trials that finished: the flag decides
//! only *whether* to go on, never what a trial computes. A second signal stops the process at once, first
//! removing any unfinished report folder or part file it registered here; a finished report being moved into
//! place (a rename or two) is let finish, so neither a half-moved report nor a stray staging folder is left.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, Once};

/// What the process is doing when a signal comes, which decides what the first signal says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Running trials (or about to): the first signal stops them and a partial report is written.
    Simulating,
    /// Running the trials of a `--shard`: the first signal stops them, and no part file is written.
    SimulatingShard,
    /// Every trial has run; the report is being written, and is complete.
    Writing,
}

struct State {
    phase: Phase,
    signals: u32,
    /// Unfinished report folders and part files: removed before the process stops on a second signal.
    staging: Vec<PathBuf>,
}

static STOP: AtomicBool = AtomicBool::new(false);
static STATE: Mutex<State> = Mutex::new(State {
    phase: Phase::Simulating,
    signals: 0,
    staging: Vec::new(),
});

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The flag the first signal sets. Runs started by the command line stop when it is set.
pub fn stop_flag() -> &'static AtomicBool {
    &STOP
}

/// Whether a signal has asked the process to stop.
pub fn requested() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// Handles SIGINT, SIGTERM and SIGHUP from now on (once per process; later calls do nothing).
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Without a handler the default action (stop at once) stays, which loses only the partial report.
        let _ = ctrlc::set_handler(on_signal);
    });
}

fn on_signal() {
    let mut st = state();
    st.signals += 1;
    if st.signals == 1 {
        STOP.store(true, Ordering::SeqCst);
        let what = match st.phase {
            Phase::Simulating => {
                "stopping the trials in progress; the trials already finished go into a partial report"
            }
            Phase::SimulatingShard => "stopping the trials in progress; no part file will be written",
            Phase::Writing => "every trial has run; finishing the report",
        };
        eprintln!("\ninterrupted: {what} (Ctrl-C again to stop now, without a report)");
        return;
    }
    let mut removed = Vec::new();
    for path in std::mem::take(&mut st.staging) {
        match remove(&path) {
            Ok(()) => removed.push(path.display().to_string()),
            Err(e) => eprintln!(
                "stopped: could not remove the unfinished {} ({e}); delete it by hand",
                path.display()
            ),
        }
    }
    if removed.is_empty() {
        eprintln!("stopped at once: no report written");
    } else {
        eprintln!("stopped at once: no report written (removed {})", removed.join(", "));
    }
    // The lock is still held, so no report is being moved into place meanwhile.
    std::process::exit(130);
}

/// Removes an unfinished folder or file, trying again while files are still being created in it.
fn remove(path: &Path) -> std::io::Result<()> {
    let mut last = Ok(());
    for _ in 0..50 {
        let result = match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => Err(e),
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
            Ok(_) => std::fs::remove_file(path),
        };
        match result {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => last = Err(e),
        }
        std::thread::yield_now();
    }
    last
}

/// Says what the process is doing now.
pub fn set_phase(phase: Phase) {
    state().phase = phase;
}

/// Registers an unfinished report folder or part file, to be removed if the process is stopped at once.
pub fn register(path: &Path) {
    state().staging.push(path.to_path_buf());
}

/// Forgets a path given to [`register`] (it was moved into place, or removed).
pub fn unregister(path: &Path) {
    state().staging.retain(|p| p != path);
}

/// Runs `f` (moving a finished report into place) with signals held off, then forgets `staging`: a second
/// signal meanwhile waits until the move is done.
pub fn while_moving<T>(staging: &Path, f: impl FnOnce() -> T) -> T {
    let mut st = state();
    let out = f();
    st.staging.retain(|p| p != staging);
    out
}
