//! Charts drawn with `plotters`, using an embedded DejaVu Sans so they render on machines with no fonts.

use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
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

/// The histogram as a PNG file at `path`.
pub fn histogram_png(h: &HistogramChart, path: &Path) -> Result<(), String> {
    register_fonts();
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    draw_histogram(&root, h)
}
