//! Pooling on a GPU (`kernels/pool2d.cu`): `max_pool2d`, `avg_pool2d` and
//! `adaptive_avg_pool2d_1x1`, forward and backward, on device buffers (`ops::pool2d` records the
//! backward). The formulas are in `ops::pool2d` and in the kernel file's header; both backward
//! kernels are gathers (one thread per input element, the CPU's order of additions), so the
//! results are deterministic.

use std::sync::Arc;

use cudarc::driver::{DeviceRepr, LaunchConfig, PushKernelArg};

use super::alloc::DevElem;
use super::context::{Gpu, dev_err, elementwise_cfg};
use super::copy::contiguous;
use super::launch::{block_mut, float_dtype, fresh};
use super::storage::CudaData;
use crate::device::cpu::pool2d::Pool2dParams;
use crate::dtype::DType;
use crate::error::Result;

/// `Pool2dGeom` of `kernels/pool2d.cu`: 11 `i64` fields in the kernel's order.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct Pool2dGeom {
    planes: i64,
    h: i64,
    w: i64,
    oh: i64,
    ow: i64,
    kh: i64,
    kw: i64,
    sh: i64,
    sw: i64,
    ph: i64,
    pw: i64,
}

// SAFETY: plain old data with the same `repr(C)` layout (11 consecutive i64) as the CUDA struct.
unsafe impl DeviceRepr for Pool2dGeom {}

impl Pool2dGeom {
    /// The geometry of `p` on an input of shape `x` (N, C, H, W); `out` is the validated output
    /// shape (N, C, OH, OW).
    fn of(p: &Pool2dParams, x: &[usize], out: &[usize]) -> Pool2dGeom {
        let i = |v: usize| v as i64;
        Pool2dGeom {
            planes: i(x[0] * x[1]),
            h: i(x[2]),
            w: i(x[3]),
            oh: i(out[2]),
            ow: i(out[3]),
            kh: i(p.kernel_size[0]),
            kw: i(p.kernel_size[1]),
            sh: i(p.stride[0]),
            sw: i(p.stride[1]),
            ph: i(p.padding[0]),
            pw: i(p.padding[1]),
        }
    }
    fn in_len(&self) -> usize {
        (self.planes * self.h * self.w) as usize
    }
    fn out_len(&self) -> usize {
        (self.planes * self.oh * self.ow) as usize
    }
}

/// `max_pool2d_fwd_<t>`: (y, arg-max indices).
fn max_fwd<T: DevElem>(g: &Pool2dGeom, x: &CudaData, out: &[usize]) -> Result<(CudaData, CudaData)> {
    let op = "max_pool2d";
    let gpu = x.gpu().clone();
    let n = g.out_len();
    let mut y_block = fresh::<T>(&gpu, n)?;
    let mut i_block = fresh::<i64>(&gpu, n)?;
    if n > 0 {
        let f = gpu.function("pool2d", &format!("max_pool2d_fwd_{}", T::NAME))?;
        let xs = x.slice::<T>(op)?;
        let y = block_mut::<T>(op, &mut y_block)?;
        let idx = block_mut::<i64>(op, &mut i_block)?;
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(g).arg(xs).arg(y).arg(idx);
        // SAFETY: matches `max_pool2d_fwd_<t>(Pool2dGeom g, const T* x, T* y, i64* idx)`; `x` is
        // contiguous (N, C, H, W) at offset 0, `y` and `idx` hold planes * OH * OW elements, one
        // thread each.
        unsafe { l.launch(elementwise_cfg(n)) }.map_err(dev_err(op))?;
    }
    Ok((CudaData::new(y_block, x.dtype(), out), CudaData::new(i_block, DType::I64, out)))
}

