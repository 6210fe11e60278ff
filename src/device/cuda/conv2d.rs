//! `conv2d` on a GPU (`kernels/conv2d.cu` around the GEMM of `kernels/matmul.cu`), forward and
//! backward, on device buffers, for every parameter of the op: stride, padding, dilation, groups,
//! bias, both [`ConvMode`]s (the validated sizes arrive as a [`Geometry`]). `conv1d` reaches it
//! through its `H = 1` view. The formulas are in `ops::conv2d`, which records the backward; the
//! composition (per group, per chunk of samples) is the one written in the header of
//! `kernels/conv2d.cu`:
//!
//! * forward: `im2col(x) -> cols` ("per sample" layout: (nb, K, OH·OW)), then one batched GEMM
//!   `y[n, group g] = W_g · cols[n]` written straight into `y` (N, O, OH·OW), then the bias;
//! * grad input: `dcols[n] = W_gᵀ · dy[n, group g]` (batched GEMM), then `col2im` (a gather that
//!   overwrites the group's channels of `dx`);
//! * grad weight: `im2col(x)` again, then one batched GEMM `P[n] = dy[n, group g] · cols[n]ᵀ` for
//!   the chunk's samples into a workspace, and one GEMM with a row of ones summing the `P[n]` in
//!   increasing `n` into `dW_g` (`beta = 0` for the first chunk, 1 after): a fixed summation order;
//! * grad bias: a fixed-tree sum per channel;
//! * a 1×1 kernel with stride 1 and no padding skips im2col/col2im (the input planes are `cols`);
//! * `Convolution` mode flips the weight before and the weight gradient after.

use std::sync::Arc;

use cudarc::driver::{DeviceRepr, LaunchConfig, PushKernelArg};

use super::alloc::DevElem;
use super::context::{Gpu, dev_err, elementwise_cfg};
use super::copy::contiguous;
use super::launch::{block_mut, float_dtype, fresh};
use super::matmul::{FloatElem, Gemm, gemm};
use super::storage::CudaData;
use crate::device::cpu::conv2d::{ConvMode, Geometry};
use crate::dtype::DType;
use crate::error::{Error, Result};

const OP: &str = "conv2d";

/// Largest im2col buffer of one chunk of samples, in elements (the chunk shrinks to fit).
const COLS_LIMIT: usize = 1 << 25;

/// `Conv2dGeom` of `kernels/conv2d.cu`: 16 `i64` fields in the kernel's order.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct Conv2dGeom {
    n: i64,
    c: i64,
    h: i64,
    w: i64,
    o: i64,
    groups: i64,
    kh: i64,
    kw: i64,
    oh: i64,
    ow: i64,
    sh: i64,
    sw: i64,
    ph: i64,
    pw: i64,
    dh: i64,
    dw: i64,
}

// SAFETY: plain old data with the same `repr(C)` layout (16 consecutive i64) as the CUDA struct.
unsafe impl DeviceRepr for Conv2dGeom {}

impl Conv2dGeom {
    fn of(g: &Geometry) -> Conv2dGeom {
        let i = |v: usize| v as i64;
        Conv2dGeom {
            n: i(g.n),
            c: i(g.c),
            h: i(g.h),
            w: i(g.w),
            o: i(g.o),
            groups: i(g.groups),
            kh: i(g.kh),
            kw: i(g.kw),
            oh: i(g.oh),
            ow: i(g.ow),
            sh: i(g.stride[0]),
            sw: i(g.stride[1]),
            ph: i(g.padding[0]),
            pw: i(g.padding[1]),
            dh: i(g.dilation[0]),
            dw: i(g.dilation[1]),
        }
    }
}

/// A 1×1 kernel with stride 1 and no padding: the group's input planes are the im2col matrix.
fn pointwise(g: &Geometry) -> bool {
    g.kh == 1 && g.kw == 1 && g.stride == [1, 1] && g.padding == [0, 0]
}

