//! Layer normalisation, `F.layer_norm(x, normalized_shape, weight, bias, eps)`, as one fused op.
//!
//! The last $k$ dimensions of $x$ (those of `normalized_shape`, $D$ elements in all) form a *row*;
//! every row is normalised on its own. For a row $x_{1..D}$:
//!
//! $$\mu = \frac1D \sum_j x_j, \qquad \sigma^2 = \frac1D \sum_j (x_j - \mu)^2, \qquad
//!   r = \frac{1}{\sqrt{\sigma^2 + \varepsilon}}, \qquad \hat x_j = (x_j - \mu)\, r,$$
//!
//! $$y_j = \gamma_j \hat x_j + \beta_j$$
//!
//! (the biased variance, as PyTorch; $\gamma$ = `weight`, $\beta$ = `bias`, both of shape
//! `normalized_shape`, each optional: absent means $\gamma = 1$, $\beta = 0$).
//!
//! **Backward**, with $g$ the upstream gradient of the row and $\hat g_j = g_j \gamma_j$:
//!
//! $$\frac{\partial L}{\partial x_j} = r \Big( \hat g_j - \frac1D \sum_k \hat g_k -
//!   \hat x_j \, \frac1D \sum_k \hat g_k \hat x_k \Big), \qquad
//!   \frac{\partial L}{\partial \gamma_j} = \sum_{\text{rows}} g_j \hat x_j, \qquad
//!   \frac{\partial L}{\partial \beta_j} = \sum_{\text{rows}} g_j .$$
//!
//! (The first follows from $\partial \hat x_j / \partial x_i = r(\delta_{ij} - \frac1D - \frac1D
//! \hat x_i \hat x_j)$.) Saved for backward: $\hat x$ and $r$ of every row, and $\gamma$'s value.
//!
//! **Kernel**: rows run in parallel (rayon) for $x$ and its gradient; each row's sums are sequential,
//! and the $\gamma, \beta$ gradients sum the rows in order, so results do not depend on the thread
//! count. The literal f64 transcription is [`crate::reference::layer_norm`].
//!
//! **On a GPU** (`kernels/norm.cu`, host code in `src/device/cuda/norm.rs`): one block per row (fixed
//! block-sum trees), the row means and $r$ saved instead of $\hat x$; the $\gamma, \beta$
//! gradients one thread per feature, summing the rows in order. The weight and bias must live on
//! the input's device.

use rayon::prelude::*;

use crate::autograd::record;
use crate::error::{Error, Result};
use crate::tensor::{DType, Data, Float, Tensor};

/// Rows below this many elements in all are computed on one thread.
const PAR_MIN: usize = 1 << 14;

impl Tensor {
    /// `F.layer_norm(x, normalized_shape, weight, bias, eps)` (see the module docs): normalises over
    /// the trailing dimensions `normalized_shape`; `weight` and `bias` have that shape.
    pub fn layer_norm(
        &self,
        normalized_shape: &[usize],
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        eps: f64,
    ) -> Result<Tensor> {
        let op = "layer_norm";
        let xs = self.shape();
        let k = normalized_shape.len();
        if k == 0 || k > xs.len() || xs[xs.len() - k..] != *normalized_shape {
            return Err(Error::mismatch(
                op,
                &xs,
                normalized_shape,
                "normalized_shape must be non-empty and equal the trailing dimensions of x",
            ));
        }
        let d: usize = normalized_shape.iter().product();
        if d == 0 {
            return Err(Error::shape(op, &xs, "the normalized dimensions must not be empty"));
        }
        let dtype = self.dtype();
        if !dtype.is_float() {
            return Err(Error::UnsupportedDType { op, dtype, shape: xs, expected: "f32 or f64" });
        }
        for (name, p) in [("weight", weight), ("bias", bias)] {
            if let Some(p) = p {
                if p.shape() != normalized_shape {
                    return Err(Error::mismatch(
                        op,
                        &xs,
                        &p.shape(),
                        format!("{name} must have shape normalized_shape = {normalized_shape:?}"),
                    ));
                }
                if p.dtype() != dtype {
                    return Err(Error::DTypeMismatch {
                        op,
                        lhs: dtype,
                        rhs: p.dtype(),
                        lhs_shape: xs.clone(),
                        rhs_shape: p.shape(),
                    });
                }
            }
        }
        for p in [weight, bias].into_iter().flatten() {
            if p.device() != self.device() {
                return Err(Error::Device {
                    op,
                    msg: format!(
                        "operands on different devices: x on {} and a weight or bias on {}",
                        self.device(),
                        p.device()
                    ),
                });
            }
        }
        let (y, saved) = forward(self, normalized_shape, weight, bias, eps)?;
        let mut inputs = vec![self];
        inputs.extend(weight);
        inputs.extend(bias);
        let (has_w, has_b) = (weight.is_some(), bias.is_some());
        Ok(record(y, op, &inputs, move |g| match &saved {
            Saved::F32(s) => backward_typed(s, g, has_w, has_b),
            Saved::F64(s) => backward_typed(s, g, has_w, has_b),
            #[cfg(feature = "cuda")]
            Saved::Cuda(s) => backward_cuda(s, g, has_w, has_b),
        }))
    }
}

