//! A Raft node as an engine process: the [`RaftHost`] trait that a trial drives, and the model node
//! (`raft-model`) behind `sim-core`'s [`Process`] interface. [`crate::raftrs`] implements the same trait for
//! tikv's raft-rs.

use crate::trace::WireKind;
use raft_model::{
    Command, Config, Entry, Env, Input, LogIndex, Message, MessageCounts, Node, NotLeader, PersistUpdate, Persistent,
    Role, Status, Term,
};
use sim_core::{Ctx, NodeId, Process, SimTime};
use std::collections::VecDeque;
use std::time::Duration;

/// Converts an engine node id to a Raft node id.
#[inline]
pub fn rid(id: NodeId) -> raft_model::NodeId {
    raft_model::NodeId(id.index() as u32)
}

/// Converts a Raft node id to an engine node id.
#[inline]
pub fn sid(id: raft_model::NodeId) -> NodeId {
    NodeId::new(id.index())
}

/// What a Raft process reports to the trial driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaftNote {
    /// Role, term or known leader changed.
    Status(Status),
    /// A committed entry was applied to the node's state machine.
    Applied(LogIndex, Entry),
    /// Committed entries were applied in a row, the first at this index, this many (two or more): a restarted
    /// node replaying its log, a follower catching up. The entries wait in the process, in the order reported,
    /// for [`RaftHost::take_applied_run`]: one note per run instead of one per entry, as a replay of a long log
    /// is most of what a churning cluster reports. Only a run that goes out at once is reported so; a run held
    /// behind a durable write goes out as one [`Applied`](Self::Applied) note an entry, each handed to the
    /// driver on its own when it comes due, as ever.
    AppliedRun(LogIndex, u32),
}

/// What the trial needs of a Raft node running as an engine process: to boot it from durable state, to take
/// that state back when it crashes, to read what the observer and the safety checker look at, and to submit a
/// client command.
pub trait RaftHost: Process<Note = RaftNote> + Sized {
    /// What survives a crash.
    type Storage: Clone + Default;

    /// Node `id` of a cluster of `cluster_size`, starting from `storage`.
    fn boot(id: NodeId, cluster_size: usize, config: &Config, storage: Self::Storage) -> Self;
    /// Durable storage of a node of a `cluster_size`-node cluster holding `persisted` (a scenario's starting
    /// state).
    fn storage_from(persisted: &Persistent, cluster_size: usize) -> Self::Storage;
    /// The term and log length `storage` holds (for traces).
    fn storage_summary(storage: &Self::Storage) -> (Term, usize);
    /// The process crashes at `at`: what it had made durable by then. A write still within its persist latency
    /// ([`Ctx::sync`] returned a later time) is lost, as on a real disk, so the node restarts from the last
    /// write that completed.
    fn into_storage(self, at: SimTime) -> Self::Storage;
    /// [`into_storage`](Self::into_storage) into `out`, reusing its buffers: the process crashes at `at` and
    /// `out` holds what it had made durable. The process itself is left only to be [`reboot`](Self::reboot)ed.
    fn crash_into(&mut self, at: SimTime, out: &mut Self::Storage);
    /// Boots node `id` again in place: afterwards the process is what [`boot`](Self::boot) builds from a copy
    /// of `storage`, but its buffers are reused, so that a worker's trials after its first allocate nothing.
    /// It may take `storage`'s buffers for its disk, leaving `storage` unspecified: what survives the node's
    /// next crash is [`crash_into`](Self::crash_into) it.
    fn reboot(&mut self, id: NodeId, cluster_size: usize, config: &Config, storage: &mut Self::Storage);
    /// [`storage_from`](Self::storage_from) into `out`, reusing its buffers.
    fn storage_from_into(persisted: &Persistent, cluster_size: usize, out: &mut Self::Storage) {
        *out = Self::storage_from(persisted, cluster_size);
    }

