//! The CPU side of batch normalisation: the parameters ([`BatchNormParams`], shared with the CUDA
//! host code) and the kernels on contiguous $(N, C, S)$ slices (the formulas are in
//! `ops::batch_norm`).
//!
//! The per-channel sums (two passes: the mean, then the squared deviations) run one rayon task per
//! channel, each adding its $M$ values in $(n, s)$ order in f64; the elementwise passes run one task
//! per sample. Nothing depends on the thread count.

use rayon::prelude::*;

use crate::device::cpu::float::CpuFloat;

/// Mode, momentum and epsilon of a batch normalisation (PyTorch's defaults: training, 0.1, 1e-5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchNormParams {
    /// Batch statistics (and running-statistics update) when `true`; running statistics when `false`.
    pub training: bool,
    /// The weight $m$ of the new batch statistics in the running averages.
    pub momentum: f64,
    /// $\varepsilon$, added to the variance.
    pub eps: f64,
}

impl Default for BatchNormParams {
    fn default() -> Self {
        BatchNormParams { training: true, momentum: 0.1, eps: 1e-5 }
    }
}

/// The layout of $x$ as $(N, C, S)$.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub n: usize,
    pub c: usize,
    pub s: usize,
}

impl Layout {
    /// Values per channel, $M = N S$.
    pub fn m(&self) -> usize {
        self.n * self.s
    }
    /// The values of channel `c` of sample `n`.
    pub fn lane<'a, T>(&self, x: &'a [T], n: usize, c: usize) -> &'a [T] {
        let at = (n * self.c + c) * self.s;
        &x[at..at + self.s]
    }
}

/// Per-channel mean and biased variance, two passes, in f64.
pub fn batch_stats<T: CpuFloat>(l: Layout, x: &[T]) -> (Vec<f64>, Vec<f64>) {
    let m = l.m() as f64;
    (0..l.c)
        .into_par_iter()
        .map(|c| {
            let mut sum = 0.0;
            for n in 0..l.n {
                for &v in l.lane(x, n, c) {
                    sum += v.as_f64();
                }
            }
            let mean = sum / m;
            let mut sq = 0.0;
            for n in 0..l.n {
                for &v in l.lane(x, n, c) {
                    let d = v.as_f64() - mean;
                    sq += d * d;
                }
            }
            (mean, sq / m)
        })
        .unzip()
}

/// $y = \alpha_c x + b_c$, one task per sample.
pub fn affine<T: CpuFloat>(l: Layout, x: &[T], alpha: &[f64], shift: &[f64]) -> Vec<T> {
    let (alpha, shift): (Vec<T>, Vec<T>) =
        alpha.iter().zip(shift).map(|(&a, &b)| (T::from_f64_rounded(a), T::from_f64_rounded(b))).unzip();
    let mut y = vec![T::zero(); x.len()];
    let step = (l.c * l.s).max(1);
    y.par_chunks_mut(step).zip(x.par_chunks(step)).for_each(|(y_n, x_n)| {
        for c in 0..l.c {
            let (a, b) = (alpha[c], shift[c]);
            for (o, &v) in y_n[c * l.s..(c + 1) * l.s].iter_mut().zip(&x_n[c * l.s..(c + 1) * l.s]) {
                *o = v * a + b;
            }
        }
    });
    y
}

/// What backward needs, per channel: $\mu_c$, $r_c$, $\gamma_c$, and whether the statistics were
/// the batch's (training).
pub struct Saved {
    pub mean: Vec<f64>,
    pub inv_std: Vec<f64>,
    pub gamma: Vec<f64>,
    pub training: bool,
}

