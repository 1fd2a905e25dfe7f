//! Warnings about a valid scenario whose numbers break the assumptions Raft's election relies on: broadcast
//! time well below the election timeout (section 5.6 of the Raft paper), randomized timeouts, a majority that
//! can talk, faults that can find their nodes. A warning does not stop a run (`--deny-warnings` makes it
//! one); each says what to change. `run`, `sweep` and `validate` print them on stderr, and `summary.json` and
//! `sweep.json` list them under `warnings`.
//!
//! Every check reads only the resolved scenario, so the warnings of a scenario are the same on every machine.

use crate::error::{Flag, InputError, Source};
use crate::scenario::{Action, Scenario, Selector};
use crate::trace::WireKind;
use serde::Serialize;
use sim_core::{Latency, LinkModel, NodeId};
use std::time::Duration;

/// One warning: the field it is about (a dotted path, as in errors) and what is wrong and what to change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// The field, `raft.heartbeat`, `faults.0.restart`.
    pub field: String,
    /// What is wrong, and what to change.
    pub message: String,
}

impl Warning {
    fn new(field: impl Into<String>, message: String) -> Self {
        Warning {
            field: field.into(),
            message,
        }
    }

    /// The warning as stderr shows it (without the `warning: ` prefix): where the field is written in
    /// `source` (`file:line:col: `field``), or the flag that set it, then the message.
    pub fn render(&self, source: Option<&Source>, flags: &[Flag]) -> String {
        InputError::field(source, &self.field, self.message.clone())
            .blame_flags(flags)
            .message()
            .to_string()
    }
}

/// The quantile the timing checks use: a message slower than this is rare, but happens several times a second
/// in a cluster exchanging hundreds of messages per second.
const Q: f64 = 0.99;

/// Loss at or above which a link is called broken.
const LOSS_LIMIT: f64 = 0.5;

/// Every warning about `s`, in a fixed order: timers, the network, the machines, the faults.
pub fn lint(s: &Scenario) -> Vec<Warning> {
    let mut out = Vec::new();
    let t = Timers::of(s);
    let heartbeat_broken = check_heartbeat(&t, &mut out);
    let zero_randomness = check_randomness(&t, &mut out);
    let slow_links = check_links(s, &t, &mut out);
    let slow_hosts = check_hosts(s, &t, &mut out);
    if !(zero_randomness || slow_links || slow_hosts) {
        check_spread(s, &t, &mut out);
    }
    check_clocks(s, &t, heartbeat_broken, &mut out);
    check_cuts(s, &mut out);
    check_faults(s, &mut out);
    out
}

/// The timer settings, in microseconds, with the field names that set them.
struct Timers {
    min: f64,
    max: f64,
    heartbeat: f64,
    /// `raft.election_timeout` or `raft.election_ticks`.
    range_field: &'static str,
    /// `raft.heartbeat` or `raft.heartbeat_ticks`.
    heartbeat_field: &'static str,
}

impl Timers {
    fn of(s: &Scenario) -> Self {
        let c = &s.raft;
        let ticks = c.ticks.is_some();
        Timers {
            min: us(c.election_timeout_min),
            max: us(c.election_timeout_max),
            heartbeat: us(c.heartbeat_interval),
            range_field: if ticks {
                "raft.election_ticks"
            } else {
                "raft.election_timeout"
            },
            heartbeat_field: if ticks {
                "raft.heartbeat_ticks"
            } else {
                "raft.heartbeat"
            },
        }
    }
}

fn us(d: Duration) -> f64 {
    d.as_micros() as f64
}

/// A time for a message: `150ms`, `2.99ms`, `275ms`, `1.5s`, `300us`.
fn show(us: f64) -> String {
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if us < 1000.0 {
        format!("{us:.0}us")
    } else if us < 10_000.0 {
        trim(format!("{:.2}", us / 1000.0)) + "ms"
    } else if us < 1_000_000.0 {
        trim(format!("{:.1}", us / 1000.0)) + "ms"
    } else {
        trim(format!("{:.2}", us / 1e6)) + "s"
    }
}

