//! The Raft server state machine (Figure 2), with the election options production libraries ship.

use crate::types::*;
use std::time::Duration;

/// Everything a node can do to the outside world. The driver implements it.
///
/// Order guarantee: within one input, [`Env::persist`] is called before any [`Env::send`] whose content depends
/// on the persisted change, and [`Env::apply`] is called for committed entries in strictly increasing index order,
/// each index once.
pub trait Env {
    /// A uniformly random 64-bit value from the caller's seeded stream (used for timeout draws).
    fn random_u64(&mut self) -> u64;
    /// The caller's clock, as a duration since some fixed origin. The node uses it only to compare the times of
    /// its own inputs (for pre-vote, check-quorum and leader stickiness); it never waits on it.
    fn now(&self) -> Duration;
    /// Sends `msg` to `to`.
    fn send(&mut self, to: NodeId, msg: Message);
    /// Arms `timer` to fire `after` from now, replacing any previous setting.
    fn set_timer(&mut self, timer: Timer, after: Duration);
    /// [`now`](Self::now) in whole microseconds (wrapping as `as_micros() as u64` does). The node's own clock
    /// comparisons (leader contact, for pre-vote and stickiness) are made at this resolution. A driver whose clock
    /// counts microseconds may override it to skip the conversion through [`Duration`].
    #[inline]
    fn now_micros(&self) -> u64 {
        micros(self.now())
    }
    /// [`set_timer`](Self::set_timer) for a whole number of microseconds (election timeouts are drawn in them). A
    /// driver whose clock counts microseconds may override it to skip the conversion through [`Duration`]; it
    /// must arm the timer exactly as `set_timer(timer, Duration::from_micros(us))` would.
    #[inline]
    fn set_timer_micros(&mut self, timer: Timer, us: u64) {
        self.set_timer(timer, Duration::from_micros(us));
    }
    /// Disarms `timer`.
    fn cancel_timer(&mut self, timer: Timer);
    /// Stores a change to persistent state durably.
    fn persist(&mut self, update: PersistUpdate<'_>);
    /// Applies the committed entry at `index` to the state machine.
    fn apply(&mut self, index: LogIndex, entry: &Entry);
    /// Applies the committed `entries`, the first at index `first`, in order: [`apply`](Self::apply) for each,
    /// which is what it does unless an environment has a faster way (a restarted node applies its whole log).
    fn apply_all(&mut self, first: LogIndex, entries: &[Entry]) {
        for (index, entry) in (first.0..).zip(entries) {
            self.apply(LogIndex(index), entry);
        }
    }
    /// Reports that the node's role, term or known leader changed.
    fn status_changed(&mut self, status: Status);
}

/// One input to a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The node starts (first boot, or restart from persisted state).
    Boot,
    /// A message arrived.
    Message {
        /// Sender.
        from: NodeId,
        /// The message.
        msg: Message,
    },
    /// A timer fired.
    Timeout(Timer),
}

/// A Raft server.
#[derive(Clone, Debug)]
pub struct Node {
    id: NodeId,
    peers: Vec<NodeId>,
    cluster_size: usize,
    config: Config,
    // Persistent state (Figure 2).
    current_term: Term,
    voted_for: Option<NodeId>,
    log: Vec<Entry>,
    // Volatile state.
    role: Role,
    leader: Option<NodeId>,
    /// The status as of the end of the last step, which is what the host last heard of: the status changes only
    /// inside a step, and only in a transition (`boot` and the `become_*` functions), which sets `status_touched`.
    /// A step compares the status with this only after one: most steps (a heartbeat, a reply) touch none.
    reported: Status,
    status_touched: bool,
    commit_index: LogIndex,
    last_applied: LogIndex,
    votes: Vec<bool>,
    vote_count: usize,
    /// Leadership transfer in progress: the successor, and when the transfer is given up.
    transfer: Option<(NodeId, Duration)>,
    /// This election was asked for by the leader (a transfer): voters grant it despite a live leader.
    transfer_campaign: bool,
    /// Voters that refused this round (for `behaviour.step_down_on_rejection`).
    refused: Vec<bool>,
    refusal_count: usize,
    /// Elections in a row that ended without a leader (for candidate timeouts and backoff).
    failed_elections: u32,
    /// When a valid AppendEntries last arrived from the current leader (continuous timers), in
    /// [`Env::now_micros`].
    last_leader_contact: Option<u64>,
    /// The configuration's timeouts in microseconds, converted once (every heartbeat draws a timeout).
    micros: Micros,
    /// Tick timers: ticks since the election timer was reset, and the drawn timeout in ticks.
    election_elapsed: u32,
    randomized_election_ticks: u32,
    /// Tick timers, leaders: ticks since the last heartbeat.
    heartbeat_elapsed: u32,
    // Leader state, indexed by node index.
    next_index: Vec<LogIndex>,
    match_index: Vec<LogIndex>,
    /// The last index the latest AppendEntries to each peer carried: a success reply sends more only when the
    /// log has grown past it, so duplicated or concurrent replies do not each start another request.
    last_sent: Vec<LogIndex>,
    /// Check-quorum: peers heard from since the last check.
    recent_active: Vec<bool>,
}

