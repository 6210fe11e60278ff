//! Losses: cross-entropy (fused log-softmax + negative log-likelihood), negative log-likelihood,
//! and mean squared error, with PyTorch's semantics (reductions, class weights, `ignore_index`,
//! label smoothing).
//!
//! ## Cross-entropy
//! Logits $x \in \mathbb{R}^{N \times C}$, targets $t \in \{0..C-1\}^N$ (i64), optional class
//! weights $w \in \mathbb{R}^C$ (default all 1), label smoothing $\varepsilon \in [0, 1]$, and the
//! mask $a_n = [t_n \ne \text{ignore\_index}]$. Per row, with $\ell_n = \operatorname{logsumexp}_c x_{n,c}$
//! (max-subtracted) and $p_{n,c} = e^{x_{n,c} - \ell_n}$:
//! $$\text{loss}_n = a_n \Big[(1-\varepsilon)\, w_{t_n} (\ell_n - x_{n,t_n}) +
//!   \frac{\varepsilon}{C} \sum_c w_c (\ell_n - x_{n,c})\Big]$$
//! Reduction: `None` gives $\text{loss}_n$; `Sum` gives $\sum_n \text{loss}_n$; `Mean` gives
//! $\sum_n \text{loss}_n / D$ with $D = \sum_n a_n w_{t_n}$ (the number of non-ignored rows when
//! unweighted; NaN when every row is ignored, as in PyTorch).
//!
//! Gradient (upstream $g$; $s_n = g_n$, $g$, or $g / D$ for none, sum, mean; $W = \sum_c w_c$):
//! $$\frac{\partial L}{\partial x_{n,c}} = s_n\, a_n \Big[(1-\varepsilon)\, w_{t_n} (p_{n,c} - [c = t_n]) +
//!   \frac{\varepsilon}{C} (W p_{n,c} - w_c)\Big]$$
//! which is $(p - \text{onehot}(t)) \cdot g / N$ in the plain mean case. Saved for backward: $x$,
//! $\ell$, $t$, $a$, $w$, $D$. The weights are constants (no gradient, as in PyTorch).
//!
//! ## Negative log-likelihood
//! Log-probabilities $z \in \mathbb{R}^{N \times C}$: $\text{loss}_n = -a_n w_{t_n} z_{n,t_n}$, the
//! same reductions, and $\partial L / \partial z_{n,c} = -s_n a_n w_{t_n} [c = t_n]$.
//!
//! ## Mean squared error
//! Same shapes: $\text{loss}_i = (x_i - y_i)^2$, reduced; a composite of `sub`, `mul`, `sum`/`mean`
//! (gradients $2(x - y) g$ and $-2(x - y) g$, divided by the element count for the mean).
//!
//! On a GPU the cross-entropy and the negative log-likelihood are fused kernels
//! (`kernels/loss.cu`; targets and class weights are validated on the host and uploaded, so they
//! may live on either device), and the mean squared error is the same composite of device ops.
//!
//! The literal f64 transcription of the plain cross-entropy is [`crate::reference::cross_entropy`].

use ndarray::{ArcArray, IxDyn};
use rayon::prelude::*;

use crate::autograd::{is_grad_enabled, record};
use crate::device::cpu::PARALLEL_THRESHOLD;
use crate::error::{Error, Result};
use crate::ops::softmax::lane_logsumexp;
use crate::tensor::{DType, Data, Float, Tensor};

pub use crate::device::cpu::loss::Reduction;

/// Options of [`Tensor::cross_entropy_with`] (PyTorch's `F.cross_entropy` keyword arguments).
#[derive(Clone, Debug)]
pub struct CrossEntropyOptions {
    pub reduction: Reduction,
    /// Class weights, shape (C), the dtype of the logits. A constant: it gets no gradient.
    pub weight: Option<Tensor>,
    /// Rows whose target equals this contribute nothing (PyTorch's default: `Some(-100)`).
    pub ignore_index: Option<i64>,
    /// $\varepsilon \in [0, 1]$: the target distribution is $(1-\varepsilon)\,\text{onehot} + \varepsilon / C$.
    pub label_smoothing: f64,
}

