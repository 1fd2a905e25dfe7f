//! Replay: one trial re-run alone reproduces exactly what the full run recorded, and its trace explains it.

use assert_cmd::Command;
use raftsim::scenario::{self, Scenario};
use raftsim::trace::TraceEvent;
use raftsim::trial::{run_trial, trace_trial};

fn load(path: &str, sets: &[&str]) -> Scenario {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    scenario::load(std::path::Path::new(path), &sets).expect("scenario loads")
}

#[test]
fn replaying_a_trial_reproduces_its_metrics_exactly() {
    let s = load("scenarios/partition.yaml", &[]);
    for i in 0..300 {
        let (traced, lines) = trace_trial(&s, i, None);
        assert_eq!(traced, run_trial(&s, i), "trial {i}");
        assert!(!lines.is_empty());
    }
    // Under load, churn and a lossy, duplicating network too.
    let churn = load("scenarios/churn.yaml", &[]);
    for i in 0..5 {
        assert_eq!(trace_trial(&churn, i, None).0, run_trial(&churn, i), "churn trial {i}");
    }
}

#[test]
fn a_split_vote_shows_in_the_trace() {
    let s = load("scenarios/partition.yaml", &[]);
    let index = (0..500)
        .find(|&i| run_trial(&s, i).split_votes > 0)
        .expect("some trial splits the vote");
    let (r, lines) = trace_trial(&s, index, None);
    // The failover's first round: two or more candidates in one term, and no leader in it.
    let failover_start = lines
        .iter()
        .find(|l| l.event == TraceEvent::Partition)
        .expect("partition traced")
        .t_us;
    let mut candidates = std::collections::BTreeMap::<u64, Vec<usize>>::new();
    let mut leaders = std::collections::BTreeSet::new();
    for l in lines
        .iter()
        .filter(|l| l.event == TraceEvent::Role && l.t_us > failover_start)
    {
        match l.role {
            Some("candidate") => candidates.entry(l.term.unwrap()).or_default().push(l.node.unwrap()),
            Some("leader") => {
                leaders.insert(l.term.unwrap());
            }
            _ => {}
        }
    }
    let split = candidates
        .iter()
        .find(|(term, who)| who.len() >= 2 && !leaders.contains(term))
        .unwrap_or_else(|| {
            panic!(
                "trial {index} ({} split votes): no split term in {candidates:?}",
                r.split_votes
            )
        });
    assert!(leaders.iter().any(|t| t > split.0), "a later term elects a leader");
}

#[test]
fn replay_command_writes_trace_and_diagram_and_matches_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("t");
    let replay = Command::cargo_bin("raftsim")
        .unwrap()
        .args(["replay", "scenarios/partition.yaml", "--trial", "48", "--json", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(replay.status.success(), "{}", String::from_utf8_lossy(&replay.stderr));
    let run = Command::cargo_bin("raftsim")
        .unwrap()
        .args(["run", "scenarios/partition.yaml", "--trial", "48", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        replay.stdout, run.stdout,
        "replay prints exactly what the full run measured"
    );
    let text = std::fs::read_to_string(out.join("trace.txt")).unwrap();
    assert!(text.contains("partition") && text.contains("candidate -> leader"));
    let jsonl = std::fs::read_to_string(out.join("trace.jsonl")).unwrap();
    for line in jsonl.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["t_ms"].is_number() && v["event"].is_string(), "{line}");
    }
    assert_eq!(
        jsonl.lines().count() + 2,
        text.lines().count(),
        "same events in both forms (text has 2 header lines)"
    );
    let svg = std::fs::read_to_string(out.join("diagram.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for n in 0..5 {
        assert!(svg.contains(&format!(">n{n}</text>")), "lane n{n}");
    }

    // The same trial by its seed.
    let seed = serde_json::from_slice::<serde_json::Value>(&run.stdout).unwrap()["trial_seed"]
        .as_u64()
        .unwrap();
    let by_seed = Command::cargo_bin("raftsim")
        .unwrap()
        .args([
            "replay",
            "scenarios/partition.yaml",
            "--json",
            "--trial-seed",
            &seed.to_string(),
            "--out",
        ])
        .arg(tmp.path().join("s"))
        .output()
        .unwrap();
    let a: serde_json::Value = serde_json::from_slice(&by_seed.stdout).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(a["election_ms"], b["election_ms"]);
    assert_eq!(a["events"], b["events"]);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("s/trace.jsonl")).unwrap(),
        jsonl
    );
}

