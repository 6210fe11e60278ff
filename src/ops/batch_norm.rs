//! Batch normalisation (PyTorch's `F.batch_norm`), one fused op with its own backward.
//!
//! ## Forward
//! For $x$ of shape $(N, C, *)$ (any number of trailing dimensions, $S$ elements each), channel
//! $c$ holds the $M = N S$ values $x_{n,c,s}$. With per-channel statistics $\mu_c$, $\sigma^2_c$:
//! $$\hat x_{n,c,s} = \frac{x_{n,c,s} - \mu_c}{\sqrt{\sigma^2_c + \varepsilon}}, \qquad
//!   y_{n,c,s} = \gamma_c\, \hat x_{n,c,s} + \beta_c$$
//! ($\gamma = 1$, $\beta = 0$ when the weight or bias is absent). It is computed as PyTorch does,
//! $y = \alpha_c x + b_c$ with $\alpha_c = \gamma_c / \sqrt{\sigma^2_c + \varepsilon}$ and
//! $b_c = \beta_c - \mu_c \alpha_c$.
//!
//! * **Training** (batch statistics, the *biased* variance):
//!   $\mu_c = \frac1M \sum_{n,s} x_{n,c,s}$, $\sigma^2_c = \frac1M \sum_{n,s} (x_{n,c,s} - \mu_c)^2$.
//!   The running statistics, when given, are updated in place with momentum $m$ (PyTorch's 0.1)
//!   and the *unbiased* variance:
//!   $$\hat\mu_c \leftarrow (1 - m)\,\hat\mu_c + m\,\mu_c, \qquad
//!   \hat\sigma^2_c \leftarrow (1 - m)\,\hat\sigma^2_c + m\,\tfrac{M}{M - 1}\,\sigma^2_c .$$
//!   $M = 1$ is an error (PyTorch: "Expected more than 1 value per channel when training").
//! * **Evaluation** (running statistics): $\mu_c = \hat\mu_c$, $\sigma^2_c = \hat\sigma^2_c$, both
//!   required; nothing is updated.
//!
//! ## Backward
//! With $\bar y = \partial L/\partial y$ and $r_c = 1/\sqrt{\sigma^2_c + \varepsilon}$:
//! $$\frac{\partial L}{\partial \beta_c} = \sum_{n,s} \bar y_{n,c,s}, \qquad
//!   \frac{\partial L}{\partial \gamma_c} = \sum_{n,s} \bar y_{n,c,s}\, \hat x_{n,c,s}.$$
//! In training the statistics depend on $x$, and
//! $$\frac{\partial L}{\partial x_{n,c,s}} = \frac{\gamma_c r_c}{M}\Big(M \bar y_{n,c,s}
//!   \;-\; \sum_{n',s'} \bar y_{n',c,s'} \;-\; \hat x_{n,c,s} \sum_{n',s'} \bar y_{n',c,s'} \hat x_{n',c,s'}\Big);$$
//! in evaluation they are constants: $\partial L/\partial x_{n,c,s} = \gamma_c r_c\, \bar y_{n,c,s}$.
//! The running statistics receive no gradient (they are buffers).
//!
//! Saved for backward: $x$ (shared storage, no copy), $\mu_c$, $r_c$ and $\gamma_c$ (per channel).
//!
//! ## Kernel (CPU)
//! The per-channel sums (two passes: the mean, then the squared deviations) run one rayon task per
//! channel, each adding its $M$ values in $(n, s)$ order in f64; the elementwise passes run one task
//! per sample. Nothing depends on the thread count.
//!
//! ## On a GPU
//! `kernels/norm.cu` (host code in `src/device/cuda/norm.rs`): the per-channel sums one block per
//! channel in f64 (fixed block trees), the elementwise passes one thread per element. Every
//! operand, the running statistics included, must live on the input's device; the updated running
//! statistics replace their storage there.

use ndarray::{ArcArray, ArrayD, IxDyn};
use rayon::prelude::*;

use crate::autograd::record;
use crate::error::{Error, Result};
use crate::tensor::{Data, Element, Float, Tensor};

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
struct Layout {
    n: usize,
    c: usize,
    s: usize,
}

impl Layout {
    /// Values per channel, $M = N S$.
    fn m(&self) -> usize {
        self.n * self.s
    }
    /// The values of channel `c` of sample `n`.
    fn lane<'a, T>(&self, x: &'a [T], n: usize, c: usize) -> &'a [T] {
        let at = (n * self.c + c) * self.s;
        &x[at..at + self.s]
    }
}

/// Per-channel mean and biased variance, two passes, in f64.
fn batch_stats<T: Float>(l: Layout, x: &[T]) -> (Vec<f64>, Vec<f64>) {
    let m = l.m() as f64;
    (0..l.c)
        .into_par_iter()
        .map(|c| {
            let mut sum = 0.0;
            for n in 0..l.n {
                for &v in l.lane(x, n, c) {
                    sum += Element::to_f64(v);
                }
            }
            let mean = sum / m;
            let mut sq = 0.0;
            for n in 0..l.n {
                for &v in l.lane(x, n, c) {
                    let d = Element::to_f64(v) - mean;
                    sq += d * d;
                }
            }
            (mean, sq / m)
        })
        .unzip()
}

