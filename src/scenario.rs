//! Scenario files: parsed strictly into a raw form, overridden from the command line, then resolved into a
//! checked, fully-defaulted [`Scenario`] the simulator can trust.

use crate::duration::Dur;
pub use crate::error::Source;
use crate::error::{InputError, locate};
use crate::trace::WireKind;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest cluster a scenario may ask for.
pub const MAX_NODES: u64 = 1001;
/// Largest number of trials a single run may ask for.
pub const MAX_TRIALS: u64 = 1_000_000_000;

// ---- raw form: exactly what the YAML says, with defaults filled in ----------------------------------------------

/// A scenario as written in YAML. Unknown fields are errors. Field names are the YAML keys.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Name used for the report folder; defaults to the file name without extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// One line saying what the scenario models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Seed from which every trial's seed derives.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Number of independent trials.
    #[serde(default = "default_trials")]
    pub trials: u64,
    /// Virtual time after which a trial that has not converged is stopped and counted as not converged.
    #[serde(default = "default_time_limit")]
    pub time_limit: Dur,
    /// The cluster.
    #[serde(default)]
    pub cluster: RawCluster,
    /// Raft timing.
    #[serde(default)]
    pub raft: RawRaft,
    /// The network.
    #[serde(default)]
    pub network: RawNetwork,
    /// The fault schedule, in order.
    #[serde(default)]
    pub faults: Vec<RawFault>,
    /// A client submitting commands to whichever node leads (none by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<RawWorkload>,
    /// Check Raft's safety properties during every trial (default true; turn off only for pure speed runs).
    #[serde(default = "default_true")]
    pub invariants: bool,
    /// Random crash-restart churn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub churn: Option<RawChurn>,
    /// Random partitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_partitions: Option<RawRandomPartitions>,
    /// A liveness budget: how soon after the last fault the cluster must recover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness: Option<RawLiveness>,
    /// Per-trial resource limits that protect the machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<RawLimits>,
}

/// `limits:` a trial that needs more than this is stopped, and the run with it, with an error naming the trial:
/// a scenario that floods the queue would otherwise exhaust memory, and one that never goes quiet would run for
/// hours.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Most events (message deliveries and timer firings) queued at once in one trial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pending_events: Option<u64>,
    /// Most events one trial may process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_events: Option<u64>,
}

/// Default for `limits.max_pending_events`: about 200 MB of queued messages per worker thread.
pub const DEFAULT_MAX_PENDING_EVENTS: u64 = 2_000_000;
/// Default for `limits.max_events`: about half a minute of one core.
pub const DEFAULT_MAX_EVENTS: u64 = 200_000_000;

/// Resource limits of one trial (see [`RawLimits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most events queued at once.
    pub max_pending_events: u64,
    /// Most events processed.
    pub max_events: u64,
}

/// `liveness:` after the last fault has fired (and every generator stopped), one leader followed by every live
/// node it can reach must exist within `leader_within`, and (optionally) every live node must have applied every
/// entry committed at that moment within `applied_within`. A trial that misses either fails, like a safety
/// violation: it is listed with its seed and the run exits 1.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawLiveness {
    /// Time allowed for a single leader.
    pub leader_within: Dur,
    /// Time allowed for every live node to apply what was committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_within: Option<Dur>,
}

fn default_true() -> bool {
    true
}

/// `workload:` section: one client submitting commands at a fixed interval.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    /// Time between commands.
    pub interval: Dur,
    /// When the first command is submitted.
    #[serde(default)]
    pub start: Dur,
    /// A tick's write is available when its command commits within this time (default 1 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_bound: Option<Dur>,
}

/// A checked workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// Time between commands.
    pub interval: Duration,
    /// First command.
    pub start: Duration,
    /// A tick's write is available when its command commits within this time.
    pub commit_bound: Duration,
}

fn default_seed() -> u64 {
    1
}
fn default_trials() -> u64 {
    1000
}
fn default_nodes() -> u64 {
    RawCluster::default().nodes
}

fn default_time_limit() -> Dur {
    Dur::millis(60_000)
}

/// `cluster:` section.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    /// Number of servers (default 5).
    #[serde(default = "default_nodes")]
    pub nodes: u64,
    /// Logs the servers start with: entry `i` lists the terms of node `i`'s entries (`[[1, 1], [1]]`: node 0
    /// holds two entries of term 1, node 1 one, later nodes none). The logs must be ones a run of Raft can
    /// leave (see [`MAX_INITIAL_TERM`] and `resolve_initial_logs`); every node starts in the highest term of any
    /// log, with no vote.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub initial_logs: Vec<Vec<u64>>,
    /// Time of every durable write (term, vote or log entries); a node answers only after its write completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persist_latency: Option<RawLatency>,
    /// Time every node takes to handle each message, one message at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_delay: Option<RawLatency>,
    /// A random error added to every timer of every node when it is armed (never negative: timers fire late).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_jitter: Option<RawLatency>,
    /// Nodes whose machines differ: clock skew and drift, a slow CPU, a slow disk.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<RawHost>,
}

impl Default for RawCluster {
    fn default() -> Self {
        RawCluster {
            nodes: 5,
            initial_logs: Vec::new(),
            persist_latency: None,
            processing_delay: None,
            timer_jitter: None,
            hosts: Vec::new(),
        }
    }
}

/// One entry of `cluster.hosts`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawHost {
    /// The nodes (ids) this applies to.
    pub nodes: Vec<u64>,
    /// Clock rate: 1.01 runs 1 % fast (timers fire early), 0.99 runs 1 % slow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_rate: Option<f64>,
    /// Change of the clock rate per hour of virtual time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_drift_per_hour: Option<f64>,
    /// Time to handle each message on these nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_delay: Option<RawLatency>,
    /// Time of each durable write on these nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persist_latency: Option<RawLatency>,
    /// Timer jitter on these nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_jitter: Option<RawLatency>,
}

/// `raft:` section. Which fields apply depends on `timers`; fields left out take that preset's defaults.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawRaft {
    /// Which Raft runs as the node: `model` (default, raftsim's own) or `raft-rs` (tikv's library itself).
    #[serde(default, skip_serializing_if = "Implementation::is_model")]
    pub implementation: Implementation,
    /// A library's whole election behaviour: `paper` (default), `raft-rs` or `etcd`. It sets `timers` (unless
    /// given) and the five behaviours below (each still overridable).
    #[serde(default, skip_serializing_if = "Profile::is_paper")]
    pub profile: Profile,
    /// How election timeouts are drawn: `paper` (default, or the profile's), `hashicorp`, `etcd` or `raft-rs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timers: Option<TimerPreset>,
    /// The answer to an AppendEntries from an older term: `always` (the paper) or `with_check_quorum_or_pre_vote`
    /// (raft-rs, etcd).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_append_reply: Option<RawStaleAppendReply>,
    /// Whether a RequestVote from an older term gets a refusing reply (the paper: yes; raft-rs, etcd: no).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_vote_reply: Option<bool>,
    /// When a live leader makes a node refuse an election: `paper` (pre-vote refused while a leader is heard)
    /// or `check_quorum` (raft-rs, etcd: a lease under check-quorum, dropping vote and pre-vote requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vote_lease: Option<RawVoteLease>,
    /// A new leader appends an empty entry of its term (raft-rs, etcd: yes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noop_on_election: Option<bool>,
    /// A candidate refused by a majority becomes a follower at once (raft-rs, etcd: yes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_down_on_rejection: Option<bool>,
    /// Continuous timers: the election timeout range (paper: uniform on `[min, max]`, default 150-300 ms;
    /// hashicorp: uniform on `[min, max)`, default 1-2 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub election_timeout: Option<RawOptRange>,
    /// Continuous timers: interval between a leader's heartbeats (paper default 50 ms; hashicorp default a
    /// tenth of the minimum election timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat: Option<Dur>,
    /// Tick timers: the length of one tick (default 100 ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick: Option<Dur>,
    /// Tick timers: election timeout in whole ticks, uniform on `[min, max]` (etcd default 10-19, raft-rs 20-39).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub election_ticks: Option<RawTicks>,
    /// Tick timers: ticks between heartbeats (etcd default 1, raft-rs 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_ticks: Option<u32>,
    /// Pre-vote: start a real election only after a majority says it would vote.
    #[serde(default)]
    pub pre_vote: bool,
    /// Check-quorum: a leader steps down when it has not heard from a majority within an election timeout.
    #[serde(default)]
    pub check_quorum: bool,
    /// Leader stickiness: ignore vote requests while a live leader is heard from.
    #[serde(default)]
    pub leader_stickiness: bool,
    /// A separate range for re-election timeouts after a failed election (continuous timers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate_timeout: Option<RawRange>,
    /// Randomized binary exponential backoff after failed elections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<RawBackoff>,
}

impl RawRaft {
    /// The timer preset in force (`paper` when none is given).
    pub fn preset(&self) -> TimerPreset {
        self.timers.unwrap_or_default()
    }
}

/// A library's election behaviour, as one key (`raft.profile`).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum Profile {
    /// The Raft paper's Figure 2 and the thesis, with continuous timers.
    #[default]
    #[serde(rename = "paper")]
    Paper,
    /// tikv's raft-rs 0.7: its tick timers and its answers (checked against the library: tests/it/oracle.rs).
    #[serde(rename = "raft-rs")]
    RaftRs,
    /// etcd-io/raft: raft-rs's logic (raft-rs ports it function for function) with etcd's timer defaults.
    #[serde(rename = "etcd")]
    Etcd,
}

impl Profile {
    /// Whether it is the default.
    pub fn is_paper(&self) -> bool {
        *self == Profile::Paper
    }

