//! tikv's raft-rs (the `raft` crate, 0.7) as a node on raftsim's engine, beside the model in `raft-model`.
//!
//! [`RaftRsProcess`] wraps a [`RawNode`] and implements [`sim_core::Process`]: its messages are raft-rs's own
//! [`eraftpb::Message`]s, and it reports the same [`RaftNote`]s as [`crate::host::RaftProcess`] (status
//! changes, and every committed entry as it is applied), so the observer and the safety checker watch it the
//! same way.
//!
//! # Time
//!
//! raft-rs counts ticks. A node calls [`RawNode::tick`] every tick; each node starts its ticker at a random phase
//! in `(0, tick]` drawn from its own stream, so nodes do not tick in the same microsecond. The tick configuration
//! is [`Config::ticks`] when present; otherwise [`tick_config`] derives it from the millisecond timeouts with a
//! 1 ms tick (see there why).
//!
//! Most ticks are idle: raft-rs only counts them (`election_elapsed`, `heartbeat_elapsed`). A tick acts only
//! when a follower's or candidate's count reaches its election timeout (`Raft::tick_election`), or a leader's
//! reaches the heartbeat interval or the check-quorum period (`Raft::tick_heartbeat`). So the one timer slot
//! ([`TICK_TIMER`]) is armed for the first tick that may act, computed from raft-rs's counters after every
//! input, and the idle ticks before an input are applied (as `tick()` calls) when that input comes. The timer is
//! a tick ([`Process::is_tick`]): it fires before anything else due in its microsecond, so an input at the
//! time of a tick always follows it, whether that tick was skipped or armed. The run is therefore the one a
//! timer armed every tick gives; only the engine's event count is smaller (tests/it/ticks.rs checks every
//! catalogue scenario both ways, see [`set_skip_idle_ticks`]). On a host with clock drift or timer jitter, where
//! each tick's delay differs, every tick is armed as an engine timer.
//!
//! raft-rs draws an election timeout uniformly from `[min_election_tick, max_election_tick)` (half-open);
//! raftsim's [`TickConfig`] range `[election_min, election_max]` is inclusive, so `max_election_tick` is
//! `election_max + 1`. `election_tick` (raft-rs's check-quorum period, leader-lease length and leader-transfer
//! deadline) is `election_min`, as [`TickConfig`] documents.
//!
//! # Determinism
//!
//! raft-rs draws its randomized election timeout from `rand::thread_rng()`, unseeded, in
//! `Raft::reset_randomized_election_timeout` (src/raft.rs). Its only caller is `Raft::reset(term)`, and the only
//! callers of `reset` are `Raft::become_follower`, `Raft::become_candidate` and `Raft::become_leader`
//! (`become_pre_candidate` does not reset: a pre-candidate keeps the timeout it had as follower or candidate).
//! The drawn value is read in one place only, `Raft::pass_election_timeout`, called from `Raft::tick_election`
//! at the start of a tick. So after every input (a tick, a message, a proposal, a leader transfer, and the
//! `Ready` handling that follows), before the next tick can read it, this process overwrites the value with
//! `Raft::set_randomized_election_timeout(min + draw)`, the draw taken from the node's own stream (`ctx.rng()`).
//!
//! It must know when raft-rs reset. Every call of `become_follower`/`become_candidate`/`become_leader` changes the
//! term (`become_candidate` always does; `step` on a higher term; `restore`) or the role into follower,
//! candidate or leader (`poll` on a won or lost election, `step_candidate` on an AppendEntries, heartbeat or
//! snapshot of its term, `step_leader` on a failed check-quorum, `maybe_commit_by_vote`), and the term is
//! written nowhere else but in `reset` and `load_state` (boot). So a reset happened in an input exactly when,
//! from before it to after it, the term changed or the role changed to anything but pre-candidate. That test
//! reads only the term and role, which are themselves deterministic, so whether a draw is taken never depends on
//! the thread RNG's value. When no reset is detected, the process asserts that raft-rs's value is still the one
//! it set, which catches a reset path this reasoning missed. `raft.election_elapsed` going back to 0 is not used
//! as the signal: raft-rs zeroes it on every heartbeat a follower receives without redrawing, and redrawing
//! there would change raft-rs's behaviour. Several resets in one input (a pre-candidate winning its pre-vote
//! becomes a candidate at once) are covered by one draw: nothing reads the intermediate values.
//!
//! The rest of raft-rs is deterministic given its inputs: its maps and sets use `FxHasher` (no random seed),
//! and it reads no clock. The placeholder value the constructor leaves (the minimum) is replaced in
//! [`Process::on_start`] before the first tick.
//!
//! # Ready handling
//!
//! As raft-rs documents it (the `RawNode` docs and `examples/five_mem_node`), after each input and while
//! [`RawNode::has_ready`]: send `messages()` (a leader's, which may leave before its own write, thesis
//! 10.2.1); apply the snapshot, if any (never: raftsim does not compact logs, so a snapshot is a bug and
//! panics); apply `committed_entries`; append `entries` to storage and store the hard state, then
//! [`Ctx::sync`] once when `must_sync()` (a slow disk delays everything sent after it); send
//! `persisted_messages()`; [`RawNode::advance`]; store the light ready's commit index, send its messages and
//! apply its committed entries; [`RawNode::advance_apply`].
//!
//! Applied entries: a new leader's empty entry (raft-rs `Raft::become_leader` appends `Entry::default()`) is
//! reported as command [`NOOP_COMMAND`], so the checker sees every index in order; a proposed command is
//! encoded as its 8 little-endian bytes.
//!
//! # Ids
//!
//! raft-rs reserves id 0 (`INVALID_ID`), so raftsim's node `i` is raft-rs's `i + 1`, converted at every
//! boundary.

pub mod config;

pub use config::{DEFAULT_TICK, check_config, tick_config, unsupported_options};

use crate::host::{RaftHost, RaftNote};
use config::raft_config;
use raft::eraftpb::{self, ConfState, HardState, MessageType};
use raft::{GetEntriesContext, RaftState, RawNode, StateRole, Storage};
use raft_model::{
    Command, Config, Entry, LogIndex, MessageCounts, MessageKind, NotLeader, Persistent, Role, Status, Term, TickConfig,
};
use sim_core::rng::uniform_inclusive;
use sim_core::{Ctx, NodeId, Process, SimTime};
use std::collections::VecDeque;
use std::time::Duration;

/// The message type on the wire: raft-rs's own protobuf message.
pub type Message = eraftpb::Message;

/// A message as the engine carries it: boxed, because a raft-rs message is several hundred bytes and every
/// queued event (ticks included) would otherwise be that large.
pub type Wire = Box<Message>;

pub use raft_model::NOOP_COMMAND;

/// The one timer slot: the tick.
pub const TICK_TIMER: usize = 0;

