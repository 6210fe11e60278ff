//! Layer and batch normalisation on a GPU (`kernels/norm.cu`), forward and backward. The
//! formulas are in [`crate::ops::layer_norm`], [`crate::ops::batch_norm`] and in the kernel
//! file's header.
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
//! An absent weight or bias is a device tensor of ones or zeros (the CPU's $\gamma = 1$,
//! $\beta = 0$, which give the same values). Every sum is deterministic (no atomics).

use std::sync::Arc;

use cudarc::driver::PushKernelArg;

use super::alloc::DevElem;
use super::context::{Gpu, dev_err, elementwise_cfg, rows_cfg};
use super::copy::{cast, contiguous, full};
use super::launch::{block_mut, float_dtype, fresh};
use super::storage::CudaData;
use crate::autograd::record;
use crate::error::Result;
use crate::ops::batch_norm::BatchNormParams;
use crate::ops::device_data::{cuda_input, grad_on};
use crate::tensor::{DType, Data, Tensor};

/// `t` as contiguous device data on `gpu` (an error naming `op` when it lives elsewhere), or a
/// fresh `shape` tensor of `default` when absent.
fn param_or(
    op: &'static str,
    t: Option<&Tensor>,
    gpu: &Arc<Gpu>,
    shape: &[usize],
    dtype: DType,
    default: f64,
) -> Result<CudaData> {
    match t {
        Some(t) => contiguous(&cuda_input(op, t, Some(gpu))?),
        None => full(gpu, shape, dtype, default),
    }
}

/// The recorded inputs `[x, weight?, bias?]` of a normalisation, and whether each parameter is there.
fn affine_inputs<'a>(
    x: &'a Tensor,
    weight: Option<&'a Tensor>,
    bias: Option<&'a Tensor>,
) -> (Vec<&'a Tensor>, bool, bool) {
    let mut inputs = vec![x];
    inputs.extend(weight);
    inputs.extend(bias);
    (inputs, weight.is_some(), bias.is_some())
}