/// Samples per chunk: the im2col buffer (K x chunk x OHW) and the weight gradient's per-sample
/// workspace (chunk x og x K) stay under [`COLS_LIMIT`] elements.
fn chunk(g: &Geometry) -> usize {
    let per = (g.k() * g.ohw().max(g.og())).max(1);
    (COLS_LIMIT / per).clamp(1, g.n.clamp(1, 65_535))
}

/// The sample chunks `(n0, len)` covering `0..n`.
fn chunks(g: &Geometry) -> Vec<(usize, usize)> {
    let nb = chunk(g);
    (0..g.n).step_by(nb).map(|n0| (n0, nb.min(g.n - n0))).collect()
}

/// `conv2d_fwd_im2col_<t>`: cols[r * ohw + j * K * ohw + q] for the samples `n0..n0 + nb` of group
/// `group` ("per sample" layout).
fn im2col<T: DevElem>(
    gpu: &Arc<Gpu>,
    g: &Geometry,
    group: usize,
    (n0, nb): (usize, usize),
    x: &CudaData,
    cols: &mut cudarc::driver::CudaSlice<T>,
) -> Result<()> {
    let f = gpu.function("conv2d", &format!("conv2d_fwd_im2col_{}", T::NAME))?;
    let geom = Conv2dGeom::of(g);
    let (k, ohw) = (g.k(), g.ohw());
    let (grp, n0_, nb_, row, sample) = (group as i64, n0 as i64, nb as i64, ohw as i64, (k * ohw) as i64);
    let xs = x.slice::<T>(OP)?;
    let mut b = gpu.stream().launch_builder(&f);
    b.arg(&geom).arg(&grp).arg(&n0_).arg(&nb_).arg(xs).arg(cols).arg(&row).arg(&sample);
    // SAFETY: matches `conv2d_fwd_im2col_<t>(Conv2dGeom g, i64 group, i64 n0, i64 nb, const T* x,
    // T* cols, i64 col_row_stride, i64 col_sample_stride)`. `x` is the whole contiguous (N, C, H, W)
    // input at offset 0; `cols` holds at least K * nb * OHW elements (the chunk was sized so), and
    // the kernel writes cols[r * OHW + n * K * OHW + q] for r < K, n < nb, q < OHW.
    unsafe { b.launch(elementwise_cfg(k * nb * ohw)) }.map(|_| ()).map_err(dev_err(OP))
}

/// `w` flipped in its two last dimensions (`conv2d_fwd_flip_<t>`), a fresh tensor.
fn flip<T: DevElem>(w: &CudaData, kh: usize, kw: usize) -> Result<CudaData> {
    let gpu = w.gpu().clone();
    let total = w.numel();
    let f = gpu.function("conv2d", &format!("conv2d_fwd_flip_{}", T::NAME))?;
    let mut block = fresh::<T>(&gpu, total)?;
    if total > 0 {
        let src = w.slice::<T>(OP)?;
        let out = block_mut::<T>(OP, &mut block)?;
        let (t, kh_, kw_) = (total as i64, kh as i64, kw as i64);
        let mut b = gpu.stream().launch_builder(&f);
        b.arg(&t).arg(&kh_).arg(&kw_).arg(src).arg(out);
        // SAFETY: matches `conv2d_fwd_flip_<t>(i64 total, i64 kh, i64 kw, const T* w, T* out)`; `w`
        // is contiguous at offset 0 with `total` elements (a multiple of kh * kw), `out` a fresh
        // block of `total` elements (no aliasing).
        unsafe { b.launch(elementwise_cfg(total)) }.map_err(dev_err(OP))?;
    }
    Ok(CudaData::new(block, w.dtype(), w.shape()))
}

