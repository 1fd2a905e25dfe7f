//! How a raftsim Raft configuration maps onto raft-rs's own: the tick configuration, the options raft-rs has
//! no equivalent for, and raft-rs's own validation. Separate from the process so the scenario loader can check a
//! configuration without depending on the trial.

use raft_model::{Config, TickConfig};
use std::time::Duration;

/// The tick used when [`Config::ticks`] is absent.
pub const DEFAULT_TICK: Duration = Duration::from_millis(1);

/// The tick configuration a node runs: `config.ticks` when present; otherwise a [`DEFAULT_TICK`] of 1 ms,
/// `heartbeat = heartbeat_interval / tick`, `election_min..=election_max = timeout range / tick` (rounded to the
/// nearest tick, at least one).
///
/// Why 1 ms: raftsim's continuous timeouts are whole milliseconds (150-300 ms by default), so a 1 ms tick
/// represents them exactly and keeps the election timeout's randomization as fine as the configuration asks
/// (151 values by default). A coarser tick, such as the greatest common divisor of the three durations (50 ms by
/// default), would leave four possible timeouts and many split votes that the continuous model does not have.
/// The price is one timer event per node per millisecond, which the engine handles at millions per second.
pub fn tick_config(config: &Config) -> TickConfig {
    if let Some(t) = config.ticks {
        return t;
    }
    let in_ticks =
        |d: Duration| ((d.as_micros() + DEFAULT_TICK.as_micros() / 2) / DEFAULT_TICK.as_micros()).max(1) as u32;
    let election_min = in_ticks(config.election_timeout_min);
    TickConfig {
        tick: DEFAULT_TICK,
        election_min,
        election_max: in_ticks(config.election_timeout_max).max(election_min),
        heartbeat: in_ticks(config.heartbeat_interval),
    }
}

/// Options of `config` raft-rs has no equivalent for, as scenario fields (the scenario loader refuses them).
///
/// - `leader_stickiness`: raft-rs ignores vote requests within a leader's lease only together with
///   check-quorum (`Raft::step`, the `in_lease` test), so stickiness is implied by `check_quorum` and
///   unavailable without it.
/// - `candidate_timeout` and `backoff_max_exponent`: raft-rs has one election timeout range for every role.
pub fn unsupported_options(config: &Config) -> Vec<&'static str> {
    let mut out = Vec::new();
    if config.leader_stickiness && !config.check_quorum {
        out.push("raft.leader_stickiness without raft.check_quorum");
    }
    if config.candidate_timeout.is_some() {
        out.push("raft.candidate_timeout");
    }
    if config.backoff_max_exponent.is_some() {
        out.push("raft.backoff");
    }
    out
}

/// The raft-rs configuration of node `id` (0-based).
pub(crate) fn raft_config(id: usize, config: &Config, ticks: &TickConfig) -> raft::Config {
    raft::Config {
        id: id as u64 + 1,
        election_tick: ticks.election_min as usize,
        heartbeat_tick: ticks.heartbeat as usize,
        min_election_tick: ticks.election_min as usize,
        max_election_tick: ticks.election_max as usize + 1,
        check_quorum: config.check_quorum,
        pre_vote: config.pre_vote,
        // Entry counts are capped by the storage (see `Disk::entries`); bytes are not limited.
        max_size_per_msg: raft::NO_LIMIT,
        ..raft::Config::default()
    }
}

/// Checks that raft-rs accepts `config`: it needs more election ticks than heartbeat ticks.
pub fn check_config(config: &Config) -> Result<(), String> {
    config.validate()?;
    let ticks = tick_config(config);
    raft_config(0, config, &ticks)
        .validate()
        .map_err(|e| format!("raft-rs refuses the configuration: {e}"))
}