    /// The timers the profile uses unless `raft.timers` says otherwise.
    pub fn timers(self) -> TimerPreset {
        match self {
            Profile::Paper => TimerPreset::Paper,
            Profile::RaftRs => TimerPreset::RaftRs,
            Profile::Etcd => TimerPreset::Etcd,
        }
    }

    /// The behaviours the profile sets.
    pub fn behaviour(self) -> raft_model::Behaviour {
        match self {
            Profile::Paper => raft_model::Behaviour::PAPER,
            Profile::RaftRs | Profile::Etcd => raft_model::Behaviour::RAFT_RS,
        }
    }
}

/// `raft.stale_append_reply`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawStaleAppendReply {
    /// Always reply.
    Always,
    /// Reply only with check-quorum or pre-vote.
    WithCheckQuorumOrPreVote,
}

/// `raft.vote_lease`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawVoteLease {
    /// The thesis's pre-vote rule.
    Paper,
    /// raft-rs's and etcd's lease under check-quorum.
    CheckQuorum,
}

/// Which Raft implementation runs as each node.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum Implementation {
    /// raftsim's own node (`raft-model`): fast, every option switchable.
    #[default]
    #[serde(rename = "model")]
    Model,
    /// tikv's raft-rs 0.7, the real library, driven through the same engine, faults and checker.
    #[serde(rename = "raft-rs")]
    RaftRs,
}

impl Implementation {
    /// Whether it is the default.
    pub fn is_model(&self) -> bool {
        *self == Implementation::Model
    }

    /// The name used in scenarios.
    pub fn name(self) -> &'static str {
        match self {
            Implementation::Model => "model",
            Implementation::RaftRs => "raft-rs",
        }
    }
}

/// How election timeouts are drawn, as in the Raft paper or a well-known library.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum TimerPreset {
    /// Continuous uniform on `[min, max]` (the paper and the course lab); a new draw at every reset.
    #[default]
    #[serde(rename = "paper")]
    Paper,
    /// hashicorp/raft: continuous uniform on `[T, 2T)`, T = 1 s; heartbeats every T/10.
    #[serde(rename = "hashicorp")]
    Hashicorp,
    /// etcd/raft: 100 ms ticks, election after uniform `[T, 2T-1]` ticks (T = 10), heartbeat every tick.
    #[serde(rename = "etcd")]
    Etcd,
    /// raft-rs: ticks, election after uniform `[min, max)` ticks (default `[20, 40)`), heartbeat every 2 ticks.
    #[serde(rename = "raft-rs")]
    RaftRs,
}

/// `timers: paper`'s election timeout range (the paper's 150-300 ms).
pub const PAPER_ELECTION_TIMEOUT: (Dur, Dur) = (Dur::millis(150), Dur::millis(300));
/// `timers: paper`'s heartbeat interval.
pub const PAPER_HEARTBEAT: Dur = Dur::millis(50);
/// `timers: hashicorp`'s election timeout range: `[T, 2T)` with T = 1 s.
pub const HASHICORP_ELECTION_TIMEOUT: (Dur, Dur) = (Dur::millis(1000), Dur::millis(2000));
/// The length of one tick, for the tick presets.
pub const DEFAULT_TICK: Dur = Dur::millis(100);

impl TimerPreset {
    /// The preset's name in YAML (`timers: ...`).
    pub const fn name(self) -> &'static str {
        match self {
            TimerPreset::Paper => "paper",
            TimerPreset::Hashicorp => "hashicorp",
            TimerPreset::Etcd => "etcd",
            TimerPreset::RaftRs => "raft-rs",
        }
    }

    /// Whether the preset counts its timers in whole ticks (etcd, raft-rs) rather than continuous time.
    pub const fn counts_ticks(self) -> bool {
        matches!(self, TimerPreset::Etcd | TimerPreset::RaftRs)
    }

    /// A continuous preset's default election timeout range.
    pub const fn default_election_timeout(self) -> (Dur, Dur) {
        match self {
            TimerPreset::Hashicorp => HASHICORP_ELECTION_TIMEOUT,
            _ => PAPER_ELECTION_TIMEOUT,
        }
    }

    /// A continuous preset's default heartbeat interval: hashicorp's is a tenth of the minimum election timeout.
    pub fn default_heartbeat(self, election_timeout_min: Dur) -> Dur {
        match self {
            TimerPreset::Hashicorp => Dur(election_timeout_min.0 / 10),
            _ => PAPER_HEARTBEAT,
        }
    }

    /// A tick preset's default election timeout in ticks, and ticks between heartbeats.
    pub const fn default_ticks(self) -> (RawTicks, u32) {
        match self {
            TimerPreset::Etcd => (RawTicks { min: 10, max: 19 }, 1),
            _ => (RawTicks { min: 20, max: 39 }, 2),
        }
    }
}

/// A range whose ends may be left to defaults.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawOptRange {
    /// Lower bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Dur>,
    /// Upper bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Dur>,
}

/// A range of whole ticks, both ends inclusive.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawTicks {
    /// Fewest ticks.
    pub min: u32,
    /// Most ticks (inclusive).
    pub max: u32,
}

/// `backoff:` settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawBackoff {
    /// The exponent stops growing after this many failed elections in a row (default 5).
    #[serde(default = "default_backoff_cap")]
    pub max_exponent: u32,
}

fn default_backoff_cap() -> u32 {
    5
}

/// A `{ min, max }` duration range.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawRange {
    /// Lower bound (inclusive).
    pub min: Dur,
    /// Upper bound (inclusive).
    pub max: Dur,
}

/// `network:` section.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    /// One-way message delay.
    #[serde(default = "default_latency")]
    pub latency: RawLatency,
    /// Probability that a message is lost, in `[0, 1]`.
    #[serde(default)]
    pub loss: f64,
    /// Probability that a message is delivered twice, in `[0, 1]`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub duplicate: f64,
    /// Occasional long delays that reorder messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_delay: Option<RawLongDelay>,
    /// Links that differ from the default, applied in order (a later entry wins).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<RawLink>,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// `long_delay:` with this probability a message's delay is drawn from `latency` instead.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawLongDelay {
    /// Probability in `[0, 1]`.
    pub probability: f64,
    /// The long delay.
    pub latency: RawLatency,
}

/// One entry of `network.links`: the links from every node in `from` to every node in `to` (and back, unless
/// `one_way`), with the fields given replacing the default link's. With `kinds`, only messages of those kinds
/// are affected; the others keep what the link does without the entry.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawLink {
    /// Sending nodes (ids); left out, every node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<u64>,
    /// Receiving nodes (ids); left out, every node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<u64>,
    /// Only `from -> to` (asymmetric links); by default both directions.
    #[serde(default)]
    pub one_way: bool,
    /// Only messages of these kinds; by default every message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<WireKind>>,
    /// Drop these messages for the whole trial (a `heal` fault does not restore them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cut: bool,
    /// Delay on these links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<RawLatency>,
    /// Loss on these links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// Duplication on these links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<f64>,
    /// Long delays on these links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_delay: Option<RawLongDelay>,
}

fn default_latency() -> RawLatency {
    RawLatency::Uniform(RawRange {
        min: Dur::millis(1),
        max: Dur::millis(5),
    })
}

impl Default for RawNetwork {
    fn default() -> Self {
        RawNetwork {
            latency: default_latency(),
            loss: 0.0,
            duplicate: 0.0,
            long_delay: None,
            links: Vec::new(),
        }
    }
}

/// A delay distribution: `{ constant: 10ms }`, `{ uniform: { min: 5ms, max: 15ms } }`,
/// `{ normal: { mean: 10ms, std_dev: 2ms } }`, `{ lognormal: { median: 2ms, p99: 20ms } }`,
/// `{ exponential: { min: 1ms, mean: 3ms } }`, `{ pareto: { min: 1ms, shape: 2.5 } }`, or
/// `{ empirical: { min: 0.4ms, p50: 1ms, p90: 2ms, p99: 8ms, p999: 30ms, max: 50ms } }`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RawLatency {
    /// Every message takes exactly this long.
    Constant(Dur),
    /// Uniform on `[min, max]`.
    Uniform(RawRange),
    /// Normal, truncated at zero.
    Normal(RawNormal),
    /// Log-normal, from its median and either its 99th percentile or sigma.
    Lognormal(RawLogNormal),
    /// A floor plus an exponential.
    Exponential(RawExponential),
    /// Pareto (heavy tail).
    Pareto(RawPareto),
    /// Measured quantiles: `min`, `max` and any `pNN` (p50, p90, p99, p999 = 99.9th, p99.99).
    Empirical(std::collections::BTreeMap<String, Dur>),
}

/// `normal:` parameters.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawNormal {
    /// Mean.
    pub mean: Dur,
    /// Standard deviation.
    pub std_dev: Dur,
}

/// `lognormal:` parameters: the median, and exactly one of `p99` and `sigma`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawLogNormal {
    /// Median delay.
    pub median: Dur,
    /// 99th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<Dur>,
    /// Standard deviation of the logarithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma: Option<f64>,
}

/// `exponential:` parameters.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawExponential {
    /// Smallest delay (default 0).
    #[serde(default)]
    pub min: Dur,
    /// Mean delay.
    pub mean: Dur,
}

/// `pareto:` parameters.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawPareto {
    /// Smallest delay (the scale).
    pub min: Dur,
    /// Tail index.
    pub shape: f64,
}

/// Reads an empirical quantile key: `min` is 0, `max` is 1, `p50` is 0.5, `p999` is 0.999, `p99.9` is 0.999.
fn quantile_key(key: &str) -> Option<f64> {
    match key {
        "min" => return Some(0.0),
        "max" => return Some(1.0),
        _ => {}
    }
    let digits = key.strip_prefix('p')?;
    let percent: f64 = if digits.contains('.') {
        digits.parse().ok()?
    } else if digits.len() >= 3 && digits.starts_with("99") {
        format!("99.{}", &digits[2..]).parse().ok()?
    } else {
        digits.parse().ok()?
    };
    (percent > 0.0 && percent < 100.0).then_some(percent / 100.0)
}