/// `y = conv(x, w_eff) + b` for contiguous `x` (N, C, H, W), `w_eff` (O, C/G, kH, kW), `b` (O).
fn forward<T: FloatElem>(g: &Geometry, x: &CudaData, w: &CudaData, b: Option<&CudaData>) -> Result<CudaData> {
    let gpu = x.gpu().clone();
    let (k, ohw, hw) = (g.k(), g.ohw(), g.h * g.w);
    let (cg, og) = (g.cg(), g.og());
    let out_shape = [g.n, g.o, g.oh, g.ow];
    let mut y_block = fresh::<T>(&gpu, g.n * g.o * ohw)?;
    if g.n == 0 {
        return Ok(CudaData::new(y_block, x.dtype(), &out_shape));
    }
    let pw = pointwise(g);
    let mut cols_block = if pw { None } else { Some(fresh::<T>(&gpu, k * chunk(g) * ohw)?) };
    let (xs, ws) = (x.slice::<T>(OP)?, w.slice::<T>(OP)?);
    let y = block_mut::<T>(OP, &mut y_block)?;
    for grp in 0..g.groups {
        for (n0, nb) in chunks(g) {
            let a = ws.slice(grp * og * k..);
            let mut c = y.slice_mut((n0 * g.o + grp * og) * ohw..);
            match cols_block.as_mut() {
                None => {
                    // B[j][kk, q] = x[n0 + j, grp * cg + kk, q]  (K = cg, OHW = HW)
                    let bv = xs.slice((n0 * g.c + grp * cg) * hw..);
                    let mm = Gemm {
                        m: og,
                        n: ohw,
                        k,
                        batch: nb,
                        sa: [0, k, 1],
                        sb: [g.c * hw, hw, 1],
                        sc: [g.o * ohw, ohw, 1],
                        alpha: 1.0,
                        beta: 0.0,
                    };
                    gemm::<T>(OP, &gpu, &a, &bv, &mut c, &mm)?;
                }
                Some(cb) => {
                    let cols = block_mut::<T>(OP, cb)?;
                    im2col::<T>(&gpu, g, grp, (n0, nb), x, cols)?;
                    let bv = cols.slice(..);
                    // A = W_g (og x K) at w[grp*og*K..]; B[j] = cols[j] (K x OHW);
                    // C[j] = y[n0 + j, grp*og .. (grp+1)*og, :] (og x OHW).
                    let mm = Gemm {
                        m: og,
                        n: ohw,
                        k,
                        batch: nb,
                        sa: [0, k, 1],
                        sb: [k * ohw, ohw, 1],
                        sc: [g.o * ohw, ohw, 1],
                        alpha: 1.0,
                        beta: 0.0,
                    };
                    gemm::<T>(OP, &gpu, &a, &bv, &mut c, &mm)?;
                }
            }
        }
    }
    if let Some(b) = b {
        let f = gpu.function("conv2d", &format!("conv2d_fwd_bias_{}", T::NAME))?;
        let bs = b.slice::<T>(OP)?;
        let (n_, o_, ohw_) = (g.n as i64, g.o as i64, ohw as i64);
        let mut l = gpu.stream().launch_builder(&f);
        l.arg(&n_).arg(&o_).arg(&ohw_).arg(bs).arg(&mut *y);
        // SAFETY: matches `conv2d_fwd_bias_<t>(i64 n, i64 o, i64 ohw, const T* bias, T* y)`; `bias`
        // is contiguous with O elements, `y` holds N * O * OHW elements, all written above.
        unsafe { l.launch(elementwise_cfg(g.n * g.o * ohw)) }.map_err(dev_err(OP))?;
    }
    Ok(CudaData::new(y_block, x.dtype(), &out_shape))
}

