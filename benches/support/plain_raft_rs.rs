//! A plain virtual-time harness around tikv's raft-rs, written the way one would without raftsim: the yardstick
//! for raftsim's raft-rs path (`raft.implementation: raft-rs`) on the same work.
//!
//! The work is `scenarios/leader-crash.yaml` as raftsim runs it on raft-rs: five `RawNode`s on raft-rs's own
//! `MemStorage`, each ticked every 1 ms (election timeouts of 150-300 ticks, heartbeats every 50), messages
//! delayed uniformly by 2-8 ms, the leader crashed once it has led for 1 s (plus up to 50 ms), and the trial
//! over once every survivor follows a new leader. Events are a binary heap of (time, sequence, event). It has
//! no safety checker, no measurement windows, no fault model and no trace: only what the work needs.

use raft::StateRole;
use raft::eraftpb::{ConfState, Message};
use raft::prelude::*;
use raft::storage::MemStorage;
use rand::RngExt;
use rand_pcg::Pcg64;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

const NODES: u64 = 5;
const TICK_US: u64 = 1_000;

enum Ev {
    Tick(usize),
    Deliver(Box<Message>),
    Crash,
}

struct Queued(u64, u64, Ev);

impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        (self.0, self.1) == (o.0, o.1)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.0, self.1).cmp(&(o.0, o.1))
    }
}

struct Harness {
    nodes: Vec<Option<RawNode<MemStorage>>>,
    queue: BinaryHeap<Reverse<Queued>>,
    seq: u64,
    now: u64,
    rng: Pcg64,
    events: u64,
}

impl Harness {
    fn push(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse(Queued(at, self.seq, ev)));
    }

    fn send(&mut self, msgs: Vec<Message>) {
        for m in msgs {
            let delay = self.rng.random_range(2_000..=8_000u64);
            self.push(self.now + delay, Ev::Deliver(Box::new(m)));
        }
    }

    /// Persists and sends what node `i` is ready with, as raft-rs's examples do.
    fn handle_ready(&mut self, i: usize) {
        let Some(node) = self.nodes[i].as_mut() else { return };
        if !node.has_ready() {
            return;
        }
        let mut rd = node.ready();
        let msgs = rd.take_messages();
        let store = node.raft.raft_log.store.clone();
        if !rd.entries().is_empty() {
            store.wl().append(rd.entries()).expect("append");
        }
        if let Some(hs) = rd.hs() {
            store.wl().set_hardstate(hs.clone());
        }
        let persisted = rd.take_persisted_messages();
        let mut light = node.advance(rd);
        if let Some(commit) = light.commit_index() {
            store.wl().mut_hard_state().set_commit(commit);
        }
        let more = light.take_messages();
        node.advance_apply();
        self.send(msgs);
        self.send(persisted);
        self.send(more);
    }

    fn leader(&self) -> Option<(usize, u64)> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_ref().map(|n| (i, n)))
            .filter(|(_, n)| n.raft.state == StateRole::Leader)
            .map(|(i, n)| (i, n.raft.term))
            .max_by_key(|&(_, term)| term)
    }

    /// Every live node follows one leader in its term.
    fn agreed(&self) -> bool {
        let Some((leader, term)) = self.leader() else {
            return false;
        };
        self.nodes
            .iter()
            .flatten()
            .all(|n| n.raft.term == term && n.raft.leader_id == leader as u64 + 1)
    }
}

/// One leader-crash trial; returns the events it handled.
pub fn trial(seed: u64) -> u64 {
    let logger = slog::Logger::root(slog::Discard, slog::o!());
    let voters: Vec<u64> = (1..=NODES).collect();
    let nodes = (1..=NODES)
        .map(|id| {
            let storage = MemStorage::new_with_conf_state(ConfState::from((voters.clone(), vec![])));
            let cfg = Config {
                id,
                election_tick: 150,
                heartbeat_tick: 50,
                min_election_tick: 150,
                max_election_tick: 301,
                ..Config::default()
            };
            Some(RawNode::new(&cfg, storage, &logger).expect("a valid configuration"))
        })
        .collect();
    let mut h = Harness {
        nodes,
        queue: BinaryHeap::new(),
        seq: 0,
        now: 0,
        rng: rand::SeedableRng::seed_from_u64(seed),
        events: 0,
    };
    for i in 0..NODES as usize {
        h.push(TICK_US, Ev::Tick(i));
    }
    let mut crash_armed = false;
    let mut crashed = false;
    while let Some(Reverse(Queued(t, _, ev))) = h.queue.pop() {
        h.now = t;
        h.events += 1;
        match ev {
            Ev::Tick(i) => {
                if let Some(n) = h.nodes[i].as_mut() {
                    n.tick();
                    h.handle_ready(i);
                    h.push(t + TICK_US, Ev::Tick(i));
                }
            }
            Ev::Deliver(m) => {
                let to = m.to as usize - 1;
                if let Some(n) = h.nodes[to].as_mut() {
                    let _ = n.step(*m);
                    h.handle_ready(to);
                }
            }
            Ev::Crash => {
                if let Some((leader, _)) = h.leader() {
                    h.nodes[leader] = None;
                }
                crashed = true;
            }
        }
        if !crash_armed && h.leader().is_some() {
            crash_armed = true;
            let jitter = h.rng.random_range(0..=50_000u64);
            h.push(t + 1_000_000 + jitter, Ev::Crash);
        }
        if crashed && h.agreed() {
            break;
        }
    }
    h.events
}
