//! Layer and batch normalisation on a GPU (`kernels/norm.cu`), forward and backward, on device
//! buffers (`ops::layer_norm` and `ops::batch_norm` record the backward). The formulas are in those
//! op files and in the kernel file's header.
//!
//! * `layer_norm`: one block per row computes $\mu$, $\sigma^2$ (two passes, fixed block trees) and
//!   writes $y = \gamma \hat x + \beta$, keeping $\mu$ and $r = 1/\sqrt{\sigma^2 + \varepsilon}$ per
//!   row for the backward (which recomputes $\hat x$ from $x$); the $x$ gradient is again one block
//!   per row, the $\gamma, \beta$ gradients one thread per feature summing the rows in order.
//! * `batch_norm`: the per-channel statistics and gradient sums are one block per channel,
//!   accumulated in f64 as on the CPU; the running statistics (on the input's device) are replaced
//!   by new buffers holding $(1 - m)\hat\mu + m\mu$ and $(1 - m)\hat\sigma^2 + m \frac{M}{M-1}
//!   \sigma^2$; the elementwise passes are one thread per element.
//!
//! An absent weight or bias is a device buffer of ones or zeros (the CPU's $\gamma = 1$,
//! $\beta = 0$, which give the same values). Every sum is deterministic (no atomics).

use std::sync::Arc;

use cudarc::driver::PushKernelArg;

use super::alloc::DevElem;
use super::context::{Gpu, dev_err, elementwise_cfg, rows_cfg};
use super::copy::{cast, contiguous, full};
use super::launch::{block_mut, float_dtype, fresh};
use super::storage::CudaData;
use crate::device::cpu::batch_norm::BatchNormParams;
use crate::dtype::DType;
use crate::error::{Error, Result};

/// `p` made contiguous (the caller checked it is on `gpu`), or a fresh `shape` buffer of `default`
/// when absent.
fn param_or(
    p: Option<&CudaData>,
    gpu: &Arc<Gpu>,
    shape: &[usize],
    dtype: DType,
    default: f64,
) -> Result<CudaData> {
    match p {
        Some(p) => contiguous(p),
        None => full(gpu, shape, dtype, default),
    }
}

// ---------------------------------------------------------------- layer_norm

/// `layer_norm_fwd_<t>`: (y, mean, rstd).
fn ln_forward<T: DevElem>(
    x: &CudaData,
    w: &CudaData,
    b: &CudaData,
    (rows, d): (usize, usize),
    eps: f64,
) -> Result<(CudaData, CudaData, CudaData)> {
    let op = "layer_norm";
    let gpu = x.gpu().clone();
    let mut y = fresh::<T>(&gpu, rows * d)?;
    let mut mean = fresh::<T>(&gpu, rows)?;
    let mut rstd = fresh::<T>(&gpu, rows)?;
    if rows * d > 0 {
        let f = gpu.function("norm", &format!("layer_norm_fwd_{}", T::NAME))?;
        let (xs, ws, bs) = (x.slice::<T>(op)?, w.slice::<T>(op)?, b.slice::<T>(op)?);
        let (ys, ms, rs) =
            (block_mut::<T>(op, &mut y)?, block_mut::<T>(op, &mut mean)?, block_mut::<T>(op, &mut rstd)?);
        let (rows_, d_) = (rows as i64, d as i64);
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(xs).arg(ws).arg(bs).arg(ys).arg(ms).arg(rs).arg(&rows_).arg(&d_).arg(&eps);
        // SAFETY: matches `layer_norm_fwd_<t>(const T* x, const T* w, const T* b, T* y, T* mean,
        // T* rstd, i64 rows, i64 d, double eps)`; `x` contiguous (rows, d) at offset 0, `w`, `b`
        // contiguous with d elements, `y` rows * d, `mean`/`rstd` rows; blocks of exactly 256
        // threads (the fixed tree, static shared memory), rows grid-strided.
        unsafe { l.launch(rows_cfg(rows, 0)) }.map_err(dev_err(op))?;
    }
    let dt = x.dtype();
    Ok((CudaData::new(y, dt, x.shape()), CudaData::new(mean, dt, &[rows]), CudaData::new(rstd, dt, &[rows])))
}