/// Gradients of x, γ and β (the formulas of `ops::batch_norm`), γ and β as f64 per channel.
pub fn backward<T: CpuFloat>(
    l: Layout,
    x: &[T],
    dy: &[T],
    sv: &Saved,
    need_dx: bool,
) -> (Option<Vec<T>>, Vec<f64>, Vec<f64>) {
    // Σ ȳ and Σ ȳ x̂ per channel, one task per channel, in (n, s) order.
    let (sum_g, sum_gx): (Vec<f64>, Vec<f64>) = (0..l.c)
        .into_par_iter()
        .map(|c| {
            let (mu, r) = (sv.mean[c], sv.inv_std[c]);
            let (mut sg, mut sgx) = (0.0, 0.0);
            for n in 0..l.n {
                for (&g, &v) in l.lane(dy, n, c).iter().zip(l.lane(x, n, c)) {
                    let g = g.as_f64();
                    sg += g;
                    sgx += g * (v.as_f64() - mu) * r;
                }
            }
            (sg, sgx)
        })
        .unzip();
    let dx = need_dx.then(|| {
        let m = l.m() as f64;
        // ∂x = k_c (ȳ − a_c − x̂ b_c) with k_c = γ r, a_c = Σȳ/M, b_c = Σȳx̂/M (training);
        // ∂x = k_c ȳ (evaluation).
        let coef: Vec<[f64; 4]> = (0..l.c)
            .map(|c| {
                let k = sv.gamma[c] * sv.inv_std[c];
                if sv.training {
                    [k, sum_g[c] / m, sum_gx[c] / m, sv.mean[c]]
                } else {
                    [k, 0.0, 0.0, sv.mean[c]]
                }
            })
            .collect();
        let mut dx = vec![T::zero(); x.len()];
        let step = (l.c * l.s).max(1);
        dx.par_chunks_mut(step).zip(dy.par_chunks(step).zip(x.par_chunks(step))).for_each(
            |(dx_n, (dy_n, x_n))| {
                for (c, &[k, a, b, mu]) in coef.iter().enumerate() {
                    let r = sv.inv_std[c];
                    let range = c * l.s..(c + 1) * l.s;
                    for ((o, &g), &v) in
                        dx_n[range.clone()].iter_mut().zip(&dy_n[range.clone()]).zip(&x_n[range])
                    {
                        let xhat = (v.as_f64() - mu) * r;
                        *o = T::from_f64_rounded(k * (g.as_f64() - a - xhat * b));
                    }
                }
            },
        );
        dx
    });
    (dx, sum_gx, sum_g)
}

/// One f64 value per channel.
pub type PerChannel = Vec<f64>;

/// The forward pass on a contiguous `x`: `y`, the batch statistics (or `stats`, the running ones)
/// used as (mean, variance), and $r_c = 1/\sqrt{\sigma^2_c + \varepsilon}$.
pub fn forward<T: CpuFloat>(
    l: Layout,
    x: &[T],
    stats: Option<(Vec<f64>, Vec<f64>)>,
    gamma: &[f64],
    beta: &[f64],
    eps: f64,
) -> (Vec<T>, Vec<f64>, Vec<f64>, PerChannel) {
    let (mean, var) = match stats {
        Some(s) => s,
        None => batch_stats(l, x),
    };
    let inv_std: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    let alpha: Vec<f64> = (0..l.c).map(|c| gamma[c] * inv_std[c]).collect();
    let shift: Vec<f64> = (0..l.c).map(|c| beta[c] - mean[c] * alpha[c]).collect();
    (affine(l, x, &alpha, &shift), mean, var, inv_std)
}

/// The updated running statistics $(1 - m)\hat\mu + m\mu$ and
/// $(1 - m)\hat\sigma^2 + m \frac{M}{M-1} \sigma^2$ from the old ones `(rm, rv)` and the batch's
/// `mean` and (biased) `var`; $m$ = `momentum`.
pub fn running_update(
    l: Layout,
    (rm, rv): (&[f64], &[f64]),
    (mean, var): (&[f64], &[f64]),
    momentum: f64,
) -> (Vec<f64>, Vec<f64>) {
    let (mm, unbias) = (momentum, l.m() as f64 / (l.m() - 1) as f64);
    let new_mean: Vec<f64> = (0..l.c).map(|c| (1.0 - mm) * rm[c] + mm * mean[c]).collect();
    let new_var: Vec<f64> = (0..l.c).map(|c| (1.0 - mm) * rv[c] + mm * var[c] * unbias).collect();
    (new_mean, new_var)
}
