//! The liveness part of a trial: once the faults are over, a single leader must appear within
//! `liveness.leader_within`, and every live node must apply what was committed within `liveness.applied_within`.

use super::DriverEvent;
use super::cluster::Cluster;
use crate::duration::Dur;
use crate::host::RaftHost;
use crate::invariants::{Invariant, Violation};
use raft_model::LogIndex;
use sim_core::SimTime;
use std::time::Duration;

/// Liveness budgets of one trial.
pub struct Liveness {
    leader_within: Duration,
    applied_within: Option<Duration>,
    /// When the last fault fired and every generator stopped.
    quiet_since: Option<SimTime>,
    /// A single leader was seen after `quiet_since`.
    leader_seen: bool,
    /// Checks still to come.
    pending: u32,
    /// The highest commit index when the faults ended.
    commit_at_quiet: LogIndex,
}

impl Liveness {
    /// Budgets `leader_within` and `applied_within`, counted from the end of the faults.
    pub fn new(leader_within: Duration, applied_within: Option<Duration>) -> Self {
        Liveness {
            leader_within,
            applied_within,
            quiet_since: None,
            leader_seen: false,
            pending: 0,
            commit_at_quiet: LogIndex(0),
        }
    }

    /// Checks are still to come.
    pub fn pending(&self) -> bool {
        self.pending > 0
    }

    /// Starts the clock once the faults are over (`quiet`), and notes when a single leader appears.
    pub fn watch<P: RaftHost>(&mut self, c: &mut Cluster<P, DriverEvent>, quiet: bool) {
        if self.quiet_since.is_none() && quiet {
            let now = c.now();
            self.quiet_since = Some(now);
            self.commit_at_quiet = c
                .nodes()
                .filter_map(|x| c.process(x).map(|p| p.commit_index()))
                .max()
                .unwrap_or(LogIndex(0));
            c.sim
                .schedule(now + self.leader_within, DriverEvent::LivenessCheck { applied: false });
            self.pending += 1;
            if let Some(a) = self.applied_within {
                c.sim.schedule(now + a, DriverEvent::LivenessCheck { applied: true });
                self.pending += 1;
            }
        }
        if self.quiet_since.is_some() && !self.leader_seen && c.agreed().is_some() {
            self.leader_seen = true;
        }
    }

    /// A budget ran out: is what it promised there?
    pub fn check<P: RaftHost, X>(&mut self, c: &Cluster<P, X>, applied: bool) -> Result<(), Violation> {
        self.pending -= 1;
        if !applied {
            if !self.leader_seen && c.agreed().is_none() {
                return Err(Violation {
                    invariant: Invariant::Liveness,
                    detail: format!("no single leader within {} of the last fault", Dur(self.leader_within)),
                });
            }
            return Ok(());
        }
        let lagging: Vec<String> = c
            .nodes()
            .filter_map(|x| c.process(x).map(|p| (x, p.last_applied())))
            .filter(|(_, a)| *a < self.commit_at_quiet)
            .map(|(x, a)| format!("n{} at {}", x.index(), a.0))
            .collect();
        if lagging.is_empty() {
            return Ok(());
        }
        Err(Violation {
            invariant: Invariant::Liveness,
            detail: format!(
                "{} after the last fault, not every live node has applied index {}: {}",
                Dur(self.applied_within.expect("scheduled")),
                self.commit_at_quiet.0,
                lagging.join(", ")
            ),
        })
    }
}
