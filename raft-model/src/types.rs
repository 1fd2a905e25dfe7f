//! The vocabulary of the Raft paper, as types that cannot be mixed up.

use std::fmt;
use std::time::Duration;

/// A server's identity: an index in `0..cluster_size`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

impl NodeId {
    /// Its index in `0..cluster_size`.
    #[inline]
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// A term number (section 5.1). Terms start at 0 and only grow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Term(pub u64);

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}", self.0)
    }
}

/// A position in the log; the first entry has index 1, and 0 means "before the first entry".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogIndex(pub u64);

impl fmt::Display for LogIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "i{}", self.0)
    }
}

/// A client command, opaque to Raft.
pub type Command = u64;

/// The command of a leader's empty entry: raft-rs (`Raft::become_leader`) and etcd (`becomeLeader`) append one
/// when elected, so that entries of earlier terms commit (Raft thesis, section 6.4). Clients never submit it.
pub const NOOP_COMMAND: Command = u64::MAX;

/// One log entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    /// The term in which a leader created it.
    pub term: Term,
    /// The client's command.
    pub command: Command,
}

/// The role a server plays (section 5.1, Figure 4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Answers leaders and candidates; starts an election when it hears nothing for an election timeout.
    #[default]
    Follower,
    /// Pre-vote: asking whether peers would vote for it, before starting a real election (thesis 9.6).
    PreCandidate,
    /// Campaigning for votes in its current term.
    Candidate,
    /// Replicates its log and sends heartbeats.
    Leader,
}

impl Role {
    /// The lower-case name used in reports and traces.
    pub fn name(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::PreCandidate => "pre-candidate",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

/// State that must survive a crash (Figure 2, "Persistent state on all servers").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Persistent {
    /// Latest term the server has seen.
    pub current_term: Term,
    /// Candidate that received this server's vote in `current_term`.
    pub voted_for: Option<NodeId>,
    /// The log; `log[0]` has index 1.
    pub log: Vec<Entry>,
}

/// A change to persistent state, handed to [`crate::Env::persist`] before any message that depends on it.
#[derive(Clone, Copy, Debug)]
pub struct PersistUpdate<'a> {
    /// The new term.
    pub current_term: Term,
    /// The new vote.
    pub voted_for: Option<NodeId>,
    /// When the log changed: the first index whose entry changed; the stored log must be cut back to
    /// `index - 1` and `entries` (which start at `index`) appended.
    pub log_suffix: Option<(LogIndex, &'a [Entry])>,
}

impl Persistent {
    /// Applies an update, as durable storage would.
    pub fn apply(&mut self, update: &PersistUpdate<'_>) {
        self.current_term = update.current_term;
        self.voted_for = update.voted_for;
        if let Some((from, entries)) = update.log_suffix {
            assert!(from.0 >= 1, "log indices start at 1");
            self.log.truncate((from.0 - 1) as usize);
            self.log.extend_from_slice(entries);
        }
    }
}

/// RequestVote RPC arguments (Figure 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestVote {
    /// Candidate's term.
    pub term: Term,
    /// Index of the candidate's last log entry (section 5.4).
    pub last_log_index: LogIndex,
    /// Term of the candidate's last log entry (section 5.4).
    pub last_log_term: Term,
    /// A pre-vote: `term` is the term the candidate would campaign in; granting changes nothing.
    pub pre_vote: bool,
    /// The election a leader asked for by handing over leadership (thesis section 3.10): voters grant it even
    /// while they hear from that leader (it overrides leader stickiness and the check-quorum lease, as raft-rs's
    /// `CAMPAIGN_TRANSFER` context and hashicorp/raft's `LeadershipTransfer` flag do).
    pub leadership_transfer: bool,
}

/// Why a follower rejected an AppendEntries: enough for the leader to skip a whole term at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// Term of the follower's entry at `prev_log_index`, if it has one there.
    pub term: Option<Term>,
    /// First index the follower holds for `term` (when `term` is set).
    pub first_index: LogIndex,
    /// The follower's last log index.
    pub last_index: LogIndex,
}

/// The entries of an AppendEntries: one is held inline (the leader sends each new entry on its own as it
/// arrives), more on the heap.
pub type Entries = smallvec::SmallVec<[Entry; 1]>;