/// What the backward of `layer_norm` reads, on the device the forward ran on.
enum Saved {
    F32(CpuSaved<f32>),
    F64(CpuSaved<f64>),
    #[cfg(feature = "cuda")]
    Cuda(Box<crate::device::cuda::norm::LayerNormSaved>),
}

/// What the CPU backward reads: per row $\hat x$ ($D$ values) then $r$, in one buffer; $\gamma$;
/// the shapes of $x$ and of the weight.
struct CpuSaved<T> {
    saved: Vec<T>,
    gamma: Option<Vec<T>>,
    d: usize,
    shape: Vec<usize>,
    wshape: Vec<usize>,
}

/// The forward on the input's device (operands checked): `y` and what the backward reads.
fn forward(
    x: &Tensor,
    normalized_shape: &[usize],
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<(Data, Saved)> {
    #[cfg(feature = "cuda")]
    if let Data::Cuda(c) = x.data() {
        return forward_cuda(&c, normalized_shape, weight, bias, eps);
    }
    let d: usize = normalized_shape.iter().product();
    Ok(match x.dtype() {
        DType::F32 => {
            let (y, s) = forward_typed::<f32>(x, d, weight, bias, eps)?;
            (y, Saved::F32(s))
        }
        _ => {
            let (y, s) = forward_typed::<f64>(x, d, weight, bias, eps)?;
            (y, Saved::F64(s))
        }
    })
}

/// The CPU forward for one dtype: `y` and what the backward reads.
fn forward_typed<T: Float>(
    x: &Tensor,
    d: usize,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<(Data, CpuSaved<T>)> {
    let shape = x.shape();
    let xv: Vec<T> = x.to_vec()?;
    let gamma: Option<Vec<T>> = weight.map(|w| w.to_vec()).transpose()?;
    let beta: Option<Vec<T>> = bias.map(|b| b.to_vec()).transpose()?;
    let rows = xv.len() / d;
    let eps_t = <T as crate::tensor::Element>::from_f64(eps);
    let dn = T::from_usize(d).unwrap_or_else(T::one);
    // Per row: [x̂ (d values), r] in one buffer, so one parallel pass writes both.
    let mut saved = vec![T::zero(); rows * (d + 1)];
    let row_fwd = |(i, out): (usize, &mut [T])| {
        let x_row = &xv[i * d..(i + 1) * d];
        let mu = x_row.iter().copied().sum::<T>() / dn;
        let var = x_row.iter().map(|&v| (v - mu) * (v - mu)).sum::<T>() / dn;
        let ri = T::one() / (var + eps_t).sqrt();
        for (h, &v) in out[..d].iter_mut().zip(x_row) {
            *h = (v - mu) * ri;
        }
        out[d] = ri;
    };
    if xv.len() >= PAR_MIN {
        saved.par_chunks_mut(d + 1).enumerate().for_each(row_fwd);
    } else {
        saved.chunks_mut(d + 1).enumerate().for_each(row_fwd);
    }
    let mut y = Vec::with_capacity(xv.len());
    for row in saved.chunks(d + 1) {
        for (j, &h) in row[..d].iter().enumerate() {
            let g = gamma.as_ref().map_or(T::one(), |g| g[j]);
            let b = beta.as_ref().map_or(T::zero(), |b| b[j]);
            y.push(g * h + b);
        }
    }
    let y = Tensor::from_vec(y, &shape)?;
    let wshape = weight.map(|w| w.shape()).or(bias.map(|b| b.shape())).unwrap_or_default();
    Ok((y.data(), CpuSaved { saved, gamma, d, shape, wshape }))
}

/// The CPU backward for one dtype: the gradients of x, and of the weight and the bias when given.
fn backward_typed<T: Float>(
    s: &CpuSaved<T>,
    g: &Tensor,
    has_w: bool,
    has_b: bool,
) -> Result<Vec<Option<Tensor>>> {
    let CpuSaved { saved, gamma, d, shape, wshape } = s;
    let d = *d;
    let dn = T::from_usize(d).unwrap_or_else(T::one);
    let gv: Vec<T> = g.to_vec()?;
    let mut dx = vec![T::zero(); gv.len()];
    let row_bwd = |(i, dx_row): (usize, &mut [T])| {
        let g_row = &gv[i * d..(i + 1) * d];
        let (xh, ri) = (&saved[i * (d + 1)..i * (d + 1) + d], saved[i * (d + 1) + d]);
        let gh = |j: usize| gamma.as_ref().map_or(g_row[j], |ga| g_row[j] * ga[j]);
        let (mut s1, mut s2) = (T::zero(), T::zero());
        for (j, &h) in xh.iter().enumerate() {
            s1 += gh(j);
            s2 += gh(j) * h;
        }
        let (m1, m2) = (s1 / dn, s2 / dn);
        for (j, (o, &h)) in dx_row.iter_mut().zip(xh).enumerate() {
            *o = ri * (gh(j) - m1 - h * m2);
        }
    };
    if gv.len() >= PAR_MIN {
        dx.par_chunks_mut(d).enumerate().for_each(row_bwd);
    } else {
        dx.chunks_mut(d).enumerate().for_each(row_bwd);
    }
    let mut grads = vec![Some(Tensor::from_vec(dx, shape)?)];
    if has_w {
        let mut dg = vec![T::zero(); d];
        for (g_row, row) in gv.chunks(d).zip(saved.chunks(d + 1)) {
            for ((a, &g), &h) in dg.iter_mut().zip(g_row).zip(&row[..d]) {
                *a += g * h;
            }
        }
        grads.push(Some(Tensor::from_vec(dg, wshape)?));
    }
    if has_b {
        let mut db = vec![T::zero(); d];
        for g_row in gv.chunks(d) {
            for (a, &g) in db.iter_mut().zip(g_row) {
                *a += g;
            }
        }
        grads.push(Some(Tensor::from_vec(db, wshape)?));
    }
    Ok(grads)
}

/// The GPU forward (`kernels/norm.cu` through `device::cuda::norm`): the weight and the bias must
/// be on the same GPU.
#[cfg(feature = "cuda")]
fn forward_cuda(
    x: &crate::device::cuda::CudaData,
    normalized_shape: &[usize],
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<(Data, Saved)> {
    use crate::ops::device_data::cuda_input;
    let gpu = x.gpu().clone();
    let on_gpu = |t: Option<&Tensor>| t.map(|t| cuda_input("layer_norm", t, Some(&gpu))).transpose();
    let (w, b) = (on_gpu(weight)?, on_gpu(bias)?);
    let (y, saved) =
        crate::device::cuda::norm::layer_norm_forward(x, normalized_shape, w.as_ref(), b.as_ref(), eps)?;
    Ok((Data::Cuda(y), Saved::Cuda(Box::new(saved))))
}

/// The GPU backward: the gradients of x, and of the weight and the bias when given.
#[cfg(feature = "cuda")]
fn backward_cuda(
    saved: &crate::device::cuda::norm::LayerNormSaved,
    g: &Tensor,
    has_w: bool,
    has_b: bool,
) -> Result<Vec<Option<Tensor>>> {
    let g = crate::ops::device_data::grad_on(g, saved.gpu())?;
    let (dx, dw, db) = crate::device::cuda::norm::layer_norm_backward(saved, &g, has_w, has_b)?;
    let tensor = |c| Tensor::from_data(Data::Cuda(c));
    let mut grads = vec![Some(tensor(dx))];
    if has_w {
        grads.push(dw.map(tensor));
    }
    if has_b {
        grads.push(db.map(tensor));
    }
    Ok(grads)
}
