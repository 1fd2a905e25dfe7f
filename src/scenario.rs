//! Scenario files: parsed strictly into a raw form, overridden from the command line, then resolved into a
//! checked, fully-defaulted [`Scenario`] the simulator can trust.

use crate::duration::Dur;
use crate::error::{InputError, locate};
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
}

/// A checked workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// Time between commands.
    pub interval: Duration,
    /// First command.
    pub start: Duration,
}

fn default_seed() -> u64 {
    1
}
fn default_trials() -> u64 {
    1000
}
fn default_time_limit() -> Dur {
    Dur::millis(60_000)
}

/// `cluster:` section.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    /// Number of servers.
    pub nodes: u64,
    /// Logs the servers start with: entry `i` lists the terms of node `i`'s entries (`[[1, 1], [1]]`: node 0
    /// holds two entries of term 1, node 1 one, later nodes none). A node starts in the term of its last entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub initial_logs: Vec<Vec<u64>>,
}

impl Default for RawCluster {
    fn default() -> Self {
        RawCluster {
            nodes: 5,
            initial_logs: Vec::new(),
        }
    }
}

/// `raft:` section. Which fields apply depends on `timers`; fields left out take that preset's defaults.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawRaft {
    /// How election timeouts are drawn: `paper` (default), `hashicorp`, `etcd` or `raft-rs`.
    #[serde(default)]
    pub timers: TimerPreset,
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

/// Turns the `raft:` section into a node configuration, and the section with every default written out.
fn resolve_raft(
    r: &RawRaft,
    err: &dyn Fn(&str, String) -> InputError,
) -> Result<(raft_model::Config, RawRaft), InputError> {
    let mut config = raft_model::Config {
        pre_vote: r.pre_vote,
        check_quorum: r.check_quorum,
        leader_stickiness: r.leader_stickiness,
        backoff_max_exponent: r.backoff.as_ref().map(|b| b.max_exponent),
        ..raft_model::Config::default()
    };
    let mut out = r.clone();
    let tick_based = matches!(r.timers, TimerPreset::Etcd | TimerPreset::RaftRs);
    let preset = match r.timers {
        TimerPreset::Paper => "paper",
        TimerPreset::Hashicorp => "hashicorp",
        TimerPreset::Etcd => "etcd",
        TimerPreset::RaftRs => "raft-rs",
    };
    if tick_based {
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
        let tick = r.tick.unwrap_or(Dur::millis(100));
        let (lo, hi, hb) = if r.timers == TimerPreset::Etcd {
            (10, 19, 1)
        } else {
            (20, 39, 2)
        };
        let ticks = r.election_ticks.clone().unwrap_or(RawTicks { min: lo, max: hi });
        let heartbeat = r.heartbeat_ticks.unwrap_or(hb);
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
    } else {
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
        let (dmin, dmax) = if r.timers == TimerPreset::Hashicorp {
            (Dur::millis(1000), Dur::millis(2000))
        } else {
            (Dur::millis(150), Dur::millis(300))
        };
        let given = r.election_timeout.clone().unwrap_or_default();
        let (min, max) = (given.min.unwrap_or(dmin), given.max.unwrap_or(dmax));
        if min.0.is_zero() {
            return Err(err("raft.election_timeout.min", "must be greater than zero".into()));
        }
        if min > max || (r.timers == TimerPreset::Hashicorp && min == max) {
            return Err(err(
                "raft.election_timeout.min",
                format!("min ({min}) is greater than max ({max})"),
            ));
        }
        let heartbeat = r.heartbeat.unwrap_or(if r.timers == TimerPreset::Hashicorp {
            Dur(min.0 / 10)
        } else {
            Dur::millis(50)
        });
        if heartbeat.0.is_zero() {
            return Err(err("raft.heartbeat", "must be greater than zero".into()));
        }
        config.election_timeout_min = min.0;
        // hashicorp draws from [T, 2T): the largest value drawn is one microsecond below max.
        config.election_timeout_max = if r.timers == TimerPreset::Hashicorp {
            max.0 - std::time::Duration::from_micros(1)
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
    Ok((config, out))
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

impl Default for RawRange {
    fn default() -> Self {
        RawRange {
            min: Dur::millis(150),
            max: Dur::millis(300),
        }
    }
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
        }
    }
}

/// A latency distribution: `{ constant: 10ms }` or `{ uniform: { min: 5ms, max: 15ms } }`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RawLatency {
    /// Every message takes exactly this long.
    Constant(Dur),
    /// Uniform on `[min, max]`.
    Uniform(RawRange),
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
}

const SELECTOR_WORDS: &str = "leader, follower, followers, others, crashed, all, or a node id";

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
    /// Link model.
    pub link: sim_core::LinkModel,
    /// Faults, in order.
    pub faults: Vec<Fault>,
    /// Each node's starting persistent state (term and log).
    pub initial: Vec<raft_model::Persistent>,
    /// The client workload, if any.
    pub workload: Option<Workload>,
    /// Whether safety properties are checked.
    pub invariants: bool,
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
}

/// Where a scenario comes from, for error messages.
#[derive(Clone, Debug)]
pub struct Source {
    /// Display name (a path).
    pub name: String,
    /// The YAML text.
    pub text: String,
}