/// `max_pool2d_bwd_<t>`: dx (N, C, H, W) from the saved indices and dy.
fn max_bwd<T: DevElem>(
    g: &Pool2dGeom,
    idx: &CudaData,
    dy: &CudaData,
    in_shape: &[usize],
) -> Result<CudaData> {
    let op = "max_pool2d_backward";
    let gpu = dy.gpu().clone();
    let n = g.in_len();
    let mut block = fresh::<T>(&gpu, n)?;
    if n > 0 && g.out_len() > 0 {
        let f = gpu.function("pool2d", &format!("max_pool2d_bwd_{}", T::NAME))?;
        let (is, dys) = (idx.slice::<i64>(op)?, dy.slice::<T>(op)?);
        let dx = block_mut::<T>(op, &mut block)?;
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(g).arg(is).arg(dys).arg(dx);
        // SAFETY: matches `max_pool2d_bwd_<t>(Pool2dGeom g, const i64* idx, const T* dy, T* dx)`;
        // `idx` and `dy` are contiguous (N, C, OH, OW) at offset 0, `dx` holds planes * H * W
        // elements, each overwritten by its own thread.
        unsafe { l.launch(elementwise_cfg(n)) }.map_err(dev_err(op))?;
    } else if n > 0 {
        return super::copy::full(&gpu, in_shape, dy.dtype(), 0.0);
    }
    Ok(CudaData::new(block, dy.dtype(), in_shape))
}

/// `avg_pool2d_fwd_<t>`.
fn avg_fwd<T: DevElem>(g: &Pool2dGeom, cip: i32, x: &CudaData, out: &[usize]) -> Result<CudaData> {
    let op = "avg_pool2d";
    let gpu = x.gpu().clone();
    let n = g.out_len();
    let mut block = fresh::<T>(&gpu, n)?;
    if n > 0 {
        let f = gpu.function("pool2d", &format!("avg_pool2d_fwd_{}", T::NAME))?;
        let xs = x.slice::<T>(op)?;
        let y = block_mut::<T>(op, &mut block)?;
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(g).arg(&cip).arg(xs).arg(y);
        // SAFETY: matches `avg_pool2d_fwd_<t>(Pool2dGeom g, int count_include_pad, const T* x,
        // T* y)` (`cip` is an i32, 0 or 1); `x` contiguous at offset 0, `y` planes * OH * OW.
        unsafe { l.launch(elementwise_cfg(n)) }.map_err(dev_err(op))?;
    }
    Ok(CudaData::new(block, x.dtype(), out))
}

/// `avg_pool2d_bwd_<t>`.
fn avg_bwd<T: DevElem>(g: &Pool2dGeom, cip: i32, dy: &CudaData, in_shape: &[usize]) -> Result<CudaData> {
    let op = "avg_pool2d_backward";
    let gpu = dy.gpu().clone();
    let n = g.in_len();
    let mut block = fresh::<T>(&gpu, n)?;
    if n > 0 && g.out_len() > 0 {
        let f = gpu.function("pool2d", &format!("avg_pool2d_bwd_{}", T::NAME))?;
        let dys = dy.slice::<T>(op)?;
        let dx = block_mut::<T>(op, &mut block)?;
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(g).arg(&cip).arg(dys).arg(dx);
        // SAFETY: matches `avg_pool2d_bwd_<t>(Pool2dGeom g, int count_include_pad, const T* dy,
        // T* dx)`; `dy` contiguous (N, C, OH, OW) at offset 0, `dx` planes * H * W, overwritten.
        unsafe { l.launch(elementwise_cfg(n)) }.map_err(dev_err(op))?;
    } else if n > 0 {
        return super::copy::full(&gpu, in_shape, dy.dtype(), 0.0);
    }
    Ok(CudaData::new(block, dy.dtype(), in_shape))
}