/// What the layer-norm backward reads: $x$, $\gamma$ (ones when absent), the row means and $r$.
struct LnSaved {
    x: CudaData,
    w: CudaData,
    mean: CudaData,
    rstd: CudaData,
    rows: usize,
    d: usize,
}

/// `layer_norm_bwd_x_<t>`: dx in the shape of x.
fn ln_backward_x<T: DevElem>(s: &LnSaved, g: &CudaData) -> Result<CudaData> {
    let op = "layer_norm_backward";
    let gpu = s.x.gpu().clone();
    let mut dx = fresh::<T>(&gpu, s.rows * s.d)?;
    if s.rows * s.d > 0 {
        let f = gpu.function("norm", &format!("layer_norm_bwd_x_{}", T::NAME))?;
        let (gs, xs, ws) = (g.slice::<T>(op)?, s.x.slice::<T>(op)?, s.w.slice::<T>(op)?);
        let (ms, rs) = (s.mean.slice::<T>(op)?, s.rstd.slice::<T>(op)?);
        let out = block_mut::<T>(op, &mut dx)?;
        let (rows_, d_) = (s.rows as i64, s.d as i64);
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(gs).arg(xs).arg(ws).arg(ms).arg(rs).arg(out).arg(&rows_).arg(&d_);
        // SAFETY: matches `layer_norm_bwd_x_<t>(const T* g, const T* x, const T* w, const T* mean,
        // const T* rstd, T* dx, i64 rows, i64 d)`; `g`, `x` contiguous (rows, d) at offset 0, `w`
        // d elements, `mean`/`rstd` rows, `dx` rows * d; blocks of exactly 256 threads.
        unsafe { l.launch(rows_cfg(s.rows, 0)) }.map_err(dev_err(op))?;
    }
    Ok(CudaData::new(dx, s.x.dtype(), s.x.shape()))
}

/// `layer_norm_bwd_weight_<t>`: (dw, db), each of `wshape` (d elements).
fn ln_backward_weight<T: DevElem>(
    s: &LnSaved,
    g: &CudaData,
    wshape: &[usize],
) -> Result<(CudaData, CudaData)> {
    let op = "layer_norm_backward";
    let gpu = s.x.gpu().clone();
    let mut dw = fresh::<T>(&gpu, s.d)?;
    let mut db = fresh::<T>(&gpu, s.d)?;
    if s.rows == 0 {
        let z = || full(&gpu, wshape, s.x.dtype(), 0.0);
        return Ok((z()?, z()?));
    }
    {
        let f = gpu.function("norm", &format!("layer_norm_bwd_weight_{}", T::NAME))?;
        let (gs, xs) = (g.slice::<T>(op)?, s.x.slice::<T>(op)?);
        let (ms, rs) = (s.mean.slice::<T>(op)?, s.rstd.slice::<T>(op)?);
        let (dws, dbs) = (block_mut::<T>(op, &mut dw)?, block_mut::<T>(op, &mut db)?);
        let (rows_, d_) = (s.rows as i64, s.d as i64);
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(gs).arg(xs).arg(ms).arg(rs).arg(dws).arg(dbs).arg(&rows_).arg(&d_);
        // SAFETY: matches `layer_norm_bwd_weight_<t>(const T* g, const T* x, const T* mean,
        // const T* rstd, T* dw, T* db, i64 rows, i64 d)`; `g`, `x` contiguous (rows, d) at offset
        // 0, `mean`/`rstd` rows, `dw`/`db` d elements, one thread per feature (grid-stride).
        unsafe { l.launch(elementwise_cfg(s.d)) }.map_err(dev_err(op))?;
    }
    let dt = s.x.dtype();
    Ok((CudaData::new(dw, dt, wshape), CudaData::new(db, dt, wshape)))
}

/// What [`layer_norm_backward`] reads: the saved rows, the shape of the weight and the dtype.
pub(crate) struct LayerNormSaved {
    saved: LnSaved,
    wshape: Vec<usize>,
    dtype: DType,
}

