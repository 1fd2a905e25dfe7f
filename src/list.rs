//! `raftsim list`: the built-in catalogue, a folder of scenarios, or the report folders under `reports/`.
//! Listing only reads: nothing is created, moved or removed.

use crate::catalogue::{self, Entry};
use crate::error::InputError;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One scenario or sweep of a listing.
fn entry_json(name: &str, file: &str, loaded: Result<(Option<String>, u64, u64, Option<usize>), InputError>) -> Value {
    match loaded {
        Ok((description, seed, trials, points)) => json!({
            "name": name,
            "file": file,
            "description": description,
            "seed": seed,
            "trials": trials,
            "points": points,
        }),
        Err(e) => json!({
            "name": name,
            "file": file,
            "error": e.to_string().lines().next().unwrap_or("").to_string(),
        }),
    }
}

type Loaded = Result<(Option<String>, u64, u64, Option<usize>), InputError>;

fn scenario_facts(s: Result<crate::scenario::Scenario, InputError>) -> Loaded {
    s.map(|s| (s.raw.description.clone(), s.seed, s.trials, None))
}

fn sweep_facts(sw: Result<crate::sweep::Sweep, InputError>) -> Loaded {
    sw.map(|sw| {
        let first = sw.points.first().map(|p| &p.scenario);
        (
            sw.raw.description.clone(),
            first.map_or(0, |s| s.seed),
            first.map_or(0, |s| s.trials),
            Some(sw.points.len()),
        )
    })
}

fn builtin_scenario(e: &Entry) -> Loaded {
    scenario_facts(crate::scenario::load_str(&e.source(), &[], Some(e.name.to_string())))
}

/// The listing of the built-in catalogue (`dir` `None`) or of a folder of scenarios and its `sweeps/` folder, as
/// JSON: `{"source", "scenarios": [...], "sweeps": [...]}`. Each entry is loaded (a sweep as a sweep), and one that
/// does not load carries its error instead of its facts, so a broken copy is noticed.
pub fn catalogue_json(dir: Option<&Path>) -> Result<Value, InputError> {
    let (source, scenarios, sweeps) = match dir {
        None => {
            let scenarios: Vec<Value> = catalogue::scenarios()
                .iter()
                .map(|e| entry_json(e.name, &e.repo_path(), builtin_scenario(e)))
                .collect();
            let sweeps: Vec<Value> = catalogue::sweeps()
                .iter()
                .map(|e| entry_json(e.name, &e.repo_path(), sweep_facts(crate::sweep::load_builtin(*e))))
                .collect();
            ("built in".to_string(), scenarios, sweeps)
        }
        Some(dir) => {
            let files =
                yaml_files(dir).map_err(|e| InputError::new(format!("cannot list `{}`: {e}", dir.display())))?;
            let scenarios = files
                .iter()
                .map(|p| {
                    let loaded = scenario_facts(crate::scenario::load(p, &[]));
                    entry_json(&stem(p), &p.display().to_string(), loaded)
                })
                .collect();
            let sweeps = yaml_files(&dir.join("sweeps"))
                .unwrap_or_default()
                .iter()
                .map(|p| {
                    let loaded = sweep_facts(crate::sweep::load(p, &[], &[], None));
                    entry_json(&stem(p), &p.display().to_string(), loaded)
                })
                .collect();
            (dir.display().to_string(), scenarios, sweeps)
        }
    };
    Ok(json!({ "source": source, "scenarios": scenarios, "sweeps": sweeps }))
}

