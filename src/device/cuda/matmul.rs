//! Host code of `kernels/matmul.cu`: the batched strided GEMM launcher every product of the backend
//! goes through (matmul, linear, the convolutions' im2col products, the recurrent steps), with its
//! choice of kernel (general, fast contiguous f32, small tiles) or cuBLAS, and the `matmul` op.

use std::sync::Arc;

use cudarc::driver::{CudaView, CudaViewMut, LaunchConfig, PushKernelArg};

use super::context::{Gpu, dev_err};
use super::copy::{contiguous, full};
pub(crate) use super::gemm::{FloatElem, Gemm};
use super::launch::{float_suffix, same_gpu, with_output};
use super::storage::CudaData;
use crate::device::shape::broadcast_shapes;
use crate::dtype::DType;
use crate::error::{Error, Result};

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

/// The one batch stride that walks `d`'s batch dimensions broadcast to `batch`, when there is one.
fn flat_batch_stride(d: &CudaData, batch: &[usize]) -> Result<Option<isize>> {
    let nb = d.shape.len() - 2;
    let l = d.layout_as("matmul", &{
        let mut s = batch.to_vec();
        s.extend_from_slice(&d.shape[nb..]);
        s
    })?;
    let r = batch.len();
    let strides: Vec<isize> = (0..r).map(|i| l.strides[i] as isize).collect();
    // Dimensions of size 1 never step; the others must nest like a row-major array.
    let live: Vec<(usize, isize)> =
        (0..r).filter(|&i| batch[i] > 1).map(|i| (batch[i], strides[i])).collect();
    if live.is_empty() {
        return Ok(Some(0));
    }
    for w in live.windows(2) {
        let ((_, s0), (n1, s1)) = (w[0], w[1]);
        if s0 != s1 * n1 as isize {
            return Ok(None);
        }
    }
    Ok(Some(live[live.len() - 1].1))
}

/// `a @ b` for operands of rank ≥ 2 with broadcast batch dimensions (the caller checked the inner
/// dimensions). Transposed views are read in place through their strides.
pub fn matmul(a: &CudaData, b: &CudaData) -> Result<CudaData> {
    let op = "matmul";
    same_gpu(op, a, b)?;
    float_suffix(op, a)?; // f32 or f64
    let (ra, rb) = (a.shape.len(), b.shape.len());
    let (m, k, n) = (a.shape[ra - 2], a.shape[ra - 1], b.shape[rb - 1]);
    let batch = broadcast_shapes(op, &a.shape[..ra - 2], &b.shape[..rb - 2])?;
    let nb: usize = batch.iter().product();
    let expand = |d: &CudaData| -> Result<(CudaData, isize)> {
        match flat_batch_stride(d, &batch)? {
            Some(s) => Ok((d.clone(), s)),
            None => {
                let mut full_shape = batch.clone();
                full_shape.extend_from_slice(&d.shape[d.shape.len() - 2..]);
                let c = contiguous(&d.broadcast_view(op, &full_shape)?)?;
                let s = (c.shape[c.shape.len() - 2] * c.shape[c.shape.len() - 1]) as isize;
                Ok((c, s))
            }
        }
    };
    let (a2, sab) = expand(a)?;
    let (b2, sbb) = expand(b)?;
    let mut out_shape = batch.clone();
    out_shape.extend_from_slice(&[m, n]);
    let (am, ak) = (a2.strides[a2.shape.len() - 2], a2.strides[a2.shape.len() - 1]);
    let (bk, bn) = (b2.strides[b2.shape.len() - 2], b2.strides[b2.shape.len() - 1]);
    fn run<T: super::matmul::FloatElem>(
        a: &CudaData,
        b: &CudaData,
        dims: [usize; 4],
        strides: [isize; 6],
        out_shape: &[usize],
    ) -> Result<CudaData> {
        let op = "matmul";
        let [m, n, k, nb] = dims;
        let gpu = a.gpu().clone();
        let (sa, sb) = (a.slice::<T>(op)?, b.slice::<T>(op)?);
        // The GEMM takes base pointers; views start at their offsets.
        let (va, vb) = (sa.slice(a.offset..), sb.slice(b.offset..));
        let s = strides.map(|v| v as usize);
        let g = super::matmul::Gemm {
            m,
            n,
            k,
            batch: nb,
            sa: [s[0], s[1], s[2]],
            sb: [s[3], s[4], s[5]],
            sc: [m * n, n, 1],
            alpha: 1.0,
            beta: 0.0,
        };
        // Every index the strides produce for i < m, j < n, kk < k, b < nb lies inside the
        // operands' views (they are the views' own strides, or a contiguous broadcast copy).
        with_output::<T>(&gpu, op, a.dtype, out_shape, |c| {
            super::matmul::gemm::<T>(op, &gpu, &va, &vb, &mut c.slice_mut(..), &g)
        })
    }
    if nb > 65_535 {
        return Err(Error::shape(op, &out_shape, "more than 65,535 batch matrices in one CUDA matmul"));
    }
    let dims = [m, n, k, nb];
    let strides = [sab, am, ak, sbb, bk, bn];
    if nb == 0 || m == 0 || n == 0 {
        return full(a.gpu(), &out_shape, a.dtype, 0.0);
    }
    if k == 0 {
        return full(a.gpu(), &out_shape, a.dtype, 0.0);
    }
    match a.dtype {
        DType::F64 => run::<f64>(&a2, &b2, dims, strides, &out_shape),
        _ => run::<f32>(&a2, &b2, dims, strides, &out_shape),
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
