//! The ops. Each file keeps an op's formula (forward and the gradient of every input, in KaTeX),
//! its CPU forward and its backward side by side. The table in the crate docs maps op → formula →
//! file → kernel.
//!
//! Backward closures run under `no_grad` and are written with the same tensor ops (or the fused
//! elementwise helpers below), so every gradient formula reads as the formula.

pub mod activation;
pub mod batch_norm;
pub mod bce;
pub mod binary;
pub mod cast;
pub mod common;
pub mod compare;
pub mod conv2d;
#[cfg(feature = "cuda")]
pub(crate) mod device_data;
pub mod dropout;
pub mod embedding;
pub mod factorization;
pub mod gru;
pub mod index;
pub mod join;
pub mod layer_norm;
pub mod linear;
pub mod loss;
pub mod lstm;
pub mod matmul;
pub mod pool2d;
pub mod reduce;
pub mod rnn;
pub mod shape;
pub mod softmax;
pub mod sort;
pub mod stats;
pub mod unary;

/// Elementwise map of a float tensor: `unary_data!(x, "op", |v| expr)` gives `Data`; inside
/// `expr`, `E` names the element type (`f32` or `f64`).
#[macro_export]
#[doc(hidden)]
macro_rules! unary_data {
    ($x:expr, $op:expr, |$v:ident| $body:expr) => {
        $crate::unary_data!($x, $op, params(0.0, 0.0), |$v| $body)
    };
    ($x:expr, $op:expr, params($p0:expr, $p1:expr), |$v:ident| $body:expr) => {{
        let d = $x.data();
        match &d {
            #[cfg(feature = "cuda")]
            $crate::tensor::Data::Cuda(c) => $crate::tensor::Data::Cuda(
                $crate::device::cuda::elementwise::unary($op, c, $p0 as f64, $p1 as f64)?,
            ),
            $crate::tensor::Data::F32(a) => {
                #[allow(dead_code)]
                type E = f32;
                $crate::tensor::Data::F32($crate::ops::common::map_array(a, |$v: f32| $body))
            }
            $crate::tensor::Data::F64(a) => {
                #[allow(dead_code)]
                type E = f64;
                $crate::tensor::Data::F64($crate::ops::common::map_array(a, |$v: f64| $body))
            }
            other => {
                return Err($crate::error::Error::UnsupportedDType {
                    op: $op,
                    dtype: other.dtype(),
                    shape: other.shape().to_vec(),
                    expected: "f32 or f64",
                });
            }
        }
    }};
}

/// Elementwise, broadcasting map of two float tensors of one dtype, giving `Result<Data>`.
#[macro_export]
#[doc(hidden)]
macro_rules! binary_data {
    ($a:expr, $b:expr, $op:expr, |$x:ident, $y:ident| $body:expr) => {
        $crate::binary_data!($a, $b, $op, params(0.0, 0.0), |$x, $y| $body)
    };
    ($a:expr, $b:expr, $op:expr, params($p0:expr, $p1:expr), |$x:ident, $y:ident| $body:expr) => {{
        let (da, db) = ($a.data(), $b.data());
        match (&da, &db) {
            #[cfg(feature = "cuda")]
            ($crate::tensor::Data::Cuda(a), $crate::tensor::Data::Cuda(b)) => {
                $crate::device::cuda::elementwise::binary($op, a, b, $p0 as f64, $p1 as f64)
                    .map($crate::tensor::Data::Cuda)
            }
            #[cfg(feature = "cuda")]
            ($crate::tensor::Data::Cuda(_), _) | (_, $crate::tensor::Data::Cuda(_)) => {
                Err($crate::ops::common::device_mismatch($op, &da, &db))
            }
            ($crate::tensor::Data::F32(a), $crate::tensor::Data::F32(b)) => {
                #[allow(dead_code)]
                type E = f32;
                $crate::ops::common::zip_arrays($op, a, b, |$x: f32, $y: f32| $body)
                    .map($crate::tensor::Data::F32)
            }
            ($crate::tensor::Data::F64(a), $crate::tensor::Data::F64(b)) => {
                #[allow(dead_code)]
                type E = f64;
                $crate::ops::common::zip_arrays($op, a, b, |$x: f64, $y: f64| $body)
                    .map($crate::tensor::Data::F64)
            }
            _ => Err($crate::ops::common::dtype_error($op, &da, &db)),
        }
    }};
}
