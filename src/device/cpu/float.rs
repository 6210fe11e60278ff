//! The float element types of the CPU kernels, f32 and f64, with what the kernels need besides
//! arithmetic: the GEMM (`matrixmultiply`'s `sgemm`/`dgemm` through
//! [`crate::device::cpu::gemm::gemm_split`]), the slice-wide $\sigma$ and $\tanh$ (libm for f64;
//! the vectorisable [`crate::device::cpu::fastmath`] for f32) and the exact `as` conversions to
//! and from the f64 in which some kernels keep their statistics. The tensor layer's `Float`
//! extends this trait, so an op and a kernel call the same functions, bit for bit.

use std::ops::AddAssign;

use crate::device::cpu::fastmath::{sigmoid_f32, tanh_f32};
use crate::device::cpu::gemm::{GemmFn, gemm_split};

/// f32 or f64 in the CPU kernels.
pub trait CpuFloat: num_traits::Float + AddAssign + Send + Sync + 'static {
    /// `matrixmultiply`'s GEMM for this type (`sgemm`, `dgemm`).
    const GEMM: GemmFn<Self>;

    /// `C = alpha * A B + beta * C` on strided row/column layouts, by [`Self::GEMM`], split into
    /// rayon tasks when large and called from outside rayon ([`gemm_split`]).
    ///
    /// # Safety
    /// The pointers and strides must describe valid `m×k`, `k×n` and `m×n` matrices, and `c`
    /// must not alias `a` or `b`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    ) {
        // SAFETY: forwarded from the caller's contract.
        unsafe { gemm_split(Self::GEMM, m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) }
    }

    /// $v_i \leftarrow \sigma(v_i) = 1 / (1 + e^{-v_i})$ for every element (libm's `exp`; f32
    /// overrides it with the vectorisable [`crate::device::cpu::fastmath`]).
    fn sigmoid_slice(v: &mut [Self]) {
        for x in v {
            *x = Self::one() / (Self::one() + (-*x).exp());
        }
    }

    /// $v_i \leftarrow \tanh v_i$ for every element (libm; f32 overrides it as above).
    fn tanh_slice(v: &mut [Self]) {
        for x in v {
            *x = x.tanh();
        }
    }

    /// The value as f64 (exact).
    fn as_f64(self) -> f64;

    /// The f64 `v` rounded to this type (an `as` cast).
    fn from_f64_rounded(v: f64) -> Self;
}

impl CpuFloat for f32 {
    const GEMM: GemmFn<f32> = matrixmultiply::sgemm;

    fn sigmoid_slice(v: &mut [f32]) {
        for x in v {
            *x = sigmoid_f32(*x);
        }
    }
    fn tanh_slice(v: &mut [f32]) {
        for x in v {
            *x = tanh_f32(*x);
        }
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
    fn from_f64_rounded(v: f64) -> f32 {
        v as f32
    }
}

impl CpuFloat for f64 {
    const GEMM: GemmFn<f64> = matrixmultiply::dgemm;

    fn as_f64(self) -> f64 {
        self
    }
    fn from_f64_rounded(v: f64) -> f64 {
        v
    }
}
