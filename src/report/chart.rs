//! Charts drawn with `plotters`, using an embedded DejaVu Sans so they render on machines with no fonts.

use image::ImageEncoder;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::sync::Once;

/// Font family name registered for every chart.
const FONT: &str = "sans-serif";

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_err() {
            panic!("the embedded DejaVu Sans font did not load");
        }
        if plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).is_err() {
            panic!("the embedded DejaVu Sans Bold font did not load");
        }
    });
}

/// A histogram to draw.
#[derive(Clone, Debug)]
pub struct HistogramChart {
    /// Title.
    pub title: String,
    /// X-axis label, with unit.
    pub x_label: String,
    /// Bin edges (ms), one more than `counts`.
    pub edges_ms: Vec<f64>,
    /// Samples per bin.
    pub counts: Vec<u64>,
    /// Vertical markers, e.g. ("p50", 162.0).
    pub markers: Vec<(String, f64)>,
}

/// Chart size in pixels.
pub const SIZE: (u32, u32) = (960, 540);

fn draw_histogram<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, h: &HistogramChart) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
    root.fill(&WHITE).map_err(e)?;
    let mut x_min = h.edges_ms.first().copied().unwrap_or(0.0);
    let mut x_max = h.edges_ms.last().copied().unwrap_or(1.0).max(x_min + 1e-3);
    // A handful of equal samples spans no range: give the axis at least 1 ms so its ticks differ.
    if x_max - x_min < 1.0 {
        let mid = (x_min + x_max) / 2.0;
        (x_min, x_max) = ((mid - 0.5).max(0.0), (mid - 0.5).max(0.0) + 1.0);
    }
    let span = x_max - x_min;
    let decimals = if span >= 20.0 {
        0
    } else if span >= 2.0 {
        1
    } else {
        2
    };
    let y_max = (h.counts.iter().copied().max().unwrap_or(0) as f64 * 1.1).max(1.0);
    let mut chart = ChartBuilder::on(root)
        .caption(&h.title, (FONT, 24).into_font().style(FontStyle::Bold))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x_min..x_max, 0.0..y_max)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc(&h.x_label)
        .y_desc("trials")
        .axis_desc_style((FONT, 18))
        .label_style((FONT, 14))
        // Counts are whole: a tick between two whole numbers gets no label rather than a repeated one.
        .y_label_formatter(&|v| {
            if (v - v.round()).abs() < 1e-9 {
                format!("{v:.0}")
            } else {
                String::new()
            }
        })
        .x_label_formatter(&|v| format!("{v:.decimals$}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(e)?;
    let bars = h.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, &c)| {
        let (mut x0, mut x1) = (h.edges_ms[i], h.edges_ms[i + 1]);
        // A bin narrower than the axis can show is drawn at a visible width around its centre.
        let least = span / 150.0;
        if x1 - x0 < least {
            let mid = (x0 + x1) / 2.0;
            (x0, x1) = (mid - least / 2.0, mid + least / 2.0);
        }
        let mut bar = Rectangle::new([(x0, 0.0), (x1, c as f64)], RGBColor(52, 101, 164).filled());
        if x1 - x0 > 2.0 * least {
            bar.set_margin(0, 0, 1, 1);
        }
        bar
    });
    chart.draw_series(bars).map_err(e)?;
    let marker_colors = [RGBColor(204, 0, 0), RGBColor(245, 121, 0), RGBColor(92, 53, 102)];
    for (k, (label, x)) in h.markers.iter().enumerate() {
        let color = marker_colors[k % marker_colors.len()];
        chart
            .draw_series(LineSeries::new([(*x, 0.0), (*x, y_max)], color.stroke_width(2)))
            .map_err(e)?
            .label(format!("{label} = {x:.1} ms"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    if !h.markers.is_empty() {
        chart
            .configure_series_labels()
            .label_font((FONT, 16))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.4))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(e)?;
    }
    root.present().map_err(e)?;
    Ok(())
}

/// The histogram as an SVG document.
pub fn histogram_svg(h: &HistogramChart) -> Result<String, String> {
    register_fonts();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw_histogram(&root, h)?;
    }
    Ok(svg)
}