/// Checks a raw delay distribution; `path` names it in errors.
pub fn resolve_latency(
    raw: &RawLatency,
    path: &str,
    err: &impl Fn(&str, String) -> InputError,
) -> Result<sim_core::Latency, InputError> {
    use sim_core::Latency;
    let lat = match raw {
        RawLatency::Constant(d) => Latency::Constant(d.0),
        RawLatency::Uniform(r) => {
            if r.min > r.max {
                return Err(err(
                    &format!("{path}.uniform.min"),
                    format!("min ({}) is greater than max ({})", r.min, r.max),
                ));
            }
            Latency::Uniform {
                min: r.min.0,
                max: r.max.0,
            }
        }
        RawLatency::Normal(p) => Latency::Normal {
            mean: p.mean.0,
            std_dev: p.std_dev.0,
        },
        RawLatency::Lognormal(p) => match (p.p99, p.sigma) {
            (Some(p99), None) => Latency::log_normal_from_p99(p.median.0, p99.0)
                .map_err(|e| err(&format!("{path}.lognormal"), e.to_string()))?,
            (None, Some(sigma)) => Latency::LogNormal {
                median: p.median.0,
                sigma,
            },
            _ => {
                return Err(err(
                    &format!("{path}.lognormal"),
                    "give exactly one of `p99` and `sigma` besides `median`".into(),
                ));
            }
        },
        RawLatency::Exponential(p) => Latency::Exponential {
            min: p.min.0,
            mean: p.mean.0,
        },
        RawLatency::Pareto(p) => Latency::Pareto {
            min: p.min.0,
            shape: p.shape,
        },
        RawLatency::Empirical(points) => {
            let mut qs = Vec::with_capacity(points.len());
            for (key, d) in points {
                let Some(q) = quantile_key(key) else {
                    return Err(err(
                        &format!("{path}.empirical.{key}"),
                        format!("`{key}` is not a quantile; use `min`, `max` or a percentile such as p50, p99, p999"),
                    ));
                };
                qs.push((q, d.0));
            }
            Latency::Empirical(
                sim_core::Empirical::new(qs).map_err(|e| err(&format!("{path}.empirical"), e.to_string()))?,
            )
        }
    };
    let kind = match raw {
        RawLatency::Constant(_) => "constant",
        RawLatency::Uniform(_) => "uniform",
        RawLatency::Normal(_) => "normal",
        RawLatency::Lognormal(_) => "lognormal",
        RawLatency::Exponential(_) => "exponential",
        RawLatency::Pareto(_) => "pareto",
        RawLatency::Empirical(_) => "empirical",
    };
    lat.validate()
        .map_err(|e| err(&format!("{path}.{kind}"), e.to_string()))?;
    Ok(lat)
}

/// Checks a probability field.
fn probability(x: f64, path: &str, err: &impl Fn(&str, String) -> InputError) -> Result<f64, InputError> {
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(err(path, format!("{x} is not a probability; allowed 0 to 1")))
    }
}

/// One entry of `faults:`: exactly one trigger key and exactly one action key.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    /// Trigger: at this virtual time since the trial started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Dur>,
    /// Trigger: this long after the previous fault (or the start, for the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Dur>,
    /// Trigger: once one leader has led for this long without interruption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_stable_for: Option<Dur>,
    /// Delays the fault by a uniformly random extra time in `[0, jitter]` (drawn from the trial's fault stream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<Dur>,

    /// Action: crash the selected nodes (they keep only what they persisted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash: Option<Selector>,
    /// Action: restart the selected crashed nodes from their persisted state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<Selector>,
    /// Action: split the cluster into groups; links between groups are cut both ways.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<Vec<Vec<Selector>>>,
    /// Action: cut the selected nodes off from everyone else (a partition of them against the rest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolate: Option<Selector>,
    /// Action: restore every cut link (`heal: all`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heal: Option<HealTarget>,
    /// Action: cut the links from some nodes to others: one-way cuts, or (`both_ways`) partial partitions in
    /// which two nodes cannot talk but both still reach the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<RawCut>,
    /// Action: cut links, restore them, and repeat: a flapping link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap: Option<RawFlap>,
    /// Action: the leader hands leadership to the selected node (the first live one that is not the leader).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_leadership: Option<Selector>,
    /// Action: a graceful stop's first step: if the leader is among the selected nodes, it hands leadership to the
    /// most up-to-date live node outside them (as etcd does before a member stops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_down: Option<Selector>,
}

/// `cut:` links from every node in `from` to every node in `to`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawCut {
    /// Senders whose messages stop arriving.
    pub from: Vec<Selector>,
    /// Receivers that stop hearing them.
    pub to: Vec<Selector>,
    /// Also cut `to -> from`.
    #[serde(default)]
    pub both_ways: bool,
}

/// `flap:` a cut that comes and goes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawFlap {
    /// Senders.
    pub from: Vec<Selector>,
    /// Receivers.
    pub to: Vec<Selector>,
    /// Also cut `to -> from` (default true: a link that goes down carries nothing either way).
    #[serde(default = "default_true")]
    pub both_ways: bool,
    /// How long the links stay down each time.
    pub down: Dur,
    /// How long they stay up between outages.
    pub up: Dur,
    /// Number of outages.
    pub times: u32,
}

/// `churn:` every node crashes and restarts at random: up for an exponential time with mean `mtbf`, down for
/// one with mean `mttr`, between `start` and `stop`; at `stop` every crashed node restarts.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawChurn {
    /// Mean time between failures of one node.
    pub mtbf: Dur,
    /// Mean time to repair.
    pub mttr: Dur,
    /// When churn begins.
    #[serde(default)]
    pub start: Dur,
    /// When churn ends.
    pub stop: Dur,
    /// At most this many nodes down at once (default: a minority, so a majority can always make progress).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_down: Option<u64>,
}

/// `random_partitions:` the network splits at random and heals, between `start` and `stop`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawRandomPartitions {
    /// How each partition is drawn.
    pub mode: PartitionMode,
    /// Mean time a partition lasts (exponential).
    pub stable: Dur,
    /// Mean time the network stays whole between partitions (exponential).
    pub healed: Dur,
    /// When the first partition may begin.
    #[serde(default)]
    pub start: Dur,
    /// When the generator stops (healing whatever is cut).
    pub stop: Dur,
}

/// Shapes of random partitions.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PartitionMode {
    /// One random node cut off from the rest.
    Isolate,
    /// A random minority against the rest (sizes drawn uniformly from 1 to a minority).
    Split,
    /// Every node in one of up to three groups, drawn uniformly.
    Random,
}

/// What `heal:` restores.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum HealTarget {
    /// Every link.
    All,
}

/// Which nodes a fault acts on, decided when the fault fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selector {
    /// The current leader: the live node that leads in the highest term.
    Leader,
    /// One follower of the current leader, drawn at random (seeded).
    Follower,
    /// Every live node except the current leader.
    Followers,
    /// In a partition: every node not named in another group.
    Others,
    /// Every crashed node.
    Crashed,
    /// Every node.
    All,
    /// A node id, `0..nodes`.
    Node(u64),
    /// `k` live nodes drawn at random (seeded), `random 2`.
    Random(u32),
}

const SELECTOR_WORDS: &str = "leader, follower, followers, others, crashed, all, random K, or a node id";

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Leader => f.write_str("leader"),
            Selector::Follower => f.write_str("follower"),
            Selector::Followers => f.write_str("followers"),
            Selector::Others => f.write_str("others"),
            Selector::Crashed => f.write_str("crashed"),
            Selector::All => f.write_str("all"),
            Selector::Node(i) => write!(f, "{i}"),
            Selector::Random(k) => write!(f, "random {k}"),
        }
    }
}

impl Serialize for Selector {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Selector::Node(i) => s.serialize_u64(*i),
            other => s.collect_str(other),
        }
    }
}

