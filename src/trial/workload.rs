//! The workload part of a trial: a client that submits a command every `workload.interval` to the node it
//! believes leads, follows refusals' leader hints, and measures each command's commit latency.

use super::cluster::Cluster;
use super::{DriverEvent, Fact, Facts};
use crate::host::{RaftHost, rid, sid};
use crate::scenario::Workload;
use raft_model::Entry;
use sim_core::{NodeId, SimTime};
use std::collections::VecDeque;
use std::time::Duration;

/// The client of one trial.
pub struct Client {
    /// The node the client believes leads.
    target: NodeId,
    /// Commands submitted and not yet applied anywhere: `in_flight[k]` is the submission time of command
    /// `first_in_flight + k`, `None` once applied. Commands are numbered in the order they are accepted, so a
    /// ring indexed by command does what a map would, at one subtraction per lookup (every node's every
    /// application looks its command up); the oldest are dropped from the front as they commit.
    in_flight: VecDeque<Option<SimTime>>,
    first_in_flight: u64,
    next_command: u64,
    /// Commands accepted by a leader.
    pub submitted: u64,
    /// Commands refused (not leader, or the node is down).
    pub refused: u64,
    /// For each command that committed: from submission to its first application, microseconds.
    pub commit_us: Vec<u64>,
    /// A tick's write is available when its command commits within this time (`workload.commit_bound`).
    bound: Duration,
    /// Commands that committed within `bound` of submission.
    pub within_bound: u64,
}

impl Client {
    /// A client that starts submitting at `w.start`.
    pub fn start<P: RaftHost>(w: &Workload, c: &mut Cluster<P, DriverEvent>) -> Self {
        c.sim.schedule(SimTime::ZERO + w.start, DriverEvent::ClientTick);
        Client {
            target: NodeId::new(0),
            in_flight: VecDeque::new(),
            first_in_flight: 1 << 32,
            next_command: 1 << 32,
            submitted: 0,
            refused: 0,
            commit_us: Vec::new(),
            bound: w.commit_bound,
            within_bound: 0,
        }
    }

    /// Submits one command to the node the client believes leads, and learns from a refusal.
    pub fn tick<P: RaftHost>(&mut self, w: &Workload, c: &mut Cluster<P, DriverEvent>, facts: &mut Facts) {
        let command = self.next_command;
        let target = self.target;
        let result = c.sim.call(target, |p, ctx| p.start(ctx, command));
        facts.trace(|| Fact::Client {
            node: target,
            command,
            result,
        });
        match result {
            Some(Ok(_)) => {
                self.next_command += 1;
                self.submitted += 1;
                debug_assert_eq!(command, self.first_in_flight + self.in_flight.len() as u64);
                self.in_flight.push_back(Some(c.now()));
            }
            Some(Err(not_leader)) => {
                self.refused += 1;
                self.target = match not_leader.leader_hint {
                    Some(hint) if hint != rid(target) => sid(hint),
                    _ => NodeId::new((target.index() + 1) % c.len()),
                };
            }
            None => {
                self.refused += 1;
                self.target = NodeId::new((target.index() + 1) % c.len());
            }
        }
        c.sim.schedule(c.now() + w.interval, DriverEvent::ClientTick);
    }

    /// Some node applied `entry` at `t`: the first application of a command is its commit.
    #[inline(always)] // once per node per committed entry: a replayed one returns at once
    pub fn on_applied(&mut self, t: SimTime, entry: Entry) {
        let Some(k) = entry.command.checked_sub(self.first_in_flight) else {
            return;
        };
        if let Some(submitted) = self.in_flight.get_mut(k as usize).and_then(Option::take) {
            let took = t - submitted;
            self.commit_us.push(took.as_micros() as u64);
            self.within_bound += u64::from(took <= self.bound);
            while self.in_flight.front().is_some_and(Option::is_none) {
                self.in_flight.pop_front();
                self.first_in_flight += 1;
            }
        }
    }

    /// When the trial stops at `end`: ticks whose command committed within the bound, and ticks counted.
    /// A refused tick counts (its write failed); an accepted command still in flight counts only if its bound
    /// ended before the trial did (otherwise nobody knows yet whether it would have made it).
    pub fn write_availability(&self, end: SimTime) -> (u64, u64) {
        let unknown = self
            .in_flight
            .iter()
            .flatten()
            .filter(|&&s| s + self.bound > end)
            .count() as u64;
        (self.within_bound, self.submitted + self.refused - unknown)
    }
}
