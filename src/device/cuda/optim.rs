//! Optimizer updates of parameters that live on a GPU (`kernels/optim.cu`): SGD (momentum,
//! dampening, Nesterov, weight decay, maximize) and Adam / AdamW (AMSGrad, maximize), the same
//! formulas, the same scalars (computed in f64 on the host, rounded to the parameter's dtype) and
//! the same order of operations as `src/optim/{sgd,adam,adamw}.rs`.
//!
//! The kernels update in place. Copy-on-write is kept by hand: before a launch writes a parameter
//! or a state buffer, [`make_unique`] checks that its block is held by nobody else (no `detach()`ed
//! copy, no tensor saved on the tape, no `state_tensors()` handle) and that it is a plain
//! contiguous buffer; otherwise the values are first copied into a fresh block, which is then
//! updated and swapped in. The optimizer state (momentum buffer, `exp_avg`, ...) lives on the
//! parameter's device.

use std::sync::Arc;

use cudarc::driver::PushKernelArg;

use super::alloc::DevElem;
use super::context::{Gpu, dev_err, elementwise_cfg};
use super::copy::contiguous;
use super::launch::{block_mut, float_dtype, fresh, internal};
use super::matmul::FloatElem;
use super::storage::CudaData;
use crate::error::{Error, Result};
use crate::ops::device_data::cuda_input;
use crate::optim::{AdamConfig, SgdConfig, SparseAdamConfig};
use crate::tensor::SparseGrad;
use crate::tensor::{DType, Data, Tensor};

/// Makes `c` a contiguous view at offset 0 of a block that only `c` holds (copying the values
/// into a fresh block when the block is shared or the view is strided).
fn make_unique<T: DevElem>(op: &'static str, c: &mut CudaData) -> Result<()> {
    if !c.is_contiguous() {
        // A fresh block of its own.
        *c = contiguous(c)?;
        return Ok(());
    }
    if Arc::get_mut(&mut c.block).is_some() {
        return Ok(());
    }
    let gpu = c.gpu().clone();
    let n = c.numel();
    let mut block = fresh::<T>(&gpu, n)?;
    if n > 0 {
        let src = c.slice::<T>(op)?;
        let dst = block_mut::<T>(op, &mut block)?;
        gpu.stream().memcpy_dtod(&src.slice(0..n), &mut dst.slice_mut(0..n)).map_err(dev_err(op))?;
    }
    *c = CudaData::new(block, c.dtype(), &c.shape.clone());
    Ok(())
}

