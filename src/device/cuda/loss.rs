//! Losses on a GPU beyond the fused cross-entropy (which is in `ops.rs`), and `logsumexp`:
//!
//! * `nll_loss` (`kernels/loss.cu`): $\text{loss}_n = -a_n w_{t_n} z_{n,t_n}$ one thread per row,
//!   $\partial z_{n,c} = -s_n a_n w_{t_n} [c = t_n]$ one thread per element; the targets are
//!   validated on the host (as for the cross-entropy), $-1$ marking an ignored row.
//! * `binary_cross_entropy_with_logits` (`kernels/bce.cu`): the stable fused form
//!   $w[(1 - y)x + (1 + (p - 1)y)\operatorname{sp}(-x)]$ and both gradients in one pass, one thread
//!   per element, the weights read through broadcast layouts.
//! * `logsumexp` (`kernels/softmax.cu`): one block per lane, $\ell = m + \ln\sum_k e^{x_k - m}$
//!   (the shift skipped when $m$ is not finite); its gradient is a composite of elementwise ops.
//!
//! The sum and mean reductions use the deterministic sum kernel (`reduce.cu`). Formulas and
//! reductions: [`crate::ops::loss`], [`crate::ops::bce`], [`crate::ops::softmax`].

use std::sync::Arc;

use cudarc::driver::PushKernelArg;

use super::alloc::DevElem;
use super::context::{Gpu, dev_err, elementwise_cfg, rows_cfg};
use super::copy::{contiguous, full};
use super::launch::{block_mut, float_dtype, float_suffix, fresh, same_gpu, with_output};
use super::reduce::sum_dims;
use super::storage::{CudaData, KLayout};
use crate::autograd::record;
use crate::error::{Error, Result};
use crate::ops::device_data::{cuda_input, grad_on};
use crate::ops::loss::Reduction;
use crate::tensor::{DType, Data, Tensor};

/// Per-element values of `dtype` uploaded to `gpu` (f64 values rounded to f32 for an f32 tensor).
pub(crate) fn upload_float(gpu: &Arc<Gpu>, dtype: DType, v: &[f64]) -> Result<CudaData> {
    CudaData::upload_floats(gpu, dtype, v)
}

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

/// `nll_loss` of log-probabilities `z` (n, c) on a GPU, given host-validated targets (`-1` marks
/// an ignored row), the class weights and the mean's denominator $D = \sum_n a_n w_{t_n}$.
pub(crate) fn nll_loss(
    z_t: &Tensor,
    z: &CudaData,
    targets: Vec<i64>,
    weights: &[f64],
    reduction: Reduction,
    denom: f64,
) -> Result<Tensor> {
    let op = "nll_loss";
    let dtype = float_dtype(op, z)?;
    let z = contiguous(z)?;
    let gpu = z.gpu().clone();
    let (n, c) = (z.shape()[0], z.shape()[1]);
    let t = CudaData::upload_i64(&gpu, &targets)?;
    let w = upload_float(&gpu, dtype, weights)?;
    let losses = match dtype {
        DType::F64 => nll_forward::<f64>(&z, &t, &w)?,
        _ => nll_forward::<f32>(&z, &t, &w)?,
    };
    let out = reduce_losses(losses, reduction, denom)?;
    Ok(record(Data::Cuda(out), op, &[z_t], move |g| {
        let g = grad_on(g, &gpu)?;
        let how = match reduction {
            Reduction::None => (1, 1.0),
            Reduction::Sum => (0, 1.0),
            Reduction::Mean => (0, 1.0 / denom),
        };
        let dz = match dtype {
            DType::F64 => nll_backward::<f64>(&t, &w, &g, how, (n, c))?,
            _ => nll_backward::<f32>(&t, &w, &g, how, (n, c))?,
        };
        Ok(vec![Some(Tensor::from_data(Data::Cuda(dz)))])
    }))
}

// ---------------------------------------------------------------- binary_cross_entropy_with_logits

/// The four operands of the BCE kernels with their layouts as the shape of $x$.
struct BceArgs {
    x: (CudaData, KLayout),
    y: (CudaData, KLayout),
    w: (CudaData, KLayout),
    p: (CudaData, KLayout),
    n: usize,
}