/// [`catalogue_json`] as the text `raftsim list` prints: a section of scenarios, then one of sweeps, each line
/// `name  description`.
pub fn catalogue_text(listing: &Value, dir: Option<&Path>) -> String {
    let mut out = String::new();
    let width = 24;
    let section = |out: &mut String, title: String, items: &Value| {
        writeln!(out, "{title}").unwrap();
        for item in items.as_array().into_iter().flatten() {
            let name = item["name"].as_str().unwrap_or("");
            let text = match item.get("error") {
                Some(e) => format!("(does not load: {})", e.as_str().unwrap_or("")),
                None => item["description"].as_str().unwrap_or("").to_string(),
            };
            writeln!(out, "  {name:width$}  {text}").unwrap();
        }
    };
    match dir {
        None => {
            section(
                &mut out,
                "built-in scenarios (run one with: raftsim run <name>):".into(),
                &listing["scenarios"],
            );
            out.push('\n');
            section(
                &mut out,
                "built-in sweeps (run one with: raftsim sweep <name>):".into(),
                &listing["sweeps"],
            );
            out.push_str(
                "\na file path always wins over a built-in name; `raftsim list scenarios` lists a folder, \
                 `raftsim list --reports` the reports written\n",
            );
        }
        Some(dir) => {
            section(
                &mut out,
                format!("scenarios in {}:", dir.display()),
                &listing["scenarios"],
            );
            if listing["sweeps"].as_array().is_some_and(|s| !s.is_empty()) || dir.join("sweeps").is_dir() {
                out.push('\n');
                section(
                    &mut out,
                    format!("sweeps in {}:", dir.join("sweeps").display()),
                    &listing["sweeps"],
                );
            }
            writeln!(out, "\nrun one with: raftsim run {}/<name>.yaml", dir.display()).unwrap();
        }
    }
    out
}

fn stem(p: &Path) -> String {
    p.file_stem().unwrap_or_default().to_string_lossy().into_owned()
}

fn yaml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

fn read_json(path: &Path) -> Option<Value> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > 256 << 20 {
        return None;
    }
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// What one folder under `reports/` holds, read from the report's own files.
fn report_json(folder: &Path) -> Value {
    let name = folder.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let not_report = || json!({ "folder": name, "kind": null, "note": "not a raftsim report; left alone" });
    if let Some(run) = read_json(&folder.join("run.json")).filter(|v| v.get("raftsim_version").is_some()) {
        let kind = run["kind"].as_str().unwrap_or("run").to_string();
        let overrides = run.get("overrides").cloned().unwrap_or(Value::Null);
        let (scenario, seed, trials, points, partial) = if kind == "sweep" {
            let sw = read_json(&folder.join("sweep.json")).unwrap_or(Value::Null);
            let pts = sw["points"].as_array().cloned().unwrap_or_default();
            let seeds: Vec<&Value> = pts.iter().map(|p| &p["summary"]["seed"]).collect();
            let seed = match seeds.first() {
                Some(s) if seeds.iter().all(|x| x == s) => (*s).clone(),
                Some(_) => json!("varies"),
                None => Value::Null,
            };
            let trials: u64 = pts.iter().filter_map(|p| p["summary"]["trials"].as_u64()).sum();
            (
                sw["sweep"].clone(),
                seed,
                json!(trials),
                json!(pts.len()),
                sw["partial"].as_bool(),
            )
        } else {
            let sm = read_json(&folder.join("summary.json")).unwrap_or(Value::Null);
            (
                sm["scenario"].clone(),
                sm["seed"].clone(),
                sm["trials"].clone(),
                Value::Null,
                sm["partial"].as_bool(),
            )
        };
        let partial = partial.unwrap_or(false) || run["interrupted"].as_bool().unwrap_or(false);
        return json!({
            "folder": name,
            "kind": kind,
            "partial": partial,
            "scenario": scenario,
            "variant": run.get("variant"),
            "overrides": overrides,
            "seed": seed,
            "trials": trials,
            "points": points,
            "merged": run.get("merged_parts").is_some(),
        });
    }
    if let Some(t) = read_json(&folder.join("tune.json")).filter(|v| v.get("raftsim_version").is_some()) {
        let i = &t["inputs"];
        return json!({
            "folder": name,
            "kind": "tune",
            "partial": false,
            "scenario": format!("tune {} {}n", i["library"].as_str().unwrap_or("?"), i["nodes"]),
            "overrides": null,
            "seed": i["seed"],
            "trials": t["total_trials"],
        });
    }
    if folder.join("trace.jsonl").is_file() {
        // `# raftsim trace: scenario NAME, trial N, trial seed S, outcome O`
        let head = std::fs::read_to_string(folder.join("trace.txt")).unwrap_or_default();
        let first = head.lines().next().unwrap_or("");
        let field = |key: &str| {
            first
                .split(", ")
                .find_map(|part| part.trim_start_matches("# raftsim trace: ").strip_prefix(key))
                .map(str::to_string)
        };
        return json!({
            "folder": name,
            "kind": "replay",
            "partial": false,
            "scenario": field("scenario "),
            "overrides": null,
            "seed": field("trial seed ").and_then(|s| s.parse::<u64>().ok()),
            "trials": 1,
            "trial": field("trial ").or_else(|| field("seed ")),
        });
    }
    let parts: Vec<PathBuf> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().unwrap_or_default().to_string_lossy();
            n.starts_with("part-") && n.ends_with(".json")
        })
        .collect();
    if let Some(part) = parts.iter().min().and_then(|p| read_json(p))
        && part.get("study").is_some()
    {
        let study = &part["study"];
        return json!({
            "folder": name,
            "kind": "parts",
            "partial": false,
            "scenario": study["name"],
            "overrides": study.get("overrides"),
            "seed": study["points"][0]["raw"]["seed"],
            "trials": null,
            "parts": format!("{} of {} part files", parts.len(), part["shards"]),
        });
    }
    not_report()
}