/// $y = \alpha_c x + b_c$, one task per sample.
fn affine<T: Float>(l: Layout, x: &[T], alpha: &[f64], shift: &[f64]) -> Vec<T> {
    let (alpha, shift): (Vec<T>, Vec<T>) = alpha
        .iter()
        .zip(shift)
        .map(|(&a, &b)| (<T as Element>::from_f64(a), <T as Element>::from_f64(b)))
        .unzip();
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

/// What backward needs, per channel.
struct Saved {
    mean: Vec<f64>,
    inv_std: Vec<f64>,
    gamma: Vec<f64>,
    training: bool,
}

/// Gradients of x, γ and β (module docs), γ and β as f64 per channel.
fn backward_typed<T: Float>(
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
                    let g = Element::to_f64(g);
                    sg += g;
                    sgx += g * (Element::to_f64(v) - mu) * r;
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
                        let xhat = (Element::to_f64(v) - mu) * r;
                        *o = <T as Element>::from_f64(k * (Element::to_f64(g) - a - xhat * b));
                    }
                }
            },
        );
        dx
    });
    (dx, sum_gx, sum_g)
}

fn to_array<T: Clone>(shape: &[usize], v: Vec<T>) -> Result<ArcArray<T, IxDyn>> {
    Ok(ArrayD::from_shape_vec(IxDyn(shape), v)
        .map_err(|e| Error::invalid("batch_norm", e.to_string()))?
        .into_shared())
}

fn typed_slice<T: Element>(d: &Data) -> Result<std::borrow::Cow<'_, [T]>> {
    let a = d.typed::<T>("batch_norm")?;
    Ok(match a.as_slice() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(a.iter().copied().collect()),
    })
}

/// One f64 value per channel.
type PerChannel = Vec<f64>;

/// The forward pass for one dtype: `y`, the batch (or running) mean and variance used, and
/// $r_c = 1/\sqrt{\sigma^2_c + \varepsilon}$.
fn forward_typed<T: Float>(
    l: Layout,
    shape: &[usize],
    xd: &Data,
    stats: Option<(Vec<f64>, Vec<f64>)>,
    gamma: &[f64],
    beta: &[f64],
    eps: f64,
) -> Result<(Data, Vec<f64>, Vec<f64>, PerChannel)> {
    let x = typed_slice::<T>(xd)?;
    let (mean, var) = match stats {
        Some(s) => s,
        None => batch_stats(l, &x),
    };
    let inv_std: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    let alpha: Vec<f64> = (0..l.c).map(|c| gamma[c] * inv_std[c]).collect();
    let shift: Vec<f64> = (0..l.c).map(|c| beta[c] - mean[c] * alpha[c]).collect();
    let y = affine(l, &x, &alpha, &shift);
    Ok((T::wrap(to_array(shape, y)?), mean, var, inv_std))
}

/// Checks a per-channel tensor: shape `(C)`, the input's dtype, the input's device.
fn check_channel(name: &str, t: &Tensor, x: &Tensor, c: usize) -> Result<()> {
    if t.shape() != [c] {
        return Err(Error::mismatch(
            "batch_norm",
            &x.shape(),
            &t.shape(),
            format!("{name} must have shape [{c}] (one value per channel, dimension 1 of the input)"),
        ));
    }
    if t.dtype() != x.dtype() {
        return Err(Error::DTypeMismatch {
            op: "batch_norm",
            lhs: x.dtype(),
            rhs: t.dtype(),
            lhs_shape: x.shape(),
            rhs_shape: t.shape(),
        });
    }
    if t.device() != x.device() {
        return Err(Error::Device {
            op: "batch_norm",
            msg: format!(
                "operands on different devices: the input on {} and {name} on {}",
                x.device(),
                t.device()
            ),
        });
    }
    Ok(())
}

/// A per-channel vector `(C)` (checked by [`check_channel`]) read as f64; `default` when absent.
fn channel_vec(t: Option<&Tensor>, c: usize, default: f64) -> Vec<f64> {
    match t {
        None => vec![default; c],
        Some(t) => t.to_f64_vec(),
    }
}

/// Writes per-channel f64 values into `t` (same dtype as `t`), replacing its storage.
fn write_channel(t: &Tensor, v: &[f64]) -> Result<()> {
    let data = match t.dtype() {
        crate::tensor::DType::F32 => Data::F32(to_array(&[v.len()], v.iter().map(|&a| a as f32).collect())?),
        _ => Data::F64(to_array(&[v.len()], v.to_vec())?),
    };
    t.set_data(data)
}

