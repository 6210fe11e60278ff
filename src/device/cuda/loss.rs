//! Host code of `kernels/loss.cu`: the fused cross-entropy and `nll_loss`, forward and backward.
//!
//! * `cross_entropy`: one block per row, the row's log-sum-exp and loss in one pass; the gradient
//!   one block per row.
//! * `nll_loss`: $\text{loss}_n = -a_n w_{t_n} z_{n,t_n}$ one thread per row,
//!   $\partial z_{n,c} = -s_n a_n w_{t_n} [c = t_n]$ one thread per element.
//!
//! The targets are validated on the host, $-1$ marking an ignored row, and uploaded with the class
//! weights. The sum and mean reductions use the deterministic sum kernel (`reduce.cu`). Formulas:
//! `ops/loss.rs`.

use cudarc::driver::PushKernelArg;

use super::alloc::DevElem;
use super::context::{dev_err, elementwise_cfg, rows_cfg};
use super::copy::contiguous;
use super::launch::{block_mut, float_dtype, float_suffix, fresh, same_gpu, with_output};
use super::reduce::sum_dims;
use super::storage::CudaData;
use crate::device::cpu::loss::Reduction;
use crate::dtype::DType;
use crate::error::{Error, Result};

/// The loss tensor reduced as `reduction` says: itself, its sum, or its sum times `1 / denom`.
pub(crate) fn reduce_losses(losses: CudaData, reduction: Reduction, denom: f64) -> Result<CudaData> {
    let dims: Vec<usize> = (0..losses.shape().len()).collect();
    match reduction {
        Reduction::None => Ok(losses),
        Reduction::Sum => sum_dims(&losses, &dims, false, 1.0),
        Reduction::Mean => sum_dims(&losses, &dims, false, 1.0 / denom),
    }
}

// ---------------------------------------------------------------- nll_loss

/// `nll_loss_fwd_<t>`: the (n) per-row losses.
fn nll_forward<T: DevElem>(z: &CudaData, t: &CudaData, w: &CudaData) -> Result<CudaData> {
    let op = "nll_loss";
    let gpu = z.gpu().clone();
    let (n, c) = (z.shape()[0], z.shape()[1]);
    let mut loss = fresh::<T>(&gpu, n)?;
    if n > 0 {
        let f = gpu.function("loss", &format!("nll_loss_fwd_{}", T::NAME))?;
        let (zs, ts, ws) = (z.slice::<T>(op)?, t.slice::<i64>(op)?, w.slice::<T>(op)?);
        let out = block_mut::<T>(op, &mut loss)?;
        let (n_, c_) = (n as i64, c as i64);
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(zs).arg(ts).arg(ws).arg(out).arg(&n_).arg(&c_);
        // SAFETY: matches `nll_loss_fwd_<t>(const T* z, const i64* t, const T* w, T* loss, i64 n,
        // i64 c)`; `z` contiguous (n, c) at offset 0, `t` n targets validated on the host to lie in
        // 0..c or be -1, `w` c weights, `loss` n elements, one thread per row.
        unsafe { l.launch(elementwise_cfg(n)) }.map_err(dev_err(op))?;
    }
    Ok(CudaData::new(loss, z.dtype(), &[n]))
}

/// `nll_loss_bwd_<t>`: dz (n, c), row `r` scaled by `scale * g[r * g_stride]`.
fn nll_backward<T: DevElem>(
    t: &CudaData,
    w: &CudaData,
    g: &CudaData,
    (g_stride, scale): (usize, f64),
    (n, c): (usize, usize),
) -> Result<CudaData> {
    let op = "nll_loss_backward";
    let gpu = g.gpu().clone();
    let mut dz = fresh::<T>(&gpu, n * c)?;
    if n * c > 0 {
        let f = gpu.function("loss", &format!("nll_loss_bwd_{}", T::NAME))?;
        let (ts, ws, gs) = (t.slice::<i64>(op)?, w.slice::<T>(op)?, g.slice::<T>(op)?);
        let out = block_mut::<T>(op, &mut dz)?;
        let (n_, c_, gst) = (n as i64, c as i64, g_stride as i64);
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(ts).arg(ws).arg(gs).arg(&gst).arg(&scale).arg(out).arg(&n_).arg(&c_);
        // SAFETY: matches `nll_loss_bwd_<t>(const i64* t, const T* w, const T* g, i64 g_stride,
        // double scale, T* dz, i64 n, i64 c)`; `t` n validated targets, `w` c weights, `g`
        // contiguous with n elements (g_stride 1) or one (g_stride 0), `dz` n c elements, each
        // written by its own thread.
        unsafe { l.launch(elementwise_cfg(n * c)) }.map_err(dev_err(op))?;
    }
    Ok(CudaData::new(dz, g.dtype(), &[n, c]))
}

