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
        let text = serde_json::to_string(self).expect("a study serializes");
        // FNV-1a, 64 bits: stable across platforms and releases, unlike std's hasher.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

/// `s` as one word of a POSIX shell command line, quoted only when it needs to be.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
