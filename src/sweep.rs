//! Sweeps: one base scenario, one or more axes of values, every combination run as a point.
//!
//! ```yaml
//! name: timeout-randomness
//! scenario: ../paper-leader-crash.yaml   # relative to this file
//! trials: 1000                            # optional: trials per point (default: the scenario's)
//! set: { network.loss: 0.01 }             # optional: overrides applied to the base first
//! axes:
//!   raft.election_timeout.max: [150ms, 151ms, 155ms, 175ms, 200ms, 300ms]
//!   cluster.nodes: { from: 3, to: 9, step: 2 }
//!   timeouts:                             # a named axis whose values set several fields together
//!     - { raft.election_timeout.min: 12ms, raft.election_timeout.max: 24ms, raft.heartbeat: 6ms }
//!     - { raft.election_timeout.min: 25ms, raft.election_timeout.max: 50ms, raft.heartbeat: 12ms }
//! ```
//!
//! Axes combine as a grid, the last axis varying fastest. Every point runs the same trial seeds (common random
//! numbers), so differences between points come from the parameters, not from luck.

use crate::duration::{Dur, parse_duration};
use crate::error::{Flag, InputError};
use crate::metric::Metric;
use crate::overrides;
use crate::scenario::{self, RawScenario, Scenario, Source};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

/// Most points a sweep may have.
pub const MAX_POINTS: usize = 10_000;

/// A sweep file as written.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawSweep {
    /// Report folder name (default: the file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// One line saying what the sweep asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The base scenario file, relative to the sweep file.
    pub scenario: PathBuf,
    /// Trials per point (default: the base scenario's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trials: Option<u64>,
    /// The metric the charts show: `election_ms`, `convergence_ms`, `first_leader_ms` or `recovery_ms`
    /// (default: `election_ms` when the scenario removes a leader, else `first_leader_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
    /// Overrides applied to the base scenario before the axes.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "ordered_map")]
    pub set: Vec<(String, Value)>,
    /// The axes, in order.
    #[serde(deserialize_with = "ordered_map")]
    pub axes: Vec<(String, Value)>,
}

/// Reads a YAML mapping keeping its key order.
fn ordered_map<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, Value)>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<(String, Value)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping from field paths to values")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out: Vec<(String, Value)> = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, Value>()? {
                if out.iter().any(|(x, _)| *x == k) {
                    return Err(de::Error::custom(format!("`{k}` appears twice")));
                }
                out.push((k, v));
            }
            Ok(out)
        }
    }
    d.deserialize_map(V)
}

/// One axis: a name (a field path, or a label for multi-field values) and its values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    /// Field path, or a label.
    pub name: String,
    /// Each value: the fields it sets, and how it is shown.
    pub values: Vec<AxisValue>,
}

/// One value of an axis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AxisValue {
    /// How the value is shown in tables and legends.
    pub label: String,
    /// A number for plotting against, when the value is numeric or a duration (milliseconds).
    pub numeric: Option<f64>,
    /// (field path, value) pairs it sets.
    pub sets: Vec<(String, Value)>,
}

/// One point of a sweep.
#[derive(Clone, Debug)]
pub struct Point {
    /// Index in the grid.
    pub index: usize,
    /// The value of each axis, in axis order.
    pub values: Vec<AxisValue>,
    /// The scenario to run.
    pub scenario: Scenario,
}

impl Point {
    /// `axis=value, axis=value`.
    pub fn label(&self, axes: &[Axis]) -> String {
        axes.iter()
            .zip(&self.values)
            .map(|(a, v)| format!("{}={}", short(&a.name), v.label))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The `--set` arguments that turn the base scenario into this point.
    pub fn set_args(&self, base_sets: &[(String, Value)]) -> Vec<String> {
        base_sets
            .iter()
            .chain(self.values.iter().flat_map(|v| v.sets.iter()))
            .map(|(p, v)| format!("{p}={}", value_text(v)))
            .collect()
    }
}

/// The last one or two components of a path, for legends: `raft.election_timeout.max` -> `election_timeout.max`.
pub fn short(path: &str) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    if parts.len() <= 2 {
        path.to_string()
    } else {
        parts[parts.len() - 2..].join(".")
    }
}

/// A JSON value as it would be written on the command line.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A loaded, expanded sweep.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// Report name.
    pub name: String,
    /// The sweep file.
    pub source: PathBuf,
    /// The base scenario file.
    pub scenario_path: PathBuf,
    /// As written, after command-line axes.
    pub raw: RawSweep,
    /// Axes.
    pub axes: Vec<Axis>,
    /// Points, last axis fastest.
    pub points: Vec<Point>,
}

