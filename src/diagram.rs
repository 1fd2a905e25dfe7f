//! A space-time diagram of one trial, drawn from its trace: one lane per node shaded by role (follower,
//! pre-candidate, candidate, leader, down) and labelled with the term, arrows for messages (votes and
//! AppendEntries bold, heartbeats thin and thinned out when there are many), lost messages as short red stubs,
//! and faults as dashed vertical lines, with a legend of every kind of mark. [`diagram`] lays it out as a list of
//! [`Shape`]s in pixels; [`Diagram::svg`] writes them as a self-contained SVG, and `report::chart` draws the same
//! shapes into a PNG.

use crate::trace::{TraceEvent, TraceLine, WireKind};
use std::fmt::Write as _;

const WIDTH: f64 = 1400.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 30.0;
/// Room above the lanes for the title and two rows of fault labels.
const TOP: f64 = 66.0;
const LANE: f64 = 56.0;
/// At most this many heartbeat arrows (and their replies) are drawn; beyond it, every k-th.
const MAX_HEARTBEATS: usize = 300;
/// Font size of ordinary text.
const FONT: f64 = 11.0;
const FAULT_RED: &str = "#d7191c";

/// Where a text's `x` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// The text starts at `x`.
    Start,
    /// The text is centred on `x`.
    Middle,
    /// The text ends at `x`.
    End,
}

/// One mark of the diagram, in pixels from the top left corner.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// A filled rectangle.
    Rect {
        /// Left, top, width, height.
        x: f64,
        /// Top.
        y: f64,
        /// Width.
        w: f64,
        /// Height.
        h: f64,
        /// Fill colour, `#rrggbb`.
        fill: &'static str,
        /// Hover text.
        title: Option<String>,
    },
    /// A straight line, dashed (`dash`: drawn, gap) or solid, with an arrowhead at its end or not.
    Line {
        /// Start.
        from: (f64, f64),
        /// End.
        to: (f64, f64),
        /// Colour, `#rrggbb`.
        color: &'static str,
        /// Stroke width.
        width: f64,
        /// Dash and gap lengths.
        dash: Option<(f64, f64)>,
        /// An arrowhead at `to`.
        arrow: bool,
        /// Hover text.
        title: Option<String>,
    },
    /// Text on a baseline at `y`.
    Text {
        /// Anchor point.
        x: f64,
        /// Baseline.
        y: f64,
        /// The text.
        text: String,
        /// Font size in pixels.
        size: f64,
        /// Where `x` is.
        anchor: Anchor,
        /// Colour, `#rrggbb`.
        color: &'static str,
    },
}

/// A laid-out diagram.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagram {
    /// Width in pixels.
    pub width: f64,
    /// Height in pixels.
    pub height: f64,
    /// The marks, in drawing order.
    pub shapes: Vec<Shape>,
}

/// The embedded DejaVu Sans, which the PNG is drawn with and the layout measures text in (a browser showing the
/// SVG picks its own sans-serif, of about the same widths).
pub fn font() -> ab_glyph::FontRef<'static> {
    ab_glyph::FontRef::try_from_slice(dejavu::sans::regular()).expect("the embedded DejaVu Sans loads")
}

/// Each glyph of `text` at `size` pixels per em with its x offset from the start, and the whole advance: glyph
/// advances and kerning as the font gives them, unrounded, so letters are evenly spaced at any size.
pub fn layout_text(font: &ab_glyph::FontRef<'_>, text: &str, size: f64) -> (Vec<(ab_glyph::GlyphId, f32)>, f64) {
    use ab_glyph::{Font as _, ScaleFont as _};
    let scaled = font.as_scaled(px_scale(font, size));
    let mut caret = 0.0f32;
    let mut prev = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        glyphs.push((id, caret));
        caret += scaled.h_advance(id);
        prev = Some(id);
    }
    (glyphs, caret as f64)
}

/// ab_glyph's scale for a font size of `size` pixels per em (as SVG's `font-size`).
pub fn px_scale(font: &ab_glyph::FontRef<'_>, size: f64) -> ab_glyph::PxScale {
    use ab_glyph::Font as _;
    let per_em = font.units_per_em().unwrap_or(2048.0);
    ab_glyph::PxScale::from((size as f32) * font.height_unscaled() / per_em)
}

/// The width of `text` at `size` pixels per em.
pub fn text_width(text: &str, size: f64) -> f64 {
    layout_text(&font(), text, size).1
}

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

fn text(x: f64, y: f64, s: impl Into<String>, anchor: Anchor, color: &'static str) -> Shape {
    Shape::Text {
        x,
        y,
        text: s.into(),
        size: FONT,
        anchor,
        color,
    }
}

fn line(from: (f64, f64), to: (f64, f64), color: &'static str, width: f64) -> Shape {
    Shape::Line {
        from,
        to,
        color,
        width,
        dash: None,
        arrow: false,
        title: None,
    }
}