/// The gradient of the input, (N, C, H, W).
fn grad_input<T: FloatElem>(g: &Geometry, w: &CudaData, dy: &CudaData) -> Result<CudaData> {
    let gpu = w.gpu().clone();
    let (k, ohw, hw) = (g.k(), g.ohw(), g.h * g.w);
    let (cg, og) = (g.cg(), g.og());
    let shape = [g.n, g.c, g.h, g.w];
    let mut dx_block = fresh::<T>(&gpu, g.n * g.c * hw)?;
    if g.n == 0 {
        return Ok(CudaData::new(dx_block, w.dtype(), &shape));
    }
    let pw = pointwise(g);
    let mut dcols_block = if pw { None } else { Some(fresh::<T>(&gpu, k * chunk(g) * ohw)?) };
    let (ws, dys) = (w.slice::<T>(OP)?, dy.slice::<T>(OP)?);
    let dx = block_mut::<T>(OP, &mut dx_block)?;
    let col2im = gpu.function("conv2d", &format!("conv2d_bwd_col2im_{}", T::NAME))?;
    let geom = Conv2dGeom::of(g);
    for grp in 0..g.groups {
        for (n0, nb) in chunks(g) {
            // A[i, kk] = W_g[kk, i] = w[(grp*og + kk)*K + i]  (K x og: the transpose of W_g)
            let a = ws.slice(grp * og * k..);
            // B[j] = dy[n0 + j, grp*og .. (grp+1)*og, :]  (og x OHW)
            let bv = dys.slice((n0 * g.o + grp * og) * ohw..);
            let mm = |sc: [usize; 3]| Gemm {
                m: k,
                n: ohw,
                k: og,
                batch: nb,
                sa: [0, 1, k],
                sb: [g.o * ohw, ohw, 1],
                sc,
                alpha: 1.0,
                beta: 0.0,
            };
            match dcols_block.as_mut() {
                None => {
                    // C[j] = dx[n0 + j, grp*cg .. (grp+1)*cg, :] (cg x HW), K = cg, OHW = HW.
                    let mut c = dx.slice_mut((n0 * g.c + grp * cg) * hw..);
                    gemm::<T>(OP, &gpu, &a, &bv, &mut c, &mm([g.c * hw, hw, 1]))?;
                }
                Some(cb) => {
                    let dcols = block_mut::<T>(OP, cb)?;
                    gemm::<T>(OP, &gpu, &a, &bv, &mut dcols.slice_mut(..), &mm([k * ohw, ohw, 1]))?;
                    let (grp_, n0_, nb_, row, sample) =
                        (grp as i64, n0 as i64, nb as i64, ohw as i64, (k * ohw) as i64);
                    let mut l = gpu.stream().launch_builder(&col2im);
                    l.arg(&geom)
                        .arg(&grp_)
                        .arg(&n0_)
                        .arg(&nb_)
                        .arg(&*dcols)
                        .arg(&mut *dx)
                        .arg(&row)
                        .arg(&sample);
                    // SAFETY: matches `conv2d_bwd_col2im_<t>(Conv2dGeom g, i64 group, i64 n0,
                    // i64 nb, const T* cols, T* dx, i64 col_row_stride, i64 col_sample_stride)`;
                    // `dcols` holds K * nb * OHW elements in the per-sample layout just written;
                    // `dx` is the whole (N, C, H, W) gradient; the kernel overwrites the channels
                    // of group `grp` of samples n0..n0+nb (nb * cg * HW threads).
                    unsafe { l.launch(elementwise_cfg(nb * cg * hw)) }.map_err(dev_err(OP))?;
                }
            }
        }
    }
    Ok(CudaData::new(dx_block, w.dtype(), &shape))
}