impl<'de> Deserialize<'de> for Selector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Selector;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a node selector: {SELECTOR_WORDS}")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Selector, E> {
                Ok(Selector::Node(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Selector, E> {
                u64::try_from(v)
                    .map(Selector::Node)
                    .map_err(|_| E::custom(format!("node ids start at 0; `{v}` is negative")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Selector, E> {
                Ok(match v {
                    "leader" => Selector::Leader,
                    "follower" => Selector::Follower,
                    "followers" => Selector::Followers,
                    "others" | "rest" => Selector::Others,
                    "crashed" => Selector::Crashed,
                    "all" => Selector::All,
                    "random" => Selector::Random(1),
                    other if other.starts_with("random") => {
                        let k = other["random".len()..].trim_start_matches([' ', ':']);
                        match k.parse::<u32>() {
                            Ok(k) if k >= 1 => Selector::Random(k),
                            _ => return Err(E::custom(format!("`{v}`: write `random K` with K a whole number >= 1"))),
                        }
                    }
                    other => match other.strip_prefix('n').unwrap_or(other).parse::<u64>() {
                        Ok(i) => Selector::Node(i),
                        Err(_) => {
                            return Err(E::custom(format!("unknown selector `{v}`; expected {SELECTOR_WORDS}")));
                        }
                    },
                })
            }
        }
        d.deserialize_any(V)
    }
}

// ---- resolved form -------------------------------------------------------------------------------------------

/// A checked scenario with every default filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Report name.
    pub name: String,
    /// The file it came from, if any.
    pub source: Option<PathBuf>,
    /// The raw form after overrides (echoed into reports, so a report says exactly what ran).
    pub raw: RawScenario,
    /// Seed.
    pub seed: u64,
    /// Number of trials.
    pub trials: u64,
    /// Per-trial virtual time limit.
    pub time_limit: Duration,
    /// Number of servers.
    pub nodes: usize,
    /// Node configuration.
    pub raft: raft_model::Config,
    /// Which Raft runs as the node.
    pub implementation: Implementation,
    /// Default link model.
    pub link: sim_core::LinkModel,
    /// Links that differ from the default, in order.
    pub links: Vec<LinkOverride>,
    /// Each node's machine (all ideal unless the scenario says otherwise).
    pub hosts: Vec<sim_core::Host>,
    /// Random crash-restart churn.
    pub churn: Option<Churn>,
    /// Random partitions.
    pub random_partitions: Option<RandomPartitions>,
    /// Liveness budget: (leader within, applied within).
    pub liveness: Option<(Duration, Option<Duration>)>,
    /// Faults, in order.
    pub faults: Vec<Fault>,
    /// Each node's starting persistent state (term and log).
    pub initial: Vec<raft_model::Persistent>,
    /// The client workload, if any.
    pub workload: Option<Workload>,
    /// Whether safety properties are checked.
    pub invariants: bool,
    /// Per-trial resource limits.
    pub limits: Limits,
}

/// How a configuration draws its timeouts, in words: `election timeout 150ms..300ms, heartbeat 50ms`, or
/// `100ms ticks, election after 10..19 ticks, heartbeat every 1 tick`, plus the options that are on.
pub fn describe_timers(c: &raft_model::Config) -> String {
    let mut out = match c.ticks {
        Some(t) => format!(
            "{} ticks, election after {}..{} ticks, heartbeat every {} tick{}",
            Dur(t.tick),
            t.election_min,
            t.election_max,
            t.heartbeat,
            if t.heartbeat == 1 { "" } else { "s" }
        ),
        None => format!(
            "election timeout {}..{}, heartbeat {}",
            Dur(c.election_timeout_min),
            Dur(c.election_timeout_max),
            Dur(c.heartbeat_interval)
        ),
    };
    for (on, name) in [
        (c.pre_vote, "pre-vote"),
        (c.check_quorum, "check-quorum"),
        (c.leader_stickiness, "leader stickiness"),
    ] {
        if on {
            out.push_str(", ");
            out.push_str(name);
        }
    }
    if c.candidate_timeout.is_some() {
        out.push_str(", candidate timeout");
    }
    if c.backoff_max_exponent.is_some() {
        out.push_str(", backoff");
    }
    out
}

/// Links with their own model: every `from -> to` (and back unless `one_way`), for every message or only for
/// messages of some kinds.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkOverride {
    /// Senders.
    pub from: Vec<usize>,
    /// Receivers.
    pub to: Vec<usize>,
    /// Only one direction.
    pub one_way: bool,
    /// Only messages of these kinds (`None`: every message).
    pub kinds: Option<Vec<WireKind>>,
    /// What happens to those messages: a model, or a cut.
    pub verdict: sim_core::Verdict,
}

impl Scenario {
    /// The network at the start of a trial.
    ///
    /// Entries apply in order and a later one wins. An entry without kinds sets the whole link (its model, or a
    /// cut of every message) and forgets earlier kind-limited entries on it. An entry with kinds becomes a
    /// rule of the link placed before the earlier ones, so where kinds overlap the later entry decides; messages
    /// of other kinds are untouched.
    pub fn network(&self) -> sim_core::Network {
        use sim_core::{Classes, LinkRule, NodeId, Verdict};
        let mut net = sim_core::Network::new(self.nodes, self.link.clone());
        for l in &self.links {
            let mut apply = |a: usize, b: usize| {
                let (a, b) = (NodeId::new(a), NodeId::new(b));
                match (&l.kinds, &l.verdict) {
                    (None, Verdict::Model(model)) => {
                        net.set_link(a, b, model.clone());
                        net.set_rules(a, b, Vec::new());
                    }
                    (None, Verdict::Cut) => net.set_rules(
                        a,
                        b,
                        vec![LinkRule {
                            classes: Classes::ALL,
                            verdict: Verdict::Cut,
                        }],
                    ),
                    (Some(kinds), verdict) => {
                        let classes = kinds.iter().fold(Classes::NONE, |c, k| c.with(k.class()));
                        let mut rules = vec![LinkRule {
                            classes,
                            verdict: verdict.clone(),
                        }];
                        rules.extend_from_slice(net.rules(a, b));
                        net.set_rules(a, b, rules);
                    }
                }
            };
            // Each directed link once, even where `from` and `to` overlap.
            let mut pairs = std::collections::BTreeSet::new();
            for &a in &l.from {
                for &b in &l.to {
                    if a != b {
                        pairs.insert((a, b));
                        if !l.one_way {
                            pairs.insert((b, a));
                        }
                    }
                }
            }
            for (a, b) in pairs {
                apply(a, b);
            }
        }
        net
    }
}

/// A checked fault.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// When it fires.
    pub trigger: Trigger,
    /// Extra uniformly random delay, at most this.
    pub jitter: Duration,
    /// What it does.
    pub action: Action,
}

/// When a fault fires.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trigger {
    /// At an absolute virtual time (or as soon as the previous fault has fired, if later).
    At(Duration),
    /// This long after the previous fault.
    After(Duration),
    /// Once one leader has led this long without interruption.
    LeaderStableFor(Duration),
}

/// What a fault does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Crash the selected nodes.
    Crash(Selector),
    /// Restart the selected nodes.
    Restart(Selector),
    /// Cut links between groups.
    Partition(Vec<Vec<Selector>>),
    /// Restore every link.
    HealAll,
    /// The leader hands leadership to the selected node.
    TransferLeadership(Selector),
    /// If the leader is among the selected nodes, it hands leadership to the most up-to-date node outside them.
    StepDown(Selector),
    /// Cut links from `from` to `to` (and back when `both_ways`).
    Cut {
        /// Senders.
        from: Vec<Selector>,
        /// Receivers.
        to: Vec<Selector>,
        /// Both directions.
        both_ways: bool,
    },
    /// Cut, wait `down`, restore, wait `up`, `times` times.
    Flap {
        /// Senders.
        from: Vec<Selector>,
        /// Receivers.
        to: Vec<Selector>,
        /// Both directions.
        both_ways: bool,
        /// Outage length.
        down: Duration,
        /// Time between outages.
        up: Duration,
        /// Number of outages.
        times: u32,
    },
}

/// A checked churn generator.
#[derive(Clone, Debug, PartialEq)]
pub struct Churn {
    /// Mean up time of a node.
    pub mtbf: Duration,
    /// Mean down time.
    pub mttr: Duration,
    /// Start.
    pub start: Duration,
    /// Stop.
    pub stop: Duration,
    /// Most nodes down at once.
    pub max_down: usize,
}

/// A checked random-partition generator.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomPartitions {
    /// Shape.
    pub mode: PartitionMode,
    /// Mean partition length.
    pub stable: Duration,
    /// Mean whole-network time.
    pub healed: Duration,
    /// Start.
    pub start: Duration,
    /// Stop.
    pub stop: Duration,
}

/// Loads a scenario file, applies `--set` overrides, and resolves it.
/// `path` may also be the name of a built-in scenario (`leader-crash`) when no such file exists.
pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, InputError> {
    let (source, builtin) = crate::catalogue::read(crate::catalogue::Kind::Scenario, path)?;
    check_not_sweep(&source, path)?;
    let default_name = match builtin {
        Some(e) => Some(e.name.to_string()),
        None => path.file_stem().map(|s| s.to_string_lossy().into_owned()),
    };
    let mut scenario = load_str(&source, overrides, default_name)?;
    scenario.source = Some(path.to_path_buf());
    Ok(scenario)
}

/// Refuses a sweep given where a scenario is expected, saying which command runs it.
fn check_not_sweep(source: &Source, path: &Path) -> Result<(), InputError> {
    let Ok(serde_json::Value::Object(top)) = serde_saphyr::from_str::<serde_json::Value>(&source.text) else {
        return Ok(());
    };
    if top.contains_key("axes") && top.contains_key("scenario") {
        return Err(InputError::new(format!(
            "{} is a sweep, not a scenario (it has `axes` and a base `scenario`): run it with `raftsim sweep {}`",
            source.name,
            path.display()
        )));
    }
    Ok(())
}

/// Parses YAML text, applies overrides, and resolves it.
pub fn load_str(source: &Source, overrides: &[String], default_name: Option<String>) -> Result<Scenario, InputError> {
    crate::error::check_root_mapping(&source.name, &source.text, "scenario")?;
    let raw: RawScenario = parse_yaml(source)?;
    let raw = crate::overrides::apply(raw, overrides)?;
    resolve(raw, default_name, Some(source))
}

/// Strict YAML parse; errors carry the file, line, column and a snippet.
pub fn parse_yaml<T: de::DeserializeOwned>(source: &Source) -> Result<T, InputError> {
    serde_saphyr::from_str_with_options::<T>(&source.text, crate::error::yaml_options())
        .map_err(|e| InputError::yaml_in(&source.name, Some(&source.text), &e))
}