impl Default for CrossEntropyOptions {
    fn default() -> Self {
        CrossEntropyOptions {
            reduction: Reduction::Mean,
            weight: None,
            ignore_index: Some(-100),
            label_smoothing: 0.0,
        }
    }
}

/// Options of [`Tensor::nll_loss_with`] (PyTorch's `F.nll_loss` keyword arguments).
#[derive(Clone, Debug)]
pub struct NllOptions {
    pub reduction: Reduction,
    /// Class weights, shape (C), the dtype of the input. A constant: it gets no gradient.
    pub weight: Option<Tensor>,
    /// Rows whose target equals this contribute nothing (PyTorch's default: `Some(-100)`).
    pub ignore_index: Option<i64>,
}

impl Default for NllOptions {
    fn default() -> Self {
        NllOptions { reduction: Reduction::Mean, weight: None, ignore_index: Some(-100) }
    }
}

/// Validated class targets: $t_n$ and the mask $a_n$ (false for ignored rows).
struct Targets {
    t: Vec<usize>,
    active: Vec<bool>,
}

/// Checks `input` (N, C) float, `target` (N) i64 with classes in `0..C` (or `ignore_index`).
fn check_targets(
    op: &'static str,
    input: &Tensor,
    target: &Tensor,
    ignore_index: Option<i64>,
) -> Result<Targets> {
    let (xs, ts) = (input.shape(), target.shape());
    if !input.dtype().is_float() {
        return Err(Error::UnsupportedDType { op, dtype: input.dtype(), shape: xs, expected: "f32 or f64" });
    }
    if xs.len() != 2 {
        return Err(Error::shape(op, &xs, "the input must be 2-D (N, C)"));
    }
    if target.dtype() != DType::I64 {
        return Err(Error::UnsupportedDType {
            op,
            dtype: target.dtype(),
            shape: ts,
            expected: "int64 class indices",
        });
    }
    if ts != [xs[0]] {
        return Err(Error::mismatch(op, &xs, &ts, format!("the target must have shape [{}] (N)", xs[0])));
    }
    let c = xs[1];
    let values = target.to_vec::<i64>()?;
    let mut t = Vec::with_capacity(values.len());
    let mut active = Vec::with_capacity(values.len());
    for (n, &v) in values.iter().enumerate() {
        if Some(v) == ignore_index {
            t.push(0);
            active.push(false);
        } else if v < 0 || v as u64 >= c as u64 {
            return Err(Error::Index {
                op,
                index: v,
                size: c,
                shape: xs.clone(),
                msg: format!(
                    "target[{n}] = {v} is not a class of input shape {xs:?} (target shape {ts:?}; classes 0..{c})"
                ),
            });
        } else {
            t.push(v as usize);
            active.push(true);
        }
    }
    Ok(Targets { t, active })
}

/// The class weights as a `Vec<T>` of length C (all ones when absent).
fn class_weights<T: Float>(op: &'static str, input: &Tensor, weight: Option<&Tensor>) -> Result<Vec<T>> {
    let c = input.shape()[1];
    let Some(w) = weight else {
        return Ok(vec![T::one(); c]);
    };
    if w.shape() != [c] {
        return Err(Error::mismatch(
            op,
            &input.shape(),
            &w.shape(),
            format!("weight must have shape [{c}] (C)"),
        ));
    }
    if w.dtype() != input.dtype() {
        return Err(Error::DTypeMismatch {
            op,
            lhs: input.dtype(),
            rhs: w.dtype(),
            lhs_shape: input.shape(),
            rhs_shape: w.shape(),
        });
    }
    if w.requires_grad() && is_grad_enabled() {
        return Err(Error::invalid(
            op,
            "the gradient of the class weights is not implemented (as in PyTorch); detach them",
        ));
    }
    w.to_vec::<T>()
}

/// $D = \sum_n a_n w_{t_n}$, the mean's denominator.
fn total_weight<T: Float>(tg: &Targets, w: &[T]) -> T {
    let mut d = T::zero();
    for (&t, &a) in tg.t.iter().zip(&tg.active) {
        if a {
            d += w[t];
        }
    }
    d
}

