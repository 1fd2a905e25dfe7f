//! Election options production libraries ship: pre-vote and leader stickiness (Raft thesis, section 9.6),
//! check-quorum (thesis 6.2), candidate timeouts, randomized exponential backoff, and tick-quantized timers
//! as etcd/raft and raft-rs have them.

use raft_model::testing::Recorder;
use raft_model::*;
use std::time::Duration;

const MS: Duration = Duration::from_millis(1);

fn node(id: u32, n: usize, config: Config) -> (Node, Recorder) {
    let mut node = Node::new(NodeId(id), n, config, None);
    let mut env = Recorder::new(id as u64 + 1);
    node.step(&mut env, Input::Boot);
    (node, env)
}

fn vote_requests(env: &mut Recorder) -> Vec<(NodeId, RequestVote)> {
    env.take_sent()
        .into_iter()
        .filter_map(|(to, m)| match m {
            Message::RequestVote(rv) => Some((to, rv)),
            _ => None,
        })
        .collect()
}

fn heartbeat(term: u64) -> Message {
    Message::AppendEntries {
        term: Term(term),
        prev_log_index: LogIndex(0),
        prev_log_term: Term(0),
        entries: Entries::new(),
        leader_commit: LogIndex(0),
    }
}

fn pre_vote_config() -> Config {
    Config {
        pre_vote: true,
        ..Config::default()
    }
}

#[test]
fn pre_vote_asks_first_without_raising_the_term() {
    let (mut n, mut env) = node(0, 5, pre_vote_config());
    let persists = env.persists;
    n.step(&mut env, Input::Timeout(Timer::Election));
    assert_eq!(n.role(), Role::PreCandidate);
    assert_eq!(n.term(), Term(0), "a pre-vote changes no term");
    assert_eq!(env.persists, persists, "and persists nothing");
    let reqs = vote_requests(&mut env);
    assert_eq!(reqs.len(), 4);
    assert!(reqs.iter().all(|(_, rv)| rv.pre_vote && rv.term == Term(1)));
    // Two grants plus its own make a majority of five: now a real election in term 1.
    for from in [1, 2] {
        let reply = Message::RequestVoteReply {
            term: Term(1),
            vote_granted: true,
            pre_vote: true,
        };
        n.step(
            &mut env,
            Input::Message {
                from: NodeId(from),
                msg: reply,
            },
        );
    }
    assert_eq!(n.role(), Role::Candidate);
    assert_eq!(n.term(), Term(1));
    assert_eq!(env.storage.current_term, Term(1));
    let reqs = vote_requests(&mut env);
    assert!(reqs.iter().all(|(_, rv)| !rv.pre_vote && rv.term == Term(1)));
}

#[test]
fn pre_vote_is_refused_while_a_leader_is_heard_and_changes_nothing_for_the_voter() {
    let (mut voter, mut env) = node(1, 3, pre_vote_config());
    env.now = Duration::from_secs(10);
    voter.step(
        &mut env,
        Input::Message {
            from: NodeId(0),
            msg: heartbeat(1),
        },
    );
    env.take_sent();
    let ask = Message::RequestVote(RequestVote {
        term: Term(2),
        last_log_index: LogIndex(0),
        last_log_term: Term(0),
        pre_vote: true,
        leadership_transfer: false,
    });
    env.now += 50 * MS; // below the 150 ms minimum election timeout: the leader is still fresh
    voter.step(
        &mut env,
        Input::Message {
            from: NodeId(2),
            msg: ask.clone(),
        },
    );
    let sent = env.take_sent();
    assert_eq!(
        sent[0].1,
        Message::RequestVoteReply {
            term: Term(1),
            vote_granted: false,
            pre_vote: true
        }
    );
    env.now += 200 * MS; // the leader has gone quiet
    voter.step(
        &mut env,
        Input::Message {
            from: NodeId(2),
            msg: ask,
        },
    );
    let sent = env.take_sent();
    assert_eq!(
        sent[0].1,
        Message::RequestVoteReply {
            term: Term(2),
            vote_granted: true,
            pre_vote: true
        }
    );
    assert_eq!(voter.term(), Term(1), "granting a pre-vote does not adopt its term");
    assert_eq!(voter.voted_for(), None);
}

