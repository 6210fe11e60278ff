//! `embedding` on a GPU (`kernels/embedding.cu`): the row gather forward and the deterministic
//! scatter-add backward (dense gradient). The formulas are in [`crate::ops::embedding`] and in the
//! kernel file's header.
//!
//! * forward: one thread per output element copies `W[ids[p], c]`;
//! * backward: the host builds a CSR of the ids ([`Csr::of`]: `padding_idx` left out, distinct ids
//!   ascending, each id's positions ascending — the CPU op's order), uploads it, and one thread per
//!   (touched row, column) sums the upstream rows in that order, the CPU's order of additions (so it should match the CPU bit for bit; not yet run on a GPU).
//!
//! The ids are validated on the host before any launch (an out-of-range id is an
//! [`Error::Index`], as on the CPU); the kernels' `err` flag is checked after each launch as a
//! second line of defence. The ids may live on the CPU or on the weight's GPU (they are copied to
//! the host either way, for the checks and the CSR).
//!
//! These functions take and return device buffers (and host id lists); the op
//! (`ops/embedding.rs`) gets them from its tensors and records the backward on the tape.
//!
//! The row-sparse gradient (`embedding_sparse_grad`) keeps its row list on the host and its
//! compact values on the GPU: the same kernel in compact mode writes row k of the values for
//! `rows[k]`. Accumulating two of them ([`sparse_add`]) and the dense form ([`sparse_to_dense`])
//! are one gather kernel, `embedding_merge_rows`, over index lists the host builds from the row
//! lists. The sparse optimizers' row updates are in `optim.rs`.

use std::sync::Arc;

use cudarc::driver::PushKernelArg;

use super::alloc::DevElem;
use super::context::{Block, Gpu, dev_err, elementwise_cfg};
use super::copy::contiguous;
use super::launch::{block_mut, float_dtype, fresh, internal};
use super::storage::CudaData;
use crate::dtype::DType;
use crate::error::{Error, Result};

const OP: &str = "embedding";

/// The compressed-sparse-row grouping of positions by id that the backward kernels of
/// `embedding.cu` and `factorization.cu` read: `rows[k]` the k-th distinct id (ascending),
/// `pos[row_ptr[k]..row_ptr[k + 1]]` its positions (ascending).
#[derive(Debug, Clone)]
pub(crate) struct Csr {
    pub rows: Vec<i64>,
    pub row_ptr: Vec<i64>,
    pub pos: Vec<i64>,
}

impl Csr {
    /// The CSR of `ids`, leaving out the positions whose id is `skip`.
    pub(crate) fn of(ids: &[i64], skip: Option<i64>) -> Csr {
        let mut order: Vec<usize> = (0..ids.len()).filter(|&p| Some(ids[p]) != skip).collect();
        order.sort_by_key(|&p| ids[p]); // stable: the positions of one id stay ascending
        let (mut rows, mut row_ptr) = (Vec::new(), Vec::new());
        for (q, &p) in order.iter().enumerate() {
            if rows.last() != Some(&ids[p]) {
                rows.push(ids[p]);
                row_ptr.push(q as i64);
            }
        }
        row_ptr.push(order.len() as i64);
        Csr { rows, row_ptr, pos: order.into_iter().map(|p| p as i64).collect() }
    }
}

/// A one-element i64 error flag set to `i64::MAX` (the kernels lower it with `atomicMin`).
pub(crate) fn err_flag(op: &'static str, gpu: &Arc<Gpu>) -> Result<Block> {
    let mut b = fresh::<i64>(gpu, 1)?;
    let s = block_mut::<i64>(op, &mut b)?;
    gpu.stream().memcpy_htod([i64::MAX].as_slice(), &mut s.slice_mut(0..1)).map_err(dev_err(op))?;
    Ok(b)
}

/// The value of an error flag after the launches (waits for them): `None` when untouched.
pub(crate) fn read_flag(op: &'static str, gpu: &Arc<Gpu>, b: &Block) -> Result<Option<i64>> {
    let s = b.slice::<i64>().ok_or_else(|| internal(op, "error flag of the wrong type"))?;
    let v = gpu.stream().clone_dtoh(&s.slice(0..1)).map_err(dev_err(op))?;
    Ok(v.first().copied().filter(|&e| e != i64::MAX))
}