/// Reduces per-row losses; returns the output data and the per-row scale of the upstream gradient.
fn reduce<T: Float>(losses: Vec<T>, reduction: Reduction, d: T) -> Result<Data> {
    let n = losses.len();
    let out = match reduction {
        Reduction::None => ArcArray::from_shape_vec(IxDyn(&[n]), losses)
            .map_err(|e| Error::shape("loss", &[n], e.to_string()))?,
        Reduction::Sum => ArcArray::from_elem(IxDyn(&[]), losses.iter().copied().sum::<T>()),
        Reduction::Mean => ArcArray::from_elem(IxDyn(&[]), losses.iter().copied().sum::<T>() / d),
    };
    Ok(T::wrap(out))
}

/// $s_n$: the upstream gradient of row $n$ ($g_n$, $g$ or $g / D$).
fn row_scales<T: Float>(g: &Tensor, reduction: Reduction, n: usize, d: T) -> Result<Vec<T>> {
    let g = g.to_vec::<T>()?;
    Ok(match reduction {
        Reduction::None => g,
        Reduction::Sum => vec![g[0]; n],
        Reduction::Mean => vec![g[0] / d; n],
    })
}

/// Runs `f(n, row)` over the rows of a (N, C) buffer, in parallel when large.
fn for_each_row<T: Float>(buf: &mut [T], c: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    if c == 0 {
        return;
    }
    if buf.len() >= PARALLEL_THRESHOLD {
        buf.par_chunks_mut(c).enumerate().for_each(|(n, row)| f(n, row));
    } else {
        buf.chunks_mut(c).enumerate().for_each(|(n, row)| f(n, row));
    }
}

/// What the cross-entropy's backward needs, on the CPU for one float type: the contiguous logits
/// $x$, the targets, the weights $w$, the per-row $\ell_n$, $\varepsilon$, $\varepsilon / C$,
/// $W = \sum_c w_c$, $D$ and the reduction.
struct CrossEntropyCpu<T: Float> {
    x: ArcArray<T, IxDyn>,
    tg: Targets,
    w: Vec<T>,
    lse: Vec<T>,
    eps: T,
    eps_c: T,
    w_sum: T,
    d: T,
    reduction: Reduction,
}

/// What the cross-entropy's backward needs, per device.
enum CrossEntropySaved {
    F32(CrossEntropyCpu<f32>),
    F64(CrossEntropyCpu<f64>),
    #[cfg(feature = "cuda")]
    Cuda {
        saved: crate::device::cuda::loss::CrossEntropySaved,
        reduction: Reduction,
        d: f64,
    },
}

/// The fused cross-entropy forward for one float type on the CPU (see the module docs for the
/// formulas): the reduced loss and what the backward needs.
fn cross_entropy_cpu<T: Float>(
    x_t: &Tensor,
    tg: Targets,
    opts: &CrossEntropyOptions,
) -> Result<(Data, CrossEntropyCpu<T>)> {
    const OP: &str = "cross_entropy";
    let w = class_weights::<T>(OP, x_t, opts.weight.as_ref())?;
    let x = x_t.data().contiguous().typed::<T>(OP)?.clone();
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let x_s = x.as_slice().ok_or_else(|| Error::invalid(OP, "internal: array not contiguous"))?;
    let eps = <T as crate::tensor::Element>::from_f64(opts.label_smoothing);
    let eps_c = if c > 0 { eps / <T as crate::tensor::Element>::from_f64(c as f64) } else { T::zero() };
    let one = T::one();
    // Forward, row by row: ℓ_n, then loss_n.
    let row = |r: usize| -> (T, T) {
        let x_n = &x_s[r * c..(r + 1) * c];
        let lse = lane_logsumexp(x_n);
        if !tg.active[r] {
            return (lse, T::zero());
        }
        let t = tg.t[r];
        let mut loss = (one - eps) * w[t] * (lse - x_n[t]);
        if opts.label_smoothing != 0.0 {
            let mut smooth = T::zero();
            for (&w_c, &x_c) in w.iter().zip(x_n) {
                smooth += w_c * (lse - x_c);
            }
            loss += eps_c * smooth;
        }
        (lse, loss)
    };
    let rows: Vec<(T, T)> = if n * c >= PARALLEL_THRESHOLD {
        (0..n).into_par_iter().map(row).collect()
    } else {
        (0..n).map(row).collect()
    };
    let (lse, losses): (Vec<T>, Vec<T>) = rows.into_iter().unzip();
    let d = total_weight(&tg, &w);
    let out = reduce(losses, opts.reduction, d)?;
    let w_sum: T = w.iter().copied().sum();
    Ok((out, CrossEntropyCpu { x, tg, w, lse, eps, eps_c, w_sum, d, reduction: opts.reduction }))
}