/// What a raft-rs node has persisted: its hard state (term, vote, commit), the cluster configuration and the
/// log. It is all that survives a crash.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RaftRsStorage {
    hard_state: HardState,
    conf_state: ConfState,
    /// The log; `entries[0]` has index 1 (logs are never compacted).
    entries: Vec<eraftpb::Entry>,
}

impl RaftRsStorage {
    /// The empty storage of a node of a `cluster_size`-node cluster.
    pub fn new(cluster_size: usize) -> Self {
        let conf_state = ConfState {
            voters: (1..=cluster_size as u64).collect(),
            ..ConfState::default()
        };
        RaftRsStorage {
            conf_state,
            ..RaftRsStorage::default()
        }
    }

    /// Storage of a `cluster_size`-node cluster's node holding what the model's `persisted` holds (a scenario's
    /// starting state): the term, the vote and the log, each command encoded as raft-rs entries carry them.
    pub fn from_persistent(persisted: &Persistent, cluster_size: usize) -> Self {
        let mut s = RaftRsStorage::new(cluster_size);
        s.hard_state.term = persisted.current_term.0;
        s.hard_state.vote = persisted.voted_for.map_or(0, |v| v.0 as u64 + 1);
        s.entries = persisted
            .log
            .iter()
            .enumerate()
            .map(|(i, e)| eraftpb::Entry {
                index: i as u64 + 1,
                term: e.term.0,
                data: e.command.to_le_bytes().to_vec().into(),
                ..eraftpb::Entry::default()
            })
            .collect();
        s
    }

    /// The persisted term.
    pub fn term(&self) -> Term {
        Term(self.hard_state.term)
    }

    /// The persisted vote of the current term, as a 0-based node id.
    pub fn voted_for(&self) -> Option<usize> {
        (self.hard_state.vote != 0).then(|| self.hard_state.vote as usize - 1)
    }

    /// The persisted commit index (raft-rs persists it too, lazily).
    pub fn commit_index(&self) -> LogIndex {
        LogIndex(self.hard_state.commit)
    }

    /// The persisted log, as the model's entries.
    pub fn log(&self) -> Vec<Entry> {
        self.entries.iter().map(model_entry).collect()
    }

    /// The persisted log, as raft-rs's entries.
    pub fn raw_entries(&self) -> &[eraftpb::Entry] {
        &self.entries
    }

    fn last_index(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Appends `entries`, cutting off whatever they replace.
    fn append(&mut self, entries: &[eraftpb::Entry]) {
        let Some(first) = entries.first() else {
            return;
        };
        assert!(
            first.index >= 1 && first.index <= self.last_index() + 1,
            "raft-rs appended index {} to a log ending at {}",
            first.index,
            self.last_index()
        );
        self.entries.truncate(first.index as usize - 1);
        self.entries.extend_from_slice(entries);
    }
}

/// The storage raft-rs reads: what was persisted, plus the per-message entry cap.
struct Disk {
    persisted: RaftRsStorage,
    max_entries_per_append: usize,
}

impl Storage for Disk {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(
            self.persisted.hard_state.clone(),
            self.persisted.conf_state.clone(),
        ))
    }

    /// Entries `[low, high)`. When raft-rs fetches them to send (the only fetch that may be asynchronous,
    /// `GetEntriesContext::can_async`), at most `max_entries_per_append` are returned, as raftsim's model sends;
    /// raft-rs sends what it gets and the rest on the next round.
    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        context: GetEntriesContext,
    ) -> raft::Result<Vec<eraftpb::Entry>> {
        let last = self.persisted.last_index();
        if low < 1 {
            return Err(raft::Error::Store(raft::StorageError::Compacted));
        }
        assert!(high <= last + 1, "entries up to {high} asked of a log ending at {last}");
        let mut high = high;
        if context.can_async() {
            high = high.min(low + self.max_entries_per_append as u64);
        }
        let mut out = self.persisted.entries[(low - 1) as usize..(high - 1) as usize].to_vec();
        raft::util::limit_size(&mut out, max_size.into());
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        if idx == 0 {
            return Ok(0);
        }
        match self.persisted.entries.get(idx as usize - 1) {
            Some(e) => Ok(e.term),
            None => Err(raft::Error::Store(raft::StorageError::Unavailable)),
        }
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(1)
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.persisted.last_index())
    }

    fn snapshot(&self, _request_index: u64, _to: u64) -> raft::Result<eraftpb::Snapshot> {
        // Logs are never compacted, so raft-rs never needs one (it asks only when entries are compacted).
        Err(raft::Error::Store(raft::StorageError::SnapshotTemporarilyUnavailable))
    }
}

/// A raft-rs entry as the model's entry.
fn model_entry(e: &eraftpb::Entry) -> Entry {
    Entry {
        term: Term(e.term),
        command: decode_command(&e.data),
    }
}

/// The command an entry's data encodes: [`NOOP_COMMAND`] for a leader's empty entry.
fn decode_command(data: &[u8]) -> Command {
    match <[u8; 8]>::try_from(data) {
        Ok(bytes) => u64::from_le_bytes(bytes),
        Err(_) if data.is_empty() => NOOP_COMMAND,
        Err(_) => panic!("an entry raftsim did not propose: {} bytes of data", data.len()),
    }
}

/// The model's role for a raft-rs role.
fn role(state: StateRole) -> Role {
    match state {
        StateRole::Follower => Role::Follower,
        StateRole::PreCandidate => Role::PreCandidate,
        StateRole::Candidate => Role::Candidate,
        StateRole::Leader => Role::Leader,
    }
}

/// A raft-rs id (1-based, 0 meaning none) as a 0-based model id.
fn model_id(id: u64) -> Option<raft_model::NodeId> {
    (id != 0).then(|| raft_model::NodeId(id as u32 - 1))
}

/// How a raft-rs message is counted.
///
/// - RequestVote: `MsgRequestVote` and `MsgRequestPreVote`.
/// - RequestVoteReply: their responses.
/// - AppendEntries: what a leader sends a follower — `MsgAppend`, `MsgHeartbeat`, `MsgSnapshot`,
///   `MsgTimeoutNow` (a leader transfer's "start an election now") and `MsgReadIndexResp`.
/// - AppendEntriesReply: what a follower sends its leader — `MsgAppendResponse`, `MsgHeartbeatResponse`, and
///   the forwarded `MsgPropose`, `MsgTransferLeader`, `MsgReadIndex`. The local-only types (`MsgHup`,
///   `MsgBeat`, `MsgCheckQuorum`, `MsgUnreachable`, `MsgSnapStatus`) never reach the network; they count here
///   too should one ever be sent.
pub fn message_kind(msg: &Message) -> MessageKind {
    use MessageType::*;
    match msg.msg_type {
        MsgRequestVote | MsgRequestPreVote => MessageKind::RequestVote,
        MsgRequestVoteResponse | MsgRequestPreVoteResponse => MessageKind::RequestVoteReply,
        MsgAppend | MsgHeartbeat | MsgSnapshot | MsgTimeoutNow | MsgReadIndexResp => MessageKind::AppendEntries,
        MsgAppendResponse | MsgHeartbeatResponse | MsgPropose | MsgTransferLeader | MsgReadIndex | MsgHup | MsgBeat
        | MsgCheckQuorum | MsgUnreachable | MsgSnapStatus => MessageKind::AppendEntriesReply,
    }
}

