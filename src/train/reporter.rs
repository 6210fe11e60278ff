//! [`Reporter`]: what a training run shows and writes while it runs — an indicatif bar per epoch on
//! stderr (running loss, samples per second), `metrics.csv` (one row per epoch, rewritten whole
//! after each epoch, so a resumed run's file holds every epoch), `curves.png`, and the checkpoint
//! paths.

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::plot::draw_curves;
use crate::checkpoint::write_atomic;
use crate::error::{Error, Result};

/// Progress and per-epoch metrics of one run, written under its output folder.
pub struct Reporter {
    out: PathBuf,
    model: String,
    columns: Vec<String>,
    rows: Vec<Vec<f64>>,
    bar: Option<ProgressBar>,
    show_progress: bool,
    epoch_start: Instant,
    loss_sum: f64,
    seen: usize,
}

impl Reporter {
    /// A reporter writing into `out` (created if needed) for the model `model`, with metric
    /// `columns` (the first is `epoch`). `show_progress = false` hides the bars and epoch lines.
    pub fn new(out: &Path, model: &str, columns: &[&str], show_progress: bool) -> Result<Reporter> {
        std::fs::create_dir_all(out.join("checkpoints"))
            .map_err(|e| Error::file(out, format!("cannot create the output folder: {e}")))?;
        Ok(Reporter {
            out: out.to_path_buf(),
            model: model.to_string(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
            bar: None,
            show_progress,
            epoch_start: Instant::now(),
            loss_sum: 0.0,
            seen: 0,
        })
    }

    pub fn out_dir(&self) -> &Path {
        &self.out
    }
    pub fn columns(&self) -> &[String] {
        &self.columns
    }
    /// The metric rows so far (one per epoch).
    pub fn history(&self) -> &[Vec<f64>] {
        &self.rows
    }

    /// Restores the rows of the epochs a resumed run already did (from its checkpoint).
    pub fn restore(&mut self, columns: &[String], rows: Vec<Vec<f64>>) -> Result<()> {
        if columns != self.columns.as_slice() {
            return Err(Error::invalid(
                "train --resume",
                format!(
                    "the checkpoint's metric columns {columns:?} are not this model's {:?}",
                    self.columns
                ),
            ));
        }
        self.rows = rows;
        Ok(())
    }

    /// `out/checkpoints/epoch_NNN.safetensors`, the checkpoint written after epoch `epoch`.
    pub fn epoch_checkpoint(&self, epoch: u64) -> PathBuf {
        self.out.join("checkpoints").join(format!("epoch_{epoch:03}.safetensors"))
    }

    /// `out/model.safetensors`, the final checkpoint.
    pub fn final_checkpoint(&self) -> PathBuf {
        self.out.join("model.safetensors")
    }

    /// Starts the bar of epoch `epoch` (1-based) of `epochs`, with `batches` steps.
    pub fn start_epoch(&mut self, epoch: u64, epochs: u64, batches: usize) {
        self.epoch_start = Instant::now();
        self.loss_sum = 0.0;
        self.seen = 0;
        if self.show_progress {
            let bar = ProgressBar::with_draw_target(Some(batches as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(format!("{epoch}/{epochs}"));
            self.bar = Some(bar);
        }
    }

    /// One optimizer step done on `samples` samples with mean loss `loss`.
    pub fn batch(&mut self, loss: f64, samples: usize) {
        self.loss_sum += loss * samples as f64;
        self.seen += samples;
        if let Some(bar) = &self.bar {
            let secs = self.epoch_start.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "loss {:.4}  {:.0} samples/s",
                self.loss_sum / self.seen.max(1) as f64,
                self.seen as f64 / secs
            ));
            bar.inc(1);
        }
    }

    /// Samples per second in the current epoch so far.
    pub fn samples_per_s(&self) -> f64 {
        self.seen as f64 / self.epoch_start.elapsed().as_secs_f64().max(1e-9)
    }

    /// Ends the epoch: records its metrics `row` (in column order), rewrites `metrics.csv` and
    /// prints a one-line summary on stderr.
    pub fn end_epoch(&mut self, row: Vec<f64>) -> Result<()> {
        if row.len() != self.columns.len() {
            return Err(Error::invalid(
                "Reporter::end_epoch",
                format!("{} values for the {} columns {:?}", row.len(), self.columns.len(), self.columns),
            ));
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.show_progress {
            let cells: Vec<String> =
                self.columns.iter().zip(&row).map(|(c, v)| format!("{c} {}", short(*v))).collect();
            eprintln!("{}", cells.join("  "));
        }
        self.rows.push(row);
        self.write_csv()
    }

    /// Writes `metrics.csv` (header, then one row per epoch; full precision).
    pub fn write_csv(&self) -> Result<()> {
        let mut s = self.columns.join(",");
        s.push('\n');
        for r in &self.rows {
            let cells: Vec<String> = r.iter().map(|v| format!("{v}")).collect();
            s.push_str(&cells.join(","));
            s.push('\n');
        }
        write_atomic(&self.out.join("metrics.csv"), s.as_bytes())
    }

    /// Draws `curves.png` from the rows so far.
    pub fn draw_curves(&self) -> Result<PathBuf> {
        let path = self.out.join("curves.png");
        draw_curves(&path, &format!("glassgrad train {}", self.model), &self.columns, &self.rows)?;
        Ok(path)
    }
}

/// A metric for a one-line summary: integers and large values (throughput) without decimals,
/// others to 4 decimals.
fn short(v: f64) -> String {
    if (v.fract() == 0.0 && v.abs() < 1e9) || v.abs() >= 1e4 { format!("{v:.0}") } else { format!("{v:.4}") }
}
