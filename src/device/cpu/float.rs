//! The float element types of the CPU kernels, f32 and f64, with the three things the kernels need
//! besides arithmetic: the GEMM (`matrixmultiply` through [`crate::device::cpu::gemm::gemm_split`])
//! and the slice-wide $\sigma$ and $\tanh$ (libm for f64; the vectorisable
//! [`crate::device::cpu::fastmath`] for f32). The tensor layer's `Float` extends this trait, so
//! an op and a kernel call the same functions.

use std::ops::AddAssign;

use crate::device::cpu::fastmath::{sigmoid_f32, tanh_f32};
use crate::device::cpu::gemm::gemm_split;

/// f32 or f64 in the CPU kernels.
pub trait CpuFloat: num_traits::Float + AddAssign + Send + Sync + 'static {
    /// `C = alpha * A B + beta * C` on strided row/column layouts, by `matrixmultiply`, split into
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
    );

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
}

/// The GEMM of [`CpuFloat`] for one type: `matrixmultiply`'s `$gemm` through [`gemm_split`].
macro_rules! cpu_gemm {
    ($t:ty, $gemm:path) => {
        unsafe fn gemm(
            m: usize,
            k: usize,
            n: usize,
            alpha: $t,
            a: *const $t,
            rsa: isize,
            csa: isize,
            b: *const $t,
            rsb: isize,
            csb: isize,
            beta: $t,
            c: *mut $t,
            rsc: isize,
            csc: isize,
        ) {
            // SAFETY: forwarded from the caller's contract.
            unsafe { gemm_split($gemm, m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) }
        }
    };
}

impl CpuFloat for f32 {
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
    cpu_gemm!(f32, matrixmultiply::sgemm);
}

impl CpuFloat for f64 {
    cpu_gemm!(f64, matrixmultiply::dgemm);
}