    /// Current term.
    fn term(&self) -> Term;
    /// Current role.
    fn role(&self) -> Role;
    /// The log (entry of index `i` at `[i - 1]`).
    fn log(&self) -> &[Entry];
    /// Highest index known committed.
    fn commit_index(&self) -> LogIndex;
    /// Highest index applied.
    fn last_applied(&self) -> LogIndex;
    /// Messages this incarnation has sent.
    fn messages(&self) -> MessageCounts;
    /// The entries of the oldest [`RaftNote::AppliedRun`] this process reported and nobody has taken yet, whose
    /// first index and length are `first` and `len`. Each run is taken once, in the order reported; taking
    /// another panics, and so may a process that reports none.
    fn take_applied_run(&mut self, first: LogIndex, len: usize) -> &[Entry];
    /// `Start(command)`: a leader appends `command` and replicates it.
    fn start(
        &mut self,
        ctx: &mut Ctx<'_, Self::Msg, RaftNote>,
        command: Command,
    ) -> Result<(LogIndex, Term), NotLeader>;

    /// `TransferLeadership(to)` on a leader: hand leadership to `to` (thesis section 3.10). Whether a transfer
    /// started (false when this node does not lead).
    fn transfer_leadership(&mut self, ctx: &mut Ctx<'_, Self::Msg, RaftNote>, to: NodeId) -> bool;

    /// The kind of `msg`, for traces and diagrams.
    fn wire_kind(msg: &Self::Msg) -> WireKind;
    /// A one-line summary of `msg`, for traces.
    fn describe(msg: &Self::Msg) -> String;
}

/// The model node (`raft-model`) as an engine process: the node, its disk, and message counters.
pub struct RaftProcess {
    node: Node,
    disk: Disk,
    messages: MessageCounts,
    applied: AppliedRuns,
}

/// The [`RaftNote::AppliedRun`]s a process reported (each run's first index and length, and their entries one
/// after another), oldest first; those before `taken_runs` (entries before `taken`) have been taken.
#[derive(Debug, Default)]
struct AppliedRuns {
    runs: Vec<(LogIndex, usize)>,
    entries: Vec<Entry>,
    taken_runs: usize,
    taken: usize,
}

impl AppliedRuns {
    fn push(&mut self, first: LogIndex, run: &[Entry]) {
        if self.taken_runs == self.runs.len() {
            self.clear();
        }
        self.runs.push((first, run.len()));
        self.entries.extend_from_slice(run);
    }

    fn take(&mut self, first: LogIndex, len: usize) -> &[Entry] {
        assert_eq!(
            self.runs.get(self.taken_runs),
            Some(&(first, len)),
            "applied runs are taken once each, in the order reported"
        );
        self.taken_runs += 1;
        let from = self.taken;
        self.taken += len;
        &self.entries[from..self.taken]
    }

    fn clear(&mut self) {
        self.runs.clear();
        self.entries.clear();
        self.taken_runs = 0;
        self.taken = 0;
    }
}

/// A node's durable storage as a disk holds it: the writes that have completed, and those still within their
/// persist latency, each with the time it completes. A crash keeps only the completed ones.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    durable: Persistent,
    /// Writes not yet known complete, oldest first; completion times never decrease ([`Ctx::sync`]).
    pending: VecDeque<(SimTime, Write)>,
}

/// One write still in progress.
#[derive(Clone, Debug)]
struct Write {
    current_term: Term,
    voted_for: Option<raft_model::NodeId>,
    log_suffix: Option<(LogIndex, Vec<Entry>)>,
}

impl Disk {
    /// A disk holding `durable`, with nothing in progress.
    pub fn new(durable: Persistent) -> Self {
        Disk {
            durable,
            pending: VecDeque::new(),
        }
    }

    /// Applies the writes that have completed by `now`.
    fn complete(&mut self, now: SimTime) {
        while let Some((done, _)) = self.pending.front()
            && *done <= now
        {
            let (_, w) = self.pending.pop_front().expect("checked");
            self.durable.apply(&PersistUpdate {
                current_term: w.current_term,
                voted_for: w.voted_for,
                log_suffix: w.log_suffix.as_ref().map(|(from, entries)| (*from, &entries[..])),
            });
        }
    }

    /// Records `update`, asked for at `now`, which completes at `done`.
    fn write(&mut self, now: SimTime, done: SimTime, update: &PersistUpdate<'_>) {
        self.complete(now);
        if done <= now && self.pending.is_empty() {
            // An instant write (an ideal host): durable at once, and nothing is copied twice.
            self.durable.apply(update);
            return;
        }
        let write = Write {
            current_term: update.current_term,
            voted_for: update.voted_for,
            log_suffix: update.log_suffix.map(|(from, entries)| (from, entries.to_vec())),
        };
        self.pending.push_back((done, write));
    }

