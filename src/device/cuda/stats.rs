//! Statistics on a GPU (`kernels/stats.cu`): `max_dim`/`min_dim`, `argmax`/`argmin`, the full
//! `max`/`min`, and `var` (so `std`, its composite with `sqrt`), forward and backward. The formulas
//! are in [`crate::ops::stats`] and in the kernel file's header.
//!
//! The reductions read the input as the (m, k) matrix of `CudaData::reduction_view` (the layout
//! `sum` uses) with one block of 256 threads per output and a fixed combining tree, so results do
//! not depend on timing:
//!
//! * `max_dim_fwd_<dt>` / `min_dim_fwd_<dt>`: the value and the first position of the extreme of
//!   each row (NaN beats every number; ties go to the smaller position), exactly the CPU's scan;
//!   with every dimension reduced it is `argmax`/`argmin` without a dimension and the full
//!   `max`/`min`. Backward of `max_dim`: $\partial L/\partial x_{o,j,i} = g_{o,i}\,\lbrack j = p_{o,i}\rbrack$,
//!   a gather (`max_dim_bwd_<dt>`, one thread per input element).
//! * full `max`/`min` backward: $g\,\lbrack x_i = y\rbrack / \#\{k : x_k = y\}$: the count by one
//!   block (`spread_count_bwd_<dt>`, an exact integer sum), then `spread_bwd_<dt>`.
//! * `var_fwd_<dt>`: $\bar x$ then $\sum (x - \bar x)^2 / \max(0, N - c)$, two passes per row;
//!   backward `var_bwd_<dt>`: $(x - \bar x)\,g\,\tfrac{2}{N - c}$.
//!
//! The functions here take and return device data; `ops/stats.rs` gets the tensors' device data
//! and records the forwards with these backwards.

use cudarc::driver::PushKernelArg;

use super::alloc::DevElem;
use super::context::{dev_err, elementwise_cfg, rows_cfg};
use super::launch::{block_mut, fresh};
use super::launch::{float_suffix, with_output};
use super::storage::CudaData;
use crate::dtype::DType;
use crate::error::{Error, Result};

/// The (values, i64 positions) of the extreme over `dims` of every output (`largest`: the maximum).
/// Every reduced row must be non-empty (the callers check).
pub(crate) fn best(
    op: &'static str,
    x: &CudaData,
    dims: &[usize],
    keepdim: bool,
    largest: bool,
) -> Result<(CudaData, CudaData)> {
    let rv = x.reduction_view(dims, keepdim);
    fn run<T: DevElem>(
        op: &'static str,
        name: &str,
        v: &CudaData,
        m: usize,
        k: usize,
        out_shape: &[usize],
    ) -> Result<(CudaData, CudaData)> {
        let gpu = v.gpu().clone();
        let mut y_block = fresh::<T>(&gpu, m)?;
        let mut p_block = fresh::<i64>(&gpu, m)?;
        if m > 0 {
            let f = gpu.function("stats", name)?;
            let lx = v.layout_as(op, &v.shape)?;
            let sx = v.slice::<T>(op)?;
            let y = block_mut::<T>(op, &mut y_block)?;
            let (m64, k64) = (m as i64, k as i64);
            let mut l = gpu.stream().launch_builder(&f);
            l.arg(sx).arg(&lx).arg(y);
            let p = block_mut::<i64>(op, &mut p_block)?;
            l.arg(p).arg(&m64).arg(&k64);
            // SAFETY: matches `<max|min>_dim_fwd_<dt>(const T*, Layout, T*, i64*, i64 m, i64 k)`;
            // `lx` is the permuted view of x (m * k elements), `y` and `p` hold m elements; one
            // block of exactly 256 threads per row, static shared memory only.
            unsafe { l.launch(rows_cfg(m, 0)) }.map_err(dev_err(op))?;
        }
        Ok((CudaData::new(y_block, v.dtype, out_shape), CudaData::new(p_block, DType::I64, out_shape)))
    }
    if rv.k == 0 {
        return Err(Error::shape(op, &x.shape, "cannot reduce an empty dimension"));
    }
    let kind = if largest { "max" } else { "min" };
    let name = |s: &str| format!("{kind}_dim_fwd_{s}");
    let (v, m, k, out) = (&rv.view, rv.m, rv.k, &rv.out_shape);
    match x.dtype {
        DType::F32 => run::<f32>(op, &name("f32"), v, m, k, out),
        DType::F64 => run::<f64>(op, &name("f64"), v, m, k, out),
        DType::I64 => run::<i64>(op, &name("i64"), v, m, k, out),
        DType::Bool => Err(Error::UnsupportedDType {
            op,
            dtype: x.dtype,
            shape: x.shape.clone(),
            expected: "f32, f64 or i64",
        }),
    }
}