impl LayerNormSaved {
    /// The GPU the forward ran on.
    pub(crate) fn gpu(&self) -> &Arc<Gpu> {
        self.saved.x.gpu()
    }
}

/// `layer_norm` of (validated) device data over its trailing dimensions `normalized_shape`;
/// `weight` and `bias` (validated shapes and dtypes) are on the same GPU (the caller checked):
/// `y` and what the backward reads.
pub(crate) fn layer_norm_forward(
    x: &CudaData,
    normalized_shape: &[usize],
    weight: Option<&CudaData>,
    bias: Option<&CudaData>,
    eps: f64,
) -> Result<(CudaData, LayerNormSaved)> {
    let op = "layer_norm";
    let dtype = float_dtype(op, x)?;
    let gpu = x.gpu().clone();
    let x = contiguous(x)?;
    let wshape = normalized_shape.to_vec();
    let d: usize = wshape.iter().product();
    let w = param_or(weight, &gpu, &[d], dtype, 1.0)?;
    let b = param_or(bias, &gpu, &[d], dtype, 0.0)?;
    let rows = x.numel().checked_div(d).unwrap_or(0);
    let (y, mean, rstd) = match dtype {
        DType::F64 => ln_forward::<f64>(&x, &w, &b, (rows, d), eps)?,
        _ => ln_forward::<f32>(&x, &w, &b, (rows, d), eps)?,
    };
    let saved = LnSaved { x, w, mean, rstd, rows, d };
    Ok((y, LayerNormSaved { saved, wshape, dtype }))
}

/// The gradients of x, and of the weight and the bias when `has_w`, `has_b`, from the upstream
/// gradient `g` (contiguous, on the forward's GPU).
pub(crate) fn layer_norm_backward(
    s: &LayerNormSaved,
    g: &CudaData,
    has_w: bool,
    has_b: bool,
) -> Result<(CudaData, Option<CudaData>, Option<CudaData>)> {
    let (saved, dtype) = (&s.saved, s.dtype);
    let dx = match dtype {
        DType::F64 => ln_backward_x::<f64>(saved, g)?,
        _ => ln_backward_x::<f32>(saved, g)?,
    };
    if !(has_w || has_b) {
        return Ok((dx, None, None));
    }
    let (dw, db) = match dtype {
        DType::F64 => ln_backward_weight::<f64>(saved, g, &s.wshape)?,
        _ => ln_backward_weight::<f32>(saved, g, &s.wshape)?,
    };
    Ok((dx, has_w.then_some(dw), has_b.then_some(db)))
}

// ---------------------------------------------------------------- batch_norm

/// The sizes (N, C, S) of a batch-norm input as kernel arguments.
#[derive(Debug, Clone, Copy)]
struct Ncs {
    n: usize,
    c: usize,
    s: usize,
}

impl Ncs {
    fn numel(&self) -> usize {
        self.n * self.c * self.s
    }
    fn args(&self) -> (i64, i64, i64) {
        (self.n as i64, self.c as i64, self.s as i64)
    }
}

/// `batch_norm_fwd_stats_<t>`: per-channel (mean, biased variance), f64 (C).
fn bn_stats<T: DevElem>(x: &CudaData, l: Ncs) -> Result<(CudaData, CudaData)> {
    let op = "batch_norm";
    let gpu = x.gpu().clone();
    let mut mean = fresh::<f64>(&gpu, l.c)?;
    let mut var = fresh::<f64>(&gpu, l.c)?;
    if l.c > 0 {
        let f = gpu.function("norm", &format!("batch_norm_fwd_stats_{}", T::NAME))?;
        let xs = x.slice::<T>(op)?;
        let (ms, vs) = (block_mut::<f64>(op, &mut mean)?, block_mut::<f64>(op, &mut var)?);
        let (n, c, s) = l.args();
        let mut b = gpu.stream().launch_builder(&f);
        b.arg(xs).arg(ms).arg(vs).arg(&n).arg(&c).arg(&s);
        // SAFETY: matches `batch_norm_fwd_stats_<t>(const T* x, double* mean, double* var, i64 n,
        // i64 c, i64 s)`; `x` contiguous (n, c, s) at offset 0 (the caller checked n s > 1),
        // `mean`/`var` c doubles; blocks of exactly 256 threads, channels grid-strided.
        unsafe { b.launch(rows_cfg(l.c, 0)) }.map_err(dev_err(op))?;
    }
    Ok((CudaData::new(mean, DType::F64, &[l.c]), CudaData::new(var, DType::F64, &[l.c])))
}

