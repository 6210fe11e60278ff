//! Host code of `kernels/copy.cu`: strided copies (`contiguous`, a window of a fresh output, the
//! host transfers that need a contiguous view first), fills and dtype casts.

use std::sync::Arc;

use cudarc::driver::PushKernelArg;

use super::alloc::DevElem;
use super::context::{Gpu, dev_err, elementwise_cfg};
use super::launch::{float_suffix, with_output};
use super::storage::{CudaData, KLayout, standard_strides};
use crate::dtype::DType;
use crate::error::{Error, Result};

impl CudaData {
    /// The values in row-major order in host memory (made contiguous first; waits for the queued
    /// kernels). `T` is the element type as stored (`u8` for `bool`).
    pub(crate) fn download<T: DevElem>(&self) -> Result<Vec<T>> {
        let op = "to(cpu)";
        let c = super::copy::contiguous(self)?;
        let n = c.numel();
        if n == 0 {
            return Ok(Vec::new());
        }
        let s = c.slice::<T>(op)?;
        c.gpu().stream().clone_dtoh(&s.slice(0..n)).map_err(dev_err(op))
    }

    /// The same elements as `shape` (same count): a view when contiguous, else a copy.
    pub(crate) fn reshaped(&self, shape: &[usize]) -> Result<CudaData> {
        let mut c = super::copy::contiguous(self)?;
        c.shape = shape.to_vec();
        c.strides = standard_strides(shape);
        Ok(c)
    }
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

/// `copy_into_<t>` (`kernels/copy.cu`, every dtype): the elements of `src`, read through its
/// strides in row-major order, written at the positions of `window`, a layout of `dst`'s block
/// with `src`'s shape whose positions are distinct (a window of `dst`). `dst`'s block must not be
/// shared (a fresh output), else an internal error.
pub(crate) fn copy_into(
    op: &'static str,
    src: &CudaData,
    dst: &mut CudaData,
    window: &KLayout,
) -> Result<()> {
    fn run<T: DevElem>(op: &'static str, src: &CudaData, dst: &mut CudaData, ly: &KLayout) -> Result<()> {
        let n = src.numel();
        let gpu = src.gpu().clone();
        let f = gpu.function("copy", &format!("copy_into_{}", T::NAME))?;
        let lx = src.layout_as(op, &src.shape)?;
        let sx = src.slice::<T>(op)?;
        let block = Arc::get_mut(&mut dst.block)
            .ok_or_else(|| Error::Device { op, msg: "internal: fresh block is shared".into() })?;
        let sy = block
            .slice_mut::<T>()
            .ok_or_else(|| Error::Device { op, msg: "internal: fresh block of the wrong type".into() })?;
        let mut b = gpu.stream().launch_builder(&f);
        let n64 = n as i64;
        b.arg(sx).arg(&lx).arg(sy).arg(ly).arg(&n64);
        // SAFETY: matches `copy_into_<dt>(const T* x, Layout lx, T* y, Layout ly, i64 n)`; `lx` is
        // `src`'s own view, `ly` a window of `dst`'s block with `src`'s shape (n elements) whose
        // positions are distinct (the callers' windows are narrowed views of `dst`).
        unsafe { b.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err(op))
    }
    if src.numel() == 0 {
        return Ok(());
    }
    if src.dtype != dst.dtype || window.ndim as usize != src.shape.len() {
        return Err(Error::Device {
            op,
            msg: "internal: copy_into between different dtypes or ranks".into(),
        });
    }
    match src.dtype {
        DType::F32 => run::<f32>(op, src, dst, window),
        DType::F64 => run::<f64>(op, src, dst, window),
        DType::I64 => run::<i64>(op, src, dst, window),
        DType::Bool => run::<u8>(op, src, dst, window),
    }
}