/// Loads a sweep file; `extra_axes` are `--axis path=v1,v2` arguments (replacing a file axis of the same path);
/// `extra_sets` are `--set` arguments applied to the base scenario; `trials` replaces the trials per point.
pub fn load(
    path: &Path,
    extra_axes: &[String],
    extra_sets: &[String],
    trials: Option<u64>,
) -> Result<Sweep, InputError> {
    let (source, builtin) = crate::catalogue::read(crate::catalogue::Kind::Sweep, path)?;
    load_from(source, builtin, path, extra_axes, extra_sets, trials)
}

/// Loads the built-in sweep `e` as written.
pub fn load_builtin(e: crate::catalogue::Entry) -> Result<Sweep, InputError> {
    load_from(e.source(), Some(e), &crate::catalogue::command_path(&e), &[], &[], None)
}

fn load_from(
    source: Source,
    builtin: Option<crate::catalogue::Entry>,
    path: &Path,
    extra_axes: &[String],
    extra_sets: &[String],
    trials: Option<u64>,
) -> Result<Sweep, InputError> {
    check_not_scenario(&source, path)?;
    let mut raw: RawSweep = scenario::parse_yaml(&source)?;
    if trials.is_some() {
        raw.trials = trials;
    }
    for arg in extra_sets {
        let o = overrides::parse(arg)?;
        raw.set.retain(|(p, _)| *p != o.path);
        raw.set.push((o.path, o.value));
    }
    for arg in extra_axes {
        let (p, vals) = arg.split_once('=').ok_or_else(|| {
            InputError::new(format!(
                "--axis `{arg}`: expected path=v1,v2,..., like cluster.nodes=3,5,7"
            ))
        })?;
        let values: Vec<Value> = vals
            .split(',')
            .map(|v| serde_saphyr::from_str::<Value>(v.trim()).unwrap_or(Value::String(v.trim().to_string())))
            .collect();
        raw.axes.retain(|(name, _)| name != p.trim());
        raw.axes.push((p.trim().to_string(), Value::Array(values)));
    }
    let err = |field: &str, msg: String| InputError::field(Some(&source), field, msg);
    // A built-in sweep names its base by a path inside the catalogue, and so loads the built-in scenario.
    let (scenario_path, base_source, default_name) = match builtin {
        Some(sweep) => {
            let base = crate::catalogue::sweep_base(&raw.scenario).ok_or_else(|| {
                err(
                    "scenario",
                    format!(
                        "the base scenario `{}` is not in the built-in catalogue",
                        raw.scenario.display()
                    ),
                )
            })?;
            (
                crate::catalogue::command_path(&base),
                base.source(),
                Some(sweep.name.to_string()),
            )
        }
        None => {
            let base_dir = path.parent().unwrap_or(Path::new("."));
            let scenario_path = base_dir.join(&raw.scenario);
            let base_text = crate::error::read_input(&scenario_path, "scenario")
                .map_err(|e| err("scenario", format!("the base scenario: {}", e.message())))?;
            let base_source = Source {
                name: scenario_path.display().to_string(),
                text: base_text,
            };
            (
                scenario_path,
                base_source,
                path.file_stem().map(|s| s.to_string_lossy().into_owned()),
            )
        }
    };
    // The flags that set fields of every point, so a point's error in such a field names the flag.
    let mut flags: Vec<Flag> = Vec::new();
    for arg in extra_sets {
        let o = overrides::parse(arg)?;
        flags.push(Flag {
            path: o.path,
            shown: format!("--set `{arg}`"),
        });
    }
    for arg in extra_axes {
        if let Some((p, _)) = arg.split_once('=') {
            flags.push(Flag {
                path: p.trim().to_string(),
                shown: format!("--axis `{arg}`"),
            });
        }
    }
    if let Some(t) = trials {
        flags.push(Flag {
            path: "trials".into(),
            shown: format!("--trials {t}"),
        });
    }
    expand(raw, &source, scenario_path, &base_source, default_name, path, &flags)
}

