//! The optimizers' steps for parameters on a GPU: the tensor side of `device::cuda::optim`.
//!
//! Each function here reads what the kernels need from the tensors (the parameter's device and
//! dtype, the gradient as contiguous device data, checked against the parameter), fills the
//! optimizer's state slots on the parameter's device (zeros on first use, moved from the CPU when
//! a state was loaded there), and runs the update under the parameter's write lock
//! ([`Tensor::update_cuda_data`]). The updates themselves, with the copy-on-write of shared blocks,
//! are `device::cuda::optim`'s; the formulas are in `sgd.rs`, `adam.rs`, `adamw.rs` and
//! `sparse.rs`. The order of the copies and launches is the one those functions always had.

use std::sync::Arc;

use crate::device::cuda::copy::contiguous;
use crate::device::cuda::launch::{float_dtype, internal};
use crate::device::cuda::optim::{
    AdamMoments, AdamParams, SgdParams, SparseAdamParams, make_unique, new_state,
};
use crate::device::cuda::{CudaData, Gpu};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::ops::device_data::cuda_input;
use crate::tensor::{Data, SparseGrad, Tensor};

/// An optimizer state slot as device data on `gpu` of `shape` and `dtype`: zeros (or, with
/// `zeros = false`, uninitialised) when empty, moved from the CPU when it was loaded there.
/// Returns whether the slot was empty.
fn state_slot(
    op: &'static str,
    slot: &mut Option<Data>,
    gpu: &Arc<Gpu>,
    shape: &[usize],
    dtype: DType,
    zeros: bool,
) -> Result<bool> {
    let was_empty = slot.is_none();
    let data = match slot.take() {
        None => new_state(gpu, shape, dtype, zeros)?,
        Some(Data::Cuda(c)) if c.ordinal() == gpu.ordinal() => c,
        Some(other) => other.to_cuda(gpu)?,
    };
    if data.shape() != shape || data.dtype() != dtype {
        return Err(Error::mismatch(op, shape, data.shape(), "optimizer state does not match the parameter"));
    }
    *slot = Some(Data::Cuda(data));
    Ok(was_empty)
}

/// The device data held by a slot that [`state_slot`] filled.
fn slot_data<'a>(op: &'static str, slot: &'a mut Option<Data>) -> Result<&'a mut CudaData> {
    match slot {
        Some(Data::Cuda(c)) => Ok(c),
        _ => Err(internal(op, "optimizer state not on the device")),
    }
}

/// The gradient of parameter `p` (on `gpu`) as contiguous device data, checked against `p`.
fn grad_data(op: &'static str, p: &Tensor, g: &Tensor, gpu: &Arc<Gpu>) -> Result<CudaData> {
    let gd = cuda_input(op, g, Some(gpu))?;
    let (ps, gs) = (p.shape(), g.shape());
    if ps != gs {
        return Err(Error::mismatch(op, &ps, &gs, "the gradient must have the parameter's shape"));
    }
    if gd.dtype() != p.dtype() {
        return Err(Error::DTypeMismatch {
            op,
            lhs: p.dtype(),
            rhs: gd.dtype(),
            lhs_shape: ps,
            rhs_shape: gs,
        });
    }
    contiguous(&gd)
}

/// The parameter's device and float dtype.
fn param_info(op: &'static str, p: &Tensor) -> Result<(Arc<Gpu>, DType)> {
    match p.data() {
        Data::Cuda(c) => Ok((c.gpu().clone(), float_dtype(op, &c)?)),
        _ => Err(internal(op, "expected a parameter on a GPU")),
    }
}

/// One SGD step of the CUDA parameter `p` with gradient `g`; `buffer` is its momentum buffer.
pub(crate) fn sgd_step(p: &Tensor, g: &Tensor, c: &SgdParams, buffer: &mut Option<Data>) -> Result<()> {
    let op = "SGD";
    let (gpu, dtype) = param_info(op, p)?;
    let gd = grad_data(op, p, g, &gpu)?;
    let shape = p.shape();
    let use_momentum = c.momentum != 0.0;
    let first = if use_momentum {
        // The first step writes the buffer without reading it: no need to zero it.
        state_slot(op, buffer, &gpu, &shape, dtype, false)?
    } else {
        false
    };
    let buffer = if use_momentum { Some(slot_data(op, buffer)?) } else { None };
    p.update_cuda_data(op, |w| crate::device::cuda::optim::sgd_step(w, &gd, buffer, c, first))
}

/// The state of one Adam parameter, as `adam.rs` keeps it.
pub(crate) struct AdamSlots<'a> {
    /// The step count after incrementing (1 on the first step).
    pub step: u64,
    pub exp_avg: &'a mut Option<Data>,
    pub exp_avg_sq: &'a mut Option<Data>,
    pub max_exp_avg_sq: &'a mut Option<Data>,
}

