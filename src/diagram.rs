//! A space-time diagram of one trial, drawn from its trace as a self-contained SVG: one lane per node shaded by
//! role (follower, pre-candidate, candidate, leader, down) and labelled with the term, arrows for messages
//! (votes and AppendEntries bold, heartbeats thin and thinned out when there are many), lost messages as short
//! red stubs, and faults as dashed vertical lines.

use crate::trace::{TraceEvent, TraceLine, WireKind};
use std::fmt::Write as _;

const WIDTH: f64 = 1400.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 50.0;
const LANE: f64 = 56.0;
/// At most this many heartbeat arrows (and their replies) are drawn; beyond it, every k-th.
const MAX_HEARTBEATS: usize = 300;

fn role_fill(role: &str) -> &'static str {
    match role {
        "leader" => "#7fc97f",
        "candidate" => "#fdae61",
        "pre-candidate" => "#fee08b",
        "down" => "#555555",
        _ => "#e8e8e8",
    }
}

fn message_style(kind: WireKind) -> (&'static str, f64) {
    match kind {
        WireKind::RequestVote => ("#2c7bb6", 1.6),
        WireKind::RequestVoteReply => ("#74add1", 1.2),
        WireKind::AppendEntries => ("#7b3294", 1.6),
        WireKind::AppendEntriesReply => ("#c2a5cf", 0.8),
        WireKind::Heartbeat => ("#9e9e9e", 0.6),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Draws `lines` (a trace of a cluster of `nodes`) between `from_us` and `until_us` (`None`: the whole trace).
pub fn svg(lines: &[TraceLine], nodes: usize, title: &str, from_us: Option<u64>, until_us: Option<u64>) -> String {
    let end = lines.iter().map(|l| l.t_us).max().unwrap_or(0).max(1);
    let t0 = from_us.unwrap_or(0).min(end);
    let t1 = until_us.unwrap_or(end).max(t0 + 1);
    let plot_w = WIDTH - LEFT - RIGHT;
    let x = |t: u64| LEFT + (t.clamp(t0, t1) - t0) as f64 / (t1 - t0) as f64 * plot_w;
    let lane_y = |n: usize| TOP + n as f64 * LANE + LANE / 2.0;
    let height = TOP + nodes as f64 * LANE + 70.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>"#,
        WIDTH / 2.0,
        esc(title)
    );

    // Role segments per node, from `role`, `crash` and `restart` lines.
    let mut state: Vec<(u64, String, Option<u64>)> = vec![(0, "follower".to_string(), None); nodes];
    let mut segments: Vec<(usize, u64, u64, String, Option<u64>)> = Vec::new();
    for l in lines {
        let Some(n) = l.node.filter(|&n| n < nodes) else {
            continue;
        };
        let next = match l.event {
            TraceEvent::Role => Some((l.role.unwrap_or("follower").to_string(), l.term)),
            TraceEvent::Crash => Some(("down".to_string(), None)),
            _ => None,
        };
        if let Some((role, term)) = next {
            let (since, ref was, was_term) = state[n];
            if *was != role || was_term != term {
                segments.push((n, since, l.t_us, was.clone(), was_term));
                state[n] = (l.t_us, role, term);
            }
        }
    }
    for (n, (since, role, term)) in state.into_iter().enumerate() {
        segments.push((n, since, end, role, term));
    }
    for (n, a, b, role, term) in &segments {
        if *b < t0 || *a > t1 {
            continue;
        }
        let (xa, xb) = (x(*a), x(*b));
        let y = lane_y(*n) - LANE * 0.3;
        let _ = writeln!(
            out,
            r#"<rect x="{xa:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>n{n} {role}{} from {:.3} to {:.3} ms</title></rect>"#,
            (xb - xa).max(0.5),
            LANE * 0.6,
            role_fill(role),
            term.map_or_else(String::new, |t| format!(" in term {t}")),
            *a as f64 / 1000.0,
            *b as f64 / 1000.0
        );
        if let Some(t) = term
            && xb - xa > 24.0
        {
            let _ = writeln!(
                out,
                r##"<text x="{:.1}" y="{:.1}" fill="#333">t{t}</text>"##,
                xa + 3.0,
                y + 12.0
            );
        }
    }
    for n in 0..nodes {
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{:.1}" text-anchor="end" font-size="13">n{n}</text>"#,
            LEFT - 10.0,
            lane_y(n) + 4.0
        );
    }

    // Messages.
    let heartbeats = lines
        .iter()
        .filter(|l| {
            l.event == TraceEvent::Send && matches!(l.kind, Some(WireKind::Heartbeat | WireKind::AppendEntriesReply))
        })
        .count();
    let every = heartbeats.div_ceil(MAX_HEARTBEATS).max(1);
    let mut hb_seen = 0usize;
    for l in lines
        .iter()
        .filter(|l| matches!(l.event, TraceEvent::Send | TraceEvent::Drop))
    {
        let (Some(from), Some(to), Some(kind)) = (l.node, l.peer, l.kind) else {
            continue;
        };
        if from >= nodes || to >= nodes || l.t_us > t1 || l.arrives_us.is_some_and(|a| a < t0) {
            continue;
        }
        if matches!(kind, WireKind::Heartbeat | WireKind::AppendEntriesReply) {
            hb_seen += 1;
            if !hb_seen.is_multiple_of(every) {
                continue;
            }
        }
        let (color, width) = message_style(kind);
        let (x1, y1) = (x(l.t_us), lane_y(from));
        match l.arrives_us {
            Some(a) => {
                let (x2, y2) = (x(a), lane_y(to));
                let _ = writeln!(
                    out,
                    r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{color}" stroke-width="{width}" marker-end="url(#arrow)"><title>{:.3} ms n{from} -> n{to}: {}</title></line>"#,
                    l.t_ms,
                    esc(&l.detail)
                );
            }
            None => {
                let y2 = y1 + (lane_y(to) - y1) * 0.25;
                let _ = writeln!(
                    out,
                    "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{:.1}\" y2=\"{y2:.1}\" stroke=\"#d7191c\" stroke-width=\"1.2\" stroke-dasharray=\"2,2\"><title>{:.3} ms n{from} -> n{to} lost: {}</title></line>",
                    x1 + 6.0,
                    l.t_ms,
                    esc(&l.detail)
                );
            }
        }
    }

    // Faults.
    for l in lines.iter().filter(|l| l.event.is_fault()) {
        if l.t_us < t0 || l.t_us > t1 {
            continue;
        }
        let xf = x(l.t_us);
        let _ = writeln!(
            out,
            "<line x1=\"{xf:.1}\" y1=\"{:.1}\" x2=\"{xf:.1}\" y2=\"{:.1}\" stroke=\"#d7191c\" stroke-width=\"1.2\" stroke-dasharray=\"6,3\"><title>{:.3} ms {}: {}</title></line>",
            TOP - 8.0,
            TOP + nodes as f64 * LANE,
            l.t_ms,
            l.event,
            esc(&l.detail)
        );
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#d7191c\">{}</text>",
            xf + 3.0,
            TOP - 10.0,
            l.event
        );
    }

    // Time axis.
    let axis_y = TOP + nodes as f64 * LANE + 8.0;
    let _ = writeln!(
        out,
        r#"<line x1="{LEFT}" y1="{axis_y:.1}" x2="{:.1}" y2="{axis_y:.1}" stroke="black"/>"#,
        WIDTH - RIGHT
    );
    let span_ms = (t1 - t0) as f64 / 1000.0;
    let step = [
        1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0,
    ]
    .into_iter()
    .find(|s| span_ms / s <= 12.0)
    .unwrap_or(20000.0);
    let mut tick = (t0 as f64 / 1000.0 / step).ceil() * step;
    while tick <= t1 as f64 / 1000.0 {
        let xt = x((tick * 1000.0) as u64);
        let _ = writeln!(
            out,
            r#"<line x1="{xt:.1}" y1="{axis_y:.1}" x2="{xt:.1}" y2="{:.1}" stroke="black"/>"#,
            axis_y + 4.0
        );
        let _ = writeln!(
            out,
            r#"<text x="{xt:.1}" y="{:.1}" text-anchor="middle">{tick}</text>"#,
            axis_y + 16.0
        );
        tick += step;
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">virtual time (ms)</text>"#,
        LEFT + plot_w / 2.0,
        axis_y + 32.0
    );

    // Legend.
    let mut lx = LEFT;
    let ly = axis_y + 50.0;
    for (name, fill) in [
        ("follower", "follower"),
        ("pre-candidate", "pre-candidate"),
        ("candidate", "candidate"),
        ("leader", "leader"),
        ("down", "down"),
    ] {
        let _ = writeln!(
            out,
            r#"<rect x="{lx:.1}" y="{:.1}" width="14" height="10" fill="{}"/><text x="{:.1}" y="{ly:.1}">{name}</text>"#,
            ly - 9.0,
            role_fill(fill),
            lx + 18.0
        );
        lx += 100.0;
    }
    for (name, kind) in [
        ("RequestVote", WireKind::RequestVote),
        ("vote reply", WireKind::RequestVoteReply),
        ("AppendEntries", WireKind::AppendEntries),
        ("heartbeat", WireKind::Heartbeat),
    ] {
        let (color, width) = message_style(kind);
        let _ = writeln!(
            out,
            r#"<line x1="{lx:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{color}" stroke-width="{width}"/><text x="{:.1}" y="{ly:.1}">{name}</text>"#,
            ly - 4.0,
            lx + 20.0,
            ly - 4.0,
            lx + 24.0
        );
        lx += 110.0;
    }
    if every > 1 {
        let _ = writeln!(
            out,
            r#"<text x="{lx:.1}" y="{ly:.1}">(1 in {every} heartbeats drawn)</text>"#
        );
    }
    let _ = writeln!(
        out,
        r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>"##
    );
    out.push_str("</svg>\n");
    out
}
