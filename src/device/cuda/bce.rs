//! Host code of `kernels/bce.cu`: `binary_cross_entropy_with_logits` in the stable fused form
//! $w[(1 - y)x + (1 + (p - 1)y)\operatorname{sp}(-x)]$ and both gradients in one pass, one thread
//! per element, the weights read through broadcast layouts (no copy). The sum and mean reductions
//! use the deterministic sum kernel (`reduce.cu`). Formulas: `ops/bce.rs`.

use cudarc::driver::PushKernelArg;

use super::alloc::DevElem;
use super::context::{dev_err, elementwise_cfg};
use super::copy::full;
use super::launch::{block_mut, float_dtype, fresh};
use super::loss::reduce_losses;
use super::storage::{CudaData, KLayout};
use crate::device::cpu::loss::Reduction;
use crate::dtype::DType;
use crate::error::Result;

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

/// What the BCE backward needs: the four operands with their layouts, the logits' shape and
/// dtype, and the reduction.
pub(crate) struct BceSaved {
    args: BceArgs,
    shape: Vec<usize>,
    dtype: DType,
    reduction: Reduction,
}

/// `binary_cross_entropy_with_logits` of logits `x` on a GPU (shapes, dtypes and devices validated
/// by the op): the target `y`, `weight` and `pos_weight` (all ones when absent) broadcast to the
/// logits' shape. Returns the reduced loss and the state for [`bce_with_logits_backward`].
pub(crate) fn bce_with_logits(
    x: CudaData,
    y: CudaData,
    weight: Option<CudaData>,
    pos_weight: Option<CudaData>,
    reduction: Reduction,
) -> Result<(CudaData, BceSaved)> {
    let op = "binary_cross_entropy_with_logits";
    let dtype = float_dtype(op, &x)?;
    let gpu = x.gpu().clone();
    let shape = x.shape().to_vec();
    let with_layout = |c: CudaData| -> Result<(CudaData, KLayout)> {
        let l = c.layout_as(op, &shape)?;
        Ok((c, l))
    };
    let weight_or_one = |c: Option<CudaData>| -> Result<(CudaData, KLayout)> {
        match c {
            Some(c) => with_layout(c),
            None => with_layout(full(&gpu, &[], dtype, 1.0)?),
        }
    };
    let args = BceArgs {
        y: with_layout(y)?,
        w: weight_or_one(weight)?,
        p: weight_or_one(pos_weight)?,
        x: with_layout(x)?,
        n: shape.iter().product(),
    };
    let losses = match dtype {
        DType::F64 => bce_forward::<f64>(&args, &shape)?,
        _ => bce_forward::<f32>(&args, &shape)?,
    };
    let out = reduce_losses(losses, reduction, args.n as f64)?;
    Ok((out, BceSaved { args, shape, dtype, reduction }))
}

/// The gradients (dx, dy) of the BCE given the upstream gradient `g` (contiguous, on the loss's
/// GPU).
pub(crate) fn bce_with_logits_backward(s: &BceSaved, g: &CudaData) -> Result<(CudaData, CudaData)> {
    let n = s.args.n as f64;
    let how = match s.reduction {
        Reduction::None => (1, 1.0),
        Reduction::Sum => (0, 1.0),
        Reduction::Mean => (0, n),
    };
    match s.dtype {
        DType::F64 => bce_backward::<f64>(&s.args, g, how, &s.shape),
        _ => bce_backward::<f32>(&s.args, g, how, &s.shape),
    }
}
