//! `curves.png`, drawn with plotters in one of three ways ([`Chart`]):
//!
//! - per-epoch metrics as lines ([`draw_curves`]), loss on the left, the other metrics (accuracy,
//!   AUC, ...) on the right, the epoch on the x axis. A value that is not a finite number (a NaN
//!   loss) leaves a gap in its line, and the panel says where, in red;
//! - one group of bars per row ([`draw_bars`] with [`Chart::BarsPerRow`]): `credit`'s folds, one
//!   bar per model's AUC (right) and the MLP's last training loss (left);
//! - one group of bars per metric, one bar per row ([`Chart::BarsPerMetric`]): `recommender`'s
//!   algorithms, labelled in the legend, side by side on each metric. A missing figure (`als-implicit`
//!   predicts no ratings: no RMSE) is written `n/a` where its bar would stand.
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

/// How `curves.png` draws the metric rows (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Chart {
    /// Each metric a line along the first column (the epoch).
    #[default]
    Lines,
    /// One group of bars per row (a fold), one bar per metric.
    BarsPerRow,
    /// One group of bars per metric, one bar per row (an algorithm).
    BarsPerMetric,
}

/// A column drawn in a panel: name and values (one per row).
type Series<'a> = (&'a str, Vec<f64>);

/// Whether a metric column is a loss (left panel).
fn is_loss(name: &str) -> bool {
    name.contains("loss")
}

/// Whether a metric column is plotted at all (not the epoch, not timings or throughput).
fn is_plotted(name: &str) -> bool {
    name != "epoch" && !name.ends_with("_s") && !name.ends_with("per_s")
}

/// Twelve distinct colours (matplotlib's `tab10`, then two more), so that every recommender has
/// its own.
const COLORS: [RGBColor; 12] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(0, 0, 128),
    RGBColor(128, 64, 0),
];

/// The colour of the notes about values that are not finite.
const NOTE: RGBColor = RGBColor(200, 0, 0);

/// The runs of consecutive finite values of `values`, as index ranges: each is drawn as its own
/// line, so that a NaN leaves a gap instead of being bridged or emptying the panel.
fn finite_runs(values: &[f64]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, v) in values.iter().enumerate() {
        match (v.is_finite(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push(s..values.len());
    }
    runs
}

/// The note for a series with values that are not finite (`None` when all are):
/// `train_loss: not a finite number at epoch 3, 4 (a gap in the line)`.
fn nonfinite_note(name: &str, x_desc: &str, xs: &[f64], values: &[f64]) -> Option<String> {
    let bad: Vec<String> =
        xs.iter().zip(values).filter(|(_, v)| !v.is_finite()).map(|(x, _)| format!("{x:.0}")).collect();
    if bad.is_empty() {
        None
    } else if bad.len() == values.len() {
        Some(format!("{name}: not a finite number at any {x_desc} (nothing to draw)"))
    } else {
        let shown = if bad.len() > 8 { format!("{}, ...", bad[..8].join(", ")) } else { bad.join(", ") };
        Some(format!("{name}: not a finite number at {x_desc} {shown} (a gap in the line)"))
    }
}

/// Draws `columns`/`rows` (one row per epoch; the first column is the epoch) to `path` as a
/// 1200×500 PNG titled `title`, each metric a line ([`Chart::Lines`]).
pub fn draw_curves(path: &Path, title: &str, columns: &[String], rows: &[Vec<f64>]) -> Result<()> {
    register_font()?;
    let err = |e: &dyn std::fmt::Display| Error::file(path, format!("cannot draw the curves: {e}"));
    let root = BitMapBackend::new(path, (1200, 500)).into_drawing_area();
    render_lines(&root, title, columns, rows).map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

fn render_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    columns: &[String],
    rows: &[Vec<f64>],
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let epochs: Vec<f64> = rows.iter().map(|r| r.first().copied().unwrap_or(0.0)).collect();
    let series = |loss: bool| -> Vec<Series> {
        columns
            .iter()
            .enumerate()
            .filter(|(i, c)| *i > 0 && is_plotted(c) && is_loss(c) == loss)
            .map(|(i, c)| (c.as_str(), rows.iter().map(|r| r.get(i).copied().unwrap_or(f64::NAN)).collect()))
            .collect()
    };
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 26))?;
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
        draw_panel(panel, caption, x_desc, &epochs, &s)?;
    }
    Ok(())
}

