//! The float element types of the CPU kernels, f32 and f64, with what the kernels need besides
//! arithmetic: the GEMM ([`crate::device::cpu::gemm`]'s packed BLIS-style GEMM, `matrixmultiply`
//! where the CPU has neither AVX-512F nor AVX2+FMA), the slice-wide $\sigma$ and $\tanh$ (libm for f64;
//! the vectorisable [`crate::device::cpu::fastmath`] for f32) and the exact `as` conversions to
//! and from the f64 in which some kernels keep their statistics. The tensor layer's `Float`
//! extends this trait, so an op and a kernel call the same functions, bit for bit.

use std::ops::AddAssign;

use crate::device::cpu::fastmath::{
    exp_slice_f32, sigmoid_slice_f32, softmax_row_f32, sum_exp_shifted_f32, tanh_slice_f32,
};
use crate::device::cpu::gemm::GemmElem;

/// f32 or f64 in the CPU kernels.
pub trait CpuFloat: num_traits::Float + AddAssign + GemmElem {
    /// `C = alpha * A B + beta * C` on strided row/column layouts, by
    /// [`crate::device::cpu::gemm::gemm`]: on rayon's threads when large and called from outside
    /// rayon, bit-identical for any thread count.
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
        unsafe { crate::device::cpu::gemm::gemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) }
    }

    /// $v_i \leftarrow e^{v_i}$ for every element (libm; f32 overrides it with the vectorisable
    /// [`crate::device::cpu::fastmath`]).
    fn exp_slice(v: &mut [Self]) {
        for x in v {
            *x = x.exp();
        }
    }

    /// $\max_i v_i$, NaNs skipped ($-\infty$ for an empty or all-NaN slice): the same value as
    /// the sequential `if v > m { v } else { m }` fold, taken over 8 interleaved lanes so that it
    /// vectorises (a maximum does not depend on the order).
    fn max_slice(v: &[Self]) -> Self {
        let mut m = [Self::neg_infinity(); 8];
        let chunks = v.chunks_exact(8);
        let tail = chunks.remainder();
        for c in chunks {
            for (m_j, &x) in m.iter_mut().zip(c) {
                *m_j = if x > *m_j { x } else { *m_j };
            }
        }
        let mut out = Self::neg_infinity();
        for &x in m.iter().chain(tail) {
            out = if x > out { x } else { out };
        }
        out
    }

    /// $\sum_i v_i$ over 8 interleaved partial sums (lane $j$ adds $v_j, v_{j+8}, \dots$ in order),
    /// then the partials and the tail in a fixed order: vectorisable, and the same bits for a
    /// given slice on any thread count (the rounding differs from one running sum).
    fn sum_slice(v: &[Self]) -> Self {
        let mut s = [Self::zero(); 8];
        let chunks = v.chunks_exact(8);
        let tail = chunks.remainder();
        for c in chunks {
            for (s_j, &x) in s.iter_mut().zip(c) {
                *s_j += x;
            }
        }
        let mut out = Self::zero();
        for &x in s.iter().chain(tail) {
            out += x;
        }
        out
    }

    /// One softmax row: $y_i = e^{x_i - m} / \sum_k e^{x_k - m}$, $m$ the row's maximum
    /// ([`Self::max_slice`]), the shifted exponentials ([`Self::exp_slice`]) stored in `y` and
    /// summed ([`Self::sum_slice`]), then divided by the sum. f32 overrides it with one fused,
    /// vectorised pass of the same operations in the same order (the same bits).
    fn softmax_row(x: &[Self], y: &mut [Self]) {
        let m = Self::max_slice(x);
        for (y_i, &x_i) in y.iter_mut().zip(x) {
            *y_i = x_i - m;
        }
        Self::exp_slice(y);
        let s = Self::sum_slice(y);
        for y_i in y.iter_mut() {
            *y_i = *y_i / s;
        }
    }

    /// $\sum_k e^{x_k - m}$ without storing the terms: blocks of 256 shifted values in a stack
    /// buffer, exponentiated by [`Self::exp_slice`], summed by [`Self::sum_slice`], the block sums
    /// added in order. f32 overrides it with the same operations compiled for one vector width.
    fn sum_exp_shifted(x: &[Self], m: Self) -> Self {
        let mut buf = [Self::zero(); 256];
        let mut s = Self::zero();
        for c in x.chunks(256) {
            let b = &mut buf[..c.len()];
            for (b_k, &x_k) in b.iter_mut().zip(c) {
                *b_k = x_k - m;
            }
            Self::exp_slice(b);
            s += Self::sum_slice(b);
        }
        s
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
    fn exp_slice(v: &mut [f32]) {
        exp_slice_f32(v)
    }
    fn softmax_row(x: &[f32], y: &mut [f32]) {
        softmax_row_f32(x, y)
    }
    fn sum_exp_shifted(x: &[f32], m: f32) -> f32 {
        sum_exp_shifted_f32(x, m)
    }
    fn sigmoid_slice(v: &mut [f32]) {
        sigmoid_slice_f32(v)
    }
    fn tanh_slice(v: &mut [f32]) {
        tanh_slice_f32(v)
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
    fn from_f64_rounded(v: f64) -> f32 {
        v as f32
    }
}

impl CpuFloat for f64 {
    fn as_f64(self) -> f64 {
        self
    }
    fn from_f64_rounded(v: f64) -> f64 {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f32's fused `softmax_row` gives the bits of the trait's three separate passes, for rows
    /// with and without a tail, with infinities and a NaN.
    #[test]
    fn fused_f32_softmax_row_equals_the_separate_passes() {
        for len in [1usize, 7, 8, 9, 64, 1000, 1003] {
            for special in [None, Some(f32::NEG_INFINITY), Some(f32::INFINITY), Some(f32::NAN)] {
                let mut x: Vec<f32> = (0..len).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.31).collect();
                if let Some(v) = special {
                    x[len / 2] = v;
                }
                let mut fused = vec![0.0f32; len];
                f32::softmax_row(&x, &mut fused);
                let m = f32::max_slice(&x);
                let mut y: Vec<f32> = x.iter().map(|&v| v - m).collect();
                f32::exp_slice(&mut y);
                let s = f32::sum_slice(&y);
                for v in y.iter_mut() {
                    *v /= s;
                }
                for (i, (a, b)) in fused.iter().zip(&y).enumerate() {
                    assert_eq!(
                        a.to_bits(),
                        b.to_bits(),
                        "len {len} special {special:?} element {i}: {a} vs {b}"
                    );
                }
            }
        }
    }
}
