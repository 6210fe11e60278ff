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
//!
//! The functions here take the parameter's device buffer (`&mut CudaData`, the optimizer holds
//! the parameter's write lock around the call), the gradient and the state buffers as device
//! buffers, and the hyperparameters as plain structs ([`SgdParams`], [`AdamParams`],
//! [`SparseAdamParams`]); the optimizers (`src/optim/cuda.rs`) get those from their tensors.

use std::sync::Arc;

use cudarc::driver::PushKernelArg;

use super::alloc::DevElem;
use super::context::{Gpu, dev_err, elementwise_cfg};
use super::copy::contiguous;
use super::launch::{block_mut, fresh, internal};
use super::matmul::FloatElem;
use super::storage::CudaData;
use crate::dtype::DType;
use crate::error::Result;

/// The hyperparameters of an SGD step (`torch.optim.SGD`'s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SgdParams {
    pub lr: f64,
    pub momentum: f64,
    pub dampening: f64,
    pub weight_decay: f64,
    pub nesterov: bool,
    pub maximize: bool,
}

/// The hyperparameters of an Adam step (`torch.optim.Adam`'s; `weight_decay` is the L2 penalty).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AdamParams {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
    pub amsgrad: bool,
    pub maximize: bool,
}

/// The hyperparameters of a `SparseAdam` step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SparseAdamParams {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub maximize: bool,
}

/// Makes the float buffer `c` (of `dtype`, f32 unless f64) a contiguous view at offset 0 of a block
/// that only `c` holds, copying the values into a fresh block when the block is shared or the view
/// is strided (what a loaded optimizer state gets, so that the optimizer never writes into the
/// caller's block).
pub(crate) fn make_unique(op: &'static str, c: &mut CudaData, dtype: DType) -> Result<()> {
    match dtype {
        DType::F64 => unique::<f64>(op, c),
        _ => unique::<f32>(op, c),
    }
}