/// A round suggestion: whole milliseconds from 3 ms up.
fn suggest(us: f64) -> String {
    if us >= 3000.0 {
        show((us / 1000.0).floor() * 1000.0)
    } else {
        show(us.max(1.0).round())
    }
}

/// Heartbeats at least as far apart as the shortest election timeout.
fn check_heartbeat(t: &Timers, out: &mut Vec<Warning>) -> bool {
    if t.heartbeat < t.min {
        return false;
    }
    out.push(Warning::new(
        t.heartbeat_field,
        format!(
            "the heartbeat ({}) is not shorter than the minimum election timeout ({}): followers time out \
             between two heartbeats of a healthy leader and start elections nobody needs. Make the heartbeat \
             well below the timeout, such as {} (a third of it), or raise raft.election_timeout.min",
            show(t.heartbeat),
            show(t.min),
            suggest(t.min / 3.0)
        ),
    ));
    true
}

/// A timeout range of one value.
fn check_randomness(t: &Timers, out: &mut Vec<Warning>) -> bool {
    if t.max > t.min {
        return false;
    }
    out.push(Warning::new(
        t.range_field,
        format!(
            "min and max are both {}: every node waits exactly as long, so after a leader is lost the followers \
             time out together and keep splitting the vote (the Raft paper measured more than 10 s without a \
             leader). Randomize the timeout, such as max: {} (twice the minimum)",
            show(t.min),
            suggest(2.0 * t.min)
        ),
    ));
    true
}

/// Every link model the scenario gives (the default, and each entry of `network.links` that sets one), with
/// the field that set it.
fn link_models(s: &Scenario) -> Vec<(String, &LinkModel)> {
    let mut models = vec![("network".to_string(), &s.link)];
    for (i, l) in s.links.iter().enumerate() {
        if let sim_core::Verdict::Model(m) = &l.verdict {
            models.push((format!("network.links.{i}"), m));
        }
    }
    models
}

/// Links whose p99 one-way delay reaches the minimum election timeout, or which lose most messages. Returns
/// whether any delay did.
fn check_links(s: &Scenario, t: &Timers, out: &mut Vec<Warning>) -> bool {
    let mut slow = false;
    for (field, m) in link_models(s) {
        let p99 = link_quantile(m, Q);
        if p99 >= t.min {
            slow = true;
            let plain = quantile(&m.latency, Q);
            let (at, what) = if m.long_delay.is_some() && plain < t.min {
                (
                    format!("{field}.long_delay"),
                    "with its long delays, p99 of the one-way delay",
                )
            } else if field == "network" {
                ("network.latency".to_string(), "p99 of the one-way delay")
            } else {
                (field.clone(), "p99 of the one-way delay")
            };
            out.push(Warning::new(
                at,
                format!(
                    "{what} is {}, not below the minimum election timeout ({}): messages often arrive after the \
                     timers waiting for them have fired, which breaks Raft's broadcast time << election \
                     timeout. Raise raft.election_timeout.min to about ten times the delay ({}), or make the \
                     delay shorter",
                    show(p99),
                    show(t.min),
                    suggest(10.0 * p99)
                ),
            ));
        }
        if m.loss >= LOSS_LIMIT {
            let at = if field == "network" {
                "network.loss".to_string()
            } else {
                format!("{field}.loss")
            };
            out.push(Warning::new(
                at,
                format!(
                    "{}% of messages are lost: most heartbeats and votes never arrive, so followers keep timing \
                     out and elections rarely finish. Lower it below {LOSS_LIMIT}; to model a link that is \
                     down, cut it (`cut: true`, or a `cut` fault)",
                    trim_pct(m.loss)
                ),
            ));
        }
    }
    slow
}