/// Refuses a scenario given where a sweep is expected, saying which command runs it.
fn check_not_scenario(source: &Source, path: &Path) -> Result<(), InputError> {
    let Ok(Value::Object(top)) = serde_saphyr::from_str::<Value>(&source.text) else {
        return Ok(());
    };
    if !top.contains_key("axes")
        && ["cluster", "raft", "network", "faults"]
            .iter()
            .any(|k| top.contains_key(*k))
    {
        return Err(InputError::new(format!(
            "{} is a scenario, not a sweep (it has no `axes`): run it with `raftsim run {}`",
            source.name,
            path.display()
        )));
    }
    Ok(())
}

fn expand(
    raw: RawSweep,
    source: &Source,
    scenario_path: PathBuf,
    base_source: &Source,
    default_name: Option<String>,
    path: &Path,
    flags: &[Flag],
) -> Result<Sweep, InputError> {
    let err = |field: &str, msg: String| InputError::field(Some(source), field, msg);
    let name = raw.name.clone().or(default_name).unwrap_or_else(|| "sweep".into());
    let base_raw: RawScenario = scenario::parse_yaml(base_source)?;
    let mut base_tree = serde_json::to_value(&base_raw).expect("a scenario serializes");
    for (p, v) in &raw.set {
        overrides::set(&mut base_tree, p, v.clone()).map_err(|m| err(&format!("set.{p}"), m))?;
    }
    if let Some(t) = raw.trials {
        base_tree["trials"] = Value::from(t);
    }
    if raw.axes.is_empty() {
        return Err(err("axes", "a sweep needs at least one axis".into()));
    }
    let mut axes = Vec::with_capacity(raw.axes.len());
    for (axis_name, spec) in &raw.axes {
        let values = axis_values(axis_name, spec).map_err(|m| err(&format!("axes.{axis_name}"), m))?;
        if values.is_empty() {
            return Err(err(&format!("axes.{axis_name}"), "has no values".into()));
        }
        axes.push(Axis {
            name: axis_name.clone(),
            values,
        });
    }
    let count = axes
        .iter()
        .try_fold(1usize, |acc, a| acc.checked_mul(a.values.len()))
        .unwrap_or(usize::MAX);
    if count > MAX_POINTS {
        return Err(err(
            "axes",
            format!("the grid has {count} points; at most {MAX_POINTS} are allowed"),
        ));
    }
    let mut points = Vec::with_capacity(count);
    for index in 0..count {
        let mut rest = index;
        let mut chosen = vec![None; axes.len()];
        for (k, a) in axes.iter().enumerate().rev() {
            chosen[k] = Some(a.values[rest % a.values.len()].clone());
            rest /= a.values.len();
        }
        let values: Vec<AxisValue> = chosen.into_iter().map(|v| v.expect("every axis chosen")).collect();
        let mut tree = base_tree.clone();
        for (a, v) in axes.iter().zip(&values) {
            for (p, val) in &v.sets {
                overrides::set(&mut tree, p, val.clone()).map_err(|m| err(&format!("axes.{}", a.name), m))?;
            }
        }
        let label = axes
            .iter()
            .zip(&values)
            .map(|(a, v)| format!("{}={}", a.name, v.label))
            .collect::<Vec<_>>()
            .join(", ");
        let point_raw: RawScenario = serde_path_to_error::deserialize(&tree).map_err(|e| {
            InputError::new(format!(
                "{}: point {label}: {} at `{}`",
                source.name,
                e.inner(),
                e.path()
            ))
        })?;
        let mut scenario =
            scenario::resolve(point_raw, base_raw.name.clone().or(Some(name.clone())), None).map_err(|e| {
                match e.flag_at_fault(flags) {
                    Some(_) => {
                        let blamed = e.blame_flags(flags);
                        InputError::new(format!("{blamed} (point {label})"))
                    }
                    None => InputError::new(format!("{}: point {label}: {e}", source.name)),
                }
            })?;
        scenario.source = Some(scenario_path.clone());
        points.push(Point {
            index,
            values,
            scenario,
        });
    }
    Ok(Sweep {
        name,
        source: path.to_path_buf(),
        scenario_path,
        raw,
        axes,
        points,
    })
}

