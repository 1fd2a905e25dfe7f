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
    let x_min = h.edges_ms.first().copied().unwrap_or(0.0);
    let x_max = h.edges_ms.last().copied().unwrap_or(1.0).max(x_min + 1e-3);
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
        .y_label_formatter(&|v| format!("{v:.0}"))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(e)?;
    let bars = h.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, &c)| {
        let x0 = h.edges_ms[i];
        let x1 = h.edges_ms[i + 1];
        let mut bar = Rectangle::new([(x0, 0.0), (x1, c as f64)], RGBColor(52, 101, 164).filled());
        bar.set_margin(0, 0, 1, 1);
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
    png(|root| draw_histogram(root, h))
}

/// Draws into an RGB buffer and encodes it as PNG in memory, so the bytes reach the disk through the report
/// folder like every other file (one place that names the path when a write fails).
fn png(draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), String>) -> Result<Vec<u8>, String> {
    let (w, h) = SIZE;
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
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
    /// The lines.
    pub lines: Vec<Line>,
}

/// A palette that stays distinguishable for a dozen lines (Tableau 10, then darker repeats).
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
    let dim = (i / C.len()) as u8 * 40;
    RGBColor(r.saturating_sub(dim), g.saturating_sub(dim), b.saturating_sub(dim))
}

fn draw_lines<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &LineChart) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
    root.fill(&WHITE).map_err(e)?;
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
    if c.unit_y {
        (y0, y1) = (0.0, 1.0);
    } else if c.y_log {
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
        x0 = x0.max(1e-3) * 0.7;
        x1 = x1.max(x0 * 10.0) * if c.scatter { 30.0 } else { 1.1 };
    } else {
        let pad = ((x1 - x0) * 0.05).max(1e-3);
        x0 -= pad;
        x1 += pad;
    }
    let caption = (FONT, 24).into_font().style(FontStyle::Bold);
    let mut builder = ChartBuilder::on(root);
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
                .y_desc(&c.y_label)
                .axis_desc_style((FONT, 18))
                .label_style((FONT, 14))
                .x_label_formatter(&|v| fmt_tick(*v))
                .y_label_formatter(&|v| fmt_tick(*v))
                .draw()
                .map_err(e)?;
            for (i, line) in c.lines.iter().enumerate() {
                let color = palette(i);
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
                if c.scatter {
                    chart
                        .draw_series(line.points.iter().map(|&p| Circle::new(p, 6, color.filled())))
                        .map_err(e)?
                        .label(line.label.clone())
                        .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.filled()));
                } else {
                    chart
                        .draw_series(LineSeries::new(line.points.iter().copied(), color.stroke_width(2)))
                        .map_err(e)?
                        .label(line.label.clone())
                        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
                }
            }
            if c.lines.iter().any(|l| !l.censored.is_empty()) {
                chart
                    .draw_series(std::iter::empty::<TriangleMarker<(f64, f64), i32>>())
                    .map_err(e)?
                    .label("censored: the value is above the mark")
                    .legend(|(x, y)| TriangleMarker::new((x + 10, y), 6, BLACK.filled()));
            }
            chart
                .configure_series_labels()
                .label_font((FONT, 14))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.4))
                .position(if c.unit_y {
                    SeriesLabelPosition::LowerRight
                } else {
                    SeriesLabelPosition::UpperRight
                })
                .draw()
                .map_err(e)?;
        }};
    }
    match (c.x_log, c.y_log) {
        (true, true) => finish!(
            builder
                .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
                .map_err(e)?
        ),
        (true, false) => finish!(builder.build_cartesian_2d((x0..x1).log_scale(), y0..y1).map_err(e)?),
        (false, true) => finish!(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale()).map_err(e)?),
        (false, false) => finish!(builder.build_cartesian_2d(x0..x1, y0..y1).map_err(e)?),
    }
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
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw_lines(&root, c)?;
    }
    Ok(svg)
}

/// The line chart as a PNG file's bytes.
pub fn lines_png(c: &LineChart) -> Result<Vec<u8>, String> {
    register_fonts();
    png(|root| draw_lines(root, c))
}
