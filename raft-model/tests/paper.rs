//! The Raft paper's Figure 2, rule by rule, on a single node driven by hand.
//!
//! Each test feeds one server the inputs a rule is about and checks its outputs: what it sends, what it persists,
//! which timers it arms, what it applies. Randomized cluster tests (`tests/conformance.rs` at the workspace root)
//! reach rare interleavings only by luck; these reach them on purpose. Section numbers are the paper's.

use raft_model::testing::Recorder;
use raft_model::*;
use std::time::Duration;

const MS: Duration = Duration::from_millis(1);

/// A recorder that also remembers the order of persist and send calls, to check that a vote or a term change
/// reaches storage before any message that depends on it.
#[derive(Default)]
struct Env {
    rec: Recorder,
    order: Vec<&'static str>,
}

impl raft_model::Env for Env {
    fn random_u64(&mut self) -> u64 {
        self.rec.random_u64()
    }
    fn now(&self) -> Duration {
        self.rec.now()
    }
    fn send(&mut self, to: NodeId, msg: Message) {
        self.order.push("send");
        self.rec.send(to, msg);
    }
    fn set_timer(&mut self, timer: Timer, after: Duration) {
        self.rec.set_timer(timer, after);
    }
    fn cancel_timer(&mut self, timer: Timer) {
        self.rec.cancel_timer(timer);
    }
    fn persist(&mut self, update: PersistUpdate<'_>) {
        self.order.push("persist");
        self.rec.persist(update);
    }
    fn apply(&mut self, index: LogIndex, entry: &Entry) {
        self.rec.apply(index, entry);
    }
    fn status_changed(&mut self, status: Status) {
        self.rec.status_changed(status);
    }
}

impl Env {
    fn new(seed: u64) -> Env {
        Env {
            rec: Recorder::new(seed),
            order: Vec::new(),
        }
    }
    fn sent(&mut self) -> Vec<(NodeId, Message)> {
        self.order.clear();
        self.rec.take_sent()
    }
    fn election_timer(&self) -> Option<Duration> {
        self.rec.timers[Timer::Election as usize]
    }
    fn heartbeat_timer(&self) -> Option<Duration> {
        self.rec.timers[Timer::Heartbeat as usize]
    }
    /// Forgets the election timer setting, so a test can see whether the next input re-arms it.
    fn clear_election_timer(&mut self) {
        self.rec.timers[Timer::Election as usize] = None;
    }
}

fn entry(term: u64, command: u64) -> Entry {
    Entry {
        term: Term(term),
        command,
    }
}

/// Server `id` of `n`, resuming from `state` (or fresh), booted.
fn boot(id: u32, n: usize, state: Option<Persistent>) -> (Node, Env) {
    let mut node = Node::new(NodeId(id), n, Config::default(), state.clone());
    let mut env = Env::new(u64::from(id) + 7);
    if let Some(s) = state {
        env.rec.storage = s;
    }
    node.step(&mut env, Input::Boot);
    env.sent();
    (node, env)
}

fn persisted(term: u64, voted_for: Option<u32>, log: Vec<Entry>) -> Option<Persistent> {
    Some(Persistent {
        current_term: Term(term),
        voted_for: voted_for.map(NodeId),
        log,
    })
}

fn deliver(node: &mut Node, env: &mut Env, from: u32, msg: Message) {
    node.step(
        env,
        Input::Message {
            from: NodeId(from),
            msg,
        },
    );
}

fn request_vote(term: u64, last_log_index: u64, last_log_term: u64) -> Message {
    Message::RequestVote(RequestVote {
        term: Term(term),
        last_log_index: LogIndex(last_log_index),
        last_log_term: Term(last_log_term),
        pre_vote: false,
        leadership_transfer: false,
    })
}

fn vote(term: u64, granted: bool) -> Message {
    Message::RequestVoteReply {
        term: Term(term),
        vote_granted: granted,
        pre_vote: false,
    }
}

fn append(term: u64, prev: (u64, u64), entries: Vec<Entry>, leader_commit: u64) -> Message {
    Message::AppendEntries {
        term: Term(term),
        prev_log_index: LogIndex(prev.0),
        prev_log_term: Term(prev.1),
        entries: entries.into(),
        leader_commit: LogIndex(leader_commit),
    }
}

