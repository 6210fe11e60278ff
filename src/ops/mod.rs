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
pub mod compare;
pub mod conv2d;
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

use ndarray::{ArcArray, ArrayD, IxDyn, Zip};

use crate::device::cpu::PARALLEL_THRESHOLD;
use crate::error::{Error, Result};
use crate::tensor::{Data, Tensor, shape::broadcast_shapes};

/// `f` applied to every element of `a` (in parallel for large arrays; order does not matter).
pub(crate) fn map_array<T, U, F>(a: &ArcArray<T, IxDyn>, f: F) -> ArcArray<U, IxDyn>
where
    T: Copy + Send + Sync,
    U: Copy + Send + Sync,
    F: Fn(T) -> U + Sync + Send,
{
    if a.len() >= PARALLEL_THRESHOLD {
        Zip::from(a).par_map_collect(|&x| f(x)).into_shared()
    } else {
        a.map(|&x| f(x)).into_shared()
    }
}

/// `f(a, b)` elementwise with NumPy broadcasting.
pub(crate) fn zip_arrays<T, U, F>(
    op: &'static str,
    a: &ArcArray<T, IxDyn>,
    b: &ArcArray<T, IxDyn>,
    f: F,
) -> Result<ArcArray<U, IxDyn>>
where
    T: Copy + Send + Sync,
    U: Copy + Send + Sync,
    F: Fn(T, T) -> U + Sync + Send,
{
    if a.shape() == b.shape()
        && let (Some(xa), Some(xb)) = (a.as_slice(), b.as_slice())
    {
        let v: Vec<U> = if xa.len() >= PARALLEL_THRESHOLD {
            use rayon::prelude::*;
            xa.par_iter().zip(xb.par_iter()).map(|(&x, &y)| f(x, y)).collect()
        } else {
            xa.iter().zip(xb).map(|(&x, &y)| f(x, y)).collect()
        };
        return Ok(ArrayD::from_shape_vec(IxDyn(a.shape()), v)
            .map_err(|e| Error::invalid(op, e.to_string()))?
            .into_shared());
    }
    let shape = broadcast_shapes(op, a.shape(), b.shape())?;
    let av = a
        .broadcast(IxDyn(&shape))
        .ok_or_else(|| Error::mismatch(op, a.shape(), b.shape(), "cannot broadcast"))?;
    let bv = b
        .broadcast(IxDyn(&shape))
        .ok_or_else(|| Error::mismatch(op, a.shape(), b.shape(), "cannot broadcast"))?;
    let n: usize = shape.iter().product();
    let out = if n >= PARALLEL_THRESHOLD {
        Zip::from(&av).and(&bv).par_map_collect(|&x, &y| f(x, y))
    } else {
        Zip::from(&av).and(&bv).map_collect(|&x, &y| f(x, y))
    };
    Ok(out.into_shared())
}

/// Checks that two tensors have the same dtype (glassgrad never promotes silently).
pub(crate) fn same_dtype(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.dtype() != b.dtype() {
        return Err(Error::DTypeMismatch {
            op,
            lhs: a.dtype(),
            rhs: b.dtype(),
            lhs_shape: a.shape(),
            rhs_shape: b.shape(),
        });
    }
    Ok(())
}

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
            $crate::tensor::Data::Cuda(c) => {
                $crate::tensor::Data::Cuda($crate::device::cuda::ops::unary($op, c, $p0 as f64, $p1 as f64)?)
            }
            $crate::tensor::Data::F32(a) => {
                #[allow(dead_code)]
                type E = f32;
                $crate::tensor::Data::F32($crate::ops::map_array(a, |$v: f32| $body))
            }
            $crate::tensor::Data::F64(a) => {
                #[allow(dead_code)]
                type E = f64;
                $crate::tensor::Data::F64($crate::ops::map_array(a, |$v: f64| $body))
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
                $crate::device::cuda::ops::binary($op, a, b, $p0 as f64, $p1 as f64)
                    .map($crate::tensor::Data::Cuda)
            }
            #[cfg(feature = "cuda")]
            ($crate::tensor::Data::Cuda(_), _) | (_, $crate::tensor::Data::Cuda(_)) => {
                Err($crate::ops::device_mismatch($op, &da, &db))
            }
            ($crate::tensor::Data::F32(a), $crate::tensor::Data::F32(b)) => {
                #[allow(dead_code)]
                type E = f32;
                $crate::ops::zip_arrays($op, a, b, |$x: f32, $y: f32| $body).map($crate::tensor::Data::F32)
            }
            ($crate::tensor::Data::F64(a), $crate::tensor::Data::F64(b)) => {
                #[allow(dead_code)]
                type E = f64;
                $crate::ops::zip_arrays($op, a, b, |$x: f64, $y: f64| $body).map($crate::tensor::Data::F64)
            }
            _ => Err($crate::ops::dtype_error($op, &da, &db)),
        }
    }};
}

/// The error for two operands on different devices.
pub(crate) fn device_mismatch(op: &'static str, a: &Data, b: &Data) -> Error {
    Error::Device {
        op,
        msg: format!(
            "operands on different devices: {} (shape {:?}) and {} (shape {:?})",
            a.device(),
            a.shape(),
            b.device(),
            b.shape()
        ),
    }
}

/// The error for two operands that are not both f32 or both f64.
pub(crate) fn dtype_error(op: &'static str, a: &Data, b: &Data) -> Error {
    if a.dtype() != b.dtype() {
        Error::DTypeMismatch {
            op,
            lhs: a.dtype(),
            rhs: b.dtype(),
            lhs_shape: a.shape().to_vec(),
            rhs_shape: b.shape().to_vec(),
        }
    } else {
        Error::UnsupportedDType { op, dtype: a.dtype(), shape: a.shape().to_vec(), expected: "f32 or f64" }
    }
}
