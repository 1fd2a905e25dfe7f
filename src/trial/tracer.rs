//! The trace part of a trial: turns what the engine recorded, what nodes reported and the facts of faults and
//! the client into [`TraceLine`]s. Only present when a trial is traced; tracing never changes what a trial does.

use super::Fact;
use super::cluster::Cluster;
use crate::host::RaftHost;
use crate::trace::{self, TraceEvent, TraceLine};
use raft_model::{Entry, LogIndex, Status};
use sim_core::{NodeId, SimTime};

/// The event trace of one trial.
#[derive(Default)]
pub struct Tracer {
    lines: Vec<TraceLine>,
}

impl Tracer {
    /// The lines so far.
    pub fn into_lines(self) -> Vec<TraceLine> {
        self.lines
    }

    /// Converts what the engine recorded since the last call.
    pub fn drain_engine<P: RaftHost, X>(&mut self, c: &mut Cluster<P, X>) {
        for (t, record) in c.sim.take_trace() {
            let t_us = t.as_micros();
            let mut line = match record {
                sim_core::Trace::Deliver { from, to, msg } => {
                    let mut l = TraceLine::new(t_us, Some(to.index()), TraceEvent::Deliver, P::describe(&msg));
                    l.peer = Some(from.index());
                    l.kind = Some(P::wire_kind(&msg));
                    l
                }
                sim_core::Trace::Timer { node, timer } => TraceLine::new(
                    t_us,
                    Some(node.index()),
                    TraceEvent::Timer,
                    trace::timer_name(timer).to_string(),
                ),
                sim_core::Trace::Send {
                    from,
                    to,
                    msg,
                    arrives,
                    copy,
                } => {
                    let event = if arrives.is_some() {
                        TraceEvent::Send
                    } else {
                        TraceEvent::Drop
                    };
                    let mut detail = P::describe(&msg);
                    if let Some(c) = copy {
                        detail.push_str(&format!(" (duplicated, copy at {c})"));
                    }
                    let mut l = TraceLine::new(t_us, Some(from.index()), event, detail);
                    l.peer = Some(to.index());
                    l.kind = Some(P::wire_kind(&msg));
                    l.arrives_us = arrives.map(|a| a.as_micros());
                    l
                }
                sim_core::Trace::Unsent { from, to, msg } => {
                    let detail = format!(
                        "{} (never left: n{} crashed before the write it waited for completed)",
                        P::describe(&msg),
                        from.index()
                    );
                    let mut l = TraceLine::new(t_us, Some(from.index()), TraceEvent::Drop, detail);
                    l.peer = Some(to.index());
                    l.kind = Some(P::wire_kind(&msg));
                    l
                }
                sim_core::Trace::Lost { from, to, msg } => {
                    let mut l = TraceLine::new(t_us, Some(to.index()), TraceEvent::Lost, P::describe(&msg));
                    l.peer = Some(from.index());
                    l.kind = Some(P::wire_kind(&msg));
                    l
                }
            };
            if let Some(n) = line.node {
                (line.term, line.role) = state_of(c, NodeId::new(n));
            }
            self.lines.push(line);
        }
    }

    /// `node` reported `st` at `t`, replacing `before`.
    pub fn on_status(&mut self, t: SimTime, node: NodeId, before: Option<Status>, st: Status) {
        let was = before.map_or("down", |b| trace::role_name(b.role));
        let leader = st.leader.map_or_else(|| "none".to_string(), |l| format!("n{}", l.0));
        let mut line = TraceLine::new(
            t.as_micros(),
            Some(node.index()),
            TraceEvent::Role,
            format!("{was} -> {} (leader {leader})", trace::role_name(st.role)),
        );
        line.term = Some(st.term.0);
        line.role = Some(trace::role_name(st.role));
        self.lines.push(line);
    }

    /// `node` applied `entry` at `index`, at `t`.
    pub fn on_applied(&mut self, t: SimTime, node: NodeId, index: LogIndex, entry: Entry) {
        let detail = format!("index {} term {} command {}", index.0, entry.term.0, entry.command);
        self.lines.push(TraceLine::new(
            t.as_micros(),
            Some(node.index()),
            TraceEvent::Apply,
            detail,
        ));
    }

    /// Records what a fault or the client did, at the cluster's time now.
    pub fn on_fact<P: RaftHost, X>(&mut self, c: &Cluster<P, X>, fact: &Fact) {
        let (event, node, detail) = match fact {
            Fact::Crash { node, .. } => (TraceEvent::Crash, Some(*node), format!("n{} crashes", node.index())),
            Fact::Restarted { node, term, log_len } => (
                TraceEvent::Restart,
                Some(*node),
                format!("n{} restarts from term {}, log of {log_len}", node.index(), term.0),
            ),
            Fact::Partitioned { groups, random } => {
                let prefix = if *random { "random, groups" } else { "groups" };
                (TraceEvent::Partition, None, format!("{prefix} {}", groups_text(groups)))
            }
            Fact::Links { links, cut } => {
                let pairs: Vec<String> = links.iter().map(|(a, b)| format!("{a}->{b}")).collect();
                let event = if *cut { TraceEvent::Cut } else { TraceEvent::Restore };
                (event, None, pairs.join(" "))
            }
            Fact::Healed => (TraceEvent::Heal, None, "every link restored".to_string()),
            Fact::Transfer { from, to } => (
                TraceEvent::Transfer,
                Some(*from),
                format!("{from} hands leadership to {to}"),
            ),
            Fact::Client { node, command, result } => {
                let detail = match result {
                    Some(Ok((index, term))) => format!("start({command}) -> index {} term {}", index.0, term.0),
                    Some(Err(_)) => format!("start({command}) refused: not leader"),
                    None => format!("start({command}) failed: node down"),
                };
                (TraceEvent::Client, Some(*node), detail)
            }
            Fact::LeaderRemoved { .. } | Fact::Recovery | Fact::TransferStarted { .. } => return,
        };
        let mut line = TraceLine::new(c.now().as_micros(), node.map(|n| n.index()), event, detail);
        line.term = None;
        line.role = None;
        match fact {
            // The state just before the crash.
            Fact::Crash { before, .. } => {
                (line.term, line.role) = before.map_or((None, None), |(t, r)| (Some(t.0), Some(trace::role_name(r))))
            }
            // Logged as the node comes up: no state yet.
            Fact::Restarted { .. } => {}
            _ => {
                if let Some(n) = node {
                    (line.term, line.role) = state_of(c, n);
                }
            }
        }
        self.lines.push(line);
    }
}

/// The term and role of `node` now, if it is up.
fn state_of<P: RaftHost, X>(c: &Cluster<P, X>, node: NodeId) -> (Option<u64>, Option<&'static str>) {
    match c.process(node) {
        Some(p) => (Some(p.term().0), Some(trace::role_name(p.role()))),
        None => (None, None),
    }
}

fn groups_text(groups: &[Vec<NodeId>]) -> String {
    let parts: Vec<String> = groups
        .iter()
        .map(|g| {
            let ids: Vec<String> = g.iter().map(|n| n.to_string()).collect();
            format!("[{}]", ids.join(" "))
        })
        .collect();
    parts.join(" ")
}