impl Node {
    /// A server `id` in a cluster of `cluster_size` servers with ids `0..cluster_size`, resuming from `persisted`
    /// (or from scratch). Call [`Node::step`] with [`Input::Boot`] to start its timers.
    pub fn new(id: NodeId, cluster_size: usize, config: Config, persisted: Option<Persistent>) -> Node {
        assert!(id.index() < cluster_size, "{id} is outside a cluster of {cluster_size}");
        if let Err(e) = config.validate() {
            panic!("invalid Raft configuration: {e}");
        }
        let p = persisted.unwrap_or_default();
        let micros = Micros::of(&config);
        Node {
            id,
            peers: (0..cluster_size as u32).map(NodeId).filter(|&p| p != id).collect(),
            cluster_size,
            config,
            current_term: p.current_term,
            voted_for: p.voted_for,
            log: p.log,
            role: Role::Follower,
            leader: None,
            reported: Status {
                role: Role::Follower,
                term: p.current_term,
                leader: None,
            },
            status_touched: false,
            commit_index: LogIndex(0),
            last_applied: LogIndex(0),
            votes: vec![false; cluster_size],
            vote_count: 0,
            refused: vec![false; cluster_size],
            refusal_count: 0,
            transfer: None,
            transfer_campaign: false,
            failed_elections: 0,
            last_leader_contact: None,
            micros,
            election_elapsed: 0,
            randomized_election_ticks: 0,
            heartbeat_elapsed: 0,
            next_index: vec![LogIndex(1); cluster_size],
            match_index: vec![LogIndex(0); cluster_size],
            last_sent: vec![LogIndex(0); cluster_size],
            recent_active: vec![false; cluster_size],
        }
    }

    /// Makes this node what [`Node::new`] builds from `persisted`, reusing its buffers: a simulator that runs many
    /// clusters one after another boots each from the last one's nodes without allocating.
    pub fn reset(&mut self, id: NodeId, cluster_size: usize, config: &Config, persisted: &Persistent) {
        assert!(id.index() < cluster_size, "{id} is outside a cluster of {cluster_size}");
        // The same server of the same cluster under the same configuration (the usual case: the next of many
        // runs) keeps its checked configuration, the bounds derived from it and its list of peers.
        if self.id != id || self.cluster_size != cluster_size || self.config != *config {
            if let Err(e) = config.validate() {
                panic!("invalid Raft configuration: {e}");
            }
            self.id = id;
            self.peers.clear();
            self.peers
                .extend((0..cluster_size as u32).map(NodeId).filter(|&p| p != id));
            self.cluster_size = cluster_size;
            self.config = config.clone();
            self.micros = Micros::of(config);
        }
        // In place when the size is unchanged (every run after the first): `clear` and `resize` cost a `memset`
        // call a vector.
        fn refill<T: Copy>(v: &mut Vec<T>, n: usize, x: T) {
            if v.len() == n {
                v.fill(x);
            } else {
                v.clear();
                v.resize(n, x);
            }
        }
        self.current_term = persisted.current_term;
        self.voted_for = persisted.voted_for;
        self.log.clear();
        self.log.extend_from_slice(&persisted.log);
        self.role = Role::Follower;
        self.leader = None;
        self.reported = self.status();
        self.status_touched = false;
        self.commit_index = LogIndex(0);
        self.last_applied = LogIndex(0);
        refill(&mut self.votes, cluster_size, false);
        self.vote_count = 0;
        refill(&mut self.refused, cluster_size, false);
        self.refusal_count = 0;
        self.transfer = None;
        self.transfer_campaign = false;
        self.failed_elections = 0;
        self.last_leader_contact = None;
        self.election_elapsed = 0;
        self.randomized_election_ticks = 0;
        self.heartbeat_elapsed = 0;
        refill(&mut self.next_index, cluster_size, LogIndex(1));
        refill(&mut self.match_index, cluster_size, LogIndex(0));
        refill(&mut self.last_sent, cluster_size, LogIndex(0));
        refill(&mut self.recent_active, cluster_size, false);
    }