#[test]
fn replay_refuses_a_trial_outside_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    Command::cargo_bin("raftsim")
        .unwrap()
        .args(["replay", "scenarios/partition.yaml", "--trial", "10000", "--out"])
        .arg(tmp.path().join("x"))
        .assert()
        .code(2);
    assert!(!tmp.path().join("x").exists());
}

#[test]
fn check_determinism_traces_a_sample_twice_and_finds_them_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("raftsim")
        .unwrap()
        .args([
            "run",
            "scenarios/churn.yaml",
            "--trials",
            "40",
            "--check-determinism",
            "--no-progress",
            "--out",
        ])
        .arg(tmp.path().join("r"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("determinism check: 32 trials traced twice (two threads), identical"),
        "{stderr}"
    );
}

/// The diagram's legend names every kind of mark it draws, and no text runs off its edges: on the whole of
/// partition's trial 1 the `heal` line is near the right edge, and its label turns to end at the line.
#[test]
fn the_diagram_legend_is_complete_and_no_label_is_clipped() {
    use raftsim::diagram::{Anchor, Shape, diagram, text_width};
    let s = load("scenarios/partition.yaml", &[]);
    let (_, lines) = trace_trial(&s, 1, None);
    let d = diagram(&lines, s.nodes, "partition: trial 1", None, None);
    let texts: Vec<(f64, f64, &str, f64, Anchor)> = d
        .shapes
        .iter()
        .filter_map(|sh| match sh {
            Shape::Text {
                x,
                y,
                text,
                size,
                anchor,
                ..
            } => Some((*x, *y, text.as_str(), *size, *anchor)),
            _ => None,
        })
        .collect();
    for name in [
        "follower",
        "pre-candidate",
        "candidate",
        "leader",
        "down",
        "RequestVote",
        "vote reply",
        "AppendEntries",
        "AppendEntries reply",
        "heartbeat",
        "lost message",
    ] {
        assert!(texts.iter().any(|t| t.2 == name), "the legend has {name}");
    }
    assert!(texts.iter().any(|t| t.2.starts_with("fault")), "the legend has faults");
    let lost = d
        .shapes
        .iter()
        .any(|sh| matches!(sh, Shape::Line { dash: Some((a, _)), .. } if *a == 2.0));
    assert!(lost, "this trial loses messages (the partition), drawn as dashed stubs");
    assert!(texts.iter().any(|t| t.2 == "heal"), "the heal is drawn");
    for (x, y, text, size, anchor) in &texts {
        let w = text_width(text, *size);
        let left = match anchor {
            Anchor::Start => *x,
            Anchor::Middle => x - w / 2.0,
            Anchor::End => x - w,
        };
        assert!(
            left >= 0.0 && left + w <= d.width && *y <= d.height && *y > *size,
            "{text:?} at ({x}, {y}) {anchor:?}, {w:.1} wide, runs off the {}x{} diagram",
            d.width,
            d.height
        );
    }
}

#[test]
fn replay_writes_a_png_beside_the_svg() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    Command::cargo_bin("raftsim")
        .unwrap()
        .args([
            "replay",
            "partition",
            "--trial",
            "1",
            "--from",
            "1070ms",
            "--until",
            "1640ms",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let png = std::fs::read(out.join("diagram.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // The PNG has the SVG's size: width and height from the IHDR chunk.
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let svg = std::fs::read_to_string(out.join("diagram.svg")).unwrap();
    let attr = |name: &str| {
        let at = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        svg[at..at + svg[at..].find('"').unwrap()].parse::<f64>().unwrap() as u32
    };
    assert_eq!((be(&png[16..20]), be(&png[20..24])), (attr("width"), attr("height")));
}