/// Checks a raw scenario and fills in the derived fields. `source` lets errors point at lines.
///
/// Each section is checked by its own function, in the order below, so the first mistake in a file is the one
/// reported.
pub fn resolve(
    raw: RawScenario,
    default_name: Option<String>,
    source: Option<&Source>,
) -> Result<Scenario, InputError> {
    let err = |path: &str, msg: String| InputError::field(source, path, msg);
    let name = resolve_name(&raw, default_name, &err)?;
    check_run_size(&raw, &err)?;
    let n = resolve_nodes(&raw.cluster, &err)?;
    let (raft, resolved_raft) = resolve_raft(&raw.raft, &err)?;
    let link = resolve_network(&raw.network, &err)?;
    let hosts = resolve_hosts(&raw.cluster, n, &err)?;
    let links = resolve_links(&raw.network.links, &link, n, &err)?;
    let faults = resolve_faults(&raw.faults, n, raw.time_limit, &err)?;
    let initial = resolve_initial_logs(&raw.cluster.initial_logs, n, &err)?;
    let workload = resolve_workload(raw.workload.as_ref(), &err)?;
    let churn = resolve_churn(raw.churn.as_ref(), n, raw.time_limit, &err)?;
    let random_partitions = resolve_random_partitions(raw.random_partitions.as_ref(), n, raw.time_limit, &err)?;
    let liveness = resolve_liveness(raw.liveness.as_ref(), &err)?;
    let limits = resolve_limits(raw.limits.as_ref(), &err)?;
    check_fault_work(&faults, &limits, &err)?;
    let mut raw = raw;
    raw.raft = resolved_raft;
    Ok(Scenario {
        name,
        source: None,
        seed: raw.seed,
        trials: raw.trials,
        time_limit: raw.time_limit.0,
        nodes: n as usize,
        raft,
        implementation: raw.raft.implementation,
        link,
        links,
        hosts,
        churn,
        random_partitions,
        liveness,
        faults,
        initial,
        workload,
        invariants: raw.invariants,
        limits,
        raw,
    })
}

/// The longest `description` a scenario may have.
pub const MAX_DESCRIPTION: usize = 1000;

/// The report name: `name:`, else the file's, else `scenario`; it must be usable as a folder name.
fn resolve_name(
    raw: &RawScenario,
    default_name: Option<String>,
    err: &impl Fn(&str, String) -> InputError,
) -> Result<String, InputError> {
    let name = raw
        .name
        .clone()
        .or(default_name)
        .unwrap_or_else(|| "scenario".to_string());
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) || name.starts_with('.')
    {
        return Err(err(
            "name",
            format!("`{name}` cannot name a report folder; use letters, digits, `-`, `_` and `.`"),
        ));
    }
    if let Some(d) = &raw.description
        && d.chars().count() > MAX_DESCRIPTION
    {
        return Err(err(
            "description",
            format!(
                "{} characters; at most {MAX_DESCRIPTION} (it is copied into every report): say the rest in a comment",
                d.chars().count()
            ),
        ));
    }
    Ok(name)
}

/// `trials` and `time_limit`.
fn check_run_size(raw: &RawScenario, err: &impl Fn(&str, String) -> InputError) -> Result<(), InputError> {
    if raw.trials == 0 || raw.trials > MAX_TRIALS {
        return Err(err(
            "trials",
            format!("{} trials is out of range; allowed 1 to {MAX_TRIALS}", raw.trials),
        ));
    }
    if raw.time_limit.0.is_zero() {
        return Err(err("time_limit", "must be greater than zero".into()));
    }
    if raw.time_limit.0 > Duration::from_secs(365 * 24 * 3600) {
        return Err(err(
            "time_limit",
            format!("{} is longer than the allowed one year", raw.time_limit),
        ));
    }
    Ok(())
}

/// `cluster.nodes`.
fn resolve_nodes(c: &RawCluster, err: &impl Fn(&str, String) -> InputError) -> Result<u64, InputError> {
    let n = c.nodes;
    if n == 0 || n > MAX_NODES {
        return Err(err(
            "cluster.nodes",
            format!("{n} nodes is out of range; allowed 1 to {MAX_NODES}"),
        ));
    }
    Ok(n)
}

/// Refuses a node id list that is empty or names a node outside a cluster of `n`.
fn check_node_ids(
    ids: &[u64],
    n: u64,
    path: &str,
    err: &impl Fn(&str, String) -> InputError,
) -> Result<(), InputError> {
    if ids.is_empty() {
        return Err(err(path, "lists no nodes".into()));
    }
    if let Some(bad) = ids.iter().find(|&&id| id >= n) {
        return Err(err(
            path,
            format!("no node {bad} in a cluster of {n}; node ids run from 0 to {}", n - 1),
        ));
    }
    Ok(())
}

/// Turns the `raft:` section into a node configuration, and the section with every default written out.
fn resolve_raft(
    r: &RawRaft,
    err: &impl Fn(&str, String) -> InputError,
) -> Result<(raft_model::Config, RawRaft), InputError> {
    let mut config = raft_model::Config {
        pre_vote: r.pre_vote,
        check_quorum: r.check_quorum,
        leader_stickiness: r.leader_stickiness,
        backoff_max_exponent: r.backoff.as_ref().map(|b| b.max_exponent),
        ..raft_model::Config::default()
    };
    let b = r.profile.behaviour();
    config.behaviour = raft_model::Behaviour {
        stale_append_reply: match r.stale_append_reply {
            None => b.stale_append_reply,
            Some(RawStaleAppendReply::Always) => raft_model::StaleAppendReply::Always,
            Some(RawStaleAppendReply::WithCheckQuorumOrPreVote) => {
                raft_model::StaleAppendReply::WithCheckQuorumOrPreVote
            }
        },
        stale_vote_reply: r.stale_vote_reply.unwrap_or(b.stale_vote_reply),
        vote_lease: match r.vote_lease {
            None => b.vote_lease,
            Some(RawVoteLease::Paper) => raft_model::VoteLease::Paper,
            Some(RawVoteLease::CheckQuorum) => raft_model::VoteLease::CheckQuorum,
        },
        noop_on_election: r.noop_on_election.unwrap_or(b.noop_on_election),
        step_down_on_rejection: r.step_down_on_rejection.unwrap_or(b.step_down_on_rejection),
    };
    if r.timers.is_none() && r.profile.timers().counts_ticks() && r.election_timeout.is_some() {
        let profile = r.profile.timers().name();
        return Err(err(
            "raft.election_timeout",
            format!(
                "`profile: {profile}` runs {profile}'s tick timers; set raft.tick and raft.election_ticks, or add \
                 `timers: paper` to keep this range with {profile}'s behaviour"
            ),
        ));
    }
    let r = &RawRaft {
        timers: Some(r.timers.unwrap_or(r.profile.timers())),
        ..r.clone()
    };
    let mut out = r.clone();
    if r.preset().counts_ticks() {
        resolve_tick_timers(r, &mut config, &mut out, err)?;
    } else {
        resolve_continuous_timers(r, &mut config, &mut out, err)?;
    }
    if let Some(b) = &r.backoff
        && b.max_exponent > 16
    {
        return Err(err(
            "raft.backoff.max_exponent",
            format!("{} is above the allowed 16", b.max_exponent),
        ));
    }
    config.validate().map_err(|m| err("raft", m))?;
    if r.implementation == Implementation::RaftRs {
        let unsupported = crate::raftrs::config::unsupported_options(&config);
        if !unsupported.is_empty() {
            return Err(err(
                "raft.implementation",
                format!(
                    "raft-rs has no equivalent of {}; remove it, or run `implementation: model`",
                    unsupported.join(", ")
                ),
            ));
        }
        crate::raftrs::config::check_config(&config).map_err(|m| err("raft.implementation", m))?;
    }
    Ok((config, out))
}

/// The timer fields of `timers: etcd` and `timers: raft-rs`, into `config` and (defaults written out) `out`.
fn resolve_tick_timers(
    r: &RawRaft,
    config: &mut raft_model::Config,
    out: &mut RawRaft,
    err: &impl Fn(&str, String) -> InputError,
) -> Result<(), InputError> {
    let preset = r.preset().name();
    if r.election_timeout.is_some() {
        return Err(err(
            "raft.election_timeout",
            format!("`timers: {preset}` counts in ticks; set raft.tick and raft.election_ticks instead"),
        ));
    }
    if r.heartbeat.is_some() {
        return Err(err(
            "raft.heartbeat",
            format!("`timers: {preset}` counts in ticks; set raft.heartbeat_ticks"),
        ));
    }
    if r.candidate_timeout.is_some() {
        return Err(err(
            "raft.candidate_timeout",
            "a separate candidate timeout needs continuous timers".into(),
        ));
    }
    let (default_ticks, default_heartbeat) = r.preset().default_ticks();
    let tick = r.tick.unwrap_or(DEFAULT_TICK);
    let ticks = r.election_ticks.clone().unwrap_or(default_ticks);
    let heartbeat = r.heartbeat_ticks.unwrap_or(default_heartbeat);
    if tick.0.is_zero() {
        return Err(err("raft.tick", "must be greater than zero".into()));
    }
    if ticks.min == 0 || ticks.min > ticks.max {
        return Err(err(
            "raft.election_ticks.min",
            format!("needs 1 <= min <= max; got min {} and max {}", ticks.min, ticks.max),
        ));
    }
    if heartbeat == 0 {
        return Err(err("raft.heartbeat_ticks", "must be at least 1".into()));
    }
    config.ticks = Some(raft_model::TickConfig {
        tick: tick.0,
        election_min: ticks.min,
        election_max: ticks.max,
        heartbeat,
    });
    // The continuous fields mirror the tick settings, for the check-quorum period and for reports.
    config.election_timeout_min = tick.0 * ticks.min;
    config.election_timeout_max = tick.0 * ticks.max;
    config.heartbeat_interval = tick.0 * heartbeat;
    out.tick = Some(tick);
    out.election_ticks = Some(ticks);
    out.heartbeat_ticks = Some(heartbeat);
    Ok(())
}