/// The histogram as a PNG file's bytes.
pub fn histogram_png(h: &HistogramChart) -> Result<Vec<u8>, String> {
    register_fonts();
    png(SIZE, |root| draw_histogram(root, h))
}

/// Draws into an RGB buffer and encodes it as PNG in memory, so the bytes reach the disk through the report
/// folder like every other file (one place that names the path when a write fails).
fn png(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), String>,
) -> Result<Vec<u8>, String> {
    let (w, h) = size;
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        draw(&root)?;
    }
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(&rgb, w, h, image::ColorType::Rgb8)
        .map_err(|e| format!("encoding a PNG: {e}"))?;
    Ok(out)
}

/// One line of a line chart.
#[derive(Clone, Debug, Default)]
pub struct Line {
    /// Legend label.
    pub label: String,
    /// Points, in x order.
    pub points: Vec<(f64, f64)>,
    /// A shaded band around the line (a confidence interval): `(x, low, high)` in x order; an infinite `high`
    /// reaches the top of the chart.
    pub band: Vec<(f64, f64, f64)>,
    /// Censored values `(x, bound)`: the value is above `bound`. Drawn as an upward triangle at the bound, with
    /// `>bound` beside it, and not joined to the line.
    pub censored: Vec<(f64, f64)>,
    /// In a scatter chart, join the points anyway (dashed): a frontier drawn through the dots.
    pub joined: bool,
}

/// A chart of lines (CDFs, percentiles against a parameter) or labelled dots (trade-offs).
#[derive(Clone, Debug)]
pub struct LineChart {
    /// Title.
    pub title: String,
    /// X-axis label, with unit.
    pub x_label: String,
    /// Y-axis label, with unit.
    pub y_label: String,
    /// Logarithmic x axis.
    pub x_log: bool,
    /// Logarithmic y axis (values must be positive; smaller ones sit on the axis).
    pub y_log: bool,
    /// Draw markers only (no connecting lines), with each line's label beside its first point.
    pub scatter: bool,
    /// Force the y axis to [0, 1] (CDFs).
    pub unit_y: bool,
    /// On a logarithmic x axis, the position that stands for zero: its tick is labelled `0`.
    pub x_zero_at: Option<f64>,
    /// The lines.
    pub lines: Vec<Line>,
}

/// Width of the legend panel to the right of a line chart's plotting area.
const LEGEND_WIDTH: u32 = 330;

/// Line charts are wider than histograms: the legend sits beside the plot, never on top of the lines.
pub const LINE_SIZE: (u32, u32) = (SIZE.0 + LEGEND_WIDTH, SIZE.1);

/// How the i-th line is stroked: ten colours, then the same ten dashed, then dotted, so two lines never look alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dash {
    Solid,
    Dashed,
    Dotted,
}

fn dash(i: usize) -> Dash {
    match (i / 10) % 3 {
        0 => Dash::Solid,
        1 => Dash::Dashed,
        _ => Dash::Dotted,
    }
}

/// A palette of ten distinct colours (Tableau 10); lines past the tenth repeat them with dashes ([`dash`]).
fn palette(i: usize) -> RGBColor {
    const C: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = C[i % C.len()];
    RGBColor(r, g, b)
}

/// One legend entry: its text and how its swatch is drawn.
struct LegendEntry {
    label: String,
    color: RGBColor,
    swatch: Swatch,
}

enum Swatch {
    Line(Dash),
    Dot,
    Triangle,
    /// Nothing was drawn for it (a point with no sample): the text says why.
    None,
}

/// Splits `text` into lines of at most `width` characters, at spaces where possible.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(cur);
    }
    out
}

fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, entries: &[LegendEntry]) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
    let rows: usize = entries.iter().map(|en| wrap(&en.label, 36).len()).sum();
    // Shrink the text rather than drop entries when there are many.
    let (font, row) = if rows <= 22 {
        (14, 20)
    } else {
        (11, (480 / rows.max(1)).clamp(9, 15) as i32)
    };
    let mut y = 60;
    for en in entries {
        let mid = y + row / 2;
        let style = en.color.stroke_width(2);
        match en.swatch {
            Swatch::Line(Dash::Solid) => {
                area.draw(&PathElement::new(vec![(10, mid), (36, mid)], style))
                    .map_err(e)?;
            }
            Swatch::Line(d) => {
                let (len, gap) = if d == Dash::Dashed { (7, 4) } else { (2, 3) };
                let mut x = 10;
                while x < 36 {
                    area.draw(&PathElement::new(vec![(x, mid), ((x + len).min(36), mid)], style))
                        .map_err(e)?;
                    x += len + gap;
                }
            }
            Swatch::Dot => area.draw(&Circle::new((23, mid), 5, en.color.filled())).map_err(e)?,
            Swatch::Triangle => area
                .draw(&TriangleMarker::new((23, mid), 6, en.color.filled()))
                .map_err(e)?,
            Swatch::None => area
                .draw(&Cross::new((23, mid), 4, BLACK.mix(0.5).stroke_width(1)))
                .map_err(e)?,
        }
        for (k, text) in wrap(&en.label, 36).iter().enumerate() {
            area.draw(&Text::new(
                text.clone(),
                (44, y + k as i32 * row + (row - font) / 2),
                (FONT, font),
            ))
            .map_err(e)?;
        }
        y += row * wrap(&en.label, 36).len() as i32 + 2;
    }
    Ok(())
}

