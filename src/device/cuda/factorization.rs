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
//! checked after the launches. The ids may be on the CPU or on the factors' GPU. The fused SGD
//! ([`mf_sgd_epoch`](crate::ops::factorization::mf_sgd_epoch)) has no kernel and stays on the CPU
//! (it works on host tables, not tensors).

use std::sync::Arc;

use cudarc::driver::{LaunchConfig, PushKernelArg};

use super::alloc::DevElem;
use super::context::{Block, Gpu, dev_err, elementwise_cfg};
use super::copy::contiguous;
use super::embedding::{Csr, err_flag, ids_on, read_flag, upload_i64};
use super::launch::{block_mut, float_dtype, fresh, internal};
use super::storage::CudaData;
use crate::autograd::record;
use crate::error::{Error, Result};
use crate::ops::device_data::{cuda_input, grad_on};
use crate::tensor::{DType, Data, Tensor};

const OP: &str = "mf_predict";

/// The device tensors of one call.
struct Inputs {
    user: CudaData,
    item: CudaData,
    p: CudaData,
    q: CudaData,
    bu: CudaData,
    bi: CudaData,
    mu: CudaData,
}

/// `mf_predict_fwd_<t>`: the N predictions.
fn forward_kernel<T: DevElem>(x: &Inputs, n: usize, k: usize, nu: usize, ni: usize) -> Result<Block> {
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
        let (bus, bis, mus) = (x.bu.slice::<T>(OP)?, x.bi.slice::<T>(OP)?, x.mu.slice::<T>(OP)?);
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
        let rows = upload_i64(gpu, csr.rows.clone())?;
        let row_ptr = upload_i64(gpu, csr.row_ptr.clone())?;
        let pos = upload_i64(gpu, csr.pos.clone())?;
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

/// `mf_predict` with factors on a GPU. `users`/`items` are the host copies of the (validated)
/// ids; `inputs` the op's seven tensors in order (user, item, P, Q, b^u, b^i, mu).
pub(crate) fn mf_predict(
    users: &[usize],
    items: &[usize],
    nu: usize,
    ni: usize,
    k: usize,
    inputs: &[&Tensor; 7],
) -> Result<Tensor> {
    let p = cuda_input(OP, inputs[2], None)?;
    let gpu = p.gpu().clone();
    let dtype = float_dtype(OP, &p)?;
    let on = |t: &Tensor| -> Result<CudaData> { contiguous(&cuda_input(OP, t, Some(&gpu))?) };
    let uh: Vec<i64> = users.iter().map(|&u| u as i64).collect();
    let ih: Vec<i64> = items.iter().map(|&i| i as i64).collect();
    let x = Inputs {
        user: ids_on(OP, inputs[0], &uh, &gpu)?,
        item: ids_on(OP, inputs[1], &ih, &gpu)?,
        p: contiguous(&p)?,
        q: on(inputs[3])?,
        bu: on(inputs[4])?,
        bi: on(inputs[5])?,
        mu: on(inputs[6])?,
    };
    let n = uh.len();
    let y = match dtype {
        DType::F64 => forward_kernel::<f64>(&x, n, k, nu, ni)?,
        _ => forward_kernel::<f32>(&x, n, k, nu, ni)?,
    };
    let y = CudaData::new(y, dtype, &[n]);
    let mu_shape = inputs[6].shape();
    let Inputs { user, item, p, q, .. } = x;
    Ok(record(Data::Cuda(y), OP, inputs, move |g| {
        let g = grad_on(g, &gpu)?;
        let (cu, ci) = (Csr::of(&uh, None), Csr::of(&ih, None));
        let ((dp, dbu), (dq, dbi), dmu) = match dtype {
            DType::F64 => (
                rows_kernel::<f64>(&gpu, &cu, &item, &g, &q, nu, ni, k)?,
                rows_kernel::<f64>(&gpu, &ci, &user, &g, &p, ni, nu, k)?,
                mu_kernel::<f64>(&gpu, &g, n, &mu_shape)?,
            ),
            _ => (
                rows_kernel::<f32>(&gpu, &cu, &item, &g, &q, nu, ni, k)?,
                rows_kernel::<f32>(&gpu, &ci, &user, &g, &p, ni, nu, k)?,
                mu_kernel::<f32>(&gpu, &g, n, &mu_shape)?,
            ),
        };
        let t = |c: CudaData| Some(Tensor::from_data(Data::Cuda(c)));
        Ok(vec![None, None, t(dp), t(dq), t(dbu), t(dbi), t(dmu)])
    }))
}