/// The messages servers exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A candidate asks for a vote.
    RequestVote(RequestVote),
    /// The answer to a [`Message::RequestVote`].
    RequestVoteReply {
        /// The voter's current term, for the candidate to update itself.
        term: Term,
        /// Whether the vote was granted.
        vote_granted: bool,
        /// Answers a pre-vote (then `term` is the request's term when granted).
        pre_vote: bool,
    },
    /// Replicates entries; with no entries it is a heartbeat.
    AppendEntries {
        /// Leader's term.
        term: Term,
        /// Index of the entry immediately preceding `entries`.
        prev_log_index: LogIndex,
        /// Term of that entry.
        prev_log_term: Term,
        /// Entries to store (empty for a heartbeat).
        entries: Entries,
        /// Leader's commit index.
        leader_commit: LogIndex,
    },
    /// A leader handing over leadership tells its chosen successor, once that node's log is complete, to start an
    /// election at once (thesis section 3.10; raft-rs and etcd `MsgTimeoutNow`). Counted as AppendEntries.
    TimeoutNow {
        /// The leader's term.
        term: Term,
    },
    /// The answer to an [`Message::AppendEntries`].
    AppendEntriesReply {
        /// The follower's current term.
        term: Term,
        /// Whether the follower's log matched `prev_log_index`/`prev_log_term` and now holds the entries.
        success: bool,
        /// On success, the index of the last entry known to match the leader's log.
        match_index: LogIndex,
        /// On failure caused by a log mismatch, where the logs diverge.
        conflict: Option<Conflict>,
    },
}

impl Message {
    /// The term the message carries.
    pub fn term(&self) -> Term {
        match self {
            Message::RequestVote(rv) => rv.term,
            Message::RequestVoteReply { term, .. }
            | Message::AppendEntries { term, .. }
            | Message::TimeoutNow { term }
            | Message::AppendEntriesReply { term, .. } => *term,
        }
    }

    /// Its kind, for counting.
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::RequestVote(_) => MessageKind::RequestVote,
            Message::RequestVoteReply { .. } => MessageKind::RequestVoteReply,
            Message::AppendEntries { .. } | Message::TimeoutNow { .. } => MessageKind::AppendEntries,
            Message::AppendEntriesReply { .. } => MessageKind::AppendEntriesReply,
        }
    }
}

/// Message kinds, as counted in reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageKind {
    /// RequestVote.
    RequestVote = 0,
    /// RequestVote reply.
    RequestVoteReply = 1,
    /// AppendEntries (heartbeats included).
    AppendEntries = 2,
    /// AppendEntries reply.
    AppendEntriesReply = 3,
}

impl MessageKind {
    /// Every kind, in report order.
    pub const ALL: [MessageKind; 4] = [
        MessageKind::RequestVote,
        MessageKind::RequestVoteReply,
        MessageKind::AppendEntries,
        MessageKind::AppendEntriesReply,
    ];

    /// The snake-case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            MessageKind::RequestVote => "request_vote",
            MessageKind::RequestVoteReply => "request_vote_reply",
            MessageKind::AppendEntries => "append_entries",
            MessageKind::AppendEntriesReply => "append_entries_reply",
        }
    }
}

/// Messages counted by [`MessageKind`]: what a node sent, or a whole trial.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MessageCounts([u64; 4]);

impl MessageCounts {
    /// Counts one more message of `kind`.
    #[inline]
    pub fn count(&mut self, kind: MessageKind) {
        self.0[kind as usize] += 1;
    }

    /// Adds every count of `other`.
    #[inline]
    pub fn add(&mut self, other: &MessageCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// Messages of every kind together.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// `(kind, count)` for every kind, in [`MessageKind::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (MessageKind, u64)> + '_ {
        MessageKind::ALL.into_iter().map(|k| (k, self.0[k as usize]))
    }
}

impl IntoIterator for MessageCounts {
    type Item = u64;
    type IntoIter = std::array::IntoIter<u64, 4>;
    /// The counts in [`MessageKind::ALL`] order.
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl std::ops::Index<MessageKind> for MessageCounts {
    type Output = u64;
    #[inline]
    fn index(&self, kind: MessageKind) -> &u64 {
        &self.0[kind as usize]
    }
}

/// The node's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// Continuous timers, followers and candidates: start an election when it fires.
    Election = 0,
    /// Continuous timers, leaders: send heartbeats when it fires.
    Heartbeat = 1,
    /// Continuous timers, leaders with check-quorum: step down unless a majority was heard from.
    Quorum = 2,
    /// Tick timers: one tick of the node's logical clock; elections and heartbeats count ticks.
    Tick = 3,
}