fn draw_lines<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &LineChart) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
    root.fill(&WHITE).map_err(e)?;
    let width = root.dim_in_pixel().0;
    let (plot, legend) = root.split_horizontally(width.saturating_sub(LEGEND_WIDTH));
    let xs = c
        .lines
        .iter()
        .flat_map(|l| l.points.iter().chain(&l.censored).map(|p| p.0));
    let ys = c.lines.iter().flat_map(|l| {
        let band = l.band.iter().flat_map(|b| [b.1, b.2]).filter(|y| y.is_finite());
        l.points.iter().chain(&l.censored).map(|p| p.1).chain(band)
    });
    let (mut x0, mut x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    let (mut y0, mut y1) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| (a.min(y), b.max(y)));
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    // A range over two orders of magnitude is unreadable on a linear axis: everything small sits on the floor.
    let y_log = c.y_log || (!c.unit_y && !c.scatter && y0 > 0.0 && y1 / y0 > 100.0);
    let y_label = if y_log && !c.y_label.contains("log") {
        format!("{} (log scale)", c.y_label)
    } else {
        c.y_label.clone()
    };
    if c.unit_y {
        (y0, y1) = (0.0, 1.0);
    } else if y_log {
        let positive = c.lines.iter().flat_map(|l| {
            let band = l.band.iter().flat_map(|b| [b.1, b.2]);
            l.points.iter().chain(&l.censored).map(|p| p.1).chain(band)
        });
        y0 = positive
            .filter(|y| *y > 0.0 && y.is_finite())
            .fold(f64::INFINITY, f64::min);
        if !y0.is_finite() {
            y0 = 1.0;
        }
        y0 *= 0.7;
        y1 = y1.max(y0 * 10.0) * 1.6;
    } else {
        let pad = ((y1 - y0) * 0.08).max(y1.abs() * 0.05).max(1e-3);
        y0 = (y0 - pad).max(0.0);
        y1 += pad;
    }
    if c.x_log {
        x0 = c.x_zero_at.unwrap_or(x0.max(1e-3) * 0.7).min(x0.max(1e-3) * 0.7);
        x1 = x1.max(x0 * 10.0) * if c.scatter { 3.0 } else { 1.1 };
    } else {
        let pad = ((x1 - x0) * 0.05).max(1e-3);
        x0 -= pad;
        x1 += pad;
    }
    let zero_at = c.x_zero_at;
    let x_tick = move |v: f64| match zero_at {
        Some(z) if (v - z).abs() <= z * 1e-6 => "0".to_string(),
        _ => fmt_tick(v),
    };
    let mut entries: Vec<LegendEntry> = Vec::new();
    let caption = (FONT, 24).into_font().style(FontStyle::Bold);
    let mut builder = ChartBuilder::on(&plot);
    builder
        .caption(&c.title, caption)
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72);
    macro_rules! finish {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(&c.x_label)
                .y_desc(&y_label)
                .axis_desc_style((FONT, 18))
                .label_style((FONT, 14))
                .x_label_formatter(&|v| x_tick(*v))
                .y_label_formatter(&|v| fmt_tick(*v))
                .draw()
                .map_err(e)?;
            for (i, line) in c.lines.iter().enumerate() {
                let color = palette(i);
                let style = color.stroke_width(2);
                if !line.band.is_empty() {
                    let top = |y: f64| if y.is_finite() { y.min(y1) } else { y1 };
                    let mut outline: Vec<(f64, f64)> = line.band.iter().map(|b| (b.0, top(b.2))).collect();
                    outline.extend(line.band.iter().rev().map(|b| (b.0, b.1.max(y0))));
                    if line.band.len() == 1 {
                        // A single point: an error bar.
                        let b = line.band[0];
                        chart
                            .draw_series(LineSeries::new(
                                [(b.0, b.1.max(y0)), (b.0, top(b.2))],
                                color.stroke_width(6),
                            ))
                            .map_err(e)?;
                    } else {
                        chart
                            .draw_series(std::iter::once(Polygon::new(outline, color.mix(0.28).filled())))
                            .map_err(e)?;
                    }
                }
                if !line.censored.is_empty() {
                    chart
                        .draw_series(line.censored.iter().map(|&p| TriangleMarker::new(p, 8, color.filled())))
                        .map_err(e)?;
                    chart
                        .draw_series(line.censored.iter().map(|&(x, y)| {
                            EmptyElement::at((x, y))
                                + Text::new(
                                    crate::stats::above(y),
                                    (10, -10 - 14 * (i % 3) as i32),
                                    (FONT, 13).into_font().color(&color),
                                )
                        }))
                        .map_err(e)?;
                }
                let swatch = if line.points.is_empty() && line.censored.is_empty() {
                    Swatch::None
                } else if c.scatter && !line.joined {
                    chart
                        .draw_series(line.points.iter().map(|&p| Circle::new(p, 6, color.filled())))
                        .map_err(e)?;
                    if line.points.is_empty() {
                        Swatch::Triangle
                    } else {
                        Swatch::Dot
                    }
                } else {
                    let d = if line.joined { Dash::Dashed } else { dash(i) };
                    let pts = line.points.iter().copied();
                    match d {
                        Dash::Solid => {
                            chart.draw_series(LineSeries::new(pts, style)).map_err(e)?;
                        }
                        Dash::Dashed => {
                            chart.draw_series(DashedLineSeries::new(pts, 10, 6, style)).map_err(e)?;
                        }
                        Dash::Dotted => {
                            chart.draw_series(DashedLineSeries::new(pts, 2, 4, style)).map_err(e)?;
                        }
                    }
                    // Sweep lines have few points: mark each measured one.
                    if !line.joined && line.points.len() <= 40 {
                        chart
                            .draw_series(line.points.iter().map(|&p| Circle::new(p, 4, color.filled())))
                            .map_err(e)?;
                    }
                    Swatch::Line(d)
                };
                entries.push(LegendEntry {
                    label: line.label.clone(),
                    color,
                    swatch,
                });
            }
            if c.lines.iter().any(|l| !l.censored.is_empty()) {
                entries.push(LegendEntry {
                    label: "censored: the value is above the mark".into(),
                    color: BLACK,
                    swatch: Swatch::Triangle,
                });
            }
        }};
    }
    match (c.x_log, y_log) {
        (true, true) => finish!(
            builder
                .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
                .map_err(e)?
        ),
        (true, false) => finish!(builder.build_cartesian_2d((x0..x1).log_scale(), y0..y1).map_err(e)?),
        (false, true) => finish!(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale()).map_err(e)?),
        (false, false) => finish!(builder.build_cartesian_2d(x0..x1, y0..y1).map_err(e)?),
    }
    draw_legend(&legend, &entries)?;
    root.present().map_err(e)?;
    Ok(())
}

