//! Network rules limited to message kinds, and timer jitter, from the scenario file to the wire.

use raftsim::scenario::{self, Scenario};
use raftsim::trace::{TraceEvent, TraceLine, WireKind};
use raftsim::trial::{run_trial, trace_trial};

fn load(path: &str, sets: &[&str]) -> Scenario {
    try_load(path, sets).expect("scenario loads")
}

fn try_load(path: &str, sets: &[&str]) -> Result<Scenario, String> {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    scenario::load(std::path::Path::new(path), &sets).map_err(|e| e.to_string())
}

/// Lines of `event` at `node` about messages of `kind` (sends are at the sender, deliveries at the receiver).
fn count(trace: &[TraceLine], event: TraceEvent, node: usize, kind: WireKind) -> usize {
    trace
        .iter()
        .filter(|l| l.event == event && l.node == Some(node) && l.kind == Some(kind))
        .count()
}

fn applied(trace: &[TraceLine], node: usize) -> usize {
    trace
        .iter()
        .filter(|l| l.event == TraceEvent::Apply && l.node == Some(node))
        .count()
}

/// Nodes 0-2 start one entry ahead, so only they can win an election; a client writes every 10 ms; the
/// trial ends 2 s in. AppendEntries carrying entries never reach nodes 3 and 4.
fn entries_lost_to_3_and_4(implementation: &str) -> Scenario {
    load(
        "scenarios/leader-crash-load.yaml",
        &[
            &format!("raft.implementation={implementation}"),
            "cluster.initial_logs=[[1], [1], [1]]",
            "faults=[{at: 2s, heal: all}]",
            "network.links=[{from: [0, 1, 2], to: [3, 4], one_way: true, kinds: [append_entries], loss: 1.0}]",
        ],
    )
}

#[test]
fn losing_entries_to_two_followers_keeps_their_logs_behind_while_heartbeats_keep_them_followers() {
    // raft-rs sends heartbeats (MsgHeartbeat) apart from appends, so a follower whose appends are all lost
    // still hears its leader.
    let s = entries_lost_to_3_and_4("raft-rs");
    for i in 0..5 {
        let (r, trace) = trace_trial(&s, i, None);
        let elected = r.first_leader_us.expect("a leader is elected");
        for n in [3, 4] {
            assert_eq!(applied(&trace, n), 0, "trial {i}: n{n}'s log stays behind");
            assert_eq!(count(&trace, TraceEvent::Deliver, n, WireKind::AppendEntries), 0);
            assert!(
                count(&trace, TraceEvent::Deliver, n, WireKind::Heartbeat) > 10,
                "heartbeats arrive"
            );
            assert!(
                !trace.iter().any(|l| l.t_us > elected
                    && l.node == Some(n)
                    && l.event == TraceEvent::Role
                    && l.detail.contains("candidate")),
                "trial {i}: n{n} stays a follower once a leader is elected"
            );
        }
        for n in 0..3 {
            assert!(
                applied(&trace, n) > 100,
                "trial {i}: n{n} applies the client's commands"
            );
        }
        let elections = trace
            .iter()
            .filter(|l| l.event == TraceEvent::Role && l.detail.contains("-> leader ("))
            .count();
        assert_eq!(elections, 1, "trial {i}: one leader for the whole trial");
    }
}

#[test]
fn the_model_sends_a_lagging_follower_its_entries_with_every_heartbeat_so_losing_entries_silences_the_leader() {
    // The model follows the paper's Figure 2: each heartbeat carries the entries from the follower's
    // next_index, so once a follower is behind, no empty AppendEntries reach it and it times out.
    let s = entries_lost_to_3_and_4("model");
    for i in 0..5 {
        let (_, trace) = trace_trial(&s, i, None);
        for n in [3, 4] {
            assert_eq!(applied(&trace, n), 0, "trial {i}: n{n}'s log stays behind");
            assert_eq!(count(&trace, TraceEvent::Deliver, n, WireKind::AppendEntries), 0);
            // Heartbeats arrive only while n3 and n4 are not yet behind.
            assert!(
                count(&trace, TraceEvent::Deliver, n, WireKind::Heartbeat) > 0,
                "trial {i}: n{n} heard heartbeats"
            );
            assert!(
                trace
                    .iter()
                    .any(|l| l.node == Some(n) && l.event == TraceEvent::Role && l.detail.contains("candidate")),
                "trial {i}: n{n} times out"
            );
        }
    }
}