/// What the `nll_loss` backward needs: the uploaded targets and weights, the sizes and the
/// reduction with the mean's denominator.
#[derive(Clone, Debug)]
pub(crate) struct NllSaved {
    t: CudaData,
    w: CudaData,
    dtype: DType,
    n: usize,
    c: usize,
    reduction: Reduction,
    denom: f64,
}

/// `nll_loss` of log-probabilities `z` (n, c) on a GPU, given host-validated targets (`-1` marks
/// an ignored row), the class weights and the mean's denominator $D = \sum_n a_n w_{t_n}$: the
/// reduced loss and the state for [`nll_loss_backward`].
pub(crate) fn nll_loss(
    z: &CudaData,
    targets: &[i64],
    weights: &[f64],
    reduction: Reduction,
    denom: f64,
) -> Result<(CudaData, NllSaved)> {
    let op = "nll_loss";
    let dtype = float_dtype(op, z)?;
    let z = contiguous(z)?;
    let gpu = z.gpu().clone();
    let (n, c) = (z.shape()[0], z.shape()[1]);
    let t = CudaData::upload_i64(&gpu, targets)?;
    let w = CudaData::upload_floats(&gpu, dtype, weights)?;
    let losses = match dtype {
        DType::F64 => nll_forward::<f64>(&z, &t, &w)?,
        _ => nll_forward::<f32>(&z, &t, &w)?,
    };
    let out = reduce_losses(losses, reduction, denom)?;
    Ok((out, NllSaved { t, w, dtype, n, c, reduction, denom }))
}

/// The gradient of `nll_loss` given the upstream gradient `g` (contiguous, on the loss's GPU).
pub(crate) fn nll_loss_backward(s: &NllSaved, g: &CudaData) -> Result<CudaData> {
    let how = match s.reduction {
        Reduction::None => (1, 1.0),
        Reduction::Sum => (0, 1.0),
        Reduction::Mean => (0, 1.0 / s.denom),
    };
    match s.dtype {
        DType::F64 => nll_backward::<f64>(&s.t, &s.w, g, how, (s.n, s.c)),
        _ => nll_backward::<f32>(&s.t, &s.w, g, how, (s.n, s.c)),
    }
}

// ---------------------------------------------------------------- cross_entropy

/// Saved state of a CUDA cross-entropy forward, for its backward.
#[derive(Clone, Debug)]
pub struct CrossEntropySaved {
    pub(crate) x: CudaData,
    pub(crate) t: CudaData,
    pub(crate) w: CudaData,
    pub(crate) lse: CudaData,
    pub(crate) eps: f64,
    pub(crate) w_sum: f64,
}

