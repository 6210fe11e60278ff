//! Host-side helpers shared by the model ops' CUDA paths (`conv`, `pool`, `optim`, `index`): the
//! strided GEMM launch with `alpha`/`beta` (accumulation), the strided copy into a window of a
//! fresh output (`narrow`'s gradient, `cat`), fresh typed blocks, and getting tensors' device data
//! with the device checks that every op repeats.

use std::sync::Arc;

use cudarc::driver::{CudaView, CudaViewMut, LaunchConfig, PushKernelArg};

use super::alloc::DevElem;
use super::context::elementwise_cfg;
use super::context::{Block, Gpu, dev_err};
use super::storage::{CudaData, KLayout};
use crate::error::{Error, Result};
use crate::tensor::{DType, Data, Tensor};

/// The float element types of the kernels, with the host's rounding of an f64 scalar to them
/// (`v as f32`, as the CPU's `Element::from_f64`).
pub(crate) trait FloatElem: DevElem + super::cublas::BlasElem {
    fn of(v: f64) -> Self;
}
impl FloatElem for f32 {
    fn of(v: f64) -> f32 {
        v as f32
    }
}
impl FloatElem for f64 {
    fn of(v: f64) -> f64 {
        v
    }
}

/// The error for an internal inconsistency (a fresh block of the wrong type, a shared block).
pub(crate) fn internal(op: &'static str, what: &str) -> Error {
    Error::Device { op, msg: format!("internal: {what}") }
}

/// The device data of `t`, or a device error naming `op` (an operand on the CPU while another is
/// on a GPU, or two GPUs).
pub(crate) fn cuda_input(op: &'static str, t: &Tensor, gpu: Option<&Arc<Gpu>>) -> Result<CudaData> {
    match t.data() {
        Data::Cuda(c) => {
            if let Some(g) = gpu
                && g.ordinal() != c.ordinal()
            {
                return Err(Error::Device {
                    op,
                    msg: format!("operands on cuda:{} and cuda:{}", g.ordinal(), c.ordinal()),
                });
            }
            Ok(c)
        }
        other => Err(Error::Device {
            op,
            msg: format!(
                "operands on different devices: an operand of shape {:?} is on the CPU while another is on a GPU",
                other.shape()
            ),
        }),
    }
}

/// An upstream gradient as contiguous device data on `gpu` (copied there if it arrived on the CPU).
pub(crate) fn grad_on(g: &Tensor, gpu: &Arc<Gpu>) -> Result<CudaData> {
    let c = match g.data() {
        Data::Cuda(c) => c,
        other => CudaData::from_host(&other, gpu)?,
    };
    super::ops::contiguous(&c)
}

/// A fresh, uninitialised block of `len` elements of `T` (contents undefined: the kernel writes
/// every element it is asked to).
pub(crate) fn fresh<T: DevElem>(gpu: &Arc<Gpu>, len: usize) -> Result<Block> {
    gpu.alloc::<T>(len)
}

/// The typed mutable slice of a block that nobody else holds yet.
pub(crate) fn block_mut<'a, T: DevElem>(
    op: &'static str,
    b: &'a mut Block,
) -> Result<&'a mut cudarc::driver::CudaSlice<T>> {
    b.slice_mut::<T>().ok_or_else(|| internal(op, "fresh block of the wrong type"))
}

/// The float dtype of `c` as `f32`/`f64`, or an unsupported-dtype error naming `op`.
pub(crate) fn float_dtype(op: &'static str, c: &CudaData) -> Result<DType> {
    match c.dtype() {
        d @ (DType::F32 | DType::F64) => Ok(d),
        other => Err(Error::UnsupportedDType {
            op,
            dtype: other,
            shape: c.shape().to_vec(),
            expected: "f32 or f64",
        }),
    }
}

/// One call of the batched strided GEMM of `kernels/matmul.cu`:
/// `C[b, i, j] = alpha * sum_k A[b, i, k] B[b, k, j] + beta * C[b, i, j]` for `b < batch`,
/// `i < m`, `j < n`, `k < k`; each operand addressed by (batch, row, column) element strides from
/// the start of its view.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gemm {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub batch: usize,
    /// (batch, row, column) strides of A (M x K).
    pub sa: [usize; 3],
    /// (batch, row, column) strides of B (K x N).
    pub sb: [usize; 3],
    /// (batch, row, column) strides of C (M x N).
    pub sc: [usize; 3],
    pub alpha: f64,
    /// 0 overwrites C (never reads it); 1 accumulates into it.
    pub beta: f64,
}