#[test]
fn check_quorum_steps_a_leader_down_when_a_majority_is_silent() {
    let config = Config {
        check_quorum: true,
        ..Config::default()
    };
    let (mut n, mut env) = node(0, 3, config);
    n.step(&mut env, Input::Timeout(Timer::Election));
    let reply = Message::RequestVoteReply {
        term: Term(1),
        vote_granted: true,
        pre_vote: false,
    };
    n.step(
        &mut env,
        Input::Message {
            from: NodeId(1),
            msg: reply,
        },
    );
    assert_eq!(n.role(), Role::Leader);
    assert_eq!(
        env.timers[Timer::Quorum as usize],
        Some(150 * MS),
        "checked every minimum election timeout"
    );
    // One follower answered: with the leader, two of three: still a quorum.
    let ack = Message::AppendEntriesReply {
        term: Term(1),
        success: true,
        match_index: LogIndex(0),
        conflict: None,
    };
    n.step(
        &mut env,
        Input::Message {
            from: NodeId(2),
            msg: ack,
        },
    );
    n.step(&mut env, Input::Timeout(Timer::Quorum));
    assert_eq!(n.role(), Role::Leader);
    // Nobody answered since: step down.
    n.step(&mut env, Input::Timeout(Timer::Quorum));
    assert_eq!(n.role(), Role::Follower);
    assert_eq!(n.term(), Term(1), "stepping down does not change the term");
    assert_eq!(env.timers[Timer::Heartbeat as usize], None);
    assert!(env.timers[Timer::Election as usize].is_some());
}

#[test]
fn leader_stickiness_ignores_vote_requests_while_a_leader_is_heard() {
    let config = Config {
        leader_stickiness: true,
        ..Config::default()
    };
    let (mut n, mut env) = node(1, 3, config);
    env.now = Duration::from_secs(1);
    n.step(
        &mut env,
        Input::Message {
            from: NodeId(0),
            msg: heartbeat(1),
        },
    );
    env.take_sent();
    let rv = Message::RequestVote(RequestVote {
        term: Term(5),
        last_log_index: LogIndex(0),
        last_log_term: Term(0),
        pre_vote: false,
        leadership_transfer: false,
    });
    env.now += 100 * MS;
    n.step(
        &mut env,
        Input::Message {
            from: NodeId(2),
            msg: rv.clone(),
        },
    );
    assert!(env.take_sent().is_empty(), "ignored: no reply");
    assert_eq!(n.term(), Term(1), "and no term change");
    env.now += 100 * MS; // 200 ms since the leader: longer than the minimum timeout
    n.step(
        &mut env,
        Input::Message {
            from: NodeId(2),
            msg: rv,
        },
    );
    assert_eq!(n.term(), Term(5));
    assert_eq!(n.voted_for(), Some(NodeId(2)));
}

#[test]
fn a_failed_election_draws_from_the_candidate_range() {
    let config = Config {
        candidate_timeout: Some((1000 * MS, 1000 * MS)),
        ..Config::default()
    };
    let (mut n, mut env) = node(0, 5, config);
    let first = env.timers[Timer::Election as usize].unwrap();
    assert!(
        first >= 150 * MS && first <= 300 * MS,
        "a follower uses the normal range"
    );
    n.step(&mut env, Input::Timeout(Timer::Election)); // becomes candidate in term 1
    assert_eq!(
        env.timers[Timer::Election as usize],
        Some(1000 * MS),
        "a candidate uses the candidate range"
    );
}

#[test]
fn backoff_grows_with_consecutive_failed_elections() {
    let config = Config {
        backoff_max_exponent: Some(3),
        ..Config::default()
    };
    let mut longest = [Duration::ZERO; 6];
    for seed in 0..300 {
        let mut n = Node::new(NodeId(0), 5, config.clone(), None);
        let mut env = Recorder::new(seed);
        n.step(&mut env, Input::Boot);
        for (round, longest) in longest.iter_mut().enumerate() {
            n.step(&mut env, Input::Timeout(Timer::Election));
            let t = env.timers[Timer::Election as usize].unwrap();
            // Round r follows r failed elections (the first comes from a follower): at most 2^min(r, 3) - 1
            // extra minimum timeouts.
            let extra = (1u32 << round.min(3)) - 1;
            assert!(t <= 300 * MS + 150 * MS * extra, "round {round}: {t:?}");
            *longest = (*longest).max(t);
        }
    }
    assert!(longest[0] <= 300 * MS, "no backoff before a failure");
    assert!(
        longest[3] > 300 * MS + 150 * MS * 5,
        "the window really grows: {:?}",
        longest[3]
    );
    assert!(longest[5] <= 300 * MS + 150 * MS * 7, "capped at 2^3 - 1 slots");
}

