//! `index_select`, `gather`, `scatter_add`, `one_hot` and `cat` on a GPU (`kernels/index.cu`,
//! and `copy_into` of `kernels/copy.cu` for `cat`). The formulas are in [`crate::ops::index`],
//! [`crate::ops::join`] and in the kernel file's header; the autograd records stay in those op
//! files, which call the functions here on device data.
//!
//! * `gather`: one thread per output reads $x$ at the index's position along $d$; `index_select`
//!   is the same kernel with its 1-D index broadcast along every other dimension.
//! * `scatter_add` (and so `gather`'s gradient, a scatter-add into zeros): the host groups the
//!   index entries by destination into a CSR (keys in row-major order, each key's sources
//!   ascending), and one thread per output element adds its sources to $x$ in that order, the CPU
//!   op's order of additions: no atomics.
//! * `index_select`'s gradient: the same idea with one key per selected slice.
//! * `cat`: each input copied into its window of a fresh output.
//!
//! **Indices** are validated on the host by the op (the range check of the CPU op, an
//! [`crate::error::Error::Index`]) before anything here runs; the kernels also never read outside
//! a tensor. They may live on the CPU or on the data's GPU: a device index is copied to the host
//! for the checks and the CSR, as `embedding` does. The functions here get the index's values on
//! the host (row-major, with the index's shape) and, when the index lives on the GPU, its device
//! data, which the gathers read instead of uploading the values.

use std::sync::Arc;

use cudarc::driver::PushKernelArg;

use super::alloc::DevElem;
use super::context::{Gpu, dev_err, elementwise_cfg};
use super::copy::{contiguous, copy_into, full};
use super::launch::fresh;
use super::launch::with_output;
use super::storage::{CudaData, KLayout, MAX_DIMS, standard_strides};
use crate::dtype::DType;
use crate::error::{Error, Result};

/// A kernel `Layout` of `shape` with element `strides` and `offset`.
fn klayout(op: &'static str, shape: &[usize], strides: &[i64], offset: usize) -> Result<KLayout> {
    if shape.len() > MAX_DIMS || strides.len() != shape.len() {
        return Err(Error::shape(op, shape, format!("CUDA kernels take at most {MAX_DIMS} dimensions")));
    }
    let mut l = KLayout {
        ndim: shape.len() as i32,
        shape: [1; MAX_DIMS],
        strides: [0; MAX_DIMS],
        offset: offset as i64,
    };
    for (k, (&n, &s)) in shape.iter().zip(strides).enumerate() {
        l.shape[k] = n as i64;
        l.strides[k] = s;
    }
    Ok(l)
}

/// Row-major strides of `shape` as i64.
fn row_major(shape: &[usize]) -> Vec<i64> {
    standard_strides(shape).into_iter().map(|s| s as i64).collect()
}

/// The i64 ids on `gpu`, contiguous: the index's device data `on_gpu` when it has one, else the
/// host values `host` uploaded.
pub(crate) fn ids_on(on_gpu: Option<&CudaData>, host: &[i64], gpu: &Arc<Gpu>) -> Result<CudaData> {
    match on_gpu {
        Some(c) => contiguous(c),
        None => CudaData::upload_i64(gpu, host),
    }
}

/// A CSR with one row per key `0..nkeys`: `pos[row_ptr[k]..row_ptr[k + 1]]` are the positions `p`
/// with `keys[p] = k`, ascending (a counting sort). Keys outside `0..nkeys` are left out (the ops
/// validated them before).
pub(crate) fn dense_csr(keys: &[i64], nkeys: usize) -> (Vec<i64>, Vec<i64>) {
    let mut row_ptr = vec![0i64; nkeys + 1];
    let valid = |k: i64| k >= 0 && (k as u64) < nkeys as u64;
    for &k in keys.iter().filter(|&&k| valid(k)) {
        row_ptr[k as usize + 1] += 1;
    }
    for k in 0..nkeys {
        row_ptr[k + 1] += row_ptr[k];
    }
    let mut next: Vec<i64> = row_ptr[..nkeys].to_vec();
    let mut pos = vec![0i64; row_ptr[nkeys] as usize];
    for (p, &k) in keys.iter().enumerate().filter(|&(_, &k)| valid(k)) {
        pos[next[k as usize] as usize] = p as i64;
        next[k as usize] += 1;
    }
    (row_ptr, pos)
}

