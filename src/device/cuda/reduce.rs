//! Host code of `kernels/reduce.cu`: sums over dimensions (one block per output, a fixed tree).

use cudarc::driver::PushKernelArg;

use super::alloc::DevElem;
use super::context::{dev_err, rows_cfg};
use super::launch::{float_suffix, with_output};
use super::storage::{CudaData, ReductionView};
use crate::dtype::DType;
use crate::error::Result;

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
