//! `--roofline FILE.png`: the cases on a roofline plot (see [`mod@super::roof`]), drawn with plotters.
//!
//! Log–log axes: arithmetic intensity $I$ (flop/byte) across, GFLOP/s up. The memory roof is the
//! slope $I \cdot B$ up to the ridge point $I^* = P / B$, the compute roof the flat line $P$ beyond
//! it (solid); the other instruction sets' peaks ($n \times$ their single-thread figure) are dashed
//! ceilings below it. Each case with both a flop and a byte count is one labelled point (blue
//! circles); with `--torch`, PyTorch's time for the same case gives a second point at the same
//! intensity (orange triangles, joined to glassgrad's by a thin line). Text uses the crate's
//! bundled DejaVu Sans (as `train`'s curves do).

use std::path::Path;

use plotters::prelude::*;

use super::case::CaseResult;
use super::roof::{Machine, ridge};
use crate::error::{Error, Result};
use crate::train::register_font;

const GLASSGRAD: RGBColor = RGBColor(31, 119, 180);
const TORCH: RGBColor = RGBColor(255, 127, 14);
const ROOF: RGBColor = RGBColor(40, 40, 40);
const CEILING: RGBColor = RGBColor(150, 150, 150);
const CEILING_TEXT: RGBColor = RGBColor(90, 90, 90);

/// A tick label: 3 significant digits, no trailing zeros.
fn tick(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        let d = (2.0 - v.abs().max(1e-12).log10().floor()).clamp(0.0, 6.0) as usize;
        let s = format!("{v:.d$}");
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
    }
}

/// One point of the plot: (intensity, GFLOP/s, label).
type Point = (f64, f64, String);

/// The points of each side: glassgrad's and, where it has a time, PyTorch's.
pub fn points(results: &[CaseResult]) -> (Vec<Point>, Vec<Point>) {
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for r in results {
        let Some(i) = r.intensity() else { continue };
        if let Some(g) = r.gflops().filter(|g| g.is_finite() && *g > 0.0) {
            ours.push((i, g, r.id.clone()));
        }
        if let Some(g) = r.torch_gflops().filter(|g| g.is_finite() && *g > 0.0) {
            theirs.push((i, g, r.id.clone()));
        }
    }
    (ours, theirs)
}