fn etcd() -> Config {
    Config {
        ticks: Some(TickConfig {
            tick: 100 * MS,
            election_min: 10,
            election_max: 19,
            heartbeat: 1,
        }),
        ..Config::default()
    }
}

#[test]
fn tick_timers_count_whole_ticks_and_heartbeats_reset_the_count() {
    let (mut n, mut env) = node(0, 3, etcd());
    let phase = env.timers[Timer::Tick as usize].unwrap();
    assert!(
        phase > Duration::ZERO && phase <= 100 * MS,
        "the ticker starts at a random phase"
    );
    assert_eq!(
        env.timers[Timer::Election as usize],
        None,
        "no continuous election timer"
    );
    let mut ticks = 0;
    while n.role() == Role::Follower {
        n.step(&mut env, Input::Timeout(Timer::Tick));
        assert_eq!(env.timers[Timer::Tick as usize], Some(100 * MS));
        ticks += 1;
        if ticks == 5 {
            // A heartbeat zeroes the count: the timeout starts over.
            n.step(
                &mut env,
                Input::Message {
                    from: NodeId(1),
                    msg: heartbeat(0),
                },
            );
        }
    }
    assert_eq!(n.role(), Role::Candidate);
    assert!(
        (15..=24).contains(&ticks),
        "5 ticks, a reset, then 10 to 19 ticks: {ticks}"
    );
}

#[test]
fn tick_timers_start_over_when_a_follower_moves_to_a_higher_term() {
    // raft-rs `Raft::become_follower` -> `reset(term)`: election_elapsed = 0 and a new randomized timeout. A
    // follower that kept its old count would campaign one tick after a refused higher-term vote request.
    let exact = Config {
        ticks: Some(TickConfig {
            election_max: 10,
            ..etcd().ticks.unwrap()
        }),
        ..etcd()
    };
    let mut n = Node::new(
        NodeId(0),
        3,
        exact,
        Some(Persistent {
            current_term: Term(1),
            voted_for: None,
            log: vec![Entry {
                term: Term(1),
                command: 7,
            }],
        }),
    );
    let mut env = Recorder::new(1);
    n.step(&mut env, Input::Boot);
    for _ in 0..9 {
        n.step(&mut env, Input::Timeout(Timer::Tick));
    }
    assert_eq!(n.role(), Role::Follower, "nine ticks of ten");
    // A candidate with a shorter log asks in term 5: refused, but the term moves on.
    let behind = RequestVote {
        term: Term(5),
        last_log_index: LogIndex(0),
        last_log_term: Term(0),
        pre_vote: false,
        leadership_transfer: false,
    };
    n.step(
        &mut env,
        Input::Message {
            from: NodeId(1),
            msg: Message::RequestVote(behind),
        },
    );
    assert_eq!((n.term(), n.voted_for()), (Term(5), None));
    for tick in 1..=10 {
        n.step(&mut env, Input::Timeout(Timer::Tick));
        let expect = if tick < 10 { Role::Follower } else { Role::Candidate };
        assert_eq!(n.role(), expect, "tick {tick} after the new term");
    }
}

#[test]
fn tick_timeouts_are_uniform_over_whole_ticks() {
    let mut counts = [0u32; 20];
    for seed in 0..2000 {
        let mut n = Node::new(NodeId(0), 3, etcd(), None);
        let mut env = Recorder::new(seed);
        n.step(&mut env, Input::Boot);
        let mut ticks = 0;
        while n.role() == Role::Follower {
            n.step(&mut env, Input::Timeout(Timer::Tick));
            ticks += 1;
        }
        counts[ticks] += 1;
    }
    assert!(counts[..10].iter().all(|&c| c == 0), "never before 10 ticks");
    // Each of the 10 values should get 200 of 2000; binomial sd ~ 13.4, allow 60 (4.5 sd).
    assert!(counts[10..20].iter().all(|&c| (140..=260).contains(&c)), "{counts:?}");
}

