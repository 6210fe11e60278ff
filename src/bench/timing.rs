//! Timing one case: warm-up, adaptive iterations per sample, order statistics.
//!
//! 1. **Warm-up**: the run closure is called until [`Options::warmup`] has passed (at least once).
//!    This pages in the data, starts the thread pools and fills the caches; the fastest warm-up call
//!    estimates the time of one iteration, $\hat t$.
//! 2. **Iterations per sample**: $k = \lceil T_s / \hat t \rceil$ (at least 1), so that a sample lasts
//!    about [`Options::sample_target`] $T_s$ and the clock's resolution does not matter.
//! 3. **Samples**: at least [`Options::samples`] samples are taken; more are taken while the case has
//!    been sampling for less than [`Options::case_budget`], up to [`Options::max_samples`]. A case
//!    whose single iteration is slower than the budget still gets its minimum number of samples.
//! 4. Each sample gives the time of one iteration, $t_i = (\text{sample time}) / k$; the report gives
//!    the median, minimum, maximum and the quartiles (linear interpolation between order statistics,
//!    as `numpy.percentile`'s default).

use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How a case is timed (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Minimum number of samples (`--samples`).
    pub samples: usize,
    /// Hard cap on the number of samples.
    pub max_samples: usize,
    /// How long a sample should last.
    pub sample_target: Duration,
    /// How long to warm up before sampling.
    pub warmup: Duration,
    /// Time after which no sample beyond the minimum is started.
    pub case_budget: Duration,
}

impl Default for Options {
    /// 10 samples of about 5 ms, 50 ms of warm-up, at most 1 s of sampling per case.
    fn default() -> Self {
        Options {
            samples: 10,
            max_samples: 200,
            sample_target: Duration::from_millis(5),
            warmup: Duration::from_millis(50),
            case_budget: Duration::from_secs(1),
        }
    }
}

/// The timing of one case: one per-iteration time per sample, and its order statistics, in ms.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// Per-iteration time of each sample, in ms, in the order taken.
    pub samples_ms: Vec<f64>,
    /// Iterations per sample.
    pub iters_per_sample: u64,
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    /// First quartile.
    pub q1_ms: f64,
    /// Third quartile.
    pub q3_ms: f64,
}

impl Timing {
    /// Order statistics of per-iteration times (ms). Errors on an empty or non-finite list.
    pub fn from_samples(samples_ms: Vec<f64>, iters_per_sample: u64) -> Result<Timing> {
        if samples_ms.is_empty() || samples_ms.iter().any(|t| !t.is_finite()) {
            return Err(Error::invalid("bench", "timing needs at least one finite sample"));
        }
        let mut sorted = samples_ms.clone();
        sorted.sort_by(f64::total_cmp);
        Ok(Timing {
            median_ms: quantile(&sorted, 0.5),
            min_ms: sorted[0],
            max_ms: sorted[sorted.len() - 1],
            q1_ms: quantile(&sorted, 0.25),
            q3_ms: quantile(&sorted, 0.75),
            samples_ms,
            iters_per_sample,
        })
    }

    /// Interquartile range, in ms.
    pub fn iqr_ms(&self) -> f64 {
        self.q3_ms - self.q1_ms
    }
}

/// The `q`-quantile of a sorted, non-empty slice: linear interpolation between the order statistics
/// at positions $\lfloor h \rfloor$ and $\lceil h \rceil$, $h = (n-1)\,q$.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Times `run` as the module docs describe. The first error from `run` stops the timing.
pub fn time_run(run: &mut dyn FnMut() -> Result<()>, opts: &Options) -> Result<Timing> {
    // 1. Warm-up.
    let start = Instant::now();
    let mut fastest = Duration::MAX;
    loop {
        let t = Instant::now();
        run()?;
        fastest = fastest.min(t.elapsed());
        if start.elapsed() >= opts.warmup {
            break;
        }
    }
    // 2. Iterations per sample.
    let per_iter = fastest.as_secs_f64().max(1e-9);
    let iters = ((opts.sample_target.as_secs_f64() / per_iter).ceil() as u64).max(1);
    // 3. Samples.
    let min_samples = opts.samples.max(1);
    let max_samples = opts.max_samples.max(min_samples);
    let mut samples_ms = Vec::with_capacity(min_samples);
    let sampling = Instant::now();
    while samples_ms.len() < min_samples
        || (samples_ms.len() < max_samples && sampling.elapsed() < opts.case_budget)
    {
        let t = Instant::now();
        for _ in 0..iters {
            run()?;
        }
        samples_ms.push(t.elapsed().as_secs_f64() * 1e3 / iters as f64);
    }
    Timing::from_samples(samples_ms, iters)
}

/// The round to report among rounds of medians `medians_ms`: the index of the lowest finite median
/// (the first on a tie), `None` when there is none.
///
/// Best of rounds, not their mean: on a shared machine a neighbour's load only ever slows a round
/// down, and it slows the two sides unequally (PyTorch's OpenMP workers spin while they wait for
/// work, and a spinning thread that loses its core stalls the whole parallel region, while rayon's
/// workers sleep and steal), so the lowest median of each side is the fairest estimate of what
/// each does on a quiet machine.
pub fn best_round(medians_ms: &[f64]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, m) in medians_ms.iter().enumerate() {
        if m.is_finite() && best.is_none_or(|b| *m < medians_ms[b]) {
            best = Some(i);
        }
    }
    best
}
