//! Host code of `kernels/softmax.cu`: softmax and log-softmax along a dimension, forward and
//! backward (one block per lane), and the `logsumexp` forward: one block per lane,
//! $\ell = m + \ln\sum_k e^{x_k - m}$ (the shift skipped when $m$ is not finite); its gradient is a
//! composite of elementwise ops (`ops/softmax.rs`).

use cudarc::driver::PushKernelArg;

use super::alloc::DevElem;
use super::context::{dev_err, rows_cfg};
use super::copy::contiguous;
use super::launch::{block_mut, float_dtype, float_suffix, fresh, same_gpu, with_output};
use super::storage::CudaData;
use crate::dtype::DType;
use crate::error::Result;

/// (outer, c, inner) of `shape` along `dim`.
fn lanes(shape: &[usize], dim: usize) -> (usize, usize, usize) {
    if shape.is_empty() {
        return (1, 1, 1);
    }
    (shape[..dim].iter().product(), shape[dim], shape[dim + 1..].iter().product())
}

/// `softmax` (or `log_softmax` when `log`) along `dim`.
pub fn softmax(x: &CudaData, dim: usize, log: bool) -> Result<CudaData> {
    let op = if log { "log_softmax" } else { "softmax" };
    let suffix = float_suffix(op, x)?;
    let x = contiguous(x)?;
    let (outer, c, inner) = lanes(&x.shape, dim);
    fn run<T: DevElem>(
        op: &'static str,
        name: &str,
        x: &CudaData,
        l: (usize, usize, usize),
    ) -> Result<CudaData> {
        let gpu = x.gpu().clone();
        let f = gpu.function("softmax", name)?;
        let src = x.slice::<T>(op)?;
        with_output::<T>(&gpu, op, x.dtype, &x.shape, |y| {
            let mut b = gpu.stream().launch_builder(&f);
            let (o, c, i) = (l.0 as i64, l.1 as i64, l.2 as i64);
            b.arg(src).arg(y).arg(&o).arg(&c).arg(&i);
            // SAFETY: matches `<op>_fwd_<dt>(const T*, T*, i64, i64, i64)` on contiguous data.
            unsafe { b.launch(rows_cfg(l.0 * l.2, 256 * std::mem::size_of::<T>())) }
                .map(|_| ())
                .map_err(dev_err(op))
        })
    }
    let name = format!("{op}_fwd_{suffix}");
    match x.dtype {
        DType::F64 => run::<f64>(op, &name, &x, (outer, c, inner)),
        _ => run::<f32>(op, &name, &x, (outer, c, inner)),
    }
}

/// The gradient of `softmax`/`log_softmax` along `dim` given the upstream `g` and the output `y`.
pub fn softmax_backward(g: &CudaData, y: &CudaData, dim: usize, log: bool) -> Result<CudaData> {
    let op = if log { "log_softmax_backward" } else { "softmax_backward" };
    same_gpu(op, g, y)?;
    let suffix = float_suffix(op, y)?;
    let (g, y) = (contiguous(g)?, contiguous(y)?);
    let (outer, c, inner) = lanes(&y.shape, dim);
    fn run<T: DevElem>(
        op: &'static str,
        name: &str,
        g: &CudaData,
        y: &CudaData,
        l: (usize, usize, usize),
    ) -> Result<CudaData> {
        let gpu = y.gpu().clone();
        let f = gpu.function("softmax", name)?;
        let (sg, sy) = (g.slice::<T>(op)?, y.slice::<T>(op)?);
        with_output::<T>(&gpu, op, y.dtype, &y.shape, |dx| {
            let mut b = gpu.stream().launch_builder(&f);
            let (o, c, i) = (l.0 as i64, l.1 as i64, l.2 as i64);
            b.arg(sg).arg(sy).arg(dx).arg(&o).arg(&c).arg(&i);
            // SAFETY: matches `<op>_bwd_<dt>(const T*, const T*, T*, i64, i64, i64)`.
            unsafe { b.launch(rows_cfg(l.0 * l.2, 256 * std::mem::size_of::<T>())) }
                .map(|_| ())
                .map_err(dev_err(op))
        })
    }
    let name = format!("{}_bwd_{suffix}", if log { "log_softmax" } else { "softmax" });
    match y.dtype {
        DType::F64 => run::<f64>(op, &name, &g, &y, (outer, c, inner)),
        _ => run::<f32>(op, &name, &g, &y, (outer, c, inner)),
    }
}

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