fn trim_pct(x: f64) -> String {
    let s = format!("{:.1}", x * 100.0);
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// Each machine's durable writes and message handling, against the minimum election timeout. Returns whether
/// any reached it.
fn check_hosts(s: &Scenario, t: &Timers, out: &mut Vec<Warning>) -> bool {
    let mut slow = false;
    for (field, what, l) in host_delays(s) {
        let p99 = quantile(&l, Q);
        if p99 >= t.min {
            slow = true;
            let machines = if field.starts_with("cluster.hosts.") {
                "that machine's"
            } else {
                "every machine's"
            };
            out.push(Warning::new(
                field,
                format!(
                    "p99 of {what} is {}, not below the minimum election timeout ({}): votes and \
                     acknowledgements wait for it, so {machines} answers often come after the timers waiting \
                     for them have fired. Raise raft.election_timeout.min to about ten times it ({}), or make \
                     it shorter",
                    show(p99),
                    show(t.min),
                    suggest(10.0 * p99)
                ),
            ));
        }
    }
    slow
}

/// Where the scenario sets a durable-write or message-handling delay: the field, its name in words, and the
/// distribution.
fn host_delays(s: &Scenario) -> Vec<(String, &'static str, Latency)> {
    let raw = &s.raw.cluster;
    let mut found = Vec::new();
    let mut add = |field: String, what: &'static str, l: &Option<crate::scenario::RawLatency>| {
        let no_error = |_: &str, m: String| InputError::new(m);
        if let Some(Ok(l)) = l
            .as_ref()
            .map(|l| crate::scenario::resolve_latency(l, &field, &no_error))
        {
            found.push((field, what, l));
        }
    };
    add(
        "cluster.persist_latency".into(),
        "a durable write",
        &raw.persist_latency,
    );
    add(
        "cluster.processing_delay".into(),
        "handling a message",
        &raw.processing_delay,
    );
    for (i, h) in raw.hosts.iter().enumerate() {
        add(
            format!("cluster.hosts.{i}.persist_latency"),
            "a durable write",
            &h.persist_latency,
        );
        add(
            format!("cluster.hosts.{i}.processing_delay"),
            "handling a message",
            &h.processing_delay,
        );
    }
    found
}

/// The randomized part of the timeout against the time a vote request takes to reach the other nodes: when
/// the spread is shorter, a second node usually times out before the first one's request arrives, and the
/// vote splits.
fn check_spread(s: &Scenario, t: &Timers, out: &mut Vec<Warning>) {
    let spread = t.max - t.min;
    let one_way = link_models(s)
        .iter()
        .map(|(_, m)| link_quantile(m, Q))
        .fold(0.0, f64::max);
    let worst = |pick: fn(&sim_core::Host) -> Option<&Latency>| {
        s.hosts
            .iter()
            .filter_map(pick)
            .map(|l| quantile(l, Q))
            .fold(0.0, f64::max)
    };
    let write = worst(|h| h.persist.as_ref());
    let handling = worst(|h| h.processing.as_ref());
    let window = one_way + write + handling;
    if spread >= window {
        return;
    }
    let mut parts = vec![format!("its durable write {}", show(write))];
    parts.retain(|_| write > 0.0);
    parts.push(format!("the one-way delay {}", show(one_way)));
    if handling > 0.0 {
        parts.push(format!("handling {}", show(handling)));
    }
    out.push(Warning::new(
        t.range_field,
        format!(
            "the timeouts are spread over only {}, less than the {} a vote request needs to reach the other \
             nodes after its candidate's timer fires ({}, at p99): a second node usually times out before the \
             request arrives, so votes split and elections repeat. Widen the range, such as max: {} (min plus \
             ten times that)",
            show(spread),
            show(window),
            parts.join(", "),
            suggest(t.min + 10.0 * window)
        ),
    ));
}