impl Timer {
    /// Number of timers a node uses.
    pub const COUNT: usize = 4;

    /// The timer with slot number `slot`.
    pub fn from_slot(slot: usize) -> Timer {
        match slot {
            0 => Timer::Election,
            1 => Timer::Heartbeat,
            2 => Timer::Quorum,
            3 => Timer::Tick,
            _ => panic!("no timer in slot {slot}"),
        }
    }
}

/// Tick-quantized timers, as etcd/raft and raft-rs have them: a node's logical clock ticks every `tick`; a
/// follower starts an election after a number of ticks drawn uniformly from `[election_min, election_max]`
/// (redrawn only when its role or term changes), and a leader sends heartbeats every `heartbeat` ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TickConfig {
    /// Length of one tick.
    pub tick: Duration,
    /// Fewest ticks of an election timeout (also the check-quorum and stickiness period).
    pub election_min: u32,
    /// Most ticks of an election timeout (inclusive).
    pub election_max: u32,
    /// Ticks between heartbeats.
    pub heartbeat: u32,
}

/// What a node reports when its role, term or known leader changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    /// Current role.
    pub role: Role,
    /// Current term.
    pub term: Term,
    /// The leader of `term`, if this node knows it (itself, when leader).
    pub leader: Option<NodeId>,
}

/// The node's timing and election configuration. Every option is off by default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Smallest election timeout (inclusive), for continuous timers. Default 150 ms. With tick timers it is
    /// `ticks.election_min` ticks.
    pub election_timeout_min: Duration,
    /// Largest election timeout (inclusive), for continuous timers. Default 300 ms.
    pub election_timeout_max: Duration,
    /// Interval between a leader's heartbeats, for continuous timers. Default 50 ms.
    pub heartbeat_interval: Duration,
    /// Most entries one AppendEntries carries. Default 64.
    pub max_entries_per_append: usize,
    /// Pre-vote: a node starts a real election only after a majority says it would vote for it.
    pub pre_vote: bool,
    /// Check-quorum: a leader steps down when it has not heard from a majority within an election timeout.
    pub check_quorum: bool,
    /// Leader stickiness: a node ignores vote requests while it hears from a live leader (within the minimum
    /// election timeout).
    pub leader_stickiness: bool,
    /// A separate range for re-election timeouts after a failed election (continuous timers).
    pub candidate_timeout: Option<(Duration, Duration)>,
    /// Randomized binary exponential backoff after failed elections: after k in a row, the timeout grows by
    /// r minimum timeouts, r uniform in `[0, 2^min(k, cap) - 1]`. `Some(cap)` enables it.
    pub backoff_max_exponent: Option<u32>,
    /// Tick-quantized timers instead of continuous ones.
    pub ticks: Option<TickConfig>,
    /// The choices on which Raft libraries differ from the paper. Default: the paper's.
    pub behaviour: Behaviour,
}

/// Which answer a node gives to an AppendEntries (or heartbeat) from an older term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaleAppendReply {
    /// Always reply with the current term, so a deposed leader learns of it (Figure 2: "reply false if term <
    /// currentTerm").
    Always,
    /// Reply only when check-quorum or pre-vote is on, and ignore it otherwise (raft-rs `Raft::step`, etcd
    /// `raft.Step`: the `m.term < self.term` branch).
    WithCheckQuorumOrPreVote,
}

/// When a node refuses to take part in an election because it hears from a live leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteLease {
    /// The thesis (section 9.6): a pre-vote is refused (with a reply) whenever a leader was heard within the
    /// minimum election timeout; a real vote request is ignored then only with `leader_stickiness`.
    Paper,
    /// raft-rs and etcd: with check-quorum (or `leader_stickiness`), a higher-term vote or pre-vote request
    /// within the leader's lease is dropped without a reply; without it, a pre-vote is granted whoever leads
    /// (raft-rs `Raft::step`, the `in_lease` test; etcd `raft.Step`, `inLease`).
    CheckQuorum,
}