#[test]
fn tick_leaders_send_heartbeats_every_heartbeat_ticks() {
    let config = Config {
        ticks: Some(TickConfig {
            tick: 100 * MS,
            election_min: 20,
            election_max: 39,
            heartbeat: 2,
        }),
        ..Config::default()
    };
    let (mut n, mut env) = node(0, 3, config);
    while n.role() != Role::Candidate {
        n.step(&mut env, Input::Timeout(Timer::Tick));
    }
    let reply = Message::RequestVoteReply {
        term: n.term(),
        vote_granted: true,
        pre_vote: false,
    };
    n.step(
        &mut env,
        Input::Message {
            from: NodeId(1),
            msg: reply,
        },
    );
    assert_eq!(n.role(), Role::Leader);
    env.take_sent();
    let mut sent_per_tick = Vec::new();
    for _ in 0..6 {
        n.step(&mut env, Input::Timeout(Timer::Tick));
        sent_per_tick.push(env.take_sent().len());
    }
    assert_eq!(
        sent_per_tick,
        [0, 2, 0, 2, 0, 2],
        "a heartbeat to both peers every second tick"
    );
}

#[test]
fn invalid_configurations_are_refused_with_a_reason() {
    let bad = Config {
        election_timeout_min: 300 * MS,
        election_timeout_max: 150 * MS,
        ..Config::default()
    };
    assert!(bad.validate().is_err());
    let bad = Config {
        candidate_timeout: Some((MS, MS)),
        ..etcd()
    };
    assert!(bad.validate().unwrap_err().contains("continuous"));
    assert!(Config::default().validate().is_ok());
    assert!(etcd().validate().is_ok());
}

// ---- library behaviours (Behaviour::RAFT_RS), each against the paper's ------------------------------------

fn raft_rs(pre_vote: bool, check_quorum: bool) -> Config {
    Config {
        pre_vote,
        check_quorum,
        behaviour: Behaviour::RAFT_RS,
        ..Config::default()
    }
}

fn deliver(n: &mut Node, env: &mut Recorder, from: u32, msg: Message) -> Vec<Message> {
    n.step(
        env,
        Input::Message {
            from: NodeId(from),
            msg,
        },
    );
    env.take_sent().into_iter().map(|(_, m)| m).collect()
}

/// A follower of term 5 (it heard a term-5 leader, n0).
fn follower_in_term_5(config: Config) -> (Node, Recorder) {
    let (mut n, mut env) = node(1, 5, config);
    deliver(&mut n, &mut env, 0, heartbeat(5));
    (n, env)
}

#[test]
fn an_older_term_append_gets_a_reply_only_as_its_library_gives_one() {
    // raft-rs `Raft::step`, `m.term < self.term`: reply only with check-quorum or pre-vote.
    let (mut n, mut env) = follower_in_term_5(raft_rs(false, false));
    assert!(deliver(&mut n, &mut env, 2, heartbeat(3)).is_empty(), "ignored");
    for config in [raft_rs(true, false), raft_rs(false, true), Config::default()] {
        let (mut n, mut env) = follower_in_term_5(config);
        let sent = deliver(&mut n, &mut env, 2, heartbeat(3));
        assert!(
            matches!(
                sent[..],
                [Message::AppendEntriesReply {
                    term: Term(5),
                    success: false,
                    ..
                }]
            ),
            "{sent:?}"
        );
    }
}

#[test]
fn an_older_term_vote_request_is_ignored_by_raft_rs_and_refused_by_the_paper() {
    let old = Message::RequestVote(RequestVote {
        term: Term(3),
        last_log_index: LogIndex(0),
        last_log_term: Term(0),
        pre_vote: false,
        leadership_transfer: false,
    });
    let (mut n, mut env) = follower_in_term_5(raft_rs(true, true));
    assert!(deliver(&mut n, &mut env, 2, old.clone()).is_empty());
    let (mut n, mut env) = follower_in_term_5(Config::default());
    let sent = deliver(&mut n, &mut env, 2, old);
    assert!(matches!(
        sent[..],
        [Message::RequestVoteReply {
            term: Term(5),
            vote_granted: false,
            ..
        }]
    ));
}