/// The gradient of the (effective) weight, (O, C/G, kH, kW), summed over the samples.
///
/// Per group and chunk of samples, two launches of the GEMM: a batched one computes every
/// sample's contribution $P_n = \bar Y_n\, \mathrm{cols}_n^\top$ (og × K) into a workspace at once
/// (one launch for the chunk instead of one small GEMM per sample), then a GEMM with a row of ones
/// sums them over the samples, $\bar W_g \mathrel{+}= \mathbf 1^\top [P_{n_0}; \dots]$, in sample order
/// (`beta = 0` for the first chunk, 1 after): deterministic, no atomics.
fn grad_weight<T: FloatElem>(g: &Geometry, x: &CudaData, dy: &CudaData) -> Result<CudaData> {
    let gpu = x.gpu().clone();
    let (k, ohw, hw) = (g.k(), g.ohw(), g.h * g.w);
    let (cg, og) = (g.cg(), g.og());
    let shape = [g.o, cg, g.kh, g.kw];
    if g.n == 0 || g.o * k == 0 {
        return super::copy::full(&gpu, &shape, x.dtype(), 0.0);
    }
    let per_chunk = chunk(g);
    let mut dw_block = fresh::<T>(&gpu, g.o * k)?;
    let pw = pointwise(g);
    let mut cols_block = if pw { None } else { Some(fresh::<T>(&gpu, k * per_chunk * ohw)?) };
    let mut parts_block = fresh::<T>(&gpu, per_chunk * og * k)?;
    let ones = super::copy::full(&gpu, &[per_chunk], x.dtype(), 1.0)?;
    let (xs, dys, ones_s) = (x.slice::<T>(OP)?, dy.slice::<T>(OP)?, ones.slice::<T>(OP)?);
    let dw = block_mut::<T>(OP, &mut dw_block)?;
    for grp in 0..g.groups {
        for (ci, (n0, nb)) in chunks(g).into_iter().enumerate() {
            // A[j] = dy[n0 + j, grp*og .. (grp+1)*og, :]  (og x OHW)
            let a = dys.slice((n0 * g.o + grp * og) * ohw..);
            let mm = |sb: [usize; 3]| Gemm {
                m: og,
                n: k,
                k: ohw,
                batch: nb,
                sa: [g.o * ohw, ohw, 1],
                sb,
                sc: [og * k, k, 1],
                alpha: 1.0,
                beta: 0.0,
            };
            // P[j] = parts[j*og*K ..] (og x K)
            let mut parts = block_mut::<T>(OP, &mut parts_block)?.slice_mut(..);
            match cols_block.as_mut() {
                None => {
                    // B[j][q, kk] = x[n0 + j, grp*cg + kk, q]  (HW x cg: the transposed planes)
                    let bv = xs.slice((n0 * g.c + grp * cg) * hw..);
                    gemm::<T>(OP, &gpu, &a, &bv, &mut parts, &mm([g.c * hw, 1, hw]))?;
                }
                Some(cb) => {
                    im2col::<T>(&gpu, g, grp, (n0, nb), x, block_mut::<T>(OP, cb)?)?;
                    // B[j][q, r] = cols[j*K*OHW + r*OHW + q]  (OHW x K)
                    let cols = cb.slice::<T>().ok_or_else(|| super::launch::internal(OP, "cols"))?;
                    gemm::<T>(OP, &gpu, &a, &cols.slice(..), &mut parts, &mm([k * ohw, 1, ohw]))?;
                }
            }
            // dW_g (1 x og*K) = ones (1 x nb) · P (nb x og*K) [+ dW_g from the earlier chunks]
            let sum = Gemm {
                m: 1,
                n: og * k,
                k: nb,
                batch: 1,
                sa: [0, nb, 1],
                sb: [0, og * k, 1],
                sc: [0, og * k, 1],
                alpha: 1.0,
                beta: if ci == 0 { 0.0 } else { 1.0 },
            };
            let parts = parts_block.slice::<T>().ok_or_else(|| super::launch::internal(OP, "parts"))?;
            gemm::<T>(
                OP,
                &gpu,
                &ones_s.slice(..),
                &parts.slice(..),
                &mut dw.slice_mut(grp * og * k..),
                &sum,
            )?;
        }
    }
    Ok(CudaData::new(dw_block, x.dtype(), &shape))
}