/// `Data::Cuda` wrapped as a tensor.
fn tensor(c: CudaData) -> Tensor {
    Tensor::from_data(Data::Cuda(c))
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

/// `layer_norm` of a (validated) tensor on a GPU over its trailing dimensions `normalized_shape`;
/// `weight` and `bias` (validated shapes and dtypes) must be on the same GPU.
pub(crate) fn layer_norm(
    x_t: &Tensor,
    x: &CudaData,
    normalized_shape: &[usize],
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<Tensor> {
    let op = "layer_norm";
    let dtype = float_dtype(op, x)?;
    let gpu = x.gpu().clone();
    let x = contiguous(x)?;
    let wshape = normalized_shape.to_vec();
    let d: usize = wshape.iter().product();
    let w = param_or(op, weight, &gpu, &[d], dtype, 1.0)?;
    let b = param_or(op, bias, &gpu, &[d], dtype, 0.0)?;
    let rows = x.numel().checked_div(d).unwrap_or(0);
    let (y, mean, rstd) = match dtype {
        DType::F64 => ln_forward::<f64>(&x, &w, &b, (rows, d), eps)?,
        _ => ln_forward::<f32>(&x, &w, &b, (rows, d), eps)?,
    };
    let saved = LnSaved { x, w, mean, rstd, rows, d };
    let (inputs, has_w, has_b) = affine_inputs(x_t, weight, bias);
    Ok(record(Data::Cuda(y), op, &inputs, move |g| {
        let g = grad_on(g, &gpu)?;
        let dx = match dtype {
            DType::F64 => ln_backward_x::<f64>(&saved, &g)?,
            _ => ln_backward_x::<f32>(&saved, &g)?,
        };
        let mut grads = vec![Some(tensor(dx))];
        if has_w || has_b {
            let (dw, db) = match dtype {
                DType::F64 => ln_backward_weight::<f64>(&saved, &g, &wshape)?,
                _ => ln_backward_weight::<f32>(&saved, &g, &wshape)?,
            };
            if has_w {
                grads.push(Some(tensor(dw)));
            }
            if has_b {
                grads.push(Some(tensor(db)));
            }
        }
        Ok(grads)
    }))
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

/// The running statistics as contiguous device data on `gpu`.
fn running_on(op: &'static str, rm: &Tensor, rv: &Tensor, gpu: &Arc<Gpu>) -> Result<(CudaData, CudaData)> {
    Ok((contiguous(&cuda_input(op, rm, Some(gpu))?)?, contiguous(&cuda_input(op, rv, Some(gpu))?)?))
}

/// `batch_norm` of a (validated) tensor on a GPU: every other operand (validated shapes and
/// dtypes) must be on the same GPU; in training the running statistics, when given, are replaced
/// by their updated values (new device buffers, as the CPU op replaces its storage).
pub(crate) fn batch_norm(
    x_t: &Tensor,
    x: &CudaData,
    running: Option<(&Tensor, &Tensor)>,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    p: &BatchNormParams,
) -> Result<Tensor> {
    let op = "batch_norm";
    let dtype = float_dtype(op, x)?;
    let is_f64 = dtype == DType::F64;
    let gpu = x.gpu().clone();
    let x = contiguous(x)?;
    let shape = x.shape().to_vec();
    let l = Ncs { n: shape[0], c: shape[1], s: shape[2..].iter().product() };
    // Every operand is checked to be on this GPU before anything is written.
    let gamma = param_or(op, weight, &gpu, &[l.c], dtype, 1.0)?;
    let beta = param_or(op, bias, &gpu, &[l.c], dtype, 0.0)?;
    let run = running.map(|(rm, rv)| running_on(op, rm, rv, &gpu)).transpose()?;
    let (mean, var) = if p.training {
        let (mean, var) = if is_f64 { bn_stats::<f64>(&x, l)? } else { bn_stats::<f32>(&x, l)? };
        if let (Some((rm, rv)), Some((rm_t, rv_t))) = (&run, running) {
            let m = (l.n * l.s) as f64;
            let (stats, mom, unbias) = ((&mean, &var), p.momentum, m / (m - 1.0));
            let (new_m, new_v) = if is_f64 {
                bn_running::<f64>(rm, rv, stats, l.c, mom, unbias)?
            } else {
                bn_running::<f32>(rm, rv, stats, l.c, mom, unbias)?
            };
            rm_t.set_data(Data::Cuda(new_m))?;
            rv_t.set_data(Data::Cuda(new_v))?;
        }
        (mean, var)
    } else {
        let (rm, rv) = run.ok_or_else(|| {
            crate::error::Error::invalid(op, "evaluation mode needs running_mean and running_var")
        })?;
        (cast(&rm, DType::F64)?, cast(&rv, DType::F64)?)
    };
    let st = BnState { mean, var, gamma, beta, eps: p.eps };
    let y = if is_f64 { bn_forward::<f64>(&x, &st, l)? } else { bn_forward::<f32>(&x, &st, l)? };
    let (need_dx, training) = (x_t.requires_grad(), p.training);
    let (inputs, has_w, has_b) = affine_inputs(x_t, weight, bias);
    Ok(record(Data::Cuda(y), op, &inputs, move |g| {
        let g = grad_on(g, &gpu)?;
        let (sg, sgx) = if is_f64 {
            bn_backward_sums::<f64>(&g, &x, &st, l)?
        } else {
            bn_backward_sums::<f32>(&g, &x, &st, l)?
        };
        let mut grads = vec![None];
        if need_dx {
            let sums = (&sg, &sgx);
            grads[0] = Some(tensor(if is_f64 {
                bn_backward_x::<f64>(&g, &x, &st, sums, l, training)?
            } else {
                bn_backward_x::<f32>(&g, &x, &st, sums, l, training)?
            }));
        }
        if has_w {
            grads.push(Some(tensor(cast(&sgx, dtype)?)));
        }
        if has_b {
            grads.push(Some(tensor(cast(&sg, dtype)?)));
        }
        Ok(grads)
    }))
}
