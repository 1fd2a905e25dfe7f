//! The shipped catalogue, built into the binary: every `scenarios/*.yaml` and `scenarios/sweeps/*.yaml` as it was
//! when raftsim was built (see `build.rs`). A command given a name that is not a file (`raftsim run
//! leader-crash`) loads the built-in of that name; a file path always wins.

use crate::error::{InputError, Source};
use std::path::{Component, Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));
}

/// Whether a document is a scenario or a sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `scenarios/<name>.yaml`.
    Scenario,
    /// `scenarios/sweeps/<name>.yaml`.
    Sweep,
}

impl Kind {
    /// `scenario` or `sweep`.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Scenario => "scenario",
            Kind::Sweep => "sweep",
        }
    }

    /// The command that runs this kind of document.
    pub fn command(self) -> &'static str {
        match self {
            Kind::Scenario => "raftsim run",
            Kind::Sweep => "raftsim sweep",
        }
    }
}

/// One built-in document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Scenario or sweep.
    pub kind: Kind,
    /// The name it is run by: its file name without `.yaml`.
    pub name: &'static str,
    /// Its file name in the repository (`leader-crash.yaml`).
    pub file: &'static str,
    /// The YAML text.
    pub text: &'static str,
}

impl Entry {
    /// Its path in the repository, relative to the repository's root.
    pub fn repo_path(&self) -> String {
        match self.kind {
            Kind::Scenario => format!("scenarios/{}", self.file),
            Kind::Sweep => format!("scenarios/sweeps/{}", self.file),
        }
    }

    /// The name error messages give it: `leader-crash (built in)`.
    pub fn display(&self) -> String {
        format!("{} (built in)", self.name)
    }

    /// Its text as a [`Source`] named for messages.
    pub fn source(&self) -> Source {
        Source {
            name: self.display(),
            text: self.text.to_string(),
        }
    }
}

fn entries(kind: Kind) -> impl Iterator<Item = Entry> {
    let table = match kind {
        Kind::Scenario => embedded::SCENARIOS,
        Kind::Sweep => embedded::SWEEPS,
    };
    table.iter().map(move |&(file, text)| Entry {
        kind,
        name: file.strip_suffix(".yaml").unwrap_or(file),
        file,
        text,
    })
}

/// The built-in scenarios, sorted by name.
pub fn scenarios() -> Vec<Entry> {
    entries(Kind::Scenario).collect()
}

/// The built-in sweeps, sorted by name.
pub fn sweeps() -> Vec<Entry> {
    entries(Kind::Sweep).collect()
}

/// The built-in `kind` called `name` (`leader-crash`, or its file name `leader-crash.yaml`).
pub fn get(kind: Kind, name: &str) -> Option<Entry> {
    entries(kind).find(|e| e.name == name || e.file == name)
}

/// What a command-line argument naming a scenario or sweep refers to: the built-in of that name when the argument
/// is a bare name (no folder) and no such file exists. A file path always wins.
pub fn builtin(kind: Kind, arg: &Path) -> Option<Entry> {
    if arg.exists() || arg.components().count() != 1 {
        return None;
    }
    get(kind, arg.to_str()?)
}

/// The base scenario of a built-in sweep, which names it by a path relative to the sweep's file
/// (`../leader-crash.yaml`): the built-in scenario that path leads to inside the catalogue.
pub fn sweep_base(relative: &Path) -> Option<Entry> {
    // The sweep's folder is `sweeps/` under the catalogue's root.
    let mut at: Vec<String> = vec!["sweeps".into()];
    for c in relative.components() {
        match c {
            Component::Normal(part) => at.push(part.to_str()?.to_string()),
            Component::ParentDir => {
                at.pop()?;
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    match at.as_slice() {
        [file] => get(Kind::Scenario, file),
        _ => None,
    }
}

/// The text of a scenario or sweep argument, from its file or the built-in of that name, as a [`Source`] named
/// for messages.
pub fn read(kind: Kind, arg: &Path) -> Result<(Source, Option<Entry>), InputError> {
    if let Some(e) = builtin(kind, arg) {
        return Ok((e.source(), Some(e)));
    }
    let other = match kind {
        Kind::Scenario => Kind::Sweep,
        Kind::Sweep => Kind::Scenario,
    };
    let text = crate::error::read_input(arg, kind.word()).map_err(|e| match builtin(other, arg) {
        Some(o) => InputError::new(format!(
            "{}; `{}` is a built-in {}: run it with `{} {}`",
            e.message(),
            o.name,
            other.word(),
            other.command(),
            o.name
        )),
        None if !arg.exists() && arg.components().count() == 1 => InputError::new(format!(
            "{}, and no built-in {} has that name (`raftsim list` shows them)",
            e.message(),
            kind.word()
        )),
        None => e,
    })?;
    Ok((
        Source {
            name: arg.display().to_string(),
            text,
        },
        None,
    ))
}

/// The path a replay command names a built-in by: its bare name.
pub fn command_path(e: &Entry) -> PathBuf {
    PathBuf::from(e.name)
}