/// The timer fields of `timers: paper` and `timers: hashicorp`, into `config` and (defaults written out) `out`.
fn resolve_continuous_timers(
    r: &RawRaft,
    config: &mut raft_model::Config,
    out: &mut RawRaft,
    err: &impl Fn(&str, String) -> InputError,
) -> Result<(), InputError> {
    let preset = r.preset().name();
    for (field, given) in [
        ("raft.tick", r.tick.is_some()),
        ("raft.election_ticks", r.election_ticks.is_some()),
        ("raft.heartbeat_ticks", r.heartbeat_ticks.is_some()),
    ] {
        if given {
            return Err(err(
                field,
                format!("`timers: {preset}` is continuous; ticks apply with `timers: etcd` or `timers: raft-rs`"),
            ));
        }
    }
    let hashicorp = r.preset() == TimerPreset::Hashicorp;
    let (dmin, dmax) = r.preset().default_election_timeout();
    let given = r.election_timeout.clone().unwrap_or_default();
    let (min, max) = (given.min.unwrap_or(dmin), given.max.unwrap_or(dmax));
    if min.0.is_zero() {
        return Err(err("raft.election_timeout.min", "must be greater than zero".into()));
    }
    if min > max || (hashicorp && min == max) {
        return Err(err(
            "raft.election_timeout.min",
            format!("min ({min}) is greater than max ({max})"),
        ));
    }
    let heartbeat = r.heartbeat.unwrap_or(r.preset().default_heartbeat(min));
    if heartbeat.0.is_zero() {
        return Err(err("raft.heartbeat", "must be greater than zero".into()));
    }
    config.election_timeout_min = min.0;
    // hashicorp draws from [T, 2T): the largest value drawn is one microsecond below max.
    config.election_timeout_max = if hashicorp {
        max.0 - Duration::from_micros(1)
    } else {
        max.0
    };
    config.heartbeat_interval = heartbeat.0;
    if let Some(c) = &r.candidate_timeout {
        if c.min.0.is_zero() || c.min > c.max {
            return Err(err(
                "raft.candidate_timeout.min",
                format!("needs 0 < min <= max; got {} and {}", c.min, c.max),
            ));
        }
        config.candidate_timeout = Some((c.min.0, c.max.0));
    }
    out.election_timeout = Some(RawOptRange {
        min: Some(min),
        max: Some(max),
    });
    out.heartbeat = Some(heartbeat);
    Ok(())
}

/// The `network:` section's default link.
fn resolve_network(
    net: &RawNetwork,
    err: &impl Fn(&str, String) -> InputError,
) -> Result<sim_core::LinkModel, InputError> {
    let latency = resolve_latency(&net.latency, "network.latency", err)?;
    let loss = probability(net.loss, "network.loss", err)?;
    let duplicate = probability(net.duplicate, "network.duplicate", err)?;
    let long_delay = match &net.long_delay {
        None => None,
        Some(l) => Some(sim_core::LongDelay {
            probability: probability(l.probability, "network.long_delay.probability", err)?,
            latency: resolve_latency(&l.latency, "network.long_delay.latency", err)?,
        }),
    };
    Ok(sim_core::LinkModel {
        latency,
        loss,
        duplicate,
        long_delay,
    })
}

/// The names `kinds` accepts, for error messages.
const KIND_NAMES: &str = "request_vote, vote_reply, append_entries, heartbeat, append_entries_reply";

/// `network.links`: each entry starts from the default link `base` and replaces the fields it gives.
fn resolve_links(
    raw: &[RawLink],
    base: &sim_core::LinkModel,
    n: u64,
    err: &impl Fn(&str, String) -> InputError,
) -> Result<Vec<LinkOverride>, InputError> {
    let mut links = Vec::with_capacity(raw.len());
    let every: Vec<usize> = (0..n as usize).collect();
    let nodes = |ids: &[u64]| {
        if ids.is_empty() {
            every.clone()
        } else {
            ids.iter().map(|&x| x as usize).collect()
        }
    };
    for (i, l) in raw.iter().enumerate() {
        let here = |f: &str| format!("network.links.{i}.{f}");
        // Left out (empty), `from` and `to` mean every node.
        for (ids, field) in [(&l.from, "from"), (&l.to, "to")] {
            if !ids.is_empty() {
                check_node_ids(ids, n, &here(field), err)?;
            }
        }
        if l.kinds.as_ref().is_some_and(Vec::is_empty) {
            return Err(err(
                &here("kinds"),
                format!("list at least one kind, or leave `kinds` out for every message; kinds: {KIND_NAMES}"),
            ));
        }
        let verdict = if l.cut {
            if l.latency.is_some() || l.loss.is_some() || l.duplicate.is_some() || l.long_delay.is_some() {
                return Err(err(
                    &here("cut"),
                    "a cut drops the messages, so it takes no latency, loss, duplicate or long_delay".into(),
                ));
            }
            sim_core::Verdict::Cut
        } else {
            let mut model = base.clone();
            if let Some(lat) = &l.latency {
                model.latency = resolve_latency(lat, &here("latency"), err)?;
            }
            if let Some(p) = l.loss {
                model.loss = probability(p, &here("loss"), err)?;
            }
            if let Some(p) = l.duplicate {
                model.duplicate = probability(p, &here("duplicate"), err)?;
            }
            if let Some(d) = &l.long_delay {
                model.long_delay = Some(sim_core::LongDelay {
                    probability: probability(d.probability, &here("long_delay.probability"), err)?,
                    latency: resolve_latency(&d.latency, &here("long_delay.latency"), err)?,
                });
            }
            sim_core::Verdict::Model(model)
        };
        links.push(LinkOverride {
            from: nodes(&l.from),
            to: nodes(&l.to),
            one_way: l.one_way,
            kinds: l.kinds.clone(),
            verdict,
        });
    }
    Ok(links)
}

/// Each node's machine: the cluster-wide disk and CPU, then every `cluster.hosts` entry in order.
fn resolve_hosts(
    c: &RawCluster,
    n: u64,
    err: &impl Fn(&str, String) -> InputError,
) -> Result<Vec<sim_core::Host>, InputError> {
    let optional = |l: &Option<RawLatency>, path: &str| l.as_ref().map(|l| resolve_latency(l, path, err)).transpose();
    let base_host = sim_core::Host {
        persist: optional(&c.persist_latency, "cluster.persist_latency")?,
        processing: optional(&c.processing_delay, "cluster.processing_delay")?,
        timer_jitter: optional(&c.timer_jitter, "cluster.timer_jitter")?,
        ..sim_core::Host::default()
    };
    let mut hosts = vec![base_host; n as usize];
    for (i, h) in c.hosts.iter().enumerate() {
        let here = |f: &str| format!("cluster.hosts.{i}.{f}");
        check_node_ids(&h.nodes, n, &here("nodes"), err)?;
        if let Some(r) = h.clock_rate
            && !(0.5..=2.0).contains(&r)
        {
            return Err(err(
                &here("clock_rate"),
                format!("{r} is out of range; allowed 0.5 to 2.0"),
            ));
        }
        if let Some(d) = h.clock_drift_per_hour
            && !(-0.1..=0.1).contains(&d)
        {
            return Err(err(
                &here("clock_drift_per_hour"),
                format!("{d} is out of range; allowed -0.1 to 0.1"),
            ));
        }
        let processing = optional(&h.processing_delay, &here("processing_delay"))?;
        let persist = optional(&h.persist_latency, &here("persist_latency"))?;
        let timer_jitter = optional(&h.timer_jitter, &here("timer_jitter"))?;
        for &id in &h.nodes {
            let host = &mut hosts[id as usize];
            if let Some(r) = h.clock_rate {
                host.clock_rate = r;
            }
            if let Some(d) = h.clock_drift_per_hour {
                host.clock_drift_per_hour = d;
            }
            if processing.is_some() {
                host.processing.clone_from(&processing);
            }
            if persist.is_some() {
                host.persist.clone_from(&persist);
            }
            if timer_jitter.is_some() {
                host.timer_jitter.clone_from(&timer_jitter);
            }
        }
    }
    Ok(hosts)
}

/// The `faults:` list, in order.
fn resolve_faults(
    raw: &[RawFault],
    n: u64,
    time_limit: Dur,
    err: &impl Fn(&str, String) -> InputError,
) -> Result<Vec<Fault>, InputError> {
    let mut faults = Vec::with_capacity(raw.len());
    for (i, f) in raw.iter().enumerate() {
        let here = |field: &str| format!("faults.{i}.{field}");
        let trigger = fault_trigger(f, i, time_limit, err)?;
        // A jitter as long as the trial can never be told apart from a fault that never fires.
        let earliest = match trigger {
            Trigger::At(at) => at,
            _ => Duration::ZERO,
        };
        if let Some(j) = f.jitter
            && earliest.saturating_add(j.0) >= time_limit.0
        {
            return Err(err(
                &here("jitter"),
                format!(
                    "{j} of jitter can delay the fault past the trial's time_limit ({time_limit}): shorten the \
                     jitter or lengthen time_limit"
                ),
            ));
        }
        let action = fault_action(f, i, err)?;
        check_selectors(&action, n, |field, msg| err(&here(field), msg))?;
        faults.push(Fault {
            trigger,
            jitter: f.jitter.map_or(Duration::ZERO, |j| j.0),
            action,
        });
    }
    Ok(faults)
}