/// [`make_unique`] for buffers of `T`.
fn unique<T: DevElem>(op: &'static str, c: &mut CudaData) -> Result<()> {
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

/// A new optimizer state buffer on `gpu` of `shape` and `dtype` (f32 unless f64): zeros, or with
/// `zeros = false` uninitialised (for a buffer that the first step writes without reading).
pub(crate) fn new_state(gpu: &Arc<Gpu>, shape: &[usize], dtype: DType, zeros: bool) -> Result<CudaData> {
    if zeros {
        return super::copy::full(gpu, shape, dtype, 0.0);
    }
    let n: usize = shape.iter().product();
    let block = match dtype {
        DType::F64 => fresh::<f64>(gpu, n)?,
        _ => fresh::<f32>(gpu, n)?,
    };
    Ok(CudaData::new(block, dtype, shape))
}

/// The kernels read a gradient or state buffer as `n` plain elements: checks that `x` is one
/// (the optimizers check the shapes and make the buffers contiguous before they call in).
fn check_plain(op: &'static str, x: &CudaData, n: usize) -> Result<()> {
    if x.is_contiguous() && x.numel() == n {
        Ok(())
    } else {
        Err(internal(op, "a gradient or state buffer that does not match the parameter"))
    }
}

/// One SGD step of the parameter `w` (f32 or f64) with its gradient `g` (contiguous, of `w`'s
/// shape and dtype). `buffer` is the momentum buffer (of `w`'s shape and dtype), given exactly when
/// `c.momentum != 0`; `first` when it is new: the first step writes it without reading it.
pub(crate) fn sgd_step(
    w: &mut CudaData,
    g: &CudaData,
    buffer: Option<&mut CudaData>,
    c: &SgdParams,
    first: bool,
) -> Result<()> {
    match w.dtype() {
        DType::F64 => sgd_run::<f64>(w, g, buffer, c, first),
        _ => sgd_run::<f32>(w, g, buffer, c, first),
    }
}

fn sgd_run<T: FloatElem>(
    w: &mut CudaData,
    gd: &CudaData,
    buffer: Option<&mut CudaData>,
    c: &SgdParams,
    first: bool,
) -> Result<()> {
    let op = "SGD";
    let use_momentum = c.momentum != 0.0;
    unique::<T>(op, w)?;
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
    check_plain(op, gd, n)?;
    let gs = gd.slice::<T>(op)?;
    let ws = unique_slice::<T>(op, w)?;
    let null: u64 = 0;
    let mut buf_data = None;
    if use_momentum {
        let b = buffer.ok_or_else(|| internal(op, "momentum without a momentum buffer"))?;
        unique::<T>(op, b)?;
        check_plain(op, b, n)?;
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
    // `buf` are distinct contiguous blocks of n elements at offset 0 (check_plain); `w` and `buf`
    // are held by nobody else (make_unique), so the in-place update is invisible to other tensors.
    unsafe { l.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err(op))
}

/// The Adam state buffers of one parameter (each of the parameter's shape and dtype; zeros on
/// the first step): `exp_avg` $m$, `exp_avg_sq` $v$ and, with AMSGrad, `max_exp_avg_sq`.
pub(crate) struct AdamMoments<'a> {
    pub exp_avg: &'a mut CudaData,
    pub exp_avg_sq: &'a mut CudaData,
    pub max_exp_avg_sq: Option<&'a mut CudaData>,
}

/// One Adam step of the parameter `w` (f32 or f64) with its gradient `g` (contiguous, of `w`'s
/// shape and dtype); `step` is the step count after incrementing (1 on the first step).
/// `keep = Some(1 - lr * λ)` is AdamW's decoupled decay `w ← w · keep` done first, in the same
/// kernel (then `c.weight_decay` must be 0, as AdamW's inner Adam has it).
pub(crate) fn adam_step(
    w: &mut CudaData,
    g: &CudaData,
    s: AdamMoments<'_>,
    c: &AdamParams,
    step: u64,
    keep: Option<f64>,
) -> Result<()> {
    match w.dtype() {
        DType::F64 => adam_run::<f64>(w, g, s, c, step, keep),
        _ => adam_run::<f32>(w, g, s, c, step, keep),
    }
}

fn adam_run<T: FloatElem>(
    w: &mut CudaData,
    gd: &CudaData,
    s: AdamMoments<'_>,
    c: &AdamParams,
    step: u64,
    keep: Option<f64>,
) -> Result<()> {
    let op = "Adam";
    let (beta1, beta2) = c.betas;
    let t = step as f64;
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
    let m = s.exp_avg;
    unique::<T>(op, m)?;
    let v = s.exp_avg_sq;
    unique::<T>(op, v)?;
    let vmax = if c.amsgrad {
        let vm = s.max_exp_avg_sq.ok_or_else(|| internal(op, "AMSGrad without max_exp_avg_sq"))?;
        unique::<T>(op, vm)?;
        Some(vm)
    } else {
        None
    };
    unique::<T>(op, w)?;
    let gpu = w.gpu().clone();
    let n = w.numel();
    if n == 0 {
        return Ok(());
    }
    let f = gpu.function("optim", &format!("adam_step_{}", T::NAME))?;
    let n64 = n as i64;
    let null: u64 = 0;
    check_plain(op, gd, n)?;
    check_plain(op, m, n)?;
    check_plain(op, v, n)?;
    if let Some(vm) = &vmax {
        check_plain(op, vm, n)?;
    }
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
    // contiguous blocks of n elements at offset 0 (check_plain), m and v zeroed on first use;
    // w, m, v, vmax are held by nobody else (make_unique).
    unsafe { l.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err(op))
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
    unique::<T>(op, w)?;
    let d = w.shape().get(1).copied().unwrap_or(0);
    if nrows * d == 0 {
        return Ok(None);
    }
    let gpu = w.gpu().clone();
    let f = gpu.function("optim", &format!("{name}_{}", T::NAME))?;
    Ok(Some((gpu, f, d)))
}

/// The row-sparse SGD step of `src/optim/sparse.rs` on the table `w` (V, D):
/// $W_{r_k} \mathrel{+}= (-\gamma)(\pm g_k)$, one thread per (row, column). `rows` holds the
/// gradient's rows as i64 on `w`'s GPU (checked by the caller: unique, inside the table), `g` its
/// values, contiguous (rows, D) of `w`'s dtype.
pub(crate) fn sparse_sgd_rows(
    w: &mut CudaData,
    rows: &CudaData,
    g: &CudaData,
    lr: f64,
    maximize: bool,
) -> Result<()> {
    match w.dtype() {
        DType::F64 => sparse_sgd_run::<f64>(w, rows, g, lr, maximize),
        _ => sparse_sgd_run::<f32>(w, rows, g, lr, maximize),
    }
}

fn sparse_sgd_run<T: FloatElem>(
    w: &mut CudaData,
    rows: &CudaData,
    g: &CudaData,
    lr: f64,
    maximize: bool,
) -> Result<()> {
    let op = "SparseSGD";
    let nrows = rows.numel();
    let Some((gpu, f, d)) = row_kernel::<T>(op, w, nrows, "sparse_sgd_rows")? else { return Ok(()) };
    let (n_, d_, neg_lr, max) = (nrows as i64, d as i64, T::of(-lr), i32::from(maximize));
    check_plain(op, rows, nrows)?;
    check_plain(op, g, nrows * d)?;
    let (gs, rs) = (g.slice::<T>(op)?, rows.slice::<i64>(op)?);
    let ws = unique_slice::<T>(op, w)?;
    let mut l = gpu.stream().launch_builder(&f);
    l.arg(&n_).arg(&d_).arg(ws).arg(rs).arg(gs).arg(&neg_lr).arg(&max);
    // SAFETY: matches `sparse_sgd_rows_<t>(i64 nrows, i64 d, T* w, const i64* rows,
    // const T* g, T neg_lr, int maximize)`; w is the contiguous (V, D) table at offset 0,
    // held by nobody else (make_unique); rows holds nrows distinct ids in 0..V (checked
    // by the caller), g is contiguous (nrows, D) at offset 0.
    unsafe { l.launch(elementwise_cfg(nrows * d)) }.map(|_| ()).map_err(dev_err(op))
}

/// One `SparseAdam` step of the table `w` (V, D) (formulas in `src/optim/sparse.rs`): `rows` and
/// `g` as for [`sparse_sgd_rows`], the moments `exp_avg`, `exp_avg_sq` (V, D) of `w`'s dtype on its
/// GPU (zero at first), `step` the count after incrementing.
pub(crate) fn sparse_adam_rows(
    w: &mut CudaData,
    rows: &CudaData,
    g: &CudaData,
    exp_avg: &mut CudaData,
    exp_avg_sq: &mut CudaData,
    c: &SparseAdamParams,
    step: u64,
) -> Result<()> {
    let (m, v) = (exp_avg, exp_avg_sq);
    match w.dtype() {
        DType::F64 => sparse_adam_run::<f64>(w, rows, g, (m, v), c, step),
        _ => sparse_adam_run::<f32>(w, rows, g, (m, v), c, step),
    }
}

fn sparse_adam_run<T: FloatElem>(
    w: &mut CudaData,
    rows: &CudaData,
    g: &CudaData,
    (m, v): (&mut CudaData, &mut CudaData),
    c: &SparseAdamParams,
    step: u64,
) -> Result<()> {
    let op = "SparseAdam";
    let (beta1, beta2) = c.betas;
    let t = step as f64;
    // α_t = γ √(1 - β₂ᵗ) / (1 - β₁ᵗ) in f64, as src/optim/sparse.rs.
    let step_size = c.lr * (1.0 - beta2.powf(t)).sqrt() / (1.0 - beta1.powf(t));
    let scalars: [T; 4] = [T::of(-step_size), T::of(1.0 - beta1), T::of(1.0 - beta2), T::of(c.eps)];
    unique::<T>(op, m)?;
    unique::<T>(op, v)?;
    let nrows = rows.numel();
    let Some((gpu, f, d)) = row_kernel::<T>(op, w, nrows, "sparse_adam_rows")? else { return Ok(()) };
    let (n_, d_, max) = (nrows as i64, d as i64, i32::from(c.maximize));
    check_plain(op, rows, nrows)?;
    check_plain(op, g, nrows * d)?;
    check_plain(op, m, w.numel())?;
    check_plain(op, v, w.numel())?;
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
}