/// `bce_with_logits_fwd_<t>`: the per-element losses (shape of x).
fn bce_forward<T: DevElem>(a: &BceArgs, shape: &[usize]) -> Result<CudaData> {
    let op = "binary_cross_entropy_with_logits";
    let gpu = a.x.0.gpu().clone();
    let mut loss = fresh::<T>(&gpu, a.n)?;
    if a.n > 0 {
        let f = gpu.function("bce", &format!("bce_with_logits_fwd_{}", T::NAME))?;
        let (xs, ys) = (a.x.0.slice::<T>(op)?, a.y.0.slice::<T>(op)?);
        let (ws, ps) = (a.w.0.slice::<T>(op)?, a.p.0.slice::<T>(op)?);
        let out = block_mut::<T>(op, &mut loss)?;
        let n = a.n as i64;
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(xs).arg(&a.x.1).arg(ys).arg(&a.y.1).arg(ws).arg(&a.w.1).arg(ps).arg(&a.p.1);
        l.arg(out).arg(&n);
        // SAFETY: matches `bce_with_logits_fwd_<t>(const T* x, Layout lx, const T* y, Layout ly,
        // const T* w, Layout lw, const T* p, Layout lp, T* loss, i64 n)`; each layout is its
        // buffer's own view read as x's shape (broadcast dimensions stride 0), so every index
        // stays inside its buffer; `loss` holds n elements, one thread each.
        unsafe { l.launch(elementwise_cfg(a.n)) }.map_err(dev_err(op))?;
    }
    Ok(CudaData::new(loss, a.x.0.dtype(), shape))
}

/// `bce_with_logits_bwd_<t>`: (dx, dy), both of x's shape; the upstream gradient of element `i`
/// is `g[i * g_stride] / div`.
fn bce_backward<T: DevElem>(
    a: &BceArgs,
    g: &CudaData,
    (g_stride, div): (usize, f64),
    shape: &[usize],
) -> Result<(CudaData, CudaData)> {
    let op = "binary_cross_entropy_with_logits_backward";
    let gpu = g.gpu().clone();
    let mut dx = fresh::<T>(&gpu, a.n)?;
    let mut dy = fresh::<T>(&gpu, a.n)?;
    if a.n > 0 {
        let f = gpu.function("bce", &format!("bce_with_logits_bwd_{}", T::NAME))?;
        let (xs, ys) = (a.x.0.slice::<T>(op)?, a.y.0.slice::<T>(op)?);
        let (ws, ps, gs) = (a.w.0.slice::<T>(op)?, a.p.0.slice::<T>(op)?, g.slice::<T>(op)?);
        let (dxs, dys) = (block_mut::<T>(op, &mut dx)?, block_mut::<T>(op, &mut dy)?);
        let (n, gst) = (a.n as i64, g_stride as i64);
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(xs).arg(&a.x.1).arg(ys).arg(&a.y.1).arg(ws).arg(&a.w.1).arg(ps).arg(&a.p.1);
        l.arg(gs).arg(&gst).arg(&div).arg(dxs).arg(dys).arg(&n);
        // SAFETY: matches `bce_with_logits_bwd_<t>(const T* x, Layout lx, const T* y, Layout ly,
        // const T* w, Layout lw, const T* p, Layout lp, const T* g, i64 g_stride, double div,
        // T* dx, T* dy, i64 n)`; layouts as in the forward, `g` contiguous with n elements
        // (g_stride 1) or one (g_stride 0), `dx`/`dy` n elements, one thread each.
        unsafe { l.launch(elementwise_cfg(a.n)) }.map_err(dev_err(op))?;
    }
    let dt = g.dtype();
    Ok((CudaData::new(dx, dt, shape), CudaData::new(dy, dt, shape)))
}

