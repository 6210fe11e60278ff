//! Learning-rate schedules, as `torch.optim.lr_scheduler`. Each group $k$ keeps its base rate
//! $\gamma_k$ (its rate when the scheduler was made); after $t$ calls of `step()`:
//!
//! | schedule | $\gamma_k(t)$ |
//! |---|---|
//! | [`StepLr`] | $\gamma_k\, \rho^{\lfloor t / s \rfloor}$ (step size $s$, factor $\rho$) |
//! | [`CosineAnnealingLr`] | $\eta_{\min} + (\gamma_k - \eta_{\min})\,\tfrac12\big(1 + \cos(\pi t / T)\big)$ |
//! | [`LinearLr`] (linear warm-up) | $\gamma_k\,\big(a + (b - a)\min(t, n)/n\big)$ (from factor $a$ to $b$ over $n$ steps) |
//! | [`ReduceLrOnPlateau`] | $\max(\gamma\,\rho, \gamma_{\min})$ once the metric has not improved for more than `patience` steps |
//!
//! Making a schedule sets the rates for $t = 0$ (so a warm-up starts low), as PyTorch does. The
//! closed forms are PyTorch's (`_get_closed_form_lr`); PyTorch's recursive updates agree with them
//! to rounding. Call `step()` once per epoch (or per batch, for warm-up), after the optimizer's step.

use super::optimizer::Optimizer;
use crate::error::{Error, Result};

/// A schedule that sets the optimizer's learning rates from the step count.
pub trait LrScheduler {
    /// The rate of each group after `t` steps.
    fn lrs_at(&self, t: u64) -> Vec<f64>;

    /// The number of `step()` calls so far.
    fn last_step(&self) -> u64;

    /// Advances the count by one and sets the optimizer's rates.
    fn step(&mut self, opt: &mut dyn Optimizer) -> Result<()>;
}

/// The base rates and the step count, shared by the closed-form schedules.
#[derive(Clone, Debug)]
struct Base {
    lrs: Vec<f64>,
    t: u64,
}

impl Base {
    fn new(opt: &mut dyn Optimizer, f: impl Fn(&[f64], u64) -> Vec<f64>) -> Result<Base> {
        let lrs = opt.group_lrs();
        opt.set_group_lrs(&f(&lrs, 0))?;
        Ok(Base { lrs, t: 0 })
    }
}

macro_rules! closed_form_scheduler {
    ($name:ident) => {
        impl LrScheduler for $name {
            fn lrs_at(&self, t: u64) -> Vec<f64> {
                self.base.lrs.iter().map(|&lr| self.rate(lr, t)).collect()
            }
            fn last_step(&self) -> u64 {
                self.base.t
            }
            fn step(&mut self, opt: &mut dyn Optimizer) -> Result<()> {
                self.base.t += 1;
                opt.set_group_lrs(&self.lrs_at(self.base.t))
            }
        }
    };
}

/// `StepLR(step_size, gamma)`: the rate times $\rho$ every $s$ steps.
#[derive(Clone, Debug)]
pub struct StepLr {
    pub step_size: u64,
    pub gamma: f64,
    base: Base,
}

impl StepLr {
    pub fn new(opt: &mut dyn Optimizer, step_size: u64, gamma: f64) -> Result<StepLr> {
        if step_size == 0 || !gamma.is_finite() {
            return Err(Error::invalid(
                "StepLR",
                format!("step_size {step_size} must be > 0, gamma {gamma} finite"),
            ));
        }
        let s = StepLr { step_size, gamma, base: Base { lrs: vec![], t: 0 } };
        let base = Base::new(opt, |lrs, t| lrs.iter().map(|&lr| s.rate(lr, t)).collect())?;
        Ok(StepLr { base, ..s })
    }
    fn rate(&self, lr: f64, t: u64) -> f64 {
        lr * self.gamma.powi((t / self.step_size) as i32)
    }
}
closed_form_scheduler!(StepLr);

/// `CosineAnnealingLR(T_max, eta_min)`: from the base rate down to $\eta_{\min}$ along half a
/// cosine over $T$ steps (and back up after, periodically, as PyTorch's).
#[derive(Clone, Debug)]
pub struct CosineAnnealingLr {
    pub t_max: u64,
    pub eta_min: f64,
    base: Base,
}

impl CosineAnnealingLr {
    pub fn new(opt: &mut dyn Optimizer, t_max: u64, eta_min: f64) -> Result<CosineAnnealingLr> {
        if t_max == 0 || !(eta_min >= 0.0 && eta_min.is_finite()) {
            return Err(Error::invalid(
                "CosineAnnealingLR",
                format!("T_max {t_max} must be > 0, eta_min {eta_min} >= 0"),
            ));
        }
        let s = CosineAnnealingLr { t_max, eta_min, base: Base { lrs: vec![], t: 0 } };
        let base = Base::new(opt, |lrs, t| lrs.iter().map(|&lr| s.rate(lr, t)).collect())?;
        Ok(CosineAnnealingLr { base, ..s })
    }
    fn rate(&self, lr: f64, t: u64) -> f64 {
        let c = (std::f64::consts::PI * t as f64 / self.t_max as f64).cos();
        self.eta_min + (lr - self.eta_min) * (1.0 + c) / 2.0
    }
}
closed_form_scheduler!(CosineAnnealingLr);

/// `LinearLR(start_factor, end_factor, total_iters)`: the factor goes linearly from $a$ to $b$
/// over $n$ steps and stays at $b$ (a linear warm-up with $a < 1 = b$).
#[derive(Clone, Debug)]
pub struct LinearLr {
    pub start_factor: f64,
    pub end_factor: f64,
    pub total_iters: u64,
    base: Base,
}