/// The cross-entropy's gradient on the CPU for one float type, given the upstream gradient `g`.
fn cross_entropy_cpu_backward<T: Float>(s: &CrossEntropyCpu<T>, g: &Tensor) -> Result<Tensor> {
    const OP: &str = "cross_entropy";
    let (n, c) = (s.x.shape()[0], s.x.shape()[1]);
    let one = T::one();
    let scales = row_scales::<T>(g, s.reduction, n, s.d)?;
    let x_s = s.x.as_slice().ok_or_else(|| Error::invalid(OP, "internal: array not contiguous"))?;
    let mut dx = vec![T::zero(); n * c];
    for_each_row(&mut dx, c, |r, dx_n| {
        if !s.tg.active[r] {
            return;
        }
        let (t, x_n) = (s.tg.t[r], &x_s[r * c..(r + 1) * c]);
        let nll_coef = scales[r] * (one - s.eps) * s.w[t];
        let smooth_coef = scales[r] * s.eps_c;
        for (k, dx_k) in dx_n.iter_mut().enumerate() {
            let p = (x_n[k] - s.lse[r]).exp();
            let onehot = if k == t { one } else { T::zero() };
            *dx_k = nll_coef * (p - onehot) + smooth_coef * (s.w_sum * p - s.w[k]);
        }
    });
    Tensor::from_vec(dx, &[n, c])
}

/// The fused cross-entropy on a GPU (`kernels/loss.cu`): the same formulas, targets validated on
/// the host, the per-row losses reduced by the deterministic sum kernel.
#[cfg(feature = "cuda")]
fn cross_entropy_cuda(
    x_t: &Tensor,
    x: &crate::device::cuda::CudaData,
    tg: Targets,
    opts: &CrossEntropyOptions,
) -> Result<(Data, CrossEntropySaved)> {
    use crate::device::cuda::{loss as ops_ce, reduce};
    const OP: &str = "cross_entropy";
    let (t, w, d) = device_targets(OP, x_t, &tg, opts.weight.as_ref())?;
    let (losses, saved) = ops_ce::cross_entropy(x, &t, &w, opts.label_smoothing)?;
    let reduction = opts.reduction;
    let out = match reduction {
        Reduction::None => losses,
        Reduction::Sum => reduce::sum_dims(&losses, &[0], false, 1.0)?,
        Reduction::Mean => reduce::sum_dims(&losses, &[0], false, 1.0 / d)?,
    };
    Ok((Data::Cuda(out), CrossEntropySaved::Cuda { saved, reduction, d }))
}

/// The cross-entropy forward on the logits' device: the reduced loss and what the backward needs.
fn cross_entropy_forward(
    x_t: &Tensor,
    tg: Targets,
    opts: &CrossEntropyOptions,
) -> Result<(Data, CrossEntropySaved)> {
    #[cfg(feature = "cuda")]
    if let Data::Cuda(c) = x_t.data() {
        return cross_entropy_cuda(x_t, &c, tg, opts);
    }
    match x_t.dtype() {
        DType::F32 => cross_entropy_cpu::<f32>(x_t, tg, opts).map(|(o, s)| (o, CrossEntropySaved::F32(s))),
        _ => cross_entropy_cpu::<f64>(x_t, tg, opts).map(|(o, s)| (o, CrossEntropySaved::F64(s))),
    }
}

impl CrossEntropySaved {
    /// The gradient of the logits given the upstream gradient `g`, on the device of the forward.
    fn backward(&self, g: &Tensor) -> Result<Tensor> {
        match self {
            CrossEntropySaved::F32(s) => cross_entropy_cpu_backward(s, g),
            CrossEntropySaved::F64(s) => cross_entropy_cpu_backward(s, g),
            #[cfg(feature = "cuda")]
            CrossEntropySaved::Cuda { saved, reduction, d } => {
                let g = match g.data() {
                    Data::Cuda(g) => g,
                    other => other.to_cuda(saved.x.gpu())?,
                };
                let (stride, scale) = match reduction {
                    Reduction::None => (1, 1.0),
                    Reduction::Sum => (0, 1.0),
                    Reduction::Mean => (0, 1.0 / d),
                };
                let dx = crate::device::cuda::loss::cross_entropy_backward(saved, &g, stride, scale)?;
                Ok(Tensor::from_data(Data::Cuda(dx)))
            }
        }
    }
}