/// Expands one axis spec: a list of scalars (set at the axis path), a list of mappings (each sets several
/// paths), or a range `{ from, to, step }` of numbers or durations.
fn axis_values(name: &str, spec: &Value) -> Result<Vec<AxisValue>, String> {
    match spec {
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::Object(map) => {
                    let sets: Vec<(String, Value)> = map
                        .iter()
                        .filter(|(k, _)| *k != "label")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    let label = match map.get("label") {
                        Some(l) => value_text(l),
                        None => sets.iter().map(|(_, v)| value_text(v)).collect::<Vec<_>>().join("/"),
                    };
                    let numeric = sets.first().and_then(|(_, v)| numeric(v));
                    Ok(AxisValue { label, numeric, sets })
                }
                Value::Array(_) | Value::Null => Err(format!("values must be scalars or mappings, not {item}")),
                scalar => Ok(AxisValue {
                    label: value_text(scalar),
                    numeric: numeric(scalar),
                    sets: vec![(name.to_string(), scalar.clone())],
                }),
            })
            .collect(),
        Value::Object(map) => {
            let get = |k: &str| {
                map.get(k)
                    .ok_or_else(|| format!("a range needs `{k}` (from, to, step)"))
            };
            if let Some(extra) = map.keys().find(|k| !["from", "to", "step"].contains(&k.as_str())) {
                return Err(format!("unknown range field `{extra}`; expected from, to, step"));
            }
            let (from, to, step) = (get("from")?, get("to")?, get("step")?);
            if let (Some(f), Some(t), Some(s)) = (from.as_f64(), to.as_f64(), step.as_f64()) {
                if s <= 0.0 || f > t {
                    return Err("a range needs step > 0 and from <= to".into());
                }
                let integral = from.is_u64() && to.is_u64() && step.is_u64();
                let n = ((t - f) / s + 1e-9).floor() as usize + 1;
                if n > MAX_POINTS {
                    return Err(format!("the range has {n} values; at most {MAX_POINTS}"));
                }
                return Ok((0..n)
                    .map(|k| {
                        let v = if integral {
                            Value::from(from.as_u64().unwrap() + k as u64 * step.as_u64().unwrap())
                        } else {
                            Value::from(f + k as f64 * s)
                        };
                        AxisValue {
                            label: value_text(&v),
                            numeric: v.as_f64(),
                            sets: vec![(name.to_string(), v)],
                        }
                    })
                    .collect());
            }
            let dur = |v: &Value, k: &str| -> Result<Dur, String> {
                v.as_str()
                    .ok_or_else(|| format!("`{k}` must be a number or a duration"))
                    .and_then(parse_duration)
            };
            let (f, t, s) = (dur(from, "from")?, dur(to, "to")?, dur(step, "step")?);
            if s.0.is_zero() || f > t {
                return Err("a range needs step > 0 and from <= to".into());
            }
            let n = ((t.as_micros() - f.as_micros()) / s.as_micros()) as usize + 1;
            if n > MAX_POINTS {
                return Err(format!("the range has {n} values; at most {MAX_POINTS}"));
            }
            Ok((0..n)
                .map(|k| {
                    let d = Dur(f.0 + s.0 * k as u32);
                    let v = Value::String(d.to_string());
                    AxisValue {
                        label: d.to_string(),
                        numeric: Some(d.as_micros() as f64 / 1000.0),
                        sets: vec![(name.to_string(), v)],
                    }
                })
                .collect())
        }
        other => Err(format!(
            "expected a list of values or a range {{ from, to, step }}, not {other}"
        )),
    }
}

/// A value as a number for plotting: numbers as they are, durations in milliseconds.
fn numeric(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_duration(s).ok().map(|d| d.as_micros() as f64 / 1000.0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_ranges_and_mappings_expand() {
        let v = axis_values("cluster.nodes", &json!({"from": 3, "to": 9, "step": 2})).unwrap();
        assert_eq!(
            v.iter().map(|x| x.label.as_str()).collect::<Vec<_>>(),
            ["3", "5", "7", "9"]
        );
        let v = axis_values("raft.heartbeat", &json!({"from": "10ms", "to": "50ms", "step": "20ms"})).unwrap();
        assert_eq!(
            v.iter().map(|x| x.label.as_str()).collect::<Vec<_>>(),
            ["10ms", "30ms", "50ms"]
        );
        assert_eq!(v[1].numeric, Some(30.0));
        let v = axis_values(
            "t",
            &json!([{"raft.election_timeout.min": "12ms", "raft.election_timeout.max": "24ms"}]),
        )
        .unwrap();
        assert_eq!(v[0].label, "12ms/24ms");
        assert_eq!(v[0].sets.len(), 2);
        assert!(axis_values("x", &json!({"from": 5, "to": 1, "step": 1})).is_err());
        assert!(axis_values("x", &json!({"from": 1, "to": 2})).is_err());
    }
}
