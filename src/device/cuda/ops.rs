//! Host side of the CUDA kernels: shapes and layouts in, one launch per op, a fresh pooled output.
//! The formulas are in the kernel files (`kernels/*.cu`) and beside the CPU ops in `src/ops/`.

use std::sync::Arc;

use cudarc::driver::PushKernelArg;

use super::alloc::DevElem;
use super::context::{Gpu, dev_err, elementwise_cfg, rows_cfg};
use super::host::copy_into;
use super::storage::{CudaData, ReductionView};
use crate::error::{Error, Result};
use crate::tensor::DType;
use crate::tensor::shape::broadcast_shapes;

/// Kernel name of an op as the CPU macros name it: `exp` → `exp_fwd`, `tanh_backward` → `tanh_bwd`.
fn kernel_base(op: &str) -> String {
    match op.strip_suffix("_backward") {
        Some(stem) => format!("{stem}_bwd"),
        None => format!("{op}_fwd"),
    }
}

/// The float kernel-name suffix of `dtype`, or a dtype error naming `op`.
pub(crate) fn float_suffix(op: &'static str, d: &CudaData) -> Result<&'static str> {
    match d.dtype {
        DType::F32 => Ok("f32"),
        DType::F64 => Ok("f64"),
        other => {
            Err(Error::UnsupportedDType { op, dtype: other, shape: d.shape.clone(), expected: "f32 or f64" })
        }
    }
}

/// Both operands on one device, or a device error naming `op`.
pub(crate) fn same_gpu(op: &'static str, a: &CudaData, b: &CudaData) -> Result<()> {
    if a.ordinal() != b.ordinal() {
        return Err(Error::Device {
            op,
            msg: format!("operands on cuda:{} and cuda:{}", a.ordinal(), b.ordinal()),
        });
    }
    Ok(())
}

/// Runs `launch` with the typed output buffer of a fresh `shape` tensor.
pub(crate) fn with_output<T: DevElem>(
    gpu: &Arc<Gpu>,
    op: &'static str,
    dtype: DType,
    shape: &[usize],
    launch: impl FnOnce(&mut cudarc::driver::CudaSlice<T>) -> Result<()>,
) -> Result<CudaData> {
    let n: usize = shape.iter().product();
    let mut block = gpu.alloc::<T>(n)?;
    if n > 0 {
        let out = block
            .slice_mut::<T>()
            .ok_or_else(|| Error::Device { op, msg: "internal: fresh block of the wrong type".into() })?;
        launch(out)?;
    }
    Ok(CudaData::new(block, dtype, shape))
}

/// `x` as a contiguous row-major tensor (`x` itself when it already is).
pub fn contiguous(x: &CudaData) -> Result<CudaData> {
    if x.is_contiguous() {
        return Ok(x.clone());
    }
    let op = "contiguous";
    fn run<T: DevElem>(x: &CudaData, op: &'static str) -> Result<CudaData> {
        let gpu = x.gpu().clone();
        let f = gpu.function("copy", &format!("copy_fwd_{}", T::NAME))?;
        let l = x.layout_as(op, &x.shape)?;
        let n = x.numel() as i64;
        let src = x.slice::<T>(op)?;
        with_output::<T>(&gpu, op, x.dtype, &x.shape, |y| {
            let mut b = gpu.stream().launch_builder(&f);
            b.arg(src).arg(&l).arg(y).arg(&n);
            // SAFETY: argument list matches `copy_fwd_<dt>(const T*, Layout, T*, i64)`; `l` stays
            // inside `src` (a view of it) and `y` holds n elements.
            unsafe { b.launch(elementwise_cfg(n as usize)) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    match x.dtype {
        DType::F32 => run::<f32>(x, op),
        DType::F64 => run::<f64>(x, op),
        DType::I64 => run::<i64>(x, op),
        DType::Bool => run::<u8>(x, op),
    }
}

/// A new tensor of `shape` with every element `v`.
pub fn full(gpu: &Arc<Gpu>, shape: &[usize], dtype: DType, v: f64) -> Result<CudaData> {
    fn run<T: DevElem>(gpu: &Arc<Gpu>, shape: &[usize], dtype: DType, v: f64) -> Result<CudaData> {
        let f = gpu.function("copy", &format!("fill_fwd_{}", T::NAME))?;
        let n: usize = shape.iter().product();
        with_output::<T>(gpu, "full", dtype, shape, |y| {
            let mut b = gpu.stream().launch_builder(&f);
            let n64 = n as i64;
            b.arg(y).arg(&n64).arg(&v);
            // SAFETY: matches `fill_fwd_<dt>(T*, i64, double)`; `y` holds n elements.
            unsafe { b.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err("full"))
        })
    }
    match dtype {
        DType::F32 => run::<f32>(gpu, shape, dtype, v),
        DType::F64 => run::<f64>(gpu, shape, dtype, v),
        DType::I64 => run::<i64>(gpu, shape, dtype, v),
        DType::Bool => run::<u8>(gpu, shape, dtype, if v != 0.0 { 1.0 } else { 0.0 }),
    }
}

/// `x` converted to `dtype` (a copy; the same dtype gives a contiguous copy).
pub fn cast(x: &CudaData, dtype: DType) -> Result<CudaData> {
    let op = "to_dtype";
    if x.dtype == dtype {
        return contiguous(x);
    }
    fn run<F: DevElem, T: DevElem>(x: &CudaData, dtype: DType) -> Result<CudaData> {
        let op = "to_dtype";
        let gpu = x.gpu().clone();
        let f = gpu.function("copy", &format!("cast_fwd_{}_{}", F::NAME, T::NAME))?;
        let l = x.layout_as(op, &x.shape)?;
        let n = x.numel();
        let src = x.slice::<F>(op)?;
        with_output::<T>(&gpu, op, dtype, &x.shape, |y| {
            let mut b = gpu.stream().launch_builder(&f);
            let n64 = n as i64;
            b.arg(src).arg(&l).arg(y).arg(&n64);
            // SAFETY: matches `cast_fwd_<from>_<to>(const From*, Layout, To*, i64)`.
            unsafe { b.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    match (x.dtype, dtype) {
        (DType::F32, DType::F64) => run::<f32, f64>(x, dtype),
        (DType::F64, DType::F32) => run::<f64, f32>(x, dtype),
        (DType::I64, DType::F32) => run::<i64, f32>(x, dtype),
        (DType::I64, DType::F64) => run::<i64, f64>(x, dtype),
        (DType::F32, DType::I64) => run::<f32, i64>(x, dtype),
        (DType::F64, DType::I64) => run::<f64, i64>(x, dtype),
        (DType::Bool, DType::F32) => run::<u8, f32>(x, dtype),
        (DType::Bool, DType::F64) => run::<u8, f64>(x, dtype),
        (DType::Bool, DType::I64) => run::<u8, i64>(x, dtype),
        (from, to) => {
            Err(Error::Device { op, msg: format!("no CUDA cast from {} to {}", from.name(), to.name()) })
        }
    }
}

/// Elementwise `y = f(x; p0, p1)` by the kernel named after `op` (`kernels/elementwise.cu`).
pub fn unary(op: &'static str, x: &CudaData, p0: f64, p1: f64) -> Result<CudaData> {
    let name = format!("{}_{}", kernel_base(op), float_suffix(op, x)?);
    fn run<T: DevElem>(op: &'static str, name: &str, x: &CudaData, p0: f64, p1: f64) -> Result<CudaData> {
        let gpu = x.gpu().clone();
        let f = gpu.function("elementwise", name)?;
        let l = x.layout_as(op, &x.shape)?;
        let n = x.numel();
        let src = x.slice::<T>(op)?;
        with_output::<T>(&gpu, op, x.dtype, &x.shape, |y| {
            let mut b = gpu.stream().launch_builder(&f);
            let n64 = n as i64;
            b.arg(src).arg(&l).arg(y).arg(&n64).arg(&p0).arg(&p1);
            // SAFETY: matches `<op>_fwd_<dt>(const T*, Layout, T*, i64, double, double)`.
            unsafe { b.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    match x.dtype {
        DType::F64 => run::<f64>(op, &name, x, p0, p1),
        _ => run::<f32>(op, &name, x, p0, p1),
    }
}

/// Elementwise, broadcasting `y = f(a, b; p0, p1)` by the kernel named after `op`.
pub fn binary(op: &'static str, a: &CudaData, b: &CudaData, p0: f64, p1: f64) -> Result<CudaData> {
    same_gpu(op, a, b)?;
    if a.dtype != b.dtype {
        return Err(Error::DTypeMismatch {
            op,
            lhs: a.dtype,
            rhs: b.dtype,
            lhs_shape: a.shape.clone(),
            rhs_shape: b.shape.clone(),
        });
    }
    let name = format!("{}_{}", kernel_base(op), float_suffix(op, a)?);
    let shape = broadcast_shapes(op, &a.shape, &b.shape)?;
    fn run<T: DevElem>(
        op: &'static str,
        name: &str,
        a: &CudaData,
        b: &CudaData,
        shape: &[usize],
        p: (f64, f64),
    ) -> Result<CudaData> {
        let gpu = a.gpu().clone();
        let f = gpu.function("elementwise", name)?;
        let (la, lb) = (a.layout_as(op, shape)?, b.layout_as(op, shape)?);
        let n: usize = shape.iter().product();
        let (sa, sb) = (a.slice::<T>(op)?, b.slice::<T>(op)?);
        with_output::<T>(&gpu, op, a.dtype, shape, |y| {
            let mut l = gpu.stream().launch_builder(&f);
            let n64 = n as i64;
            l.arg(sa).arg(&la).arg(sb).arg(&lb).arg(y).arg(&n64).arg(&p.0).arg(&p.1);
            // SAFETY: matches `<op>_<fwd|bwd>_<dt>(const T*, Layout, const T*, Layout, T*, i64,
            // double, double)`; both layouts index within their buffers.
            unsafe { l.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    match a.dtype {
        DType::F64 => run::<f64>(op, &name, a, b, &shape, (p0, p1)),
        _ => run::<f32>(op, &name, a, b, &shape, (p0, p1)),
    }
}

/// `scale` times the sum over `dims` (sorted, distinct), keeping them as size 1 when `keepdim`.
pub fn sum_dims(x: &CudaData, dims: &[usize], keepdim: bool, scale: f64) -> Result<CudaData> {
    let op = "sum";
    let suffix = float_suffix(op, x)?;
    let ReductionView { view, m, k, out_shape } = x.reduction_view(dims, keepdim);
    fn run<T: DevElem>(
        view: &CudaData,
        suffix: &str,
        m: usize,
        k: usize,
        scale: f64,
        out_shape: &[usize],
    ) -> Result<CudaData> {
        let op = "sum";
        let gpu = view.gpu().clone();
        let f = gpu.function("reduce", &format!("sum_fwd_{suffix}"))?;
        let l = view.layout_as(op, &view.shape)?;
        let src = view.slice::<T>(op)?;
        with_output::<T>(&gpu, op, view.dtype, out_shape, |y| {
            let mut b = gpu.stream().launch_builder(&f);
            let (m64, k64) = (m as i64, k as i64);
            b.arg(src).arg(&l).arg(y).arg(&m64).arg(&k64).arg(&scale);
            // SAFETY: matches `sum_fwd_<dt>(const T*, Layout, T*, i64, i64, double)`; the dynamic
            // shared memory holds the 256 partial sums.
            unsafe { b.launch(rows_cfg(m, 256 * std::mem::size_of::<T>())) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    match x.dtype {
        DType::F64 => run::<f64>(&view, suffix, m, k, scale, &out_shape),
        _ => run::<f32>(&view, suffix, m, k, scale, &out_shape),
    }
}

/// The one batch stride that walks `d`'s batch dimensions broadcast to `batch`, when there is one.
fn flat_batch_stride(d: &CudaData, batch: &[usize]) -> Result<Option<isize>> {
    let nb = d.shape.len() - 2;
    let l = d.layout_as("matmul", &{
        let mut s = batch.to_vec();
        s.extend_from_slice(&d.shape[nb..]);
        s
    })?;
    let r = batch.len();
    let strides: Vec<isize> = (0..r).map(|i| l.strides[i] as isize).collect();
    // Dimensions of size 1 never step; the others must nest like a row-major array.
    let live: Vec<(usize, isize)> =
        (0..r).filter(|&i| batch[i] > 1).map(|i| (batch[i], strides[i])).collect();
    if live.is_empty() {
        return Ok(Some(0));
    }
    for w in live.windows(2) {
        let ((_, s0), (n1, s1)) = (w[0], w[1]);
        if s0 != s1 * n1 as isize {
            return Ok(None);
        }
    }
    Ok(Some(live[live.len() - 1].1))
}

/// `a @ b` for operands of rank ≥ 2 with broadcast batch dimensions (the caller checked the inner
/// dimensions). Transposed views are read in place through their strides.
pub fn matmul(a: &CudaData, b: &CudaData) -> Result<CudaData> {
    let op = "matmul";
    same_gpu(op, a, b)?;
    float_suffix(op, a)?; // f32 or f64
    let (ra, rb) = (a.shape.len(), b.shape.len());
    let (m, k, n) = (a.shape[ra - 2], a.shape[ra - 1], b.shape[rb - 1]);
    let batch = broadcast_shapes(op, &a.shape[..ra - 2], &b.shape[..rb - 2])?;
    let nb: usize = batch.iter().product();
    let expand = |d: &CudaData| -> Result<(CudaData, isize)> {
        match flat_batch_stride(d, &batch)? {
            Some(s) => Ok((d.clone(), s)),
            None => {
                let mut full_shape = batch.clone();
                full_shape.extend_from_slice(&d.shape[d.shape.len() - 2..]);
                let c = contiguous(&d.broadcast_view(op, &full_shape)?)?;
                let s = (c.shape[c.shape.len() - 2] * c.shape[c.shape.len() - 1]) as isize;
                Ok((c, s))
            }
        }
    };
    let (a2, sab) = expand(a)?;
    let (b2, sbb) = expand(b)?;
    let mut out_shape = batch.clone();
    out_shape.extend_from_slice(&[m, n]);
    let (am, ak) = (a2.strides[a2.shape.len() - 2], a2.strides[a2.shape.len() - 1]);
    let (bk, bn) = (b2.strides[b2.shape.len() - 2], b2.strides[b2.shape.len() - 1]);
    fn run<T: super::host::FloatElem>(
        a: &CudaData,
        b: &CudaData,
        dims: [usize; 4],
        strides: [isize; 6],
        out_shape: &[usize],
    ) -> Result<CudaData> {
        let op = "matmul";
        let [m, n, k, nb] = dims;
        let gpu = a.gpu().clone();
        let (sa, sb) = (a.slice::<T>(op)?, b.slice::<T>(op)?);
        // The GEMM takes base pointers; views start at their offsets.
        let (va, vb) = (sa.slice(a.offset..), sb.slice(b.offset..));
        let s = strides.map(|v| v as usize);
        let g = super::host::Gemm {
            m,
            n,
            k,
            batch: nb,
            sa: [s[0], s[1], s[2]],
            sb: [s[3], s[4], s[5]],
            sc: [m * n, n, 1],
            alpha: 1.0,
            beta: 0.0,
        };
        // Every index the strides produce for i < m, j < n, kk < k, b < nb lies inside the
        // operands' views (they are the views' own strides, or a contiguous broadcast copy).
        with_output::<T>(&gpu, op, a.dtype, out_shape, |c| {
            super::host::gemm::<T>(op, &gpu, &va, &vb, &mut c.slice_mut(..), &g)
        })
    }
    if nb > 65_535 {
        return Err(Error::shape(op, &out_shape, "more than 65,535 batch matrices in one CUDA matmul"));
    }
    let dims = [m, n, k, nb];
    let strides = [sab, am, ak, sbb, bk, bn];
    if nb == 0 || m == 0 || n == 0 {
        return full(a.gpu(), &out_shape, a.dtype, 0.0);
    }
    if k == 0 {
        return full(a.gpu(), &out_shape, a.dtype, 0.0);
    }
    match a.dtype {
        DType::F64 => run::<f64>(&a2, &b2, dims, strides, &out_shape),
        _ => run::<f32>(&a2, &b2, dims, strides, &out_shape),
    }
}

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
    let t = CudaData::from_host(
        &crate::tensor::Data::I64(ndarray::ArcArray::from_vec(targets.to_vec()).into_dyn()),
        &gpu,
    )?;
    let w_host = match x.dtype {
        DType::F64 => crate::tensor::Data::F64(ndarray::ArcArray::from_vec(weights.to_vec()).into_dyn()),
        _ => crate::tensor::Data::F32(
            ndarray::ArcArray::from_vec(weights.iter().map(|&v| v as f32).collect::<Vec<_>>()).into_dyn(),
        ),
    };
    let w = CudaData::from_host(&w_host, &gpu)?;
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

/// The gradient of `narrow`: a zero tensor of `full_shape` with `g` written into its window
/// `start..start + g.shape[dim]` along `dim`.
pub fn pad_narrow(g: &CudaData, full_shape: &[usize], dim: usize, start: usize) -> Result<CudaData> {
    let op = "narrow_backward";
    float_suffix(op, g)?;
    let mut out = full(g.gpu(), full_shape, g.dtype, 0.0)?;
    // The window's layout; the view itself is dropped here, so `out`'s block is unshared again.
    let ly = out.narrowed(dim, start, g.shape[dim]).layout_as(op, &g.shape)?;
    copy_into(op, g, &mut out, &ly)?;
    Ok(out)
}