/// The lowest and highest finite value of `series` (0..1 when there is none).
fn finite_range(series: &[Series]) -> (f64, f64) {
    let (lo, hi) = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    x_desc: &str,
    epochs: &[f64],
    series: &[Series],
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (lo, hi) = finite_range(series);
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
    let mut notes = Vec::new();
    for (i, (name, values)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let runs = finite_runs(values);
        // One line per run of finite values; the first carries the legend entry (an empty line
        // when there is none, so that the legend still names the series).
        let mut lines: Vec<Vec<(f64, f64)>> =
            runs.iter().map(|r| r.clone().map(|j| (epochs[j], values[j])).collect()).collect();
        if lines.is_empty() {
            lines.push(Vec::new());
        }
        for (j, pts) in lines.into_iter().enumerate() {
            let drawn = chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(3)))?;
            if j == 0 {
                drawn
                    .label(*name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3)));
            }
            chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 4, color.filled())))?;
        }
        notes.extend(nonfinite_note(name, x_desc, epochs, values));
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
    draw_notes(area, &notes)
}

/// Writes `notes` in red under the panel's caption.
fn draw_notes<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    notes: &[String],
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let style = TextStyle::from(("sans-serif", 16).into_font()).color(&NOTE);
    for (i, note) in notes.iter().enumerate() {
        area.draw(&Text::new(note.clone(), (90, 50 + 20 * i as i32), style.clone()))?;
    }
    Ok(())
}

/// Draws `columns`/`rows` as grouped bars (`chart` is [`Chart::BarsPerRow`] or
/// [`Chart::BarsPerMetric`]) to `path`, a 1200×500 PNG titled `title`. `names` labels the rows
/// (`fold 1`, `mf`); the first column (the row's number) is not drawn. Losses get their own panel
/// on the left when there are any.
pub fn draw_bars(
    path: &Path,
    title: &str,
    columns: &[String],
    rows: &[Vec<f64>],
    names: &[String],
    chart: Chart,
) -> Result<()> {
    register_font()?;
    let err = |e: &dyn std::fmt::Display| Error::file(path, format!("cannot draw the bars: {e}"));
    let root = BitMapBackend::new(path, (1200, 500)).into_drawing_area();
    render_bars(&root, title, columns, rows, names, chart).map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

/// One panel of grouped bars: `groups` along x; `bars[b] = (name, value in each group, colour)`.
struct BarPanel {
    caption: String,
    groups: Vec<String>,
    bars: Vec<(String, Vec<f64>, usize)>,
}

fn bar_panels(columns: &[String], rows: &[Vec<f64>], names: &[String], chart: Chart) -> Vec<BarPanel> {
    let metric = |loss: bool| -> Vec<usize> {
        (1..columns.len()).filter(|&i| is_plotted(&columns[i]) && is_loss(&columns[i]) == loss).collect()
    };
    let cell = |r: &Vec<f64>, i: usize| r.get(i).copied().unwrap_or(f64::NAN);
    let mut panels = Vec::new();
    for loss in [true, false] {
        let cols = metric(loss);
        if cols.is_empty() {
            continue;
        }
        let caption = if loss {
            "loss"
        } else if cols.iter().all(|&i| columns[i].contains("auc")) {
            "ROC AUC"
        } else {
            "metrics"
        };
        let panel = match chart {
            Chart::BarsPerMetric => BarPanel {
                caption: caption.to_string(),
                groups: cols.iter().map(|&i| columns[i].clone()).collect(),
                bars: rows
                    .iter()
                    .zip(names)
                    .enumerate()
                    .map(|(k, (r, n))| (n.clone(), cols.iter().map(|&i| cell(r, i)).collect(), k))
                    .collect(),
            },
            _ => BarPanel {
                caption: caption.to_string(),
                groups: names.to_vec(),
                bars: cols
                    .iter()
                    .map(|&i| {
                        let v: Vec<f64> = rows.iter().map(|r| cell(r, i)).collect();
                        let finite: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
                        let mean = finite.iter().sum::<f64>() / finite.len().max(1) as f64;
                        (format!("{} (mean {mean:.4})", columns[i]), v, i - 1)
                    })
                    .collect(),
            },
        };
        panels.push(panel);
    }
    panels
}

/// Width of the legend strip on the right of a bar chart, in pixels.
const LEGEND_W: u32 = 260;

fn render_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    columns: &[String],
    rows: &[Vec<f64>],
    names: &[String],
    chart: Chart,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 26))?;
    let panels = bar_panels(columns, rows, names, chart);
    let (w, _) = root.dim_in_pixel();
    let (main, legend) = root.split_horizontally(w.saturating_sub(LEGEND_W));
    // A loss panel (if any) takes a third of the width, the metrics the rest.
    let areas = if panels.len() == 2 {
        let (mw, _) = main.dim_in_pixel();
        let (a, b) = main.split_horizontally(mw / 3);
        vec![a, b]
    } else {
        vec![main]
    };
    for (area, panel) in areas.iter().zip(&panels) {
        draw_bar_panel(area, panel)?;
    }
    // The legend: every bar's colour and name, once.
    let mut entries: Vec<(&str, usize)> = Vec::new();
    for (name, _, c) in panels.iter().flat_map(|p| &p.bars) {
        if !entries.contains(&(name.as_str(), *c)) {
            entries.push((name.as_str(), *c));
        }
    }
    let text = TextStyle::from(("sans-serif", 16).into_font());
    for (i, (name, c)) in entries.iter().enumerate() {
        let y = 60 + 24 * i as i32;
        legend.draw(&Rectangle::new([(10, y - 7), (26, y + 7)], COLORS[c % COLORS.len()].filled()))?;
        legend.draw(&Text::new(name.to_string(), (34, y - 8), text.clone()))?;
    }
    Ok(())
}

