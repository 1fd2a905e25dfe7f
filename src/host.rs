//! A Raft node as an engine process: the [`RaftHost`] trait that a trial drives, and the model node
//! (`raft-model`) behind `sim-core`'s [`Process`] interface. [`crate::raftrs`] implements the same trait for
//! tikv's raft-rs.

use crate::trace::WireKind;
use raft_model::{
    Command, Config, Entry, Env, Input, LogIndex, Message, MessageCounts, Node, NotLeader, PersistUpdate, Persistent,
    Role, Status, Term,
};
use sim_core::{Ctx, NodeId, Process};
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
    /// The process crashes: what it had persisted.
    fn into_storage(self) -> Self::Storage;

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

/// The model node (`raft-model`) as an engine process: the node, what it has persisted, and message counters.
pub struct RaftProcess {
    node: Node,
    storage: Persistent,
    messages: MessageCounts,
}

impl RaftProcess {
    /// A process for `node`, whose durable storage starts as `storage`.
    pub fn new(node: Node, storage: Persistent) -> Self {
        RaftProcess {
            node,
            storage,
            messages: MessageCounts::default(),
        }
    }

    /// The Raft node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// What has been persisted so far (what survives a crash).
    pub fn storage(&self) -> &Persistent {
        &self.storage
    }

    fn env<'a, 'c>(&'a mut self, ctx: &'a mut Ctx<'c, Message, RaftNote>) -> (&'a mut Node, Glue<'a, 'c>) {
        let glue = Glue {
            ctx,
            storage: &mut self.storage,
            messages: &mut self.messages,
        };
        (&mut self.node, glue)
    }
}

/// Adapts the engine's context to the node's [`Env`].
struct Glue<'a, 'c> {
    ctx: &'a mut Ctx<'c, Message, RaftNote>,
    storage: &'a mut Persistent,
    messages: &'a mut MessageCounts,
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
    fn send(&mut self, to: raft_model::NodeId, msg: Message) {
        self.messages.count(msg.kind());
        self.ctx.send(sid(to), msg);
    }
    #[inline]
    fn set_timer(&mut self, timer: raft_model::Timer, after: Duration) {
        self.ctx.set_timer(timer as usize, after);
    }
    #[inline]
    fn cancel_timer(&mut self, timer: raft_model::Timer) {
        self.ctx.cancel_timer(timer as usize);
    }
    fn persist(&mut self, update: PersistUpdate<'_>) {
        self.storage.apply(&update);
        self.ctx.sync();
    }
    fn apply(&mut self, index: LogIndex, entry: &Entry) {
        self.ctx.note(RaftNote::Applied(index, *entry));
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
    fn into_storage(self) -> Persistent {
        self.storage
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
