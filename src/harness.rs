//! A cluster driven by hand, in the manner of the course lab's test harness: disconnect and reconnect servers,
//! crash and restart them, submit commands, and check that exactly one leader emerges and that commands commit.
//!
//! Every step runs on the deterministic engine, and every applied entry and leader change goes through the
//! safety [`Checker`]; a violation panics with the seed, so a failing test names what to replay.
//!
//! ```
//! use raftsim::harness::Cluster;
//! let mut c = Cluster::new(3, Cluster::lab_config(), Cluster::reliable(), 7);
//! let leader = c.check_one_leader();
//! let index = c.one(101, 3);
//! assert_eq!(c.n_committed(index), (3, Some(101)));
//! c.disconnect(leader);
//! assert_ne!(c.check_one_leader(), leader);
//! ```

use crate::host::{RaftHost, RaftNote, RaftProcess};
use crate::trial::cluster::Cluster as Parts;
use crate::trial::safety::Safety;
use raft_model::{Command, Config, Entry, LogIndex, MessageKind, NotLeader, Persistent, Term};
use sim_core::{Latency, LinkModel, LongDelay, Network, NodeId, SimTime};
use std::time::Duration;

/// A cluster under test.
pub struct Cluster {
    /// The nodes, the engine, storage across crashes: the same part a trial runs on.
    c: Parts<RaftProcess, ()>,
    seed: u64,
    connected: Vec<bool>,
    /// Entries each server has applied since it (re)started, by index (`applied[i][0]` has index 1).
    applied: Vec<Vec<Entry>>,
    safety: Safety,
}

impl Cluster {
    /// The lab's timing: at most ten heartbeats per second, election timeouts long enough for several rounds to
    /// fit in five seconds.
    pub fn lab_config() -> Config {
        Config {
            election_timeout_min: Duration::from_millis(300),
            election_timeout_max: Duration::from_millis(600),
            heartbeat_interval: Duration::from_millis(100),
            ..Config::default()
        }
    }

    /// A reliable network: one-way delays of 1-5 ms, no loss.
    pub fn reliable() -> LinkModel {
        LinkModel::with_latency(Latency::Uniform {
            min: Duration::from_millis(1),
            max: Duration::from_millis(5),
        })
    }

    /// The lab's unreliable network: 10 % of messages lost, delays up to 27 ms (so they reorder), 5 % delivered
    /// twice.
    pub fn unreliable() -> LinkModel {
        LinkModel {
            loss: 0.1,
            duplicate: 0.05,
            ..LinkModel::with_latency(Latency::Uniform {
                min: Duration::ZERO,
                max: Duration::from_millis(27),
            })
        }
    }

    /// The unreliable network with the lab's long reordering on top: two thirds of messages take 200 ms to
    /// 2.2 s.
    pub fn unreliable_long_reordering() -> LinkModel {
        LinkModel {
            long_delay: Some(LongDelay {
                probability: 2.0 / 3.0,
                latency: Latency::Uniform {
                    min: Duration::from_millis(200),
                    max: Duration::from_millis(2200),
                },
            }),
            ..Cluster::unreliable()
        }
    }

    /// `n` servers with `config`, on links following `link`, every random choice drawn from `seed`.
    pub fn new(n: usize, config: Config, link: LinkModel, seed: u64) -> Cluster {
        let c = Parts::new(
            Network::new(n, link),
            &[],
            seed,
            config,
            vec![Persistent::default(); n],
            false,
        );
        let mut c = Cluster {
            c,
            seed,
            connected: vec![true; n],
            applied: vec![Vec::new(); n],
            safety: Safety::new(true),
        };
        c.drain();
        c
    }

    /// Number of servers.
    pub fn len(&self) -> usize {
        self.c.len()
    }

    /// Whether the cluster has no servers.
    pub fn is_empty(&self) -> bool {
        self.c.is_empty()
    }