/// The output tile of the GEMM kernel for `g` on a GPU with `sms` multiprocessors: 128 (the
/// general and fast kernels) unless so few 128 × 128 tiles cover C that a quarter of the
/// multiprocessors or more would idle — the recurrent layers' per-step products, e.g.
/// 64 × 512 — then 32 (`matmul_small`: 16 times the blocks, same arithmetic).
fn gemm_tile(g: &Gemm, sms: usize) -> usize {
    let tiles = g.m.div_ceil(128) * g.n.div_ceil(128) * g.batch;
    if tiles * 4 <= sms { 32 } else { 128 }
}

/// Whether `g`, with A at device address `pa` and B at `pb`, meets `matmul_fast_f32`'s conditions
/// (`kernels/matmul.cu`): rows of A and B contiguous, K, N, the row and batch strides of A and B
/// multiples of 4 elements, both operands 16-byte aligned, so every 4-element vector load is
/// aligned and wholly inside or wholly outside its matrix.
fn fast_layout(g: &Gemm, pa: u64, pb: u64) -> bool {
    let m4 = |v: usize| v.is_multiple_of(4);
    g.sa[2] == 1
        && g.sb[2] == 1
        && m4(g.k)
        && m4(g.n)
        && m4(g.sa[1])
        && m4(g.sb[1])
        && m4(g.sa[0])
        && m4(g.sb[0])
        && pa.is_multiple_of(16)
        && pb.is_multiple_of(16)
}

/// Runs `g`: `matmul_fwd_<T>` of `kernels/matmul.cu` (or its contiguous f32 twin
/// `matmul_fast_f32`, same arithmetic, when [`fast_layout`] holds), or cuBLAS when that backend is selected
/// and can express the layout (see `cublas.rs`). Nothing when the result is empty; with $K = 0$
/// the kernel writes $\beta C$.
pub(crate) fn gemm<T: FloatElem>(
    op: &'static str,
    gpu: &Arc<Gpu>,
    a: &CudaView<'_, T>,
    b: &CudaView<'_, T>,
    c: &mut CudaViewMut<'_, T>,
    g: &Gemm,
) -> Result<()> {
    if g.m == 0 || g.n == 0 || g.batch == 0 {
        return Ok(());
    }
    if g.k > 0
        && super::cublas::gemm_backend()? == super::cublas::GemmBackend::Cublas
        && super::cublas::gemm(op, gpu, a, b, c, g)?
    {
        return Ok(());
    }
    let tile = gemm_tile(g, gpu.sm_count());
    if g.batch > 65_535 || g.m.div_ceil(tile) > 65_535 {
        return Err(Error::invalid(
            op,
            format!("GEMM of {} x {} in {} batches exceeds the CUDA grid", g.m, g.n, g.batch),
        ));
    }
    let fast = tile == 128 && T::NAME == "f32" && {
        use cudarc::driver::DevicePtr;
        let ((pa, _ra), (pb, _rb)) = (a.device_ptr(gpu.stream()), b.device_ptr(gpu.stream()));
        fast_layout(g, pa, pb)
    };
    let name = match (tile, fast) {
        (32, _) => format!("matmul_small_{}", T::NAME),
        (_, true) => "matmul_fast_f32".to_string(),
        _ => format!("matmul_fwd_{}", T::NAME),
    };
    let f = gpu.function("matmul", &name)?;
    let (m, n, k, nb) = (g.m as i64, g.n as i64, g.k as i64, g.batch as i64);
    let sa = g.sa.map(|s| s as i64);
    let sb = g.sb.map(|s| s as i64);
    let sc = g.sc.map(|s| s as i64);
    let mut l = gpu.stream().launch_builder(&f);
    l.arg(a).arg(b).arg(c).arg(&m).arg(&n).arg(&k).arg(&nb);
    l.arg(&sa[0]).arg(&sa[1]).arg(&sa[2]).arg(&sb[0]).arg(&sb[1]).arg(&sb[2]);
    l.arg(&sc[0]).arg(&sc[1]).arg(&sc[2]).arg(&g.alpha).arg(&g.beta);
    let cfg = LaunchConfig {
        grid_dim: (g.n.div_ceil(tile) as u32, g.m.div_ceil(tile) as u32, g.batch as u32),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    };
    // SAFETY: matches `matmul_fwd_<dt>`, `matmul_small_<dt>` and `matmul_fast_f32`, which take the
    // same parameters `(const T* A, const T* B, T* C, i64 M, i64 N, i64 K, i64 batch, i64 sa_b,
    // i64 sa_m, i64 sa_k, i64 sb_b, i64 sb_k, i64 sb_n, i64 sc_b, i64 sc_m, i64 sc_n,
    // double alpha, double beta)`; block 256, grid (ceil(N/tile), ceil(M/tile), batch) with the
    // kernel's tile, static shared memory only; the fast kernel only under `fast_layout`. The
    // callers choose views and strides whose every index for b < batch, i < M, j < N, kk < K lies
    // inside the view (checked by each caller's comments).
    unsafe { l.launch(cfg) }.map(|_| ()).map_err(dev_err(op))
}

