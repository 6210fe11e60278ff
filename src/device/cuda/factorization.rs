//! `mf_predict` on a GPU (`kernels/factorization.cu`): the prediction forward and its
//! deterministic gradient. The formulas are in [`crate::ops::factorization`] and in the kernel
//! file's header.
//!
//! * forward: one thread per pair, `mu + b^u + b^i + dot` in the CPU's order;
//! * backward: for each side (users, then items) the host builds a CSR of the ids
//!   ([`Csr::of`]), and one thread per (touched row, column) sums `g_n * table[other_n, c]` (or
//!   `g_n` for the bias column) in position order: the CPU's order of additions;
//! * `dmu`: one block of 256 threads, a fixed tree (may differ from the CPU's sequential sum in
//!   the last bits; deterministic).
//!
//! The ids are validated on the host (by the op, before this runs); the kernels' `err` flags are
//! checked after the launches. The ids may be on the CPU or on the factors' GPU (the op uploads
//! them). These functions take and return device buffers; the op (`ops/factorization.rs`) gets
//! them from its tensors and records the backward on the tape. The fused SGD (`mf_sgd_epoch`) has
//! no kernel and stays on the CPU (it works on host tables, not tensors).

use std::sync::Arc;

use cudarc::driver::{LaunchConfig, PushKernelArg};

use super::alloc::DevElem;
use super::context::{Block, Gpu, dev_err, elementwise_cfg};
use super::embedding::{Csr, err_flag, read_flag};
use super::launch::{block_mut, float_dtype, fresh, internal};
use super::storage::CudaData;
use crate::dtype::DType;
use crate::error::{Error, Result};

const OP: &str = "mf_predict";

/// The device data that the forward and the backward read, each contiguous at offset 0 on one
/// GPU: the i64 ids `user`, `item` (N), the factors `p` (U, K) and `q` (I, K).
pub(crate) struct Factors {
    pub user: CudaData,
    pub item: CudaData,
    pub p: CudaData,
    pub q: CudaData,
}

/// The biases, contiguous at offset 0 on the factors' GPU: `bu` (U), `bi` (I), `mu` one element.
pub(crate) struct Biases {
    pub bu: CudaData,
    pub bi: CudaData,
    pub mu: CudaData,
}

/// The sizes of one call: N pairs, K factors, U users, I items.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    pub n: usize,
    pub k: usize,
    pub nu: usize,
    pub ni: usize,
}

/// The gradients of the factors and biases.
pub(crate) struct Grads {
    pub dp: CudaData,
    pub dq: CudaData,
    pub dbu: CudaData,
    pub dbi: CudaData,
    pub dmu: CudaData,
}

/// The kernels read every operand as a plain buffer: the caller makes them contiguous (at offset 0).
fn all_contiguous(op: &'static str, xs: &[&CudaData]) -> Result<()> {
    match xs.iter().all(|x| x.is_contiguous()) {
        true => Ok(()),
        false => Err(internal(op, "an operand is not contiguous")),
    }
}

/// `mf_predict_fwd_<t>`: the N predictions.
fn forward_kernel<T: DevElem>(x: &Factors, b: &Biases, dims: Dims) -> Result<Block> {
    let Dims { n, k, nu, ni } = dims;
    let gpu = x.p.gpu().clone();
    let mut y_block = fresh::<T>(&gpu, n)?;
    if n == 0 {
        return Ok(y_block);
    }
    let flag = err_flag(OP, &gpu)?;
    {
        let f = gpu.function("factorization", &format!("mf_predict_fwd_{}", T::NAME))?;
        let (us, is) = (x.user.slice::<i64>(OP)?, x.item.slice::<i64>(OP)?);
        let (ps, qs) = (x.p.slice::<T>(OP)?, x.q.slice::<T>(OP)?);
        let (bus, bis, mus) = (b.bu.slice::<T>(OP)?, b.bi.slice::<T>(OP)?, b.mu.slice::<T>(OP)?);
        let y = block_mut::<T>(OP, &mut y_block)?;
        let es = flag.slice::<i64>().ok_or_else(|| internal(OP, "error flag of the wrong type"))?;
        let (n_, k_, nu_, ni_) = (n as i64, k as i64, nu as i64, ni as i64);
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(&n_).arg(&k_).arg(&nu_).arg(&ni_).arg(us).arg(is);
        l.arg(ps).arg(qs).arg(bus).arg(bis).arg(mus).arg(y).arg(es);
        // SAFETY: matches `mf_predict_fwd_<t>(i64 npairs, i64 k, i64 nu, i64 ni, const i64* user,
        // const i64* item, const T* p, const T* q, const T* bu, const T* bi, const T* mu, T* y,
        // i64* err)`; every operand is contiguous at offset 0: user/item N ids, p (U, K), q (I, K),
        // bu U, bi I, mu one element, y N elements (one thread per pair, grid-stride), err one
        // i64. Ids outside the tables are never read through (0 written, flagged).
        unsafe { l.launch(elementwise_cfg(n)) }.map_err(dev_err(OP))?;
    }
    if let Some(p) = read_flag(OP, &gpu, &flag)? {
        return Err(Error::Index {
            op: OP,
            index: p,
            size: n,
            shape: vec![n],
            msg: format!("the kernel found pair {p} with a user or item id outside the tables"),
        });
    }
    Ok(y_block)
}