/// The report folders in `dir` (sorted; hidden ones, such as an unfinished report's staging folder, skipped),
/// each as [`report_json`] says.
pub fn reports_json(dir: &Path) -> Result<Value, InputError> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| {
            InputError::new(format!(
                "cannot list `{}`: {e}; reports are written to reports/ in the current folder, or pass the folder \
                 that holds them: raftsim list --reports DIR",
                dir.display()
            ))
        })?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    folders.sort();
    Ok(json!({
        "folder": dir.display().to_string(),
        "reports": folders.iter().map(|f| report_json(f)).collect::<Vec<_>>(),
    }))
}

/// [`reports_json`] as a table.
pub fn reports_text(listing: &Value) -> String {
    let text = |v: &Value| match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "-".to_string(),
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().unwrap_or("?"))
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    };
    let mut rows = vec![[
        "folder".to_string(),
        "kind".into(),
        "scenario".into(),
        "seed".into(),
        "trials".into(),
        "overrides".into(),
    ]];
    let empty = Vec::new();
    let reports = listing["reports"].as_array().unwrap_or(&empty);
    for r in reports {
        let folder = format!("{}/", text(&r["folder"]));
        if r["kind"].is_null() {
            rows.push([folder, "-".into(), "-".into(), "-".into(), "-".into(), text(&r["note"])]);
            continue;
        }
        let mut kind = text(&r["kind"]);
        if r["partial"].as_bool() == Some(true) {
            kind = format!("partial {kind}");
        }
        let trials = match (&r["points"], &r["parts"], &r["trial"]) {
            (Value::Number(p), _, _) => format!("{} ({p} points)", text(&r["trials"])),
            (_, Value::String(parts), _) => parts.clone(),
            (_, _, Value::String(t)) => format!("trial {t}"),
            _ => text(&r["trials"]),
        };
        let overrides = if r["kind"] == "run" || r["kind"] == "sweep" || r["kind"] == "parts" {
            match &r["overrides"] {
                Value::Null => "(not recorded)".to_string(),
                v => text(v),
            }
        } else {
            "-".to_string()
        };
        rows.push([folder, kind, text(&r["scenario"]), text(&r["seed"]), trials, overrides]);
    }
    let mut out = format!("reports in {}/:\n", text(&listing["folder"]).trim_end_matches('/'));
    if reports.is_empty() {
        out.push_str("  (none)\n");
        return out;
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let mut line = String::from(" ");
        for (c, cell) in row.iter().enumerate() {
            if c == 5 {
                line.push_str(&format!(" {cell}"));
            } else if c == 3 || c == 4 {
                line.push_str(&format!(" {cell:>w$}", w = widths[c]));
            } else {
                line.push_str(&format!(" {cell:w$}", w = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