#[test]
fn raft_rs_refuses_an_election_for_a_live_leader_only_under_check_quorum() {
    let ask = |pre_vote| {
        Message::RequestVote(RequestVote {
            term: Term(6),
            last_log_index: LogIndex(0),
            last_log_term: Term(0),
            pre_vote,
            leadership_transfer: false,
        })
    };
    // Check-quorum: within the lease both a pre-vote and a real vote request are dropped, with no reply and no
    // change of term (raft-rs `in_lease`).
    for pre_vote in [true, false] {
        let (mut n, mut env) = follower_in_term_5(raft_rs(true, true));
        env.now += 50 * MS;
        assert!(
            deliver(&mut n, &mut env, 2, ask(pre_vote)).is_empty(),
            "pre_vote {pre_vote}"
        );
        assert_eq!(n.term(), Term(5));
    }
    // Pre-vote alone: granted although the leader is live (the paper's pre-vote refuses it).
    let (mut n, mut env) = follower_in_term_5(raft_rs(true, false));
    env.now += 50 * MS;
    let sent = deliver(&mut n, &mut env, 2, ask(true));
    assert!(matches!(
        sent[..],
        [Message::RequestVoteReply {
            vote_granted: true,
            pre_vote: true,
            ..
        }]
    ));
    let (mut n, mut env) = follower_in_term_5(pre_vote_config());
    env.now += 50 * MS;
    let sent = deliver(&mut n, &mut env, 2, ask(true));
    assert!(matches!(
        sent[..],
        [Message::RequestVoteReply {
            vote_granted: false,
            pre_vote: true,
            ..
        }]
    ));
}

/// Node 0 of 3 wins term 1 with node 1's vote.
fn win_term_1(config: Config) -> (Node, Recorder) {
    let (mut n, mut env) = node(0, 3, config);
    n.step(&mut env, Input::Timeout(Timer::Election));
    env.take_sent();
    let grant = Message::RequestVoteReply {
        term: Term(1),
        vote_granted: true,
        pre_vote: false,
    };
    deliver(&mut n, &mut env, 1, grant);
    assert_eq!(n.role(), Role::Leader);
    (n, env)
}

#[test]
fn a_raft_rs_leader_appends_an_empty_entry_of_its_term_when_elected() {
    let (n, env) = win_term_1(raft_rs(false, false));
    let noop = Entry {
        term: Term(1),
        command: NOOP_COMMAND,
    };
    assert_eq!(n.log(), &[noop]);
    assert_eq!(env.storage.log, vec![noop], "persisted like any entry");
    let (n, _) = win_term_1(Config::default());
    assert!(n.log().is_empty(), "the paper's leader appends nothing");
}

#[test]
fn a_raft_rs_candidate_refused_by_a_majority_steps_down_at_once() {
    for (config, steps_down) in [(raft_rs(false, false), true), (Config::default(), false)] {
        let (mut n, mut env) = node(0, 5, config);
        n.step(&mut env, Input::Timeout(Timer::Election));
        assert_eq!(n.role(), Role::Candidate);
        let refusal = Message::RequestVoteReply {
            term: Term(1),
            vote_granted: false,
            pre_vote: false,
        };
        for from in [1, 2, 2] {
            deliver(&mut n, &mut env, from, refusal.clone());
        }
        assert_eq!(
            n.role(),
            Role::Candidate,
            "two distinct refusals of five are not a majority"
        );
        deliver(&mut n, &mut env, 3, refusal);
        let expect = if steps_down { Role::Follower } else { Role::Candidate };
        assert_eq!(n.role(), expect);
        assert_eq!(n.term(), Term(1), "it stays in its term");
    }
}

// ---- leadership transfer (thesis section 3.10) --------------------------------------------------------------

#[test]
fn a_leader_hands_over_with_timeout_now_once_the_successor_is_caught_up() {
    // raft-rs `Raft::handle_transfer_leader`: TimeoutNow at once if the transferee's log is complete, else entries
    // first and TimeoutNow when its reply shows it caught up. Meanwhile proposals are refused.
    let (mut n, mut env) = win_term_1(raft_rs(false, false));
    assert_eq!(n.log().len(), 1, "the leader's empty entry, not yet on n1");
    n.transfer_leadership(&mut env, NodeId(1)).unwrap();
    let sent = env.take_sent();
    assert!(
        sent.iter().all(|(_, m)| !matches!(m, Message::TimeoutNow { .. })),
        "n1 is behind: entries first"
    );
    assert!(
        sent.iter()
            .any(|(to, m)| *to == NodeId(1) && matches!(m, Message::AppendEntries { .. }))
    );
    assert_eq!(n.start(&mut env, 42).unwrap_err().leader_hint, Some(NodeId(1)));
    let caught_up = Message::AppendEntriesReply {
        term: Term(1),
        success: true,
        match_index: LogIndex(1),
        conflict: None,
    };
    let sent = deliver(&mut n, &mut env, 1, caught_up);
    assert!(sent.contains(&Message::TimeoutNow { term: Term(1) }), "{sent:?}");
    // Given up after one minimum election timeout: commands are taken again.
    env.now += 200 * MS;
    n.step(&mut env, Input::Timeout(Timer::Heartbeat));
    assert!(n.start(&mut env, 42).is_ok());
}