fn append_ok(term: u64, match_index: u64) -> Message {
    Message::AppendEntriesReply {
        term: Term(term),
        success: true,
        match_index: LogIndex(match_index),
        conflict: None,
    }
}

/// Every persist call came before the first send: the vote is on disk before the grant leaves.
fn assert_persisted_before_sending(order: &[&str]) {
    let first_send = order.iter().position(|&o| o == "send").expect("something was sent");
    let last_persist = order
        .iter()
        .rposition(|&o| o == "persist")
        .expect("something was persisted");
    assert!(last_persist < first_send, "persist and send interleaved: {order:?}");
}

/// The single reply a node sent, and to whom.
fn only_reply(env: &mut Env) -> (NodeId, Message) {
    let mut sent = env.sent();
    assert_eq!(sent.len(), 1, "expected exactly one reply, got {sent:?}");
    sent.pop().unwrap()
}

fn granted(msg: &Message) -> bool {
    match msg {
        Message::RequestVoteReply { vote_granted, .. } => *vote_granted,
        other => panic!("not a vote reply: {other:?}"),
    }
}

/// Makes server 0 of `n` (resuming from `state`) the leader of the next term, with the fewest votes that win.
fn leader(n: usize, state: Option<Persistent>) -> (Node, Env) {
    let (mut node, mut env) = boot(0, n, state);
    node.step(&mut env, Input::Timeout(Timer::Election));
    let term = node.term().0;
    for from in 1..n.div_ceil(2) as u32 {
        deliver(&mut node, &mut env, from, vote(term, true));
    }
    assert_eq!(node.role(), Role::Leader);
    env.sent();
    (node, env)
}

// ---- Followers and candidates (section 5.2) -------------------------------------------------------------------

#[test]
fn a_server_boots_as_a_follower_with_a_randomized_election_timer_in_range() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..50 {
        let mut node = Node::new(NodeId(0), 3, Config::default(), None);
        let mut env = Env::new(seed);
        node.step(&mut env, Input::Boot);
        assert_eq!(node.role(), Role::Follower);
        assert_eq!(node.term(), Term(0));
        assert!(env.sent().is_empty(), "a booting follower sends nothing");
        let t = env.election_timer().expect("election timer armed at boot");
        assert!((150 * MS..=300 * MS).contains(&t), "{t:?} outside the configured range");
        seen.insert(t);
    }
    assert!(
        seen.len() > 40,
        "timeouts are randomized: {} distinct of 50",
        seen.len()
    );
}

#[test]
fn an_election_timeout_starts_an_election_persisting_term_and_vote_before_asking() {
    let (mut node, mut env) = boot(0, 5, persisted(3, None, vec![entry(1, 10), entry(3, 11)]));
    env.clear_election_timer();
    node.step(&mut env, Input::Timeout(Timer::Election));
    assert_eq!(node.role(), Role::Candidate);
    assert_eq!(node.term(), Term(4), "increments currentTerm");
    assert_eq!(node.voted_for(), Some(NodeId(0)), "votes for itself");
    assert_eq!(env.rec.storage.current_term, Term(4));
    assert_eq!(env.rec.storage.voted_for, Some(NodeId(0)));
    assert!(env.election_timer().is_some(), "resets the election timer");
    assert_persisted_before_sending(&env.order);
    let sent = env.sent();
    let to: Vec<u32> = sent.iter().map(|(to, _)| to.0).collect();
    assert_eq!(to, vec![1, 2, 3, 4], "asks every other server once");
    for (_, m) in sent {
        assert_eq!(
            m,
            request_vote(4, 2, 3),
            "carries the candidate's last log index and term"
        );
    }
}

#[test]
fn a_candidate_whose_election_times_out_starts_another_in_a_new_term() {
    let (mut node, mut env) = boot(0, 5, None);
    node.step(&mut env, Input::Timeout(Timer::Election));
    deliver(&mut node, &mut env, 1, vote(1, true)); // one vote short of three
    node.step(&mut env, Input::Timeout(Timer::Election));
    assert_eq!(node.role(), Role::Candidate);
    assert_eq!(node.term(), Term(2));
    // The vote from term 1 does not carry over: one more grant in term 2 is still not a majority.
    deliver(&mut node, &mut env, 2, vote(2, true));
    assert_eq!(node.role(), Role::Candidate);
    deliver(&mut node, &mut env, 1, vote(2, true));
    assert_eq!(node.role(), Role::Leader);
}

