//! Event traces of one trial: what every node did, when, in which term and role.
//!
//! A trace is a list of [`TraceLine`]s, written as plain text (`trace.txt`, one aligned line per event) and as
//! JSON Lines (`trace.jsonl`, one object per event with the same fields). Format, field by field:
//!
//! | field | meaning |
//! |---|---|
//! | `t_ms` | virtual time in milliseconds (microsecond resolution) |
//! | `node` | the node the event happened at (the sender, for `send` and `drop`); absent for cluster-wide events |
//! | `event` | `deliver`, `timer`, `send`, `drop` (lost or cut on the way), `lost` (reached a crashed node), `role` (a role, term or leader change), `apply`, `client`, or a fault: `crash`, `restart`, `partition`, `cut`, `restore`, `heal` |
//! | `term`, `role` | the node's term and role just after the event (absent while it is down) |
//! | `peer` | the other end of a message |
//! | `detail` | a summary: the message (`AppendEntries t3 prev 5/2 +3 commit 4`, `vote granted t3`), the timer, the fault |

use raft_model::{Message, Role, Timer};
use serde::{Deserialize, Serialize};
use std::fmt::{self, Write as _};

/// What kind of event a trace line records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceEvent {
    /// A message handed to its receiver.
    Deliver,
    /// A timer fired.
    Timer,
    /// A message left its sender.
    Send,
    /// A message was lost or cut on the way.
    Drop,
    /// A message reached a crashed node.
    Lost,
    /// A role, term or leader change.
    Role,
    /// A committed entry was applied.
    Apply,
    /// The client submitted a command.
    Client,
    /// Fault: a node crashed.
    Crash,
    /// Fault: a node restarted.
    Restart,
    /// Fault: the network split into groups.
    Partition,
    /// Fault: links were cut.
    Cut,
    /// Fault: cut links were restored.
    Restore,
    /// Fault: every link was restored.
    Heal,
    /// The leader began handing leadership to another node.
    Transfer,
}

impl TraceEvent {
    /// The name used in traces.
    pub fn name(self) -> &'static str {
        match self {
            TraceEvent::Deliver => "deliver",
            TraceEvent::Timer => "timer",
            TraceEvent::Send => "send",
            TraceEvent::Drop => "drop",
            TraceEvent::Lost => "lost",
            TraceEvent::Role => "role",
            TraceEvent::Apply => "apply",
            TraceEvent::Client => "client",
            TraceEvent::Crash => "crash",
            TraceEvent::Restart => "restart",
            TraceEvent::Partition => "partition",
            TraceEvent::Cut => "cut",
            TraceEvent::Restore => "restore",
            TraceEvent::Heal => "heal",
            TraceEvent::Transfer => "transfer",
        }
    }

    /// Whether it is a fault the scenario injected.
    pub fn is_fault(self) -> bool {
        matches!(
            self,
            TraceEvent::Crash
                | TraceEvent::Restart
                | TraceEvent::Partition
                | TraceEvent::Cut
                | TraceEvent::Restore
                | TraceEvent::Heal
                | TraceEvent::Transfer
        )
    }
}

impl fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// The kind of a message on the wire, heartbeats told apart from AppendEntries that carry entries.
///
/// It is also the message class network rules match (`network.links[].kinds` in a scenario): each kind is its
/// own class ([`WireKind::class`]), and its scenario name is the serde name below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum WireKind {
    /// RequestVote (and pre-vote requests).
    #[serde(rename = "request_vote")]
    RequestVote,
    /// A vote (or pre-vote) reply.
    #[serde(rename = "vote_reply")]
    RequestVoteReply,
    /// AppendEntries carrying entries (and TimeoutNow).
    #[serde(rename = "append_entries")]
    AppendEntries,
    /// AppendEntries with no entries.
    #[serde(rename = "heartbeat")]
    Heartbeat,
    /// An AppendEntries reply.
    #[serde(rename = "append_entries_reply")]
    AppendEntriesReply,
}

impl WireKind {
    /// The engine's message class of this kind (see `sim_core::Process::class`).
    #[inline]
    pub const fn class(self) -> u8 {
        self as u8
    }