    /// This server's id.
    pub fn id(&self) -> NodeId {
        self.id
    }
    /// Current term.
    pub fn term(&self) -> Term {
        self.current_term
    }
    /// Current role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// `GetState()`: the current term and whether this server believes it is the leader.
    pub fn state(&self) -> (Term, bool) {
        (self.current_term, self.role == Role::Leader)
    }
    /// The leader of the current term, if known.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }
    /// The candidate voted for in the current term.
    pub fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }
    /// The log; `log()[0]` has index 1.
    pub fn log(&self) -> &[Entry] {
        &self.log
    }
    /// Highest index known committed.
    pub fn commit_index(&self) -> LogIndex {
        self.commit_index
    }
    /// Highest index applied.
    pub fn last_applied(&self) -> LogIndex {
        self.last_applied
    }
    /// Role, term and known leader together.
    pub fn status(&self) -> Status {
        Status {
            role: self.role,
            term: self.current_term,
            leader: self.leader,
        }
    }
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// The persistent part of the state, as it must be after the last [`Env::persist`].
    pub fn persistent(&self) -> Persistent {
        Persistent {
            current_term: self.current_term,
            voted_for: self.voted_for,
            log: self.log.clone(),
        }
    }

    /// Handles one input.
    pub fn step(&mut self, env: &mut impl Env, input: Input) {
        debug_assert_eq!(
            self.status(),
            self.reported,
            "{}: status changed outside a transition",
            self.id
        );
        let term_before = self.current_term;
        let commit_before = self.commit_index;
        match input {
            Input::Boot => self.boot(env),
            Input::Message { from, msg } => self.handle_message(env, from, msg),
            Input::Timeout(Timer::Election) => self.on_election_timeout(env),
            Input::Timeout(Timer::Heartbeat) => self.on_heartbeat_timeout(env),
            Input::Timeout(Timer::Quorum) => self.on_quorum_timeout(env),
            Input::Timeout(Timer::Tick) => self.on_tick(env),
        }
        self.assert_invariants(term_before, commit_before);
        if self.status_touched {
            self.report_status(env);
        }
    }

    /// After a transition: tells the host the new status, if it differs from the last one it heard of.
    fn report_status(&mut self, env: &mut impl Env) {
        self.status_touched = false;
        let now = self.status();
        if now != self.reported {
            self.reported = now;
            env.status_changed(now);
        }
    }

    /// What must hold after every step, checked in release builds too (a few comparisons): a broken one is a
    /// bug in the node, and the simulator reports it as a violation with the trial's seed.
    #[inline]
    fn assert_invariants(&self, term_before: Term, commit_before: LogIndex) {
        assert!(
            self.current_term >= term_before,
            "{}: term went backwards from {} to {}",
            self.id,
            term_before.0,
            self.current_term.0
        );
        assert!(
            self.commit_index >= commit_before,
            "{}: commit index went backwards from {} to {}",
            self.id,
            commit_before.0,
            self.commit_index.0
        );
        assert!(
            self.last_applied <= self.commit_index && self.commit_index <= self.last_log_index(),
            "{}: expected last_applied <= commit_index <= last log index, got {} <= {} <= {}",
            self.id,
            self.last_applied.0,
            self.commit_index.0,
            self.last_log_index().0
        );
        assert!(
            self.role != Role::Leader || self.match_index[self.id.index()] == self.last_log_index(),
            "{}: leader's own match index {} is not its last index {}",
            self.id,
            self.match_index[self.id.index()].0,
            self.last_log_index().0
        );
    }

    /// `Start(command)`: on the leader, appends `command` to the log and starts replicating it, returning the
    /// index it will have if committed and the current term. Elsewhere, says who the leader may be.
    pub fn start(&mut self, env: &mut impl Env, command: Command) -> Result<(LogIndex, Term), NotLeader> {
        if self.role != Role::Leader {
            return Err(NotLeader {
                leader_hint: self.leader,
                term: self.current_term,
            });
        }
        if let Some((to, _)) = self.transfer {
            // Handing over: new commands would only delay the successor's catch-up (raft-rs and etcd drop them).
            return Err(NotLeader {
                leader_hint: Some(to),
                term: self.current_term,
            });
        }
        let index = LogIndex(self.last_log_index().0 + 1);
        self.log.push(Entry {
            term: self.current_term,
            command,
        });
        self.persist(env, Some(index));
        self.match_index[self.id.index()] = index;
        for i in 0..self.peers.len() {
            let peer = self.peers[i];
            // Pipeline: a follower that has been sent everything before this entry gets it now, without waiting
            // for acknowledgements. Others have a request on its way whose reply will send the rest.
            if self.last_sent[peer.index()] == LogIndex(index.0 - 1) {
                self.send_append_from(env, peer, index);
            }
        }
        if self.cluster_size == 1 {
            self.advance_commit(env);
        }
        Ok((index, self.current_term))
    }

    #[inline(never)]
    fn boot(&mut self, env: &mut impl Env) {
        self.role = Role::Follower;
        self.leader = None;
        self.status_touched = true;
        env.cancel_timer(Timer::Heartbeat);
        env.cancel_timer(Timer::Quorum);
        match self.config.ticks {
            Some(ticks) => {
                // A process's ticker starts at a random phase: servers do not boot in the same microsecond.
                self.election_elapsed = 0;
                self.randomized_election_ticks = self.draw_election_ticks(env);
                let tick_us = ticks.tick.as_micros() as u64;
                let phase = 1 + self.uniform(env, tick_us);
                env.set_timer(Timer::Tick, Duration::from_micros(phase));
            }
            None => self.reset_election_timer(env),
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    fn last_log_index(&self) -> LogIndex {
        LogIndex(self.log.len() as u64)
    }

    fn last_log_term(&self) -> Term {
        self.log.last().map_or(Term(0), |e| e.term)
    }

    /// Term of the entry at `index` (index 0 has term 0); `None` past the end.
    fn term_at(&self, index: LogIndex) -> Option<Term> {
        if index.0 == 0 {
            Some(Term(0))
        } else {
            self.log.get((index.0 - 1) as usize).map(|e| e.term)
        }
    }

    /// The term after the current one. Terms grow by one per election, so a run can never exhaust them from a
    /// reachable start (scenarios refuse starting terms above 2^32); reaching `u64::MAX` is a bug, stopped
    /// here rather than wrapped to term 0.
    fn next_term(&self) -> Term {
        match self.current_term.0.checked_add(1) {
            Some(t) => Term(t),
            None => panic!(
                "{}: term {} cannot grow: terms must stay far below u64::MAX",
                self.id, self.current_term.0
            ),
        }
    }

    fn quorum(&self) -> usize {
        self.cluster_size / 2 + 1
    }

    fn persist(&mut self, env: &mut impl Env, log_from: Option<LogIndex>) {
        let log_suffix = log_from.map(|from| (from, &self.log[(from.0 - 1) as usize..]));
        env.persist(PersistUpdate {
            current_term: self.current_term,
            voted_for: self.voted_for,
            log_suffix,
        });
    }

    /// A uniform draw from `[0, n)`; the widening multiply's bias is below n / 2^64.
    #[inline]
    fn uniform(&self, env: &mut impl Env, n: u64) -> u64 {
        ((env.random_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Draws a continuous election timeout, in microseconds: uniform on `[min, max]`, from the candidate range
    /// after a failed election when one is configured, plus randomized binary exponential backoff.
    #[inline]
    fn election_timeout(&self, env: &mut impl Env) -> u64 {
        let m = &self.micros;
        let (min, max) = match m.candidate {
            Some(range) if self.role == Role::Candidate || self.role == Role::PreCandidate => range,
            _ => m.election,
        };
        let mut us = min + self.uniform(env, max - min + 1);
        if let Some(cap) = self.config.backoff_max_exponent
            && self.failed_elections > 0
        {
            // After k failed elections in a row, wait r more minimum timeouts, r uniform in [0, 2^k - 1].
            let k = self.failed_elections.min(cap);
            let slots = self.uniform(env, 1u64 << k);
            us += slots * m.election.0;
        }
        us
    }

    /// Draws a tick-based election timeout: uniform on `[min, max]` whole ticks.
    fn draw_election_ticks(&self, env: &mut impl Env) -> u32 {
        let t = self.config.ticks.expect("tick timers");
        let mut ticks = t.election_min + self.uniform(env, (t.election_max - t.election_min + 1) as u64) as u32;
        if let Some(cap) = self.config.backoff_max_exponent
            && self.failed_elections > 0
        {
            let k = self.failed_elections.min(cap);
            ticks += self.uniform(env, 1u64 << k) as u32 * t.election_min;
        }
        ticks
    }

    /// Restarts the election countdown. Continuous timers draw a new timeout each time (as the Raft paper and
    /// the course lab do); tick timers only zero the elapsed count, keeping the timeout drawn at the last role
    /// change (as etcd and raft-rs do).
    #[inline]
    fn reset_election_timer(&mut self, env: &mut impl Env) {
        match self.config.ticks {
            Some(_) => self.election_elapsed = 0,
            None => {
                let after = self.election_timeout(env);
                env.set_timer_micros(Timer::Election, after);
            }
        }
    }

    /// A role change: tick timers draw a new timeout here.
    fn redraw_election_timer(&mut self, env: &mut impl Env) {
        if self.config.ticks.is_some() {
            self.randomized_election_ticks = self.draw_election_ticks(env);
        }
        self.reset_election_timer(env);
    }

    /// Whether a higher-term vote request (`pre_vote`: a pre-vote request) is dropped because a live leader is
    /// heard from: leader stickiness, or raft-rs's lease under check-quorum.
    fn in_lease(&self, env: &impl Env, pre_vote: bool) -> bool {
        let guarded = match self.config.behaviour.vote_lease {
            VoteLease::Paper => !pre_vote && self.config.leader_stickiness,
            VoteLease::CheckQuorum => self.config.check_quorum || self.config.leader_stickiness,
        };
        guarded && self.leader_recently_heard(env)
    }

    /// Whether a leader has been heard from within the minimum election timeout (for pre-vote and stickiness).
    fn leader_recently_heard(&self, env: &impl Env) -> bool {
        if self.role == Role::Leader {
            return true;
        }
        match self.config.ticks {
            Some(t) => self.leader.is_some() && self.election_elapsed < t.election_min,
            None => self
                .last_leader_contact
                .is_some_and(|at| env.now_micros().saturating_sub(at) < self.micros.lease),
        }
    }

    /// Section 5.1: a server that sees a higher term adopts it and becomes a follower.
    fn become_follower(&mut self, env: &mut impl Env, term: Term, leader: Option<NodeId>) {
        debug_assert!(term >= self.current_term);
        let was = self.role;
        let new_term = term > self.current_term;
        if new_term {
            self.current_term = term;
            self.voted_for = None;
            self.persist(env, None);
        }
        self.role = Role::Follower;
        self.leader = leader;
        self.status_touched = true;
        self.transfer = None;
        self.transfer_campaign = false;
        if leader.is_some() {
            self.failed_elections = 0;
        }
        if was == Role::Leader {
            env.cancel_timer(Timer::Heartbeat);
            env.cancel_timer(Timer::Quorum);
        }
        // Tick timers redraw on every term change too, as raft-rs's and etcd's `reset(term)` does on every
        // `become_follower`; continuous timers keep running, as the paper's followers do.
        if was != Role::Follower || (new_term && self.config.ticks.is_some()) {
            self.redraw_election_timer(env);
        }
    }

    /// Pre-vote (thesis section 9.6): ask whether peers would vote, without changing any term.
    #[inline(never)]
    fn become_pre_candidate(&mut self, env: &mut impl Env) {
        self.role = Role::PreCandidate;
        self.leader = None;
        self.status_touched = true;
        self.votes.fill(false);
        self.refused.fill(false);
        self.refusal_count = 0;
        self.votes[self.id.index()] = true;
        self.vote_count = 1;
        self.reset_election_timer(env);
        if self.vote_count >= self.quorum() {
            self.become_candidate(env);
            return;
        }
        self.broadcast_vote_request(env, self.next_term(), true);
    }

    /// Section 5.2: increment the term, vote for self, reset the timer, ask every peer for its vote.
    #[inline(never)]
    fn become_candidate(&mut self, env: &mut impl Env) {
        self.current_term = self.next_term();
        self.voted_for = Some(self.id);
        self.role = Role::Candidate;
        self.leader = None;
        self.status_touched = true;
        self.persist(env, None);
        self.votes.fill(false);
        self.refused.fill(false);
        self.refusal_count = 0;
        self.votes[self.id.index()] = true;
        self.vote_count = 1;
        self.redraw_election_timer(env);
        if self.vote_count >= self.quorum() {
            self.become_leader(env);
            return;
        }
        self.broadcast_vote_request(env, self.current_term, false);
    }

    fn broadcast_vote_request(&mut self, env: &mut impl Env, term: Term, pre_vote: bool) {
        let rv = RequestVote {
            term,
            last_log_index: self.last_log_index(),
            last_log_term: self.last_log_term(),
            pre_vote,
            leadership_transfer: self.transfer_campaign && !pre_vote,
        };
        for &peer in &self.peers {
            env.send(peer, Message::RequestVote(rv));
        }
    }

    /// Section 5.2: a candidate with votes from a majority becomes leader and asserts itself with heartbeats.
    #[inline(never)]
    fn become_leader(&mut self, env: &mut impl Env) {
        debug_assert_eq!(self.role, Role::Candidate);
        self.role = Role::Leader;
        self.leader = Some(self.id);
        self.status_touched = true;
        self.transfer_campaign = false;
        self.failed_elections = 0;
        let next = LogIndex(self.last_log_index().0 + 1);
        self.next_index.fill(next);
        self.match_index.fill(LogIndex(0));
        if self.config.behaviour.noop_on_election {
            self.log.push(Entry {
                term: self.current_term,
                command: NOOP_COMMAND,
            });
            self.persist(env, Some(next));
        }
        self.match_index[self.id.index()] = self.last_log_index();
        self.recent_active.fill(false);
        self.broadcast_append(env);
        if self.config.behaviour.noop_on_election && self.cluster_size == 1 {
            self.advance_commit(env);
        }
        match self.config.ticks {
            Some(_) => {
                self.heartbeat_elapsed = 0;
                self.election_elapsed = 0;
            }
            None => {
                env.cancel_timer(Timer::Election);
                env.set_timer(Timer::Heartbeat, self.config.heartbeat_interval);
                if self.config.check_quorum {
                    env.set_timer(Timer::Quorum, self.config.election_timeout_min);
                }
            }
        }
    }

    #[inline(never)]
    fn on_election_timeout(&mut self, env: &mut impl Env) {
        self.transfer_campaign = false;
        match self.role {
            Role::Follower | Role::Candidate | Role::PreCandidate => {
                if self.role != Role::Follower {
                    self.failed_elections = self.failed_elections.saturating_add(1);
                }
                if self.config.pre_vote {
                    self.become_pre_candidate(env);
                } else {
                    self.become_candidate(env);
                }
            }
            Role::Leader => {} // a leader's election timer is disarmed; a stale firing is harmless
        }
    }

    fn on_heartbeat_timeout(&mut self, env: &mut impl Env) {
        self.expire_transfer(env);
        if self.role == Role::Leader {
            self.broadcast_append(env);
            env.set_timer(Timer::Heartbeat, self.config.heartbeat_interval);
        }
    }

    /// Check-quorum: a leader that has not heard from a majority within an election timeout steps down.
    #[inline(never)]
    fn on_quorum_timeout(&mut self, env: &mut impl Env) {
        if self.role != Role::Leader {
            return;
        }
        if self.check_quorum_active() {
            env.set_timer(Timer::Quorum, self.config.election_timeout_min);
        } else {
            self.become_follower(env, self.current_term, None);
        }
    }

    /// Counts the peers heard from since the last check (and clears the marks); true if with the leader they
    /// make a majority.
    fn check_quorum_active(&mut self) -> bool {
        let active = 1 + self.recent_active.iter().filter(|&&a| a).count();
        self.recent_active.fill(false);
        active >= self.quorum()
    }

    /// Tick timers: one tick of the logical clock (etcd's `tickElection` / `tickHeartbeat`).
    #[inline(never)]
    fn on_tick(&mut self, env: &mut impl Env) {
        let t = self.config.ticks.expect("tick timer fires only with tick timers");
        env.set_timer(Timer::Tick, t.tick);
        if self.role == Role::Leader {
            self.expire_transfer(env);
            self.heartbeat_elapsed += 1;
            if self.heartbeat_elapsed >= t.heartbeat {
                self.heartbeat_elapsed = 0;
                self.broadcast_append(env);
            }
            self.election_elapsed += 1;
            if self.election_elapsed >= t.election_min {
                self.election_elapsed = 0;
                if self.config.check_quorum && !self.check_quorum_active() {
                    self.become_follower(env, self.current_term, None);
                }
            }
            return;
        }
        self.election_elapsed += 1;
        if self.election_elapsed >= self.randomized_election_ticks {
            self.election_elapsed = 0;
            self.on_election_timeout(env);
        }
    }

    fn broadcast_append(&mut self, env: &mut impl Env) {
        for i in 0..self.peers.len() {
            let peer = self.peers[i];
            self.send_append(env, peer);
        }
    }

    /// Sends `peer` the entries from its `next_index` (a heartbeat when there are none).
    fn send_append(&mut self, env: &mut impl Env, peer: NodeId) {
        self.send_append_from(env, peer, self.next_index[peer.index()]);
    }

    /// Sends `peer` the entries from `next` on, at most `max_entries_per_append` of them.
    ///
    /// Never inlined (nor is `handle_append_entries`): these two carry most of a steady cluster's events, and
    /// left to the compiler, whether they were inlined into `step` changed with unrelated edits elsewhere in a
    /// host crate, and with it the cost of every event by up to 4 %.
    #[inline(never)]
    fn send_append_from(&mut self, env: &mut impl Env, peer: NodeId, next: LogIndex) {
        let prev_log_index = LogIndex(next.0 - 1);
        let prev_log_term = self
            .term_at(prev_log_index)
            .expect("next_index is within the leader's log");
        let start = prev_log_index.0 as usize;
        let end = self.log.len().min(start + self.config.max_entries_per_append);
        // A heartbeat carries nothing: no copy to make (`from_slice` would call `memcpy` for nothing).
        let entries = if start == end {
            Entries::new()
        } else {
            Entries::from_slice(&self.log[start..end])
        };
        self.last_sent[peer.index()] = LogIndex(end as u64);
        env.send(
            peer,
            Message::AppendEntries {
                term: self.current_term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit: self.commit_index,
            },
        );
    }

    // ---- message handling ------------------------------------------------------------------------------------

    #[inline(always)] // its one caller is `step`
    fn handle_message(&mut self, env: &mut impl Env, from: NodeId, msg: Message) {
        if self.role == Role::Leader {
            self.recent_active[from.index()] = true;
        }
        let term = msg.term();
        match &msg {
            // Leader stickiness (or raft-rs's lease under check-quorum): while a live leader is heard from, a vote
            // request cannot depose it; it is dropped without a reply.
            Message::RequestVote(rv)
                if term > self.current_term && !rv.leadership_transfer && self.in_lease(env, rv.pre_vote) =>
            {
                return;
            }
            // Pre-vote requests and granted pre-vote replies carry a term nobody has entered yet: they change
            // no state (thesis section 9.6).
            Message::RequestVote(rv) if rv.pre_vote => {}
            Message::RequestVoteReply {
                pre_vote: true,
                vote_granted: true,
                ..
            } => {}
            // Section 5.1: any other RPC with a higher term makes this server a follower in that term.
            _ if term > self.current_term => {
                let leader = matches!(msg, Message::AppendEntries { .. }).then_some(from);
                self.become_follower(env, term, leader);
            }
            _ => {}
        }
        match msg {
            Message::RequestVote(rv) if rv.pre_vote => self.handle_pre_vote(env, from, rv),
            Message::RequestVote(rv) => self.handle_request_vote(env, from, rv),
            Message::RequestVoteReply {
                term,
                vote_granted,
                pre_vote,
            } => self.handle_request_vote_reply(env, from, term, vote_granted, pre_vote),
            Message::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => self.handle_append_entries(env, from, term, prev_log_index, prev_log_term, entries, leader_commit),
            Message::AppendEntriesReply {
                term,
                success,
                match_index,
                conflict,
            } => self.handle_append_entries_reply(env, from, term, success, match_index, conflict),
            Message::TimeoutNow { term } => self.handle_timeout_now(env, from, term),
        }
    }

    /// The leader hands leadership to this node: campaign now, without pre-vote (thesis section 3.10).
    #[inline(never)]
    fn handle_timeout_now(&mut self, env: &mut impl Env, from: NodeId, term: Term) {
        if term != self.current_term || self.role != Role::Follower || self.leader != Some(from) {
            return; // stale, or not from this term's leader
        }
        self.transfer_campaign = true;
        self.become_candidate(env);
    }

    /// `TransferLeadership(to)`: the leader stops taking commands, brings `to` up to date and then tells it to
    /// campaign at once ([`Message::TimeoutNow`]); its election asks voters to ignore the live leader. The
    /// transfer is given up after one minimum election timeout (as raft-rs and etcd do) or when this node stops
    /// leading. Elsewhere, says who the leader may be.
    pub fn transfer_leadership(&mut self, env: &mut impl Env, to: NodeId) -> Result<(), NotLeader> {
        if self.role != Role::Leader {
            return Err(NotLeader {
                leader_hint: self.leader,
                term: self.current_term,
            });
        }
        if to == self.id || to.index() >= self.cluster_size {
            return Ok(());
        }
        let deadline = env.now() + self.config.election_timeout_min;
        let deadline = match self.config.ticks {
            Some(t) => env.now() + t.tick * t.election_min,
            None => deadline,
        };
        self.transfer = Some((to, deadline));
        if self.match_index[to.index()] == self.last_log_index() {
            env.send(
                to,
                Message::TimeoutNow {
                    term: self.current_term,
                },
            );
        } else {
            self.send_append(env, to);
        }
        Ok(())
    }

    /// Gives up a transfer whose time is over.
    fn expire_transfer(&mut self, env: &impl Env) {
        if self.transfer.is_some_and(|(_, deadline)| env.now() >= deadline) {
            self.transfer = None;
        }
    }

    fn log_up_to_date(&self, rv: &RequestVote) -> bool {
        (rv.last_log_term, rv.last_log_index) >= (self.last_log_term(), self.last_log_index())
    }

    /// Figure 2, RequestVote receiver implementation.
    #[inline(never)]
    fn handle_request_vote(&mut self, env: &mut impl Env, from: NodeId, rv: RequestVote) {
        if rv.term < self.current_term && !self.config.behaviour.stale_vote_reply {
            return;
        }
        // 1. Reply false if term < currentTerm.
        // 2. Grant if votedFor is null or candidateId, and the candidate's log is at least as up-to-date (5.4.1).
        let grant = rv.term == self.current_term
            && (self.voted_for.is_none() || self.voted_for == Some(from))
            && self.log_up_to_date(&rv);
        if grant {
            if self.voted_for != Some(from) {
                self.voted_for = Some(from);
                self.persist(env, None);
            }
            // Granting a vote resets the election timer (Figure 2, Followers).
            self.reset_election_timer(env);
        }
        env.send(
            from,
            Message::RequestVoteReply {
                term: self.current_term,
                vote_granted: grant,
                pre_vote: false,
            },
        );
    }

    /// A pre-vote is granted to a candidate whose log is up to date, for a term above ours, when no leader has
    /// been heard from recently. Nothing is persisted and no timer is reset.
    #[inline(never)]
    fn handle_pre_vote(&mut self, env: &mut impl Env, from: NodeId, rv: RequestVote) {
        let leader_heard = self.config.behaviour.vote_lease == VoteLease::Paper && self.leader_recently_heard(env);
        let grant = rv.term > self.current_term && self.log_up_to_date(&rv) && !leader_heard;
        let term = if grant { rv.term } else { self.current_term };
        env.send(
            from,
            Message::RequestVoteReply {
                term,
                vote_granted: grant,
                pre_vote: true,
            },
        );
    }

    #[inline(never)]
    fn handle_request_vote_reply(&mut self, env: &mut impl Env, from: NodeId, term: Term, granted: bool, pre: bool) {
        // A reply to an earlier round's request, or arriving after the round ended, is stale.
        let (role, expected_term) = if pre {
            (Role::PreCandidate, self.next_term())
        } else {
            (Role::Candidate, self.current_term)
        };
        if self.role == role && !granted && term == self.current_term && self.config.behaviour.step_down_on_rejection {
            // A refusal from a voter in our own term: at a majority of them the election is lost.
            if !self.refused[from.index()] {
                self.refused[from.index()] = true;
                self.refusal_count += 1;
                if self.refusal_count >= self.quorum() {
                    self.become_follower(env, self.current_term, None);
                }
            }
            return;
        }
        if self.role != role || term != expected_term || !granted {
            return;
        }
        if !self.votes[from.index()] {
            self.votes[from.index()] = true;
            self.vote_count += 1;
            if self.vote_count >= self.quorum() {
                if pre {
                    self.become_candidate(env);
                } else {
                    self.become_leader(env);
                }
            }
        }
    }

    /// Figure 2, AppendEntries receiver implementation.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn handle_append_entries(
        &mut self,
        env: &mut impl Env,
        from: NodeId,
        term: Term,
        prev_log_index: LogIndex,
        prev_log_term: Term,
        entries: Entries,
        leader_commit: LogIndex,
    ) {
        // 1. Reply false if term < currentTerm.
        if term < self.current_term {
            let reply_stale = match self.config.behaviour.stale_append_reply {
                StaleAppendReply::Always => true,
                StaleAppendReply::WithCheckQuorumOrPreVote => self.config.check_quorum || self.config.pre_vote,
            };
            if !reply_stale {
                return;
            }
            let reply = Message::AppendEntriesReply {
                term: self.current_term,
                success: false,
                match_index: LogIndex(0),
                conflict: None,
            };
            env.send(from, reply);
            return;
        }
        // A valid AppendEntries comes from the leader of this term: a candidate steps down (5.2), and every
        // follower resets its election timer.
        assert!(
            self.role != Role::Leader,
            "{}: two leaders in {} ({} and {from})",
            self.id,
            self.current_term,
            self.id
        );
        if self.role != Role::Follower || self.leader != Some(from) {
            self.become_follower(env, term, Some(from));
        }
        self.last_leader_contact = Some(env.now_micros());
        self.reset_election_timer(env);

        // 2. Reply false if the log has no entry at prevLogIndex whose term matches prevLogTerm.
        match self.term_at(prev_log_index) {
            None => {
                let conflict = Conflict {
                    term: None,
                    first_index: LogIndex(0),
                    last_index: self.last_log_index(),
                };
                self.reply_append(env, from, false, LogIndex(0), Some(conflict));
                return;
            }
            Some(t) if t != prev_log_term => {
                let first = self.log.iter().position(|e| e.term == t).expect("term present") as u64 + 1;
                let conflict = Conflict {
                    term: Some(t),
                    first_index: LogIndex(first),
                    last_index: self.last_log_index(),
                };
                self.reply_append(env, from, false, LogIndex(0), Some(conflict));
                return;
            }
            Some(_) => {}
        }
        // 3. and 4. Delete conflicting entries and everything after them; append entries not already there.
        let mut changed_from = None;
        for (k, entry) in entries.iter().enumerate() {
            let index = LogIndex(prev_log_index.0 + 1 + k as u64);
            match self.term_at(index) {
                Some(t) if t == entry.term => continue,
                Some(_) => {
                    assert!(
                        index > self.commit_index,
                        "{}: leader overwrote committed {index}",
                        self.id
                    );
                    self.log.truncate((index.0 - 1) as usize);
                    self.log.extend_from_slice(&entries[k..]);
                    changed_from = Some(index);
                    break;
                }
                None => {
                    self.log.extend_from_slice(&entries[k..]);
                    changed_from = Some(index);
                    break;
                }
            }
        }
        if changed_from.is_some() {
            self.persist(env, changed_from);
        }
        let last_new = LogIndex(prev_log_index.0 + entries.len() as u64);
        // 5. If leaderCommit > commitIndex, commitIndex = min(leaderCommit, index of last new entry).
        if leader_commit > self.commit_index {
            let new_commit = leader_commit.min(last_new);
            if new_commit > self.commit_index {
                self.commit_index = new_commit;
                self.apply_committed(env);
            }
        }
        self.reply_append(env, from, true, last_new, None);
    }

    fn reply_append(
        &mut self,
        env: &mut impl Env,
        to: NodeId,
        success: bool,
        match_index: LogIndex,
        conflict: Option<Conflict>,
    ) {
        env.send(
            to,
            Message::AppendEntriesReply {
                term: self.current_term,
                success,
                match_index,
                conflict,
            },
        );
    }

    fn handle_append_entries_reply(
        &mut self,
        env: &mut impl Env,
        from: NodeId,
        term: Term,
        success: bool,
        match_index: LogIndex,
        conflict: Option<Conflict>,
    ) {
        if self.role != Role::Leader || term != self.current_term {
            return; // stale
        }
        let p = from.index();
        if success {
            // Replies to concurrent requests can arrive in any order: indices only move forward.
            if match_index > self.match_index[p] {
                self.match_index[p] = match_index;
                self.advance_commit(env);
            }
            if LogIndex(match_index.0 + 1) > self.next_index[p] {
                self.next_index[p] = LogIndex(match_index.0 + 1);
            }
            if self.transfer.is_some_and(|(to, _)| to == from) && self.match_index[p] == self.last_log_index() {
                env.send(
                    from,
                    Message::TimeoutNow {
                        term: self.current_term,
                    },
                );
            }
            // More to send, and not already on its way: without the second test every duplicated or reordered
            // reply would start a request stream of its own, and the streams would multiply.
            if self.next_index[p] <= self.last_log_index() && self.last_sent[p] < self.last_log_index() {
                self.send_append(env, from);
            }
            return;
        }
        let Some(c) = conflict else { return };
        // Back up by whole terms: skip every entry of the follower's conflicting term at once.
        let next = match c.term {
            Some(t) => match self.log.iter().rposition(|e| e.term == t) {
                Some(pos) => LogIndex(pos as u64 + 2),
                None => c.first_index,
            },
            None => LogIndex(c.last_index.0 + 1),
        };
        let next = next
            .max(LogIndex(self.match_index[p].0 + 1))
            .min(LogIndex(self.last_log_index().0 + 1));
        if next < self.next_index[p] {
            self.next_index[p] = next;
            self.send_append(env, from);
        } else if self.last_sent[p] >= next {
            // A pipelined request found a gap (an earlier one was lost): fill it from the acknowledged point.
            self.send_append(env, from);
        }
    }

    /// Figure 2, Leaders: commit the highest N with a majority of matchIndex >= N and log[N].term == currentTerm
    /// (never an earlier term's entry by counting replicas: section 5.4.2, Figure 8).
    fn advance_commit(&mut self, env: &mut impl Env) {
        let mut n = self.last_log_index();
        while n > self.commit_index {
            if self.term_at(n) != Some(self.current_term) {
                break; // earlier entries are from older terms too
            }
            let replicas = self.match_index.iter().filter(|&&m| m >= n).count();
            if replicas >= self.quorum() {
                self.commit_index = n;
                self.apply_committed(env);
                return;
            }
            n = LogIndex(n.0 - 1);
        }
    }

    fn apply_committed(&mut self, env: &mut impl Env) {
        if self.last_applied < self.commit_index {
            let first = LogIndex(self.last_applied.0 + 1);
            self.last_applied = self.commit_index;
            env.apply_all(first, &self.log[(first.0 - 1) as usize..self.commit_index.0 as usize]);
        }
    }
}

/// The configuration's continuous timeouts in microseconds.
#[derive(Clone, Copy, Debug)]
struct Micros {
    /// `election_timeout_min..=election_timeout_max`.
    election: (u64, u64),
    /// `candidate_timeout`, when configured.
    candidate: Option<(u64, u64)>,
    /// `election_timeout_min` rounded up: a whole number of microseconds `d` is below it exactly when `d` is
    /// below this.
    lease: u64,
}

impl Micros {
    fn of(config: &Config) -> Micros {
        let min = config.election_timeout_min;
        Micros {
            election: (micros(min), micros(config.election_timeout_max)),
            candidate: config.candidate_timeout.map(|(lo, hi)| (micros(lo), micros(hi))),
            lease: micros(min) + u64::from(!min.subsec_nanos().is_multiple_of(1_000)),
        }
    }
}

/// `d.as_micros() as u64` (the same value, wrapping above 2^64 microseconds as that cast does) without 128-bit
/// arithmetic: every election timer reset converts its bounds.
#[inline]
fn micros(d: Duration) -> u64 {
    d.as_secs()
        .wrapping_mul(1_000_000)
        .wrapping_add(u64::from(d.subsec_micros()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_is_as_micros_cast() {
        let max_secs = u64::MAX / 1_000_000;
        for d in [
            Duration::ZERO,
            Duration::from_nanos(1_999),
            Duration::from_millis(150),
            Duration::new(3, 999_999_999),
            Duration::new(max_secs, 551_615_999),
            Duration::new(max_secs + 1, 7_000),
            Duration::MAX,
        ] {
            assert_eq!(micros(d), d.as_micros() as u64, "{d:?}");
        }
    }

    /// The lease compares whole microseconds against the minimum election timeout exactly as comparing the
    /// durations did, sub-microsecond minimums included.
    #[test]
    fn lease_in_micros_compares_as_durations_do() {
        for min in [
            Duration::from_millis(150),
            Duration::from_nanos(150_000_001),
            Duration::from_nanos(150_000_999),
            Duration::from_nanos(999),
            Duration::ZERO,
        ] {
            let config = Config {
                election_timeout_min: min,
                election_timeout_max: min + Duration::from_millis(150),
                ..Config::default()
            };
            let lease = Micros::of(&config).lease;
            for d in [0, 1, 149_999, 150_000, 150_001, 150_002] {
                assert_eq!(d < lease, Duration::from_micros(d) < min, "{d} us against {min:?}");
            }
        }
    }
}