/// The slowest and fastest clocks: a slow leader's heartbeats against a fast follower's timeouts, and a fast
/// node's longest timeout against a slow node's shortest.
fn check_clocks(s: &Scenario, t: &Timers, heartbeat_broken: bool, out: &mut Vec<Warning>) {
    if !s.hosts.iter().any(|h| h.has_clock_error()) {
        return;
    }
    let hours = s.time_limit.as_secs_f64() / 3600.0;
    // Each node's slowest and fastest rate over the trial (a drifting clock moves linearly).
    let rates: Vec<(f64, f64)> = s
        .hosts
        .iter()
        .map(|h| {
            let (a, b) = (h.clock_rate, h.clock_rate + h.clock_drift_per_hour * hours);
            (a.min(b).max(1e-6), a.max(b).max(1e-6))
        })
        .collect();
    // The pair of distinct nodes whose clocks differ most: `slow` runs slowest, `fast` fastest.
    let mut pair: Option<(usize, usize, f64)> = None;
    for (a, &(slow_rate, _)) in rates.iter().enumerate() {
        for (b, &(_, fast_rate)) in rates.iter().enumerate() {
            let ratio = fast_rate / slow_rate;
            if a != b && pair.is_none_or(|(_, _, r)| ratio > r) {
                pair = Some((a, b, ratio));
            }
        }
    }
    let Some((slow, fast, ratio)) = pair else { return };
    if ratio <= 1.0 {
        return;
    }
    let (r_slow, r_fast) = (rates[slow].0, rates[fast].1);
    let field = host_field(s, fast)
        .or_else(|| host_field(s, slow))
        .unwrap_or_else(|| "cluster.hosts".into());
    let (hb, min) = (t.heartbeat / r_slow, t.min / r_fast);
    if !heartbeat_broken && hb >= min {
        out.push(Warning::new(
            field.clone(),
            format!(
                "with these clocks the heartbeat reaches the election timeout: node {slow}'s clock (rate {}) \
                 stretches its {} heartbeat to {}, while node {fast}'s (rate {}) shrinks its {} minimum timeout \
                 to {}, so while node {slow} leads, node {fast} times out between heartbeats. Lower \
                 raft.heartbeat well below {}, or bring the clock rates closer",
                rate(r_slow),
                show(t.heartbeat),
                show(hb),
                rate(r_fast),
                show(t.min),
                show(min),
                show(t.min * r_slow / r_fast)
            ),
        ));
    }
    if t.max > t.min && ratio > t.max / t.min {
        out.push(Warning::new(
            field,
            format!(
                "the clock skew exceeds the timeout spread: node {fast}'s clock runs {ratio:.2} times as fast as \
                 node {slow}'s, more than max/min of the timeout ({:.2}), so node {fast}'s longest timeout ({}) \
                 is shorter than node {slow}'s shortest ({}): it always times out first, and the randomized \
                 timeouts no longer decide who campaigns. Widen raft.election_timeout (max above {}), or bring \
                 the clock rates closer",
                t.max / t.min,
                show(t.max / r_fast),
                show(t.min / r_slow),
                suggest(t.min * ratio * 1.5)
            ),
        ));
    }
}