impl LinearLr {
    pub fn new(
        opt: &mut dyn Optimizer,
        start_factor: f64,
        end_factor: f64,
        total_iters: u64,
    ) -> Result<LinearLr> {
        if !(start_factor > 0.0 && start_factor <= 1.0 && (0.0..=1.0).contains(&end_factor)) {
            return Err(Error::invalid(
                "LinearLR",
                format!(
                    "start_factor {start_factor} must be in (0, 1] and end_factor {end_factor} in [0, 1]"
                ),
            ));
        }
        let s = LinearLr { start_factor, end_factor, total_iters, base: Base { lrs: vec![], t: 0 } };
        let base = Base::new(opt, |lrs, t| lrs.iter().map(|&lr| s.rate(lr, t)).collect())?;
        Ok(LinearLr { base, ..s })
    }
    /// A warm-up from `start_factor` of the rate to all of it over `steps` steps.
    pub fn warmup(opt: &mut dyn Optimizer, start_factor: f64, steps: u64) -> Result<LinearLr> {
        LinearLr::new(opt, start_factor, 1.0, steps)
    }
    fn rate(&self, lr: f64, t: u64) -> f64 {
        let frac = if self.total_iters == 0 {
            1.0
        } else {
            t.min(self.total_iters) as f64 / self.total_iters as f64
        };
        lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)
    }
}
closed_form_scheduler!(LinearLr);

/// Whether a smaller or a larger metric is better (for [`ReduceLrOnPlateau`] and
/// [`EarlyStopping`](super::early_stopping::EarlyStopping)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricMode {
    Min,
    Max,
}

/// How `threshold` is read: relative ($a < b(1 - \theta)$) or absolute ($a < b - \theta$), for
/// `Min` (mirrored for `Max`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThresholdMode {
    Rel,
    Abs,
}

/// `ReduceLROnPlateau(mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps)`.
///
/// After each metric $a$: it is an improvement when $a < b(1 - \theta)$ (`Min`, `Rel`; $b$ the
/// best so far), $a < b - \theta$ (`Abs`), or mirrored for `Max`. When the number of steps
/// without improvement exceeds `patience`, every group's rate becomes $\max(\gamma\rho,
/// \gamma_{\min})$ (skipped when that changes it by no more than `eps`), and the next `cooldown`
/// steps count no bad steps.
#[derive(Clone, Debug)]
pub struct ReduceLrOnPlateau {
    pub mode: MetricMode,
    pub factor: f64,
    pub patience: u64,
    pub threshold: f64,
    pub threshold_mode: ThresholdMode,
    pub cooldown: u64,
    /// The floor $\gamma_{\min}$ of each group.
    pub min_lrs: Vec<f64>,
    pub eps: f64,
    best: f64,
    bad_steps: u64,
    cooldown_left: u64,
    t: u64,
}

impl ReduceLrOnPlateau {
    /// PyTorch's defaults: factor 0.1, patience 10, threshold 1e-4 (relative), no cooldown,
    /// `min_lr` 0, eps 1e-8.
    pub fn new(mode: MetricMode) -> ReduceLrOnPlateau {
        ReduceLrOnPlateau {
            mode,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lrs: vec![0.0],
            eps: 1e-8,
            best: if mode == MetricMode::Min { f64::INFINITY } else { f64::NEG_INFINITY },
            bad_steps: 0,
            cooldown_left: 0,
            t: 0,
        }
    }
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }
    pub fn patience(mut self, patience: u64) -> Self {
        self.patience = patience;
        self
    }
    pub fn threshold(mut self, threshold: f64, mode: ThresholdMode) -> Self {
        self.threshold = threshold;
        self.threshold_mode = mode;
        self
    }
    pub fn cooldown(mut self, cooldown: u64) -> Self {
        self.cooldown = cooldown;
        self
    }
    /// One floor for every group.
    pub fn min_lr(mut self, min_lr: f64) -> Self {
        self.min_lrs = vec![min_lr];
        self
    }

    /// The best metric so far.
    pub fn best(&self) -> f64 {
        self.best
    }

    /// Whether `a` improves on `best` (the rule in the type's docs).
    pub fn is_better(&self, a: f64, best: f64) -> bool {
        match (self.mode, self.threshold_mode) {
            (MetricMode::Min, ThresholdMode::Rel) => a < best * (1.0 - self.threshold),
            (MetricMode::Min, ThresholdMode::Abs) => a < best - self.threshold,
            (MetricMode::Max, ThresholdMode::Rel) => a > best * (1.0 + self.threshold),
            (MetricMode::Max, ThresholdMode::Abs) => a > best + self.threshold,
        }
    }

    /// Reads the epoch's metric and lowers the rates on a plateau.
    pub fn step(&mut self, metric: f64, opt: &mut dyn Optimizer) -> Result<()> {
        if !(0.0..1.0).contains(&self.factor) {
            return Err(Error::invalid("ReduceLROnPlateau", format!("factor {} must be < 1", self.factor)));
        }
        self.t += 1;
        if self.is_better(metric, self.best) {
            self.best = metric;
            self.bad_steps = 0;
        } else {
            self.bad_steps += 1;
        }
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.bad_steps = 0;
        }
        if self.bad_steps > self.patience {
            let lrs = opt.group_lrs();
            let new: Vec<f64> = lrs
                .iter()
                .enumerate()
                .map(|(k, &lr)| {
                    let floor = self.min_lrs.get(k).or(self.min_lrs.last()).copied().unwrap_or(0.0);
                    let reduced = (lr * self.factor).max(floor);
                    if lr - reduced > self.eps { reduced } else { lr }
                })
                .collect();
            opt.set_group_lrs(&new)?;
            self.cooldown_left = self.cooldown;
            self.bad_steps = 0;
        }
        Ok(())
    }
}
