//! A study is what one command runs: a single scenario (`raftsim run`) or the points of a sweep
//! (`raftsim sweep`), each point with the command that replays its trials. Its reports are written by
//! [`crate::report`].

use crate::error::InputError;
use crate::metric::Metric;
use crate::scenario::{self, RawScenario, Scenario};
use crate::sweep::{Axis, AxisValue, Sweep};
use serde::{Deserialize, Serialize};

/// Whether a study is one scenario or a sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `raftsim run`.
    Run,
    /// `raftsim sweep`.
    Sweep,
}

/// One point of a study: a scenario and how a user re-runs its trials.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StudyPoint {
    /// `axis=value, ...` (the scenario name for a plain run).
    pub label: String,
    /// Axis values (empty for a plain run).
    pub values: Vec<AxisValue>,
    /// The scenario exactly as run.
    pub raw: RawScenario,
    /// The command that re-runs this point's trial N when ` --trial N` is appended.
    pub replay: String,
    /// The scenario, resolved from `raw`.
    #[serde(skip)]
    pub scenario: Option<Scenario>,
}

impl StudyPoint {
    /// The resolved scenario.
    pub fn scenario(&self) -> &Scenario {
        self.scenario.as_ref().expect("resolved when loaded")
    }

    /// The command that replays trial `trial` of this point.
    pub fn replay_command(&self, trial: u64) -> String {
        format!("{} --trial {trial}", self.replay)
    }
}

/// What ran.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Study {
    /// Run or sweep.
    pub kind: Kind,
    /// Report name.
    pub name: String,
    /// One line saying what it asks.
    pub description: Option<String>,
    /// Sweep axes (empty for a run).
    pub axes: Vec<Axis>,
    /// The metric charts and tables lead with (default: chosen from what was measured).
    #[serde(default)]
    pub metric: Option<Metric>,
    /// Points, in order.
    pub points: Vec<StudyPoint>,
    /// The command-line overrides it was run with (`--set`, `--seed`, `--trials`, `--axis` as `PATH=VALUE`),
    /// empty for the scenario or sweep as written. A study with overrides defaults to its own report folder.
    #[serde(default)]
    pub overrides: Vec<String>,
}

impl Study {
    /// The study of one scenario; `replay` is the command that re-runs it, less ` --trial N`.
    pub fn run(s: &Scenario, replay: String) -> Study {
        let point = StudyPoint {
            label: s.name.clone(),
            values: Vec::new(),
            raw: s.raw.clone(),
            replay,
            scenario: Some(s.clone()),
        };
        Study {
            kind: Kind::Run,
            name: s.name.clone(),
            description: s.raw.description.clone(),
            axes: Vec::new(),
            metric: None,
            points: vec![point],
            overrides: Vec::new(),
        }
    }

    /// The study of a sweep: each point replays as `raftsim run` of the base scenario with its `--set`s.
    pub fn sweep(sw: &Sweep) -> Study {
        let trials_set: Vec<(String, serde_json::Value)> = sw
            .raw
            .trials
            .map(|t| ("trials".to_string(), serde_json::Value::from(t)))
            .into_iter()
            .collect();
        let all_sets: Vec<(String, serde_json::Value)> = sw.raw.set.iter().chain(&trials_set).cloned().collect();
        let points: Vec<StudyPoint> = sw
            .points
            .iter()
            .map(|p| {
                let mut replay = format!("raftsim run {}", shell_quote(&sw.scenario_path.display().to_string()));
                for s in p.set_args(&all_sets) {
                    replay.push_str(&format!(" --set {}", shell_quote(&s)));
                }
                StudyPoint {
                    label: p.label(&sw.axes),
                    values: p.values.clone(),
                    raw: p.scenario.raw.clone(),
                    replay,
                    scenario: Some(p.scenario.clone()),
                }
            })
            .collect();
        Study {
            kind: Kind::Sweep,
            name: sw.name.clone(),
            description: sw.raw.description.clone(),
            axes: sw.axes.clone(),
            metric: sw.raw.metric,
            points,
            overrides: Vec::new(),
        }
    }

    /// Resolves every point's scenario from its raw form (after loading a part file).
    pub fn resolve(&mut self) -> Result<(), InputError> {
        for p in &mut self.points {
            let name = p.raw.name.clone().or_else(|| Some(self.name.clone()));
            p.scenario = Some(scenario::resolve(p.raw.clone(), name, None)?);
        }
        Ok(())
    }

    /// The scenarios, in order.
    pub fn scenarios(&self) -> Vec<Scenario> {
        self.points.iter().map(|p| p.scenario().clone()).collect()
    }

    /// A fingerprint of the definition, so that a merge refuses parts of different studies.
    pub fn fingerprint(&self) -> String {
        format!(
            "{:016x}",
            fnv1a(&serde_json::to_string(self).expect("a study serializes"))
        )
    }

    /// Eight hex digits naming what this study simulates: the resolved scenario of every point (seed and trials
    /// included), the axes and the headline metric, but not how the command line spelt it (`--seed 7` and
    /// `--set seed=7` are one variant) nor the path the scenario was read from. The same variant always
    /// hashes the same, on any machine; the default report folder of a study with overrides is
    /// `reports/<name>@<variant>/`.
    pub fn variant(&self) -> String {
        let what = serde_json::json!({
            "kind": self.kind,
            "name": self.name,
            "axes": self.axes,
            "metric": self.metric,
            "points": self.points.iter().map(|p| (&p.label, &p.raw)).collect::<Vec<_>>(),
        });
        format!("{:08x}", fnv1a(&what.to_string()) >> 32)
    }

    /// The report folder's name when none is given: `<name>` for the scenario or sweep as written,
    /// `<name>@<variant>` for one run with overrides, so that two variants never share a folder.
    pub fn default_folder_name(&self) -> String {
        if self.overrides.is_empty() {
            self.name.clone()
        } else {
            self.variant_folder_name()
        }
    }

    /// `<name>@<variant>`.
    pub fn variant_folder_name(&self) -> String {
        format!("{}@{}", self.name, self.variant())
    }
}

/// FNV-1a, 64 bits: stable across platforms and releases, unlike std's hasher.
fn fnv1a(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `s` as one word of a POSIX shell command line, quoted only when it needs to be.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