/// `copy_into_<t>` (`kernels/copy.cu`, every dtype): the elements of `src`, read through its
/// strides in row-major order, written at the positions of `window`, a layout of `dst`'s block
/// with `src`'s shape whose positions are distinct (a window of `dst`). `dst`'s block must not be
/// shared (a fresh output), else an internal error.
pub(crate) fn copy_into(
    op: &'static str,
    src: &CudaData,
    dst: &mut CudaData,
    window: &KLayout,
) -> Result<()> {
    fn run<T: DevElem>(op: &'static str, src: &CudaData, dst: &mut CudaData, ly: &KLayout) -> Result<()> {
        let n = src.numel();
        let gpu = src.gpu().clone();
        let f = gpu.function("copy", &format!("copy_into_{}", T::NAME))?;
        let lx = src.layout_as(op, &src.shape)?;
        let sx = src.slice::<T>(op)?;
        let block = Arc::get_mut(&mut dst.block)
            .ok_or_else(|| Error::Device { op, msg: "internal: fresh block is shared".into() })?;
        let sy = block
            .slice_mut::<T>()
            .ok_or_else(|| Error::Device { op, msg: "internal: fresh block of the wrong type".into() })?;
        let mut b = gpu.stream().launch_builder(&f);
        let n64 = n as i64;
        b.arg(sx).arg(&lx).arg(sy).arg(ly).arg(&n64);
        // SAFETY: matches `copy_into_<dt>(const T* x, Layout lx, T* y, Layout ly, i64 n)`; `lx` is
        // `src`'s own view, `ly` a window of `dst`'s block with `src`'s shape (n elements) whose
        // positions are distinct (the callers' windows are narrowed views of `dst`).
        unsafe { b.launch(elementwise_cfg(n)) }.map(|_| ()).map_err(dev_err(op))
    }
    if src.numel() == 0 {
        return Ok(());
    }
    if src.dtype != dst.dtype || window.ndim as usize != src.shape.len() {
        return Err(Error::Device {
            op,
            msg: "internal: copy_into between different dtypes or ranks".into(),
        });
    }
    match src.dtype {
        DType::F32 => run::<f32>(op, src, dst, window),
        DType::F64 => run::<f64>(op, src, dst, window),
        DType::I64 => run::<i64>(op, src, dst, window),
        DType::Bool => run::<u8>(op, src, dst, window),
    }
}

#[cfg(test)]
mod tests {
    use super::{Gemm, fast_layout};

    fn g(m: usize, n: usize, k: usize, sa: [usize; 3], sb: [usize; 3]) -> Gemm {
        Gemm { m, n, k, batch: 1, sa, sb, sc: [0, n, 1], alpha: 1.0, beta: 0.0 }
    }

    #[test]
    fn skinny_products_get_small_tiles() {
        use super::gemm_tile;
        // The LSTM step (N = 64, 4H = 512): 4 tiles of 128 on 132 SMs.
        assert_eq!(gemm_tile(&g(64, 512, 128, [0, 128, 1], [0, 512, 1]), 132), 32);
        // 1024³: 64 tiles, half the GPU with the efficient kernel.
        assert_eq!(gemm_tile(&g(1024, 1024, 1024, [0, 1024, 1], [0, 1024, 1]), 132), 128);
        // A batched conv forward (64 samples of 32 x 784): many tiles.
        let mut conv = g(32, 784, 27, [0, 27, 1], [0, 784, 1]);
        conv.batch = 64;
        assert_eq!(gemm_tile(&conv, 132), 128);
    }

    #[test]
    fn the_fast_kernel_needs_contiguous_aligned_rows() {
        // 4096³ contiguous: fast.
        assert!(fast_layout(&g(4096, 4096, 4096, [0, 4096, 1], [0, 4096, 1]), 0, 1 << 20));
        // K = 27 (the CNN's first im2col): general.
        assert!(!fast_layout(&g(32, 784, 27, [0, 27, 1], [0, 784, 1]), 0, 256));
        // A transposed in place (column stride not 1): general.
        assert!(!fast_layout(&g(64, 64, 64, [0, 1, 64], [0, 64, 1]), 0, 256));
        // A view starting at an odd element: misaligned, general.
        assert!(!fast_layout(&g(64, 64, 64, [0, 64, 1], [0, 64, 1]), 4, 256));
        // A batch stride not a multiple of 4.
        assert!(!fast_layout(&g(8, 8, 8, [66, 8, 1], [0, 8, 1]), 0, 256));
    }
}