/// A one-line summary of a message, in the manner of [`crate::trace::describe`].
pub fn describe(msg: &Message) -> String {
    use MessageType::*;
    let t = msg.term;
    match msg.msg_type {
        MsgRequestVote | MsgRequestPreVote => format!(
            "{}RequestVote t{t} last {}/{}{}",
            if msg.msg_type == MsgRequestPreVote {
                "pre-vote "
            } else {
                ""
            },
            msg.index,
            msg.log_term,
            if msg.context.as_ref() == raft::CAMPAIGN_TRANSFER {
                " (transfer)"
            } else {
                ""
            }
        ),
        MsgRequestVoteResponse | MsgRequestPreVoteResponse => format!(
            "{}vote {} t{t}",
            if msg.msg_type == MsgRequestPreVoteResponse {
                "pre-"
            } else {
                ""
            },
            if msg.reject { "refused" } else { "granted" }
        ),
        MsgAppend => format!(
            "AppendEntries +{} t{t} prev {}/{} commit {}",
            msg.entries.len(),
            msg.index,
            msg.log_term,
            msg.commit
        ),
        MsgHeartbeat => format!("heartbeat t{t} commit {}", msg.commit),
        MsgAppendResponse if msg.reject => format!(
            "append rejected t{t} at {} (hint {}/{})",
            msg.index, msg.reject_hint, msg.log_term
        ),
        MsgAppendResponse => format!("append ok t{t} match {}", msg.index),
        MsgHeartbeatResponse => format!("heartbeat ok t{t}"),
        MsgTimeoutNow => format!("timeout-now t{t}"),
        other => format!("{other:?} t{t}"),
    }
}

/// A term and role, taken before an input to see whether raft-rs reset (module docs, "Determinism").
#[derive(Clone, Copy)]
struct Mark {
    term: u64,
    state: StateRole,
}

/// One write of a `Ready` still within its persist latency: the entries appended and the hard state stored.
#[derive(Clone, Debug)]
struct Write {
    entries: Vec<eraftpb::Entry>,
    hard_state: Option<HardState>,
}

/// What survives a crash: the writes that completed, and those still in progress with their completion times
/// (never decreasing, [`Ctx::sync`]).
#[derive(Clone, Debug, Default)]
struct Durable {
    done: RaftRsStorage,
    pending: VecDeque<(SimTime, Write)>,
}

impl Durable {
    /// Applies the writes completed by `now`.
    fn complete(&mut self, now: SimTime) {
        while let Some((at, _)) = self.pending.front()
            && *at <= now
        {
            let (_, w) = self.pending.pop_front().expect("checked");
            self.apply(&w);
        }
    }

    fn apply(&mut self, w: &Write) {
        self.done.append(&w.entries);
        if let Some(hs) = &w.hard_state {
            self.done.hard_state = hs.clone();
        }
    }

    /// Records a write asked for at `now` that completes at `done` (an unsynced one completes with the write
    /// before it).
    fn write(&mut self, now: SimTime, done: Option<SimTime>, w: Write) {
        self.complete(now);
        let last = self.pending.back().map_or(now, |(at, _)| *at);
        let done = done.unwrap_or(last).max(last);
        if done <= now {
            self.apply(&w);
        } else {
            self.pending.push_back((done, w));
        }
    }
}

/// A raft-rs node as an engine process.
pub struct RaftRsProcess {
    node: RawNode<Disk>,
    /// What a crash would keep.
    durable: Durable,
    ticks: TickConfig,
    /// Mirror of the persisted log, as the model's entries (`log[0]` has index 1).
    log: Vec<Entry>,
    last_applied: LogIndex,
    messages: MessageCounts,
    /// The status last reported.
    reported: Option<Status>,
    /// The election timeout (ticks) last set into raft-rs.
    election_timeout_ticks: usize,
    /// How many election timeouts this process has drawn.
    election_timeout_draws: u64,
    /// The time of the next tick not yet applied (`SimTime::MAX` before the process starts).
    next_tick: SimTime,
    /// When idle ticks are skipped: the time from one tick to the next, the same for every tick on this host.
    /// `None` ticks on an engine timer every tick.
    tick_period: Option<Duration>,
    /// Whether this process may skip idle ticks (see [`set_skip_idle_ticks`]).
    skip_idle: bool,
}