#[test]
fn a_majority_of_votes_makes_a_leader_that_asserts_itself_with_heartbeats_at_once() {
    let (mut node, mut env) = boot(0, 5, None);
    node.step(&mut env, Input::Timeout(Timer::Election));
    env.sent();
    deliver(&mut node, &mut env, 3, vote(1, true));
    assert_eq!(node.role(), Role::Candidate, "two of five is not a majority");
    deliver(&mut node, &mut env, 3, vote(1, true));
    assert_eq!(node.role(), Role::Candidate, "the same voter twice counts once");
    deliver(&mut node, &mut env, 1, vote(1, false));
    assert_eq!(node.role(), Role::Candidate, "a refusal is not a vote");
    deliver(&mut node, &mut env, 4, vote(1, true));
    assert_eq!(node.role(), Role::Leader);
    assert_eq!(node.leader(), Some(NodeId(0)));
    assert_eq!(env.election_timer(), None, "a leader does not time out");
    assert_eq!(env.heartbeat_timer(), Some(50 * MS));
    let sent = env.sent();
    assert_eq!(sent.len(), 4, "an empty AppendEntries to every peer: {sent:?}");
    for (_, m) in &sent {
        assert_eq!(m, &append(1, (0, 0), vec![], 0));
    }
    // Heartbeats repeat at the configured interval.
    node.step(&mut env, Input::Timeout(Timer::Heartbeat));
    assert_eq!(env.sent().len(), 4);
    assert_eq!(env.heartbeat_timer(), Some(50 * MS));
}

#[test]
fn a_single_server_elects_itself() {
    let mut node = Node::new(NodeId(0), 1, Config::default(), None);
    let mut env = Env::new(1);
    node.step(&mut env, Input::Boot);
    node.step(&mut env, Input::Timeout(Timer::Election));
    assert_eq!(node.role(), Role::Leader);
    assert_eq!(node.start(&mut env, 9), Ok((LogIndex(1), Term(1))));
    assert_eq!(env.rec.applied, vec![(LogIndex(1), entry(1, 9))]);
}

#[test]
fn a_candidate_steps_down_for_a_leader_of_its_own_term() {
    let (mut node, mut env) = boot(0, 3, None);
    node.step(&mut env, Input::Timeout(Timer::Election));
    env.sent();
    deliver(&mut node, &mut env, 2, append(1, (0, 0), vec![], 0));
    assert_eq!(node.role(), Role::Follower);
    assert_eq!(node.term(), Term(1));
    assert_eq!(node.leader(), Some(NodeId(2)));
    assert_eq!(node.voted_for(), Some(NodeId(0)), "its own vote in term 1 stands");
    assert_eq!(only_reply(&mut env), (NodeId(2), append_ok(1, 0)));
}

// ---- Rules for all servers: terms (section 5.1) ---------------------------------------------------------------

#[test]
fn any_message_with_a_higher_term_makes_a_server_a_follower_in_that_term() {
    let higher = [
        request_vote(7, 0, 0),
        vote(7, false),
        append(7, (0, 0), vec![], 0),
        Message::AppendEntriesReply {
            term: Term(7),
            success: false,
            match_index: LogIndex(0),
            conflict: None,
        },
    ];
    for msg in higher {
        let (mut node, mut env) = leader(3, persisted(2, None, vec![]));
        assert_eq!(node.term(), Term(3));
        deliver(&mut node, &mut env, 1, msg.clone());
        assert_eq!(node.role(), Role::Follower, "after {msg:?}");
        assert_eq!(node.term(), Term(7), "after {msg:?}");
        assert_eq!(env.rec.storage.current_term, Term(7), "the new term is persisted");
        assert_eq!(env.heartbeat_timer(), None, "a deposed leader stops heartbeating");
        assert!(env.election_timer().is_some(), "and waits for a leader again");
        let expect_vote = matches!(msg, Message::RequestVote(_));
        assert_eq!(
            node.voted_for().is_some(),
            expect_vote,
            "after {msg:?}: vote cleared, then granted only to a requester"
        );
    }
}