impl Tensor {
    /// Batch normalisation of `self` $(N, C, *)$ over every dimension but the channel dimension 1,
    /// PyTorch's `F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum,
    /// eps)`. In training, the running statistics (when given) are updated in place; in
    /// evaluation they are required and used. Differentiable in `self`, `weight` and `bias`.
    /// See the module docs for the formulas.
    pub fn batch_norm(
        &self,
        running_mean: Option<&Tensor>,
        running_var: Option<&Tensor>,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        p: &BatchNormParams,
    ) -> Result<Tensor> {
        const OP: &str = "batch_norm";
        let shape = self.shape();
        if shape.len() < 2 {
            return Err(Error::shape(
                OP,
                &shape,
                format!("input must be (N, C, ...) with at least 2 dimensions, got {}", shape.len()),
            ));
        }
        if !self.dtype().is_float() {
            return Err(Error::UnsupportedDType {
                op: OP,
                dtype: self.dtype(),
                shape,
                expected: "f32 or f64",
            });
        }
        if !(p.eps >= 0.0 && p.eps.is_finite()) {
            return Err(Error::invalid(OP, format!("eps must be a non-negative number, got {}", p.eps)));
        }
        if !(0.0..=1.0).contains(&p.momentum) {
            return Err(Error::invalid(OP, format!("momentum must lie in [0, 1], got {}", p.momentum)));
        }
        if running_mean.is_some() != running_var.is_some() {
            return Err(Error::invalid(OP, "running_mean and running_var must be given together"));
        }
        let l = Layout { n: shape[0], c: shape[1], s: shape[2..].iter().product() };
        for (name, t) in
            [("weight", weight), ("bias", bias), ("running_mean", running_mean), ("running_var", running_var)]
        {
            if let Some(t) = t {
                check_channel(name, t, self, l.c)?;
            }
        }
        if p.training && l.m() <= 1 {
            return Err(Error::shape(OP, &shape, "expected more than 1 value per channel when training"));
        }
        if !p.training && running_mean.is_none() {
            return Err(Error::invalid(OP, "evaluation mode needs running_mean and running_var"));
        }
        #[cfg(feature = "cuda")]
        if let Data::Cuda(c) = self.data() {
            let running = running_mean.zip(running_var);
            return crate::device::cuda::norm::batch_norm(self, &c, running, weight, bias, p);
        }
        let gamma = channel_vec(weight, l.c, 1.0);
        let beta = channel_vec(bias, l.c, 0.0);
        let running = running_mean.zip(running_var).map(|(rm, rv)| (rm.to_f64_vec(), rv.to_f64_vec()));
        let stats = if p.training { None } else { running.clone() };
        let xd = self.data();
        let (y, mean, var, inv_std) = match &xd {
            Data::F32(_) => forward_typed::<f32>(l, &shape, &xd, stats, &gamma, &beta, p.eps)?,
            _ => forward_typed::<f64>(l, &shape, &xd, stats, &gamma, &beta, p.eps)?,
        };
        if p.training
            && let (Some((rm, rv)), Some(rm_t), Some(rv_t)) = (&running, running_mean, running_var)
        {
            let (mm, unbias) = (p.momentum, l.m() as f64 / (l.m() - 1) as f64);
            let new_mean: Vec<f64> = (0..l.c).map(|c| (1.0 - mm) * rm[c] + mm * mean[c]).collect();
            let new_var: Vec<f64> = (0..l.c).map(|c| (1.0 - mm) * rv[c] + mm * var[c] * unbias).collect();
            write_channel(rm_t, &new_mean)?;
            write_channel(rv_t, &new_var)?;
        }
        let need_dx = self.requires_grad();
        let saved = Saved { mean, inv_std, gamma, training: p.training };
        let mut inputs = vec![self];
        inputs.extend(weight);
        inputs.extend(bias);
        let (has_w, has_b) = (weight.is_some(), bias.is_some());
        let dtype = self.dtype();
        Ok(record(y, OP, &inputs, move |g| {
            let gd = g.data();
            let (dx, dgamma, dbeta) = match (&xd, &gd) {
                (Data::F32(_), Data::F32(_)) => {
                    let (x, dy) = (typed_slice::<f32>(&xd)?, typed_slice::<f32>(&gd)?);
                    let (dx, dga, dbe) = backward_typed(l, &x, &dy, &saved, need_dx);
                    (dx.map(|v| to_array(&shape, v).map(Data::F32)).transpose()?, dga, dbe)
                }
                (Data::F64(_), Data::F64(_)) => {
                    let (x, dy) = (typed_slice::<f64>(&xd)?, typed_slice::<f64>(&gd)?);
                    let (dx, dga, dbe) = backward_typed(l, &x, &dy, &saved, need_dx);
                    (dx.map(|v| to_array(&shape, v).map(Data::F64)).transpose()?, dga, dbe)
                }
                _ => return Err(crate::ops::common::dtype_error(OP, &xd, &gd)),
            };
            let per_channel = |v: Vec<f64>| -> Result<Tensor> {
                let t = Tensor::from_vec(v, &[l.c])?;
                if dtype == crate::tensor::DType::F32 { t.to_dtype(dtype) } else { Ok(t) }
            };
            let mut grads = vec![dx.map(Tensor::from_data)];
            if has_w {
                grads.push(Some(per_channel(dgamma)?));
            }
            if has_b {
                grads.push(Some(per_channel(dbeta)?));
            }
            Ok(grads)
        }))
    }
}
