//! What is measured, by name: the one place the names reports use (`election_ms`, ...) are written.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A distribution of times that trials record and reports show. Serialized as its report name.
///
/// A sweep's `metric:` may name only the [`LEADER_TIMES`](Metric::LEADER_TIMES); the commit latencies are
/// reported but never lead a study.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Metric {
    /// Time to the first leader.
    #[serde(rename = "first_leader_ms")]
    FirstLeader,
    /// Failover election time.
    #[serde(rename = "election_ms")]
    Election,
    /// Failover convergence time.
    #[serde(rename = "convergence_ms")]
    Convergence,
    /// Recovery after heal or restart.
    #[serde(rename = "recovery_ms")]
    Recovery,
    /// Commit latency of client commands.
    #[serde(rename = "commit_ms", skip_deserializing)]
    Commit,
    /// Time from a leader's loss to the first command committed after it.
    #[serde(rename = "failover_commit_ms", skip_deserializing)]
    FailoverCommit,
}

impl Metric {
    /// Times until the cluster has a leader again, in report order: the metrics a study can lead with.
    pub const LEADER_TIMES: [Metric; 4] = [
        Metric::FirstLeader,
        Metric::Election,
        Metric::Convergence,
        Metric::Recovery,
    ];

    /// Every metric, in report order.
    pub const ALL: [Metric; 6] = [
        Metric::FirstLeader,
        Metric::Election,
        Metric::Convergence,
        Metric::Recovery,
        Metric::Commit,
        Metric::FailoverCommit,
    ];

    /// The name used in reports (JSON keys, CSV columns, file names).
    pub const fn name(self) -> &'static str {
        match self {
            Metric::FirstLeader => "first_leader_ms",
            Metric::Election => "election_ms",
            Metric::Convergence => "convergence_ms",
            Metric::Recovery => "recovery_ms",
            Metric::Commit => "commit_ms",
            Metric::FailoverCommit => "failover_commit_ms",
        }
    }

    /// Its row label in the terminal summary.
    pub const fn label(self) -> &'static str {
        match self {
            Metric::FirstLeader => "first leader",
            Metric::Election => "election",
            Metric::Convergence => "convergence",
            Metric::Recovery => "recovery",
            Metric::Commit => "commit",
            Metric::FailoverCommit => "first commit",
        }
    }

    /// What it measures, in words, for chart titles and axes.
    pub const fn words(self) -> &'static str {
        match self {
            Metric::FirstLeader => "time to first leader",
            Metric::Election => "election time after leader loss",
            Metric::Convergence => "convergence time after leader loss",
            Metric::Recovery => "recovery time after heal or restart",
            Metric::Commit => "commit time of a client command",
            Metric::FailoverCommit => "time to the first commit after leader loss",
        }
    }

    /// Whether it measures client commands (recorded only with a workload).
    pub const fn is_commit(self) -> bool {
        matches!(self, Metric::Commit | Metric::FailoverCommit)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_only_leader_times_are_read() {
        for m in Metric::ALL {
            assert_eq!(serde_json::to_value(m).unwrap(), m.name());
        }
        for m in Metric::LEADER_TIMES {
            assert_eq!(serde_json::from_value::<Metric>(m.name().into()).unwrap(), m);
        }
        let err = serde_json::from_value::<Metric>("commit_ms".into())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("expected one of `first_leader_ms`, `election_ms`, `convergence_ms`, `recovery_ms`"),
            "{err}"
        );
    }
}