/// A tick label: no decimals for big values, a few for small ones.
fn fmt_tick(v: f64) -> String {
    if v.abs() >= 100.0 || v == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        let s = format!("{v:.1}");
        s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
    } else {
        format!("{v:.2}")
    }
}

/// The line chart as an SVG document.
pub fn lines_svg(c: &LineChart) -> Result<String, String> {
    register_fonts();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, LINE_SIZE).into_drawing_area();
        draw_lines(&root, c)?;
    }
    Ok(svg)
}

/// The line chart as a PNG file's bytes.
pub fn lines_png(c: &LineChart) -> Result<Vec<u8>, String> {
    register_fonts();
    png(LINE_SIZE, |root| draw_lines(root, c))
}

fn hex_color(hex: &str) -> RGBColor {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap_or(0);
    RGBColor((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

/// The space-time diagram of a replayed trial as a PNG file's bytes: the same shapes as its SVG at `scale` pixels
/// per SVG pixel, the text set with the embedded font's own advances and kerning
/// ([`crate::diagram::layout_text`]) so that it is evenly spaced.
pub fn diagram_png(d: &crate::diagram::Diagram, scale: f64) -> Result<Vec<u8>, String> {
    use crate::diagram::{Anchor, Shape};
    let (w, h) = ((d.width * scale).round() as u32, (d.height * scale).round() as u32);
    let p = |(x, y): (f64, f64)| ((x * scale).round() as i32, (y * scale).round() as i32);
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        let e = |e: DrawingAreaErrorKind<_>| format!("drawing the diagram: {e}");
        for shape in &d.shapes {
            match shape {
                Shape::Rect { x, y, w, h, fill, .. } => {
                    let rect = Rectangle::new([p((*x, *y)), p((x + w, y + h))], hex_color(fill).filled());
                    root.draw(&rect).map_err(e)?;
                }
                Shape::Line {
                    from,
                    to,
                    color,
                    width,
                    dash,
                    arrow,
                    ..
                } => {
                    let style = hex_color(color).stroke_width(((width * scale).round() as u32).max(1));
                    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
                    let len = (dx * dx + dy * dy).sqrt();
                    match dash {
                        Some((on, off)) if len > 0.0 => {
                            let pt = |t: f64| (from.0 + dx * t / len, from.1 + dy * t / len);
                            let mut at = 0.0;
                            while at < len {
                                let until = (at + on).min(len);
                                root.draw(&PathElement::new(vec![p(pt(at)), p(pt(until))], style))
                                    .map_err(e)?;
                                at += on + off;
                            }
                        }
                        _ => root.draw(&PathElement::new(vec![p(*from), p(*to)], style)).map_err(e)?,
                    }
                    if *arrow && len > 0.0 {
                        // As the SVG's marker: a triangle 5 px long, its tip at the end of the line.
                        let (ux, uy) = (dx / len, dy / len);
                        let back = (to.0 - 5.0 * ux, to.1 - 5.0 * uy);
                        let corner = |side: f64| (back.0 - 2.5 * uy * side, back.1 + 2.5 * ux * side);
                        let head = Polygon::new(vec![p(*to), p(corner(1.0)), p(corner(-1.0))], hex_color("#555555"));
                        root.draw(&head).map_err(e)?;
                    }
                }
                Shape::Text { .. } => {}
            }
        }
        root.present().map_err(e)?;
    }
    let font = crate::diagram::font();
    for shape in &d.shapes {
        if let Shape::Text {
            x,
            y,
            text,
            size,
            anchor,
            color,
        } = shape
        {
            let (glyphs, width) = crate::diagram::layout_text(&font, text, size * scale);
            let start = match anchor {
                Anchor::Start => x * scale,
                Anchor::Middle => x * scale - width / 2.0,
                Anchor::End => x * scale - width,
            };
            let c = hex_color(color);
            let scale_px = crate::diagram::px_scale(&font, size * scale);
            for (id, dx) in glyphs {
                use ab_glyph::Font as _;
                let glyph =
                    id.with_scale_and_position(scale_px, ab_glyph::point(start as f32 + dx, (y * scale) as f32));
                let Some(outline) = font.outline_glyph(glyph) else {
                    continue;
                };
                let b = outline.px_bounds();
                outline.draw(|gx, gy, cover| {
                    let (px, py) = (b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64);
                    if px < 0 || py < 0 || px >= w as i64 || py >= h as i64 {
                        return;
                    }
                    let i = ((py as usize) * w as usize + px as usize) * 3;
                    let a = cover.clamp(0.0, 1.0);
                    for (k, v) in [c.0, c.1, c.2].into_iter().enumerate() {
                        rgb[i + k] = (rgb[i + k] as f32 * (1.0 - a) + v as f32 * a).round() as u8;
                    }
                });
            }
        }
    }
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(&rgb, w, h, image::ColorType::Rgb8)
        .map_err(|e| format!("encoding a PNG: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of every `<text>` element, in document order, with its x position.
    fn texts(svg: &str) -> Vec<(f64, String)> {
        svg.split("<text")
            .skip(1)
            .filter_map(|chunk| {
                let x = chunk.split("x=\"").nth(1)?.split('"').next()?.parse().ok()?;
                let start = chunk.find('>')?;
                let end = chunk.find("</text>")?;
                Some((x, chunk[start + 1..end].trim().to_string()))
            })
            .collect()
    }

    fn chart(lines: Vec<Line>) -> LineChart {
        LineChart {
            title: "t".into(),
            x_label: "x (ms)".into(),
            y_label: "y (ms)".into(),
            x_log: false,
            y_log: false,
            scatter: false,
            unit_y: false,
            x_zero_at: None,
            lines,
        }
    }

    #[test]
    fn legends_sit_beside_the_plot_not_on_it() {
        let lines = (0..3)
            .map(|i| Line {
                label: format!("series {i}"),
                points: vec![(1.0, 1.0 + i as f64), (2.0, 2.0 + i as f64)],
                ..Line::default()
            })
            .collect();
        let svg = lines_svg(&chart(lines)).unwrap();
        let entries: Vec<_> = texts(&svg).into_iter().filter(|t| t.1.starts_with("series")).collect();
        assert_eq!(entries.len(), 3, "every series is in the legend");
        for (x, label) in entries {
            assert!(x >= f64::from(SIZE.0), "{label} at x = {x}, inside the plotting area");
        }
    }

    #[test]
    fn thirty_lines_never_share_a_colour_and_a_dash() {
        let styles: std::collections::BTreeSet<_> = (0..30)
            .map(|i| {
                let c = palette(i);
                (c.0, c.1, c.2, dash(i) as u8)
            })
            .collect();
        assert_eq!(styles.len(), 30);
    }

    #[test]
    fn a_range_over_two_decades_gets_a_log_axis() {
        let line = Line {
            label: "wide".into(),
            points: vec![(1.0, 2.0), (2.0, 900.0)],
            ..Line::default()
        };
        let svg = lines_svg(&chart(vec![line])).unwrap();
        assert!(svg.contains("y (ms) (log scale)"), "the axis says it is logarithmic");
        let narrow = Line {
            label: "narrow".into(),
            points: vec![(1.0, 200.0), (2.0, 900.0)],
            ..Line::default()
        };
        let svg = lines_svg(&chart(vec![narrow])).unwrap();
        assert!(!svg.contains("log scale"), "a narrow range stays linear");
    }

    #[test]
    fn a_one_sample_histogram_has_distinct_ticks() {
        let h = HistogramChart {
            title: "one".into(),
            x_label: "ms".into(),
            edges_ms: vec![126.0, 126.0001],
            counts: vec![1],
            markers: vec![],
        };
        let svg = histogram_svg(&h).unwrap();
        let ticks: Vec<String> = texts(&svg)
            .into_iter()
            .map(|t| t.1)
            .filter(|t| t.parse::<f64>().is_ok())
            .collect();
        let distinct: std::collections::BTreeSet<_> = ticks.iter().collect();
        assert_eq!(distinct.len(), ticks.len(), "a repeated tick label: {ticks:?}");
        assert!(ticks.len() >= 4, "{ticks:?}");
    }
}