/// The one trigger of fault `i`.
fn fault_trigger(
    f: &RawFault,
    i: usize,
    time_limit: Dur,
    err: &impl Fn(&str, String) -> InputError,
) -> Result<Trigger, InputError> {
    let here = |field: &str| format!("faults.{i}.{field}");
    let triggers: Vec<(&str, Trigger)> = [
        f.at.map(|d| ("at", Trigger::At(d.0))),
        f.after.map(|d| ("after", Trigger::After(d.0))),
        f.leader_stable_for
            .map(|d| ("leader_stable_for", Trigger::LeaderStableFor(d.0))),
    ]
    .into_iter()
    .flatten()
    .collect();
    let trigger = match triggers.as_slice() {
        [(_, t)] => *t,
        [] => {
            return Err(err(
                &format!("faults.{i}"),
                "says what to do but not when; add one of `at`, `after` or `leader_stable_for`".into(),
            ));
        }
        [_, (second, _), ..] => {
            return Err(err(
                &here(second),
                "a fault has exactly one trigger (`at`, `after` or `leader_stable_for`)".into(),
            ));
        }
    };
    if let Trigger::At(at) = trigger
        && at >= time_limit.0
    {
        return Err(err(
            &here("at"),
            format!("{} is not before the trial's time_limit ({})", Dur(at), time_limit),
        ));
    }
    Ok(trigger)
}

/// The one action of fault `i`.
fn fault_action(f: &RawFault, i: usize, err: &impl Fn(&str, String) -> InputError) -> Result<Action, InputError> {
    let here = |field: &str| format!("faults.{i}.{field}");
    let mut actions: Vec<(&str, Action)> = Vec::new();
    if let Some(s) = f.crash {
        actions.push(("crash", Action::Crash(s)));
    }
    if let Some(s) = f.restart {
        actions.push(("restart", Action::Restart(s)));
    }
    if let Some(groups) = &f.partition {
        actions.push(("partition", Action::Partition(groups.clone())));
    }
    if let Some(s) = f.isolate {
        actions.push(("isolate", Action::Partition(vec![vec![s], vec![Selector::Others]])));
    }
    if f.heal.is_some() {
        actions.push(("heal", Action::HealAll));
    }
    if let Some(s) = f.transfer_leadership {
        actions.push(("transfer_leadership", Action::TransferLeadership(s)));
    }
    if let Some(s) = f.step_down {
        actions.push(("step_down", Action::StepDown(s)));
    }
    if let Some(c) = &f.cut {
        actions.push((
            "cut",
            Action::Cut {
                from: c.from.clone(),
                to: c.to.clone(),
                both_ways: c.both_ways,
            },
        ));
    }
    if let Some(c) = &f.flap {
        if c.times == 0 || c.down.0.is_zero() {
            return Err(err(
                &here("flap"),
                "needs `times` >= 1 and a `down` time above zero".into(),
            ));
        }
        actions.push((
            "flap",
            Action::Flap {
                from: c.from.clone(),
                to: c.to.clone(),
                both_ways: c.both_ways,
                down: c.down.0,
                up: c.up.0,
                times: c.times,
            },
        ));
    }
    match actions.as_slice() {
        [(_, a)] => Ok(a.clone()),
        [] => Err(err(
            &format!("faults.{i}"),
            "says when but not what; add one of `crash`, `restart`, `partition`, `isolate`, `heal`, `cut`, `flap`, \
             `transfer_leadership` or `step_down`"
                .into(),
        )),
        [_, (second, _), ..] => Err(err(
            &here(second),
            "a fault has exactly one action; put the second in its own entry".into(),
        )),
    }
}

/// The highest term a starting log may hold: far below `u64::MAX`, so that no run can exhaust the terms (a run
/// adds at most one term per election, a few million at the very most).
pub const MAX_INITIAL_TERM: u64 = 1 << 32;

/// `cluster.initial_logs`: each node's starting log (nodes not listed start empty), and the term every node
/// starts in.
///
/// Only states a run of Raft can reach are accepted:
///
/// - terms are at least 1, at most [`MAX_INITIAL_TERM`], and never decrease along a log;
/// - entries of one term come from one leader's log: if one log holds term `t` at index `i` and another holds
///   `t` at index `j >= i`, the two agree on every index up to `i` (with `j == i` this is the paper's Log
///   Matching; with `j > i` it also refuses `[[2], [1, 2]]`, where the leader of term 2 would have had two
///   different entries at index 1).
///
/// Every node starts in the highest term any log holds, with no vote: that term's leader was elected by a
/// majority, so a majority at least had seen it, and a node that heard its heartbeats would have taken it. A
/// node left in an older term could otherwise be elected in that term with a log that contradicts the entry
/// (`[[1, 2], [1], [1]]`: a new leader of term 2 writing another entry at index 2). Nobody can campaign in the
/// starting term itself (a candidate moves to the next), so no vote in it is needed.
fn resolve_initial_logs(
    logs: &[Vec<u64>],
    n: u64,
    err: &impl Fn(&str, String) -> InputError,
) -> Result<Vec<raft_model::Persistent>, InputError> {
    if logs.len() as u64 > n {
        return Err(err(
            "cluster.initial_logs",
            format!("lists {} logs for a cluster of {n} nodes", logs.len()),
        ));
    }
    for (i, terms) in logs.iter().enumerate() {
        let here = format!("cluster.initial_logs.{i}");
        if terms.windows(2).any(|w| w[0] > w[1]) || terms.first() == Some(&0) {
            return Err(err(
                &here,
                "entry terms must be at least 1 and never decrease along a log".into(),
            ));
        }
        if let Some(&t) = terms.last()
            && t > MAX_INITIAL_TERM
        {
            return Err(err(
                &here,
                format!(
                    "term {t} is above the highest starting term allowed, {MAX_INITIAL_TERM} (2^32): terms count \
                     elections, and staying far below 2^64 keeps every run from running out of them; use a \
                     smaller term"
                ),
            ));
        }
    }
    if let Some((a, b, k, t)) = unreachable_logs(logs) {
        let term = |x: usize| {
            logs[x]
                .get(k)
                .map_or_else(|| "no entry".to_string(), |t| format!("term {t}"))
        };
        let (ta, tb) = (term(a), term(b));
        return Err(err(
            &format!("cluster.initial_logs.{b}"),
            format!(
                "n{a} and n{b} both hold entries of term {t} but differ at index {} ({ta} on n{a}, {tb} on n{b}), \
                 before them. Entries of one term are copies from its leader's log, so a log holding term {t} at \
                 some index agrees, up to that index, with every log holding term {t} there or later (Log \
                 Matching, section 5.3): no run of Raft leaves these logs. Make the two logs agree up to their \
                 entries of term {t}, or give those entries different terms",
                k + 1
            ),
        ));
    }
    let start_term = logs.iter().filter_map(|l| l.last()).copied().max().unwrap_or(0);
    let mut initial = vec![
        raft_model::Persistent {
            current_term: raft_model::Term(start_term),
            ..raft_model::Persistent::default()
        };
        n as usize
    ];
    for (i, terms) in logs.iter().enumerate() {
        initial[i].log = terms
            .iter()
            .enumerate()
            .map(|(k, &t)| raft_model::Entry {
                term: raft_model::Term(t),
                command: k as u64 + 1,
            })
            .collect();
    }
    Ok(initial)
}

/// Two logs that no run of Raft leaves side by side: `Some((a, b, k, t))` when log `a` holds term `t` at an
/// index `i`, log `b` holds `t` at an index `j >= i`, and the two differ at index `k + 1 <= i` (each log's
/// terms already checked never to decrease). Linear in the total length of the logs (times a logarithm).
fn unreachable_logs(logs: &[Vec<u64>]) -> Option<(usize, usize, usize, u64)> {
    use std::collections::BTreeMap;
    // A trie of the logs: node 0 is the empty prefix; every other node is a prefix, known by its parent and its
    // last term, with the first log that holds it.
    let mut parent: Vec<usize> = vec![0];
    let mut owner: Vec<usize> = vec![0];
    let mut child: BTreeMap<(usize, u64), usize> = BTreeMap::new();
    // For each (index, term): the trie node of the first log holding that term at that index.
    let mut at: BTreeMap<(usize, u64), usize> = BTreeMap::new();
    for (x, log) in logs.iter().enumerate() {
        let mut node = 0;
        for (k, &t) in log.iter().enumerate() {
            node = *child.entry((node, t)).or_insert_with(|| {
                parent.push(node);
                owner.push(x);
                parent.len() - 1
            });
            let first = *at.entry((k, t)).or_insert(node);
            if first != node {
                // Same index and term, different prefixes: the paper's Log Matching.
                let y = owner[first];
                return Some((y, x, first_difference(&logs[y], log), t));
            }
        }
    }
    // Entries of one term sit at consecutive indices of one leader's log: for each term, the indices holding it
    // are consecutive, and the node holding it at index k + 1 extends the one holding it at index k.
    let mut by_term: BTreeMap<u64, Vec<(usize, usize)>> = BTreeMap::new();
    for (&(k, t), &node) in &at {
        by_term.entry(t).or_default().push((k, node));
    }
    for (&t, chain) in &by_term {
        for w in chain.windows(2) {
            let ((k0, before), (k1, node)) = (w[0], w[1]);
            if k1 != k0 + 1 || parent[node] != before {
                let (x, y) = (owner[before], owner[node]);
                return Some((x, y, first_difference(&logs[x], &logs[y]), t));
            }
        }
    }
    None
}

