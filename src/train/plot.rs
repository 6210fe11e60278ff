//! `curves.png`: the per-epoch metrics drawn with plotters, loss on the left, the other metrics
//! (accuracy, AUC, RMSE, ...) on the right, the first column (the epoch; the fold for `credit`,
//! the algorithm's number for `recommender`) on the x axis.
//!
//! Text is drawn by plotters' pure-Rust `ab_glyph` backend with DejaVu Sans, shipped in
//! `data/fonts/` (licence beside it) and compiled into the binary.

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;

use crate::error::{Error, Result};

static FONT: &[u8] = include_bytes!("../../data/fonts/DejaVuSans.ttf");

/// Registers the bundled font as plotters' `sans-serif` (once per process; the bench's roofline
/// plot uses it too).
pub fn register_font() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok =
        *DONE.get_or_init(|| plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("curves", "the bundled font data/fonts/DejaVuSans.ttf is not a valid font"))
    }
}

/// A column drawn in a panel: name and values (one per epoch).
type Series<'a> = (&'a str, Vec<f64>);

/// Whether a metric column is a loss (left panel).
fn is_loss(name: &str) -> bool {
    name.contains("loss")
}

/// Whether a metric column is plotted at all (not the epoch, not timings or throughput).
fn is_plotted(name: &str) -> bool {
    name != "epoch" && !name.ends_with("_s") && !name.ends_with("per_s")
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Draws `columns`/`rows` (one row per epoch; the first column is the epoch) to `path` as a
/// 1200×500 PNG titled `title`.
pub fn draw_curves(path: &Path, title: &str, columns: &[String], rows: &[Vec<f64>]) -> Result<()> {
    register_font()?;
    let err = |e: &dyn std::fmt::Display| Error::file(path, format!("cannot draw the curves: {e}"));
    let epochs: Vec<f64> = rows.iter().map(|r| r.first().copied().unwrap_or(0.0)).collect();
    let series = |loss: bool| -> Vec<Series> {
        columns
            .iter()
            .enumerate()
            .filter(|(i, c)| *i > 0 && is_plotted(c) && is_loss(c) == loss)
            .map(|(i, c)| (c.as_str(), rows.iter().map(|r| r.get(i).copied().unwrap_or(f64::NAN)).collect()))
            .collect()
    };
    let root = BitMapBackend::new(path, (1200, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let root = root.titled(title, ("sans-serif", 26)).map_err(|e| err(&e))?;
    let panels = root.split_evenly((1, 2));
    for (panel, loss) in panels.iter().zip([true, false]) {
        let s = series(loss);
        let caption = if loss {
            "loss"
        } else if !s.is_empty() && s.iter().all(|(n, _)| n.contains("accuracy")) {
            "accuracy"
        } else {
            "metrics"
        };
        let x_desc = columns.first().map_or("epoch", String::as_str);
        draw_panel(panel, caption, x_desc, &epochs, &s).map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    x_desc: &str,
    epochs: &[f64],
    series: &[Series],
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let finite = || series.iter().flat_map(|(_, v)| v.iter().copied()).filter(|v| v.is_finite());
    let (mut lo, mut hi) =
        finite().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-6);
    // Enough decimals that neighbouring tick labels differ (2 at least).
    let decimals = (2.0 - (hi - lo).max(1e-6).log10()).floor().clamp(2.0, 6.0) as usize;
    let (x0, x1) = (epochs.first().copied().unwrap_or(1.0), epochs.last().copied().unwrap_or(1.0));
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(x0..x1, (lo - pad)..(hi + pad))?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .x_labels(epochs.len().clamp(2, 10))
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .y_label_formatter(&|v| format!("{v:.decimals$}"))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    for (i, (name, values)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let pts: Vec<(f64, f64)> =
            epochs.iter().copied().zip(values.iter().copied()).filter(|(_, v)| v.is_finite()).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(3)))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3)));
        chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 4, color.filled())))?;
    }
    if !series.is_empty() {
        chart
            .configure_series_labels()
            .label_font(("sans-serif", 18))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::MiddleRight)
            .draw()?;
    }
    Ok(())
}
