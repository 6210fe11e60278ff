//! [`Reporter`]: what a training run shows and writes while it runs — progress on stderr,
//! `metrics.csv` (one row per epoch, rewritten whole after each epoch, so a resumed run's file
//! holds every epoch), `curves.png`, and the checkpoint paths.
//!
//! Progress: on a terminal, an indicatif bar per epoch (running loss, samples per second, elapsed
//! time and ETA). When stderr is not a terminal (a log file, a pipe), a plain line instead, at
//! the first batch and then every [`PROGRESS_SECS`] seconds (default 10; `0` writes one per
//! batch), so that a log shows life during long epochs:
//! `epoch 1/4  step 120/938  loss 1.2345  2345 samples/s  elapsed 10s  eta 68s` (a step is a
//! batch, or for `credit` one of the fold's MLP epochs).
//! Either way one summary line per epoch follows.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::plot::{Chart, draw_bars, draw_curves};
use super::result::{Figure, human_value};
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
    view: View,
}

/// The environment variable that sets the seconds between two plain progress lines when stderr
/// is not a terminal (default 10; `0`: a line per batch).
pub const PROGRESS_SECS: &str = "GLASSGRAD_PROGRESS_SECS";

/// How rows are named and drawn, and the plain progress lines' state.
#[derive(Default)]
struct View {
    chart: Chart,
    /// Each row's name (`mf`), where the job names its rows ([`Reporter::start_named`]).
    names: Vec<Option<String>>,
    /// The name of the row under way.
    current: Option<String>,
    /// The label of the step under way (`epoch 2/10`, `algo mf (2/12)`).
    prefix: String,
    /// Steps (batches) of the epoch under way, and how many are done.
    steps: usize,
    done: usize,
    /// Plain progress lines (stderr is not a terminal): when the last was written.
    plain: bool,
    last_line: Option<Instant>,
}

/// The terminal bar: `epoch 2/10 [=====>    ] 120/938 00:00:12 (eta 1m) loss 0.4312  2345 samples/s`.
const BAR_TEMPLATE: &str = "{prefix} [{bar:30}] {pos}/{len} {elapsed_precise} (eta {eta}) {msg}";

/// The seconds between plain progress lines ([`PROGRESS_SECS`], default 10).
fn plain_interval() -> Duration {
    let secs = std::env::var(PROGRESS_SECS).ok().and_then(|v| v.trim().parse::<f64>().ok());
    Duration::from_secs_f64(secs.filter(|s| s.is_finite() && *s >= 0.0).unwrap_or(10.0))
}