#[test]
fn stale_term_requests_are_refused_with_the_current_term_and_change_nothing() {
    let (mut node, mut env) = boot(1, 3, persisted(5, Some(2), vec![entry(5, 1)]));
    env.clear_election_timer();
    let persists = env.rec.persists;
    deliver(&mut node, &mut env, 0, request_vote(4, 9, 4));
    assert_eq!(only_reply(&mut env), (NodeId(0), vote(5, false)));
    deliver(&mut node, &mut env, 0, append(4, (0, 0), vec![entry(4, 2)], 1));
    let (_, reply) = only_reply(&mut env);
    assert!(matches!(
        reply,
        Message::AppendEntriesReply {
            term: Term(5),
            success: false,
            ..
        }
    ));
    assert_eq!(node.term(), Term(5));
    assert_eq!(node.log(), &[entry(5, 1)], "a stale leader's entries are not stored");
    assert_eq!(node.leader(), None, "a stale leader is not recognised");
    assert_eq!(
        env.election_timer(),
        None,
        "a stale message does not reset the election timer"
    );
    assert_eq!(env.rec.persists, persists, "nothing persisted");
}

#[test]
fn stale_replies_are_ignored() {
    // Vote replies from an earlier term do not count towards this one.
    let (mut node, mut env) = boot(0, 5, persisted(2, None, vec![]));
    node.step(&mut env, Input::Timeout(Timer::Election)); // term 3
    for from in 1..5 {
        deliver(&mut node, &mut env, from, vote(2, true));
    }
    assert_eq!(
        node.role(),
        Role::Candidate,
        "granted votes from term 2 do not elect a term-3 candidate"
    );
    // Late votes after winning change nothing.
    deliver(&mut node, &mut env, 1, vote(3, true));
    deliver(&mut node, &mut env, 2, vote(3, true));
    assert_eq!(node.role(), Role::Leader);
    env.sent();
    deliver(&mut node, &mut env, 3, vote(3, true));
    deliver(&mut node, &mut env, 4, vote(3, false));
    assert_eq!(node.role(), Role::Leader);
    assert!(env.sent().is_empty());
    // An AppendEntries reply from an earlier term does not move matchIndex: the entry stays uncommitted.
    node.start(&mut env, 42).unwrap();
    env.sent();
    deliver(&mut node, &mut env, 1, append_ok(2, 1));
    deliver(&mut node, &mut env, 2, append_ok(2, 1));
    assert_eq!(node.commit_index(), LogIndex(0));
    deliver(&mut node, &mut env, 1, append_ok(3, 1));
    deliver(&mut node, &mut env, 2, append_ok(3, 1));
    assert_eq!(node.commit_index(), LogIndex(1));
}

// ---- RequestVote receiver (sections 5.2, 5.4.1) ---------------------------------------------------------------

#[test]
fn a_server_votes_at_most_once_per_term_and_persists_the_vote_before_replying() {
    let (mut node, mut env) = boot(1, 5, None);
    env.clear_election_timer();
    deliver(&mut node, &mut env, 0, request_vote(1, 0, 0));
    assert_persisted_before_sending(&env.order);
    assert_eq!(only_reply(&mut env), (NodeId(0), vote(1, true)));
    assert_eq!(env.rec.storage.voted_for, Some(NodeId(0)));
    assert!(
        env.election_timer().is_some(),
        "granting a vote resets the election timer"
    );

    env.clear_election_timer();
    deliver(&mut node, &mut env, 2, request_vote(1, 0, 0));
    assert_eq!(
        only_reply(&mut env),
        (NodeId(2), vote(1, false)),
        "a second candidate in the same term is refused"
    );
    assert_eq!(env.election_timer(), None, "refusing does not reset the election timer");

    let persists = env.rec.persists;
    deliver(&mut node, &mut env, 0, request_vote(1, 0, 0));
    assert_eq!(
        only_reply(&mut env),
        (NodeId(0), vote(1, true)),
        "a retried request from the same candidate is granted again"
    );
    assert_eq!(env.rec.persists, persists, "with nothing new to persist");

    deliver(&mut node, &mut env, 2, request_vote(2, 0, 0));
    assert_eq!(
        only_reply(&mut env),
        (NodeId(2), vote(2, true)),
        "a new term brings a new vote"
    );
}