/// Per-row cross-entropy losses of logits `x` (n, c) given host-validated targets (`-1` marks an
/// ignored row) and class weights; returns the (n) losses and the state for the backward.
pub fn cross_entropy(
    x: &CudaData,
    targets: &[i64],
    weights: &[f64],
    eps: f64,
) -> Result<(CudaData, CrossEntropySaved)> {
    let op = "cross_entropy";
    let suffix = float_suffix(op, x)?;
    let x = contiguous(x)?;
    let gpu = x.gpu().clone();
    let (n, c) = (x.shape[0], x.shape[1]);
    let t = CudaData::upload_i64(&gpu, targets)?;
    let w = CudaData::upload_floats(&gpu, x.dtype, weights)?;
    fn run<T: DevElem>(
        name: &str,
        x: &CudaData,
        t: &CudaData,
        w: &CudaData,
        n: usize,
        c: usize,
        eps: f64,
    ) -> Result<(CudaData, CudaData)> {
        let op = "cross_entropy";
        let gpu = x.gpu().clone();
        let f = gpu.function("loss", name)?;
        let mut lse_block = gpu.alloc::<T>(n)?;
        let mut loss_block = gpu.alloc::<T>(n)?;
        if n > 0 {
            let (sx, st, sw) = (x.slice::<T>(op)?, t.slice::<i64>(op)?, w.slice::<T>(op)?);
            let internal = || Error::Device { op, msg: "internal: fresh block of the wrong type".into() };
            let lse = lse_block.slice_mut::<T>().ok_or_else(internal)?;
            let mut b = gpu.stream().launch_builder(&f);
            let (n64, c64) = (n as i64, c as i64);
            b.arg(sx).arg(st).arg(sw).arg(lse);
            let loss = loss_block.slice_mut::<T>().ok_or_else(internal)?;
            b.arg(loss).arg(&n64).arg(&c64).arg(&eps);
            // SAFETY: matches `cross_entropy_fwd_<dt>` (kernels/loss.cu); targets were validated
            // on the host to lie in 0..c or be -1.
            unsafe { b.launch(rows_cfg(n, 256 * std::mem::size_of::<T>())) }.map_err(dev_err(op))?;
        }
        Ok((CudaData::new(lse_block, x.dtype, &[n]), CudaData::new(loss_block, x.dtype, &[n])))
    }
    let name = format!("cross_entropy_fwd_{suffix}");
    let (lse, loss) = match x.dtype {
        DType::F64 => run::<f64>(&name, &x, &t, &w, n, c, eps)?,
        _ => run::<f32>(&name, &x, &t, &w, n, c, eps)?,
    };
    let w_sum = weights.iter().sum();
    Ok((loss, CrossEntropySaved { x, t, w, lse, eps, w_sum }))
}

/// The gradient of the cross-entropy: row `r` scaled by `scale * g[r * g_stride]`.
pub fn cross_entropy_backward(
    s: &CrossEntropySaved,
    g: &CudaData,
    g_stride: usize,
    scale: f64,
) -> Result<CudaData> {
    let op = "cross_entropy_backward";
    same_gpu(op, &s.x, g)?;
    let suffix = float_suffix(op, &s.x)?;
    let g = contiguous(g)?;
    let (n, c) = (s.x.shape[0], s.x.shape[1]);
    fn run<T: DevElem>(
        name: &str,
        s: &CrossEntropySaved,
        g: &CudaData,
        g_stride: usize,
        scale: f64,
        n: usize,
        c: usize,
    ) -> Result<CudaData> {
        let op = "cross_entropy_backward";
        let gpu = s.x.gpu().clone();
        let f = gpu.function("loss", name)?;
        let (sx, st, sw, sl, sg) = (
            s.x.slice::<T>(op)?,
            s.t.slice::<i64>(op)?,
            s.w.slice::<T>(op)?,
            s.lse.slice::<T>(op)?,
            g.slice::<T>(op)?,
        );
        with_output::<T>(&gpu, op, s.x.dtype, &[n, c], |dx| {
            let mut b = gpu.stream().launch_builder(&f);
            let (n64, c64, gs) = (n as i64, c as i64, g_stride as i64);
            b.arg(sx).arg(st).arg(sw).arg(sl).arg(sg).arg(&gs).arg(&scale).arg(dx);
            b.arg(&n64).arg(&c64).arg(&s.eps).arg(&s.w_sum);
            // SAFETY: matches `cross_entropy_bwd_<dt>` (kernels/loss.cu).
            unsafe { b.launch(rows_cfg(n, 0)) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    let name = format!("cross_entropy_bwd_{suffix}");
    match s.x.dtype {
        DType::F64 => run::<f64>(&name, s, &g, g_stride, scale, n, c),
        _ => run::<f32>(&name, s, &g, g_stride, scale, n, c),
    }
}
