//! Early stopping on a validation metric.
//!
//! After each epoch's metric $a_e$: it improves on the best so far $b$ when $a_e < b - \delta$
//! (`Min`, e.g. a loss) or $a_e > b + \delta$ (`Max`, e.g. ROC AUC), $\delta \ge 0$ the
//! `min_delta`. Training stops once `patience` epochs in a row have not improved; the epoch of the
//! best metric is kept so that the caller can restore that epoch's weights.

pub use super::schedule::MetricMode as Monitor;
use crate::error::{Error, Result};

/// What [`EarlyStopping::step`] says about an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopDecision {
    /// A new best: keep (a copy of) these weights.
    Improved,
    /// No improvement, patience not yet used up.
    Continue,
    /// `patience` epochs without improvement: stop.
    Stop,
}

/// Stops training when the monitored metric stops improving (see the module docs).
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    pub mode: Monitor,
    pub patience: usize,
    pub min_delta: f64,
    best: Option<f64>,
    best_epoch: usize,
    bad_epochs: usize,
    epoch: usize,
}

impl EarlyStopping {
    /// Stops after `patience` (≥ 1) epochs without an improvement of more than `min_delta` (≥ 0).
    pub fn new(mode: Monitor, patience: usize, min_delta: f64) -> Result<EarlyStopping> {
        if patience == 0 || !(min_delta >= 0.0 && min_delta.is_finite()) {
            return Err(Error::invalid(
                "EarlyStopping",
                format!("patience {patience} must be >= 1 and min_delta {min_delta} finite and >= 0"),
            ));
        }
        Ok(EarlyStopping { mode, patience, min_delta, best: None, best_epoch: 0, bad_epochs: 0, epoch: 0 })
    }

    /// Reads epoch's metric (epochs counted from 0 by the calls). A NaN never improves.
    pub fn step(&mut self, metric: f64) -> StopDecision {
        let e = self.epoch;
        self.epoch += 1;
        let improved = match self.best {
            None => !metric.is_nan(),
            Some(b) => match self.mode {
                Monitor::Min => metric < b - self.min_delta,
                Monitor::Max => metric > b + self.min_delta,
            },
        };
        if improved {
            self.best = Some(metric);
            self.best_epoch = e;
            self.bad_epochs = 0;
            return StopDecision::Improved;
        }
        self.bad_epochs += 1;
        if self.bad_epochs >= self.patience { StopDecision::Stop } else { StopDecision::Continue }
    }

    /// The best metric so far (`None` before the first finite one).
    pub fn best(&self) -> Option<f64> {
        self.best
    }

    /// The epoch (from 0) of the best metric.
    pub fn best_epoch(&self) -> usize {
        self.best_epoch
    }

    /// Epochs since the last improvement.
    pub fn bad_epochs(&self) -> usize {
        self.bad_epochs
    }
}