    /// The kind of a model message.
    pub fn of(msg: &Message) -> WireKind {
        match msg {
            Message::RequestVote(_) => WireKind::RequestVote,
            Message::RequestVoteReply { .. } => WireKind::RequestVoteReply,
            Message::AppendEntries { entries, .. } if entries.is_empty() => WireKind::Heartbeat,
            Message::AppendEntries { .. } | Message::TimeoutNow { .. } => WireKind::AppendEntries,
            Message::AppendEntriesReply { .. } => WireKind::AppendEntriesReply,
        }
    }
}

/// One event of a trace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceLine {
    /// Virtual time, microseconds.
    #[serde(skip)]
    pub t_us: u64,
    /// Virtual time, milliseconds.
    pub t_ms: f64,
    /// Where it happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<usize>,
    /// What kind of event.
    pub event: TraceEvent,
    /// The node's term afterwards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<u64>,
    /// The node's role afterwards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    /// The other end of a message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<usize>,
    /// A one-line summary.
    pub detail: String,
    /// For messages: the kind, used by the diagram.
    #[serde(skip)]
    pub kind: Option<WireKind>,
    /// For sends: when the message arrives (microseconds), if it does.
    #[serde(skip)]
    pub arrives_us: Option<u64>,
}

impl TraceLine {
    /// A line at `t_us`.
    pub fn new(t_us: u64, node: Option<usize>, event: TraceEvent, detail: String) -> Self {
        TraceLine {
            t_us,
            t_ms: t_us as f64 / 1000.0,
            node,
            event,
            term: None,
            role: None,
            peer: None,
            detail,
            kind: None,
            arrives_us: None,
        }
    }

    /// The aligned text form.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let node = self.node.map_or_else(|| "-".to_string(), |n| format!("n{n}"));
        let _ = write!(s, "{:>12.3}ms  {node:<4} {:<9}", self.t_ms, self.event);
        match (self.term, self.role) {
            (Some(t), Some(r)) => {
                let _ = write!(s, " t{t:<4} {r:<13}");
            }
            _ => s.push_str(&" ".repeat(20)),
        }
        s.push_str(&self.detail);
        s
    }
}

/// The name of a role, as traces and diagrams show it.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Follower => "follower",
        Role::PreCandidate => "pre-candidate",
        Role::Candidate => "candidate",
        Role::Leader => "leader",
    }
}

/// The name of a timer.
pub fn timer_name(timer: usize) -> &'static str {
    match timer {
        t if t == Timer::Election as usize => "election timeout",
        t if t == Timer::Heartbeat as usize => "heartbeat timer",
        t if t == Timer::Quorum as usize => "check-quorum timer",
        t if t == Timer::Tick as usize => "tick",
        _ => "timer",
    }
}

/// A one-line summary of a message.
pub fn describe(msg: &Message) -> String {
    match msg {
        Message::TimeoutNow { term } => format!("TimeoutNow t{} (leadership transfer)", term.0),
        Message::RequestVote(rv) => format!(
            "{}{}RequestVote t{} last {}/{}",
            if rv.pre_vote { "pre-vote " } else { "" },
            if rv.leadership_transfer { "transfer " } else { "" },
            rv.term.0,
            rv.last_log_index.0,
            rv.last_log_term.0
        ),
        Message::RequestVoteReply {
            term,
            vote_granted,
            pre_vote,
        } => format!(
            "{}vote {} t{}",
            if *pre_vote { "pre-" } else { "" },
            if *vote_granted { "granted" } else { "refused" },
            term.0
        ),
        Message::AppendEntries {
            term,
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit,
        } => {
            let what = if entries.is_empty() {
                "heartbeat".to_string()
            } else {
                format!("AppendEntries +{}", entries.len())
            };
            format!(
                "{what} t{} prev {}/{} commit {}",
                term.0, prev_log_index.0, prev_log_term.0, leader_commit.0
            )
        }
        Message::AppendEntriesReply {
            term,
            success,
            match_index,
            conflict,
        } => {
            if *success {
                format!("append ok t{} match {}", term.0, match_index.0)
            } else {
                match conflict {
                    Some(c) => format!("append rejected t{} (conflict {c:?})", term.0),
                    None => format!("append rejected t{} (stale term)", term.0),
                }
            }
        }
    }
}

/// A 64-bit FNV-1a hash over the text of every line: two runs of a trial are identical exactly when their
/// hashes agree (up to collisions).
pub fn hash(lines: &[TraceLine]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for line in lines {
        for b in line.text().bytes().chain(std::iter::once(b'\n')) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}
