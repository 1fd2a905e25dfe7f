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

/// `raft:` section.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawRaft {
    /// Election timeout range; each timeout is drawn uniformly from `[min, max]`.
    #[serde(default)]
    pub election_timeout: RawRange,
    /// Interval between a leader's heartbeats.
    #[serde(default = "default_heartbeat")]
    pub heartbeat: Dur,
}

fn default_heartbeat() -> Dur {
    Dur::millis(50)
}

impl Default for RawRaft {
    fn default() -> Self {
        RawRaft {
            election_timeout: RawRange::default(),
            heartbeat: default_heartbeat(),
        }
    }
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
    let et = &raw.raft.election_timeout;
    if et.min.0.is_zero() {
        return Err(err("raft.election_timeout.min", "must be greater than zero".into()));
    }
    if et.min > et.max {
        return Err(err(
            "raft.election_timeout.min",
            format!("min ({}) is greater than max ({})", et.min, et.max),
        ));
    }
    if raw.raft.heartbeat.0.is_zero() {
        return Err(err("raft.heartbeat", "must be greater than zero".into()));
    }
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
    let raft = raft_model::Config {
        election_timeout_min: et.min.0,
        election_timeout_max: et.max.0,
        heartbeat_interval: raw.raft.heartbeat.0,
        ..raft_model::Config::default()
    };
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
