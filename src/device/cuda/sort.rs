//! `sort` and `topk` on a GPU (`kernels/sort.cu`): values and i64 source indices along a
//! dimension, stable, NaN ordered as the CPU op orders it (largest: last ascending, first
//! descending), and the gradient that moves back to the source positions. The formulas are in
//! [`crate::ops::sort`] and in the kernel file's header.
//!
//! The input is made contiguous and seen as lanes `(outer, n, inner)`. Two launches: every element
//! counts the elements of its lane that come before it in the stable order, its rank $r_j$
//! (`sort_fwd_rank_<t>`, $O(n^2)$ work per lane, $O(n)$ per thread), then every element with
//! $r_j < k$ writes itself and its lane index at position $r_j$, or at its position among the
//! chosen in input order for an unsorted `topk` (`sort_fwd_<t>`). `topk(k, largest)` is the first
//! $k$ of the sort (descending for `largest`), as on the CPU. The backward (`sort_bwd_<t>`) writes
//! each gradient value at its source position in zeros: positions are distinct, no atomics.
//!
//! The functions here take and return device data; `ops/sort.rs` records the values with this
//! backward.

use cudarc::driver::PushKernelArg;

use super::alloc::DevElem;
use super::context::{dev_err, elementwise_cfg};
use super::copy::contiguous;
use super::launch::{block_mut, fresh};
use super::storage::CudaData;
use crate::device::cpu::lanes::Lanes;
use crate::dtype::DType;
use crate::error::{Error, Result};

/// The values and indices of the first `k` of the stable sort of every lane of the contiguous `x`.
fn forward<T: DevElem>(
    op: &'static str,
    x: &CudaData,
    lanes: Lanes,
    k: usize,
    descending: bool,
    sorted: bool,
    out_shape: &[usize],
) -> Result<(CudaData, CudaData)> {
    let gpu = x.gpu().clone();
    let Lanes { outer, n, inner } = lanes;
    let total = outer * n * inner;
    let mut y = fresh::<T>(&gpu, outer * k * inner)?;
    let mut idx = fresh::<i64>(&gpu, outer * k * inner)?;
    if total > 0 && k > 0 {
        let mut rank = fresh::<i64>(&gpu, total)?;
        let xs = x.slice::<T>(op)?;
        let (o, n_, i, k_) = (outer as i64, n as i64, inner as i64, k as i64);
        {
            let f = gpu.function("sort", &format!("sort_fwd_rank_{}", T::NAME))?;
            let rs = block_mut::<i64>(op, &mut rank)?;
            let desc = i32::from(descending);
            let mut l = gpu.stream().launch_builder(&f);
            l.arg(xs).arg(&o).arg(&n_).arg(&i).arg(&desc).arg(rs);
            // SAFETY: matches `sort_fwd_rank_<t>(const T* x, i64 outer, i64 n, i64 inner,
            // int descending, i64* rank)`; x is contiguous (outer, n, inner) at offset 0 and rank
            // holds as many elements.
            unsafe { l.launch(elementwise_cfg(total)) }.map_err(dev_err(op))?;
        }
        let f = gpu.function("sort", &format!("sort_fwd_{}", T::NAME))?;
        let rs = rank
            .slice::<i64>()
            .ok_or_else(|| super::launch::internal(op, "rank buffer of the wrong type"))?;
        let ys = block_mut::<T>(op, &mut y)?;
        let is = block_mut::<i64>(op, &mut idx)?;
        let srt = i32::from(sorted);
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(xs).arg(rs).arg(&o).arg(&n_).arg(&i).arg(&k_).arg(&srt).arg(ys).arg(is);
        // SAFETY: matches `sort_fwd_<t>(const T* x, const i64* rank, i64 outer, i64 n, i64 inner,
        // i64 k, int sorted, T* y, i64* idx)`; x and rank hold outer * n * inner elements, rank a
        // permutation of 0..n per lane, so the positions written (< k per lane) are distinct and
        // inside y and idx, which hold outer * k * inner elements.
        unsafe { l.launch(elementwise_cfg(total)) }.map_err(dev_err(op))?;
    }
    Ok((CudaData::new(y, x.dtype, out_shape), CudaData::new(idx, DType::I64, out_shape)))
}