/// The typed mutable buffer of a block made unique by [`make_unique`].
fn unique_slice<'a, T: DevElem>(
    op: &'static str,
    c: &'a mut CudaData,
) -> Result<&'a mut cudarc::driver::CudaSlice<T>> {
    Arc::get_mut(&mut c.block)
        .ok_or_else(|| internal(op, "a block made unique is shared"))?
        .slice_mut::<T>()
        .ok_or_else(|| internal(op, "a buffer of the wrong type"))
}

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
        None if zeros => super::copy::full(gpu, shape, dtype, 0.0)?,
        None => {
            let n: usize = shape.iter().product();
            let block = match dtype {
                DType::F64 => fresh::<f64>(gpu, n)?,
                _ => fresh::<f32>(gpu, n)?,
            };
            CudaData::new(block, dtype, shape)
        }
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
pub(crate) fn sgd_step(p: &Tensor, g: &Tensor, c: &SgdConfig, buffer: &mut Option<Data>) -> Result<()> {
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
    fn run<T: FloatElem>(
        p: &Tensor,
        gd: &CudaData,
        c: &SgdConfig,
        buffer: &mut Option<Data>,
        use_momentum: bool,
        first: bool,
    ) -> Result<()> {
        let op = "SGD";
        p.update_cuda_data(op, |w| {
            make_unique::<T>(op, w)?;
            let gpu = w.gpu().clone();
            let n = w.numel();
            if n == 0 {
                return Ok(());
            }
            let f = gpu.function("optim", &format!("sgd_step_{}", T::NAME))?;
            let (neg_lr, wd, mu, omd) =
                (T::of(-c.lr), T::of(c.weight_decay), T::of(c.momentum), T::of(1.0 - c.dampening));
            let flags: [i32; 5] = [
                i32::from(c.maximize),
                i32::from(c.weight_decay != 0.0),
                i32::from(use_momentum),
                i32::from(first),
                i32::from(c.nesterov),
            ];
            let n64 = n as i64;
            let gs = gd.slice::<T>(op)?;
            let ws = unique_slice::<T>(op, w)?;
            let null: u64 = 0;
            let mut buf_data = None;
            if use_momentum {
                let b = slot_data(op, buffer)?;
                make_unique::<T>(op, b)?;
                buf_data = Some(b);
            }
            let mut l = gpu.stream().launch_builder(&f);
            l.arg(&n64).arg(ws).arg(gs);
            match buf_data {
                Some(b) => l.arg(unique_slice::<T>(op, b)?),
                None => l.arg(&null),
            };
            l.arg(&neg_lr).arg(&wd).arg(&mu).arg(&omd);
            for flag in &flags {
                l.arg(flag);
            }
            // SAFETY: matches `sgd_step_<t>(i64 n, T* w, const T* g, T* buf, T neg_lr,
            // T weight_decay, T momentum, T one_minus_dampening, int maximize, int decay,
            // int use_momentum, int first, int nesterov)`: the scalars are T (f32 or f64 as the
            // buffers), the flags i32, and `buf` a null pointer (a u64 0, the size of a device
            // pointer) exactly when use_momentum = 0, where the kernel never reads it. `w`, `g` and
            // `buf` are distinct contiguous blocks of n elements at offset 0; `w` and `buf` are held
            // by nobody else (make_unique), so the in-place update is invisible to other tensors.
            unsafe { l.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    match dtype {
        DType::F64 => run::<f64>(p, &gd, c, buffer, use_momentum, first),
        _ => run::<f32>(p, &gd, c, buffer, use_momentum, first),
    }
}

/// The state of one Adam parameter, as `src/optim/adam.rs` keeps it.
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
    c: &AdamConfig,
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
    fn run<T: FloatElem>(
        p: &Tensor,
        gd: &CudaData,
        c: &AdamConfig,
        s: AdamSlots<'_>,
        keep: Option<f64>,
    ) -> Result<()> {
        let op = "Adam";
        let (beta1, beta2) = c.betas;
        let t = s.step as f64;
        // Scalars in f64 exactly as src/optim/adam.rs computes them, then rounded to T.
        let bias_correction1 = 1.0 - beta1.powf(t);
        let bias_correction2 = 1.0 - beta2.powf(t);
        let step_size = c.lr / bias_correction1;
        let scalars: [T; 8] = [
            T::of(-step_size),
            T::of(bias_correction2.sqrt()),
            T::of(1.0 - beta1),
            T::of(beta2),
            T::of(1.0 - beta2),
            T::of(c.eps),
            T::of(c.weight_decay),
            T::of(keep.unwrap_or(1.0)),
        ];
        let flags: [i32; 4] = [
            i32::from(c.maximize),
            i32::from(c.weight_decay != 0.0),
            i32::from(c.amsgrad),
            i32::from(keep.is_some()),
        ];
        let m = slot_data(op, s.exp_avg)?;
        make_unique::<T>(op, m)?;
        let v = slot_data(op, s.exp_avg_sq)?;
        make_unique::<T>(op, v)?;
        let vmax = if c.amsgrad {
            let vm = slot_data(op, s.max_exp_avg_sq)?;
            make_unique::<T>(op, vm)?;
            Some(vm)
        } else {
            None
        };
        p.update_cuda_data(op, |w| {
            make_unique::<T>(op, w)?;
            let gpu = w.gpu().clone();
            let n = w.numel();
            if n == 0 {
                return Ok(());
            }
            let f = gpu.function("optim", &format!("adam_step_{}", T::NAME))?;
            let n64 = n as i64;
            let null: u64 = 0;
            let gs = gd.slice::<T>(op)?;
            let ws = unique_slice::<T>(op, w)?;
            let ms = unique_slice::<T>(op, m)?;
            let vs = unique_slice::<T>(op, v)?;
            let mut l = gpu.stream().launch_builder(&f);
            l.arg(&n64).arg(ws).arg(gs).arg(ms).arg(vs);
            match vmax {
                Some(vm) => l.arg(unique_slice::<T>(op, vm)?),
                None => l.arg(&null),
            };
            for sc in &scalars {
                l.arg(sc);
            }
            for flag in &flags {
                l.arg(flag);
            }
            // SAFETY: matches `adam_step_<t>(i64 n, T* w, const T* g, T* m, T* v, T* vmax,
            // T neg_step_size, T bc2_sqrt, T one_minus_beta1, T beta2, T one_minus_beta2, T eps,
            // T weight_decay, T keep, int maximize, int decay, int amsgrad, int decoupled)`: eight
            // T scalars in that order, four i32 flags; `vmax` a null pointer (u64 0) exactly when
            // amsgrad = 0, where the kernel never reads it. w, g, m, v (and vmax) are distinct
            // contiguous blocks of n elements at offset 0, m and v zeroed on first use; w, m, v,
            // vmax are held by nobody else (make_unique).
            unsafe { l.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    match dtype {
        DType::F64 => run::<f64>(p, &gd, c, s, keep),
        _ => run::<f32>(p, &gd, c, s, keep),
    }
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
    let rows = super::embedding::upload_i64(gpu, sg.rows.clone())?;
    Ok((g, rows))
}

/// The start of a row-sparse update of the table `w` (V, D) over `nrows` rows: `w` made a block of
/// its own, then the GPU, the kernel `<name>_<t>` of `optim.cu` and D; `None` when there is
/// nothing to update.
fn row_kernel<T: FloatElem>(
    op: &'static str,
    w: &mut CudaData,
    nrows: usize,
    name: &str,
) -> Result<Option<(Arc<Gpu>, cudarc::driver::CudaFunction, usize)>> {
    make_unique::<T>(op, w)?;
    let d = w.shape().get(1).copied().unwrap_or(0);
    if nrows * d == 0 {
        return Ok(None);
    }
    let gpu = w.gpu().clone();
    let f = gpu.function("optim", &format!("{name}_{}", T::NAME))?;
    Ok(Some((gpu, f, d)))
}

/// The row-sparse SGD step of `src/optim/sparse.rs` on the CUDA table `p` (V, D):
/// $W_{r_k} \mathrel{+}= (-\gamma)(\pm g_k)$, one thread per (row, column).
pub(crate) fn sparse_sgd_rows(p: &Tensor, sg: &SparseGrad, lr: f64, maximize: bool) -> Result<()> {
    let op = "SparseSGD";
    let (gpu, dtype) = param_info(op, p)?;
    let (g, rows) = sparse_inputs(op, p, sg, &gpu)?;
    fn run<T: FloatElem>(p: &Tensor, g: &CudaData, rows: &CudaData, lr: f64, maximize: bool) -> Result<()> {
        let op = "SparseSGD";
        let nrows = rows.numel();
        p.update_cuda_data(op, |w| {
            let Some((gpu, f, d)) = row_kernel::<T>(op, w, nrows, "sparse_sgd_rows")? else { return Ok(()) };
            let (n_, d_, neg_lr, max) = (nrows as i64, d as i64, T::of(-lr), i32::from(maximize));
            let (gs, rs) = (g.slice::<T>(op)?, rows.slice::<i64>(op)?);
            let ws = unique_slice::<T>(op, w)?;
            let mut l = gpu.stream().launch_builder(&f);
            l.arg(&n_).arg(&d_).arg(ws).arg(rs).arg(gs).arg(&neg_lr).arg(&max);
            // SAFETY: matches `sparse_sgd_rows_<t>(i64 nrows, i64 d, T* w, const i64* rows,
            // const T* g, T neg_lr, int maximize)`; w is the contiguous (V, D) table at offset 0,
            // held by nobody else (make_unique); rows holds nrows distinct ids in 0..V (checked
            // by the caller), g is contiguous (nrows, D) at offset 0.
            unsafe { l.launch(elementwise_cfg(nrows * d)) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    match dtype {
        DType::F64 => run::<f64>(p, &g, &rows, lr, maximize),
        _ => run::<f32>(p, &g, &rows, lr, maximize),
    }
}

/// One `SparseAdam` step of the CUDA table `p` (formulas in `src/optim/sparse.rs`): `step` is the
/// count after incrementing; the moments (V, D) live on `p`'s GPU, zero at first.
pub(crate) fn sparse_adam_rows(
    p: &Tensor,
    sg: &SparseGrad,
    c: &SparseAdamConfig,
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
    fn run<T: FloatElem>(
        p: &Tensor,
        g: &CudaData,
        rows: &CudaData,
        c: &SparseAdamConfig,
        step: u64,
        m: &mut CudaData,
        v: &mut CudaData,
    ) -> Result<()> {
        let op = "SparseAdam";
        let (beta1, beta2) = c.betas;
        let t = step as f64;
        // α_t = γ √(1 - β₂ᵗ) / (1 - β₁ᵗ) in f64, as src/optim/sparse.rs.
        let step_size = c.lr * (1.0 - beta2.powf(t)).sqrt() / (1.0 - beta1.powf(t));
        let scalars: [T; 4] = [T::of(-step_size), T::of(1.0 - beta1), T::of(1.0 - beta2), T::of(c.eps)];
        make_unique::<T>(op, m)?;
        make_unique::<T>(op, v)?;
        let nrows = rows.numel();
        p.update_cuda_data(op, |w| {
            let Some((gpu, f, d)) = row_kernel::<T>(op, w, nrows, "sparse_adam_rows")? else { return Ok(()) };
            let (n_, d_, max) = (nrows as i64, d as i64, i32::from(c.maximize));
            let (gs, rs) = (g.slice::<T>(op)?, rows.slice::<i64>(op)?);
            let ws = unique_slice::<T>(op, w)?;
            let (ms, vs) = (unique_slice::<T>(op, m)?, unique_slice::<T>(op, v)?);
            let mut l = gpu.stream().launch_builder(&f);
            l.arg(&n_).arg(&d_).arg(ws).arg(ms).arg(vs).arg(rs).arg(gs);
            for sc in &scalars {
                l.arg(sc);
            }
            l.arg(&max);
            // SAFETY: matches `sparse_adam_rows_<t>(i64 nrows, i64 d, T* w, T* m, T* v,
            // const i64* rows, const T* g, T neg_step, T one_minus_beta1, T one_minus_beta2,
            // T eps, int maximize)`; w, m, v are distinct contiguous (V, D) blocks at offset 0
            // held by nobody else (make_unique), m and v zeroed on first use; rows holds nrows
            // distinct ids in 0..V (checked by the caller); g is contiguous (nrows, D).
            unsafe { l.launch(elementwise_cfg(nrows * d)) }.map(|_| ()).map_err(dev_err(op))
        })
    }
    let m = slot_data(op, exp_avg)?;
    let v = slot_data(op, exp_avg_sq)?;
    match dtype {
        DType::F64 => run::<f64>(p, &g, &rows, c, step, m, v),
        _ => run::<f32>(p, &g, &rows, c, step, m, v),
    }
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
    match dtype {
        DType::F64 => make_unique::<f64>(op, &mut c)?,
        _ => make_unique::<f32>(op, &mut c)?,
    }
    Ok(Data::Cuda(c))
}