fn rate(r: f64) -> String {
    let s = format!("{r:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The `cluster.hosts` entry that sets node `node`'s clock, the last one that does.
fn host_field(s: &Scenario, node: usize) -> Option<String> {
    s.raw
        .cluster
        .hosts
        .iter()
        .enumerate()
        .rev()
        .find(|(_, h)| h.nodes.contains(&(node as u64)) && (h.clock_rate.is_some() || h.clock_drift_per_hour.is_some()))
        .map(|(i, h)| {
            let f = if h.clock_rate.is_some() {
                "clock_rate"
            } else {
                "clock_drift_per_hour"
            };
            format!("cluster.hosts.{i}.{f}")
        })
}

/// Links cut for the whole trial (`network.links` with `cut: true`) that leave no node able to exchange every
/// kind of message with a majority: no leader can be elected, or keep its followers.
fn check_cuts(s: &Scenario, out: &mut Vec<Warning>) {
    if !s.links.iter().any(|l| l.verdict == sim_core::Verdict::Cut) {
        return;
    }
    let net = s.network();
    let kinds = [
        WireKind::RequestVote,
        WireKind::RequestVoteReply,
        WireKind::AppendEntries,
        WireKind::Heartbeat,
        WireKind::AppendEntriesReply,
    ];
    let talks = |a: usize, b: usize| {
        let (a, b) = (NodeId::new(a), NodeId::new(b));
        kinds
            .iter()
            .all(|k| net.link_for(a, b, k.class()).is_some() && net.link_for(b, a, k.class()).is_some())
    };
    let best = (0..s.nodes)
        .map(|a| 1 + (0..s.nodes).filter(|&b| b != a && talks(a, b)).count())
        .max()
        .unwrap_or(0);
    if best * 2 > s.nodes {
        return;
    }
    let field = s
        .links
        .iter()
        .rposition(|l| l.verdict == sim_core::Verdict::Cut)
        .map_or_else(|| "network.links".to_string(), |i| format!("network.links.{i}"));
    out.push(Warning::new(
        field,
        format!(
            "the links cut for the whole trial leave no majority: no node can exchange every kind of message \
             with more than {} of the {} nodes (itself included), and a leader needs {}. No leader is elected \
             all trial. Remove a cut, or limit it to some messages with `kinds`",
            best,
            s.nodes,
            s.nodes / 2 + 1
        ),
    ));
}

/// Faults whose selectors cannot name a node when they fire, and partitions that leave no majority for good.
fn check_faults(s: &Scenario, out: &mut Vec<Warning>) {
    let n = s.nodes as u64;
    let mut may_be_crashed = s.churn.is_some();
    for (i, f) in s.faults.iter().enumerate() {
        let (field, selectors): (&str, Vec<&Selector>) = match &f.action {
            Action::Crash(x) => ("crash", vec![x]),
            Action::Restart(x) => ("restart", vec![x]),
            Action::TransferLeadership(x) => ("transfer_leadership", vec![x]),
            Action::StepDown(x) => ("step_down", vec![x]),
            Action::Partition(g) => ("partition", g.iter().flatten().collect()),
            Action::Cut { from, to, .. } => ("cut", from.iter().chain(to).collect()),
            Action::Flap { from, to, .. } => ("flap", from.iter().chain(to).collect()),
            Action::HealAll => ("heal", Vec::new()),
        };
        let here = format!("faults.{i}.{field}");
        let mut warn = |m: String| out.push(Warning::new(here.clone(), m));
        if n == 1
            && let Some(x) = selectors
                .iter()
                .find(|x| matches!(x, Selector::Follower | Selector::Followers | Selector::Random(_)))
        {
            warn(format!(
                "the cluster has one node, which leads, so `{x}` never names a live non-leader: the fault does \
                 nothing. Add nodes (cluster.nodes), or name node 0"
            ));
        }
        match &f.action {
            Action::Restart(_) if !may_be_crashed => warn(
                "no earlier fault crashes a node (and no churn runs), so there is nothing to restart when it \
                 fires: the fault does nothing. Crash a node before it (`crash: leader`), or remove it"
                    .into(),
            ),
            Action::Crash(Selector::Crashed) => warn(
                "`crash: crashed` crashes the nodes that are already down: it does nothing. Name the nodes to \
                 crash (`leader`, `follower`, a node id)"
                    .into(),
            ),
            Action::TransferLeadership(x @ (Selector::Leader | Selector::Crashed)) => warn(format!(
                "`{x}` never names a live node other than the leader, so the leader has nobody to hand over to \
                 and the fault does nothing. Name the successor: `follower`, a node id, or `random 1`"
            )),
            Action::StepDown(x @ (Selector::All | Selector::Crashed)) => warn(format!(
                "`step_down: {x}` {}, so the fault does nothing. Name the nodes that stop (`leader`, a node id)",
                if *x == Selector::All {
                    "leaves no live node outside the stopping ones to take over"
                } else {
                    "never includes the leader, which is live"
                }
            )),
            Action::Cut { from, to, .. } | Action::Flap { from, to, .. }
                if from.len() == 1 && from == to && matches!(from[0], Selector::Leader | Selector::Node(_)) =>
            {
                warn(format!(
                    "`from` and `to` both name `{}`, and a node has no link to itself: the fault cuts nothing. \
                     Name the other side (`followers`, `follower`, node ids)",
                    from[0]
                ))
            }
            _ => {}
        }
        if !matches!(f.action, Action::Restart(_) | Action::Crash(_))
            && !may_be_crashed
            && selectors.iter().any(|x| **x == Selector::Crashed)
        {
            warn(
                "`crashed` names the nodes that are down, and no earlier fault crashes one (and no churn runs): \
                 it names no node. Crash a node first, or name the nodes"
                    .into(),
            );
        }
        if let Action::Partition(groups) = &f.action {
            let healed_later = s.faults[i + 1..]
                .iter()
                .any(|g| matches!(g.action, Action::HealAll | Action::Partition(_)));
            if let Some(sizes) = group_sizes(groups, n)
                && !healed_later
                && sizes.iter().all(|&k| 2 * k <= n)
            {
                let shown: Vec<String> = sizes.iter().map(u64::to_string).collect();
                warn(format!(
                    "no group holds a majority (groups of {} of {n} nodes), and no later `heal: all` restores \
                     one: no leader can be elected for the rest of the trial, which then runs to its time \
                     limit. Give one group more than {} nodes, or heal it later (`- after: 2s` with `heal: \
                     all`)",
                    shown.join(", "),
                    n / 2
                ));
            }
        }
        if matches!(f.action, Action::Crash(_)) {
            may_be_crashed = true;
        }
    }
}

/// The sizes of a partition's groups when the selectors fix them (`crashed` does not), nodes in no group making
/// one more group.
fn group_sizes(groups: &[Vec<Selector>], n: u64) -> Option<Vec<u64>> {
    let mut sizes = Vec::with_capacity(groups.len() + 1);
    let mut named = 0u64;
    let mut others = None;
    for (g, group) in groups.iter().enumerate() {
        let mut ids: Vec<u64> = Vec::new();
        let mut k = 0u64;
        for x in group {
            k += match x {
                Selector::Node(id) if !ids.contains(id) => {
                    ids.push(*id);
                    1
                }
                Selector::Node(_) => 0,
                Selector::Leader | Selector::Follower => 1,
                Selector::Random(r) => u64::from(*r),
                Selector::Followers => n - 1,
                Selector::All => n,
                Selector::Crashed => return None,
                Selector::Others => {
                    others = Some(g);
                    0
                }
            };
        }
        named += k;
        sizes.push(k);
    }
    let rest = n.saturating_sub(named);
    match others {
        Some(g) => sizes[g] += rest,
        None if rest > 0 => sizes.push(rest),
        None => {}
    }
    Some(sizes)
}

// ---- quantiles of delay distributions ------------------------------------------------------------------------

/// The `q` quantile of a link's one-way delay, long delays included, in microseconds.
fn link_quantile(m: &LinkModel, q: f64) -> f64 {
    match &m.long_delay {
        None => quantile(&m.latency, q),
        Some(long) => {
            let p = long.probability;
            let f = |x: f64| (1.0 - p) * cdf(&m.latency, x) + p * cdf(&long.latency, x);
            invert(f, q)
        }
    }
}

/// The `q` quantile of a delay distribution, in microseconds.
fn quantile(l: &Latency, q: f64) -> f64 {
    invert(|x| cdf(l, x), q)
}

/// The smallest `x >= 0` with `f(x) >= q` for a non-decreasing `f`, to within a microsecond or 0.01 %.
fn invert(f: impl Fn(f64) -> f64, q: f64) -> f64 {
    if f(0.0) >= q {
        return 0.0;
    }
    let mut hi = 1.0;
    while f(hi) < q {
        hi *= 2.0;
        if hi > 1e18 {
            return hi;
        }
    }
    let mut lo = 0.0;
    while hi - lo > (hi * 1e-4).max(1.0) {
        let mid = (lo + hi) / 2.0;
        if f(mid) >= q {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// The probability that a draw of `l` is at most `x` microseconds.
fn cdf(l: &Latency, x: f64) -> f64 {
    if x < 0.0 {
        return 0.0;
    }
    let step = |at: f64| if x >= at { 1.0 } else { 0.0 };
    match l {
        Latency::Constant(d) => step(us(*d)),
        Latency::Uniform { min, max } => {
            let (a, b) = (us(*min), us(*max));
            if b <= a {
                step(a)
            } else {
                ((x - a) / (b - a)).clamp(0.0, 1.0)
            }
        }
        Latency::Normal { mean, std_dev } => {
            let (m, sd) = (us(*mean), us(*std_dev));
            if sd == 0.0 {
                return step(m);
            }
            // Truncated at zero: negative draws are drawn again.
            let below = phi(-m / sd);
            ((phi((x - m) / sd) - below) / (1.0 - below).max(1e-300)).clamp(0.0, 1.0)
        }
        Latency::LogNormal { median, sigma } => {
            if *sigma == 0.0 {
                return step(us(*median));
            }
            if x <= 0.0 {
                return 0.0;
            }
            phi((x / us(*median)).ln() / sigma)
        }
        Latency::Exponential { min, mean } => {
            let (a, m) = (us(*min), us(*mean));
            if x < a { 0.0 } else { 1.0 - (-(x - a) / (m - a)).exp() }
        }
        Latency::Pareto { min, shape } => {
            let a = us(*min);
            if x < a { 0.0 } else { 1.0 - (a / x).powf(*shape) }
        }
        Latency::Empirical(e) => {
            let pts = e.points();
            let mut below = 0.0;
            for w in pts.windows(2) {
                let ((q0, d0), (q1, d1)) = ((w[0].0, us(w[0].1)), (w[1].0, us(w[1].1)));
                if x < d0 {
                    return below;
                }
                if x < d1 {
                    return q0 + (q1 - q0) * (x - d0) / (d1 - d0);
                }
                below = q1;
            }
            below
        }
    }
}

/// The standard normal distribution function (Abramowitz and Stegun 7.1.26, error below 1.5e-7).
fn phi(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 { 0.5 * (1.0 + erf) } else { 0.5 * (1.0 - erf) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(x: u64) -> Duration {
        Duration::from_millis(x)
    }

    #[test]
    fn quantiles_of_the_delay_shapes() {
        let close = |a: f64, b: f64| (a - b).abs() <= b * 2e-3 + 1.0;
        assert!(close(quantile(&Latency::Constant(ms(5)), Q), 5000.0));
        assert!(close(
            quantile(
                &Latency::Uniform {
                    min: ms(1),
                    max: ms(11)
                },
                Q
            ),
            10_900.0
        ));
        let ln = Latency::log_normal_from_p99(ms(32), ms(45)).unwrap();
        assert!(close(quantile(&ln, Q), 45_000.0), "{}", quantile(&ln, Q));
        let ex = Latency::Exponential {
            min: ms(1),
            mean: ms(2),
        };
        assert!(close(quantile(&ex, Q), 1000.0 + 1000.0 * 100f64.ln()));
        let pa = Latency::Pareto { min: ms(1), shape: 2.0 };
        assert!(close(quantile(&pa, Q), 10_000.0));
        let no = Latency::Normal {
            mean: ms(10),
            std_dev: ms(2),
        };
        assert!(
            close(quantile(&no, Q), 10_000.0 + 2.326 * 2000.0),
            "{}",
            quantile(&no, Q)
        );
        // 2 % of messages delayed 50-500 ms: the p99 is the long delays' median.
        let churn = LinkModel {
            long_delay: Some(sim_core::LongDelay {
                probability: 0.02,
                latency: Latency::Uniform {
                    min: ms(50),
                    max: ms(500),
                },
            }),
            ..LinkModel::with_latency(Latency::Uniform {
                min: ms(1),
                max: ms(10),
            })
        };
        assert!(
            close(link_quantile(&churn, Q), 275_000.0),
            "{}",
            link_quantile(&churn, Q)
        );
    }

    #[test]
    fn times_read_as_written() {
        assert_eq!(show(150_000.0), "150ms");
        assert_eq!(show(2990.0), "2.99ms");
        assert_eq!(show(300.0), "300us");
        assert_eq!(show(1_500_000.0), "1.5s");
        assert_eq!(show(12_000_000.0), "12s");
        assert_eq!(suggest(33_333.0), "33ms");
    }
}