#[test]
fn a_reply_rule_on_every_link_delays_replies_only_in_both_implementations() {
    for implementation in ["model", "raft-rs"] {
        let s = load(
            "scenarios/leader-crash-load.yaml",
            &[
                &format!("raft.implementation={implementation}"),
                "network.latency={constant: 1ms}",
                "network.links=[{kinds: [vote_reply, append_entries_reply], latency: {constant: 40ms}}]",
            ],
        );
        let (_, trace) = trace_trial(&s, 0, None);
        let mut seen = [0usize; 5];
        for l in trace.iter().filter(|l| l.event == TraceEvent::Send) {
            let kind = l.kind.expect("sends have a kind");
            let delay = l.arrives_us.expect("nothing is lost") - l.t_us;
            let want = match kind {
                WireKind::RequestVoteReply | WireKind::AppendEntriesReply => 40_000,
                _ => 1_000,
            };
            // Messages that wait for a durable write leave later; this scenario has instant disks.
            assert_eq!(delay, want, "{implementation}: {kind:?} at {}", l.t_us);
            seen[kind.class() as usize] += 1;
        }
        assert!(
            seen.iter().all(|&c| c > 0),
            "{implementation}: every kind was sent: {seen:?}"
        );
    }
}

#[test]
fn a_kind_limited_cut_drops_those_kinds_for_the_whole_trial() {
    // Node 4 never hears a RequestVote, so it never votes; the others still elect a leader it follows.
    let s = load(
        "scenarios/cold-start.yaml",
        &["network.links=[{to: [4], one_way: true, kinds: [request_vote], cut: true}]"],
    );
    for i in 0..5 {
        let (r, trace) = trace_trial(&s, i, None);
        assert!(r.first_leader_us.is_some());
        assert_eq!(count(&trace, TraceEvent::Deliver, 4, WireKind::RequestVote), 0);
        let dropped = trace
            .iter()
            .filter(|l| l.event == TraceEvent::Drop && l.peer == Some(4))
            .count();
        assert!(dropped > 0, "the votes asked of n4 are dropped");
        assert!(
            trace
                .iter()
                .filter(|l| l.event == TraceEvent::Drop)
                .all(|l| l.peer == Some(4) && l.kind == Some(WireKind::RequestVote)),
            "nothing else is"
        );
        assert!(count(&trace, TraceEvent::Deliver, 4, WireKind::Heartbeat) > 0);
    }
}

#[test]
fn kind_rules_refuse_what_would_be_a_mistake() {
    let cases = [
        ("network.links=[{kinds: [], loss: 1.0}]", "list at least one kind"),
        (
            "network.links=[{kinds: [heartbeat], cut: true, loss: 1.0}]",
            "takes no latency",
        ),
        ("network.links=[{kinds: [heartbeats], loss: 1.0}]", "vote_reply"),
    ];
    for (set, want) in cases {
        let e = try_load("scenarios/cold-start.yaml", &[set]).expect_err(set);
        assert!(e.contains(want), "{set}: {e}");
    }
}

#[test]
fn timer_jitter_moves_timers_and_zero_jitter_changes_nothing() {
    let plain = load("scenarios/leader-crash.yaml", &["trials=20"]);
    let zero = load("scenarios/leader-crash.yaml", &["cluster.timer_jitter={constant: 0ms}"]);
    let jitter = load(
        "scenarios/leader-crash.yaml",
        &["cluster.timer_jitter={uniform: {min: 0ms, max: 1ms}}"],
    );
    let (mut differ, mut close) = (0, 0);
    for i in 0..20 {
        let p = run_trial(&plain, i);
        assert_eq!(
            p,
            run_trial(&zero, i),
            "trial {i}: zero jitter draws nothing that matters"
        );
        let j = run_trial(&jitter, i);
        differ += usize::from(j.election_us != p.election_us);
        close += usize::from(
            p.first_leader_us
                .zip(j.first_leader_us)
                .is_some_and(|(a, b)| a.abs_diff(b) <= 2_000),
        );
    }
    assert!(differ > 15, "jitter moves elections: {differ} of 20");
    assert!(close > 10, "by about a millisecond: {close} of 20");
    let one = load(
        "scenarios/leader-crash.yaml",
        &["cluster.hosts=[{nodes: [2], timer_jitter: {constant: 3ms}}]"],
    );
    assert!(
        one.hosts
            .iter()
            .enumerate()
            .all(|(i, h)| h.timer_jitter.is_some() == (i == 2))
    );
}