thread_local! {
    static SKIP_IDLE_TICKS: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

/// Whether raft-rs nodes built on this thread from now on skip idle ticks (the default): see the module
/// documentation. A run is the same either way except for the engine's event count; off, every tick is an engine
/// event, as in a plain harness. tests/it/ticks.rs runs scenarios both ways.
pub fn set_skip_idle_ticks(on: bool) {
    SKIP_IDLE_TICKS.with(|c| c.set(on));
}

impl RaftRsProcess {
    /// Node `id` (0-based) of a `cluster_size`-node cluster running `config`, restarting from `storage` when
    /// given (what [`into_storage`](Self::into_storage) returned at its crash) or empty otherwise.
    ///
    /// Panics if raft-rs refuses the configuration (see [`check_config`]).
    pub fn new(id: usize, cluster_size: usize, config: &Config, storage: Option<RaftRsStorage>) -> Self {
        let ticks = tick_config(config);
        let raft_cfg = raft_config(id, config, &ticks);
        let persisted = storage.unwrap_or_else(|| RaftRsStorage::new(cluster_size));
        let log = persisted.log();
        let durable = Durable {
            done: persisted.clone(),
            pending: VecDeque::new(),
        };
        let disk = Disk {
            persisted,
            max_entries_per_append: config.max_entries_per_append.max(1),
        };
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let mut node = RawNode::new(&raft_cfg, disk, &logger)
            .unwrap_or_else(|e| panic!("raft-rs refuses the configuration of node {id}: {e}"));
        // `Raft::new` reset with a thread-RNG draw; hold a fixed placeholder until `on_start` draws.
        let placeholder = ticks.election_min as usize;
        node.raft.set_randomized_election_timeout(placeholder);
        RaftRsProcess {
            node,
            durable,
            ticks,
            log,
            last_applied: LogIndex(0),
            messages: MessageCounts::default(),
            reported: None,
            election_timeout_ticks: placeholder,
            election_timeout_draws: 0,
            next_tick: SimTime::MAX,
            tick_period: None,
            skip_idle: SKIP_IDLE_TICKS.with(|c| c.get()),
        }
    }

    /// What survives this node's crash at `at`: the writes completed by then (one still within its persist
    /// latency is lost).
    pub fn into_storage(mut self, at: SimTime) -> RaftRsStorage {
        self.durable.complete(at);
        self.durable.done
    }

    /// What raft-rs has written so far, including writes still in progress.
    pub fn storage(&self) -> &RaftRsStorage {
        &self.node.raft.raft_log.store.persisted
    }

    /// The role, term and known leader.
    pub fn status(&self) -> Status {
        let raft = &self.node.raft;
        Status {
            role: role(raft.state),
            term: Term(raft.term),
            leader: model_id(raft.leader_id),
        }
    }

    /// The commit index raft-rs knows.
    pub fn commit_index(&self) -> LogIndex {
        LogIndex(self.node.raft.raft_log.committed)
    }

    /// The last entry applied (reported as [`RaftNote::Applied`]) since this process started.
    pub fn last_applied(&self) -> LogIndex {
        self.last_applied
    }

    /// The node's log as persisted (index `i + 1` at `[i]`); after each input it is the whole raft-rs log.
    pub fn log(&self) -> &[Entry] {
        &self.log
    }

    /// Messages sent by this process, by [`MessageKind`] (in `MessageKind::ALL` order).
    pub fn messages(&self) -> MessageCounts {
        self.messages
    }

    /// The tick configuration this node runs.
    pub fn ticks(&self) -> TickConfig {
        self.ticks
    }

    /// The election timeout raft-rs runs now, in ticks.
    pub fn election_timeout_ticks(&self) -> usize {
        self.node.raft.randomized_election_timeout()
    }

    /// How many election timeouts this process has drawn (one per raft-rs reset, and one at start).
    pub fn election_timeout_draws(&self) -> u64 {
        self.election_timeout_draws
    }

    /// The vote cast in the current term, as a 0-based node id.
    pub fn voted_for(&self) -> Option<usize> {
        model_id(self.node.raft.vote).map(|n| n.index())
    }

    /// Proposes `command` on this node, now: `Ok((index, term))` where it will commit if it does, or
    /// [`NotLeader`] on a follower or candidate (with the leader it knows), and on a leader that is handing over
    /// leadership (raft-rs drops proposals then; the hint names the transferee).
    ///
    /// Panics on [`NOOP_COMMAND`], which stands for leaders' empty entries.
    pub fn start(
        &mut self,
        ctx: &mut Ctx<'_, Wire, RaftNote>,
        command: Command,
    ) -> Result<(LogIndex, Term), NotLeader> {
        assert_ne!(
            command, NOOP_COMMAND,
            "command {NOOP_COMMAND} stands for a leader's empty entry"
        );
        self.catch_up(ctx);
        let raft = &self.node.raft;
        let term = Term(raft.term);
        if raft.state != StateRole::Leader {
            return Err(NotLeader {
                leader_hint: model_id(raft.leader_id),
                term,
            });
        }
        let mark = self.mark();
        let result = self.node.propose(Vec::new(), command.to_le_bytes().to_vec());
        let index = LogIndex(self.node.raft.raft_log.last_index());
        let transferee = self.node.raft.lead_transferee;
        self.after_input(ctx, mark);
        self.arm_tick(ctx);
        match result {
            Ok(()) => Ok((index, term)),
            Err(_) => Err(NotLeader {
                leader_hint: transferee.and_then(model_id),
                term,
            }),
        }
    }

    /// Asks this node, if leader, to hand leadership to node `to` (0-based), through raft-rs's
    /// `RawNode::transfer_leader`: once `to` has the leader's whole log the leader sends it `MsgTimeoutNow`, and
    /// `to` campaigns at once. A follower forwards the request to its leader.
    pub fn transfer_leader(&mut self, ctx: &mut Ctx<'_, Wire, RaftNote>, to: usize) {
        self.catch_up(ctx);
        let mark = self.mark();
        self.node.transfer_leader(to as u64 + 1);
        self.after_input(ctx, mark);
        self.arm_tick(ctx);
    }

    /// Starts an election on this node now, as if its election timeout had passed (`RawNode::campaign`).
    pub fn campaign(&mut self, ctx: &mut Ctx<'_, Wire, RaftNote>) {
        self.catch_up(ctx);
        let mark = self.mark();
        let _ = self.node.campaign();
        self.after_input(ctx, mark);
        self.arm_tick(ctx);
    }

    /// Ticks raft-rs once, as the tick due at `self.next_tick`, and moves `next_tick` on.
    fn tick(&mut self, ctx: &mut Ctx<'_, Wire, RaftNote>) {
        if self.idle_ticks() > 0 {
            // Only a counter moves: nothing to hand on.
            self.node.tick();
            debug_assert!(!self.node.has_ready(), "an idle tick left a Ready (node {})", ctx.me());
        } else {
            let mark = self.mark();
            self.node.tick();
            self.after_input(ctx, mark);
        }
        match self.tick_period {
            Some(period) => self.next_tick += period,
            None => {
                ctx.set_timer(TICK_TIMER, self.ticks.tick);
                self.next_tick = ctx.timer_deadline(TICK_TIMER).expect("just armed");
            }
        }
    }

    /// How many of the coming ticks are idle (raft-rs only counts them) before one that may do something: a
    /// follower's or candidate's that reaches its election timeout, a leader's that reaches the heartbeat
    /// interval or the check-quorum period (`Raft::tick_election`, `Raft::tick_heartbeat`).
    fn idle_ticks(&self) -> usize {
        let raft = &self.node.raft;
        let elapsed = raft.election_elapsed;
        let acting = if raft.state == StateRole::Leader {
            (raft.election_timeout().saturating_sub(elapsed))
                .min(raft.heartbeat_timeout().saturating_sub(raft.heartbeat_elapsed()))
        } else {
            raft.randomized_election_timeout().saturating_sub(elapsed)
        };
        acting.saturating_sub(1)
    }

    /// When idle ticks are skipped, applies every tick due by now (each idle: the one that acts is due at the
    /// tick timer, which fires first in its microsecond); an input comes next. With a timer every tick there
    /// is nothing to catch up: the tick due now has fired.
    fn catch_up(&mut self, ctx: &mut Ctx<'_, Wire, RaftNote>) {
        if self.tick_period.is_some() {
            while self.next_tick <= ctx.now() {
                self.tick(ctx);
            }
        }
    }

    /// When idle ticks are skipped, arms the tick timer for the first tick that acts.
    fn arm_tick(&mut self, ctx: &mut Ctx<'_, Wire, RaftNote>) {
        if let Some(period) = self.tick_period {
            let idle = self.idle_ticks() as u32;
            ctx.set_timer_at(TICK_TIMER, self.next_tick + period * idle);
        }
    }

    fn mark(&self) -> Mark {
        Mark {
            term: self.node.raft.term,
            state: self.node.raft.state,
        }
    }

    /// Draws an election timeout from the node's stream and sets it into raft-rs.
    fn draw_election_timeout(&mut self, ctx: &mut Ctx<'_, Wire, RaftNote>) {
        let t = uniform_inclusive(
            ctx.rng(),
            self.ticks.election_min as u64,
            self.ticks.election_max as u64,
        ) as usize;
        self.node.raft.set_randomized_election_timeout(t);
        self.election_timeout_ticks = t;
        self.election_timeout_draws += 1;
    }

    /// Everything that follows an input: the `Ready` loop, the election timeout raft-rs may have redrawn, and
    /// the status note.
    fn after_input(&mut self, ctx: &mut Ctx<'_, Wire, RaftNote>, before: Mark) {
        self.handle_ready(ctx);
        let raft = &self.node.raft;
        let reset = raft.term != before.term || (raft.state != before.state && raft.state != StateRole::PreCandidate);
        if reset {
            debug_assert_eq!(
                raft.election_elapsed, 0,
                "raft-rs resets election_elapsed with the timeout"
            );
            self.draw_election_timeout(ctx);
        } else {
            assert_eq!(
                raft.randomized_election_timeout(),
                self.election_timeout_ticks,
                "raft-rs redrew its election timeout without a term or role change (node {})",
                ctx.me()
            );
        }
        self.report_status(ctx);
    }

    fn report_status(&mut self, ctx: &mut Ctx<'_, Wire, RaftNote>) {
        let status = self.status();
        if self.reported != Some(status) {
            self.reported = Some(status);
            ctx.note(RaftNote::Status(status));
        }
    }

    fn send_all(&mut self, ctx: &mut Ctx<'_, Wire, RaftNote>, msgs: Vec<Message>) {
        for msg in msgs {
            debug_assert!(msg.to != 0, "raft-rs addressed a message to no one");
            self.messages.count(message_kind(&msg));
            ctx.send(NodeId::new(msg.to as usize - 1), Box::new(msg));
        }
    }

    fn apply(&mut self, ctx: &mut Ctx<'_, Wire, RaftNote>, entries: Vec<eraftpb::Entry>) {
        for e in entries {
            assert_eq!(
                e.index,
                self.last_applied.0 + 1,
                "raft-rs handed index {} to apply after {} (node {})",
                e.index,
                self.last_applied.0,
                ctx.me()
            );
            assert_eq!(
                e.get_entry_type(),
                eraftpb::EntryType::EntryNormal,
                "raftsim proposes no configuration change"
            );
            self.last_applied = LogIndex(e.index);
            ctx.note_after_writes(RaftNote::Applied(self.last_applied, model_entry(&e)));
        }
    }

    fn handle_ready(&mut self, ctx: &mut Ctx<'_, Wire, RaftNote>) {
        while self.node.has_ready() {
            let mut rd = self.node.ready();
            // A leader's messages may leave before its own write.
            self.send_all(ctx, rd.take_messages());
            assert!(
                rd.snapshot().is_empty(),
                "raft-rs handed a snapshot, but raftsim never compacts logs"
            );
            self.apply(ctx, rd.take_committed_entries());
            let entries = rd.take_entries();
            if let Some(first) = entries.first() {
                self.log.truncate(first.index as usize - 1);
                self.log.extend(entries.iter().map(model_entry));
            }
            let disk = &mut self.node.raft.r.raft_log.store.persisted;
            disk.append(&entries);
            let hard_state = rd.hs().cloned();
            if let Some(hs) = &hard_state {
                disk.hard_state = hs.clone();
            }
            let done = rd.must_sync().then(|| ctx.sync());
            if !entries.is_empty() || hard_state.is_some() {
                self.durable.write(ctx.now(), done, Write { entries, hard_state });
            }
            self.send_all(ctx, rd.take_persisted_messages());
            let mut light = self.node.advance(rd);
            if let Some(commit) = light.commit_index() {
                let disk = &mut self.node.raft.r.raft_log.store.persisted;
                disk.hard_state.commit = commit;
                let hard_state = Some(disk.hard_state.clone());
                self.durable.write(
                    ctx.now(),
                    None,
                    Write {
                        entries: Vec::new(),
                        hard_state,
                    },
                );
            }
            self.send_all(ctx, light.take_messages());
            self.apply(ctx, light.take_committed_entries());
            self.node.advance_apply();
        }
    }
}

impl RaftHost for RaftRsProcess {
    type Storage = RaftRsStorage;

    fn boot(id: NodeId, cluster_size: usize, config: &Config, storage: RaftRsStorage) -> Self {
        RaftRsProcess::new(id.index(), cluster_size, config, Some(storage))
    }
    fn storage_from(persisted: &Persistent, cluster_size: usize) -> RaftRsStorage {
        RaftRsStorage::from_persistent(persisted, cluster_size)
    }
    fn storage_summary(storage: &RaftRsStorage) -> (Term, usize) {
        (storage.term(), storage.entries.len())
    }
    fn into_storage(self, at: SimTime) -> RaftRsStorage {
        RaftRsProcess::into_storage(self, at)
    }
    fn crash_into(&mut self, at: SimTime, out: &mut RaftRsStorage) {
        self.durable.complete(at);
        *out = std::mem::take(&mut self.durable.done);
    }
    /// raft-rs builds its own state afresh (`RawNode::new`), so this allocates as `boot` does.
    fn reboot(&mut self, id: NodeId, cluster_size: usize, config: &Config, storage: &mut RaftRsStorage) {
        *self = RaftRsProcess::new(id.index(), cluster_size, config, Some(storage.clone()));
    }
    fn term(&self) -> Term {
        Term(self.node.raft.term)
    }
    fn role(&self) -> Role {
        role(self.node.raft.state)
    }
    fn log(&self) -> &[Entry] {
        &self.log
    }
    fn commit_index(&self) -> LogIndex {
        RaftRsProcess::commit_index(self)
    }
    fn last_applied(&self) -> LogIndex {
        self.last_applied
    }
    fn messages(&self) -> MessageCounts {
        self.messages
    }
    fn take_applied_run(&mut self, _first: LogIndex, _len: usize) -> &[Entry] {
        unreachable!("a raft-rs process reports its applied entries one by one")
    }
    fn start(&mut self, ctx: &mut Ctx<'_, Wire, RaftNote>, command: Command) -> Result<(LogIndex, Term), NotLeader> {
        RaftRsProcess::start(self, ctx, command)
    }
    fn transfer_leadership(&mut self, ctx: &mut Ctx<'_, Wire, RaftNote>, to: NodeId) -> bool {
        if self.node.raft.state != StateRole::Leader {
            return false;
        }
        self.transfer_leader(ctx, to.index());
        true
    }
    fn wire_kind(msg: &Wire) -> crate::trace::WireKind {
        use crate::trace::WireKind;
        match message_kind(msg) {
            MessageKind::RequestVote => WireKind::RequestVote,
            MessageKind::RequestVoteReply => WireKind::RequestVoteReply,
            MessageKind::AppendEntries if msg.entries.is_empty() => WireKind::Heartbeat,
            MessageKind::AppendEntries => WireKind::AppendEntries,
            MessageKind::AppendEntriesReply => WireKind::AppendEntriesReply,
        }
    }
    fn describe(msg: &Wire) -> String {
        describe(msg)
    }
}

impl Process for RaftRsProcess {
    type Msg = Wire;
    type Note = RaftNote;
    const TIMERS: usize = 1;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Wire, RaftNote>) {
        // `Raft::new` reset (it calls `become_follower`): this is that reset's draw.
        self.draw_election_timeout(ctx);
        let tick_us = self.ticks.tick.as_micros() as u64;
        let phase = uniform_inclusive(ctx.rng(), 1, tick_us.max(1));
        ctx.set_timer(TICK_TIMER, Duration::from_micros(phase));
        self.next_tick = ctx.timer_deadline(TICK_TIMER).expect("just armed");
        self.tick_period = if self.skip_idle {
            ctx.timer_period(self.ticks.tick)
        } else {
            None
        };
        let mark = self.mark();
        // A restarted node applies its committed entries again: its state machine is volatile.
        // Nothing is reported yet, so this reports the starting status: the observer learns every live node's
        // term.
        self.reported = None;
        self.after_input(ctx, mark);
        self.arm_tick(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Wire, RaftNote>, from: NodeId, msg: Wire) {
        // `msg.from` is the sender's raft-rs id, except in a forwarded `MsgTransferLeader`, where it names the
        // transferee.
        let _ = from;
        self.catch_up(ctx);
        let mark = self.mark();
        // raft-rs refuses local message types and responses from unknown peers; neither is an error here.
        let _ = self.node.step(*msg);
        self.after_input(ctx, mark);
        self.arm_tick(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Wire, RaftNote>, timer: usize) {
        debug_assert_eq!(timer, TICK_TIMER);
        debug_assert!(self.next_tick <= ctx.now() || self.tick_period.is_some());
        if self.tick_period.is_some() {
            self.catch_up(ctx);
            self.arm_tick(ctx);
        } else {
            self.tick(ctx);
        }
    }

    /// The tick fires before anything else due in its microsecond, so which ticks an input follows never
    /// depends on when the tick was armed, and idle ticks can be skipped exactly.
    #[inline]
    fn is_tick(timer: usize) -> bool {
        timer == TICK_TIMER
    }

    /// raft-rs's messages fall into the model's kinds (heartbeats and empty appends are both heartbeats), so
    /// network rules limited to kinds treat both implementations alike.
    #[inline]
    fn class(msg: &Wire) -> u8 {
        <RaftRsProcess as RaftHost>::wire_kind(msg).class()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invariants::{Checker, check_log_matching};
    use sim_core::{Latency, LinkModel, Network, SimTime, Simulation, Trace};

    /// 10 ms ticks: elections after 150-300 ms, heartbeats every 50 ms.
    fn tick_cfg() -> Config {
        Config {
            ticks: Some(TickConfig {
                tick: Duration::from_millis(10),
                election_min: 15,
                election_max: 30,
                heartbeat: 5,
            }),
            ..Config::default()
        }
    }

    /// Everything a run showed, for comparing runs: notes, and every send with its arrival.
    type Record = Vec<String>;

    /// A look at the whole simulation after each step.
    type Probe = Box<dyn FnMut(&Simulation<RaftRsProcess, ()>)>;

    /// A hand-driven cluster of raft-rs nodes whose every note goes through the safety checker.
    struct Cluster {
        sim: Simulation<RaftRsProcess, ()>,
        n: usize,
        seed: u64,
        config: Config,
        checker: Checker,
        /// Entries each node applied since it (re)started.
        applied: Vec<Vec<Entry>>,
        record: Record,
        /// Every message sent: when, what, and when it arrives.
        sends: Vec<(SimTime, Message, Option<SimTime>)>,
        /// Called after every engine step, with the simulation.
        probe: Option<Probe>,
    }

    impl Cluster {
        fn new(n: usize, config: Config, seed: u64) -> Cluster {
            Cluster::new_with(n, config, seed, |_| {})
        }

        /// A cluster whose simulation `setup` adjusts before any node starts.
        fn new_with(
            n: usize,
            config: Config,
            seed: u64,
            setup: impl FnOnce(&mut Simulation<RaftRsProcess, ()>),
        ) -> Cluster {
            let link = LinkModel::with_latency(Latency::Uniform {
                min: Duration::from_millis(1),
                max: Duration::from_millis(5),
            });
            let mut sim = Simulation::new(Network::new(n, link), seed);
            sim.enable_trace();
            setup(&mut sim);
            for i in 0..n {
                sim.start(NodeId::new(i), RaftRsProcess::new(i, n, &config, None));
            }
            let mut c = Cluster {
                sim,
                n,
                seed,
                config,
                checker: Checker::new(),
                applied: vec![Vec::new(); n],
                record: Vec::new(),
                sends: Vec::new(),
                probe: None,
            };
            c.drain();
            c
        }

        fn run_for(&mut self, d: Duration) {
            let until = self.sim.now() + d;
            while self.sim.next_time().is_some_and(|t| t <= until) {
                self.sim.step();
                self.drain();
                if let Some(probe) = &mut self.probe {
                    probe(&self.sim);
                }
            }
            self.sim.advance_to(until);
        }

        fn drain(&mut self) {
            for (t, e) in self.sim.take_trace() {
                if let Trace::Send {
                    from, to, msg, arrives, ..
                } = e
                {
                    self.record
                        .push(format!("{t} {from}->{to} {} {arrives:?}", describe(&msg)));
                    self.sends.push((t, *msg, arrives));
                }
            }
            let notes: Vec<(SimTime, NodeId, RaftNote)> = self.sim.take_notes().collect();
            for (t, node, note) in notes {
                self.record.push(format!("{t} {node} {note:?}"));
                let id = raft_model::NodeId(node.index() as u32);
                let result = match note {
                    RaftNote::Status(st) => {
                        let log = self.sim.process(node).map_or(&[][..], |p| p.log());
                        let r = self.checker.on_status(t, id, st, log);
                        if r.is_ok() && st.role == Role::Leader {
                            self.check_logs()
                        } else {
                            r
                        }
                    }
                    RaftNote::Applied(index, entry) => {
                        let applied = &mut self.applied[node.index()];
                        assert_eq!(
                            index.0 as usize,
                            applied.len() + 1,
                            "seed {}: {node} applied out of order",
                            self.seed
                        );
                        applied.push(entry);
                        let term = self.sim.process(node).map_or(Term(0), |p| Term(p.node.raft.term));
                        self.checker.on_apply(t, id, term, index, entry)
                    }
                    RaftNote::AppliedRun(..) => unreachable!("a raft-rs process reports applied entries one by one"),
                };
                if let Err(v) = result {
                    panic!("seed {}: {} violated: {}", self.seed, v.invariant, v.detail);
                }
            }
        }

        fn check_logs(&self) -> Result<(), crate::invariants::Violation> {
            let logs: Vec<(raft_model::NodeId, &[Entry])> = (0..self.n)
                .filter_map(|i| self.proc(i).map(|p| (raft_model::NodeId(i as u32), p.log())))
                .collect();
            check_log_matching(self.sim.now(), &logs)
        }

        fn proc(&self, i: usize) -> Option<&RaftRsProcess> {
            self.sim.process(NodeId::new(i))
        }

        /// The running leaders, with their terms.
        fn leaders(&self) -> Vec<(usize, Term)> {
            (0..self.n)
                .filter_map(|i| self.proc(i).map(|p| (i, p.status())))
                .filter(|(_, st)| st.role == Role::Leader)
                .map(|(i, st)| (i, st.term))
                .collect()
        }

        /// Runs until exactly one leader is up and every running node follows it in its term; returns it.
        fn one_leader(&mut self) -> (usize, Term) {
            for _ in 0..50 {
                self.run_for(Duration::from_millis(100));
                let leaders = self.leaders();
                if let [(l, term)] = leaders[..] {
                    let all_follow = (0..self.n).filter_map(|i| self.proc(i)).all(|p| {
                        let st = p.status();
                        st.term == term && st.leader == Some(raft_model::NodeId(l as u32))
                    });
                    if all_follow {
                        return (l, term);
                    }
                }
            }
            panic!("seed {}: no single leader within 5 s: {:?}", self.seed, self.leaders());
        }

        fn crash(&mut self, i: usize) -> RaftRsStorage {
            let p = self.sim.crash(NodeId::new(i)).expect("node is up");
            p.into_storage(self.sim.now())
        }

        fn restart(&mut self, i: usize, storage: RaftRsStorage) {
            self.checker.on_restart(raft_model::NodeId(i as u32));
            self.applied[i].clear();
            let p = RaftRsProcess::new(i, self.n, &self.config, Some(storage));
            self.sim.start(NodeId::new(i), p);
            self.drain();
        }

        fn start(&mut self, i: usize, command: Command) -> Result<(LogIndex, Term), NotLeader> {
            let r = self
                .sim
                .call(NodeId::new(i), |p, ctx| p.start(ctx, command))
                .expect("node is up");
            self.drain();
            r
        }
    }

    #[test]
    fn derived_ticks_are_one_millisecond() {
        let t = tick_config(&Config::default());
        assert_eq!(
            t,
            TickConfig {
                tick: Duration::from_millis(1),
                election_min: 150,
                election_max: 300,
                heartbeat: 50
            }
        );
        assert_eq!(tick_config(&tick_cfg()), tick_cfg().ticks.unwrap());
        check_config(&Config::default()).unwrap();
        let bad = Config {
            heartbeat_interval: Duration::from_millis(150),
            ..Config::default()
        };
        assert!(check_config(&bad).unwrap_err().contains("raft-rs"));
        assert!(unsupported_options(&Config::default()).is_empty());
    }

    #[test]
    fn message_kinds_cover_votes_and_appends() {
        let kind = |t| {
            message_kind(&Message {
                msg_type: t,
                ..Message::default()
            })
        };
        assert_eq!(kind(MessageType::MsgRequestPreVote), MessageKind::RequestVote);
        assert_eq!(
            kind(MessageType::MsgRequestPreVoteResponse),
            MessageKind::RequestVoteReply
        );
        assert_eq!(kind(MessageType::MsgHeartbeat), MessageKind::AppendEntries);
        assert_eq!(kind(MessageType::MsgHeartbeatResponse), MessageKind::AppendEntriesReply);
        let hb = Message {
            msg_type: MessageType::MsgHeartbeat,
            term: 3,
            commit: 2,
            ..Message::default()
        };
        assert_eq!(describe(&hb), "heartbeat t3 commit 2");
    }

    /// Section 5.2: one leader is elected, and the others learn it.
    #[test]
    fn five_nodes_elect_exactly_one_leader() {
        for config in [tick_cfg(), Config::default()] {
            let mut c = Cluster::new(5, config, 1);
            let (leader, term) = c.one_leader();
            c.run_for(Duration::from_secs(2));
            assert_eq!(
                c.leaders(),
                vec![(leader, term)],
                "the leader stays while nothing fails"
            );
            // The new leader's empty entry commits and is applied everywhere.
            for i in 0..5 {
                assert_eq!(c.proc(i).unwrap().last_applied(), LogIndex(1));
                assert_eq!(
                    c.applied[i],
                    vec![Entry {
                        term,
                        command: NOOP_COMMAND
                    }]
                );
            }
            c.check_logs().unwrap();
        }
    }

    /// Section 5.2: when the leader crashes, another is elected in a later term.
    #[test]
    fn crashed_leader_is_replaced_in_a_higher_term() {
        let mut c = Cluster::new(5, tick_cfg(), 2);
        let (old, term) = c.one_leader();
        c.crash(old);
        let (new, new_term) = c.one_leader();
        assert_ne!(new, old);
        assert!(new_term > term, "{new_term} after {term}");
        c.check_logs().unwrap();
    }

    /// Section 5.3: a command proposed on the leader commits and is applied on every node, in order.
    #[test]
    fn proposed_commands_commit_and_apply_everywhere_in_order() {
        let mut c = Cluster::new(5, tick_cfg(), 3);
        let (leader, term) = c.one_leader();
        let follower = (leader + 1) % 5;
        let refused = c.start(follower, 7).unwrap_err();
        assert_eq!(refused.leader_hint, Some(raft_model::NodeId(leader as u32)));
        let mut expected = vec![Entry {
            term,
            command: NOOP_COMMAND,
        }];
        for (k, command) in [101, 102, 103].into_iter().enumerate() {
            let (index, t) = c.start(leader, command).unwrap();
            assert_eq!((index, t), (LogIndex(k as u64 + 2), term));
            expected.push(Entry { term, command });
        }
        c.run_for(Duration::from_millis(500));
        for i in 0..5 {
            let p = c.proc(i).unwrap();
            assert_eq!(c.applied[i], expected, "node {i}");
            assert_eq!(p.commit_index(), LogIndex(4));
            assert_eq!(p.last_applied(), LogIndex(4));
            assert_eq!(p.log(), &expected[..]);
        }
        assert_eq!(c.checker.committed(), &expected[..]);
        c.check_logs().unwrap();
    }

    /// Figure 2, persistent state: a restarted node keeps its term, vote and log, and applies again from 1.
    #[test]
    fn restarted_node_keeps_term_vote_and_log() {
        let mut c = Cluster::new(5, tick_cfg(), 4);
        let (leader, _) = c.one_leader();
        for command in [11, 12] {
            c.start(leader, command).unwrap();
        }
        c.run_for(Duration::from_millis(300));
        for victim in [(leader + 2) % 5, leader] {
            let before = c.proc(victim).unwrap();
            let (status, vote, log) = (before.status(), before.voted_for(), before.log().to_vec());
            assert_eq!(log.len(), 3);
            let storage = c.crash(victim);
            assert_eq!(storage.term(), status.term);
            assert_eq!(storage.voted_for(), vote);
            assert_eq!(storage.log(), log);
            c.run_for(Duration::from_millis(400));
            c.restart(victim, storage);
            let p = c.proc(victim).unwrap();
            assert!(p.status().term >= status.term);
            assert_eq!(p.voted_for(), vote.filter(|_| p.status().term == status.term));
            assert_eq!(&p.log()[..3], &log[..]);
            c.one_leader();
            c.run_for(Duration::from_millis(300));
            // It caught up and applied everything again.
            let p = c.proc(victim).unwrap();
            assert_eq!(c.applied[victim].len() as u64, p.commit_index().0);
            assert_eq!(&c.applied[victim][..3], &log[..]);
        }
        c.check_logs().unwrap();
    }

    /// Thesis 3.10: leadership transfer through MsgTimeoutNow.
    #[test]
    fn leadership_transfers_to_the_chosen_node() {
        let mut c = Cluster::new(5, tick_cfg(), 5);
        let (leader, term) = c.one_leader();
        let to = (leader + 3) % 5;
        c.sim.call(NodeId::new(leader), |p, ctx| p.transfer_leader(ctx, to));
        c.drain();
        let (new, new_term) = c.one_leader();
        assert_eq!(new, to);
        assert_eq!(new_term, Term(term.0 + 1));
        // A follower forwards the request to its leader.
        let back = (to + 1) % 5;
        let via = (to + 2) % 5;
        c.sim.call(NodeId::new(via), |p, ctx| p.transfer_leader(ctx, back));
        c.drain();
        assert_eq!(c.one_leader(), (back, Term(term.0 + 2)));
    }

    /// A slow disk holds what must follow a write (a vote, an append's acknowledgement), but not a leader's
    /// appends, which raft-rs sends before its own write.
    #[test]
    fn slow_disk_delays_persisted_messages_only() {
        let persist = Duration::from_millis(20);
        let mut c = Cluster::new_with(5, tick_cfg(), 9, |sim| {
            for i in 0..5 {
                let host = sim_core::Host {
                    persist: Some(Latency::Constant(persist)),
                    ..sim_core::Host::default()
                };
                sim.set_host(NodeId::new(i), host);
            }
        });
        let (leader, _) = c.one_leader();
        c.sends.clear();
        c.start(leader, 5).unwrap();
        c.run_for(Duration::from_millis(200));
        let (mut appends, mut acks) = (0, 0);
        // The highest index each node has acknowledged: an acknowledgement of more follows a write of it.
        let mut acked = [c.proc(leader).unwrap().log().len() as u64 - 1; 6];
        for (t, msg, arrives) in std::mem::take(&mut c.sends) {
            let Some(at) = arrives else { continue };
            let delay = at.since_start() - t.since_start();
            match msg.msg_type {
                MessageType::MsgAppend if !msg.entries.is_empty() => {
                    appends += 1;
                    assert!(delay < persist, "a leader's append waited for its disk: {delay:?}");
                }
                MessageType::MsgAppendResponse if !msg.reject && msg.index > acked[msg.from as usize] => {
                    acked[msg.from as usize] = msg.index;
                    acks += 1;
                    assert!(delay >= persist, "an acknowledgement left before the write: {delay:?}");
                }
                _ => {}
            }
        }
        assert!(appends >= 4 && acks >= 4, "{appends} appends, {acks} acknowledgements");
        assert_eq!(c.applied[leader].last().map(|e| e.command), Some(5));
    }

    /// A scenario touching every reset path: elections with pre-vote and check-quorum, a leader crash, a
    /// restart, proposals and a transfer.
    fn eventful_run(seed: u64) -> Record {
        let config = Config {
            pre_vote: true,
            check_quorum: true,
            ..tick_cfg()
        };
        let mut c = Cluster::new(5, config, seed);
        let (leader, _) = c.one_leader();
        c.start(leader, 1).unwrap();
        let storage = c.crash(leader);
        let (next, _) = c.one_leader();
        c.start(next, 2).unwrap();
        c.restart(leader, storage);
        c.sim.call(NodeId::new(next), |p, ctx| p.transfer_leader(ctx, leader));
        c.drain();
        c.one_leader();
        c.run_for(Duration::from_secs(1));
        c.check_logs().unwrap();
        c.record
    }

    /// The thread RNG raft-rs draws from gives different values in every run; equal records prove none of them
    /// mattered.
    #[test]
    fn same_seed_same_run_and_different_seeds_differ() {
        let a = eventful_run(6);
        let b = eventful_run(6);
        assert!(a.len() > 100, "{} lines", a.len());
        if let Some(k) = (0..a.len().min(b.len())).find(|&k| a[k] != b[k]) {
            panic!("runs of seed 6 differ at line {k}: {} vs {}", a[k], b[k]);
        }
        assert_eq!(a.len(), b.len());
        assert_ne!(a, eventful_run(7));
    }

    /// Every election timeout raft-rs runs was drawn from the configured range, and the draws vary.
    #[test]
    fn election_timeouts_fall_in_the_configured_range() {
        use std::cell::RefCell;
        use std::collections::BTreeSet;
        use std::rc::Rc;
        let config = Config {
            pre_vote: true,
            ..tick_cfg()
        };
        let mut c = Cluster::new(5, config, 8);
        let seen = Rc::new(RefCell::new(BTreeSet::new()));
        let seen_in = Rc::clone(&seen);
        c.probe = Some(Box::new(move |sim| {
            for i in 0..sim.len() {
                if let Some(p) = sim.process(NodeId::new(i)) {
                    seen_in.borrow_mut().insert(p.election_timeout_ticks());
                }
            }
        }));
        for _ in 0..3 {
            let (leader, _) = c.one_leader();
            let storage = c.crash(leader);
            c.one_leader();
            c.restart(leader, storage);
        }
        let seen = seen.borrow();
        assert!(seen.iter().all(|t| (15..=30).contains(t)), "{seen:?}");
        assert!(seen.len() >= 8, "too few distinct timeouts: {seen:?}");
        let draws: u64 = (0..5).map(|i| c.proc(i).unwrap().election_timeout_draws()).sum();
        assert!(draws >= 10, "{draws} draws");
    }
}