    /// A disk holding what `durable` holds, with nothing in progress: `durable`'s log buffer is taken (the node
    /// has its own copy), and `durable` keeps this disk's old one, its contents unspecified.
    fn reset_from(&mut self, durable: &mut Persistent) {
        self.durable.current_term = durable.current_term;
        self.durable.voted_for = durable.voted_for;
        std::mem::swap(&mut self.durable.log, &mut durable.log);
        self.pending.clear();
    }

    /// What survives a crash at `at`: the writes completed by then.
    pub fn durable_at(mut self, at: SimTime) -> Persistent {
        self.complete(at);
        self.durable
    }

    /// The writes completed so far (as of the last write asked for).
    pub fn durable(&self) -> &Persistent {
        &self.durable
    }
}

/// Copies `from` into `to`, reusing `to`'s log buffer.
fn copy_persistent(from: &Persistent, to: &mut Persistent) {
    to.current_term = from.current_term;
    to.voted_for = from.voted_for;
    to.log.clear();
    to.log.extend_from_slice(&from.log);
}

impl RaftProcess {
    /// A process for `node`, whose durable storage starts as `storage`.
    pub fn new(node: Node, storage: Persistent) -> Self {
        RaftProcess {
            node,
            disk: Disk::new(storage),
            messages: MessageCounts::default(),
            applied: AppliedRuns::default(),
        }
    }

    /// The Raft node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The node's disk: what has been made durable, and what is still being written.
    pub fn disk(&self) -> &Disk {
        &self.disk
    }

    fn env<'a, 'c>(&'a mut self, ctx: &'a mut Ctx<'c, Message, RaftNote>) -> (&'a mut Node, Glue<'a, 'c>) {
        let glue = Glue {
            ctx,
            disk: &mut self.disk,
            messages: &mut self.messages,
            applied: &mut self.applied,
        };
        (&mut self.node, glue)
    }
}

/// Adapts the engine's context to the node's [`Env`].
struct Glue<'a, 'c> {
    ctx: &'a mut Ctx<'c, Message, RaftNote>,
    disk: &'a mut Disk,
    messages: &'a mut MessageCounts,
    applied: &'a mut AppliedRuns,
}

impl Env for Glue<'_, '_> {
    #[inline]
    fn random_u64(&mut self) -> u64 {
        self.ctx.random_u64()
    }
    #[inline]
    fn now(&self) -> Duration {
        self.ctx.now().since_start()
    }
    #[inline]
    fn now_micros(&self) -> u64 {
        self.ctx.now().as_micros()
    }
    #[inline(always)]
    fn set_timer_micros(&mut self, timer: raft_model::Timer, us: u64) {
        self.ctx.set_timer_micros(timer as usize, us);
    }
    #[inline(always)]
    fn send(&mut self, to: raft_model::NodeId, msg: Message) {
        self.messages.count(msg.kind());
        self.ctx.send(sid(to), msg);
    }
    #[inline(always)]
    fn set_timer(&mut self, timer: raft_model::Timer, after: Duration) {
        self.ctx.set_timer(timer as usize, after);
    }
    #[inline]
    fn cancel_timer(&mut self, timer: raft_model::Timer) {
        self.ctx.cancel_timer(timer as usize);
    }
    fn persist(&mut self, update: PersistUpdate<'_>) {
        let done = self.ctx.sync();
        self.disk.write(self.ctx.now(), done, &update);
    }
    fn apply(&mut self, index: LogIndex, entry: &Entry) {
        // Applying is an output, like a message: it follows every write the node asked for before it.
        self.ctx.note_after_writes(RaftNote::Applied(index, *entry));
    }
    #[inline]
    fn apply_all(&mut self, first: LogIndex, entries: &[Entry]) {
        match entries {
            [] => {}
            [entry] => self.apply(first, entry),
            // Held behind a write: a note an entry, each its own queue entry, handed to the driver when it comes
            // due (the driver looks at the trial between them: whether it has settled, its limits).
            run if self.ctx.notes_wait() => {
                let notes = run
                    .iter()
                    .enumerate()
                    .map(|(k, &entry)| RaftNote::Applied(LogIndex(first.0 + k as u64), entry));
                self.ctx.notes_after_writes(notes);
            }
            // Out at once, with everything else this step reports: one note, the entries kept for the driver.
            run => {
                let len = u32::try_from(run.len()).expect("a run of applied entries fits in u32");
                self.applied.push(first, run);
                self.ctx.note(RaftNote::AppliedRun(first, len));
            }
        }
    }
    fn status_changed(&mut self, status: Status) {
        self.ctx.note(RaftNote::Status(status));
    }
}