/// The first index (0-based) at which two logs differ, within the shorter one.
fn first_difference(a: &[u64], b: &[u64]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

/// `workload:`.
fn resolve_workload(
    w: Option<&RawWorkload>,
    err: &impl Fn(&str, String) -> InputError,
) -> Result<Option<Workload>, InputError> {
    let Some(w) = w else { return Ok(None) };
    if w.interval.0 < Duration::from_micros(10) {
        return Err(err(
            "workload.interval",
            format!("{} is too short; at least 10us", w.interval),
        ));
    }
    let commit_bound = w.commit_bound.map_or(Duration::from_secs(1), |b| b.0);
    if commit_bound.is_zero() {
        return Err(err("workload.commit_bound", "must be longer than 0".to_string()));
    }
    Ok(Some(Workload {
        interval: w.interval.0,
        start: w.start.0,
        commit_bound,
    }))
}

/// Refuses a generator whose `stop` is not after its `start` and before the time limit.
fn check_window(
    start: Dur,
    stop: Dur,
    time_limit: Dur,
    path: &str,
    err: &impl Fn(&str, String) -> InputError,
) -> Result<(), InputError> {
    if stop <= start || stop.0 >= time_limit.0 {
        return Err(err(
            path,
            format!("must be after `start` and before the trial's time_limit ({time_limit})"),
        ));
    }
    Ok(())
}

/// `churn:`.
fn resolve_churn(
    c: Option<&RawChurn>,
    n: u64,
    time_limit: Dur,
    err: &impl Fn(&str, String) -> InputError,
) -> Result<Option<Churn>, InputError> {
    let Some(c) = c else { return Ok(None) };
    if c.mtbf.0.is_zero() || c.mttr.0.is_zero() {
        return Err(err("churn", "`mtbf` and `mttr` must be greater than zero".into()));
    }
    check_window(c.start, c.stop, time_limit, "churn.stop", err)?;
    let minority = ((n - 1) / 2) as usize;
    let max_down = c.max_down.map_or(minority, |m| m as usize);
    if max_down == 0 || max_down as u64 > n {
        return Err(err(
            "churn.max_down",
            format!("{max_down} is out of range; allowed 1 to {n}"),
        ));
    }
    Ok(Some(Churn {
        mtbf: c.mtbf.0,
        mttr: c.mttr.0,
        start: c.start.0,
        stop: c.stop.0,
        max_down,
    }))
}

/// `random_partitions:`.
fn resolve_random_partitions(
    p: Option<&RawRandomPartitions>,
    n: u64,
    time_limit: Dur,
    err: &impl Fn(&str, String) -> InputError,
) -> Result<Option<RandomPartitions>, InputError> {
    let Some(p) = p else { return Ok(None) };
    if p.stable.0.is_zero() || p.healed.0.is_zero() {
        return Err(err(
            "random_partitions",
            "`stable` and `healed` must be greater than zero".into(),
        ));
    }
    check_window(p.start, p.stop, time_limit, "random_partitions.stop", err)?;
    if n < 2 {
        return Err(err("random_partitions", "needs at least two nodes".into()));
    }
    Ok(Some(RandomPartitions {
        mode: p.mode,
        stable: p.stable.0,
        healed: p.healed.0,
        start: p.start.0,
        stop: p.stop.0,
    }))
}

/// `liveness:` as (leader within, applied within).
fn resolve_liveness(
    l: Option<&RawLiveness>,
    err: &impl Fn(&str, String) -> InputError,
) -> Result<Option<(Duration, Option<Duration>)>, InputError> {
    let Some(l) = l else { return Ok(None) };
    if l.leader_within.0.is_zero() {
        return Err(err("liveness.leader_within", "must be greater than zero".into()));
    }
    if l.applied_within.is_some_and(|a| a.0.is_zero()) {
        return Err(err("liveness.applied_within", "must be greater than zero".into()));
    }
    Ok(Some((l.leader_within.0, l.applied_within.map(|a| a.0))))
}

/// `limits:`, with the defaults for what it leaves out.
fn resolve_limits(l: Option<&RawLimits>, err: &impl Fn(&str, String) -> InputError) -> Result<Limits, InputError> {
    let l = l.cloned().unwrap_or_default();
    let limits = Limits {
        max_pending_events: l.max_pending_events.unwrap_or(DEFAULT_MAX_PENDING_EVENTS),
        max_events: l.max_events.unwrap_or(DEFAULT_MAX_EVENTS),
    };
    if limits.max_pending_events == 0 {
        return Err(err("limits.max_pending_events", "must be at least 1".into()));
    }
    if limits.max_events == 0 {
        return Err(err("limits.max_events", "must be at least 1".into()));
    }
    Ok(limits)
}

/// Refuses a fault schedule that alone needs more events than a trial may process: each outage of a flapping
/// link is two events (down, then up), so `flap.times` above half of `limits.max_events` could never finish.
fn check_fault_work(
    faults: &[Fault],
    limits: &Limits,
    err: &impl Fn(&str, String) -> InputError,
) -> Result<(), InputError> {
    let mut events: u64 = 0;
    for (i, f) in faults.iter().enumerate() {
        if let Action::Flap { times, .. } = f.action {
            events = events.saturating_add(2 * u64::from(times));
            if events > limits.max_events {
                return Err(err(
                    &format!("faults.{i}.flap.times"),
                    format!(
                        "{times} outages make the flapping links up to this fault need {events} events (two per \
                         outage: down, then up), more than limits.max_events ({}) lets one trial process; lower \
                         `times`, or raise limits.max_events",
                        limits.max_events
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn check_selectors(action: &Action, n: u64, err: impl Fn(&str, String) -> InputError) -> Result<(), InputError> {
    let node_ok = |s: &Selector| !matches!(s, Selector::Node(i) if *i >= n);
    let range = format!("node ids run from 0 to {}", n - 1);
    let field = match action {
        Action::Crash(_) => "crash",
        Action::Restart(_) => "restart",
        Action::TransferLeadership(_) => "transfer_leadership",
        Action::StepDown(_) => "step_down",
        Action::Partition(_) => "partition",
        Action::Cut { .. } => "cut",
        Action::Flap { .. } => "flap",
        Action::HealAll => "heal",
    };
    let all_selectors: Vec<&Selector> = match action {
        Action::Crash(s) | Action::Restart(s) | Action::TransferLeadership(s) | Action::StepDown(s) => vec![s],
        Action::Partition(groups) => groups.iter().flatten().collect(),
        Action::Cut { from, to, .. } | Action::Flap { from, to, .. } => from.iter().chain(to).collect(),
        Action::HealAll => Vec::new(),
    };
    if let Some(Selector::Random(k)) = all_selectors
        .iter()
        .find(|s| matches!(s, Selector::Random(k) if *k as u64 > n))
    {
        return Err(err(
            field,
            format!("`random {k}` picks {k} nodes but the cluster has {n}; pick at most `random {n}` (or `all`)"),
        ));
    }
    if let Action::Partition(groups) = action {
        check_partition_groups(groups, &err)?;
    }
    match action {
        Action::Crash(s) | Action::Restart(s) | Action::TransferLeadership(s) | Action::StepDown(s) => {
            let field = match action {
                Action::Crash(_) => "crash",
                Action::Restart(_) => "restart",
                Action::TransferLeadership(_) => "transfer_leadership",
                _ => "step_down",
            };
            if !node_ok(s) {
                return Err(err(field, format!("no node {s} in a cluster of {n}; {range}")));
            }
            if *s == Selector::Others {
                return Err(err(field, "`others` only makes sense inside a partition".into()));
            }
        }
        Action::Partition(groups) => {
            if groups.iter().all(|g| g.is_empty()) {
                return Err(err("partition", "needs at least one non-empty group".into()));
            }
            for (g, group) in groups.iter().enumerate() {
                for s in group {
                    if !node_ok(s) {
                        return Err(err(
                            &format!("partition.{g}"),
                            format!("no node {s} in a cluster of {n}; {range}"),
                        ));
                    }
                }
            }
            let others = groups.iter().flatten().filter(|s| **s == Selector::Others).count();
            if others > 1 {
                return Err(err("partition", "`others` may appear in one group only".into()));
            }
        }
        Action::HealAll => {}
        Action::Cut { from, to, .. } | Action::Flap { from, to, .. } => {
            let field = if matches!(action, Action::Cut { .. }) {
                "cut"
            } else {
                "flap"
            };
            for (side, list) in [("from", from), ("to", to)] {
                if list.is_empty() {
                    return Err(err(&format!("{field}.{side}"), "lists no nodes".into()));
                }
                for s in list {
                    if !node_ok(s) {
                        return Err(err(
                            &format!("{field}.{side}"),
                            format!("no node {s} in a cluster of {n}; {range}"),
                        ));
                    }
                    if *s == Selector::Others {
                        return Err(err(
                            &format!("{field}.{side}"),
                            "`others` only makes sense inside a partition".into(),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Refuses a partition that puts a node in two groups: the same node id, or the same selector that always names
/// the same nodes (`leader`, `followers`, `crashed`, `all`), in two groups, or `all` beside another group.
fn check_partition_groups(
    groups: &[Vec<Selector>],
    err: &impl Fn(&str, String) -> InputError,
) -> Result<(), InputError> {
    let fixed = |s: &Selector| {
        matches!(
            s,
            Selector::Node(_) | Selector::Leader | Selector::Followers | Selector::Crashed | Selector::All
        )
    };
    for (g, group) in groups.iter().enumerate() {
        for s in group.iter().filter(|s| fixed(s)) {
            if let Some(earlier) = groups[..g].iter().position(|h| h.contains(s)) {
                let what = match s {
                    Selector::Node(i) => format!("node {i}"),
                    other => format!("`{other}`"),
                };
                return Err(err(
                    &format!("partition.{g}"),
                    format!(
                        "{what} is in group {earlier} and in group {g}, but a node can be in one group only; \
                         remove it from one of them"
                    ),
                ));
            }
        }
        let others_named = groups
            .iter()
            .enumerate()
            .any(|(h, other)| h != g && other.iter().any(|x| *x != Selector::Others));
        if group.contains(&Selector::All) && others_named {
            return Err(err(
                &format!("partition.{g}"),
                "`all` puts every node in this group, so the nodes named in another group would be in two; \
                 write `others` for every node not named in another group"
                    .to_string(),
            ));
        }
    }
    Ok(())
}

/// Helper for error messages that want a location for a field path.
pub fn field_location(source: &Source, path: &str) -> Option<(u64, u64)> {
    locate(&source.text, path)
}