#[test]
fn a_vote_goes_only_to_a_candidate_whose_log_is_at_least_as_up_to_date() {
    // Voter's log ends at index 3, term 2.
    let log = vec![entry(1, 1), entry(2, 2), entry(2, 3)];
    let cases = [
        // (candidate's last log index, last log term, granted)
        (9, 1, false), // longer, but its last term is older
        (2, 2, false), // same last term, shorter
        (3, 2, true),  // identical
        (4, 2, true),  // same last term, longer
        (1, 3, true),  // shorter, but a newer last term
        (0, 0, false), // empty
    ];
    for (index, term, grant) in cases {
        let (mut node, mut env) = boot(1, 3, persisted(3, None, log.clone()));
        deliver(&mut node, &mut env, 0, request_vote(4, index, term));
        let (_, reply) = only_reply(&mut env);
        assert_eq!(granted(&reply), grant, "candidate log ending at ({index}, term {term})");
        assert_eq!(node.term(), Term(4), "the higher term is adopted either way");
        assert_eq!(node.voted_for().is_some(), grant);
    }
}

#[test]
fn a_refused_candidate_with_a_higher_term_still_deposes_the_leader_but_wins_nothing() {
    let (mut node, mut env) = leader(3, persisted(1, None, vec![entry(1, 1)]));
    node.start(&mut env, 5).unwrap(); // leader's log: (1, t1), (2, t2)
    env.sent();
    deliver(&mut node, &mut env, 2, request_vote(9, 1, 1));
    assert_eq!(only_reply(&mut env), (NodeId(2), vote(9, false)));
    assert_eq!(node.role(), Role::Follower);
    assert_eq!(node.voted_for(), None);
}

#[test]
fn a_restarted_server_remembers_its_vote() {
    let (mut node, mut env) = boot(1, 3, None);
    deliver(&mut node, &mut env, 0, request_vote(5, 0, 0));
    assert!(granted(&only_reply(&mut env).1));
    // Crash: only what reached storage survives.
    let storage = env.rec.storage.clone();
    drop(node);
    let mut node = Node::new(NodeId(1), 3, Config::default(), Some(storage));
    node.step(&mut env, Input::Boot);
    env.sent();
    assert_eq!(node.term(), Term(5));
    assert_eq!(node.voted_for(), Some(NodeId(0)));
    assert_eq!(node.role(), Role::Follower);
    deliver(&mut node, &mut env, 2, request_vote(5, 0, 0));
    assert_eq!(
        only_reply(&mut env),
        (NodeId(2), vote(5, false)),
        "no second vote in term 5 after a restart"
    );
    deliver(&mut node, &mut env, 0, request_vote(5, 0, 0));
    assert_eq!(only_reply(&mut env), (NodeId(0), vote(5, true)));
}

#[test]
fn a_restarted_candidate_keeps_its_term_and_log_and_loses_only_volatile_state() {
    let (mut node, mut env) = boot(0, 3, None);
    deliver(
        &mut node,
        &mut env,
        1,
        append(1, (0, 0), vec![entry(1, 7), entry(1, 8)], 2),
    );
    assert_eq!(node.commit_index(), LogIndex(2));
    node.step(&mut env, Input::Timeout(Timer::Election)); // candidate in term 2
    let storage = env.rec.storage.clone();
    let mut node = Node::new(NodeId(0), 3, Config::default(), Some(storage));
    node.step(&mut env, Input::Boot);
    assert_eq!(node.role(), Role::Follower, "every server restarts as a follower");
    assert_eq!(node.term(), Term(2));
    assert_eq!(node.voted_for(), Some(NodeId(0)));
    assert_eq!(node.log(), &[entry(1, 7), entry(1, 8)]);
    assert_eq!(node.commit_index(), LogIndex(0), "commitIndex is volatile");
    assert_eq!(node.last_applied(), LogIndex(0), "lastApplied is volatile");
    assert_eq!(node.leader(), None);
}

// ---- AppendEntries receiver (sections 5.3, 5.4) ---------------------------------------------------------------