/// `binary_cross_entropy_with_logits` of logits `x_t` on a GPU (shapes and dtypes validated):
/// the target, `weight` and `pos_weight` must be on the same GPU; the weights broadcast to the
/// logits' shape.
pub(crate) fn bce_with_logits(
    x_t: &Tensor,
    y_t: &Tensor,
    weight: Option<&Tensor>,
    pos_weight: Option<&Tensor>,
    reduction: Reduction,
) -> Result<Tensor> {
    let op = "binary_cross_entropy_with_logits";
    let x = cuda_input(op, x_t, None)?;
    let dtype = float_dtype(op, &x)?;
    let gpu = x.gpu().clone();
    let shape = x.shape().to_vec();
    let with_layout = |c: CudaData| -> Result<(CudaData, KLayout)> {
        let l = c.layout_as(op, &shape)?;
        Ok((c, l))
    };
    let weight_or_one = |t: Option<&Tensor>| -> Result<(CudaData, KLayout)> {
        match t {
            Some(t) => with_layout(cuda_input(op, t, Some(&gpu))?),
            None => with_layout(full(&gpu, &[], dtype, 1.0)?),
        }
    };
    let args = BceArgs {
        y: with_layout(cuda_input(op, y_t, Some(&gpu))?)?,
        w: weight_or_one(weight)?,
        p: weight_or_one(pos_weight)?,
        x: with_layout(x)?,
        n: shape.iter().product(),
    };
    let losses = match dtype {
        DType::F64 => bce_forward::<f64>(&args, &shape)?,
        _ => bce_forward::<f32>(&args, &shape)?,
    };
    let n = args.n as f64;
    let out = reduce_losses(losses, reduction, n)?;
    Ok(record(Data::Cuda(out), op, &[x_t, y_t], move |g| {
        let g = grad_on(g, &gpu)?;
        let how = match reduction {
            Reduction::None => (1, 1.0),
            Reduction::Sum => (0, 1.0),
            Reduction::Mean => (0, n),
        };
        let (dx, dy) = match dtype {
            DType::F64 => bce_backward::<f64>(&args, &g, how, &shape)?,
            _ => bce_backward::<f32>(&args, &g, how, &shape)?,
        };
        Ok(vec![Some(Tensor::from_data(Data::Cuda(dx))), Some(Tensor::from_data(Data::Cuda(dy)))])
    }))
}

// ---------------------------------------------------------------- logsumexp

/// `logsumexp_fwd_<t>`: the (outer * inner) lane values of a contiguous (outer, c, inner) tensor.
fn lse_forward<T: DevElem>(
    x: &CudaData,
    (outer, c, inner): (usize, usize, usize),
    out: &[usize],
) -> Result<CudaData> {
    let op = "logsumexp";
    let gpu = x.gpu().clone();
    let lanes = outer * inner;
    let mut y = fresh::<T>(&gpu, lanes)?;
    if lanes > 0 {
        let f = gpu.function("softmax", &format!("logsumexp_fwd_{}", T::NAME))?;
        let xs = x.slice::<T>(op)?;
        let ys = block_mut::<T>(op, &mut y)?;
        let (o, c_, i) = (outer as i64, c as i64, inner as i64);
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(xs).arg(ys).arg(&o).arg(&c_).arg(&i);
        // SAFETY: matches `logsumexp_fwd_<t>(const T* x, T* y, i64 outer, i64 c, i64 inner)`;
        // `x` contiguous (outer, c, inner) at offset 0, `y` outer * inner elements; blocks of
        // exactly 256 threads (fixed trees, static shared memory), lanes grid-strided.
        unsafe { l.launch(rows_cfg(lanes, 0)) }.map_err(dev_err(op))?;
    }
    Ok(CudaData::new(y, x.dtype(), out))
}

/// `logsumexp` of device data read as (outer, c, inner) lanes (`lanes`), as `keep_shape` (the
/// input's shape with the reduced dimension of size 1).
pub(crate) fn logsumexp(
    x: &CudaData,
    lanes: (usize, usize, usize),
    keep_shape: &[usize],
) -> Result<CudaData> {
    let dtype = float_dtype("logsumexp", x)?;
    let x = contiguous(x)?;
    match dtype {
        DType::F64 => lse_forward::<f64>(&x, lanes, keep_shape),
        _ => lse_forward::<f32>(&x, lanes, keep_shape),
    }
}
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