/// `adaptive_avg_pool2d_fwd_<t>`: (N, C, H, W) -> (N, C, 1, 1).
fn gap_fwd<T: DevElem>(x: &CudaData) -> Result<CudaData> {
    let op = "adaptive_avg_pool2d";
    let gpu = x.gpu().clone();
    let s = x.shape();
    let (planes, hw) = (s[0] * s[1], s[2] * s[3]);
    let mut block = fresh::<T>(&gpu, planes)?;
    if planes > 0 {
        let f = gpu.function("pool2d", &format!("adaptive_avg_pool2d_fwd_{}", T::NAME))?;
        let xs = x.slice::<T>(op)?;
        let y = block_mut::<T>(op, &mut block)?;
        let (p_, hw_) = (planes as i64, hw as i64);
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(&p_).arg(&hw_).arg(xs).arg(y);
        let cfg = LaunchConfig {
            grid_dim: (planes.clamp(1, 65_535) as u32, 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: matches `adaptive_avg_pool2d_fwd_<t>(i64 planes, i64 hw, const T* x, T* y)`;
        // block of exactly 256 threads (the kernel's fixed tree, static shared memory), a block per
        // plane; `x` contiguous at offset 0 with planes * hw elements, `y` planes elements.
        unsafe { l.launch(cfg) }.map_err(dev_err(op))?;
    }
    Ok(CudaData::new(block, x.dtype(), &[s[0], s[1], 1, 1]))
}

/// `adaptive_avg_pool2d_bwd_<t>`.
fn gap_bwd<T: DevElem>(dy: &CudaData, in_shape: &[usize]) -> Result<CudaData> {
    let op = "adaptive_avg_pool2d_backward";
    let gpu = dy.gpu().clone();
    let (planes, hw) = (in_shape[0] * in_shape[1], in_shape[2] * in_shape[3]);
    let n = planes * hw;
    let mut block = fresh::<T>(&gpu, n)?;
    if n > 0 {
        let f = gpu.function("pool2d", &format!("adaptive_avg_pool2d_bwd_{}", T::NAME))?;
        let dys = dy.slice::<T>(op)?;
        let dx = block_mut::<T>(op, &mut block)?;
        let (p_, hw_) = (planes as i64, hw as i64);
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(&p_).arg(&hw_).arg(dys).arg(dx);
        // SAFETY: matches `adaptive_avg_pool2d_bwd_<t>(i64 planes, i64 hw, const T* dy, T* dx)`;
        // `dy` contiguous with `planes` elements, `dx` planes * hw, one thread each.
        unsafe { l.launch(elementwise_cfg(n)) }.map_err(dev_err(op))?;
    }
    Ok(CudaData::new(block, dy.dtype(), in_shape))
}

fn dispatch<R>(
    dtype: DType,
    f32f: impl FnOnce() -> Result<R>,
    f64f: impl FnOnce() -> Result<R>,
) -> Result<R> {
    match dtype {
        DType::F64 => f64f(),
        _ => f32f(),
    }
}

/// What [`max_pool2d_backward`] reads: the kernel's geometry, the arg-max indices (i64, the shape
/// of the output), the input's shape and dtype.
pub(crate) struct MaxPoolSaved {
    g: Pool2dGeom,
    idx: CudaData,
    in_shape: Vec<usize>,
    dtype: DType,
}

impl MaxPoolSaved {
    /// The GPU the forward ran on.
    pub(crate) fn gpu(&self) -> &Arc<Gpu> {
        self.idx.gpu()
    }
}

/// `max_pool2d` of device data (`out` is the validated output shape): `y` and what the backward
/// reads.
pub(crate) fn max_pool2d_forward(
    x: &CudaData,
    p: &Pool2dParams,
    out: &[usize],
) -> Result<(CudaData, MaxPoolSaved)> {
    let op = "max_pool2d";
    let dtype = float_dtype(op, x)?;
    let x = contiguous(x)?;
    let in_shape = x.shape().to_vec();
    let g = Pool2dGeom::of(p, &in_shape, out);
    let (y, idx) = dispatch(dtype, || max_fwd::<f32>(&g, &x, out), || max_fwd::<f64>(&g, &x, out))?;
    Ok((y, MaxPoolSaved { g, idx, in_shape, dtype }))
}

/// The gradient of `max_pool2d`'s input from the upstream gradient `dy` (contiguous, on the
/// forward's GPU).
pub(crate) fn max_pool2d_backward(s: &MaxPoolSaved, dy: &CudaData) -> Result<CudaData> {
    dispatch(
        s.dtype,
        || max_bwd::<f32>(&s.g, &s.idx, dy, &s.in_shape),
        || max_bwd::<f64>(&s.g, &s.idx, dy, &s.in_shape),
    )
}

/// What [`avg_pool2d_backward`] reads: the kernel's geometry, `count_include_pad`, the input's
/// shape, dtype and GPU.
pub(crate) struct AvgPoolSaved {
    g: Pool2dGeom,
    cip: i32,
    in_shape: Vec<usize>,
    dtype: DType,
    gpu: Arc<Gpu>,
}

impl AvgPoolSaved {
    /// The GPU the forward ran on.
    pub(crate) fn gpu(&self) -> &Arc<Gpu> {
        &self.gpu
    }
}

/// `avg_pool2d` of device data (`out` is the validated output shape): `y` and what the backward
/// reads.
pub(crate) fn avg_pool2d_forward(
    x: &CudaData,
    p: &Pool2dParams,
    count_include_pad: bool,
    out: &[usize],
) -> Result<(CudaData, AvgPoolSaved)> {
    let op = "avg_pool2d";
    let dtype = float_dtype(op, x)?;
    let x = contiguous(x)?;
    let in_shape = x.shape().to_vec();
    let g = Pool2dGeom::of(p, &in_shape, out);
    let cip = i32::from(count_include_pad);
    let y = dispatch(dtype, || avg_fwd::<f32>(&g, cip, &x, out), || avg_fwd::<f64>(&g, cip, &x, out))?;
    let gpu: Arc<Gpu> = x.gpu().clone();
    Ok((y, AvgPoolSaved { g, cip, in_shape, dtype, gpu }))
}

/// The gradient of `avg_pool2d`'s input from the upstream gradient `dy` (contiguous, on the
/// forward's GPU).
pub(crate) fn avg_pool2d_backward(s: &AvgPoolSaved, dy: &CudaData) -> Result<CudaData> {
    dispatch(
        s.dtype,
        || avg_bwd::<f32>(&s.g, s.cip, dy, &s.in_shape),
        || avg_bwd::<f64>(&s.g, s.cip, dy, &s.in_shape),
    )
}

/// What [`adaptive_avg_pool2d_1x1_backward`] reads: the input's shape, dtype and GPU.
pub(crate) struct GlobalAvgPoolSaved {
    in_shape: Vec<usize>,
    dtype: DType,
    gpu: Arc<Gpu>,
}

impl GlobalAvgPoolSaved {
    /// The GPU the forward ran on.
    pub(crate) fn gpu(&self) -> &Arc<Gpu> {
        &self.gpu
    }
}

/// `adaptive_avg_pool2d_1x1` of (validated: 4-D, non-empty planes) device data: `y` (N, C, 1, 1)
/// and what the backward reads.
pub(crate) fn adaptive_avg_pool2d_1x1_forward(x: &CudaData) -> Result<(CudaData, GlobalAvgPoolSaved)> {
    let op = "adaptive_avg_pool2d";
    let dtype = float_dtype(op, x)?;
    let x = contiguous(x)?;
    let in_shape = x.shape().to_vec();
    let y = dispatch(dtype, || gap_fwd::<f32>(&x), || gap_fwd::<f64>(&x))?;
    let gpu: Arc<Gpu> = x.gpu().clone();
    Ok((y, GlobalAvgPoolSaved { in_shape, dtype, gpu }))
}

/// The gradient of `adaptive_avg_pool2d_1x1`'s input from the upstream gradient `dy`
/// (contiguous, on the forward's GPU).
pub(crate) fn adaptive_avg_pool2d_1x1_backward(s: &GlobalAvgPoolSaved, dy: &CudaData) -> Result<CudaData> {
    dispatch(s.dtype, || gap_bwd::<f32>(dy, &s.in_shape), || gap_bwd::<f64>(dy, &s.in_shape))
}