/// `gather_fwd_<t>`: `y` of shape `ys`, `y[c] = x[c with c_d := idx[li(c)]]`, with `li` the
/// index's layout as `ys` (its own for `gather`, broadcast for `index_select`).
fn gather_launch(
    op: &'static str,
    x: &CudaData,
    d: usize,
    idx: &CudaData,
    li: &KLayout,
    ys: &[usize],
) -> Result<CudaData> {
    // x read as the output's shape with the coordinate along d dropped (stride 0); sd and nd are
    // x's stride and size along d.
    let mut strides: Vec<i64> = x.strides.iter().map(|&s| s as i64).collect();
    let (sd, nd) = (strides[d], x.shape[d] as i64);
    strides[d] = 0;
    let lx = klayout(op, ys, &strides, x.offset)?;
    fn run<T: DevElem>(
        op: &'static str,
        x: &CudaData,
        idx: &CudaData,
        l: [&KLayout; 2],
        sd_nd: [i64; 2],
        ys: &[usize],
    ) -> Result<CudaData> {
        let gpu = x.gpu().clone();
        let n: usize = ys.iter().product();
        let f = gpu.function("index", &format!("gather_fwd_{}", T::NAME))?;
        let (xs, is) = (x.slice::<T>(op)?, idx.slice::<i64>(op)?);
        with_output::<T>(&gpu, op, x.dtype, ys, |y| {
            let n64 = n as i64;
            let mut b = gpu.stream().launch_builder(&f);
            b.arg(xs).arg(l[0]).arg(&sd_nd[0]).arg(&sd_nd[1]).arg(is).arg(l[1]).arg(y).arg(&n64);
            // SAFETY: matches `gather_fwd_<t>(const T* x, Layout lx, i64 sd, i64 nd, const i64* idx,
            // Layout li, T* y, i64 n)`. lx is x's own view with the coordinate along d dropped
            // (stride 0) and the output's shape, which is x's outside d (index_select) or within
            // it (gather, checked by the op); an index value outside 0..nd is never used to read.
            // li stays inside the index buffer (its own contiguous shape, or a broadcast of a 1-D
            // index of length ys[d]); y holds n elements.
            unsafe { b.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    let (l, sd_nd) = ([&lx, li], [sd, nd]);
    match x.dtype {
        DType::F32 => run::<f32>(op, x, idx, l, sd_nd, ys),
        DType::F64 => run::<f64>(op, x, idx, l, sd_nd, ys),
        DType::I64 => run::<i64>(op, x, idx, l, sd_nd, ys),
        DType::Bool => run::<u8>(op, x, idx, l, sd_nd, ys),
    }
}

/// `index_select` of `x` along `d` at the (validated) positions `idx`, the values of the index
/// (whose device data is `on_gpu` when it lives on x's GPU).
pub(crate) fn index_select(
    x: &CudaData,
    d: usize,
    on_gpu: Option<&CudaData>,
    idx: &[i64],
) -> Result<CudaData> {
    let op = "index_select";
    let dev_idx = ids_on(on_gpu, idx, x.gpu())?;
    let mut ys = x.shape.clone();
    ys[d] = idx.len();
    let mut strides = vec![0i64; ys.len()];
    strides[d] = 1;
    let li = klayout(op, &ys, &strides, 0)?;
    gather_launch(op, x, d, &dev_idx, &li, &ys)
}

/// The gradient of `index_select`: `dx` of shape `xs`, `dx[.., i, ..]` the sum of the slices
/// `g[.., k, ..]` with `idx[k] = i`, k ascending (`index_select_bwd_<t>`).
pub(crate) fn index_select_backward(g: &CudaData, xs: &[usize], d: usize, idx: &[i64]) -> Result<CudaData> {
    let op = "index_select_backward";
    let gpu = g.gpu().clone();
    let g = contiguous(g)?;
    let (outer, n, inner): (usize, usize, usize) =
        (xs[..d].iter().product(), xs[d], xs[d + 1..].iter().product());
    let m = idx.len();
    if g.shape.len() != xs.len() || g.shape[d] != m {
        return Err(Error::mismatch(op, &g.shape, xs, "gradient and input shapes disagree"));
    }
    let (row_ptr, pos) = dense_csr(idx, n);
    let (row_ptr, pos) = (CudaData::upload_i64(&gpu, &row_ptr)?, CudaData::upload_i64(&gpu, &pos)?);
    fn run<T: DevElem>(
        op: &'static str,
        g: &CudaData,
        xs: &[usize],
        sizes: [usize; 4],
        rp: &CudaData,
        pos: &CudaData,
    ) -> Result<CudaData> {
        let gpu = g.gpu().clone();
        let [outer, n, inner, m] = sizes.map(|s| s as i64);
        let f = gpu.function("index", &format!("index_select_bwd_{}", T::NAME))?;
        let (gs, rs, ps) = (g.slice::<T>(op)?, rp.slice::<i64>(op)?, pos.slice::<i64>(op)?);
        with_output::<T>(&gpu, op, g.dtype, xs, |dx| {
            let mut l = gpu.stream().launch_builder(&f);
            l.arg(&outer).arg(&n).arg(&inner).arg(rs).arg(ps).arg(gs).arg(&m).arg(dx);
            // SAFETY: matches `index_select_bwd_<t>(i64 outer, i64 n, i64 inner, const i64* row_ptr,
            // const i64* pos, const T* g, i64 m, T* dx)`; row_ptr has n + 1 entries, pos entries
            // are positions < m (dense_csr of the m index values), g is contiguous
            // (outer, m, inner) at offset 0, dx holds outer * n * inner elements.
            unsafe { l.launch(elementwise_cfg((outer * n * inner) as usize)) }
                .map(|_| ())
                .map_err(dev_err(op))
        })
    }
    let sizes = [outer, n, inner, m];
    match g.dtype {
        DType::F32 => run::<f32>(op, &g, xs, sizes, &row_ptr, &pos),
        DType::F64 => run::<f64>(op, &g, xs, sizes, &row_ptr, &pos),
        other => Err(Error::invalid(op, format!("gradient of dtype {other}"))),
    }
}

/// `gather` of `x` along `d` with the (validated) index values `idx` (row-major, of the index's
/// shape `is`; its device data `on_gpu` when it lives on x's GPU).
pub(crate) fn gather(
    x: &CudaData,
    d: usize,
    on_gpu: Option<&CudaData>,
    idx: &[i64],
    is: &[usize],
) -> Result<CudaData> {
    let op = "gather";
    let dev_idx = ids_on(on_gpu, idx, x.gpu())?;
    let li = klayout(op, is, &row_major(is), 0)?;
    gather_launch(op, x, d, &dev_idx, &li, is)
}

/// The CSR key of the index entry at row-major position `e` of shape `is`, with value `v`: its
/// coordinates, the one along `d` replaced by `v`, flattened with the key strides `kstr`.
fn scatter_key(e: usize, v: i64, is: &[usize], kstr: &[i64], d: usize) -> i64 {
    let (mut rest, mut key) = (e, 0i64);
    for k in (0..is.len()).rev() {
        let c = (rest % is[k].max(1)) as i64;
        rest /= is[k].max(1);
        key += if k == d { v } else { c } * kstr[k];
    }
    key
}

/// `scatter_add`: `y = x`, then `src`'s index-shaped corner added at the (validated) positions
/// `idx` along `d` (row-major, of the index's shape `is`) (`scatter_add_fwd_<t>`, f32, f64 and
/// i64).
pub(crate) fn scatter_add(
    x: &CudaData,
    d: usize,
    idx: &[i64],
    is: &[usize],
    src: &CudaData,
) -> Result<CudaData> {
    let op = "scatter_add";
    super::launch::same_gpu(op, x, src)?;
    let gpu = x.gpu().clone();
    // The key of each index entry: its coordinates with the one along d replaced by its value,
    // row-major in `ks` (the index's shape with x's size along d).
    let mut ks = is.to_vec();
    ks[d] = x.shape[d];
    let kstr = row_major(&ks);
    let keys: Vec<i64> = idx.iter().enumerate().map(|(e, &v)| scatter_key(e, v, is, &kstr, d)).collect();
    let nkeys: usize = ks.iter().product();
    let (row_ptr, pos) = dense_csr(&keys, nkeys);
    let (row_ptr, pos) = (CudaData::upload_i64(&gpu, &row_ptr)?, CudaData::upload_i64(&gpu, &pos)?);
    let lx = x.layout_as(op, &x.shape)?;
    let sstr: Vec<i64> = src.strides.iter().map(|&s| s as i64).collect();
    let ls = klayout(op, is, &sstr, src.offset)?;
    let lk = klayout(op, &ks, &kstr, 0)?;
    fn run<T: DevElem>(
        op: &'static str,
        x: &CudaData,
        src: &CudaData,
        ls: [&KLayout; 3],
        rp: &CudaData,
        pos: &CudaData,
    ) -> Result<CudaData> {
        let gpu = x.gpu().clone();
        let f = gpu.function("index", &format!("scatter_add_fwd_{}", T::NAME))?;
        let (xs, ss) = (x.slice::<T>(op)?, src.slice::<T>(op)?);
        let (rs, ps) = (rp.slice::<i64>(op)?, pos.slice::<i64>(op)?);
        let n = x.numel();
        with_output::<T>(&gpu, op, x.dtype, &x.shape, |y| {
            let n64 = n as i64;
            let mut l = gpu.stream().launch_builder(&f);
            l.arg(xs).arg(ls[0]).arg(ss).arg(ls[1]).arg(ls[2]).arg(rs).arg(ps).arg(y).arg(&n64);
            // SAFETY: matches `scatter_add_fwd_<t>(const T* x, Layout lx, const T* src, Layout ls,
            // Layout lk, const i64* row_ptr, const i64* pos, T* y, i64 n)`; lx is x's own view
            // (n elements), ls src's view restricted to the index's shape (no larger than src's,
            // checked by the op), lk the key grid (no larger than x's shape) with row_ptr holding
            // one entry per key + 1 and pos positions < the index's element count; y holds n.
            unsafe { l.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    let layouts = [&lx, &ls, &lk];
    match x.dtype {
        DType::F32 => run::<f32>(op, x, src, layouts, &row_ptr, &pos),
        DType::F64 => run::<f64>(op, x, src, layouts, &row_ptr, &pos),
        DType::I64 => run::<i64>(op, x, src, layouts, &row_ptr, &pos),
        other => Err(Error::UnsupportedDType {
            op,
            dtype: other,
            shape: x.shape.clone(),
            expected: "f32, f64 or i64",
        }),
    }
}

/// `g` placed in the leading corner of zeros of `shape` (the gradient of `scatter_add`'s `src`
/// when the index is smaller than `src`): a fill and one `copy_into`.
pub(crate) fn place_in_corner(g: &CudaData, shape: &[usize]) -> Result<CudaData> {
    let op = "scatter_add_backward";
    let mut out = full(g.gpu(), shape, g.dtype, 0.0)?;
    let mut window = out.clone();
    for (k, &n) in g.shape.iter().enumerate() {
        window = window.narrowed(k, 0, n);
    }
    let lw = window.layout_as(op, &g.shape)?;
    drop(window); // `out`'s block is unshared again
    copy_into(op, g, &mut out, &lw)?;
    Ok(out)
}

/// `one_hot` of a device index (values `idx` on the host, row-major, validated in `0..classes`):
/// `(.., classes)` of `dtype`, on the index's GPU (`one_hot_fwd_<t>`).
pub(crate) fn one_hot(
    index: &CudaData,
    idx: &[i64],
    classes: usize,
    dtype: DType,
    shape: &[usize],
) -> Result<CudaData> {
    let op = "one_hot";
    let gpu = index.gpu().clone();
    let dev_idx = CudaData::upload_i64(&gpu, idx)?;
    fn run<T: DevElem>(
        op: &'static str,
        gpu: &Arc<Gpu>,
        idx: &CudaData,
        classes: usize,
        dtype: DType,
        shape: &[usize],
    ) -> Result<CudaData> {
        let f = gpu.function("index", &format!("one_hot_fwd_{}", T::NAME))?;
        let is = idx.slice::<i64>(op)?;
        let (rows, c) = (idx.numel() as i64, classes as i64);
        with_output::<T>(gpu, op, dtype, shape, |y| {
            let mut l = gpu.stream().launch_builder(&f);
            l.arg(is).arg(&rows).arg(&c).arg(y);
            // SAFETY: matches `one_hot_fwd_<t>(const i64* idx, i64 rows, i64 classes, T* y)`; idx
            // holds `rows` values, y rows * classes elements (= the product of `shape`).
            unsafe { l.launch(elementwise_cfg((rows * c) as usize)) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    match dtype {
        DType::F32 => run::<f32>(op, &gpu, &dev_idx, classes, dtype, shape),
        DType::F64 => run::<f64>(op, &gpu, &dev_idx, classes, dtype, shape),
        DType::I64 => run::<i64>(op, &gpu, &dev_idx, classes, dtype, shape),
        DType::Bool => run::<u8>(op, &gpu, &dev_idx, classes, dtype, shape),
    }
}

/// `cat` of device tensors along `d` (shapes and dtypes checked by the op): a fresh output, each
/// input copied into its window `o_k .. o_k + n_k` along `d` (`copy_into`). Every input must be
/// on the first one's GPU.
pub(crate) fn cat(op: &'static str, xs: &[CudaData], d: usize) -> Result<CudaData> {
    let first = xs.first().ok_or_else(|| Error::invalid(op, "needs at least one tensor"))?;
    let gpu = first.gpu().clone();
    let mut shape = first.shape.clone();
    shape[d] = xs.iter().map(|x| x.shape[d]).sum();
    for x in xs {
        super::launch::same_gpu(op, first, x)?;
    }
    let n: usize = shape.iter().product();
    let block = match first.dtype {
        DType::F32 => fresh::<f32>(&gpu, n)?,
        DType::F64 => fresh::<f64>(&gpu, n)?,
        DType::I64 => fresh::<i64>(&gpu, n)?,
        DType::Bool => fresh::<u8>(&gpu, n)?,
    };
    let mut out = CudaData::new(block, first.dtype, &shape);
    let mut offset = 0;
    for x in xs {
        let len = x.shape[d];
        // The window's layout; the view is dropped at once, so `out`'s block stays unshared.
        let window = out.narrowed(d, offset, len).layout_as(op, &x.shape)?;
        copy_into(op, x, &mut out, &window)?;
        offset += len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{dense_csr, row_major, scatter_key};

    #[test]
    fn dense_csr_groups_positions_by_key_ascending() {
        let (rp, pos) = dense_csr(&[2, 0, 2, 3, 0, 2], 5);
        assert_eq!(rp, vec![0, 2, 2, 5, 6, 6]);
        assert_eq!(pos, vec![1, 4, 0, 2, 5, 3]);
        let (rp, pos) = dense_csr(&[], 0);
        assert_eq!((rp, pos), (vec![0], vec![]));
    }

    #[test]
    fn scatter_key_replaces_the_coordinate_along_d() {
        // index (2, 3) along d = 1 into x with 4 entries along d: keys in the (2, 4) grid.
        let kstr = row_major(&[2, 4]);
        assert_eq!(scatter_key(0, 3, &[2, 3], &kstr, 1), 3);
        assert_eq!(scatter_key(4, 0, &[2, 3], &kstr, 1), 4);
        assert_eq!(scatter_key(5, 2, &[2, 3], &kstr, 1), 6);
    }
}