/// The gradient of the bias, (O): `conv2d_bwd_bias_<t>`.
fn grad_bias<T: DevElem>(g: &Geometry, dy: &CudaData) -> Result<CudaData> {
    let gpu = dy.gpu().clone();
    let f = gpu.function("conv2d", &format!("conv2d_bwd_bias_{}", T::NAME))?;
    let mut block = fresh::<T>(&gpu, g.o)?;
    let db = block_mut::<T>(OP, &mut block)?;
    let (n_, o_, ohw_) = (g.n as i64, g.o as i64, g.ohw() as i64);
    let dys = dy.slice::<T>(OP)?;
    let mut l = gpu.stream().launch_builder(&f);
    l.arg(&n_).arg(&o_).arg(&ohw_).arg(dys).arg(&mut *db);
    let cfg = LaunchConfig {
        grid_dim: (g.o.clamp(1, 65_535) as u32, 1, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    };
    // SAFETY: matches `conv2d_bwd_bias_<t>(i64 n, i64 o, i64 ohw, const T* dy, T* db)`; block of
    // exactly 256 threads as the kernel requires (static shared memory); `dy` contiguous (N, O,
    // OHW) at offset 0, `db` holds O elements, each written once.
    unsafe { l.launch(cfg) }.map_err(dev_err(OP))?;
    Ok(CudaData::new(block, dy.dtype(), &[g.o]))
}

/// The gradients of x, w and b, each when wanted.
pub(crate) type Grads = (Option<CudaData>, Option<CudaData>, Option<CudaData>);

fn backward<T: FloatElem>(
    g: &Geometry,
    mode: ConvMode,
    x: &CudaData,
    w_eff: &CudaData,
    dy: &CudaData,
    need: [bool; 3],
) -> Result<Grads> {
    let dx = if need[0] { Some(grad_input::<T>(g, w_eff, dy)?) } else { None };
    let dw = if need[1] {
        let dw = grad_weight::<T>(g, x, dy)?;
        Some(match mode {
            ConvMode::CrossCorrelation => dw,
            ConvMode::Convolution => flip::<T>(&dw, g.kh, g.kw)?,
        })
    } else {
        None
    };
    let db = if need[2] { Some(grad_bias::<T>(g, dy)?) } else { None };
    Ok((dx, dw, db))
}

/// What [`conv2d_backward`] reads: the contiguous input, the weight actually cross-correlated
/// (flipped in `Convolution` mode), their dtype, the sizes and the mode.
pub(crate) struct Conv2dSaved {
    x: CudaData,
    w_eff: CudaData,
    dtype: DType,
    geo: Geometry,
    mode: ConvMode,
}

impl Conv2dSaved {
    /// The GPU the forward ran on.
    pub(crate) fn gpu(&self) -> &Arc<Gpu> {
        self.x.gpu()
    }
}

/// `conv2d` of device data on one GPU (the caller validated the shapes into `geo` and checked
/// that every operand is on the same GPU): `y` (N, O, OH, OW) and what the backward reads.
pub(crate) fn conv2d_forward(
    x: &CudaData,
    w: &CudaData,
    b: Option<&CudaData>,
    geo: &Geometry,
    mode: ConvMode,
) -> Result<(CudaData, Conv2dSaved)> {
    let dtype = float_dtype(OP, x)?;
    if w.dtype() != dtype || b.is_some_and(|b| b.dtype() != dtype) {
        return Err(Error::DTypeMismatch {
            op: OP,
            lhs: dtype,
            rhs: w.dtype(),
            lhs_shape: x.shape().to_vec(),
            rhs_shape: w.shape().to_vec(),
        });
    }
    let (x, w) = (contiguous(x)?, contiguous(w)?);
    let b = b.map(contiguous).transpose()?;
    let (y, w_eff) = match dtype {
        DType::F64 => {
            let w_eff = if mode == ConvMode::Convolution { flip::<f64>(&w, geo.kh, geo.kw)? } else { w };
            (forward::<f64>(geo, &x, &w_eff, b.as_ref())?, w_eff)
        }
        _ => {
            let w_eff = if mode == ConvMode::Convolution { flip::<f32>(&w, geo.kh, geo.kw)? } else { w };
            (forward::<f32>(geo, &x, &w_eff, b.as_ref())?, w_eff)
        }
    };
    Ok((y, Conv2dSaved { x, w_eff, dtype, geo: *geo, mode }))
}

/// The gradients of x, w (in the forward's mode) and b, each when `need`ed, from the upstream
/// gradient `dy` (contiguous, on the forward's GPU).
pub(crate) fn conv2d_backward(s: &Conv2dSaved, dy: &CudaData, need: [bool; 3]) -> Result<Grads> {
    match s.dtype {
        DType::F64 => backward::<f64>(&s.geo, s.mode, &s.x, &s.w_eff, dy, need),
        _ => backward::<f32>(&s.geo, s.mode, &s.x, &s.w_eff, dy, need),
    }
}