fn draw_bar_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    p: &BarPanel,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let series: Vec<Series> = p.bars.iter().map(|(n, v, _)| (n.as_str(), v.clone())).collect();
    let (lo, hi) = finite_range(&series);
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let top = hi + ((hi - lo) * 0.08).max(1e-6);
    let n_groups = p.groups.len().max(1);
    let n_bars = p.bars.len().max(1);
    let groups = p.groups.clone();
    let mut chart = ChartBuilder::on(area)
        .caption(&p.caption, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(0.0..n_groups as f64, lo..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(2 * n_groups + 1)
        .x_label_formatter(&|x| {
            // A group's label under its middle (x = g + 0.5).
            let g = (x - 0.5).round();
            if (x - 0.5 - g).abs() < 1e-6 && g >= 0.0 {
                groups.get(g as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .label_style(("sans-serif", 14))
        .y_label_formatter(&|v| format!("{v:.2}"))
        .draw()?;
    // Bars fill 80 % of a group, side by side.
    let width = 0.8 / n_bars as f64;
    let mut missing = Vec::new();
    for (b, (_, values, c)) in p.bars.iter().enumerate() {
        let color = COLORS[c % COLORS.len()];
        let x = |g: usize| g as f64 + 0.1 + b as f64 * width;
        chart.draw_series(
            values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(g, &v)| Rectangle::new([(x(g), 0.0), (x(g) + width * 0.9, v)], color.filled())),
        )?;
        missing.extend(values.iter().enumerate().filter(|(_, v)| !v.is_finite()).map(|(g, _)| x(g)));
    }
    // `n/a` just above the base line where a bar has no value (text hangs from its anchor).
    let style = TextStyle::from(("sans-serif", 14).into_font()).color(&NOTE);
    let y = lo.max(0.0) + (top - lo) * 0.06;
    chart.draw_series(missing.into_iter().map(|x| Text::new("n/a", (x, y), style.clone())))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u32 = 1200;
    const H: u32 = 500;

    /// Renders the lines chart of `rows` into an RGB buffer.
    fn lines_rgb(columns: &[&str], rows: &[Vec<f64>]) -> Vec<u8> {
        register_font().unwrap();
        let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        let mut buf = vec![0u8; (W * H * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (W, H)).into_drawing_area();
            render_lines(&root, "t", &columns, rows).unwrap();
            root.present().unwrap();
        }
        buf
    }

    /// The pixels of colour `c` (within a small tolerance, for anti-aliased text) in the columns
    /// `x0..x1`.
    fn count(buf: &[u8], c: RGBColor, x0: u32, x1: u32) -> usize {
        let near = |a: u8, b: u8| (a as i32 - b as i32).abs() <= 24;
        buf.chunks(3)
            .enumerate()
            .filter(|(i, p)| {
                let x = *i as u32 % W;
                (x0..x1).contains(&x) && near(p[0], c.0) && near(p[1], c.1) && near(p[2], c.2)
            })
            .count()
    }

    /// The red pixels (the notes' colour, anti-aliased) in the columns `x0..x1`.
    fn reddish(buf: &[u8], x0: u32, x1: u32) -> usize {
        buf.chunks(3)
            .enumerate()
            .filter(|(i, p)| (x0..x1).contains(&(*i as u32 % W)) && p[0] > 150 && p[1] < 110 && p[2] < 110)
            .count()
    }

    #[test]
    fn finite_runs_split_at_non_finite_values() {
        assert_eq!(finite_runs(&[1.0, 2.0, f64::NAN, f64::INFINITY, 3.0]), [0..2, 4..5]);
        assert_eq!(finite_runs(&[f64::NAN, f64::NAN]), []);
        assert_eq!(finite_runs(&[1.0]), vec![std::ops::Range { start: 0, end: 1 }]);
    }

    #[test]
    fn notes_say_where_values_are_not_finite() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(nonfinite_note("train_loss", "epoch", &xs, &[1.0, 0.9, 0.8, 0.7]), None);
        assert_eq!(
            nonfinite_note("train_loss", "epoch", &xs, &[1.0, f64::NAN, f64::INFINITY, 0.7]).unwrap(),
            "train_loss: not a finite number at epoch 2, 3 (a gap in the line)"
        );
        assert_eq!(
            nonfinite_note("train_loss", "epoch", &xs, &[f64::NAN; 4]).unwrap(),
            "train_loss: not a finite number at any epoch (nothing to draw)"
        );
    }

    /// A NaN loss leaves a gap (fewer line pixels than the same run with the NaNs filled in) and a
    /// red note; a loss that is NaN everywhere still gets its note, not an empty panel.
    #[test]
    fn a_nan_loss_is_a_gap_with_a_note() {
        let cols = ["epoch", "train_loss", "test_accuracy"];
        let rows = |l: [f64; 6]| -> Vec<Vec<f64>> {
            (0..6).map(|i| vec![(i + 1) as f64, l[i], 0.5 + 0.05 * i as f64]).collect()
        };
        let left = W / 2;
        let filled = lines_rgb(&cols, &rows([1.0, 0.9, 0.8, 0.7, 0.6, 0.5]));
        let gap = lines_rgb(&cols, &rows([1.0, 0.9, f64::NAN, f64::NAN, 0.6, 0.5]));
        let (n_filled, n_gap) = (count(&filled, COLORS[0], 0, left), count(&gap, COLORS[0], 0, left));
        assert!(n_gap > 0 && (n_gap as f64) < 0.8 * n_filled as f64, "line pixels {n_gap} vs {n_filled}");
        assert_eq!(reddish(&filled, 0, W), 0, "no note without a NaN");
        assert!(reddish(&gap, 0, left) > 50, "the note is written in the loss panel");
        assert_eq!(reddish(&gap, left, W), 0, "and not in the accuracy panel");
        let all_nan = lines_rgb(&cols, &rows([f64::NAN; 6]));
        assert!(reddish(&all_nan, 0, left) > 50, "an all-NaN loss gets its note");
    }

    #[test]
    fn bars_per_metric_draw_one_bar_per_row_and_n_a_for_missing_values() {
        register_font().unwrap();
        let columns: Vec<String> =
            ["algo", "rmse", "coverage", "fit_s"].iter().map(|c| c.to_string()).collect();
        let rows = vec![vec![1.0, 0.9, 0.2, 3.0], vec![2.0, f64::NAN, 0.6, 1.0]];
        let names = vec!["mf".to_string(), "als-implicit".to_string()];
        let panels = bar_panels(&columns, &rows, &names, Chart::BarsPerMetric);
        assert_eq!(panels.len(), 1, "no loss column: one panel");
        assert_eq!(panels[0].groups, ["rmse", "coverage"], "seconds are not drawn");
        assert_eq!(panels[0].bars[0].0, "mf");
        assert_eq!(panels[0].bars[1].1[1], 0.6);
        let mut buf = vec![0u8; (W * H * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (W, H)).into_drawing_area();
            render_bars(&root, "t", &columns, &rows, &names, Chart::BarsPerMetric).unwrap();
            root.present().unwrap();
        }
        // mf's bars (0.9 + 0.2 high) hold more of its colour than als-implicit's one bar (0.6).
        let plot = W - LEGEND_W;
        let (a, b) = (count(&buf, COLORS[0], 0, plot), count(&buf, COLORS[1], 0, plot));
        assert!(a > b && b > 1000, "{a} {b}");
        assert!(reddish(&buf, 0, plot) > 10, "n/a where als-implicit has no rmse");
        // Per row (credit's folds): one group per fold, one bar per metric, the mean in the name.
        let cols: Vec<String> = ["fold", "mlp_auc", "logreg_auc"].iter().map(|c| c.to_string()).collect();
        let folds = vec![vec![1.0, 0.7, 0.8], vec![2.0, 0.9, 0.6]];
        let p = bar_panels(&cols, &folds, &["fold 1".into(), "fold 2".into()], Chart::BarsPerRow);
        assert_eq!((p[0].caption.as_str(), p[0].groups.len()), ("ROC AUC", 2));
        assert_eq!(p[0].bars[0].0, "mlp_auc (mean 0.8000)");
        assert_eq!(p[0].bars[1].1, [0.8, 0.6]);
    }
}