/// `s` seconds as `42s`, `3m05s` or `1h02m`.
fn duration_words(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
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
            view: View::default(),
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

    /// How `curves.png` draws the rows ([`Chart::Lines`] unless a job says otherwise).
    pub fn set_chart(&mut self, chart: Chart) {
        self.view.chart = chart;
    }

    /// Starts the bar of epoch `epoch` (1-based) of `epochs`, with `batches` steps; the bar and
    /// the progress lines call it by the first column's name (`epoch 2/10`, `fold 2/5`).
    pub fn start_epoch(&mut self, epoch: u64, epochs: u64, batches: usize) {
        let first = self.columns.first().map_or("epoch", String::as_str);
        let prefix = format!("{first} {epoch}/{epochs}");
        self.start(prefix, None, batches)
    }

    /// Starts row `index` (1-based) of `total`, named `name` (an algorithm): its progress says
    /// `algo mf (2/12)`, its `metrics.csv` row starts with `mf`, its summary line `algo mf`.
    pub fn start_named(&mut self, name: &str, index: u64, total: u64, batches: usize) {
        let first = self.columns.first().map_or("row", String::as_str);
        self.start(format!("{first} {name} ({index}/{total})"), Some(name.to_string()), batches)
    }

    /// Starts a stage that adds no row to `metrics.csv` (credit's refit after its folds), its
    /// progress called `label`; [`Reporter::end_stage`] ends it.
    pub fn start_stage(&mut self, label: &str, batches: usize) {
        self.start(label.to_string(), None, batches)
    }

    /// Ends a stage begun by [`Reporter::start_stage`]: clears its bar, records nothing.
    pub fn end_stage(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.view.current = None;
    }

    fn start(&mut self, prefix: String, name: Option<String>, batches: usize) {
        self.epoch_start = Instant::now();
        self.loss_sum = 0.0;
        self.seen = 0;
        self.view.current = name;
        self.view.steps = batches;
        self.view.done = 0;
        self.view.last_line = None;
        self.view.plain = self.show_progress && !std::io::stderr().is_terminal();
        if self.show_progress && !self.view.plain {
            let bar = ProgressBar::with_draw_target(Some(batches as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(BAR_TEMPLATE)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(prefix.clone());
            self.bar = Some(bar);
        }
        self.view.prefix = prefix;
    }

    /// One optimizer step done on `samples` samples with mean loss `loss`.
    pub fn batch(&mut self, loss: f64, samples: usize) {
        self.loss_sum += loss * samples as f64;
        self.seen += samples;
        self.view.done += 1;
        let secs = self.epoch_start.elapsed().as_secs_f64().max(1e-9);
        let message = format!(
            "loss {:.4}  {:.0} samples/s",
            self.loss_sum / self.seen.max(1) as f64,
            self.seen as f64 / secs
        );
        if let Some(bar) = &self.bar {
            bar.set_message(message);
            bar.inc(1);
        } else if self.view.plain && self.view.last_line.is_none_or(|t| t.elapsed() >= plain_interval()) {
            self.view.last_line = Some(Instant::now());
            eprintln!("{}", self.progress_line(&message, secs));
        }
    }

    /// The plain progress line: `epoch 1/4  step 120/938  loss 1.2345  2345 samples/s  elapsed
    /// 10s  eta 68s`.
    fn progress_line(&self, message: &str, secs: f64) -> String {
        let (done, steps) = (self.view.done, self.view.steps);
        let eta = secs / done.max(1) as f64 * steps.saturating_sub(done) as f64;
        format!(
            "{}  step {done}/{steps}  {message}  elapsed {}  eta {}",
            self.view.prefix,
            duration_words(secs),
            duration_words(eta)
        )
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
        let name = self.view.current.take();
        if self.show_progress {
            let cells: Vec<String> = self
                .columns
                .iter()
                .zip(&row)
                .enumerate()
                .map(|(i, (c, v))| match (&name, i) {
                    (Some(n), 0) => format!("{c} {n}"),
                    (None, 0) => format!("{c} {}", short(*v)),
                    _ => format!("{c} {}", human_value(c, Figure::Real(*v))),
                })
                .collect();
            eprintln!("{}", cells.join("  "));
        }
        self.view.names.resize(self.rows.len(), None);
        self.view.names.push(name);
        self.rows.push(row);
        self.write_csv()
    }

    /// The cell of row `r`, column `c` in `metrics.csv`: a named row's name in the first column,
    /// else the number at full precision.
    fn cell(&self, r: usize, c: usize) -> String {
        match (c, self.view.names.get(r)) {
            (0, Some(Some(name))) => name.clone(),
            _ => format!("{}", self.rows[r][c]),
        }
    }

    /// Writes `metrics.csv` (header, then one row per epoch; full precision; a named row starts
    /// with its name).
    pub fn write_csv(&self) -> Result<()> {
        let mut s = self.columns.join(",");
        s.push('\n');
        for (r, row) in self.rows.iter().enumerate() {
            let cells: Vec<String> = (0..row.len()).map(|c| self.cell(r, c)).collect();
            s.push_str(&cells.join(","));
            s.push('\n');
        }
        write_atomic(&self.out.join("metrics.csv"), s.as_bytes())
    }

    /// Draws `curves.png` from the rows so far, as the job's [`Chart`] says.
    pub fn draw_curves(&self) -> Result<PathBuf> {
        let path = self.out.join("curves.png");
        let title = format!("glassgrad train {}", self.model);
        match self.view.chart {
            Chart::Lines => draw_curves(&path, &title, &self.columns, &self.rows)?,
            chart => {
                let first = self.columns.first().map_or("row", String::as_str);
                let names: Vec<String> = (0..self.rows.len())
                    .map(|r| match self.view.names.get(r) {
                        Some(Some(n)) => n.clone(),
                        _ => format!("{first} {}", short(self.rows[r][0])),
                    })
                    .collect();
                draw_bars(&path, &title, &self.columns, &self.rows, &names, chart)?
            }
        }
        Ok(path)
    }
}

/// A row's number (the first column: epoch, fold) for a summary line or a bar's label.
fn short(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.0}") } else { format!("{v}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_shows_elapsed_time_and_eta() {
        assert!(ProgressStyle::with_template(BAR_TEMPLATE).is_ok());
        assert!(BAR_TEMPLATE.contains("{elapsed_precise}") && BAR_TEMPLATE.contains("{eta}"));
    }

    #[test]
    fn durations_read_as_words() {
        assert_eq!(duration_words(0.4), "0s");
        assert_eq!(duration_words(42.0), "42s");
        assert_eq!(duration_words(185.0), "3m05s");
        assert_eq!(duration_words(3720.0), "1h02m");
    }
}