#[test]
fn append_entries_is_refused_when_the_log_has_no_matching_previous_entry() {
    let (mut node, mut env) = boot(1, 3, persisted(2, None, vec![entry(1, 1), entry(2, 2)]));
    // Nothing at index 5.
    deliver(&mut node, &mut env, 0, append(3, (5, 3), vec![entry(3, 9)], 0));
    let (_, reply) = only_reply(&mut env);
    let Message::AppendEntriesReply { success, conflict, .. } = reply else {
        panic!()
    };
    assert!(!success);
    assert_eq!(
        conflict.unwrap().last_index,
        LogIndex(2),
        "tells the leader where its log ends"
    );
    // A different term at index 2.
    deliver(&mut node, &mut env, 0, append(3, (2, 3), vec![entry(3, 9)], 0));
    let (_, reply) = only_reply(&mut env);
    let Message::AppendEntriesReply { success, conflict, .. } = reply else {
        panic!()
    };
    assert!(!success);
    let c = conflict.unwrap();
    assert_eq!(
        (c.term, c.first_index),
        (Some(Term(2)), LogIndex(2)),
        "names the conflicting term and its first index"
    );
    assert_eq!(
        node.log(),
        &[entry(1, 1), entry(2, 2)],
        "a refused request changes no entry"
    );
    assert_eq!(node.leader(), Some(NodeId(0)), "but its sender is this term's leader");
}

#[test]
fn conflicting_entries_are_deleted_with_everything_after_them() {
    let log = vec![entry(1, 1), entry(2, 2), entry(2, 3), entry(2, 4)];
    let (mut node, mut env) = boot(1, 3, persisted(2, None, log));
    deliver(&mut node, &mut env, 0, append(3, (1, 1), vec![entry(3, 20)], 0));
    assert_eq!(only_reply(&mut env), (NodeId(0), append_ok(3, 2)));
    assert_eq!(node.log(), &[entry(1, 1), entry(3, 20)]);
    assert_eq!(env.rec.storage.log, node.log(), "the cut and the append are persisted");
}

#[test]
fn an_old_shorter_append_does_not_truncate_entries_that_agree() {
    // Rule 3 deletes only on a conflict: a delayed AppendEntries carrying a prefix of what the follower already
    // holds must not shorten its log (entries it acknowledged may already be committed).
    let (mut node, mut env) = boot(1, 3, None);
    deliver(
        &mut node,
        &mut env,
        0,
        append(1, (0, 0), vec![entry(1, 1), entry(1, 2), entry(1, 3)], 0),
    );
    assert_eq!(only_reply(&mut env).1, append_ok(1, 3));
    let persists = env.rec.persists;
    deliver(&mut node, &mut env, 0, append(1, (0, 0), vec![entry(1, 1)], 0));
    assert_eq!(only_reply(&mut env).1, append_ok(1, 1));
    assert_eq!(node.log().len(), 3);
    assert_eq!(env.rec.persists, persists, "nothing changed, nothing persisted");
}

#[test]
fn a_follower_commits_up_to_the_leaders_commit_but_no_further_than_it_has_verified() {
    let (mut node, mut env) = boot(1, 3, persisted(1, None, vec![entry(1, 1), entry(1, 2), entry(1, 3)]));
    // The leader has committed 3, but this request only vouches for the follower's log up to index 1.
    deliver(&mut node, &mut env, 0, append(1, (1, 1), vec![], 3));
    assert_eq!(
        node.commit_index(),
        LogIndex(1),
        "min(leaderCommit, index of last new entry)"
    );
    assert_eq!(env.rec.applied, vec![(LogIndex(1), entry(1, 1))]);
    deliver(&mut node, &mut env, 0, append(1, (3, 1), vec![], 3));
    assert_eq!(node.commit_index(), LogIndex(3));
    let applied: Vec<u64> = env.rec.applied.iter().map(|(i, _)| i.0).collect();
    assert_eq!(applied, vec![1, 2, 3], "applied once each, in order");
    deliver(&mut node, &mut env, 0, append(1, (3, 1), vec![], 2));
    assert_eq!(node.commit_index(), LogIndex(3), "commitIndex never moves back");
    assert_eq!(env.rec.applied.len(), 3);
}

#[test]
fn a_valid_append_resets_the_election_timer_and_names_the_leader() {
    let (mut node, mut env) = boot(1, 3, None);
    env.clear_election_timer();
    deliver(&mut node, &mut env, 2, append(4, (0, 0), vec![], 0));
    assert!(env.election_timer().is_some());
    assert_eq!(node.leader(), Some(NodeId(2)));
    assert_eq!(node.term(), Term(4));
    assert_eq!(node.voted_for(), None);
    assert_eq!(
        env.rec.statuses.last().map(|s| (s.term, s.leader)),
        Some((Term(4), Some(NodeId(2))))
    );
}

