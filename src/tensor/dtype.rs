//! Element types: `f32` (the working type), `f64` (verification), `i64` (class labels, token ids)
//! and `bool` (masks from comparisons).

use ndarray::{ArcArray, IxDyn};
use std::fmt::{Debug, Display};

use super::Data;
pub use crate::dtype::DType;

/// A type a tensor can hold.
pub trait Element: Copy + Send + Sync + Debug + PartialOrd + Default + 'static {
    const DTYPE: DType;
    /// Wraps an array of this type in the type-erased storage.
    fn wrap(a: ArcArray<Self, IxDyn>) -> Data;
    /// The array, when `d` holds this type.
    fn unwrap(d: &Data) -> Option<&ArcArray<Self, IxDyn>>;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
}

/// The floating-point element types (`f32`, `f64`): everything differentiable is generic over it.
pub trait Float:
    Element
    + num_traits::Float
    + num_traits::FromPrimitive
    + ndarray::ScalarOperand
    + ndarray::LinalgScalar
    + std::iter::Sum
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + Display
{
    /// `C = alpha * A B + beta * C` on strided row/column layouts, by `matrixmultiply`, split into
    /// rayon tasks when large and called from outside rayon ([`crate::device::cpu::gemm_split`]).
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

macro_rules! element {
    ($t:ty, $variant:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn wrap(a: ArcArray<Self, IxDyn>) -> Data {
                Data::$variant(a)
            }
            fn unwrap(d: &Data) -> Option<&ArcArray<Self, IxDyn>> {
                match d {
                    Data::$variant(a) => Some(a),
                    _ => None,
                }
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
        }
    };
}
element!(f32, F32);
element!(f64, F64);
element!(i64, I64);

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    fn wrap(a: ArcArray<Self, IxDyn>) -> Data {
        Data::Bool(a)
    }
    fn unwrap(d: &Data) -> Option<&ArcArray<Self, IxDyn>> {
        match d {
            Data::Bool(a) => Some(a),
            _ => None,
        }
    }
    fn to_f64(self) -> f64 {
        if self { 1.0 } else { 0.0 }
    }
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
}

/// The GEMM of [`Float`] for one type: `matrixmultiply`'s `$gemm` through
/// [`crate::device::cpu::gemm_split`].
macro_rules! float_gemm {
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
            unsafe {
                crate::device::cpu::gemm_split(
                    $gemm, m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc,
                )
            }
        }
    };
}

impl Float for f32 {
    fn sigmoid_slice(v: &mut [f32]) {
        for x in v {
            *x = crate::device::cpu::fastmath::sigmoid_f32(*x);
        }
    }
    fn tanh_slice(v: &mut [f32]) {
        for x in v {
            *x = crate::device::cpu::fastmath::tanh_f32(*x);
        }
    }
    float_gemm!(f32, matrixmultiply::sgemm);
}

impl Float for f64 {
    float_gemm!(f64, matrixmultiply::dgemm);
}