/// Draws the roofline plot of `results` on `machine` to `path` (1200×800 PNG).
pub fn draw_roofline(path: &Path, results: &[CaseResult], machine: &Machine) -> Result<()> {
    register_font()?;
    let (ours, theirs) = points(results);
    if ours.is_empty() {
        return Err(Error::invalid("bench", "no case counts both flops and bytes: nothing to plot"));
    }
    let err = |e: &dyn std::fmt::Display| Error::file(path, format!("cannot draw the roofline: {e}"));
    let root = BitMapBackend::new(path, (1200, 800)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    draw(&root, results, machine, &ours, &theirs).map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    results: &[CaseResult],
    machine: &Machine,
    ours: &[Point],
    theirs: &[Point],
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let peak = machine.peak.gflops;
    let bw = machine.bandwidth.as_ref().map(|b| b.gbps);
    let threads = machine.peak.threads;
    let all = || ours.iter().chain(theirs);
    let xs = all().map(|p| p.0).chain(bw.map(|b| ridge(peak, b)));
    let (x_lo, x_hi) = xs.fold((f64::INFINITY, 0f64), |(a, b), x| (a.min(x), b.max(x)));
    let (x_lo, x_hi) = (x_lo / 4.0, x_hi * 4.0);
    let y_lo = all().map(|p| p.1).fold(peak, f64::min) / 4.0;
    let y_hi = peak * 2.5;
    let device = results.first().map_or("cpu", |r| r.device.as_str());
    let title = format!(
        "roofline: glassgrad{} on {device}, {threads} thread{}",
        if theirs.is_empty() { "" } else { " and PyTorch" },
        if threads == 1 { "" } else { "s" }
    );
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 26))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(75)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), (y_lo..y_hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("arithmetic intensity (flop / byte of compulsory traffic)")
        .y_desc("GFLOP/s")
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    let label = ("sans-serif", 15).into_font();
    // The other instruction sets' ceilings, dashed, below the best.
    for (isa, g1) in &machine.peak.per_isa {
        let g = g1 * threads as f64;
        if g >= peak || g <= y_lo {
            continue;
        }
        let from = bw.map_or(x_lo, |b| (g / b).max(x_lo));
        chart.draw_series(DashedLineSeries::new(
            vec![(from, g), (x_hi, g)],
            6,
            4,
            CEILING.stroke_width(2),
        ))?;
        chart.draw_series(std::iter::once(
            EmptyElement::at((x_hi, g))
                + Text::new(
                    format!("{isa} ceiling: {g:.0} GFLOP/s"),
                    (-260, -20),
                    label.clone().color(&CEILING_TEXT),
                ),
        ))?;
    }
    // The roofs.
    let knee = bw.map_or(x_lo, |b| ridge(peak, b).max(x_lo));
    chart
        .draw_series(LineSeries::new(vec![(knee, peak), (x_hi, peak)], ROOF.stroke_width(3)))?
        .label(match machine.peak.single_thread_gflops {
            Some(_) => format!(
                "compute roof: {peak:.0} GFLOP/s ({}, {threads} × 1-thread FMA loop)",
                machine.peak.isa
            ),
            None => format!("compute roof: {peak:.0} GFLOP/s (given)"),
        })
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], ROOF.stroke_width(3)));
    let roof_label = ("sans-serif", 17).into_font();
    chart.draw_series(std::iter::once(
        EmptyElement::at((x_hi, peak))
            + Text::new(
                format!("compute roof: {peak:.0} GFLOP/s"),
                (-260, -24),
                roof_label.clone().color(&ROOF),
            ),
    ))?;
    if let Some(b) = bw {
        // The memory roof's label sits on the slope, part of the way up to the ridge.
        let at = x_lo * (knee / x_lo).powf(0.45);
        chart.draw_series(std::iter::once(
            EmptyElement::at((at, b * at))
                + Text::new(
                    format!("memory roof: {b:.1} GB/s"),
                    (-200, -26),
                    roof_label.clone().color(&ROOF),
                ),
        ))?;
        chart
            .draw_series(LineSeries::new(vec![(x_lo, b * x_lo), (knee, peak)], ROOF.stroke_width(3)))?
            .label(format!(
                "memory roof: {b:.1} GB/s × intensity ({}); ridge {:.2} flop/B",
                machine.bandwidth.as_ref().map_or("given", |m| m.source),
                peak / b
            ))
            .legend(|(x, y)| PathElement::new(vec![(x, y + 6), (x + 24, y - 6)], ROOF.stroke_width(3)));
    }
    // PyTorch beside glassgrad: a thin line from one point to the other.
    for (i, g, id) in theirs {
        if let Some((_, ours_g, _)) = ours.iter().find(|p| &p.2 == id) {
            chart.draw_series(LineSeries::new(
                vec![(*i, *ours_g), (*i, *g)],
                TORCH.mix(0.5).stroke_width(1),
            ))?;
        }
    }
    if !theirs.is_empty() {
        chart
            .draw_series(theirs.iter().map(|(i, g, _)| TriangleMarker::new((*i, *g), 8, TORCH.filled())))?
            .label("PyTorch (its time, the same flops and bytes)")
            .legend(|(x, y)| TriangleMarker::new((x + 12, y), 7, TORCH.filled()));
    }
    chart
        .draw_series(ours.iter().map(|(i, g, _)| Circle::new((*i, *g), 6, GLASSGRAD.filled())))?
        .label("glassgrad")
        .legend(|(x, y)| Circle::new((x + 12, y), 6, GLASSGRAD.filled()));
    chart.draw_series(ours.iter().map(|(i, g, id)| {
        EmptyElement::at((*i, *g)) + Text::new(id.clone(), (9, -6), label.clone().color(&BLACK))
    }))?;
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::tick;

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(1000.0), "1000");
        assert_eq!(tick(10.0), "10");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(0.125), "0.125");
        assert_eq!(tick(0.1), "0.1");
    }
}