/// `embedding_fwd_<t>`: y (P, D) from the (validated) ids.
fn forward_kernel<T: DevElem>(
    ids: &CudaData,
    w: &CudaData,
    npos: usize,
    v: usize,
    d: usize,
) -> Result<Block> {
    let gpu = w.gpu().clone();
    let n = npos * d;
    let mut y_block = fresh::<T>(&gpu, n)?;
    if n == 0 {
        return Ok(y_block);
    }
    let flag = err_flag(OP, &gpu)?;
    {
        let f = gpu.function("embedding", &format!("embedding_fwd_{}", T::NAME))?;
        let (is, ws) = (ids.slice::<i64>(OP)?, w.slice::<T>(OP)?);
        let y = block_mut::<T>(OP, &mut y_block)?;
        let es = flag.slice::<i64>().ok_or_else(|| internal(OP, "error flag of the wrong type"))?;
        let (npos_, d_, v_) = (npos as i64, d as i64, v as i64);
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(&npos_).arg(&d_).arg(&v_).arg(is).arg(ws).arg(y).arg(es);
        // SAFETY: matches `embedding_fwd_<t>(i64 npos, i64 d, i64 v, const i64* ids, const T* w,
        // T* y, i64* err)`; `ids` is contiguous at offset 0 with npos elements, `w` contiguous
        // (V, D) at offset 0, `y` holds npos * D elements (one thread each, grid-stride), `err`
        // one i64. Ids outside 0..V are never read through (the kernel writes 0 and flags them).
        unsafe { l.launch(elementwise_cfg(n)) }.map_err(dev_err(OP))?;
    }
    if let Some(p) = read_flag(OP, &gpu, &flag)? {
        return Err(Error::Index {
            op: OP,
            index: p,
            size: v,
            shape: vec![npos],
            msg: format!("the kernel found the token id at position {p} outside the vocabulary"),
        });
    }
    Ok(y_block)
}

/// `embedding_bwd_weight_<t>`: with `dense`, the (V, D) gradient, zero in untouched rows; else the
/// compact (rows, D) values of the row-sparse gradient, row k for `csr.rows[k]`.
fn backward_kernel<T: DevElem>(
    csr: &Csr,
    dy: &CudaData,
    v: usize,
    d: usize,
    pad: i64,
    dense: bool,
) -> Result<CudaData> {
    let op = "embedding_backward";
    let gpu = dy.gpu().clone();
    let nrows = csr.rows.len();
    let out_shape = if dense { [v, d] } else { [nrows, d] };
    let mut block = fresh::<T>(&gpu, out_shape[0] * d)?;
    if dense {
        // Untouched rows stay 0; in compact mode the kernel writes every element.
        let out = block_mut::<T>(op, &mut block)?;
        gpu.stream().memset_zeros(out).map_err(dev_err(op))?;
    }
    if nrows * d == 0 {
        return Ok(CudaData::new(block, dy.dtype(), &out_shape));
    }
    let rows = CudaData::upload_i64(&gpu, &csr.rows)?;
    let row_ptr = CudaData::upload_i64(&gpu, &csr.row_ptr)?;
    let pos = CudaData::upload_i64(&gpu, &csr.pos)?;
    let flag = err_flag(op, &gpu)?;
    {
        let f = gpu.function("embedding", &format!("embedding_bwd_weight_{}", T::NAME))?;
        let (rs, ps, qs) = (rows.slice::<i64>(op)?, row_ptr.slice::<i64>(op)?, pos.slice::<i64>(op)?);
        let dys = dy.slice::<T>(op)?;
        let out = block_mut::<T>(op, &mut block)?;
        let es = flag.slice::<i64>().ok_or_else(|| internal(op, "error flag of the wrong type"))?;
        let (nrows_, d_, v_) = (nrows as i64, d as i64, v as i64);
        let dense = i32::from(dense);
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(&nrows_).arg(&d_).arg(&v_).arg(&pad).arg(rs).arg(ps).arg(qs).arg(dys).arg(out);
        l.arg(&dense).arg(es);
        // SAFETY: matches `embedding_bwd_weight_<t>(i64 nrows, i64 d, i64 v, i64 pad,
        // const i64* rows, const i64* row_ptr, const i64* pos, const T* dy, T* out, int dense,
        // i64* err)` (`dense` an i32); `rows` holds nrows ids, `row_ptr` nrows + 1 offsets into
        // `pos`, whose entries are positions < P; `dy` is contiguous (P, D) at offset 0; `out`
        // holds V * D elements (dense: zeroed above, a rows[k] outside 0..V skipped and flagged)
        // or nrows * D (compact: row k written). One thread per (row, column), grid-stride.
        unsafe { l.launch(elementwise_cfg(nrows * d)) }.map_err(dev_err(op))?;
    }
    if let Some(k) = read_flag(op, &gpu, &flag)? {
        return Err(Error::Index {
            op,
            index: csr.rows.get(k as usize).copied().unwrap_or(k),
            size: v,
            shape: vec![v, d],
            msg: "the kernel found a gradient row outside the table".into(),
        });
    }
    Ok(CudaData::new(block, dy.dtype(), &out_shape))
}

