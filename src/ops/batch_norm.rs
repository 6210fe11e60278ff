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

use crate::autograd::record;
use crate::device::cpu::batch_norm::{self as cpu, Layout, PerChannel};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::{Data, Element, Float, Tensor};

pub use crate::device::cpu::batch_norm::BatchNormParams;

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
    let (y, mean, var, inv_std) = cpu::forward(l, &x, stats, gamma, beta, eps);
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
        DType::F32 => Data::F32(to_array(&[v.len()], v.iter().map(|&a| a as f32).collect())?),
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
        let (y, saved) = forward(self, l, running_mean.zip(running_var), weight, bias, p)?;
        let want = Wanted { dx: self.requires_grad(), w: weight.is_some(), b: bias.is_some() };
        let mut inputs = vec![self];
        inputs.extend(weight);
        inputs.extend(bias);
        let (dtype, shape) = (self.dtype(), shape);
        Ok(record(y, OP, &inputs, move |g| match &saved {
            Saved::Cpu { x, stats } => backward_cpu(l, &shape, dtype, x, stats, g, want),
            #[cfg(feature = "cuda")]
            Saved::Cuda(s) => backward_cuda(s, g, want),
        }))
    }
}

/// What the backward of `batch_norm` reads, on the device the forward ran on: on the CPU the input
/// and the per-channel statistics (f64).
enum Saved {
    Cpu {
        x: Data,
        stats: cpu::Saved,
    },
    #[cfg(feature = "cuda")]
    Cuda(Box<crate::device::cuda::norm::BatchNormSaved>),
}

/// Which gradients the backward returns: x's when it requires one, γ's and β's when given.
#[derive(Debug, Clone, Copy)]
struct Wanted {
    dx: bool,
    w: bool,
    b: bool,
}

/// The forward on the input's device (operands checked): `y` and what the backward reads.
fn forward(
    x: &Tensor,
    l: Layout,
    running: Option<(&Tensor, &Tensor)>,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    p: &BatchNormParams,
) -> Result<(Data, Saved)> {
    #[cfg(feature = "cuda")]
    if let Data::Cuda(c) = x.data() {
        return forward_cuda(&c, running, weight, bias, p);
    }
    forward_cpu(x, l, running, weight, bias, p)
}

/// The CPU forward (operands checked): `y` and what the backward reads; in training the running
/// statistics, when given, are replaced by their updated values.
fn forward_cpu(
    x: &Tensor,
    l: Layout,
    running: Option<(&Tensor, &Tensor)>,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    p: &BatchNormParams,
) -> Result<(Data, Saved)> {
    let shape = x.shape();
    let gamma = channel_vec(weight, l.c, 1.0);
    let beta = channel_vec(bias, l.c, 0.0);
    let running_f64 = running.map(|(rm, rv)| (rm.to_f64_vec(), rv.to_f64_vec()));
    let stats = if p.training { None } else { running_f64.clone() };
    let xd = x.data();
    let (y, mean, var, inv_std) = match &xd {
        Data::F32(_) => forward_typed::<f32>(l, &shape, &xd, stats, &gamma, &beta, p.eps)?,
        _ => forward_typed::<f64>(l, &shape, &xd, stats, &gamma, &beta, p.eps)?,
    };
    if p.training
        && let (Some((rm, rv)), Some((rm_t, rv_t))) = (&running_f64, running)
    {
        let (new_mean, new_var) = cpu::running_update(l, (rm, rv), (&mean, &var), p.momentum);
        write_channel(rm_t, &new_mean)?;
        write_channel(rv_t, &new_var)?;
    }
    let stats = cpu::Saved { mean, inv_std, gamma, training: p.training };
    Ok((y, Saved::Cpu { x: xd, stats }))
}