/// `mf_predict_bwd_rows_<t>` in dense mode for one side: the (ntable, K) factor gradient and
/// the (ntable) bias gradient, zero in untouched rows.
#[allow(clippy::too_many_arguments)]
fn rows_kernel<T: DevElem>(
    gpu: &Arc<Gpu>,
    csr: &Csr,
    other: &CudaData,
    g: &CudaData,
    table: &CudaData,
    ntable: usize,
    nother: usize,
    k: usize,
) -> Result<(CudaData, CudaData)> {
    let op = "mf_predict_backward";
    let dtype = g.dtype();
    let mut fb = fresh::<T>(gpu, ntable * k)?;
    let mut bb = fresh::<T>(gpu, ntable)?;
    gpu.stream().memset_zeros(block_mut::<T>(op, &mut fb)?).map_err(dev_err(op))?;
    gpu.stream().memset_zeros(block_mut::<T>(op, &mut bb)?).map_err(dev_err(op))?;
    let nrows = csr.rows.len();
    if nrows > 0 {
        let rows = CudaData::upload_i64(gpu, &csr.rows)?;
        let row_ptr = CudaData::upload_i64(gpu, &csr.row_ptr)?;
        let pos = CudaData::upload_i64(gpu, &csr.pos)?;
        let flag = err_flag(op, gpu)?;
        {
            let f = gpu.function("factorization", &format!("mf_predict_bwd_rows_{}", T::NAME))?;
            let (rs, ps, qs) = (rows.slice::<i64>(op)?, row_ptr.slice::<i64>(op)?, pos.slice::<i64>(op)?);
            let (os, gs, ts) = (other.slice::<i64>(op)?, g.slice::<T>(op)?, table.slice::<T>(op)?);
            let dfac = block_mut::<T>(op, &mut fb)?;
            let es = flag.slice::<i64>().ok_or_else(|| internal(op, "error flag of the wrong type"))?;
            let (nrows_, k_, nt_, no_) = (nrows as i64, k as i64, ntable as i64, nother as i64);
            let dense: i32 = 1;
            // Two mutable outputs of one launch: the bias block is borrowed separately.
            let dbias = bb.slice_mut::<T>().ok_or_else(|| internal(op, "fresh block of the wrong type"))?;
            let mut l = gpu.stream().launch_builder(&f);
            l.arg(&nrows_).arg(&k_).arg(&nt_).arg(&no_).arg(rs).arg(ps).arg(qs).arg(os);
            l.arg(gs).arg(ts).arg(dfac).arg(dbias).arg(&dense).arg(es);
            // SAFETY: matches `mf_predict_bwd_rows_<t>(i64 nrows, i64 k, i64 ntable, i64 nother,
            // const i64* rows, const i64* row_ptr, const i64* pos, const i64* other, const T* g,
            // const T* table, T* d_factors, T* d_bias, int dense, i64* err)` (`dense` an i32, 1);
            // `rows` nrows ids, `row_ptr` nrows + 1 offsets into `pos` (pair indices < N),
            // `other` N ids, `g` N elements, `table` contiguous (nother, K) at offset 0,
            // `d_factors` ntable * K and `d_bias` ntable elements, zeroed above; out-of-range ids
            // are skipped and flagged. nrows * (K + 1) threads, grid-stride.
            unsafe { l.launch(elementwise_cfg(nrows * (k + 1))) }.map_err(dev_err(op))?;
        }
        if let Some(e) = read_flag(op, gpu, &flag)? {
            return Err(Error::Index {
                op,
                index: e,
                size: ntable,
                shape: vec![ntable, k],
                msg: "the kernel found an id outside the tables".into(),
            });
        }
    }
    Ok((CudaData::new(fb, dtype, &[ntable, k]), CudaData::new(bb, dtype, &[ntable])))
}