#[test]
fn timeout_now_starts_an_election_that_a_sticky_voter_grants() {
    // The successor campaigns at once, without pre-vote, flagged as a transfer...
    let (mut n, mut env) = node(
        1,
        3,
        Config {
            pre_vote: true,
            ..Config::default()
        },
    );
    deliver(&mut n, &mut env, 0, heartbeat(1));
    let sent = deliver(&mut n, &mut env, 0, Message::TimeoutNow { term: Term(1) });
    assert_eq!((n.role(), n.term()), (Role::Candidate, Term(2)));
    let Some(Message::RequestVote(rv)) = sent.first() else {
        panic!("{sent:?}")
    };
    assert!(rv.leadership_transfer && !rv.pre_vote);
    // ... and a voter that hears the live leader, and would drop an ordinary request, grants it.
    let sticky = Config {
        leader_stickiness: true,
        ..Config::default()
    };
    for (transfer, granted) in [(false, None), (true, Some(true))] {
        let (mut voter, mut env) = node(2, 3, sticky.clone());
        deliver(&mut voter, &mut env, 0, heartbeat(1));
        env.now += 20 * MS;
        let ask = Message::RequestVote(RequestVote {
            leadership_transfer: transfer,
            ..*rv
        });
        let reply = deliver(&mut voter, &mut env, 1, ask);
        let got = reply.iter().find_map(|m| match m {
            Message::RequestVoteReply { vote_granted, .. } => Some(*vote_granted),
            _ => None,
        });
        assert_eq!(got, granted, "transfer flag {transfer}");
    }
    // A stale TimeoutNow (an older term, or not from the leader) changes nothing.
    let (mut n, mut env) = node(1, 3, Config::default());
    deliver(&mut n, &mut env, 0, heartbeat(3));
    assert!(deliver(&mut n, &mut env, 2, Message::TimeoutNow { term: Term(3) }).is_empty());
    assert_eq!(n.role(), Role::Follower);
}

// ---- boundaries of the tick-timer options ------------------------------------------------------------------

/// Ticks node 0 until its term changes; returns how many ticks that took.
fn ticks_to_next_term(n: &mut Node, env: &mut Recorder) -> u32 {
    let term = n.term();
    let mut ticks = 0;
    while n.term() == term {
        n.step(env, Input::Timeout(Timer::Tick));
        ticks += 1;
        assert!(ticks < 10_000, "no election");
    }
    ticks
}

#[test]
fn tick_backoff_adds_whole_minimum_timeouts_after_each_failed_election() {
    // After k failed elections in a row the timeout grows by r * election_min ticks, r uniform in
    // [0, 2^min(k, 3) - 1]. Round r is the timeout drawn after r - 1 failed elections (the first two are drawn
    // by a follower and by a first candidate): with 10-19 ticks, round 4 can wait up to 19 + 7 * 10 ticks, and
    // does.
    let config = Config {
        backoff_max_exponent: Some(3),
        ..etcd()
    };
    let mut longest = [0u32; 5];
    for seed in 0..300 {
        let mut n = Node::new(NodeId(0), 5, config.clone(), None);
        let mut env = Recorder::new(seed);
        n.step(&mut env, Input::Boot);
        for (round, longest) in longest.iter_mut().enumerate() {
            let ticks = ticks_to_next_term(&mut n, &mut env);
            let extra = (1u32 << round.saturating_sub(1).min(3)) - 1;
            assert!(ticks <= 19 + 10 * extra, "round {round}: {ticks} ticks");
            *longest = (*longest).max(ticks);
        }
    }
    assert!(longest[1] <= 19, "no backoff before a failure: {}", longest[1]);
    assert!(
        longest[4] > 19 + 10 * 6,
        "the window grows by minimum timeouts: {}",
        longest[4]
    );
}