/// The gradient: `g` (shape `(outer, k, inner)`) written at the source positions `idx` in zeros
/// of `in_shape`.
fn backward<T: DevElem>(
    op: &'static str,
    g: &CudaData,
    idx: &CudaData,
    lanes: Lanes,
    in_shape: &[usize],
) -> Result<CudaData> {
    let gpu = idx.gpu();
    let Lanes { outer, n, inner } = lanes;
    let mut dx = fresh::<T>(gpu, outer * n * inner)?;
    let m = g.numel();
    {
        let out = block_mut::<T>(op, &mut dx)?;
        gpu.stream().memset_zeros(out).map_err(dev_err(op))?;
        if m > 0 && n > 0 {
            let k = (m / (outer * inner).max(1)) as i64;
            let f = gpu.function("sort", &format!("sort_bwd_{}", T::NAME))?;
            let (gs, is) = (g.slice::<T>(op)?, idx.slice::<i64>(op)?);
            let (o, n_, i) = (outer as i64, n as i64, inner as i64);
            let mut l = gpu.stream().launch_builder(&f);
            l.arg(gs).arg(is).arg(&o).arg(&n_).arg(&i).arg(&k).arg(out);
            // SAFETY: matches `sort_bwd_<t>(const T* g, const i64* idx, i64 outer, i64 n,
            // i64 inner, i64 k, T* dx)`; g and idx are contiguous (outer, k, inner) (the shapes
            // were checked equal), dx holds outer * n * inner elements and an idx outside 0..n is
            // skipped by the kernel.
            unsafe { l.launch(elementwise_cfg(m)) }.map_err(dev_err(op))?;
        }
    }
    Ok(CudaData::new(dx, g.dtype, in_shape))
}

/// `sort` (`k = n`, `sorted`) or `topk` of `x` along the dimension of `lanes`: the values and
/// the i64 source indices, both of `out_shape`, on x's GPU. f32, f64 and i64.
pub(crate) fn sort(
    op: &'static str,
    x: &CudaData,
    lanes: Lanes,
    k: usize,
    descending: bool,
    sorted: bool,
    out_shape: &[usize],
) -> Result<(CudaData, CudaData)> {
    let c = contiguous(x)?;
    match c.dtype {
        DType::F32 => forward::<f32>(op, &c, lanes, k, descending, sorted, out_shape),
        DType::F64 => forward::<f64>(op, &c, lanes, k, descending, sorted, out_shape),
        DType::I64 => forward::<i64>(op, &c, lanes, k, descending, sorted, out_shape),
        other => Err(Error::UnsupportedDType {
            op,
            dtype: other,
            shape: c.shape.clone(),
            expected: "f32, f64 or i64",
        }),
    }
}

/// The gradient of `sort`/`topk`: the upstream `g` (contiguous, the shape of the saved indices
/// `idx`) written at the source positions in zeros of `in_shape`, on the GPU of `idx`.
pub(crate) fn sort_backward(
    op: &'static str,
    g: &CudaData,
    idx: &CudaData,
    lanes: Lanes,
    in_shape: &[usize],
) -> Result<CudaData> {
    if g.shape != idx.shape {
        return Err(Error::mismatch(op, &g.shape, &idx.shape, "gradient and output shapes disagree"));
    }
    match g.dtype {
        DType::F32 => backward::<f32>(op, g, idx, lanes, in_shape),
        DType::F64 => backward::<f64>(op, g, idx, lanes, in_shape),
        other => Err(Error::UnsupportedDType {
            op,
            dtype: other,
            shape: g.shape.clone(),
            expected: "f32 or f64 gradient",
        }),
    }
}