/// The forward of `embedding` on a GPU: `y = W[ids]` of shape `out_shape` (`ids.shape + [D]`).
/// `ids` are the i64 ids on `w`'s GPU (already checked on the host to lie in 0..V), `w` the
/// (V, D) table (f32 or f64; made contiguous here).
pub(crate) fn forward(ids: &CudaData, w: &CudaData, out_shape: &[usize]) -> Result<CudaData> {
    let dtype = float_dtype(OP, w)?;
    let w = contiguous(w)?;
    let ids = contiguous(ids)?;
    let (v, d) = (w.shape()[0], w.shape()[1]);
    let npos = ids.numel();
    let y = match dtype {
        DType::F64 => forward_kernel::<f64>(&ids, &w, npos, v, d)?,
        _ => forward_kernel::<f32>(&ids, &w, npos, v, d)?,
    };
    Ok(CudaData::new(y, dtype, out_shape))
}

/// The backward of `embedding` on a GPU for the upstream gradient `dy` (contiguous (P, D) on the
/// table's GPU, of the table's `dtype`): the rows touched by the host `ids` (without `pad`), in
/// ascending order, and with `dense` the (V, D) gradient (zero in untouched rows), else the compact
/// (rows, D) values of the row-sparse gradient, row k for `rows[k]`.
pub(crate) fn backward(
    ids: &[i64],
    pad: Option<i64>,
    dy: &CudaData,
    dtype: DType,
    (v, d): (usize, usize),
    dense: bool,
) -> Result<(Vec<i64>, CudaData)> {
    let csr = Csr::of(ids, pad);
    let pad = pad.unwrap_or(-1);
    let dw = match dtype {
        DType::F64 => backward_kernel::<f64>(&csr, dy, v, d, pad, dense)?,
        _ => backward_kernel::<f32>(&csr, dy, v, d, pad, dense)?,
    };
    Ok((csr.rows, dw))
}

/// `embedding_merge_rows_<t>`: row k of the result is `a[ia[k]] + b[ib[k]]`, the one present,
/// or zeros (an index of -1 is absent). `ia`, `ib` hold `nout` entries, each -1 or a row of its
/// operand.
fn merge_rows(
    op: &'static str,
    a: &CudaData,
    b: &CudaData,
    ia: Vec<i64>,
    ib: Vec<i64>,
    d: usize,
) -> Result<CudaData> {
    fn run<T: DevElem>(
        op: &'static str,
        a: &CudaData,
        b: &CudaData,
        ia: &CudaData,
        ib: &CudaData,
        nout: usize,
        d: usize,
    ) -> Result<CudaData> {
        let gpu = a.gpu().clone();
        let mut block = fresh::<T>(&gpu, nout * d)?;
        if nout * d > 0 {
            let f = gpu.function("embedding", &format!("embedding_merge_rows_{}", T::NAME))?;
            let (ias, ibs) = (ia.slice::<i64>(op)?, ib.slice::<i64>(op)?);
            let (sa, sb) = (a.slice::<T>(op)?, b.slice::<T>(op)?);
            let out = block_mut::<T>(op, &mut block)?;
            let (n_, d_) = (nout as i64, d as i64);
            let mut l = gpu.stream().launch_builder(&f);
            l.arg(&n_).arg(&d_).arg(ias).arg(ibs).arg(sa).arg(sb).arg(out);
            // SAFETY: matches `embedding_merge_rows_<t>(i64 nout, i64 d, const i64* ia,
            // const i64* ib, const T* a, const T* b, T* out)`; ia, ib contiguous with nout
            // entries at offset 0, each -1 or a row index of a (resp. b), which are contiguous
            // (rows, d) at offset 0 (made so by the caller); out holds nout * d elements.
            unsafe { l.launch(elementwise_cfg(nout * d)) }.map_err(dev_err(op))?;
        }
        Ok(CudaData::new(block, a.dtype(), &[nout, d]))
    }
    let gpu = a.gpu().clone();
    let nout = ia.len();
    let (ia, ib) = (CudaData::upload_i64(&gpu, &ia)?, CudaData::upload_i64(&gpu, &ib)?);
    match float_dtype(op, a)? {
        DType::F64 => run::<f64>(op, a, b, &ia, &ib, nout, d),
        _ => run::<f32>(op, a, b, &ia, &ib, nout, d),
    }
}