    /// Messages of `kind` server `i` has sent since the cluster was created, across restarts.
    pub fn sent(&self, i: usize, kind: MessageKind) -> u64 {
        self.c.messages_of(NodeId::new(i))[kind]
    }

    /// Virtual time now.
    pub fn now(&self) -> SimTime {
        self.c.now()
    }

    /// Messages sent so far (all kinds, counted by the engine).
    pub fn messages_sent(&self) -> u64 {
        self.c.sim.stats().sent
    }

    /// Runs the cluster for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.c.now() + d;
        while self.c.sim.next_time().is_some_and(|t| t <= until) {
            self.c.sim.step();
            if self.c.sim.has_notes() {
                self.drain();
            }
        }
        self.c.sim.advance_to(until);
    }

    /// Checks every note against the safety properties (panicking with the seed on a violation) and records
    /// applied entries.
    fn drain(&mut self) {
        for (t, node, note) in self.c.take_notes() {
            let result = match note {
                RaftNote::Status(st) => {
                    self.c.record_status(t, node, st);
                    self.safety.on_status(&self.c, t, node, st)
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
                    self.safety.on_applied(&self.c, t, node, index, entry)
                }
                RaftNote::AppliedRun(..) => unreachable!("`take_notes` hands runs on entry by entry"),
            };
            if let Err(v) = result {
                panic!("seed {}: {} violated: {}", self.seed, v.invariant, v.detail);
            }
        }
    }

    /// Cuts server `i` off from every other server, both ways.
    pub fn disconnect(&mut self, i: usize) {
        self.connected[i] = false;
        let links = self.links_of(i, |_| true);
        self.c.set_cuts(&links, true);
    }

    /// Both directions of the links between server `i` and every server `keep` accepts.
    fn links_of(&self, i: usize, keep: impl Fn(usize) -> bool) -> Vec<(NodeId, NodeId)> {
        (0..self.len())
            .filter(|&j| j != i && keep(j))
            .flat_map(|j| [(NodeId::new(i), NodeId::new(j)), (NodeId::new(j), NodeId::new(i))])
            .collect()
    }

    /// Reconnects server `i` to every other connected server.
    pub fn connect(&mut self, i: usize) {
        self.connected[i] = true;
        let links = self.links_of(i, |j| self.connected[j]);
        self.c.set_cuts(&links, false);
    }

    /// Makes every link follow `link` from now on (the lab's `setunreliable`).
    pub fn set_link(&mut self, link: LinkModel) {
        self.c.sim.network_mut().set_default_link(link);
    }

    /// Whether server `i` is connected.
    pub fn is_connected(&self, i: usize) -> bool {
        self.connected[i]
    }

    /// Crashes server `i`; it keeps only what it persisted.
    pub fn crash(&mut self, i: usize) {
        self.c.crash(&[NodeId::new(i)]);
    }

    /// Restarts server `i` from what it persisted (crashing it first if it is running). Its state machine
    /// starts empty and is rebuilt by applying the log again.
    pub fn restart(&mut self, i: usize) {
        self.crash(i);
        self.applied[i].clear();
        self.safety.on_restart(NodeId::new(i));
        self.c.restart(NodeId::new(i));
        self.drain();
    }

    /// Whether server `i` is running.
    pub fn is_up(&self, i: usize) -> bool {
        self.c.sim.is_up(NodeId::new(i))
    }

    /// `Start(command)` on server `i`: `None` if it is down.
    pub fn start(&mut self, i: usize, command: Command) -> Option<Result<(LogIndex, Term), NotLeader>> {
        let r = self.c.sim.call(NodeId::new(i), |p, ctx| p.start(ctx, command));
        self.drain();
        r
    }

    /// `GetState()` of server `i`.
    pub fn state(&self, i: usize) -> Option<(Term, bool)> {
        self.c.process(NodeId::new(i)).map(|p| p.node().state())
    }

    /// The servers that are up, connected and believe they lead, with their terms.
    pub fn leaders(&self) -> Vec<(usize, Term)> {
        (0..self.len())
            .filter(|&i| self.connected[i])
            .filter_map(|i| self.state(i).filter(|s| s.1).map(|s| (i, s.0)))
            .collect()
    }

    /// The lab's `checkOneLeader`: within five seconds, one connected server leads in the newest term, and no
    /// term has two leaders. Panics otherwise.
    pub fn check_one_leader(&mut self) -> usize {
        for _ in 0..10 {
            self.run_for(Duration::from_millis(500));
            let leaders = self.leaders();
            let mut terms: Vec<Term> = leaders.iter().map(|l| l.1).collect();
            terms.sort();
            terms.dedup();
            for t in &terms {
                let count = leaders.iter().filter(|l| l.1 == *t).count();
                assert!(count <= 1, "seed {}: term {} has {count} leaders", self.seed, t.0);
            }
            if let Some(&newest) = terms.last() {
                return leaders.iter().find(|l| l.1 == newest).expect("present").0;
            }
        }
        panic!("seed {}: expected one leader, got none", self.seed);
    }

    /// The lab's `checkTerms`: every connected server agrees on the term. Returns it.
    pub fn check_terms(&self) -> Term {
        let mut term = None;
        for i in (0..self.len()).filter(|&i| self.connected[i]) {
            if let Some((t, _)) = self.state(i) {
                match term {
                    None => term = Some(t),
                    Some(x) => assert_eq!(x, t, "seed {}: servers disagree on the term", self.seed),
                }
            }
        }
        term.expect("some server is connected")
    }

    /// The lab's `checkNoLeader`: no connected server believes it leads.
    pub fn check_no_leader(&self) {
        assert!(
            self.leaders().is_empty(),
            "seed {}: expected no leader among connected servers",
            self.seed
        );
    }

    /// The lab's `nCommitted`: how many servers have applied `index`, and the command there (all that applied it
    /// must agree; the checker enforces it).
    pub fn n_committed(&self, index: LogIndex) -> (usize, Option<Command>) {
        let mut count = 0;
        let mut command = None;
        for log in &self.applied {
            if let Some(e) = log.get((index.0 - 1) as usize) {
                if let Some(c) = command {
                    assert_eq!(
                        c, e.command,
                        "seed {}: servers applied different commands at {index}",
                        self.seed
                    );
                }
                command = Some(e.command);
                count += 1;
            }
        }
        (count, command)
    }

    /// The lab's `one`: submits `command` to whichever server accepts it, and waits until at least `expected`
    /// servers have applied it; retries with other servers for up to 10 seconds. Returns its index; panics if
    /// it never commits.
    pub fn one(&mut self, command: Command, expected: usize) -> LogIndex {
        let deadline = self.c.now() + Duration::from_secs(10);
        let mut next = 0;
        while self.c.now() < deadline {
            let mut index = None;
            for _ in 0..self.len() {
                let i = next;
                next = (next + 1) % self.len();
                if !self.connected[i] {
                    continue;
                }
                if let Some(Ok((ix, _))) = self.start(i, command) {
                    index = Some(ix);
                    break;
                }
            }
            match index {
                Some(ix) => {
                    let wait_until = self.c.now() + Duration::from_secs(2);
                    while self.c.now() < wait_until {
                        let (count, cmd) = self.n_committed(ix);
                        if count >= expected && cmd == Some(command) {
                            return ix;
                        }
                        self.run_for(Duration::from_millis(20));
                    }
                }
                None => self.run_for(Duration::from_millis(50)),
            }
        }
        panic!(
            "seed {}: command {command} did not commit on {expected} servers within 10 s",
            self.seed
        );
    }

    /// What server `i` has applied since it (re)started.
    pub fn applied(&self, i: usize) -> &[Entry] {
        &self.applied[i]
    }

    /// Server `i`'s log (if it is up).
    pub fn log(&self, i: usize) -> Option<&[Entry]> {
        self.c.process(NodeId::new(i)).map(|p| p.log())
    }

    /// The seed, for messages.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}