/// What the GPU kernels take from validated targets: the targets with `-1` for an ignored row,
/// the class weights as f64 (those of an f32 input exactly representable) and $D$.
#[cfg(feature = "cuda")]
fn device_targets(
    op: &'static str,
    x_t: &Tensor,
    tg: &Targets,
    weight: Option<&Tensor>,
) -> Result<(Vec<i64>, Vec<f64>, f64)> {
    let w: Vec<f64> = match x_t.dtype() {
        DType::F32 => class_weights::<f32>(op, x_t, weight)?.into_iter().map(f64::from).collect(),
        _ => class_weights::<f64>(op, x_t, weight)?,
    };
    let t: Vec<i64> = tg.t.iter().zip(&tg.active).map(|(&t, &a)| if a { t as i64 } else { -1 }).collect();
    let d: f64 = tg.t.iter().zip(&tg.active).filter(|(_, a)| **a).map(|(&t, _)| w[t]).sum();
    Ok((t, w, d))
}

/// What the negative log-likelihood's backward needs, on the CPU for one float type: the
/// targets, the weights, $D$, the reduction and the sizes.
struct NllCpu<T: Float> {
    tg: Targets,
    w: Vec<T>,
    d: T,
    reduction: Reduction,
    n: usize,
    c: usize,
}

/// What the negative log-likelihood's backward needs, per device.
enum NllSaved {
    F32(NllCpu<f32>),
    F64(NllCpu<f64>),
    #[cfg(feature = "cuda")]
    Cuda {
        saved: crate::device::cuda::loss::NllSaved,
        gpu: std::sync::Arc<crate::device::cuda::Gpu>,
    },
}

/// Negative log-likelihood forward for one float type on the CPU: the reduced loss and what the
/// backward needs.
fn nll_cpu<T: Float>(z_t: &Tensor, tg: Targets, opts: &NllOptions) -> Result<(Data, NllCpu<T>)> {
    const OP: &str = "nll_loss";
    let w = class_weights::<T>(OP, z_t, opts.weight.as_ref())?;
    let z = z_t.data().contiguous().typed::<T>(OP)?.clone();
    let (n, c) = (z.shape()[0], z.shape()[1]);
    let losses: Vec<T> =
        (0..n).map(|r| if tg.active[r] { -(w[tg.t[r]] * z[[r, tg.t[r]]]) } else { T::zero() }).collect();
    let d = total_weight(&tg, &w);
    let out = reduce(losses, opts.reduction, d)?;
    Ok((out, NllCpu { tg, w, d, reduction: opts.reduction, n, c }))
}

/// The negative log-likelihood's gradient on the CPU for one float type.
fn nll_cpu_backward<T: Float>(s: &NllCpu<T>, g: &Tensor) -> Result<Tensor> {
    let (n, c) = (s.n, s.c);
    let scales = row_scales::<T>(g, s.reduction, n, s.d)?;
    let mut dz = vec![T::zero(); n * c];
    for r in 0..n {
        if s.tg.active[r] {
            dz[r * c + s.tg.t[r]] = -(scales[r] * s.w[s.tg.t[r]]);
        }
    }
    Tensor::from_vec(dz, &[n, c])
}

/// The negative log-likelihood forward on the input's device (on a GPU `kernels/loss.cu`, targets
/// validated on the host): the reduced loss and what the backward needs.
fn nll_forward(z_t: &Tensor, tg: Targets, opts: &NllOptions) -> Result<(Data, NllSaved)> {
    #[cfg(feature = "cuda")]
    if let Data::Cuda(c) = z_t.data() {
        let (t, w, d) = device_targets("nll_loss", z_t, &tg, opts.weight.as_ref())?;
        let gpu = c.gpu().clone();
        let (out, saved) = crate::device::cuda::loss::nll_loss(&c, &t, &w, opts.reduction, d)?;
        return Ok((Data::Cuda(out), NllSaved::Cuda { saved, gpu }));
    }
    match z_t.dtype() {
        DType::F32 => nll_cpu::<f32>(z_t, tg, opts).map(|(o, s)| (o, NllSaved::F32(s))),
        _ => nll_cpu::<f64>(z_t, tg, opts).map(|(o, s)| (o, NllSaved::F64(s))),
    }
}