/// `max_dim_bwd_<dt>`: the gradient of `max_dim`/`min_dim` along `d` in x's `shape` from the
/// positions `p` (the second output of [`best`]) and the upstream `g` (both contiguous with the
/// output's elements, in either keepdim form).
pub(crate) fn best_dim_backward(
    op: &'static str,
    p: &CudaData,
    g: &CudaData,
    shape: &[usize],
    d: usize,
) -> Result<CudaData> {
    let name = format!("max_dim_bwd_{}", float_suffix(op, g)?);
    let outer: usize = shape[..d].iter().product();
    let inner: usize = shape[d + 1..].iter().product();
    let n = shape[d];
    if g.numel() != outer * inner || p.numel() != outer * inner {
        return Err(Error::mismatch(op, &g.shape, shape, "the upstream gradient does not match the output"));
    }
    fn run<T: DevElem>(
        op: &'static str,
        name: &str,
        p: &CudaData,
        g: &CudaData,
        shape: &[usize],
        l: [usize; 3],
    ) -> Result<CudaData> {
        let gpu = g.gpu().clone();
        let f = gpu.function("stats", name)?;
        let (sp, sg) = (p.slice::<i64>(op)?, g.slice::<T>(op)?);
        let total: usize = shape.iter().product();
        with_output::<T>(&gpu, op, g.dtype, shape, |dx| {
            let mut b = gpu.stream().launch_builder(&f);
            let [o, n, i] = l.map(|v| v as i64);
            b.arg(sp).arg(sg).arg(dx).arg(&o).arg(&n).arg(&i);
            // SAFETY: matches `max_dim_bwd_<dt>(const i64*, const T*, T*, i64, i64, i64)`; `p`
            // (written by the forward) and `g` (`grad_on`) are contiguous at offset 0 with
            // outer * inner elements, `dx` holds outer * n * inner.
            unsafe { b.launch(elementwise_cfg(total)) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    match g.dtype {
        DType::F64 => run::<f64>(op, &name, p, g, shape, [outer, n, inner]),
        _ => run::<f32>(op, &name, p, g, shape, [outer, n, inner]),
    }
}

/// `argmax`/`argmin` of `x`: along `dim`, or of the flattened data (`None`).
pub(crate) fn arg_best(
    op: &'static str,
    x: &CudaData,
    dim: Option<usize>,
    keepdim: bool,
    largest: bool,
) -> Result<CudaData> {
    let dims: Vec<usize> = match dim {
        Some(d) => vec![d],
        None => (0..x.shape.len()).collect(),
    };
    let (_, p) = best(op, x, &dims, keepdim, largest)?;
    Ok(p)
}

/// The full `max`/`min` of `x` (0-d); its backward is [`spread`] with this output.
pub(crate) fn best_all(op: &'static str, x: &CudaData, largest: bool) -> Result<CudaData> {
    let all: Vec<usize> = (0..x.shape.len()).collect();
    let (y, _) = best(op, x, &all, false, largest)?;
    Ok(y)
}

/// `spread_count_bwd_<dt>` then `spread_bwd_<dt>`: $g$ (one contiguous value) shared among the
/// elements of `x` equal to `y` (the output of [`best_all`]): the backward of the full `max`/`min`.
pub(crate) fn spread(op: &'static str, x: &CudaData, y: &CudaData, g: &CudaData) -> Result<CudaData> {
    let s = float_suffix(op, x)?;
    if g.dtype != x.dtype || g.numel() != 1 {
        return Err(Error::mismatch(
            op,
            &g.shape,
            &[],
            "the upstream gradient of a full reduction is one value",
        ));
    }
    fn run<T: DevElem>(
        op: &'static str,
        s: &str,
        x: &CudaData,
        y: &CudaData,
        g: &CudaData,
    ) -> Result<CudaData> {
        let gpu = x.gpu().clone();
        let n = x.numel();
        let lx = x.layout_as(op, &x.shape)?;
        let (sx, sy, sg) = (x.slice::<T>(op)?, y.slice::<T>(op)?, g.slice::<T>(op)?);
        let mut count = fresh::<i64>(&gpu, 1)?;
        {
            let f = gpu.function("stats", &format!("spread_count_bwd_{s}"))?;
            let c = block_mut::<i64>(op, &mut count)?;
            let n64 = n as i64;
            let mut b = gpu.stream().launch_builder(&f);
            b.arg(sx).arg(&lx).arg(sy).arg(&n64).arg(c);
            // SAFETY: matches `spread_count_bwd_<dt>(const T*, Layout, const T*, i64, i64*)`;
            // `y` is the forward's one-element output (offset 0), `c` one i64; one block of
            // exactly 256 threads, static shared memory.
            unsafe { b.launch(rows_cfg(1, 0)) }.map_err(dev_err(op))?;
        }
        let f = gpu.function("stats", &format!("spread_bwd_{s}"))?;
        let sc =
            count.slice::<i64>().ok_or_else(|| super::launch::internal(op, "count of the wrong type"))?;
        with_output::<T>(&gpu, op, x.dtype, &x.shape, |dx| {
            let n64 = n as i64;
            let mut b = gpu.stream().launch_builder(&f);
            b.arg(sx).arg(&lx).arg(sy).arg(sg).arg(sc).arg(dx).arg(&n64);
            // SAFETY: matches `spread_bwd_<dt>(const T*, Layout, const T*, const T*, const i64*,
            // T*, i64)`; `g` is contiguous with one element, `dx` holds n elements.
            unsafe { b.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    match x.dtype {
        DType::F64 => run::<f64>(op, s, x, y, g),
        _ => run::<f32>(op, s, x, y, g),
    }
}

/// `var_fwd_<dt>` over `dims` (sorted, distinct) with `dof` = max(0, N − c): (variance in the
/// output shape, mean in x's rank with the reduced dimensions of size 1).
pub(crate) fn var(x: &CudaData, dims: &[usize], dof: f64, keepdim: bool) -> Result<(CudaData, CudaData)> {
    let op = "var";
    let s = float_suffix(op, x)?;
    let rv = x.reduction_view(dims, keepdim);
    let keep_shape = x.reduction_view(dims, true).out_shape;
    fn run<T: DevElem>(
        s: &str,
        rv: &super::storage::ReductionView,
        keep: &[usize],
        dof: f64,
    ) -> Result<(CudaData, CudaData)> {
        let op = "var";
        let v = &rv.view;
        let gpu = v.gpu().clone();
        let mut var_block = fresh::<T>(&gpu, rv.m)?;
        let mut mean_block = fresh::<T>(&gpu, rv.m)?;
        if rv.m > 0 {
            let f = gpu.function("stats", &format!("var_fwd_{s}"))?;
            let lx = v.layout_as(op, &v.shape)?;
            let sx = v.slice::<T>(op)?;
            let (m64, k64) = (rv.m as i64, rv.k as i64);
            let mut b = gpu.stream().launch_builder(&f);
            b.arg(sx).arg(&lx);
            let vr = block_mut::<T>(op, &mut var_block)?;
            b.arg(vr);
            let mn = block_mut::<T>(op, &mut mean_block)?;
            b.arg(mn).arg(&m64).arg(&k64).arg(&dof);
            // SAFETY: matches `var_fwd_<dt>(const T*, Layout, T*, T*, i64 m, i64 k, double)`;
            // `lx` is the permuted view of x (m * k elements), both outputs hold m elements; one
            // block of exactly 256 threads per row, static shared memory.
            unsafe { b.launch(rows_cfg(rv.m, 0)) }.map_err(dev_err(op))?;
        }
        Ok((CudaData::new(var_block, v.dtype, &rv.out_shape), CudaData::new(mean_block, v.dtype, keep)))
    }
    match x.dtype {
        DType::F64 => run::<f64>(s, &rv, &keep_shape, dof),
        _ => run::<f32>(s, &rv, &keep_shape, dof),
    }
}

/// `var_bwd_<dt>`: $(x - \bar x)\,g\,\cdot$ `scale` in x's shape, with `mean` and `g` (contiguous,
/// reshaped to `keep_shape`) broadcast.
pub(crate) fn var_backward(
    x: &CudaData,
    mean: &CudaData,
    g: &CudaData,
    keep_shape: &[usize],
    scale: f64,
) -> Result<CudaData> {
    let op = "var_backward";
    let s = float_suffix(op, x)?;
    if g.numel() != keep_shape.iter().product::<usize>() || mean.shape != keep_shape {
        return Err(Error::mismatch(
            op,
            &g.shape,
            keep_shape,
            "the upstream gradient does not match the output",
        ));
    }
    let g = g.reshaped(keep_shape)?;
    if g.dtype != x.dtype || mean.dtype != x.dtype {
        return Err(Error::mismatch(op, &g.shape, &x.shape, "the gradient's dtype differs from the input's"));
    }
    fn run<T: DevElem>(s: &str, x: &CudaData, mean: &CudaData, g: &CudaData, scale: f64) -> Result<CudaData> {
        let op = "var_backward";
        let gpu = x.gpu().clone();
        let f = gpu.function("stats", &format!("var_bwd_{s}"))?;
        let shape = &x.shape;
        let (lx, lm, lg) = (x.layout_as(op, shape)?, mean.layout_as(op, shape)?, g.layout_as(op, shape)?);
        let (sx, sm, sg) = (x.slice::<T>(op)?, mean.slice::<T>(op)?, g.slice::<T>(op)?);
        let n = x.numel();
        with_output::<T>(&gpu, op, x.dtype, shape, |dx| {
            let n64 = n as i64;
            let mut b = gpu.stream().launch_builder(&f);
            b.arg(sx).arg(&lx).arg(sm).arg(&lm).arg(sg).arg(&lg).arg(dx).arg(&n64).arg(&scale);
            // SAFETY: matches `var_bwd_<dt>(const T*, Layout, const T*, Layout, const T*, Layout,
            // T*, i64, double)`; mean and g have x's rank with size 1 on the reduced dimensions,
            // read broadcast to x's shape; `dx` holds n elements.
            unsafe { b.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    match x.dtype {
        DType::F64 => run::<f64>(s, x, mean, &g, scale),
        _ => run::<f32>(s, x, mean, &g, scale),
    }
}
