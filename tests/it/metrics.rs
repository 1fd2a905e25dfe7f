//! Metrics that count what happened: rounds and split votes until the cluster converged, every election started,
//! and the fraction of time with a working leader.

use raftsim::scenario::{self, Scenario};
use raftsim::trace::{TraceEvent, TraceLine};
use raftsim::trial::{run_trial, trace_trial};
use std::collections::{BTreeMap, BTreeSet};

fn load(path: &str, sets: &[&str]) -> Scenario {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    scenario::load(std::path::Path::new(path), &sets).expect("scenario loads")
}

/// The slow-broadcast fixture at 12-24 ms: leaders elected after the crash are often deposed at once.
fn paper_12_24() -> Scenario {
    load(
        "tests/fixtures/slow-broadcast.yaml",
        &[
            "raft.election_timeout.min=12ms",
            "raft.election_timeout.max=24ms",
            "raft.heartbeat=6ms",
            "faults.0.jitter=6ms",
        ],
    )
}

fn crash_time(lines: &[TraceLine]) -> u64 {
    lines
        .iter()
        .find(|l| l.event == TraceEvent::Crash)
        .expect("crash traced")
        .t_us
}

#[test]
fn rounds_count_every_term_until_the_cluster_converged() {
    let s = paper_12_24();
    // Trial 211 elects a leader within 35 ms of the crash, which is deposed at once: 25 terms follow before
    // every survivor follows one leader (counting up to the first leader said 1 round).
    let (r, lines) = trace_trial(&s, 211, None);
    let crash = crash_time(&lines);
    let converged = crash + r.convergence_us[0];
    let mut campaigned = BTreeSet::new();
    let mut led = BTreeSet::new();
    let mut first_leader_term = None;
    for l in lines
        .iter()
        .filter(|l| l.event == TraceEvent::Role && l.t_us > crash && l.t_us <= converged)
    {
        match l.role {
            Some("candidate") => {
                campaigned.insert(l.term.unwrap());
            }
            Some("leader") => {
                campaigned.insert(l.term.unwrap());
                led.insert(l.term.unwrap());
                first_leader_term.get_or_insert(l.term.unwrap());
            }
            _ => {}
        }
    }
    let until_first = campaigned.iter().filter(|&&t| t <= first_leader_term.unwrap()).count();
    assert!(led.len() > 1, "the first leader after the crash was deposed: {led:?}");
    assert_eq!(r.rounds as usize, campaigned.len(), "{campaigned:?}");
    assert_eq!(r.split_votes as usize, campaigned.difference(&led).count());
    assert!(
        r.rounds as usize > until_first,
        "more rounds than up to the first leader ({until_first})"
    );
    assert!(r.rounds >= 20, "{} rounds", r.rounds);
}

#[test]
fn partial_partition_counts_elections_without_a_reachable_leader() {
    let s = load("scenarios/partial-partition.yaml", &[]);
    let (mut with, mut without) = (0, 0);
    for i in 0..10 {
        let r = run_trial(&s, i);
        let (total, reachable) = r.elections;
        assert!(reachable <= total);
        // No leadership transfer here: the spurious elections are exactly those with a reachable leader.
        assert_eq!(r.spurious_elections, reachable, "trial {i}");
        with += reachable;
        without += total - reachable;
    }
    // The cut-off node cannot reach the leader it campaigns against: every flap of leadership is an election
    // that spurious_elections leaves out.
    assert!(
        without > 100 * with.max(1),
        "{without} without, {with} with a reachable leader"
    );
}