/// The CPU backward: the gradients of x, γ and β (as [`Wanted`]).
fn backward_cpu(
    l: Layout,
    shape: &[usize],
    dtype: DType,
    xd: &Data,
    stats: &cpu::Saved,
    g: &Tensor,
    want: Wanted,
) -> Result<Vec<Option<Tensor>>> {
    const OP: &str = "batch_norm";
    let gd = g.data();
    let (dx, dgamma, dbeta) = match (xd, &gd) {
        (Data::F32(_), Data::F32(_)) => {
            let (x, dy) = (typed_slice::<f32>(xd)?, typed_slice::<f32>(&gd)?);
            let (dx, dga, dbe) = cpu::backward(l, &x, &dy, stats, want.dx);
            (dx.map(|v| to_array(shape, v).map(Data::F32)).transpose()?, dga, dbe)
        }
        (Data::F64(_), Data::F64(_)) => {
            let (x, dy) = (typed_slice::<f64>(xd)?, typed_slice::<f64>(&gd)?);
            let (dx, dga, dbe) = cpu::backward(l, &x, &dy, stats, want.dx);
            (dx.map(|v| to_array(shape, v).map(Data::F64)).transpose()?, dga, dbe)
        }
        _ => return Err(crate::ops::common::dtype_error(OP, xd, &gd)),
    };
    let per_channel = |v: Vec<f64>| -> Result<Tensor> {
        let t = Tensor::from_vec(v, &[l.c])?;
        if dtype == DType::F32 { t.to_dtype(dtype) } else { Ok(t) }
    };
    let mut grads = vec![dx.map(Tensor::from_data)];
    if want.w {
        grads.push(Some(per_channel(dgamma)?));
    }
    if want.b {
        grads.push(Some(per_channel(dbeta)?));
    }
    Ok(grads)
}

/// The GPU forward (`kernels/norm.cu` through `device::cuda::norm`): every other operand (checked
/// shapes and dtypes) must be on the same GPU; in training the running statistics, when given,
/// are replaced by their updated values (new device buffers, as the CPU op replaces its storage).
#[cfg(feature = "cuda")]
fn forward_cuda(
    x: &crate::device::cuda::CudaData,
    running: Option<(&Tensor, &Tensor)>,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    p: &BatchNormParams,
) -> Result<(Data, Saved)> {
    use crate::ops::device_data::cuda_input;
    const OP: &str = "batch_norm";
    let gpu = x.gpu().clone();
    // Every operand is checked to be on this GPU before anything is written.
    let on_gpu = |t: Option<&Tensor>| t.map(|t| cuda_input(OP, t, Some(&gpu))).transpose();
    let (w, b) = (on_gpu(weight)?, on_gpu(bias)?);
    let run = match running {
        Some((rm, rv)) => Some((cuda_input(OP, rm, Some(&gpu))?, cuda_input(OP, rv, Some(&gpu))?)),
        None => None,
    };
    let set_running = |new_m, new_v| match running {
        Some((rm_t, rv_t)) => {
            rm_t.set_data(Data::Cuda(new_m))?;
            rv_t.set_data(Data::Cuda(new_v))
        }
        None => Ok(()),
    };
    let (y, saved) = crate::device::cuda::norm::batch_norm_forward(
        x,
        run.as_ref().map(|(rm, rv)| (rm, rv)),
        w.as_ref(),
        b.as_ref(),
        p,
        set_running,
    )?;
    Ok((Data::Cuda(y), Saved::Cuda(Box::new(saved))))
}

/// The GPU backward: the gradients of x, γ and β (as [`Wanted`]).
#[cfg(feature = "cuda")]
fn backward_cuda(
    saved: &crate::device::cuda::norm::BatchNormSaved,
    g: &Tensor,
    want: Wanted,
) -> Result<Vec<Option<Tensor>>> {
    let g = crate::ops::device_data::grad_on(g, saved.gpu())?;
    let (dx, dgamma, dbeta) =
        crate::device::cuda::norm::batch_norm_backward(saved, &g, want.dx, want.w, want.b)?;
    let tensor = |c| Tensor::from_data(Data::Cuda(c));
    let mut grads = vec![dx.map(tensor)];
    if want.w {
        grads.push(dgamma.map(tensor));
    }
    if want.b {
        grads.push(dbeta.map(tensor));
    }
    Ok(grads)
}