/// Draws `lines` (a trace of a cluster of `nodes`) between `from_us` and `until_us` (`None`: the whole trace) as
/// an SVG document.
pub fn svg(lines: &[TraceLine], nodes: usize, title: &str, from_us: Option<u64>, until_us: Option<u64>) -> String {
    diagram(lines, nodes, title, from_us, until_us).svg()
}

/// Lays out the diagram of `lines` (a trace of a cluster of `nodes`) between `from_us` and `until_us` (`None`: the
/// whole trace).
pub fn diagram(lines: &[TraceLine], nodes: usize, title: &str, from_us: Option<u64>, until_us: Option<u64>) -> Diagram {
    let end = lines.iter().map(|l| l.t_us).max().unwrap_or(0).max(1);
    let t0 = from_us.unwrap_or(0).min(end);
    let t1 = until_us.unwrap_or(end).max(t0 + 1);
    let plot_w = WIDTH - LEFT - RIGHT;
    let x = |t: u64| LEFT + (t.clamp(t0, t1) - t0) as f64 / (t1 - t0) as f64 * plot_w;
    let lane_y = |n: usize| TOP + n as f64 * LANE + LANE / 2.0;
    let height = TOP + nodes as f64 * LANE + 100.0;
    let mut shapes = vec![Shape::Text {
        x: WIDTH / 2.0,
        y: 22.0,
        text: title.to_string(),
        size: 15.0,
        anchor: Anchor::Middle,
        color: "#000000",
    }];

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
        shapes.push(Shape::Rect {
            x: xa,
            y,
            w: (xb - xa).max(0.5),
            h: LANE * 0.6,
            fill: role_fill(role),
            title: Some(format!(
                "n{n} {role}{} from {:.3} to {:.3} ms",
                term.map_or_else(String::new, |t| format!(" in term {t}")),
                *a as f64 / 1000.0,
                *b as f64 / 1000.0
            )),
        });
        if let Some(t) = term
            && xb - xa > 24.0
        {
            shapes.push(text(xa + 3.0, y + 12.0, format!("t{t}"), Anchor::Start, "#333333"));
        }
    }
    for n in 0..nodes {
        shapes.push(Shape::Text {
            x: LEFT - 10.0,
            y: lane_y(n) + 4.0,
            text: format!("n{n}"),
            size: 13.0,
            anchor: Anchor::End,
            color: "#000000",
        });
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
        shapes.push(match l.arrives_us {
            Some(a) => Shape::Line {
                from: (x1, y1),
                to: (x(a), lane_y(to)),
                color,
                width,
                dash: None,
                arrow: true,
                title: Some(format!("{:.3} ms n{from} -> n{to}: {}", l.t_ms, l.detail)),
            },
            None => Shape::Line {
                from: (x1, y1),
                to: (x1 + 6.0, y1 + (lane_y(to) - y1) * 0.25),
                color: FAULT_RED,
                width: 1.2,
                dash: Some((2.0, 2.0)),
                arrow: false,
                title: Some(format!("{:.3} ms n{from} -> n{to} lost: {}", l.t_ms, l.detail)),
            },
        });
    }

    // Faults: a dashed line across the lanes, and its name above them, in the first of two rows where it does
    // not run into the previous label, and turned to end at the line where it would run off the right edge.
    let mut row_ends = [f64::NEG_INFINITY; 2];
    for l in lines.iter().filter(|l| l.event.is_fault()) {
        if l.t_us < t0 || l.t_us > t1 {
            continue;
        }
        let xf = x(l.t_us);
        shapes.push(Shape::Line {
            from: (xf, TOP - 8.0),
            to: (xf, TOP + nodes as f64 * LANE),
            color: FAULT_RED,
            width: 1.2,
            dash: Some((6.0, 3.0)),
            arrow: false,
            title: Some(format!("{:.3} ms {}: {}", l.t_ms, l.event, l.detail)),
        });
        let label = l.event.to_string();
        let w = text_width(&label, FONT);
        // With room to spare for a browser's sans-serif, which may be a little wider than DejaVu Sans.
        let (lx, anchor, left) = if xf + 3.0 + 1.2 * w > WIDTH - 4.0 {
            (xf - 3.0, Anchor::End, xf - 3.0 - w)
        } else {
            (xf + 3.0, Anchor::Start, xf + 3.0)
        };
        let row = (0..2).find(|&r| left > row_ends[r] + 4.0).unwrap_or(1);
        row_ends[row] = row_ends[row].max(left + w);
        shapes.push(text(lx, TOP - 12.0 - 13.0 * row as f64, label, anchor, FAULT_RED));
    }

    // Time axis.
    let axis_y = TOP + nodes as f64 * LANE + 8.0;
    shapes.push(line((LEFT, axis_y), (WIDTH - RIGHT, axis_y), "#000000", 1.0));
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
        shapes.push(line((xt, axis_y), (xt, axis_y + 4.0), "#000000", 1.0));
        shapes.push(text(xt, axis_y + 16.0, format!("{tick}"), Anchor::Middle, "#000000"));
        tick += step;
    }
    shapes.push(text(
        LEFT + plot_w / 2.0,
        axis_y + 32.0,
        "virtual time (ms)",
        Anchor::Middle,
        "#000000",
    ));

    // Legend: the roles on one row, every kind of line on the next, each entry as wide as its name.
    let ly = axis_y + 52.0;
    let mut lx = LEFT;
    for role in ["follower", "pre-candidate", "candidate", "leader", "down"] {
        shapes.push(Shape::Rect {
            x: lx,
            y: ly - 9.0,
            w: 14.0,
            h: 10.0,
            fill: role_fill(role),
            title: None,
        });
        shapes.push(text(lx + 18.0, ly, role, Anchor::Start, "#000000"));
        lx += 18.0 + text_width(role, FONT) + 22.0;
    }
    let ly = ly + 20.0;
    let mut lx = LEFT;
    let dashed = |from: (f64, f64), to: (f64, f64), dash: (f64, f64)| Shape::Line {
        from,
        to,
        color: FAULT_RED,
        width: 1.2,
        dash: Some(dash),
        arrow: false,
        title: None,
    };
    let mut entries: Vec<(String, Shape)> = [
        ("RequestVote", WireKind::RequestVote),
        ("vote reply", WireKind::RequestVoteReply),
        ("AppendEntries", WireKind::AppendEntries),
        ("AppendEntries reply", WireKind::AppendEntriesReply),
        ("heartbeat", WireKind::Heartbeat),
    ]
    .into_iter()
    .map(|(name, kind)| {
        let (color, width) = message_style(kind);
        let mark = Shape::Line {
            from: (0.0, ly - 4.0),
            to: (20.0, ly - 4.0),
            color,
            width,
            dash: None,
            arrow: true,
            title: None,
        };
        (name.to_string(), mark)
    })
    .collect();
    entries.push((
        "lost message".into(),
        dashed((4.0, ly - 8.0), (10.0, ly - 1.0), (2.0, 2.0)),
    ));
    entries.push((
        "fault (crash, partition, heal, ...)".into(),
        dashed((10.0, ly - 11.0), (10.0, ly + 2.0), (6.0, 3.0)),
    ));
    for (name, mut mark) in entries {
        if let Shape::Line { from, to, .. } = &mut mark {
            from.0 += lx;
            to.0 += lx;
        }
        shapes.push(mark);
        shapes.push(text(lx + 24.0, ly, name.as_str(), Anchor::Start, "#000000"));
        lx += 24.0 + text_width(&name, FONT) + 22.0;
    }
    if every > 1 {
        shapes.push(text(
            lx,
            ly,
            format!("(1 in {every} heartbeats drawn)"),
            Anchor::Start,
            "#000000",
        ));
    }
    Diagram {
        width: WIDTH,
        height,
        shapes,
    }
}

