//! Host code of `kernels/elementwise.cu`: every unary and binary (broadcasting) elementwise op,
//! forward and backward, one kernel per op named as the CPU macros name it.

use cudarc::driver::PushKernelArg;

use super::alloc::DevElem;
use super::context::{dev_err, elementwise_cfg};
use super::launch::{float_suffix, same_gpu, with_output};
use super::storage::CudaData;
use crate::device::shape::broadcast_shapes;
use crate::dtype::DType;
use crate::error::{Error, Result};

/// Kernel name of an op as the CPU macros name it: `exp` → `exp_fwd`, `tanh_backward` → `tanh_bwd`.
fn kernel_base(op: &str) -> String {
    match op.strip_suffix("_backward") {
        Some(stem) => format!("{stem}_bwd"),
        None => format!("{op}_fwd"),
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