/// `batch_norm_fwd_running_<t>`: the new running (mean, var), fresh buffers of the dtype of `rm`.
fn bn_running<T: DevElem>(
    rm: &CudaData,
    rv: &CudaData,
    stats: (&CudaData, &CudaData),
    c: usize,
    momentum: f64,
    unbias: f64,
) -> Result<(CudaData, CudaData)> {
    let op = "batch_norm";
    let gpu = rm.gpu().clone();
    let mut rm_new = fresh::<T>(&gpu, c)?;
    let mut rv_new = fresh::<T>(&gpu, c)?;
    if c > 0 {
        let f = gpu.function("norm", &format!("batch_norm_fwd_running_{}", T::NAME))?;
        let (rms, rvs) = (rm.slice::<T>(op)?, rv.slice::<T>(op)?);
        let (ms, vs) = (stats.0.slice::<f64>(op)?, stats.1.slice::<f64>(op)?);
        let (a, b) = (block_mut::<T>(op, &mut rm_new)?, block_mut::<T>(op, &mut rv_new)?);
        let c_ = c as i64;
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(rms).arg(rvs).arg(ms).arg(vs).arg(a).arg(b).arg(&c_).arg(&momentum).arg(&unbias);
        // SAFETY: matches `batch_norm_fwd_running_<t>(const T* rm, const T* rv, const double*
        // mean, const double* var, T* rm_new, T* rv_new, i64 c, double momentum, double unbias)`;
        // every buffer is contiguous with c elements at offset 0, one thread per channel.
        unsafe { l.launch(elementwise_cfg(c)) }.map_err(dev_err(op))?;
    }
    let dt = rm.dtype();
    Ok((CudaData::new(rm_new, dt, &[c]), CudaData::new(rv_new, dt, &[c])))
}

/// What the batch-norm forward and backward read besides $x$: the statistics used (f64) and
/// $\gamma$, $\beta$ (ones and zeros when absent).
struct BnState {
    mean: CudaData,
    var: CudaData,
    gamma: CudaData,
    beta: CudaData,
    eps: f64,
}

/// `batch_norm_fwd_<t>`: y in the shape of x.
fn bn_forward<T: DevElem>(x: &CudaData, st: &BnState, l: Ncs) -> Result<CudaData> {
    let op = "batch_norm";
    let gpu = x.gpu().clone();
    let mut y = fresh::<T>(&gpu, l.numel())?;
    if l.numel() > 0 {
        let f = gpu.function("norm", &format!("batch_norm_fwd_{}", T::NAME))?;
        let xs = x.slice::<T>(op)?;
        let (ms, vs) = (st.mean.slice::<f64>(op)?, st.var.slice::<f64>(op)?);
        let (gs, bs) = (st.gamma.slice::<T>(op)?, st.beta.slice::<T>(op)?);
        let ys = block_mut::<T>(op, &mut y)?;
        let (n, c, s) = l.args();
        let mut b = gpu.stream().launch_builder(&f);
        b.arg(xs).arg(ms).arg(vs).arg(gs).arg(bs).arg(ys).arg(&n).arg(&c).arg(&s).arg(&st.eps);
        // SAFETY: matches `batch_norm_fwd_<t>(const T* x, const double* mean, const double* var,
        // const T* gamma, const T* beta, T* y, i64 n, i64 c, i64 s, double eps)`; `x` contiguous
        // (n, c, s) at offset 0, the four per-channel buffers c elements, `y` n c s, one thread per
        // element.
        unsafe { b.launch(elementwise_cfg(l.numel())) }.map_err(dev_err(op))?;
    }
    Ok(CudaData::new(y, x.dtype(), x.shape()))
}