/// Loads a scenario file, applies `--set` overrides, and resolves it.
pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, InputError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::new(format!("cannot read scenario `{}`: {e}", path.display())))?;
    let source = Source {
        name: path.display().to_string(),
        text,
    };
    let default_name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    let mut scenario = load_str(&source, overrides, default_name)?;
    scenario.source = Some(path.to_path_buf());
    Ok(scenario)
}

/// Parses YAML text, applies overrides, and resolves it.
pub fn load_str(source: &Source, overrides: &[String], default_name: Option<String>) -> Result<Scenario, InputError> {
    let raw: RawScenario = parse_yaml(source)?;
    let raw = crate::overrides::apply(raw, overrides)?;
    resolve(raw, default_name, Some(source))
}

/// Strict YAML parse; errors carry the file, line, column and a snippet.
pub fn parse_yaml<T: de::DeserializeOwned>(source: &Source) -> Result<T, InputError> {
    serde_saphyr::from_str::<T>(&source.text).map_err(|e| InputError::yaml(&source.name, &e))
}

/// Checks a raw scenario and fills in the derived fields. `source` lets errors point at lines.
pub fn resolve(
    raw: RawScenario,
    default_name: Option<String>,
    source: Option<&Source>,
) -> Result<Scenario, InputError> {
    let err = |path: &str, msg: String| InputError::field(source, path, msg);

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
    let n = raw.cluster.nodes;
    if n == 0 || n > MAX_NODES {
        return Err(err(
            "cluster.nodes",
            format!("{n} nodes is out of range; allowed 1 to {MAX_NODES}"),
        ));
    }
    let (raft, resolved_raft) = resolve_raft(&raw.raft, &err)?;
    let latency = match &raw.network.latency {
        RawLatency::Constant(d) => sim_core::Latency::Constant(d.0),
        RawLatency::Uniform(r) => {
            if r.min > r.max {
                return Err(err(
                    "network.latency.uniform.min",
                    format!("min ({}) is greater than max ({})", r.min, r.max),
                ));
            }
            sim_core::Latency::Uniform {
                min: r.min.0,
                max: r.max.0,
            }
        }
    };
    let loss = raw.network.loss;
    if !(0.0..=1.0).contains(&loss) {
        return Err(err(
            "network.loss",
            format!("{loss} is not a probability; allowed 0 to 1"),
        ));
    }

    let mut faults = Vec::with_capacity(raw.faults.len());
    for (i, f) in raw.faults.iter().enumerate() {
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
            && at >= raw.time_limit.0
        {
            return Err(err(
                &here("at"),
                format!("{} is not before the trial's time_limit ({})", Dur(at), raw.time_limit),
            ));
        }
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
        let action = match actions.as_slice() {
            [(_, a)] => a.clone(),
            [] => {
                return Err(err(
                    &format!("faults.{i}"),
                    "says when but not what; add one of `crash`, `restart`, `partition`, `isolate` or `heal`".into(),
                ));
            }
            [_, (second, _), ..] => {
                return Err(err(
                    &here(second),
                    "a fault has exactly one action; put the second in its own entry".into(),
                ));
            }
        };
        check_selectors(&action, n, |field, msg| err(&here(field), msg))?;
        faults.push(Fault {
            trigger,
            jitter: f.jitter.map_or(Duration::ZERO, |j| j.0),
            action,
        });
    }

    if raw.cluster.initial_logs.len() as u64 > n {
        return Err(err(
            "cluster.initial_logs",
            format!(
                "lists {} logs for a cluster of {n} nodes",
                raw.cluster.initial_logs.len()
            ),
        ));
    }
    let mut initial = vec![raft_model::Persistent::default(); n as usize];
    for (i, terms) in raw.cluster.initial_logs.iter().enumerate() {
        if terms.windows(2).any(|w| w[0] > w[1]) || terms.first() == Some(&0) {
            return Err(err(
                &format!("cluster.initial_logs.{i}"),
                "entry terms must be at least 1 and never decrease along a log".into(),
            ));
        }
        let log: Vec<raft_model::Entry> = terms
            .iter()
            .enumerate()
            .map(|(k, &t)| raft_model::Entry {
                term: raft_model::Term(t),
                command: k as u64 + 1,
            })
            .collect();
        initial[i] = raft_model::Persistent {
            current_term: raft_model::Term(terms.last().copied().unwrap_or(0)),
            voted_for: None,
            log,
        };
    }
    let workload = match &raw.workload {
        None => None,
        Some(w) if w.interval.0 < Duration::from_micros(10) => {
            return Err(err(
                "workload.interval",
                format!("{} is too short; at least 10us", w.interval),
            ));
        }
        Some(w) => Some(Workload {
            interval: w.interval.0,
            start: w.start.0,
        }),
    };
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
        link: sim_core::LinkModel { latency, loss },
        faults,
        initial,
        workload,
        invariants: raw.invariants,
        raw,
    })
}

fn check_selectors(action: &Action, n: u64, err: impl Fn(&str, String) -> InputError) -> Result<(), InputError> {
    let node_ok = |s: &Selector| !matches!(s, Selector::Node(i) if *i >= n);
    let range = format!("node ids run from 0 to {}", n - 1);
    match action {
        Action::Crash(s) | Action::Restart(s) => {
            let field = if matches!(action, Action::Crash(_)) {
                "crash"
            } else {
                "restart"
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
    }
    Ok(())
}

/// Helper for error messages that want a location for a field path.
pub fn field_location(source: &Source, path: &str) -> Option<(u64, u64)> {
    locate(&source.text, path)
}