/// The election behaviours on which Raft libraries differ from the paper's Figure 2, so that the model can behave
/// as a named library does. [`Behaviour::PAPER`] is the default; [`Behaviour::RAFT_RS`] is raft-rs's and etcd's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Behaviour {
    /// The answer to an AppendEntries from an older term.
    pub stale_append_reply: StaleAppendReply,
    /// Whether a RequestVote from an older term gets a (refusing) reply. Figure 2: yes; raft-rs and etcd ignore
    /// it (`Raft::step`, `raft.Step`).
    pub stale_vote_reply: bool,
    /// When a live leader makes a node refuse an election.
    pub vote_lease: VoteLease,
    /// A new leader appends an empty entry of its term (raft-rs `Raft::become_leader`, etcd `becomeLeader`,
    /// hashicorp/raft `runLeader`'s `LogNoop`), so that entries of earlier terms commit with it.
    pub noop_on_election: bool,
    /// A candidate (or pre-candidate) that a majority refuses becomes a follower at once instead of waiting for
    /// its timeout (raft-rs `Raft::poll`, etcd `stepCandidate` on `VoteLost`).
    pub step_down_on_rejection: bool,
}

impl Behaviour {
    /// The Raft paper's Figure 2 (and thesis section 9.6 for pre-vote).
    pub const PAPER: Behaviour = Behaviour {
        stale_append_reply: StaleAppendReply::Always,
        stale_vote_reply: true,
        vote_lease: VoteLease::Paper,
        noop_on_election: false,
        step_down_on_rejection: false,
    };

    /// tikv's raft-rs 0.7, and etcd-io/raft, which it ports function for function.
    pub const RAFT_RS: Behaviour = Behaviour {
        stale_append_reply: StaleAppendReply::WithCheckQuorumOrPreVote,
        stale_vote_reply: false,
        vote_lease: VoteLease::CheckQuorum,
        noop_on_election: true,
        step_down_on_rejection: true,
    };
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour::PAPER
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            election_timeout_min: Duration::from_millis(150),
            election_timeout_max: Duration::from_millis(300),
            heartbeat_interval: Duration::from_millis(50),
            max_entries_per_append: 64,
            pre_vote: false,
            check_quorum: false,
            leader_stickiness: false,
            candidate_timeout: None,
            backoff_max_exponent: None,
            ticks: None,
            behaviour: Behaviour::PAPER,
        }
    }
}

impl Config {
    /// Checks that the configuration can run; says what is wrong otherwise.
    pub fn validate(&self) -> Result<(), String> {
        if self.election_timeout_min.is_zero() || self.election_timeout_min > self.election_timeout_max {
            return Err("the election timeout range must be non-empty and above zero".into());
        }
        if self.heartbeat_interval.is_zero() {
            return Err("the heartbeat interval must be above zero".into());
        }
        if self.max_entries_per_append == 0 {
            return Err("max_entries_per_append must be at least 1".into());
        }
        if let Some((min, max)) = self.candidate_timeout
            && (min.is_zero() || min > max)
        {
            return Err("the candidate timeout range must be non-empty and above zero".into());
        }
        if let Some(t) = self.ticks {
            if t.tick.is_zero() || t.election_min == 0 || t.election_min > t.election_max || t.heartbeat == 0 {
                return Err(
                    "tick timers need a tick above zero, 1 <= election_min <= election_max, heartbeat >= 1".into(),
                );
            }
            if self.candidate_timeout.is_some() {
                return Err("a separate candidate timeout needs continuous timers".into());
            }
        }
        if self.backoff_max_exponent.is_some_and(|c| c > 16) {
            return Err("the backoff exponent cap is at most 16".into());
        }
        Ok(())
    }
}

/// Returned by [`crate::Node::start`] on a server that is not the leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotLeader {
    /// The leader this server knows of, if any, so a client can redirect.
    pub leader_hint: Option<NodeId>,
    /// The server's current term.
    pub term: Term,
}

impl fmt::Display for NotLeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.leader_hint {
            Some(l) => write!(f, "not the leader (try {l}, term {})", self.term),
            None => write!(f, "not the leader (no known leader, term {})", self.term),
        }
    }
}

impl std::error::Error for NotLeader {}