/// `batch_norm_bwd_weight_<t>`: per-channel $(\sum \bar y, \sum \bar y \hat x)$, f64 (C).
fn bn_backward_sums<T: DevElem>(
    g: &CudaData,
    x: &CudaData,
    st: &BnState,
    l: Ncs,
) -> Result<(CudaData, CudaData)> {
    let op = "batch_norm_backward";
    let gpu = x.gpu().clone();
    let mut sg = fresh::<f64>(&gpu, l.c)?;
    let mut sgx = fresh::<f64>(&gpu, l.c)?;
    if l.c > 0 {
        let f = gpu.function("norm", &format!("batch_norm_bwd_weight_{}", T::NAME))?;
        let (gs, xs) = (g.slice::<T>(op)?, x.slice::<T>(op)?);
        let (ms, vs) = (st.mean.slice::<f64>(op)?, st.var.slice::<f64>(op)?);
        let (a, b) = (block_mut::<f64>(op, &mut sg)?, block_mut::<f64>(op, &mut sgx)?);
        let (n, c, s) = l.args();
        let mut k = gpu.stream().launch_builder(&f);
        k.arg(gs).arg(xs).arg(ms).arg(vs).arg(a).arg(b).arg(&n).arg(&c).arg(&s).arg(&st.eps);
        // SAFETY: matches `batch_norm_bwd_weight_<t>(const T* g, const T* x, const double* mean,
        // const double* var, double* sg, double* sgx, i64 n, i64 c, i64 s, double eps)`; `g`, `x`
        // contiguous (n, c, s) at offset 0, the per-channel buffers c elements; blocks of exactly
        // 256 threads, channels grid-strided (an empty channel sums to 0).
        unsafe { k.launch(rows_cfg(l.c, 0)) }.map_err(dev_err(op))?;
    }
    Ok((CudaData::new(sg, DType::F64, &[l.c]), CudaData::new(sgx, DType::F64, &[l.c])))
}

/// `batch_norm_bwd_x_<t>`: dx in the shape of x.
fn bn_backward_x<T: DevElem>(
    g: &CudaData,
    x: &CudaData,
    st: &BnState,
    sums: (&CudaData, &CudaData),
    l: Ncs,
    training: bool,
) -> Result<CudaData> {
    let op = "batch_norm_backward";
    let gpu = x.gpu().clone();
    let mut dx = fresh::<T>(&gpu, l.numel())?;
    if l.numel() > 0 {
        let f = gpu.function("norm", &format!("batch_norm_bwd_x_{}", T::NAME))?;
        let (gs, xs, gam) = (g.slice::<T>(op)?, x.slice::<T>(op)?, st.gamma.slice::<T>(op)?);
        let (ms, vs) = (st.mean.slice::<f64>(op)?, st.var.slice::<f64>(op)?);
        let (sg, sgx) = (sums.0.slice::<f64>(op)?, sums.1.slice::<f64>(op)?);
        let out = block_mut::<T>(op, &mut dx)?;
        let (n, c, s) = l.args();
        let tr = i32::from(training);
        let mut k = gpu.stream().launch_builder(&f);
        k.arg(gs).arg(xs).arg(ms).arg(vs).arg(gam).arg(sg).arg(sgx).arg(out);
        k.arg(&n).arg(&c).arg(&s).arg(&st.eps).arg(&tr);
        // SAFETY: matches `batch_norm_bwd_x_<t>(const T* g, const T* x, const double* mean,
        // const double* var, const T* gamma, const double* sg, const double* sgx, T* dx, i64 n,
        // i64 c, i64 s, double eps, int training)` (`tr` an i32, 0 or 1); `g`, `x` contiguous
        // (n, c, s) at offset 0, the per-channel buffers c elements, `dx` n c s, one thread each.
        unsafe { k.launch(elementwise_cfg(l.numel())) }.map_err(dev_err(op))?;
    }
    Ok(CudaData::new(dx, x.dtype(), x.shape()))
}

/// What [`batch_norm_backward`] reads: the contiguous input, the statistics used and the affine
/// parameters, the sizes, the dtype and the mode.
pub(crate) struct BatchNormSaved {
    x: CudaData,
    st: BnState,
    l: Ncs,
    dtype: DType,
    training: bool,
}