/// Replays the trace's statuses: (time with a leader followed by a majority, from the first such moment to
/// `end`) on a network that is never cut.
fn availability_from_trace(lines: &[TraceLine], nodes: usize, end: u64) -> Option<(u64, u64)> {
    // node -> (role, term, leader)
    let mut status: BTreeMap<usize, (&str, u64, Option<usize>)> = BTreeMap::new();
    let up = |status: &BTreeMap<usize, (&str, u64, Option<usize>)>| {
        let Some((&l, &(_, term, _))) = status
            .iter()
            .filter(|(_, s)| s.0 == "leader")
            .max_by_key(|(n, s)| (s.1, std::cmp::Reverse(**n)))
        else {
            return false;
        };
        status.values().filter(|s| s.1 == term && s.2 == Some(l)).count() > nodes / 2
    };
    let (mut first, mut last, mut total, mut was_up) = (None, 0, 0, false);
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].t_us;
        while i < lines.len() && lines[i].t_us == t {
            let l = &lines[i];
            match l.event {
                TraceEvent::Crash => {
                    status.remove(&l.node.unwrap());
                }
                TraceEvent::Role => {
                    let leader = l.detail.rsplit("(leader ").next().unwrap().trim_end_matches(')');
                    let leader = (leader != "none").then(|| leader[1..].parse().unwrap());
                    status.insert(l.node.unwrap(), (l.role.unwrap(), l.term.unwrap(), leader));
                }
                _ => {}
            }
            i += 1;
        }
        if was_up {
            total += t - last;
        }
        last = t;
        was_up = up(&status);
        if was_up && first.is_none() {
            first = Some(t);
        }
    }
    if was_up {
        total += end - last;
    }
    first.map(|f| (total, end - f))
}

#[test]
fn availability_is_one_without_faults_after_the_first_leader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quiet.yaml");
    std::fs::write(
        &path,
        "name: quiet\nseed: 1\ntrials: 5\ntime_limit: 10s\ncluster: { nodes: 5 }\n\
         raft: { election_timeout: { min: 150ms, max: 300ms }, heartbeat: 50ms }\n\
         network: { latency: { uniform: { min: 1ms, max: 5ms } } }\nfaults:\n  - at: 5s\n    heal: all\n",
    )
    .unwrap();
    let s = scenario::load(&path, &[]).unwrap();
    for i in 0..5 {
        let r = run_trial(&s, i);
        let (up, span) = r.leader_availability.expect("a leader was followed");
        assert!(span > 4_000_000, "trial {i}: measured over {span} us");
        assert_eq!(up, span, "trial {i}");
    }
}

#[test]
fn leader_crash_loses_availability_for_the_failover() {
    let s = load("scenarios/leader-crash.yaml", &[]);
    for i in 0..3 {
        let (r, lines) = trace_trial(&s, i, None);
        let (up, span) = r.leader_availability.unwrap();
        assert_eq!(
            Some((up, span)),
            availability_from_trace(&lines, s.nodes, r.end_us),
            "trial {i}"
        );
        // The leader is missing from the crash until a majority follows the new one: at least the election
        // time, at most the convergence time (all four survivors follow it).
        let down = span - up;
        assert!(
            r.election_us[0] <= down && down <= r.convergence_us[0],
            "trial {i}: {down} us down, {r:?}"
        );
        // Measured from the moment a majority first followed the first leader, to the trial's end.
        let crash = crash_time(&lines);
        assert!(r.end_us - span >= r.first_leader_us.unwrap() && r.end_us - span < crash);
        let fraction = up as f64 / span as f64;
        assert!((fraction - (1.0 - down as f64 / span as f64)).abs() < 1e-12);
    }
}

#[test]
fn write_availability_counts_ticks_committed_within_the_bound() {
    let at = |bound: &str| {
        let s = load(
            "scenarios/leader-crash-load.yaml",
            &[&format!("workload.commit_bound={bound}")],
        );
        let r = run_trial(&s, 0);
        let (ok, counted) = r.write_availability.expect("a workload");
        assert!(ok <= counted && counted <= r.commands.0 + r.commands.1, "{r:?}");
        (ok, counted, r)
    };
    let (tight, _, _) = at("1us");
    let (default, _, _) = at("1s");
    let (loose, counted, r) = at("50s");
    assert_eq!(tight, 0, "no command commits within a microsecond");
    assert!(default > 0 && default <= loose);
    // A bound longer than the trial: every command that committed made it, every refused tick failed, and the
    // commands still in flight are not counted.
    assert_eq!(loose, r.commit_us.len() as u64);
    assert_eq!(counted, r.commands.1 + loose);
}
