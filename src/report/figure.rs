//! The charts of a report folder: each drawn once as SVG (kept for the page) and once as PNG, then written
//! beside the page.

use super::chart::{self, HistogramChart, LineChart};
use super::dir::ReportDir;

/// A chart of a report: `<stem>.svg` and `<stem>.png`, shown on the page with its caption.
pub struct Figure {
    /// File name without extension.
    pub stem: String,
    /// What the chart shows.
    pub caption: String,
    /// The SVG document.
    pub svg: String,
}

impl Figure {
    /// Draws a line chart: the PNG into `dir` now, the SVG when [`write_figures_and_page`] runs.
    pub fn lines(dir: &ReportDir, stem: &str, caption: String, c: &LineChart) -> anyhow::Result<Figure> {
        let svg = chart::lines_svg(c).map_err(anyhow::Error::msg)?;
        let png = chart::lines_png(c).map_err(anyhow::Error::msg)?;
        dir.write(&format!("{stem}.png"), &png)?;
        Ok(Figure {
            stem: stem.to_string(),
            caption,
            svg,
        })
    }

    /// Draws a histogram, like [`Figure::lines`].
    pub fn histogram(dir: &ReportDir, stem: &str, caption: String, h: &HistogramChart) -> anyhow::Result<Figure> {
        let svg = chart::histogram_svg(h).map_err(anyhow::Error::msg)?;
        let png = chart::histogram_png(h).map_err(anyhow::Error::msg)?;
        dir.write(&format!("{stem}.png"), &png)?;
        Ok(Figure {
            stem: stem.to_string(),
            caption,
            svg,
        })
    }
}

/// Writes each figure's SVG and the page, and adds their names (and the PNGs') to `files`, page last.
pub fn write_figures_and_page(
    dir: &ReportDir,
    figures: &[Figure],
    page: &str,
    files: &mut Vec<String>,
) -> anyhow::Result<()> {
    for f in figures {
        dir.write(&format!("{}.svg", f.stem), f.svg.as_bytes())?;
        files.push(format!("{}.svg", f.stem));
        files.push(format!("{}.png", f.stem));
    }
    dir.write("report.html", page.as_bytes())?;
    files.push("report.html".to_string());
    Ok(())
}