impl BatchNormSaved {
    /// The GPU the forward ran on.
    pub(crate) fn gpu(&self) -> &Arc<Gpu> {
        self.x.gpu()
    }
}

/// `batch_norm` of (validated) device data: every other operand (validated shapes and dtypes) is
/// on the same GPU (the caller checked). In training the running statistics, when given, are
/// updated: `set_running` receives their new values (new device buffers, as the CPU op replaces
/// its storage) before `y` is computed. Returns `y` and what the backward reads.
pub(crate) fn batch_norm_forward(
    x: &CudaData,
    running: Option<(&CudaData, &CudaData)>,
    weight: Option<&CudaData>,
    bias: Option<&CudaData>,
    p: &BatchNormParams,
    set_running: impl FnOnce(CudaData, CudaData) -> Result<()>,
) -> Result<(CudaData, BatchNormSaved)> {
    let op = "batch_norm";
    let dtype = float_dtype(op, x)?;
    let is_f64 = dtype == DType::F64;
    let gpu = x.gpu().clone();
    let x = contiguous(x)?;
    let shape = x.shape().to_vec();
    let l = Ncs { n: shape[0], c: shape[1], s: shape[2..].iter().product() };
    let gamma = param_or(weight, &gpu, &[l.c], dtype, 1.0)?;
    let beta = param_or(bias, &gpu, &[l.c], dtype, 0.0)?;
    let run = running.map(|(rm, rv)| Ok::<_, Error>((contiguous(rm)?, contiguous(rv)?))).transpose()?;
    let (mean, var) = if p.training {
        let (mean, var) = if is_f64 { bn_stats::<f64>(&x, l)? } else { bn_stats::<f32>(&x, l)? };
        if let Some((rm, rv)) = &run {
            let m = (l.n * l.s) as f64;
            let (stats, mom, unbias) = ((&mean, &var), p.momentum, m / (m - 1.0));
            let (new_m, new_v) = if is_f64 {
                bn_running::<f64>(rm, rv, stats, l.c, mom, unbias)?
            } else {
                bn_running::<f32>(rm, rv, stats, l.c, mom, unbias)?
            };
            set_running(new_m, new_v)?;
        }
        (mean, var)
    } else {
        let (rm, rv) =
            run.ok_or_else(|| Error::invalid(op, "evaluation mode needs running_mean and running_var"))?;
        (cast(&rm, DType::F64)?, cast(&rv, DType::F64)?)
    };
    let st = BnState { mean, var, gamma, beta, eps: p.eps };
    let y = if is_f64 { bn_forward::<f64>(&x, &st, l)? } else { bn_forward::<f32>(&x, &st, l)? };
    Ok((y, BatchNormSaved { x, st, l, dtype, training: p.training }))
}

/// The gradients of x (when `need_dx`), of γ (when `has_w`) and of β (when `has_b`) from the
/// upstream gradient `g` (contiguous, on the forward's GPU).
pub(crate) fn batch_norm_backward(
    s: &BatchNormSaved,
    g: &CudaData,
    need_dx: bool,
    has_w: bool,
    has_b: bool,
) -> Result<(Option<CudaData>, Option<CudaData>, Option<CudaData>)> {
    let (x, st, l) = (&s.x, &s.st, s.l);
    let is_f64 = s.dtype == DType::F64;
    let (sg, sgx) =
        if is_f64 { bn_backward_sums::<f64>(g, x, st, l)? } else { bn_backward_sums::<f32>(g, x, st, l)? };
    let dx = if need_dx {
        let sums = (&sg, &sgx);
        Some(if is_f64 {
            bn_backward_x::<f64>(g, x, st, sums, l, s.training)?
        } else {
            bn_backward_x::<f32>(g, x, st, sums, l, s.training)?
        })
    } else {
        None
    };
    let dgamma = if has_w { Some(cast(&sgx, s.dtype)?) } else { None };
    let dbeta = if has_b { Some(cast(&sg, s.dtype)?) } else { None };
    Ok((dx, dgamma, dbeta))
}