impl NllSaved {
    /// The gradient of the log-probabilities given the upstream gradient `g`.
    fn backward(&self, g: &Tensor) -> Result<Tensor> {
        match self {
            NllSaved::F32(s) => nll_cpu_backward(s, g),
            NllSaved::F64(s) => nll_cpu_backward(s, g),
            #[cfg(feature = "cuda")]
            NllSaved::Cuda { saved, gpu } => {
                let g = crate::ops::device_data::grad_on(g, gpu)?;
                let dz = crate::device::cuda::loss::nll_loss_backward(saved, &g)?;
                Ok(Tensor::from_data(Data::Cuda(dz)))
            }
        }
    }
}

impl Tensor {
    /// `F.cross_entropy(logits, target, reduction=...)`: logits (N, C), target (N) i64 classes.
    pub fn cross_entropy(&self, target: &Tensor, reduction: Reduction) -> Result<Tensor> {
        self.cross_entropy_with(target, &CrossEntropyOptions { reduction, ..Default::default() })
    }

    /// `F.cross_entropy` with every option (weights, `ignore_index`, label smoothing); see the
    /// module docs for the formulas.
    pub fn cross_entropy_with(&self, target: &Tensor, opts: &CrossEntropyOptions) -> Result<Tensor> {
        const OP: &str = "cross_entropy";
        if !(0.0..=1.0).contains(&opts.label_smoothing) {
            return Err(Error::invalid(
                OP,
                format!("label_smoothing must be in [0, 1], got {}", opts.label_smoothing),
            ));
        }
        let tg = check_targets(OP, self, target, opts.ignore_index)?;
        let (out, saved) = cross_entropy_forward(self, tg, opts)?;
        Ok(record(out, OP, &[self], move |g| Ok(vec![Some(saved.backward(g)?)])))
    }

    /// `F.nll_loss(log_probs, target, reduction=...)`: log-probabilities (N, C), target (N) i64.
    pub fn nll_loss(&self, target: &Tensor, reduction: Reduction) -> Result<Tensor> {
        self.nll_loss_with(target, &NllOptions { reduction, ..Default::default() })
    }

    /// `F.nll_loss` with class weights and `ignore_index`.
    pub fn nll_loss_with(&self, target: &Tensor, opts: &NllOptions) -> Result<Tensor> {
        let tg = check_targets("nll_loss", self, target, opts.ignore_index)?;
        let (out, saved) = nll_forward(self, tg, opts)?;
        Ok(record(out, "nll_loss", &[self], move |g| Ok(vec![Some(saved.backward(g)?)])))
    }

    /// `F.mse_loss(input, target, reduction=...)`: $(x_i - y_i)^2$ reduced; the shapes must be equal.
    pub fn mse_loss(&self, target: &Tensor, reduction: Reduction) -> Result<Tensor> {
        let (xs, ys) = (self.shape(), target.shape());
        if xs != ys {
            return Err(Error::mismatch("mse_loss", &xs, &ys, "input and target must have the same shape"));
        }
        crate::ops::common::same_dtype("mse_loss", self, target)?;
        if !self.dtype().is_float() {
            return Err(Error::UnsupportedDType {
                op: "mse_loss",
                dtype: self.dtype(),
                shape: xs,
                expected: "f32 or f64",
            });
        }
        let diff = self.sub(target)?;
        let sq = diff.mul(&diff)?;
        match reduction {
            Reduction::None => Ok(sq),
            Reduction::Sum => sq.sum(),
            Reduction::Mean => {
                if sq.numel() == 0 {
                    // PyTorch: the mean of no elements is NaN.
                    return Tensor::full_on(&[], f64::NAN, self.dtype(), &self.device());
                }
                sq.mean()
            }
        }
    }
}
