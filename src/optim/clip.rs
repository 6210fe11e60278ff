//! Gradient clipping by total norm, `torch.nn.utils.clip_grad_norm_`.
//!
//! Over the gradients $g^{(1)}, \dots, g^{(k)}$ of the parameters that have one:
//!
//! $$
//! \|g\|_p = \Big(\sum_{j} \|g^{(j)}\|_p^p\Big)^{1/p}
//!         = \big\| \big(\|g^{(1)}\|_p, \dots, \|g^{(k)}\|_p\big) \big\|_p, \qquad
//! \|g\|_\infty = \max_{j,i} |g^{(j)}_i|,
//! $$
//! $$
//! c = \min\Big(1, \frac{\text{max\_norm}}{\|g\|_p + 10^{-6}}\Big), \qquad g^{(j)} \leftarrow c\, g^{(j)} .
//! $$
//!
//! As in PyTorch, every gradient is multiplied by $c$ (also when $c = 1$), and the norm before
//! clipping is returned. Norms are summed in f64, in a fixed order (deterministic whatever the
//! thread count); $c$ is rounded to the gradient's dtype before multiplying.

use rayon::prelude::*;

use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::tensor::{Data, Tensor};

/// Scales the gradients of `params` so that their total `norm_type`-norm is at most `max_norm`
/// (formula in the module docs); returns the total norm before clipping (0 when no parameter has a
/// gradient). `norm_type` is a positive number or `f64::INFINITY`.
///
/// Gradients are replaced by new tensors, never written in place: one gradient tensor may be
/// shared by two parameters (the backward of `a + b` hands both the same one).
pub fn clip_grad_norm(params: &[Tensor], max_norm: f64, norm_type: f64) -> Result<f64> {
    if norm_type.is_nan() || norm_type <= 0.0 {
        return Err(Error::invalid(
            "clip_grad_norm",
            format!("norm_type must be > 0 or infinity, got {norm_type}"),
        ));
    }
    if max_norm.is_nan() {
        return Err(Error::invalid("clip_grad_norm", "max_norm is NaN"));
    }
    let grads: Vec<(&Tensor, Tensor)> = params.iter().filter_map(|p| Some((p, p.grad()?))).collect();
    if grads.is_empty() {
        return Ok(0.0);
    }
    for (_, g) in &grads {
        if !g.dtype().is_float() {
            return Err(Error::UnsupportedDType {
                op: "clip_grad_norm",
                dtype: g.dtype(),
                shape: g.shape(),
                expected: "f32 or f64",
            });
        }
    }
    // Each gradient's norm (one tensor per rayon task; each sum sequential), then their norm.
    let norms: Vec<f64> = grads
        .par_iter()
        .map(|(_, g)| match g.data() {
            Data::F32(a) => vector_norm(a.iter().map(|&v| v as f64), norm_type),
            Data::F64(a) => vector_norm(a.iter().copied(), norm_type),
            _ => f64::NAN, // ok: unreachable, dtypes checked above
        })
        .collect();
    let total = vector_norm(norms.into_iter(), norm_type);
    let coef = (max_norm / (total + 1e-6)).min(1.0);
    no_grad(|| -> Result<()> {
        for (p, g) in &grads {
            p.set_grad(Some(g.mul_scalar(coef)?));
        }
        Ok(())
    })?;
    Ok(total)
}

/// $\|x\|_p$, summed left to right; $p = \infty$ gives $\max |x_i|$.
fn vector_norm(x: impl Iterator<Item = f64>, p: f64) -> f64 {
    if p == f64::INFINITY {
        x.fold(0.0, |m: f64, v| if v.abs() > m || v.is_nan() { v.abs() } else { m })
    } else if p == 2.0 {
        x.map(|v| v * v).sum::<f64>().sqrt()
    } else if p == 1.0 {
        x.map(f64::abs).sum()
    } else {
        x.map(|v| v.abs().powf(p)).sum::<f64>().powf(1.0 / p)
    }
}