// ---- Leaders (sections 5.3, 5.4.2) ----------------------------------------------------------------------------

#[test]
fn start_appends_on_the_leader_only() {
    let (mut follower, mut fenv) = boot(1, 3, None);
    deliver(&mut follower, &mut fenv, 0, append(1, (0, 0), vec![], 0));
    assert_eq!(
        follower.start(&mut fenv, 1),
        Err(NotLeader {
            leader_hint: Some(NodeId(0)),
            term: Term(1)
        })
    );
    assert!(follower.log().is_empty());

    let (mut node, mut env) = leader(3, None);
    assert_eq!(node.start(&mut env, 10), Ok((LogIndex(1), Term(1))));
    assert_eq!(node.start(&mut env, 11), Ok((LogIndex(2), Term(1))));
    assert_eq!(
        env.rec.storage.log,
        vec![entry(1, 10), entry(1, 11)],
        "persisted before replication"
    );
    assert!(env.rec.applied.is_empty(), "not applied before a majority holds it");
    // The first entry goes out at once to followers that are caught up.
    let sent = env.sent();
    assert!(
        sent.iter().any(
            |(_, m)| matches!(m, Message::AppendEntries { entries, .. } if entries.first() == Some(&entry(1, 10)))
        )
    );
    deliver(&mut node, &mut env, 1, append_ok(1, 2));
    assert_eq!(node.commit_index(), LogIndex(2), "self plus one of three is a majority");
    assert_eq!(
        env.rec.applied,
        vec![(LogIndex(1), entry(1, 10)), (LogIndex(2), entry(1, 11))]
    );
}

#[test]
fn a_leader_backs_up_next_index_on_a_mismatch_and_retries() {
    // The leader's log: 1:t1, 2:t2, 3:t2 (term 3 now). A follower with 1:t1, 2:t1.
    let (mut node, mut env) = leader(3, persisted(2, None, vec![entry(1, 1), entry(2, 2), entry(2, 3)]));
    let reject = Message::AppendEntriesReply {
        term: Term(3),
        success: false,
        match_index: LogIndex(0),
        conflict: Some(Conflict {
            term: Some(Term(1)),
            first_index: LogIndex(1),
            last_index: LogIndex(2),
        }),
    };
    deliver(&mut node, &mut env, 1, reject);
    let (to, retry) = only_reply(&mut env);
    assert_eq!(to, NodeId(1));
    // The leader's last term-1 entry is index 1: retry from there, sending everything after it.
    assert_eq!(retry, append(3, (1, 1), vec![entry(2, 2), entry(2, 3)], 0));
}

#[test]
fn figure_8_a_leader_never_commits_an_earlier_terms_entry_by_counting_replicas() {
    // Server 0 holds an entry from term 2 that no leader committed, then wins term 4 (Figure 8, (c)).
    let (mut node, mut env) = leader(5, persisted(3, None, vec![entry(1, 1), entry(2, 2)]));
    assert_eq!(node.term(), Term(4));
    // A majority (servers 0, 1, 2) now holds index 2...
    deliver(&mut node, &mut env, 1, append_ok(4, 2));
    deliver(&mut node, &mut env, 2, append_ok(4, 2));
    deliver(&mut node, &mut env, 3, append_ok(4, 2));
    // ...but it is from term 2, so it is not committed: a server holding a term-3 entry could still be elected
    // and overwrite it.
    assert_eq!(node.commit_index(), LogIndex(0));
    assert!(env.rec.applied.is_empty());
    // Once an entry of the leader's own term reaches a majority, it and everything before it commit.
    assert_eq!(node.start(&mut env, 3), Ok((LogIndex(3), Term(4))));
    deliver(&mut node, &mut env, 1, append_ok(4, 3));
    assert_eq!(node.commit_index(), LogIndex(0), "two of five");
    deliver(&mut node, &mut env, 2, append_ok(4, 3));
    assert_eq!(node.commit_index(), LogIndex(3));
    let applied: Vec<u64> = env.rec.applied.iter().map(|(i, _)| i.0).collect();
    assert_eq!(applied, vec![1, 2, 3]);
}