#[test]
fn with_tick_timers_a_leader_counts_as_heard_for_fewer_than_the_minimum_ticks() {
    // raft-rs `in_lease`: `election_elapsed < election_timeout`. A pre-vote arriving after exactly the minimum
    // number of ticks without a heartbeat is granted; one tick earlier it is refused.
    let ask = Message::RequestVote(RequestVote {
        term: Term(6),
        last_log_index: LogIndex(0),
        last_log_term: Term(0),
        pre_vote: true,
        leadership_transfer: false,
    });
    let config = Config {
        pre_vote: true,
        ..etcd()
    };
    for (ticks, granted) in [(9, false), (10, true)] {
        // A seed whose follower does not time out itself within those ticks.
        let (mut n, mut env) = (0..100)
            .map(|seed| {
                let mut n = Node::new(NodeId(1), 5, config.clone(), None);
                let mut env = Recorder::new(seed);
                n.step(&mut env, Input::Boot);
                deliver(&mut n, &mut env, 0, heartbeat(5));
                (n, env)
            })
            .find(|(n, env)| {
                let (mut n, mut env) = (n.clone(), env.clone());
                (0..ticks).for_each(|_| n.step(&mut env, Input::Timeout(Timer::Tick)));
                n.role() == Role::Follower
            })
            .expect("some seed draws a timeout above the minimum");
        (0..ticks).for_each(|_| n.step(&mut env, Input::Timeout(Timer::Tick)));
        env.take_sent();
        let sent = deliver(&mut n, &mut env, 2, ask.clone());
        assert!(
            matches!(sent[..], [Message::RequestVoteReply { vote_granted, pre_vote: true, .. }] if vote_granted == granted),
            "after {ticks} ticks: {sent:?}"
        );
    }
}

#[test]
fn with_tick_timers_check_quorum_steps_down_only_a_leader_a_majority_no_longer_answers() {
    let config = Config {
        check_quorum: true,
        ..etcd()
    };
    let (mut n, mut env) = node(0, 3, config);
    ticks_to_next_term(&mut n, &mut env);
    env.take_sent();
    let grant = Message::RequestVoteReply {
        term: n.term(),
        vote_granted: true,
        pre_vote: false,
    };
    deliver(&mut n, &mut env, 1, grant);
    assert_eq!(n.role(), Role::Leader);
    let ack = Message::AppendEntriesReply {
        term: n.term(),
        success: true,
        match_index: LogIndex(0),
        conflict: None,
    };
    // One follower answers within every check period of 10 ticks: with the leader, a majority of three.
    for _ in 0..3 {
        deliver(&mut n, &mut env, 1, ack.clone());
        (0..10).for_each(|_| n.step(&mut env, Input::Timeout(Timer::Tick)));
        assert_eq!(n.role(), Role::Leader, "a leader a majority answers keeps leading");
    }
    // Nobody answers for a whole period: step down.
    (0..10).for_each(|_| n.step(&mut env, Input::Timeout(Timer::Tick)));
    assert_eq!(n.role(), Role::Follower);
}

#[test]
fn a_sticky_follower_answers_a_vote_request_of_its_own_term() {
    // Stickiness drops vote requests of a higher term only: one of the follower's own term cannot depose its
    // leader (a majority voted for it) and is answered as Figure 2 says; this follower, which learned the term
    // from a heartbeat and has not voted in it, grants it.
    let config = Config {
        leader_stickiness: true,
        ..Config::default()
    };
    let (mut n, mut env) = follower_in_term_5(config);
    env.now += 50 * MS;
    let same_term = Message::RequestVote(RequestVote {
        term: Term(5),
        last_log_index: LogIndex(0),
        last_log_term: Term(0),
        pre_vote: false,
        leadership_transfer: false,
    });
    let sent = deliver(&mut n, &mut env, 2, same_term);
    assert!(
        matches!(
            sent[..],
            [Message::RequestVoteReply {
                term: Term(5),
                vote_granted: true,
                ..
            }]
        ),
        "{sent:?}"
    );
}

#[test]
fn a_node_reports_the_id_and_configuration_it_was_built_with() {
    // Accessors for code that embeds the node (the simulator reads neither, so no run could see them wrong).
    let config = etcd();
    let (n, _) = node(3, 5, config.clone());
    assert_eq!(n.id(), NodeId(3));
    assert_eq!(n.config(), &config);
}

#[test]
fn message_counts_add_up_by_kind() {
    let mut a = MessageCounts::default();
    a.count(MessageKind::RequestVote);
    a.count(MessageKind::AppendEntries);
    a.count(MessageKind::AppendEntries);
    let mut b = a;
    b.add(&a);
    assert_eq!(a.total(), 3);
    assert_eq!(b.total(), 6);
    assert_eq!(b[MessageKind::AppendEntries], 4);
}

