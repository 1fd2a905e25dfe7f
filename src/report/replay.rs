//! One trial on its own: what it measured, as JSON, and the folder `raftsim replay` writes (its event trace
//! and space-time diagram).

use super::dir::ReportDir;
use crate::metric::Metric;
use crate::scenario::Scenario;
use crate::trace::TraceLine;
use crate::trial::{Outcome, TrialResult, message_names};
use serde_json::{Value, json};

/// What one trial measured, as `raftsim run --trial N --json` prints it.
pub fn trial_json(s: &Scenario, r: &TrialResult) -> Value {
    let ms = |v: Option<&u64>| v.map(|us| *us as f64 / 1000.0);
    let list = |v: &[u64]| v.iter().map(|&u| u as f64 / 1000.0).collect::<Vec<_>>();
    let violation = match &r.outcome {
        Outcome::Violation { invariant, detail } => json!({"invariant": invariant, "detail": detail}),
        _ => Value::Null,
    };
    let aborted = match &r.outcome {
        Outcome::Aborted { limit, detail } => json!({"limit": limit, "detail": detail}),
        _ => Value::Null,
    };
    let messages: serde_json::Map<String, Value> = message_names()
        .iter()
        .zip(r.messages)
        .map(|(n, c)| (n.to_string(), json!(c)))
        .collect();
    json!({
        "scenario": s.name,
        "seed": s.seed,
        "trial": r.index,
        "trial_seed": r.seed,
        "outcome": r.outcome.name(),
        "violation": violation,
        "aborted": aborted,
        (Metric::FirstLeader.name()): ms(r.first_leader_us.as_ref()),
        (Metric::Election.name()): list(&r.election_us),
        (Metric::Convergence.name()): list(&r.convergence_us),
        (Metric::Recovery.name()): list(&r.recovery_us),
        "rounds": r.rounds,
        "split_votes": r.split_votes,
        "spurious_elections": r.spurious_elections,
        "elections": { "total": r.elections.0, "with_reachable_leader": r.elections.1 },
        "leader_availability": r.leader_availability.map(|(up, span)| up as f64 / span.max(1) as f64),
        "write_availability": r.write_availability.filter(|&(_, n)| n > 0).map(|(ok, n)| ok as f64 / n as f64),
        "messages": messages,
        "end_ms": r.end_us as f64 / 1000.0,
        "events": r.events,
    })
}

/// The part of the diagram to draw, in virtual microseconds (`None`: from the start, to the end).
#[derive(Clone, Copy, Debug, Default)]
pub struct Window {
    /// First time shown.
    pub from_us: Option<u64>,
    /// Last time shown.
    pub until_us: Option<u64>,
}

/// Writes `trace.txt`, `trace.jsonl` and `diagram.svg` of one traced trial into `dir`. `label` names the trial
/// (`trial-3`, `seed-42`).
pub fn write_trace(
    dir: &ReportDir,
    s: &Scenario,
    label: &str,
    r: &TrialResult,
    lines: &[TraceLine],
    window: Window,
) -> anyhow::Result<()> {
    let mut text = format!(
        "# raftsim trace: scenario {}, {}, trial seed {}, outcome {}\n# columns: time, node, event, term, role, detail (see the README's trace format)\n",
        s.name,
        label.replace('-', " "),
        r.seed,
        r.outcome.name()
    );
    let mut jsonl = String::new();
    for line in lines {
        text.push_str(&line.text());
        text.push('\n');
        jsonl.push_str(&serde_json::to_string(line)?);
        jsonl.push('\n');
    }
    let title = format!("{}: {} (trial seed {})", s.name, label.replace('-', " "), r.seed);
    let diagram = crate::diagram::diagram(lines, s.nodes, &title, window.from_us, window.until_us);
    let png = super::chart::diagram_png(&diagram, 1.0).map_err(|e| anyhow::anyhow!(e))?;
    dir.write("trace.txt", text.as_bytes())?;
    dir.write("trace.jsonl", jsonl.as_bytes())?;
    dir.write("diagram.svg", diagram.svg().as_bytes())?;
    dir.write("diagram.png", &png)?;
    Ok(())
}