#[test]
fn replies_out_of_order_never_move_match_index_back() {
    let (mut node, mut env) = leader(3, None);
    for c in 1..=3 {
        node.start(&mut env, c).unwrap();
    }
    env.sent();
    deliver(&mut node, &mut env, 1, append_ok(1, 3));
    assert_eq!(node.commit_index(), LogIndex(3));
    // A reply to an earlier, shorter request arrives late: it must not resend what the follower holds.
    deliver(&mut node, &mut env, 1, append_ok(1, 1));
    assert!(env.sent().is_empty(), "nothing to resend");
    assert_eq!(node.commit_index(), LogIndex(3));
}

// ---- Replication flow (section 5.3 leaves it open; these keep it bounded) --------------------------------------

/// The AppendEntries requests sent to `peer`, as (prevLogIndex, number of entries).
fn appends_to(env: &mut Env, peer: u32) -> Vec<(u64, usize)> {
    env.sent()
        .into_iter()
        .filter(|(to, _)| to.0 == peer)
        .filter_map(|(_, m)| match m {
            Message::AppendEntries {
                prev_log_index,
                entries,
                ..
            } => Some((prev_log_index.0, entries.len())),
            _ => None,
        })
        .collect()
}

#[test]
fn new_entries_are_pipelined_without_waiting_for_acknowledgements() {
    let (mut node, mut env) = leader(3, None);
    node.start(&mut env, 1).unwrap();
    node.start(&mut env, 2).unwrap();
    node.start(&mut env, 3).unwrap();
    assert_eq!(
        appends_to(&mut env, 1),
        vec![(0, 1), (1, 1), (2, 1)],
        "each entry once, at once"
    );
}

#[test]
fn a_duplicated_or_late_reply_does_not_start_another_request() {
    let (mut node, mut env) = leader(3, None);
    node.start(&mut env, 1).unwrap();
    env.sent();
    deliver(&mut node, &mut env, 1, append_ok(1, 1));
    node.start(&mut env, 2).unwrap(); // pipelined at once
    assert_eq!(appends_to(&mut env, 1), vec![(1, 1)]);
    // The network delivers the first reply a second time: everything is already on its way.
    deliver(&mut node, &mut env, 1, append_ok(1, 1));
    assert!(appends_to(&mut env, 1).is_empty());
    // The next entry is pipelined behind the one in flight.
    node.start(&mut env, 3).unwrap();
    assert_eq!(appends_to(&mut env, 1), vec![(2, 1)]);
    deliver(&mut node, &mut env, 1, append_ok(1, 3));
    deliver(&mut node, &mut env, 1, append_ok(1, 3));
    assert!(env.sent().is_empty(), "follower caught up: nothing more to send");
}

#[test]
fn a_gap_left_by_a_lost_request_is_filled_when_a_pipelined_one_is_refused() {
    let (mut node, mut env) = leader(3, None);
    node.start(&mut env, 1).unwrap();
    node.start(&mut env, 2).unwrap();
    env.sent(); // the request carrying entry 1 is lost; the one carrying entry 2 (prev 1) is refused
    let refused = Message::AppendEntriesReply {
        term: Term(1),
        success: false,
        match_index: LogIndex(0),
        conflict: Some(Conflict {
            term: None,
            first_index: LogIndex(0),
            last_index: LogIndex(0),
        }),
    };
    deliver(&mut node, &mut env, 1, refused);
    assert_eq!(
        appends_to(&mut env, 1),
        vec![(0, 2)],
        "both entries again, from the acknowledged point"
    );
}

#[test]
#[should_panic(expected = "term 18446744073709551615 cannot grow")]
fn a_term_at_the_end_of_its_range_stops_the_node_instead_of_wrapping_to_zero() {
    // Section 5.1: terms only grow. A term that would wrap is a bug (a start no run reaches), not a new term 0.
    let (mut node, mut env) = boot(0, 3, persisted(u64::MAX, None, Vec::new()));
    node.step(&mut env, Input::Timeout(Timer::Election));
}

#[test]
#[should_panic(expected = "cannot grow")]
fn a_pre_vote_at_the_end_of_the_term_range_stops_the_node_too() {
    let config = Config {
        pre_vote: true,
        ..Config::default()
    };
    let state = persisted(u64::MAX, None, Vec::new());
    let mut node = Node::new(NodeId(0), 3, config, state.clone());
    let mut env = Env::new(7);
    node.step(&mut env, Input::Boot);
    node.step(&mut env, Input::Timeout(Timer::Election));
}
