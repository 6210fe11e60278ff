//! The description of one batched strided GEMM call, shared by the own kernels (`matmul.rs`) and
//! the cuBLAS path (`cublas.rs`), and the float element types both multiply ([`FloatElem`]; cuBLAS's
//! entry point per type, [`BlasElem`], is implemented in `cublas.rs`).

use cudarc::cublas::{CudaBlas, StridedBatchedConfig};
use cudarc::driver::{CudaView, CudaViewMut};

use super::alloc::DevElem;

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

/// A float type cuBLAS multiplies.
pub(crate) trait BlasElem: Sized + Copy {
    /// # Safety
    /// As `cudarc`'s `Gemm::gemm_strided_batched`: every index the configuration produces must
    /// lie inside the views.
    unsafe fn strided_batched(
        blas: &CudaBlas,
        cfg: StridedBatchedConfig<Self>,
        a: &CudaView<'_, Self>,
        b: &CudaView<'_, Self>,
        c: &mut CudaViewMut<'_, Self>,
    ) -> std::result::Result<(), cudarc::cublas::result::CublasError>;
}

/// The float element types of the kernels, with the host's rounding of an f64 scalar to them
/// (`v as f32`, as the CPU's `Element::from_f64`).
pub(crate) trait FloatElem: DevElem + BlasElem {
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