impl Diagram {
    /// The diagram as a self-contained SVG document (hover a mark for its details).
    pub fn svg(&self) -> String {
        let (w, h) = (self.width, self.height);
        let mut out = String::new();
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="{FONT}">"#
        );
        let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let title = |t: &Option<String>| {
            t.as_ref()
                .map_or(String::new(), |t| format!("<title>{}</title>", esc(t)))
        };
        for shape in &self.shapes {
            match shape {
                Shape::Rect {
                    x,
                    y,
                    w,
                    h,
                    fill,
                    title: t,
                } => {
                    let _ = writeln!(
                        out,
                        r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{fill}">{}</rect>"#,
                        title(t)
                    );
                }
                Shape::Line {
                    from,
                    to,
                    color,
                    width,
                    dash,
                    arrow,
                    title: t,
                } => {
                    let dash = dash.map_or(String::new(), |(a, b)| format!(r#" stroke-dasharray="{a},{b}""#));
                    let arrow = if *arrow { r#" marker-end="url(#arrow)""# } else { "" };
                    let _ = writeln!(
                        out,
                        r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{color}" stroke-width="{width}"{dash}{arrow}>{}</line>"#,
                        from.0,
                        from.1,
                        to.0,
                        to.1,
                        title(t)
                    );
                }
                Shape::Text {
                    x,
                    y,
                    text,
                    size,
                    anchor,
                    color,
                } => {
                    let anchor = match anchor {
                        Anchor::Start => "",
                        Anchor::Middle => r#" text-anchor="middle""#,
                        Anchor::End => r#" text-anchor="end""#,
                    };
                    let size = if *size == FONT {
                        String::new()
                    } else {
                        format!(r#" font-size="{size}""#)
                    };
                    let _ = writeln!(
                        out,
                        r#"<text x="{x:.1}" y="{y:.1}"{anchor}{size} fill="{color}">{}</text>"#,
                        esc(text)
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>"##
        );
        out.push_str("</svg>\n");
        out
    }
}