#[test]
fn every_configuration_rule_refuses_what_it_names_and_only_that() {
    let ok = Config::default();
    assert_eq!(ok.validate(), Ok(()));
    let ticks = TickConfig {
        tick: 10 * MS,
        election_min: 10,
        election_max: 20,
        heartbeat: 1,
    };
    let with_ticks = Config {
        ticks: Some(ticks),
        ..Config::default()
    };
    assert_eq!(with_ticks.validate(), Ok(()));
    let bad: Vec<(Config, &str)> = vec![
        (
            Config {
                election_timeout_min: Duration::ZERO,
                ..ok.clone()
            },
            "election timeout",
        ),
        (
            Config {
                election_timeout_min: 400 * MS,
                election_timeout_max: 300 * MS,
                ..ok.clone()
            },
            "election timeout",
        ),
        (
            Config {
                heartbeat_interval: Duration::ZERO,
                ..ok.clone()
            },
            "heartbeat interval",
        ),
        (
            Config {
                max_entries_per_append: 0,
                ..ok.clone()
            },
            "max_entries_per_append",
        ),
        (
            Config {
                candidate_timeout: Some((Duration::ZERO, MS)),
                ..ok.clone()
            },
            "candidate timeout",
        ),
        (
            Config {
                candidate_timeout: Some((2 * MS, MS)),
                ..ok.clone()
            },
            "candidate timeout",
        ),
        (
            Config {
                ticks: Some(TickConfig {
                    tick: Duration::ZERO,
                    ..ticks
                }),
                ..ok.clone()
            },
            "tick timers",
        ),
        (
            Config {
                ticks: Some(TickConfig {
                    election_min: 0,
                    ..ticks
                }),
                ..ok.clone()
            },
            "tick timers",
        ),
        (
            Config {
                ticks: Some(TickConfig {
                    election_min: 30,
                    ..ticks
                }),
                ..ok.clone()
            },
            "tick timers",
        ),
        (
            Config {
                ticks: Some(TickConfig { heartbeat: 0, ..ticks }),
                ..ok.clone()
            },
            "tick timers",
        ),
        (
            Config {
                candidate_timeout: Some((MS, 2 * MS)),
                ..with_ticks.clone()
            },
            "continuous timers",
        ),
        (
            Config {
                backoff_max_exponent: Some(17),
                ..ok.clone()
            },
            "backoff exponent",
        ),
    ];
    for (config, names) in bad {
        let e = config.validate().expect_err(names);
        assert!(e.contains(names), "{e:?} should name {names}");
    }
    assert_eq!(
        Config {
            backoff_max_exponent: Some(16),
            ..ok
        }
        .validate(),
        Ok(())
    );
}

#[test]
fn roles_have_the_names_traces_and_diagrams_show() {
    let names = [Role::Follower, Role::PreCandidate, Role::Candidate, Role::Leader].map(Role::name);
    assert_eq!(names, ["follower", "pre-candidate", "candidate", "leader"]);
}

#[test]
fn a_reset_node_is_the_node_new_builds() {
    // A node that led a five-node cluster, with a longer log and every per-peer vector written...
    let (mut n, mut env) = node(0, 5, pre_vote_config());
    n.step(&mut env, Input::Timeout(Timer::Election));
    for pre_vote in [true, false] {
        for from in [1, 2] {
            let msg = Message::RequestVoteReply {
                term: Term(1),
                vote_granted: true,
                pre_vote,
            };
            n.step(
                &mut env,
                Input::Message {
                    from: NodeId(from),
                    msg,
                },
            );
        }
    }
    assert_eq!(n.role(), Role::Leader);
    n.start(&mut env, 7).expect("a leader accepts commands");
    // ...reset into node 2 of a three-node cluster with other options and another starting state...
    let persisted = Persistent {
        current_term: Term(4),
        voted_for: Some(NodeId(1)),
        log: vec![Entry {
            term: Term(3),
            command: 9,
        }],
    };
    let config = Config {
        check_quorum: true,
        ..Config::default()
    };
    n.reset(NodeId(2), 3, &config, &persisted);
    // ...is, field for field, the node `new` builds from it.
    let fresh = Node::new(NodeId(2), 3, config.clone(), Some(persisted.clone()));
    assert_eq!(format!("{n:?}"), format!("{fresh:?}"));
    // So is one run again and reset as the same server of the same cluster under the same options (the next of
    // many runs: what the node keeps from the last one must be what `new` builds).
    n.step(&mut env, Input::Timeout(Timer::Election));
    n.step(&mut env, Input::Timeout(Timer::Election));
    assert_ne!(format!("{n:?}"), format!("{fresh:?}"));
    n.reset(NodeId(2), 3, &config, &persisted);
    assert_eq!(format!("{n:?}"), format!("{fresh:?}"));
}