impl Process for RaftProcess {
    type Msg = Message;
    type Note = RaftNote;
    const TIMERS: usize = raft_model::Timer::COUNT;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Message, RaftNote>) {
        let (node, mut env) = self.env(ctx);
        node.step(&mut env, Input::Boot);
        // Report the starting status too, so the observer knows every live node's term.
        let status = node.status();
        env.ctx.note(RaftNote::Status(status));
    }

    #[inline]
    fn on_message(&mut self, ctx: &mut Ctx<'_, Message, RaftNote>, from: NodeId, msg: Message) {
        let (node, mut env) = self.env(ctx);
        node.step(&mut env, Input::Message { from: rid(from), msg });
    }

    #[inline]
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Message, RaftNote>, timer: usize) {
        let (node, mut env) = self.env(ctx);
        node.step(&mut env, Input::Timeout(raft_model::Timer::from_slot(timer)));
    }

    #[inline]
    fn class(msg: &Message) -> u8 {
        WireKind::of(msg).class()
    }
}

impl RaftHost for RaftProcess {
    type Storage = Persistent;

    fn boot(id: NodeId, cluster_size: usize, config: &Config, storage: Persistent) -> Self {
        let node = Node::new(rid(id), cluster_size, config.clone(), Some(storage.clone()));
        RaftProcess::new(node, storage)
    }
    fn storage_from(persisted: &Persistent, _cluster_size: usize) -> Persistent {
        persisted.clone()
    }
    fn storage_summary(storage: &Persistent) -> (Term, usize) {
        (storage.current_term, storage.log.len())
    }
    fn into_storage(self, at: SimTime) -> Persistent {
        self.disk.durable_at(at)
    }
    fn crash_into(&mut self, at: SimTime, out: &mut Persistent) {
        self.disk.complete(at);
        let durable = &mut self.disk.durable;
        out.current_term = durable.current_term;
        out.voted_for = durable.voted_for;
        // The process's copy is rebuilt by `reboot`: hand its buffer over rather than copy it.
        std::mem::swap(&mut out.log, &mut durable.log);
    }
    fn reboot(&mut self, id: NodeId, cluster_size: usize, config: &Config, storage: &mut Persistent) {
        self.node.reset(rid(id), cluster_size, config, storage);
        self.disk.reset_from(storage);
        self.messages = MessageCounts::default();
        // A run goes out with the step that applied it and the driver takes it before anything else happens, so
        // none is left here; a driver that read a crashed incarnation's run after this would be told so by `take`.
        self.applied.clear();
    }
    fn storage_from_into(persisted: &Persistent, _cluster_size: usize, out: &mut Persistent) {
        copy_persistent(persisted, out);
    }
    fn term(&self) -> Term {
        self.node.term()
    }
    fn role(&self) -> Role {
        self.node.role()
    }
    fn log(&self) -> &[Entry] {
        self.node.log()
    }
    fn commit_index(&self) -> LogIndex {
        self.node.commit_index()
    }
    fn last_applied(&self) -> LogIndex {
        self.node.last_applied()
    }
    fn messages(&self) -> MessageCounts {
        self.messages
    }
    fn take_applied_run(&mut self, first: LogIndex, len: usize) -> &[Entry] {
        self.applied.take(first, len)
    }
    fn start(&mut self, ctx: &mut Ctx<'_, Message, RaftNote>, command: Command) -> Result<(LogIndex, Term), NotLeader> {
        let (node, mut env) = self.env(ctx);
        node.start(&mut env, command)
    }
    fn transfer_leadership(&mut self, ctx: &mut Ctx<'_, Message, RaftNote>, to: NodeId) -> bool {
        let (node, mut env) = self.env(ctx);
        node.transfer_leadership(&mut env, rid(to)).is_ok()
    }
    fn wire_kind(msg: &Message) -> WireKind {
        WireKind::of(msg)
    }
    fn describe(msg: &Message) -> String {
        crate::trace::describe(msg)
    }
}