/// One Adam step of the CUDA parameter `p` with gradient `g`. `keep = Some(1 - lr * λ)` is
/// AdamW's decoupled decay `w ← w · keep` done first, in the same kernel (then `c.weight_decay`
/// must be 0, as AdamW's inner Adam has it).
pub(crate) fn adam_step(
    p: &Tensor,
    g: &Tensor,
    c: &AdamParams,
    s: AdamSlots<'_>,
    keep: Option<f64>,
) -> Result<()> {
    let op = "Adam";
    let (gpu, dtype) = param_info(op, p)?;
    let gd = grad_data(op, p, g, &gpu)?;
    let shape = p.shape();
    state_slot(op, s.exp_avg, &gpu, &shape, dtype, true)?;
    state_slot(op, s.exp_avg_sq, &gpu, &shape, dtype, true)?;
    if c.amsgrad {
        state_slot(op, s.max_exp_avg_sq, &gpu, &shape, dtype, true)?;
    }
    let moments = AdamMoments {
        exp_avg: slot_data(op, s.exp_avg)?,
        exp_avg_sq: slot_data(op, s.exp_avg_sq)?,
        max_exp_avg_sq: if c.amsgrad { Some(slot_data(op, s.max_exp_avg_sq)?) } else { None },
    };
    let step = s.step;
    p.update_cuda_data(op, |w| crate::device::cuda::optim::adam_step(w, &gd, moments, c, step, keep))
}

/// The compact values of a row-sparse gradient of the CUDA table `p`, contiguous on its GPU, and
/// its rows uploaded (the caller checked them: unique, inside the table, one per value row).
fn sparse_inputs(
    op: &'static str,
    p: &Tensor,
    sg: &SparseGrad,
    gpu: &Arc<Gpu>,
) -> Result<(CudaData, CudaData)> {
    let g = contiguous(&cuda_input(op, &sg.values, Some(gpu))?)?;
    if g.dtype() != p.dtype() {
        return Err(Error::DTypeMismatch {
            op,
            lhs: p.dtype(),
            rhs: g.dtype(),
            lhs_shape: p.shape(),
            rhs_shape: g.shape().to_vec(),
        });
    }
    let rows = CudaData::upload_i64(gpu, &sg.rows)?;
    Ok((g, rows))
}

/// The row-sparse SGD step (`sparse.rs`) on the CUDA table `p` (V, D) with the (checked) sparse
/// gradient `sg`.
pub(crate) fn sparse_sgd_rows(p: &Tensor, sg: &SparseGrad, lr: f64, maximize: bool) -> Result<()> {
    let op = "SparseSGD";
    let (gpu, _) = param_info(op, p)?;
    let (g, rows) = sparse_inputs(op, p, sg, &gpu)?;
    p.update_cuda_data(op, |w| crate::device::cuda::optim::sparse_sgd_rows(w, &rows, &g, lr, maximize))
}

/// One `SparseAdam` step of the CUDA table `p` with the (checked) sparse gradient `sg`: `step` is
/// the count after incrementing; the moments (V, D) live on `p`'s GPU, zero at first.
pub(crate) fn sparse_adam_rows(
    p: &Tensor,
    sg: &SparseGrad,
    c: &SparseAdamParams,
    step: u64,
    exp_avg: &mut Option<Data>,
    exp_avg_sq: &mut Option<Data>,
) -> Result<()> {
    let op = "SparseAdam";
    let (gpu, dtype) = param_info(op, p)?;
    let (g, rows) = sparse_inputs(op, p, sg, &gpu)?;
    let shape = p.shape();
    state_slot(op, exp_avg, &gpu, &shape, dtype, true)?;
    state_slot(op, exp_avg_sq, &gpu, &shape, dtype, true)?;
    let m = slot_data(op, exp_avg)?;
    let v = slot_data(op, exp_avg_sq)?;
    p.update_cuda_data(op, |w| crate::device::cuda::optim::sparse_adam_rows(w, &rows, &g, m, v, c, step))
}

/// An optimizer state tensor `t` loaded for the CUDA parameter `p`: a copy of its own on `p`'s
/// device (shape and dtype checked by the caller).
pub(crate) fn load_state(op: &'static str, p: &Tensor, t: &Tensor) -> Result<Data> {
    let (gpu, dtype) = param_info(op, p)?;
    let mut c = match t.data() {
        Data::Cuda(c) if c.ordinal() == gpu.ordinal() => c,
        other => other.to_host()?.to_cuda(&gpu)?,
    };
    // A block of its own, never the caller's: the optimizer writes into it in place.
    make_unique(op, &mut c, dtype)?;
    Ok(Data::Cuda(c))
}