/// `mf_predict_bwd_mu_<t>`: `sum_n g_n` as one element of `shape` (`[]` or `[1]`).
fn mu_kernel<T: DevElem>(gpu: &Arc<Gpu>, g: &CudaData, n: usize, shape: &[usize]) -> Result<CudaData> {
    let op = "mf_predict_backward";
    let mut block = fresh::<T>(gpu, 1)?;
    {
        let f = gpu.function("factorization", &format!("mf_predict_bwd_mu_{}", T::NAME))?;
        let gs = g.slice::<T>(op)?;
        let dmu = block_mut::<T>(op, &mut block)?;
        let n_ = n as i64;
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(&n_).arg(gs).arg(dmu);
        let cfg = LaunchConfig { grid_dim: (1, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
        // SAFETY: matches `mf_predict_bwd_mu_<t>(i64 npairs, const T* g, T* dmu)`; exactly one
        // block of exactly 256 threads (the kernel's fixed tree, static shared memory); `g` holds
        // N elements (N may be 0: the sum is then 0), `dmu` one element.
        unsafe { l.launch(cfg) }.map_err(dev_err(op))?;
    }
    Ok(CudaData::new(block, g.dtype(), shape))
}

/// The forward of `mf_predict` on a GPU: the N predictions (f32 or f64, the dtype of `x.p`). The
/// ids are validated on the host by the op before this runs.
pub(crate) fn forward(x: &Factors, b: &Biases, dims: Dims) -> Result<CudaData> {
    all_contiguous(OP, &[&x.user, &x.item, &x.p, &x.q, &b.bu, &b.bi, &b.mu])?;
    let dtype = float_dtype(OP, &x.p)?;
    let y = match dtype {
        DType::F64 => forward_kernel::<f64>(x, b, dims)?,
        _ => forward_kernel::<f32>(x, b, dims)?,
    };
    Ok(CudaData::new(y, dtype, &[dims.n]))
}

/// The backward of `mf_predict` on a GPU for the upstream gradient `g` (contiguous (N) on the
/// factors' GPU): `users`, `items` are the host copies of the ids (the CSRs are built from them),
/// `mu_shape` the shape of the global bias (`[]` or `[1]`).
pub(crate) fn backward(
    x: &Factors,
    dims: Dims,
    users: &[i64],
    items: &[i64],
    g: &CudaData,
    mu_shape: &[usize],
) -> Result<Grads> {
    let Dims { n, k, nu, ni } = dims;
    all_contiguous("mf_predict_backward", &[&x.user, &x.item, &x.p, &x.q, g])?;
    let gpu = x.p.gpu().clone();
    let (cu, ci) = (Csr::of(users, None), Csr::of(items, None));
    let ((dp, dbu), (dq, dbi), dmu) = match float_dtype(OP, &x.p)? {
        DType::F64 => (
            rows_kernel::<f64>(&gpu, &cu, &x.item, g, &x.q, nu, ni, k)?,
            rows_kernel::<f64>(&gpu, &ci, &x.user, g, &x.p, ni, nu, k)?,
            mu_kernel::<f64>(&gpu, g, n, mu_shape)?,
        ),
        _ => (
            rows_kernel::<f32>(&gpu, &cu, &x.item, g, &x.q, nu, ni, k)?,
            rows_kernel::<f32>(&gpu, &ci, &x.user, g, &x.p, ni, nu, k)?,
            mu_kernel::<f32>(&gpu, g, n, mu_shape)?,
        ),
    };
    Ok(Grads { dp, dq, dbu, dbi, dmu })
}