/// The values of a row-sparse gradient of `nrows` rows on a GPU, contiguous, checked to be
/// (rows, D).
pub(crate) fn sparse_values(op: &'static str, values: &CudaData, nrows: usize) -> Result<CudaData> {
    let c = contiguous(values)?;
    let s = c.shape();
    if s.len() != 2 || s[0] != nrows {
        return Err(Error::shape(op, s, format!("values must be (rows, D) with {nrows} rows")));
    }
    Ok(c)
}

/// `a + b` of two row-sparse gradients of one table, given as their (sorted, unique) rows and
/// their values `va`, `vb` on one GPU (each made contiguous and checked by [`sparse_values`]): the
/// union of the rows with its values, as `SparseGrad::add` on the CPU (a row in both is `a + b`, a
/// row in one is copied).
pub(crate) fn sparse_add(
    a_rows: &[i64],
    va: &CudaData,
    b_rows: &[i64],
    vb: &CudaData,
) -> Result<(Vec<i64>, CudaData)> {
    let op = "sparse_grad";
    if va.shape()[1] != vb.shape()[1] || va.dtype() != vb.dtype() {
        return Err(Error::mismatch(
            op,
            va.shape(),
            vb.shape(),
            "values must both be (rows, D) of one D and dtype",
        ));
    }
    let (mut rows, mut ia, mut ib) = (Vec::new(), Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < a_rows.len() || j < b_rows.len() {
        let take_a = j == b_rows.len() || (i < a_rows.len() && a_rows[i] <= b_rows[j]);
        let take_b = i == a_rows.len() || (j < b_rows.len() && b_rows[j] <= a_rows[i]);
        rows.push(if take_a { a_rows[i] } else { b_rows[j] });
        ia.push(if take_a { i as i64 } else { -1 });
        ib.push(if take_b { j as i64 } else { -1 });
        i += usize::from(take_a);
        j += usize::from(take_b);
    }
    let values = merge_rows(op, va, vb, ia, ib, va.shape()[1])?;
    Ok((rows, values))
}

/// The dense $(V, D)$ form (`num_rows` = V) of a row-sparse gradient with rows `rows` and values
/// `values` on a GPU.
pub(crate) fn sparse_to_dense(rows: &[i64], values: &CudaData, num_rows: usize) -> Result<CudaData> {
    let op = "sparse_grad";
    let va = sparse_values(op, values, rows.len())?;
    let mut ia = vec![-1i64; num_rows];
    for (k, &r) in rows.iter().enumerate() {
        if r < 0 || r as u64 >= num_rows as u64 {
            return Err(Error::Index {
                op,
                index: r,
                size: num_rows,
                shape: va.shape().to_vec(),
                msg: "sparse gradient row outside the table".into(),
            });
        }
        ia[r as usize] = k as i64;
    }
    let ib = vec![-1i64; num_rows];
    let d = va.shape()[1];
    merge_rows(op, &va, &va, ia, ib, d)
}

#[cfg(test)]
mod tests {
    use super::Csr;

    #[test]
    fn csr_groups_positions_by_id_in_order_and_skips_padding() {
        let c = Csr::of(&[3, 1, 3, 0, 1, 2, 3], Some(2));
        assert_eq!(c.rows, vec![0, 1, 3]);
        assert_eq!(c.row_ptr, vec![0, 1, 3, 6]);
        assert_eq!(c.pos, vec![3, 1, 4, 0, 2, 6]);
        let e = Csr::of(&[], None);
        assert!(e.rows.is_empty() && e.pos.is_empty());
        assert_eq!(e.row_ptr, vec![0]);
    }
}
